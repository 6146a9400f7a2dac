"""Batched views of one scene entity (a robot, an object, a marker) and the term parameter that names one.

Views over contiguous address ranges are slices of the backend's live tensors (no copy per step); only
scattered addresses are gathered. The main robot's entity is also `env.robot`, with the attribute names
terms have always used (root_pos_w, joint_pos, projected_gravity_b, default_joint_pos, base_id, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import mujoco
import numpy as np
import torch

from robolearn.entities import EntityLayout
from robolearn.math import quat_rotate_inverse

if TYPE_CHECKING:
    from robolearn.scene import Scene
    from robolearn.sim import SimBackend


def index(adr: np.ndarray | list[int]) -> slice | torch.Tensor:
    """A slice when the addresses are contiguous and increasing (a view), else an index tensor (a gather)."""
    adr = np.asarray(adr, dtype=np.int64)
    if len(adr) and np.all(np.diff(adr) == 1):
        return slice(int(adr[0]), int(adr[-1]) + 1)
    return torch.as_tensor(adr, dtype=torch.long)


def match_names(
    names: list[str], pattern: str | tuple[str, ...] | list[str], what: str, entity: str
) -> list[int]:
    """Indices of `names` matching a regex (or any of several), in `names` order; an error lists the names."""
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    ids = [i for i, n in enumerate(names) if any(re.fullmatch(p, n) for p in patterns)]
    if not ids:
        raise ValueError(
            f"{what} {pattern!r} matches none of entity {entity!r}'s {what.split('_')[0]}s: {names}"
        )
    return ids


class Entity:
    """One entity's state in every world. Names (joint_names, body_names, ...) are the entity's own, unprefixed."""

    def __init__(self, layout: EntityLayout, model: mujoco.MjModel, sim: SimBackend, keyframe: int | None,
                 base_body: str | None = None):  # fmt: skip
        self.name = layout.name
        self.kind = layout.kind
        self.layout = layout
        self.sim = sim
        self.model = model
        self.keyframe = keyframe
        self.joint_names = [layout.local(n) for n in layout.joints]
        self.body_names = [layout.local(n) for n in layout.bodies]
        self.site_names = [layout.local(n) for n in layout.sites]
        self.geom_names = [layout.local(n) for n in layout.geoms]
        self.actuator_names = [layout.local(n) for n in layout.actuators]
        self.num_actuated = len(layout.actuators)
        """The first `num_actuated` joints are driven by the actuators, in the same order."""
        self.fixed_base = layout.fixed_base
        self.body_ids = [model.body(n).id for n in layout.bodies]
        self.site_ids = [model.site(n).id for n in layout.sites]
        self.actuator_ids = [model.actuator(n).id for n in layout.actuators]
        # Index tensors built once: indexing by a list converts it to a tensor on every read.
        self._body_index = torch.as_tensor(self.body_ids, dtype=torch.long, device=sim.device)
        self._site_index = torch.as_tensor(self.site_ids, dtype=torch.long, device=sim.device)
        jids = [model.joint(n).id for n in layout.joints]
        self.joint_ids_model = jids
        qadr = model.jnt_qposadr[jids] if jids else np.zeros(0, dtype=np.int64)
        vadr = model.jnt_dofadr[jids] if jids else np.zeros(0, dtype=np.int64)
        self._q, self._v = index(qadr), index(vadr)
        self._ctrl = index(self.actuator_ids)
        if base_body is not None:
            self.base_id = self._body_id(base_body, "base_body")
        elif layout.free_joint is not None:
            self.base_id = int(model.jnt_bodyid[layout.free_joint])
        else:
            self.base_id = self.body_ids[0] if self.body_ids else 0
        self._free_q = int(model.jnt_qposadr[layout.free_joint]) if layout.free_joint is not None else None
        self._free_v = int(model.jnt_dofadr[layout.free_joint]) if layout.free_joint is not None else None
        self._mocap = int(model.body_mocapid[self.base_id]) if self.body_ids else -1
        qpos0 = model.key_qpos[keyframe] if keyframe is not None else model.qpos0
        # Constants take the state's dtype: float64 on the cpu backend, float32 on warp.
        dtype, dev = sim.qpos.dtype, sim.device
        if self._free_q is not None:
            root = qpos0[self._free_q : self._free_q + 7]
        else:
            root = np.concatenate([model.body_pos[self.base_id], model.body_quat[self.base_id]])
        self.default_root_pos = torch.tensor(root[:3], dtype=dtype, device=dev)
        self.default_root_quat = torch.tensor(root[3:7], dtype=dtype, device=dev)
        self.default_joint_pos = torch.tensor(qpos0[qadr], dtype=dtype, device=dev)
        self.soft_joint_limits = torch.tensor(
            model.jnt_range[jids] if jids else np.zeros((0, 2)), dtype=dtype, device=dev
        )
        self.gravity_w = torch.tensor([0.0, 0.0, -1.0], dtype=dtype, device=dev)
        self.update()

    def __repr__(self) -> str:
        base = "fixed" if self.fixed_base else "floating"
        return f"Entity({self.name!r}, {self.kind}, {base} base, {len(self.joint_names)} joints)"

    # -- name resolution (once, at build time) ------------------------------------------------------------
    def _body_id(self, name: str, what: str) -> int:
        if name in self.body_names:
            return self.body_ids[self.body_names.index(name)]
        raise ValueError(f"{what} {name!r} is not a body of entity {self.name!r}; bodies: {self.body_names}")

    def find_joints(self, pattern: str | tuple[str, ...] | list[str]) -> list[int]:
        """Entity joint indices (into joint_pos columns) whose names match."""
        return match_names(self.joint_names, pattern, "joint_names", self.name)

    def find_bodies(self, pattern: str | tuple[str, ...] | list[str]) -> list[int]:
        return match_names(self.body_names, pattern, "body_names", self.name)

    def find_sites(self, pattern: str | tuple[str, ...] | list[str]) -> list[int]:
        return match_names(self.site_names, pattern, "site_names", self.name)

    # -- root ---------------------------------------------------------------------------------------------
    @property
    def root_pos_w(self) -> torch.Tensor:
        if self._free_q is not None:
            return self.sim.qpos[:, self._free_q : self._free_q + 3]
        if self._mocap >= 0:
            return self.sim.mocap_pos[:, self._mocap]
        return self.sim.xpos[:, self.base_id]

    @property
    def root_quat_w(self) -> torch.Tensor:
        if self._free_q is not None:
            return self.sim.qpos[:, self._free_q + 3 : self._free_q + 7]
        if self._mocap >= 0:
            return self.sim.mocap_quat[:, self._mocap]
        return self.sim.xquat[:, self.base_id]

    @property
    def root_pose_w(self) -> torch.Tensor:
        """(N, 7): position and quaternion (w, x, y, z)."""
        return torch.cat([self.root_pos_w, self.root_quat_w], dim=-1)

    def write_root_pose(self, env_ids: torch.Tensor, pose: torch.Tensor) -> None:
        """Set the root pose (n, 7) of worlds `env_ids` (a free root or a mocap marker); call sim.forward after."""
        ids = env_ids.to(self.sim.device)
        if self._free_q is not None:
            self.sim.qpos[ids, self._free_q : self._free_q + 7] = pose.to(self.sim.qpos)
        elif self._mocap >= 0:
            self.sim.mocap_pos[ids, self._mocap] = pose[:, :3].to(self.sim.mocap_pos)
            self.sim.mocap_quat[ids, self._mocap] = pose[:, 3:7].to(self.sim.mocap_quat)
        else:
            raise ValueError(f"entity {self.name!r} has a fixed base: its root pose cannot be written")

    def write_root_velocity(self, env_ids: torch.Tensor, vel: torch.Tensor) -> None:
        """Set the free root's velocity (n, 6): world linear, body angular (MuJoCo's free-joint convention)."""
        if self._free_v is None:
            raise ValueError(f"entity {self.name!r} has no free joint: its root velocity cannot be written")
        self.sim.qvel[env_ids.to(self.sim.device), self._free_v : self._free_v + 6] = vel.to(self.sim.qvel)

    # -- joints, bodies, sites ----------------------------------------------------------------------------
    @property
    def joint_pos(self) -> torch.Tensor:
        return self.sim.qpos[:, self._q]

    @property
    def joint_vel(self) -> torch.Tensor:
        return self.sim.qvel[:, self._v]

    @property
    def joint_acc(self) -> torch.Tensor:
        return self.sim.qacc[:, self._v]

    @property
    def ctrl(self) -> torch.Tensor:
        """(N, num_actuated) the controls of the entity's actuators (a view when they are contiguous)."""
        return self.sim.ctrl[:, self._ctrl]

    def write_joint_state(self, env_ids: torch.Tensor, pos: torch.Tensor, vel: torch.Tensor | None = None,
                          joint_ids: list[int] | None = None) -> None:  # fmt: skip
        ids = env_ids.to(self.sim.device)
        q_cols = self._cols(self._q, joint_ids)
        rows = self.sim.qpos[ids]
        rows[:, q_cols] = pos.to(rows.dtype)
        self.sim.qpos[ids] = rows
        if vel is not None:
            v_cols = self._cols(self._v, joint_ids)
            vrows = self.sim.qvel[ids]
            vrows[:, v_cols] = vel.to(vrows.dtype)
            self.sim.qvel[ids] = vrows

    @staticmethod
    def _cols(base: slice | torch.Tensor, sub: list[int] | None) -> slice | torch.Tensor:
        full = torch.arange(base.start, base.stop) if isinstance(base, slice) else base
        return base if sub is None else full[torch.as_tensor(sub, dtype=torch.long)]

    @property
    def body_pos_w(self) -> torch.Tensor:
        """(N, B, 3) world positions of the entity's bodies (body_names order)."""
        return self.sim.xpos[:, self._body_index]

    @property
    def body_quat_w(self) -> torch.Tensor:
        return self.sim.xquat[:, self._body_index]

    @property
    def body_pose_w(self) -> torch.Tensor:
        """(N, B, 7) world poses of the entity's bodies."""
        return torch.cat([self.body_pos_w, self.body_quat_w], dim=-1)

    @property
    def site_pos_w(self) -> torch.Tensor:
        """(N, S, 3) world positions of the entity's sites (site_names order)."""
        return self.sim.site_xpos[:, self._site_index]

    def update(self) -> None:
        """Quantities derived once per step (the main robot's; other entities' on demand)."""
        quat = self.root_quat_w
        if self._free_v is not None:
            # A free joint's qvel holds the world-frame linear and the body-frame angular velocity.
            v = self._free_v
            self.root_lin_vel_b = quat_rotate_inverse(quat, self.sim.qvel[:, v : v + 3])
            self.root_ang_vel_b = self.sim.qvel[:, v + 3 : v + 6]
        else:
            self.root_lin_vel_b = torch.zeros(quat.shape[0], 3, dtype=quat.dtype, device=quat.device)
            self.root_ang_vel_b = self.root_lin_vel_b
        self.projected_gravity_b = quat_rotate_inverse(quat, self.gravity_w.expand(quat.shape[0], 3))


@dataclass
class SceneEntityCfg:
    """A term parameter naming an entity and, optionally, a subset of its joints, bodies or sites by regex.

    Managers resolve it once when the env is built (`resolve`), so a term reads `cfg.joint_ids` and never
    matches names per step. A pattern matching nothing is an error naming the entity and listing its names.
    """

    name: str = "robot"
    joint_names: str | tuple[str, ...] | None = None
    body_names: str | tuple[str, ...] | None = None
    site_names: str | tuple[str, ...] | None = None

    def resolve(self, scene: Scene) -> SceneEntityCfg:
        entity = scene[self.name]
        # Plain attributes, not dataclass fields: config.yaml and the command line see only the patterns.
        self.joint_ids: list[int] | slice = (
            slice(None) if self.joint_names is None else entity.find_joints(self.joint_names)
        )
        self.body_ids: list[int] | slice = (
            slice(None) if self.body_names is None else entity.find_bodies(self.body_names)
        )
        self.site_ids: list[int] | slice = (
            slice(None) if self.site_names is None else entity.find_sites(self.site_names)
        )
        return self


def resolve_params(params: dict, scene: Scene) -> None:
    """Resolve every SceneEntityCfg among a term's parameters (once, when its manager is built)."""
    for value in params.values():
        if isinstance(value, SceneEntityCfg):
            value.resolve(scene)
