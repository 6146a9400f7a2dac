"""Body orientations read off keypoints, identically for the human and the robot.

Pelvis: y from right hip to left hip, z from mid-hips up to the pelvis point. Torso: y across the
shoulders, z from the spine point to mid-shoulders. Feet: x from ankle to toe, z towards world up (feet
are kept level in roll). The robot link's rotation relative to the same construction on the robot's own
rest-pose keypoints is the rest-pose rotation offset, so no per-rig hand-tuned offsets are needed.
"""

from __future__ import annotations

import numpy as np

from .rotations import frame_from_axes, frame_from_forward
from .skeleton import BODY_POINTS

ORIENTED_BODIES = ("pelvis", "torso", "left_foot", "right_foot")
_I = {p: i for i, p in enumerate(BODY_POINTS)}


def keypoint_frames(points: np.ndarray) -> dict[str, np.ndarray]:
    """Rotation matrices [..., 3, 3] for ORIENTED_BODIES from keypoints [..., P, 3]."""

    def p(name: str) -> np.ndarray:
        return points[..., _I[name], :]

    mid_hips = (p("left_hip") + p("right_hip")) / 2
    mid_shoulders = (p("left_shoulder") + p("right_shoulder")) / 2
    up = np.broadcast_to(np.array([0.0, 0.0, 1.0]), mid_hips.shape)
    return {
        "pelvis": frame_from_axes(p("left_hip") - p("right_hip"), p("pelvis") - mid_hips),
        "torso": frame_from_axes(p("left_shoulder") - p("right_shoulder"), mid_shoulders - p("spine")),
        "left_foot": frame_from_forward(p("left_toe") - p("left_ankle"), up),
        "right_foot": frame_from_forward(p("right_toe") - p("right_ankle"), up),
    }
