"""Go2 velocity tracking on flat ground and on rough terrain with a difficulty curriculum.

Rewards and noise follow the legged_gym / Isaac Lab velocity recipe. Training uses the
menagerie `go2_mjx` model (primitive collisions, light solver), as MuJoCo Playground does;
the full model is kept for sim2sim.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from robolearn.env import (
    CurriculumTerm,
    EnvCfg,
    EventTerm,
    JointPositionActionCfg,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    SimCfg,
    TerminationTerm,
    VelocityCommandCfg,
    mdp,
)
from robolearn.scene import ContactSensorCfg, SceneCfg
from robolearn.tasks import register_task
from robolearn.terrain import TerrainCfg

FEET = ("FL", "FR", "RL", "RR")
THIGHS = ("FL_thigh", "FR_thigh", "RL_thigh", "RR_thigh")
GO2_KP, GO2_KD = 35.0, 0.5


def go2_scene(terrain: str = "flat") -> SceneCfg:
    return SceneCfg(
        robot="go2",
        fast_model=True,
        terrain=TerrainCfg(kind=terrain),
        contact_sensors={
            "feet": ContactSensorCfg(geoms=FEET),
            "thighs": ContactSensorCfg(bodies=THIGHS),
            "base": ContactSensorCfg(bodies=("base",)),
        },
        pd_gains={".*": (GO2_KP, GO2_KD)},
    )


def policy_obs(height_scan: bool = False) -> ObsGroupCfg:
    terms = {
        "base_ang_vel": ObsTerm(mdp.base_ang_vel, noise=0.2, scale=0.25),
        "projected_gravity": ObsTerm(mdp.projected_gravity, noise=0.05),
        "velocity_command": ObsTerm(mdp.velocity_command),
        "joint_pos": ObsTerm(mdp.joint_pos_rel, noise=0.01),
        "joint_vel": ObsTerm(mdp.joint_vel, noise=1.5, scale=0.05),
        "last_action": ObsTerm(mdp.last_action),
    }
    if height_scan:
        # Go2 stands ~0.3 m tall: with this offset flat ground reads ~0.
        terms["height_scan"] = ObsTerm(mdp.height_scan, params={"offset": 0.3}, noise=0.05)
    return ObsGroupCfg(terms=terms)


def critic_obs(height_scan: bool = False) -> ObsGroupCfg:
    """Privileged: noise-free, plus base linear velocity, height and foot contacts."""
    group = policy_obs(height_scan)
    terms = {"base_lin_vel": ObsTerm(mdp.base_lin_vel), **group.terms}
    terms["base_height"] = ObsTerm(mdp.base_height)
    terms["feet_contact"] = ObsTerm(mdp.contact_found, params={"sensor": "feet"})
    return ObsGroupCfg(terms=terms, enable_noise=False)


def velocity_rewards() -> dict[str, RewardTerm]:
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
            mdp.feet_air_time, weight=0.25, params={"sensor": "feet", "threshold": 0.3}
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


@dataclass
class Go2VelocityFlatCfg(EnvCfg):
    scene: SceneCfg = field(default_factory=go2_scene)
    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: {"policy": policy_obs(), "critic": critic_obs()}
    )
    rewards: dict[str, RewardTerm] = field(default_factory=velocity_rewards)
    terminations: dict[str, TerminationTerm] = field(
        default_factory=lambda: {
            "time_out": TerminationTerm(mdp.time_out, time_out=True),
            "base_contact": TerminationTerm(mdp.illegal_contact, params={"sensor": "base"}),
            "bad_orientation": TerminationTerm(mdp.bad_orientation, params={"limit_angle": 1.2}),
        }
    )
    actions: JointPositionActionCfg = field(default_factory=lambda: JointPositionActionCfg(scale=0.25))
    commands: VelocityCommandCfg | None = field(default_factory=VelocityCommandCfg)
    events: dict[str, EventTerm] = field(default_factory=velocity_events)
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.004))
    num_envs: int = 512
    decimation: int = 5
    episode_length_s: float = 20.0


@dataclass
class Go2VelocityRoughCfg(Go2VelocityFlatCfg):
    scene: SceneCfg = field(default_factory=lambda: go2_scene("rough"))
    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: {
            "policy": policy_obs(height_scan=True),
            "critic": critic_obs(height_scan=True),
        }
    )
    curriculum: dict[str, CurriculumTerm] = field(
        default_factory=lambda: {"terrain_levels": CurriculumTerm(mdp.terrain_levels)}
    )

    def __post_init__(self) -> None:
        self.rewards["flat_orientation"].weight = -0.5  # slopes tilt the trunk on purpose
        self.events["reset_base"].params["pose_range"] = {
            "yaw": (-3.14, 3.14)
        }  # spawn on the tile's level pad


register_task(
    "Go2-Velocity-Flat", Go2VelocityFlatCfg, "Unitree Go2: track (vx, vy, yaw rate) commands on flat ground"
)
register_task(
    "Go2-Velocity-Rough",
    Go2VelocityRoughCfg,
    "Unitree Go2: velocity tracking on procedural rough terrain with a terrain-level curriculum and a height scan",
)
