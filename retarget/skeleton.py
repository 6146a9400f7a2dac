"""The canonical human body keypoints the humanoid solver tracks, and how source skeletons name them."""

from __future__ import annotations

import numpy as np

from .sources.motion import HumanMotion

# Canonical keypoints and their parent in the scaling tree (bone = parent -> child).
BODY_PARENTS: dict[str, str | None] = {
    "pelvis": None,
    "left_hip": "pelvis",
    "left_knee": "left_hip",
    "left_ankle": "left_knee",
    "left_toe": "left_ankle",
    "right_hip": "pelvis",
    "right_knee": "right_hip",
    "right_ankle": "right_knee",
    "right_toe": "right_ankle",
    "spine": "pelvis",
    "left_shoulder": "spine",
    "left_elbow": "left_shoulder",
    "left_wrist": "left_elbow",
    "left_hand": "left_wrist",
    "right_shoulder": "spine",
    "right_elbow": "right_shoulder",
    "right_wrist": "right_elbow",
    "right_hand": "right_wrist",
}
BODY_POINTS = list(BODY_PARENTS)
OPTIONAL_POINTS = {"left_hand", "right_hand"}

# Exact source joint names per canonical point, tried in order, case-insensitively, for keypoint files
# (no hierarchy); rigs with a hierarchy are read by name patterns and topology in retarget.rig.
# Covers the two CMU BVH conversions, LAFAN1/Mixamo-style rigs, SMPL and COCO-style keypoint names.
# Order matters: CMU's Motionbuilder rig calls the clavicle 'LeftShoulder' and the upper arm 'LeftArm',
# its 3dsMax rig calls them 'LeftCollar' and 'LeftShoulder', so 'leftarm' is tried first.
_SIDE = {
    "hip": ["{S}upleg", "{S}hip", "{s}_hip", "{s}hip", "{s}thigh", "{S}thigh", "{S}_hip"],
    "knee": ["{S}leg", "{S}knee", "{s}_knee", "{s}knee", "{s}shin", "{S}shin", "{S}_knee"],
    "ankle": ["{S}foot", "{S}ankle", "{s}_ankle", "{s}ankle", "{s}foot", "{S}_ankle"],
    "toe": ["{S}toebase", "{S}toe", "{s}_foot", "{s}_toe", "{s}toe", "{S}_toe", "{S}foot_index"],
    "shoulder": ["{S}arm", "{S}upperarm", "{s}_shoulder", "{s}shoulder", "{S}shoulder", "{s}humerus"],
    "elbow": ["{S}forearm", "{S}elbow", "{s}_elbow", "{s}elbow", "{s}radius", "{S}_elbow"],
    "wrist": ["{S}hand", "{S}wrist", "{s}_wrist", "{s}wrist", "{s}hand", "{S}_wrist"],
    "hand": [
        "{s}fingers",
        "{S}fingers",
        "{S}fingerbase",
        "{s}hand_end",
        "{S}hand_end",
        "{s}_hand",
        "{S}handend",
        "{S}_index",
        "{S}_middle1",
    ],
}
ALIASES: dict[str, list[str]] = {
    "pelvis": ["hips", "pelvis", "root", "hip", "mid_hip"],
    "spine": ["lowerback", "spine", "spine1", "spine_01", "torso", "spine_base"],
}
for _part, _patterns in _SIDE.items():
    for _side, _S, _s in (("left", "left", "l"), ("right", "right", "r")):
        names = [p.format(S=_S, s=_s) for p in _patterns]
        if _part == "hand":  # CMU 3dsMax rig: 'lhand' is the hand end below 'LeftWrist'
            names.insert(3, f"{_s}hand")
        ALIASES[f"{_side}_{_part}"] = [f"{_side}_{_part}"] + names


def match_body_points(names: list[str]) -> dict[str, int]:
    """Map canonical point -> source joint index (first alias found). Missing optional points are left out."""
    low = {n.lower(): i for i, n in enumerate(names)}
    out: dict[str, int] = {}
    taken: set[int] = set()
    for point in BODY_POINTS:
        for alias in ALIASES[point]:
            idx = low.get(alias.lower())
            if idx is not None and idx not in taken:
                out[point] = idx
                taken.add(idx)
                break
    return out


def body_points(
    motion: HumanMotion, skeleton_map: dict[str, str] | None = None
) -> tuple[np.ndarray, list[str]]:
    """Canonical keypoint positions [T, P, 3] (P = BODY_POINTS, NaN where optional and absent) and the
    source joint name per point. The map is the reader's (meta['body_map']) unless `skeleton_map` is
    given; otherwise it is found by name and hierarchy (retarget.rig.map_skeleton)."""
    from .rig import map_skeleton

    stored = motion.meta.get("body_map")
    if stored is not None and skeleton_map is None:
        found = {p: motion.names.index(n) for p, n in stored.items()}
    else:
        found = map_skeleton(
            motion.names, motion.parents, motion.positions, skeleton_map, motion.source
        ).joints
    pts = np.full((motion.num_frames, len(BODY_POINTS), 3), np.nan)
    for k, p in enumerate(BODY_POINTS):
        if p in found:
            pts[:, k] = motion.positions[:, found[p]]
    return pts, [motion.names[found[p]] if p in found else "" for p in BODY_POINTS]
