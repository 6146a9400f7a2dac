"""The deploy runtime: policy.onnx + policy.json driving a `Robot` in a fixed-rate loop.

Dependencies: onnxruntime and numpy only (no torch, no training code, no MuJoCo), so this file and
the modules it imports (schema, robot, observation, safety) run on a robot's computer.

One tick of the loop:

    state  = robot.read()
    obs    = builder.build(state, command, last_action)     # exactly the training observation
    action = onnx(obs)                                      # normalization is inside the graph
    cmd    = safety.command(action, state)                  # the only way to the motors
    robot.write(cmd)
    rate.sleep()                                            # logs jitter and overruns
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from robolearn.sim2real.motion_reference import MotionReference, load_reference
from robolearn.sim2real.observation import ObservationBuilder
from robolearn.sim2real.robot import Clock, JointCommand, Robot, RobotState, WallClock
from robolearn.sim2real.safety import SafetyCfg, SafetyLayer, check_action_scale
from robolearn.sim2real.schema import (
    OnnxModelError,
    PolicyMetadata,
    PolicySpecError,
    check_joints,
    load_metadata,
)


def onnx_session(path: str | Path, threads: int = 1):
    """An onnxruntime CPU session on `threads` intra-op threads, sequential (no inter-op pool).

    Every way the file can fail to load (missing, empty, truncated, not ONNX, an operator this onnxruntime
    lacks) raises one error naming the file: FileNotFoundError or OnnxModelError.
    """
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such ONNX file (export the run: robolearn export <run>)")
    if path.stat().st_size == 0:
        raise OnnxModelError(
            f"{path}: the ONNX file is empty (0 bytes); export the run again (robolearn export <run>)"
        )
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's pybind classes (InvalidProtobuf, Fail, ...) share no base
        reason = " ".join(str(exc).split())
        raise OnnxModelError(
            f"{path}: onnxruntime cannot load this ONNX file ({type(exc).__name__}: {reason}); it may be "
            "truncated or not a policy export: export the run again (robolearn export <run>)"
        ) from None


class OnnxPolicy:
    """policy.onnx on onnxruntime, one thread (the loop owns one core; others are the robot's)."""

    def __init__(self, path: str | Path, meta: PolicyMetadata, threads: int = 1):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no policy.onnx next to policy.json")
        self.session = onnx_session(path, threads)
        inputs = {i.name: i.shape for i in self.session.get_inputs()}
        outputs = {o.name: o.shape for o in self.session.get_outputs()}
        if meta.onnx_input not in inputs or meta.onnx_output not in outputs:
            raise PolicySpecError(
                f"{path}: inputs {list(inputs)} / outputs {list(outputs)} do not include policy.json's "
                f"onnx_input {meta.onnx_input!r} / onnx_output {meta.onnx_output!r}"
            )
        in_dim, out_dim = inputs[meta.onnx_input][-1], outputs[meta.onnx_output][-1]
        if in_dim != meta.obs_dim or out_dim != meta.num_joints:
            raise PolicySpecError(
                f"{path}: the network maps {in_dim} -> {out_dim} but policy.json says obs_dim "
                f"{meta.obs_dim} -> {meta.num_joints} joints"
            )
        self.input, self.output = meta.onnx_input, meta.onnx_output
        self._feed = np.zeros((1, meta.obs_dim), dtype=np.float32)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        self._feed[0] = obs
        return self.session.run([self.output], {self.input: self._feed})[0][0]


@dataclass
class StepTimes:
    obs_ns: int = 0
    infer_ns: int = 0
    safety_ns: int = 0


class Controller:
    """Observation builder + network + safety layer: the policy step, robot-agnostic."""

    def __init__(self, meta: PolicyMetadata, policy: Callable[[np.ndarray], np.ndarray], safety: SafetyLayer,
                 reference: MotionReference | None = None):  # fmt: skip
        self.meta = meta
        self.policy = policy
        self.reference = reference
        self.builder = ObservationBuilder(meta, reference)
        self.safety = safety
        self.action_clip = float(meta.action_clip)
        self.last_action = np.zeros(meta.num_joints, dtype=np.float32)
        self.times = StepTimes()

    def reset(self, state: RobotState | None = None) -> None:
        self.builder.reset()
        self.safety.reset(state)
        self.safety.offset = np.asarray(self.meta.action_offset, dtype=np.float64)
        self.last_action[:] = 0.0

    def preflight(self, state: RobotState, command: np.ndarray) -> None:
        """Build one observation from `state` and forget it: a term the robot cannot feed (no position or
        velocity estimate) raises PolicySpecError here, before any motor moves."""
        self.builder.build(state, command, self.last_action)
        self.builder.reset()

    def step(self, state: RobotState, command: np.ndarray) -> JointCommand:
        t0 = time.perf_counter_ns()
        obs = self.builder.build(state, command, self.last_action)
        if self.reference is not None and self.reference.residual_action:
            # Targets around the reference's next pose, as the tracking task's residual action sets them.
            self.safety.offset = self.reference.next_joint_pos(self.builder.time)
        t1 = time.perf_counter_ns()
        action = self.policy(obs)
        t2 = time.perf_counter_ns()
        cmd = self.safety.command(action, state)
        # The env feeds back the clipped network output (not the safety-shaped target) as last_action.
        if np.isfinite(action).all():
            self.last_action[:] = np.clip(action, -self.action_clip, self.action_clip)
        t3 = time.perf_counter_ns()
        self.times = StepTimes(t1 - t0, t2 - t1, t3 - t2)
        return cmd


@dataclass
class LoopStats:
    ticks: int = 0
    overruns: int = 0
    """Ticks whose work ran past the next deadline (that deadline is then skipped)."""
    jitter_s: list[float] = field(default_factory=list)
    """Lateness of each tick's start against its schedule (s)."""
    work_s: list[float] = field(default_factory=list)
    """Read + policy step + write, per tick (s)."""

    def summary(self) -> dict[str, float]:
        def pct(xs: list[float], p: float) -> float:
            return float(np.percentile(xs, p)) if xs else 0.0

        return {
            "ticks": self.ticks,
            "overruns": self.overruns,
            "jitter_median_ms": 1e3 * (statistics.median(self.jitter_s) if self.jitter_s else 0.0),
            "jitter_p99_ms": 1e3 * pct(self.jitter_s, 99),
            "jitter_max_ms": 1e3 * (max(self.jitter_s) if self.jitter_s else 0.0),
            "work_median_ms": 1e3 * (statistics.median(self.work_s) if self.work_s else 0.0),
            "work_p99_ms": 1e3 * pct(self.work_s, 99),
        }


class RateLimiter:
    """Fixed-rate ticks on a clock. Late ticks count as jitter; a tick that overruns its period
    skips the missed deadlines instead of bursting to catch up (a burst of stale commands helps no robot)."""

    def __init__(self, period: float, clock: Clock):
        self.period = period
        self.clock = clock
        self.stats = LoopStats()
        self._next = clock.now()

    def start(self) -> None:
        self._next = self.clock.now()

    def wait(self) -> None:
        """Sleep to the next tick, then record how late this tick started."""
        self._next += self.period
        now = self.clock.now()
        if now > self._next:
            self.stats.overruns += 1
            missed = int((now - self._next) // self.period) + 1
            self._next += missed * self.period
        self.clock.sleep_until(self._next)
        self.stats.jitter_s.append(max(0.0, self.clock.now() - self._next))
        self.stats.ticks += 1


CommandFn = Callable[[float], np.ndarray]
"""Command source: time since start (s) -> command vector (e.g. a joystick, a schedule)."""


def constant_command(values: list[float] | np.ndarray) -> CommandFn:
    v = np.asarray(values, dtype=np.float32)
    return lambda t: v


class DeployLoop:
    def __init__(self, robot: Robot, controller: Controller, clock: Clock | None = None,
                 command: CommandFn | None = None):  # fmt: skip
        check_joints(controller.meta.joint_names, robot.joint_names)
        self.robot = robot
        self.controller = controller
        self.clock: Clock = clock or WallClock()
        n_cmd = len(controller.meta.commands)
        self.command: CommandFn = command or constant_command(np.zeros(n_cmd))
        self.rate = RateLimiter(controller.meta.control_period, self.clock)
        self.state: RobotState | None = None

    def run(self, duration_s: float, on_tick: Callable[[DeployLoop], bool] | None = None) -> LoopStats:
        """Run for `duration_s` of clock time; `on_tick` may return False to stop early."""
        state = self.robot.read()
        self.controller.reset(state)
        self.rate.start()
        t_start = self.clock.now()
        steps = int(round(duration_s / self.rate.period))
        for _ in range(steps):
            t0 = time.perf_counter()
            state = self.robot.read()
            self.state = state
            cmd = self.controller.step(state, self.command(self.clock.now() - t_start))
            self.robot.write(cmd)
            self.rate.stats.work_s.append(time.perf_counter() - t0)
            if on_tick is not None and on_tick(self) is False:
                break
            self.rate.wait()
        return self.rate.stats

    @property
    def estopped(self) -> bool:
        return self.controller.safety.status.estop


def stand_up(robot: Robot, controller: Controller, clock: Clock, seconds: float,
             goal: np.ndarray | None = None) -> bool:  # fmt: skip
    """Ramp the joint targets from the measured pose to the policy's default pose (or to `goal`, e.g. a
    tracking policy's first reference pose).

    The ramp is expressed as actions and sent through the same safety layer as the policy, so the
    joint-limit, step and torque limits hold here too. Returns False if the e-stop tripped.
    """
    meta, safety = controller.meta, controller.safety
    state = robot.read()
    safety.reset(state)
    start = state.q.copy()
    goal = np.asarray(meta.default_joint_pos if goal is None else goal)
    offset, scale = np.asarray(meta.action_offset), meta.action_scale
    rate = RateLimiter(meta.control_period, clock)
    steps = max(1, int(round(seconds / meta.control_period)))
    for k in range(1, steps + 1):
        state = robot.read()
        target = start + (goal - start) * (k / steps)
        robot.write(safety.command((target - offset) / scale, state))
        if safety.status.estop:
            return False
        rate.wait()
    return True


def make_controller(policy_json: str | Path, robot: Robot, safety: SafetyCfg | None = None,
                    threads: int = 1) -> Controller:  # fmt: skip
    """Load and check policy.json + policy.onnx against a robot, and build the controller."""
    path = Path(policy_json)
    meta = load_metadata(path)
    json_path = path / "policy.json" if path.is_dir() else path
    check_joints(meta.joint_names, robot.joint_names, str(json_path))
    limits = robot.limits()
    check_action_scale(meta, limits, str(json_path))
    policy = OnnxPolicy(json_path.with_name("policy.onnx"), meta, threads)
    reference = load_reference(meta, json_path.parent, str(json_path))
    return Controller(meta, policy, SafetyLayer(meta, limits, safety), reference)
