"""`robolearn quickstart`: train Go2 until it walks (or a wall-time cap), then evaluate, export, render, plot.

Training runs in chunks of `check_every` iterations; each chunk resumes the run, which continues bit for bit
(optimizer, normalizer, worlds, generators), so the chunks train exactly as one run would. After a chunk
whose training-time lin-vel error is within the bar, the newest checkpoint is evaluated on held-out
episodes; training stops at the first that meets the walking bar (policies/walking_bar.py). Evaluation
time is not training time: the times printed are the checkpoints' own training wall times.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from robolearn.gl import RenderUnavailable, render_skipped
from robolearn.policies.cli import TrainArgs
from robolearn.policies.evaluate import eval_run, play_run
from robolearn.policies.plots import plot_runs
from robolearn.policies.presets import default_agent_cfg
from robolearn.policies.runs import load_checkpoint, read_metrics
from robolearn.policies.train import TrainResult, train
from robolearn.policies.walking_bar import BAR_ERROR_XY, BAR_FAILURE_RATE, TASK, passes

EVAL_EPISODES = 100
"""Held-out episodes per check: the walking bar's count (falls < 5% means at most 4 of 100)."""
TRAIN_ERROR_FILTER = 1.2
"""A check runs the held-out episodes once the chunk's median training lin-vel error is within this factor
of the bar's."""


@dataclass
class WalkResult:
    run: Path
    checkpoint: Path
    walked: bool
    train_s: float
    """Training wall time of the final checkpoint (evaluation excluded)."""
    env_steps: int
    evaluation: dict[str, Any] | None
    """The held-out evaluation of `checkpoint` (eval_run's result, also in run/eval.json), None if the
    final checkpoint was not evaluated."""


def train_until_walking(logdir: Path, max_minutes: float, check_every: int, num_envs: int,
                        episodes: int = EVAL_EPISODES, console: Console | None = None,
                        max_iterations: int = 0) -> WalkResult:  # fmt: skip
    """Train the task's CPU preset until a checkpoint meets the walking bar, `max_minutes` of training or
    `max_iterations` (0: no cap), whichever comes first."""
    if max_minutes <= 0 or check_every < 1 or max_iterations < 0:
        raise ValueError(f"need max_minutes > 0, check_every >= 1 and max_iterations >= 0, got {max_minutes}, "
                         f"{check_every} and {max_iterations}")  # fmt: skip
    console = console or Console()

    def chunk_end(done: int) -> int:
        return min(done + check_every, max_iterations) if max_iterations else done + check_every

    agent = dataclasses.replace(
        default_agent_cfg(TASK), num_envs=num_envs, max_iterations=chunk_end(0), save_interval=check_every
    )
    result: TrainResult = train(TrainArgs(task=TASK, logdir=logdir, run_name="quickstart", agent=agent,
                                          time_limit_min=max_minutes))  # fmt: skip
    while True:
        evaluation: dict[str, Any] | None = None
        state = load_checkpoint(result.run, result.checkpoint)[1]
        train_s, env_steps = float(state["wall_time"]), int(state["env_steps"])
        chunk = [r for r in read_metrics(result.run) if r["iteration"] >= state["iteration"] - check_every]
        train_err = statistics.median(float(r.get("Metrics/error_vel_xy", 0.0)) for r in chunk)
        where = f"{train_s / 60:.1f} min, {env_steps / 1e6:.2f}M env steps"
        # A cheap filter before the held-out episodes (~100k env steps): the chunk's median training error,
        # within 1.2x the bar. One iteration's error swings +-0.1 m/s and the training commands are the
        # curriculum's, so neither tracks the held-out error closely: Go2 seed 0 met the bar at iteration 450
        # with a last-iteration training error of 0.286 m/s (chunk median 0.250), and missed it at 250 with a
        # chunk median of 0.258.
        if train_err <= TRAIN_ERROR_FILTER * BAR_ERROR_XY:
            evaluation = eval_run(result.run, episodes, checkpoint=result.checkpoint, quiet=True)
            err, falls = evaluation["error_vel_xy"]["mean"], evaluation["failure_rate"]["mean"]
            console.print(f"{where}: held-out lin-vel error {err:.3f} m/s, falls {falls:.0%}")
            if passes(evaluation):
                return WalkResult(result.run, result.checkpoint, True, train_s, env_steps, evaluation)
        else:
            console.print(f"{where}: training lin-vel error {train_err:.3f} m/s (median of the last {len(chunk)} "
                          "iterations), not yet near the bar")
        capped = max_iterations and state["iteration"] >= max_iterations
        if result.interrupted or capped or train_s >= max_minutes * 60:
            return WalkResult(result.run, result.checkpoint, False, train_s, env_steps, evaluation)
        result = train(TrainArgs(resume=result.run, max_iterations=chunk_end(state["iteration"]),
                                 time_limit_min=max_minutes - train_s / 60))  # fmt: skip


def quickstart(logdir: Path = Path("runs"), max_minutes: float = 20.0, check_every: int = 50, num_envs: int = 512,
               max_iterations: int = 0) -> dict[str, Path | str]:  # fmt: skip
    console = Console()
    t0 = time.perf_counter()
    console.rule(
        f"1/4 train {TASK} until it walks: {num_envs} worlds, at most {max_minutes:g} min of training"
    )
    console.print(f"walking bar: lin-vel error <= {BAR_ERROR_XY} m/s and falls < {BAR_FAILURE_RATE:.0%} over "
                  f"{EVAL_EPISODES} held-out episodes, checked every {check_every} iterations")  # fmt: skip
    walk = train_until_walking(logdir, max_minutes, check_every, num_envs, console=console,
                               max_iterations=max_iterations)  # fmt: skip
    run = walk.run
    console.rule("2/4 evaluate on held-out seeds")
    evaluation = walk.evaluation or eval_run(run, episodes=EVAL_EPISODES, checkpoint=walk.checkpoint)
    console.rule("3/4 video")
    video: Path | str
    try:
        video = play_run(run, steps=200)
    except RenderUnavailable as exc:
        render_skipped("the video", exc)
        video = f"skipped ({exc})"
    console.rule("4/4 learning curves")
    curves = plot_runs([run], run / "learning_curves.png")
    files: dict[str, Path | str] = {
        "run folder": run,
        "config": run / "config.yaml",
        "checkpoint": walk.checkpoint,
        "metrics": run / "metrics.jsonl",
        "evaluation": run / "eval.json",
        "policy (ONNX)": run / "policy.onnx",
        "export contract": run / "policy.json",
        "policy (TorchScript)": run / "policy.pt",
        "video": video,
        "learning curves": curves,
    }
    table = Table(title="quickstart outputs")
    table.add_column("what")
    table.add_column("where", overflow="fold")
    for what, path in files.items():
        table.add_row(what, str(path))
    console.print(table)
    err, falls = evaluation["error_vel_xy"]["mean"], evaluation["failure_rate"]["mean"]
    took = f"{walk.train_s / 60:.1f} min of training ({walk.env_steps / 1e6:.2f}M env steps), " \
           f"{(time.perf_counter() - t0) / 60:.1f} min in all"  # fmt: skip
    if walk.walked:
        console.print(f"[green]Go2 walks: lin-vel error {err:.3f} m/s, falls {falls:.0%} after {took}[/]")
    else:
        console.print(f"[yellow]not walking yet after {took} (the cap): lin-vel error {err:.3f} m/s, falls "
                      f"{falls:.0%}; continue with: robolearn train --resume {run} --max-iterations 1500[/]")  # fmt: skip
    console.print(f"tensorboard --logdir {logdir}")
    return files
