"""Motion clips: the `.npz` format of DESIGN.md, atomic writes, and resampling (SLERP for the root)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import RetargetInputError
from .rotations import quat_slerp

FORMAT_VERSION = 1


@dataclass
class MotionClip:
    """A robot motion: qpos [T, nq] = root position, root quaternion (w, x, y, z), joint angles.

    Robots without a floating base (hands, fixed arms) have `has_root=False` and qpos holds joints only.
    """

    fps: float
    joint_names: list[str]
    qpos: np.ndarray
    body_names: list[str]
    body_pos: np.ndarray  # [T, B, 3] world positions of the robot's bodies
    robot: str
    has_root: bool = True
    source: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.qpos.shape[0])

    def validate(self, where: str | Path = "<clip>") -> None:
        T = self.qpos.shape[0] if self.qpos.ndim == 2 else -1
        nq = len(self.joint_names) + (7 if self.has_root else 0)
        checks = [
            ("fps", self.fps > 0, f"> 0, got {self.fps}"),
            (
                "qpos",
                self.qpos.ndim == 2 and self.qpos.shape[1] == nq,
                f"shape [T, {nq}], got {self.qpos.shape}",
            ),
            (
                "body_pos",
                self.body_pos.shape == (T, len(self.body_names), 3),
                f"shape [{T}, {len(self.body_names)}, 3], got {self.body_pos.shape}",
            ),
            ("qpos", bool(np.isfinite(self.qpos).all()), "finite values"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise RetargetInputError(where, name, f"expected {expected}")

    def save(self, path: str | Path) -> Path:
        """Write atomically: a temp file in the same folder, then os.replace (never half-written)."""
        path = Path(path)
        self.validate(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".npz.tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(
                    f,
                    format_version=np.int64(FORMAT_VERSION),
                    fps=np.float64(self.fps),
                    joint_names=np.array(self.joint_names),
                    qpos=self.qpos.astype(np.float64),
                    body_names=np.array(self.body_names),
                    body_pos=self.body_pos.astype(np.float32),
                    robot=np.array(self.robot),
                    has_root=np.bool_(self.has_root),
                    source=np.array(json.dumps(self.source, default=str)),
                )
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | Path) -> MotionClip:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                d = {k: z[k] for k in z.files}
        except (OSError, ValueError) as exc:
            raise RetargetInputError(path, "file", f"not a readable .npz clip ({exc})") from None
        for key in ("format_version", "fps", "joint_names", "qpos", "body_names", "body_pos"):
            if key not in d:
                raise RetargetInputError(path, key, "missing")
        if int(d["format_version"]) != FORMAT_VERSION:
            raise RetargetInputError(
                path, "format_version", f"expected {FORMAT_VERSION}, got {int(d['format_version'])}"
            )
        clip = cls(
            fps=float(d["fps"]),
            joint_names=[str(n) for n in d["joint_names"]],
            qpos=d["qpos"],
            body_names=[str(n) for n in d["body_names"]],
            body_pos=d["body_pos"].astype(np.float64),
            robot=str(d.get("robot", "")),
            has_root=bool(d.get("has_root", True)),
            source=json.loads(str(d["source"])) if "source" in d else {},
        )
        clip.validate(path)
        return clip


def resample_qpos(qpos: np.ndarray, fps: float, new_fps: float, has_root: bool) -> np.ndarray:
    """qpos at `new_fps` over the same duration: linear for positions/joints, SLERP for the root quaternion."""
    T = qpos.shape[0]
    if T < 2 or abs(new_fps - fps) < 1e-9:
        return qpos.copy()
    duration = (T - 1) / fps
    times = np.arange(int(np.floor(duration * new_fps + 1e-9)) + 1) / new_fps
    x = np.clip(times * fps, 0, T - 1)
    i0 = np.minimum(np.floor(x).astype(int), T - 2)
    a = (x - i0)[:, None]
    out = (1 - a) * qpos[i0] + a * qpos[i0 + 1]
    if has_root:
        out[:, 3:7] = quat_slerp(qpos[i0, 3:7], qpos[i0 + 1, 3:7], a)
    return out
