"""Leap-Bimanual-BoxLift: two LEAP hands on actuated wrists lift a box off a table.

A multi-entity task on the shared env: the scene is five named entities composed with MjSpec (two hands, a
table, a box, a goal-height marker), with no main robot; every term names the entity it reads.

The wrists are three slide joints per hand (x, y, z in the world frame) driven by position servos, added
through `RobotEntityCfg.mount`, instead of mocap bodies: a mocap body moves by teleport and pushes a box
with unbounded force, while a servo's force is bounded by its gains and the policy drives it exactly as it
drives the fingers (one joint-position term per hand covers wrist and fingers). Gravity compensation
stands in for the arm that would hold each hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from robolearn.core import (
    ActionTermCfg,
    CommandTermCfg,
    EnvCfg,
    EventTerm,
    JointPositionActionCfg,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    SceneEntityCfg,
    SimCfg,
    TerminationTerm,
    ViewerCfg,
    mdp,
)
from robolearn.entities import BoxEntityCfg, MarkerEntityCfg, MountJointCfg, RobotEntityCfg
from robolearn.registry import register_task
from robolearn.scene import SceneCfg

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

TABLE_TOP = 0.2
BOX_HALF = 0.035
"""A 7 cm cube: it fits the 10 cm gap between the two hands' fingers at their default spacing."""
BOX_REST_Z = TABLE_TOP + BOX_HALF
LIFT_TARGET = 0.15
"""The box counts as lifted this far (m) above its resting height; the reward saturates there."""
DROP_MARGIN = 0.05
"""The episode fails once the box is this far below the table top (it fell off)."""


def wrist() -> dict[str, MountJointCfg]:
    """x, y, z slides around a hand's placement: +-10 cm along and across the table, -5..+25 cm up."""
    return {
        "wrist_x": MountJointCfg("slide", (1.0, 0.0, 0.0), (-0.1, 0.1), kp=400.0, damping=20.0),
        "wrist_y": MountJointCfg("slide", (0.0, 1.0, 0.0), (-0.1, 0.1), kp=400.0, damping=20.0),
        "wrist_z": MountJointCfg("slide", (0.0, 0.0, 1.0), (-0.05, 0.25), kp=400.0, damping=20.0),
    }


FINGERS = r"(?!wrist_).*"


def leap_scene() -> SceneCfg:
    # The menagerie models are not mirror images in their own frames (the left hand's fingers point along
    # +y, the right's along +x); these placements leave a 10 cm gap centred on the box between the fingers.
    return SceneCfg(
        robot="",
        entities={
            "left_hand": RobotEntityCfg(robot="leap_hand_left", pos=(0.0, 0.06, 0.17), mount=wrist(),
                                        gravity_compensation=True),
            "right_hand": RobotEntityCfg(robot="leap_hand", pos=(0.0, -0.15, 0.17), mount=wrist(),
                                         gravity_compensation=True),
            "table": BoxEntityCfg(half_size=(0.3, 0.4, TABLE_TOP / 2), pos=(0.0, 0.0, TABLE_TOP / 2), free=False,
                                  rgba=(0.55, 0.5, 0.45, 1.0)),
            "box": BoxEntityCfg(half_size=(BOX_HALF,) * 3, mass=0.1, pos=(0.0, 0.0, BOX_REST_Z)),
            "goal": MarkerEntityCfg(pos=(0.0, 0.0, BOX_REST_Z + LIFT_TARGET), radius=0.015),
        },
    )  # fmt: skip


LEFT, RIGHT, BOX = SceneEntityCfg("left_hand"), SceneEntityCfg("right_hand"), SceneEntityCfg("box")


# -- terms ----------------------------------------------------------------------------------------------


def box_height(env: ManagerBasedRlEnv, asset_cfg: SceneEntityCfg = BOX) -> torch.Tensor:
    """(N,) the box's height above its resting height on the table (m)."""
    return env.scene[asset_cfg.name].root_pos_w[:, 2] - env.env_origins[:, 2].to(env.sim.qpos.dtype) - BOX_REST_Z


def lift(env: ManagerBasedRlEnv, target: float = LIFT_TARGET) -> torch.Tensor:
    """Fraction of the target lift reached, in [0, 1]."""
    return (box_height(env) / target).clamp(0.0, 1.0).float()


def fingers_near_box(env: ManagerBasedRlEnv, std: float = 0.1) -> torch.Tensor:
    """exp(-d / std) of each palm's distance to the box, averaged: a shaping term that brings hands in."""
    box = env.scene["box"].root_pos_w
    d = [torch.linalg.norm(env.scene[h].body_pos_w[:, env.scene[h].find_bodies("palm")[0]] - box, dim=-1)
         for h in ("left_hand", "right_hand")]  # fmt: skip
    return (0.5 * (torch.exp(-d[0] / std) + torch.exp(-d[1] / std))).float()


def box_dropped(env: ManagerBasedRlEnv, margin: float = DROP_MARGIN) -> torch.Tensor:
    return box_height(env) < -(BOX_HALF + margin)


def box_lifted(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N,) 1 while the box is lifted to the target (the success measure)."""
    return (box_height(env) >= LIFT_TARGET).float()


def observations(noise: bool) -> ObsGroupCfg:
    hands = {
        f"{side}_joint_pos": ObsTerm(mdp.joint_pos_rel, params={"asset_cfg": SceneEntityCfg(f"{side}_hand")},
                                     noise=0.01)
        for side in ("left", "right")
    }  # fmt: skip
    vels = {
        f"{side}_joint_vel": ObsTerm(mdp.joint_vel, params={"asset_cfg": SceneEntityCfg(f"{side}_hand")},
                                     noise=0.1, scale=0.05)
        for side in ("left", "right")
    }  # fmt: skip
    return ObsGroupCfg(
        terms={
            **hands,
            **vels,
            "box_pos": ObsTerm(mdp.root_pos, params={"asset_cfg": BOX}, noise=0.005),
            "box_quat": ObsTerm(mdp.root_quat, params={"asset_cfg": BOX}),
            "last_action": ObsTerm(mdp.last_action),
        },
        enable_noise=noise,
    )


@dataclass
class LeapBimanualBoxLiftCfg(EnvCfg):
    scene: SceneCfg = field(default_factory=leap_scene)
    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: {"policy": observations(noise=True), "critic": observations(noise=False)}
    )
    actions: dict[str, ActionTermCfg] = field(
        default_factory=lambda: {
            "left_hand": JointPositionActionCfg(entity="left_hand", scale=0.1),
            "right_hand": JointPositionActionCfg(entity="right_hand", scale=0.1),
        }
    )
    commands: dict[str, CommandTermCfg] = field(default_factory=dict)
    rewards: dict[str, RewardTerm] = field(
        default_factory=lambda: {
            "lift": RewardTerm(lift, weight=5.0),
            "reach": RewardTerm(fingers_near_box, weight=1.0),
            "action_rate": RewardTerm(mdp.action_rate_l2, weight=-0.01),
        }
    )
    terminations: dict[str, TerminationTerm] = field(
        default_factory=lambda: {
            "time_out": TerminationTerm(mdp.time_out, time_out=True),
            "box_dropped": TerminationTerm(box_dropped),
        }
    )
    events: dict[str, EventTerm] = field(
        default_factory=lambda: {
            "reset_box": EventTerm(mdp.reset_entity_root, mode="reset",
                                   params={"asset_cfg": BOX, "pose_range": {"x": (-0.02, 0.02), "y": (-0.01, 0.01),
                                                                             "yaw": (-0.3, 0.3)}}),
            "reset_left": EventTerm(mdp.reset_entity_joints, mode="reset",
                                    params={"asset_cfg": SceneEntityCfg("left_hand", joint_names=FINGERS), "position_noise": 0.05}),
            "reset_right": EventTerm(mdp.reset_entity_joints, mode="reset",
                                     params={"asset_cfg": SceneEntityCfg("right_hand", joint_names=FINGERS), "position_noise": 0.05}),
        }
    )  # fmt: skip
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.005))
    num_envs: int = 64
    decimation: int = 4
    episode_length_s: float = 5.0
    base_body: str = ""
    viewer: ViewerCfg = field(default_factory=lambda: ViewerCfg(distance=0.9, elevation=-30.0, azimuth=90.0))


register_task(
    "Leap-Bimanual-BoxLift",
    LeapBimanualBoxLiftCfg,
    "Two LEAP hands on actuated wrists lift a box off a table (entities, two joint-position action terms)",
)
