"""Env-steps/s of full tasks against raw mjbatch stepping of the same model (the physical limit).

    python benchmarks/sim_throughput.py [--tasks Go2-Velocity-Flat] [--num-envs 64 512 2048] [--threads 1 2]

Both sides step the same compiled model with the same substeps per env step, in the same
process, alternating; each figure is the median of `--repeats` timed runs. Also prints the
memory of 4096 G1 worlds (one shared model) and, with --profile, where an env step's time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys

import torch


def g1_memory_mib(num_worlds: int) -> tuple[float, float]:
    """(resident MiB of `num_worlds` G1 worlds, MiB of the shared MjModel), measured in a fresh process.

    Resident memory (VmRSS) after the batch has stepped, minus that before it was built: peak RSS
    would hide the batch behind the model compiler's own peak.
    """
    code = (
        "import mjbatch; from robolearn.robots import robot_model\n"
        "rss = lambda: int([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1]) / 1024\n"
        "m = robot_model('g1', fast=True); r0 = rss()\n"
        f"b = mjbatch.Batch(m, {num_worlds}, 2, forward=True)\n"
        "views = [b.bind(f) for f in ('qpos', 'qvel', 'xpos', 'xquat', 'sensordata')]\n"
        "b.reset(); b.step(nstep=2)\n"
        "print(rss() - r0, m.nbuffer / 2**20)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    total, model_mib = out.stdout.strip().splitlines()[-1].split()
    return float(total), float(model_mib)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", nargs="+", default=["Go2-Velocity-Flat", "Go2-Velocity-Rough"])
    parser.add_argument("--num-envs", nargs="+", type=int, default=[64, 512, 2048])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--steps", type=int, default=0, help="env steps per timed run (0: ~60k env steps)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile the largest configuration")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from robolearn.bench import bench_task, env_steps_per_s
    from robolearn.core.env import ManagerBasedRlEnv
    from robolearn.registry import get_task

    torch.set_num_threads(1)  # batches of a few hundred rows: intra-op threads only contend with physics
    console = Console()
    table = Table(
        title=f"env-steps/s vs raw mjbatch stepping, same model and substeps ({os.cpu_count()} cores)"
    )
    for col in ("task", "N", "threads", "substeps", "raw steps/s", "env steps/s", "ratio"):
        table.add_column(col, justify="right")
    for task in args.tasks:
        for threads in args.threads:
            for n in args.num_envs:
                cfg = get_task(task).env_cfg()
                cfg.num_envs, cfg.sim.num_threads = n, threads
                r = bench_task(cfg, args.steps, args.repeats)
                table.add_row(task, str(n), str(threads), str(r.decimation), f"{r.raw:,.0f}", f"{r.env:,.0f}",
                              f"{r.ratio:.2f}")  # fmt: skip
    console.print(table)
    total, model_mib = g1_memory_mib(4096)
    console.print(
        f"memory of 4096 G1 worlds (mjbatch, one shared model): {total:,.0f} MiB resident "
        f"({total / 4096 * 1024:.0f} KiB per world; MjModel {model_mib:.2f} MiB, shared)"
    )
    if args.profile:
        cfg = get_task(args.tasks[0]).env_cfg()
        cfg.num_envs, cfg.sim.num_threads = args.num_envs[-1], args.threads[-1]
        env = ManagerBasedRlEnv(cfg)
        prof = cProfile.Profile()
        prof.runcall(env_steps_per_s, env, 50)
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
