"""The simulation backend interface: a batch of MuJoCo worlds seen as torch tensors.

Every task and learner talks to this interface only; the CPU (mjbatch) and GPU
(mujoco-warp) backends implement it. State views are live: after `step`, the same
tensors hold the new state, and writing into `ctrl`, `xfrc_applied` or `mocap_*`
reaches the physics without a copy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import mujoco
import numpy as np
import torch

# Fields of MjData every backend binds up front (mjbatch fills a field only once bound).
STATE_FIELDS = (
    "qpos", "qvel", "qacc", "ctrl", "act", "actuator_force", "qfrc_actuator", "xpos", "xquat", "xmat",
    "cvel", "subtree_com", "site_xpos", "site_xmat", "sensordata", "mocap_pos", "mocap_quat",
    "xfrc_applied", "time",
)  # fmt: skip

INTEGRATION_FIELDS = (
    "time", "qpos", "qvel", "act", "qacc_warmstart", "ctrl", "qfrc_applied", "xfrc_applied", "eq_active",
    "mocap_pos", "mocap_quat", "userdata",
)  # fmt: skip
"""MjData fields of mjSTATE_INTEGRATION: with the model, everything the next step depends on. The solver's
warmstart matters: restored with it zeroed, Go2-Velocity-Rough's observations differ from the first step."""

# MjModel fields a task may randomize per world.
RANDOMIZABLE_FIELDS = (
    "geom_friction", "body_mass", "body_inertia", "body_ipos", "actuator_gainprm", "actuator_biasprm",
    "dof_damping", "dof_armature", "dof_frictionloss", "jnt_stiffness", "geom_pos", "geom_size", "gravity",
)  # fmt: skip


class SimBackend(ABC):
    """A batch of `num_worlds` copies of one MjModel."""

    name: str
    model: mujoco.MjModel
    num_worlds: int
    device: torch.device

    qpos: torch.Tensor
    qvel: torch.Tensor
    qacc: torch.Tensor
    ctrl: torch.Tensor
    actuator_force: torch.Tensor
    xpos: torch.Tensor
    xquat: torch.Tensor
    xmat: torch.Tensor
    cvel: torch.Tensor
    subtree_com: torch.Tensor
    site_xpos: torch.Tensor
    site_xmat: torch.Tensor
    sensordata: torch.Tensor
    mocap_pos: torch.Tensor
    mocap_quat: torch.Tensor
    xfrc_applied: torch.Tensor
    time: torch.Tensor

    @abstractmethod
    def step(self, nsub: int = 1) -> None:
        """Advance every world by `nsub` physics substeps (derived fields current afterwards)."""

    @abstractmethod
    def reset(self, ids: torch.Tensor | None = None, keyframe: int | None = None) -> None:
        """Reset worlds `ids` (all if None) to qpos0 or a keyframe, then recompute derived fields."""

    @abstractmethod
    def forward(self, ids: torch.Tensor | None = None) -> None:
        """Recompute derived fields (positions, sensors) of worlds `ids` after writing qpos/qvel."""

    @abstractmethod
    def diverged(self) -> torch.Tensor:
        """(num_worlds,) bool: worlds whose state or controls went NaN/inf or huge since the last call.

        MuJoCo resets such a world to qpos0 itself (with a warning) so NaNs rarely survive a
        step; the env still has to know, to end the episode and count it.
        """

    @abstractmethod
    def model_field(self, name: str) -> torch.Tensor:
        """A per-world (num_worlds, ...) view of an MjModel field, for randomization."""

    def per_world_fields(self) -> dict[str, torch.Tensor]:
        """The model fields `model_field` has made per-world so far (name -> (num_worlds, ...))."""
        return dict(getattr(self, "_expanded", {}))

    @abstractmethod
    def set_const(self, ids: torch.Tensor | None = None) -> None:
        """Recompute derived model constants after changing masses or inertias."""

    @abstractmethod
    def ray(self, pnt: torch.Tensor, vec: torch.Tensor, flg_static: bool = True,
            geomgroup: Sequence[int] | None = None) -> torch.Tensor:  # fmt: skip
        """Cast (N, R, 3) rays from `pnt` along `vec`; distance (N, R), -1 where nothing is hit."""

    def ray_hits(self, pnt: torch.Tensor, vec: torch.Tensor, flg_static: bool = True,
                 geomgroup: Sequence[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """Like `ray`, also returning the hit geom's id (N, R) (long, -1 where nothing is hit)."""
        raise NotImplementedError(f"the {self.name} backend does not report which geom a ray hits")

    def get_state(self) -> dict[str, torch.Tensor]:
        """A copy of every world's integration state (`INTEGRATION_FIELDS`), for `set_state`."""
        return {name: view.clone() for name, view in self._state_views().items()}

    def set_state(self, state: dict[str, torch.Tensor]) -> None:
        """Write back a `get_state` of a batch of the same model and size, then recompute derived fields."""
        views = self._state_views()
        if set(state) != set(views):
            raise ValueError(f"sim state fields {sorted(state)} are not this backend's {sorted(views)}")
        for name, view in views.items():
            if tuple(state[name].shape) != tuple(view.shape):
                raise ValueError(f"sim state field {name!r}: shape {tuple(state[name].shape)}, this batch "
                                 f"holds {tuple(view.shape)} (another model or number of worlds)")  # fmt: skip
        for name, view in views.items():
            view.copy_(state[name].to(view.device, view.dtype))
        self.forward()

    def _state_views(self) -> dict[str, torch.Tensor]:
        """Live (num_worlds, ...) tensors of the integration state; writing them reaches the physics."""
        raise NotImplementedError(f"the {self.name} backend cannot save or restore its state")

    def world_to_mjdata(self, world: int, data: mujoco.MjData) -> None:
        """Copy one world's state into a host MjData (for rendering) and run mj_forward."""
        data.qpos[:] = self.qpos[world].cpu().numpy()
        data.qvel[:] = self.qvel[world].cpu().numpy()
        if self.model.nmocap:
            data.mocap_pos[:] = self.mocap_pos[world].cpu().numpy()
            data.mocap_quat[:] = self.mocap_quat[world].cpu().numpy()
        mujoco.mj_forward(self.model, data)

    def state_numpy(self) -> tuple[np.ndarray, np.ndarray]:
        return self.qpos.cpu().numpy().copy(), self.qvel.cpu().numpy().copy()
