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
    robot_pelvis_height_ratio: float = float("nan")
    """Median over frames of the robot's pelvis height above the floor / its standing pelvis height."""
    human_pelvis_height_ratio: float = float("nan")
    """The same for the scaled human (robot proportions, same floor)."""
    robot_torso_tilt_deg: float = float("nan")
    """Median over frames of the angle between the robot's torso (spine to mid-shoulders) and world up."""
    human_torso_tilt_deg: float = float("nan")
    """The same for the scaled human."""
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

    @property
    def upright_problem(self) -> str | None:
        """Why the clip is not an upright body motion, or None. Keypoint errors cannot see this: a robot
        lying on the floor tracks a lying human (wrong up axis, a rest pose read as standing) perfectly."""
        if np.isnan(self.robot_pelvis_height_ratio):
            return None  # posture not measured (quadrupeds: their base height is a path, not a posture)
        robot_ok = is_upright(self.robot_pelvis_height_ratio, self.robot_torso_tilt_deg)
        human_ok = is_upright(self.human_pelvis_height_ratio, self.human_torso_tilt_deg)
        if robot_ok:
            return None
        state = (
            f"pelvis at {self.robot_pelvis_height_ratio:.0%} of standing height, "
            f"torso tilted {self.robot_torso_tilt_deg:.0f} deg"
        )
        if human_ok:
            return f"robot not upright while the human is ({state})"
        return f"not upright ({state}; the source human too: check its up axis and units)"

    @property
    def verdict(self) -> str:
        """'good', or 'check: <reasons>' (upright first: small keypoint errors never make a lying clip good)."""
        reasons = [self.upright_problem] if self.upright_problem else []
        if self.keypoint_error_overall > GOOD_KEYPOINT_ERROR:
            reasons.append(f"keypoint error {100 * self.keypoint_error_overall:.1f} cm")
        if self.limit_violations:
            reasons.append(f"{self.limit_violations} joint-limit violations")
        if self.penetration_mm > GOOD_PENETRATION_MM:
            reasons.append(f"{self.penetration_mm:.0f} mm ground penetration")
        return "check: " + "; ".join(reasons) if reasons else "good"

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "keypoint_error_overall": self.keypoint_error_overall,
            "upright_problem": self.upright_problem,
            "verdict": self.verdict,
        }


# Medians over the first 240 frames of the four CMU clips (walks, hops, jumps) on G1 and H1: pelvis at
# 0.98-1.03 of standing height, torso tilt 2.5-6.6 deg (robot), up to 12 deg (human). The same clips read
# with the wrong up axis (lying): 0.10-0.28 and 85-90 deg, with keypoint errors as small as upright
# (0.8-2.9 cm). The thresholds sit between, leaving room for crouches and bows.
UPRIGHT_MIN_PELVIS_RATIO = 0.6
UPRIGHT_MAX_TILT_DEG = 45.0
GOOD_KEYPOINT_ERROR = 0.05  # m; the CMU clips retarget to 0.8-3.2 cm on G1 and H1
GOOD_PENETRATION_MM = 5.0


def is_upright(pelvis_height_ratio: float, torso_tilt_deg: float) -> bool:
    return bool(pelvis_height_ratio >= UPRIGHT_MIN_PELVIS_RATIO and torso_tilt_deg <= UPRIGHT_MAX_TILT_DEG)


def posture(points: np.ndarray, standing_pelvis_height: float) -> tuple[float, float]:
    """(median pelvis height / standing pelvis height, median torso tilt in degrees) of keypoints [T, P, 3]
    (BODY_POINTS order, z up, floor at 0)."""
    from .frames import keypoint_frames
    from .skeleton import BODY_POINTS

    pelvis = points[:, BODY_POINTS.index("pelvis"), 2]
    torso_up = keypoint_frames(points)["torso"][..., :, 2]
    tilt = np.degrees(np.arccos(np.clip(torso_up[..., 2], -1.0, 1.0)))
    return float(np.median(pelvis) / standing_pelvis_height), float(np.median(tilt))


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
