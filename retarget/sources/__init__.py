"""Readers for human demonstrations; each raises RetargetInputError (file, field, expectation) on bad input."""

from __future__ import annotations

from pathlib import Path

from ..errors import RetargetInputError
from .bvh import load_bvh
from .estimates import body_from_estimate, is_estimate, read_estimate
from .hands import HAND_POINTS, HandSequence, load_hand_keypoints
from .keypoints import load_keypoints, npz_keys
from .motion import HumanMotion
from .smpl import SMPL_JOINTS, is_amass, load_amass, load_smpl_joints
from .vr import VRSequence, load_vr

BODY_SUFFIXES = (".bvh", ".npz", ".npy", ".csv", ".json")


def load_motion(
    path: str | Path,
    skeleton_map: dict[str, str] | None = None,
    units: str = "auto",
    up: str = "auto",
    *,
    body_model: str | Path | None = None,
    source_fps: float | None = None,
) -> HumanMotion:
    """Body motion from a BVH, keypoint, AMASS (SMPL parameters) or SMPL-joint .npy file.

    `skeleton_map` (canonical point -> joint name, see retarget.rig) overrides points of the body map,
    which is kept in meta['body_map']; `units`/`up` override what a BVH's motion says (other files declare
    their own). `body_model` is the SMPL model folder AMASS files need; `source_fps` is the rate of files
    that have none inside (.npy joint arrays: 20 fps, HumanML3D's, when not given)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".bvh":
        return load_bvh(path, units=units, up=up, skeleton_map=skeleton_map)
    if (units, up) != ("auto", "auto"):
        raise RetargetInputError(
            path,
            "units",
            f"got units={units!r}, up={up!r}; expected 'auto' (only BVH files take --units/--up)",
        )
    if suffix == ".npy":
        return load_smpl_joints(path, source_fps)
    keys = npz_keys(path) if suffix == ".npz" and path.is_file() else set()
    if is_amass(keys):
        return load_amass(path, body_model)
    if is_estimate(keys):
        return load_body_estimate(path)
    if suffix in (".npz", ".csv", ".json"):
        motion = load_keypoints(path)
        if skeleton_map:
            from ..rig import map_skeleton

            bmap = map_skeleton(motion.names, motion.parents, motion.positions, skeleton_map, str(path))
            motion.meta.update(body_map=bmap.names(motion.names), body_map_how=bmap.how)
        return motion
    raise RetargetInputError(
        path, "file", f"unsupported body motion format {suffix!r}; expected {', '.join(BODY_SUFFIXES)}"
    )


def load_body_estimate(path: str | Path) -> HumanMotion:
    """Body motion from a MediaPipe keypoint file (mediapipe_keypoints.py --kind body)."""
    path = Path(path)
    e = read_estimate(path)
    if e["kind"] != "body":
        raise RetargetInputError(path, "kind", f"expected 'body' keypoints for a humanoid, got {e['kind']!r}")
    return body_from_estimate(path, e)


__all__ = [
    "BODY_SUFFIXES",
    "HAND_POINTS",
    "SMPL_JOINTS",
    "HandSequence",
    "HumanMotion",
    "VRSequence",
    "load_bvh",
    "load_hand_keypoints",
    "load_amass",
    "load_body_estimate",
    "load_keypoints",
    "load_motion",
    "load_smpl_joints",
    "load_vr",
]
