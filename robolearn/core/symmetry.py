"""Left-right mirror symmetry of observations and actions, for PPO's data augmentation.

A robot that is mirror-symmetric about its sagittal (x-z) plane should act as the mirror image of
itself in the mirrored state. rsl_rl's symmetry extension (Mittal et al., ICRA 2024) appends the
mirrored copy of every minibatch sample; this module supplies the mirror for any env whose observation
terms have a rule below: a permutation and a sign per entry, built once from the model.

Joints pair by name (FL<->FR, left<->right, ...). A hinge about the body's x or z axis (roll, yaw,
abduction) changes sign under the mirror; one about y (pitch) does not: read from the joint's axis at
the keyframe, so no robot needs a hand-written table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mujoco
import numpy as np
import torch

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

SIDE_TOKENS = (("FL", "FR"), ("RL", "RR"), ("left", "right"), ("Left", "Right"), ("L", "R"))
"""Name tokens swapped by the mirror (whole tokens between '_' or string ends)."""

# Term function name -> how its values mirror (about the base's x-z plane). A task module adds the rules of
# its own terms to these tables (e.g. the confined-3D waypoint and scan terms), so this module names none.
VECTOR_SIGNS = {
    "base_lin_vel": (1, -1, 1),  # a velocity: y flips
    "projected_gravity": (1, -1, 1),
    "base_ang_vel": (-1, 1, -1),  # an angular velocity (pseudo-vector): x and z flip
    "velocity_command": (1, -1, -1),  # (vx, vy, yaw rate)
    # The mirror swaps left and right legs, which a trot runs half a period apart: the clock moves by
    # half a period, and (sin, cos) changes sign.
    "gait_phase": (-1, -1),
}
JOINT_TERMS = {"joint_pos_rel", "joint_vel", "last_action"}
INVARIANT_TERMS = {"base_height"}
GRID_TERMS: set[str] = set()
"""Scans over a body-frame (x, y) grid, x-major, one or more layers: the mirror reverses y in each row."""
CONTACT_TERMS = {"contact_found"}


class MirrorError(ValueError):
    pass


def mirrored_name(name: str) -> str:
    swap = {a: b for a, b in SIDE_TOKENS} | {b: a for a, b in SIDE_TOKENS}
    return "_".join(swap.get(token, token) for token in name.split("_"))


def _pairing(names: list[str], what: str) -> np.ndarray:
    index = {n: i for i, n in enumerate(names)}
    perm = []
    for n in names:
        m = mirrored_name(n)
        if m not in index:
            raise MirrorError(f"{what} {n!r} has no mirror image {m!r} among {names}")
        perm.append(index[m])
    return np.array(perm)


def joint_mirror(
    model: mujoco.MjModel, joint_names: list[str], keyframe: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """(permutation, signs) taking a joint vector to its mirror image."""
    perm = _pairing(joint_names, "joint")
    data = mujoco.MjData(model)
    if keyframe is not None:
        mujoco.mj_resetDataKeyframe(model, data, keyframe)
    data.qpos[3:7] = (1.0, 0.0, 0.0, 0.0)  # the base upright and facing +x: world axes are the base's
    mujoco.mj_kinematics(model, data)
    mujoco.mj_comPos(model, data)
    signs = []
    for n in joint_names:
        axis = data.xaxis[model.joint(n).id]
        # Rotations about x or z reverse in a mirror about the x-z plane; rotations about y do not.
        signs.append(-1.0 if abs(axis[1]) < 0.5 else 1.0)
    return perm, np.array(signs)


def grid_mirror(size: int, shape: tuple[int, int]) -> np.ndarray:
    """Permutation of a flattened (layers, nx, ny) scan that mirrors it about the base's x axis."""
    nx, ny = shape
    if size % (nx * ny):
        raise MirrorError(f"a scan of {size} values is not whole layers of a {nx} x {ny} grid")
    return np.arange(size).reshape(-1, nx, ny)[:, :, ::-1].reshape(-1)


def _grid_shape(term: Any) -> tuple[int, int]:
    if "shape" in term.params:
        return tuple(term.params["shape"])
    import inspect

    default = inspect.signature(term.func).parameters.get("shape")
    if default is None or default.default is inspect.Parameter.empty:
        raise MirrorError(f"scan term {term.func.__name__} has no grid shape to mirror")
    return tuple(default.default)


class Mirror:
    """Mirror maps of every observation group (history included) and of the actions of one env."""

    def __init__(self, env: ManagerBasedRlEnv):
        robot = env.robot
        j_perm, j_sign = joint_mirror(env.scene.model, list(robot.joint_names), robot.keyframe)
        self.action = (torch.as_tensor(j_perm), torch.as_tensor(j_sign, dtype=torch.float32))
        self.groups: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        for name, group in env.observation_manager.groups.items():
            perm: list[int] = []
            sign: list[float] = []
            for term_name, term in group.terms.items():
                start, size = len(perm), env.observation_manager.term_dims[name][term_name]
                p, s = self._term(env, term_name, term, size, j_perm, j_sign)
                perm += [start + int(i) for i in p]
                sign += [float(x) for x in s]
            width, frames = len(perm), max(group.history_length, 1)
            full_perm = [f * width + i for f in range(frames) for i in perm]
            self.groups[name] = (
                torch.as_tensor(full_perm),
                torch.as_tensor(sign * frames, dtype=torch.float32),
            )

    @staticmethod
    def _term(env: ManagerBasedRlEnv, term_name: str, term: Any, size: int, j_perm: np.ndarray,
              j_sign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        func = getattr(term.func, "__name__", "")
        if func in VECTOR_SIGNS:
            return np.arange(size), np.array(VECTOR_SIGNS[func], dtype=float)
        if func in JOINT_TERMS:
            return j_perm, j_sign
        if func in INVARIANT_TERMS:
            return np.arange(size), np.ones(size)
        if func in GRID_TERMS:
            return grid_mirror(size, _grid_shape(term)), np.ones(size)
        if func in CONTACT_TERMS:
            cfg = env.cfg.scene.contact_sensors[term.params["sensor"]]
            return _pairing(list(cfg.geoms or cfg.bodies), "contact sensor entry"), np.ones(size)
        raise MirrorError(
            f"observation term {term_name!r} ({func}) has no mirror rule; symmetric terms: "
            f"{sorted([*VECTOR_SIGNS, *JOINT_TERMS, *INVARIANT_TERMS, *GRID_TERMS, *CONTACT_TERMS])}"
        )

    def observations(self, group: str, x: torch.Tensor) -> torch.Tensor:
        perm, sign = self.groups[group]
        return x[..., perm.to(x.device)] * sign.to(x.device, x.dtype)

    def actions(self, a: torch.Tensor) -> torch.Tensor:
        perm, sign = self.action
        return a[..., perm.to(a.device)] * sign.to(a.device, a.dtype)


def augment(
    env: Any, obs: Any = None, actions: torch.Tensor | None = None
) -> tuple[Any, torch.Tensor | None]:
    """rsl_rl's `data_augmentation_func`: the batch followed by its mirror image (rows doubled)."""
    base = getattr(env, "env", env)  # the rsl_rl wrapper holds our env
    mirror = base.__dict__.get("_mirror")
    if mirror is None:
        mirror = base._mirror = Mirror(base)
    obs_out = None
    if obs is not None:
        obs_out = obs.clone()
        for key in obs.keys():
            x = obs[key]
            obs_out[key] = mirror.observations(key, x)
        obs_out = torch.cat([obs, obs_out], dim=0)
    act_out = None if actions is None else torch.cat([actions, mirror.actions(actions)], dim=0)
    return obs_out, act_out
