"""Where a training iteration's wall time goes, and training's env-steps/s against raw physics.

The PPO loop adds each part of an iteration to an `IterationClock`; its `row()` becomes metrics.jsonl
columns `time/<share>`, which `time_shares` sums over a run. `raw_physics_rate` steps the run's own
model with the same substeps and threads in bare mjbatch (robolearn.bench), the limit training is held to.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any

import torch

import robolearn

SHARES = {
    "physics": "physics (mjbatch step)",
    "terms": "obs / reward / reset terms",
    "inference": "policy inference + rollout storage",
    "update": "PPO update",
    "log": "logging + checkpointing",
}
"""The time shares of an iteration, in the order they are printed."""


@dataclass
class IterationClock:
    """Seconds of one iteration by share (see SHARES)."""

    physics: float = 0.0
    terms: float = 0.0
    inference: float = 0.0
    update: float = 0.0
    log: float = 0.0

    def row(self) -> dict[str, float]:
        return {f"time/{share}": seconds for share, seconds in self.row_shares().items()}

    def row_shares(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


ALL_THREADS = int(os.environ.get("OMP_NUM_THREADS") or 0) or len(os.sched_getaffinity(0))
"""Every core this process may run on (or OMP_NUM_THREADS): what `update_threads = 0` means."""


def update_threads(n: int) -> int:
    """Threads for a PPO update configured as `n` (0: every core, if torch's OpenMP threads sleep at
    barriers; spinning ones fight the physics threads and other jobs, so the update then keeps the
    current count)."""
    if n > 0:
        return n
    return ALL_THREADS if robolearn.OPENMP_THREADS_SLEEP else torch.get_num_threads()


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with `n` torch threads (0: leave them as they are), then restore the count."""
    before = torch.get_num_threads()
    if n > 0 and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


@contextlib.contextmanager
def timed(clock: IterationClock, share: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        setattr(clock, share, getattr(clock, share) + time.perf_counter() - start)


def time_shares(rows: Iterable[dict[str, Any]]) -> dict[str, float]:
    """Total seconds of each share over metrics rows (rows written before the clock existed count 0)."""
    totals = dict.fromkeys(SHARES, 0.0)
    for row in rows:
        for share in SHARES:
            totals[share] += float(row.get(f"time/{share}", 0.0))
    return totals


def format_shares(totals: dict[str, float], env_steps: int, raw_rate: float | None) -> list[str]:
    """A markdown table of the shares, then the end-to-end env-steps/s and its ratio to raw physics."""
    wall = sum(totals.values())
    lines = ["| share | seconds | % of wall |", "|---|---|---|"]
    for share, label in SHARES.items():
        lines.append(f"| {label} | {totals[share]:.1f} | {100 * totals[share] / max(wall, 1e-9):.0f}% |")
    rate = env_steps / max(wall, 1e-9)
    lines.append("")
    line = f"training: {env_steps:,} env steps in {wall:.1f} s = {rate:,.0f} env-steps/s"
    if raw_rate:
        line += f"; raw physics {raw_rate:,.0f} env-steps/s (same model, substeps, threads): ratio {rate / raw_rate:.2f}"
    lines.append(line)
    return lines


def raw_physics_rate(env_cfg: Any, seconds: float = 3.0) -> float:
    """Env-steps/s of bare mjbatch on the task's compiled training model, `decimation` substeps a step."""
    from robolearn.bench import raw_steps_per_s
    from robolearn.scene import build_scene

    # The model exactly as the env compiles it (ManagerBasedRlEnv: the scene at the sim's timestep).
    scene = build_scene(dataclasses.replace(env_cfg.scene, timestep=env_cfg.sim.dt))
    steps = max(10, int(seconds * 20_000 / env_cfg.num_envs))  # ~`seconds` at Go2's ~20k env-steps/s
    return raw_steps_per_s(scene.model, env_cfg.num_envs, env_cfg.sim.num_threads, env_cfg.decimation, steps)


def bench_training(task: str, env_cfg: Any, iterations: int, raw_rate: float) -> list[str]:
    """Train `task`'s PPO preset for `iterations` in a temporary folder: its time shares and ratio to raw."""
    import tempfile
    from pathlib import Path

    from robolearn.policies.cli import TrainArgs
    from robolearn.policies.presets import default_agent_cfg
    from robolearn.policies.runs import read_metrics
    from robolearn.policies.train import train

    # The bench's env config (its --num-envs) owns the worlds, not the preset.
    agent = dataclasses.replace(
        default_agent_cfg(task), num_envs=None, max_iterations=iterations, save_interval=iterations
    )
    with tempfile.TemporaryDirectory() as tmp:
        run = train(TrainArgs(task=task, logdir=Path(tmp), env=env_cfg, agent=agent)).run
        rows = read_metrics(run)
    title = f"{task}: {iterations} PPO iterations of its preset, where the wall time went"
    return [title, "", *format_shares(time_shares(rows), rows[-1]["env_steps"], raw_rate)]
