"""Left-right mirror symmetry of observations and actions, for PPO's data augmentation.

A robot that is mirror-symmetric about its sagittal (x-z) plane should act as the mirror image of
itself in the mirrored state. rsl_rl's symmetry extension (Mittal et al., ICRA 2024) appends the
mirrored copy of every minibatch sample; this module supplies the mirror for any env whose observation
terms say how they mirror (`ObsTerm.mirror`, one of the rules below): a permutation and a sign per entry,
built once from the model.

Joints pair by name (FL<->FR, left<->right, ...). A hinge about the body's x or z axis (roll, yaw,
abduction) changes sign under the mirror; one about y (pitch) does not: read from the joint's axis at
the keyframe, so no robot needs a hand-written table. The actions mirror like the joints.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import mujoco
import numpy as np
import torch

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

SIDE_TOKENS = (("FL", "FR"), ("RL", "RR"), ("left", "right"), ("Left", "Right"), ("L", "R"))
"""Name tokens swapped by the mirror (whole tokens between '_' or string ends)."""

VECTOR = (1.0, -1.0, 1.0)
"""Signs of a base-frame vector (a velocity, gravity, a position offset): y flips."""
PSEUDO_VECTOR = (-1.0, 1.0, -1.0)
"""Signs of an angular velocity: x and z flip."""
VELOCITY_COMMAND = (1.0, -1.0, -1.0)
"""Signs of a (vx, vy, yaw rate) command."""
HALF_PERIOD = (-1.0, -1.0)
"""Signs of a (sin, cos) gait clock whose left and right legs run half a period apart (a trot, a biped
walk): the mirror moves the clock by half a period, which flips both."""

Maps = tuple[np.ndarray, np.ndarray]
"""(permutation, signs) of one term's entries: mirrored[i] = x[perm[i]] * signs[i]."""


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


class MirrorRule(Protocol):
    """How an observation term's values map under the mirror (set on the term: `ObsTerm(..., mirror=...)`)."""

    def maps(self, env: ManagerBasedRlEnv, term: Any, size: int, joints: Maps) -> Maps: ...


# The rules are plain (not frozen) dataclasses: run folders record them in config.yaml like any term field.


@dataclass
class Signs:
    """Entries keep their place; those of sign -1 flip. A velocity or direction is (1, -1, 1); an angular
    velocity, a pseudo-vector, (-1, 1, -1); a (vx, vy, yaw rate) command (1, -1, -1)."""

    signs: tuple[float, ...]

    def maps(self, env: ManagerBasedRlEnv, term: Any, size: int, joints: Maps) -> Maps:
        return np.arange(size), np.asarray(self.signs, dtype=float)


@dataclass
class JointMirror:
    """A vector over the robot's joints (positions, velocities, the last action): sides swap, roll/yaw flip."""

    def maps(self, env: ManagerBasedRlEnv, term: Any, size: int, joints: Maps) -> Maps:
        return joints


@dataclass
class Invariant:
    """Values the mirror leaves alone (a height, a count of contacts)."""

    def maps(self, env: ManagerBasedRlEnv, term: Any, size: int, joints: Maps) -> Maps:
        return np.arange(size), np.ones(size)


@dataclass
class GridMirror:
    """A scan over a body-frame (x, y) grid, x-major, one or more layers: y reverses in each row. `shape`
    (nx, ny); None reads the term's `shape` param, or its function's default."""

    shape: tuple[int, int] | None = None

    def maps(self, env: ManagerBasedRlEnv, term: Any, size: int, joints: Maps) -> Maps:
        shape = self.shape or term.params.get("shape")
        if shape is None:
            default = inspect.signature(term.func).parameters.get("shape")
            if default is None or default.default is inspect.Parameter.empty:
                raise MirrorError(f"scan term {term.func.__name__} has no grid shape to mirror: GridMirror(shape)")
            shape = default.default
        return grid_mirror(size, tuple(shape)), np.ones(size)


@dataclass
class ContactMirror:
    """Per-entry readings of a contact sensor (feet, ...): entries swap with their mirror-named partner.
    `sensor` None reads the term's `sensor` param."""

    sensor: str | None = None

    def maps(self, env: ManagerBasedRlEnv, term: Any, size: int, joints: Maps) -> Maps:
        cfg = env.cfg.scene.contact_sensors[self.sensor or term.params["sensor"]]
        return _pairing(list(cfg.geoms or cfg.bodies), "contact sensor entry"), np.ones(size)


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
                p, s = self._term(env, term_name, term, size, (j_perm, j_sign))
                perm += [start + int(i) for i in p]
                sign += [float(x) for x in s]
            width, frames = len(perm), max(group.history_length, 1)
            full_perm = [f * width + i for f in range(frames) for i in perm]
            self.groups[name] = (
                torch.as_tensor(full_perm),
                torch.as_tensor(sign * frames, dtype=torch.float32),
            )

    @staticmethod
    def _term(env: ManagerBasedRlEnv, term_name: str, term: Any, size: int, joints: Maps) -> Maps:
        func = getattr(term.func, "__name__", repr(term.func))
        if term.mirror is None:
            raise MirrorError(
                f"observation term {term_name!r} ({func}) has no mirror rule: give it ObsTerm(mirror=...) "
                "(Signs, JointMirror, Invariant, GridMirror, ContactMirror from robolearn.core.symmetry) "
                "to train with symmetry"
            )
        perm, sign = term.mirror.maps(env, term, size, joints)
        if len(perm) != size or len(sign) != size:
            raise MirrorError(
                f"observation term {term_name!r} ({func}) has {size} values; its mirror rule {term.mirror} "
                f"maps {len(perm)}"
            )
        return perm, sign

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
