"""Confined-3D locomotion: planner timing, and success per difficulty for the hierarchical
policy against the two baselines (goal-only end-to-end, velocity policy + pure pursuit).

    python benchmarks/confined3d.py planner                 # plan time for 10 m tunnels, one core
    python benchmarks/confined3d.py train                   # the three runs, the preset's budget each
    python benchmarks/confined3d.py eval --runs-from runs   # held-out seeds, every difficulty
    python benchmarks/confined3d.py train --seeds 0 1 2      # each method per seed on Ray, then evaluated:
                                                             # median [min, max] per method and difficulty
    python benchmarks/confined3d.py video RUN               # tunnel traversal with the path drawn

Results go to benchmarks/results/confined3d.json (and .md tables).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import time
from pathlib import Path

import numpy as np
from seeds import add_seed_args, spread_table, train_methods  # benchmarks/seeds.py (run as a script)

os.environ.setdefault("MENAGERIE_ROOT", str(Path(__file__).resolve().parents[2] / "shared" / "menagerie"))

RESULTS = Path(__file__).resolve().parent / "results"
from robolearn.envs.locomotion.confined3d.evaluation import (  # noqa: E402 (after the environment above)
    DIFFICULTY_ROWS,
    METHOD_OF_TASK,
)

TASKS = {method: task for task, method in METHOD_OF_TASK.items()}


def bench_planner(lengths: tuple[float, ...] = (4.0, 10.0), seeds: int = 5) -> dict:
    """Time of the first plan (incl. free-space tables and heuristic) and of a replan, per tunnel length.

    Both wall time and this process's CPU time are recorded: on a shared, oversubscribed machine the
    CPU time is what one dedicated core would take; the wall time includes waiting for a core.
    """
    import torch

    from robolearn.envs.locomotion.confined3d.planner import GridAStarPlanner
    from robolearn.envs.locomotion.confined3d.terrain import generate_layout

    torch.set_num_threads(1)
    rows = []
    for length in lengths:
        t: dict[str, list[float]] = {
            k: [] for k in ("first", "first_cpu", "tables_cpu", "replan", "replan_cpu")
        }
        expansions = []
        for seed in range(seeds):
            layout = generate_layout(seed, 1.0, length)
            maps = layout.maps()
            w0, c0 = time.perf_counter(), time.process_time()
            planner = GridAStarPlanner(maps)
            c1 = time.process_time()
            result = planner.plan(np.array([*layout.start, 0.0]), layout.goal)
            w2, c2 = time.perf_counter(), time.process_time()
            # Replan from a drifted pose halfway down the tunnel (tables and heuristic reused).
            mid = result.waypoints[len(result.waypoints) // 2]
            planner.plan(np.array([mid[0], mid[1] + 0.05, mid[3] + 0.3]), layout.goal)
            w3, c3 = time.perf_counter(), time.process_time()
            t["first"].append(w2 - w0)
            t["first_cpu"].append(c2 - c0)
            t["tables_cpu"].append(c1 - c0)
            t["replan"].append(w3 - w2)
            t["replan_cpu"].append(c3 - c2)
            expansions.append(result.expansions)
        med = {k: 1e3 * statistics.median(v) for k, v in t.items()}
        rows.append({"length_m": length, "difficulty": 1.0, "seeds": seeds, "median_ms": med,
                     "max_ms": {k: 1e3 * max(v) for k, v in t.items()},
                     "expansions": statistics.median(expansions)})  # fmt: skip
        print(f"{length:>4.0f} m: first plan {med['first_cpu']:.1f} ms CPU ({med['first']:.1f} wall; tables "
              f"{med['tables_cpu']:.1f}), replan {med['replan_cpu']:.1f} ms CPU ({med['replan']:.1f} wall), "
              f"{statistics.median(expansions):.0f} expansions")  # fmt: skip
    return {"planner": rows, "load_avg_1min": os.getloadavg()[0], "cpus": os.cpu_count()}


RUN_NAME = "c3d-trot"


def train_all(iterations: int | None, num_envs: int | None, time_limit_min: float, only: list[str] | None,
              run_name: str) -> None:  # fmt: skip
    """The three runs with one budget (the tasks' shared preset unless overridden), one after another."""
    from robolearn.envs.locomotion.confined3d.task import EXPLORATION_ITERATIONS, TRAIN_ITERATIONS
    from robolearn.policies import setup
    from robolearn.policies.cli import TrainArgs
    from robolearn.policies.train import train

    for method, task in TASKS.items():
        if only and method not in only:
            continue
        env_cfg, agent = setup.default_spec(task, "ppo", "cpu")
        agent = dataclasses.replace(agent, max_iterations=iterations or agent.max_iterations,
                                    num_envs=num_envs or agent.num_envs)  # fmt: skip
        if "exploration_decay" in env_cfg.curriculum:
            # The preset's fraction of the budget (75%) whatever the budget.
            env_cfg.curriculum["exploration_decay"].params["decay_steps"] = int(
                EXPLORATION_ITERATIONS / TRAIN_ITERATIONS * agent.max_iterations * agent.num_steps_per_env
            )
        train(
            TrainArgs(task=task, env=env_cfg, agent=agent, run_name=run_name, time_limit_min=time_limit_min)
        )


def train_seeds(args: argparse.Namespace) -> dict:
    """`train --seeds`: the methods trained once per seed on Ray (the budget and exploration schedule of
    train_all), each seed's runs evaluated as `eval` does, success per difficulty as median over seeds [min, max]."""
    from robolearn.envs.locomotion.confined3d.evaluation import evaluate_method, summarize
    from robolearn.envs.locomotion.confined3d.task import EXPLORATION_ITERATIONS, TRAIN_ITERATIONS
    from robolearn.policies import setup
    from robolearn.policies.evaluate import policy_factory, run_env_cfg

    methods = {}
    for method, task in TASKS.items():
        if args.only and method not in args.only:
            continue
        env_cfg, agent = setup.default_spec(task, "ppo", "cpu")
        setting: dict[str, object] = {}
        if "exploration_decay" in env_cfg.curriculum:
            iterations = args.iterations or agent.max_iterations
            setting["env.curriculum.exploration_decay.params.decay_steps"] = int(
                EXPLORATION_ITERATIONS / TRAIN_ITERATIONS * iterations * agent.num_steps_per_env
            )
        methods[method] = {"task": task, "algo": "ppo", "setting": setting}
    runs = train_methods("confined3d", methods, args, max_iterations=args.iterations, num_envs=args.num_envs,
                         time_limit_min=args.time_limit_min)  # fmt: skip
    rows = []
    for method, by_seed in runs.items():
        for seed, run in sorted(by_seed.items()):
            records = evaluate_method(policy_factory(run), run_env_cfg(run), method, rows=DIFFICULTY_ROWS, cols=2,
                                      seed=1000, worlds_per_tile=2)  # fmt: skip
            for (m, d), v in summarize(records).items():
                rows.append({"cell": f"{m} @ {d:.2f}", "seed": seed, "run": str(run), **v})
    table = spread_table(rows, [("success_rate", "success", ".2f"), ("progress", "progress", ".2f"),
                                ("collisions", "collisions", ".2f")], group="cell")  # fmt: skip
    print(f"confined3d, held-out seed 1000; median over seeds [min, max]\n{table}")
    return {"rows": rows}


def latest_run(root: Path, task: str, run_name: str) -> Path:
    runs = sorted((root / task).glob(f"*{run_name}"))
    if not runs:
        raise SystemExit(f"no {task} run named *{run_name} under {root / task} (train first)")
    return runs[-1]


def common_checkpoint(runs: dict[str, Path], iteration: int | None) -> dict[str, Path]:
    """Each run's checkpoint at `iteration`, default the latest iteration all runs have: the same budget."""
    from robolearn.policies.runs import list_checkpoints

    have = {m: {int(c.stem.split("_")[-1]): c for c in list_checkpoints(r)} for m, r in runs.items()}
    shared = set.intersection(*(set(h) for h in have.values()))
    if iteration is None:
        if not shared:
            raise SystemExit(
                f"the runs share no checkpoint iteration: { ({m: sorted(h) for m, h in have.items()}) }"
            )
        iteration = max(shared)
    missing = [m for m, h in have.items() if iteration not in h]
    if missing:
        raise SystemExit(f"no checkpoint at iteration {iteration} in {missing}; shared: {sorted(shared)}")
    return {m: h[iteration] for m, h in have.items()}


def eval_all(
    root: Path, seed: int, cols: int, worlds_per_tile: int, run_name: str, iteration: int | None
) -> dict:
    import torch

    from robolearn.envs.locomotion.confined3d.evaluation import evaluate_method, summarize
    from robolearn.policies.evaluate import policy_factory, run_env_cfg

    torch.set_num_threads(1)
    records = []
    runs = {method: latest_run(root, task, run_name) for method, task in TASKS.items()}
    ckpts = common_checkpoint(runs, iteration)
    for method in TASKS:
        t0 = time.perf_counter()
        records += evaluate_method(
            policy_factory(ckpts[method]), run_env_cfg(ckpts[method]), method, rows=DIFFICULTY_ROWS, cols=cols, seed=seed, worlds_per_tile=worlds_per_tile
        )
        print(f"{method}: evaluated {ckpts[method]} in {time.perf_counter() - t0:.0f} s")
    table = summarize(records)
    out = {
        "runs": {m: str(r) for m, r in runs.items()},
        "checkpoints": {m: str(c) for m, c in ckpts.items()},
        "seed": seed,
        "tiles_per_difficulty": cols,
        "worlds_per_tile": worlds_per_tile,
        "budget": {m: _budget(runs[m], ckpts[m]) for m in runs},
        "results": [{"method": m, "difficulty": d, **v} for (m, d), v in table.items()],
    }
    print(f"{'method':<14}{'difficulty':>11}{'episodes':>9}{'success':>9}{'time [s]':>9}{'collisions':>11}"
          f"{'progress':>9}{'falls':>6}{'layouts crossed':>16}")  # fmt: skip
    for (m, d), v in table.items():
        print(f"{m:<14}{d:>11.2f}{v['episodes']:>9.0f}{v['success_rate']:>9.2f}{v['time_to_goal']:>9.1f}"
              f"{v['collisions']:>11.2f}{v['progress']:>9.2f}{v['falls']:>6.0f}"
              f"{v['layouts_crossed']:>11.0f} / {v['layouts']:.0f}")  # fmt: skip
    return out


def _budget(run: Path, ckpt: Path) -> dict:
    """Env steps and train wall time up to the evaluated checkpoint's iteration."""
    iteration = int(ckpt.stem.split("_")[-1])
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    upto = [r for r in rows if r.get("iteration", 0) < iteration] or rows[:1]
    last = upto[-1] if upto else {}
    return {"iterations": iteration, "env_steps": last.get("env_steps"), "wall_time_s": last.get("wall_time"),
            "mean_return_at_checkpoint": last.get("mean_return")}  # fmt: skip


def _write(name: str, data: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "confined3d.json"
    merged = json.loads(path.read_text()) if path.exists() else {}
    merged[name] = data
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps(merged, indent=2, default=lambda x: None if isinstance(x, float) and math.isnan(x) else x)
    )
    os.replace(tmp, path)
    print(f"wrote {path} [{name}]")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("planner")
    p.add_argument("--seeds", type=int, default=5)
    t = sub.add_parser("train")
    t.add_argument("--iterations", type=int, default=None, help="default: the tasks' preset (500)")
    t.add_argument("--num-envs", type=int, default=None, help="default: the tasks' preset (512)")
    t.add_argument("--time-limit-min", type=float, default=120.0)
    t.add_argument("--only", nargs="*", choices=list(TASKS))
    t.add_argument("--run-name", default=RUN_NAME)
    add_seed_args(t)
    e = sub.add_parser("eval")
    e.add_argument("--runs-from", type=Path, default=Path("runs"))
    e.add_argument("--seed", type=int, default=1000, help="held-out terrain seed (training uses 0)")
    e.add_argument("--cols", type=int, default=2, help="layouts per difficulty")
    e.add_argument("--worlds-per-tile", type=int, default=2)
    e.add_argument("--run-name", default=RUN_NAME)
    e.add_argument(
        "--iteration", type=int, default=None, help="checkpoint iteration (default: latest shared)"
    )
    v = sub.add_parser("video")
    v.add_argument("run", type=Path)
    v.add_argument("--out", type=Path, default=None)
    v.add_argument("--row", type=int, default=2, help="difficulty row 0-3")
    args = parser.parse_args()
    if args.cmd == "planner":
        _write("planner", bench_planner(seeds=args.seeds))
    elif args.cmd == "train" and args.seeds:
        _write("seeds", train_seeds(args))
    elif args.cmd == "train":
        train_all(args.iterations, args.num_envs, args.time_limit_min, args.only, args.run_name)
    elif args.cmd == "eval":
        _write("success", eval_all(args.runs_from, args.seed, args.cols, args.worlds_per_tile, args.run_name,
                                   args.iteration))  # fmt: skip
    else:
        from robolearn.envs.locomotion.confined3d.evaluation import record_traversal
        from robolearn.policies.evaluate import policy_factory, run_env_cfg

        out = args.out or args.run / "videos" / "confined3d_traversal.mp4"
        print(f"wrote {record_traversal(run_env_cfg(args.run), policy_factory(args.run), out, difficulty_row=args.row)}")


if __name__ == "__main__":
    main()
