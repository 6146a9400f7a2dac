"""The TrajBooster hierarchy on the G1: arms by IK (trajbooster_ik.py), legs by the frozen `G1-Velocity-Height`
worker, commanded by a manager's (vx, vy, yaw rate, pelvis height).

`hierarchy_cfg` is the env: the worker's scene and model (waist locked, 12 leg + 14 arm joints), two action
terms, `base` (a frozen-policy term: 4 commands in [-1, 1] -> the worker -> leg joint targets) and `arms`
(absolute arm joint targets, what the IK solved); `arms_only=True` drives the legs by their servos at the
standing pose instead (the G1 tips over forward within a second that way, so the arms-only baseline of
policies/trajbooster.py is evaluated kinematically on a fixed pelvis). No rewards: the hierarchy is rolled
out, not trained by PPO. Every world starts at its origin facing +x, which is the trajectory frame of its episode.

`heuristic_labels` is the manager's teacher (the released code's heuristic): height = the reference pelvis
height; (vx, vy) = weighted finite differences of reference-minus-current pelvis offsets at horizons
5/10/15/20 control steps (weights .4/.3/.2/.1), in the heading frame, with a deadband on the offsets and
clipping to the worker's ranges; yaw rate
turns the current heading back to the trajectory frame's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from robolearn.core import (
    ActionTermCfg,
    EnvCfg,
    FrozenPolicyActionCfg,
    JointPositionActionCfg,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    SimCfg,
    TerminationTerm,
    mdp,
)
from robolearn.envs.humanoid import biped_gait
from robolearn.envs.humanoid.h1_skills import skill_terminations
from robolearn.envs.locomotion.g1_velocity_height import (
    ARM_JOINTS,
    G1_WB,
    HEIGHT_RANGE,
    LEG_JOINTS,
    VELOCITY_RANGES,
    worker_scene,
)
from robolearn.math import quat_mul, quat_rotate_inverse, wrap_to_pi, yaw_from_quat
from robolearn.scene import SceneCfg

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

MANAGER_PERIOD = 5
"""Control steps between manager decisions (the paper's)."""
HORIZONS = (5, 10, 15, 20)
"""Control steps ahead at which the manager sees the wrist targets and the heuristic reads the reference."""
HORIZON_WEIGHTS = (0.4, 0.3, 0.2, 0.1)
DEADBAND = 0.05
"""m: reference-minus-current pelvis offsets below this (per axis and horizon) count as zero. The finite
differences divide an offset by 0.1-0.4 s, so without it 1 cm of drift already asks for 0.1 m/s and the
commands dither around the reference (measured on the ALOHA reach episodes)."""
YAW_GAIN = 1.0
"""rad/s per rad of heading error."""
HAND_ERROR_LIMIT = 0.9
"""m: an episode ends when a wrist is farther than this from its target."""
COMMAND_RANGES = (VELOCITY_RANGES["lin_vel_x"], VELOCITY_RANGES["lin_vel_y"], VELOCITY_RANGES["ang_vel_z"],
                  HEIGHT_RANGE)  # fmt: skip
"""(vx, vy, yaw rate, height): the worker's training ranges, which the manager's [-1, 1] outputs span."""


def heuristic_labels(ref_root: torch.Tensor, root_xy: torch.Tensor, yaw: torch.Tensor, dt: float,
                     horizons: tuple[int, ...] = HORIZONS, weights: tuple[float, ...] = HORIZON_WEIGHTS
                     ) -> torch.Tensor:  # fmt: skip
    """(N, 4) commands (vx, vy, yaw rate, height) in the worker's units.

    ref_root: (N, len(horizons) + 1, 3) the reference pelvis (x, y, height) now and at each horizon (trajectory
    frame); root_xy: (N, 2) the current pelvis position; yaw: (N,) the current heading; dt: control step (s)."""
    c, s = torch.cos(yaw), torch.sin(yaw)
    vel = torch.zeros_like(root_xy)
    for k, (h, w) in enumerate(zip(horizons, weights, strict=True)):
        d = ref_root[:, k + 1, :2] - root_xy
        local = torch.stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]], dim=-1)
        local = torch.where(local.abs() < DEADBAND, torch.zeros_like(local), local)
        vel = vel + w * local / (h * dt)
    (x_lo, x_hi), (y_lo, y_hi), (w_lo, w_hi), (h_lo, h_hi) = COMMAND_RANGES
    vx = vel[:, 0].clamp(x_lo, x_hi)
    vy = vel[:, 1].clamp(y_lo, y_hi)
    wz = (-YAW_GAIN * wrap_to_pi(yaw)).clamp(w_lo, w_hi)
    height = ref_root[:, 0, 2].clamp(h_lo, h_hi)
    return torch.stack([vx, vy, wz, height], dim=-1)


def normalize_command(cmd: torch.Tensor) -> torch.Tensor:
    """Worker units -> the frozen-policy term's [-1, 1]."""
    r = torch.tensor(COMMAND_RANGES, dtype=cmd.dtype, device=cmd.device)
    return 2 * (cmd - r[:, 0]) / (r[:, 1] - r[:, 0]) - 1


def denormalize_command(a: torch.Tensor) -> torch.Tensor:
    r = torch.tensor(COMMAND_RANGES, dtype=a.dtype, device=a.device)
    return r[:, 0] + (a.clamp(-1, 1) + 1) * 0.5 * (r[:, 1] - r[:, 0])


def worker_observation(env: ManagerBasedRlEnv, term: Any) -> torch.Tensor:
    """The worker's training observation (g1_velocity_height.worker_policy_obs, noise-free), built from the
    frozen-policy term's command and last output: [command, clock, leg q, leg qd, last action, ang vel, gravity]."""
    legs = term.joint_ids
    robot = env.robot
    cmd = term.command.clone()
    cmd[:, 3] -= G1_WB.standing_height
    return torch.cat([
        cmd,
        biped_gait.gait_clock(env, biped_gait.WALK_PERIOD),
        (robot.joint_pos - robot.default_joint_pos)[:, legs],
        robot.joint_vel[:, legs] * 0.05,
        term.low_action,
        mdp.base_ang_vel(env) * 0.25,
        mdp.projected_gravity(env),
    ], dim=-1).float()  # fmt: skip


def hierarchy_obs() -> ObsGroupCfg:
    return ObsGroupCfg(terms={"projected_gravity": ObsTerm(mdp.projected_gravity)}, enable_noise=False)


@dataclass
class G1TrajBoosterCfg(EnvCfg):
    scene: SceneCfg = field(default_factory=worker_scene)
    observations: dict[str, ObsGroupCfg] = field(default_factory=lambda: {"policy": hierarchy_obs()})
    rewards: dict[str, RewardTerm] = field(default_factory=dict)
    terminations: dict[str, TerminationTerm] = field(default_factory=lambda: skill_terminations(False))
    actions: dict[str, ActionTermCfg] = field(default_factory=dict)
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.005))
    decimation: int = 4
    num_envs: int = 8
    episode_length_s: float = 120.0
    base_body: str = "pelvis"
    keyframe: str | None = G1_WB.keyframe
    auto_reset: bool = False


def hierarchy_cfg(worker: Callable[[Any], Callable[[torch.Tensor], torch.Tensor]] | None, num_envs: int,
                  arms_only: bool = False) -> G1TrajBoosterCfg:  # fmt: skip
    """The hierarchy env: `worker` is the frozen-policy factory (env -> callable obs -> leg action)."""
    arms = JointPositionActionCfg(joint_names=ARM_JOINTS, use_default_offset=False, scale=1.0)
    if arms_only:
        base: ActionTermCfg = JointPositionActionCfg(joint_names=LEG_JOINTS, scale=0.0)
    else:
        base = FrozenPolicyActionCfg(joint_names=LEG_JOINTS, policy_factory=worker, observation=worker_observation,
                                     command_ranges=COMMAND_RANGES, scale=0.25)  # fmt: skip
    return G1TrajBoosterCfg(num_envs=num_envs, actions={"base": base, "arms": arms})


def pelvis_frame(env: ManagerBasedRlEnv, points_w: torch.Tensor) -> torch.Tensor:
    """World points (N, K, 3) in the pelvis frame (position and full orientation)."""
    pos = env.robot.root_pos_w[:, None, :].to(points_w.dtype)
    quat = env.robot.root_quat_w[:, None, :].to(points_w.dtype).expand(-1, points_w.shape[1], -1)
    return quat_rotate_inverse(quat, points_w - pos)


def pelvis_frame_quat(env: ManagerBasedRlEnv, quat_w: torch.Tensor) -> torch.Tensor:
    """World orientations (N, K, 4) in the pelvis frame."""
    root = env.robot.root_quat_w[:, None, :].to(quat_w.dtype).expand(-1, quat_w.shape[1], -1)
    inv = root * torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=quat_w.dtype, device=quat_w.device)
    return quat_mul(inv, quat_w)


def heading(env: ManagerBasedRlEnv) -> torch.Tensor:
    return yaw_from_quat(env.robot.root_quat_w.float())
