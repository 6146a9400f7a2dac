"""The G1's Unitree adapter: its motor table is menagerie's G1 (names in motor order, ranges, torques), and the
remote's rocker bytes inside LowState decode to sticks and keys (L2+B is the operator e-stop)."""

from __future__ import annotations

import struct

import mujoco
import numpy as np

from robolearn.robots import robot_spec
from robolearn.sim2real.unitree import KEY_BITS, GamepadCommand
from robolearn.sim2real.unitree_g1 import G1_MOTOR_JOINTS, g1_limits, parse_remote


def test_motor_table_is_the_g1_model() -> None:
    model = robot_spec("g1").compile()
    joints = [
        model.joint(j).name for j in range(model.njnt) if model.jnt_type[j] != mujoco.mjtJoint.mjJNT_FREE
    ]
    assert list(G1_MOTOR_JOINTS) == joints  # motor index order == the model's joint (actuator) order
    limits = g1_limits(joints)
    ids = [model.joint(j).id for j in joints]
    np.testing.assert_allclose(limits.lower, model.jnt_range[ids, 0], atol=1e-4)
    np.testing.assert_allclose(limits.upper, model.jnt_range[ids, 1], atol=1e-4)
    np.testing.assert_allclose(limits.torque, model.jnt_actfrcrange[ids, 1], atol=1e-4)


def test_remote_bytes_decode_to_sticks_and_keys() -> None:
    keys = (1 << KEY_BITS["L2"]) | (1 << KEY_BITS["B"])
    raw = bytes(2) + struct.pack("<H5f", keys, 0.25, -0.5, 0.1, 0.0, 0.75) + bytes(16)
    pad = parse_remote(list(raw))
    assert pad is not None
    assert (pad.lx, pad.rx, pad.ry, pad.ly) == (0.25, -0.5, np.float32(0.1), 0.75)
    assert GamepadCommand([(-1.0, 1.0)]).estop(pad)
    assert parse_remote([0] * 40) is None  # no remote paired: nothing, not a zero command with no keys
