"""Simulation backends behind one interface: `cpu` (mjbatch, default) and `warp` (mujoco-warp, GPU)."""

from __future__ import annotations

import mujoco

from robolearn.sim.base import SimBackend
from robolearn.sim.mjlog import keep_mujoco_log_out_of_cwd, set_mujoco_log_file

BACKENDS = ("cpu", "warp")


def make_backend(name: str, model: mujoco.MjModel, num_worlds: int, num_threads: int = 0,
                 device: str | None = None) -> SimBackend:  # fmt: skip
    keep_mujoco_log_out_of_cwd()
    if name == "cpu":
        from robolearn.sim.cpu import CpuBackend

        return CpuBackend(model, num_worlds, num_threads)
    if name == "warp":
        try:
            import mujoco_warp  # noqa: F401
            import warp  # noqa: F401
        except ImportError as exc:
            raise RuntimeError(
                "backend 'warp' needs mujoco-warp and warp-lang: pip install 'robolearn[gpu]' (and a CUDA GPU)"
            ) from exc
        from robolearn.sim.warp import WarpBackend

        # device: a warp device ('cuda:0', 'cpu'); None picks CUDA and refuses to fall back to the CPU.
        return WarpBackend(model, num_worlds, device=device)
    raise ValueError(f"unknown backend {name!r}; valid backends: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "SimBackend", "make_backend", "set_mujoco_log_file"]
