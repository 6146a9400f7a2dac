"""`robolearn eval <folder of runs> [--ray local|ADDRESS]`: every run under a folder evaluated, one after
another in this process or as Ray tasks, each writing its own <run>/eval.json exactly as `robolearn eval
<run>` does (atomically); a run that fails is reported with its error and never stops the others."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from robolearn.policies.runs import RunError, iter_runs

if TYPE_CHECKING:
    from robolearn.policies.cli import EvalArgs


def eval_one(run: str, episodes: int, seed: int, disturbance: str, suite: str) -> dict[str, Any]:
    """One run's evaluation (a Ray task or a local call): the task and its metric's value, for the table."""
    from robolearn.policies import setup
    from robolearn.policies.evaluate import eval_run
    from robolearn.policies.sweep import metric_value
    from robolearn.registry import get_task

    result = eval_run(Path(run), episodes, seed, disturbance=disturbance, suite=suite, quiet=True)
    task = setup.spec_from_run(Path(run)).task
    metric = get_task(task).metric
    return {"task": task, "metric": metric, "value": metric_value(result, metric, Path(run))}


def is_many(args: EvalArgs) -> bool:
    """A folder holding runs (not a run itself, ours or Isaac Lab's), or --ray (which only a folder of runs takes)."""
    from robolearn.sim2real.isaaclab_run import is_isaaclab_run

    run = Path(args.run)
    return args.ray is not None or (
        run.is_dir() and not (run / "config.yaml").is_file() and not is_isaaclab_run(run)
    )


def eval_many(args: EvalArgs) -> int:
    """Exit status: 0 every run evaluated, 1 some failed (each reported), 2 bad arguments."""
    from robolearn.cluster import RayUnavailable, import_ray

    if args.ray is not None:
        try:
            import_ray()  # Ray missing: its one-line hint before anything else
        except RayUnavailable as exc:
            raise RunError(str(exc)) from None
    if (Path(args.run) / "config.yaml").is_file() or not Path(args.run).is_dir():
        raise RunError(f"--ray evaluates a folder of runs; {args.run} is one run (or not a folder)")
    try:
        return _eval_many(args)
    except RayUnavailable as exc:
        raise RunError(str(exc)) from None


def _eval_many(args: EvalArgs) -> int:
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import Progress
    from rich.table import Table

    runs = list(iter_runs([Path(args.run)]))
    if not runs:
        raise RunError(f"{args.run}: no run folders (with config.yaml) below it")
    if args.out is not None or args.checkpoint is not None:
        raise RunError(f"{args.run} holds {len(runs)} runs: each writes its own <run>/eval.json from its "
                       "latest checkpoint; expected no --out or --checkpoint")  # fmt: skip
    items = [(str(r), args.episodes, args.seed, args.disturbance, args.suite) for r in runs]
    outcomes: dict[int, tuple[dict[str, Any] | None, str | None]] = {}
    console = Console()
    where = f"Ray ({args.ray})" if args.ray is not None else "this process"
    with Progress(console=console) as bar:
        job = bar.add_task(f"eval {len(runs)} runs on {where}", total=len(runs))
        if args.ray is not None:
            from robolearn.cluster import ray_map

            def done(result: Any) -> None:
                outcomes[result.index] = (result.value, result.error)
                bar.advance(job)

            ray_map(eval_one, items, address=args.ray, done=done)
        else:
            for i, item in enumerate(items):
                try:
                    outcomes[i] = (eval_one(*item), None)
                except (RunError, ValueError, FileNotFoundError, KeyError) as exc:
                    outcomes[i] = (None, str(exc))
                bar.advance(job)
    table = Table(title=f"{args.episodes} episodes each, seed {args.seed}")
    for col in ("run", "task", "metric", "value"):
        table.add_column(col, overflow="fold")
    for i, run in enumerate(runs):
        value, error = outcomes[i]
        if value is None:
            table.add_row(str(run), "", "", "failed")
        else:
            table.add_row(str(run), value["task"], value["metric"], f"{value['value']:.4g}")
    console.print(table)
    failed = {runs[i]: err for i, (_, err) in outcomes.items() if err is not None}
    console.print(f"{len(runs) - len(failed)} of {len(runs)} runs evaluated (each wrote <run>/eval.json)")
    for run, error in sorted(failed.items()):
        print(f"failed: {run}: {escape(error or 'failed')}", file=sys.stderr)
    return 1 if failed else 0
