"""Human VR hand recordings -> the robot's action space, as MotionTrans does it.

1. A robot-like wrist frame from the hand keypoints: z along the middle finger (wrist -> middle knuckle),
   x across the hand (ring -> index knuckle plus pinky -> thumb base, made orthogonal to z), y = z x x (the
   back of the hand). The left hand's across direction is negated, so both frames are right-handed and y
   is dorsal on both (a mirror image of a right hand gives the mirror image of its frame).
2. The robot end-effector pose = wrist pose composed with a fixed wrist -> EE transform (where the human
   wrist sits in the robot hand's EE frame), expressed in the camera frame of the recording's first frame
   (the headset at t = 0; the robot's head camera for robot demos).
3. Fingers by vector retargeting (retarget/hands.py) of the keypoints in the wrist frame, low-passed
   (zero-phase Butterworth; the headset's tracking jitters at a few Hz).
4. Time stretched (human motion is faster than the robot's: x2.25 in the paper) and resampled at the
   robot's control rate; grasp annotations hold the robot hand at its grasp pose over the annotated spans.

Poses are 4x4 matrices; `pose_to_vec` gives the policy's 9-vector (position + the first two rotation
columns, the continuous 6-D rotation representation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from .smoothing import zero_phase_lowpass
from .sources.hands import HAND_POINTS, HandSequence
from .sources.openxr import OpenXRRecording

STRETCH = 2.25
"""MotionTrans slows human motion by this factor before training (humans move ~2x faster than the robot)."""
FINGER_CUTOFF_HZ = 3.0
"""Low-pass cutoff of the retargeted finger joints: grasping motions are below ~2 Hz; tracking jitter above."""

_P = {n: i for i, n in enumerate(HAND_POINTS)}


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)


def wrist_frame(kp: np.ndarray, side: str = "right") -> np.ndarray:
    """[..., 3, 3] the robot-like wrist frame (columns x, y, z) of 21 keypoints [..., 21, 3]."""
    if side not in ("right", "left"):
        raise ValueError(f"side must be 'right' or 'left', got {side!r}")
    z = _unit(kp[..., _P["middle_mcp"], :] - kp[..., _P["wrist"], :])
    across = _unit(kp[..., _P["index_mcp"], :] - kp[..., _P["ring_mcp"], :]) + _unit(
        kp[..., _P["thumb_cmc"], :] - kp[..., _P["pinky_mcp"], :]
    )
    if side == "left":
        across = -across
    x = _unit(across - np.sum(across * z, -1, keepdims=True) * z)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1)


def wrist_pose(kp: np.ndarray, side: str = "right") -> np.ndarray:
    """[T, 4, 4] wrist poses (the wrist keypoint, the robot-like frame)."""
    out = np.tile(np.eye(4), (len(kp), 1, 1))
    out[:, :3, :3] = wrist_frame(kp, side)
    out[:, :3, 3] = kp[:, _P["wrist"]]
    return out


def in_frame(poses: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Poses [T, 4, 4] expressed in `frame` [4, 4] (e.g. the first frame's camera)."""
    return np.linalg.inv(frame)[None] @ poses


def pose_to_vec(poses: np.ndarray) -> np.ndarray:
    """[..., 9]: position, then the rotation's first two columns."""
    return np.concatenate([poses[..., :3, 3], poses[..., :3, 0], poses[..., :3, 1]], -1)


def vec_to_pose(vec: np.ndarray) -> np.ndarray:
    """Inverse of pose_to_vec; the two columns are made orthonormal (Gram-Schmidt) first."""
    x = _unit(vec[..., 3:6])
    y = _unit(vec[..., 6:9] - np.sum(vec[..., 6:9] * x, -1, keepdims=True) * x)
    out = np.zeros((*vec.shape[:-1], 4, 4))
    out[..., :3, :3] = np.stack([x, y, np.cross(x, y)], -1)
    out[..., :3, 3] = vec[..., :3]
    out[..., 3, 3] = 1.0
    return out


def resample_poses(poses: np.ndarray, times: np.ndarray, new_times: np.ndarray) -> np.ndarray:
    """Poses [T, 4, 4] at `times` -> at `new_times` (linear positions, slerp rotations, held at the ends)."""
    t = np.clip(new_times, times[0], times[-1])
    out = np.tile(np.eye(4), (len(t), 1, 1))
    out[:, :3, 3] = np.stack([np.interp(t, times, poses[:, k, 3]) for k in range(3)], -1)
    out[:, :3, :3] = Slerp(times, Rotation.from_matrix(poses[:, :3, :3]))(t).as_matrix()
    return out


def resample(x: np.ndarray, times: np.ndarray, new_times: np.ndarray) -> np.ndarray:
    """Columns of x [T, D] linearly interpolated at `new_times` (held at the ends)."""
    return np.stack([np.interp(new_times, times, x[:, k]) for k in range(x.shape[1])], -1)


def stretch_times(num_frames: int, fps: float, factor: float = STRETCH) -> np.ndarray:
    """Timestamps of a recording slowed down by `factor`: frame k at k / fps * factor."""
    if factor <= 0:
        raise ValueError(f"time-stretch factor must be > 0, got {factor}")
    return np.arange(num_frames) / fps * factor


def hold_grasp(q: np.ndarray, times: np.ndarray, spans: list[tuple[float, float]], closed: np.ndarray) -> np.ndarray:
    """Hand joints [T, J] with every frame inside an annotated grasp span set to the `closed` pose."""
    out = q.copy()
    for a, b in spans:
        out[(times >= a) & (times <= b)] = closed
    return out


@dataclass
class RobotActions:
    """A human demo in the robot's action space, at the robot's control rate."""

    times: np.ndarray
    """[T] seconds (stretched)."""
    ee: np.ndarray
    """[T, 4, 4] end-effector poses in the first frame's camera frame."""
    hand: np.ndarray
    """[T, J] robot hand joint targets, in `joint_names` order."""
    joint_names: list[str]
    camera: np.ndarray
    """[4, 4] the first frame's camera (head) pose in the world: world = camera @ local."""


def retarget_fingers(kp: np.ndarray, frames: np.ndarray, fps: float, robot: str, joint_names: list[str],
                     source: str, side: str = "right") -> np.ndarray:  # fmt: skip
    """[T, J] robot hand joints (in `joint_names` order) from world keypoints [T, 21, 3] and wrist frames."""
    from .hands import HandRetargeter

    local = np.einsum("tji,tkj->tki", frames, kp - kp[:, :1])  # keypoints in each frame's wrist frame
    result = HandRetargeter(robot).retarget(HandSequence(local, fps, source, side))
    q = result.qpos[:, [result.joint_names.index(n) for n in joint_names]]
    return zero_phase_lowpass(q, fps, FINGER_CUTOFF_HZ)


def human_to_robot(rec: OpenXRRecording, wrist_to_ee: np.ndarray, joint_names: list[str], rate: float,
                   side: str = "right", robot: str = "leap_hand", stretch: float = STRETCH,
                   closed: np.ndarray | None = None) -> RobotActions:  # fmt: skip
    """Convert a recording's `side` hand into EE poses (first camera frame) + robot hand joints at `rate` Hz.

    wrist_to_ee [4, 4]: the EE frame in the human wrist frame (EE = wrist @ wrist_to_ee). `closed`: the
    robot hand's grasp pose held over the recording's grasp annotations (skipped when None)."""
    if side not in rec.hands:
        from .errors import RetargetInputError

        raise RetargetInputError(rec.source, f"{side}_hand", "missing; the conversion needs this hand")
    kp = rec.mano21(side)
    wrists = wrist_pose(kp, side)
    hand = retarget_fingers(kp, wrists[:, :3, :3], rec.fps, robot, joint_names, rec.source, side)
    camera = rec.head[0]
    ee = in_frame(wrists @ wrist_to_ee[None], camera)
    times = stretch_times(rec.num_frames, rec.fps, stretch)
    new_times = np.arange(0.0, times[-1] + 1e-9, 1.0 / rate)
    q = resample(hand, times, new_times)
    if closed is not None:
        q = hold_grasp(q, new_times, [(a * stretch, b * stretch) for a, b in rec.grasp], closed)
    return RobotActions(new_times, resample_poses(ee, times, new_times), q, list(joint_names), camera)
