"""sim2sim: the exported policy on the simulated robot, measured against the training env.

Both sides run the same policy.onnx with the same per-episode commands; the numbers that differ
(survival, velocity tracking error) are the sim2sim gap: full model vs training model, PD in the
motor driver vs MuJoCo servos, another integrator and timestep, latency and sensor noise.
The training-env side imports torch and the env (it runs on the development machine); the
robot side is the deploy runtime itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from robolearn.sim2real.deploy import Controller, DeployLoop, OnnxPolicy
from robolearn.sim2real.observation import resolve_term
from robolearn.sim2real.robot import Clock, Robot, VirtualClock, WallClock
from robolearn.sim2real.safety import SafetyCfg, SafetyLayer, check_action_scale
from robolearn.sim2real.schema import PolicyMetadata, PolicySpecError, load_metadata
from robolearn.sim2real.sim_robot import MotorModel, SensorNoise, SimRobotCfg, SimulatedRobot

RunEnvCfg = Callable[[Path], Any]
"""Reads a run folder's env config (config.yaml): passed in by the learner side, which owns run folders."""
FALL_TILT = 1.2
"""Tilt (rad) counted as a fall on both sides: the Go2 task's bad_orientation limit."""


@dataclass
class Sim2SimCfg:
    episodes: int = 1
    duration_s: float = 20.0
    latency_ms: float = 20.0
    latency_jitter_ms: float = 0.0
    """Extra uniform delay per command in [0, latency_jitter_ms]."""
    push: float = 0.0
    """Random horizontal base velocity kicks (m/s half-width) every 8-12 s; 0 disables."""
    noise: float = 0.0
    """Sensor noise as a multiple of the training noise recorded in policy.json (0: none, 1: as trained)."""
    timestep: float = 0.002
    integrator: str = "implicitfast"
    model: Literal["full", "training"] = "full"
    """'training' runs the training scene (fast model, MuJoCo servos) instead of the full model."""
    command: tuple[float, ...] | None = None
    """A fixed command for every episode; None draws one per episode from policy.json's ranges."""
    command_scale: float = 1.0
    """Shrinks the drawn commands' ranges (e.g. 0.5 for half speed)."""
    realtime: bool = False
    """Run at wall-clock rate (jitter is real); otherwise as fast as possible."""
    robot: Literal["sim", "unitree-go2", "unitree-g1"] = "sim"
    """'unitree-go2' / 'unitree-g1' drive the simulated robot through that robot's Unitree LowCmd/LowState mapping."""
    seed: int = 0
    video: Path | None = None
    """mp4 of the first episode."""
    safety: SafetyCfg = field(default_factory=SafetyCfg)


@dataclass
class EpisodeResult:
    survived: bool
    time_s: float
    error_vel_xy: float
    error_vel_yaw: float
    command: list[float]
    reason: str = ""


def policy_paths(path: str | Path) -> tuple[Path, PolicyMetadata]:
    """policy.json of a run folder or a file, validated."""
    path = Path(path)
    json_path = path / "policy.json" if path.is_dir() else path
    return json_path, load_metadata(json_path)


def load_policy(path: str | Path) -> tuple[Path, PolicyMetadata, Callable[[np.ndarray], np.ndarray]]:
    """(the file errors name, the contract, the network as the deploy loop calls it) of a robolearn run or
    policy.json, or of an Isaac Lab run folder (params/env.yaml + exported/policy.onnx), mapped onto ours."""
    from robolearn.sim2real.isaaclab_run import is_isaaclab_run, load_isaaclab_run

    if is_isaaclab_run(path):
        run = load_isaaclab_run(path)
        return run.env_yaml, run.meta, run.policy()
    json_path, meta = policy_paths(path)
    return json_path, meta, OnnxPolicy(json_path.with_name("policy.onnx"), meta)


def episode_commands(meta: PolicyMetadata, cfg: Sim2SimCfg) -> np.ndarray:
    n = len(meta.commands)
    if cfg.command is not None:
        if len(cfg.command) != n:
            names = [c.name for c in meta.commands]
            raise ValueError(f"--command needs {n} values ({', '.join(names)}), got {len(cfg.command)}")
        return np.tile(np.asarray(cfg.command, dtype=np.float32), (cfg.episodes, 1))
    rng = np.random.default_rng(cfg.seed)
    lo = np.array([c.range[0] for c in meta.commands]) * cfg.command_scale
    hi = np.array([c.range[1] for c in meta.commands]) * cfg.command_scale
    return rng.uniform(lo, hi, (cfg.episodes, n)).astype(np.float32)


def training_noise(meta: PolicyMetadata, k: float) -> SensorNoise:
    """The training env's per-term noise (raw units, before scale) mapped onto the raw sensors."""
    noise = {resolve_term(t): t.noise for t in meta.observation_terms}
    return SensorNoise(
        q=noise.get("joint_pos_rel", 0.0), dq=noise.get("joint_vel", 0.0),
        gyro=noise.get("base_ang_vel", 0.0), tilt=noise.get("projected_gravity", 0.0),
        lin_vel=noise.get("base_lin_vel", 0.0),
        # A tracking policy's anchor-position error is the position estimate's error seen from the anchor.
        pos=noise.get("anchor_pos_error_b", 0.0),
    ).scaled(k)  # fmt: skip


def motor_model(meta: PolicyMetadata) -> MotorModel | None:
    """The policy's own motor limits (policy.json extra.motor, which an Isaac Lab run's actuators give), checked."""
    m = meta.extra.get("motor")
    if m is None:
        return None
    keys = ("effort_limit", "saturation_effort", "velocity_limit")
    try:
        lists = [[float(v) for v in m[k]] for k in keys]
    except (KeyError, TypeError, ValueError):
        raise PolicySpecError(f"policy.json: extra.motor must hold {', '.join(keys)} (lists of numbers)") from None
    if any(len(v) != meta.num_joints or not np.all(np.asarray(v) >= 0) for v in lists):
        raise PolicySpecError(f"policy.json: extra.motor's {', '.join(keys)} need {meta.num_joints} values >= 0 each")
    return MotorModel(*lists)


def make_sim_robot(
    meta: PolicyMetadata, cfg: Sim2SimCfg, clock: Clock, seed: int
) -> tuple[Robot, SimulatedRobot]:
    sim = SimulatedRobot(
        SimRobotCfg(robot=meta.robot, model=cfg.model, timestep=cfg.timestep, integrator=cfg.integrator,
                    latency_s=cfg.latency_ms / 1000.0, latency_jitter_s=cfg.latency_jitter_ms / 1000.0,
                    push_velocity=cfg.push, noise=training_noise(meta, cfg.noise), seed=seed,
                    hold_kp=float(np.mean(meta.kp)), hold_kd=float(np.mean(meta.kd)), base_body=meta.base_body,
                    motor=motor_model(meta)),
        clock,
    )  # fmt: skip
    if cfg.robot == "unitree-go2":
        from robolearn.sim2real.unitree import SimTransport, UnitreeRobot

        return UnitreeRobot(SimTransport(sim), meta.joint_names), sim
    if cfg.robot == "unitree-g1":
        from robolearn.sim2real.unitree import SimTransport, UnitreeRobot
        from robolearn.sim2real.unitree_g1 import (
            G1_JOINTS,
            G1_MOTOR_JOINTS,
            g1_limits,
            g1_low_cmd,
            g1_low_state,
        )

        transport = SimTransport(sim, G1_MOTOR_JOINTS, g1_low_state)
        return UnitreeRobot(transport, meta.joint_names, G1_JOINTS, G1_MOTOR_JOINTS, limits=g1_limits,
                            new_cmd=g1_low_cmd), sim  # fmt: skip
    return sim, sim


class _EpisodeMonitor:
    """Per-tick ground truth of one sim2sim episode: tracking errors, timings, falls and e-stops."""

    def __init__(self, sim: SimulatedRobot, command: np.ndarray, recorder: _Recorder | None):
        self.sim, self.command, self.recorder = sim, command, recorder
        self.errors: list[tuple[float, float]] = []
        self.parts: dict[str, list[int]] = {"obs": [], "inference": [], "safety": []}
        self.clipped_ticks = 0
        self.failure = ""

    def __call__(self, loop: DeployLoop) -> bool:
        t = loop.controller.times
        self.parts["obs"].append(t.obs_ns)
        self.parts["inference"].append(t.infer_ns)
        self.parts["safety"].append(t.safety_ns)
        self.clipped_ticks += loop.controller.safety.status.clipped > 0
        v, w = self.sim.base_lin_vel_b(), self.sim.base_ang_vel_b()
        c = self.command
        self.errors.append((float(np.linalg.norm(c[:2] - v[:2])), float(abs(c[2] - w[2]))))
        if self.recorder is not None:
            self.recorder.frame()
        if self.sim.fallen(FALL_TILT):
            self.failure = "fell"
        elif loop.estopped:
            self.failure = f"e-stop: {loop.controller.safety.status.reason}"
        return not self.failure


def run_sim2sim(policy: str | Path, cfg: Sim2SimCfg) -> dict[str, Any]:
    json_path, meta, onnx = load_policy(policy)
    commands = episode_commands(meta, cfg)
    episodes: list[EpisodeResult] = []
    jitter: list[float] = []
    work: list[float] = []
    parts: dict[str, list[int]] = {"obs": [], "inference": [], "safety": []}
    overruns = ticks = clipped = 0
    for ep in range(cfg.episodes):
        clock: Clock = WallClock() if cfg.realtime else VirtualClock()
        robot, sim = make_sim_robot(meta, cfg, clock, cfg.seed + ep)
        if ep == 0:
            check_action_scale(meta, robot.limits(), str(json_path))
        controller = Controller(meta, onnx, SafetyLayer(meta, robot.limits(), cfg.safety))
        cmd = commands[ep]
        loop = DeployLoop(robot, controller, clock, lambda t, c=cmd: c)
        recorder = _Recorder(sim, cfg.video, meta.control_period) if (cfg.video and ep == 0) else None
        monitor = _EpisodeMonitor(sim, cmd, recorder)
        stats = loop.run(cfg.duration_s, monitor)
        if recorder is not None:
            recorder.close()
        err = np.array(monitor.errors) if monitor.errors else np.zeros((1, 2))
        episodes.append(EpisodeResult(not monitor.failure, len(monitor.errors) * meta.control_period,
                                      float(err[:, 0].mean()), float(err[:, 1].mean()), cmd.tolist(),
                                      monitor.failure))  # fmt: skip
        for k, v in monitor.parts.items():
            parts[k] += v
        jitter += stats.jitter_s
        work += stats.work_s
        overruns += stats.overruns
        ticks += len(monitor.errors)
        clipped += monitor.clipped_ticks

    def ms(xs: list[float], q: float) -> float | None:
        return 1e3 * float(np.percentile(xs, q)) if xs else None

    return {
        "side": "sim2sim",
        **_summary(episodes),
        "realtime": cfg.realtime,
        "ticks": ticks,
        "overruns": overruns,
        # Jitter is only meaningful against a wall clock; a virtual clock is never late.
        "jitter_median_ms": ms(jitter, 50) if cfg.realtime else None,
        "jitter_p99_ms": ms(jitter, 99) if cfg.realtime else None,
        "work_median_ms": ms(work, 50),
        "work_p99_ms": ms(work, 99),
        # Ticks where a safety limit changed some joint target (the policy asked for more than allowed).
        "safety_clipped_fraction": clipped / max(ticks, 1),
        "step_parts_median_us": {k: float(np.median(v)) / 1e3 for k, v in parts.items() if v},
        "video": str(cfg.video) if cfg.video else None,
    }


def check_min_survival(min_survival: float) -> None:
    if not 0.0 <= min_survival <= 1.0:  # (a NaN fails this too)
        raise ValueError(f"--min-survival must be a fraction in [0, 1], got {min_survival:g}")


def sim2sim_checks(report: dict[str, Any], min_survival: float = 1.0) -> list[str]:
    """Why a sim2sim report fails (empty: it passes). The checks: the fraction of episodes that survived
    (no fall past FALL_TILT, no safety e-stop) is at least `min_survival`, and the tracking errors are finite
    numbers (a NaN means the policy's outputs or the simulation went bad somewhere)."""
    check_min_survival(min_survival)
    failures = []
    if report["survival"] < min_survival:
        reasons = "; ".join(report.get("failures", [])) or "none recorded"
        failures.append(
            f"survival {report['survival']:.0%} of {report['episodes']} episode(s) is below the required "
            f"{min_survival:.0%} ({reasons})"
        )
    for key in ("error_vel_xy", "error_vel_yaw"):
        if not np.isfinite(report[key]):
            failures.append(f"{key} is {report[key]} (not a finite number)")
    return failures


def _summary(episodes: list[EpisodeResult]) -> dict[str, Any]:
    return {
        "episodes": len(episodes),
        "survival": float(np.mean([e.survived for e in episodes])),
        "mean_time_s": float(np.mean([e.time_s for e in episodes])),
        "error_vel_xy": float(np.mean([e.error_vel_xy for e in episodes])),
        "error_vel_yaw": float(np.mean([e.error_vel_yaw for e in episodes])),
        "failures": [e.reason for e in episodes if not e.survived],
    }


class _Recorder:
    """Every other tick of the simulated robot (25 fps at a 50 Hz policy), rendered to mp4 after the
    episode: software GL takes ~20 ms a frame, which inside a real-time loop would cause overruns."""

    def __init__(self, sim: SimulatedRobot, path: Path, period: float, every: int = 2):
        self.sim, self.path, self.period, self.every, self.n = sim, path, period, every, 0
        self.states: list[np.ndarray] = []

    def frame(self) -> None:
        if self.n % self.every == 0:
            self.states.append(self.sim.data.qpos.copy())
        self.n += 1

    def close(self) -> None:
        from robolearn.render import VideoWriter, WorldRenderer

        renderer = WorldRenderer(self.sim.model)
        writer = VideoWriter(self.path, fps=1.0 / (self.period * self.every))
        for qpos in self.states:
            writer.write(renderer.render_state(qpos, None, self.sim.base_id))
        renderer.close()
        writer.close()


def run_train_env(policy: str | Path, cfg: Sim2SimCfg, run_env_cfg: RunEnvCfg | None = None) -> dict[str, Any]:
    """The same policy.onnx and commands in the training env: its model, PD and integrator, no latency,
    no domain randomization, pushes and observation noise matched to sim2sim's. `run_env_cfg` reads a run
    folder's env config (the learner side has it: robolearn.policies.evaluate.run_env_cfg); without it, or
    without a run folder around policy.json, the task's default env is used."""
    import torch

    from robolearn.core import ManagerBasedRlEnv

    json_path, meta = policy_paths(policy)
    env_cfg = _train_env_cfg(json_path, meta.task, run_env_cfg)
    if meta.obs_group not in env_cfg.observations:
        raise PolicySpecError(
            f"{json_path}: obs_group {meta.obs_group!r} is not an observation group of {meta.task}'s default "
            "env; the training-env side needs the policy's run folder (its config.yaml) beside policy.json"
        )
    group = env_cfg.observations[meta.obs_group]
    group.enable_noise = cfg.noise > 0
    for term in group.terms.values():
        term.noise *= cfg.noise
    # No domain randomization: both sides start from the keyframe on nominal models, so the gap is
    # the simulators' (the deploy loop itself reproduces this env exactly; see the tests).
    env_cfg.events = {}
    if cfg.push:
        from robolearn.core import EventTerm, mdp

        v = (-cfg.push, cfg.push)
        env_cfg.events["push"] = EventTerm(mdp.push_by_setting_velocity, "interval",
                                           {"velocity_range": {"x": v, "y": v}}, interval_range_s=(8.0, 12.0))  # fmt: skip
    if "base_velocity" in env_cfg.commands:
        held = dataclasses.replace(env_cfg.commands["base_velocity"], resampling_time_s=(1e9, 1e9))
        env_cfg.commands = {**env_cfg.commands, "base_velocity": held}
    env_cfg = dataclasses.replace(env_cfg, num_envs=cfg.episodes, episode_length_s=cfg.duration_s + 1.0,
                                  seed=cfg.seed)  # fmt: skip
    env = ManagerBasedRlEnv(env_cfg)
    onnx = OnnxPolicy(json_path.with_name("policy.onnx"), meta)
    commands = torch.as_tensor(episode_commands(meta, cfg), device=env.device)
    env.reset(seed=cfg.seed)
    if "base_velocity" in env.command_manager:
        env.command_manager.get_command("base_velocity")[:] = commands
    obs = env.observation_manager.compute()[meta.obs_group]
    alive = torch.ones(env.num_envs, dtype=torch.bool)
    steps_alive = torch.zeros(env.num_envs)
    err = torch.zeros(env.num_envs, 2, dtype=torch.float64)
    robot = env.robot
    for _ in range(int(round(cfg.duration_s / env.step_dt))):
        # Errors of the state each action is computed from, as the deploy loop measures them.
        e_lin = torch.linalg.norm(commands[:, :2].double() - robot.root_lin_vel_b[:, :2].double(), dim=-1)
        e_yaw = (commands[:, 2].double() - robot.root_ang_vel_b[:, 2].double()).abs()
        err[alive] += torch.stack([e_lin, e_yaw], -1).cpu()[alive]
        steps_alive += alive.float()
        actions = onnx.session.run([meta.onnx_output], {meta.onnx_input: obs.cpu().numpy()})[0]
        out, _, terminated, _, _ = env.step(torch.as_tensor(actions, device=env.device))
        alive &= ~terminated.cpu()
        obs = out[meta.obs_group]
    mean_err = err / steps_alive.clamp(min=1).unsqueeze(-1)
    episodes = [
        EpisodeResult(bool(alive[i]), float(steps_alive[i]) * env.step_dt, float(mean_err[i, 0]),
                      float(mean_err[i, 1]), commands[i].tolist(), "" if alive[i] else "terminated")
        for i in range(env.num_envs)
    ]  # fmt: skip
    return {"side": "train env", **_summary(episodes)}


def _train_env_cfg(json_path: Path, task: str, run_env_cfg: RunEnvCfg | None) -> Any:
    """The run's own env config when policy.json sits in a run folder, else the task's default."""
    from robolearn.registry import get_task

    if run_env_cfg is not None and (json_path.parent / "config.yaml").is_file():
        try:
            return run_env_cfg(json_path.parent)
        except Exception:  # an older or foreign config: the task default still measures the gap
            pass
    return get_task(task).env_cfg()


def gap_ladder(policy: str | Path, cfg: Sim2SimCfg) -> list[tuple[str, dict[str, Any]]]:
    """Attribute the sim2sim gap: start from the training setup on plain MuJoCo (which reproduces the
    training env) and add one difference per rung, up to `cfg`'s full sim2sim setup."""
    _, meta, _ = load_policy(policy)
    base = dataclasses.replace(cfg, model="training", integrator="euler", timestep=meta.sim_dt, latency_ms=0.0,
                               latency_jitter_ms=0.0, noise=0.0, push=0.0, video=None, realtime=False)  # fmt: skip
    rungs = [
        ("training scene, euler, no latency", base),
        ("+ full model, PD in the driver", dataclasses.replace(base, model="full")),
        (f"+ {cfg.integrator} @ {cfg.timestep * 1e3:g} ms",
         dataclasses.replace(base, model="full", integrator=cfg.integrator, timestep=cfg.timestep)),
    ]  # fmt: skip
    full = dataclasses.replace(
        rungs[-1][1], latency_ms=cfg.latency_ms, latency_jitter_ms=cfg.latency_jitter_ms
    )
    rungs.append((f"+ latency {cfg.latency_ms:g} ms", full))
    if cfg.noise or cfg.push:
        rungs.append((f"+ noise x{cfg.noise:g}, push {cfg.push:g}", dataclasses.replace(full, noise=cfg.noise,
                                                                                      push=cfg.push)))  # fmt: skip
    return [(name, run_sim2sim(policy, c)) for name, c in rungs]
