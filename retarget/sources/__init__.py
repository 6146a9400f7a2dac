"""Readers for human demonstrations; each raises RetargetInputError (file, field, expectation) on bad input."""

from __future__ import annotations

from pathlib import Path

from ..errors import RetargetInputError
from .bvh import load_bvh
from .hands import HAND_POINTS, HandSequence, load_hand_keypoints
from .keypoints import load_keypoints
from .motion import HumanMotion
from .vr import VRSequence, load_vr


def load_motion(path: str | Path) -> HumanMotion:
    """Body motion from a BVH or keypoint file, chosen by extension."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        return load_bvh(path)
    if suffix in (".npz", ".csv", ".json"):
        return load_keypoints(path)
    raise RetargetInputError(
        path, "file", f"unsupported body motion format {suffix!r}; expected .bvh, .npz, .csv, .json"
    )


__all__ = [
    "HAND_POINTS",
    "HandSequence",
    "HumanMotion",
    "VRSequence",
    "load_bvh",
    "load_hand_keypoints",
    "load_keypoints",
    "load_motion",
    "load_vr",
]
