"""The safety layer between the policy and the motors. The policy cannot bypass it.

Every tick the deploy loop hands the raw network output and the measured state to
`SafetyLayer.command`, and only what it returns reaches `Robot.write`. It:

1. checks the state: a stale or non-finite reading, a joint faster than the velocity guard or a base tilted
   past the tilt limit latches an e-stop;
2. checks the action: a non-finite output latches an e-stop; large values are clipped;
3. shapes the target, each step a small composable limit applied in this order: action clip ->
   max target step per tick -> torque guard (the PD torque the target implies stays within the
   motor's peak) -> joint-limit clamp (last, so no other limit can push a target past a joint stop).

Once latched, the e-stop holds (damping only: kp = 0, kd > 0) until `reset` is called by the
operator, never by the policy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from robolearn.sim2real.observation import projected_gravity
from robolearn.sim2real.robot import JointCommand, JointLimits, RobotState
from robolearn.sim2real.schema import PolicyMetadata, PolicySpecError


@dataclass
class SafetyCfg:
    max_target_step: float = 0.35
    """Largest change of a joint target per policy tick (rad); bounds the commanded speed."""
    joint_limit_margin: float = 0.02
    """Targets stay this far inside the joint stops (rad)."""
    torque_margin: float = 1.0
    """Fraction of the motor's peak torque the PD law may ask for."""
    velocity_limit: float | None = None
    """Joint speed that trips the e-stop (rad/s); None uses the robot's limits."""
    tilt_limit: float = 1.0
    """Base tilt from upright that trips the e-stop (rad); the Go2 task terminates at 1.2."""
    estop_kd: float = 1.0
    """Damping of the e-stop state (N m s/rad)."""


def check_action_scale(meta: PolicyMetadata, limits: JointLimits, where: str = "policy.json") -> None:
    """Refuse an action_scale larger than the widest range of the robot's joints: one unit of action would then
    cross a whole joint range (schema.MAX_ACTION_SCALE explains the bound; this is it for one robot)."""
    n = meta.num_joints
    span = np.broadcast_to(limits.upper, (n,)) - np.broadcast_to(limits.lower, (n,))
    finite = np.isfinite(span)
    if not finite.any():
        return  # no joint stops: nothing to compare against (the schema bound still holds)
    widest = int(np.argmax(np.where(finite, span, -np.inf)))
    if meta.action_scale > span[widest]:
        raise PolicySpecError(
            f"{where}: action_scale is {meta.action_scale:g}, expected at most {span[widest]:.3f}, the widest joint "
            f"range of this robot ({meta.joint_names[widest]}); a larger scale only drives joints into their stops"
        )


@dataclass
class SafetyStatus:
    estop: bool = False
    reason: str = ""
    clipped: int = 0
    """Joint targets changed by a limit this tick."""


class SafetyLayer:
    def __init__(self, meta: PolicyMetadata, limits: JointLimits, cfg: SafetyCfg | None = None):
        self.cfg = cfg or SafetyCfg()
        n = meta.num_joints
        self.n = n
        self.offset = np.asarray(meta.action_offset, dtype=np.float64)
        self.scale = float(meta.action_scale)
        self.action_clip = float(meta.action_clip)
        self.kp = np.asarray(meta.kp, dtype=np.float64)
        self.kd = np.asarray(meta.kd, dtype=np.float64)
        m = self.cfg.joint_limit_margin
        self.lower = np.broadcast_to(limits.lower, (n,)) + m
        self.upper = np.broadcast_to(limits.upper, (n,)) - m
        check_action_scale(meta, limits)
        self.tau_max = np.broadcast_to(limits.torque, (n,)) * self.cfg.torque_margin
        vel = self.cfg.velocity_limit if self.cfg.velocity_limit is not None else limits.velocity
        self.vel_max = np.broadcast_to(np.asarray(vel, dtype=np.float64), (n,))
        # Joints without stiffness (kp = 0) cannot be torque-guarded through their target.
        self._stiff = self.kp > 0
        self._inv_kp = np.where(self._stiff, 1.0 / np.where(self._stiff, self.kp, 1.0), 0.0)
        self.status = SafetyStatus()
        self.prev_target: np.ndarray | None = None
        self.estops = 0

    def reset(self, state: RobotState | None = None) -> None:
        """Operator reset: clear the e-stop; targets ramp from the measured pose, not from a jump."""
        self.status = SafetyStatus()
        self.prev_target = None if state is None else np.clip(state.q, self.lower, self.upper)

    def trip(self, reason: str) -> None:
        if not self.status.estop:
            self.estops += 1
            self.status.estop, self.status.reason = True, reason

    def check_state(self, state: RobotState) -> None:
        if not state.fresh:
            self.trip("stale robot state (the robot stopped publishing)")
            return
        if not state.is_finite():
            self.trip("non-finite robot state")
            return
        fast = np.abs(state.dq) > self.vel_max
        if fast.any():  # (a NaN never compares greater; is_finite above caught it)
            j = int(np.argmax(fast))
            self.trip(f"joint {j} speed {state.dq[j]:.1f} rad/s over the {self.vel_max[j]:.1f} rad/s guard")
            return
        up = -float(projected_gravity(state.quat)[2])
        tilt = math.acos(min(1.0, max(-1.0, up)))
        if tilt > self.cfg.tilt_limit:
            self.trip(f"base tilt {tilt:.2f} rad over the {self.cfg.tilt_limit:.2f} rad limit")

    def command(self, action: np.ndarray, state: RobotState) -> JointCommand:
        """The only path from a policy output to the motors."""
        self.check_state(state)
        action = np.asarray(action, dtype=np.float64).reshape(-1)
        if action.shape[0] != self.n:
            self.trip(f"policy output has {action.shape[0]} values, expected {self.n}")
        elif not np.isfinite(action).all():
            self.trip("non-finite policy output")
        if self.status.estop:
            return JointCommand.damping(self.n, self.cfg.estop_kd)
        raw = self.offset + self.scale * np.clip(action, -self.action_clip, self.action_clip)
        target = raw
        prev = self.prev_target if self.prev_target is not None else np.clip(state.q, self.lower, self.upper)
        step = self.cfg.max_target_step
        target = np.clip(target, prev - step, prev + step)
        # PD torque kp (t - q) - kd dq within +-tau_max  <=>  t within q + (+-tau_max + kd dq) / kp.
        centre = state.q + self.kd * state.dq * self._inv_kp
        half = self.tau_max * self._inv_kp
        guarded = np.clip(target, centre - half, centre + half)
        target = guarded if self._stiff.all() else np.where(self._stiff, guarded, target)
        target = np.clip(target, self.lower, self.upper)
        self.status.clipped = int(np.count_nonzero(np.abs(target - raw) > 1e-9))
        self.prev_target = target
        zeros = np.zeros(self.n)
        return JointCommand(q=target, dq=zeros, kp=self.kp.copy(), kd=self.kd.copy(), tau_ff=zeros.copy())
