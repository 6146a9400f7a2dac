"""The robot as the deploy runtime sees it: read state, write PD joint targets, at a fixed rate.

Arrays are in the robot's joint order (`Robot.joint_names`), which for a policy-driven robot is the
actuator order of the model it was trained on; adapters (e.g. Unitree's motor indices) map to their
own wire order internally. numpy only: this runs on the robot's computer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class RobotState:
    """One reading of the robot's sensors."""

    q: np.ndarray
    """Joint positions (rad)."""
    dq: np.ndarray
    """Joint velocities (rad/s)."""
    quat: np.ndarray
    """Base orientation from the IMU, (w, x, y, z), world <- base."""
    gyro: np.ndarray
    """Base angular velocity in the base frame (rad/s), as a gyro mounted on the trunk reads it."""
    stamp: float = 0.0
    """Robot time of the reading (s)."""
    contacts: np.ndarray | None = None
    """Optional foot contact flags or forces."""
    lin_vel: np.ndarray | None = None
    """Optional base linear velocity in the base frame (m/s), from the robot's state estimator
    (no sensor measures it); only policies that observe `base_lin_vel` need it."""
    pos: np.ndarray | None = None
    """Optional base position in the odometry frame (m), from the robot's state estimator; only tracking
    policies that observe the reference anchor's position need it."""
    fresh: bool = True
    """False when the robot's state stopped updating (a lost link); the safety layer e-stops."""

    def is_finite(self) -> bool:
        return bool(
            np.isfinite(self.q).all()
            and np.isfinite(self.dq).all()
            and np.isfinite(self.quat).all()
            and np.isfinite(self.gyro).all()
        )


@dataclass
class JointCommand:
    """Per-joint PD set-points, tracked by the motor drivers: tau = kp (q* - q) + kd (dq* - dq) + tau_ff."""

    q: np.ndarray
    dq: np.ndarray
    kp: np.ndarray
    kd: np.ndarray
    tau_ff: np.ndarray

    @classmethod
    def damping(cls, n: int, kd: float) -> JointCommand:
        """Zero stiffness, some damping: the joints go limp slowly (the usual e-stop state)."""
        z = np.zeros(n)
        return cls(q=z.copy(), dq=z.copy(), kp=z.copy(), kd=np.full(n, kd), tau_ff=z.copy())


@dataclass
class JointLimits:
    lower: np.ndarray
    upper: np.ndarray
    torque: np.ndarray
    """Peak motor torque (N m)."""
    velocity: np.ndarray = field(default_factory=lambda: np.array([30.0]))
    """Joint speed above which something is wrong (rad/s); broadcast over joints."""


@runtime_checkable
class Robot(Protocol):
    """What the deploy loop needs from a robot, real or simulated."""

    joint_names: list[str]

    def limits(self) -> JointLimits: ...

    def read(self) -> RobotState: ...

    def write(self, cmd: JointCommand) -> None: ...

    def close(self) -> None: ...


class Clock(Protocol):
    """Time source of the loop; the simulated robot reads the same clock to know how far to step."""

    def now(self) -> float: ...

    def sleep_until(self, t: float) -> None: ...


class WallClock:
    """Real time from a monotonic clock. Sleeps most of the wait, then spins the last stretch,
    because OS sleeps overshoot by up to a scheduler tick and the loop's jitter would follow."""

    def __init__(self, spin_s: float = 0.0005):
        self._t0 = time.perf_counter()
        self.spin_s = spin_s

    def now(self) -> float:
        return time.perf_counter() - self._t0

    def sleep_until(self, t: float) -> None:
        left = t - self.now()
        if left > self.spin_s:
            time.sleep(left - self.spin_s)
        while self.now() < t:
            pass


class VirtualClock:
    """Simulated time that jumps to each deadline: sim2sim as fast as the CPU allows."""

    def __init__(self) -> None:
        self._t = 0.0

    def now(self) -> float:
        return self._t

    def sleep_until(self, t: float) -> None:
        self._t = max(self._t, t)

    def advance(self, dt: float) -> None:
        self._t += dt
