"""VR poses: head and left/right wrist 6-D poses (+ optional 21 hand keypoints per hand), as recorded by
headset apps (MotionTrans-style), converted into the robot world frame (x forward, y left, z up).

File (.npz or .json): fps; head, left_wrist, right_wrist as [T, 7] = position xyz + quaternion wxyz, or
[T, 4, 4] homogeneous matrices; optional left_hand, right_hand [T, 21, 3] in the wrist frame; and
`frame`, the convention the numbers are in:

  "openxr": right-handed, +y up, -z forward, +x right (OpenXR / WebXR / SteamVR).  Robot = M p with
            M = [[0,0,-1],[-1,0,0],[0,1,0]]  (x_r = -z, y_r = -x, z_r = y), a proper rotation.
  "unity":  left-handed, +y up, +z forward, +x right (Unity / Quest apps).  M = [[0,0,1],[-1,0,0],[0,1,0]]
            (x_r = z, y_r = -x, z_r = y), a reflection (det -1) that also fixes the handedness.
  "robot":  already x forward, y left, z up.

Rotations transform as R_r = M R M^T, which is a proper rotation in both cases because M M^T = I.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import (
    RetargetInputError,
    as_choice,
    as_float_array,
    as_number,
    check_finite,
    read_json_object,
    read_npz,
)
from ..rotations import quat_to_mat
from .hands import check_hand_array

FRAME_TO_ROBOT = {
    "openxr": np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
    "unity": np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),
    "robot": np.eye(3),
}


@dataclass
class VRSequence:
    fps: float
    head: np.ndarray  # [T, 4, 4] in the robot world frame
    left_wrist: np.ndarray
    right_wrist: np.ndarray
    left_hand: np.ndarray | None  # [T, 21, 3] wrist frame
    right_hand: np.ndarray | None
    source: str
    frame: str

    @property
    def num_frames(self) -> int:
        return int(self.head.shape[0])


def _poses(path: Path, name: str, value, T: int | None) -> np.ndarray:
    a = as_float_array(value, path, name)
    if a.shape[:1] == (0,):
        raise RetargetInputError(path, name, "no frames; expected [T>=1, 7] or [T>=1, 4, 4]")
    if a.ndim == 2 and a.shape[1] == 7:
        mats = np.tile(np.eye(4), (a.shape[0], 1, 1))
        check_finite(a, path, name)
        norms = np.linalg.norm(a[:, 3:], axis=1)
        if (norms < 1e-6).any():
            raise RetargetInputError(path, name, "zero quaternion; expected unit quaternions (w, x, y, z)")
        mats[:, :3, :3] = quat_to_mat(a[:, 3:])
        mats[:, :3, 3] = a[:, :3]
    elif a.ndim == 3 and a.shape[1:] == (4, 4):
        check_finite(a, path, name)
        mats = a
        _check_rigid(path, name, mats)
    else:
        raise RetargetInputError(path, name, f"expected [T, 7] (xyz + wxyz) or [T, 4, 4], got {a.shape}")
    # Finite inputs can still overflow (a quaternion of 1e200 has an infinite norm).
    check_finite(mats, path, name)
    if T is not None and mats.shape[0] != T:
        raise RetargetInputError(path, name, f"expected {T} frames like 'head', got {mats.shape[0]}")
    return mats


def _check_rigid(path: Path, name: str, mats: np.ndarray) -> None:
    """Each [4, 4] must be a rigid transform: a rotation (orthonormal, det +1) and a last row 0 0 0 1.
    1e-3 leaves room for float32 recordings (their rotations are orthonormal to ~1e-6)."""
    R = mats[:, :3, :3]
    err = np.abs(R @ np.swapaxes(R, 1, 2) - np.eye(3)).max(axis=(1, 2))
    bad = np.flatnonzero(
        (err > 1e-3) | (np.linalg.det(R) < 0) | (np.abs(mats[:, 3] - [0, 0, 0, 1]).max(1) > 1e-3)
    )
    if bad.size:
        raise RetargetInputError(
            path,
            name,
            f"frame {int(bad[0])} is not a rigid transform (a rotation block and a last row 0 0 0 1)",
        )


def to_robot_frame(mats: np.ndarray, frame: str) -> np.ndarray:
    M = FRAME_TO_ROBOT[frame]
    out = mats.copy()
    out[:, :3, :3] = M @ mats[:, :3, :3] @ M.T
    out[:, :3, 3] = mats[:, :3, 3] @ M.T
    return out


def load_vr(path: str | Path) -> VRSequence:
    path = Path(path)
    if not path.is_file():
        raise RetargetInputError(path, "file", "not found")
    if path.suffix.lower() == ".json":
        d = read_json_object(path)
    else:
        d = read_npz(path, "VR .npz")
    for key in ("fps", "head", "left_wrist", "right_wrist"):
        if key not in d:
            raise RetargetInputError(path, key, "missing; expected fps, head, left_wrist, right_wrist")
    frame = as_choice(d.get("frame", "openxr"), path, "frame", FRAME_TO_ROBOT)
    fps = as_number(d["fps"], path, "fps")
    head = _poses(path, "head", d["head"], None)
    T = head.shape[0]
    hands = {}
    for side in ("left_hand", "right_hand"):
        hand = check_hand_array(d[side], path, side) if side in d else None
        if hand is not None and hand.shape[0] != T:
            raise RetargetInputError(path, side, f"expected {T} frames like 'head', got {hand.shape[0]}")
        hands[side] = hand
    return VRSequence(
        fps=fps,
        head=to_robot_frame(head, frame),
        left_wrist=to_robot_frame(_poses(path, "left_wrist", d["left_wrist"], T), frame),
        right_wrist=to_robot_frame(_poses(path, "right_wrist", d["right_wrist"], T), frame),
        left_hand=hands["left_hand"],
        right_hand=hands["right_hand"],
        source=str(path),
        frame=frame,
    )
