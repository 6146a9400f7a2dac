"""The simulated robot: latency, noise, pushes and a physics setup unlike training's."""

from __future__ import annotations

import numpy as np
import pytest

from robolearn.sim2real.robot import JointCommand, VirtualClock
from robolearn.sim2real.sim_robot import INTEGRATORS, SensorNoise, SimRobotCfg, SimulatedRobot


def kick(n: int = 12) -> JointCommand:
    """Zero stiffness with full damping: distinguishable from the initial hold command."""
    return JointCommand.damping(n, 3.0)


def test_commands_land_after_the_latency_in_order():
    clock = VirtualClock()
    robot = SimulatedRobot(SimRobotCfg(latency_s=0.02, latency_jitter_s=0.01, seed=1), clock)
    assert robot.model.opt.integrator == INTEGRATORS["implicitfast"] and robot.model.opt.timestep == 0.002
    robot.read()
    robot.write(kick())
    first = robot._pending[-1][0]
    assert 0.02 <= first <= 0.03
    robot.write(JointCommand.damping(12, 1.0))
    assert robot._pending[-1][0] >= first  # never overtakes
    clock.advance(0.018)
    robot.read()
    assert robot._cmd.kp[0] > 0  # still the hold command
    clock.advance(0.014)
    robot.read()
    assert robot._cmd.kp[0] == 0.0  # the written command arrived


def test_sensor_noise_has_the_configured_width():
    clock = VirtualClock()
    noisy = SimulatedRobot(SimRobotCfg(noise=SensorNoise(q=0.01, dq=1.5, gyro=0.2, tilt=0.05)), clock)
    clean = SimulatedRobot(SimRobotCfg(), clock)
    dq = np.array([noisy.read().dq - clean.read().dq for _ in range(200)])
    assert np.abs(dq).max() <= 1.5 and np.abs(dq).max() > 1.2
    assert abs(dq.mean()) < 0.1
    quat = noisy.read().quat
    assert abs(np.linalg.norm(quat) - 1) < 1e-9  # a rotation, not additive noise


def test_pushes_kick_the_base():
    clock = VirtualClock()
    robot = SimulatedRobot(SimRobotCfg(push_velocity=1.0, push_interval_s=(0.5, 0.5)), clock)
    clock.advance(1.2)
    robot.read()
    assert robot.pushes == 2


def test_unknown_integrator_is_named():
    with pytest.raises(ValueError, match="integrator must be one of"):
        SimulatedRobot(SimRobotCfg(integrator="verlet"))
