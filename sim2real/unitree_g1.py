"""Unitree G1 (29 DoF) low-level adapter: the same `UnitreeRobot` and safety layer as the Go2, on the G1's wire.

The G1 speaks unitree_hg LowCmd/LowState: 35 motor slots (29 used), motors indexed legs (left then right: hip
pitch, roll, yaw, knee, ankle pitch, roll), waist (yaw, roll, pitch), arms (left then right: shoulder pitch,
roll, yaw, elbow, wrist roll, pitch, yaw), which is also menagerie's g1.xml joint order, so policies trained
on it map one to one. Ankles are commanded joint by joint (mode_pr 0: pitch/roll), and every command echoes
the robot's `mode_machine`. The remote arrives inside LowState (`wireless_remote`, Unitree's 40-byte rocker
struct), not on its own topic as on the Go2. The IMU of LowState is the pelvis's: the policies' base body.

numpy only (plus unitree_sdk2py on the robot, imported when the transport is made).
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from robolearn.sim2real.robot import JointLimits
from robolearn.sim2real.unitree import (
    POS_STOP,
    SERVO_MODE,
    VEL_STOP,
    Gamepad,
    ImuState,
    LowCmd,
    LowState,
    MotorCmd,
    MotorState,
)

G1_NUM_MOTOR_SLOTS = 35
"""Motor slots in a unitree_hg LowCmd/LowState (29 used on the 29-DoF G1)."""
MODE_PR = 0
"""Ankles commanded as pitch and roll joints (the policy's joints), not as the A/B motor pair."""

# name: (lower rad, upper rad, peak torque N m), in motor index order (menagerie g1.xml, from Unitree's URDF).
_G1 = {
    "left_hip_pitch_joint": (-2.5307, 2.8798, 88.0), "left_hip_roll_joint": (-0.5236, 2.9671, 139.0),
    "left_hip_yaw_joint": (-2.7576, 2.7576, 88.0), "left_knee_joint": (-0.0873, 2.8798, 139.0),
    "left_ankle_pitch_joint": (-0.8727, 0.5236, 50.0), "left_ankle_roll_joint": (-0.2618, 0.2618, 50.0),
    "right_hip_pitch_joint": (-2.5307, 2.8798, 88.0), "right_hip_roll_joint": (-2.9671, 0.5236, 139.0),
    "right_hip_yaw_joint": (-2.7576, 2.7576, 88.0), "right_knee_joint": (-0.0873, 2.8798, 139.0),
    "right_ankle_pitch_joint": (-0.8727, 0.5236, 50.0), "right_ankle_roll_joint": (-0.2618, 0.2618, 50.0),
    "waist_yaw_joint": (-2.618, 2.618, 88.0), "waist_roll_joint": (-0.52, 0.52, 50.0),
    "waist_pitch_joint": (-0.52, 0.52, 50.0),
    "left_shoulder_pitch_joint": (-3.0892, 2.6704, 25.0), "left_shoulder_roll_joint": (-1.5882, 2.2515, 25.0),
    "left_shoulder_yaw_joint": (-2.618, 2.618, 25.0), "left_elbow_joint": (-1.0472, 2.0944, 25.0),
    "left_wrist_roll_joint": (-1.9722, 1.9722, 25.0), "left_wrist_pitch_joint": (-1.6144, 1.6144, 5.0),
    "left_wrist_yaw_joint": (-1.6144, 1.6144, 5.0),
    "right_shoulder_pitch_joint": (-3.0892, 2.6704, 25.0), "right_shoulder_roll_joint": (-2.2515, 1.5882, 25.0),
    "right_shoulder_yaw_joint": (-2.618, 2.618, 25.0), "right_elbow_joint": (-1.0472, 2.0944, 25.0),
    "right_wrist_roll_joint": (-1.9722, 1.9722, 25.0), "right_wrist_pitch_joint": (-1.6144, 1.6144, 5.0),
    "right_wrist_yaw_joint": (-1.6144, 1.6144, 5.0),
}  # fmt: skip
G1_MOTOR_JOINTS: tuple[str, ...] = tuple(_G1)
"""Joint of each G1 motor index (unitree_sdk2 G1JointIndex 0..28)."""
G1_JOINTS = G1_MOTOR_JOINTS
"""The training model's actuator order (menagerie g1 / g1_mjx): the motor order itself."""


def g1_limits(joints: Sequence[str]) -> JointLimits:
    rows = np.array([_G1[j] for j in joints])
    return JointLimits(rows[:, 0], rows[:, 1], rows[:, 2], np.full(len(joints), 30.0))


def g1_low_cmd() -> LowCmd:
    return LowCmd([MotorCmd() for _ in range(G1_NUM_MOTOR_SLOTS)])


def g1_low_state() -> LowState:
    return LowState(motor_state=[MotorState() for _ in range(G1_NUM_MOTOR_SLOTS)])


def parse_remote(raw: Sequence[int]) -> Gamepad | None:
    """Unitree's rocker struct: 2 header bytes, the keys word (uint16), then lx, rx, ry, L2, ly (float32, LE)."""
    data = bytes(int(b) & 0xFF for b in raw)
    if len(data) < 24 or not any(data):
        return None
    keys, lx, rx, ry, _l2, ly = struct.unpack_from("<H5f", data, 2)
    return Gamepad(lx=lx, ly=ly, rx=rx, ry=ry, keys=keys)


class G1Sdk2Transport:
    """DDS through unitree_sdk2py's unitree_hg messages (rt/lowcmd, rt/lowstate). The G1 must be in its
    debug (low-level) mode, entered from the remote or released through the SDK's MotionSwitcherClient."""

    def __init__(self, interface: str, domain: int = 0, timeout_s: float = 2.0):
        try:
            from unitree_sdk2py.core.channel import (
                ChannelFactoryInitialize,
                ChannelPublisher,
                ChannelSubscriber,
            )
            from unitree_sdk2py.idl.default import unitree_hg_msg_dds__LowCmd_
            from unitree_sdk2py.idl.unitree_hg.msg.dds_ import LowCmd_, LowState_
            from unitree_sdk2py.utils.crc import CRC
        except ImportError as exc:
            raise RuntimeError("the G1 transport needs unitree_sdk2py (pip install unitree_sdk2py, see "
                               "github.com/unitreerobotics/unitree_sdk2_python)") from exc  # fmt: skip
        ChannelFactoryInitialize(domain, interface)
        self._crc = CRC()
        self._msg = unitree_hg_msg_dds__LowCmd_()
        self._msg.mode_pr = MODE_PR
        for mc in self._msg.motor_cmd:
            mc.mode, mc.q, mc.dq, mc.kp, mc.kd, mc.tau = 0, 0.0, 0.0, 0.0, 0.0, 0.0
        self._pub = ChannelPublisher("rt/lowcmd", LowCmd_)
        self._pub.Init()
        self._latest: Any = None
        self._fresh = threading.Event()
        self._sub = ChannelSubscriber("rt/lowstate", LowState_)
        self._sub.Init(self._on_state, 10)
        if not self._fresh.wait(timeout_s):
            raise RuntimeError(f"no rt/lowstate from the G1 on {interface!r} within {timeout_s} s")

    def _on_state(self, msg: Any) -> None:
        self._latest = msg
        self._fresh.set()

    def gamepad(self) -> Gamepad | None:
        return None if self._latest is None else parse_remote(self._latest.wireless_remote)

    def receive(self) -> LowState:
        m = self._latest
        imu = m.imu_state
        return LowState(
            motor_state=[MotorState(s.q, s.dq, s.tau_est) for s in m.motor_state[:G1_NUM_MOTOR_SLOTS]],
            imu_state=ImuState(list(imu.quaternion), list(imu.gyroscope), list(imu.accelerometer)),
            foot_force=[], tick=int(m.tick),
        )  # fmt: skip

    def send(self, cmd: LowCmd) -> None:
        self._msg.mode_machine = int(
            self._latest.mode_machine
        )  # the robot rejects a command that does not echo it
        for src, dst in zip(cmd.motor_cmd, self._msg.motor_cmd, strict=False):
            # hg motors: mode 1 enables the motor; an idle slot (Go2's POS_STOP sentinel) stays disabled.
            idle = src.q == POS_STOP or src.dq == VEL_STOP
            dst.mode = 0 if idle else SERVO_MODE
            dst.q, dst.dq = (0.0, 0.0) if idle else (src.q, src.dq)
            dst.kp, dst.kd, dst.tau = src.kp, src.kd, src.tau
        self._msg.crc = self._crc.Crc(self._msg)
        self._pub.Write(self._msg)

    def close(self) -> None:
        # Leave the motors damped, not stiff at the last target, when the runtime exits.
        for mc in self._msg.motor_cmd:
            mc.q, mc.dq, mc.kp, mc.kd, mc.tau = 0.0, 0.0, 0.0, 1.0, 0.0
        self._msg.crc = self._crc.Crc(self._msg)
        self._pub.Write(self._msg)
