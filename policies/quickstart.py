"""`robolearn quickstart`: train a small Go2 policy, evaluate, export, render and plot, in minutes on a CPU."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rich.console import Console
from rich.table import Table

from robolearn.gl import RenderUnavailable, render_skipped
from robolearn.policies.cli import TrainArgs
from robolearn.policies.evaluate import eval_run, play_run
from robolearn.policies.plots import plot_runs
from robolearn.policies.presets import default_agent_cfg
from robolearn.policies.train import train

TASK = "Go2-Velocity-Flat"
EVAL_EPISODES = 32


def quickstart(
    logdir: Path = Path("runs"), max_iterations: int = 150, num_envs: int = 512
) -> dict[str, Path | str]:
    console = Console()
    # The task's own CPU preset (what `robolearn train Go2-Velocity-Flat` uses), cut short.
    agent = dataclasses.replace(
        default_agent_cfg(TASK), num_envs=num_envs, max_iterations=max_iterations,
        save_interval=max(max_iterations // 4, 1),
    )  # fmt: skip
    console.rule(f"1/4 train {TASK}: {num_envs} worlds, {max_iterations} iterations")
    result = train(TrainArgs(task=TASK, logdir=logdir, run_name="quickstart", agent=agent))
    run = result.run
    console.rule("2/4 evaluate on held-out seeds")
    eval_run(run, episodes=EVAL_EPISODES)
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
        "checkpoint": result.checkpoint,
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
    console.print(f"next: robolearn train {TASK} --max-iterations 1500   (tensorboard --logdir {logdir})")
    return files
