"""Readers for human demonstrations; each raises RetargetInputError (file, field, expectation) on bad input."""

from __future__ import annotations

from pathlib import Path

from ..errors import RetargetInputError
from .bvh import load_bvh
from .hands import HAND_POINTS, HandSequence, load_hand_keypoints
from .keypoints import load_keypoints
from .motion import HumanMotion
from .vr import VRSequence, load_vr


def load_motion(
    path: str | Path, skeleton_map: dict[str, str] | None = None, units: str = "auto", up: str = "auto"
) -> HumanMotion:
    """Body motion from a BVH or keypoint file, chosen by extension. `skeleton_map` (canonical point ->
    joint name, see retarget.rig) overrides points of the body map, which is kept in meta['body_map'];
    `units`/`up` override what a BVH's motion says (keypoint files declare their own)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        return load_bvh(path, units=units, up=up, skeleton_map=skeleton_map)
    if (units, up) != ("auto", "auto"):
        raise RetargetInputError(
            path,
            "units",
            f"got units={units!r}, up={up!r}; expected 'auto' (keypoint files declare their own)",
        )
    if suffix in (".npz", ".csv", ".json"):
        motion = load_keypoints(path)
        if skeleton_map:
            from ..rig import map_skeleton

            bmap = map_skeleton(motion.names, motion.parents, motion.positions, skeleton_map, str(path))
            motion.meta.update(body_map=bmap.names(motion.names), body_map_how=bmap.how)
        return motion
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
