"""`robolearn imitate <motion file or folder> --robot g1`: human motion to a deployed tracking policy.

    robolearn imitate ../shared/data/mocap/cmu/131_02.bvh --robot g1 --max-iterations 300
    robolearn imitate clips/ --robot g1 --backend warp --num-envs 4096     (GPU)
    robolearn imitate ../shared/data/mocap/cmu/131_02.bvh --robot g1 --resume    (after a kill)

Stages, each into the one run folder and skipped when unchanged: retarget (clips/, retarget.json) -> train
(train/) -> eval (eval.json) -> export (export/policy.onnx, policy.json, motion.npz) -> sim2sim
(sim2sim.json) -> video (video.mp4) -> report (report.md, report.json).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro

from robolearn.policies.runs import RunError

EXIT_INTERRUPTED = 130


@dataclass
class ImitateArgs:
    """Human motion to a deployed humanoid skill in one command: retarget, train a tracking policy, evaluate,
    export, sim2sim on the full robot model, side-by-side video and report. Finished stages whose inputs are
    unchanged are skipped on a rerun; --resume also continues an interrupted training stage."""

    motion: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="MOTION")]
    """A motion file (BVH, keypoints, SMPL, video: what `robolearn retarget` reads) or a folder of them."""
    robot: str = "g1"
    out: Path | None = None
    """Run folder (default runs/imitate/<motion name>-<robot>)."""
    task: str | None = None
    """Tracking task (default: the robot's registered tracking task)."""
    max_iterations: int | None = None
    """Training iterations (default: the task's CPU preset)."""
    num_envs: int | None = None
    """Training worlds (default: the task's preset)."""
    seed: int = 0
    backend: str | None = None
    """Training sim backend: cpu (mjbatch) or warp (mujoco-warp on a GPU); default the task's."""
    device: str | None = None
    """Torch device of the learner (default: cuda with --backend warp, else cpu)."""
    eval_episodes: int = 100
    sim2sim_episodes: int = 4
    """sim2sim episodes (at least one per clip)."""
    latency_ms: float = 20.0
    """sim2sim command latency."""
    noise: float = 1.0
    """sim2sim sensor noise as a multiple of the training observation noise."""
    video: bool = True
    """Write video.mp4 (human skeleton | reference robot | tracking robot)."""
    frames: tuple[int, int] | None = None
    """Source frame range START STOP of every motion file (default: all frames), e.g. --frames 0 600."""
    resume: bool = False
    """Continue an interrupted training stage from its latest checkpoint (finished stages are skipped anyway)."""


def main(args: ImitateArgs) -> int:
    from robolearn.policies.imitate.pipeline import ImitateCfg, check_run_folder, console, imitate

    cfg = ImitateCfg(motion=args.motion, robot=args.robot, out=args.out, task=args.task,
                     max_iterations=args.max_iterations, num_envs=args.num_envs, seed=args.seed,
                     backend=args.backend,
                     device=args.device or ("cuda" if args.backend == "warp" else "cpu"), eval_episodes=args.eval_episodes,
                     sim2sim_episodes=args.sim2sim_episodes, latency_ms=args.latency_ms, noise=args.noise,
                     video=args.video, resume=args.resume, frames=args.frames)  # fmt: skip
    try:
        check_run_folder(cfg)
        runner = imitate(cfg)
    except KeyboardInterrupt:
        print(f"interrupted: finished stages are kept in {cfg.run_dir()}; rerun with --resume to pick up",
              file=sys.stderr)  # fmt: skip
        return EXIT_INTERRUPTED
    except (RunError, FileNotFoundError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {message}", file=sys.stderr)
        return 2
    ran = [r.name for r in runner.records if r.ran]
    console.print(f"run folder {runner.run}: ran {', '.join(ran) or 'nothing (all unchanged)'}; "
                  f"report {runner.run / 'report.md'}")  # fmt: skip
    return 0
