"""The two mapping networks of CrossLoco and the cycle-consistency reward they give.

h->r maps human pose features to robot joint positions, r->h maps back. Both are small MLPs trained by MSE
on (h, r) pairs from the current rollouts, once per PPO iteration (the task's iteration hook), and read by
the cycle reward: 0.5 exp(-2 e_h) + 0.5 exp(-2 e_r) with e_h = |h - r2h(r)| and e_r = |r - h2r(r2h(r))|,
where |x| is the root mean square over the vector's entries (so the width of the kernel does not depend on
how many numbers a pose has). h is standardized per entry over the clip set and r is (q - q_default) /
ROBOT_SCALE, so both errors are in units of a typical deviation: a mapper that predicts the mean scores
about exp(-2) = 0.14, a perfect invertible one 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

ROBOT_SCALE = 0.3
"""rad: joint deviations from the standing pose are divided by this (the Go2's trot swings about +-0.3)."""


@dataclass
class MapperCfg:
    hidden: tuple[int, ...] = (128, 128)
    learning_rate: float = 1e-3
    epochs: int = 4
    """Passes over the iteration's pairs per fit."""
    batch_size: int = 4096
    capacity: int = 49152
    """Pairs kept (the newest); at 512 worlds x 24 steps one iteration's rollout is 12,288 pairs."""


def mlp(inp: int, out: int, hidden: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(inp, h), nn.ELU()]
        inp = h
    layers.append(nn.Linear(inp, out))
    return nn.Sequential(*layers)


def rms(x: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(torch.mean(x * x, dim=-1))


def cycle_reward(
    h: torch.Tensor, r: torch.Tensor, h2r: nn.Module | None = None, r2h: nn.Module | None = None
) -> torch.Tensor:
    """(N,) in [0, 1]: 0.5 exp(-2 |h - r2h(r)|) + 0.5 exp(-2 |r - h2r(r2h(r))|); 1 exactly when r2h(r) = h
    and h2r(r2h(r)) = r."""
    assert h2r is not None and r2h is not None
    h_hat = r2h(r)
    r_hat = h2r(h_hat)
    return 0.5 * torch.exp(-2.0 * rms(h - h_hat)) + 0.5 * torch.exp(-2.0 * rms(r - r_hat))


class CycleMappers:
    """h->r and r->h with their optimizer and a ring buffer of the newest (h, r) pairs.

    A plain object (not tensors on a term): env snapshots skip it, so a resumed run starts fresh mappers
    (they re-fit within an iteration or two)."""

    def __init__(self, h_dim: int, r_dim: int, cfg: MapperCfg, device: torch.device, seed: int = 0):
        self.cfg = cfg
        gen = torch.random.fork_rng(devices=[]) if device.type == "cpu" else torch.random.fork_rng()
        with gen:
            torch.manual_seed(seed)
            self.h2r = mlp(h_dim, r_dim, cfg.hidden).to(device)
            self.r2h = mlp(r_dim, h_dim, cfg.hidden).to(device)
        self.opt = torch.optim.Adam([*self.h2r.parameters(), *self.r2h.parameters()], lr=cfg.learning_rate)
        self.h_buf = torch.zeros(cfg.capacity, h_dim, device=device)
        self.r_buf = torch.zeros(cfg.capacity, r_dim, device=device)
        self.count = 0
        """Pairs written since the last fit (the ring's fill is min(total, capacity))."""
        self.total = 0
        self.fits = 0

    def record(self, h: torch.Tensor, r: torch.Tensor) -> None:
        n, cap = h.shape[0], self.cfg.capacity
        idx = (torch.arange(n, device=h.device) + self.total) % cap
        self.h_buf[idx] = h
        self.r_buf[idx] = r
        self.total += n
        self.count += n

    def fit(self, generator: torch.Generator | None = None) -> dict[str, float]:
        """MSE both ways on the pairs in the buffer; returns the last epoch's mean losses."""
        n = min(self.total, self.cfg.capacity)
        if n == 0:
            return {}
        h_all, r_all = self.h_buf[:n].clone(), self.r_buf[:n].clone()
        losses = {"h2r": 0.0, "r2h": 0.0}
        with torch.inference_mode(False), torch.enable_grad():
            for _ in range(self.cfg.epochs):
                perm = torch.randperm(n, device=h_all.device, generator=generator)
                sums, batches = {"h2r": 0.0, "r2h": 0.0}, 0
                for start in range(0, n, self.cfg.batch_size):
                    b = perm[start : start + self.cfg.batch_size]
                    h, r = h_all[b], r_all[b]
                    l_h2r = torch.mean((self.h2r(h) - r) ** 2)
                    l_r2h = torch.mean((self.r2h(r) - h) ** 2)
                    self.opt.zero_grad(set_to_none=True)
                    (l_h2r + l_r2h).backward()
                    self.opt.step()
                    sums["h2r"] += float(l_h2r.detach())
                    sums["r2h"] += float(l_r2h.detach())
                    batches += 1
                losses = {k: v / batches for k, v in sums.items()}
        self.count = 0
        self.fits += 1
        return losses

    @torch.no_grad()
    def reward(self, h: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        return cycle_reward(h, r, self.h2r, self.r2h)

    def state_dict(self) -> dict[str, dict]:
        return {"h2r": self.h2r.state_dict(), "r2h": self.r2h.state_dict(), "opt": self.opt.state_dict()}
