"""Velocity tracking, the pieces every legged robot shares (legged_gym / Isaac Lab recipe).

A robot's task file picks these and sets its scene, contact sensor names and gains. The `trot_*`
pieces are what made the recipe learn on a 2-core CPU budget (benchmarks/train_go2.py): a trot
clock in the observation and a reward for matching its foot contacts, a command curriculum (half the
velocity range first), a torque penalty 10x lighter than Isaac Lab's (menagerie joints carry ~2 N m s/rad
of damping, so moving a leg costs torque a standing robot never pays), and the PPO settings in
`TROT_CPU_PPO`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from robolearn.core import (
    ActionTermCfg,
    CommandTermCfg,
    CurriculumTerm,
    EnvCfg,
    EventTerm,
    JointPositionActionCfg,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    TerminationTerm,
    VelocityCommandCfg,
    mdp,
)
from robolearn.core.symmetry import (
    HALF_PERIOD,
    PSEUDO_VECTOR,
    VECTOR,
    VELOCITY_COMMAND,
    ContactMirror,
    GridMirror,
    Invariant,
    JointMirror,
    Signs,
)


def policy_obs(height_scan: bool = False, base_lin_vel: bool = True) -> ObsGroupCfg:
    """Isaac Lab's / legged_gym's policy observation. `base_lin_vel` is a state estimate on a real
    robot; without it the policy only sees velocity through the command's error in the reward, and Go2
    learned yaw tracking but not translation in 11.6M env steps."""
    terms = {
        "base_lin_vel": ObsTerm(mdp.base_lin_vel, noise=0.1, mirror=Signs(VECTOR)),
        "base_ang_vel": ObsTerm(mdp.base_ang_vel, noise=0.2, scale=0.25, mirror=Signs(PSEUDO_VECTOR)),
        "projected_gravity": ObsTerm(mdp.projected_gravity, noise=0.05, mirror=Signs(VECTOR)),
        "velocity_command": ObsTerm(mdp.velocity_command, mirror=Signs(VELOCITY_COMMAND)),
        "joint_pos": ObsTerm(mdp.joint_pos_rel, noise=0.01, mirror=JointMirror()),
        "joint_vel": ObsTerm(mdp.joint_vel, noise=1.5, scale=0.05, mirror=JointMirror()),
        "last_action": ObsTerm(mdp.last_action, mirror=JointMirror()),
    }
    if not base_lin_vel:
        del terms["base_lin_vel"]
    if height_scan:
        # Go2 stands ~0.3 m tall: with this offset flat ground reads ~0.
        # mdp.height_scan's default grid, 1.6 m x 1.0 m at 0.2 m: 9 x 6 points, symmetric about y = 0.
        terms["height_scan"] = ObsTerm(mdp.height_scan, params={"offset": 0.3}, noise=0.05,
                                       mirror=GridMirror((9, 6)))  # fmt: skip
    return ObsGroupCfg(terms=terms)


def critic_obs(height_scan: bool = False) -> ObsGroupCfg:
    """Privileged: noise-free, with base linear velocity, height and foot contacts."""
    group = policy_obs(height_scan)
    terms = dict(group.terms)
    terms["base_height"] = ObsTerm(mdp.base_height, mirror=Invariant())
    terms["feet_contact"] = ObsTerm(mdp.contact_found, params={"sensor": "feet"}, mirror=ContactMirror())
    return ObsGroupCfg(terms=terms, enable_noise=False)


def velocity_rewards(air_time_threshold: float = 0.3) -> dict[str, RewardTerm]:
    return {
        "track_lin_vel_xy": RewardTerm(mdp.track_lin_vel_xy, weight=1.5, params={"std": 0.5}),
        "track_ang_vel_z": RewardTerm(mdp.track_ang_vel_z, weight=0.75, params={"std": 0.5}),
        "lin_vel_z": RewardTerm(mdp.lin_vel_z_l2, weight=-2.0),
        "ang_vel_xy": RewardTerm(mdp.ang_vel_xy_l2, weight=-0.05),
        "flat_orientation": RewardTerm(mdp.flat_orientation_l2, weight=-2.5),
        "joint_torques": RewardTerm(mdp.joint_torques_l2, weight=-2e-4),
        "joint_acc": RewardTerm(mdp.joint_acc_l2, weight=-2.5e-7),
        "action_rate": RewardTerm(mdp.action_rate_l2, weight=-0.01),
        "joint_pos_limits": RewardTerm(mdp.joint_pos_limits, weight=-10.0),
        "feet_air_time": RewardTerm(
            mdp.feet_air_time, weight=0.25, params={"sensor": "feet", "threshold": air_time_threshold}
        ),
        "undesired_contacts": RewardTerm(mdp.undesired_contacts, weight=-1.0, params={"sensor": "thighs"}),
        "stand_still": RewardTerm(mdp.stand_still, weight=-0.5),
    }


def velocity_events() -> dict[str, EventTerm]:
    return {
        "friction": EventTerm(mdp.randomize_friction, mode="startup", params={"friction_range": (0.6, 1.25)}),
        "base_mass": EventTerm(mdp.add_base_mass, mode="startup", params={"mass_range": (-1.0, 2.0)}),
        "reset_base": EventTerm(
            mdp.reset_root_state,
            mode="reset",
            params={
                "pose_range": {"x": (-0.5, 0.5), "y": (-0.5, 0.5), "yaw": (-3.14, 3.14)},
                "velocity_range": {k: (-0.3, 0.3) for k in ("x", "y", "z", "roll", "pitch", "yaw")},
            },
        ),
        "reset_joints": EventTerm(
            mdp.reset_joints_by_scale, mode="reset", params={"position_range": (0.8, 1.2)}
        ),
        "push": EventTerm(
            mdp.push_by_setting_velocity,
            mode="interval",
            interval_range_s=(8.0, 12.0),
            params={"velocity_range": {"x": (-0.5, 0.5), "y": (-0.5, 0.5)}},
        ),
    }


def velocity_terminations() -> dict[str, TerminationTerm]:
    return {
        "time_out": TerminationTerm(mdp.time_out, time_out=True),
        "base_contact": TerminationTerm(mdp.illegal_contact, params={"sensor": "base"}),
        "bad_orientation": TerminationTerm(mdp.bad_orientation, params={"limit_angle": 1.2}),
    }


@dataclass
class LeggedVelocityCfg(EnvCfg):
    """The velocity-tracking recipe; a robot's task sets `scene` and adjusts terms where it differs."""

    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: {"policy": policy_obs(), "critic": critic_obs()}
    )
    rewards: dict[str, RewardTerm] = field(default_factory=velocity_rewards)
    terminations: dict[str, TerminationTerm] = field(default_factory=velocity_terminations)
    actions: dict[str, ActionTermCfg] = field(
        default_factory=lambda: {"joint_pos": JointPositionActionCfg(scale=0.25)}
    )
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {"base_velocity": VelocityCommandCfg()})
    events: dict[str, EventTerm] = field(default_factory=velocity_events)


# -- the trot recipe ----------------------------------------------------------------------

TROT_PERIOD = 0.5
"""s: a 2 Hz trot, the Go2's and A1's gait at 0.5-1 m/s."""
TROT_TORQUE_WEIGHT = -2e-5
TROT_CPU_PPO: dict[str, Any] = {
    # init std 0.5 (recipe 1.0): with action scale 0.25 a 1.0 std is 0.25 rad of random joint offsets every
    # 20 ms, which keeps toppling the robot early (Go2 mean return at 1.25M env steps 7.4 against 3.0).
    "init_noise_std": 0.5,
    "entropy_coef": 0.005,  # keeps the smaller std from being pushed back up
    # 4 epochs x 2 minibatches (recipe 5 x 4): the per-minibatch KL adaptation on 3k-sample minibatches
    # swung the learning rate between 1e-5 and 1e-3 inside every iteration; 6k-sample ones keep it steady.
    "num_learning_epochs": 4,
    "num_mini_batches": 2,
    # Collection keeps one torch thread: the physics' own threads hold both cores then. The update takes
    # every core (PpoCfg.update_threads), with OpenMP threads that sleep at barriers (robolearn/__init__):
    # spinning ones stalled a 2-thread update on a loaded machine (updates of 0.4 s took up to 28 s).
    "torch_threads": 1,
    # Every minibatch also trains on its left-right mirror image (robolearn.core.symmetry): the adaptive
    # learning rate then stays near 4e-4..1e-3 instead of dropping to 4e-5 for tens of iterations.
    "symmetry": True,
    # The update's forward passes in bfloat16 where the CPU has it natively: 0.55x the update's CPU time;
    # Go2 seed 0 tracked as fast per env step as in float32 (docs/training-speed.md).
    "bf16_update": "auto",
}
"""PPO overrides of `PpoCfg.cpu()` for the trot recipe (measured on Go2, benchmarks/train_go2.py)."""


def trot_observations(height_scan: bool = False) -> dict[str, ObsGroupCfg]:
    groups = {"policy": policy_obs(height_scan), "critic": critic_obs(height_scan)}
    for group in groups.values():
        group.terms["gait_phase"] = ObsTerm(mdp.gait_phase, params={"period": TROT_PERIOD}, mirror=Signs(HALF_PERIOD))
    return groups


def command_curriculum() -> CurriculumTerm:
    # A decision every 5 s of simulated time instead of every 20 s episode: once the half range is tracked,
    # the full range follows in ~50 iterations instead of ~200 (Go2 seed 0: the bar at 4.30M env steps
    # instead of 7.37M, docs/training-speed.md). Full range from the start never walked within 3.9M steps.
    return CurriculumTerm(mdp.command_levels, params={"start": 0.5, "every_s": 5.0})


def trot_rewards(feet_sensor: str = "feet") -> dict[str, RewardTerm]:
    """`velocity_rewards()` with the trot contact reward and the light torque penalty. The sensor's feet must
    be ordered so that `gait_contact`'s default offsets (0, .5, .5, 0) pair diagonal legs. A field factory,
    not a `__post_init__` edit: a config rebuilt from overrides (the CLI, config.yaml) keeps the overrides."""
    rewards = velocity_rewards()
    rewards["joint_torques"].weight = TROT_TORQUE_WEIGHT
    rewards["gait_contact"] = RewardTerm(
        mdp.gait_contact, weight=0.5, params={"sensor": feet_sensor, "period": TROT_PERIOD}
    )
    return rewards


def rough_curriculum() -> dict[str, CurriculumTerm]:
    return {"terrain_levels": CurriculumTerm(mdp.terrain_levels), "command_levels": command_curriculum()}


def rough_trot_rewards() -> dict[str, RewardTerm]:
    """The trot rewards on rough terrain: slopes tilt the trunk on purpose, so flat orientation costs less."""
    rewards = trot_rewards()
    rewards["flat_orientation"].weight = -0.5
    return rewards


def rough_events() -> dict[str, EventTerm]:
    """The velocity events on rough terrain: spawn on the tile's level pad (no x/y offset)."""
    events = velocity_events()
    events["reset_base"].params["pose_range"] = {"yaw": (-3.14, 3.14)}
    return events
