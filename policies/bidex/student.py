"""The BiDex point-cloud student: a small PointNet + proprioception, distilled from a state teacher by DAgger.

The student sees the env's `student` group (robolearn.envs.dexterous.bidex.task.student_obs): joint
positions, previous action, the items' reference poses, stages and task embedding, then a point cloud of
P points (x, y, z each) of the items and hands from ray-cast depth cameras. Its network: a shared per-point
MLP (3 -> 64 -> 128) and a max pool (PointNet), concatenated with the proprioception, then an MLP head.

DAgger (Ross et al. 2011): each iteration the worlds act with the teacher's action with probability beta
(decaying from 1) and the student's otherwise, every visited student observation is labelled with the
teacher's action, added to an aggregated buffer, and the student regresses onto it (MSE). rsl-rl's
Distillation (policies/distill.py) fits MLP students from run folders; this loop has its own model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from robolearn.core.env import ManagerBasedRlEnv

STUDENT_GROUP = "student"


class PointNetStudent(nn.Module):
    """obs (B, D + P*3) -> action (B, A); the last P*3 entries are the point cloud."""

    def __init__(self, proprio_dim: int, num_points: int, action_dim: int, width: int = 128,
                 hidden: tuple[int, ...] = (256, 128)):  # fmt: skip
        super().__init__()
        self.proprio_dim, self.num_points, self.action_dim = proprio_dim, num_points, action_dim
        self.point_mlp = nn.Sequential(nn.Linear(3, 64), nn.ReLU(), nn.Linear(64, width), nn.ReLU())
        layers: list[nn.Module] = []
        last = width + proprio_dim
        for h in hidden:
            layers += [nn.Linear(last, h), nn.ELU()]
            last = h
        layers.append(nn.Linear(last, action_dim))
        self.head = nn.Sequential(*layers)
        self.proprio_mean: torch.Tensor
        self.proprio_std: torch.Tensor
        self.register_buffer("proprio_mean", torch.zeros(proprio_dim))
        self.register_buffer("proprio_std", torch.ones(proprio_dim))

    def encode(self, points: torch.Tensor) -> torch.Tensor:
        """(B, P, 3) -> (B, width): per-point features, max-pooled (order-invariant)."""
        return self.point_mlp(points).max(dim=1).values

    def forward_split(self, proprio: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        p = (proprio - self.proprio_mean) / self.proprio_std
        return self.head(torch.cat([self.encode(points), p], dim=-1))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        proprio = obs[:, : self.proprio_dim]
        points = obs[:, self.proprio_dim :].reshape(obs.shape[0], self.num_points, 3)
        return self.forward_split(proprio, points)


def student_dims(env: ManagerBasedRlEnv) -> tuple[int, int]:
    """(proprioception width, number of points) of the env's student group (its `cloud` term is last)."""
    dims = env.observation_manager.term_dims[STUDENT_GROUP]
    if list(dims)[-1] != "cloud":
        raise ValueError(f"the student group's last term must be the point cloud 'cloud', got {list(dims)}")
    return sum(dims.values()) - dims["cloud"], dims["cloud"] // 3


@dataclass
class DaggerCfg:
    iterations: int = 20
    steps_per_iteration: int = 24
    epochs: int = 4
    batch_size: int = 256
    learning_rate: float = 1e-3
    beta_decay: float = 0.8
    """beta_i = beta_decay ** i: the chance a world executes the teacher's action at iteration i."""
    buffer_size: int = 50_000
    seed: int = 0


class Dagger:
    """DAgger of a PointNet student from `teacher_act` (a function of the env's observation dict)."""

    def __init__(self, env: ManagerBasedRlEnv, teacher_act: Any, cfg: DaggerCfg):
        torch.manual_seed(cfg.seed)
        self.env, self.teacher_act, self.cfg = env, teacher_act, cfg
        proprio, points = student_dims(env)
        self.student = PointNetStudent(proprio, points, env.num_actions)
        self.optim = torch.optim.Adam(self.student.parameters(), lr=cfg.learning_rate)
        self.obs_buf: list[torch.Tensor] = []
        self.act_buf: list[torch.Tensor] = []
        self.iteration = 0
        self.env_steps = 0
        self.obs, _ = env.reset()

    def _teacher(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        from tensordict import TensorDict

        return self.teacher_act(TensorDict(obs, batch_size=[self.env.num_envs]))

    @torch.no_grad()
    def collect(self, beta: float) -> None:
        for _ in range(self.cfg.steps_per_iteration):
            s_obs = self.obs[STUDENT_GROUP]
            label = self._teacher(self.obs)
            mine = self.student(s_obs)
            use_teacher = torch.rand(self.env.num_envs, 1) < beta
            self.obs_buf.append(s_obs.clone())
            self.act_buf.append(label.clone())
            self.obs, *_ = self.env.step(torch.where(use_teacher, label, mine))
            self.env_steps += self.env.num_envs
        keep = self.cfg.buffer_size // self.env.num_envs
        self.obs_buf, self.act_buf = self.obs_buf[-keep:], self.act_buf[-keep:]

    def fit(self) -> float:
        obs, act = torch.cat(self.obs_buf), torch.cat(self.act_buf)
        if self.iteration == 0:  # proprioception statistics from the first (teacher-driven) batch
            prop = obs[:, : self.student.proprio_dim]
            self.student.proprio_mean.copy_(prop.mean(0))
            self.student.proprio_std.copy_(prop.std(0).clamp_min(1e-2))
        losses = []
        for _ in range(self.cfg.epochs):
            for idx in torch.randperm(len(obs)).split(self.cfg.batch_size):
                loss = (self.student(obs[idx]) - act[idx]).square().mean()
                self.optim.zero_grad()
                loss.backward()
                self.optim.step()
                losses.append(loss.item())
        return sum(losses) / len(losses)

    @torch.no_grad()
    def action_loss(self) -> float:
        """The student's MSE to the teacher's labels over the aggregated buffer."""
        obs, act = torch.cat(self.obs_buf), torch.cat(self.act_buf)
        return float((self.student(obs) - act).square().mean())

    def train(self, iterations: int | None = None, log: Any = print) -> list[dict[str, float]]:
        rows = []
        start = time.time()
        for _ in range(iterations or self.cfg.iterations):
            beta = self.cfg.beta_decay**self.iteration
            self.collect(beta)
            before = self.action_loss()
            loss = self.fit()
            self.iteration += 1
            rows.append({"iteration": self.iteration, "beta": beta, "loss_before_fit": before, "train_loss": loss,
                         "env_steps": self.env_steps, "wall_s": time.time() - start})  # fmt: skip
            if log is not None:
                log(f"[dagger] it {self.iteration}: beta {beta:.2f}, action loss {before:.4f} -> {loss:.4f}")
        return rows

    def act(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.no_grad():
            return self.student(obs[STUDENT_GROUP])
