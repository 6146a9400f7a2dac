"""Procedural confined 3-D terrain: tunnels of boxes with ceilings, side walls, floor obstacles,
narrow turns and voids, laid out as a grid of tiles in one MuJoCo model.

The batched backend simulates one model for every world, so all layouts live side by side (as the
rough-terrain tiles of `robolearn.terrain` do): row r of the grid has difficulty (r + 1) / rows,
column c is another layout of that difficulty, and each world is spawned at one tile's entrance.
A tile's layout is a pure function of (seed, difficulty), so the planner and the evaluation rebuild
exactly the geometry the physics sees without reading it back from the model.

Geom groups tell the two layers of the height map apart: everything with a walkable top (floor
slabs, walls, obstacles) is in group 0 and is scanned by rays cast down; ceilings are in group 1
and are scanned by rays cast up. Both collide with the robot.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Literal

import mujoco
import numpy as np

from robolearn.scene import FLOOR_GEOM, register_terrain
from robolearn.terrain import TerrainCfg

TERRAIN_KIND = "confined3d"
SEED_RANGE = (0, 2**32 - 1)
DIFFICULTY_RANGE = (0.0, 1.0)
MAX_TILES = 4096

LOWEST_CROUCH_HEIGHT = 0.22
"""Top of the Go1 trunk above the floor in the lowest crouch the planner uses (base at 0.16 m)."""
MIN_CEILING = 1.3 * LOWEST_CROUCH_HEIGHT
"""The lowest ceiling a layout may have (the paper's tunnels go down to ~1.3x the crouched robot)."""
VOID_DEPTH = 0.3
"""The ground plane sits this far below the floor slabs; a gap in the slabs is a void this deep."""
WALL_TOP = 0.6
SLAB_THICKNESS = 0.1
CEILING_THICKNESS = 0.05
END_WALL = 0.2
TUNNEL_WIDTH = 1.6
"""Width of a tile's region; everything outside the corridor is wall."""
TILE_GAP = (1.0, 0.5)
"""Space between tiles along x and y (the ground plane there is a pit, walls keep robots in)."""
MIN_OVERLAP = 0.55
"""Consecutive corridor sections overlap at least this much sideways, so a narrow turn stays passable."""
START_PAD, GOAL_PAD = 1.0, 0.8

SOLID_GROUP, CEILING_GROUP = 0, 1


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in the tile frame (x along the tunnel, z up, floor top at z = 0)."""

    center: tuple[float, float, float]
    half: tuple[float, float, float]
    kind: Literal["solid", "ceiling"]
    role: str = ""
    """floor, wall, obstacle, ceiling: for colours and documentation only."""

    @property
    def top(self) -> float:
        return self.center[2] + self.half[2]

    @property
    def bottom(self) -> float:
        return self.center[2] - self.half[2]

    def covers(self, xy: np.ndarray) -> np.ndarray:
        return (np.abs(xy[..., 0] - self.center[0]) <= self.half[0]) & (
            np.abs(xy[..., 1] - self.center[1]) <= self.half[1]
        )


@dataclass
class Layout:
    """One tile: its boxes and the start and goal of the traversal, in the tile frame."""

    seed: int
    difficulty: float
    length: float
    width: float
    boxes: list[Box]
    start: np.ndarray
    """(x, y) of the entrance, where a world is spawned facing +x."""
    goal: np.ndarray
    """(x, y) of the far end."""
    features: dict[str, int] = field(default_factory=dict)

    def floor_height(self, xy: np.ndarray) -> np.ndarray:
        """Height of the highest walkable surface at each (x, y): slab, wall or obstacle top, else the pit."""
        h = np.full(xy.shape[:-1], -VOID_DEPTH)
        for b in self.boxes:
            if b.kind == "solid":
                h = np.where(b.covers(xy), np.maximum(h, b.top), h)
        return h

    def ceiling_height(self, xy: np.ndarray) -> np.ndarray:
        """Height of the lowest ceiling underside at each (x, y); +inf where the sky is open."""
        h = np.full(xy.shape[:-1], np.inf)
        for b in self.boxes:
            if b.kind == "ceiling":
                h = np.where(b.covers(xy), np.minimum(h, b.bottom), h)
        return h

    def maps(self, resolution: float = 0.05, margin: float = 0.0) -> HeightMaps:
        """Floor and ceiling maps over the tile (cell centres), for the planner."""
        x0, y0 = -END_WALL - margin, -self.width / 2 - margin
        nx = int(np.ceil((self.length + 2 * (END_WALL + margin)) / resolution))
        ny = int(np.ceil((self.width + 2 * margin) / resolution))
        xs = x0 + (np.arange(nx) + 0.5) * resolution
        ys = y0 + (np.arange(ny) + 0.5) * resolution
        xy = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1)
        floor = self.floor_height(xy)
        # Outside the region there is nothing to stand on; beyond the end walls counts as wall.
        return HeightMaps(floor, self.ceiling_height(xy), np.array([x0, y0]), resolution)


@dataclass
class HeightMaps:
    """Two-layer map of a whole terrain: floor[i, j] and ceiling[i, j] at cell (x0 + (i+.5) r, y0 + (j+.5) r)."""

    floor: np.ndarray
    ceiling: np.ndarray
    origin: np.ndarray
    resolution: float

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.floor.shape[0]), int(self.floor.shape[1]))

    def cell_of(self, xy: np.ndarray) -> np.ndarray:
        return np.floor((np.asarray(xy) - self.origin) / self.resolution).astype(int)

    def center_of(self, ij: np.ndarray) -> np.ndarray:
        return self.origin + (np.asarray(ij) + 0.5) * self.resolution

    def lookup(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(floor, ceiling) at points; outside the map reads as solid wall (floor +inf, ceiling -inf)."""
        ij = self.cell_of(xy)
        inside = (
            (ij[..., 0] >= 0)
            & (ij[..., 0] < self.shape[0])
            & (ij[..., 1] >= 0)
            & (ij[..., 1] < self.shape[1])
        )
        i = np.clip(ij[..., 0], 0, self.shape[0] - 1)
        j = np.clip(ij[..., 1], 0, self.shape[1] - 1)
        floor = np.where(inside, self.floor[i, j], np.inf)
        ceiling = np.where(inside, self.ceiling[i, j], -np.inf)
        return floor, ceiling


def check_seed(seed: int) -> int:
    if not (SEED_RANGE[0] <= int(seed) <= SEED_RANGE[1]) or int(seed) != seed:
        raise ValueError(
            f"terrain seed must be an integer in [{SEED_RANGE[0]}, {SEED_RANGE[1]}], got {seed!r}"
        )
    return int(seed)


def check_difficulty(difficulty: float) -> float:
    lo, hi = DIFFICULTY_RANGE
    if not (lo <= float(difficulty) <= hi):
        raise ValueError(f"terrain difficulty must be in [{lo}, {hi}], got {difficulty!r}")
    return float(difficulty)


MAX_ATTEMPTS = 20


def generate_layout(seed: int, difficulty: float, length: float = 4.0, width: float = TUNNEL_WIDTH,
                    ensure_solvable: bool = True) -> Layout:  # fmt: skip
    """A reproducible tunnel for (seed, difficulty): the first draw the planner can solve.

    Features are drawn independently, so a few combinations (a block just after a jog, say) leave no
    room for the robot; those draws are rejected and the next sub-seed is tried, deterministically.
    """
    seed, difficulty = check_seed(seed), check_difficulty(difficulty)
    if not ensure_solvable:
        return _draw_layout(seed, difficulty, length, width, 0)
    from robolearn.envs.locomotion.confined3d.planner import (
        GridAStarPlanner,  # the planner imports this module
    )

    for attempt in range(MAX_ATTEMPTS):
        layout = _draw_layout(seed, difficulty, length, width, attempt)
        result = GridAStarPlanner(layout.maps()).plan(np.array([*layout.start, 0.0]), layout.goal)
        if result.solved:
            return layout
    raise RuntimeError(f"no solvable layout for seed {seed}, difficulty {difficulty} in {MAX_ATTEMPTS} draws")


def _draw_layout(seed: int, difficulty: float, length: float, width: float, attempt: int) -> Layout:
    """A tunnel from x = 0 to `length`: sections of varying width, sideways jogs, ceilings, bars, blocks, gaps.

    Difficulty scales the probability and severity of every feature; at 1 ceilings come down to
    MIN_CEILING, corridors narrow to ~0.55 m and jogs, bars and gaps are at their largest. Every layout
    is passable by construction (jogs keep MIN_OVERLAP, blocks leave room, gaps are steppable).
    """
    d = difficulty
    if length < START_PAD + GOAL_PAD + 0.5:
        raise ValueError(f"tunnel length must be >= {START_PAD + GOAL_PAD + 0.5} m, got {length}")
    rng = np.random.default_rng([seed, int(round(d * 1e6)), attempt])
    boxes: list[Box] = []
    features = {"ceiling": 0, "bar": 0, "block": 0, "void": 0, "jog": 0, "attempt": attempt}
    half_w = width / 2

    def solid(x0: float, x1: float, y0: float, y1: float, z0: float, z1: float, role: str) -> None:
        if x1 - x0 > 1e-3 and y1 - y0 > 1e-3:
            c = ((x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2)
            boxes.append(Box(c, ((x1 - x0) / 2, (y1 - y0) / 2, (z1 - z0) / 2), "solid", role))

    # Sections: [x0, x1) with a corridor centre and width; the first and last are plain pads.
    edges = [0.0, START_PAD]
    while edges[-1] < length - GOAL_PAD - 0.4:
        edges.append(min(edges[-1] + rng.uniform(0.6, 1.0), length - GOAL_PAD))
    if len(edges) > 3 and edges[-1] - edges[-2] < 0.5:
        edges.pop(-2)  # no sliver sections: the last one absorbs a short remainder
    edges.append(length)
    n_sec = len(edges) - 1
    centre, prev = 0.0, (-0.5, 0.5)
    for k in range(n_sec):
        x0, x1 = edges[k], edges[k + 1]
        pad = k == 0 or k == n_sec - 1
        if pad:
            w = 1.0
        else:
            w = rng.uniform(1.0 - 0.45 * d, 1.2 - 0.45 * d)
            shift = rng.uniform(-1.0, 1.0) * 0.4 * d
            centre = float(np.clip(centre + shift, -half_w + w / 2 + 0.05, half_w - w / 2 - 0.05))
            # Keep enough sideways overlap with the previous section for the robot to pass the jog.
            lo, hi = centre - w / 2, centre + w / 2
            overlap = min(hi, prev[1]) - max(lo, prev[0])
            if overlap < MIN_OVERLAP:
                need = MIN_OVERLAP - overlap
                centre += need if centre < (prev[0] + prev[1]) / 2 else -need
            features["jog"] += int(abs(shift) > 0.1)
        if pad and k == n_sec - 1:
            # The goal pad continues the last corridor so the last jog stays bounded.
            centre = float(np.clip(centre, -half_w + w / 2 + 0.05, half_w - w / 2 - 0.05))
            lo, hi = centre - w / 2, centre + w / 2
            if min(hi, prev[1]) - max(lo, prev[0]) < MIN_OVERLAP:
                w = max(w, prev[1] - prev[0])
                centre = (prev[0] + prev[1]) / 2
        lo, hi = centre - w / 2, centre + w / 2
        if k == 0:
            start = np.array([0.5, centre])
        # Floor features inside a section: an obstacle in its first half, a void in its second.
        gap: tuple[float, float] | None = None
        if not pad and rng.random() < 0.45 * d:
            g_len = rng.uniform(0.05, 0.05 + 0.15 * d)
            gx = rng.uniform(x0 + (x1 - x0) / 2 + 0.05, max(x1 - g_len - 0.1, x0 + (x1 - x0) / 2 + 0.06))
            gap = (gx, gx + g_len)
            features["void"] += 1
        floor_parts = [(x0, x1)] if gap is None else [(x0, gap[0]), (gap[1], x1)]
        for a, b in floor_parts:
            solid(a, b, -half_w, half_w, -SLAB_THICKNESS, 0.0, "floor")
        solid(x0, x1, -half_w, lo, 0.0, WALL_TOP, "wall")
        solid(x0, x1, hi, half_w, 0.0, WALL_TOP, "wall")
        if not pad and rng.random() < 0.6 * d:
            ox = rng.uniform(x0 + 0.1, max(x0 + 0.11, x0 + (x1 - x0) / 2 - 0.1))
            thick = rng.uniform(0.05, 0.12)
            if rng.random() < 0.5 or w - MIN_OVERLAP < 0.15:
                h = rng.uniform(0.03, 0.03 + 0.06 * d)  # a bar across the corridor, stepped over
                solid(ox, ox + thick, lo, hi, 0.0, h, "obstacle")
                features["bar"] += 1
            else:
                bw = rng.uniform(0.12, w - MIN_OVERLAP)  # a tall block on one side, walked around
                if rng.random() < 0.5:
                    solid(ox, ox + 0.2, lo, lo + bw, 0.0, 0.3, "obstacle")
                else:
                    solid(ox, ox + 0.2, hi - bw, hi, 0.0, 0.3, "obstacle")
                features["block"] += 1
        if not pad and rng.random() < 0.2 + 0.6 * d:
            h = rng.uniform(max(MIN_CEILING, 0.52 - 0.25 * d), max(MIN_CEILING + 0.02, 0.6 - 0.25 * d))
            c = ((x0 + x1) / 2, centre, h + CEILING_THICKNESS / 2)
            boxes.append(Box(c, ((x1 - x0) / 2, w / 2 + 0.02, CEILING_THICKNESS / 2), "ceiling", "ceiling"))
            features["ceiling"] += 1
        prev = (lo, hi)
    goal = np.array([length - 0.4, centre])
    solid(-END_WALL, 0.0, -half_w, half_w, -SLAB_THICKNESS, WALL_TOP, "wall")
    solid(length, length + END_WALL, -half_w, half_w, -SLAB_THICKNESS, WALL_TOP, "wall")
    return Layout(seed, d, length, width, boxes, start, goal, features)


@dataclass
class ConfinedGrid:
    """All tiles of a TerrainCfg: layouts[r][c] and the world offset of each tile's frame."""

    layouts: list[list[Layout]]
    offsets: np.ndarray
    """(rows, cols, 2) world (x, y) of each tile frame's origin."""

    @property
    def rows(self) -> int:
        return len(self.layouts)

    @property
    def cols(self) -> int:
        return len(self.layouts[0])

    def difficulty(self, row: int) -> float:
        return self.layouts[row][0].difficulty

    def start_w(self) -> np.ndarray:
        """(rows, cols, 3) world spawn points (the tile origins the env spawns worlds at)."""
        starts = np.array([[lay.start for lay in row] for row in self.layouts])
        return np.concatenate([starts + self.offsets, np.zeros((*starts.shape[:2], 1))], axis=-1)

    def goal_w(self) -> np.ndarray:
        goals = np.array([[lay.goal for lay in row] for row in self.layouts])
        return goals + self.offsets


def row_difficulty(row: int, rows: int) -> float:
    """Difficulty of a grid row: (r + 1) / rows, so the easiest row already has a tunnel with walls."""
    return (row + 1) / rows


def tile_seed(seed: int, row: int, col: int) -> int:
    return int(np.random.SeedSequence([check_seed(seed), row, col]).generate_state(1)[0])


def grid_from_cfg(cfg: TerrainCfg) -> ConfinedGrid:
    return _grid(cfg.rows, cfg.cols, cfg.tile_size, cfg.seed)


@functools.lru_cache(maxsize=8)
def _grid(rows: int, cols: int, length: float, seed: int) -> ConfinedGrid:
    if rows < 1 or cols < 1 or rows * cols > MAX_TILES:
        raise ValueError(
            f"confined terrain needs 1 <= rows, cols and rows * cols <= {MAX_TILES}, got {rows}x{cols}"
        )
    check_seed(seed)
    layouts = [
        [generate_layout(tile_seed(seed, r, c), row_difficulty(r, rows), length) for c in range(cols)]
        for r in range(rows)
    ]
    pitch_x, pitch_y = length + 2 * END_WALL + TILE_GAP[0], TUNNEL_WIDTH + TILE_GAP[1]
    offsets = np.zeros((rows, cols, 2))
    for r in range(rows):
        for c in range(cols):
            offsets[r, c] = (
                c * pitch_x - (cols - 1) * pitch_x / 2 - length / 2,
                r * pitch_y - (rows - 1) * pitch_y / 2,
            )
    return ConfinedGrid(layouts, offsets)


_COLOURS = {
    "floor": [0.45, 0.5, 0.55, 1.0],
    "wall": [0.6, 0.58, 0.52, 1.0],
    "obstacle": [0.8, 0.45, 0.2, 1.0],
    "ceiling": [0.35, 0.55, 0.75, 0.6],
}


def add_layout_geoms(spec: mujoco.MjSpec, layout: Layout, offset: np.ndarray, prefix: str) -> None:
    for i, b in enumerate(layout.boxes):
        spec.worldbody.add_geom(
            name=f"{prefix}{i}",
            type=mujoco.mjtGeom.mjGEOM_BOX,
            pos=[b.center[0] + offset[0], b.center[1] + offset[1], b.center[2]],
            size=list(b.half),
            group=CEILING_GROUP if b.kind == "ceiling" else SOLID_GROUP,
            rgba=_COLOURS.get(b.role, _COLOURS["wall"]),
        )


def build_confined_terrain(spec: mujoco.MjSpec, cfg: TerrainCfg) -> np.ndarray:
    """Scene hook (terrain.kind == 'confined3d'): every tile's boxes; returns the spawn point of each tile."""
    grid = grid_from_cfg(cfg)
    spec.geom(FLOOR_GEOM).pos = [0, 0, -VOID_DEPTH]  # the plane becomes the bottom of every void
    for r in range(grid.rows):
        for c in range(grid.cols):
            add_layout_geoms(spec, grid.layouts[r][c], grid.offsets[r, c], f"terrain/c3d_{r}_{c}_")
    return grid.start_w()


register_terrain(TERRAIN_KIND, build_confined_terrain)
