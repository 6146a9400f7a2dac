"""Diffusion policy: a 1-D temporal conv U-Net that denoises an action chunk, FiLM-conditioned on observations.

Training (DDPM): take a chunk of `horizon` normalized actions, add noise at a random step of a 100-step
squared-cosine schedule, and regress the noise (epsilon prediction) from the noisy chunk, the step and the
last `obs_horizon` observations. Inference (DDIM): start from Gaussian noise and denoise in a few steps
(10 by default); the first `action_horizon` actions of the chunk are executed, then the policy replans.
The schedulers are diffusers'; the network is ours (after Chi et al., "Diffusion Policy", RSS 2023).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from diffusers import DDIMScheduler, DDPMScheduler
from torch import nn


@dataclass
class DiffusionCfg:
    obs_horizon: int = 2
    horizon: int = 16
    """Prediction horizon: actions denoised together."""
    action_horizon: int = 8
    """Actions executed from each chunk before replanning."""
    down_dims: tuple[int, ...] = (32, 64, 128)
    """U-Net widths (1.2M parameters): the paper's (256, 512, 1024) is ~50x the compute; this size keeps a
    10-step DDIM chunk near 20 ms on one CPU core and is enough for low-dim state observations."""
    kernel_size: int = 5
    n_groups: int = 8
    step_embed_dim: int = 64
    num_train_timesteps: int = 100
    beta_schedule: str = "squaredcos_cap_v2"
    num_inference_steps: int = 10
    """DDIM steps at inference."""
    prediction_type: str = "epsilon"
    """What the network regresses: "epsilon" (the noise, the paper's default) or "sample" (the clean chunk;
    Chi et al. offer both, and it learns faster from few demos and few steps: docs/motiontrans.md)."""
    # Optimization (AdamW + cosine schedule with warmup + EMA weights, as in the paper).
    lr: float = 1e-4
    weight_decay: float = 1e-6
    warmup_steps: int = 200
    ema_power: float = 0.75
    ema_max_decay: float = 0.9999


class SinusoidalStepEmbedding(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.dim // 2
        freqs = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device) / (half - 1))
        x = t.float()[:, None] * freqs[None]
        return torch.cat([x.sin(), x.cos()], dim=-1)


class ConvBlock(nn.Sequential):
    """Conv1d -> GroupNorm -> Mish over (batch, channels, time)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, groups: int):
        super().__init__(
            nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2), nn.GroupNorm(groups, c_out), nn.Mish()
        )


class FiLMResidualBlock(nn.Module):
    """Two conv blocks; the condition sets a per-channel scale and bias between them (FiLM)."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int, kernel: int, groups: int):
        super().__init__()
        self.block1 = ConvBlock(c_in, c_out, kernel, groups)
        self.block2 = ConvBlock(c_out, c_out, kernel, groups)
        self.film = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, 2 * c_out))
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.block1(x)
        scale, bias = self.film(cond).unsqueeze(-1).chunk(2, dim=1)
        h = self.block2(scale * h + bias)
        return h + self.skip(x)


class UnetLevel(nn.Module):
    """Two FiLM residual blocks, then a resampling conv (down, up, or none at the bottom)."""

    def __init__(self, c_in: int, c_out: int, cond: int, kernel: int, groups: int, resample: nn.Module):
        super().__init__()
        self.res1 = FiLMResidualBlock(c_in, c_out, cond, kernel, groups)
        self.res2 = FiLMResidualBlock(c_out, c_out, cond, kernel, groups)
        self.resample = resample

    def blocks(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.res2(self.res1(h, cond), cond)


class ConditionalUnet1D(nn.Module):
    """eps = net(noisy actions (B, T, A), step (B,), obs features (B, C)); T must be divisible by 2^(levels-1)."""

    def __init__(self, action_dim: int, cond_dim: int, cfg: DiffusionCfg):
        super().__init__()
        k, g, e = cfg.kernel_size, cfg.n_groups, cfg.step_embed_dim
        self.step_embed = nn.Sequential(
            SinusoidalStepEmbedding(e), nn.Linear(e, 4 * e), nn.Mish(), nn.Linear(4 * e, e)
        )
        cond = e + cond_dim
        dims = [action_dim, *cfg.down_dims]
        self.down = nn.ModuleList()
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            last = i == len(dims) - 2
            resample: nn.Module = nn.Conv1d(b, b, 3, stride=2, padding=1) if not last else nn.Identity()
            self.down.append(UnetLevel(a, b, cond, k, g, resample))
        mid = dims[-1]
        self.mid = nn.ModuleList(
            [FiLMResidualBlock(mid, mid, cond, k, g), FiLMResidualBlock(mid, mid, cond, k, g)]
        )
        self.up = nn.ModuleList()
        rev = list(reversed(cfg.down_dims))
        for a, b in zip(rev[:-1], rev[1:], strict=True):
            self.up.append(UnetLevel(2 * a, b, cond, k, g, nn.ConvTranspose1d(b, b, 4, stride=2, padding=1)))
        self.head = nn.Sequential(
            ConvBlock(cfg.down_dims[0], cfg.down_dims[0], k, g), nn.Conv1d(cfg.down_dims[0], action_dim, 1)
        )

    def forward(self, x: torch.Tensor, t: torch.Tensor, obs_cond: torch.Tensor) -> torch.Tensor:
        cond = torch.cat([self.step_embed(t), obs_cond], dim=-1)
        h = x.transpose(1, 2)  # (B, A, T): convolve over time
        skips = []
        for level in self.down:
            assert isinstance(level, UnetLevel)
            h = level.blocks(h, cond)
            skips.append(h)
            h = level.resample(h)
        for res in self.mid:
            h = res(h, cond)
        for level in self.up:
            assert isinstance(level, UnetLevel)
            h = torch.cat([h, skips.pop()], dim=1)
            h = level.resample(level.blocks(h, cond))
        return self.head(h).transpose(1, 2)


class EMA:
    """Exponential moving average of weights; the decay warms up as 1 - (1 + step)^-power."""

    def __init__(self, model: nn.Module, power: float = 0.75, max_decay: float = 0.9999):
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.power, self.max_decay, self.step = power, max_decay, 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.step += 1
        decay = min(self.max_decay, max(0.0, 1 - (1 + self.step) ** -self.power))
        for ema_p, p in zip(self.model.parameters(), model.parameters(), strict=True):
            ema_p.lerp_(p.detach(), 1 - decay)
        for ema_b, b in zip(self.model.buffers(), model.buffers(), strict=True):
            ema_b.copy_(b)


def make_schedulers(cfg: DiffusionCfg, prediction_type: str = "epsilon") -> tuple[DDPMScheduler, DDIMScheduler]:
    common = dict(num_train_timesteps=cfg.num_train_timesteps, beta_schedule=cfg.beta_schedule,
                  prediction_type=prediction_type, clip_sample=True)  # fmt: skip
    # Actions are normalized to [-1, 1], so clipping the predicted clean sample to that range is safe.
    return DDPMScheduler(**common), DDIMScheduler(**common, set_alpha_to_one=True, steps_offset=0)


class DiffusionPolicy(nn.Module):
    """Noise network + schedulers; `loss` for training, `sample` for inference (normalized spaces)."""

    def __init__(self, obs_dim: int, action_dim: int, cfg: DiffusionCfg):
        super().__init__()
        if cfg.horizon % (2 ** (len(cfg.down_dims) - 1)):
            raise ValueError(
                f"horizon {cfg.horizon} must be divisible by 2^{len(cfg.down_dims) - 1} (U-Net levels)"
            )
        self.cfg, self.obs_dim, self.action_dim = cfg, obs_dim, action_dim
        self.net = ConditionalUnet1D(action_dim, obs_dim * cfg.obs_horizon, cfg)
        if cfg.prediction_type not in ("epsilon", "sample"):
            raise ValueError(f"prediction_type must be 'epsilon' or 'sample', got {cfg.prediction_type!r}")
        self.train_scheduler, self.infer_scheduler = make_schedulers(cfg, cfg.prediction_type)

    def loss(self, obs: torch.Tensor, actions: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """obs (B, obs_horizon, O), actions (B, horizon, A), both normalized -> epsilon MSE; with per-sample
        `weights` (B,), the weighted mean of the samples' MSEs (sum w_i l_i / sum w_i)."""
        noise = torch.randn_like(actions)
        t = torch.randint(0, self.cfg.num_train_timesteps, (len(actions),), device=actions.device)
        noisy = self.train_scheduler.add_noise(actions, noise, t)
        target = noise if self.cfg.prediction_type == "epsilon" else actions
        if weights is None:
            return nn.functional.mse_loss(self.net(noisy, t, obs.flatten(1)), target)
        per_sample = (self.net(noisy, t, obs.flatten(1)) - target).pow(2).mean(dim=(1, 2))
        return (weights * per_sample).sum() / weights.sum()

    @torch.no_grad()
    def sample(self, obs: torch.Tensor, net: nn.Module | None = None, steps: int | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:  # fmt: skip
        """A normalized action chunk (B, horizon, A) for obs (B, obs_horizon, O), by DDIM."""
        net = net or self.net
        sched = self.infer_scheduler
        sched.set_timesteps(steps or self.cfg.num_inference_steps)
        cond = obs.flatten(1)
        x = torch.randn((len(obs), self.cfg.horizon, self.action_dim), generator=generator, device=obs.device)
        for t in sched.timesteps:
            eps = net(x, t.expand(len(obs)).to(obs.device), cond)
            x = sched.step(eps, t, x).prev_sample
        return x
