"""Human motion onto a quadruped (Go2): the root trajectory and the limb phases, not the pose.

A dog cannot take a human pose, so what carries over is where the person goes and when each limb steps:
  - base: the pelvis path on the floor scaled by the leg-length ratio, the pelvis heading as yaw, and the
    pelvis bob (scaled) on top of the robot's standing height; roll and pitch stay level;
  - hind feet follow the human feet: their fore-aft / lateral swing about the mean (in the heading frame,
    scaled) is added to the robot's standing foot position, and they lift as the human foot does;
  - front feet follow the hands' swing and lift with the diagonal human foot, so a human walk (left hand
    forward with the right foot) becomes a trot (front-left with hind-right);
  - a foot whose source is in contact (contacts.py) is locked where it touched down.
Solved per frame by differential IK (pink) on the MuJoCo model's pinocchio twin, like the humanoids.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import mujoco
import numpy as np
import pink
import pinocchio as pin
from pink.limits import ConfigurationLimit, VelocityLimit
from pink.tasks import FrameTask

from robolearn.robots import robot_model

from .contacts import ContactConfig, contact_phases, foot_contacts
from .errors import RetargetInputError
from .frames import keypoint_frames
from .ground import lowest_foot_height
from .kinematics import check_joint_sets, load_pinocchio, mujoco_qpos_from_pinocchio
from .rotations import axis_rotation
from .scaling import bone_lengths, leg_length
from .skeleton import BODY_POINTS, body_points
from .smoothing import limit_velocity, zero_phase_lowpass
from .sources.motion import HumanMotion


@dataclass(frozen=True)
class QuadrupedMap:
    feet: dict[str, str]
    """robot foot -> name of its foot geom (a sphere; its centre is the foot point)."""
    swing_from: dict[str, str]
    """robot foot -> human point whose fore-aft/lateral swing it copies."""
    lift_from: dict[str, str]
    """robot foot -> human foot side ("left"/"right") whose lift and contacts it copies."""


GO2 = QuadrupedMap(
    feet={"FL": "FL", "FR": "FR", "RL": "RL", "RR": "RR"},
    swing_from={"FL": "left_wrist", "FR": "right_wrist", "RL": "left_ankle", "RR": "right_ankle"},
    lift_from={"FL": "right", "FR": "left", "RL": "left", "RR": "right"},
)
QUADRUPED_MAPS: dict[str, QuadrupedMap] = {"go2": GO2}


@dataclass
class QuadrupedConfig:
    foot_cost: float = 10.0
    base_position_cost: float = 1.0
    base_orientation_cost: float = 1.0
    iterations: int = 3
    first_frame_iterations: int = 60
    joint_velocity_limit: float = 30.0
    """rad/s; the Go2 MJCF carries none (same default as the humanoids)."""
    smooth_cutoff_hz: float = 6.0
    """Zero-phase low-pass of base and joints. Mean jerk / stance skating against the plain solver's (no locks,
    no smoothing) with lock_reach 0.2 on CMU 131_03: 8 Hz 1.04 / 0.39, 6 Hz 0.77 / 0.42; on 131_02: 8 Hz
    0.95 / 0.17, 6 Hz 0.68 / 0.27 (12 Hz with unbounded locks, the old default: 3.6 / 0.18 on 131_03)."""
    lock_feet: bool = True
    """Hold a foot where it touched down while its source is in contact."""
    liftoff_blend: float = 0.15
    """Seconds over which the target eases off the free path before the first stance and back onto it after
    the last one (between stances it eases from spot to spot over the whole swing)."""
    lock_reach: float = 0.25
    """A planted foot's target stays within this distance (m) of its free path (the source foot relative to
    the base); beyond it the foot is dragged along. Unbounded, the base drifted far enough from a planted
    foot on CMU 131_03 (0.55 m over a stance) that the leg hit its joint limits and the QP swung it between
    them (one velocity-limit step a frame). Mean jerk / stance skating against the plain solver's, 6 Hz,
    on 01_01, 131_01, 131_02, 131_03: 0.2 m 0.05/0.47, 0.47/0.23, 0.68/0.27, 0.77/0.42; 0.25 m 0.06/0.41,
    0.47/0.20, 0.68/0.27, 0.84/0.35."""
    contacts: ContactConfig = field(default_factory=ContactConfig)
    damping: float = 1e-3


@dataclass
class QuadrupedTargets:
    base_pos: np.ndarray  # [T, 3]
    base_rot: np.ndarray  # [T, 3, 3]
    feet: dict[str, np.ndarray]  # foot -> [T, 3] world targets (locked in stance)
    contacts: dict[str, np.ndarray]  # foot -> [T] bool
    scale: float
    human: np.ndarray  # [T, P, 3] the source keypoints scaled and moved to the base's start (for videos)


@dataclass
class QuadrupedResult:
    qpos: np.ndarray  # [T, nq] MuJoCo order
    targets: QuadrupedTargets
    foot_points: dict[str, np.ndarray]  # foot -> [T, 3] robot foot centres
    solve_seconds: float


class QuadrupedRetargeter:
    def __init__(self, robot: str = "go2", config: QuadrupedConfig | None = None):
        if robot not in QUADRUPED_MAPS:
            raise ValueError(
                f"robot {robot!r} has no quadruped map; quadruped retargeting supports {sorted(QUADRUPED_MAPS)}"
            )
        check = check_joint_sets(robot)
        if not check.match:
            raise RuntimeError(f"pinocchio and MuJoCo disagree on {robot!r} joints: {check}")
        self.robot, self.map = robot, QUADRUPED_MAPS[robot]
        self.config = config or QuadrupedConfig()
        self.mj_model = robot_model(robot)
        self.model = load_pinocchio(robot)
        self.model.lowerPositionLimit[:7] = -np.inf
        self.model.upperPositionLimit[:7] = np.inf
        self.model.velocityLimit = np.full(self.model.nv, self.config.joint_velocity_limit)
        self.foot_frames = {}
        for f, geom in self.map.feet.items():
            g = self.mj_model.geom(geom).id
            body = self.mj_model.body(self.mj_model.geom_bodyid[g]).name
            self.foot_frames[f] = self._add_frame(f"foot_{f}", body, self.mj_model.geom_pos[g].copy())
        self.base_frame = self._add_frame("base_frame", self.mj_model.body(1).name, np.zeros(3))
        self.data = self.model.createData()
        self._standing()

    def _add_frame(self, name: str, body: str, offset: np.ndarray) -> str:
        fid = self.model.getFrameId(body, pin.FrameType.BODY)
        parent = self.model.frames[fid]
        placement = parent.placement * pin.SE3(np.eye(3), offset)
        self.model.addFrame(pin.Frame(name, parent.parentJoint, fid, placement, pin.FrameType.OP_FRAME))
        return name

    def _standing(self) -> None:
        """Standing pose from the model's first keyframe: base height with the foot spheres on the floor,
        and the feet's positions in the base frame."""
        m = self.mj_model
        key = m.key_qpos[0] if m.nkey else m.qpos0
        self.q_stand = np.r_[key[:3], key[4:7], key[3], key[7:]]  # pinocchio quaternion x, y, z, w
        feet = self.feet_at(self.q_stand)
        self.radius = {f: float(m.geom_size[m.geom(g).id][0]) for f, g in self.map.feet.items()}
        lift = np.mean([self.radius[f] - feet[f][2] for f in feet])
        self.stand_height = float(key[2] + lift)
        self.stand_feet = {f: feet[f] - key[:3] for f in feet}  # base frame (the keyframe base is level)

    def feet_at(self, q: np.ndarray) -> dict[str, np.ndarray]:
        pin.framesForwardKinematics(self.model, self.data, q)
        return {
            f: self.data.oMf[self.model.getFrameId(n)].translation.copy() for f, n in self.foot_frames.items()
        }

    # --- targets -----------------------------------------------------------------------------------
    def targets(self, motion: HumanMotion) -> QuadrupedTargets:
        human, _ = body_points(motion)
        idx = {p: BODY_POINTS.index(p) for p in BODY_POINTS}
        for p in (
            "pelvis",
            "left_hip",
            "right_hip",
            "left_ankle",
            "right_ankle",
            "left_wrist",
            "right_wrist",
        ):
            if not np.isfinite(human[:, idx[p]]).all():
                raise RetargetInputError(
                    motion.source, p, "finite positions in every frame (quadrupeds need it)"
                )
        scale = self.stand_height / leg_length(bone_lengths(human))
        pelvis = human[:, idx["pelvis"]]
        frames = keypoint_frames(human)["pelvis"]
        heading = np.unwrap(np.arctan2(frames[:, 1, 0], frames[:, 0, 0]))
        rot = axis_rotation("z", heading)  # [T, 3, 3]
        base = np.zeros((len(pelvis), 3))
        base[:, :2] = scale * (pelvis[:, :2] - pelvis[0, :2])
        base[:, 2] = self.stand_height + scale * (pelvis[:, 2] - np.median(pelvis[:, 2]))

        contacts_human = foot_contacts(human * scale, motion.fps, self.config.contacts)
        side_contact = {
            s: contacts_human[f"{s}_ankle"] | contacts_human[f"{s}_toe"] for s in ("left", "right")
        }
        feet, contacts = {}, {}
        for foot, source in self.map.swing_from.items():
            rel = np.einsum("tji,tj->ti", rot, human[:, idx[source]] - pelvis)  # heading frame
            swing = scale * (rel - np.median(rel, axis=0))
            side = self.map.lift_from[foot]
            ankle = human[:, idx[f"{side}_ankle"], 2]
            lift = scale * np.maximum(ankle - np.percentile(ankle, 5), 0.0)
            local = self.stand_feet[foot][:2] + swing[:, :2]
            world = np.zeros((len(pelvis), 3))
            world[:, :2] = base[:, :2] + np.einsum("tij,tj->ti", rot[:, :2, :2], local)
            world[:, 2] = self.radius[foot] + lift
            contacts[foot] = side_contact[side]
            blend = max(1, int(round(self.config.liftoff_blend * motion.fps)))
            locked = _lock_stance(world, contacts[foot], self.radius[foot], blend, self.config.lock_reach)
            feet[foot] = locked if self.config.lock_feet else world
        shifted = human - np.array([pelvis[0, 0], pelvis[0, 1], 0.0])
        return QuadrupedTargets(base, rot, feet, contacts, scale, scale * shifted)

    # --- solving -----------------------------------------------------------------------------------
    def retarget(self, motion: HumanMotion, progress: Callable[[int], None] | None = None) -> QuadrupedResult:
        if motion.num_frames < 1:
            raise RetargetInputError(motion.source, "frames", "no frames")
        cfg = self.config
        tg = self.targets(motion)
        base_task = FrameTask(
            self.base_frame, position_cost=cfg.base_position_cost, orientation_cost=cfg.base_orientation_cost
        )
        feet_tasks = {
            f: FrameTask(n, position_cost=cfg.foot_cost, orientation_cost=0.0)
            for f, n in self.foot_frames.items()
        }
        tasks = [base_task, *feet_tasks.values()]
        limits = [ConfigurationLimit(self.model), VelocityLimit(self.model)]
        T, dt = motion.num_frames, 1.0 / motion.fps
        q = self.q_stand.copy()
        q[:3] = tg.base_pos[0]
        q[3:7] = pin.Quaternion(tg.base_rot[0]).coeffs()
        configuration = pink.Configuration(self.model, self.data, q, copy_data=False)
        out = np.zeros((T, self.model.nq))
        t0 = time.perf_counter()
        for t in range(T):
            base_task.set_target(pin.SE3(tg.base_rot[t], tg.base_pos[t]))
            for f, task in feet_tasks.items():
                task.set_target(pin.SE3(np.eye(3), tg.feet[f][t]))
            n, step, lims = (
                (cfg.first_frame_iterations, 1.0, limits[:1])
                if t == 0
                else (cfg.iterations, dt / cfg.iterations, limits)
            )
            for _ in range(n):
                v = pink.solve_ik(
                    configuration,
                    tasks,
                    step,
                    solver="daqp",
                    damping=cfg.damping,
                    limits=lims,
                    safety_break=False,
                )
                configuration.update(pin.integrate(self.model, configuration.q, v * step))
            out[t] = configuration.q
            if progress is not None:
                progress(t)
        out[:, :3] = zero_phase_lowpass(out[:, :3], motion.fps, cfg.smooth_cutoff_hz)
        joints = zero_phase_lowpass(out[:, 7:], motion.fps, cfg.smooth_cutoff_hz)
        lower, upper = self.model.lowerPositionLimit[7:], self.model.upperPositionLimit[7:]
        out[:, 7:] = limit_velocity(np.clip(joints, lower, upper), motion.fps, cfg.joint_velocity_limit)
        solve_seconds = time.perf_counter() - t0
        qpos = mujoco_qpos_from_pinocchio(out, True)
        # Smoothing rounds the base's lowest dips: lift any frame whose legs then reach into the floor.
        legs = tuple(
            {
                self.mj_model.body(self.mj_model.geom_bodyid[self.mj_model.geom(g).id]).name
                for g in self.map.feet.values()
            }
        )
        low = lowest_foot_height(self.mj_model, qpos, legs)
        qpos[:, 2] += np.maximum(-low, 0.0)
        out[:, 2] = qpos[:, 2]
        foot_points = {f: np.stack([self.feet_at(x)[f] for x in out]) for f in self.foot_frames}
        return QuadrupedResult(qpos, tg, foot_points, solve_seconds)


def _ease(n: int) -> np.ndarray:
    """n weights rising smoothly from 0 towards 1 (zero slope at both ends), excluding the ends."""
    return 0.5 - 0.5 * np.cos(np.pi * np.arange(1, n + 1) / (n + 1))


def _leash(planted: np.ndarray, free: np.ndarray, reach: float) -> np.ndarray:
    """Planted targets [T, 3] moved horizontally to within `reach` of the free path [T, 3]."""
    gap = planted[:, :2] - free[:, :2]
    norm = np.linalg.norm(gap, axis=1, keepdims=True)
    out = planted.copy()
    out[:, :2] = free[:, :2] + gap * np.minimum(1.0, reach / np.maximum(norm, 1e-12))
    return out


def _lock_stance(
    world: np.ndarray, contact: np.ndarray, radius: float, blend: int, reach: float = np.inf
) -> np.ndarray:
    """Feet in stance stay where they touched down, on the floor, within `reach` of the free path. Between two
    stance phases the target is the free path plus an offset that eases from the last planted spot to the
    next one over the whole swing, so the target is continuous at lift-off and at touchdown. Easing back over
    a fixed 0.15 s instead (the free path had drifted up to 0.55 m from a planted spot on CMU 131_03) and
    stepping down to the floor at touchdown (the source heel is still 1-3 cm up) cost mean jerk: 131_03
    1637 -> 1431 rad/s^3, 131_02 648 -> 474 with this alone. Before the first and after the last stance the
    offset eases over `blend` frames."""
    out = world.copy()
    phases = contact_phases(contact)
    offsets = []
    for s, e in phases:
        planted = np.array([world[s, 0], world[s, 1], radius])
        out[s:e] = _leash(np.broadcast_to(planted, (e - s, 3)), world[s:e], reach)
        out[s:e, 2] = radius
        offsets.append((out[s] - world[s], out[e - 1] - world[e - 1]))
    for k, (_, e) in enumerate(phases):
        if k + 1 < len(phases):  # swing to the next stance
            s2 = phases[k + 1][0]
            a = _ease(s2 - e)[:, None]
            out[e:s2] = world[e:s2] + (1 - a) * offsets[k][1] + a * offsets[k + 1][0]
        else:  # after the last stance: back onto the free path
            n = min(blend, len(world) - e)
            out[e : e + n] = world[e : e + n] + (1 - _ease(n)[:, None]) * offsets[k][1]
    if phases and phases[0][0] > 0:  # before the first stance: down onto its spot
        s = phases[0][0]
        n = min(blend, s)
        out[s - n : s] = world[s - n : s] + _ease(n)[:, None] * offsets[0][0]
    return out


def foot_heights(model: mujoco.MjModel, qpos: np.ndarray, feet: dict[str, str]) -> np.ndarray:
    """Lowest point of each foot sphere per frame [T, F] (negative: in the floor)."""
    data = mujoco.MjData(model)
    ids = [model.geom(g).id for g in feet.values()]
    out = np.zeros((len(qpos), len(ids)))
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        out[t] = data.geom_xpos[ids, 2] - model.geom_size[ids, 0]
    return out


def retarget_quadruped(
    motion: HumanMotion,
    robot: str = "go2",
    fps: float | None = None,
    config: QuadrupedConfig | None = None,
    progress: Callable[[int], None] | None = None,
):
    """Human motion -> quadruped clip and metrics (a RetargetResult, as for the humanoids, whose human points
    are the scaled source skeleton). Keypoint errors are the feet's distances to their targets (FL, FR, RL,
    RR); stance skating is over source contacts."""
    from .api import RetargetResult, robot_clip
    from .clip import resample_qpos
    from .metrics import RetargetMetrics, derivative_peaks, joint_limit_violations
    from .smoothing import jerk_mean

    solver = QuadrupedRetargeter(robot, config)
    res = solver.retarget(motion, progress)
    model, qpos, tg = solver.mj_model, res.qpos, res.targets
    err = {f: np.linalg.norm(res.foot_points[f] - tg.feet[f], axis=-1) for f in res.foot_points}
    heights = foot_heights(model, qpos, solver.map.feet)
    stance = [
        np.linalg.norm(np.diff(res.foot_points[f][:, :2], axis=0), axis=-1)[c[1:] & c[:-1]] * motion.fps
        for f, c in tg.contacts.items()
    ]
    stance_all = np.concatenate(stance)
    n_viol, worst = joint_limit_violations(model, qpos)
    vel, acc = derivative_peaks(qpos[:, 7:], motion.fps)
    metrics = RetargetMetrics(
        frames=motion.num_frames,
        fps_solve=motion.num_frames / max(res.solve_seconds, 1e-9),
        keypoint_error_mean={f: float(e.mean()) for f, e in err.items()},
        keypoint_error_max={f: float(e.max()) for f, e in err.items()},
        orientation_error_mean_deg={},
        limit_violations=n_viol,
        limit_violation_max=worst,
        joint_velocity_peak=vel,
        joint_acceleration_peak=acc,
        foot_skating=float(stance_all.mean()) if len(stance_all) else 0.0,
        penetration_mm=float(max(0.0, -heights.min()) * 1000.0),
        self_collision_frames=-1,
        stance_skating=float(stance_all.mean()) if len(stance_all) else 0.0,
        jitter=jerk_mean(qpos[:, 7:], motion.fps),
    )
    clip = robot_clip(
        model,
        qpos,
        motion,
        fps,
        robot,
        height_ratio=tg.scale,
        solver="quadruped: root path + limb phases, pinocchio+pink differential IK",
    )
    flat = resample_qpos(tg.human.reshape(len(tg.human), -1), motion.fps, clip.fps, has_root=False)
    return RetargetResult(clip, metrics, flat.reshape(-1, len(BODY_POINTS), 3), list(BODY_POINTS))
