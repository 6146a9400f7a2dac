"""A simulated robot for sim2sim: plain single-threaded MuJoCo on the FULL menagerie model.

It differs from the training simulation on purpose, the way a real robot would:
- the full model (mesh-accurate inertias, joint friction loss, per-motor torque limits) instead of
  the `_mjx` training variant, driven by torque motors;
- PD computed here at every physics step (like a motor driver), not by MuJoCo servos at the
  policy's rate;
- another integrator and timestep (implicitfast at 2 ms against Euler at 4 ms in training);
- command latency (a write takes effect `latency_s` later) and sensor noise.

It keeps time by the loop's clock: `read` first steps the physics up to `clock.now()`, so the same
robot runs in real time (WallClock) or as fast as possible (VirtualClock). This is the only
sim2real module that imports MuJoCo.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import mujoco
import numpy as np

from robolearn.sim2real.observation import projected_gravity
from robolearn.sim2real.robot import Clock, JointCommand, JointLimits, RobotState, VirtualClock

INTEGRATORS = {
    "euler": mujoco.mjtIntegrator.mjINT_EULER,
    "implicitfast": mujoco.mjtIntegrator.mjINT_IMPLICITFAST,
    "implicit": mujoco.mjtIntegrator.mjINT_IMPLICIT,
    "rk4": mujoco.mjtIntegrator.mjINT_RK4,
}


@dataclass
class SensorNoise:
    """Uniform half-widths added to the raw readings (the training env's noise model)."""

    q: float = 0.0
    dq: float = 0.0
    gyro: float = 0.0
    tilt: float = 0.0
    """Rotation noise on the IMU orientation (rad, about a random axis)."""
    lin_vel: float = 0.0
    """Error of the base linear-velocity estimate (m/s)."""
    pos: float = 0.0
    """Error of the base position estimate (m, per axis)."""

    def scaled(self, k: float) -> SensorNoise:
        return SensorNoise(
            self.q * k, self.dq * k, self.gyro * k, self.tilt * k, self.lin_vel * k, self.pos * k
        )


@dataclass
class MotorModel:
    """Per-joint motor limits (robot joint order) as Isaac Lab's PD actuator models apply them to the PD torque:
    a flat clip at effort_limit, and where saturation_effort > 0 the DC motor's torque-speed curve
    (isaaclab.actuators.DCMotor: the torque available falls linearly from saturation_effort at rest to 0 at
    velocity_limit)."""

    effort_limit: list[float]
    saturation_effort: list[float]
    """0 for joints without a torque-speed curve."""
    velocity_limit: list[float]

    def clip(self, tau: np.ndarray, dq: np.ndarray) -> np.ndarray:
        effort = np.asarray(self.effort_limit)
        sat, vmax = np.asarray(self.saturation_effort), np.asarray(self.velocity_limit)
        dc = sat > 0
        ratio = np.divide(dq, vmax, out=np.zeros_like(dq), where=vmax > 0)
        hi = np.where(dc, np.clip(sat * (1.0 - ratio), 0.0, effort), effort)
        lo = np.where(dc, np.clip(sat * (-1.0 - ratio), -effort, 0.0), -effort)
        return np.clip(tau, lo, hi)


@dataclass
class SimRobotCfg:
    robot: str = "go2"
    model: Literal["full", "training"] = "full"
    """'full': the full menagerie model with torque motors, PD computed here (sim2sim).
    'training': the training scene itself (fast model, MuJoCo PD servos with hold_kp/hold_kd); with
    integrator 'euler', the training timestep and no latency it reproduces the training env, which
    is how the tests check the deploy loop's timing and data flow."""
    timestep: float = 0.002
    integrator: str = "implicitfast"
    latency_s: float = 0.02
    """Delay between `write` and the command reaching the motors."""
    latency_jitter_s: float = 0.0
    """Extra uniform delay per command, in [0, latency_jitter_s] (commands never overtake each other)."""
    push_velocity: float = 0.0
    """Half-width (m/s) of random horizontal base velocity kicks; 0 disables pushes."""
    push_interval_s: tuple[float, float] = (8.0, 12.0)
    noise: SensorNoise = field(default_factory=SensorNoise)
    keyframe: str = "home"
    hold_kp: float = 35.0
    hold_kd: float = 0.5
    """PD gains holding the keyframe pose until the first command lands (and the servos' gains of
    the 'training' model)."""
    base_body: str = "base"
    velocity_limit: float = 30.0
    seed: int = 0
    motor: MotorModel | None = None
    """The policy's own motor limits on top of the model's torque range (an Isaac Lab run's actuators)."""


def servos_to_motors(model: mujoco.MjModel, robot: str) -> None:
    """Turn a full model's position servos into torque motors (this class is then the motor driver), limited by
    each joint's actuator force range. Menagerie's G1 ships position servos (kp 500) where Go2 ships motors."""
    for a in range(model.nu):
        if model.actuator_trntype[a] != mujoco.mjtTrn.mjTRN_JOINT:
            raise ValueError(f"{robot}: actuator {model.actuator(a).name!r} does not drive a joint")
        j = model.actuator_trnid[a, 0]
        limit = model.jnt_actfrcrange[j] if model.jnt_actfrclimited[j] else model.actuator_forcerange[a]
        if not np.abs(limit).max() > 0:
            raise ValueError(f"{robot}: joint {model.joint(j).name!r} has no force range to limit its motor")
        model.actuator_gaintype[a] = mujoco.mjtGain.mjGAIN_FIXED
        model.actuator_gainprm[a] = 0.0
        model.actuator_gainprm[a, 0] = 1.0
        model.actuator_biastype[a] = mujoco.mjtBias.mjBIAS_NONE
        model.actuator_biasprm[a] = 0.0
        model.actuator_ctrlrange[a] = limit
        model.actuator_ctrllimited[a] = 1


class SimulatedRobot:
    """`Robot` on MuJoCo. Arrays follow the model's actuator order (what training used)."""

    def __init__(self, cfg: SimRobotCfg | None = None, clock: Clock | None = None):
        from robolearn.scene import ContactSensorCfg, SceneCfg, build_scene
        from robolearn.sim.mjlog import keep_mujoco_log_out_of_cwd

        keep_mujoco_log_out_of_cwd()

        self.cfg = cfg or SimRobotCfg()
        self.clock: Clock = clock or VirtualClock()
        if self.cfg.integrator not in INTEGRATORS:
            raise ValueError(f"integrator must be one of {list(INTEGRATORS)}, got {self.cfg.integrator!r}")
        if self.cfg.model not in ("full", "training"):
            raise ValueError(f"model must be 'full' or 'training', got {self.cfg.model!r}")
        training = self.cfg.model == "training"
        # Without pd_gains the full model keeps its torque motors, and this class is the motor driver.
        gains = {".*": (self.cfg.hold_kp, self.cfg.hold_kd)} if training else {}
        scene = build_scene(
            SceneCfg(robot=self.cfg.robot, fast_model=training, timestep=self.cfg.timestep, pd_gains=gains,
                     contact_sensors={"base": ContactSensorCfg(bodies=(self.cfg.base_body,))})
        )  # fmt: skip
        self.scene = scene
        self.model = model = scene.model
        model.opt.integrator = INTEGRATORS[self.cfg.integrator]
        self.data = mujoco.MjData(model)
        self.joint_names = list(scene.joint_names)
        self.base_id = model.body(self.cfg.base_body).id
        self._qadr = np.array([model.joint(n).qposadr[0] for n in self.joint_names])
        self._vadr = np.array([model.joint(n).dofadr[0] for n in self.joint_names])
        # Servo actuators (the 'training' model) take position targets and do PD in MuJoCo;
        # torque motors take the torque this class computes.
        self._servo = bool(model.actuator_biastype.any())
        if self._servo and not training:
            servos_to_motors(model, self.cfg.robot)
            self._servo = False
        torque_range = model.actuator_forcerange if self._servo else model.actuator_ctrlrange
        self._tau_max = np.abs(torque_range).max(axis=1)
        self._contact = scene.contact_slices["base"]
        keys = [model.key(k).name for k in range(model.nkey)]
        if self.cfg.keyframe not in keys and not keys:
            raise ValueError(f"{self.cfg.robot}: the model has no keyframe to start from")
        # A full model without the scene's 'home' (menagerie's G1 names its one keyframe 'stand') starts there.
        self._key = keys.index(self.cfg.keyframe) if self.cfg.keyframe in keys else 0
        self.rng = np.random.default_rng(self.cfg.seed)
        self._pending: deque[tuple[float, JointCommand]] = deque()
        self.reset()

    # -- Robot --------------------------------------------------------------------------------
    def limits(self) -> JointLimits:
        rng = np.array([self.model.joint(n).range for n in self.joint_names])
        torque, velocity = self._tau_max.copy(), np.full(len(rng), self.cfg.velocity_limit)
        if self.cfg.motor is not None:
            torque = np.minimum(torque, self.cfg.motor.effort_limit)
            velocity = np.minimum(velocity, self.cfg.motor.velocity_limit)
        return JointLimits(rng[:, 0], rng[:, 1], torque, velocity)

    def read(self) -> RobotState:
        self.advance_to(self.clock.now())
        d, noise = self.data, self.cfg.noise
        n = len(self.joint_names)
        q = d.qpos[self._qadr].copy()
        dq = d.qvel[self._vadr].copy()
        quat = d.qpos[3:7].copy()
        # A free joint's angular velocity is in the body frame: what a trunk-mounted gyro reads.
        gyro = d.qvel[3:6].copy()
        if noise.q:
            q += self.rng.uniform(-noise.q, noise.q, n)
        if noise.dq:
            dq += self.rng.uniform(-noise.dq, noise.dq, n)
        if noise.gyro:
            gyro += self.rng.uniform(-noise.gyro, noise.gyro, 3)
        if noise.tilt:
            axis = self.rng.normal(size=3)
            angle = self.rng.uniform(-noise.tilt, noise.tilt)
            dquat = np.concatenate([[np.cos(angle / 2)], np.sin(angle / 2) * axis / np.linalg.norm(axis)])
            out = np.empty(4)
            mujoco.mju_mulQuat(out, quat, dquat)
            quat = out
        contacts = d.sensordata[self._contact].reshape(-1, 4)[:, 0].copy()
        # The simulated robot's "state estimator": the true base velocity plus the estimate's error.
        lin_vel = self.base_lin_vel_b()
        if noise.lin_vel:
            lin_vel += self.rng.uniform(-noise.lin_vel, noise.lin_vel, 3)
        # ... and its position estimate (a tracking policy's anchor-position term), with the estimate's error.
        pos = d.qpos[0:3].copy()
        if noise.pos:
            pos += self.rng.uniform(-noise.pos, noise.pos, 3)
        return RobotState(
            q=q, dq=dq, quat=quat, gyro=gyro, stamp=self.time, contacts=contacts, lin_vel=lin_vel, pos=pos
        )

    def write(self, cmd: JointCommand) -> None:
        delay = self.cfg.latency_s
        if self.cfg.latency_jitter_s:
            delay += self.rng.uniform(0.0, self.cfg.latency_jitter_s)
        due = self.clock.now() + delay
        if self._pending:
            due = max(due, self._pending[-1][0])  # a link delivers in order
        self._pending.append((due, cmd))

    def close(self) -> None:
        pass

    # -- simulation ------------------------------------------------------------------------------
    @property
    def time(self) -> float:
        return self._t0 + self.data.time

    def reset(self, qpos: np.ndarray | None = None, qvel: np.ndarray | None = None) -> None:
        """Back to the keyframe (or to `qpos`/`qvel`, e.g. a reference motion's first frame); the episode's
        time starts at the clock's now."""
        mujoco.mj_resetDataKeyframe(self.model, self.data, self._key)
        if qpos is not None:
            self.data.qpos[:] = qpos
        if qvel is not None:
            self.data.qvel[:] = qvel
        mujoco.mj_forward(self.model, self.data)
        self._t0 = self.clock.now()
        self._pending.clear()
        self._next_push = self._draw_push_time()
        self.pushes = 0
        n = len(self.joint_names)
        self._cmd = JointCommand(
            q=self.data.qpos[self._qadr].copy(), dq=np.zeros(n), kp=np.full(n, self.cfg.hold_kp),
            kd=np.full(n, self.cfg.hold_kd), tau_ff=np.zeros(n),
        )  # fmt: skip

    def _draw_push_time(self) -> float:
        if not self.cfg.push_velocity:
            return np.inf
        return self.data.time + self.rng.uniform(*self.cfg.push_interval_s)

    def advance_to(self, t: float) -> None:
        """Step physics (PD at every step) until sim time reaches `t`."""
        dt = self.model.opt.timestep
        d = self.data
        while self.time + 0.5 * dt <= t:
            while self._pending and self._pending[0][0] <= self.time + 1e-9:
                self._cmd = self._pending.popleft()[1]
            if d.time >= self._next_push:
                # A shove, as the training env's push event: a random horizontal base velocity change.
                d.qvel[0:2] += self.rng.uniform(-self.cfg.push_velocity, self.cfg.push_velocity, 2)
                self.pushes += 1
                self._next_push = self._draw_push_time()
            c = self._cmd
            if self._servo:
                # MuJoCo clamps to ctrlrange and applies the servo's fixed kp/kd; a zero-stiffness
                # command (e-stop) tracks the current pose, which leaves the servo's damping only.
                d.ctrl[:] = c.q if c.kp.any() else d.qpos[self._qadr]
            else:
                q, dq = d.qpos[self._qadr], d.qvel[self._vadr]
                tau = c.kp * (c.q - q) + c.kd * (c.dq - dq) + c.tau_ff
                if self.cfg.motor is not None:
                    tau = self.cfg.motor.clip(tau, dq)
                d.ctrl[:] = np.clip(tau, -self._tau_max, self._tau_max)
            mujoco.mj_step(self.model, d)

    # -- ground truth for metrics (not available to the controller) ------------------------------
    def base_lin_vel_b(self) -> np.ndarray:
        from robolearn.sim2real.observation import quat_rotate_inverse

        return quat_rotate_inverse(self.data.qpos[3:7], self.data.qvel[0:3])

    def base_ang_vel_b(self) -> np.ndarray:
        return self.data.qvel[3:6].copy()

    def fallen(self, tilt_limit: float = 1.2) -> bool:
        """The training task's failures: trunk touching the ground or tilted past `tilt_limit`."""
        base_contact = bool(self.data.sensordata[self._contact].reshape(-1, 4)[:, 0].any())
        tilt = float(np.arccos(np.clip(-projected_gravity(self.data.qpos[3:7])[2], -1, 1)))
        return base_contact or tilt > tilt_limit or not np.isfinite(self.data.qpos).all()
