"""CrossLoco against its baselines on held-out segments of the CMU clips (docs/crossloco.md).

Methods: Go2-CrossLoco (root tracking + cycle reward), Go2-CrossLoco-NoCycle (root tracking only) and
Go2-Tracking (the clips retargeted kinematically by retarget/quadruped.py, tracked by the tracking recipe).
Every method trains on the first 75% of each clip and its mirror and is scored on the last 25%.

    python benchmarks/crossloco.py prepare            # Go2 clips for the tracking baseline (train / held-out)
    python benchmarks/crossloco.py train --minutes 11 # the three trainings, one after another, niced
    python benchmarks/crossloco.py eval               # tables, results.json/md, plot, side-by-side videos

Measures (envs/crossloco/evaluation.py): root error (m), correspondence accuracy (R^2 of a ridge probe from
robot state to human pose, trained and scored on held-out rollouts, 2-fold), diversity (rad), falls, and each
run's training env steps and wall time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CMU = Path(os.environ.get("CROSSLOCO_CLIPS", ROOT.parent / "shared" / "data" / "mocap" / "cmu"))
LOGDIR = ROOT / "runs" / "crossloco_bench"
CLIPS = LOGDIR / "go2_clips"
OUT = ROOT / "benchmarks" / "results" / "crossloco"
HELD_OUT = 0.25
METHODS = {"CrossLoco": "Go2-CrossLoco", "NoCycle": "Go2-CrossLoco-NoCycle", "Tracking": "Go2-Tracking"}
VIDEO_CLIPS = ("131_01", "01_01")
"""The walk and the jumps: their held-out segments, side by side for the three methods."""


def prepare(src: Path = CMU, out: Path = CLIPS) -> None:
    """Each clip and its mirror retargeted to the Go2 at 50 Hz, split in time like Go2-CrossLoco's features."""
    from robolearn.retarget.human_features import clip_files, mirror_motion
    from robolearn.retarget.quadruped import retarget_quadruped
    from robolearn.retarget.sources import load_motion

    for path in clip_files(src):
        motion = load_motion(path)
        for name, m in ((path.stem, motion), (f"{path.stem}_mirror", mirror_motion(motion))):
            cut = int(round(m.num_frames * (1.0 - HELD_OUT)))
            for part, piece in (("train", m.slice(0, cut)), ("held_out", m.slice(cut, None))):
                res = retarget_quadruped(piece, "go2", fps=50.0)
                res.clip.save(out / part / f"{name}.npz")
                print(f"{part:8s} {name:14s} {res.clip.qpos.shape[0]:5d} frames")


def train(minutes: float, methods: list[str]) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for method in methods:
        task = METHODS[method]
        cmd = ["nice", "-n", "5", sys.executable, "-m", "robolearn.cli", "train", task, "--logdir", str(LOGDIR),
               "--run-name", "bench", "--max-iterations", "100000", "--time-limit-min", str(minutes)]  # fmt: skip
        if task == "Go2-Tracking":
            cmd += ["--env.commands.motion.motion-file", str(CLIPS / "train")]
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, env=env)


def newest_run(task: str) -> Path:
    runs = sorted((LOGDIR / task).glob("*-bench"))
    if not runs:
        raise SystemExit(f"no {task} run under {LOGDIR / task}; run `python benchmarks/crossloco.py train`")
    return runs[-1]


def evaluate_method(method: str, seed: int = 1) -> tuple[dict, object, object]:
    """(summary, env, act) of a method's newest run on the held-out segments."""
    from robolearn.envs.crossloco.command import HUMAN
    from robolearn.envs.crossloco.evaluation import (
        crossloco_rollouts,
        held_out_cfg,
        probe_r2,
        quiet,
        summarize,
        tracking_rollouts,
    )
    from robolearn.envs.crossloco.reference import load_human_reference
    from robolearn.envs.tracking.mdp import MOTION
    from robolearn.policies.evaluate import policy_factory, run_env_cfg
    from robolearn.policies.runs import read_metrics

    run = newest_run(METHODS[method])
    cfg = run_env_cfg(run)
    factory = policy_factory(run)
    if method == "Tracking":
        from robolearn.envs.crossloco.command import DEFAULT_FEATURES

        ref = load_human_reference(DEFAULT_FEATURES, 50.0, HELD_OUT, "cpu")
        cmds = dict(cfg.commands)
        cmds[MOTION] = dataclasses.replace(cmds[MOTION], motion_file=str(CLIPS / "held_out"), start="first",
                                           rsi_pos_noise=0.0, rsi_yaw_noise=0.0, rsi_joint_noise=0.0,
                                           rsi_vel_noise=0.0)  # fmt: skip
        events = {k: e for k, e in cfg.events.items() if e.mode != "interval"}  # no pushes
        env, act = factory(quiet(cfg, commands=cmds, events=events, num_envs=ref.num_clips, seed=seed))
        rollouts = tracking_rollouts(env, act, ref)
    else:
        n = len(np.load(cfg.commands[HUMAN].features_file)["names"])  # type: ignore[attr-defined]
        env, act = factory(held_out_cfg(cfg, n, seed))
        rollouts = crossloco_rollouts(env, act)
    summary = summarize(rollouts)
    summary["probe_r2_ridge1"] = probe_r2(rollouts, lam=1.0)  # the probe's sensitivity to its penalty
    with open(LOGDIR / f"rollouts_{method}.pkl", "wb") as f:  # for analyses after the fact (not committed)
        pickle.dump(rollouts, f)
    last = read_metrics(run)[-1]
    summary.update(run=str(run.relative_to(ROOT)), train_env_steps=int(last["env_steps"]),
                   train_wall_s=float(last["wall_time"]), train_iterations=int(last["iteration"]) + 1,
                   final_return=float(last["mean_return"]))  # fmt: skip
    return summary, env, act


def video(method_envs: dict[str, tuple], out: Path) -> list[Path]:
    """Per clip of VIDEO_CLIPS, its held-out segment for every method side by side, with the human skeleton."""
    from robolearn.envs.crossloco.command import HUMAN
    from robolearn.envs.crossloco.play import human_skeletons, render_with_skeleton
    from robolearn.envs.tracking.mdp import MOTION
    from robolearn.render import VideoWriter

    paths = []
    for clip in VIDEO_CLIPS:
        columns = []
        for method, (env, act) in method_envs.items():
            env.reset()
            if method == "Tracking":
                cmd = env.command_manager.get_term(MOTION)
                from robolearn.envs.crossloco.command import DEFAULT_FEATURES
                from robolearn.envs.crossloco.reference import load_human_reference

                ref = load_human_reference(DEFAULT_FEATURES, 50.0, HELD_OUT, "cpu")
                world = [f.stem for f in cmd.motion.files].index(clip)
                to_ref = [ref.names.index(f.stem) for f in cmd.motion.files]

                def skel(cmd=cmd, ref=ref, to_ref=to_ref) -> list:
                    out = []
                    for i in range(cmd.clip.shape[0]):
                        c = to_ref[int(cmd.clip[i])]
                        f = min(int(ref.split[c]) + int(cmd.frame[i] - cmd.motion.starts[cmd.clip[i]]), int(ref.ends[c]))
                        # the retargeted root starts at the segment's own origin: draw the skeleton from there
                        pts = ref.skeleton[f] - ref.skeleton[int(ref.split[c]), 0] * np.array([1, 1, 0])
                        rot = float(ref.heading[int(ref.split[c])])
                        out.append(_turn(pts, -rot, cmd.motion.root_pos[cmd.motion.starts[cmd.clip[i]]].cpu().numpy(),
                                         float(_yaw(cmd.motion.root_quat[cmd.motion.starts[cmd.clip[i]]]))))
                    return out

                bones = ref.bones
                steps = int(cmd.motion.ends[world] - cmd.motion.starts[world])
                frames = render_with_skeleton(env, act, steps, [world], skel, bones, size=(240, 200))
            else:
                term = env.command_manager.get_term(HUMAN)
                world = term.ref.names.index(clip)
                steps = int(term.ref.ends[world] - term.ref.split[world])
                frames = render_with_skeleton(env, act, steps, [world], lambda term=term: human_skeletons(term),
                                              term.ref.bones, size=(240, 200))  # fmt: skip
            columns.append(frames)
        n = min(len(c) for c in columns)
        path = out / f"heldout_{clip}.mp4"
        writer = VideoWriter(path, fps=25.0)
        for t in range(n):
            writer.write(np.concatenate([c[t] for c in columns], axis=1))
        paths.append(writer.close())
    return paths


def _yaw(q) -> float:
    w, x, y, z = (float(v) for v in q)
    return float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))


def _turn(pts: np.ndarray, angle: float, origin: np.ndarray, yaw: float) -> np.ndarray:
    """Points of a segment's start frame moved onto a retargeted clip's start: turned to its yaw, shifted."""
    a = angle + yaw
    c, s = np.cos(a), np.sin(a)
    out = pts.copy()
    out[:, 0], out[:, 1] = c * pts[:, 0] - s * pts[:, 1] + origin[0], s * pts[:, 0] + c * pts[:, 1] + origin[1]
    return out


def table(results: dict[str, dict]) -> str:
    head = ("| method | root error (m) | probe R^2 | probe R^2, ridge 1.0 | diversity (rad) | falls | train env steps "
            "| train wall (s) |")  # fmt: skip
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for m, r in results.items():
        lines.append(f"| {m} | {r['root_error_m']:.3f} | {r['probe_r2']:.3f} | {r['probe_r2_ridge1']:.3f} | "
                     f"{r['diversity_rad']:.3f} | "
                     f"{r['falls']:.2f} ({int(round(r['falls'] * r['segments']))}/{r['segments']}) | "
                     f"{r['train_env_steps']:,} | {r['train_wall_s']:.0f} |")  # fmt: skip
    return "\n".join(lines)


def plot(results: dict[str, dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("root_error_m", "root error (m), lower better"), ("probe_r2", "probe R^2, higher better"),
            ("diversity_rad", "diversity (rad)"), ("falls", "falls (share)")]  # fmt: skip
    fig, axes = plt.subplots(1, len(keys), figsize=(13, 3))
    for ax, (k, title) in zip(axes, keys, strict=True):
        ax.bar(list(results), [results[m][k] for m in results], color=["tab:orange", "tab:blue", "tab:gray"])
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_training(path: Path) -> dict[str, dict[str, float]]:
    """Training curves of the three runs (return, r->h mapper loss where fitted); the last row's values."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from robolearn.policies.runs import read_metrics

    fig, axes = plt.subplots(1, 2, figsize=(10, 3))
    last = {}
    for method, task in METHODS.items():
        rows = read_metrics(newest_run(task))
        steps = [r["env_steps"] for r in rows]
        axes[0].plot(steps, [r["mean_return"] for r in rows], label=method)
        if "Loss/mapper_r2h" in rows[-1]:
            axes[1].plot(steps, [r["Loss/mapper_r2h"] for r in rows], label=method)
        last[method] = {k: float(rows[-1][k]) for k in ("Loss/mapper_r2h", "Loss/mapper_h2r") if k in rows[-1]}
    axes[0].set_title("mean return (each task's own rewards)", fontsize=9)
    axes[1].set_title("r->h mapper MSE on the iteration's rollouts (standardized h)", fontsize=9)
    for ax in axes:
        ax.set_xlabel("env steps", fontsize=8)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return last


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("prepare")
    t = sub.add_parser("train")
    t.add_argument("--minutes", type=float, default=11.0)
    t.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    e = sub.add_parser("eval")
    e.add_argument("--no-video", action="store_true")
    args = p.parse_args()
    if args.cmd == "prepare":
        prepare()
        return
    if args.cmd == "train":
        train(args.minutes, args.methods)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    results, envs = {}, {}
    for method in METHODS:
        summary, env, act = evaluate_method(method)
        results[method] = summary
        envs[method] = (env, act)
        print(f"{method}: " + ", ".join(f"{k} {v:.3f}" for k, v in summary.items() if isinstance(v, float)), flush=True)
    print(table(results))
    (OUT / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (OUT / "results.md").write_text(table(results) + "\n")
    plot(results, OUT / "metrics.png")
    for method, losses in plot_training(OUT / "training.png").items():
        results[method]["final_mapper_losses"] = losses
    (OUT / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    if not args.no_video:
        for path in video(envs, OUT):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
