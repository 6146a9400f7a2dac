"""CPU backend on mjbatch: a C++ thread pool over MuJoCo, GIL released, zero-copy views."""

from __future__ import annotations

import os
from collections.abc import Sequence

import mujoco
import numpy as np
import torch

from robolearn.sim.base import STATE_FIELDS, SimBackend


class CpuBackend(SimBackend):
    name = "cpu"

    def __init__(self, model: mujoco.MjModel, num_worlds: int, num_threads: int = 0):
        import mjbatch  # only the backend imports mjbatch

        if num_worlds < 1:
            raise ValueError(f"num_worlds must be >= 1, got {num_worlds}")
        self.model = model
        self.num_worlds = num_worlds
        self.device = torch.device("cpu")
        threads = num_threads or os.cpu_count() or 1
        # forward=True keeps derived fields (xpos, sensordata, ...) current with the state after each step.
        self._batch = mjbatch.Batch(model, num_worlds, min(threads, num_worlds), forward=True)
        self._np: dict[str, np.ndarray] = {}
        for field in STATE_FIELDS:
            arr = self._batch.bind(field)
            self._np[field] = arr
            setattr(self, field, torch.from_numpy(arr))
        self._warning = self._batch.bind("warning")  # (N, mjNWARNING, [lastinfo, number])
        bad = [
            mujoco.mjtWarning.mjWARN_BADQPOS,
            mujoco.mjtWarning.mjWARN_BADQVEL,
            mujoco.mjtWarning.mjWARN_BADQACC,
            # MuJoCo zeroes a NaN/inf control and steps on: the world is not diverged, but something
            # upstream (an IK or frozen-policy term) produced garbage, so it is reset and counted too.
            mujoco.mjtWarning.mjWARN_BADCTRL,
        ]
        ids = sorted(int(w) for w in bad)
        # Consecutive in mjtWarning: a slice reads them without the copy a list index makes every step.
        self._bad_warnings: slice | list[int] = slice(ids[0], ids[-1] + 1) if ids == list(range(ids[0], ids[-1] + 1)) else ids
        self._bad_count = self._warning[:, self._bad_warnings, 1].sum(-1)
        self._expanded: dict[str, torch.Tensor] = {}
        self._ray_dist: np.ndarray | None = None
        self._batch.reset()

    def step(self, nsub: int = 1) -> None:
        self._batch.step(nstep=nsub)

    def _ids(self, ids: torch.Tensor | None) -> np.ndarray | None:
        if ids is None:
            return None
        return np.ascontiguousarray(ids.detach().cpu().numpy().astype(np.int64))

    def reset(self, ids: torch.Tensor | None = None, keyframe: int | None = None) -> None:
        np_ids = self._ids(ids)
        if np_ids is not None and np_ids.size == 0:
            return
        self._batch.reset(np_ids, -1 if keyframe is None else keyframe)

    def forward(self, ids: torch.Tensor | None = None) -> None:
        np_ids = self._ids(ids)
        if np_ids is not None and np_ids.size == 0:
            return
        self._batch.forward(np_ids)

    def diverged(self) -> torch.Tensor:
        count = self._warning[:, self._bad_warnings, 1].sum(-1)
        # mj_resetData clears the counters, so a drop also means the count was reset: compare for change.
        flagged = count != self._bad_count
        self._bad_count = count  # a new array (the sum), not a view of the live counters
        qpos, qvel = self._np["qpos"], self._np["qvel"]
        # The usual step: every world finite, checked over whole arrays (6 us at N=512; per world: 29 us).
        if np.isfinite(qpos).all() and np.isfinite(qvel).all():
            return torch.from_numpy(flagged & (count > 0))
        nonfinite = ~(np.isfinite(qpos).all(-1) & np.isfinite(qvel).all(-1))
        return torch.from_numpy(flagged & (count > 0) | nonfinite)

    def _state_views(self) -> dict[str, torch.Tensor]:
        # mjbatch keeps each world as one mjSTATE_INTEGRATION row: bind("state") is that storage (no copy),
        # so the whole state travels as one array, in mj_getState's layout.
        return {"state": torch.from_numpy(self._batch.bind("state"))}

    def model_field(self, name: str) -> torch.Tensor:
        if name not in self._expanded:
            try:
                self._expanded[name] = torch.from_numpy(self._batch.expand(name))
            except Exception as exc:
                raise ValueError(f"cannot randomize model field {name!r} per world: {exc}") from exc
        return self._expanded[name]

    def set_const(self, ids: torch.Tensor | None = None) -> None:
        self._batch.set_const(self._ids(ids))

    def ray(self, pnt: torch.Tensor, vec: torch.Tensor, flg_static: bool = True,
            geomgroup: Sequence[int] | None = None) -> torch.Tensor:  # fmt: skip
        p = np.ascontiguousarray(pnt.detach().cpu().numpy(), dtype=np.float64)
        v = np.ascontiguousarray(vec.detach().cpu().numpy(), dtype=np.float64)
        dist = np.empty(p.shape[:2], dtype=np.float64)
        group = None if geomgroup is None else np.asarray(geomgroup, dtype=np.uint8)
        self._batch.rays(p, v, dist, geomgroup=group, flg_static=flg_static)
        return torch.from_numpy(dist)

    def ray_hits(self, pnt: torch.Tensor, vec: torch.Tensor, flg_static: bool = True,
                 geomgroup: Sequence[int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        p = np.ascontiguousarray(pnt.detach().cpu().numpy(), dtype=np.float64)
        v = np.ascontiguousarray(vec.detach().cpu().numpy(), dtype=np.float64)
        dist = np.empty(p.shape[:2], dtype=np.float64)
        geom = np.empty(p.shape[:2], dtype=np.int32)
        group = None if geomgroup is None else np.asarray(geomgroup, dtype=np.uint8)
        self._batch.rays(p, v, dist, geomid=geom, geomgroup=group, flg_static=flg_static)
        return torch.from_numpy(dist), torch.from_numpy(geom).long()
