"""Replay, evaluate and export a run from its folder alone (config.yaml + a checkpoint)."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table
from tensordict import TensorDict

from robolearn.core.cfg import EnvCfg
from robolearn.policies import setup
from robolearn.policies.runs import RunError, atomic_write_text, load_checkpoint, pick_checkpoint, resolve_run
from robolearn.registry import PolicyFactory, get_task, task_names

EVAL_MAX_WORLDS = 256
"""Worlds simulated at once during eval; more episodes run in further rounds."""
Z95 = 1.96
DEFAULT_SUITE = "default"
"""The learner's own episode metrics (return, length, failures, tracking errors), for every task."""

console = Console()


@dataclass
class LoadedPolicy:
    spec: setup.RunSpec
    checkpoint: Path
    env: Any
    act: Any
    """obs dict -> deterministic actions (no grad)."""
    actor: Any


def load_run_policy(
    run: Path, checkpoint: Path | None = None, num_envs: int = 1, seed: int | None = None,
    edit_env: Callable[[Any], Any] | None = None,
) -> LoadedPolicy:  # fmt: skip
    """A run's deterministic policy on a fresh evaluation env; `edit_env` may change that env's config
    first (e.g. a benchmark holding one command fixed)."""
    run, ckpt_in_path = resolve_run(run)
    ckpt, state = load_checkpoint(run, checkpoint or ckpt_in_path)
    spec = setup.spec_from_run(run)
    env_cfg = setup.eval_env_cfg(spec.env)
    if edit_env is not None:
        env_cfg = edit_env(env_cfg)
    env = setup.make_env(env_cfg, spec.device, num_envs=num_envs, seed=seed)
    actor, act = _policy_on(env, run, ckpt, state, spec)
    return LoadedPolicy(spec, ckpt, env, act, actor)


def _policy_on(env: Any, run: Path, ckpt: Path, state: dict, spec: setup.RunSpec) -> tuple[Any, Any]:
    """(actor, act) of a checkpoint acting on `env`."""
    if spec.algo in setup.RSL_RL_ALGOS:
        actor = setup.load_policy(run, ckpt, env, spec.agent, state)

        @torch.no_grad()
        def act(obs: dict[str, torch.Tensor]) -> torch.Tensor:
            return actor(TensorDict(obs, batch_size=[env.num_envs], device=env.device))

        return actor, act
    from robolearn.policies.sb3 import load_sb3_policy

    return load_sb3_policy(spec, ckpt, env)


def run_env_cfg(run: Path) -> EnvCfg:
    """A run's env config as evaluation sees it: its config.yaml over the task's defaults, no curricula."""
    run, _ = resolve_run(run)
    return setup.eval_env_cfg(setup.spec_from_run(run).env)


def policy_factory(run: Path, checkpoint: Path | None = None) -> PolicyFactory:
    """The run's deterministic policy on any env built from a config: what a task's evaluation suite or play
    video is given, so tasks choose their env and never load checkpoints themselves."""
    run, ckpt_in_path = resolve_run(run)
    ckpt, state = load_checkpoint(run, checkpoint or ckpt_in_path)
    spec = setup.spec_from_run(run)

    def make(env_cfg: EnvCfg) -> tuple[Any, Any]:
        env = setup.make_env(env_cfg, spec.device)
        return env, _policy_on(env, run, ckpt, state, spec)[1]

    return make


def play_run(run: Path, video: Path | None = None, num_envs: int = 4, steps: int = 250,
             checkpoint: Path | None = None, seed: int = 1) -> Path:  # fmt: skip
    """Run the policy on `num_envs` worlds and write a tiled mp4 (default <run>/videos/play_<ckpt>.mp4); a task
    with its own play video (TaskSpec.play, e.g. a confined-3D policy crossing a held-out tunnel) writes that."""
    from robolearn.render import render_env_video

    run, ckpt_in_path = resolve_run(run)
    spec = setup.spec_from_run(run)
    task_play = get_task(spec.task).play
    if task_play is not None:
        ckpt = pick_checkpoint(run, checkpoint or ckpt_in_path)
        video = video or run / "videos" / f"play_{ckpt.stem}.mp4"
        return task_play(setup.eval_env_cfg(spec.env), policy_factory(run, ckpt), video, seed)
    pol = load_run_policy(run, checkpoint or ckpt_in_path, num_envs=num_envs, seed=seed)
    video = video or run / "videos" / f"play_{pol.checkpoint.stem}.mp4"
    return render_env_video(pol.env, pol.act, video, steps=steps, worlds=num_envs)


def _mean_ci(xs: list[float]) -> dict[str, float]:
    mean = statistics.fmean(xs)
    half = Z95 * statistics.stdev(xs) / math.sqrt(len(xs)) if len(xs) > 1 else math.nan
    return {"mean": mean, "ci95": half}


def evaluate(pol: LoadedPolicy, episodes: int, seed: int, disturbance: Any = None) -> dict[str, Any]:
    """Deterministic actions; each world contributes its first episode; held-out `seed` per round.

    `disturbance` (robolearn.policies.hinf_eval) pushes the trunk around each step.
    A task that declares an accuracy (TaskSpec.accuracy: the SkillBench tasks) adds it and the feasibility
    measures of `SkillBenchMeter`.
    """
    from robolearn.policies.skillblender import SkillBenchMeter, bench_accuracy

    env = pol.env
    accuracy = bench_accuracy(pol.spec.task)
    meter = SkillBenchMeter(env.num_envs, env.step_dt, env.device) if accuracy is not None else None
    returns: list[float] = []
    lengths: list[float] = []
    failures: list[float] = []
    err_xy: list[float] = []
    err_yaw: list[float] = []
    rnd = 0
    tracking = "base_velocity" in env.command_manager
    while len(returns) < episodes:
        env.reset(seed=seed + rnd)
        rnd += 1
        n = env.num_envs
        active = torch.ones(n, dtype=torch.bool, device=env.device)
        ret = torch.zeros(n, device=env.device)
        length = torch.zeros(n, device=env.device)
        err = torch.zeros(n, 2, device=env.device)
        obs = env.obs_buf
        if disturbance is not None:
            disturbance.reset(env, seed + rnd)
        for _ in range(env.max_episode_length + 1):
            if disturbance is not None:
                disturbance.before_step(env, obs)
            obs, reward, terminated, time_out, _ = env.step(pol.act(obs))
            if disturbance is not None:
                disturbance.after_step(env, terminated | time_out)
            done = (terminated | time_out) & active
            if meter is not None:  # closes each world's first episode only, like the returns below
                meter.update_from_env(env, accuracy, done, terminated & active)
            ret += reward * active
            length += active.float()
            if tracking:
                # Tracking error of the worlds still inside their episode (a done world has been reset).
                cmd, robot = env.command_manager.get_command("base_velocity"), env.robot
                e_xy = torch.linalg.norm(cmd[:, :2] - robot.root_lin_vel_b[:, :2].float(), dim=-1)
                e_yaw = (cmd[:, 2] - robot.root_ang_vel_b[:, 2].float()).abs()
                live = (active & ~done).float()
                err += torch.stack([e_xy, e_yaw], -1) * live.unsqueeze(-1)
            for i in done.nonzero(as_tuple=True)[0].tolist():
                if len(returns) >= episodes:
                    break
                returns.append(float(ret[i]))
                lengths.append(float(length[i]))
                failures.append(float(terminated[i]))
                steps = max(float(length[i]) - 1.0, 1.0)
                err_xy.append(float(err[i, 0]) / steps)
                err_yaw.append(float(err[i, 1]) / steps)
            active &= ~done
            if not active.any() or len(returns) >= episodes:
                break
    result: dict[str, Any] = {
        "episodes": len(returns),
        "seed": seed,
        "return": _mean_ci(returns),
        "episode_length": _mean_ci(lengths),
        "failure_rate": _mean_ci(failures),
    }
    if tracking:
        result["error_vel_xy"] = _mean_ci(err_xy)
        result["error_vel_yaw"] = _mean_ci(err_yaw)
    if meter is not None:
        m = meter.episodes
        result.update({"accuracy_m": _mean_ci(m.accuracy[:episodes]), "jerk": _mean_ci(m.jerk[:episodes]),
                       "power_w": _mean_ci(m.power[:episodes]), "foot_slip": _mean_ci(m.foot_slip[:episodes]),
                       "self_collision": _mean_ci(m.self_collision[:episodes]),
                       "near_limit": _mean_ci(m.near_limit[:episodes]),
                       "accuracy_per_episode": m.accuracy[:episodes]})  # fmt: skip
    return result


def eval_run(run: Path, episodes: int = 100, seed: int = 10_000, checkpoint: Path | None = None,
             out: Path | None = None, quiet: bool = False, disturbance: str = "none",
             suite: str = "auto") -> dict[str, Any]:  # fmt: skip
    """Evaluate on held-out seeds, print a table and write eval.json (mean and 95% CI of each metric)."""
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    known = {"auto", DEFAULT_SUITE} | {name for t in task_names() for name in get_task(t).suites}
    if suite not in known:
        raise ValueError(f"suite must be one of {sorted(known)}, got {suite!r}")
    run, _ = resolve_run(run)
    task = get_task(setup.spec_from_run(run).task)
    name = (task.default_suite or DEFAULT_SUITE) if suite == "auto" else suite
    if name != DEFAULT_SUITE:
        if name not in task.suites:
            raise ValueError(f"{task.name} has no evaluation suite {name!r}; its suites: "
                             f"{sorted([DEFAULT_SUITE, *task.suites])}")  # fmt: skip
        return _eval_task_suite(run, task.name, name, episodes, seed, checkpoint, out, quiet)
    from robolearn.policies.hinf_eval import parse_disturbance

    push = parse_disturbance(disturbance)
    pol = load_run_policy(run, checkpoint, num_envs=min(episodes, EVAL_MAX_WORLDS), seed=seed)
    result = {
        "run": str(run),
        "task": pol.spec.task,
        "checkpoint": str(pol.checkpoint),
        "disturbance": disturbance,
        **evaluate(pol, episodes, seed, push),
    }
    out = Path(out) if out else run / "eval.json"
    atomic_write_text(out, json.dumps(result, indent=2))
    if not quiet:
        table = Table(
            title=f"{pol.spec.task}: {result['episodes']} episodes, seed {seed}, {pol.checkpoint.name}"
        )
        table.add_column("metric")
        table.add_column("mean", justify="right")
        table.add_column("95% CI", justify="right")
        for key in ("return", "episode_length", "failure_rate", "error_vel_xy", "error_vel_yaw",
                    "accuracy_m", "jerk", "power_w", "foot_slip", "self_collision", "near_limit"):  # fmt: skip
            if key in result:
                table.add_row(key, f"{result[key]['mean']:.4f}", f"± {result[key]['ci95']:.4f}")
        console.print(table)
        console.print(f"wrote {out}")
    return result


def _nan_to_none(x: Any) -> Any:
    """JSON has no NaN: a metric without data (no success, no time to goal) is written as null."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _nan_to_none(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_nan_to_none(v) for v in x]
    return x


def _eval_task_suite(run: Path, task: str, suite: str, episodes: int, seed: int, checkpoint: Path | None,
                     out: Path | None, quiet: bool) -> dict[str, Any]:  # fmt: skip
    """A task's own evaluation suite (TaskSpec.suites), given the run's env config and its policy."""
    ckpt = pick_checkpoint(run, checkpoint)
    measured = get_task(task).suites[suite](run_env_cfg(run), policy_factory(run, ckpt), episodes, seed)
    result = {"run": str(run), "task": task, "checkpoint": str(ckpt), "seed": seed, **measured}
    out = Path(out) if out else run / "eval.json"
    atomic_write_text(out, json.dumps(_nan_to_none(result), indent=2))
    if not quiet:
        title = f"{task}, suite {suite}" + (f" ({result['method']})" if "method" in result else "")
        table = Table(title=f"{title}: seed {seed}, {ckpt.name}")
        rows = result.get("rows") or [{k: v for k, v in measured.items() if isinstance(v, (int, float))}]
        for col in rows[0]:
            table.add_column(col.replace("_", " "), justify="right", overflow="fold")
        for row in rows:
            table.add_row(*(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row.values()))
        console.print(table)
        console.print(f"wrote {out}")
    return result


def export_run(run: Path, checkpoint: Path | None = None, out: Path | None = None):
    """Write policy.onnx / policy.json / policy.pt of a run's checkpoint (default: the latest)."""
    from robolearn.sim2real.export import export_policy, policy_metadata
    from robolearn.sim2real.motion_export import write_motion

    run, _ = resolve_run(run)
    pol = load_run_policy(run, checkpoint)
    if pol.spec.algo not in setup.RSL_RL_ALGOS:
        raise RunError(
            f"{run}: export supports rsl_rl runs (this run used {pol.spec.algo}; SB3 runs keep their zip)"
        )
    meta = policy_metadata(pol.env, pol.spec.task, pol.spec.agent.actor_obs_groups[0])
    meta.checkpoint = (
        str(pol.checkpoint.relative_to(run)) if pol.checkpoint.is_relative_to(run) else str(pol.checkpoint)
    )
    out_dir = Path(out) if out else run
    write_motion(pol.env, meta, out_dir)  # a tracking policy's reference motion, named in meta.extra
    return export_policy(pol.actor, meta, out_dir)


def eval_isaaclab_run(folder: Path, episodes: int = 100, seed: int = 10_000, out: Path | None = None
                      ) -> dict[str, Any]:  # fmt: skip
    """An Isaac Lab run folder on the menagerie robot: `episodes` episodes of the run's episode_length_s (commands
    drawn from its ranges, no latency or noise: the policy's own quality, as Isaac Lab's play shows it), through the
    deploy loop and its safety layer; prints the numbers and writes eval.json (default: <folder>/eval.json)."""
    from robolearn.policies.runs import atomic_write_text
    from robolearn.sim2real.isaaclab_run import load_isaaclab_run
    from robolearn.sim2real.sim2sim import Sim2SimCfg, run_sim2sim

    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    run = load_isaaclab_run(folder)
    cfg = Sim2SimCfg(episodes=episodes, duration_s=run.episode_length_s, latency_ms=0.0, seed=seed)
    report = run_sim2sim(folder, cfg)
    keys = ("episodes", "survival", "mean_time_s", "error_vel_xy", "error_vel_yaw", "failures",
            "safety_clipped_fraction")  # fmt: skip
    result = {"run": str(folder), "format": "isaaclab", "robot": run.meta.robot, "seed": seed,
              "episode_length_s": run.episode_length_s, **{k: report[k] for k in keys}}  # fmt: skip
    atomic_write_text(out or Path(folder) / "eval.json", json.dumps(result, indent=1))
    print(json.dumps(result))
    return result
