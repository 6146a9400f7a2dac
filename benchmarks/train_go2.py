"""The training bar: Go2-Velocity-Flat from scratch on this machine's CPU, wall time until the policy
tracks commanded (vx, vy) in [-1, 1] m/s with mean lin-vel error <= 0.25 m/s and falls in < 5% of
evaluation episodes (held-out seeds, deterministic actions).

Training runs for a wall-time budget with checkpoints every `save_interval` iterations; afterwards each
checkpoint is evaluated in order (evaluation time is not training time) and the first one meeting the
bar gives the time to the bar: the training wall time stored in that checkpoint.

    python benchmarks/train_go2.py --seeds 0 1 2 --budget-min 10 --out benchmarks/results/train_go2
    python benchmarks/train_go2.py --seeds 0 1 2 3 --ray --address ray://head:10001 --cpus-per-trial 2

Seeds train one after another in this process (time to the bar is a wall-time measure: on 2 cores,
concurrent seeds would share them); with --ray they train as `robolearn sweep`'s Ray tasks (on this machine
or a cluster, benchmarks/seeds.py), and are evaluated here the same way.

Each seed trains for the budget; then its checkpoints are evaluated in order until the first one passes
(and the last). Printed per seed: the time to the bar, env steps, the passing checkpoint's figures, where
the training wall time went (physics, obs/reward/reset terms, policy inference, PPO update, logging and
checkpointing) and the end-to-end env-steps/s against raw mjbatch stepping of the same model, substeps
and threads, measured in the same process before and after training. Then the median over seeds, and
the median seed's learning curves (curves.png).

Result (2-core VM with AVX512-BF16, quiet, torch 2.13 CPU; results/train_go2/s5/): the task's preset (512
worlds x 24 steps, 3x128 nets, mirror-symmetry augmentation, bf16 update; the trot clock, contact reward and
the command curriculum deciding every 5 s) reaches the bar at 526 / 405 / 523 s for seeds 0 / 1 / 2 (4.3-5.5M
env steps): median 8.7 min, at 10.7k env-steps/s = 0.54x raw physics. Before the curriculum pace and the
bf16 update the same seeds gave 693 s / not reached / not reached within 14 min (results/train_go2/quiet_s4,
quiet_seed1), and the first single-seed run 19.8 min on a loaded machine (results/train_go2/table.md).
Before the trot recipe the same budget gave a robot that stood still: eval err xy 0.77 m/s (the standing
level; mean |command| ~0.77) after 11.6M env steps, with yaw tracking learnt.
"""

from __future__ import annotations

import robolearn  # noqa: F401  (first: it makes torch's OpenMP threads sleep, which torch reads on import)

# isort: split
import argparse
import dataclasses
import json
import math
import os
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from seeds import add_ray_args, train_methods  # benchmarks/seeds.py (run as a script)

from robolearn.gl import RenderUnavailable
from robolearn.policies.cli import TrainArgs
from robolearn.policies.evaluate import eval_run, play_run
from robolearn.policies.plots import plot_runs
from robolearn.policies.presets import default_agent_cfg
from robolearn.policies.runs import list_checkpoints, load_checkpoint, read_metrics
from robolearn.policies.setup import spec_from_run
from robolearn.policies.throughput import format_shares, raw_physics_rate, time_shares
from robolearn.policies.train import train
from robolearn.policies.walking_bar import BAR_ERROR_XY, BAR_FAILURE_RATE, TASK, passes
from robolearn.registry import get_task


def train_seed(seed: int, budget_min: float, logdir: Path, num_envs: int | None, epochs: int | None) -> Path:
    """Train the task's CPU preset (what `robolearn train Go2-Velocity-Flat` uses) for `budget_min`."""
    # Every checkpoint kept (keep_checkpoints=0): the first one past the bar is the measurement, and the
    # preset's pruning (newest 5 + best) would delete it before the evaluation below reaches it.
    agent = dataclasses.replace(default_agent_cfg(TASK, "ppo", "cpu"), max_iterations=100_000, keep_checkpoints=0)
    if num_envs:
        agent = dataclasses.replace(agent, num_envs=num_envs)
    if epochs:
        agent = dataclasses.replace(agent, num_learning_epochs=epochs)
    env = dataclasses.replace(get_task(TASK).env_cfg(), seed=seed)
    t0 = time.perf_counter()
    result = train(TrainArgs(task=TASK, logdir=logdir, run_name=f"bench-seed{seed}", env=env, agent=agent,
                             time_limit_min=budget_min))  # fmt: skip
    print(f"seed {seed}: trained {result.iterations} iterations in {time.perf_counter() - t0:.0f} s: {result.run}",
          flush=True)  # fmt: skip
    return result.run


def evaluate_checkpoints(
    run: Path, episodes: int, out: Path, every: int, all_checkpoints: bool
) -> list[dict]:
    """Every `every`-th checkpoint in order (and the last), until the first that passes unless `all_checkpoints`."""
    ckpts = list_checkpoints(run)
    chosen = ckpts[every - 1 :: every]
    if ckpts[-1] not in chosen:
        chosen.append(ckpts[-1])
    rows = []
    for ckpt in chosen:
        _, state = load_checkpoint(run, ckpt)
        r = eval_run(
            run, episodes, seed=10_000, checkpoint=ckpt, out=out / f"eval_{ckpt.stem}.json", quiet=True
        )
        row = {"checkpoint": ckpt.name, "iteration": state["iteration"], "env_steps": state["env_steps"],
               "train_wall_s": round(state["wall_time"], 1), "error_vel_xy": r["error_vel_xy"]["mean"],
               "error_vel_yaw": r["error_vel_yaw"]["mean"], "failure_rate": r["failure_rate"]["mean"],
               "return": r["return"]["mean"], "passes": passes(r)}  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
        if row["passes"] and not all_checkpoints:
            break
    return rows


def seed_report(run: Path, rows: list[dict], raw: float, episodes: int, load: dict) -> tuple[list[str], dict]:
    """The seed's table.md lines and its summary (time to the bar, figures, throughput)."""
    spec = spec_from_run(run)  # the settings the run actually trained with
    agent, env_cfg = spec.agent, spec.env
    metrics = read_metrics(run)
    shares = time_shares(metrics)
    env_steps = metrics[-1]["env_steps"]  # the run's whole training, as the shares are
    first = next((r for r in rows if r["passes"]), None)
    rate = env_steps / max(sum(shares.values()), 1e-9)
    summary = {"run": str(run), "seed": env_cfg.seed, "first_pass": first, "env_steps_per_s": rate,
               "raw_env_steps_per_s": raw, "ratio": rate / raw, "shares": shares}  # fmt: skip
    lines = [
        f"# {TASK}: time to the bar on {os.cpu_count()} CPU cores (torch {torch.__version__}), seed {env_cfg.seed}",
        "",
        f"bar: mean lin-vel error <= {BAR_ERROR_XY} m/s and falls < {BAR_FAILURE_RATE:.0%} over {episodes} "
        "episodes, held-out seed 10000, deterministic actions",
        f"run: {run}",
        f"settings: {env_cfg.num_envs} worlds x {agent.num_steps_per_env} steps, actor {agent.actor_hidden_dims}, "
        f"critic {agent.critic_hidden_dims}, {agent.num_learning_epochs} epochs x {agent.num_mini_batches} minibatches",
        f"learner: lr {agent.learning_rate} ({agent.schedule}, KL {agent.desired_kl}), init noise std "
        f"{agent.init_noise_std}, entropy {agent.entropy_coef}, torch threads {agent.torch_threads or 'all'} "
        f"(update: {agent.update_threads or 'all'})",
        f"env: dt {env_cfg.sim.dt} s x {env_cfg.decimation} substeps, action scale {env_cfg.actions['joint_pos'].scale}",
        "load average (1/5/15 min) before training: {}, after: {} (other jobs share the cores)".format(
            *("/".join(f"{x:.1f}" for x in load[k]) for k in ("before", "after"))
        ),
        "",
        "where the training wall time went:",
        "",
        *format_shares(shares, env_steps, raw),
        "",
        "| checkpoint | iteration | env steps | train wall (s) | err xy (m/s) | err yaw (rad/s) | fall rate | return | bar |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['checkpoint']} | {r['iteration']} | {r['env_steps']:,} | {r['train_wall_s']:.0f} | "
                     f"{r['error_vel_xy']:.3f} | {r['error_vel_yaw']:.3f} | {r['failure_rate']:.2f} | "
                     f"{r['return']:.2f} | {'yes' if r['passes'] else 'no'} |")  # fmt: skip
    lines += [
        "",
        f"time to the bar: {first['train_wall_s']:.0f} s ({first['train_wall_s'] / 60:.1f} min), "
        f"{first['env_steps']:,} env steps"
        if first
        else "time to the bar: not reached within the budget",
    ]
    return lines, summary


def seeds_table(summaries: list[dict]) -> tuple[list[str], dict]:
    """Per-seed rows and the median; the median seed (by time to the bar, unreached counting as infinite)."""

    def t(s: dict) -> float:
        return s["first_pass"]["train_wall_s"] if s["first_pass"] else math.inf

    lines = ["| seed | time to bar (s) | env steps | err xy (m/s) | err yaw (rad/s) | falls | env-steps/s | "
             "raw physics | ratio |", "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for s in summaries:
        f = s["first_pass"]
        figs = (f"{f['train_wall_s']:.0f} | {f['env_steps']:,} | {f['error_vel_xy']:.3f} | {f['error_vel_yaw']:.3f} | "
                f"{f['failure_rate']:.2f}" if f else "not reached | - | - | - | -")  # fmt: skip
        lines.append(f"| {s['seed']} | {figs} | {s['env_steps_per_s']:,.0f} | {s['raw_env_steps_per_s']:,.0f} | "
                     f"{s['ratio']:.2f} |")  # fmt: skip
    ordered = sorted(summaries, key=t)
    median = ordered[(len(ordered) - 1) // 2]
    times = [t(s) for s in summaries]
    med_t = statistics.median(times)
    lines += [
        "",
        f"median time to the bar over {len(summaries)} seeds: "
        + (f"{med_t:.0f} s ({med_t / 60:.1f} min)" if math.isfinite(med_t) else "not reached")
        + f"; median end-to-end ratio to raw physics {statistics.median(s['ratio'] for s in summaries):.2f}"
        + f"; median seed: {median['seed']}",
    ]
    return lines, median


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--budget-min", type=float, default=10.0, help="training wall time per seed")
    p.add_argument("--num-envs", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None, help="PPO epochs per update (default: the preset's)")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--eval-every", type=int, default=1, help="evaluate every k-th checkpoint")
    p.add_argument("--all-checkpoints", action="store_true", help="evaluate past the first passing one")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/train_go2"))
    p.add_argument("--logdir", type=Path, default=Path("runs"))
    p.add_argument("--run", type=Path, default=None, help="skip training; evaluate this run's checkpoints")
    add_ray_args(p)
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    on_ray: dict[int, Path] = {}
    if a.ray and not a.run:  # every seed trained first, as Ray tasks; evaluated below as a local run is
        on_ray = train_methods("train_go2", {"ppo": {"task": TASK, "setting": {"agent.keep_checkpoints": 0}}}, a,
                               max_iterations=100_000,
                               num_envs=a.num_envs, time_limit_min=a.budget_min).get("ppo", {})  # fmt: skip
    summaries: list[dict[str, Any]] = []
    for seed in [None] if a.run else a.seeds:
        if a.ray and seed not in on_ray:
            continue  # a failed trial, reported by train_methods
        cfg = spec_from_run(a.run).env if a.run else dataclasses.replace(get_task(TASK).env_cfg(), seed=seed)
        load = {"before": os.getloadavg()}
        raw = [raw_physics_rate(cfg)]  # the physical limit, before and after training, same process
        run = a.run or on_ray.get(seed or 0) or train_seed(seed or 0, a.budget_min, a.logdir, a.num_envs, a.epochs)
        load["after"] = os.getloadavg()
        raw.append(raw_physics_rate(cfg))
        out = a.out / f"seed{cfg.seed}"
        out.mkdir(parents=True, exist_ok=True)
        rows = evaluate_checkpoints(run, a.episodes, out, a.eval_every, a.all_checkpoints)
        lines, summary = seed_report(run, rows, statistics.fmean(raw), a.episodes, load)
        (out / "table.md").write_text("\n".join(lines) + "\n")
        (out / "rows.json").write_text(json.dumps({**summary, "rows": rows, "load": load}, indent=2))
        print("\n".join(lines), flush=True)
        summaries.append(summary)
    lines, median = seeds_table(summaries)
    curves = plot_runs([Path(median["run"])], a.out / "curves.png")
    try:
        video: Path | str = play_run(Path(median["run"]), a.out / "median_seed.mp4", num_envs=4, steps=250)
    except RenderUnavailable as exc:
        video = f"skipped ({exc})"
    lines += [f"curves (median seed): {curves}", f"video (median seed): {video}"]
    (a.out / "seeds.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
