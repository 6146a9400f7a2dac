"""Unitree low-level adapter: policy joints <-> LowCmd/LowState motor slots.

unitree_sdk2 addresses a Go2's motors by index, legs in the order FR, FL, RR, RL and, within a
leg, hip, thigh, calf (FR_0 = 0 ... RL_2 = 11), in a 20-slot message. The policy speaks joint
names in the training model's order (menagerie: FL, FR, RL, RR). `MotorMap` turns one into the
other from the names in policy.json; `UnitreeRobot` is a `Robot` on top of any transport that moves
`LowCmd`/`LowState` (plain dataclasses mirroring the SDK's IDL fields):

- `SimTransport`: the simulated robot behind the same messages (tests, sim2sim of the adapter);
- `Sdk2Transport`: DDS through `unitree_sdk2py`, imported only when used.

numpy only (plus the SDK on the robot).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from robolearn.sim2real.robot import JointCommand, JointLimits, RobotState
from robolearn.sim2real.schema import PolicySpecError, check_joints

NUM_MOTOR_SLOTS = 20
"""Motor slots in a Go2 LowCmd/LowState (12 used)."""
POS_STOP, VEL_STOP = 2.146e9, 16000.0
"""The SDK's 'no position / no velocity target' sentinels for idle slots."""
SERVO_MODE = 0x01

GO2_MOTOR_JOINTS: tuple[str, ...] = tuple(
    f"{leg}_{part}_joint" for leg in ("FR", "FL", "RR", "RL") for part in ("hip", "thigh", "calf")
)
"""Joint of each Go2 motor index (unitree_sdk2: FR_0..2, FL_0..2, RR_0..2, RL_0..2)."""
GO2_JOINTS: tuple[str, ...] = tuple(
    f"{leg}_{part}_joint" for leg in ("FL", "FR", "RL", "RR") for part in ("hip", "thigh", "calf")
)
"""The training model's actuator order (menagerie go2 / go2_mjx), which policies follow."""

# Joint ranges and peak torques of the Go2 (menagerie go2.xml, from Unitree's URDF).
_GO2_RANGE = {"hip": (-1.0472, 1.0472), "calf": (-2.7227, -0.83776)}
_GO2_THIGH = {"F": (-1.5708, 3.4907), "R": (-0.5236, 4.5379)}
_GO2_TORQUE = {"hip": 23.7, "thigh": 23.7, "calf": 45.43}


def go2_limits(joints: Sequence[str]) -> JointLimits:
    lo, hi, tau = [], [], []
    for name in joints:
        leg, part, _ = name.split("_")
        r = _GO2_THIGH[leg[0]] if part == "thigh" else _GO2_RANGE[part]
        lo.append(r[0])
        hi.append(r[1])
        tau.append(_GO2_TORQUE[part])
    return JointLimits(np.array(lo), np.array(hi), np.array(tau), np.full(len(joints), 30.0))


# -- messages (field names as in unitree_go::msg::dds_) -------------------------------------------
@dataclass
class MotorCmd:
    mode: int = SERVO_MODE
    q: float = POS_STOP
    dq: float = VEL_STOP
    kp: float = 0.0
    kd: float = 0.0
    tau: float = 0.0


@dataclass
class MotorState:
    q: float = 0.0
    dq: float = 0.0
    tau_est: float = 0.0


@dataclass
class ImuState:
    quaternion: list[float] = field(default_factory=lambda: [1.0, 0.0, 0.0, 0.0])
    """(w, x, y, z)."""
    gyroscope: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    accelerometer: list[float] = field(default_factory=lambda: [0.0, 0.0, 9.81])


@dataclass
class LowCmd:
    motor_cmd: list[MotorCmd] = field(default_factory=lambda: [MotorCmd() for _ in range(NUM_MOTOR_SLOTS)])


@dataclass
class LowState:
    motor_state: list[MotorState] = field(
        default_factory=lambda: [MotorState() for _ in range(NUM_MOTOR_SLOTS)]
    )
    imu_state: ImuState = field(default_factory=ImuState)
    foot_force: list[float] = field(default_factory=lambda: [0.0] * 4)
    """Foot sensors, FR, FL, RR, RL."""
    tick: int = 0
    lin_vel: list[float] | None = None
    """Base linear velocity estimate (base frame). Not a field of the SDK's LowState: the robot in
    low-level mode publishes no velocity estimate, so hardware gives None and only the simulated
    robot fills it. A policy observing base_lin_vel then fails at its first reading, by name."""
    pos: list[float] | None = None
    """Base position estimate (odometry frame), likewise not on the wire: only the simulated robot fills it."""


KEY_BITS = {name: bit for bit, name in enumerate(
    ("R1", "L1", "start", "select", "R2", "L2", "F1", "F2", "A", "B", "X", "Y", "up", "right", "down", "left"))}  # fmt: skip
"""Bits of the remote's `keys` word (unitree_go WirelessController_)."""


@dataclass
class Gamepad:
    """The Unitree remote: sticks in [-1, 1] (ly > 0 pushed forward, lx > 0 pushed right) and key bits."""

    lx: float = 0.0
    ly: float = 0.0
    rx: float = 0.0
    ry: float = 0.0
    keys: int = 0

    def pressed(self, *names: str) -> bool:
        return all(self.keys >> KEY_BITS[n] & 1 for n in names)


@dataclass
class GamepadCommand:
    """Velocity commands from the remote, scaled to the ranges the policy was trained on: left stick
    forward/left -> (vx, vy), right stick left -> positive yaw rate. Holding `estop_keys` together is the
    operator e-stop."""

    ranges: Sequence[tuple[float, float]]
    deadzone: float = 0.08
    estop_keys: tuple[str, ...] = ("L2", "B")

    def command(self, pad: Gamepad | None) -> np.ndarray:
        if pad is None:
            return np.zeros(len(self.ranges), dtype=np.float32)
        axes = [pad.ly, -pad.lx, -pad.rx][: len(self.ranges)]
        out = np.zeros(len(self.ranges), dtype=np.float32)
        for i, (a, (lo, hi)) in enumerate(zip(axes, self.ranges, strict=False)):
            a = float(np.clip(a, -1.0, 1.0))
            if abs(a) < self.deadzone:
                continue
            # Rescale past the deadzone so the command starts at 0 and reaches the range's end.
            a = (abs(a) - self.deadzone) / (1.0 - self.deadzone) * np.sign(a)
            out[i] = hi * a if a > 0 else -lo * a
        return out

    def estop(self, pad: Gamepad | None) -> bool:
        return pad is not None and pad.pressed(*self.estop_keys)


class MotorMap:
    """Joint order (policy) <-> motor index (wire), built from joint names."""

    def __init__(self, joint_names: Sequence[str], motor_joints: Sequence[str] = GO2_MOTOR_JOINTS):
        unknown = [n for n in joint_names if n not in motor_joints]
        if unknown:
            raise PolicySpecError(
                f"joint {unknown[0]!r} has no Unitree motor (motors drive: {', '.join(motor_joints)})"
            )
        self.joint_names = list(joint_names)
        self.motor_of_joint = np.array([list(motor_joints).index(n) for n in joint_names])
        """motor_of_joint[j] = motor index of policy joint j."""

    def encode(self, cmd: JointCommand, out: LowCmd | None = None) -> LowCmd:
        msg = out or LowCmd()
        for j, m in enumerate(self.motor_of_joint):
            mc = msg.motor_cmd[m]
            mc.mode = SERVO_MODE
            mc.q, mc.dq = float(cmd.q[j]), float(cmd.dq[j])
            mc.kp, mc.kd, mc.tau = float(cmd.kp[j]), float(cmd.kd[j]), float(cmd.tau_ff[j])
        return msg

    def decode_cmd(self, msg: LowCmd) -> JointCommand:
        """A LowCmd back in joint order (what a motor driver does with it; used by SimTransport)."""
        m = [msg.motor_cmd[i] for i in self.motor_of_joint]
        return JointCommand(
            q=np.array([c.q for c in m]), dq=np.array([c.dq for c in m]), kp=np.array([c.kp for c in m]),
            kd=np.array([c.kd for c in m]), tau_ff=np.array([c.tau for c in m]),
        )  # fmt: skip

    def decode(self, msg: LowState, stamp: float = 0.0) -> RobotState:
        ms = msg.motor_state
        return RobotState(
            q=np.array([ms[i].q for i in self.motor_of_joint]),
            dq=np.array([ms[i].dq for i in self.motor_of_joint]),
            quat=np.asarray(msg.imu_state.quaternion, dtype=np.float64),
            gyro=np.asarray(msg.imu_state.gyroscope, dtype=np.float64),
            stamp=stamp,
            contacts=np.asarray(msg.foot_force, dtype=np.float64),
            lin_vel=None if msg.lin_vel is None else np.asarray(msg.lin_vel, dtype=np.float64),
            pos=None if msg.pos is None else np.asarray(msg.pos, dtype=np.float64),
        )

    def encode_state(self, state: RobotState, out: LowState | None = None) -> LowState:
        """Robot state as the robot would publish it (used by SimTransport)."""
        msg = out or LowState()
        for j, m in enumerate(self.motor_of_joint):
            msg.motor_state[m].q, msg.motor_state[m].dq = float(state.q[j]), float(state.dq[j])
        msg.imu_state.quaternion = [float(x) for x in state.quat]
        msg.imu_state.gyroscope = [float(x) for x in state.gyro]
        msg.lin_vel = None if state.lin_vel is None else [float(x) for x in state.lin_vel]
        msg.pos = None if state.pos is None else [float(x) for x in state.pos]
        return msg


class Transport(Protocol):
    def receive(self) -> LowState: ...

    def send(self, cmd: LowCmd) -> None: ...

    def close(self) -> None: ...


class UnitreeRobot:
    """`Robot` over a Unitree low-level transport; joints are the policy's, in its order."""

    def __init__(self, transport: Transport, joint_names: Sequence[str], robot_joints: Sequence[str] = GO2_JOINTS,
                 motor_joints: Sequence[str] = GO2_MOTOR_JOINTS, where: str = "policy.json",
                 stale_reads: int = 5, limits: Callable[[Sequence[str]], JointLimits] = go2_limits,
                 new_cmd: Callable[[], LowCmd] = LowCmd):  # fmt: skip
        """`limits`, `new_cmd` and the joint lists are the robot's (Go2 by default; unitree_g1.py has the G1's)."""
        check_joints(joint_names, robot_joints, where)
        self.joint_names = list(joint_names)
        self.map = MotorMap(joint_names, motor_joints)
        self.transport = transport
        self._limits = limits
        self._cmd = new_cmd()
        self.stale_reads = stale_reads
        self._last_tick: int | None = None
        self._same_tick = 0

    def limits(self) -> JointLimits:
        return self._limits(self.joint_names)

    def read(self) -> RobotState:
        msg = self.transport.receive()
        # LowState.tick advances at the robot's 500 Hz; the same tick over several 50 Hz reads means
        # the link is down and the state is old: flag it so the safety layer stops the robot.
        self._same_tick = self._same_tick + 1 if msg.tick == self._last_tick else 0
        self._last_tick = msg.tick
        state = self.map.decode(msg)
        state.fresh = self._same_tick < self.stale_reads
        return state

    def write(self, cmd: JointCommand) -> None:
        self.transport.send(self.map.encode(cmd, self._cmd))

    def close(self) -> None:
        self.transport.close()


class SimTransport:
    """The simulated robot behind LowCmd/LowState: the adapter's mapping runs end to end in tests."""

    def __init__(self, sim: Any, motor_joints: Sequence[str] = GO2_MOTOR_JOINTS,
                 new_state: Callable[[], LowState] = LowState):  # fmt: skip
        self.sim = sim
        self.new_state = new_state
        # The sim's own joint order (its MJCF actuators) to motor slots, from names alone.
        self.map = MotorMap(sim.joint_names, motor_joints)
        self.sent = 0

    def receive(self) -> LowState:
        msg = self.map.encode_state(self.sim.read(), self.new_state())
        msg.tick = int(round(self.sim.time * 1000))  # ms, like the robot's counter
        return msg

    def send(self, cmd: LowCmd) -> None:
        self.sent += 1
        self.sim.write(self.map.decode_cmd(cmd))

    def close(self) -> None:
        self.sim.close()


class Sdk2Transport:
    """DDS through unitree_sdk2py (rt/lowcmd, rt/lowstate). The robot must be in low-level mode
    (sport mode released in the app or with the SDK's MotionSwitcherClient) before commands are sent."""

    def __init__(self, interface: str, domain: int = 0, timeout_s: float = 2.0):
        try:
            from unitree_sdk2py.core.channel import (
                ChannelFactoryInitialize,
                ChannelPublisher,
                ChannelSubscriber,
            )
            from unitree_sdk2py.idl.default import unitree_go_msg_dds__LowCmd_
            from unitree_sdk2py.idl.unitree_go.msg.dds_ import LowCmd_, LowState_, WirelessController_
            from unitree_sdk2py.utils.crc import CRC
        except ImportError as exc:
            raise RuntimeError(
                "the Unitree transport needs unitree_sdk2py (pip install unitree_sdk2py, see "
                "github.com/unitreerobotics/unitree_sdk2_python)"
            ) from exc
        ChannelFactoryInitialize(domain, interface)
        self._crc = CRC()
        self._msg = unitree_go_msg_dds__LowCmd_()
        self._msg.head[0], self._msg.head[1] = 0xFE, 0xEF
        self._msg.level_flag, self._msg.gpio = 0xFF, 0
        for mc in self._msg.motor_cmd:
            mc.mode, mc.q, mc.dq, mc.kp, mc.kd, mc.tau = SERVO_MODE, POS_STOP, VEL_STOP, 0.0, 0.0, 0.0
        self._pub = ChannelPublisher("rt/lowcmd", LowCmd_)
        self._pub.Init()
        self._latest: Any = None
        self._fresh = threading.Event()
        self._sub = ChannelSubscriber("rt/lowstate", LowState_)
        self._sub.Init(self._on_state, 10)
        self._pad: Gamepad | None = None
        self._pad_sub = ChannelSubscriber("rt/wirelesscontroller", WirelessController_)
        self._pad_sub.Init(self._on_pad, 10)
        if not self._fresh.wait(timeout_s):
            raise RuntimeError(f"no rt/lowstate from the robot on {interface!r} within {timeout_s} s")

    def _on_state(self, msg: Any) -> None:
        self._latest = msg
        self._fresh.set()

    def _on_pad(self, msg: Any) -> None:
        self._pad = Gamepad(msg.lx, msg.ly, msg.rx, msg.ry, int(msg.keys))

    def gamepad(self) -> Gamepad | None:
        """The remote's latest state (None until it has published)."""
        return self._pad

    def receive(self) -> LowState:
        m = self._latest
        imu = m.imu_state
        return LowState(
            motor_state=[MotorState(s.q, s.dq, s.tau_est) for s in m.motor_state[:NUM_MOTOR_SLOTS]],
            imu_state=ImuState(list(imu.quaternion), list(imu.gyroscope), list(imu.accelerometer)),
            foot_force=[float(f) for f in m.foot_force], tick=int(m.tick),
        )  # fmt: skip

    def send(self, cmd: LowCmd) -> None:
        for src, dst in zip(cmd.motor_cmd, self._msg.motor_cmd, strict=False):
            dst.mode, dst.q, dst.dq = src.mode, src.q, src.dq
            dst.kp, dst.kd, dst.tau = src.kp, src.kd, src.tau
        self._msg.crc = self._crc.Crc(self._msg)
        self._pub.Write(self._msg)

    def close(self) -> None:
        # Leave the motors damped, not stiff at the last target, when the runtime exits.
        for mc in self._msg.motor_cmd:
            mc.q, mc.dq, mc.kp, mc.kd, mc.tau = POS_STOP, VEL_STOP, 0.0, 1.0, 0.0
        self._msg.crc = self._crc.Crc(self._msg)
        self._pub.Write(self._msg)
