"""Keyposes -> a flange pose and hand closure per control step, with a speed profile per segment.

The robot expert and the human stand-in follow the same keyposes (envs/manipulation/keyposes.Keypose: the
flange pose in the object's, the target's or the world frame, the hand open (1) or closed (0)); they differ
in how they move between them: the expert with a smoothstep profile at its own pace, the human with
minimum-jerk profiles at human speed plus tremor (human.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from robolearn.envs.manipulation.demos import resolve
from robolearn.envs.manipulation.keyposes import Keypose
from robolearn.envs.panda.tasks import PandaTaskCfg

Profile = Callable[[np.ndarray], np.ndarray]


def smoothstep(s: np.ndarray) -> np.ndarray:
    """Zero velocity at both ends of a segment: the hand settles on each keypose."""
    return s * s * (3 - 2 * s)


def minimum_jerk(s: np.ndarray) -> np.ndarray:
    """The minimum-jerk position profile of a human point-to-point reach (Flash & Hogan 1985)."""
    return s**3 * (10 - 15 * s + 6 * s * s)


def world_knots(keyposes: list[Keypose], layout: np.ndarray, cfg: PandaTaskCfg,
                start: tuple[Rotation, np.ndarray]) -> list[tuple[float, Rotation, np.ndarray, float]]:  # fmt: skip
    """(time, rotation, position, opening) knots in the world, starting at `start` (open hand) at t = 0."""
    # demos.resolve reads only cfg.object_half_z and cfg.target_z, which PandaTaskCfg has under those names.
    world = resolve(sorted(keyposes, key=lambda k: k.time), layout, cast(Any, cfg))
    return [(0.0, start[0], start[1], 1.0)] + [(t, r, p, g) for t, _, r, p, g in world]


def sample(knots: list[tuple[float, Rotation, np.ndarray, float]], times: np.ndarray,
           profile: Profile = smoothstep) -> tuple[Rotation, np.ndarray, np.ndarray]:  # fmt: skip
    """Rotations (T), positions (T, 3) and openings (T,) at `times`, holding the last knot after it."""
    rots, pos, grip = [], np.zeros((len(times), 3)), np.zeros(len(times))
    for i, t in enumerate(times):
        j = next((n for n in range(1, len(knots)) if knots[n][0] >= t), None)
        if j is None:
            _, r, p, g = knots[-1]
        else:
            (t0, r0, p0, g0), (t1, r1, p1, g1) = knots[j - 1], knots[j]
            s = float(profile(np.clip((t - t0) / max(t1 - t0, 1e-9), 0.0, 1.0)))
            r = Slerp([0, 1], Rotation.concatenate([r0, r1]))(s)
            p, g = (1 - s) * p0 + s * p1, (1 - s) * g0 + s * g1
        rots.append(r)
        pos[i], grip[i] = p, g
    return Rotation.concatenate(rots), pos, grip
