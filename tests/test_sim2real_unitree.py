"""Unitree mapping: policy joint order <-> Go2 motor indices, commands and state both ways."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from robolearn.sim2real.robot import JointCommand, RobotState
from robolearn.sim2real.schema import PolicySpecError
from robolearn.sim2real.unitree import (
    GO2_JOINTS,
    GO2_MOTOR_JOINTS,
    NUM_MOTOR_SLOTS,
    POS_STOP,
    LowCmd,
    MotorMap,
    Sdk2Transport,
    UnitreeRobot,
    go2_limits,
)


def test_go2_motor_indices_follow_unitree_sdk2():
    m = MotorMap(GO2_JOINTS)
    idx = dict(zip(GO2_JOINTS, m.motor_of_joint.tolist(), strict=True))
    # unitree_sdk2 go2: FR_0=0, FR_1=1, FR_2=2, FL_0=3, ..., RR_0=6, ..., RL_2=11.
    assert idx["FR_hip_joint"] == 0 and idx["FR_calf_joint"] == 2
    assert idx["FL_hip_joint"] == 3 and idx["FL_thigh_joint"] == 4
    assert idx["RR_hip_joint"] == 6 and idx["RL_calf_joint"] == 11
    assert sorted(idx.values()) == list(range(12))


def test_command_and_state_round_trip():
    m = MotorMap(GO2_JOINTS)
    rng = np.random.default_rng(0)
    cmd = JointCommand(*(rng.normal(size=12) for _ in range(5)))
    msg = m.encode(cmd)
    assert len(msg.motor_cmd) == NUM_MOTOR_SLOTS
    for j, name in enumerate(GO2_JOINTS):
        slot = msg.motor_cmd[GO2_MOTOR_JOINTS.index(name)]
        assert (slot.q, slot.kp, slot.kd, slot.tau) == (cmd.q[j], cmd.kp[j], cmd.kd[j], cmd.tau_ff[j])
    assert all(c.q == POS_STOP for c in msg.motor_cmd[12:])  # unused slots stay idle
    back = m.decode_cmd(msg)
    for a, b in zip((back.q, back.dq, back.kp, back.kd, back.tau_ff),
                    (cmd.q, cmd.dq, cmd.kp, cmd.kd, cmd.tau_ff), strict=True):  # fmt: skip
        np.testing.assert_array_equal(a, b)
    state = RobotState(q=rng.normal(size=12), dq=rng.normal(size=12), quat=np.array([0.9, 0.1, -0.2, 0.3]),
                       gyro=rng.normal(size=3))  # fmt: skip
    low = m.encode_state(state)
    assert (
        low.motor_state[GO2_MOTOR_JOINTS.index("RL_thigh_joint")].q
        == state.q[GO2_JOINTS.index("RL_thigh_joint")]
    )
    got = m.decode(low)
    for a, b in ((got.q, state.q), (got.dq, state.dq), (got.quat, state.quat), (got.gyro, state.gyro)):
        np.testing.assert_array_equal(a, b)


def test_two_orders_meet_through_motor_slots():
    """A writer in policy order and a reader in motor order (as the robot is) agree joint by joint."""
    policy, motors = MotorMap(GO2_JOINTS), MotorMap(GO2_MOTOR_JOINTS)
    q = np.arange(12, dtype=float)
    wire = policy.encode(JointCommand(q, q, q, q, q))
    as_motors = motors.decode_cmd(wire).q
    assert [GO2_JOINTS[int(v)] for v in as_motors] == list(GO2_MOTOR_JOINTS)


class _Loopback:
    def __init__(self):
        self.last = LowCmd()

    def receive(self):
        raise AssertionError("not used")

    def send(self, cmd):
        self.last = cmd

    def close(self):
        pass


def test_adapter_rejects_unknown_missing_or_reordered_joints():
    with pytest.raises(PolicySpecError, match="'FR_knee_joint'"):
        MotorMap([*GO2_JOINTS[:-1], "FR_knee_joint"])
    with pytest.raises(PolicySpecError, match="'RR_calf_joint' of the robot is missing"):
        UnitreeRobot(_Loopback(), GO2_JOINTS[:-1])
    swapped = list(GO2_JOINTS)
    swapped[1], swapped[2] = swapped[2], swapped[1]
    with pytest.raises(PolicySpecError, match="'FL_calf_joint' is listed at index 1"):
        UnitreeRobot(_Loopback(), swapped)
    robot = UnitreeRobot(_Loopback(), GO2_JOINTS)
    lim = robot.limits()
    assert lim.torque[2] == 45.43 and lim.lower[7] == -0.5236  # FL calf, RL thigh


def test_go2_limits_match_the_menagerie_model():
    from robolearn.sim2real.sim_robot import SimulatedRobot

    sim = SimulatedRobot()
    a, b = go2_limits(sim.joint_names), sim.limits()
    np.testing.assert_allclose(a.lower, b.lower)
    np.testing.assert_allclose(a.upper, b.upper)
    np.testing.assert_allclose(a.torque, b.torque)
    assert sim.joint_names == list(GO2_JOINTS)


def test_sdk_transport_is_an_optional_import(monkeypatch):
    monkeypatch.setitem(sys.modules, "unitree_sdk2py", None)  # as if not installed
    with pytest.raises(RuntimeError, match="needs unitree_sdk2py"):
        Sdk2Transport("eth0")


def test_a_frozen_lowstate_trips_the_estop():
    """A lost DDS link shows as LowState.tick no longer advancing: the runtime must stop the robot."""
    from test_sim2real_safety import go2_meta

    from robolearn.sim2real.deploy import Controller, DeployLoop
    from robolearn.sim2real.robot import VirtualClock
    from robolearn.sim2real.safety import SafetyLayer
    from robolearn.sim2real.sim_robot import SimRobotCfg, SimulatedRobot
    from robolearn.sim2real.unitree import SimTransport

    clock = VirtualClock()
    transport = SimTransport(SimulatedRobot(SimRobotCfg(), clock))
    robot = UnitreeRobot(transport, GO2_JOINTS, stale_reads=3)
    meta = go2_meta()
    controller = Controller(meta, lambda obs: np.zeros(12), SafetyLayer(meta, robot.limits()))
    live = transport.receive

    def receive():
        msg = live()
        if clock.now() >= 0.5:
            msg.tick = 123  # the link froze at t = 0.5 s
        return msg

    transport.receive = receive  # type: ignore[method-assign]
    kps = []
    DeployLoop(robot, controller, clock).run(
        1.0, lambda lp: kps.append(transport.map.decode_cmd(robot._cmd).kp[0]) is None
    )
    assert controller.safety.status.estop and "stale" in controller.safety.status.reason
    first_damped = kps.index(0.0)
    assert first_damped == 25 + 3  # the frozen tick first read at tick 25; its third repeat stops the robot
    assert all(k == 0.0 for k in kps[first_damped:])


def test_gamepad_maps_sticks_to_the_trained_command_ranges():
    from robolearn.sim2real.unitree import KEY_BITS, Gamepad, GamepadCommand

    pad = GamepadCommand([(-1.0, 1.5), (-0.5, 0.5), (-1.0, 1.0)], deadzone=0.1)
    np.testing.assert_allclose(pad.command(Gamepad(ly=1.0)), [1.5, 0, 0])  # full forward: the range's top
    np.testing.assert_allclose(pad.command(Gamepad(ly=-1.0, lx=1.0)), [-1.0, -0.5, 0])  # back, stick right
    np.testing.assert_allclose(pad.command(Gamepad(rx=-1.0)), [0, 0, 1.0])  # stick left: turn left
    np.testing.assert_allclose(pad.command(Gamepad(ly=0.05, lx=-0.09)), [0, 0, 0])  # inside the deadzone
    np.testing.assert_allclose(pad.command(Gamepad(ly=0.55)), [0.75, 0, 0])  # halfway past the deadzone
    np.testing.assert_allclose(pad.command(None), [0, 0, 0])  # no remote: stand
    keys = 1 << KEY_BITS["L2"] | 1 << KEY_BITS["B"]
    assert pad.estop(Gamepad(keys=keys)) and not pad.estop(Gamepad(keys=1 << KEY_BITS["L2"]))
    assert not pad.estop(None)
