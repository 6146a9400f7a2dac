"""Go2 velocity tracking on flat ground and on rough terrain with a difficulty curriculum.

Rewards and noise follow the legged_gym / Isaac Lab velocity recipe. Training uses the
menagerie `go2_mjx` model (primitive collisions, light solver), as MuJoCo Playground does;
the full model is kept for sim2sim.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from robolearn.envs.locomotion.velocity import (
    critic_obs,
    policy_obs,
    velocity_events,
    velocity_rewards,
    velocity_terminations,
)

from robolearn.env import (
    CurriculumTerm,
    EnvCfg,
    EventTerm,
    JointPositionActionCfg,
    ObsGroupCfg,
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


@dataclass
class Go2VelocityFlatCfg(EnvCfg):
    scene: SceneCfg = field(default_factory=go2_scene)
    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: {"policy": policy_obs(), "critic": critic_obs()}
    )
    rewards: dict[str, RewardTerm] = field(default_factory=velocity_rewards)
    terminations: dict[str, TerminationTerm] = field(default_factory=velocity_terminations)
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
