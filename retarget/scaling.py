"""Per-bone scaling of a human skeleton to a robot: height ratio for the root, one factor per limb bone.

Each bone (parent -> child keypoint) keeps its direction from the human motion and takes the robot's
length, so the scaled skeleton is one the robot can actually reach; the root's path is scaled by the
leg-length ratio so strides (and thus foot speed) match the robot's legs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rotations import frame_from_axes
from .skeleton import BODY_PARENTS, BODY_POINTS

LEG_BONES = [("left_hip", "left_knee"), ("left_knee", "left_ankle")]


def bone_lengths(points: np.ndarray) -> dict[str, float]:
    """Median length of each bone (named by its child) over frames; points is [T, P, 3] in BODY_POINTS order."""
    out = {}
    for child, parent in BODY_PARENTS.items():
        if parent is None:
            continue
        v = points[:, BODY_POINTS.index(child)] - points[:, BODY_POINTS.index(parent)]
        lengths = np.linalg.norm(v, axis=-1)
        lengths = lengths[np.isfinite(lengths)]
        # NaN for a point the source never has (the optional hand points of a rig without fingers),
        # without numpy's all-NaN warning on every such clip.
        out[child] = float(np.median(lengths)) if lengths.size else float("nan")
    return out


def leg_length(lengths: dict[str, float]) -> float:
    return sum((lengths[c] + lengths[c.replace("left", "right")]) / 2 for _, c in LEG_BONES)


@dataclass
class BodyScaler:
    height_ratio: float
    bone_factors: dict[str, float]
    rest_bones: dict[str, np.ndarray]
    """Robot rest-pose bone vectors in the pelvis keypoint frame, used for bones the human rig lacks."""

    @classmethod
    def fit(cls, human_points: np.ndarray, robot_rest_points: np.ndarray) -> BodyScaler:
        human = bone_lengths(human_points)
        robot = bone_lengths(robot_rest_points[None])
        factors = {}
        for child, h_len in human.items():
            r_len = robot.get(child, np.nan)
            # A bone the robot lacks (NaN) or a degenerate human bone gets factor 0: child sits on parent.
            factors[child] = float(r_len / h_len) if np.isfinite(r_len) and h_len > 1e-6 else 0.0
        pelvis_frame = _pelvis_frame(robot_rest_points)
        rest_bones = {
            c: pelvis_frame.T
            @ (robot_rest_points[BODY_POINTS.index(c)] - robot_rest_points[BODY_POINTS.index(p)])
            for c, p in BODY_PARENTS.items()
            if p is not None
        }
        return cls(leg_length(robot) / leg_length(human), factors, rest_bones)

    def apply(self, points: np.ndarray) -> np.ndarray:
        """Scaled keypoints [T, P, 3]: root path times the height ratio, then bones re-lengthened in tree order."""
        out = np.full_like(points, np.nan)
        root = BODY_POINTS.index("pelvis")
        out[:, root] = points[:, root] * self.height_ratio
        for child, parent in BODY_PARENTS.items():
            if parent is None:
                continue
            c, p = BODY_POINTS.index(child), BODY_POINTS.index(parent)
            if self.bone_factors[child] > 0:
                out[:, c] = out[:, p] + self.bone_factors[child] * (points[:, c] - points[:, p])
            elif child == "spine":
                # Rigs whose lower back sits on the hips (CMU): the robot's pelvis-to-waist vector, turned
                # with the human pelvis, so the torso target does not collapse onto the pelvis.
                out[:, c] = out[:, p] + _pelvis_frame(points) @ self.rest_bones[child]
            # any other bone the human rig lacks (or zero-length): the point stays NaN and is not tracked
        return out


def _pelvis_frame(points: np.ndarray) -> np.ndarray:
    def p(name: str) -> np.ndarray:
        return points[..., BODY_POINTS.index(name), :]

    return frame_from_axes(p("left_hip") - p("right_hip"), p("pelvis") - (p("left_hip") + p("right_hip")) / 2)
