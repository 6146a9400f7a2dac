"""The tracking tasks' evaluation (`robolearn eval`, suite "tracking"): every episode plays one clip from its
first frame to its end, in the run's env (its randomization and observation noise included), and is scored
per clip with 95% intervals:

- success: the clip was played to its end without a termination; episode_steps: how many steps it lasted;
- MPJPE (mm): mean distance of the tracked bodies to the reference's, in the world (global);
- root-relative MPJPE (mm): the same with both skeletons' roots (pelvis) moved onto each other;
- anchor position (m) and orientation (rad) errors, end-effector position error (mm);
- joint speed (mean |qdot|, rad/s) and jerk (mean |d3q/dt3|, rad/s^3).

Errors are averaged over the steps each episode lasted (a failed episode's last, worst step included).
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from robolearn.envs.tracking.commands import MotionCommand, MotionCommandCfg
from robolearn.envs.tracking.mdp import MOTION, quat_error_angle

if TYPE_CHECKING:
    from robolearn.core.cfg import EnvCfg

EVAL_MAX_WORLDS = 128
Z95 = 1.96
METRICS = ("success", "episode_steps", "mpjpe_mm", "root_mpjpe_mm", "anchor_pos_m", "anchor_ori_rad", "end_effector_mm",
           "joint_speed", "jerk")  # fmt: skip


def mean_ci(xs: list[float]) -> dict[str, float]:
    """Mean and the half-width of its normal 95% interval (NaN for fewer than two values)."""
    if not xs:
        return {"mean": math.nan, "ci95": math.nan}
    mean = statistics.fmean(xs)
    half = Z95 * statistics.stdev(xs) / math.sqrt(len(xs)) if len(xs) > 1 else math.nan
    return {"mean": mean, "ci95": half}


@dataclass
class TrackingMeter:
    """Per-world sums of the tracking errors over each world's first episode; `close` turns the worlds that
    ended into per-episode records. Used by the eval suite and by anything that plays a tracking policy."""

    num_envs: int
    step_dt: float
    device: torch.device
    episodes: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        n, dev = self.num_envs, self.device
        self.sums = {
            k: torch.zeros(n, dtype=torch.float64, device=dev)
            for k in METRICS
            if k not in ("success", "episode_steps")
        }
        self.steps = torch.zeros(n, device=dev)
        self.jerk_steps = torch.zeros(n, device=dev)
        self.prev_vel: list[torch.Tensor] = []

    def update(self, cmd: MotionCommand, active: torch.Tensor) -> None:
        """Add this step's errors of the `active` worlds (after the physics step, before any reset)."""
        m, e = cmd.motion, cmd.entity
        ref, pos = cmd.ref_body_pos_w, cmd.body_pos_w
        a = cmd.anchor
        ref_root = m.body_pos[cmd.frame][:, cmd.root_body].unsqueeze(1)
        root = e.body_pos_w[:, cmd.root_body].float().unsqueeze(1)
        live = active.to(torch.float64)
        err = {
            "mpjpe_mm": 1000 * torch.linalg.norm(ref - pos, dim=-1).mean(-1),
            "root_mpjpe_mm": 1000 * torch.linalg.norm((ref - ref_root) - (pos - root), dim=-1).mean(-1),
            "anchor_pos_m": torch.linalg.norm(ref[:, a] - pos[:, a], dim=-1),
            "anchor_ori_rad": quat_error_angle(cmd.ref_body_quat_w[:, a], cmd.body_quat_w[:, a]),
            "end_effector_mm": (
                1000 * torch.linalg.norm(ref[:, cmd.end_effectors] - pos[:, cmd.end_effectors], dim=-1).mean(-1)
                if len(cmd.end_effectors) else torch.zeros_like(live)
            ),
            "joint_speed": e.joint_vel.abs().mean(-1),
        }  # fmt: skip
        for k, v in err.items():
            self.sums[k] += v.to(torch.float64) * live
        self.steps += active.float()
        vel = e.joint_vel.to(torch.float64)
        if len(self.prev_vel) == 2:
            jerk = (vel - 2 * self.prev_vel[1] + self.prev_vel[0]).abs().mean(-1) / self.step_dt**2
            self.sums["jerk"] += jerk * live
            self.jerk_steps += active.float()
        self.prev_vel = [*self.prev_vel[-1:], vel.clone()]

    def close(self, done: torch.Tensor, failed: torch.Tensor, clip: torch.Tensor) -> None:
        """Record the worlds whose episode ended this step (`done`), `failed` ones as unsuccessful."""
        for i in done.nonzero(as_tuple=True)[0].tolist():
            steps = max(float(self.steps[i]), 1.0)
            record: dict[str, Any] = {"clip": int(clip[i]), "success": 0.0 if bool(failed[i]) else 1.0,
                                      "episode_steps": float(self.steps[i])}  # fmt: skip
            for k, s in self.sums.items():
                n = max(float(self.jerk_steps[i]), 1.0) if k == "jerk" else steps
                record[k] = float(s[i]) / n
            self.episodes.append(record)


def summarize(episodes: list[dict[str, Any]], clip_names: list[str]) -> dict[str, Any]:
    """Overall and per-clip mean and 95% interval of every metric, and one table row per clip."""
    overall = {k: mean_ci([e[k] for e in episodes]) for k in METRICS}
    clips: dict[str, Any] = {}
    rows = []
    for c, name in enumerate(clip_names):
        eps = [e for e in episodes if e["clip"] == c]
        stats = {k: mean_ci([e[k] for e in eps]) for k in METRICS}
        clips[name] = {"episodes": len(eps), **stats}
        rows.append({"clip": name, "episodes": len(eps), "success %": _pm(stats["success"], 100),
                     "steps": _pm(stats["episode_steps"]),
                     "MPJPE mm": _pm(stats["mpjpe_mm"]), "root MPJPE mm": _pm(stats["root_mpjpe_mm"]),
                     "anchor m / rad": f"{stats['anchor_pos_m']['mean']:.3f} / {stats['anchor_ori_rad']['mean']:.3f}",
                     "end eff. mm": _pm(stats["end_effector_mm"]), "jerk": f"{stats['jerk']['mean']:.0f}"})  # fmt: skip
    return {"episodes": len(episodes), **overall, "clips": clips, "rows": rows}


def _pm(stat: dict[str, float], scale: float = 1.0) -> str:
    """'mean ± 95% half-width' for the printed table."""
    return f"{scale * stat['mean']:.1f} ± {scale * stat['ci95']:.1f}"


def evaluation_cfg(env_cfg: EnvCfg, num_envs: int, seed: int, command_name: str = MOTION) -> EnvCfg:
    """The run's env with every episode starting at a clip's first frame (clips dealt to worlds in turn) and
    left alone when it ends (no auto-reset), so each world plays one whole clip."""
    commands = dict(env_cfg.commands)
    motion = commands[command_name]
    if not isinstance(motion, MotionCommandCfg):
        raise ValueError(f"commands[{command_name!r}] is a {type(motion).__name__}, not a MotionCommandCfg")
    commands[command_name] = dataclasses.replace(motion, start="first")
    return dataclasses.replace(env_cfg, commands=commands, num_envs=num_envs, seed=seed, auto_reset=False)


def run_episodes(env: Any, act: Callable[[dict[str, Any]], Any], episodes: int, seed: int,
                 command_name: str = MOTION) -> list[dict[str, Any]]:  # fmt: skip
    """Play `episodes` whole clips with the policy `act` on a tracking env built by `evaluation_cfg`."""
    cmd: MotionCommand = env.command_manager.get_term(command_name)
    records: list[dict[str, Any]] = []
    rnd = 0
    while len(records) < episodes:
        obs, _ = env.reset(seed=seed + rnd)
        rnd += 1
        meter = TrackingMeter(env.num_envs, env.step_dt, env.device)
        active = torch.ones(env.num_envs, dtype=torch.bool, device=env.device)
        longest = int((cmd.motion.ends - cmd.motion.starts).max()) + 1
        for _ in range(longest):
            obs, _, terminated, time_out, _ = env.step(act(obs))
            meter.update(cmd, active)
            done = (terminated | time_out) & active
            meter.close(done, terminated & active, cmd.clip)
            active &= ~done
            if not active.any():
                break
        records += meter.episodes[: episodes - len(records)]
    return records


def tracking_suite(env_cfg: EnvCfg, policy: Any, episodes: int, seed: int) -> dict[str, Any]:
    """`robolearn eval`'s tracking suite: success, MPJPE and the rest per clip, with 95% intervals."""
    env, act = policy(evaluation_cfg(env_cfg, min(episodes, EVAL_MAX_WORLDS), seed))
    records = run_episodes(env, act, episodes, seed)
    cmd: MotionCommand = env.command_manager.get_term(MOTION)
    return summarize(records, [f.stem for f in cmd.motion.files])
