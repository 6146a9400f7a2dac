"""Command terms: goals the policy is asked to track, resampled during an episode."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from robolearn.core.cfg import VelocityCommandCfg

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


class VelocityCommand:
    """Body-frame (vx, vy, yaw rate) commands drawn uniformly, with a fraction of standing commands."""

    names = ("lin_vel_x", "lin_vel_y", "ang_vel_z")

    def __init__(self, cfg: VelocityCommandCfg, env: ManagerBasedRlEnv):
        self.cfg = cfg
        self.env = env
        self.command = torch.zeros(env.num_envs, 3, device=env.device)
        self._time_left = torch.zeros(env.num_envs, device=env.device)
        self.error_sum = torch.zeros(env.num_envs, 2, device=env.device)
        # Counted here, not read from the episode length: a learner may start episodes part-way.
        self.error_steps = torch.zeros(env.num_envs, device=env.device)
        self.lin_vel_scale = 1.0
        """Fraction of the configured (vx, vy) ranges drawn from; a curriculum may grow it to 1."""

    @property
    def ranges(self) -> list[tuple[float, float]]:
        k = self.lin_vel_scale
        (x0, x1), (y0, y1) = self.cfg.lin_vel_x, self.cfg.lin_vel_y
        return [(k * x0, k * x1), (k * y0, k * y1), self.cfg.ang_vel_z]

    def _resample(self, env_ids: torch.Tensor) -> None:
        rng = self.env.rng
        n = len(env_ids)
        u = torch.rand(n, 3, device=self.env.device, generator=rng)
        lo = torch.tensor([r[0] for r in self.ranges], device=self.env.device)
        hi = torch.tensor([r[1] for r in self.ranges], device=self.env.device)
        cmd = lo + (hi - lo) * u
        standing = torch.rand(n, device=self.env.device, generator=rng) < self.cfg.standing_fraction
        cmd[standing] = 0.0
        self.command[env_ids] = cmd
        t_lo, t_hi = self.cfg.resampling_time_s
        self._time_left[env_ids] = t_lo + (t_hi - t_lo) * torch.rand(n, device=self.env.device, generator=rng)

    def compute(self, dt: float) -> None:
        robot = self.env.robot
        err_lin = torch.linalg.norm(self.command[:, :2] - robot.root_lin_vel_b[:, :2], dim=-1)
        err_ang = torch.abs(self.command[:, 2] - robot.root_ang_vel_b[:, 2])
        self.error_sum += torch.stack([err_lin, err_ang], dim=-1).float()
        self.error_steps += 1
        self._time_left -= dt
        due = (self._time_left <= 0).nonzero(as_tuple=True)[0]
        if len(due):
            self._resample(due)

    def reset(self, env_ids: torch.Tensor) -> dict[str, float]:
        steps = self.error_steps[env_ids].clamp(min=1)
        err = self.error_sum[env_ids] / steps.unsqueeze(-1)
        self.error_sum[env_ids] = 0.0
        self.error_steps[env_ids] = 0.0
        self._resample(env_ids)
        return {
            "Metrics/error_vel_xy": float(err[:, 0].mean()),
            "Metrics/error_vel_yaw": float(err[:, 1].mean()),
        }
