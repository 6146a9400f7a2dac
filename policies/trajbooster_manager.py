"""TrajBooster's manager: (vx, vy, yaw rate, pelvis height) every 5 control steps from proprioception, the
current wrists and the wrist targets 5/10/15/20 steps ahead; trained by online DAgger on the heuristic labels
(envs/humanoid/trajbooster.py: `heuristic_labels`).

Observation (62): projected gravity (3), base angular velocity x 0.25 (3), joint positions minus default (26),
both wrists' current positions (6) and their targets at the four horizons (24), positions in the pelvis'
heading frame (x, y from the pelvis, z above the ground).

DAgger, as the released code runs it: the first pass rolls out the heuristic (beta = 1), every later pass the
student's own commands (beta = 0); each pass adds its states with their heuristic labels to one aggregated
set, and the student is refit on the whole set every `update_every` passes. The loss is the mean squared
error of the normalised commands ([-1, 1] per command).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn as nn

from robolearn.core import mdp
from robolearn.envs.humanoid import trajbooster as tb
from robolearn.math import quat_rotate_inverse, yaw_quat

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv
    from robolearn.policies.trajbooster import Hierarchy
    from robolearn.retarget.ee_traj import EETrajectory

OBS_DIM = 62


def heading_frame(env: ManagerBasedRlEnv, points_w: torch.Tensor) -> torch.Tensor:
    """World points (N, K, 3) in the pelvis' heading frame: x, y from the pelvis, z above the world's origin."""
    origin = env.env_origins.to(points_w.dtype)
    pelvis = env.robot.root_pos_w.to(points_w.dtype)
    offset = torch.cat([pelvis[:, :2], origin[:, 2:3]], dim=-1)[:, None, :]
    q = yaw_quat(tb.heading(env).to(points_w.dtype))[:, None, :].expand(-1, points_w.shape[1], -1)
    return quat_rotate_inverse(q, points_w - offset)


def manager_obs(env: ManagerBasedRlEnv, wrists_w: torch.Tensor, targets_w: torch.Tensor) -> torch.Tensor:
    """(N, 62): see the module docstring. wrists_w (N, 2, 3); targets_w (N, 4, 2, 3) at the four horizons."""
    n = env.num_envs
    return torch.cat([
        mdp.projected_gravity(env).float(),
        mdp.base_ang_vel(env).float() * 0.25,
        (env.robot.joint_pos - env.robot.default_joint_pos).float(),
        heading_frame(env, wrists_w).reshape(n, -1).float(),
        heading_frame(env, targets_w.reshape(n, -1, 3)).reshape(n, -1).float(),
    ], dim=-1)  # fmt: skip


class Manager(nn.Module):
    """MLP (obs -> normalised command in [-1, 1]) with the observation normalisation fitted on its data."""

    def __init__(self, obs_dim: int = OBS_DIM, hidden: tuple[int, ...] = (128, 128)):
        super().__init__()
        layers: list[nn.Module] = []
        d = obs_dim
        for h in hidden:
            layers += [nn.Linear(d, h), nn.ELU()]
            d = h
        layers += [nn.Linear(d, 4), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.zeros(obs_dim))
        self.register_buffer("std", torch.ones(obs_dim))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net((obs - self.mean) / self.std)

    def command(self, obs: torch.Tensor) -> torch.Tensor:
        """Commands in the worker's units."""
        with torch.no_grad():
            return tb.denormalize_command(self(obs.float()))

    def fit_normalizer(self, obs: torch.Tensor) -> None:
        self.mean.copy_(obs.mean(0))
        self.std.copy_(obs.std(0).clamp(min=1e-2))


def command_loss(manager: Manager, obs: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        return float(torch.mean((manager(obs) - tb.normalize_command(labels)) ** 2))


def fit(manager: Manager, obs: torch.Tensor, labels: torch.Tensor, epochs: int = 30, lr: float = 1e-3,
        batch: int = 256, seed: int = 0) -> None:  # fmt: skip
    """Supervised passes over the aggregated set (normalisation refit on it first)."""
    manager.fit_normalizer(obs)
    target = tb.normalize_command(labels).clamp(-1, 1)
    opt = torch.optim.Adam(manager.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(obs), generator=g)
        for i in range(0, len(obs), batch):
            idx = perm[i : i + batch]
            loss = torch.mean((manager(obs[idx]) - target[idx]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()


@dataclass
class DaggerLog:
    rows: list[dict[str, Any]] = field(default_factory=list)
    env_steps: int = 0
    wall_s: float = 0.0


def dagger(hierarchy: Hierarchy, trajs: list[EETrajectory], passes: int = 6, update_every: int = 1,
           epochs: int = 30, seed: int = 0, manager: Manager | None = None, progress: Any = None
           ) -> tuple[Manager, DaggerLog]:  # fmt: skip
    """Online DAgger of the manager on the heuristic labels (module docstring). Each pass rolls out the next
    `num_envs` episodes of `trajs` (cycling)."""
    torch.manual_seed(seed)
    manager = manager or Manager()
    rng = np.random.default_rng(seed)
    log = DaggerLog()
    obs_all: list[np.ndarray] = []
    lab_all: list[np.ndarray] = []
    n = hierarchy.env.num_envs
    start = time.perf_counter()
    for p in range(passes):
        chosen = [trajs[(p * n + k) % len(trajs)] for k in range(min(n, len(trajs)))]
        beta = 1.0 if p == 0 else 0.0
        batch = hierarchy.run(chosen, manager, beta=beta, collect=True, rng=rng)
        log.env_steps += batch.env_steps
        obs_all += batch.obs
        lab_all += batch.labels
        row: dict[str, Any] = {"pass": p, "beta": beta, "samples": len(obs_all),
                               "pass_loss": float("nan"), "reached_5cm": None}  # fmt: skip
        new_obs, new_lab = torch.as_tensor(np.stack(batch.obs)), torch.as_tensor(np.stack(batch.labels))
        if p > 0:  # the student's loss on the states it visited itself, before it learns from them
            row["pass_loss"] = command_loss(manager, new_obs, new_lab)
        from robolearn.policies.trajbooster import summarize

        row.update({k: v for k, v in summarize(batch.results).items() if k in ("reached_5cm", "fall_rate")})
        if (p + 1) % update_every == 0:
            obs_t, lab_t = torch.as_tensor(np.stack(obs_all)), torch.as_tensor(np.stack(lab_all))
            row["loss_before_fit"] = command_loss(manager, obs_t, lab_t)
            fit(manager, obs_t, lab_t, epochs=epochs, seed=seed + p)
            row["loss_after_fit"] = command_loss(manager, obs_t, lab_t)
        row["env_steps"], row["wall_s"] = log.env_steps, time.perf_counter() - start
        log.rows.append(row)
        if progress is not None:
            progress(row)
    log.wall_s = time.perf_counter() - start
    return manager, log
