"""The safety layer holds under adversarial policy outputs and bad robot states."""

from __future__ import annotations

import json

import numpy as np
import pytest

from robolearn.sim2real.deploy import Controller, DeployLoop, constant_command
from robolearn.sim2real.robot import JointCommand, RobotState, VirtualClock
from robolearn.sim2real.safety import SafetyCfg, SafetyLayer
from robolearn.sim2real.schema import EXPORT_VERSION, PolicyMetadata
from robolearn.sim2real.sim_robot import SimRobotCfg, SimulatedRobot
from robolearn.sim2real.unitree import GO2_JOINTS, go2_limits

DEFAULT = np.array([0.0, 0.9, -1.8] * 4)
KP, KD = 35.0, 0.5


def go2_meta() -> PolicyMetadata:
    n = len(GO2_JOINTS)
    terms = [{"name": a, "size": b, "scale": c} for a, b, c in [
        ("base_ang_vel", 3, 0.25), ("projected_gravity", 3, 1.0), ("velocity_command", 3, 1.0),
        ("joint_pos", 12, 1.0), ("joint_vel", 12, 0.05), ("last_action", 12, 1.0)]]  # fmt: skip
    return PolicyMetadata.from_json(json.dumps({
        "version": EXPORT_VERSION, "task": "Go2-Velocity-Flat", "robot": "go2", "joint_names": list(GO2_JOINTS),
        "default_joint_pos": DEFAULT.tolist(), "action_scale": 0.25, "action_offset": DEFAULT.tolist(),
        "action_clip": 100.0, "kp": [KP] * n, "kd": [KD] * n, "control_period": 0.02, "sim_dt": 0.004,
        "obs_dim": 45, "observation_terms": terms, "history_length": 1,
        "commands": [{"name": k, "range": [-1, 1]} for k in ("lin_vel_x", "lin_vel_y", "ang_vel_z")],
        "model_file": "", "model_file_sha256": "", "scene_xml_sha256": "",
    }))  # fmt: skip


def standing(q: np.ndarray | None = None, dq: np.ndarray | None = None, quat=(1.0, 0, 0, 0)) -> RobotState:
    return RobotState(q=DEFAULT.copy() if q is None else q, dq=np.zeros(12) if dq is None else dq,
                      quat=np.array(quat, dtype=float), gyro=np.zeros(3))  # fmt: skip


def layer(**cfg) -> SafetyLayer:
    s = SafetyLayer(go2_meta(), go2_limits(GO2_JOINTS), SafetyCfg(**cfg))
    s.reset(standing())
    return s


def assert_within_limits(cmd: JointCommand, state: RobotState, s: SafetyLayer, prev: np.ndarray) -> None:
    assert np.isfinite(cmd.q).all() and np.isfinite(cmd.kp).all() and np.isfinite(cmd.kd).all()
    assert (cmd.q >= s.lower - 1e-12).all() and (cmd.q <= s.upper + 1e-12).all()
    assert (np.abs(cmd.q - prev) <= s.cfg.max_target_step + 1e-12).all()
    tau = cmd.kp * (cmd.q - state.q) - cmd.kd * state.dq
    assert (np.abs(tau) <= s.tau_max + 1e-9).all()


@pytest.mark.parametrize("value", [1e6, -1e6, 1e300, np.inf])
def test_huge_actions_are_clamped(value):
    s = layer()
    state = standing()
    prev = s.prev_target.copy()
    action = np.full(12, value)
    action[::2] *= -1
    if np.isinf(value):
        cmd = s.command(action, state)
        assert s.status.estop and "non-finite policy output" in s.status.reason
        assert (cmd.kp == 0).all() and (cmd.kd > 0).all()
        return
    cmd = s.command(action, state)
    assert not s.status.estop and s.status.clipped == 12
    assert_within_limits(cmd, state, s, prev)


def test_nan_action_latches_estop_the_policy_cannot_clear():
    s = layer()
    action = np.zeros(12)
    action[4] = np.nan
    cmd = s.command(action, standing())
    assert s.status.estop and (cmd.kp == 0).all()
    for _ in range(3):  # good outputs afterwards do not re-arm the motors
        cmd = s.command(np.zeros(12), standing())
        assert s.status.estop and (cmd.kp == 0).all() and (cmd.kd == s.cfg.estop_kd).all()
    assert s.estops == 1
    s.reset(standing())  # only an operator reset does
    assert not s.status.estop and (s.command(np.zeros(12), standing()).kp == KP).all()


def test_bad_states_trip_the_estop():
    tilt = 1.3  # rad about x, past the 1.0 limit
    cases = {
        "non-finite robot state": standing(q=np.where(np.arange(12) == 2, np.nan, DEFAULT)),
        "speed": standing(dq=np.where(np.arange(12) == 7, 80.0, 0.0)),
        "tilt": standing(quat=(np.cos(tilt / 2), np.sin(tilt / 2), 0, 0)),
    }
    for reason, state in cases.items():
        s = layer()
        cmd = s.command(np.zeros(12), state)
        assert s.status.estop and reason in s.status.reason, (reason, s.status.reason)
        assert (cmd.kp == 0).all()


def test_step_limit_ramps_and_torque_guard_binds():
    s = layer(max_target_step=0.1)
    state = standing()
    target = [s.prev_target.copy()]
    for _ in range(5):
        target.append(s.command(np.full(12, 2.0), state).q)  # wants +0.5 rad on every joint
    steps = np.diff(np.array(target), axis=0)
    # The calf joints sit near their upper stop; others ramp 0.1 rad per tick until the torque guard binds:
    # with q fixed, kp * (t - q) <= 23.7 N m caps hip/thigh targets at q + 0.677 rad.
    assert np.allclose(steps[0, [0, 1]], 0.1)
    assert (np.array(target)[:, 0] <= DEFAULT[0] + 23.7 / KP + 1e-9).all()
    assert (np.array(target)[:, 2] <= s.upper[2] + 1e-12).all()


class AdversarialPolicy:
    """Random huge outputs with NaN bursts, as a broken network might emit."""

    def __init__(self, nan_at: int):
        self.rng = np.random.default_rng(0)
        self.t = 0
        self.nan_at = nan_at

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        self.t += 1
        a = self.rng.choice([-1e4, 1e4, 0.0], size=12) * self.rng.random(12)
        if self.t == self.nan_at:
            a[3] = np.nan
        return a


def test_adversarial_policy_on_the_simulated_robot_never_exceeds_limits():
    clock = VirtualClock()
    robot = SimulatedRobot(SimRobotCfg(latency_s=0.0), clock)
    meta = go2_meta()
    controller = Controller(meta, AdversarialPolicy(nan_at=40), SafetyLayer(meta, robot.limits()))
    written: list[tuple[JointCommand, RobotState, np.ndarray]] = []
    original_write = robot.write

    def spy(cmd: JointCommand) -> None:
        prev = controller.safety.prev_target
        written.append((cmd, loop.state, prev.copy() if prev is not None else None))
        original_write(cmd)

    robot.write = spy  # type: ignore[method-assign]
    loop = DeployLoop(robot, controller, clock, constant_command([0.0, 0.0, 0.0]))
    stats = loop.run(1.0)
    assert stats.ticks == 50 and len(written) == 50
    s = controller.safety
    estop_tick = next(i for i, (c, _, _) in enumerate(written) if (c.kp == 0).all())
    assert estop_tick == 39 and "non-finite policy output" in s.status.reason
    prev = np.clip(written[0][1].q, s.lower, s.upper)
    for cmd, state, _ in written[:estop_tick]:
        assert_within_limits(cmd, state, s, prev)
        prev = cmd.q
    assert all((c.kp == 0).all() for c, _, _ in written[estop_tick:])
    assert np.isfinite(robot.data.qpos).all()


def test_rate_limiter_logs_jitter_and_skips_missed_deadlines():
    from robolearn.sim2real.deploy import RateLimiter

    clock = VirtualClock()
    rate = RateLimiter(0.02, clock)
    rate.start()
    starts = []
    for tick in range(10):
        starts.append(clock.now())
        clock.advance(0.045 if tick == 3 else 0.005)  # tick 3's work takes 2.25 periods
        rate.wait()
    assert rate.stats.ticks == 10 and rate.stats.overruns == 1
    # Tick 3 started at 0.06 and ran to 0.105: deadlines 0.08 and 0.10 are skipped, not burst through.
    assert starts[4] == pytest.approx(0.12) and starts[5] == pytest.approx(0.14)
    assert max(rate.stats.jitter_s) == pytest.approx(0.0)


def test_wall_clock_rate_is_kept():
    from robolearn.sim2real.deploy import RateLimiter
    from robolearn.sim2real.robot import WallClock

    clock = WallClock()
    rate = RateLimiter(0.01, clock)
    rate.start()
    for _ in range(5):
        rate.wait()
    # It sleeps: five ticks take at least five periods (lateness is logged, not asserted).
    assert clock.now() >= 0.05 and len(rate.stats.jitter_s) == 5
