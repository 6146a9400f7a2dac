"""Quality metrics of a retargeted clip, returned by the API, printed by `--report`, used in tests."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import mujoco
import numpy as np

from .rotations import rotation_angle


@dataclass
class RetargetMetrics:
    frames: int
    fps_solve: float
    """Frames retargeted per second of solver time (one core)."""
    keypoint_error_mean: dict[str, float]
    """Per tracked point: mean distance (m) between robot point and scaled human point."""
    keypoint_error_max: dict[str, float]
    orientation_error_mean_deg: dict[str, float]
    limit_violations: int
    """Number of (frame, joint) entries outside the joint range (tolerance 1e-6 rad)."""
    limit_violation_max: float
    joint_velocity_peak: float
    """Largest |dq/dt| over joints and frames (rad/s)."""
    joint_acceleration_peak: float
    foot_skating: float
    """Mean horizontal foot speed (m/s) over frames where the foot is in contact (lowest point < 2 cm)."""
    penetration_mm: float
    """Deepest point of the feet below the floor (mm, 0 if none)."""
    self_collision_frames: int
    stance_skating: float = 0.0
    """Mean horizontal speed (m/s) of the robot's heel/toe points over frames where the source has that
    point in contact (contacts.py): the sliding that foot locking removes. `foot_skating` above also counts
    a heel rolling off a planted toe, which moves the ankle body legitimately."""
    jitter: float = 0.0
    """Mean |joint jerk| (rad/s^3) over joints and frames."""

    @property
    def keypoint_error_overall(self) -> float:
        vals = list(self.keypoint_error_mean.values())
        return float(np.mean(vals)) if vals else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "keypoint_error_overall": self.keypoint_error_overall}


def keypoint_errors(robot_points: np.ndarray, targets: np.ndarray, names: list[str]) -> tuple[dict, dict]:
    """Mean/max per point of |robot - target| over frames, for points that have targets."""
    d = np.linalg.norm(robot_points - targets, axis=-1)
    mean, mx = {}, {}
    for k, n in enumerate(names):
        if np.isfinite(d[:, k]).all():
            mean[n], mx[n] = float(d[:, k].mean()), float(d[:, k].max())
    return mean, mx


def orientation_errors(
    robot_rot: dict[str, np.ndarray], target_rot: dict[str, np.ndarray]
) -> dict[str, float]:
    return {k: float(np.degrees(rotation_angle(robot_rot[k], target_rot[k])).mean()) for k in target_rot}


def joint_limit_violations(model: mujoco.MjModel, qpos: np.ndarray, tol: float = 1e-6) -> tuple[int, float]:
    """Count and worst excess (rad or m) of hinge/slide joints outside their range."""
    count, worst = 0, 0.0
    for j in range(model.njnt):
        if not model.jnt_limited[j] or model.jnt_type[j] in (
            mujoco.mjtJoint.mjJNT_FREE,
            mujoco.mjtJoint.mjJNT_BALL,
        ):
            continue
        lo, hi = model.jnt_range[j]
        x = qpos[:, model.jnt_qposadr[j]]
        excess = np.maximum(lo - x, x - hi)
        count += int((excess > tol).sum())
        worst = max(worst, float(excess.max(initial=0.0)))
    return count, max(worst, 0.0)


def derivative_peaks(joints: np.ndarray, fps: float) -> tuple[float, float]:
    if len(joints) < 3:
        return 0.0, 0.0
    vel = np.diff(joints, axis=0) * fps
    acc = np.diff(vel, axis=0) * fps
    return float(np.abs(vel).max()), float(np.abs(acc).max())


def foot_metrics(foot_heights: np.ndarray, foot_xy: np.ndarray, fps: float, contact_height: float = 0.02):
    """foot_heights [T, F] lowest point per foot; foot_xy [T, F, 2]. Returns (skating m/s, penetration mm)."""
    speed = np.linalg.norm(np.diff(foot_xy, axis=0), axis=-1) * fps
    contact = (foot_heights[1:] < contact_height) & (foot_heights[:-1] < contact_height)
    skating = float(speed[contact].mean()) if contact.any() else 0.0
    penetration = float(max(0.0, -foot_heights.min()) * 1000.0)
    return skating, penetration


def stance_skating(
    robot_points: np.ndarray, contacts: dict[str, np.ndarray], names: list[str], fps: float
) -> float:
    """Mean horizontal speed of robot points [T, P, 3] over consecutive frames where their contact flag is on."""
    speeds = []
    for point, flags in contacts.items():
        k = names.index(point)
        v = np.linalg.norm(np.diff(robot_points[:, k, :2], axis=0), axis=-1) * fps
        speeds.append(v[flags[1:] & flags[:-1] & np.isfinite(v)])
    both = np.concatenate(speeds) if speeds else np.zeros(0)
    return float(both.mean()) if len(both) else 0.0


def _overlaps(
    model: mujoco.MjModel, data: mujoco.MjData, q: np.ndarray, depth: float
) -> set[tuple[int, int]]:
    data.qpos[:] = q
    mujoco.mj_kinematics(model, data)
    mujoco.mj_collision(model, data)
    return {
        (data.contact[i].geom1, data.contact[i].geom2)
        for i in range(data.ncon)
        if data.contact[i].dist < -depth
    }


def self_collision_frames(model: mujoco.MjModel, qpos: np.ndarray, depth: float = 1e-3) -> int:
    """Frames where two robot geoms overlap by more than `depth`. Pairs already overlapping in the model's
    rest pose (coarse collision meshes of neighbouring links) are not counted: they are not motion errors."""
    data = mujoco.MjData(model)
    rest = model.key_qpos[0] if model.nkey else model.qpos0
    ignore = _overlaps(model, data, rest, depth)
    return sum(bool(_overlaps(model, data, q, depth) - ignore) for q in qpos)
