"""Scripted-expert success of the ALOHA tasks on held-out layouts (the demo generator's ceiling).

    python benchmarks/aloha_experts.py                      # 48 layouts per task from seed 10000
    python benchmarks/aloha_experts.py --tasks Aloha-Reach --layouts 16

Layouts are drawn as the imitation evaluator draws them (`np.random.default_rng(seed)`, `--batch` worlds at a
time); each task's expert keyposes are planned with IK for every layout and executed without noise.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from robolearn.envs.manipulation.aloha import make_env, sample_layouts, task_cfg
from robolearn.envs.manipulation.demos import BimanualIK, execute, expert_keyposes, plan

TASKS = ("Aloha-CubeTransfer", "Aloha-Insertion", "Aloha-CubeRelay", "Aloha-Reach")


def expert_success(task: str, layouts: int, seed: int, batch: int) -> dict:
    env, ik = make_env(task, batch, seed=seed), BimanualIK()
    rng = np.random.default_rng(seed)
    keyposes, cfg = expert_keyposes(task), task_cfg(task)
    ok, n, start = 0, 0, time.time()
    while n < layouts:
        lay = sample_layouts(cfg, batch, rng)
        actions = np.stack([plan(keyposes, x, cfg, ik) for x in lay])
        success, _ = execute(env, lay, actions)
        success = success[: layouts - n]
        ok, n = ok + int(success.sum()), n + len(success)
    return {"task": task, "layouts": n, "successes": ok, "seed": seed, "wall_s": round(time.time() - start, 1)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tasks", nargs="+", default=list(TASKS))
    p.add_argument("--layouts", type=int, default=48)
    p.add_argument("--seed", type=int, default=10000, help="the imitation evaluator's held-out seed")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/aloha_experts.json"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    rows = [expert_success(t, args.layouts, args.seed, args.batch) for t in args.tasks]
    print(f"\nscripted experts, held-out layouts (seed {args.seed}, batches of {args.batch})")
    print("| task | success | wall s |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r['task']} | {r['successes']}/{r['layouts']} | {r['wall_s']:.0f} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
