"""SkillBench object tasks on the Unitree H1 (SkillBlender): cabinet, ball kick, box lift, box carry
and object transfer. h1_skillbench.py has the shared pieces and the first three tasks.

Static scenery (tables, the cabinet body) and goal markers are world geoms of a terrain kind: the trunk-contact
sensor counts contacts with world geoms, so a trunk on a table still ends an episode. The movable objects are
scene entities: the package (BoxEntityCfg), the football and the cabinet door (ObjectEntityCfg,
assets/skillbench/), read and written through `env.scene[...]`. Goal markers are moved per world at reset. Each task's goal is a world point per world, its `goal` command term (`bench_goal`; the cabinet's is
the `door_target` angle), drawn after the object's reset event places the object; its accuracy is the end-of-episode
distance (m) from the object to that point, as the authors measure it, and its reward is one or two
exp-kernel terms. The H1 has no fingers: boxes are held between the two hands, the ball is kicked, and the
cabinet door starts ajar so a hand can get behind its free edge and swing it open.

- `H1-SkillBench-Cabinet` (walk + reach): swing a hinged door from ajar (0.3-0.5 rad) to open (1.4 rad).
  Accuracy: the arc the door's free edge still has to travel, DOOR_WIDTH x |1.4 rad - angle| (m), so every
  task reports metres.
- `H1-SkillBench-BallKick` (walk + step): kick a football onto a marker 1.5-2.5 m beyond it.
- `H1-SkillBench-BoxLift` (reach + squat): lift a package off a pedestal to a height 0.2-0.4 m higher.
- `H1-SkillBench-BoxCarry` (walk + reach): carry the package to a point 1.5-2.5 m to one side, at carry height.
- `H1-SkillBench-ObjectTransfer` (walk + reach + squat): move the package from one table onto a spot on
  another table to the robot's left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mujoco
import numpy as np
import torch

from robolearn.core import CommandTermCfg, EventTerm, ObsGroupCfg, ObsTerm, RewardTerm
from robolearn.entities import BoxEntityCfg, ObjectEntityCfg
from robolearn.envs.humanoid.h1_skillbench import (
    BENCH_SKILLS,
    SKILLBENCH_PRESETS,
    H1SkillBenchCfg,
    add_marker,
    bench_events,
    bench_observations,
    bench_scene,
    in_heading,
    object_pose_w,
    place_object,
    surface_distance,
)
from robolearn.envs.humanoid.h1_skills import _to_heading, feet_pos_w, wrist_pos_w
from robolearn.envs.humanoid.skillbench_commands import JointTargetCommandCfg, PointGoalCommandCfg
from robolearn.math import quat_rotate
from robolearn.registry import register_task
from robolearn.scene import SceneCfg, register_terrain
from robolearn.terrain import TerrainCfg

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

GOAL_MARKER = "skillbench/goal"
GOAL_COMMAND = "goal"
"""The goal point command of the object tasks (package lift / carry / transfer, ball kick)."""


def bench_goal(env: ManagerBasedRlEnv, command: str = GOAL_COMMAND) -> torch.Tensor:
    """(N, 3) each world's goal point (world frame): the task's goal command."""
    return env.command_manager.get_command(command)


def _uniform(env: ManagerBasedRlEnv, n: int, lo: float, hi: float) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, device=env.device, generator=env.rng, dtype=torch.float64)


def add_table(spec: mujoco.MjSpec, name: str, center_xy: tuple[float, float], half_xy: tuple[float, float],
              height: float) -> None:  # fmt: skip
    spec.worldbody.add_geom(name=name, type=mujoco.mjtGeom.mjGEOM_BOX, size=[*half_xy, height / 2],
                            pos=[*center_xy, height / 2], rgba=[0.55, 0.5, 0.45, 1])  # fmt: skip


# -- object terms shared by the tasks (params name the object's entity) ---------------------------------------


def object_error(env: ManagerBasedRlEnv, entity: str) -> torch.Tensor:
    """(N,) distance from the object's centre to the goal point (m)."""
    return torch.linalg.norm(object_pose_w(env, entity)[0] - bench_goal(env), dim=-1)


def object_to_goal(env: ManagerBasedRlEnv, entity: str, sharpness: float = 4.0) -> torch.Tensor:
    return torch.exp(-sharpness * object_error(env, entity)).float()


def object_from(env: ManagerBasedRlEnv, entity: str, frm: str) -> torch.Tensor:
    """The object's centre relative to the wrists (6) or the pelvis (3), pelvis heading frame."""
    return in_heading(env, object_pose_w(env, entity)[0], frm)


def goal_from_object(env: ManagerBasedRlEnv, entity: str) -> torch.Tensor:
    """(N, 3) goal point minus the object's centre, in the pelvis heading frame."""
    return _to_heading(env, bench_goal(env) - object_pose_w(env, entity)[0]).float()


def object_terms(entity: str) -> dict[str, ObsTerm]:
    return {
        "object_from_wrists": ObsTerm(object_from, params={"entity": entity, "frm": "wrists"}),
        "object_from_pelvis": ObsTerm(object_from, params={"entity": entity, "frm": "pelvis"}),
        "goal_from_object": ObsTerm(goal_from_object, params={"entity": entity}),
    }


# -- packages: lift, carry, transfer -----------------------------------------------------------------------------

PACKAGE = "package"
"""The package entity."""
PACKAGE_HALF_SIZE = (0.12, 0.15, 0.12)
"""0.24 x 0.3 x 0.24 m: narrower than the H1's default wrist spacing (0.43 m), so two hands can squeeze it."""
PACKAGE_MASS = 1.5
TABLE_HEIGHT = 0.75
TABLE_X = 0.55
TABLE_HALF = (0.2, 0.3)
PACKAGE_JITTER = 0.03
LIFT_RANGE = (0.2, 0.4)
"""Lift goal: the package centre this much above its start (m)."""
CARRY_DISTANCE = (1.5, 2.5)
CARRY_HEIGHT = 1.0
"""Carry goal: a point this high over a floor marker 1.5-2.5 m to the robot's left or right (m)."""
TRANSFER_TABLE_Y = 1.0
TRANSFER_SPOT = (0.1, 0.15)
"""Transfer goal: a spot on the second table's top within these half-widths of its centre (m)."""


def _package_rest_z() -> float:
    return TABLE_HEIGHT + PACKAGE_HALF_SIZE[2] + 0.001


def package_entity() -> BoxEntityCfg:
    """The package, a free box resting on the first table."""
    return BoxEntityCfg(pos=(TABLE_X, 0.0, _package_rest_z()), half_size=PACKAGE_HALF_SIZE, mass=PACKAGE_MASS,
                        rgba=(0.8, 0.6, 0.3, 1.0))  # fmt: skip


def build_package_scene(
    spec: mujoco.MjSpec, cfg: TerrainCfg, second_table: bool = False
) -> np.ndarray | None:
    """The tables (world geoms: the trunk-contact sensor sees them) and the goal marker; the package is an entity."""
    del cfg
    add_table(spec, "skillbench/table", (TABLE_X, 0.0), TABLE_HALF, TABLE_HEIGHT)
    if second_table:
        add_table(spec, "skillbench/table_b", (TABLE_X, TRANSFER_TABLE_Y), TABLE_HALF, TABLE_HEIGHT)
    add_marker(spec, GOAL_MARKER, [TABLE_X, 0.0, 0.001], radius=0.08)
    return None


PACKAGE_TERRAIN = "skillbench_package"
TRANSFER_TERRAIN = "skillbench_transfer"
register_terrain(PACKAGE_TERRAIN, build_package_scene)
register_terrain(TRANSFER_TERRAIN, lambda spec, cfg: build_package_scene(spec, cfg, second_table=True))


def place_package(env: ManagerBasedRlEnv, env_ids: torch.Tensor) -> None:
    """The package at rest on the first table, jittered (the task's goal command is drawn after it)."""
    n = len(env_ids)
    start = torch.stack([
        TABLE_X + _uniform(env, n, -PACKAGE_JITTER, PACKAGE_JITTER),
        _uniform(env, n, -PACKAGE_JITTER, PACKAGE_JITTER),
        torch.full((n,), _package_rest_z(), dtype=torch.float64, device=env.device),
    ], dim=-1)  # fmt: skip
    place_object(env, env_ids, PACKAGE, start)


def lift_goal() -> PointGoalCommandCfg:
    """Above the package's start (its reset event places it first), the marker at the goal."""
    return PointGoalCommandCfg(z=LIFT_RANGE, relative_to=PACKAGE, marker=GOAL_MARKER)


def carry_goal() -> PointGoalCommandCfg:
    """At carry height over a floor marker to the robot's left or right."""
    return PointGoalCommandCfg(x=(0.0, 0.5), y=CARRY_DISTANCE, either_side=True, z_fixed=CARRY_HEIGHT,
                               marker=GOAL_MARKER, marker_z=0.001)  # fmt: skip


def transfer_goal() -> PointGoalCommandCfg:
    """A spot on the second table's top, the package resting on it."""
    (hx, hy), z = TRANSFER_SPOT, _package_rest_z()
    return PointGoalCommandCfg(x=(TABLE_X - hx, TABLE_X + hx), y=(TRANSFER_TABLE_Y - hy, TRANSFER_TABLE_Y + hy),
                               z_fixed=z, marker=GOAL_MARKER, marker_z=TABLE_HEIGHT + 0.001)  # fmt: skip


def package_error(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N,) distance from the package centre to its goal point (m): lift, carry and transfer accuracy."""
    return object_error(env, PACKAGE)


def hands_on_package(env: ManagerBasedRlEnv, sharpness: float = 4.0) -> torch.Tensor:
    """exp(-sharpness * mean wrist-to-package-surface distance): the second term, hands to the package."""
    dist = surface_distance(wrist_pos_w(env), *object_pose_w(env, PACKAGE), PACKAGE_HALF_SIZE)
    return torch.exp(-sharpness * dist.mean(dim=-1)).float()


def package_rewards() -> dict[str, RewardTerm]:
    return {
        "package_to_goal": RewardTerm(object_to_goal, weight=5.0, params={"entity": PACKAGE}),
        "hands_on_package": RewardTerm(hands_on_package, weight=1.0),
    }


# -- cabinet ------------------------------------------------------------------------------------------------------

CABINET_TERRAIN = "skillbench_cabinet"
CABINET_X = 0.9
"""The cabinet's front face (m ahead of the spawn point)."""
CABINET_HALF = (0.2, 0.35, 0.65)
DOOR = "door"
"""The door entity: assets/skillbench/cabinet_door.xml, a panel on a hinge (its sizes are these constants)."""
DOOR_WIDTH = 0.56
DOOR_HALF_HEIGHT = 0.25
DOOR_THICKNESS = 0.02
DOOR_HINGE_Y = 0.3
"""The hinge is on the robot's left; the door swings out toward the robot and to its left."""
DOOR_CENTRE_Z = 1.0
DOOR_AJAR = (0.3, 0.5)
DOOR_TARGET = 1.4
"""rad: open to 80 degrees."""


def door_entity() -> ObjectEntityCfg:
    """The door, hinged on the cabinet's front face on the robot's left. The hinge line runs along the door's
    outer face (2 mm proud of the cabinet), so opening never pushes the panel into the cabinet."""
    return ObjectEntityCfg(mjcf="skillbench/cabinet_door.xml",
                           pos=(CABINET_X - 0.002 - DOOR_THICKNESS, DOOR_HINGE_Y, DOOR_CENTRE_Z))  # fmt: skip


def build_cabinet(spec: mujoco.MjSpec, cfg: TerrainCfg) -> np.ndarray | None:
    """The solid cabinet (a world geom: the trunk-contact sensor sees it); its door is an entity."""
    del cfg
    spec.worldbody.add_geom(name="skillbench/cabinet", type=mujoco.mjtGeom.mjGEOM_BOX, size=list(CABINET_HALF),
                            pos=[CABINET_X + CABINET_HALF[0], 0.0, CABINET_HALF[2]], rgba=[0.5, 0.4, 0.3, 1])  # fmt: skip
    return None


register_terrain(CABINET_TERRAIN, build_cabinet)


def door_angle(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N,) the hinge angle (rad), 0 closed."""
    return env.scene[DOOR].joint_pos[:, 0].to(env.device).double()


def door_edge_w(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 3) world position of the middle of the door's free edge (where a hand pushes it open)."""
    door = env.scene[DOOR]
    pos = door.body_pos_w[:, 0].to(env.device).double()
    quat = door.body_quat_w[:, 0].to(env.device).double()
    offset = torch.tensor([DOOR_THICKNESS / 2, -DOOR_WIDTH, 0.0], dtype=torch.float64, device=env.device)
    return pos + quat_rotate(quat, offset.expand_as(pos))


def reset_door(env: ManagerBasedRlEnv, env_ids: torch.Tensor) -> None:
    """The door ajar (DOOR_AJAR) and still."""
    n = len(env_ids)
    angle = _uniform(env, n, *DOOR_AJAR).unsqueeze(-1)
    env.scene[DOOR].write_joint_state(env_ids, angle, torch.zeros_like(angle))


def door_target(env: ManagerBasedRlEnv, command: str = "door_target") -> torch.Tensor:
    """(N,) the door's target angle (rad): the `door_target` command."""
    return env.command_manager.get_command(command)[:, 0]


def door_error(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N,) arc length (m) the door's free edge is from the open target: DOOR_WIDTH x |target - angle|."""
    return DOOR_WIDTH * (door_target(env) - door_angle(env)).abs()


def door_open(env: ManagerBasedRlEnv, sharpness: float = 4.0) -> torch.Tensor:
    return torch.exp(-sharpness * door_error(env)).float()


def hand_at_door_edge(env: ManagerBasedRlEnv, sharpness: float = 4.0) -> torch.Tensor:
    dist = torch.linalg.norm(wrist_pos_w(env) - door_edge_w(env).unsqueeze(1), dim=-1).min(dim=-1).values
    return torch.exp(-sharpness * dist).float()


def door_edge_from(env: ManagerBasedRlEnv, frm: str) -> torch.Tensor:
    return in_heading(env, door_edge_w(env), frm)


def door_state(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 1) the door's angle to go (rad)."""
    return (door_target(env) - door_angle(env)).unsqueeze(-1).float()


# -- ball kick ----------------------------------------------------------------------------------------------------

BALL_TERRAIN = "skillbench_ball"
BALL = "ball"
"""The ball entity: assets/skillbench/football.xml (its radius and mass are these constants), loose."""
BALL_RADIUS = 0.11
BALL_MASS = 0.43
"""A size-5 football."""
BALL_START_X = 0.6
BALL_JITTER = (0.05, 0.1)
KICK_DISTANCE = (1.5, 2.5)
KICK_SPREAD_Y = 0.5


def ball_entity() -> ObjectEntityCfg:
    """The football on the floor ahead of the robot, free to roll."""
    return ObjectEntityCfg(mjcf="skillbench/football.xml", free=True, pos=(BALL_START_X, 0.0, BALL_RADIUS))


def build_ball(spec: mujoco.MjSpec, cfg: TerrainCfg) -> np.ndarray | None:
    """The ball task's goal marker; the ball is an entity."""
    del cfg
    add_marker(spec, GOAL_MARKER, [BALL_START_X + 2.0, 0.0, 0.001], radius=0.2)
    return None


register_terrain(BALL_TERRAIN, build_ball)


def reset_ball(env: ManagerBasedRlEnv, env_ids: torch.Tensor) -> None:
    """The ball at rest, jittered around its start (its goal, `ball_goal`, is drawn after it)."""
    n = len(env_ids)
    start = torch.stack([BALL_START_X + _uniform(env, n, -BALL_JITTER[0], BALL_JITTER[0]),
                         _uniform(env, n, -BALL_JITTER[1], BALL_JITTER[1]),
                         torch.full((n,), BALL_RADIUS, dtype=torch.float64, device=env.device)], dim=-1)  # fmt: skip
    place_object(env, env_ids, BALL, start)


def ball_goal() -> PointGoalCommandCfg:
    """A floor spot 1.5-2.5 m beyond the ball's start."""
    return PointGoalCommandCfg(x=KICK_DISTANCE, y=(-KICK_SPREAD_Y, KICK_SPREAD_Y), relative_to=BALL,
                               marker=GOAL_MARKER, marker_z=0.001)  # fmt: skip


def ball_error(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N,) distance from the ball to the goal point on the floor (m)."""
    return object_error(env, BALL)


def foot_to_ball(env: ManagerBasedRlEnv, sharpness: float = 4.0) -> torch.Tensor:
    ball = object_pose_w(env, BALL)[0]
    dist = torch.linalg.norm(feet_pos_w(env) - ball.unsqueeze(1), dim=-1).min(dim=-1).values
    return torch.exp(-sharpness * dist).float()


# -- configs -------------------------------------------------------------------------------------------------------


@dataclass
class H1CabinetCfg(H1SkillBenchCfg):
    scene: SceneCfg = field(default_factory=lambda: bench_scene(CABINET_TERRAIN, entities={DOOR: door_entity()}))
    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: bench_observations(
            {
                "door_edge_from_wrists": ObsTerm(door_edge_from, params={"frm": "wrists"}),
                "door_edge_from_pelvis": ObsTerm(door_edge_from, params={"frm": "pelvis"}),
                "door_to_go": ObsTerm(door_state),
            }
        )  # fmt: skip
    )
    rewards: dict[str, RewardTerm] = field(
        default_factory=lambda: {
            "door_open": RewardTerm(door_open, weight=5.0),
            "hand_at_door_edge": RewardTerm(hand_at_door_edge, weight=1.0),
        }
    )
    commands: dict[str, CommandTermCfg] = field(
        default_factory=lambda: {"door_target": JointTargetCommandCfg(target=(DOOR_TARGET, DOOR_TARGET))}
    )
    events: dict[str, EventTerm] = field(
        default_factory=lambda: bench_events(reset_door=EventTerm(reset_door, mode="reset"))
    )


@dataclass
class H1BallKickCfg(H1SkillBenchCfg):
    scene: SceneCfg = field(default_factory=lambda: bench_scene(BALL_TERRAIN, entities={BALL: ball_entity()}))
    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: bench_observations(object_terms(BALL))
    )
    rewards: dict[str, RewardTerm] = field(
        default_factory=lambda: {
            # sharpness 1: the goal starts ~2 m from the ball, where exp(-4 d) would be flat zero
            "ball_to_goal": RewardTerm(
                object_to_goal, weight=5.0, params={"entity": BALL, "sharpness": 1.0}
            ),
            "foot_to_ball": RewardTerm(foot_to_ball, weight=1.0),
        }
    )
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {GOAL_COMMAND: ball_goal()})
    events: dict[str, EventTerm] = field(
        default_factory=lambda: bench_events(reset_ball=EventTerm(reset_ball, mode="reset"))
    )


@dataclass
class H1BoxLiftCfg(H1SkillBenchCfg):
    scene: SceneCfg = field(default_factory=lambda: bench_scene(PACKAGE_TERRAIN, entities={PACKAGE: package_entity()}))
    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: bench_observations(object_terms(PACKAGE))
    )
    rewards: dict[str, RewardTerm] = field(default_factory=package_rewards)
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {GOAL_COMMAND: lift_goal()})
    events: dict[str, EventTerm] = field(
        default_factory=lambda: bench_events(reset_package=EventTerm(place_package, mode="reset"))
    )


@dataclass
class H1BoxCarryCfg(H1BoxLiftCfg):
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {GOAL_COMMAND: carry_goal()})
    episode_length_s: float = 15.0


@dataclass
class H1ObjectTransferCfg(H1BoxLiftCfg):
    scene: SceneCfg = field(default_factory=lambda: bench_scene(TRANSFER_TERRAIN, entities={PACKAGE: package_entity()}))
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {GOAL_COMMAND: transfer_goal()})
    episode_length_s: float = 15.0


# -- registry -------------------------------------------------------------------------------------------------

WALK, REACH, SQUAT, STEP = "H1-Skill-Walk", "H1-Skill-Reach", "H1-Skill-Squat", "H1-Skill-Step"
TASKS: dict[str, tuple[type[H1SkillBenchCfg], tuple[str, ...], Callable[..., torch.Tensor], str]] = {
    # name: (config, skills, accuracy, description)
    "H1-SkillBench-Cabinet": (H1CabinetCfg, (WALK, REACH), door_error,
                              "swing an ajar cabinet door open to 80 degrees (walk + reach)"),
    "H1-SkillBench-BallKick": (H1BallKickCfg, (WALK, STEP), ball_error,
                               "kick a football onto a marker 1.5-2.5 m beyond it (walk + step)"),
    "H1-SkillBench-BoxLift": (H1BoxLiftCfg, (REACH, SQUAT), package_error,
                              "lift a package off a pedestal by 0.2-0.4 m between both hands (reach + squat)"),
    "H1-SkillBench-BoxCarry": (H1BoxCarryCfg, (WALK, REACH), package_error,
                               "carry a package to a point 1.5-2.5 m to one side (walk + reach)"),
    "H1-SkillBench-ObjectTransfer": (H1ObjectTransferCfg, (WALK, REACH, SQUAT), package_error,
                                     "move a package from one table onto a spot on another (walk + reach + squat)"),
}  # fmt: skip
for _name, (_cfg, _skills, _accuracy, _text) in TASKS.items():
    BENCH_SKILLS[_name] = _skills
    register_task(_name, _cfg, f"Unitree H1 SkillBench: {_text}", presets=SKILLBENCH_PRESETS, accuracy=_accuracy)
