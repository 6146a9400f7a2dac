"""YOTO on ALOHA: one source demonstration proliferated to N verified demos; BiDP (with and without
point-cloud augmentation) vs the chunked diffusion policy vs BC, success on held-out placements.

    python benchmarks/yoto.py                                   # the issue's grid (hours on one core)
    python benchmarks/yoto.py --sizes 10 --bidp-steps 500 --chunk-steps 300 --out benchmarks/results/yoto_small.json

Per task: the scripted expert's keyposes stand in for one extracted demo (a keypose JSON file, as
`robolearn demos --from-video` writes); `robolearn demos <task> --keyposes <file> --n max(sizes)` proliferates
it (new placements, keyposes moved with the objects, executed, successes kept) into one dataset whose first
N episodes are each size's demos. Each (method, size) trains from scratch and is evaluated on
`--eval-episodes` held-out placements (seed 10000 on) with 95% Wilson intervals. Augmentation (rigid
copies of the start cloud with the keypose actions moved alike) applies to BiDP only: the chunked policies
observe low-dim state and act in joint space, where a rigid motion of the scene has no exact counterpart
short of re-planning, which is what proliferation does.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from robolearn.envs.manipulation.keyposes import expert_keyposes, save_keyposes
from robolearn.policies.bc import BcCfg
from robolearn.policies.bidp import BidpCfg
from robolearn.policies.diffusion import DiffusionCfg
from robolearn.policies.imitation import ImitationCfg, train_imitation
from robolearn.policies.imitation_demos import DemosArgs, main as demos_main
from robolearn.policies.imitation_eval import eval_imitation

METHODS = ("bidp", "bidp-aug", "diffusion", "bc")


def proliferated(task: str, n: int, root: Path) -> Path:
    """`n` demos proliferated from the task's one keypose file (generated once, reused)."""
    data = root / f"{task}-{n}"
    if not (data / "keyposes.npz").is_file():
        save_keyposes(root / f"{task}-source.json", expert_keyposes(task), task)
        demos_main(
            DemosArgs(task=task, out=data, n=n, batch=min(n, 16), keyposes=root / f"{task}-source.json")
        )
    return data


def train(method: str, task: str, data: Path, demos: int, args: argparse.Namespace) -> Path:
    base = ImitationCfg(task=task, data=data, num_demos=demos, seed=args.seed, torch_threads=args.threads,
                        log_every=100)  # fmt: skip
    logdir, name = args.logdir, f"{method}-{demos}demos"
    if method.startswith("bidp"):
        from robolearn.policies.bidp_run import train_bidp

        bidp = BidpCfg(augment=args.augment if method == "bidp-aug" else 0)
        cfg = replace(base, algo="bidp", steps=args.bidp_steps, batch_size=args.bidp_batch, bidp=bidp,
                      save_every=args.bidp_steps)  # fmt: skip
        return train_bidp(cfg, logdir, name, progress=False)
    cfg = replace(base, algo=method, steps=args.chunk_steps, batch_size=args.chunk_batch, save_every=args.chunk_steps,
                  diffusion=DiffusionCfg(lr=args.diffusion_lr, warmup_steps=min(200, args.chunk_steps // 10)),
                  bc=BcCfg(warmup_steps=min(200, args.chunk_steps // 10)))  # fmt: skip
    return train_imitation(cfg, logdir, name, progress=False)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tasks", nargs="+", default=["Aloha-CubeTransfer", "Aloha-Insertion", "Aloha-CubeRelay"])
    p.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200], help="proliferated demos per cell")
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--augment", type=int, default=10, help="bidp-aug: rigid cloud copies per demo")
    p.add_argument("--bidp-steps", type=int, default=3000)
    p.add_argument("--bidp-batch", type=int, default=32)
    p.add_argument("--chunk-steps", type=int, default=6000, help="diffusion and BC gradient steps")
    p.add_argument("--chunk-batch", type=int, default=64)
    p.add_argument(
        "--diffusion-lr", type=float, default=5e-4, help="benchmarks/imitation.py's measured choice"
    )
    p.add_argument("--eval-episodes", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--data-root", type=Path, default=Path("data/yoto"))
    p.add_argument("--logdir", type=Path, default=Path("runs/bench-yoto"))
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/yoto.json"))
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    args.data_root.mkdir(parents=True, exist_ok=True)
    rows = []
    for task in args.tasks:
        start = time.time()
        data = proliferated(task, max(args.sizes), args.data_root)
        gen_s = round(time.time() - start, 1)
        for demos in args.sizes:
            for method in args.methods:
                start = time.time()
                run = train(method, task, data, demos, args)
                train_s = time.time() - start
                r = eval_imitation(run, args.eval_episodes)
                row = {"task": task, "method": method, "demos": demos, "augment": args.augment if method == "bidp-aug" else 0,
                       "success_rate": r["success_rate"], "ci95": [round(v, 3) for v in r["ci95"]],
                       "episodes": r["episodes"], "train_s": round(train_s, 1), "eval_s": r["eval_wall_s"],
                       "demo_generation_s": gen_s, "run": str(run)}  # fmt: skip
                rows.append(row)
                print(json.dumps(row), flush=True)
    budget = {k: getattr(args, k) for k in ("bidp_steps", "bidp_batch", "chunk_steps", "chunk_batch", "augment",
                                            "eval_episodes", "threads")}  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.tmp")
    tmp.write_text(json.dumps({"budget": budget, "rows": rows}, indent=1))
    tmp.replace(args.out)
    print(f"{'task':20s} {'method':10s} {'demos':>5s} {'success':>8s}  95% CI")
    for r in rows:
        print(f"{r['task']:20s} {r['method']:10s} {r['demos']:5d} {r['success_rate']:8.2f}  "
              f"[{r['ci95'][0]:.2f}, {r['ci95'][1]:.2f}]")  # fmt: skip


if __name__ == "__main__":
    main()
