"""Robot kinematics for retargeting: pinocchio from the menagerie MJCF, with a joint-set check against MuJoCo.

Pinocchio's MJCF parser matches MuJoCo on the humanoids, hands and quadrupeds, but on ALOHA it keeps only
one of the two arms (8 of 16 DoF: the second arm's joints share names after prefixing). `check_joint_sets`
compares the parsed models; solvers use pinocchio (+ pink) where they agree and mink on the MuJoCo model
where they do not.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache

import mujoco
import numpy as np

from robolearn.robots import robot_model, robot_xml


@dataclass(frozen=True)
class JointSetCheck:
    robot: str
    mujoco_nq: int
    mujoco_nv: int
    pinocchio_nq: int
    pinocchio_nv: int
    missing_in_pinocchio: tuple[str, ...]

    @property
    def match(self) -> bool:
        return (
            self.mujoco_nq == self.pinocchio_nq
            and self.mujoco_nv == self.pinocchio_nv
            and not self.missing_in_pinocchio
        )

    @property
    def backend(self) -> str:
        return "pinocchio+pink" if self.match else "mujoco+mink"


def load_pinocchio(name: str):
    import pinocchio as pin

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pin.buildModelFromMJCF(str(robot_xml(name)))


@cache
def check_joint_sets(name: str) -> JointSetCheck:
    """Compare MuJoCo's and pinocchio's view of the robot's joints (names, nq, nv)."""
    mj = robot_model(name)
    pm = load_pinocchio(name)
    pin_names = {pm.names[i] for i in range(1, pm.njoints)}
    # Free joints are often unnamed in MJCF; pinocchio names them itself, so compare hinge/slide joints.
    mj_names = [mj.joint(j).name for j in range(mj.njnt) if mj.jnt_type[j] != mujoco.mjtJoint.mjJNT_FREE]
    return JointSetCheck(
        robot=name,
        mujoco_nq=mj.nq,
        mujoco_nv=mj.nv,
        pinocchio_nq=pm.nq,
        pinocchio_nv=pm.nv,
        missing_in_pinocchio=tuple(n for n in mj_names if n not in pin_names),
    )


def actuated_joint_names(model) -> list[str]:
    """Pinocchio joint names after the universe (and the free joint, if any), in configuration order."""
    names = []
    for j in range(1, model.njoints):
        if model.joints[j].nq == 7:  # free flyer
            continue
        names.append(model.names[j])
    return names


def mujoco_qpos_from_pinocchio(q: np.ndarray, has_free_joint: bool) -> np.ndarray:
    """Pinocchio free-flyer quaternions are x, y, z, w; MuJoCo's (and the clip format's) are w, x, y, z."""
    q = np.array(q, dtype=float, copy=True)
    if has_free_joint:
        q[..., 3:7] = q[..., [6, 3, 4, 5]]
    return q


def pinocchio_q_from_mujoco(qpos: np.ndarray, has_free_joint: bool) -> np.ndarray:
    q = np.array(qpos, dtype=float, copy=True)
    if has_free_joint:
        q[..., 3:7] = q[..., [4, 5, 6, 3]]
    return q
