"""Wrists -> dual arms (ALOHA from menagerie) by differential IK with mink on the MuJoCo model.

Pinocchio's MJCF parser keeps only one of ALOHA's two arms (8 of 16 DoF), so this solver uses mink,
which works on the MuJoCo model directly. Mapping (relative, as in VR teleoperation): each gripper site
starts at its rest pose and follows the wrist's displacement from the wrist's first-frame pose, turned
into the robot frame; positions are scaled by `scale` (arm-length ratio, ALOHA arms are ~0.6 of a
human's reach). Grippers open with the thumb-index distance when hand keypoints are present.
"""

from __future__ import annotations

from dataclasses import dataclass

import mink
import mujoco
import numpy as np

from robolearn.robots import robot_info, robot_model

from .sources.vr import VRSequence

SIDES = ("left", "right")


@dataclass
class ArmRetargetResult:
    qpos: np.ndarray  # [T, nq]
    joint_names: list[str]
    position_error: np.ndarray  # [T, 2] gripper site to target (m)
    orientation_error_deg: np.ndarray  # [T, 2]
    fps: float


def retarget_wrists(
    vr: VRSequence, robot: str = "aloha", scale: float = 0.6, iterations: int = 4
) -> ArmRetargetResult:
    robot_info(robot)
    if robot != "aloha":
        raise ValueError(f"wrist retargeting supports 'aloha'; got {robot!r}")
    model = robot_model(robot)
    configuration = mink.Configuration(model, model.key_qpos[0].copy())
    tasks = [mink.FrameTask(f"{s}/gripper", "site", position_cost=1.0, orientation_cost=0.3) for s in SIDES]
    posture = mink.PostureTask(model, cost=1e-3)
    posture.set_target(model.key_qpos[0])
    limits = [mink.ConfigurationLimit(model)]
    rest = {s: configuration.get_transform_frame_to_world(f"{s}/gripper", "site") for s in SIDES}
    wrists = {"left": vr.left_wrist, "right": vr.right_wrist}
    hands = {"left": vr.left_hand, "right": vr.right_hand}
    T, dt = vr.num_frames, 1.0 / vr.fps
    out = np.zeros((T, model.nq))
    pos_err, ori_err = np.zeros((T, 2)), np.zeros((T, 2))
    targets = {}
    for t in range(T):
        for s, task in zip(SIDES, tasks, strict=True):
            w0, wt = wrists[s][0], wrists[s][t]
            rot = wt[:3, :3] @ w0[:3, :3].T  # wrist rotation since the first frame, world frame
            pos = rest[s].translation() + scale * (wt[:3, 3] - w0[:3, 3])
            r_rest = rest[s].rotation().as_matrix()
            target = mink.SE3.from_rotation_and_translation(mink.SO3.from_matrix(rot @ r_rest), pos)
            task.set_target(target)
            targets[s] = (rot @ r_rest, pos)
        for _ in range(iterations if t else 30):
            vel = mink.solve_ik(
                configuration, [*tasks, posture], dt / iterations, "daqp", damping=1e-3, limits=limits
            )
            configuration.integrate_inplace(vel, dt / iterations)
        q = configuration.q.copy()
        for s in SIDES:  # grippers: thumb-index pinch distance 2 cm (closed) .. 8 cm (open)
            hand = hands[s]
            if hand is not None:
                open_frac = np.clip((np.linalg.norm(hand[t, 4] - hand[t, 8]) - 0.02) / 0.06, 0, 1)
                for finger in ("left_finger", "right_finger"):
                    j = model.joint(f"{s}/{finger}")
                    lo, hi = model.jnt_range[j.id]
                    q[j.qposadr[0]] = lo + open_frac * (hi - lo)
        out[t] = q
        for k, s in enumerate(SIDES):
            now = configuration.get_transform_frame_to_world(f"{s}/gripper", "site")
            pos_err[t, k] = np.linalg.norm(now.translation() - targets[s][1])
            rel = now.rotation().as_matrix().T @ targets[s][0]
            ori_err[t, k] = np.degrees(np.arccos(np.clip((np.trace(rel) - 1) / 2, -1, 1)))
    names = [model.joint(j).name for j in range(model.njnt)]
    return ArmRetargetResult(out, names, pos_err, ori_err, vr.fps)


def synthetic_vr_from_aloha(qpos: np.ndarray, fps: float, model: mujoco.MjModel | None = None) -> VRSequence:
    """VR sequence whose wrists move exactly like ALOHA's gripper sites over `qpos` (scale 1): round trips."""
    model = model or robot_model("aloha")
    data = mujoco.MjData(model)
    poses = {s: np.zeros((len(qpos), 4, 4)) for s in SIDES}
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        for s in SIDES:
            site = model.site(f"{s}/gripper").id
            poses[s][t] = np.eye(4)
            poses[s][t, :3, :3] = data.site_xmat[site].reshape(3, 3)
            poses[s][t, :3, 3] = data.site_xpos[site]
    head = np.tile(np.eye(4), (len(qpos), 1, 1))
    return VRSequence(fps, head, poses["left"], poses["right"], None, None, "<synthetic>", "robot")
