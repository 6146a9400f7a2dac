"""Where each canonical body keypoint sits on each humanoid (body name + offset in that body's frame).

Points are joint centres (the origin of the link that rotates about that joint), except toes and hands,
which are points on the foot sole / palm read off the collision geometry in the menagerie MJCF.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class HumanoidMap:
    points: dict[str, tuple[str, tuple[float, float, float]]]
    """canonical point -> (body name, offset in the body frame)."""
    pelvis: str
    torso: str
    feet: tuple[str, str]
    """(left, right) foot bodies: their collision geoms define ground contact."""
    tracked: tuple[str, ...] = field(default=())
    """Points used for the keypoint-error metric (all mapped points when empty)."""


G1 = HumanoidMap(
    points={
        "pelvis": ("pelvis", (0.0, 0.0, 0.0)),
        "left_hip": ("left_hip_roll_link", (0.0, 0.0, 0.0)),
        "left_knee": ("left_knee_link", (0.0, 0.0, 0.0)),
        "left_ankle": ("left_ankle_roll_link", (0.0, 0.0, 0.0)),
        "left_toe": ("left_ankle_roll_link", (0.12, 0.0, -0.03)),
        "right_hip": ("right_hip_roll_link", (0.0, 0.0, 0.0)),
        "right_knee": ("right_knee_link", (0.0, 0.0, 0.0)),
        "right_ankle": ("right_ankle_roll_link", (0.0, 0.0, 0.0)),
        "right_toe": ("right_ankle_roll_link", (0.12, 0.0, -0.03)),
        "spine": ("torso_link", (0.0, 0.0, 0.0)),
        "left_shoulder": ("left_shoulder_roll_link", (0.0, 0.0, 0.0)),
        "left_elbow": ("left_elbow_link", (0.0, 0.0, 0.0)),
        "left_wrist": ("left_wrist_pitch_link", (0.0, 0.0, 0.0)),
        "left_hand": ("left_wrist_yaw_link", (0.08, 0.0, 0.0)),
        "right_shoulder": ("right_shoulder_roll_link", (0.0, 0.0, 0.0)),
        "right_elbow": ("right_elbow_link", (0.0, 0.0, 0.0)),
        "right_wrist": ("right_wrist_pitch_link", (0.0, 0.0, 0.0)),
        "right_hand": ("right_wrist_yaw_link", (0.08, 0.0, 0.0)),
    },
    pelvis="pelvis",
    torso="torso_link",
    feet=("left_ankle_roll_link", "right_ankle_roll_link"),
)

H1 = HumanoidMap(
    points={
        "pelvis": ("pelvis", (0.0, 0.0, 0.0)),
        "left_hip": ("left_hip_pitch_link", (0.0, 0.0, 0.0)),
        "left_knee": ("left_knee_link", (0.0, 0.0, 0.0)),
        "left_ankle": ("left_ankle_link", (0.0, 0.0, 0.0)),
        "left_toe": ("left_ankle_link", (0.14, 0.0, -0.05)),
        "right_hip": ("right_hip_pitch_link", (0.0, 0.0, 0.0)),
        "right_knee": ("right_knee_link", (0.0, 0.0, 0.0)),
        "right_ankle": ("right_ankle_link", (0.0, 0.0, 0.0)),
        "right_toe": ("right_ankle_link", (0.14, 0.0, -0.05)),
        # H1's torso joint sits at the pelvis origin: put the spine point a little above it on the torso.
        "spine": ("torso_link", (0.0, 0.0, 0.1)),
        "left_shoulder": ("left_shoulder_roll_link", (0.0, 0.0, 0.0)),
        "left_elbow": ("left_elbow_link", (0.0, 0.0, 0.0)),
        "left_wrist": ("left_elbow_link", (0.28, 0.0, -0.015)),
        "right_shoulder": ("right_shoulder_roll_link", (0.0, 0.0, 0.0)),
        "right_elbow": ("right_elbow_link", (0.0, 0.0, 0.0)),
        "right_wrist": ("right_elbow_link", (0.28, 0.0, -0.015)),
    },
    pelvis="pelvis",
    torso="torso_link",
    feet=("left_ankle_link", "right_ankle_link"),
)

HUMANOID_MAPS: dict[str, HumanoidMap] = {"g1": G1, "h1": H1, "g1_with_hands": G1}
