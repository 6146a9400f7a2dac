"""Success rate vs number of demos, diffusion vs BC, and inference latency (Aloha-CubeTransfer by default).

    python benchmarks/imitation.py --data data/cube200 --algos bc --steps 4000 --batch-size 256
    python benchmarks/imitation.py --data data/cube200 --algos diffusion --steps 24000 --batch-size 64

(the budgets of docs/imitation.md's table: BC ~75 s per cell, diffusion ~25-30 min per cell on one core)

Generates the demos first if `--data` does not exist (`robolearn demos Aloha-CubeTransfer --n 200`).
Each (algo, demos) pair trains from scratch for `--steps` gradient steps and is evaluated on held-out
layouts (seed 10000 on). Latency: one observation history -> the actions to execute, 10 DDIM steps, one
thread, in torch (the training code) and in the deploy runtime (sim2real/imitation_runtime.py: numpy DDIM +
onnxruntime on the exported policy); medians of 5 repeats of 50 calls.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from robolearn.policies.imitation import (
    ImitationCfg,
    export_imitation,
    load_policy,
    train_imitation,
)
from robolearn.policies.imitation_demos import DemosArgs, main as demos_main
from robolearn.policies.imitation_eval import eval_imitation
from robolearn.sim2real.imitation_runtime import ImitationRuntime


def _median_call_ms(call, calls: int = 50, repeats: int = 5) -> float:
    for _ in range(5):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        times.append((time.perf_counter() - start) / calls * 1e3)
    return float(np.median(times))


def chunk_latency_ms(run: Path, steps: int = 10) -> dict[str, float]:
    """Per-call latency of act(): torch (1 thread) and the exported ONNX runtime (1 thread)."""
    torch.set_num_threads(1)
    policy = load_policy(run, inference_steps=steps)
    obs = torch.zeros(1, policy.cfg.obs_horizon, policy.model.obs_dim)
    with torch.no_grad():
        torch_ms = _median_call_ms(lambda: policy.act(obs))
    export_imitation(run)
    runtime = ImitationRuntime(run, threads=1, inference_steps=steps)
    obs_np, rng = obs[0].numpy(), np.random.default_rng(0)
    return {
        "torch": round(torch_ms, 2),
        "onnx": round(_median_call_ms(lambda: runtime.act(obs_np, rng=rng)), 2),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--task", default="Aloha-CubeTransfer", help="Aloha-CubeTransfer or Aloha-Insertion")
    p.add_argument("--data", type=Path, default=Path("data/cube200"))
    p.add_argument("--demos", type=int, nargs="+", default=[10, 50, 200])
    p.add_argument("--algos", nargs="+", default=["diffusion", "bc"])
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--eval-episodes", type=int, default=50)
    p.add_argument("--logdir", type=Path, default=Path("runs/bench-imitation"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--diffusion-lr",
        type=float,
        default=5e-4,
        help="batch 64: loss 0.015 at 6.6k steps with 5e-4 against 0.10 at 5k with 3e-4 (measured)",
    )
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/imitation.json"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if not (args.data / "meta/info.json").is_file():
        demos_main(DemosArgs(task=args.task, out=args.data, n=max(args.demos)))
    rows = []
    for algo in args.algos:
        for n in args.demos:
            cfg = ImitationCfg(task=args.task, algo=algo, data=args.data, num_demos=n, steps=args.steps,
                               batch_size=args.batch_size, save_every=args.steps)  # fmt: skip
            cfg.diffusion.lr = args.diffusion_lr
            start = time.time()
            run = train_imitation(cfg, args.logdir, progress=False)
            train_s = time.time() - start
            torch.set_num_threads(args.threads)
            res = eval_imitation(run, args.eval_episodes)
            row = {"algo": algo, "demos": n, "success": res["success_rate"], "ci95": res["ci95"],
                   "train_s": round(train_s, 1), "eval_s": res["eval_wall_s"], "run": str(run)}  # fmt: skip
            row["chunk_ms_1_thread"] = chunk_latency_ms(run)
            torch.set_num_threads(args.threads)
            rows.append(row)
            print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "task": args.task,
                "data": str(args.data),
                "steps": args.steps,
                "batch_size": args.batch_size,
                "rows": rows,
            },
            indent=1,
        )
    )
    print(
        f"\n{args.task}: success vs demos ({args.steps} steps, batch {args.batch_size}, {args.eval_episodes} eval episodes)"
    )
    print("| algo | demos | success | 95% CI | train s | act() ms, torch | act() ms, ONNX runtime |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        ci = f"[{r['ci95'][0]:.2f}, {r['ci95'][1]:.2f}]"
        lat = r["chunk_ms_1_thread"]
        print(
            f"| {r['algo']} | {r['demos']} | {r['success']:.2f} | {ci} | {r['train_s']:.0f} | {lat['torch']:.1f} | "
            f"{lat['onnx']:.1f} |"
        )


if __name__ == "__main__":
    main()
