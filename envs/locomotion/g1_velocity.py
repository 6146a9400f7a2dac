"""Unitree G1 (29 DoF) velocity tracking on flat ground, on the menagerie `g1_mjx` model.

The model's own position servos (kp 75-100 on legs) are kept; actions are joint-position
offsets from the `stand` keyframe. The reward set is the shared velocity recipe with a longer
biped swing time and a penalty on leaving the upright torso pose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from robolearn.core import (
    CommandTermCfg,
    RewardTerm,
    SimCfg,
    VelocityCommandCfg,
    mdp,
)
from robolearn.envs.locomotion.velocity import (
    LeggedVelocityCfg,
    velocity_rewards,
)
from robolearn.registry import register_task
from robolearn.scene import ContactSensorCfg, SceneCfg

FEET = ("left_ankle_roll_link", "right_ankle_roll_link")


def g1_scene() -> SceneCfg:
    return SceneCfg(
        robot="g1",
        fast_model=True,
        contact_sensors={
            "feet": ContactSensorCfg(bodies=FEET),
            "base": ContactSensorCfg(bodies=("pelvis", "torso_link")),
        },
    )


def g1_rewards() -> dict[str, RewardTerm]:
    rewards = velocity_rewards(air_time_threshold=0.4)
    del rewards["undesired_contacts"]
    rewards["joint_torques"].weight = -1e-5  # G1's leg torques are ~5x Go2's
    rewards["is_alive"] = RewardTerm(mdp.is_alive, weight=0.5)
    return rewards


@dataclass
class G1VelocityFlatCfg(LeggedVelocityCfg):
    scene: SceneCfg = field(default_factory=g1_scene)
    rewards: dict[str, RewardTerm] = field(default_factory=g1_rewards)
    commands: dict[str, CommandTermCfg] = field(
        default_factory=lambda: {"base_velocity": VelocityCommandCfg(
            lin_vel_x=(-0.5, 1.0), lin_vel_y=(-0.3, 0.3), ang_vel_z=(-0.5, 0.5)
        )}
    )
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.004))
    base_body: str = "pelvis"
    keyframe: str | None = "stand"
    num_envs: int = 512
    decimation: int = 5
    episode_length_s: float = 20.0


register_task("G1-Velocity-Flat", G1VelocityFlatCfg, "Unitree G1 humanoid: velocity tracking on flat ground")
