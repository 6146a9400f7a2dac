"""Procedural height-field terrain: a grid of tiles, rows of rising difficulty (for curricula).

Row i of the grid has difficulty i / (rows - 1); columns cycle through tile types. A robot
spawned on row i faces terrain of that difficulty, so a curriculum moves worlds between rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TILE_TYPES = ("random_rough", "slope", "stairs_up", "stairs_down", "waves")


@dataclass
class TerrainCfg:
    kind: str = "flat"
    """'flat' (a plane), 'rough' (a procedural height field with difficulty rows) or 'none' (no ground at all:
    a scene entity is the ground, e.g. a table whose top is the plane z = 0)."""
    rows: int = 6
    """Difficulty levels."""
    cols: int = 5
    """Tiles per level; columns cycle through TILE_TYPES."""
    tile_size: float = 6.0
    """Metres per square tile."""
    resolution: float = 0.1
    """Metres per height sample."""
    max_rough: float = 0.08
    max_slope: float = 0.3
    max_step: float = 0.12
    seed: int = 0


def generate_heights(cfg: TerrainCfg) -> np.ndarray:
    """Heights (metres) of the whole grid, shape (rows * n, cols * n), row-major in (y, x)."""
    if cfg.rows < 1 or cfg.cols < 1:
        raise ValueError(f"terrain rows and cols must be >= 1, got rows={cfg.rows} cols={cfg.cols}")
    rng = np.random.default_rng(cfg.seed)
    n = int(round(cfg.tile_size / cfg.resolution))
    heights = np.zeros((cfg.rows * n, cfg.cols * n))
    coords = (np.arange(n) + 0.5) * cfg.resolution - cfg.tile_size / 2  # tile-centred
    xx, yy = np.meshgrid(coords, coords)
    # Spawn pad in every tile centre, so robots start on level ground.
    pad = (np.abs(xx) < 0.6) & (np.abs(yy) < 0.6)
    for r in range(cfg.rows):
        level = r / max(cfg.rows - 1, 1)
        for c in range(cfg.cols):
            kind = TILE_TYPES[c % len(TILE_TYPES)]
            if kind == "random_rough":
                tile = rng.uniform(-1, 1, (n, n)) * cfg.max_rough * max(level, 0.1) / 2
            elif kind == "slope":
                tile = (
                    np.maximum(0.0, cfg.tile_size / 2 - np.maximum(np.abs(xx), np.abs(yy)))
                    * cfg.max_slope
                    * level
                )
            elif kind in ("stairs_up", "stairs_down"):
                ring = np.floor(np.maximum(np.abs(xx), np.abs(yy)) / 0.3)
                sign = -1.0 if kind == "stairs_up" else 1.0  # up: descending outward, so the pad is a summit
                tile = sign * ring * cfg.max_step * level
                tile -= tile[n // 2, n // 2]
            else:
                tile = (
                    0.5 * cfg.max_rough * level * np.sin(2 * np.pi * xx / 1.5) * np.cos(2 * np.pi * yy / 1.5)
                )
            tile = np.where(pad, tile[n // 2, n // 2] if kind != "random_rough" else 0.0, tile)
            heights[r * n : (r + 1) * n, c * n : (c + 1) * n] = tile
    return heights - heights.min()


def tile_origins(cfg: TerrainCfg, heights: np.ndarray) -> np.ndarray:
    """World (x, y, z) of every tile centre, shape (rows, cols, 3); the grid is centred on the origin."""
    n = int(round(cfg.tile_size / cfg.resolution))
    origins = np.zeros((cfg.rows, cfg.cols, 3))
    for r in range(cfg.rows):
        for c in range(cfg.cols):
            origins[r, c, 0] = (c + 0.5) * cfg.tile_size - cfg.cols * cfg.tile_size / 2
            origins[r, c, 1] = (r + 0.5) * cfg.tile_size - cfg.rows * cfg.tile_size / 2
            origins[r, c, 2] = heights[r * n + n // 2, c * n + n // 2]
    return origins
