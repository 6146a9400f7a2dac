"""Unitree A1 tasks for H-infinity locomotion: velocity tracking and hind-leg walking.

Both tasks are plain manager-based envs; the learned disturber that pushes the trunk lives in the
learner (`robolearn train <task> --algo hinf`, see policies/hinf.py and docs/hinf.md), so the same
tasks also train with plain PPO (the domain-randomization baseline) and the disturber can be moved to
any other locomotion task. The task's `train_cfg` is the H-infinity learner config.

A1 facts used here: trunk body `trunk`, total mass ~12.3 kg, home keyframe trunk height 0.27 m,
unnamed foot spheres on the `*_calf` bodies (so contact sensors name the calf bodies).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from robolearn.core import (
    CommandTermCfg,
    CurriculumTerm,
    EventTerm,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    SimCfg,
    TerminationTerm,
    VelocityCommandCfg,
    mdp,
)
from robolearn.envs.locomotion.velocity import (
    TROT_CPU_PPO,
    LeggedVelocityCfg,
    command_curriculum,
    critic_obs,
    policy_obs,
    rough_curriculum,
    rough_events,
    rough_trot_rewards,
    trot_observations,
    trot_rewards,
    velocity_events,
)
from robolearn.math import quat_rotate
from robolearn.registry import register_task
from robolearn.rl import HInfCfg, PpoCfg, ppo_fields
from robolearn.scene import ContactSensorCfg, SceneCfg
from robolearn.terrain import TerrainCfg

CALVES = ("FR_calf", "FL_calf", "RR_calf", "RL_calf")
FRONT_CALVES = ("FR_calf", "FL_calf")
THIGHS = ("FR_thigh", "FL_thigh", "RR_thigh", "RL_thigh")
TRUNK = "trunk"
A1_KP, A1_KD = 20.0, 0.5
"""legged_gym's A1 PD gains (N m/rad, N m s/rad)."""
A1_FORCE_MAX = 60.0
"""Disturber force bound (N): about half the A1's weight (12.3 kg * 9.81 = 121 N)."""
HIND_TARGET_HEIGHT = 0.45
"""Trunk CoM height (m) when balanced on bent hind legs with the trunk vertical."""


def a1_scene(terrain: str = "flat") -> SceneCfg:
    return SceneCfg(
        robot="a1",
        fast_model=True,  # no a1_mjx in menagerie: the full model with a pyramidal cone (robots.py)
        terrain=TerrainCfg(kind=terrain),
        contact_sensors={
            "feet": ContactSensorCfg(bodies=CALVES),
            "front_feet": ContactSensorCfg(bodies=FRONT_CALVES),
            "thighs": ContactSensorCfg(bodies=THIGHS),
            "base": ContactSensorCfg(bodies=(TRUNK,)),
        },
        pd_gains={".*": (A1_KP, A1_KD)},
    )


def a1_hinf_train_cfg() -> HInfCfg:
    """CPU preset (2 cores): Go2's trot-recipe PPO (velocity.py) for the actor, plus the disturber."""
    return HInfCfg.cpu(num_envs=512, force_max=A1_FORCE_MAX, **TROT_CPU_PPO)


@dataclass
class A1VelocityHInfCfg(LeggedVelocityCfg):
    """Go2's velocity task (the trot recipe of velocity.py) on the A1; the disturber comes with the learner."""

    scene: SceneCfg = field(default_factory=a1_scene)
    observations: dict[str, ObsGroupCfg] = field(default_factory=trot_observations)
    curriculum: dict[str, CurriculumTerm] = field(
        default_factory=lambda: {"command_levels": command_curriculum()}
    )
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.005))  # 50 Hz control as Go2-Velocity-Flat
    num_envs: int = 512
    decimation: int = 4
    episode_length_s: float = 20.0
    base_body: str = TRUNK
    # CALVES order FR, FL, RR, RL: gait_contact's offsets (0, .5, .5, 0) pair FR-RL and FL-RR, a trot.
    rewards: dict[str, RewardTerm] = field(default_factory=trot_rewards)


@dataclass
class A1VelocityRoughHInfCfg(A1VelocityHInfCfg):
    """The flat task on procedural rough terrain with a terrain-level curriculum and a height scan, as
    Go2-Velocity-Rough (same terrain generator, 0.004 s x 5 timing, trunk tilt allowed on slopes)."""

    scene: SceneCfg = field(default_factory=lambda: a1_scene("rough"))
    observations: dict[str, ObsGroupCfg] = field(default_factory=lambda: trot_observations(height_scan=True))
    curriculum: dict[str, CurriculumTerm] = field(default_factory=rough_curriculum)
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.004))
    decimation: int = 5
    rewards: dict[str, RewardTerm] = field(default_factory=rough_trot_rewards)
    events: dict[str, EventTerm] = field(default_factory=rough_events)


# -- hind legs ---------------------------------------------------------------------------------------


def _heading_velocity(env) -> torch.Tensor:
    """(vx, vy) of the trunk in a frame whose x is the belly direction projected on the ground.

    On its hind legs the A1's body x-axis points up, so body-frame velocities mean nothing for
    walking; the belly (-z body) faces forward, and y body stays lateral.
    """
    quat = env.robot.root_quat_w
    belly_b = torch.zeros(quat.shape[0], 3, dtype=quat.dtype, device=quat.device)
    belly_b[:, 2] = -1.0
    fwd = quat_rotate(quat, belly_b)[:, :2]
    fwd = fwd / fwd.norm(dim=-1, keepdim=True).clamp(min=1e-6)
    left = torch.stack([-fwd[:, 1], fwd[:, 0]], dim=-1)
    v = env.sim.qvel[:, 0:2]  # a free joint's linear velocity is in the world frame
    return torch.stack([(v * fwd).sum(-1), (v * left).sum(-1)], dim=-1).float()


def upright_on_hind_legs(env, std: float = 0.4) -> torch.Tensor:
    """1 when the body x-axis points straight up (projected gravity along x is -1)."""
    g_x = env.robot.projected_gravity_b[:, 0]
    return torch.exp(-torch.square(g_x + 1.0) / std**2).float()


def hind_height(env, target: float = HIND_TARGET_HEIGHT) -> torch.Tensor:
    """Fraction of the target trunk height reached, capped at 1."""
    h = env.robot.root_pos_w[:, 2] - env.env_origins[:, 2]
    return (h / target).clamp(0.0, 1.0).float()


def track_heading_lin_vel(env, std: float = 0.5) -> torch.Tensor:
    command = env.command_manager.get_command("base_velocity")
    err = torch.sum(torch.square(command[:, :2] - _heading_velocity(env)), dim=-1)
    return torch.exp(-err / std**2)


def track_world_yaw_rate(env, std: float = 0.5) -> torch.Tensor:
    """Yaw rate about the world z axis (the body z axis is horizontal when upright)."""
    command = env.command_manager.get_command("base_velocity")
    w_world = quat_rotate(env.robot.root_quat_w, env.robot.root_ang_vel_b)
    err = torch.square(command[:, 2] - w_world[:, 2].float())
    return torch.exp(-err / std**2)


def hind_policy_obs() -> ObsGroupCfg:
    return policy_obs()


def hind_critic_obs() -> ObsGroupCfg:
    group = critic_obs()
    group.terms["heading_vel"] = ObsTerm(_heading_velocity)
    return group


def hind_rewards() -> dict[str, RewardTerm]:
    return {
        "upright": RewardTerm(upright_on_hind_legs, weight=2.0),
        "height": RewardTerm(hind_height, weight=1.0),
        "front_feet_air": RewardTerm(mdp.undesired_contacts, weight=-0.5, params={"sensor": "front_feet"}),
        "track_lin_vel_xy": RewardTerm(track_heading_lin_vel, weight=1.0),
        "track_ang_vel_z": RewardTerm(track_world_yaw_rate, weight=0.5),
        "joint_torques": RewardTerm(mdp.joint_torques_l2, weight=-2e-4),
        "action_rate": RewardTerm(mdp.action_rate_l2, weight=-0.01),
        "joint_pos_limits": RewardTerm(mdp.joint_pos_limits, weight=-10.0),
    }


def hind_train_cfg() -> HInfCfg:
    # Upright posture is part of the performance the constraint protects, as well as tracking.
    return HInfCfg.cpu(
        num_envs=512,
        **{**TROT_CPU_PPO, "symmetry": False},
        force_max=A1_FORCE_MAX / 2,  # a standing A1 has a small support polygon
        cost_terms={"track_lin_vel_xy": 1.0, "track_ang_vel_z": 1.0, "upright": 1.0},
    )


@dataclass
class A1HindLegsHInfCfg(A1VelocityHInfCfg):
    """Not a trot: the hind-leg task keeps its own rewards and observations (no gait clock)."""

    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: {"policy": hind_policy_obs(), "critic": hind_critic_obs()}
    )
    rewards: dict[str, RewardTerm] = field(default_factory=hind_rewards)
    terminations: dict[str, TerminationTerm] = field(
        default_factory=lambda: {
            "time_out": TerminationTerm(mdp.time_out, time_out=True),
            "base_contact": TerminationTerm(mdp.illegal_contact, params={"sensor": "base"}),
            "thigh_contact": TerminationTerm(mdp.illegal_contact, params={"sensor": "thighs"}),
        }
    )
    commands: dict[str, CommandTermCfg] = field(
        default_factory=lambda: {"base_velocity": VelocityCommandCfg(
            lin_vel_x=(-0.3, 0.5), lin_vel_y=(0.0, 0.0), ang_vel_z=(-0.5, 0.5), standing_fraction=0.3
        )}
    )
    episode_length_s: float = 10.0

    curriculum: dict[str, CurriculumTerm] = field(default_factory=dict)
    # No pushes: the disturber is the only perturbation.
    events: dict[str, EventTerm] = field(
        default_factory=lambda: {k: v for k, v in velocity_events().items() if k != "push"}
    )


def a1_presets(hinf: Callable[[], HInfCfg]) -> dict[str, Callable[[], PpoCfg]]:
    """H-infinity by default; plain PPO (the baseline without a disturber) on the same actor settings."""
    return {"hinf": hinf, "ppo": lambda: PpoCfg(**ppo_fields(hinf()))}


register_task(
    "A1-Velocity-HInf",
    A1VelocityHInfCfg,
    "Unitree A1: velocity tracking on flat ground, trained against a learned trunk-force disturber (H-infinity)",
    default_algo="hinf",
    presets=a1_presets(a1_hinf_train_cfg),
)
register_task(
    "A1-Velocity-Rough-HInf",
    A1VelocityRoughHInfCfg,
    "Unitree A1: velocity tracking on rough terrain (terrain curriculum, height scan) with a disturber",
    default_algo="hinf",
    presets=a1_presets(a1_hinf_train_cfg),
)
register_task(
    "A1-HindLegs-HInf",
    A1HindLegsHInfCfg,
    "Unitree A1: stand and walk on its hind legs (upright, front feet up, height, tracking) with a disturber",
    default_algo="hinf",
    presets=a1_presets(hind_train_cfg),
)
