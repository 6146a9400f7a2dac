"""The Panda-* tabletop scene: a Franka Panda with a LEAP hand on its flange, a table, the task's objects.

One robot entity (`panda`): menagerie's `panda_nohand` with menagerie's right LEAP hand attached to the
flange (`AttachCfg`), so arm and fingers are one kinematic tree and one IK model. LEAP, not Allegro: the
project's other dexterous tasks and the vector retargeting already use LEAP (retarget/hands.py HAND_MAPS),
and its four-finger layout with an opposable thumb matches the human keypoints we retarget from; menagerie
has no Inspire hand (the paper's), whose six actuators would also need a coupling model.

The hand sits palm-out on the flange: flange z (pointing down at the home pose) is the palm normal, and
it is turned so that the fingers point along world +x (away from the robot) at home. The table top is the
plane z = 0; the Panda stands on it at `BASE_X`.

Actions (23): `ee` (7) the flange pose, absolute, world frame (x, y, z, qw, qx, qy, qz), solved to the 7
arm joints by differential IK each control step; `hand` (16) the LEAP joint targets (rad) in the model's
order. Observations (groups named as the LeRobot features):
  observation.state (23)              flange position (3) and quaternion wxyz (4), hand joint positions (16)
  observation.environment_state (9)   the task's object pose (7) and target xy (2)
"""

from __future__ import annotations

import numpy as np

from robolearn.core import SceneEntityCfg
from robolearn.entities import (
    AttachCfg,
    BoxEntityCfg,
    EntityCfg,
    MarkerEntityCfg,
    ObjectEntityCfg,
    RobotEntityCfg,
)
from robolearn.scene import SceneCfg
from robolearn.terrain import TerrainCfg

PANDA = "panda"
FLANGE_SITE = "attachment_site"
ARM_JOINTS = tuple(f"joint{i}" for i in range(1, 8))
HAND_PREFIX = "hand/"
HAND_JOINTS = tuple(
    f"{HAND_PREFIX}{f}_{j}" for f in ("if", "mf", "rf") for j in ("mcp", "rot", "pip", "dip")
) + tuple(f"{HAND_PREFIX}th_{j}" for j in ("cmc", "axl", "mcp", "ipl"))
"""The LEAP joints in the model's (and the action's) order."""
HOME_ARM = (0.0, 0.0, 0.0, -1.57079, 0.0, 1.57079, -0.7853)
"""menagerie's `home` keyframe of the Panda: the flange points down, 0.93 m above its base."""
BASE_X = -0.55
HAND_ON_FLANGE = (0.0, 0.0, -0.05)
"""The LEAP model's origin 5 cm behind the flange: its palm (10 cm along the model's z) clears link 7."""
HAND_TURN = (np.cos(-np.pi / 4), 0.0, 0.0, np.sin(-np.pi / 4))
"""-90 degrees about the flange axis: the fingers point along world +x at the home pose (measured)."""
ACTION_DIM = 7 + len(HAND_JOINTS)
PHYSICS_DT = 0.002
CONTROL_DT = 0.1
"""10 Hz: the paper's policies run at 10 Hz; a 16-step action chunk spans 1.6 s."""

# The hand's grasp poses (rad, HAND_JOINTS order): fingers flexed at mcp and pip, the thumb swung under.
OPEN = np.zeros(len(HAND_JOINTS))
CLOSED = np.array([1.0, 0.0, 0.7, 0.6] * 3 + [1.8, 0.0, 0.7, 0.3])
HOOK = np.array([0.5, 0.0, 1.2, 0.8] * 3 + [0.0, 0.0, 0.0, 0.0])
"""Fingers bent at pip and dip only: a hook that pulls a handle or drags a box without gripping it."""

CAMERA_POS = (BASE_X - 0.05, 0.0, 0.75)
"""The robot's head camera (the human's headset stand-in on the robot side): behind and above the base."""
CAMERA_PITCH = 0.9
"""Downward pitch (rad) of the head camera: it sees the table from x = -0.2 to 0.35."""


def camera_pose() -> np.ndarray:
    """[4, 4] the head camera in the world, in the headset's axes (x forward, y left, z up): the frame that
    robot demos' poses are expressed in, as a human demo's are in its first headset frame."""
    f = np.array([np.cos(CAMERA_PITCH), 0.0, -np.sin(CAMERA_PITCH)])
    left = np.array([0.0, 1.0, 0.0])
    out = np.eye(4)
    out[:3, :3] = np.stack([f, left, np.cross(f, left)], axis=1)
    out[:3, 3] = CAMERA_POS
    return out


def panda_entity() -> RobotEntityCfg:
    return RobotEntityCfg(
        robot="panda", pos=(BASE_X, 0.0, 0.0), keyframe="home",
        attach=(AttachCfg("leap_hand", "attachment", HAND_PREFIX, HAND_ON_FLANGE, HAND_TURN),),
    )  # fmt: skip


def table_entity() -> BoxEntityCfg:
    return BoxEntityCfg(
        half_size=(0.45, 0.5, 0.02), pos=(-0.1, 0.0, -0.02), free=False, rgba=(0.55, 0.5, 0.45, 1.0)
    )


def panda_scene(objects: dict[str, EntityCfg]) -> SceneCfg:
    """The Panda with its hand, the table, the task's objects; the table top is z = 0 (no floor)."""
    return SceneCfg(
        robot="", fast_model=False, terrain=TerrainCfg(kind="none"), timestep=PHYSICS_DT,
        entities={PANDA: panda_entity(), "table": table_entity(), **objects},
    )  # fmt: skip


def cube(half: float = 0.025, rgba=(0.8, 0.3, 0.2, 1.0), mass: float = 0.08) -> BoxEntityCfg:
    return BoxEntityCfg(half_size=(half, half, half), mass=mass, rgba=rgba, friction=(1.2, 0.005, 0.0001))


def marker(radius: float = 0.03) -> MarkerEntityCfg:
    return MarkerEntityCfg(radius=radius, rgba=(0.2, 0.8, 0.2, 0.4))


def drawer() -> ObjectEntityCfg:
    return ObjectEntityCfg(mjcf="panda_drawer.xml", free=True)


PANDA_CFG = SceneEntityCfg(PANDA)


def _flange_to_ee() -> np.ndarray:
    # The robot-like wrist frame of the LEAP hand's own keypoints (retarget/motiontrans.wrist_frame on its
    # index/middle/ring knuckles and the open middle finger's line), in the flange frame: the same matrix at
    # any arm pose (measured at two). Nominally x = ring -> index, y = back of the hand, z = along the
    # fingers; LEAP's finger line is tilted 9 degrees from its palm's axes, which this includes.
    rot = np.array([[-0.9872, 0.0001, 0.1595], [-0.1591, -0.0727, -0.9846], [0.0115, -0.9974, 0.0718]])
    u, _, vt = np.linalg.svd(rot)  # re-orthonormalise the 4-digit entries
    out = np.eye(4)
    out[:3, :3] = u @ vt
    return out


FLANGE_TO_EE = _flange_to_ee()
"""[4, 4] the robot's EE frame in the flange frame (same origin; the human wrist frame's axes)."""
HUMAN_WRIST_IN_EE = np.eye(4)
HUMAN_WRIST_IN_EE[:3, 3] = (-0.023, -0.065, -0.09)
"""Where a human wrist sits in the EE frame when the human hand overlays the LEAP hand: the LEAP knuckles
are 6.9 cm palmar of the flange and centred 2.3 cm toward the ring finger; a human's middle knuckle is ~9 cm
from the wrist (measured on the models; the calibration MotionTrans does once per embodiment)."""
