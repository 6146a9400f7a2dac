"""Rebuild the training observation from raw robot state, using only policy.json.

Each observation term of the training env (robolearn/core/mdp/observations.py) that a robot can
measure has a twin here computing the same quantity from `RobotState`, the command and the last
action; the builder applies clip and scale in the env's order (float32, clip, then scale) and
stacks history frames oldest first, repeating the first frame after a reset as the env does.
Terms a robot cannot measure (height scans, ground-truth contacts) are rejected when the builder is
made, not at the first step. Base linear velocity is no sensor reading either: a policy observing it
needs a robot whose state carries an estimate (`RobotState.lin_vel`), checked at the first reading.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robolearn.sim2real.motion_reference import REFERENCE_TERMS, MotionReference
from robolearn.sim2real.robot import RobotState
from robolearn.sim2real.schema import ObsTermSpec, PolicyMetadata, PolicySpecError

GRAVITY_W = np.array([0.0, 0.0, -1.0])


def quat_rotate_inverse(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate world vector `v` into the frame of unit quaternion q = (w, x, y, z).

    Written out on scalars: np.cross on 3-vectors costs ~10 us, this whole function ~2 us.
    """
    w, x, y, z = float(q[0]), float(q[1]), float(q[2]), float(q[3])
    a, b, c = float(v[0]), float(v[1]), float(v[2])
    tx, ty, tz = 2.0 * (y * c - z * b), 2.0 * (z * a - x * c), 2.0 * (x * b - y * a)
    return np.array(
        [a - w * tx + (y * tz - z * ty), b - w * ty + (z * tx - x * tz), c - w * tz + (x * ty - y * tx)]
    )


def projected_gravity(quat: np.ndarray) -> np.ndarray:
    return quat_rotate_inverse(quat, GRAVITY_W)


@dataclass
class ObsInputs:
    """Everything a deployable term may read."""

    state: RobotState
    command: np.ndarray
    last_action: np.ndarray
    default_q: np.ndarray
    time: float = 0.0
    """Seconds since the builder's reset, counted in control periods (the env's episode clock)."""
    reference: MotionReference | None = None
    """A tracking policy's reference motion (advanced by `time`); None for other policies."""


TermFn = Callable[[ObsInputs], np.ndarray]


def base_lin_vel(x: ObsInputs) -> np.ndarray:
    if x.state.lin_vel is None:
        raise PolicySpecError(
            "the policy observes base_lin_vel, but the robot's state has no linear-velocity estimate "
            "(RobotState.lin_vel is None): run a state estimator on the robot, or deploy a policy "
            "that does not observe base_lin_vel"
        )
    return x.state.lin_vel

def gait_phase(x: ObsInputs, period: float = 0.5) -> np.ndarray:
    angle = 2.0 * np.pi * x.time / period
    return np.array([np.sin(angle), np.cos(angle)])


TERMS: dict[str, Callable[..., np.ndarray]] = {
    "base_lin_vel": base_lin_vel,
    "gait_phase": gait_phase,
    "base_ang_vel": lambda x: x.state.gyro,
    "projected_gravity": lambda x: projected_gravity(x.state.quat),
    "velocity_command": lambda x: x.command,
    "joint_pos_rel": lambda x: x.state.q - x.default_q,
    "joint_vel": lambda x: x.state.dq,
    "last_action": lambda x: x.last_action,
    **REFERENCE_TERMS,
}
"""Deployable terms, keyed by the env's term function name."""

ALIASES = {"joint_pos": "joint_pos_rel"}
"""Files without `func` name terms only by their config key; the Go2 tasks call joint_pos_rel 'joint_pos'."""


def resolve_term(spec: ObsTermSpec) -> str:
    """The deployable term computing `spec`: from its function name, else from its config key."""
    key = spec.func.rsplit(":", 1)[-1].rsplit(".", 1)[-1] if spec.func else ALIASES.get(spec.name, spec.name)
    if key not in TERMS:
        raise PolicySpecError(
            f"observation term {spec.name!r} ({spec.func or 'no func recorded'}) cannot be built from robot "
            f"state on the deploy side; deployable terms: {', '.join(TERMS)}"
        )
    return key


def _bind(fn: Callable[..., np.ndarray], spec: ObsTermSpec) -> TermFn:
    """The term with the parameters policy.json records for it (those the deploy twin takes)."""
    accepted = set(inspect.signature(fn).parameters) - {"x"}
    params = {k: v for k, v in spec.params.items() if k in accepted}
    return functools.partial(fn, **params) if params else fn


class ObservationBuilder:
    """Builds the policy's input vector (float32, obs_dim) from robot state, command and last action."""

    def __init__(self, meta: PolicyMetadata, reference: MotionReference | None = None):
        self.meta = meta
        self.reference = reference
        self.terms = [(spec, _bind(TERMS[resolve_term(spec)], spec)) for spec in meta.observation_terms]
        self._steps = 0
        self.time = 0.0
        """Episode time of the last frame built (s)."""
        self.default_q = np.asarray(meta.default_joint_pos, dtype=np.float64)
        self.history = np.zeros((meta.history_length, meta.frame_dim), dtype=np.float32)
        self._fresh = True
        cmd_terms = [s for s in meta.observation_terms if resolve_term(s) == "velocity_command"]
        for s in cmd_terms:
            if s.size != len(meta.commands):
                raise PolicySpecError(
                    f"observation term {s.name!r} has size {s.size} but policy.json lists "
                    f"{len(meta.commands)} commands"
                )

    def reset(self) -> None:
        """Start a new episode: the next frame fills the whole history, the clock restarts."""
        self._fresh = True
        self._steps = 0
        if self.reference is not None:
            self.reference.reset()

    def frame(self, inputs: ObsInputs) -> np.ndarray:
        out = np.empty(self.meta.frame_dim, dtype=np.float32)
        i = 0
        for spec, fn in self.terms:
            x = np.asarray(fn(inputs), dtype=np.float32).reshape(-1)
            if x.shape[0] != spec.size:
                raise ValueError(
                    f"observation term {spec.name!r} gave {x.shape[0]} values, expected {spec.size}"
                )
            if spec.clip is not None:
                x = np.clip(x, np.float32(-spec.clip), np.float32(spec.clip))
            if spec.scale != 1.0:
                x = x * np.float32(spec.scale)
            out[i : i + spec.size] = x
            i += spec.size
        return out

    def build(self, state: RobotState, command: np.ndarray, last_action: np.ndarray) -> np.ndarray:
        self.time = self._steps * self.meta.control_period
        frame = self.frame(ObsInputs(state, command, last_action, self.default_q, self.time, self.reference))
        self._steps += 1
        if self._fresh:
            self.history[:] = frame
            self._fresh = False
        else:
            self.history[:-1] = self.history[1:]
            self.history[-1] = frame
        return self.history.reshape(-1).copy()
