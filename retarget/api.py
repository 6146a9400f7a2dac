"""One-call retargeting: a source file (or loaded motion) and a robot name in, a clip and metrics out."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from robolearn.robots import robot_info

from .body import BodySolverConfig, HumanoidRetargeter, lowest_foot_height
from .clip import MotionClip, resample_qpos
from .contacts import foot_contacts
from .errors import RetargetInputError
from .frames import keypoint_frames
from .kinematics import mujoco_qpos_from_pinocchio, pinocchio_q_from_mujoco
from .metrics import (
    RetargetMetrics,
    derivative_peaks,
    foot_metrics,
    joint_limit_violations,
    keypoint_errors,
    orientation_errors,
    posture,
    self_collision_frames,
    stance_skating,
)
from .rig import load_skeleton_map
from .skeleton import BODY_POINTS
from .smoothing import jerk_mean
from .sources import load_motion
from .sources.motion import HumanMotion


@dataclass
class RetargetResult:
    clip: MotionClip
    metrics: RetargetMetrics
    human_points: np.ndarray
    """Scaled human keypoints [T, P, 3] at the clip's fps (for the side-by-side video)."""
    point_names: list[str]


def body_positions(model: mujoco.MjModel, qpos: np.ndarray) -> tuple[list[str], np.ndarray]:
    data = mujoco.MjData(model)
    out = np.zeros((len(qpos), model.nbody - 1, 3))
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        out[t] = data.xpos[1:]
    return [model.body(b).name for b in range(1, model.nbody)], out


def robot_clip(
    model: mujoco.MjModel, qpos: np.ndarray, motion: HumanMotion, fps: float | None, robot: str, **source
) -> MotionClip:
    """The clip of robot motion `qpos` [T, nq] solved at the source rate: resampled to `fps` (None keeps the
    source's; SLERP for the root), with every body's position and the source's metadata plus `source`."""
    out_fps = motion.fps if fps is None else fps
    qpos_out = resample_qpos(qpos, motion.fps, out_fps, has_root=True)
    names, body_pos = body_positions(model, qpos_out)
    return MotionClip(
        fps=out_fps,
        joint_names=[model.joint(j).name for j in range(1, model.njnt)],
        qpos=qpos_out,
        body_names=names,
        body_pos=body_pos,
        robot=robot,
        source={
            "path": motion.source,
            "source_fps": motion.fps,
            "frames": motion.num_frames,
            **motion.meta,
            **source,
        },
    )


def check_fps(fps: float | None) -> None:
    """An output frame rate is None (the source's) or a finite number > 0; 0 once meant "the source's"."""
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps: expected a positive output frame rate (or None for the source's), got {fps}")


def retarget_motion(
    motion: HumanMotion,
    robot: str = "g1",
    fps: float | None = None,
    config: BodySolverConfig | None = None,
    progress: Callable[[int], None] | None = None,
    check_self_collision: bool = True,
) -> RetargetResult:
    """Retarget body motion onto a humanoid (or a quadruped: root path and limb phases, quadruped.py);
    `fps` resamples the output (None keeps the source rate)."""
    check_fps(fps)
    if motion.num_frames < 1:
        raise RetargetInputError(motion.source, "frames", f"expected at least one frame, got {motion.num_frames}"
                                 f" (frame range {motion.meta.get('frame_range', 'all')})")  # fmt: skip
    if robot_info(robot).category == "quadruped":
        from .quadruped import retarget_quadruped

        return retarget_quadruped(motion, robot, fps, progress=progress)
    solver = HumanoidRetargeter(robot, config)
    res = solver.retarget(motion, progress)
    model = solver.mj_model
    qpos = res.qpos

    # Metrics at the source rate, where targets exist.
    robot_pts = np.stack([solver.points_at(pinocchio_q_from_mujoco(q, True)) for q in qpos])
    kp_mean, kp_max = keypoint_errors(robot_pts, res.targets, BODY_POINTS)
    robot_rot = {}
    for body, frame in solver.body_frames.items():
        fid = solver.model.getFrameId(frame)
        rots = []
        for q in qpos:
            import pinocchio as pin

            pin.framesForwardKinematics(solver.model, solver.data, pinocchio_q_from_mujoco(q, True))
            rots.append(solver.data.oMf[fid].rotation.copy())
        robot_rot[body] = np.stack(rots)
    n_viol, worst = joint_limit_violations(model, qpos)
    vel, acc = derivative_peaks(qpos[:, 7:], motion.fps)
    feet = solver.map.feet
    heights = np.stack([lowest_foot_height(model, qpos, (f,)) for f in feet], axis=1)
    _, body_pos = body_positions(model, qpos)
    foot_xy = np.stack([body_pos[:, model.body(f).id - 1, :2] for f in feet], axis=1)
    skating, penetration = foot_metrics(heights, foot_xy, motion.fps)
    rest = mujoco_qpos_from_pinocchio(solver.q_rest[None], has_free_joint=True)
    standing = float(
        solver.rest_points[BODY_POINTS.index("pelvis"), 2] - lowest_foot_height(model, rest, feet)[0]
    )
    robot_height, robot_tilt = posture(robot_pts, standing)
    human_height, human_tilt = posture(res.targets, standing)
    metrics = RetargetMetrics(
        frames=motion.num_frames,
        fps_solve=motion.num_frames / max(res.solve_seconds, 1e-9),
        keypoint_error_mean=kp_mean,
        keypoint_error_max=kp_max,
        orientation_error_mean_deg=orientation_errors(robot_rot, res.rotations_target),
        limit_violations=n_viol,
        limit_violation_max=worst,
        joint_velocity_peak=vel,
        joint_acceleration_peak=acc,
        foot_skating=skating,
        penetration_mm=penetration,
        self_collision_frames=self_collision_frames(model, qpos) if check_self_collision else -1,
        robot_pelvis_height_ratio=robot_height,
        human_pelvis_height_ratio=human_height,
        robot_torso_tilt_deg=robot_tilt,
        human_torso_tilt_deg=human_tilt,
        stance_skating=stance_skating(
            robot_pts, res.contacts or foot_contacts(res.targets, motion.fps), BODY_POINTS, motion.fps
        ),
        jitter=jerk_mean(qpos[:, 7:], motion.fps),
    )

    clip = robot_clip(
        model,
        qpos,
        motion,
        fps,
        robot,
        height_ratio=res.scaler.height_ratio,
        bone_factors=res.scaler.bone_factors,
        solver="pinocchio+pink two-stage differential IK",
    )
    human = _resample_points(res.targets, motion.fps, clip.fps)
    return RetargetResult(clip, metrics, human, list(BODY_POINTS))


def _resample_points(points: np.ndarray, fps: float, new_fps: float) -> np.ndarray:
    T, P, _ = points.shape
    flat = resample_qpos(points.reshape(T, P * 3), fps, new_fps, has_root=False)
    return flat.reshape(-1, P, 3)


def retarget_file(
    path: str | Path,
    robot: str = "g1",
    fps: float | None = None,
    frames: tuple[int, int | None] | None = None,
    progress: Callable[[int], None] | None = None,
    skeleton_map: str | Path | dict[str, str] | None = None,
    units: str = "auto",
    up: str = "auto",
    body_model: str | Path | None = None,
    source_fps: float | None = None,
) -> RetargetResult:
    """Load any supported body source (BVH, keypoints, AMASS, SMPL-joint .npy) and retarget it onto `robot`.

    `skeleton_map`: a YAML file (or dict) of 'canonical point: source joint name' overriding the body map
    found by joint names and hierarchy (retarget.rig). `units`/`up`: a BVH's length unit and up axis
    ('auto': read off the motion; see sources.bvh.load_bvh). `body_model` is the SMPL model folder AMASS
    files need, `source_fps` the rate of .npy joint arrays."""
    check_fps(fps)
    info = robot_info(robot)  # unknown robot: clear error before reading anything
    if info.category not in ("humanoid", "quadruped"):
        raise ValueError(
            f"body sources retarget onto humanoids; {robot!r} is a {info.category} "
            "(hands: retarget.hands.retarget_hand; arms: retarget.arms.retarget_wrists)"
        )
    if isinstance(skeleton_map, (str, Path)):
        skeleton_map = load_skeleton_map(skeleton_map)
    motion = load_motion(path, skeleton_map, units, up, body_model=body_model, source_fps=source_fps)
    if frames is not None:
        motion = motion.slice(*frames)
    return retarget_motion(motion, robot, fps=fps, progress=progress)


__all__ = ["RetargetResult", "retarget_motion", "retarget_file", "keypoint_frames"]
