"""Termination terms: (num_envs,) bool tensors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


def time_out(env: ManagerBasedRlEnv) -> torch.Tensor:
    return env.episode_length_buf >= env.max_episode_length


def illegal_contact(env: ManagerBasedRlEnv, sensor: str) -> torch.Tensor:
    rows = env.sim.sensordata[:, env.scene.contact_slices[sensor]].reshape(env.num_envs, -1, 4)
    return (rows[..., 0] > 0).any(dim=-1)


def bad_orientation(env: ManagerBasedRlEnv, limit_angle: float = 1.0) -> torch.Tensor:
    """The trunk tilted more than `limit_angle` radians from upright."""
    g = env.robot.projected_gravity_b
    return torch.acos((-g[:, 2]).clamp(-1.0, 1.0)) > limit_angle


def base_height_below(env: ManagerBasedRlEnv, min_height: float) -> torch.Tensor:
    return (env.robot.root_pos_w[:, 2] - env.env_origins[:, 2]) < min_height
