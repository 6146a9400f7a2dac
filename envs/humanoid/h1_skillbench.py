"""SkillBench tasks on the Unitree H1 (SkillBlender): button press, box push and reach.

Button press: walk up to a wall and touch its button.

The scene adds a wall and a button to the floor with MjSpec (a terrain kind, so the shared scene builder
is reused). The button is a flat, non-colliding disc on the wall's face: pressing is touching its centre
with either wrist point. The button position is the `button` command term (envs/humanoid/skillbench_commands.py),
drawn at reset; it moves the geom per world (`geom_pos` is a per-world model field), so one compiled model
serves every world.

The task is solved with the walking and reaching skills (`policies/skillblender.py`): its policy
observation is [button relative to each wrist (6), button relative to the pelvis (3), then the skills'
shared proprioception], and its reward is one exp-kernel term on the wrist-to-button distance, as the
authors' task rewards are. Accuracy (`button_error`) is the authors' end-of-episode wrist-to-button
distance.

Box push: push a free box onto a marker on the floor 0.5-1 m beyond it (the `box_goal` command). Two task terms (box to goal,
hands to the box's surface); accuracy (`box_error`) is the end-of-episode box-to-goal distance. The box
is the scene entity `box` (a free BoxEntityCfg), read and placed through `env.scene["box"]`.

Reach: both wrists to a sequence of waypoints (the `waypoints` command) in front of the robot, from knee to
chest height; the low
ones are out of the reaching skill's range unless the robot also squats, so the task blends reach and
squat. One task term (wrists to targets); accuracy (`reach_error`) is the mean wrist-to-target distance.

`BENCH_SKILLS` names the skills each task blends; each registers its accuracy function (TaskSpec.accuracy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mujoco
import numpy as np
import torch

from robolearn.core import (
    CommandTermCfg,
    EventTerm,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    TerminationTerm,
    ViewerCfg,
    mdp,
)
from robolearn.entities import BoxEntityCfg, EntityCfg
from robolearn.envs.humanoid.h1_skills import (
    H1SkillCfg,
    Humanoid,
    _to_heading,
    gait_clock,
    h1_skill_ppo,
    humanoid_scene,
    proprio_terms,
    skill_events,
    wrist_pos_w,
    wrist_positions,
)
from robolearn.envs.humanoid.skillbench_commands import (
    PointGoalCommandCfg,
    WristWaypointCommandCfg,
)
from robolearn.registry import register_task
from robolearn.rl import SkillBlenderCfg, ppo_fields
from robolearn.scene import SceneCfg, register_terrain
from robolearn.terrain import TerrainCfg

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

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


def button_command() -> PointGoalCommandCfg:
    """The button centre on the wall face, drawn per world at reset; the button geom is moved onto it."""
    return PointGoalCommandCfg(x=(WALL_X - 0.01, WALL_X - 0.01), y=BUTTON_Y_RANGE, z=BUTTON_Z_RANGE,
                               marker=BUTTON_GEOM)  # fmt: skip


def button_pos_w(env: ManagerBasedRlEnv, command: str = "button") -> torch.Tensor:
    """(N, 3) world position of each world's button centre."""
    return env.command_manager.get_command(command)


def button_error(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N,) distance from the nearer wrist point to the button centre (m): the task's accuracy measure."""
    dist = torch.linalg.norm(wrist_pos_w(env) - button_pos_w(env).unsqueeze(1), dim=-1)
    return dist.min(dim=-1).values


def button_pressed(env: ManagerBasedRlEnv, tolerance: float = PRESS_TOLERANCE) -> torch.Tensor:
    return button_error(env) < tolerance


def button_from_wrists(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 6) button minus each wrist point, in the pelvis heading frame."""
    return in_heading(env, button_pos_w(env), "wrists")


def button_from_pelvis(env: ManagerBasedRlEnv) -> torch.Tensor:
    return in_heading(env, button_pos_w(env), "pelvis")


def button_reach(env: ManagerBasedRlEnv, sharpness: float = 4.0) -> torch.Tensor:
    """exp(-sharpness * wrist-to-button distance): the task term, 1 on the button."""
    return torch.exp(-sharpness * button_error(env)).float()


def bench_observations(task_terms: dict[str, ObsTerm]) -> dict[str, ObsGroupCfg]:
    """A SkillBench task's groups: its own terms, then the walking skill's gait clock and the skills' shared
    proprioception (last: the blender hands each skill the suffix it was trained on, the clock to walking
    only); the critic adds the skills' privileged terms."""
    policy = ObsGroupCfg(terms={**task_terms, "gait_phase": gait_clock(), **proprio_terms()})
    critic = {
        **task_terms,
        "gait_phase": gait_clock(),
        **proprio_terms(noise=False),
        "base_lin_vel": ObsTerm(mdp.base_lin_vel),
        "base_height": ObsTerm(mdp.base_height),
        "feet_contact": ObsTerm(mdp.contact_found, params={"sensor": "feet"}),
        "wrists": ObsTerm(wrist_positions),
    }
    return {"policy": policy, "critic": ObsGroupCfg(terms=critic, enable_noise=False)}


def bench_scene(terrain_kind: str, humanoid: Humanoid | None = None, trunk: tuple[str, ...] = TRUNK,
                entities: dict[str, EntityCfg] | None = None) -> SceneCfg:  # fmt: skip
    """The humanoid, its sensors and the task's terrain kind (static scenery and goal markers, world geoms that
    the trunk-contact sensor sees), plus the task's movable objects as scene entities."""
    scene = humanoid_scene(terrain_kind, guarded=("trunk", trunk), humanoid=humanoid)
    scene.entities = dict(entities or {})
    return scene


def bench_terminations() -> dict[str, TerminationTerm]:
    return {
        "time_out": TerminationTerm(mdp.time_out, time_out=True),
        "trunk_contact": TerminationTerm(mdp.illegal_contact, params={"sensor": "trunk"}),
        "bad_orientation": TerminationTerm(mdp.bad_orientation, params={"limit_angle": 1.0}),
    }


def bench_events(**task_events: EventTerm) -> dict[str, EventTerm]:
    events = skill_events()
    # Face the scene, give or take 0.3 rad; the task's own resets (object placement) come after.
    events["reset_base"].params["pose_range"] = {"y": (-0.2, 0.2), "yaw": (-0.3, 0.3)}
    return {**events, **task_events}


@dataclass
class H1SkillBenchCfg(H1SkillCfg):
    """What the SkillBench tasks share: trunk-contact terminations and 10 s episodes."""

    terminations: dict[str, TerminationTerm] = field(default_factory=bench_terminations)
    episode_length_s: float = 10.0
    # From the robot's left, a little behind, looking ahead-right: the scene in front stays in view.
    viewer: ViewerCfg = field(
        default_factory=lambda: ViewerCfg(distance=3.0, elevation=-20.0, azimuth=-60.0, heading_relative=True)
    )


@dataclass
class H1ButtonPressCfg(H1SkillBenchCfg):
    scene: SceneCfg = field(default_factory=lambda: bench_scene(BUTTON_TERRAIN))
    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: bench_observations(
            {
                "button_from_wrists": ObsTerm(button_from_wrists),
                "button_from_pelvis": ObsTerm(button_from_pelvis),
            }
        )
    )
    rewards: dict[str, RewardTerm] = field(
        default_factory=lambda: {"button_reach": RewardTerm(button_reach, weight=5.0)}
    )
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {"button": button_command()})
    events: dict[str, EventTerm] = field(default_factory=bench_events)


# -- objects (scene entities) and goal markers (world geoms of the terrain kind) --------------------------------


def add_marker(spec: mujoco.MjSpec, geom: str, pos: list[float], radius: float = 0.1,
               rgba: tuple[float, ...] = (0.1, 0.7, 0.2, 1)) -> None:  # fmt: skip
    """A flat non-colliding disc (a goal shown in renders); a goal command moves it per world
    (`PointGoalCommandCfg.marker`)."""
    spec.worldbody.add_geom(name=geom, type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[radius, 0.001, 0], pos=pos,
                            contype=0, conaffinity=0, rgba=list(rgba))  # fmt: skip


def object_pose_w(env: ManagerBasedRlEnv, entity: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 3) position and (N, 4) quaternion of each world's object `entity` (a free entity's root)."""
    obj = env.scene[entity]
    return obj.root_pos_w.to(env.device).double(), obj.root_quat_w.to(env.device).double()


def place_object(env: ManagerBasedRlEnv, env_ids: torch.Tensor, entity: str, pos: torch.Tensor) -> None:
    """Put worlds' free object `entity` upright and at rest at `pos` (n, 3), relative to each world's origin."""
    n = len(env_ids)
    pose = torch.zeros(n, 7, dtype=torch.float64, device=env.device)
    pose[:, :3] = pos + env.env_origins[env_ids]
    pose[:, 3] = 1.0
    obj = env.scene[entity]
    obj.write_root_pose(env_ids, pose)
    obj.write_root_velocity(env_ids, torch.zeros(n, 6, dtype=torch.float64, device=env.device))


def in_heading(env: ManagerBasedRlEnv, points_w: torch.Tensor, frm: str) -> torch.Tensor:
    """Points (N, 3) relative to the wrists ("wrists": (N, 6)) or the pelvis ("pelvis": (N, 3)) in the pelvis
    heading frame: the observation every SkillBench task gives of its objects and goals."""
    if frm == "wrists":
        rel = points_w.unsqueeze(1) - wrist_pos_w(env)
        return _to_heading(env, rel).reshape(env.num_envs, 6).float()
    return _to_heading(env, points_w - env.robot.root_pos_w.to(env.device).double()).float()


def surface_distance(points_w: torch.Tensor, pos: torch.Tensor, quat: torch.Tensor,
                     half_size: tuple[float, float, float]) -> torch.Tensor:  # fmt: skip
    """(N, K) distance from points (N, K, 3) to the surface of a box at pose (pos, quat), 0 inside it."""
    from robolearn.math import quat_rotate_inverse

    k = points_w.shape[1]
    local = quat_rotate_inverse(quat.unsqueeze(1).expand(-1, k, -1), points_w - pos.unsqueeze(1))
    half = torch.tensor(half_size, dtype=local.dtype, device=local.device)
    return torch.linalg.norm((local.abs() - half).clamp(min=0.0), dim=-1)


# -- box push --------------------------------------------------------------------------------------------

BOX_TERRAIN = "skillbench_box"
BOX = "box"
"""The box entity."""
BOX_GOAL_GEOM = "skillbench/box_goal"
BOX_HALF_SIZE = (0.25, 0.25, 0.4)
"""A 0.5 x 0.5 x 0.8 m box: its top is at the H1's hand height with the arms hanging."""
BOX_MASS = 8.0
BOX_START_X = 1.0
"""Box centre ahead of the spawn point (m): its near face is 0.75 m away, a step or two."""
BOX_START_JITTER = (0.1, 0.2)
"""Half-widths of the uniform box start offset in x and y (m)."""
BOX_GOAL_OFFSET_X = (0.5, 1.0)
BOX_GOAL_OFFSET_Y = (-0.3, 0.3)
"""Goal = box start + these offsets (m): always a push away from the robot."""


def box_entity() -> BoxEntityCfg:
    """A free box resting on the floor ahead of the robot."""
    return BoxEntityCfg(pos=(BOX_START_X, 0.0, BOX_HALF_SIZE[2]), half_size=BOX_HALF_SIZE, mass=BOX_MASS,
                        rgba=(0.6, 0.45, 0.3, 1.0))  # fmt: skip


def build_box(spec: mujoco.MjSpec, cfg: TerrainCfg) -> np.ndarray | None:
    """The box task's flat goal marker (moved per world at reset); the box is an entity."""
    del cfg
    add_marker(spec, BOX_GOAL_GEOM, [BOX_START_X + np.mean(BOX_GOAL_OFFSET_X), 0.0, 0.001])
    return None


register_terrain(BOX_TERRAIN, build_box)


def box_pose_w(env: ManagerBasedRlEnv) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 3) position and (N, 4) quaternion of each world's box."""
    return object_pose_w(env, BOX)


def box_goal_xy_w(env: ManagerBasedRlEnv, command: str = "box_goal") -> torch.Tensor:
    """(N, 2) world xy of each world's box goal."""
    return env.command_manager.get_command(command)[:, :2]


def box_goal_command() -> PointGoalCommandCfg:
    """The box goal on the floor, pushed ahead of the box's start; the goal marker is moved onto it."""
    return PointGoalCommandCfg(x=BOX_GOAL_OFFSET_X, y=BOX_GOAL_OFFSET_Y, relative_to=BOX, z_fixed=0.001,
                               marker=BOX_GOAL_GEOM)  # fmt: skip


def place_box(env: ManagerBasedRlEnv, env_ids: torch.Tensor) -> None:
    """Box start jittered around its default, at rest (its goal, `box_goal`, is drawn after it)."""
    n = len(env_ids)
    u = torch.rand((n, 2), device=env.device, generator=env.rng, dtype=torch.float64)
    start = torch.stack([BOX_START_X + BOX_START_JITTER[0] * (2 * u[:, 0] - 1),
                         BOX_START_JITTER[1] * (2 * u[:, 1] - 1),
                         torch.full((n,), BOX_HALF_SIZE[2], dtype=torch.float64, device=env.device)], dim=-1)  # fmt: skip
    place_object(env, env_ids, BOX, start)


def box_error(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N,) xy distance from the box centre to its goal (m): the task's accuracy measure."""
    return torch.linalg.norm(box_pose_w(env)[0][:, :2] - box_goal_xy_w(env), dim=-1)


def wrists_to_box_surface(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 2) distance from each wrist point to the box's surface (0 on or inside it)."""
    return surface_distance(wrist_pos_w(env), *box_pose_w(env), BOX_HALF_SIZE)


def box_to_goal(env: ManagerBasedRlEnv, sharpness: float = 4.0) -> torch.Tensor:
    return torch.exp(-sharpness * box_error(env)).float()


def hands_on_box(env: ManagerBasedRlEnv, sharpness: float = 4.0) -> torch.Tensor:
    """exp(-sharpness * mean wrist-to-box-surface distance): the second task term, bringing the hands to the box."""
    return torch.exp(-sharpness * wrists_to_box_surface(env).mean(dim=-1)).float()


def box_from_pelvis(env: ManagerBasedRlEnv) -> torch.Tensor:
    return in_heading(env, box_pose_w(env)[0], "pelvis")


def box_from_wrists(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 6) box centre minus each wrist point, in the pelvis heading frame."""
    return in_heading(env, box_pose_w(env)[0], "wrists")


def goal_from_box(env: ManagerBasedRlEnv) -> torch.Tensor:
    rel = box_goal_xy_w(env) - box_pose_w(env)[0][:, :2]
    return _to_heading(env, rel).float()


@dataclass
class H1BoxPushCfg(H1SkillBenchCfg):
    scene: SceneCfg = field(default_factory=lambda: bench_scene(BOX_TERRAIN, entities={BOX: box_entity()}))
    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: bench_observations(
            {
                "box_from_wrists": ObsTerm(box_from_wrists),
                "box_from_pelvis": ObsTerm(box_from_pelvis),
                "goal_from_box": ObsTerm(goal_from_box),
            }
        )
    )
    rewards: dict[str, RewardTerm] = field(
        default_factory=lambda: {
            "box_to_goal": RewardTerm(box_to_goal, weight=5.0),
            "hands_on_box": RewardTerm(hands_on_box, weight=1.0),
        }
    )
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {"box_goal": box_goal_command()})
    events: dict[str, EventTerm] = field(
        default_factory=lambda: bench_events(place_box=EventTerm(place_box, mode="reset"))
    )


# -- reach: wrist waypoints from knee to chest height ---------------------------------------------------------

REACH_OFFSET_X = (0.0, 0.25)
REACH_OFFSET_Y = (-0.1, 0.1)
REACH_OFFSET_Z = (-0.45, 0.15)
"""Waypoint = the default wrist positions + one offset shared by both wrists (m, heading frame). Below
-0.25 m (the reaching skill's radius) the robot must also lower its pelvis."""
REACH_WAYPOINT_S = (2.6, 2.6)
"""Seconds between waypoints: four per 10 s episode, the last one 2.2 s before the end, so the
end-of-episode accuracy always measures a settled reach."""
REACH_DONE = 0.05
"""A waypoint counts as reached when both wrists are within this distance (m)."""


def _reach_targets(env: ManagerBasedRlEnv, command: str = "waypoints") -> torch.Tensor:
    """(N, 2, 3) both wrists' current waypoints, world frame."""
    return env.command_manager.get_command(command).reshape(-1, 2, 3)


def reach_error(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N,) mean distance of the two wrist points to their waypoints (m): the task's accuracy measure."""
    return torch.linalg.norm(wrist_pos_w(env) - _reach_targets(env), dim=-1).mean(dim=-1)


def waypoint_reach(env: ManagerBasedRlEnv, sharpness: float = 4.0) -> torch.Tensor:
    return torch.exp(-sharpness * reach_error(env)).float()


def targets_from_wrists(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 6) each wrist's waypoint minus the wrist point, in the pelvis heading frame."""
    return _to_heading(env, _reach_targets(env) - wrist_pos_w(env)).reshape(env.num_envs, 6).float()


def targets_from_pelvis(env: ManagerBasedRlEnv) -> torch.Tensor:
    rel = _reach_targets(env) - env.robot.root_pos_w.to(env.device).double().unsqueeze(1)
    return _to_heading(env, rel).reshape(env.num_envs, 6).float()


@dataclass
class H1ReachWaypointsCfg(H1SkillBenchCfg):
    scene: SceneCfg = field(default_factory=lambda: bench_scene("flat"))
    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: bench_observations(
            {
                "targets_from_wrists": ObsTerm(targets_from_wrists),
                "targets_from_pelvis": ObsTerm(targets_from_pelvis),
            }
        )
    )
    rewards: dict[str, RewardTerm] = field(
        default_factory=lambda: {"waypoint_reach": RewardTerm(waypoint_reach, weight=5.0)}
    )
    commands: dict[str, CommandTermCfg] = field(
        default_factory=lambda: {
            "waypoints": WristWaypointCommandCfg(
                x=REACH_OFFSET_X, y=REACH_OFFSET_Y, z=REACH_OFFSET_Z, resampling_time_s=REACH_WAYPOINT_S
            )
        }
    )
    events: dict[str, EventTerm] = field(default_factory=bench_events)


# -- registry ------------------------------------------------------------------------------------------

BENCH_SKILLS = {
    "H1-SkillBench-ButtonPress": ("H1-Skill-Walk", "H1-Skill-Reach"),
    "H1-SkillBench-BoxPush": ("H1-Skill-Walk", "H1-Skill-Reach"),
    "H1-SkillBench-Reach": ("H1-Skill-Reach", "H1-Skill-Squat"),
}
"""The skills each task blends (the authors' subsets)."""
def skillbench_blender() -> SkillBlenderCfg:
    """The blender's preset on a SkillBench task: the flat-PPO preset's settings (worlds, nets, noise, learning
    rate), so a blender and the flat-PPO baseline on the same task differ only in the actor."""
    return SkillBlenderCfg(**ppo_fields(h1_skill_ppo()))


SKILLBENCH_PRESETS = {"ppo": h1_skill_ppo, "skillblender": skillbench_blender}
"""A SkillBench task trains the flat-PPO baseline by default; the blender with --algo skillblender --skills ..."""


register_task(
    "H1-SkillBench-ButtonPress",
    H1ButtonPressCfg,
    "Unitree H1 SkillBench: walk to a wall and touch a button with a wrist (blend of walk + reach skills)",
    presets=SKILLBENCH_PRESETS,
    accuracy=button_error,
)
register_task(
    "H1-SkillBench-BoxPush",
    H1BoxPushCfg,
    "Unitree H1 SkillBench: push a box onto a floor marker (blend of walk + reach skills)",
    presets=SKILLBENCH_PRESETS,
    accuracy=box_error,
)
register_task(
    "H1-SkillBench-Reach",
    H1ReachWaypointsCfg,
    "Unitree H1 SkillBench: both wrists to waypoints from knee to chest height (blend of reach + squat skills)",
    presets=SKILLBENCH_PRESETS,
    accuracy=reach_error,
)
