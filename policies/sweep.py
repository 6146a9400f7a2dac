"""`robolearn sweep`: a grid of seeds and settings trained as Ray tasks, each trial a normal run folder, then a
summary (median and spread of the task's metric per setting) and an overlay of the learning curves.

    robolearn sweep Go2-Velocity-Flat --seeds 0 1 2 --set agent.learning_rate=1e-3,3e-4 [--address ray://head:10001]

Each trial is `robolearn train` with the setting's values laid over the task's configs (`--set` takes any
config field by its flag path, env.* or agent.*, and comma-separated values), then `robolearn eval` on the
held-out seed; the metric is the one the task names (TaskSpec.metric, eval.json's key). Trials are plain
Ray tasks rather than Ray Tune trials: a trial is one whole `train` + `eval` writing its own run folder, so
Tune's reporting loop, trial folders and checkpoint syncing would sit beside the project's own without
adding anything a grid needs (early stopping would, and is left for when a search space asks for it).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import tyro

from robolearn.policies.plain_config import to_plain
from robolearn.policies.runs import RunError, atomic_write_text


@dataclass
class SweepArgs:
    """Train a grid of seeds x settings as Ray tasks (local Ray, or a cluster's), then summarise and plot."""

    task: Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="TASK")]
    seeds: tuple[int, ...] = (0,)
    """Seeds of every setting (env.seed, which also seeds the learner)."""
    set: tuple[str, ...] = ()
    """Grid axes: FIELD=V1,V2,... by config path (agent.learning_rate=1e-3,3e-4 env.num_envs=256)."""
    address: str | None = None
    """Ray cluster (auto, host:6379, ray://host:10001); default: start Ray on this machine."""
    cpus_per_trial: float = 1.0
    """Cores a trial reserves; its torch and physics threads are set to match."""
    gpus_per_trial: float = 0.0
    """GPUs a trial reserves (0.5: two trials share one); above 0 trials train on cuda."""
    local_cpus: int | None = None
    """Cores of the local Ray (default: all); ignored with --address."""
    max_iterations: int | None = None
    """Every trial's agent.max_iterations (default: the task's preset)."""
    num_envs: int | None = None
    """Every trial's env.num_envs (default: the task's preset)."""
    time_limit_min: float | None = None
    """Each trial stops (checkpoint + export) after this many minutes of training."""
    eval_episodes: int = 32
    """Held-out episodes each trial is evaluated on (0: train only; the summary then has no metric)."""
    metric: str | None = None
    """eval.json's key summarised (default: the task's metric)."""
    logdir: Path = Path("runs/sweeps")
    """Sweep folders go to <logdir>/<task>/<name>/ (on a cluster: a folder every node shares)."""
    name: str | None = None
    """The sweep folder's name under <logdir>/<task>/ (default: a time stamp)."""


@dataclass(frozen=True)
class Trial:
    setting: tuple[tuple[str, str], ...]
    """(field path, value as typed) per grid axis."""
    seed: int
    name: str = ""
    """A method's name (benchmarks: dr, adv, hinf), the label instead of the setting's values."""
    task: str | None = None
    """The trial's own task (a benchmark comparing tasks), else the sweep's."""
    algo: str | None = None
    """The trial's learner (default: the task's)."""

    @property
    def label(self) -> str:
        return self.name or " ".join(f"{k.split('.')[-1]}={v}" for k, v in self.setting) or "defaults"

    @property
    def run_name(self) -> str:
        if self.name:
            return f"{self.name}-seed{self.seed}"
        return "_".join([*(f"{k.split('.')[-1]}={v}" for k, v in self.setting), f"seed{self.seed}"])


def parse_axes(sets: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    axes: list[tuple[str, list[str]]] = []
    for item in sets:
        path, eq, values = item.partition("=")
        parts = path.split(".")
        if not eq or parts[0] not in ("env", "agent") or len(parts) < 2 or not values.strip(","):
            raise RunError(f"--set {item!r}: expected env.FIELD=V1,V2 or agent.FIELD=V1,V2")
        if path in dict(axes):
            raise RunError(f"--set {path} is given twice; list its values once, comma-separated")
        axes.append((path, [v for v in values.split(",") if v]))
    return axes


def grid(seeds: tuple[int, ...], sets: tuple[str, ...]) -> list[Trial]:
    """Every setting (the cartesian product of the axes) with every seed."""
    if not seeds:
        raise RunError("--seeds: expected at least one seed")
    axes = parse_axes(sets)
    combos = itertools.product(*[[(path, v) for v in values] for path, values in axes])
    return [Trial(tuple(combo), seed) for combo in combos for seed in seeds]


def _value(text: str) -> Any:
    """A typed value: int, float, bool or null as written, else the text (YAML 1.1 reads 1e-3 as text)."""
    import yaml

    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return yaml.safe_load(text)


def apply_setting(env_cfg: Any, agent: Any, setting: tuple[tuple[str, str], ...]) -> tuple[Any, Any]:
    """The configs with the setting's fields replaced, checked and typed as config.yaml's are."""
    from robolearn.policies.plain_config import from_plain

    plain = {"env": to_plain(env_cfg), "agent": to_plain(agent)}
    for path, text in setting:
        node = plain
        parts = path.split(".")
        for i, part in enumerate(parts):
            key = part if part in node else part.replace("-", "_")
            if key not in node:
                raise RunError(f"--set {path}: {'.'.join(parts[: i + 1])} is not a config field")
            if i == len(parts) - 1:
                node[key] = _value(text)
            else:
                node = node[key]
    return from_plain(env_cfg, plain["env"], "--set env"), from_plain(agent, plain["agent"], "--set agent")


def run_trial(task: str, trial: Trial, logdir: str, args: SweepArgs, metric: str | None) -> dict[str, Any]:
    """One trial, in a Ray worker: train, evaluate, and hand back what the summary and the plot need (the
    driver may not see the worker's disk)."""
    from robolearn.policies import setup
    from robolearn.policies.cli import TrainArgs
    from robolearn.policies.evaluate import eval_run
    from robolearn.policies.runs import read_metrics
    from robolearn.policies.train import train

    device = "cuda" if args.gpus_per_trial > 0 else "cpu"
    task = trial.task or task
    algo = trial.algo or setup.default_algo(task)
    env_cfg, agent = setup.fold_num_envs(*setup.default_spec(task, algo, device))
    env_cfg, agent = apply_setting(env_cfg, agent, trial.setting)
    threads = max(1, int(args.cpus_per_trial))
    sim = dataclasses.replace(env_cfg.sim, num_threads=env_cfg.sim.num_threads or threads)
    env_cfg = dataclasses.replace(env_cfg, seed=trial.seed, sim=sim)
    if hasattr(agent, "torch_threads") and not agent.torch_threads:
        agent = dataclasses.replace(agent, torch_threads=threads)
    result = train(TrainArgs(task=task, algo=algo, env=env_cfg, agent=agent, device=device, logdir=Path(logdir),
                             run_name=trial.run_name, num_envs=args.num_envs, max_iterations=args.max_iterations,
                             time_limit_min=args.time_limit_min))  # fmt: skip
    curve = [(r.get("env_steps"), r.get("mean_return")) for r in read_metrics(result.run)]
    out: dict[str, Any] = {"run": str(result.run), "curve": curve}
    if args.eval_episodes > 0 and metric is not None:
        evaluation = eval_run(result.run, args.eval_episodes, quiet=True)
        out["metric"] = metric_value(evaluation, metric, result.run)
    return out


def metric_value(evaluation: dict[str, Any], metric: str, run: Path) -> float:
    """eval.json's value of `metric` (its mean where it holds a mean and a CI)."""
    value = evaluation.get(metric)
    if isinstance(value, dict):
        value = value.get("mean")
    if not isinstance(value, int | float):
        keys = sorted(k for k, v in evaluation.items() if isinstance(v, int | float | dict))
        raise RunError(f"{run}/eval.json: no numeric {metric!r}; its metrics: {', '.join(keys)}")
    return float(value)


def summarize(trials: list[Trial], outcomes: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Per setting: the metric's median over seeds, its spread (min, max, IQR), and the failed seeds."""
    rows = []
    for label in dict.fromkeys(t.label for t in trials):
        mine = [(t, o) for t, o in zip(trials, outcomes, strict=True) if t.label == label]
        spread = median_spread([o["metric"] for _, o in mine if "metric" in o])
        rows.append({
            "setting": label, "seeds": [t.seed for t, _ in mine], "n": spread["n"],
            f"median_{metric}": spread["median"], "min": spread["min"], "max": spread["max"], "iqr": spread["iqr"],
            "failed": {str(t.seed): o["error"] for t, o in mine if "error" in o},
        })  # fmt: skip
    return rows


def median_spread(values: list[float]) -> dict[str, float]:
    """Median over seeds and the spread: min, max and the inter-quartile range (NaN where undefined)."""
    nan = float("nan")
    if not values:
        return {"n": 0, "median": nan, "min": nan, "max": nan, "iqr": nan}
    q = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else [nan, nan, nan]
    return {"n": len(values), "median": statistics.median(values), "min": min(values), "max": max(values),
            "iqr": q[2] - q[0]}  # fmt: skip


def fmt_spread(values: list[float], fmt: str = ".3g") -> str:
    """'median [min, max]' of a measure over seeds, as the benchmark tables print it."""
    s = median_spread(values)
    return f"{s['median']:{fmt}} [{s['min']:{fmt}}, {s['max']:{fmt}}]" if s["n"] else "n/a"


def summary_markdown(rows: list[dict[str, Any]], metric: str, task: str) -> str:
    lines = [f"# {task}: {metric} per setting (median over seeds, spread min..max, IQR)", "",
             f"| setting | seeds | median {metric} | min | max | IQR | failed |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lines.append(f"| {r['setting']} | {r['n']}/{len(r['seeds'])} | {r[f'median_{metric}']:.4g} | "
                     f"{r['min']:.4g} | {r['max']:.4g} | {r['iqr']:.3g} | {len(r['failed'])} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def plot_overlay(trials: list[Trial], outcomes: list[dict[str, Any]], out_png: Path, title: str) -> Path:
    """Learning curves (mean return over env steps), one colour per setting, one line per seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    colours = plt.get_cmap("tab10")
    labels = list(dict.fromkeys(t.label for t in trials))
    for trial, outcome in zip(trials, outcomes, strict=True):
        pts = [(x, y) for x, y in outcome.get("curve", []) if x is not None and y is not None and y == y]
        if not pts:
            continue
        first = trial.seed == next(t.seed for t in trials if t.label == trial.label)
        xs, ys = zip(*pts, strict=True)
        ax.plot(xs, ys, color=colours(labels.index(trial.label) % 10), linewidth=1.2, alpha=0.8,
                label=trial.label if first else None)  # fmt: skip
    ax.set_xlabel("env steps")
    ax.set_ylabel("mean return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = out_png.with_name(f".{out_png.stem}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(out_png)
    return out_png


def sweep(args: SweepArgs) -> Path:
    """Run the grid; returns the sweep folder (trial run folders, summary.json, summary.md, curves.png)."""
    from rich.console import Console

    from robolearn.cluster import import_ray
    from robolearn.registry import get_task

    import_ray()  # Ray missing: its one-line hint before anything is made

    spec = get_task(args.task)  # an unknown task: the error lists the valid ones
    if spec.kind != "rl":
        raise RunError(f"{args.task} is an imitation task; sweep trains RL tasks")
    metric = args.metric or spec.metric
    trials = grid(args.seeds, args.set)
    _check_settings(args.task, trials)
    folder = Path(args.logdir) / args.task / (args.name or time.strftime("%Y%m%d-%H%M%S"))
    if (folder / "summary.json").exists():
        raise RunError(f"{folder} holds a finished sweep; give another --name")
    folder.mkdir(parents=True, exist_ok=True)
    console = Console()
    outcomes = run_grid(args, trials, folder, metric)
    rows = summarize(trials, outcomes, metric)
    data = {"task": args.task, "metric": metric, "settings": rows,
            "trials": [{"setting": t.label, "seed": t.seed, **{k: v for k, v in o.items() if k != "curve"}}
                       for t, o in zip(trials, outcomes, strict=True)]}  # fmt: skip
    atomic_write_text(folder / "summary.json", json.dumps(data, indent=1))
    atomic_write_text(folder / "summary.md", summary_markdown(rows, metric, args.task))
    plot_overlay(trials, outcomes, folder / "curves.png", f"{args.task}: {len(trials)} trials")
    console.print(summary_markdown(rows, metric, args.task))
    for t, o in zip(trials, outcomes, strict=True):
        if "error" in o:
            console.print(f"[red]failed:[/red] {t.run_name}: {o['error']}", soft_wrap=True)
    console.print(f"sweep folder: {folder}")
    return folder


def run_grid(args: SweepArgs, trials: list[Trial], folder: Path, metric: str | None) -> list[dict[str, Any]]:
    """Every trial as a Ray task (with a progress bar); per trial {"run", "curve", "metric"} or {"error"}.
    The benchmarks' --seeds call this with their own trials (methods x seeds) and evaluate the runs."""
    from rich.progress import Progress

    from robolearn.cluster import ray_map

    with Progress() as bar:
        job = bar.add_task(f"{args.task}: {len(trials)} trials", total=len(trials))
        results = ray_map(run_trial, [(args.task, t, str(folder), args, metric) for t in trials],
                          address=args.address, num_cpus=args.cpus_per_trial, num_gpus=args.gpus_per_trial,
                          local_cpus=args.local_cpus, done=lambda _r: bar.advance(job))  # fmt: skip
    return [_outcome(r) for r in results]


def _outcome(result: Any) -> dict[str, Any]:
    return {"error": result.error} if result.error is not None else dict(result.value)


def _check_settings(task: str, trials: list[Trial]) -> None:
    """Every setting laid over the task's configs here, before any trial starts: a typo fails the sweep
    at once, not as N failed trials."""
    from robolearn.policies import setup

    algo = setup.default_algo(task)
    env_cfg, agent = setup.fold_num_envs(*setup.default_spec(task, algo, "cpu"))
    for trial in {t.setting: t for t in trials}.values():
        apply_setting(env_cfg, agent, trial.setting)


def sweep_main(args: SweepArgs) -> int:
    from robolearn.cluster import RayUnavailable

    try:
        folder = sweep(args)
    except (RunError, RayUnavailable, ValueError, KeyError) as exc:
        import sys

        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {message}", file=sys.stderr)
        return 2
    data = json.loads((folder / "summary.json").read_text())
    return 1 if any(r["failed"] for r in data["settings"]) else 0
