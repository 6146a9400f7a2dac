"""How long an open-loop replay of the walk stays up: the tracking task's servos fed the reference's joint
positions (residual action = 0), no policy, on G1 and H1 with each gain set.

    python benchmarks/tracking_replay.py            # writes benchmarks/results/tracking/replay.{json,md}

From the clip's first frame (no noise, no randomization: one deterministic episode) and from `--worlds`
uniformly drawn phases (RSI noise and randomization as trained): time until the first termination
(anchor height or tilt, or an end effector's height off the reference), capped at the clip's end.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
from pathlib import Path
from typing import Any

import torch

OUT = Path(__file__).resolve().parent / "results" / "tracking"


VARIANTS = {
    "menagerie gains, clip as retargeted": ("menagerie", False),
    "BeyondMimic gains, clip as retargeted": ("beyondmimic", False),
    "BeyondMimic gains, clip on the floor (the task now)": ("beyondmimic", True),
}
"""Label -> (gains, grounded clip)."""


def replay_cfg(task: str, gains: str, start: str, worlds: int, exact: bool, grounded: bool = True) -> Any:
    from robolearn.envs.tracking.tasks import MENAGERIE_GAINS, tracking_action
    from robolearn.registry import get_task

    cfg = get_task(task).env_cfg()
    motion = dataclasses.replace(cfg.commands["motion"], start=start, ground=grounded)
    if exact:
        motion = dataclasses.replace(motion, rsi_pos_noise=0.0, rsi_yaw_noise=0.0, rsi_joint_noise=0.0,
                                     rsi_vel_noise=0.0)  # fmt: skip
    scene = cfg.scene
    if gains == "menagerie":
        scene = dataclasses.replace(scene, pd_gains=dict(MENAGERIE_GAINS[scene.robot]))
    action = dataclasses.replace(tracking_action(), residual=True)
    cfg = dataclasses.replace(cfg, scene=scene, commands={"motion": motion}, actions={"joint_pos": action},
                              num_envs=worlds, auto_reset=False, seed=0)  # fmt: skip
    if exact:
        cfg = dataclasses.replace(cfg, events={})
    return cfg


def survival_s(task: str, gains: str, start: str, worlds: int, exact: bool, grounded: bool) -> list[float]:
    """Seconds each world's zero-residual replay lasts before its first termination (the clip's end caps it)."""
    from robolearn.core.env import ManagerBasedRlEnv
    from robolearn.envs.tracking import mdp as track

    env = ManagerBasedRlEnv(replay_cfg(task, gains, start, worlds, exact, grounded))
    env.reset(seed=0)
    cmd = track.motion(env)
    steps = int((cmd.motion.ends - cmd.motion.starts).max()) + 1
    alive = torch.ones(worlds, dtype=torch.bool)
    lasted = torch.zeros(worlds)
    zero = torch.zeros(worlds, env.action_manager.dim)
    for _ in range(steps):
        _, _, terminated, time_out, _ = env.step(zero)
        lasted += alive.float()
        alive &= ~(terminated | time_out).cpu()
        if not alive.any():
            break
    return (lasted * env.step_dt).tolist()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--worlds", type=int, default=64)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for task in ("G1-Tracking", "H1-Tracking"):
        for label, (gains, grounded) in VARIANTS.items():
            first = survival_s(task, gains, "first", 1, True, grounded)[0]
            rand = survival_s(task, gains, "uniform", args.worlds, False, grounded)
            row = {"task": task, "setup": label, "from_start_s": first, "random_phase_median_s": statistics.median(rand),
                   "random_phase_mean_s": statistics.fmean(rand), "worlds": args.worlds}  # fmt: skip
            print(json.dumps(row))
            rows.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "replay.json").write_text(json.dumps(rows, indent=2))
    lines = [
        "| task | setup | from the clip's start (s) | random phase, median (mean) s |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['task']} | {r['setup']} | {r['from_start_s']:.2f} | {r['random_phase_median_s']:.2f} "
              f"({r['random_phase_mean_s']:.2f}) |" for r in rows]  # fmt: skip
    (args.out / "replay.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
