"""Body -> humanoid retargeting: scaled keypoints to joint angles by two-stage differential IK (pink).

Per frame, warm-started from the previous frame's solution:
  stage 1 (orientation-heavy): pelvis, torso and feet orientations dominate, positions pull weakly, so the
           body's overall posture (facing, lean, foot yaw) is right before limbs are placed;
  stage 2 (position-heavy): every keypoint position dominates, orientations regularise.
Each QP step is bounded by joint-position limits, a joint-velocity limit over the frame period (pink's
ConfigurationLimit / VelocityLimit) and a self-collision limit (robot geoms keep a margin; collision.py).
Heel and toe points in contact in the source (contacts.py) are locked in the world by high-weight tasks
while the contact lasts, so stance feet do not skate. The joint trajectory is then low-passed forwards and
backwards (no lag) and its velocity peaks are spread to stay under the limit (smoothing.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pink
import pinocchio as pin
from pink.exceptions import NoSolutionFound
from pink.limits import ConfigurationLimit, VelocityLimit
from pink.tasks import FrameTask, PostureTask

from robolearn.robots import robot_info, robot_model

from .collision import CollisionConfig, SelfCollisionLimit
from .contacts import ContactConfig, foot_contacts
from .errors import RetargetInputError
from .frames import ORIENTED_BODIES, keypoint_frames
from .ground import (
    foot_contact_points as foot_contact_points,  # re-exported: api and callers import them here
    ground_fix,
    lowest_foot_height as lowest_foot_height,
)
from .humanoids import HUMANOID_MAPS, HumanoidMap, resolve_offset
from .kinematics import check_joint_sets, load_pinocchio, mujoco_qpos_from_pinocchio
from .scaling import BodyScaler
from .skeleton import BODY_POINTS, body_points
from .smoothing import limit_velocity, smooth_quaternions, zero_phase_lowpass
from .sources.motion import HumanMotion


@dataclass
class StageCosts:
    """Task weights of one IK stage (pink cost units: per metre / per radian)."""

    position: dict[str, float]
    orientation: dict[str, float]


def _position_costs(root: float, legs: float, arms: float, hands: float, spine: float) -> dict[str, float]:
    costs = {"pelvis": root, "spine": spine}
    for side in ("left", "right"):
        costs.update({f"{side}_{p}": legs for p in ("hip", "knee", "ankle", "toe")})
        costs.update({f"{side}_{p}": arms for p in ("shoulder", "elbow", "wrist")})
        costs[f"{side}_hand"] = hands
    return costs


@dataclass
class BodySolverConfig:
    stage1: StageCosts = field(
        default_factory=lambda: StageCosts(
            position=_position_costs(root=1.0, legs=0.2, arms=0.1, hands=0.05, spine=0.2),
            orientation={"pelvis": 10.0, "torso": 5.0, "left_foot": 2.0, "right_foot": 2.0},
        )
    )
    stage2: StageCosts = field(
        default_factory=lambda: StageCosts(
            position=_position_costs(root=10.0, legs=10.0, arms=5.0, hands=1.0, spine=2.0),
            orientation={"pelvis": 1.0, "torso": 0.5, "left_foot": 0.5, "right_foot": 0.5},
        )
    )
    iterations: tuple[int, int] = (1, 2)
    """QP steps per frame in stage 1 and stage 2 (warm start makes a few enough)."""
    first_frame_iterations: int = 80
    """The first frame starts from the rest pose, far from the target, and has no velocity limit."""
    joint_velocity_limit: float = 30.0
    """rad/s for hinges (m/s, rad/s for the floating base); menagerie G1/H1/T1 MJCFs carry none. The output
    keeps every joint under it (limit_velocity); the per-step QP bound is `ik_velocity_factor` times it, so
    the solver follows fast moves without lag and the post-pass spreads what is left over nearby frames."""
    ik_velocity_factor: float = 2.0
    lock_feet: bool = True
    """Lock heel/toe points in the world while the source has them in contact (contacts.py)."""
    lock_cost: float = 100.0
    """Position cost of a locked point (stage 2 tracks keypoints at 10)."""
    contacts: ContactConfig = field(default_factory=ContactConfig)
    avoid_self_collision: bool = True
    collision: CollisionConfig = field(default_factory=CollisionConfig)
    collision_in_stage1: bool | None = None
    """Collision rows in the orientation stage too (None: the robot map's choice, on for T1 only). Without
    them stage 1 moved T1's limbs into contact (hands into the trunk, feet into each other, up to 4 cm a
    step) and stage 2 pulled them back: 190 raw self-collision frames on CMU 131_03 (106 with them), and
    mean jerk on 131_02 / 01_01 4939 / 3173 rad/s^3 (2797 / 1192 with them). On G1 they gain nothing
    (0 frames either way, jerk 2132 -> 2160 on 131_03) and cost 7% (CPU frames/s 329 -> 305)."""
    repair_iterations: int = 12
    """Most QP steps of the post-smoothing push-out per frame (it stops once the frame is clear, from the
    4th). 4 left T1's feet overlapping on 30 frames of CMU 131_02; 12 on none."""
    smooth_cutoff_hz: float = 12.0
    """Zero-phase low-pass of the joint trajectory (0: off). Measured on CMU 131_01, 480 frames, G1, with
    foot locks: off: stance skating 0.014 m/s, mean jerk 14300 rad/s^3 (locks engage in one frame);
    8 Hz: 0.046, 1080; 12 Hz: 0.034, 1990; 20 Hz: 0.028, 3770 (no locks, no filter: 0.135, 7640)."""
    damping: float = 1e-3
    """Tikhonov weight: keeps steps small along directions no task constrains (e.g. wrist roll)."""
    ground_fix: bool = True


@dataclass
class BodyRetargetResult:
    qpos: np.ndarray  # [T, nq], MuJoCo order (root pos, root quat wxyz, joints)
    targets: np.ndarray  # [T, P, 3] scaled human keypoints (NaN where absent)
    rotations_target: dict[str, np.ndarray]  # oriented body -> [T, 3, 3]
    scaler: BodyScaler
    solve_seconds: float
    point_names: list[str] = field(default_factory=lambda: list(BODY_POINTS))
    contacts: dict[str, np.ndarray] = field(default_factory=dict)
    """Source contact flags [T] per heel/toe point (CONTACT_POINTS), empty when locking is off."""


class HumanoidRetargeter:
    """Retargets human body motion onto a menagerie humanoid (G1, H1) with pinocchio + pink."""

    def __init__(self, robot: str, config: BodySolverConfig | None = None):
        robot_info(robot)  # clear UnknownRobotError first
        if robot not in HUMANOID_MAPS:
            raise ValueError(
                f"robot {robot!r} is not a humanoid with a body map; body retargeting supports {sorted(HUMANOID_MAPS)}"
            )
        check = check_joint_sets(robot)
        if not check.match:
            raise RuntimeError(f"pinocchio and MuJoCo disagree on {robot!r} joints: {check}")
        self.robot = robot
        self.map: HumanoidMap = HUMANOID_MAPS[robot]
        self.config = config or BodySolverConfig()
        self.mj_model = robot_model(robot)
        self.model = load_pinocchio(robot)
        self._add_point_frames()
        self.data = self.model.createData()
        cfg = self.config
        self.model.velocityLimit = np.full(self.model.nv, cfg.joint_velocity_limit * cfg.ik_velocity_factor)
        # Pinocchio gives the MJCF free joint finite bounds (+-1.01); the root may go anywhere.
        self.model.lowerPositionLimit[:7] = -np.inf
        self.model.upperPositionLimit[:7] = np.inf
        self.q_rest = pin.neutral(self.model)
        self.rest_points = self.points_at(self.q_rest)
        self.rest_offsets = self._rest_offsets()
        self.collision_limit = (
            SelfCollisionLimit(self.mj_model, cfg.collision) if cfg.avoid_self_collision else None
        )

    # --- robot keypoints -------------------------------------------------------------------------------
    def _add_point_frames(self) -> None:
        self.point_frames: dict[str, str] = {}
        for point, (body, offset) in self.map.points.items():
            local = resolve_offset(self.mj_model, body, offset)
            self.point_frames[point] = self._add_frame(f"kp_{point}", body, local, point)
        # Own frame names: a body may share its name with a joint (T1's "Waist"), which pink cannot resolve.
        feet = self.map.feet
        bodies = {
            "pelvis": self.map.pelvis,
            "torso": self.map.torso,
            "left_foot": feet[0],
            "right_foot": feet[1],
        }
        self.body_frames = {k: self._add_frame(f"body_{k}", b, np.zeros(3), k) for k, b in bodies.items()}

    def _add_frame(self, name: str, body: str, local: np.ndarray, role: str) -> str:
        if not self.model.existBodyName(body):
            raise ValueError(f"{self.robot}: body {body!r} (for {role!r}) not in the model")
        fid = self.model.getFrameId(body, pin.FrameType.BODY)
        parent = self.model.frames[fid]
        placement = parent.placement * pin.SE3(np.eye(3), local)
        self.model.addFrame(pin.Frame(name, parent.parentJoint, fid, placement, pin.FrameType.OP_FRAME))
        return name

    def points_at(self, q: np.ndarray) -> np.ndarray:
        """Robot keypoints [P, 3] (BODY_POINTS order, NaN where the robot has no such point)."""
        pin.framesForwardKinematics(self.model, self.data, q)
        out = np.full((len(BODY_POINTS), 3), np.nan)
        for k, point in enumerate(BODY_POINTS):
            if point in self.point_frames:
                out[k] = self.data.oMf[self.model.getFrameId(self.point_frames[point])].translation
        return out

    def _rest_offsets(self) -> dict[str, np.ndarray]:
        frames = keypoint_frames(self.rest_points)
        pin.framesForwardKinematics(self.model, self.data, self.q_rest)
        offsets = {}
        for body, frame_name in self.body_frames.items():
            link = self.data.oMf[self.model.getFrameId(frame_name)].rotation
            offsets[body] = frames[body].T @ link
        return offsets

    # --- solving ----------------------------------------------------------------------------------------
    def _make_tasks(self, costs: StageCosts, points: list[str]) -> tuple[list[FrameTask], list[FrameTask]]:
        pos = [
            FrameTask(self.point_frames[p], position_cost=costs.position[p], orientation_cost=0.0)
            for p in points
        ]
        ori = [
            FrameTask(self.body_frames[b], position_cost=0.0, orientation_cost=costs.orientation[b])
            for b in ORIENTED_BODIES
        ]
        return pos, ori

    def retarget(
        self,
        motion: HumanMotion,
        progress: Callable[[int], None] | None = None,
    ) -> BodyRetargetResult:
        import time

        human, _ = body_points(motion)
        if motion.num_frames < 1:
            raise RetargetInputError(motion.source, "frames", "no frames")
        scaler = BodyScaler.fit(human, self.rest_points)
        targets = scaler.apply(human)
        points = [
            p
            for k, p in enumerate(BODY_POINTS)
            if p in self.point_frames and np.isfinite(targets[:, k]).all()
        ]
        targets[:, [k for k, p in enumerate(BODY_POINTS) if p not in points]] = np.nan
        rotations = {b: r @ self.rest_offsets[b] for b, r in keypoint_frames(targets).items()}

        cfg = self.config
        contacts = foot_contacts(targets, motion.fps, cfg.contacts) if cfg.lock_feet else {}
        locks = {
            p: FrameTask(self.point_frames[p], position_cost=cfg.lock_cost, orientation_cost=0.0)
            for p in contacts
            if p in points
        }
        stages = [self._make_tasks(cfg.stage1, points), self._make_tasks(cfg.stage2, points)]
        limits: list = [ConfigurationLimit(self.model), VelocityLimit(self.model)]
        if self.collision_limit is not None:
            self.collision_limit.reset()
            limits.append(self.collision_limit)
        point_idx = [BODY_POINTS.index(p) for p in points]
        stage1_collision = (
            self.map.collision_in_stage1 if cfg.collision_in_stage1 is None else cfg.collision_in_stage1
        )
        T = motion.num_frames
        dt = 1.0 / motion.fps
        q = self._initial_q(targets[0], rotations["pelvis"][0])
        configuration = pink.Configuration(self.model, self.data, q, copy_data=False)
        out = np.zeros((T, self.model.nq))
        near = np.zeros(T, dtype=bool)  # frames where the solver had geom pairs within detect distance
        locked: dict[str, np.ndarray] = {}

        t0 = time.perf_counter()
        for t in range(T):
            for pos_tasks, ori_tasks in stages:
                for task, k in zip(pos_tasks, point_idx, strict=True):
                    task.set_target(pin.SE3(np.eye(3), targets[t, k]))
                for task, body in zip(ori_tasks, ORIENTED_BODIES, strict=True):
                    task.set_target(pin.SE3(rotations[body][t], np.zeros(3)))
            active = []
            for p, task in locks.items():
                if p in locked and contacts[p][t]:
                    task.set_target(pin.SE3(np.eye(3), locked[p]))
                    active.append(task)
            if t == 0:
                # Reaching the first pose from the rest pose: steps of at most 0.1 rad (or m), so an arm
                # cannot jump through the trunk between two collision linearisations (T1 did, 3 cm deep),
                # then unbounded steps to converge where the velocity bound slowed the last joints.
                no_vel = [lim for lim in limits if not isinstance(lim, VelocityLimit)]
                schedule = [(1, cfg.first_frame_iterations, 1.0, no_vel)]
                if self.collision_limit is not None:
                    bounded = (1, cfg.first_frame_iterations, 0.1 / self.model.velocityLimit.max(), limits)
                    schedule = [bounded, (1, cfg.first_frame_iterations // 4, 1.0, no_vel)]
            else:
                step = dt / sum(cfg.iterations)
                schedule = [(stage, n, step, limits) for stage, n in enumerate(cfg.iterations)]
            for stage, n, step_dt, step_limits in schedule:
                tasks = stages[stage][0] + stages[stage][1] + (active if stage == 1 else [])
                stage_limits = [
                    lim
                    for lim in step_limits
                    if stage == 1 or stage1_collision or lim is not self.collision_limit
                ]
                for _ in range(n):
                    v = self._solve(configuration, tasks, step_dt, stage_limits)
                    configuration.update(pin.integrate(self.model, configuration.q, v * step_dt))
            out[t] = configuration.q
            near[t] = self.collision_limit is not None and self.collision_limit.rows_last > 0
            self._update_locks(locked, contacts, t)
            if progress is not None:
                progress(t)
        out = self._postprocess(out, motion.fps, near, contacts)
        solve_seconds = time.perf_counter() - t0

        qpos = mujoco_qpos_from_pinocchio(out, has_free_joint=True)
        if cfg.ground_fix:
            qpos, floor_shift = ground_fix(self.mj_model, qpos, self.map.feet)
            targets[..., 2] += floor_shift  # the human's floor moves with the robot's: not an error
        return BodyRetargetResult(qpos, targets, rotations, scaler, solve_seconds, contacts=contacts)

    def _solve(self, configuration, tasks, dt: float, limits: list) -> np.ndarray:
        kwargs = dict(solver="daqp", damping=self.config.damping, safety_break=False)
        try:
            return pink.solve_ik(configuration, tasks, dt, limits=limits, **kwargs)
        except NoSolutionFound:
            # A pair pushed out of its margin while other limits bind can make the QP infeasible for a
            # step; the step then goes without the collision rows (the next one restores the margin).
            rest = [lim for lim in limits if lim is not self.collision_limit]
            return pink.solve_ik(configuration, tasks, dt, limits=rest, **kwargs)

    def _update_locks(self, locked: dict[str, np.ndarray], contacts: dict[str, np.ndarray], t: int) -> None:
        """A point is locked where the robot put it on the first contact frame, released when contact ends."""
        for p, flags in contacts.items():
            if not flags[t]:
                locked.pop(p, None)
            elif p not in locked and p in self.point_frames:
                locked[p] = self.data.oMf[self.model.getFrameId(self.point_frames[p])].translation.copy()

    def _postprocess(
        self, raw: np.ndarray, fps: float, near: np.ndarray, contacts: dict[str, np.ndarray]
    ) -> np.ndarray:
        """Zero-phase low-pass of root and joints, joint velocities under the limit, joints inside their range."""
        cfg = self.config
        q = raw.copy()
        lower, upper = self.model.lowerPositionLimit[7:], self.model.upperPositionLimit[7:]
        if cfg.smooth_cutoff_hz > 0:
            q[:, :3] = zero_phase_lowpass(q[:, :3], fps, cfg.smooth_cutoff_hz)
            q[:, 3:7] = smooth_quaternions(q[:, 3:7], fps, cfg.smooth_cutoff_hz)
            # Clip: the low-pass can overshoot a limit the QP held.
            q[:, 7:] = np.clip(zero_phase_lowpass(q[:, 7:], fps, cfg.smooth_cutoff_hz), lower, upper)
            if self.collision_limit is not None:
                q = self._repair_collisions(q, near, contacts)
        # The velocity pass keeps the joint range (both rate limiters stay inside the input's range).
        repaired = q[:, 7:].copy()
        q[:, 7:] = limit_velocity(np.clip(q[:, 7:], lower, upper), fps, cfg.joint_velocity_limit)
        if cfg.smooth_cutoff_hz > 0 and self.collision_limit is not None:
            # Spreading velocity peaks can move a repaired pair back into contact (T1's feet, 1-3 frames a
            # clip): the frames it moved get one more repair, then the limit again (0 left on the CMU clips).
            moved = near & (np.abs(q[:, 7:] - repaired) > 1e-9).any(axis=1)
            if moved.any():
                q = self._repair_collisions(q, moved, contacts)
                q[:, 7:] = limit_velocity(np.clip(q[:, 7:], lower, upper), fps, cfg.joint_velocity_limit)
        return q

    def _repair_collisions(
        self, q: np.ndarray, near: np.ndarray, contacts: dict[str, np.ndarray]
    ) -> np.ndarray:
        """Smoothing can move a pair the solver kept apart back into contact (H1's elbow and torso, T1's
        crossing feet on CMU 131_01). Each such frame is pushed out by the smallest change: a few QP steps
        that keep the smoothed posture, base pose and planted heel/toe points under the collision limit at
        full gain (planted points weigh most, so a crossing swing foot moves, not the stance foot). Only
        frames where the solver saw a pair within detect distance are checked."""
        assert self.collision_limit is not None
        lim = self.collision_limit
        posture = PostureTask(cost=1.0)
        base = FrameTask(self.body_frames["pelvis"], position_cost=10.0, orientation_cost=10.0)
        data = self.model.createData()
        gain, lim.config.gain = lim.config.gain, 1.0
        try:
            for t in np.flatnonzero(near):
                if lim.min_distance(mujoco_qpos_from_pinocchio(q[t], has_free_joint=True)) >= 0.0:
                    continue
                lim.reset()
                configuration = pink.Configuration(self.model, data, q[t].copy())
                posture.set_target(q[t])
                base.set_target(configuration.get_transform_frame_to_world(self.body_frames["pelvis"]))
                planted = []
                for p, flags in contacts.items():
                    if flags[t] and p in self.point_frames:
                        task = FrameTask(self.point_frames[p], position_cost=100.0, orientation_cost=0.0)
                        task.set_target(configuration.get_transform_frame_to_world(self.point_frames[p]))
                        planted.append(task)
                for k in range(self.config.repair_iterations):
                    tasks = [posture, base, *planted]
                    v = self._solve(configuration, tasks, 1.0, [ConfigurationLimit(self.model), lim])
                    configuration.update(pin.integrate(self.model, configuration.q, v))
                    if k >= 3 and lim.min_distance(mujoco_qpos_from_pinocchio(configuration.q, True)) >= 0.0:
                        break
                q[t] = configuration.q
        finally:
            lim.config.gain = gain
        return q

    def _initial_q(self, target: np.ndarray, pelvis_rotation: np.ndarray) -> np.ndarray:
        q = self.q_rest.copy()
        q[:3] = target[BODY_POINTS.index("pelvis")]
        q[3:7] = pin.Quaternion(pelvis_rotation).coeffs()  # x, y, z, w
        return q
