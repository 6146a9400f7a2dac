"""Motion clips: the `.npz` format of DESIGN.md, atomic writes, and resampling (SLERP for the root)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robolearn.atomic import save_npz

from .errors import RetargetInputError, as_float_array, as_names, as_number, as_text, read_npz
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
            ("fps", bool(np.isfinite(self.fps) and self.fps > 0), f"a finite number > 0, got {self.fps}"),
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
            ("qpos", T >= 1, f"at least one frame, got {T}"),
            ("qpos", bool(np.isfinite(self.qpos).all()), "finite values"),
            ("body_pos", bool(np.isfinite(self.body_pos).all()), "finite values"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise RetargetInputError(where, name, f"expected {expected}")

    def save(self, path: str | Path) -> Path:
        """Write atomically: a temp file in the same folder, then os.replace (never half-written)."""
        path = Path(path)
        self.validate(path)
        return save_npz(path, {
            "format_version": np.int64(FORMAT_VERSION), "fps": np.float64(self.fps),
            "joint_names": np.array(self.joint_names), "qpos": self.qpos.astype(np.float64),
            "body_names": np.array(self.body_names), "body_pos": self.body_pos.astype(np.float32),
            "robot": np.array(self.robot), "has_root": np.bool_(self.has_root),
            "source": np.array(json.dumps(self.source, default=str)),
        })  # fmt: skip

    @classmethod
    def load(cls, path: str | Path) -> MotionClip:
        path = Path(path)
        d = read_npz(path, ".npz clip")
        for key in ("format_version", "fps", "joint_names", "qpos", "body_names", "body_pos"):
            if key not in d:
                raise RetargetInputError(path, key, "missing")
        version = as_number(d["format_version"], path, "format_version", positive=False)
        if version != FORMAT_VERSION:
            raise RetargetInputError(path, "format_version", f"expected {FORMAT_VERSION}, got {version:g}")
        try:
            source = json.loads(as_text(d["source"], path, "source")) if "source" in d else {}
        except (json.JSONDecodeError, RecursionError) as exc:
            raise RetargetInputError(path, "source", f"not valid JSON ({exc})") from None
        has_root = d.get("has_root", np.bool_(True))
        if has_root.shape != () or has_root.dtype != np.bool_:
            raise RetargetInputError(path, "has_root", f"expected one boolean, got {has_root!r}")
        clip = cls(
            fps=as_number(d["fps"], path, "fps"),
            joint_names=as_names(d["joint_names"], path, "joint_names") if d["joint_names"].size else [],
            qpos=as_float_array(d["qpos"], path, "qpos"),
            body_names=as_names(d["body_names"], path, "body_names"),
            body_pos=as_float_array(d["body_pos"], path, "body_pos"),
            robot=as_text(d.get("robot", np.array("")), path, "robot"),
            has_root=bool(has_root),
            source=source if isinstance(source, dict) else {"source": source},
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
