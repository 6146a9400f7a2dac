"""Does an H1-Skill-Walk policy walk? Velocity reached under fixed commands, and how it steps.

    python benchmarks/walk_skill.py runs/H1-Skill-Walk/<run> [runs/H1-Skill-Walk/<run> ...] --worlds 32

A velocity-tracking return can be earned by standing (the first walking skill did exactly that), so this
holds each command fixed for a whole episode (held-out seed, deterministic actions, no curriculum) and
reports the base velocity the robot actually keeps (body frame, mean over worlds alive after `--settle-s`),
the share of time with exactly one foot on the ground (a walking gait is mostly single support; standing is
0), and falls. A policy that stands scores velocity 0 on every row.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import torch

from robolearn.core import mdp
from robolearn.policies.evaluate import load_run_policy
from robolearn.render import frame_strip, render_env_video

RESULTS = Path(__file__).resolve().parent / "results" / "walk_skill.json"
COMMANDS = {
    "stand": (0.0, 0.0, 0.0),
    "forward 0.5": (0.5, 0.0, 0.0),
    "forward 1.0": (1.0, 0.0, 0.0),
    "backward 0.5": (-0.5, 0.0, 0.0),
    "left 0.3": (0.0, 0.3, 0.0),
    "turn 0.5": (0.0, 0.0, 0.5),
}
"""Label -> (vx m/s, vy m/s, yaw rate rad/s), inside the skill's command range."""


def fixed_command_policy(run: Path, command: tuple[float, float, float], worlds: int, seed: int) -> Any:
    """A walking run's policy (`LoadedPolicy`) with its command held at `command` for the whole episode."""
    vx, vy, wz = command

    def hold(cfg: Any) -> Any:
        return dataclasses.replace(cfg, commands={"base_velocity": cfg.commands["base_velocity"].held(vx, vy, wz)})

    with contextlib.redirect_stdout(io.StringIO()):  # rsl_rl prints the model
        return load_run_policy(run, num_envs=worlds, seed=seed, edit_env=hold)


@torch.no_grad()
def hold_command(run: Path, command: tuple[float, float, float], worlds: int, steps: int, settle_s: float,
                 seed: int) -> dict[str, float]:  # fmt: skip
    pol = fixed_command_policy(run, command, worlds, seed)
    env = pol.env
    obs, _ = env.reset(seed=seed)
    alive = torch.ones(worlds, dtype=torch.bool)
    vel, single = [], []
    for i in range(steps):
        obs, _, terminated, time_out, _ = env.step(pol.act(obs))
        alive &= ~terminated.cpu()
        if i * env.step_dt >= settle_s and alive.any():
            lin = env.robot.root_lin_vel_b[:, :2].cpu().float()
            yaw = env.robot.root_ang_vel_b[:, 2:3].cpu().float()
            vel.append(torch.cat([lin, yaw], dim=-1)[alive])
            contacts = mdp.contact_found(env, "feet").cpu().sum(dim=-1)
            single.append((contacts == 1).float()[alive])
    v = torch.cat(vel).mean(dim=0) if vel else torch.full((3,), float("nan"))
    return {"vx": float(v[0]), "vy": float(v[1]), "wz": float(v[2]),
            "single_support": float(torch.cat(single).mean()) if single else float("nan"),
            "falls": float(1.0 - alive.float().mean())}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--worlds", type=int, default=32)
    parser.add_argument("--steps", type=int, default=500, help="policy steps (500 = 10 s)")
    parser.add_argument("--settle-s", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=RESULTS, help="results json (replaced, not merged)")
    parser.add_argument("--video", type=Path, default=None,
                        help="also render the first run under --video-command to this mp4, and a PNG strip of it")  # fmt: skip
    parser.add_argument("--video-command", choices=list(COMMANDS), default="forward 0.5")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for run in args.runs:
        print(f"\n{run}")
        print(
            f"{'command (vx, vy, wz)':<34}{'reached vx':>11}{'vy':>7}{'wz':>7}{'single support':>16}{'falls':>7}"
        )
        rows = results[str(run)] = {}
        for label, command in COMMANDS.items():
            r = rows[label] = hold_command(run, command, args.worlds, args.steps, args.settle_s, args.seed)
            name = f"{label} {command}"
            print(f"{name:<34}{r['vx']:>11.2f}{r['vy']:>7.2f}{r['wz']:>7.2f}{r['single_support']:>16.2f}"
                  f"{r['falls']:>7.2f}")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps({"worlds": args.worlds, "steps": args.steps, "settle_s": args.settle_s,
                               "seed": args.seed, "commands": COMMANDS, "runs": results}, indent=2))  # fmt: skip
    tmp.replace(args.out)
    print(f"wrote {args.out}")
    if args.video is not None:
        pol = fixed_command_policy(args.runs[0], COMMANDS[args.video_command], 1, args.seed)
        pol.env.reset(seed=args.seed)
        video = render_env_video(pol.env, pol.act, args.video, steps=250,
                                 worlds=1, width=480, height=360)  # fmt: skip
        print(f"wrote {video} and {frame_strip(video, video.with_suffix('.png'))}")


if __name__ == "__main__":
    main()
