"""BiDexHD on one category of generated tasks: IPPO vs joint-actor state teachers, a point-cloud student
distilled from the IPPO teacher by DAgger, trained vs unseen tasks, the student's latency on one core.

    nice -n 5 env OMP_NUM_THREADS=1 python benchmarks/bidexhd.py                     # ~30 min on 2 cores
    python benchmarks/bidexhd.py --teacher-minutes 1 --student-minutes 1 --out /tmp/bidex   # smoke run

The category's tasks are split by a seed into trained and unseen tasks (envs/dexterous/bidex/schema.py
split_tasks); teachers and the student train multi-task on the trained ones (one task per world, drawn at
every reset) for a wall-clock budget each, then every policy plays `--episodes` episodes per task
(envs/dexterous/bidex/evaluate.py has the exact definitions of fulfillment and stage success).
Writes <out>/results.json, <out>/results.md and <out>/curves.png.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch
from tensordict import TensorDict

from robolearn.core import ManagerBasedRlEnv
from robolearn.envs.dexterous.bidex.evaluate import FULFILLED, run_episodes, summarize
from robolearn.envs.dexterous.bidex.generate import generate_demo
from robolearn.envs.dexterous.bidex.presets import ppo_cpu
from robolearn.envs.dexterous.bidex.schema import split_tasks
from robolearn.envs.dexterous.bidex.task import bidex_env_cfg
from robolearn.policies.bidex.export import export_student
from robolearn.policies.bidex.student import STUDENT_GROUP, Dagger, DaggerCfg
from robolearn.policies.bidex.teacher import BidexTeacher, TeacherCfg
from robolearn.sim2real.pointcloud_runtime import PointCloudPolicy

PAPER = {"trained_fulfillment": 0.7459, "unseen_fulfillment": 0.5107, "trained_tasks": 141}
"""BiDexHD (arXiv 2410.02477): task fulfillment of its student on 141 trained TACO tasks and on unseen tasks."""


def train_teacher(mode: str, demos: list, args: argparse.Namespace) -> tuple[BidexTeacher, list[dict]]:
    env = ManagerBasedRlEnv(bidex_env_cfg(demos, num_envs=args.teacher_envs, seed=args.seed))
    ppo = dataclasses.replace(ppo_cpu(), num_envs=args.teacher_envs)
    teacher = BidexTeacher(env, TeacherCfg(mode=mode, ppo=ppo, seed=args.seed, log_every=20))  # type: ignore[arg-type]
    rows, start = [], time.time()
    while time.time() - start < 60 * args.teacher_minutes:
        row = teacher.iterate()
        row.update(wall_s=time.time() - start, env_steps=teacher.env_steps)
        rows.append(row)
        if teacher.iteration % 20 == 1:
            print(f"[{mode}] it {teacher.iteration}: return {row['mean_return']:.3f}, {teacher.env_steps} steps, "
                  f"{row['wall_s']:.0f} s", flush=True)  # fmt: skip
    return teacher, rows


def evaluate(name: str, policy, demos: list, names: list[str], args: argparse.Namespace, student: bool) -> dict:
    """Per task of `names` (indices into demos), `args.episodes` episodes; pooled over tasks."""
    env = ManagerBasedRlEnv(dataclasses.replace(bidex_env_cfg(demos, student=student, num_envs=args.episodes,
                                                              seed=args.seed + 100), auto_reset=False))  # fmt: skip
    episodes = []
    for task in names:
        episodes += run_episodes(env, policy, [d.name for d in demos].index(task), seed=args.seed + 7)
    row = summarize(episodes)
    row.update(policy=name, tasks=len(names))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--category", default="stir")
    ap.add_argument("--tasks", type=int, default=5)
    ap.add_argument("--unseen-fraction", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--teacher-envs", type=int, default=32)
    ap.add_argument("--teacher-minutes", type=float, default=10.0)
    ap.add_argument("--student-envs", type=int, default=16)
    ap.add_argument("--student-minutes", type=float, default=6.0)
    ap.add_argument("--episodes", type=int, default=8, help="evaluation episodes per task")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/bidexhd"))
    ap.add_argument("--models", type=Path, default=Path("/tmp/bidexhd-models"),
                    help="teacher checkpoints and the exported student (not committed)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    args.models.mkdir(parents=True, exist_ok=True)

    demos = [generate_demo(args.category, i, args.seed) for i in range(args.tasks)]
    trained, unseen = split_tasks([d.name for d in demos], args.unseen_fraction, args.seed)
    train_demos = [d for d in demos if d.name in trained]
    print(f"category {args.category}: trained {trained}, unseen {unseen}", flush=True)

    results: dict = {"category": args.category, "trained": trained, "unseen": unseen, "paper": PAPER,
                     "fulfilled_threshold": FULFILLED, "args": {k: str(v) for k, v in vars(args).items()}}  # fmt: skip
    teachers, curves = {}, {}
    for mode in ("ippo", "joint"):
        teachers[mode], curves[mode] = train_teacher(mode, train_demos, args)
        teachers[mode].save(args.models / f"teacher_{mode}.pt")
    results["curves"] = curves

    # Student: DAgger from the IPPO teacher on the trained tasks (point clouds from ray casts every step).
    senv = ManagerBasedRlEnv(bidex_env_cfg(train_demos, student=True, num_envs=args.student_envs, seed=args.seed))
    ippo = teachers["ippo"]
    dagger = Dagger(senv, ippo.act, DaggerCfg(seed=args.seed))
    drows, start = [], time.time()
    while time.time() - start < 60 * args.student_minutes:
        drows += dagger.train(1, log=None)
        drows[-1]["wall_s"] = time.time() - start
    print(f"[dagger] {dagger.iteration} iterations, loss {drows[0]['loss_before_fit']:.4f} -> "
          f"{drows[-1]['train_loss']:.4f}, {dagger.env_steps} steps", flush=True)  # fmt: skip
    results["dagger"] = drows
    export_student(dagger.student, senv, args.models / "student")
    median, p95 = PointCloudPolicy(args.models / "student", threads=1).latency_ms()
    results["student_latency_ms"] = {"median": median, "p95": p95, "threads": 1}

    def teacher_policy(t: BidexTeacher):
        return lambda obs: t.act(TensorDict(obs, batch_size=[next(iter(obs.values())).shape[0]]))

    evals = []
    full = demos  # evaluation envs hold every task of the category, trained and unseen
    for split, names in (("trained", trained), ("unseen", unseen)):
        for mode, t in teachers.items():
            row = evaluate(f"teacher-{mode}", teacher_policy(t), full, names, args, student=False)
            evals.append({**row, "split": split, "env_steps": t.env_steps, "wall_s": curves[mode][-1]["wall_s"]})
        row = evaluate("student-pointnet", lambda obs: dagger.student(obs[STUDENT_GROUP]), full, names, args, True)
        evals.append({**row, "split": split, "env_steps": dagger.env_steps, "wall_s": drows[-1]["wall_s"]})
        print(f"evaluated {split}", flush=True)
    results["eval"] = evals
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    write_table(results, args.out / "results.md")
    plot(results, args.out / "curves.png")
    print((args.out / "results.md").read_text())


def _pct(row: dict, key: str) -> str:
    return f"{100 * row[key]:.1f} [{100 * row[key + '_lo']:.1f}, {100 * row[key + '_hi']:.1f}]"


def write_table(results: dict, path: Path) -> None:
    lines = [
        f"Category `{results['category']}`: trained {len(results['trained'])} tasks, unseen {len(results['unseen'])}; "
        f"fulfilled = F >= {results['fulfilled_threshold']}; 95% intervals over episodes.",
        "",
        "| policy | split | tasks | episodes | fulfilled % | mean F % | stage-1 % | stage-2 % | env steps | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results["eval"]:
        lines.append(f"| {r['policy']} | {r['split']} | {r['tasks']} | {r['episodes']} | {_pct(r, 'fulfilled')} | "
                     f"{_pct(r, 'mean_F')} | {_pct(r, 'stage1')} | {_pct(r, 'stage2')} | {r['env_steps']:,} | "
                     f"{r['wall_s']:.0f} |")  # fmt: skip
    p = results["paper"]
    lines += ["", f"Paper (BiDexHD student, TACO): trained {100 * p['trained_fulfillment']:.2f}% on "
              f"{p['trained_tasks']} tasks, unseen {100 * p['unseen_fulfillment']:.2f}%.", "",
              f"Student latency (ONNX, onnxruntime, 1 thread): median {results['student_latency_ms']['median']:.3f} ms, "
              f"p95 {results['student_latency_ms']['p95']:.3f} ms."]  # fmt: skip
    for mode, rows in results["curves"].items():
        last = rows[-1]
        lines.append(f"Teacher {mode}: {len(rows)} iterations, {last['env_steps']:,} env steps in {last['wall_s']:.0f} s, "
                     f"final mean training return {last['mean_return']:.3f}.")  # fmt: skip
    path.write_text("\n".join(lines) + "\n")


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    for mode, rows in results["curves"].items():
        ax[0].plot([r["env_steps"] for r in rows], [r["mean_return"] for r in rows], label=mode)
    ax[0].set(xlabel="env steps", ylabel="mean training return", title="teachers: IPPO vs joint actor")
    ax[0].legend()
    d = results["dagger"]
    ax[1].plot([r["env_steps"] for r in d], [r["loss_before_fit"] for r in d])
    ax[1].set(xlabel="env steps", ylabel="action MSE to teacher", title="student DAgger")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
