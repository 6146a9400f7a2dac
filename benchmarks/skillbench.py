"""SkillBench table: SkillBlender vs. flat PPO vs. the single-weight blender, accuracy and feasibility.

    python benchmarks/skillbench.py \
        --runs blender=runs/skillbench/H1-SkillBench-Reach/<run> \
               single-weight=runs/skillbench/H1-SkillBench-Reach/<run> \
               flat-ppo=runs/skillbench/H1-SkillBench-Reach/<run> --episodes 100

Each run is evaluated with `robolearn eval`'s code on the same held-out seed (deterministic actions, each
world's first episode): accuracy is the task's end-of-episode error in metres (TaskSpec.accuracy), success
is accuracy under `--success-m`, and feasibility is mean |joint jerk| (rad/s^3), mean mechanical power (W)
, foot slip (m/s), the share of steps with the robot touching itself, and the share with a joint in the
outer 5% of its range, from `SkillBenchMeter`. The training budget (env steps, wall time) comes from each
run's metrics.jsonl, so the table says what every method was given.

Seeds: label runs `<method>-seed<k>` (`blender-seed0=... blender-seed1=...`) and a second table gives each
method's median over its seeds, with the range. Or let the benchmark train them: `--seeds 0 1 2 --task
H1-SkillBench-ButtonPress --skills h1-walk h1-reach --time-limit-min 60` trains the three methods once per
seed as Ray tasks (benchmarks/seeds.py; --address for a cluster) and evaluates the runs it made. `--reuse` reads a run's `eval_skillbench.json` instead of
evaluating again when it was written for the same checkpoint, episodes and seed.

A last row per task gives its accuracy at reset on the first round of the same episodes: what moving nothing
scores (a package left on its pedestal, a door left ajar), the line any method must beat.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path
from typing import Any

from seeds import add_seed_args, train_methods  # benchmarks/seeds.py (run as a script)

from robolearn.policies import setup
from robolearn.policies.evaluate import EVAL_MAX_WORLDS, eval_run
from robolearn.policies.runs import atomic_write_text, pick_checkpoint
from robolearn.policies.skillblender import bench_accuracy
from robolearn.registry import get_task

FIELDS = (
    "return",
    "failure_rate",
    "accuracy_m",
    "jerk",
    "power_w",
    "foot_slip",
    "self_collision",
    "near_limit",
)


def training_budget(run: Path) -> dict[str, float]:
    """Env steps of a run's last logged iteration, and its training time as iterations x the median
    iteration time (collect + learn): a paused or resumed run's wall clock would overstate it."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    times = sorted(float(r.get("collect_time", 0.0)) + float(r.get("learn_time", 0.0)) for r in rows)
    median = times[len(times) // 2] if times else 0.0
    return {
        "env_steps": float(rows[-1].get("env_steps", 0)) if rows else 0.0,
        "train_min": median * len(rows) / 60,
    }


def evaluate(run: Path, episodes: int, seed: int, reuse: bool) -> dict[str, Any]:
    """`robolearn eval` of the run's latest checkpoint, or its saved result for the same checkpoint,
    episodes and seed (`reuse`)."""
    out = run / "eval_skillbench.json"
    if reuse and out.exists():
        saved = json.loads(out.read_text())
        same = (saved.get("episodes"), saved.get("seed"), saved.get("checkpoint"))
        if same == (episodes, seed, str(pick_checkpoint(run))):
            return saved
    return eval_run(run, episodes=episodes, seed=seed, out=out, quiet=True)


def accuracy_at_reset(task: str, episodes: int, seed: int) -> float:
    """The task's accuracy on the first round of the same held-out episodes, at reset: what a policy that
    moves nothing would score (for object tasks, an object left where it starts)."""
    n = min(episodes, EVAL_MAX_WORLDS)
    env = setup.make_env(setup.eval_env_cfg(get_task(task).env_cfg()), "cpu", num_envs=n, seed=seed)
    env.reset(seed=seed)
    return float(bench_accuracy(task)(env).mean())


def method_of(label: str) -> str:
    """`blender-seed1` -> `blender`: the rows a seed summary groups."""
    return re.sub(r"-seed\d+$", "", label)


def seed_summary(rows: list[dict[str, Any]], success_m: float) -> None:
    """Per task and method: the number of seeds, then the median over seeds [min, max] of each measure."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["task"], method_of(r["label"])), []).append(r)
    if all(len(g) == 1 for g in groups.values()):
        return
    print("\nPer method, over seeds: median [min, max]")
    print(
        f"| task | method | seeds | accuracy (m) | success (< {success_m} m) | falls | self-contact | near limit |"
    )
    print("|---|---|---|---|---|---|---|---|")

    def spread(group: list[dict[str, Any]], key: str, fmt: str) -> str:
        vals = [r[key] if key == "success_rate" else r[key]["mean"] for r in group]
        return f"{statistics.median(vals):{fmt}} [{min(vals):{fmt}}, {max(vals):{fmt}}]"

    for (task, method), group in groups.items():
        print(f"| {task} | {method} | {len(group)} | {spread(group, 'accuracy_m', '.3f')} | "
              f"{spread(group, 'success_rate', '.2f')} | {spread(group, 'failure_rate', '.2f')} | "
              f"{spread(group, 'self_collision', '.2f')} | {spread(group, 'near_limit', '.2f')} |")  # fmt: skip


def trained_labels(args: argparse.Namespace) -> list[str]:
    """--seeds: the blender, the single-weight blender and flat PPO trained per seed on Ray, as
    `<method>-seed<k>=<run>` labels for the tables."""
    if args.task is None:
        raise SystemExit("--seeds trains the methods on a task: give --task (e.g. H1-SkillBench-ButtonPress)")
    skills = "[" + ", ".join(args.skills) + "]"
    methods = {
        "blender": {"task": args.task, "algo": "skillblender", "setting": {"agent.skills": skills}},
        "single-weight": {"task": args.task, "algo": "skillblender",
                          "setting": {"agent.skills": skills, "agent.per_joint_weights": "false"}},
        "flat-ppo": {"task": args.task, "algo": "ppo"},
    }  # fmt: skip
    runs = train_methods("skillbench", methods, args, time_limit_min=args.time_limit_min)
    return [f"{m}-seed{seed}={run}" for m, by_seed in runs.items() for seed, run in sorted(by_seed.items())]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", nargs="+", default=[], help="label=run_folder pairs")
    p.add_argument("--task", default=None, help="--seeds: the SkillBench task to train")
    p.add_argument("--skills", nargs="+", default=["h1-walk", "h1-reach"], help="--seeds: the blenders' skills")
    p.add_argument("--time-limit-min", type=float, default=60.0, help="--seeds: training budget per run")
    add_seed_args(p)
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--seed", type=int, default=10_000)
    p.add_argument(
        "--success-m", type=float, default=0.1, help="an episode succeeds if its accuracy is below this"
    )
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/skillbench.json"))
    p.add_argument("--reuse", action="store_true", help="reuse each run's saved evaluation when it matches")
    args = p.parse_args()
    if args.seeds:
        args.runs += trained_labels(args)
    if not args.runs:
        raise SystemExit("--runs label=run_folder ... (or --seeds with --task to train them)")
    rows = []
    for item in args.runs:
        label, _, path = item.partition("=")
        if not path:
            raise SystemExit(f"--runs: expected label=run_folder, got {item!r}")
        run = Path(path)
        ev = evaluate(run, args.episodes, args.seed, args.reuse)
        if "accuracy_m" not in ev:
            raise SystemExit(f"{run}: task {ev['task']} is not a SkillBench task (no accuracy measure)")
        per_episode = ev["accuracy_per_episode"]
        success = sum(a < args.success_m for a in per_episode) / len(per_episode)
        rows.append({"label": label, "run": str(run), "task": ev["task"], **training_budget(run),
                     **{k: ev[k] for k in FIELDS},
                     "success_rate": success})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    at_reset = {
        task: accuracy_at_reset(task, args.episodes, args.seed)
        for task in dict.fromkeys(r["task"] for r in rows)
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        args.out,
        json.dumps(
            {"episodes": args.episodes, "seed": args.seed, "accuracy_at_reset": at_reset, "rows": rows},
            indent=1,
        ),
    )
    print(f"\nSkillBench: {args.episodes} held-out episodes (seed {args.seed}) per run; mean ± 95% CI")
    print(f"| task | method | env steps | train min | accuracy (m) | success (< {args.success_m} m) | falls | "
          "jerk (rad/s^3) | power (W) | foot slip (m/s) | self-contact | near limit |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")

    def cell(r: dict, key: str, fmt: str) -> str:
        return f"{r[key]['mean']:{fmt}} ± {r[key]['ci95']:{fmt}}"

    for r in rows:
        print(f"| {r['task']} | {r['label']} | {r['env_steps'] / 1e6:.1f}M | {r['train_min']:.0f} | "
              f"{cell(r, 'accuracy_m', '.3f')} | {r['success_rate']:.2f} | {cell(r, 'failure_rate', '.2f')} | {cell(r, 'jerk', '.0f')} | "
              f"{cell(r, 'power_w', '.0f')} | {cell(r, 'foot_slip', '.3f')} | {cell(r, 'self_collision', '.2f')} | "
              f"{cell(r, 'near_limit', '.2f')} |")  # fmt: skip
    for task, acc in at_reset.items():
        print(f"| {task} | nothing moved (at reset) | | | {acc:.3f} | | | | | | | |")
    seed_summary(rows, args.success_m)


if __name__ == "__main__":
    main()
