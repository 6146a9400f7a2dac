"""GPU backend on mujoco-warp: `nworld` MuJoCo worlds in one set of device arrays, seen as torch tensors.

Semantics mirror `CpuBackend` (see `robolearn/sim/base.py`), with these differences:

- **float32.** mujoco-warp computes in float32, so every state view (qpos, qvel, xpos, sensordata,
  time, ...) is a float32 tensor on the backend's device. Code above the backend must not assume
  float64 state; mixed arithmetic with float64 constants promotes to float64 as usual in torch.
- **No auto-reset inside `step`.** MuJoCo resets a world whose state went bad (NaN, |x| > 1e10)
  during `mj_step`; mujoco-warp does not. `diverged()` finds such worlds and resets them to qpos0
  there, so the state is finite and the flag fires once per event, as with the CPU backend.
- **Whole-batch kernels.** mujoco-warp's `forward` and `set_const` run over every world; `forward(ids)`
  and `set_const(ids)` therefore recompute all worlds, which leaves the unselected ones unchanged.
- **Model adaptation.** mujoco-warp rejects a few model features MuJoCo accepts; `adapt_model_for_warp`
  changes the model as little as possible so it loads (see its docstring). The backend applies it to
  the model it is given; parity tests give both backends the same adapted model.

Nothing outside `robolearn/sim/warp.py` imports warp: `make_backend("warp", ...)` imports this module.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from typing import Any, TypeVar

import mujoco
import mujoco_warp as mjw
import numpy as np
import torch
import warp as wp

from robolearn.sim.base import INTEGRATION_FIELDS, STATE_FIELDS, SimBackend

CPU_OPT_IN_ENV = "ROBOLEARN_WARP_CPU"

# |x| above this counts as diverged; MuJoCo's mju_isBad uses the same bound (mjMAXVAL).
_MAXVAL = 1e10

# Model fields `set_const` writes. When a mass or inertia is randomized per world, these must be
# per-world too, or set_const would write world 0's values... into a (1, ...) array every world reads.
_SET_CONST_OUTPUTS = (
    "body_subtreemass", "dof_invweight0", "body_invweight0", "tendon_invweight0", "tendon_length0",
    "actuator_acc0", "actuator_biasprm",
)  # fmt: skip

# Disable flags mujoco-warp does not implement: warp behaves as if they were cleared.
_UNSUPPORTED_DISABLE = int(mujoco.mjtDisableBit.mjDSBL_MIDPHASE) | int(mujoco.mjtDisableBit.mjDSBL_AUTORESET)

_BOX_MESH = (int(mujoco.mjtGeom.mjGEOM_BOX), int(mujoco.mjtGeom.mjGEOM_MESH))

SpecOrModel = TypeVar("SpecOrModel", mujoco.MjSpec, mujoco.MjModel)


def adapt_model_for_warp(spec_or_model: SpecOrModel) -> SpecOrModel:
    """Change a model as little as possible so that mujoco-warp 3.14 accepts it.

    - **Margins on box/mesh colliders.** With MULTICCD on (MuJoCo's default) mujoco-warp refuses a
      box/mesh geom pair with a non-zero margin ("geom pair has non-zero margin with MULTICCD
      enabled"); with NATIVECCD on it refuses box-box pairs with a margin. The menagerie Go2 has 1 mm
      margins on its collision meshes. We zero the margin of every collidable box/mesh geom (and of
      explicit pairs between them) rather than disable MULTICCD, which would cut a flat
      mesh-on-mesh/box contact to one point; a 1 mm margin only makes contacts activate 1 mm early.
    - **Unsupported flags.** MIDPHASE and AUTORESET disable bits are cleared (warp has no midphase
      switch and never auto-resets; the backend resets diverged worlds itself) and the noslip solver is
      turned off (`noslip_iterations = 0`), which warp does not implement.

    An MjSpec is changed in place and returned (compile it afterwards); an MjModel is copied. A model
    that already loads is returned unchanged in content.
    """
    if isinstance(spec_or_model, mujoco.MjSpec):
        spec = spec_or_model
        spec.option.disableflags &= ~_UNSUPPORTED_DISABLE
        spec.option.noslip_iterations = 0
        multiccd = not spec.option.disableflags & int(mujoco.mjtDisableBit.mjDSBL_MULTICCD)
        nativeccd = not spec.option.disableflags & int(mujoco.mjtDisableBit.mjDSBL_NATIVECCD)
        for geom in spec.geoms:
            collides = geom.contype or geom.conaffinity
            if collides and geom.margin and _margin_rejected(int(geom.type), multiccd, nativeccd):
                geom.margin = 0.0
        for pair in spec.pairs:
            g1, g2 = spec.geom(pair.geomname1), spec.geom(pair.geomname2)
            if pair.margin and int(g1.type) in _BOX_MESH and int(g2.type) in _BOX_MESH:
                pair.margin = 0.0
        return spec

    model = copy.copy(spec_or_model)
    model.opt.disableflags &= ~_UNSUPPORTED_DISABLE
    model.opt.noslip_iterations = 0
    multiccd = not model.opt.disableflags & int(mujoco.mjtDisableBit.mjDSBL_MULTICCD)
    nativeccd = not model.opt.disableflags & int(mujoco.mjtDisableBit.mjDSBL_NATIVECCD)
    collides = (model.geom_contype != 0) | (model.geom_conaffinity != 0)
    for g in np.nonzero(collides & (model.geom_margin != 0))[0]:
        if _margin_rejected(int(model.geom_type[g]), multiccd, nativeccd):
            model.geom_margin[g] = 0.0
    for p in range(model.npair):
        types = int(model.geom_type[model.pair_geom1[p]]), int(model.geom_type[model.pair_geom2[p]])
        if model.pair_margin[p] and all(t in _BOX_MESH for t in types):
            model.pair_margin[p] = 0.0
    return model


def _margin_rejected(geom_type: int, multiccd: bool, nativeccd: bool) -> bool:
    if geom_type == int(mujoco.mjtGeom.mjGEOM_MESH):
        return multiccd
    if geom_type == int(mujoco.mjtGeom.mjGEOM_BOX):
        return multiccd or nativeccd
    return False


def resolve_device(device: str | None = None) -> str:
    """The warp device to run on: CUDA when present; warp's CPU device only when asked for.

    mujoco-warp on its CPU device is 5-12x slower than one MuJoCo C core per world, so falling back to
    it silently would turn a GPU run into a crawl. Opt in with `device="cpu"` or ROBOLEARN_WARP_CPU=1.
    """
    if device is None and os.environ.get(CPU_OPT_IN_ENV, "") not in ("", "0"):
        device = "cpu"
    if device is not None and str(device).startswith("cpu"):
        return "cpu"
    if wp.get_cuda_device_count() == 0:
        raise RuntimeError(
            "backend 'warp' found no CUDA device. On a machine without an NVIDIA GPU use --backend cpu "
            "(mjbatch, much faster there). To run mujoco-warp on its CPU device anyway (tests, debugging; "
            f"5-12x slower than the cpu backend), pass device='cpu' or set {CPU_OPT_IN_ENV}=1."
        )
    return str(device) if device is not None else "cuda:0"


def _default_njmax(model: mujoco.MjModel, data: mujoco.MjData) -> int:
    """Constraint rows per world. A world over njmax silently loses constraints in mujoco-warp.

    mujoco-warp's own guess (64 rows for Go2) overflows as soon as the four feet touch with condim 6
    (10 pyramidal rows each) and a few limits are hit; size for twice the standing contacts (at least
    16) at the model's widest contact, plus every limit, equality and friction-loss row.
    """
    condim = int(model.geom_condim.max()) if model.ngeom else 1
    rows = condim if model.opt.cone == mujoco.mjtCone.mjCONE_ELLIPTIC else max(1, 2 * (condim - 1))
    contacts = max(16, 2 * data.ncon)
    other = int(model.jnt_limited.sum()) + 6 * model.neq + int((model.dof_frictionloss > 0).sum())
    return max(data.nefc, rows * contacts + other)


def _torch_view(arr: Any) -> torch.Tensor:
    """A zero-copy torch view of a batched warp array, matrices flattened to rows of 9 like MjData."""
    t = wp.to_torch(arr, requires_grad=False)
    if t.ndim >= 2 and t.shape[-2:] == (3, 3):
        t = t.view(*t.shape[:-2], 9)
    return t


class WarpBackend(SimBackend):
    name = "warp"

    def __init__(self, model: mujoco.MjModel, num_worlds: int, device: str | None = None,
                 nconmax: int | None = None, njmax: int | None = None, use_graph: bool | None = None):  # fmt: skip
        """`nconmax`/`njmax`: contacts/constraint rows per world (mujoco-warp's heuristics if None)."""
        if num_worlds < 1:
            raise ValueError(f"num_worlds must be >= 1, got {num_worlds}")
        self.model = adapt_model_for_warp(model)
        self.num_worlds = num_worlds
        self._wp_device = wp.get_device(resolve_device(device))
        self.device = torch.device(wp.device_to_torch(self._wp_device))
        # CUDA graphs replay the whole substep loop as one launch; on the CPU device there is nothing
        # to gain (and warp cannot capture there).
        self._use_graph = self._wp_device.is_cuda if use_graph is None else use_graph
        host = mujoco.MjData(self.model)
        mujoco.mj_forward(self.model, host)  # put_data sizes contact buffers from the data's ncon/nefc
        if njmax is None:
            njmax = _default_njmax(self.model, host)
        with wp.ScopedDevice(self._wp_device):
            self._m = mjw.put_model(self.model)
            self._d = mjw.put_data(self.model, host, nworld=num_worlds, nconmax=nconmax, njmax=njmax)
        # Hitting the iteration cap is by design in light-solver models (menagerie *_mjx: 1 iteration)
        # and MuJoCo C is silent about it; keep warp's printed warnings for real overflows (contacts).
        capped = int(mjw.OverflowType.ITERATIONS) | int(mjw.OverflowType.LS_ITERATIONS)
        self._m.opt.warn_overflow = int(self._m.opt.warn_overflow) & ~capped
        for field in STATE_FIELDS:
            setattr(self, field, _torch_view(getattr(self._d, field)))
        self._expanded: dict[str, torch.Tensor] = {}
        self._graphs: dict[int, Any] = {}
        self.reset()

    # -- stepping ---------------------------------------------------------------------------------
    def _substeps(self, nsub: int) -> None:
        for _ in range(nsub):
            mjw.step(self._m, self._d)
        # mjw.step computes derived fields before integrating; one forward makes them (xpos,
        # sensordata, contacts) current with the new state, as mjbatch's forward=True does.
        mjw.forward(self._m, self._d)

    def step(self, nsub: int = 1) -> None:
        with wp.ScopedDevice(self._wp_device):
            if not self._use_graph:
                self._substeps(nsub)
                return
            graph = self._graphs.get(nsub)
            if graph is None:
                with wp.ScopedCapture() as capture:
                    self._substeps(nsub)
                graph = self._graphs[nsub] = capture.graph
            wp.capture_launch(graph)

    def _mask(self, ids: torch.Tensor | None) -> torch.Tensor | None:
        if ids is None:
            return None
        mask = torch.zeros(self.num_worlds, dtype=torch.bool, device=self.device)
        mask[ids.to(self.device, torch.long)] = True
        return mask

    def reset(self, ids: torch.Tensor | None = None, keyframe: int | None = None) -> None:
        if ids is not None and ids.numel() == 0:
            return
        mask = self._mask(ids)
        with wp.ScopedDevice(self._wp_device):
            if keyframe is None:
                mjw.reset_data(self._m, self._d, None if mask is None else wp.from_torch(mask))
            else:
                if not 0 <= keyframe < self.model.nkey:
                    raise ValueError(f"keyframe {keyframe} out of range: the model has {self.model.nkey}")
                key = torch.full((self.num_worlds,), keyframe, dtype=torch.int32, device=self.device)
                if mask is not None:
                    key[~mask] = -1  # warp leaves worlds with an invalid key index untouched
                mjw.reset_data_keyframe(self._m, self._d, wp.from_torch(key))
            mjw.forward(self._m, self._d)

    def forward(self, ids: torch.Tensor | None = None) -> None:
        if ids is not None and ids.numel() == 0:
            return
        # Recomputing unselected worlds from their unchanged state reproduces their derived fields.
        with wp.ScopedDevice(self._wp_device):
            mjw.forward(self._m, self._d)

    def diverged(self) -> torch.Tensor:
        bad = torch.zeros(self.num_worlds, dtype=torch.bool, device=self.device)
        for state in (self.qpos, self.qvel, self.qacc, self.ctrl):  # ctrl: as the CPU backend's BADCTRL
            bad |= ~torch.isfinite(state).all(-1) | (state.abs() > _MAXVAL).any(-1)
        if bool(bad.any()):
            # Stand in for MuJoCo's auto-reset: back to qpos0, so NaNs never outlive this call.
            self.reset(bad.nonzero(as_tuple=True)[0])
        return bad

    def _state_views(self) -> dict[str, torch.Tensor]:
        return {name: _torch_view(getattr(self._d, name)) for name in INTEGRATION_FIELDS
                if getattr(self._d, name, None) is not None}  # fmt: skip

    # -- model fields -------------------------------------------------------------------------------
    def _expand(self, name: str) -> torch.Tensor:
        """Give model field `name` a leading dimension of num_worlds (tiling its shared value)."""
        if name in self._expanded:
            return self._expanded[name]
        arr = getattr(self._m, name, None)
        if not isinstance(arr, wp.array):
            raise ValueError(
                f"cannot randomize model field {name!r} per world: not a mujoco-warp model array"
            )
        if arr.shape[0] != self.num_worlds:
            if arr.shape[0] != 1:
                raise ValueError(f"model field {name!r} has a leading dim of {arr.shape[0]}, expected 1")
            host = np.repeat(arr.numpy(), self.num_worlds, axis=0)
            arr = wp.array(host, dtype=arr.dtype, device=self._wp_device)
            setattr(self._m, name, arr)
            self._graphs.clear()  # captured graphs hold the old array's address
        view = _torch_view(arr)
        self._expanded[name] = view
        return view

    def model_field(self, name: str) -> torch.Tensor:
        field_spec = mjw.Model.__dataclass_fields__.get(name)
        shape = getattr(getattr(field_spec, "type", None), "shape", ())
        if not shape or shape[0] != "*":
            raise ValueError(
                f"cannot randomize model field {name!r} per world: mujoco-warp does not batch it"
            )
        return self._expand(name)

    def set_const(self, ids: torch.Tensor | None = None) -> None:
        del ids  # mujoco-warp recomputes every world; unchanged worlds get their old values back
        for name in _SET_CONST_OUTPUTS:
            arr = getattr(self._m, name)
            if arr.size:
                self._expand(name)
        meaninertia = self._m.stat.meaninertia
        if meaninertia.shape[0] != self.num_worlds:
            self._m.stat.meaninertia = wp.array(
                np.repeat(meaninertia.numpy(), self.num_worlds, axis=0), dtype=float, device=self._wp_device
            )
            self._graphs.clear()
        with wp.ScopedDevice(self._wp_device):
            mjw.set_const(self._m, self._d)
            # set_const runs kinematics at qpos0 in d's buffers; recompute derived fields from the state.
            mjw.forward(self._m, self._d)

    # -- queries ------------------------------------------------------------------------------------
    def ray(self, pnt: torch.Tensor, vec: torch.Tensor, flg_static: bool = True,
            geomgroup: Sequence[int] | None = None) -> torch.Tensor:  # fmt: skip
        return self.ray_hits(pnt, vec, flg_static, geomgroup)[0]

    def ray_hits(self, pnt: torch.Tensor, vec: torch.Tensor, flg_static: bool = True,
                 geomgroup: Sequence[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        n, nray = pnt.shape[:2]
        if n != self.num_worlds:
            raise ValueError(f"pnt must be (num_worlds={self.num_worlds}, R, 3), got {tuple(pnt.shape)}")
        p = pnt.detach().to(self.device, torch.float32).contiguous()
        v = vec.detach().to(self.device, torch.float32).contiguous()
        dist = torch.empty(n, nray, dtype=torch.float32, device=self.device)
        geom = torch.empty(n, nray, dtype=torch.int32, device=self.device)
        with wp.ScopedDevice(self._wp_device):
            # All -1 means "every group", like a NULL geomgroup in mj_ray.
            group = [-1.0] * 6 if geomgroup is None else [float(g) for g in geomgroup]
            mjw.rays(
                self._m,
                self._d,
                wp.from_torch(p, dtype=wp.vec3),
                wp.from_torch(v, dtype=wp.vec3),
                wp.types.vector(6, float)(*group),
                flg_static,
                wp.full(nray, -1, dtype=int),
                wp.from_torch(dist),
                wp.from_torch(geom),
                wp.empty((n, nray), dtype=wp.vec3),
            )
        return dist, geom.long()

    def overflow(self) -> torch.Tensor:
        """(num_worlds,) int: mujoco-warp's overflow bitmask (contacts or constraints beyond nconmax/njmax)."""
        return wp.to_torch(self._d.overflow)
