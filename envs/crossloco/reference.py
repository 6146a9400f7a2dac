"""The human reference of Go2-CrossLoco: a human-features file (`robolearn.retarget.human_features`) as
tensors, split per clip into training frames and held-out segments.

The split is in time: the last `held_out_fraction` of every clip (and of its mirror) is never shown in
training; evaluation starts episodes there. Features are at the policy rate (the file's `fps` must equal it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from robolearn.envs.tracking.motion import MotionFileError

FIELDS = ("fps", "names", "starts", "lengths", "root_xy", "root_z", "heading", "pose", "skeleton")


@dataclass
class HumanReference:
    path: Path
    names: list[str]
    starts: torch.Tensor  # [C] first frame of each clip
    ends: torch.Tensor  # [C] last frame of each clip (inclusive)
    split: torch.Tensor  # [C] first held-out frame of each clip
    root_xy: torch.Tensor  # [F, 2]
    root_z: torch.Tensor  # [F]
    heading: torch.Tensor  # [F]
    pose: torch.Tensor  # [F, D] raw pose features
    pose_mean: torch.Tensor  # [D] over the training frames
    pose_std: torch.Tensor  # [D]
    root_vel: torch.Tensor  # [F, 3] (forward, lateral, yaw rate) in the heading frame, m/s and rad/s
    skeleton: np.ndarray  # [F, P, 3] drawing only
    bones: np.ndarray  # [B, 2]
    clip_of_frame: torch.Tensor  # [F]

    @property
    def num_clips(self) -> int:
        return len(self.names)

    @property
    def pose_dim(self) -> int:
        return int(self.pose.shape[1])

    def h(self, frames: torch.Tensor) -> torch.Tensor:
        """Standardized pose features (what the mappers and the cycle reward see)."""
        return (self.pose[frames] - self.pose_mean) / self.pose_std


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise MotionFileError(path, "features_file", "no such file; expected a human-features .npz "
                              "(robolearn.retarget.human_features.save_features)")  # fmt: skip
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise MotionFileError(path, "file", f"not a readable .npz ({exc})") from None
    missing = [k for k in FIELDS if k not in data]
    if missing:
        raise MotionFileError(path, missing[0], f"missing; a human-features file holds {', '.join(FIELDS)}")
    return data


def load_human_reference(
    path: str | Path, rate: float, held_out_fraction: float, device: torch.device | str
) -> HumanReference:
    path = Path(path)
    d = _read(path)
    fps = float(d["fps"])
    if abs(fps - rate) > 1e-6 * rate:
        raise MotionFileError(path, "fps", f"{fps:g}; expected the policy rate {rate:g} (write the features at it)")
    lengths, starts = d["lengths"].astype(np.int64), d["starts"].astype(np.int64)
    total = int(d["pose"].shape[0])
    if len(lengths) == 0 or lengths.min() < 2 or int(lengths.sum()) != total or not np.array_equal(
        starts, np.cumsum([0, *lengths[:-1]])
    ):
        raise MotionFileError(path, "lengths", f"clip lengths {lengths.tolist()} and starts {starts.tolist()} do not "
                              f"tile the {total} frames; expected consecutive clips of >= 2 frames")  # fmt: skip
    for key in ("root_xy", "root_z", "heading", "pose", "skeleton"):
        if d[key].shape[0] != total or not np.isfinite(d[key]).all():
            raise MotionFileError(path, key, f"expected {total} finite rows, got shape {d[key].shape}")
    if not 0.0 <= held_out_fraction < 1.0:
        raise MotionFileError("<config>", "held_out_fraction", f"{held_out_fraction}; expected in [0, 1)")
    split = starts + np.maximum(2, np.round(lengths * (1.0 - held_out_fraction)).astype(np.int64))
    split = np.minimum(split, starts + lengths)
    t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)  # noqa: E731
    pose = t(d["pose"])
    train = np.concatenate([np.arange(s, e) for s, e in zip(starts, split, strict=True)])
    mean, std = pose[train].mean(0), pose[train].std(0).clamp(min=1e-3)
    return HumanReference(
        path=path, names=[str(n) for n in d["names"]],
        starts=torch.as_tensor(starts, device=device), ends=torch.as_tensor(starts + lengths - 1, device=device),
        split=torch.as_tensor(split, device=device), root_xy=t(d["root_xy"]), root_z=t(d["root_z"]),
        heading=t(d["heading"]), pose=pose, pose_mean=mean, pose_std=std,
        root_vel=t(_root_velocity(d["root_xy"], d["heading"], starts, lengths, fps)),
        skeleton=d["skeleton"], bones=d.get("skeleton_bones", np.zeros((0, 2), dtype=np.int64)),
        clip_of_frame=torch.as_tensor(np.repeat(np.arange(len(lengths)), lengths), device=device),
    )  # fmt: skip


def _root_velocity(xy: np.ndarray, heading: np.ndarray, starts: np.ndarray, lengths: np.ndarray,
                   fps: float) -> np.ndarray:  # fmt: skip
    """Per frame, (forward, lateral, yaw rate) of the root in its heading frame, by central differences
    within each clip."""
    out = np.zeros((len(xy), 3))
    for s, n in zip(starts, lengths, strict=True):
        sl = slice(s, s + n)
        v = np.gradient(xy[sl].astype(np.float64), axis=0) * fps
        c, si = np.cos(heading[sl]), np.sin(heading[sl])
        out[sl, 0] = c * v[:, 0] + si * v[:, 1]
        out[sl, 1] = -si * v[:, 0] + c * v[:, 1]
        out[sl, 2] = np.gradient(heading[sl].astype(np.float64)) * fps
    return out
