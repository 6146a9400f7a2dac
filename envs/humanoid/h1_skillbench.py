"""SkillBench button press on the Unitree H1 (SkillBlender, issue 8): walk up to a wall and touch its button.

The scene adds a wall and a button to the floor with MjSpec (a terrain kind, so the shared scene builder
is reused). The button is a flat, non-colliding disc on the wall's face: pressing is touching its centre
with either wrist point, and the per-world button position is drawn at reset by moving the geom
(`geom_pos` is a per-world model field), so one compiled model serves every world.

The task is solved with the walking and reaching skills (`policies/skillblender.py`): its policy
observation is [button relative to each wrist (6), button relative to the pelvis (3), then the skills'
shared proprioception], and its reward is one exp-kernel term on the wrist-to-button distance, as the
authors' task rewards are. Accuracy (`button_error`) is the authors' end-of-episode wrist-to-button
distance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mujoco
import numpy as np
import torch
from robolearn.envs.humanoid.h1_skills import (
    FEET,
    H1_PD_GAINS,
    LEGS,
    H1SkillCfg,
    _to_heading,
    h1_skill_ppo,
    proprio_terms,
    skill_events,
    wrist_pos_w,
    wrist_positions,
)

from robolearn.env import EventTerm, ObsGroupCfg, ObsTerm, RewardTerm, TerminationTerm, mdp
from robolearn.scene import ContactSensorCfg, SceneCfg, register_terrain
from robolearn.tasks import register_task
from robolearn.terrain import TerrainCfg

if TYPE_CHECKING:
    from robolearn.env.env import ManagerBasedRlEnv

BUTTON_TERRAIN = "skillbench_button"
BUTTON_GEOM = "skillbench/button"
WALL_GEOM = "skillbench/wall"
WALL_X = 1.2
"""The wall's face (m along +x from the spawn point): out of reach from the start, so the robot must walk."""
WALL_THICKNESS = 0.1
BUTTON_RADIUS = 0.04
BUTTON_Y_RANGE = (-0.3, 0.3)
BUTTON_Z_RANGE = (0.9, 1.3)
"""Button centre on the wall face (m): lateral offset and height, around the H1's shoulder height (1.4 m)."""
PRESS_TOLERANCE = 0.05
"""A press: a wrist point within this distance of the button centre (m)."""
TRUNK = (
    "torso_link",
    "left_shoulder_roll_link",
    "left_shoulder_yaw_link",
    "right_shoulder_roll_link",
    "right_shoulder_yaw_link",
)
"""Illegal contacts here: the elbow links carry the hands, which may touch the wall and the button."""


def build_button_wall(spec: mujoco.MjSpec, cfg: TerrainCfg) -> np.ndarray | None:
    """A wall facing -x at WALL_X and a button disc on its face (moved per world at reset)."""
    del cfg
    body = spec.worldbody
    body.add_geom(name=WALL_GEOM, type=mujoco.mjtGeom.mjGEOM_BOX, size=[WALL_THICKNESS / 2, 1.5, 1.0],
                  pos=[WALL_X + WALL_THICKNESS / 2, 0.0, 1.0], rgba=[0.75, 0.72, 0.68, 1])  # fmt: skip
    # A disc protruding 1 cm from the face; it does not collide (a touch is measured, not simulated).
    mid_y, mid_z = np.mean(BUTTON_Y_RANGE), np.mean(BUTTON_Z_RANGE)
    body.add_geom(name=BUTTON_GEOM, type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[BUTTON_RADIUS, 0.01, 0],
                  pos=[WALL_X - 0.01, mid_y, mid_z], quat=[np.sqrt(0.5), 0, np.sqrt(0.5), 0],
                  contype=0, conaffinity=0, rgba=[0.85, 0.1, 0.1, 1])  # fmt: skip
    return None


register_terrain(BUTTON_TERRAIN, build_button_wall)


def _button_geom_id(env: ManagerBasedRlEnv) -> int:
    return int(env.scene.model.geom(BUTTON_GEOM).id)


def button_pos_w(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 3) world position of each world's button centre (a world-body geom: its geom_pos is its position)."""
    pos = env.sim.model_field("geom_pos")[:, _button_geom_id(env)]
    return pos.to(env.device).double() + env.env_origins


def place_button(env: ManagerBasedRlEnv, env_ids: torch.Tensor, y_range: tuple[float, float] = BUTTON_Y_RANGE,
                 z_range: tuple[float, float] = BUTTON_Z_RANGE) -> None:  # fmt: skip
    pos = env.sim.model_field("geom_pos")
    ids = env_ids.to(pos.device)
    n = len(env_ids)
    u = torch.rand((n, 2), device=env.device, generator=env.rng, dtype=torch.float64).to(pos.device)
    gid = _button_geom_id(env)
    pos[ids, gid, 1] = (y_range[0] + (y_range[1] - y_range[0]) * u[:, 0]).to(pos.dtype)
    pos[ids, gid, 2] = (z_range[0] + (z_range[1] - z_range[0]) * u[:, 1]).to(pos.dtype)


def button_error(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N,) distance from the nearer wrist point to the button centre (m): the task's accuracy measure."""
    dist = torch.linalg.norm(wrist_pos_w(env) - button_pos_w(env).unsqueeze(1), dim=-1)
    return dist.min(dim=-1).values


def button_pressed(env: ManagerBasedRlEnv, tolerance: float = PRESS_TOLERANCE) -> torch.Tensor:
    return button_error(env) < tolerance


def button_from_wrists(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 6) button minus each wrist point, in the pelvis heading frame."""
    rel = button_pos_w(env).unsqueeze(1) - wrist_pos_w(env)
    return _to_heading(env, rel).reshape(env.num_envs, 6).float()


def button_from_pelvis(env: ManagerBasedRlEnv) -> torch.Tensor:
    rel = button_pos_w(env) - env.robot.root_pos_w.to(env.device).double()
    return _to_heading(env, rel).float()


def button_reach(env: ManagerBasedRlEnv, sharpness: float = 4.0) -> torch.Tensor:
    """exp(-sharpness * wrist-to-button distance): the task term, 1 on the button."""
    return torch.exp(-sharpness * button_error(env)).float()


def button_policy_obs() -> ObsGroupCfg:
    # The skills' proprioception must come last: the blender hands that tail to every skill.
    terms = {
        "button_from_wrists": ObsTerm(button_from_wrists),
        "button_from_pelvis": ObsTerm(button_from_pelvis),
    }
    return ObsGroupCfg(terms={**terms, **proprio_terms()})


def button_critic_obs() -> ObsGroupCfg:
    terms = {
        "button_from_wrists": ObsTerm(button_from_wrists),
        "button_from_pelvis": ObsTerm(button_from_pelvis),
        **proprio_terms(noise=False),
        "base_lin_vel": ObsTerm(mdp.base_lin_vel),
        "base_height": ObsTerm(mdp.base_height),
        "feet_contact": ObsTerm(mdp.contact_found, params={"sensor": "feet"}),
        "wrists": ObsTerm(wrist_positions),
    }
    return ObsGroupCfg(terms=terms, enable_noise=False)


def button_scene() -> SceneCfg:
    return SceneCfg(
        robot="h1",
        fast_model=False,
        terrain=TerrainCfg(kind=BUTTON_TERRAIN),
        contact_sensors={
            "feet": ContactSensorCfg(bodies=FEET),
            "trunk": ContactSensorCfg(bodies=TRUNK),
            "legs": ContactSensorCfg(bodies=LEGS),
        },
        pd_gains=dict(H1_PD_GAINS),
    )


def button_events() -> dict[str, EventTerm]:
    events = skill_events(None)
    # Face the wall, give or take 0.3 rad.
    events["reset_base"].params["pose_range"] = {"y": (-0.2, 0.2), "yaw": (-0.3, 0.3)}
    events["place_button"] = EventTerm(place_button, mode="reset")
    return events


@dataclass
class H1ButtonPressCfg(H1SkillCfg):
    scene: SceneCfg = field(default_factory=button_scene)
    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: {"policy": button_policy_obs(), "critic": button_critic_obs()}
    )
    rewards: dict[str, RewardTerm] = field(
        default_factory=lambda: {"button_reach": RewardTerm(button_reach, weight=5.0)}
    )
    terminations: dict[str, TerminationTerm] = field(
        default_factory=lambda: {
            "time_out": TerminationTerm(mdp.time_out, time_out=True),
            "trunk_contact": TerminationTerm(mdp.illegal_contact, params={"sensor": "trunk"}),
            "bad_orientation": TerminationTerm(mdp.bad_orientation, params={"limit_angle": 1.0}),
        }
    )
    events: dict[str, EventTerm] = field(default_factory=button_events)
    episode_length_s: float = 10.0


BUTTON_SKILLS = ("H1-Skill-Walk", "H1-Skill-Reach")
"""The skills the authors blend for button pressing."""

register_task(
    "H1-SkillBench-ButtonPress",
    H1ButtonPressCfg,
    "Unitree H1 SkillBench: walk to a wall and touch a button with a wrist (blend of walk + reach skills)",
    train_cfg=h1_skill_ppo,  # the flat-PPO baseline; the blender trains with python -m robolearn.policies.skillblender
)
