"""TrajBooster's hierarchy rolled out on end-effector episodes: the frozen worker, the arm IK, and who commands
the worker: the learned manager (`Manager`, trained by `dagger`), the heuristic labels directly, or nobody
(arms only, legs standing). Per episode it measures wrist tracking, falls and targets reached, and can record
the frames of a dataset (trajbooster_cli.py).

An episode ends at the end of its trajectory, when a wrist is more than 0.9 m from its target, or when the
robot falls (an upper-body ground contact or a tilt beyond 1 rad). Worlds run in lockstep batches: a world
whose episode ended idles until the batch is done.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from rsl_rl.utils import resolve_class
from tensordict import TensorDict

from robolearn.assets import ASSETS_DIR
from robolearn.core.env import ManagerBasedRlEnv
from robolearn.envs.humanoid import trajbooster as tb
from robolearn.envs.humanoid.trajbooster_ik import ArmIK
from robolearn.policies.runs import RunError, load_checkpoint, resolve_run
from robolearn.policies.trajbooster_manager import Manager, manager_obs
from robolearn.retarget.ee_traj import EETrajectory, with_start
from robolearn.sim2real.export import ExportedPolicy

Controller = Literal["manager", "heuristic", "arms_only"]
REACH_RADIUS = 0.05
"""m: a wrist target counts as reached when the wrist is within this distance."""
TRANSITION_S, STILL_S = 1.0, 0.5
WORKER_SKILL = ASSETS_DIR / "workers" / "g1-velocity-height"
"""The shipped worker: a packed `G1-Velocity-Height` run, packed as the H1 skills are (not among them: it is
no SkillBlender skill)."""


def load_worker(path: str | Path | None = None) -> Any:
    """The frozen-policy factory of a `G1-Velocity-Height` run folder (default: the shipped worker)."""
    from robolearn.policies.setup import spec_from_run

    run, ckpt = resolve_run(Path(path) if path is not None else WORKER_SKILL)
    spec = spec_from_run(run)
    if spec.task != "G1-Velocity-Height":
        raise RunError(f"{run}: the worker must be a G1-Velocity-Height run, got task {spec.task!r}")
    ckpt, state = load_checkpoint(run, ckpt, pick="--worker {}")
    weights = state["actor_state_dict"]
    layers = sorted((k for k in weights if k.startswith("mlp.") and k.endswith(".weight")),
                    key=lambda k: int(k.split(".")[1]))  # fmt: skip
    obs_dim, num_actions = int(weights[layers[0]].shape[1]), int(weights[layers[-1]].shape[0])
    group = spec.agent.actor_obs_groups[0]
    cls, kwargs = resolve_class(spec.agent.to_rsl_rl()["actor"])
    actor = cls(TensorDict({group: torch.zeros(1, obs_dim)}, batch_size=[1]), {"actor": [group]}, "actor",
                num_actions, **kwargs)  # fmt: skip
    actor.load_state_dict(weights)
    policy = ExportedPolicy(actor)
    return lambda env: policy


@dataclass
class EpisodeResult:
    source: str
    steps: int
    """Control steps run after the start prefix."""
    length: int
    """Control steps of the trajectory after the start prefix."""
    pos_error: float
    """Mean wrist position error (m) over both wrists and the steps run."""
    ori_error: float
    """Mean wrist orientation error (rad)."""
    reached: float
    """Share of (wrist, step) targets within REACH_RADIUS."""
    fell: bool
    lost: bool
    """Ended because a wrist was more than 0.9 m from its target."""
    low_reached: float = float("nan")
    """`reached` over the targets below the standing G1's comfortable reach (z < LOW_Z); NaN if none."""
    far_reached: float = float("nan")
    """`reached` over targets farther forward than FAR_X from the start pelvis; NaN if none."""
    ik_error: float = float("nan")
    """Mean wrist position error of the IK solutions themselves (m), for the pelvis pose of that step: what the
    arms could reach from where the legs put the pelvis. `pos_error` minus this is the arm servos' tracking (the
    menagerie G1's arm gains let raised arms sag) and the one-step lag."""


LOW_Z = 0.85
"""m: wrist targets below this are 'low' (the standing G1's 10th percentile of wrist z, ee_workspace.g1_reach)."""
FAR_X = 0.30
"""m: wrist targets beyond this forward of the start pelvis are 'far' (its 90th percentile of wrist x)."""


@dataclass
class Recording:
    """Per-step frames of one episode (after the start prefix), for the dataset."""

    joint_pos: list[np.ndarray] = field(default_factory=list)
    arm_targets: list[np.ndarray] = field(default_factory=list)
    command: list[np.ndarray] = field(default_factory=list)
    wrist_targets: list[np.ndarray] = field(default_factory=list)
    images: dict[str, list[np.ndarray]] = field(default_factory=dict)


@dataclass
class Batch:
    """What one lockstep batch gave: results, the manager's (obs, label) pairs, recordings."""

    results: list[EpisodeResult]
    obs: list[np.ndarray]
    labels: list[np.ndarray]
    recordings: list[Recording]
    env_steps: int


class Hierarchy:
    """The G1 hierarchy of `num_envs` worlds; `controller` picks who commands the worker. `arms_only` is the
    fixed-base baseline: the pelvis held at the standing pose (no physics: holding the legs' default pose with
    their PD servos, the G1 tips forward within a second), the IK's wrists are the result."""

    def __init__(self, controller: Controller, num_envs: int = 8, worker: Any = None, ik_iterations: int = 3,
                 transition_s: float = TRANSITION_S, still_s: float = STILL_S):  # fmt: skip
        self.controller = controller
        self.transition_s, self.still_s = transition_s, still_s
        arms_only = controller == "arms_only"
        factory = None if arms_only else (worker if callable(worker) else load_worker(worker))
        self.env = ManagerBasedRlEnv(tb.hierarchy_cfg(factory, num_envs, arms_only=arms_only))
        env = self.env
        self.dt = env.step_dt
        names = list(env.robot.joint_names)
        default = env.robot.default_joint_pos.cpu().numpy()
        arm_term = env.action_manager.get_term("arms")
        default_arm = {n: float(default[names.index(n)]) for n in arm_term.joint_names}
        self.ik = ArmIK(num_envs, default_arm, iterations=ik_iterations, dt=self.dt)
        self.arm_cols = [self.ik.joint_names.index(n) for n in arm_term.joint_names]
        self.wrist_ids = [names_b.index(w) for names_b in [list(env.robot.body_names)] for w in tb_wrists()]
        self.env_steps = 0
        self.renderer: Any = None
        self.pelvis_body = 0

    def wrists_w(self) -> tuple[torch.Tensor, torch.Tensor]:
        r = self.env.robot
        return r.body_pos_w[:, self.wrist_ids].double(), r.body_quat_w[:, self.wrist_ids].double()

    def _start(self, trajs: list[EETrajectory]) -> tuple[list[EETrajectory], list[int]]:
        """Each episode with its transition from the robot's current hands and the still prefix."""
        pos, quat = self.wrists_w()
        origins = self.env.env_origins.double()
        root = self.env.robot.root_pos_w.double() - origins
        out, prefixes = [], []
        for i, t in enumerate(trajs):
            p = (pos[i] - origins[i]).cpu().numpy()
            start_root = np.array([float(root[i, 0]), float(root[i, 1]), float(root[i, 2])])
            full, n = with_start(t, p, quat[i].cpu().numpy(), start_root, self.transition_s, self.still_s)
            out.append(full)
            prefixes.append(n)
        return out, prefixes

    def run(self, trajs: list[EETrajectory], manager: Manager | None = None, beta: float = 0.0,
            collect: bool = False, record: bool = False, cameras: tuple[str, ...] = (),
            rng: np.random.Generator | None = None) -> Batch:  # fmt: skip
        """Roll out up to num_envs episodes in lockstep. `beta`: probability that a manager decision is the
        heuristic label instead of the student's (DAgger's mixing; 0 = the student's own rollout)."""
        from robolearn.policies.trajbooster_run import run_batch

        return run_batch(
            self, trajs, manager, beta, collect, record, cameras, rng or np.random.default_rng(0)
        )


def tb_wrists() -> tuple[str, str]:
    from robolearn.envs.humanoid.trajbooster_ik import WRISTS

    return WRISTS[0], WRISTS[1]


def summarize(results: list[EpisodeResult]) -> dict[str, float]:
    def mean(xs: list[float]) -> float:
        xs = [x for x in xs if np.isfinite(x)]
        return float(np.mean(xs)) if xs else float("nan")

    return {
        "episodes": len(results),
        "pos_error_m": mean([r.pos_error for r in results]),
        "ori_error_rad": mean([r.ori_error for r in results]),
        "fall_rate": mean([float(r.fell) for r in results]),
        "lost_rate": mean([float(r.lost) for r in results]),
        "reached_5cm": mean([r.reached for r in results]),
        "low_reached_5cm": mean([r.low_reached for r in results]),
        "far_reached_5cm": mean([r.far_reached for r in results]),
        "completed": mean([float(r.steps >= r.length) for r in results]),
        "ik_error_m": mean([r.ik_error for r in results]),
    }


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


__all__ = ["Batch", "EpisodeResult", "Hierarchy", "Recording", "load_worker", "manager_obs", "summarize"]
