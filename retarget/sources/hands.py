"""Hand keypoints: 21 points per hand in MediaPipe / MANO order, in a wrist frame, metres.

.npy : [T, 21, 3] (as in the shared dex-retargeting sample; fps passed by the caller, 30 by default)
.npz : keypoints [T, 21, 3], fps; optional side ('right'|'left')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import RetargetInputError, check_finite

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
    try:
        kp = np.asarray(kp, dtype=float)
    except (TypeError, ValueError):
        raise RetargetInputError(source, field, "not a numeric array") from None
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
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise RetargetInputError(path, "file", f"not a readable .npy/.npz ({exc})") from None
    if isinstance(loaded, np.ndarray):
        kp = loaded
    else:
        with loaded as z:
            if "keypoints" not in z.files:
                raise RetargetInputError(path, "keypoints", "missing; expected keypoints [T, 21, 3] and fps")
            kp = z["keypoints"]
            fps = float(z["fps"]) if "fps" in z.files else fps
            side = str(z["side"]) if "side" in z.files else side
    if side not in ("right", "left"):
        raise RetargetInputError(path, "side", f"expected 'right' or 'left', got {side!r}")
    return HandSequence(check_hand_array(kp, path), float(fps), str(path), side)
