"""Two-layer height map around the robot from batched ray casts: floor (rays down) and ceiling (rays up).

Rays are filtered by geom group (see terrain.py): floor rays see group 0 (slabs, walls, obstacles)
and start above everything near the robot, so a wall reads as a high floor; ceiling rays see group
1 only and start below the pit, so floors never hide a ceiling. The robot's geoms are in other groups.

mj_ray tests every geom of the model, so a scan costs (rays x terrain geoms): ~2.5 ms per world for
the 24-tile training terrain on one core, more than the physics. The terrain is static and known, so
`method="map"` reads the same two layers from a raster of the layouts (2 cm cells) instead: the same
values up to the cell size at box edges (tests/test_confined3d_heightmap.py checks both against the
analytic heights). Training on the shared CPU uses "map"; "rays" is the sensor model for anything
whose geometry is not known in advance.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from robolearn.core.mdp.sensors import grid_to_world
from robolearn.envs.locomotion.confined3d.terrain import (
    CEILING_GROUP,
    END_WALL,
    SOLID_GROUP,
    TERRAIN_KIND,
    TUNNEL_WIDTH,
    VOID_DEPTH,
    grid_from_cfg,
)

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

RAY_REACH = 1.5
"""Rays start this far above (floor) or below (ceiling) the base; both are past every terrain piece."""
NO_HIT = 1.0
"""Reading of a ray that hits nothing (an open sky, a bottomless pit): the clip limit."""


def scan_points(size: tuple[float, float], shape: tuple[int, int], device: torch.device) -> torch.Tensor:
    """Body-frame (x, y) of a shape[0] x shape[1] grid spanning size (m), centred on the base, (P, 2)."""
    xs = torch.linspace(-size[0] / 2, size[0] / 2, shape[0], device=device, dtype=torch.float64)
    ys = torch.linspace(-size[1] / 2, size[1] / 2, shape[1], device=device, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, ys, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], dim=-1)


def _groups(group: int) -> tuple[int, ...]:
    return tuple(1 if g == group else 0 for g in range(6))


def scan_world_heights(env: ManagerBasedRlEnv, size: tuple[float, float], shape: tuple[int, int]
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """World (floor_z, ceiling_z) under/over each grid point, (N, P) each, +-inf where a ray hit nothing,
    and the grid points' world (x, y), (N, P, 2)."""
    x, y = grid_to_world(env, scan_points(size, shape, env.device))
    z = env.robot.root_pos_w.to(x)[:, 2:3].expand_as(x)
    down = torch.stack([x, y, z + RAY_REACH], dim=-1)
    up = torch.stack([x, y, z - RAY_REACH], dim=-1)
    vec = torch.zeros_like(down)
    vec[..., 2] = -1.0
    d_floor = env.sim.ray(down, vec, flg_static=True, geomgroup=_groups(SOLID_GROUP)).to(env.device)
    d_ceiling = env.sim.ray(up, -vec, flg_static=True, geomgroup=_groups(CEILING_GROUP)).to(env.device)
    floor = torch.where(d_floor >= 0, down[..., 2] - d_floor, torch.full_like(d_floor, -torch.inf))
    ceiling = torch.where(d_ceiling >= 0, up[..., 2] + d_ceiling, torch.full_like(d_ceiling, torch.inf))
    return floor, ceiling, torch.stack([x, y], dim=-1)


MAP_RESOLUTION = 0.02


class TerrainRaster:
    """Floor and ceiling heights of the whole confined terrain on a world-aligned grid (torch, on device)."""

    def __init__(self, env: ManagerBasedRlEnv, resolution: float = MAP_RESOLUTION):
        terrain = env.cfg.scene.terrain
        if terrain.kind != TERRAIN_KIND:
            raise ValueError(
                f'method="map" needs terrain.kind={TERRAIN_KIND!r}, got {terrain.kind!r}; use "rays"'
            )
        grid = grid_from_cfg(terrain)
        lo = grid.offsets.reshape(-1, 2).min(0) - [END_WALL + 1.0, TUNNEL_WIDTH / 2 + 1.0]
        hi = grid.offsets.reshape(-1, 2).max(0) + [terrain.tile_size + END_WALL + 1.0, TUNNEL_WIDTH / 2 + 1.0]
        shape = np.ceil((hi - lo) / resolution).astype(int)
        floor = np.full(shape, -VOID_DEPTH)
        ceiling = np.full(shape, np.inf)
        for r in range(grid.rows):
            for c in range(grid.cols):
                layout, off = grid.layouts[r][c], grid.offsets[r, c]
                i0, j0 = np.floor((off + [-END_WALL, -TUNNEL_WIDTH / 2] - lo) / resolution).astype(int)
                i1, j1 = np.ceil(
                    (off + [terrain.tile_size + END_WALL, TUNNEL_WIDTH / 2] - lo) / resolution
                ).astype(int)
                xs = lo[0] + (np.arange(i0, i1) + 0.5) * resolution - off[0]
                ys = lo[1] + (np.arange(j0, j1) + 0.5) * resolution - off[1]
                xy = np.stack(np.meshgrid(xs, ys, indexing="ij"), axis=-1)
                floor[i0:i1, j0:j1] = np.maximum(floor[i0:i1, j0:j1], layout.floor_height(xy))
                ceiling[i0:i1, j0:j1] = np.minimum(ceiling[i0:i1, j0:j1], layout.ceiling_height(xy))
        self.origin = torch.as_tensor(lo, device=env.device)
        self.resolution = resolution
        self.floor = torch.as_tensor(floor, device=env.device)
        self.ceiling = torch.as_tensor(ceiling, device=env.device)

    def lookup(self, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ij = torch.floor((xy - self.origin) / self.resolution).long()
        i = ij[..., 0].clamp(0, self.floor.shape[0] - 1)
        j = ij[..., 1].clamp(0, self.floor.shape[1] - 1)
        return self.floor[i, j], self.ceiling[i, j]


def scan_points_world(
    env: ManagerBasedRlEnv, size: tuple[float, float], shape: tuple[int, int]
) -> torch.Tensor:
    return torch.stack(grid_to_world(env, scan_points(size, shape, env.device)), dim=-1)


def two_layer_height_scan(env: ManagerBasedRlEnv, size: tuple[float, float] = (2.0, 1.0),
                          shape: tuple[int, int] = (21, 11), dropout: float = 0.0,
                          method: str = "rays") -> torch.Tensor:  # fmt: skip
    """(N, 2 * P): base height above the floor, then ceiling height above the base, each clipped to
    [-1, 1] (NO_HIT where a ray finds nothing). `dropout` replaces that fraction of readings by NO_HIT,
    as a depth camera loses returns; the group's noise setting adds uniform noise on top.
    `method`: "rays" (batched ray casts) or "map" (the terrain raster, see the module docstring)."""
    if method == "rays":
        floor, ceiling, _ = scan_world_heights(env, size, shape)
    elif method == "map":
        raster = env.term_state.get("terrain_raster")
        if raster is None:
            raster = env.term_state["terrain_raster"] = TerrainRaster(env)
        floor, ceiling = raster.lookup(scan_points_world(env, size, shape))
    else:
        raise ValueError(f'height scan method must be "rays" or "map", got {method!r}')
    base_z = env.robot.root_pos_w[:, 2:3].to(env.device).double()
    below = (base_z - floor).clamp(-NO_HIT, NO_HIT)
    above = (ceiling - base_z).clamp(-NO_HIT, NO_HIT)
    scan = torch.cat([below, above], dim=-1).float()
    if dropout > 0:
        lost = torch.rand(scan.shape, device=scan.device, generator=env.rng) < dropout
        scan = torch.where(lost, torch.full_like(scan, NO_HIT), scan)
    return scan
