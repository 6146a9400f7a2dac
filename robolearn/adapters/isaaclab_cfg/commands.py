"""Isaac Lab's `UniformVelocityCommandCfg` and the robolearn command term that runs it, heading mode included.

In heading mode Isaac Lab draws a target heading for `rel_heading_envs` of the worlds and sets their yaw-rate
command every step to `heading_control_stiffness * wrap(heading - yaw)`, clipped to the `ang_vel_z` range;
the others keep a drawn yaw rate. robolearn's `VelocityCommand` draws (vx, vy, yaw rate) the same way
otherwise, so this term extends it with the heading part only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from robolearn.adapters.isaaclab_cfg.configclass import MISSING, configclass
from robolearn.adapters.isaaclab_cfg.managers import CommandTermCfg
from robolearn.core.commands import VelocityCommand, VelocityCommandCfg
from robolearn.math import wrap_to_pi, yaw_from_quat

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


@configclass
class UniformVelocityCommandCfg(CommandTermCfg):
    @configclass
    class Ranges:
        lin_vel_x: tuple[float, float] = MISSING
        lin_vel_y: tuple[float, float] = MISSING
        ang_vel_z: tuple[float, float] = MISSING
        heading: tuple[float, float] | None = None

    asset_name: str = MISSING
    heading_command: bool = False
    heading_control_stiffness: float = 1.0
    rel_standing_envs: float = 0.0
    rel_heading_envs: float = 1.0
    ranges: Ranges = MISSING


@dataclass
class HeadingVelocityCommandCfg(VelocityCommandCfg):
    """robolearn's velocity command with Isaac Lab's heading mode (see the module docstring)."""

    heading: tuple[float, float] = (-3.14159, 3.14159)
    heading_fraction: float = 1.0
    """Fraction of worlds whose yaw rate follows a drawn heading; 0 turns heading mode off."""
    heading_stiffness: float = 0.5

    def build(self, name: str, env: ManagerBasedRlEnv) -> HeadingVelocityCommand:
        return HeadingVelocityCommand(name, self, env)


class HeadingVelocityCommand(VelocityCommand):
    cfg: HeadingVelocityCommandCfg

    def __init__(self, name: str, cfg: HeadingVelocityCommandCfg, env: ManagerBasedRlEnv):
        super().__init__(name, cfg, env)
        self.heading_target = torch.zeros(env.num_envs, device=env.device)
        self.is_heading = torch.zeros(env.num_envs, dtype=torch.bool, device=env.device)
        self.standing = torch.zeros(env.num_envs, dtype=torch.bool, device=env.device)

    def resample(self, env_ids: torch.Tensor) -> None:
        super().resample(env_ids)
        n = len(env_ids)
        self.heading_target[env_ids] = self._uniform(n, *self.cfg.heading)
        draw = torch.rand(n, device=self.env.device, generator=self.env.rng)
        self.is_heading[env_ids] = draw < self.cfg.heading_fraction
        self.standing[env_ids] = torch.all(self.command[env_ids] == 0, dim=1)

    def compute(self, dt: float) -> None:
        super().compute(dt)
        if not self.cfg.heading_fraction:
            return
        yaw = yaw_from_quat(self.entity.root_quat_w).to(self.command)
        rate = self.cfg.heading_stiffness * wrap_to_pi(self.heading_target - yaw)
        lo, hi = self.cfg.ang_vel_z
        steer = self.is_heading & ~self.standing
        self.command[:, 2] = torch.where(steer, rate.clamp(lo, hi), self.command[:, 2])
