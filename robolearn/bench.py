"""Throughput of a task's env against raw mjbatch stepping of the same model (the physical limit)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch

from robolearn.core.cfg import EnvCfg
from robolearn.core.env import ManagerBasedRlEnv


def raw_steps_per_s(model, num_envs: int, threads: int, decimation: int, steps: int) -> float:
    """Env-steps/s of bare mjbatch: `decimation` substeps per step, random controls around the home pose."""
    import mjbatch

    batch = mjbatch.Batch(model, num_envs, threads or 0, forward=True)
    ctrl = batch.bind("ctrl")
    batch.reset(keyframe=0 if model.nkey else -1)
    lo, hi = model.actuator_ctrlrange[:, 0], model.actuator_ctrlrange[:, 1]
    rng = np.random.default_rng(0)
    home = model.key_ctrl[0] if model.nkey else np.zeros(model.nu)
    noise = 0.1 * rng.standard_normal((8, num_envs, model.nu))
    batch.step(nstep=decimation)
    start = time.perf_counter()
    for i in range(steps):
        ctrl[:] = np.clip(home + noise[i % 8], lo, hi)
        batch.step(nstep=decimation)
    return num_envs * steps / (time.perf_counter() - start)


def env_steps_per_s(env: ManagerBasedRlEnv, steps: int) -> float:
    """Env-steps/s of the full task (observations, rewards, resets) under random actions."""
    gen = torch.Generator().manual_seed(0)
    actions = [0.5 * torch.randn(env.num_envs, env.num_actions, generator=gen) for _ in range(8)]
    env.step(actions[0])
    start = time.perf_counter()
    for i in range(steps):
        env.step(actions[i % 8])
    return env.num_envs * steps / (time.perf_counter() - start)


@dataclass
class BenchResult:
    num_envs: int
    threads: int
    decimation: int
    raw: float
    env: float

    @property
    def ratio(self) -> float:
        return self.env / self.raw


def bench_task(cfg: EnvCfg, steps: int = 0, repeats: int = 3) -> BenchResult:
    """Median of `repeats` alternating timed runs of the env and of raw stepping."""
    env = ManagerBasedRlEnv(cfg)
    steps = steps or max(20, int(60000 / cfg.num_envs))
    raw, ours = [], []
    for _ in range(repeats):
        raw.append(raw_steps_per_s(env.scene.model, cfg.num_envs, cfg.sim.num_threads, cfg.decimation, steps))
        ours.append(env_steps_per_s(env, steps))
    env.close()
    return BenchResult(
        cfg.num_envs, cfg.sim.num_threads, cfg.decimation, statistics.median(raw), statistics.median(ours)
    )
