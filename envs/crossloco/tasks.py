"""`Go2-CrossLoco`: a Go2 moves like a human clip, learned with CrossLoco's cycle-consistency reward
(Li et al., ICLR 2024), and its unsupervised baseline `Go2-CrossLoco-NoCycle` (root tracking only).

The policy sees proprioception, the human pose features and root velocity of the current clip frame (the
`human` command) and where the reference root is from the robot; it outputs joint-position targets (scale
0.25 about the standing pose). Episodes start on the reference root at a random frame of a clip's training
part and end with the segment. Rewards as the paper's code: cycle 0.5 exp(-2 |h - r2h(r)|) + 0.5 exp(-2
|r - h2r(r2h(r))|), root position tracking exp(-2 |p - p_ref|), torques, action rate, undesired (thigh)
contacts and a termination penalty. The mappers are fitted once per PPO iteration by the task's iteration
hook (`fit_mappers`), which the learner calls without knowing the task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from robolearn.core import (
    ActionTermCfg,
    CommandTermCfg,
    EnvCfg,
    JointPositionActionCfg,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    SimCfg,
    TerminationTerm,
    ViewerCfg,
    mdp,
)
from robolearn.envs.crossloco import mdp as cl
from robolearn.envs.crossloco.command import HUMAN, HumanCommandCfg
from robolearn.envs.locomotion.go2_velocity import go2_scene
from robolearn.rl import PpoCfg
from robolearn.scene import SceneCfg


def policy_obs() -> ObsGroupCfg:
    return ObsGroupCfg(
        terms={
            "human": ObsTerm(mdp.generated_commands, params={"command_name": HUMAN}),
            "root_error": ObsTerm(cl.root_error_b, noise=0.02),
            "base_ang_vel": ObsTerm(mdp.base_ang_vel, noise=0.2, scale=0.25),
            "projected_gravity": ObsTerm(mdp.projected_gravity, noise=0.05),
            "joint_pos": ObsTerm(mdp.joint_pos_rel, noise=0.01),
            "joint_vel": ObsTerm(mdp.joint_vel, noise=1.5, scale=0.05),
            "last_action": ObsTerm(mdp.last_action),
        }
    )


def critic_obs() -> ObsGroupCfg:
    """Privileged: noise-free, with base linear velocity, height and foot contacts."""
    terms = dict(policy_obs().terms)
    terms["base_lin_vel"] = ObsTerm(mdp.base_lin_vel)
    terms["base_height"] = ObsTerm(mdp.base_height)
    terms["feet_contact"] = ObsTerm(mdp.contact_found, params={"sensor": "feet"})
    return ObsGroupCfg(terms=terms, enable_noise=False)


def crossloco_rewards(cycle_weight: float = 1.0) -> dict[str, RewardTerm]:
    return {
        "cycle": RewardTerm(cl.cycle, weight=cycle_weight),
        "root_tracking": RewardTerm(cl.root_tracking, weight=1.0, params={"k": 2.0}),
        "joint_torques": RewardTerm(mdp.joint_torques_l2, weight=-2e-5),
        "action_rate": RewardTerm(mdp.action_rate_l2, weight=-0.01),
        "undesired_contacts": RewardTerm(mdp.undesired_contacts, weight=-1.0, params={"sensor": "thighs"}),
        # x dt (0.02 s): -2 per failed episode, twice what a second of perfect tracking and cycle earns.
        "termination": RewardTerm(cl.termination_penalty, weight=-100.0),
    }


def crossloco_terminations() -> dict[str, TerminationTerm]:
    return {
        "time_out": TerminationTerm(mdp.time_out, time_out=True),
        "reference_end": TerminationTerm(cl.reference_end, time_out=True),
        "base_contact": TerminationTerm(mdp.illegal_contact, params={"sensor": "base"}),
        "bad_orientation": TerminationTerm(mdp.bad_orientation, params={"limit_angle": 1.0}),
        "root_deviation": TerminationTerm(cl.root_deviation, params={"threshold": 0.5}),
    }


@dataclass
class Go2CrossLocoCfg(EnvCfg):
    scene: SceneCfg = field(default_factory=go2_scene)
    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: {"policy": policy_obs(), "critic": critic_obs()}
    )
    rewards: dict[str, RewardTerm] = field(default_factory=crossloco_rewards)
    terminations: dict[str, TerminationTerm] = field(default_factory=crossloco_terminations)
    actions: dict[str, ActionTermCfg] = field(
        default_factory=lambda: {"joint_pos": JointPositionActionCfg(scale=0.25)}
    )
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {HUMAN: HumanCommandCfg()})
    # Go2-Velocity-Flat's timing: 0.005 s x 4 = 50 Hz, the rate the human features are written at.
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.005))
    decimation: int = 4
    num_envs: int = 512
    episode_length_s: float = 10.0
    viewer: ViewerCfg = field(default_factory=lambda: ViewerCfg(distance=2.0, elevation=-15.0, azimuth=90.0))


@dataclass
class Go2CrossLocoNoCycleCfg(Go2CrossLocoCfg):
    """The unsupervised baseline: the same policy and rewards without the cycle term (root tracking only)."""

    rewards: dict[str, RewardTerm] = field(default_factory=lambda: crossloco_rewards(cycle_weight=0.0))


def crossloco_cpu_ppo() -> PpoCfg:
    """PPO on 2 CPU cores: Go2-Velocity-Flat's trot preset (std 0.5, entropy 0.005, 4 x 2 updates) without
    the symmetry augmentation (the human features have no mirror rule in the policy's observation)."""
    return PpoCfg.cpu(init_noise_std=0.5, entropy_coef=0.005, num_learning_epochs=4, num_mini_batches=2,
                      torch_threads=1)  # fmt: skip


def fit_mappers(env: Any) -> dict[str, float]:
    """The task's iteration hook: fit h->r and r->h on the iteration's (h, r) pairs; their losses are logged."""
    term = env.command_manager.get_term(HUMAN)
    losses = term.mappers.fit(env.rng)
    return {f"mapper_{k}": v for k, v in losses.items()}
