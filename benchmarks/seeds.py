"""`--seeds` for the benchmarks: each method trained once per seed through `robolearn sweep`'s Ray grid (a
local Ray, or a cluster's with --address), the runs evaluated by the benchmark's own code, and each measure
reported as its median over seeds with the spread [min, max].

    python benchmarks/train_go2.py --seeds 0 1 2 --budget-min 20                       # Ray on this machine
    python benchmarks/train_go2.py --seeds 0 1 2 3 4 5 6 7 --address ray://head:10001 --gpus-per-trial 1

On a cluster every node needs robolearn installed and the robot models at $MENAGERIE_ROOT, and --seeds-logdir
must be a folder all nodes share (the runs are written by the nodes, read back here).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from robolearn.policies.sweep import SweepArgs, Trial, fmt_spread, run_grid


def add_seed_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("seeds (through robolearn sweep on Ray)")
    g.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="train every method once per seed as Ray tasks, then report median [min, max]")  # fmt: skip
    _ray_options(g)


def add_ray_args(parser: argparse.ArgumentParser) -> None:
    """For a benchmark with its own --seeds that trains them in-process by default: --ray trains them as Ray
    tasks instead (`a.ray`), with the same options."""
    g = parser.add_argument_group("Ray (train the seeds through robolearn sweep)")
    g.add_argument("--ray", action="store_true", help="train the seeds as Ray tasks (this machine or --address)")
    _ray_options(g)


def _ray_options(g: argparse._ArgumentGroup) -> None:
    g.add_argument("--address", default=None, help="Ray cluster address (default: Ray on this machine)")
    g.add_argument("--cpus-per-trial", type=float, default=1.0)
    g.add_argument("--gpus-per-trial", type=float, default=0.0)
    g.add_argument("--seeds-logdir", type=Path, default=Path("runs/seeds"),
                   help="where the trials' run folders go (a shared folder on a cluster)")  # fmt: skip


def train_methods(
    bench: str, methods: dict[str, dict[str, Any]], a: argparse.Namespace, *, max_iterations: int | None = None,
    num_envs: int | None = None, time_limit_min: float | None = None,
) -> dict[str, dict[int, Path]]:  # fmt: skip
    """method -> seed -> run folder. `methods` maps a name to its task, algo (optional) and setting (config
    field path -> value, as `robolearn sweep --set` takes them). A failed trial is reported and left out."""
    first = next(iter(methods.values()))
    args = SweepArgs(task=first["task"], seeds=tuple(a.seeds), address=a.address, cpus_per_trial=a.cpus_per_trial,
                     gpus_per_trial=a.gpus_per_trial, max_iterations=max_iterations, num_envs=num_envs,
                     time_limit_min=time_limit_min, eval_episodes=0)  # fmt: skip
    trials = [Trial(tuple((k, str(v)) for k, v in m.get("setting", {}).items()), seed, name, m["task"], m.get("algo"))
              for name, m in methods.items() for seed in a.seeds]  # fmt: skip
    folder = Path(a.seeds_logdir) / bench / time.strftime("%Y%m%d-%H%M%S")
    folder.mkdir(parents=True, exist_ok=True)
    runs: dict[str, dict[int, Path]] = {}
    for trial, outcome in zip(trials, run_grid(args, trials, folder, None), strict=True):
        if "error" in outcome:
            print(f"failed: {trial.run_name}: {outcome['error']}", flush=True)
        else:
            runs.setdefault(trial.name, {})[trial.seed] = Path(outcome["run"])
    return runs


def spread_table(rows: list[dict[str, Any]], measures: list[tuple[str, str, str]], group: str = "method") -> str:
    """Markdown: per `group` value, the seeds and each measure's median [min, max] (measures: key, title,
    format)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(str(r[group]), []).append(r)
    lines = [f"| {group} | seeds | " + " | ".join(t for _, t, _ in measures) + " |",
             "|---|---|" + "---|" * len(measures)]  # fmt: skip
    for name, rs in groups.items():
        cells = " | ".join(fmt_spread([float(r[k]) for r in rs], f) for k, _, f in measures)
        lines.append(f"| {name} | {len(rs)} | {cells} |")
    return "\n".join(lines)
