"""Go2 stand: stay up, level and at standing height from a perturbed start.

A short task with a dense reward, built on the same managers as the velocity tasks: a learner can
show progress on it in a few seconds, so the training tests use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from robolearn.core import (
    ActionTermCfg,
    EnvCfg,
    EventTerm,
    JointPositionActionCfg,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    SimCfg,
    TerminationTerm,
    mdp,
)
from robolearn.envs.locomotion.go2_velocity import go2_scene
from robolearn.registry import register_task
from robolearn.scene import SceneCfg

STAND_HEIGHT = 0.27
"""Trunk height (m) of the Go2 home keyframe."""


def base_height_error(env, target: float = STAND_HEIGHT) -> torch.Tensor:
    return (env.robot.root_pos_w[:, 2] - target).square()


def stand_obs(privileged: bool = False) -> ObsGroupCfg:
    terms = {
        "base_ang_vel": ObsTerm(mdp.base_ang_vel, noise=0.1, scale=0.25),
        "projected_gravity": ObsTerm(mdp.projected_gravity, noise=0.02),
        "joint_pos": ObsTerm(mdp.joint_pos_rel, noise=0.01),
        "joint_vel": ObsTerm(mdp.joint_vel, noise=0.5, scale=0.05),
        "last_action": ObsTerm(mdp.last_action),
    }
    if privileged:
        terms["base_height"] = ObsTerm(mdp.base_height)
    return ObsGroupCfg(terms=terms, enable_noise=not privileged)


@dataclass
class Go2StandCfg(EnvCfg):
    scene: SceneCfg = field(default_factory=go2_scene)
    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: {"policy": stand_obs(), "critic": stand_obs(privileged=True)}
    )
    rewards: dict[str, RewardTerm] = field(
        default_factory=lambda: {
            "alive": RewardTerm(mdp.is_alive, weight=1.0),
            "height": RewardTerm(base_height_error, weight=-50.0),
            "flat_orientation": RewardTerm(mdp.flat_orientation_l2, weight=-2.0),
            "action_rate": RewardTerm(mdp.action_rate_l2, weight=-0.01),
        }
    )
    terminations: dict[str, TerminationTerm] = field(
        default_factory=lambda: {
            "time_out": TerminationTerm(mdp.time_out, time_out=True),
            "bad_orientation": TerminationTerm(mdp.bad_orientation, params={"limit_angle": 0.8}),
            "too_low": TerminationTerm(mdp.base_height_below, params={"min_height": 0.15}),
        }
    )
    actions: dict[str, ActionTermCfg] = field(
        default_factory=lambda: {"joint_pos": JointPositionActionCfg(scale=0.25)}
    )
    events: dict[str, EventTerm] = field(
        default_factory=lambda: {
            "reset_joints": EventTerm(
                mdp.reset_joints_by_scale, mode="reset", params={"position_range": (0.7, 1.3)}
            ),
        }
    )
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.004))
    num_envs: int = 64
    decimation: int = 5
    episode_length_s: float = 4.0


register_task(
    "Go2-Stand",
    Go2StandCfg,
    "Unitree Go2: stand level at 0.27 m from a perturbed start (a quick learning check)",
)
