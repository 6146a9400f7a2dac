"""OpenXR hand-tracking recordings: 26 joints per hand (XR_EXT_hand_tracking) plus the headset pose, as a
Quest / OpenXR app logs them (and as the simulated human stand-in of the Panda tasks writes them).

File (.npz or .json):
  fps                       headset tracking rate (Hz)
  frame                     "openxr" (default) or "unity": the convention of every pose (retarget/sources/vr.py)
  head                      [T, 7] headset pose: position xyz + quaternion wxyz
  right_hand, left_hand     [T, 26, 3] joint positions or [T, 26, 7] joint poses (xyz + wxyz), world space,
                            joints in XR_HAND_JOINT_* order (below); at least one hand
  annotations (optional)    JSON only: {"grasp": [[t0, t1], ...]} seconds during which the hand holds an object

Poses are converted to the robot world frame (x forward, y left, z up) on load, as vr.py does. The reader
checks everything before returning: a wrong joint count, a missing head pose or a non-finite value raises
RetargetInputError naming the file and the field, so a conversion that reads every file first writes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robolearn.atomic import atomic_file

from ..errors import (
    RetargetInputError,
    as_choice,
    as_float_array,
    as_number,
    check_finite,
    read_json_object,
    read_npz,
)
from ..rotations import mat_to_quat, quat_to_mat
from .vr import FRAME_TO_ROBOT, to_robot_frame

OPENXR_JOINTS = [
    "palm", "wrist",
    "thumb_metacarpal", "thumb_proximal", "thumb_distal", "thumb_tip",
    "index_metacarpal", "index_proximal", "index_intermediate", "index_distal", "index_tip",
    "middle_metacarpal", "middle_proximal", "middle_intermediate", "middle_distal", "middle_tip",
    "ring_metacarpal", "ring_proximal", "ring_intermediate", "ring_distal", "ring_tip",
    "little_metacarpal", "little_proximal", "little_intermediate", "little_distal", "little_tip",
]  # fmt: skip
NUM_JOINTS = len(OPENXR_JOINTS)
TO_MANO21 = [1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 14, 15, 17, 18, 19, 20, 22, 23, 24, 25]
"""OpenXR joint of each of the 21 MediaPipe/MANO keypoints (retarget/sources/hands.HAND_POINTS): the wrist,
the thumb's metacarpal base as its CMC, each finger's proximal joint as its MCP; palm and metacarpals dropped."""
SIDES = ("right", "left")


@dataclass
class OpenXRRecording:
    fps: float
    head: np.ndarray
    """[T, 4, 4] headset poses in the robot world frame."""
    hands: dict[str, np.ndarray]
    """side -> [T, 26, 3] joint positions in the robot world frame."""
    source: str
    grasp: list[tuple[float, float]] = field(default_factory=list)

    @property
    def num_frames(self) -> int:
        return int(self.head.shape[0])

    def mano21(self, side: str) -> np.ndarray:
        """[T, 21, 3] the hand's keypoints in MediaPipe/MANO order (world frame)."""
        return self.hands[side][:, TO_MANO21]


def _pose_mats(path: Path, name: str, value) -> np.ndarray:
    a = as_float_array(value, path, name)
    if a.ndim != 2 or a.shape[1] != 7 or a.shape[0] == 0:
        raise RetargetInputError(path, name, f"expected [T>=1, 7] (xyz + wxyz), got {a.shape}")
    check_finite(a, path, name)
    if (np.linalg.norm(a[:, 3:], axis=1) < 1e-6).any():
        raise RetargetInputError(path, name, "zero quaternion; expected unit quaternions (w, x, y, z)")
    mats = np.tile(np.eye(4), (len(a), 1, 1))
    mats[:, :3, :3] = quat_to_mat(a[:, 3:] / np.linalg.norm(a[:, 3:], axis=1, keepdims=True))
    mats[:, :3, 3] = a[:, :3]
    return mats


def _joints(path: Path, name: str, value, frames: int) -> np.ndarray:
    a = as_float_array(value, path, name)
    if a.ndim != 3 or a.shape[1] != NUM_JOINTS or a.shape[2] not in (3, 7):
        raise RetargetInputError(path, name, f"expected [T, {NUM_JOINTS}, 3] or [T, {NUM_JOINTS}, 7] "
                                             f"(OpenXR hand joints), got {a.shape}")  # fmt: skip
    if a.shape[0] != frames:
        raise RetargetInputError(path, name, f"expected {frames} frames like 'head', got {a.shape[0]}")
    check_finite(a, path, name)
    return a[..., :3]


def _annotations(path: Path, d: dict) -> list[tuple[float, float]]:
    ann = d.get("annotations", {})
    spans = ann.get("grasp", []) if isinstance(ann, dict) else None
    if not isinstance(spans, list) or not all(
        isinstance(s, list) and len(s) == 2 and all(isinstance(v, int | float) for v in s) and s[0] <= s[1]
        for s in spans
    ):
        raise RetargetInputError(
            path, "annotations.grasp", "expected a list of [start_s, end_s] with start <= end"
        )
    return [(float(a), float(b)) for a, b in spans]


def load_openxr(path: str | Path) -> OpenXRRecording:
    path = Path(path)
    if not path.is_file():
        raise RetargetInputError(path, "file", "not found")
    if path.suffix.lower() == ".json":
        d = read_json_object(path)
    else:
        d = dict(read_npz(path, "OpenXR .npz"))
    for key in ("fps", "head"):
        if key not in d:
            raise RetargetInputError(path, key, "missing; an OpenXR recording needs fps, head and a hand")
    frame = as_choice(d.get("frame", "openxr"), path, "frame", FRAME_TO_ROBOT)
    fps = as_number(d["fps"], path, "fps")
    head = _pose_mats(path, "head", d["head"])
    names = [f"{s}_hand" for s in SIDES if f"{s}_hand" in d]
    if not names:
        raise RetargetInputError(
            path, "right_hand", f"missing; expected right_hand and/or left_hand [T, {NUM_JOINTS}, 3]"
        )
    M = FRAME_TO_ROBOT[frame]
    hands = {n.removesuffix("_hand"): _joints(path, n, d[n], len(head)) @ M.T for n in names}
    grasp = _annotations(path, d) if path.suffix.lower() == ".json" else []
    return OpenXRRecording(fps, to_robot_frame(head, frame), hands, str(path), grasp)


def robot_to_frame(points: np.ndarray, frame: str) -> np.ndarray:
    """Robot-world points (..., 3) in the file convention `frame` (the inverse of the reader's conversion)."""
    return points @ FRAME_TO_ROBOT[frame]


def save_openxr(path: str | Path, fps: float, head: np.ndarray, hands: dict[str, np.ndarray],
                frame: str = "openxr", grasp: list[tuple[float, float]] | None = None) -> None:  # fmt: skip
    """Write a recording from robot-world arrays (head [T, 4, 4], hands side -> [T, 26, 3]) in `frame`'s
    convention, atomically (a temp file beside it, then rename). JSON keeps grasp annotations."""
    path = Path(path)
    M = FRAME_TO_ROBOT[frame]
    rot = M.T @ head[:, :3, :3] @ M
    head7 = np.concatenate([head[:, :3, 3] @ M, mat_to_quat(rot)], -1)
    data: dict = {"fps": float(fps), "frame": frame, "head": head7}
    data.update({f"{s}_hand": robot_to_frame(h, frame) for s, h in hands.items()})
    with atomic_file(path) as f:
        if path.suffix.lower() == ".json":
            out = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in data.items()}
            out["annotations"] = {"grasp": [list(s) for s in (grasp or [])]}
            f.write(json.dumps(out).encode())
        else:
            np.savez(f, **data)
