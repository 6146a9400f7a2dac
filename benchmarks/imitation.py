"""Success rate on Aloha-CubeTransfer vs number of demos, diffusion vs BC, and inference latency.

    python benchmarks/imitation.py --data data/cube200 --demos 10 50 200 --steps 1500 --eval-episodes 50

Generates the demos first if `--data` does not exist (`robolearn demos Aloha-CubeTransfer --n 200`).
Each (algo, demos) pair trains from scratch for `--steps` gradient steps and is evaluated on held-out
layouts (seed 10000 on). Latency: one observation -> one action chunk, 10 DDIM steps, torch on 1 thread.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from robolearn.policies.imitation import ImitationCfg, eval_imitation, load_policy, train_imitation
from robolearn.policies.imitation_demos import DemosArgs
from robolearn.policies.imitation_demos import main as demos_main

TASK = "Aloha-CubeTransfer"


def chunk_latency_ms(run: Path, steps: int = 10, repeats: int = 50) -> float:
    torch.set_num_threads(1)
    policy = load_policy(run, inference_steps=steps)
    obs = torch.zeros(1, policy.cfg.obs_horizon, policy.model.obs_dim)
    for _ in range(5):
        policy.act(obs)
    start = time.perf_counter()
    for _ in range(repeats):
        policy.act(obs)
    return (time.perf_counter() - start) / repeats * 1e3


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", type=Path, default=Path("data/cube200"))
    p.add_argument("--demos", type=int, nargs="+", default=[10, 50, 200])
    p.add_argument("--algos", nargs="+", default=["diffusion", "bc"])
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--eval-episodes", type=int, default=50)
    p.add_argument("--logdir", type=Path, default=Path("runs/bench-imitation"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--diffusion-lr", type=float, default=1e-4, help="1e-3 learns faster in a short CPU budget"
    )
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/imitation.json"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if not (args.data / "meta/info.json").is_file():
        demos_main(DemosArgs(task=TASK, out=args.data, n=max(args.demos)))
    rows = []
    for algo in args.algos:
        for n in args.demos:
            cfg = ImitationCfg(task=TASK, algo=algo, data=args.data, num_demos=n, steps=args.steps,
                               batch_size=args.batch_size, save_every=args.steps)  # fmt: skip
            cfg.diffusion.lr = args.diffusion_lr
            start = time.time()
            run = train_imitation(cfg, args.logdir, progress=False)
            train_s = time.time() - start
            torch.set_num_threads(args.threads)
            res = eval_imitation(run, args.eval_episodes)
            row = {"algo": algo, "demos": n, "success": res["success_rate"], "ci95": res["ci95"],
                   "train_s": round(train_s, 1), "eval_s": res["eval_wall_s"], "run": str(run)}  # fmt: skip
            if algo == "diffusion":
                row["chunk_ms_10_ddim_1_thread"] = round(chunk_latency_ms(run), 2)
                torch.set_num_threads(args.threads)
            rows.append(row)
            print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"steps": args.steps, "batch_size": args.batch_size, "rows": rows}, indent=1)
    )
    print(
        f"\n{TASK}: success vs demos ({args.steps} steps, batch {args.batch_size}, {args.eval_episodes} eval episodes)"
    )
    print(f"{'algo':10s} {'demos':>5s} {'success':>8s} {'95% CI':>14s} {'train s':>8s} {'chunk ms':>9s}")
    for r in rows:
        ci = f"[{r['ci95'][0]:.2f}, {r['ci95'][1]:.2f}]"
        lat = f"{r.get('chunk_ms_10_ddim_1_thread', float('nan')):9.2f}"
        print(f"{r['algo']:10s} {r['demos']:5d} {r['success']:8.2f} {ci:>14s} {r['train_s']:8.1f} {lat}")


if __name__ == "__main__":
    main()
