"""Go2 velocity tracking on flat ground and on rough terrain with a difficulty curriculum.

Rewards and noise follow the legged_gym / Isaac Lab velocity recipe plus the trot recipe of velocity.py,
which makes it learn on a 2-core CPU budget (benchmarks/train_go2.py). Training uses the
menagerie `go2_mjx` model (primitive collisions, light solver), as MuJoCo Playground does; the full
model is kept for sim2sim.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from robolearn.core import (
    CurriculumTerm,
    EventTerm,
    ObsGroupCfg,
    RewardTerm,
    SimCfg,
)
from robolearn.envs.locomotion.velocity import (
    TROT_CPU_PPO,
    LeggedVelocityCfg,
    command_curriculum,
    rough_curriculum,
    rough_events,
    rough_trot_rewards,
    trot_observations,
    trot_rewards,
)
from robolearn.registry import register_task
from robolearn.rl import PpoCfg
from robolearn.scene import ContactSensorCfg, SceneCfg
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
class Go2VelocityFlatCfg(LeggedVelocityCfg):
    scene: SceneCfg = field(default_factory=go2_scene)
    observations: dict[str, ObsGroupCfg] = field(default_factory=trot_observations)
    curriculum: dict[str, CurriculumTerm] = field(
        default_factory=lambda: {"command_levels": command_curriculum()}
    )
    # 0.005 s x 4 substeps = 50 Hz control, Isaac Lab's / legged_gym's velocity-env timing: 20% fewer
    # physics substeps per policy step than 0.004 x 5 (the go2_mjx default) for the same control rate.
    # Stable with these PD gains (no NaN resets over millions of training steps), and learning per env
    # step matched the 0.004 x 5 run.
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.005))
    num_envs: int = 512
    decimation: int = 4
    episode_length_s: float = 20.0
    rewards: dict[str, RewardTerm] = field(default_factory=trot_rewards)


def go2_flat_cpu_ppo() -> PpoCfg:
    """PPO preset for Go2-Velocity-Flat on a 2-core CPU: `PpoCfg.cpu()` with the trot recipe's settings."""
    return PpoCfg.cpu(**TROT_CPU_PPO)


@dataclass
class Go2VelocityRoughCfg(Go2VelocityFlatCfg):
    scene: SceneCfg = field(default_factory=lambda: go2_scene("rough"))
    observations: dict[str, ObsGroupCfg] = field(default_factory=lambda: trot_observations(height_scan=True))
    curriculum: dict[str, CurriculumTerm] = field(default_factory=rough_curriculum)
    # The flat task's 0.005 x 4 timing was verified on flat ground only; rough keeps 0.004 x 5.
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.004))
    decimation: int = 5
    rewards: dict[str, RewardTerm] = field(default_factory=rough_trot_rewards)
    events: dict[str, EventTerm] = field(default_factory=rough_events)


register_task(
    "Go2-Velocity-Flat",
    Go2VelocityFlatCfg,
    "Unitree Go2: track (vx, vy, yaw rate) commands on flat ground",
    presets={"ppo": go2_flat_cpu_ppo},
)
register_task(
    "Go2-Velocity-Rough",
    Go2VelocityRoughCfg,
    "Unitree Go2: velocity tracking on procedural rough terrain with a terrain-level curriculum and a height scan",
)
