"""Where each canonical body keypoint sits on each humanoid (body name + offset in that body's frame).

Points are joint centres (the origin of the link that rotates about that joint), except toes and hands,
which are points on the foot sole / palm. A new humanoid is one map: its offsets may be computed from the
MJCF collision geometry instead of typed in: TOE (front of the sole) and TIP (the geometry's far end, for a
hand or a forearm without a wrist joint); see `resolve_offset`. Rest-pose rotation offsets are always
computed (frames.py). G1 and H1 keep the offsets they were tuned and tested with.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mujoco
import numpy as np

TOE = "toe"
"""Computed offset: the front of the body's collision geometry at sole height, centred across the foot."""
TIP = "tip"
"""Computed offset: the point of the body's collision geometry farthest from the body origin."""

Offset = tuple[float, float, float] | str


@dataclass(frozen=True)
class HumanoidMap:
    points: dict[str, tuple[str, Offset]]
    """canonical point -> (body name, offset in the body frame, or TOE / TIP to compute it)."""
    pelvis: str
    torso: str
    feet: tuple[str, str]
    """(left, right) foot bodies: their collision geoms define ground contact."""
    tracked: tuple[str, ...] = field(default=())
    """Points used for the keypoint-error metric (all mapped points when empty)."""
    collision_in_stage1: bool = False
    """Whether the body solver's orientation stage needs the self-collision rows too (see
    BodySolverConfig.collision_in_stage1)."""


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

# Booster T1: the free joint is on the trunk; the waist link below it carries the legs, so it is the pelvis.
# The arm's "elbow pitch" turns about the upper arm (its axis runs along it at rest) and "elbow yaw" bends
# the elbow, so the elbow point is the origin of the link that joint moves. No wrist joint: the wrist point
# is the far end of the forearm geometry (as on H1).
T1 = HumanoidMap(
    points={
        "pelvis": ("Waist", (0.0, 0.0, 0.0)),
        "left_hip": ("Hip_Roll_Left", (0.0, 0.0, 0.0)),
        "left_knee": ("Shank_Left", (0.0, 0.0, 0.0)),
        "left_ankle": ("left_foot_link", (0.0, 0.0, 0.0)),
        "left_toe": ("left_foot_link", TOE),
        "right_hip": ("Hip_Roll_Right", (0.0, 0.0, 0.0)),
        "right_knee": ("Shank_Right", (0.0, 0.0, 0.0)),
        "right_ankle": ("right_foot_link", (0.0, 0.0, 0.0)),
        "right_toe": ("right_foot_link", TOE),
        "spine": ("Trunk", (0.0, 0.0, 0.0)),
        "left_shoulder": ("AL2", (0.0, 0.0, 0.0)),
        "left_elbow": ("left_hand_link", (0.0, 0.0, 0.0)),
        "left_wrist": ("left_hand_link", TIP),
        "right_shoulder": ("AR2", (0.0, 0.0, 0.0)),
        "right_elbow": ("right_hand_link", (0.0, 0.0, 0.0)),
        "right_wrist": ("right_hand_link", TIP),
    },
    pelvis="Waist",
    torso="Trunk",
    feet=("left_foot_link", "right_foot_link"),
    collision_in_stage1=True,
)

HUMANOID_MAPS: dict[str, HumanoidMap] = {"g1": G1, "h1": H1, "g1_with_hands": G1, "t1": T1}


def collision_points(model: mujoco.MjModel, body: int, rims: bool = True) -> np.ndarray:
    """Surface sample points [N, 3] of a body's collision geoms in the body frame: box corners, capsule and
    cylinder end caps (axis ends pushed out by the radius, plus the rims when `rims`), sphere poles."""
    out = []
    for g in range(model.ngeom):
        if model.geom_bodyid[g] != body or not (model.geom_contype[g] or model.geom_conaffinity[g]):
            continue
        size, typ = model.geom_size[g], int(model.geom_type[g])
        flat = np.zeros(9)
        mujoco.mju_quat2Mat(flat, model.geom_quat[g])
        rot = flat.reshape(3, 3)
        if typ == mujoco.mjtGeom.mjGEOM_BOX:
            local = np.array([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)]) * size
        elif typ in (int(mujoco.mjtGeom.mjGEOM_CAPSULE), int(mujoco.mjtGeom.mjGEOM_CYLINDER)):
            r, h = size[0], size[1]
            cap = r if typ == mujoco.mjtGeom.mjGEOM_CAPSULE else 0.0
            angles: list[float] = list(np.linspace(0, 2 * np.pi, 8, endpoint=False)) if rims else []
            ring = [[r * np.cos(a), r * np.sin(a), 0.0] for a in angles]
            local = np.array(
                [[0, 0, s * (h + cap)] for s in (-1, 1)]
                + [[x, y, s * h] for x, y, _ in ring for s in (-1, 1)]
            )
        elif typ == mujoco.mjtGeom.mjGEOM_SPHERE:
            local = np.array([[0, 0, 0], *(np.eye(3) * size[0]), *(-np.eye(3) * size[0])])
        else:
            continue  # meshes: maps of mesh-footed robots give their offsets
        out.append(model.geom_pos[g] + local @ rot.T)
    if not out:
        raise ValueError(
            f"body {model.body(body).name!r} has no primitive collision geometry to place a point on"
        )
    return np.vstack(out)


def resolve_offset(model: mujoco.MjModel, body_name: str, offset: Offset) -> np.ndarray:
    """The point's offset in the body frame; TOE/TIP are read off the collision geometry with the body's
    frame as in the MJCF's zero pose (menagerie humanoids face +x with level feet there)."""
    if not isinstance(offset, str):
        return np.asarray(offset, dtype=float)
    body = model.body(body_name).id
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    rot = data.xmat[body].reshape(3, 3)  # body -> world at the zero pose
    if offset == TIP:
        ends = collision_points(model, body, rims=False)  # axis ends: the tip lies on the limb's centre line
        return ends[np.argmax(np.linalg.norm(ends, axis=1))]
    pts = collision_points(model, body)
    if offset == TOE:
        world = pts @ rot.T
        sole = world[world[:, 2] < world[:, 2].min() + 1e-3]
        toe = np.array([sole[:, 0].max(), (sole[:, 1].min() + sole[:, 1].max()) / 2, sole[:, 2].min()])
        return rot.T @ toe
    raise ValueError(
        f"unknown computed offset {offset!r} for body {body_name!r}; expected a 3-vector, {TOE!r} or {TIP!r}"
    )
