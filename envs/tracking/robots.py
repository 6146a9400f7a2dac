"""The tracking tasks' actuators: BeyondMimic's position-servo gains, derived from each joint's reflected rotor
inertia (armature) rather than hand-tuned, and its per-joint action scale.

BeyondMimic (whole_body_tracking's G1 config, and mjlab's) sets every joint's servo to a second-order system
of natural frequency `NATURAL_FREQ_HZ` and damping ratio `DAMPING_RATIO` about the motor's own inertia:
    kp = armature * (2 pi f)^2,   kd = 2 * zeta * armature * (2 pi f),
and scales the policy's action per joint so that one unit of action asks for a quarter of the joint's torque
limit at the servo's stiffness: scale = `EFFORT_FRACTION` * effort_limit / kp.

The menagerie G1's armatures are BeyondMimic's (0.0036 for 5020 motors, 0.0102/0.0251 for 7520-14/-22,
0.0043 for 4010, doubled for the ankle and waist-roll/pitch pairs), so the gains here are theirs. The
menagerie H1 gives every joint the same placeholder armature (0.1) and the rule then yields one gain for all
joints; measured against its authors' gains in benchmarks/tracking_replay.py.
"""

from __future__ import annotations

import math
import re

import mujoco
import numpy as np

from robolearn.robots import robot_spec

NATURAL_FREQ_HZ = 10.0
DAMPING_RATIO = 2.0
EFFORT_FRACTION = 0.25


def natural_frequency_gains(armature: float, freq_hz: float = NATURAL_FREQ_HZ,
                            damping_ratio: float = DAMPING_RATIO) -> tuple[float, float]:  # fmt: skip
    """(kp, kd) of a servo that makes a joint of inertia `armature` ring at `freq_hz` with `damping_ratio`."""
    w = 2.0 * math.pi * freq_hz
    return armature * w * w, 2.0 * damping_ratio * armature * w


def armature_pd_gains(robot: str, fast_model: bool = False, freq_hz: float = NATURAL_FREQ_HZ,
                      damping_ratio: float = DAMPING_RATIO) -> dict[str, tuple[float, float]]:  # fmt: skip
    """SceneCfg.pd_gains for every actuated joint of `robot`: exact joint name -> (kp, kd) from the model's
    own armature (its MJCF is read, not edited)."""
    spec = robot_spec(robot, fast_model)
    model = spec.compile()
    gains: dict[str, tuple[float, float]] = {}
    for act in spec.actuators:
        joint = model.joint(act.target)
        armature = float(model.dof_armature[model.jnt_dofadr[joint.id]])
        if armature <= 0:
            raise ValueError(
                f"{robot}: joint {act.target!r} has no armature; natural-frequency gains need one"
            )
        # pd_gains keys are fullmatch patterns: escape the exact name.
        gains[re.escape(act.target)] = natural_frequency_gains(armature, freq_hz, damping_ratio)
    return gains


def effort_limits(model: mujoco.MjModel, actuator_ids: list[int]) -> np.ndarray:
    """(A,) each actuator's torque limit: its own force range, else its joint's actuator force range; inf
    where neither is set."""
    out = np.full(len(actuator_ids), np.inf)
    for i, a in enumerate(actuator_ids):
        if model.actuator_forcelimited[a]:
            out[i] = float(np.abs(model.actuator_forcerange[a]).max())
            continue
        joint = int(model.actuator_trnid[a, 0])
        if model.jnt_actfrclimited[joint]:
            out[i] = float(np.abs(model.jnt_actfrcrange[joint]).max())
    return out


def effort_action_scale(model: mujoco.MjModel, actuator_ids: list[int],
                        fraction: float = EFFORT_FRACTION) -> np.ndarray:  # fmt: skip
    """(A,) BeyondMimic's per-joint action scale: `fraction` * torque limit / servo stiffness (rad per unit)."""
    kp = model.actuator_gainprm[actuator_ids, 0]
    effort = effort_limits(model, actuator_ids)
    bad = [model.actuator(a).name for a, k, e in zip(actuator_ids, kp, effort, strict=True)
           if k <= 0 or not np.isfinite(e)]  # fmt: skip
    if bad:
        raise ValueError(f"actuators {bad}: an effort-based action scale needs a position servo (kp > 0) with a "
                         f"torque limit (forcerange or the joint's actuatorfrcrange)")  # fmt: skip
    return fraction * effort / kp
