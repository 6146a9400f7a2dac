"""MotionTrans bench: do human-only Panda tasks reach zero-shot success when cotrained with robot data?

Tasks are split into robot+human tasks (robot expert demos and human VR demos) and human-only tasks (human
VR demos only). Per task, on held-out layouts (Wilson 95% intervals):
  zero-shot   (a) cotraining (robot demos of the robot+human tasks + human demos of all tasks, weighted),
              (b) human data only, (c) robot data only
  few-shot    human-only tasks after k robot demos each (k = 5, 20): fine-tuned from (a) vs trained from scratch
plus the scripted expert on the same layouts (the demos' source, an upper reference).

    python benchmarks/motiontrans.py                       # CPU budget (~15 min on a free 2-core machine)
    python benchmarks/motiontrans.py --layouts 50 --steps 4000 --n-robot 50 --n-human 50   # a GPU session

Writes benchmarks/results/motiontrans/{results.json, results.md, success.png}.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path

import numpy as np
import torch

from robolearn.envs.panda.expert import execute, expert_keyposes, make_env, plan, sample_layouts
from robolearn.envs.panda.tasks import task_cfg
from robolearn.policies.diffusion import DiffusionCfg
from robolearn.policies.imitation_eval import wilson_interval
from robolearn.policies.motiontrans import CotrainCfg, evaluate, train
from robolearn.policies.motiontrans_data import human_demos_repr, robot_demos

OUT = Path(__file__).parent / "results" / "motiontrans"
PAPER = {
    "zero-shot cotraining": "9 of 13 human-only tasks reach non-trivial success",
    "zero-shot human data only": "no success",
    "few-shot 5/20 robot demos": "cotraining pre-training adds ~40% success",
}
"""MotionTrans (arXiv 2509.17759) headline figures, real robot, 13 human-only tasks (not these tasks)."""


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--robot-human", default="Panda-Lift,Panda-Push")
    p.add_argument("--human-only", default="Panda-PickPlace,Panda-KnockOver")
    p.add_argument("--n-robot", type=int, default=10, help="robot demos per robot+human task")
    p.add_argument("--n-human", type=int, default=10, help="human demos per task")
    p.add_argument("--few-shot", default="5,20")
    p.add_argument("--layouts", type=int, default=10, help="held-out layouts per task (the issue asks 50)")
    p.add_argument("--steps", type=int, default=1000, help="training steps (fine-tuning: half)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", type=Path, default=Path("/tmp/motiontrans_bench"))
    p.add_argument("--out", type=Path, default=OUT)
    return p.parse_args()


def cached(path: Path, make):
    if path.is_file():
        return pickle.loads(path.read_bytes())
    value = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(value))
    return value


def rate(success: np.ndarray) -> dict:
    k, n = int(success.sum()), len(success)
    lo, hi = wilson_interval(k, n)
    return {"success": k / n, "k": k, "n": n, "ci95": [lo, hi]}


def expert_rate(task: str, layouts: np.ndarray) -> dict:
    cfg = task_cfg(task)
    env = make_env(task, len(layouts))
    actions = np.stack([plan(expert_keyposes(task), lay, cfg) for lay in layouts])
    return rate(execute(env, layouts, actions)[0])


def main() -> None:
    args = parse()
    torch.set_num_threads(1)
    rh, ho = args.robot_human.split(","), args.human_only.split(",")
    shots = [int(k) for k in args.few_shot.split(",")]
    c = args.cache / f"r{args.n_robot}_h{args.n_human}_s{args.seed}"
    t0 = time.time()
    robot = {t: cached(c / f"robot_{t}.pkl", lambda t=t: robot_demos(t, args.n_robot, args.seed)) for t in rh}
    human = {t: cached(c / f"human_{t}.pkl", lambda t=t: human_demos_repr(t, args.n_human, args.seed + 1))
             for t in rh + ho}  # fmt: skip
    few = {t: cached(c / f"few_{t}_{max(shots)}.pkl", lambda t=t: robot_demos(t, max(shots), args.seed + 2))
           for t in ho}  # fmt: skip
    print(f"data: {time.time() - t0:.0f} s")
    layouts = {t: sample_layouts(task_cfg(t), args.layouts, np.random.default_rng(10_000 + k))
               for k, t in enumerate(rh + ho)}  # fmt: skip
    diff = DiffusionCfg(horizon=8, action_horizon=4, down_dims=(32, 64), warmup_steps=50, prediction_type="sample")
    cfg = CotrainCfg(steps=args.steps, seed=args.seed, diffusion=diff)
    fine = CotrainCfg(steps=args.steps // 2, seed=args.seed, diffusion=diff, lr=3e-4)
    res: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "expert": {}, "zero_shot": {}, "few_shot": {},
                 "losses": {}, "paper": PAPER}  # fmt: skip
    for t in rh + ho:
        res["expert"][t] = expert_rate(t, layouts[t])
    all_robot = [d for t in rh for d in robot[t]]
    all_human = [d for t in rh + ho for d in human[t]]
    policies = {}
    for name, demos in (("cotrain", all_robot + all_human), ("human_only", all_human), ("robot_only", all_robot)):
        t1 = time.time()
        policies[name] = train(demos, cfg)
        res["losses"][name] = policies[name].losses
        res["zero_shot"][name] = {t: rate(evaluate(policies[name], t, layouts[t])) for t in rh + ho}
        print(f"{name}: {time.time() - t1:.0f} s", {t: r["k"] for t, r in res["zero_shot"][name].items()})
    for k in shots:
        demos = [d for t in ho for d in few[t][:k]]
        for init_name, init in (("pretrained", policies["cotrain"]), ("scratch", None)):
            t1 = time.time()
            pol = train(demos, fine if init is not None else cfg, init=init)
            res["few_shot"][f"{k}_{init_name}"] = {t: rate(evaluate(pol, t, layouts[t])) for t in ho}
            print(f"few-shot {k} {init_name}: {time.time() - t1:.0f} s",
                  {t: r["k"] for t, r in res["few_shot"][f"{k}_{init_name}"].items()})  # fmt: skip
    res["wall_s"] = time.time() - t0
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(res, indent=1))
    (args.out / "results.md").write_text(table(res, rh, ho, shots))
    plot(res, rh, ho, args.out / "success.png")
    print(table(res, rh, ho, shots))


def cell(r: dict) -> str:
    return f"{r['k']}/{r['n']} ({100 * r['ci95'][0]:.0f}-{100 * r['ci95'][1]:.0f}%)"


def table(res: dict, rh: list[str], ho: list[str], shots: list[int]) -> str:
    lines = ["| task | split | expert | cotrain | human only | robot only |" + "".join(
        f" {k}-shot pretrained | {k}-shot scratch |" for k in shots), "|---" * (6 + 2 * len(shots)) + "|"]  # fmt: skip
    for t in rh + ho:
        z = res["zero_shot"]
        row = [t, "robot+human" if t in rh else "human-only", cell(res["expert"][t]),
               cell(z["cotrain"][t]), cell(z["human_only"][t]), cell(z["robot_only"][t])]  # fmt: skip
        for k in shots:
            for init in ("pretrained", "scratch"):
                r = res["few_shot"].get(f"{k}_{init}", {}).get(t)
                row.append(cell(r) if r else "-")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append("Paper (MotionTrans, real robot, its own 13 human-only tasks): " + "; ".join(
        f"{k}: {v}" for k, v in res["paper"].items()))  # fmt: skip
    return "\n".join(lines) + "\n"


def plot(res: dict, rh: list[str], ho: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = rh + ho
    names = ["cotrain", "human_only", "robot_only"]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for i, name in enumerate(names):
        r = [res["zero_shot"][name][t] for t in tasks]
        y = np.array([x["success"] for x in r])
        err = np.array([[x["success"] - x["ci95"][0], x["ci95"][1] - x["success"]] for x in r]).T
        ax.bar(np.arange(len(tasks)) + (i - 1) * 0.27, y, 0.27, yerr=err, label=name, capsize=2)
    ax.set_xticks(range(len(tasks)), [t.removeprefix("Panda-") + ("*" if t in ho else "") for t in tasks])
    ax.set_ylabel("zero-shot success")
    ax.set_title("MotionTrans on Panda-LEAP (* human-only tasks), 95% Wilson intervals")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
