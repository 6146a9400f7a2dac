"""`robolearn trajbooster <source> --out DIR`: end-effector episodes -> retargeted G1 whole-body episodes, written
as a LeRobot v3 dataset (TrajBooster, docs/trajbooster.md).

The source (an ALOHA demo dataset, an Agibot-to-G1 .pkl, a G1 clip of `robolearn retarget`, or an episode set)
is mapped onto the G1's workspace and resampled to the 50 Hz control rate; the hierarchy (policies/trajbooster.py)
then tracks every episode: the manager, trained here by DAgger on these episodes unless `--manager` gives one,
commands the frozen worker; the IK drives the arms. Episodes that end early (a fall, a wrist 0.9 m off) are
not written. Frames: the 26 joint positions, the wrist targets; actions: the 14 arm joint targets and the 4
manager commands; the task string is the episode's language instruction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import tyro

if TYPE_CHECKING:
    from robolearn.policies.trajbooster import Recording
    from robolearn.retarget.ee_traj import EETrajectory

CONTROL_FPS = 50
ROBOT_TYPE = "unitree_g1"
DEFAULT_INSTRUCTION = "follow the retargeted end-effector trajectory"
ARM_NAMES = [f"{s}_{j}_joint" for s in ("left", "right") for j in
             ("shoulder_pitch", "shoulder_roll", "shoulder_yaw", "elbow", "wrist_roll", "wrist_pitch", "wrist_yaw")]  # fmt: skip
COMMAND_NAMES = ["vx", "vy", "yaw_rate", "height"]
TARGET_NAMES = [f"{s}_{k}" for s in ("left", "right") for k in ("x", "y", "z")] + [
    f"{s}_q{k}" for s in ("left", "right") for k in "wxyz"]  # fmt: skip


@dataclass
class TrajboosterArgs:
    """Retarget end-effector trajectories to the G1's whole body (arms by IK, legs by the frozen worker under
    a DAgger-trained manager) and write the G1 episodes as a LeRobot v3 dataset."""

    source: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="SOURCE")]
    """An ALOHA demo dataset folder (robolearn demos), an Agibot-to-G1 .pkl, a G1 clip .npz (robolearn
    retarget --robot g1) or an episode set .npz."""
    out: Path
    """Dataset folder (LeRobot v3); appended to when it exists."""
    worker: Path | None = None
    """G1-Velocity-Height run folder (default: the shipped assets/workers/g1-velocity-height)."""
    manager: Path | None = None
    """A manager saved by an earlier run (<out>.manager.pt); default: train one by DAgger on these episodes."""
    dagger_passes: int = 4
    num_envs: int = 8
    instruction: str = ""
    """Language instruction for every episode (default: the source's, else a generic one)."""
    quat_order: str = "xyzw"
    """Agibot .pkl quaternion order: xyzw or wxyz."""
    source_arm_length: float | None = None
    """Source arm length (m) for the y scaling (default: measured, or 0.60 m for Agibot)."""
    max_episodes: int | None = None
    cameras: tuple[str, ...] = ()
    """Camera streams to record: `overhead` (above and behind the head looking down at torso and arms, 128 x 96;
    software rendering: 2 episodes of 4 s took 112 s on the shared machine). Default none: low-dim features only."""


def joint_names() -> list[str]:
    """The hierarchy model's 26 joints in qpos order (waist locked)."""
    legs = [f"{s}_{j}_joint" for s in ("left", "right") for j in
            ("hip_pitch", "hip_roll", "hip_yaw", "knee", "ankle_pitch", "ankle_roll")]  # fmt: skip
    return legs + ARM_NAMES


CAMERAS = ("overhead",)


def features(cameras: tuple[str, ...] = ()) -> dict[str, dict]:
    feats: dict[str, dict] = {
        "observation.state": {"dtype": "float32", "shape": [26], "names": joint_names()},
        "observation.ee_targets": {"dtype": "float32", "shape": [14], "names": TARGET_NAMES},
        "action": {"dtype": "float32", "shape": [18], "names": ARM_NAMES + COMMAND_NAMES},
    }
    for cam in cameras:
        feats[f"observation.images.{cam}"] = {"dtype": "video", "shape": [96, 128, 3],
                                              "names": ["height", "width", "channels"]}  # fmt: skip
    return feats


def episode_frames(rec: Recording) -> dict[str, np.ndarray]:
    return {
        "observation.state": np.stack(rec.joint_pos).astype(np.float32),
        "observation.ee_targets": np.stack(rec.wrist_targets).astype(np.float32),
        "action": np.concatenate([np.stack(rec.arm_targets), np.stack(rec.command)], axis=1).astype(
            np.float32
        ),
    }


def manager_path(out: Path) -> Path:
    """Where a run saves the manager it trained: beside the dataset (the dataset folder holds only LeRobot files)."""
    return out.with_name(out.name + ".manager.pt")


def load_episodes(args: TrajboosterArgs) -> list[EETrajectory]:
    from robolearn.policies.trajbooster_data import load_source, prepare

    kind, trajs = load_source(args.source, args.quat_order, args.instruction)
    trajs = trajs[: args.max_episodes] if args.max_episodes else trajs
    return prepare(trajs, kind, CONTROL_FPS, args.source_arm_length)


def main(args: TrajboosterArgs) -> int:
    import torch

    from robolearn.policies.data import DatasetWriter
    from robolearn.policies.runs import atomic_torch_save
    from robolearn.policies.trajbooster import Hierarchy, summarize
    from robolearn.policies.trajbooster_manager import Manager, dagger
    from robolearn.retarget.errors import FlagError

    if args.num_envs < 1 or args.dagger_passes < 0:
        raise FlagError("--num-envs" if args.num_envs < 1 else "--dagger-passes",
                        args.num_envs if args.num_envs < 1 else args.dagger_passes, "expected >= 1 (passes >= 0)")  # fmt: skip
    bad = [c for c in args.cameras if c not in CAMERAS]
    if bad:
        raise FlagError("--cameras", " ".join(bad), f"expected cameras among: {', '.join(CAMERAS)}")
    if args.manager is not None and not args.manager.is_file():
        raise FlagError(
            "--manager", args.manager, "no such file (a manager.pt written by robolearn trajbooster)"
        )
    # Every input is read and checked before the dataset folder is touched.
    trajs = load_episodes(args)
    start = time.perf_counter()
    h = Hierarchy("manager", num_envs=min(args.num_envs, len(trajs)), worker=args.worker)
    if args.manager is not None:
        manager = Manager()
        manager.load_state_dict(torch.load(args.manager, weights_only=True))
    else:
        manager, log = dagger(h, trajs, passes=max(args.dagger_passes, 1),
                              progress=lambda r: print(f"dagger pass {r['pass']}: {r['samples']} samples, "
                                                       f"loss {r['loss_after_fit']:.4f}"))  # fmt: skip
    writer = DatasetWriter(args.out, fps=CONTROL_FPS, features=features(args.cameras), robot_type=ROBOT_TYPE)
    results, written = [], 0
    with writer:
        for k in range(0, len(trajs), h.env.num_envs):
            chunk = trajs[k : k + h.env.num_envs]
            batch = h.run(chunk, manager, record=True, cameras=args.cameras)
            results += batch.results
            for tr, res, rec in zip(chunk, batch.results, batch.recordings, strict=True):
                if res.fell or res.lost or not rec.joint_pos:
                    continue
                videos = {f"observation.images.{c}": np.stack(rec.images[c]) for c in args.cameras}
                writer.add_episode(
                    episode_frames(rec), task=tr.instruction or DEFAULT_INSTRUCTION, videos=videos
                )
                written += 1
            writer.flush()
    if args.manager is None:
        atomic_torch_save(manager.state_dict(), manager_path(args.out))
    s = summarize(results)
    print(f"wrote {written} of {len(trajs)} episodes to {args.out} in {time.perf_counter() - start:.0f} s; "
          f"wrist error {s['pos_error_m']:.3f} m, reached within 5 cm {s['reached_5cm']:.0%}, falls "
          f"{s['fall_rate']:.0%}; IK {h.ik.stats.mean_ms:.1f} ms/solve, {h.ik.stats.unreachable} unreachable, "
          f"{h.ik.stats.failures} failed")  # fmt: skip
    return 0


def train_diffusion_smoke(data: Path, steps: int = 50, seed: int = 0) -> tuple[float, float]:
    """Our diffusion policy on a TrajBooster dataset: (first, last) mean training loss over `steps` gradient
    steps, observations = joint state + wrist targets, actions = the 18-d action."""
    import torch

    from robolearn.policies.data import LeRobotDataset
    from robolearn.policies.diffusion import DiffusionCfg, DiffusionPolicy
    from robolearn.policies.imitation import Normalizer
    from robolearn.policies.imitation_data import make_windows

    torch.manual_seed(seed)
    ds = LeRobotDataset(data)
    cols = ds.columns()
    obs_np = np.concatenate([cols["observation.state"], cols["observation.ee_targets"]], axis=1)
    act_np = cols["action"]
    ranges = [(int(r["dataset_from_index"]), int(r["dataset_to_index"])) for r in ds.episodes]
    cfg = DiffusionCfg(horizon=8, action_horizon=4, down_dims=(32, 64))
    on, an = Normalizer.fit(obs_np), Normalizer.fit(act_np)
    obs, act = on.normalize(torch.as_tensor(obs_np)), an.normalize(torch.as_tensor(act_np))
    windows = make_windows(obs, act, ranges, cfg.obs_horizon, cfg.horizon)
    policy = DiffusionPolicy(obs.shape[1], act.shape[1], cfg)
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        ids = torch.randint(0, len(windows.obs_index), (64,), generator=g)
        o, a = windows.batch(ids)
        loss = policy.loss(o, a)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    k = max(1, steps // 5)
    return float(np.mean(losses[:k])), float(np.mean(losses[-k:]))
