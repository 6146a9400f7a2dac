"""Ray-cast sensors on the sim backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from robolearn.math import yaw_from_quat

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

RAY_START_HEIGHT = 2.0
"""Rays start this far above the base, so they begin above any terrain the robot faces."""


def grid_points(size: tuple[float, float], resolution: float, device: torch.device) -> torch.Tensor:
    xs = torch.arange(-size[0] / 2, size[0] / 2 + 1e-9, resolution, device=device)
    ys = torch.arange(-size[1] / 2, size[1] / 2 + 1e-9, resolution, device=device)
    gx, gy = torch.meshgrid(xs, ys, indexing="ij")
    return torch.stack([gx.flatten(), gy.flatten()], dim=-1).double()


def grid_to_world(env: ManagerBasedRlEnv, pts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """World (x, y), (N, P) each, of base-frame grid points (P, 2) turned with the base's yaw only."""
    root = env.robot.root_pos_w.to(env.device).double()
    yaw = yaw_from_quat(env.robot.root_quat_w).to(env.device).double()
    c, s = torch.cos(yaw).unsqueeze(-1), torch.sin(yaw).unsqueeze(-1)
    x = root[:, :1] + c * pts[:, 0] - s * pts[:, 1]
    y = root[:, 1:2] + s * pts[:, 0] + c * pts[:, 1]
    return x, y


def ground_heights_grid(env: ManagerBasedRlEnv, size: tuple[float, float], resolution: float,
                        offset: float) -> torch.Tensor:  # fmt: skip
    """Base height above the ground at each grid point minus `offset`, clipped to [-1, 1]."""
    x, y = grid_to_world(env, grid_points(size, resolution, env.device))
    z = (env.robot.root_pos_w[:, 2:3].to(x) + RAY_START_HEIGHT).expand_as(x)
    pnt = torch.stack([x, y, z], dim=-1)
    vec = torch.zeros_like(pnt)
    vec[..., 2] = -1.0
    # Static geoms only (flg_static) and the terrain group (0): the robot's own geoms are not ground.
    dist = env.sim.ray(pnt, vec, flg_static=True, geomgroup=(1, 0, 0, 0, 0, 0)).to(env.device)
    ground_z = torch.where(dist >= 0, z - dist, torch.full_like(dist, -10.0))
    return (env.robot.root_pos_w[:, 2:3] - ground_z - offset).clamp(-1.0, 1.0)
