"""One human hand-object demonstration in one schema (HERMES): the object's pose and both hands' 21 keypoints
and wrist poses over time, whatever recorded it (VR headset, motion capture, monocular video, a script).

File (.npz):
  fps                        frames per second (> 0)
  object_pose   [T, 7]       object position xyz (m, world: x forward, y left, z up) + quaternion wxyz
  <side>_wrist  [T, 7]       wrist pose, same layout, side in ('left', 'right'); at least one side
  <side>_keypoints [T, 21, 3] the hand's 21 points (MediaPipe / MANO order) in that wrist frame, metres
  task, source               optional strings

The wrist frame is `sources.hands.hand_frame` of the hand's own points (x from the wrist to the middle of
the index and little-finger knuckles, y from the little-finger towards the index knuckle, z = x cross y;
from video, the same axes with z the normal of a plane fitted to the palm points), origin at the wrist
point, for both sides (a left hand is not mirrored here; the retargeter mirrors it).
Every source is brought to that frame by `from_world_keypoints`, so two sources of the same motion agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robolearn.atomic import save_npz

from .errors import RetargetInputError, as_float_array, as_number, as_text, check_finite, read_npz
from .rotations import mat_to_quat, quat_to_mat
from .sources.hands import hand_frame

SIDES = ("left", "right")


@dataclass
class HandTrackRef:
    """One hand of a reference: wrist pose [T, 7] (xyz + wxyz, world) and keypoints [T, 21, 3] (wrist frame)."""

    wrist: np.ndarray
    keypoints: np.ndarray

    def world_keypoints(self) -> np.ndarray:
        """[T, 21, 3] in the world frame."""
        R = quat_to_mat(self.wrist[:, 3:])
        return np.einsum("tij,tkj->tki", R, self.keypoints) + self.wrist[:, None, :3]


@dataclass
class HumanReference:
    fps: float
    object_pose: np.ndarray  # [T, 7]
    hands: dict[str, HandTrackRef]  # side -> hand, at least one
    task: str = ""
    source: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.object_pose.shape[0])


def pose7(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """[T, 7] xyz + wxyz from rotations [T, 3, 3] and translations [T, 3]."""
    return np.concatenate([t, mat_to_quat(R)], axis=-1)


def from_world_keypoints(world: np.ndarray) -> HandTrackRef:
    """A hand track from world keypoints [T, 21, 3]: the wrist frame read off the hand's own points."""
    R = hand_frame(world)
    local = np.einsum("tji,tkj->tki", R, world - world[:, :1])
    return HandTrackRef(pose7(R, world[:, 0]), local)


def _pose_array(path: Path, name: str, value, T: int | None) -> np.ndarray:
    a = as_float_array(value, path, name)
    if a.ndim != 2 or a.shape[1] != 7 or a.shape[0] < 1:
        raise RetargetInputError(path, name, f"expected [T>=1, 7] (xyz + quaternion wxyz), got {a.shape}")
    if T is not None and a.shape[0] != T:
        raise RetargetInputError(path, name, f"{a.shape[0]} frames; expected {T} like 'object_pose'")
    check_finite(a, path, name)
    norms = np.linalg.norm(a[:, 3:], axis=1)
    if (norms < 1e-6).any():
        raise RetargetInputError(path, name, f"zero quaternion at frame {int(np.argmax(norms < 1e-6))}")
    out = a.copy()
    out[:, 3:] /= norms[:, None]
    return out


def _keypoint_array(path: Path, name: str, value, T: int) -> np.ndarray:
    a = as_float_array(value, path, name)
    if a.ndim != 3 or a.shape[1:] != (21, 3):
        raise RetargetInputError(path, name, f"expected [T, 21, 3] (MediaPipe/MANO order), got {a.shape}")
    if a.shape[0] != T:
        raise RetargetInputError(path, name, f"{a.shape[0]} frames; expected {T} like 'object_pose'")
    check_finite(a, path, name)
    return a


def validate(arrays: dict, path: str | Path) -> HumanReference:
    """Check every field of a reference (as read from, or about to be written to, `path`)."""
    path = Path(path)
    for key in ("fps", "object_pose"):
        if key not in arrays:
            raise RetargetInputError(
                path, key, "missing; expected fps, object_pose and <side>_wrist/_keypoints"
            )
    fps = as_number(arrays["fps"], path, "fps")
    obj = _pose_array(path, "object_pose", arrays["object_pose"], None)
    T = obj.shape[0]
    hands = {}
    for side in SIDES:
        have = [k for k in (f"{side}_wrist", f"{side}_keypoints") if k in arrays]
        if len(have) == 1:
            other = ({f"{side}_wrist", f"{side}_keypoints"} - set(have)).pop()
            raise RetargetInputError(path, other, f"missing; {have[0]} is given, a hand needs both")
        if have:
            hands[side] = HandTrackRef(
                _pose_array(path, f"{side}_wrist", arrays[f"{side}_wrist"], T),
                _keypoint_array(path, f"{side}_keypoints", arrays[f"{side}_keypoints"], T),
            )
    if not hands:
        raise RetargetInputError(path, "right_keypoints", "no hand; expected left_* and/or right_* fields")
    text = {k: as_text(arrays[k], path, k) if k in arrays else "" for k in ("task", "source")}
    return HumanReference(fps, obj, hands, text["task"], text["source"] or str(path))


def reference_arrays(ref: HumanReference) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {"fps": np.float64(ref.fps), "object_pose": ref.object_pose}
    for side, hand in ref.hands.items():
        out[f"{side}_wrist"] = hand.wrist
        out[f"{side}_keypoints"] = hand.keypoints
    out["task"], out["source"] = np.array(ref.task), np.array(ref.source)
    return out


def save_reference(ref: HumanReference, path: str | Path) -> Path:
    """Validate, then write atomically (a temp file renamed into place): a bad reference writes nothing."""
    path = Path(path)
    arrays = reference_arrays(ref)
    validate(arrays, path)
    return save_npz(path, arrays)


def load_reference(path: str | Path) -> HumanReference:
    path = Path(path)
    if not path.is_file():
        raise RetargetInputError(path, "file", "not found")
    return validate(read_npz(path, "human reference .npz"), path)
