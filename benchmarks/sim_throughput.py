"""Env-steps/s of a full task against raw mjbatch stepping of the same model (the physical limit).

    python benchmarks/sim_throughput.py [--tasks Go2-Velocity-Flat] [--num-envs 64 512 2048] [--threads 1 2]

Both sides step the same compiled model with the same substeps per env step, in the same
process, alternating, and each figure is the median of `--repeats` timed runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

import numpy as np
import torch


def raw_steps_per_s(model, num_envs: int, threads: int, decimation: int, steps: int) -> float:
    import mjbatch

    batch = mjbatch.Batch(model, num_envs, threads, forward=True)
    ctrl = batch.bind("ctrl")
    batch.reset(keyframe=0 if model.nkey else -1)
    lo, hi = model.actuator_ctrlrange[:, 0], model.actuator_ctrlrange[:, 1]
    rng = np.random.default_rng(0)
    home = model.key_ctrl[0] if model.nkey else np.zeros(model.nu)
    batch.step(nstep=decimation)
    start = time.perf_counter()
    for _ in range(steps):
        ctrl[:] = np.clip(home + 0.1 * rng.standard_normal((num_envs, model.nu)), lo, hi)
        batch.step(nstep=decimation)
    return num_envs * steps / (time.perf_counter() - start)


def env_steps_per_s(env, steps: int) -> float:
    gen = torch.Generator().manual_seed(0)
    env.step(torch.zeros(env.num_envs, env.num_actions))
    start = time.perf_counter()
    for _ in range(steps):
        env.step(0.5 * torch.randn(env.num_envs, env.num_actions, generator=gen))
    return env.num_envs * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["Go2-Velocity-Flat"])
    parser.add_argument("--num-envs", nargs="+", type=int, default=[64, 512, 2048])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--steps", type=int, default=0, help="env steps per timed run (0: ~2 s worth)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print where an env step's time goes")
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from robolearn.tasks import get_task, make_env

    torch.set_num_threads(1)
    table = Table(title=f"env-steps/s vs raw mjbatch stepping ({os.cpu_count()} cores)")
    for col in ("task", "N", "threads", "substeps", "raw steps/s", "env steps/s", "ratio"):
        table.add_column(col, justify="right")
    for task in args.tasks:
        for threads in args.threads:
            for n in args.num_envs:
                cfg = get_task(task).env_cfg()
                cfg.num_envs = n
                cfg.sim.num_threads = threads
                env = make_env(task, cfg)
                steps = args.steps or max(20, int(60000 / n))
                raw, ours = [], []
                for _ in range(args.repeats):
                    raw.append(raw_steps_per_s(env.scene.model, n, threads, cfg.decimation, steps))
                    ours.append(env_steps_per_s(env, steps))
                r, e = statistics.median(raw), statistics.median(ours)
                table.add_row(task, str(n), str(threads), str(cfg.decimation), f"{r:,.0f}", f"{e:,.0f}", f"{e / r:.2f}")
                if args.profile and n == args.num_envs[-1] and threads == args.threads[-1]:
                    import cProfile
                    import pstats

                    prof = cProfile.Profile()
                    prof.runcall(env_steps_per_s, env, steps)
                    pstats.Stats(prof).sort_stats("tottime").print_stats(15)
                del env
    console = Console()
    console.print(table)
    console.print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
