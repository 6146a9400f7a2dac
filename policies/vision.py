"""A small ResNet image encoder for the imitation policies: uint8 camera frames -> a feature vector.

    enc = ResNetEncoder(VisionCfg())
    feats = enc(frames)          # frames (N, H, W, 3) uint8 RGB -> (N, feature_dim)

Layout (after Chi et al.'s Diffusion Policy, sized for CPU training): a strided conv stem with max
pooling, one basic residual block per stage at widths 16/32/64/128, spatial-softmax keypoints (the expected
image coordinates of learned feature maps: where things are, which is what a reaching policy needs) and a
linear layer. GroupNorm replaces BatchNorm: the policies evaluate EMA-averaged weights, and batch-norm
running statistics do not average with the weights (Chi et al. made the same substitution).

Augmentation lives in the encoder so training, evaluation and export cannot disagree: in train() mode each
frame gets its own random crop of `crop_frac` of its height and width; in eval() mode the centre crop of the
same size. Normalization (uint8 -> [-1, 1]) is inside too, so deploy code feeds raw camera frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn


@dataclass
class VisionCfg:
    widths: tuple[int, ...] = (16, 32, 64, 128)
    """Channels of the residual stages; every stage after the first halves the resolution."""
    blocks_per_stage: int = 1
    stem_kernel: int = 5
    """The stem conv (stride 2) + 2x2 max pool bring a 108x144 crop to 27x36 before the first stage."""
    groups: int = 8
    """GroupNorm groups (widths must be divisible by it)."""
    pool: Literal["spatial_softmax", "avg"] = "spatial_softmax"
    num_keypoints: int = 32
    """Spatial-softmax keypoints (2 coordinates each) before the output layer."""
    feature_dim: int = 64
    """Features per camera frame, concatenated with the low-dim observation."""
    crop_frac: float = 0.9
    """Random crop (training) / centre crop (evaluation) of this fraction of each side."""


class BasicBlock(nn.Module):
    """Two 3x3 convs with GroupNorm and a (projected when the shape changes) identity shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int, groups: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.norm1 = nn.GroupNorm(groups, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.GroupNorm(groups, c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.norm1(self.conv1(x)))
        return torch.relu(self.norm2(self.conv2(h)) + self.skip(x))


class SpatialSoftmax(nn.Module):
    """Feature maps (N, C, h, w) -> K keypoints (N, 2K): softmax over each map's pixels, expected x and y.

    The coordinate grid is built from the input's size in the forward pass (a constant in a traced ONNX
    graph), so the module has no image size of its own.
    """

    def __init__(self, channels: int, num_keypoints: int):
        super().__init__()
        self.proj = nn.Conv2d(channels, num_keypoints, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        n, k = x.shape[:2]
        h, w = int(x.shape[2]), int(x.shape[3])
        ys = torch.linspace(-1.0, 1.0, h, device=x.device)
        xs = torch.linspace(-1.0, 1.0, w, device=x.device)
        grid = torch.stack([xs.repeat(h), ys.repeat_interleave(w)], -1)  # (h*w, 2), row-major like flatten
        attention = torch.softmax(x.reshape(n, k, h * w), -1)
        return (attention @ grid).reshape(n, 2 * k)


def crop_size(height: int, width: int, frac: float) -> tuple[int, int]:
    return max(1, int(round(height * frac))), max(1, int(round(width * frac)))


class ResNetEncoder(nn.Module):
    """uint8 frames (N, H, W, 3) -> features (N, feature_dim); random crop in train(), centre crop in eval()."""

    def __init__(self, cfg: VisionCfg):
        super().__init__()
        self.cfg = cfg
        w0 = cfg.widths[0]
        k = cfg.stem_kernel
        self.stem = nn.Sequential(
            nn.Conv2d(3, w0, k, 2, k // 2, bias=False),
            nn.GroupNorm(cfg.groups, w0),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        blocks: list[nn.Module] = []
        last = w0
        for i, width in enumerate(cfg.widths):
            for j in range(cfg.blocks_per_stage):
                blocks.append(BasicBlock(last, width, 2 if (i > 0 and j == 0) else 1, cfg.groups))
                last = width
        self.stages = nn.Sequential(*blocks)
        if cfg.pool == "spatial_softmax":
            self.pool: nn.Module = SpatialSoftmax(last, cfg.num_keypoints)
            pooled = 2 * cfg.num_keypoints
        else:
            self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
            pooled = last
        self.out = nn.Linear(pooled, cfg.feature_dim)

    def crop(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, H, W, C) -> (N, h, w, C): independent random crops in training, the centre crop otherwise."""
        n = frames.shape[0]
        height, width = int(frames.shape[1]), int(frames.shape[2])  # constants in a traced (ONNX) graph
        ch, cw = crop_size(height, width, self.cfg.crop_frac)
        if not self.training:
            top, left = (height - ch) // 2, (width - cw) // 2
            return frames[:, top : top + ch, left : left + cw]
        # Per-frame offsets by gather indices: one indexing op instead of a Python loop over the batch.
        tops = torch.randint(0, height - ch + 1, (n,), device=frames.device)
        lefts = torch.randint(0, width - cw + 1, (n,), device=frames.device)
        rows = tops[:, None] + torch.arange(ch, device=frames.device)
        cols = lefts[:, None] + torch.arange(cw, device=frames.device)
        batch = torch.arange(n, device=frames.device)[:, None, None]
        return frames[batch, rows[:, :, None], cols[:, None, :]]

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = self.crop(frames).permute(0, 3, 1, 2).float() / 127.5 - 1.0  # uint8 RGB -> [-1, 1], NCHW
        return self.out(self.pool(self.stages(self.stem(x))))


class ObservationEncoder(nn.Module):
    """Low-dim observations + camera frames -> per-step observation features for the action model.

    One encoder per camera (cameras see different things; shared weights would have to tell them apart).
    lowdim (B, T, O) normalized, images {camera: (B, T, H, W, 3) uint8} -> (B, T, O + cameras * feature_dim).
    """

    def __init__(self, cameras: tuple[str, ...], cfg: VisionCfg):
        super().__init__()
        self.cameras = tuple(cameras)
        self.encoders = nn.ModuleDict({c: ResNetEncoder(cfg) for c in self.cameras})
        self.feature_dim = cfg.feature_dim * len(self.cameras)

    def image_features(self, images: dict[str, torch.Tensor]) -> torch.Tensor:
        """{camera: (..., H, W, 3)} -> (..., cameras * feature_dim), cameras in `self.cameras` order."""
        feats = []
        for c in self.cameras:
            frames = images[c]
            lead = frames.shape[:-3]
            feats.append(self.encoders[c](frames.reshape(-1, *frames.shape[-3:])).reshape(*lead, -1))
        return torch.cat(feats, -1)

    def forward(self, lowdim: torch.Tensor, images: dict[str, torch.Tensor]) -> torch.Tensor:
        missing = [c for c in self.cameras if c not in images]
        if missing:
            raise ValueError(f"image policy needs frames from cameras {missing} (has {sorted(images)})")
        return torch.cat([lowdim, self.image_features(images)], -1)


class CameraEncoders(nn.Module):
    """The export view of an ObservationEncoder: one uint8 frame batch per camera -> concatenated features."""

    def __init__(self, obs_encoder: ObservationEncoder):
        super().__init__()
        self.obs_encoder = obs_encoder

    def forward(self, *frames: torch.Tensor) -> torch.Tensor:
        return self.obs_encoder.image_features(dict(zip(self.obs_encoder.cameras, frames, strict=True)))
