"""Hand keypoints: 21 points per hand in MediaPipe / MANO order, in a wrist frame, metres.

.npy : [T, 21, 3] (as in the shared dex-retargeting sample; fps passed by the caller, 30 by default)
.npz : keypoints [T, 21, 3], fps; optional side ('right'|'left')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RetargetInputError, as_choice, as_float_array, as_number, check_finite, read_numpy

HAND_POINTS = [
    "wrist",
    "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip",
    "index_mcp", "index_pip", "index_dip", "index_tip",
    "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip",
    "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
]  # fmt: skip
FINGERS = ("thumb", "index", "middle", "ring", "pinky")
TIPS = {f: HAND_POINTS.index(f"{f}_tip") for f in FINGERS}
BASES = {"thumb": 1, "index": 5, "middle": 9, "ring": 13, "pinky": 17}


@dataclass
class HandSequence:
    keypoints: np.ndarray  # [T, 21, 3], wrist frame, metres
    fps: float
    source: str
    side: str = "right"
    meta: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])


def check_hand_array(kp, source: str | Path, field: str = "keypoints") -> np.ndarray:
    kp = as_float_array(kp, source, field)
    if kp.ndim != 3 or kp.shape[1:] != (21, 3) or kp.shape[0] < 1:
        raise RetargetInputError(
            source, field, f"expected shape [T>=1, 21, 3] (MediaPipe/MANO order), got {kp.shape}"
        )
    check_finite(kp, source, field)
    return kp


def load_hand_keypoints(path: str | Path, fps: float = 30.0, side: str = "right") -> HandSequence:
    path = Path(path)
    if not path.is_file():
        raise RetargetInputError(path, "file", "not found")
    loaded = read_numpy(path, "hand keypoint .npy/.npz")
    fields: dict[str, Any] = {"fps": fps, "side": side}
    if isinstance(loaded, np.ndarray):
        fields["keypoints"] = loaded
    elif "keypoints" not in loaded:
        raise RetargetInputError(path, "keypoints", "missing; expected keypoints [T, 21, 3] and fps")
    else:
        fields.update(loaded)
    return HandSequence(
        check_hand_array(fields["keypoints"], path),
        as_number(fields["fps"], path, "fps"),
        str(path),
        as_choice(fields["side"], path, "side", ("right", "left")),
    )


# Knuckles in the hand frame (below), in units of the wrist -> index-knuckle distance: the median over the
# 621 frames of the shared dex-retargeting sample (spread 0.02-0.03). A marker glove without a marker on a
# knuckle gets it from here: 1.5 mm median error for the middle knuckle on that sample, where placing it a
# third of the way from the index to the little-finger knuckle is off by 11 mm.
KNUCKLE_TEMPLATE = {
    "thumb_cmc": (0.255, 0.284, -0.160),
    "middle_mcp": (0.971, 0.078, 0.078),
    "ring_mcp": (0.935, -0.150, 0.047),
}


def hand_frame(kp: np.ndarray) -> np.ndarray:
    """Rotation [T, 3, 3] of the hand: x from the wrist to mid-knuckles (index, little finger), y from the
    little-finger towards the index knuckle, z = x cross y. NaN where a point is missing."""
    wrist, index, pinky = (
        kp[:, 0],
        kp[:, HAND_POINTS.index("index_mcp")],
        kp[:, HAND_POINTS.index("pinky_mcp")],
    )
    forward = (index + pinky) / 2 - wrist
    from ..rotations import frame_from_forward

    return frame_from_forward(forward, np.cross(forward, index - pinky))


def to_hand_frame(kp: np.ndarray, side: str = "right") -> np.ndarray:
    """Points [T, 21, 3] in the per-frame hand frame, wrist at the origin, so that wrist motion does not
    leak into finger vectors. A left hand is mirrored (z negated) into a right one: the robot hands are
    right hands."""
    R = hand_frame(kp)
    local = np.einsum("tji,tkj->tki", R, kp - kp[:, :1])
    if side == "left":
        local[..., 2] *= -1
    return local
