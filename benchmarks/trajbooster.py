"""TrajBooster on the G1 (docs/trajbooster.md): does whole-body retargeting reach what arms alone cannot?

    python benchmarks/trajbooster.py [--worker runs/G1-Velocity-Height/<run>] [--quick]

1. The worker (`G1-Velocity-Height`, default: the shipped assets/workers/g1-velocity-height) under held
   commands: velocity and pelvis height it keeps (8 s, 8 worlds, held-out seed, arms still), falls.
2. Sources: ALOHA demos (`Aloha-CubeTransfer` and `Aloha-Reach`, scripted experts, 6 each) and human clips
   (CMU 131_01 and 131_02 walks retargeted to the G1, cut into 4 s windows); each split in training and
   held-out episodes (held-out mapped with the training set's statistics), plus reach probes: the default
   wrists moved down 0.1-0.3 m and forward 0-0.3 m, held 3 s (the targets the paper's claim is about).
3. The manager trained by online DAgger on the training episodes (wall time, env steps).
4. On the held-out episodes and the probes: wrist position / orientation error, fall rate, share of targets
   within 5 cm (all, low: z < 0.85 m, far: x > 0.30 m), for (a) the whole-body hierarchy with the DAgger
   manager, (b) the heuristic labels as commands, (c) arms-only IK with a fixed standing pelvis.

Writes benchmarks/results/trajbooster/{results.json, results.md, reach.png}.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robolearn.policies import trajbooster as T
from robolearn.policies.trajbooster_data import load_source, prepare
from robolearn.retarget import ee_workspace
from robolearn.retarget.ee_traj import EETrajectory

OUT = Path(__file__).resolve().parent / "results" / "trajbooster"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mocap" / "cmu"
METHODS = {"a_wholebody_dagger": "manager", "b_heuristic_commands": "heuristic", "c_arms_only": "arms_only"}
WORKER_COMMANDS = {
    "stand": (0.0, 0.0, 0.0, 0.755),
    "crouch 0.60": (0.0, 0.0, 0.0, 0.60),
    "forward 0.3": (0.3, 0.0, 0.0, 0.755),
    "forward 0.3 crouched 0.65": (0.3, 0.0, 0.0, 0.65),
    "backward 0.3": (-0.3, 0.0, 0.0, 0.755),
    "left 0.2": (0.0, 0.2, 0.0, 0.755),
    "turn 0.4": (0.0, 0.0, 0.4, 0.755),
}


# -- 1. the worker under held commands -----------------------------------------------------------------------


@torch.no_grad()
def worker_eval(run: Path, command: tuple[float, float, float, float], worlds: int, steps: int,
                settle_s: float = 2.0, seed: int = 10_000) -> dict[str, float]:  # fmt: skip
    from robolearn.envs.humanoid.skill_commands import PelvisHeightCommandCfg
    from robolearn.policies.evaluate import load_run_policy

    vx, vy, wz, h = command

    def hold(cfg: Any) -> Any:
        events = {k: v for k, v in cfg.events.items() if k != "arm_targets"}
        return dataclasses.replace(cfg, events=events, commands={
            "base_velocity": cfg.commands["base_velocity"].held(vx, vy, wz),
            "base_height": PelvisHeightCommandCfg(height_range=(h, h), resampling_time_s=(1e6, 1e6))})  # fmt: skip

    with contextlib.redirect_stdout(io.StringIO()):
        pol = load_run_policy(run, num_envs=worlds, seed=seed, edit_env=hold)
    env = pol.env
    obs, _ = env.reset(seed=seed)
    alive = torch.ones(worlds, dtype=torch.bool)
    vel, height = [], []
    for i in range(steps):
        obs, _, terminated, _, _ = env.step(pol.act(obs))
        alive &= ~terminated.cpu()
        if i * env.step_dt >= settle_s and alive.any():
            lin = env.robot.root_lin_vel_b[:, :2].cpu().float()
            yaw = env.robot.root_ang_vel_b[:, 2:3].cpu().float()
            vel.append(torch.cat([lin, yaw], dim=-1)[alive])
            height.append(env.robot.root_pos_w[:, 2].cpu().float()[alive])
    v = torch.cat(vel).mean(0) if vel else torch.full((3,), float("nan"))
    return {"vx": float(v[0]), "vy": float(v[1]), "wz": float(v[2]),
            "height": float(torch.cat(height).mean()) if height else float("nan"),
            "falls": float(1.0 - alive.float().mean())}  # fmt: skip


# -- 2. sources -----------------------------------------------------------------------------------------------


def aloha(task: str, n: int, cache: Path) -> Path:
    from robolearn.cli import main as cli

    out = cache / f"{task}-{n}"
    if not (out / "meta" / "info.json").is_file():
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli(["demos", task, "--out", str(out), "--n", str(n), "--batch", str(n)]) == 0
    return out


def clip(name: str, cache: Path) -> Path:
    from robolearn.retarget.cli import RetargetArgs, main

    out = cache / f"{name}_g1.npz"
    if not out.is_file():
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(RetargetArgs(input=DATA / f"{name}.bvh", robot="g1", out=out)) == 0
    return out


def windows(traj: EETrajectory, seconds: float) -> list[EETrajectory]:
    """Consecutive windows of an episode, each re-based so its first pelvis is over the origin."""
    n = int(round(seconds * traj.fps))
    out = []
    for k in range(0, traj.num_frames - n + 1, n):
        sl = slice(k, k + n)
        assert traj.root is not None
        shift = np.array([traj.root[k, 0], traj.root[k, 1], 0.0])
        out.append(dataclasses.replace(traj, pos=traj.pos[sl] - shift, quat=traj.quat[sl], root=traj.root[sl] - shift,
                                       source=f"{traj.source}[{k / traj.fps:.0f}s]"))  # fmt: skip
    return out


def split_source(path: Path, held_out: int) -> tuple[list[EETrajectory], list[EETrajectory]]:
    """(training, held-out) episodes at the control rate, both mapped with the training set's statistics."""
    kind, eps = load_source(path)
    train, test = eps[:-held_out], eps[-held_out:]
    stats = ee_workspace.source_stats(train) if kind != "g1" else None
    return prepare(train, kind, 50.0, stats=stats), prepare(test, kind, 50.0, stats=stats)


def probes(seconds: float = 3.0) -> list[EETrajectory]:
    """Both default wrists moved by (forward dx, down dz), held; the reference pelvis from `reference_root`."""
    reach = ee_workspace.g1_reach()
    out = []
    for dz in (0.1, 0.2, 0.3):
        for dx in (0.0, 0.15, 0.3):
            T = int(seconds * 50)
            pos = np.repeat((reach.wrist_pos + [dx, 0.0, -dz])[None], T, 0)
            quat = np.repeat(reach.wrist_quat[None], T, 0)
            ep = EETrajectory(50.0, pos, quat, instruction="reach", source=f"probe down {dz} fwd {dx}")
            out.append(ee_workspace.with_reference_root(ep))
    return out


# -- 3-4. manager training and evaluation ----------------------------------------------------------------------


def evaluate(method: str, episodes: list[EETrajectory], worker: Path | None, manager: Any, worlds: int
             ) -> tuple[list[T.EpisodeResult], dict[str, float]]:  # fmt: skip
    h = T.Hierarchy(method, num_envs=worlds, worker=worker)
    results = []
    for k in range(0, len(episodes), worlds):
        results += h.run(episodes[k : k + worlds], manager).results
    ik = h.ik.stats
    return results, {"ik_ms": ik.mean_ms, "ik_unreachable": ik.unreachable / max(ik.solves, 1),
                     "ik_failures": ik.failures, "ik_solves": ik.solves}  # fmt: skip


def fmt_row(name: str, s: dict[str, float]) -> str:
    def f(x: float, pct: bool = False) -> str:
        return "-" if not np.isfinite(x) else (f"{x:.0%}" if pct else f"{x:.3f}")

    return (f"| {name} | {s['episodes']} | {f(s['pos_error_m'])} | {f(s['ori_error_rad'])} | {f(s['fall_rate'], True)} "
            f"| {f(s['reached_5cm'], True)} | {f(s['low_reached_5cm'], True)} | {f(s['far_reached_5cm'], True)} "
            f"| {f(s['ik_error_m'])} |")  # fmt: skip


HEADER = ("| method | episodes | wrist pos err (m) | wrist ori err (rad) | falls | reached 5 cm | low reached | "
          "far reached | IK-solution err (m) |\n|---|---|---|---|---|---|---|---|---|")  # fmt: skip


def plot(table: dict[str, dict[str, dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(table)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    width = 0.25
    for m, method in enumerate(METHODS):
        x = np.arange(len(sets)) + (m - 1) * width
        axes[0].bar(x, [table[s][method]["reached_5cm"] for s in sets], width, label=method)
        axes[1].bar(x, [table[s][method]["pos_error_m"] for s in sets], width, label=method)
    for ax, title in zip(
        axes, ("share of wrist targets within 5 cm", "mean wrist position error (m)"), strict=True
    ):
        ax.set_xticks(np.arange(len(sets)), sets, rotation=12, fontsize=8)
        ax.set_title(title)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--worker", type=Path, default=None, help="G1-Velocity-Height run (default: the shipped one)"
    )
    p.add_argument("--worker-run", type=Path, default=None,
                   help="the worker's full training run, for its wall time and env steps (metrics.jsonl)")  # fmt: skip
    p.add_argument("--cache", type=Path, default=Path("/tmp/trajbooster_bench"))
    p.add_argument("--worlds", type=int, default=8)
    p.add_argument("--passes", type=int, default=6, help="DAgger passes")
    p.add_argument("--quick", action="store_true", help="fewer episodes and passes (a smoke run)")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    torch.set_num_threads(1)
    args.cache.mkdir(parents=True, exist_ok=True)
    worker = args.worker or T.WORKER_SKILL
    n_aloha = 4 if args.quick else 6
    report: dict[str, Any] = {"worker": str(worker)}

    print("\n1. worker under held commands (8 worlds, 8 s, arms still; measured after 2 s)")
    print(f"{'command (vx, vy, wz, h)':<44}{'vx':>7}{'vy':>7}{'wz':>7}{'height':>8}{'falls':>7}")
    report["worker_eval"] = {}
    for label, cmd in WORKER_COMMANDS.items():
        r = report["worker_eval"][label] = worker_eval(
            worker, cmd, 4 if args.quick else 8, 200 if args.quick else 400
        )
        print(
            f"{label + ' ' + str(cmd):<44}{r['vx']:>7.2f}{r['vy']:>7.2f}{r['wz']:>7.2f}{r['height']:>8.3f}{r['falls']:>7.2f}"
        )
    run = args.worker_run or worker
    rows = [
        json.loads(line) for line in (Path(run) / "metrics.jsonl").read_text().splitlines() if line.strip()
    ]
    if rows:
        report["worker_training"] = {"env_steps": rows[-1].get("env_steps"), "wall_s": rows[-1].get("wall_time"),
                                     "iteration": rows[-1].get("iteration")}  # fmt: skip

    print("\n2. sources")
    train, held = [], {}
    for task in ("Aloha-CubeTransfer", "Aloha-Reach"):
        tr, te = split_source(aloha(task, n_aloha, args.cache), held_out=n_aloha // 2)
        train += tr
        held[task] = te
    clips = []
    for name in ("131_01", "131_02"):
        _, (c,) = load_source(clip(name, args.cache))
        clips.append(windows(prepare([c], "g1", 50.0)[0], 4.0))
    train += clips[0]
    held["CMU walk (131_02)"] = clips[1][: 2 if args.quick else 4]
    held["reach probes"] = probes()
    for k, v in held.items():
        print(f"  held-out {k}: {len(v)} episodes, {sum(e.num_frames for e in v)} frames")
    print(f"  training: {len(train)} episodes")

    print("\n3. manager by online DAgger")
    from robolearn.policies.trajbooster_manager import dagger

    h = T.Hierarchy("manager", num_envs=args.worlds, worker=args.worker)
    start = time.perf_counter()
    manager, log = dagger(h, train, passes=2 if args.quick else args.passes,
                          progress=lambda r: print(f"  pass {r['pass']} (beta {r['beta']}): {r['samples']} samples, "
                                                   f"loss {r.get('loss_before_fit', float('nan')):.4f} -> "
                                                   f"{r['loss_after_fit']:.4f}, reached {r['reached_5cm']:.0%}, "
                                                   f"falls {r['fall_rate']:.0%}"))  # fmt: skip
    report["manager_training"] = {
        "wall_s": time.perf_counter() - start,
        "env_steps": log.env_steps,
        "passes": log.rows,
    }

    print("\n4. held-out evaluation")
    table: dict[str, dict[str, dict[str, float]]] = {}
    report["ik"] = {}
    for name, eps in held.items():
        table[name] = {}
        for label, method in METHODS.items():
            results, ik = evaluate(method, eps, args.worker, manager, args.worlds)
            table[name][label] = T.summarize(results)
            report["ik"][f"{name}/{label}"] = ik
        print(f"\n{name}\n{HEADER}")
        for label in METHODS:
            print(fmt_row(label, table[name][label]))
    report["held_out"] = table
    args.out.mkdir(parents=True, exist_ok=True)
    md = [
        f"## {name}\n\n{HEADER}\n" + "\n".join(fmt_row(m, table[name][m]) for m in METHODS) for name in table
    ]
    (args.out / "results.md").write_text("\n\n".join(md) + "\n")
    tmp = args.out / "results.json.tmp"
    tmp.write_text(json.dumps(report, indent=2, default=float))
    tmp.replace(args.out / "results.json")
    plot(table, args.out / "reach.png")
    print(f"\nwrote {args.out}/results.json, results.md, reach.png")


if __name__ == "__main__":
    main()
