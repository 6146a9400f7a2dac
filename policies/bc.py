"""Behaviour cloning baseline: an MLP from the last observations to an action chunk, trained with MSE.

It sees the same data windows as the diffusion policy (obs horizon 2, chunk of 16, 8 executed) and is
evaluated the same way, so the two differ only in the action model: one deterministic regression (which
averages distinct demonstrated behaviours) against a denoised sample from the learned distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class BcCfg:
    obs_horizon: int = 2
    horizon: int = 16
    action_horizon: int = 8
    hidden_dims: tuple[int, ...] = (512, 512, 512)
    lr: float = 1e-3
    weight_decay: float = 1e-6
    warmup_steps: int = 200


class BcPolicy(nn.Module):
    def __init__(self, obs_dim: int, action_dim: int, cfg: BcCfg):
        super().__init__()
        self.cfg, self.obs_dim, self.action_dim = cfg, obs_dim, action_dim
        layers: list[nn.Module] = []
        last = obs_dim * cfg.obs_horizon
        for h in cfg.hidden_dims:
            layers += [nn.Linear(last, h), nn.Mish()]
            last = h
        layers.append(nn.Linear(last, cfg.horizon * action_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """obs (B, obs_horizon, O) normalized -> action chunk (B, horizon, A) normalized."""
        return self.net(obs.flatten(1)).view(len(obs), self.cfg.horizon, self.action_dim)

    def loss(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return nn.functional.mse_loss(self(obs), actions)

    @torch.no_grad()
    def sample(self, obs: torch.Tensor, net: nn.Module | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:  # fmt: skip
        del steps, generator
        return (net or self)(obs)
