"""Evaluation of CrossLoco and its baselines on held-out clip segments (the `crossloco` suite and
benchmarks/crossloco.py).

Each world plays one held-out segment (the last `held_out_fraction` of a clip, never trained on) from its
first frame, deterministic actions, no observation noise, until the segment ends or the robot fails.
Measures, over the steps before a failure:
  - root error: mean distance (m) on the floor between the robot's base and the reference root it follows;
  - correspondence accuracy: R^2 of a ridge-regression probe predicting the standardized human pose features
    h from the robot's own state (joint positions and velocities, gravity in the base frame, base velocities
    and height), fitted and scored on the held-out rollouts in two folds of alternating 0.5 s pieces: how much
    of the human motion the robot's motion carries;
  - diversity: mean distance between the per-segment descriptors (each joint's mean and standard deviation
    over the segment, rad) of distinct human motions;
  - falls: share of segments ended by a failure (base contact, tilt, root or body deviation).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from robolearn.core import EnvCfg
from robolearn.envs.crossloco.command import HUMAN, HumanCommand, HumanCommandCfg
from robolearn.envs.crossloco.reference import HumanReference

PROBE_RIDGE = 1e-2
"""Ridge penalty of the probe, on standardized robot states (a fraction of a sample's squared norm)."""
PROBE_BLOCK = 25
"""Steps (0.5 s) per piece dealt to the probe's folds: long enough that few scored steps sit next to a fitted
one, short enough that both folds see every segment's phases (halves gave folds from different phases: a
standing start against a walk)."""


@dataclass
class Rollout:
    clip: str
    root_error: np.ndarray  # [T] m
    h: np.ndarray  # [T, D] standardized human pose features
    state: np.ndarray  # [T, S] robot state
    joint_pos: np.ndarray  # [T, J]
    failed: bool


def robot_state(env: Any) -> torch.Tensor:
    r = env.robot
    return torch.cat([
        (r.joint_pos - r.default_joint_pos).float(), 0.05 * r.joint_vel.float(), r.projected_gravity_b.float(),
        r.root_lin_vel_b.float(), 0.25 * r.root_ang_vel_b.float(), r.root_pos_w[:, 2:3].float(),
    ], dim=-1)  # fmt: skip


def quiet(env_cfg: EnvCfg, **changes: Any) -> EnvCfg:
    """The config with observation noise off and no auto-reset (each world plays one segment)."""
    obs = {k: dataclasses.replace(g, enable_noise=False) for k, g in env_cfg.observations.items()}
    return dataclasses.replace(env_cfg, observations=obs, auto_reset=False, **changes)


def held_out_cfg(env_cfg: EnvCfg, num_clips: int, seed: int) -> EnvCfg:
    cmds = dict(env_cfg.commands)
    human = cmds[HUMAN]
    assert isinstance(human, HumanCommandCfg), type(human)
    cmds[HUMAN] = dataclasses.replace(human, split="held_out", start="first")
    return quiet(env_cfg, commands=cmds, num_envs=num_clips, seed=seed)


def _run(env: Any, act: Any, steps: int, sample: Any) -> tuple[list[dict[str, np.ndarray]], np.ndarray]:
    """Step until every world is done (or `steps`); per world the stacked samples of its live steps."""
    obs, _ = env.reset()
    n = env.num_envs
    live = torch.ones(n, dtype=torch.bool, device=env.device)
    failed = torch.zeros(n, dtype=torch.bool, device=env.device)
    rows: list[list[dict[str, np.ndarray]]] = [[] for _ in range(n)]
    for _ in range(steps):
        obs, _, terminated, time_out, _ = env.step(act(obs))
        got = sample()
        for i in live.nonzero(as_tuple=True)[0].tolist():
            rows[i].append({k: v[i] for k, v in got.items()})
        failed |= terminated & live
        live &= ~(terminated | time_out)
        if not bool(live.any()):
            break
    stacked = [{k: np.stack([r[k] for r in rs]) for k in rs[0]} if rs else {} for rs in rows]
    return stacked, failed.cpu().numpy()


def crossloco_rollouts(env: Any, act: Any) -> list[Rollout]:
    """One rollout per world of a `held_out_cfg` env (Go2-CrossLoco or -NoCycle)."""
    term: HumanCommand = env.command_manager.get_term(HUMAN)
    term.recording = False

    def sample() -> dict[str, np.ndarray]:
        err = torch.linalg.norm(term.ref_pos_w[:, :2] - env.robot.root_pos_w[:, :2].float(), dim=-1)
        return {"err": err.cpu().numpy(), "h": term.h.cpu().numpy(), "s": robot_state(env).cpu().numpy(),
                "q": env.robot.joint_pos.float().cpu().numpy()}  # fmt: skip

    steps = int((term.ref.ends - term.ref.split).max()) + 2
    data, failed = _run(env, act, steps, sample)
    clips = term.clip.cpu().tolist()
    return [Rollout(term.ref.names[c], d["err"], d["h"], d["s"], d["q"], bool(f))
            for c, d, f in zip(clips, data, failed, strict=True) if d]  # fmt: skip


def tracking_rollouts(env: Any, act: Any, ref: HumanReference) -> list[Rollout]:
    """One rollout per world of a Go2-Tracking env whose clips are held-out segments named like the human
    clips of `ref` (`<clip>.npz`): the root error is against the retargeted root, h is the human pose at the
    same time of the same held-out segment."""
    from robolearn.envs.tracking.commands import MotionCommand
    from robolearn.envs.tracking.mdp import MOTION

    cmd: MotionCommand = env.command_manager.get_term(MOTION)
    to_ref = torch.tensor([ref.names.index(f.stem) for f in cmd.motion.files], device=env.device)

    def sample() -> dict[str, np.ndarray]:
        err = torch.linalg.norm(cmd.motion.root_pos[cmd.frame][:, :2] - env.robot.root_pos_w[:, :2].float(), dim=-1)
        c = to_ref[cmd.clip]
        f = torch.minimum(ref.split[c] + cmd.frame - cmd.motion.starts[cmd.clip], ref.ends[c])
        return {"err": err.cpu().numpy(), "h": ref.h(f).cpu().numpy(), "s": robot_state(env).cpu().numpy(),
                "q": env.robot.joint_pos.float().cpu().numpy()}  # fmt: skip

    steps = int((cmd.motion.ends - cmd.motion.starts).max()) + 2
    data, failed = _run(env, act, steps, sample)
    clips = cmd.clip.cpu().tolist()
    return [Rollout(cmd.motion.files[c].stem, d["err"], d["h"], d["s"], d["q"], bool(f))
            for c, d, f in zip(clips, data, failed, strict=True) if d]  # fmt: skip


def _ridge(x: np.ndarray, y: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mu, sd = x.mean(0), x.std(0) + 1e-6
    z = np.c_[(x - mu) / sd, np.ones(len(x))]
    w = np.linalg.solve(z.T @ z + lam * len(x) * np.eye(z.shape[1]), z.T @ y)
    return w, mu, sd


def probe_r2(rollouts: list[Rollout], lam: float = PROBE_RIDGE, block: int = PROBE_BLOCK) -> float:
    """2-fold R^2 of a ridge probe robot state -> h: every segment's rollout is cut into `block`-step pieces
    dealt alternately to the two folds; fit on one fold, score on the other, both ways, averaged. R^2 pools
    every entry of h: 1 - sum of squared errors / sum of squared deviations from the scored fold's mean."""
    folds: list[list[tuple[np.ndarray, np.ndarray]]] = [[], []]
    for r in rollouts:
        for k, start in enumerate(range(0, len(r.h), block)):
            folds[k % 2].append((r.state[start : start + block], r.h[start : start + block]))
    if not folds[0] or not folds[1]:
        return float("nan")
    scores = []
    for a, b in ((0, 1), (1, 0)):
        xa, ya = np.concatenate([s for s, _ in folds[a]]), np.concatenate([h for _, h in folds[a]])
        xb, yb = np.concatenate([s for s, _ in folds[b]]), np.concatenate([h for _, h in folds[b]])
        w, mu, sd = _ridge(xa, ya, lam)
        pred = np.c_[(xb - mu) / sd, np.ones(len(xb))] @ w
        sse = ((yb - pred) ** 2).sum()
        sst = ((yb - yb.mean(0)) ** 2).sum()
        scores.append(float(1.0 - sse / max(sst, 1e-12)))
    return float(np.mean(scores))


def diversity(rollouts: list[Rollout]) -> float:
    """Mean pairwise distance (rad) between segments' joint descriptors (per-joint mean and std over time)."""
    desc = [np.r_[r.joint_pos.mean(0), r.joint_pos.std(0)] for r in rollouts if len(r.joint_pos) >= 2]
    if len(desc) < 2:
        return float("nan")
    d = [np.linalg.norm(a - b) for i, a in enumerate(desc) for b in desc[i + 1 :]]
    return float(np.mean(d))


def summarize(rollouts: list[Rollout]) -> dict[str, Any]:
    errs = np.concatenate([r.root_error for r in rollouts])
    rows = [{"clip": r.clip, "steps": len(r.root_error), "root_error_m": round(float(r.root_error.mean()), 4),
             "fell": r.failed} for r in rollouts]  # fmt: skip
    return {
        "segments": len(rollouts),
        "root_error_m": float(errs.mean()),
        "probe_r2": probe_r2(rollouts),
        "diversity_rad": diversity(rollouts),
        "falls": float(np.mean([r.failed for r in rollouts])),
        "rows": rows,
    }


def crossloco_suite(env_cfg: EnvCfg, policy: Any, episodes: int, seed: int) -> dict[str, Any]:
    """`robolearn eval`'s crossloco suite: every clip's held-out segment once (`episodes` is not used: the
    held-out set is fixed)."""
    del episodes
    from robolearn.envs.crossloco.reference import load_human_reference

    human = env_cfg.commands[HUMAN]
    assert isinstance(human, HumanCommandCfg), type(human)
    ref = load_human_reference(human.features_file, 1.0 / (env_cfg.sim.dt * env_cfg.decimation),
                               human.held_out_fraction, "cpu")  # fmt: skip
    env, act = policy(held_out_cfg(env_cfg, ref.num_clips, seed))
    return summarize(crossloco_rollouts(env, act))
