"""HERMES benchmark: per task, success of kinematic replay / RL without reference / HERMES residual expert /
depth student on held-out episodes (Wilson 95 % intervals), object tracking error, training wall time and
env steps; PnP docking over random starts. Paper figures beside as context.

    python benchmarks/hermes.py                      # the budget run (minutes per task on 2 shared cores)
    python benchmarks/hermes.py --tasks pour --expert-s 60 --episodes 16
    python benchmarks/hermes.py --write-references   # regenerate assets/hermes/*.npz from the scripts

Writes benchmarks/results/hermes/{results.json, results.md, success.png}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "results" / "hermes"
PAPER = {"real_world_mean_success": 0.678, "gain_over_baselines": "+54 % (mean, real world)"}


def run_task(task: str, args: argparse.Namespace) -> dict:
    from robolearn.policies.hermes import (
        ExpertCfg,
        StudentCfg,
        evaluate,
        export_student,
        train_expert,
        train_student,
    )

    row: dict = {"task": task}
    t = time.perf_counter()
    row["replay"] = evaluate(task, "replay", None, args.episodes, seed=args.eval_seed).row()
    row["replay"]["eval_s"] = time.perf_counter() - t
    for mode, key in (("free", "rl_no_reference"), ("residual", "hermes_expert")):
        cfg = ExpertCfg(task=task, mode=mode, num_envs=args.num_envs, iterations=10_000, time_limit_s=args.expert_s,
                        seed=args.seed)  # fmt: skip
        res = train_expert(cfg)
        ev = evaluate(task, mode, res.policy, args.episodes, seed=args.eval_seed).row()
        ev.update(train_wall_s=res.wall_s, train_env_steps=res.env_steps, iterations=len(res.rows),
                  curve=[(r["env_steps"], r["mean_return"]) for r in res.rows])  # fmt: skip
        row[key] = ev
        if mode == "residual":
            expert = res
        print(f"[{task}] {key}: {ev['success']:.2f} in {res.wall_s:.0f}s, {res.env_steps} steps", flush=True)
    scfg = StudentCfg(num_envs=args.num_envs, iterations=args.student_iters, seed=args.seed)
    st = train_student(task, expert.policy, scfg)
    ev = evaluate(
        task, "residual", st.policy(), args.episodes, seed=args.eval_seed, obs_group="student"
    ).row()
    onnx = export_student(st.student, OUT / f"student_{task}.onnx")
    ev.update(train_wall_s=st.wall_s, train_env_steps=st.env_steps, dagger_losses=st.losses,
              imitation_mse_untrained=st.initial_loss, imitation_mse_teacher_states=st.teacher_states_loss,
              onnx=str(onnx.relative_to(OUT.parent.parent.parent)), onnx_bytes=onnx.stat().st_size)  # fmt: skip
    row["depth_student"] = ev
    return row


def run_docking(starts: int, seed: int) -> dict:
    from robolearn.sim2real.docking import BaseCamera, DockingCfg, dock, docking_scene

    rng = np.random.default_rng(seed)
    cam = BaseCamera(docking_scene(seed=0))
    rows = []
    t = time.perf_counter()
    for _ in range(starts):
        goal = np.array([rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2)])
        start = goal + np.array(
            [rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), np.radians(rng.uniform(-15, 15))]
        )
        r = dock(cam, goal, start, DockingCfg(), rng)
        rows.append((r.converged, r.iterations, r.final_pos_error, np.degrees(r.final_yaw_error)))
    cam.close()
    conv, its, pos, yaw = (np.array(c) for c in zip(*rows, strict=True))
    return {"starts": starts, "start_range": "goal +-20 cm in x and y, +-15 deg yaw (goals in +-20 cm, +-11 deg)",
            "converged": int(conv.sum()), "iterations_mean": float(its.mean()), "iterations_max": int(its.max()),
            "pos_error_mm_median": float(np.median(pos) * 1000), "pos_error_mm_p90": float(np.percentile(pos, 90) * 1000),
            "pos_error_mm_max": float(pos.max() * 1000), "yaw_error_deg_median": float(np.median(yaw)),
            "yaw_error_deg_p90": float(np.percentile(yaw, 90)), "yaw_error_deg_max": float(yaw.max()),
            "wall_s": time.perf_counter() - t}  # fmt: skip


METHODS = (("replay", "kinematic replay"), ("rl_no_reference", "RL without reference"),
           ("hermes_expert", "HERMES expert (residual RL)"), ("depth_student", "depth student (DAgger)"))  # fmt: skip


def table(results: dict) -> str:
    lines = ["| task | method | success | 95 % Wilson | tracking err (cm) | final err (cm) | early term. | train wall (s) | train env steps |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for row in results["tasks"]:
        for key, name in METHODS:
            m = row[key]
            lines.append(f"| {row['task']} | {name} | {m['successes'] if 'successes' in m else round(m['success'] * m['episodes'])}"
                         f"/{m['episodes']} | [{m['wilson_lo']:.2f}, {m['wilson_hi']:.2f}] | {100 * m['tracking_error_m']:.1f} | "
                         f"{100 * m['final_error_m']:.1f} | {m['early_terminations']} | {m.get('train_wall_s', 0):.0f} | "
                         f"{m.get('train_env_steps', 0)} |")  # fmt: skip
    d = results.get("docking")
    if d:
        lines += ["", "| PnP docking | converged | iterations (mean / max) | position error mm (median / p90 / max) | yaw error deg (median / p90 / max) |",
                  "|---|---|---|---|---|",
                  f"| {d['starts']} random starts | {d['converged']}/{d['starts']} | {d['iterations_mean']:.1f} / {d['iterations_max']} | "
                  f"{d['pos_error_mm_median']:.1f} / {d['pos_error_mm_p90']:.1f} / {d['pos_error_mm_max']:.1f} | "
                  f"{d['yaw_error_deg_median']:.2f} / {d['yaw_error_deg_p90']:.2f} / {d['yaw_error_deg_max']:.2f} |"]  # fmt: skip
    lines += ["", f"Paper (HERMES, arXiv 2508.20085), real world, context only: mean success {PAPER['real_world_mean_success']:.1%}, "
              f"{PAPER['gain_over_baselines']}."]  # fmt: skip
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    """Success with its Wilson interval, and the object tracking error, per task and method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = [r["task"] for r in results["tasks"]]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    w = 0.2
    for k, (key, name) in enumerate(METHODS):
        x = np.arange(len(tasks)) + (k - 1.5) * w
        rates = np.array([r[key]["success"] for r in results["tasks"]])
        lo = rates - [r[key]["wilson_lo"] for r in results["tasks"]]
        hi = np.array([r[key]["wilson_hi"] for r in results["tasks"]]) - rates
        axes[0].bar(x, rates, w, yerr=[lo, hi], label=name, capsize=2)
        axes[1].bar(x, [100 * r[key]["tracking_error_m"] for r in results["tasks"]], w, label=name)
    for ax in axes:
        ax.set_xticks(np.arange(len(tasks)), tasks, fontsize=8)
    axes[0].set_ylabel("success, held-out episodes (95 % Wilson)")
    axes[0].set_ylim(0, 1)
    axes[1].set_ylabel("object tracking error (cm)")
    axes[1].legend(fontsize=7)
    fig.suptitle("HERMES at a CPU budget (2 cores shared with 5 jobs)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def redraw() -> None:
    """Rewrite results.md and the plot from results.json (after a run, or to restyle them)."""
    results = json.loads((OUT / "results.json").read_text())
    (OUT / "results.md").write_text(table(results) + "\n")
    plot(results, OUT / "success.png")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", nargs="*", default=["pour", "bottle_scanner", "flower_vase", "clean_plate"])
    p.add_argument("--episodes", type=int, default=32)
    p.add_argument("--expert-s", type=float, default=150.0, help="PPO wall-clock budget per expert (s)")
    p.add_argument("--student-iters", type=int, default=8)
    p.add_argument("--num-envs", type=int, default=32)
    p.add_argument("--docking-starts", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eval-seed", type=int, default=1000)
    p.add_argument("--write-references", action="store_true")
    p.add_argument(
        "--redraw", action="store_true", help="only rewrite results.md and the plot from results.json"
    )
    args = p.parse_args(argv)
    if args.write_references:
        from robolearn.assets import ASSETS_DIR
        from robolearn.retarget.scripted_references import write_robot_references

        for path in write_robot_references(ASSETS_DIR / "hermes"):
            print(path)
        return 0
    if args.redraw:
        redraw()
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, shared with 5 other jobs",
                     "args": vars(args), "paper": PAPER, "tasks": []}  # fmt: skip
    t0 = time.perf_counter()
    for task in args.tasks:
        results["tasks"].append(run_task(task, args))
        (OUT / "results.json").write_text(json.dumps(results, indent=1))
    if args.docking_starts:
        results["docking"] = run_docking(args.docking_starts, args.seed)
        print("docking", results["docking"], flush=True)
    results["total_wall_s"] = time.perf_counter() - t0
    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    md = table(results)
    (OUT / "results.md").write_text(md + "\n")
    plot(results, OUT / "success.png")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
