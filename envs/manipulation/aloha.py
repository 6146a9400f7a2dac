"""Bimanual ALOHA tasks on a table, as manager-based tasks on the shared env (imitation learning: no rewards).

Scene: the fixed-base ALOHA (the main robot, its own names), the table (`table`: its top is the plane z = 0, so
the scene has no floor: `TerrainCfg(kind="none")`), the task's free objects (`cube`, or `peg` and `socket`)
and, with one object, a target marker (`target`). A layout command term holds each world's layout (object x,
y, yaw, target x, y); a reset event places the scene from it. Demo generation and evaluation give the layouts
(`reset_to`), drawn with `sample_layouts` from a seeded numpy generator.

Action (14): two joint-position terms (`left_arm`, `right_arm`) of absolute targets, each waist, shoulder,
elbow, forearm_roll, wrist_angle, wrist_rotate, gripper (finger opening, m): exactly MuJoCo's `ctrl`, which
MuJoCo clamps to the actuators' ranges. The gripper is in the joint-position term, not a GripperAction: the
datasets record the opening in metres, which a [-1, 1] gripper term would rescale.
Observations (groups named as the LeRobot features):
  observation.state (14)             joint positions in the same order (gripper: left finger opening, m)
  observation.environment_state      CubeTransfer and Reach (9): object position (3), quaternion wxyz (4),
                                     target xy (2); Insertion (14): peg pose (7), socket pose (7)
Cameras (`top`, `wrist_left`, `wrist_right`) are rendered on demand (`render`), never inside `step`.
Physics matches the former bespoke env bit for bit given the same actions: the action terms hold actions in
float32, so float64 expert plans execute rounded (measured, 4 expert episodes per task: observations within 2e-5
of the float64 run, identical when the old env is fed the float32 actions); camera frames are pixel-identical.
Episodes: `auto_reset=False`; `success` is a termination term (reported by `step`, no reset), `time_out` ends
the episode after `episode_s`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from robolearn.core import (
    ActionTermCfg,
    CommandTermCfg,
    EnvCfg,
    EventTerm,
    JointPositionActionCfg,
    ManagerBasedRlEnv,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    SceneEntityCfg,
    SimCfg,
    TerminationTerm,
    ViewerCfg,
    mdp,
)
from robolearn.entities import EntityCfg, ObjectEntityCfg
from robolearn.envs.manipulation.aloha_mdp import (
    ARM_JOINTS,
    CONTROL_DT,
    CUBE_HALF,
    ENV_STATE_NAMES,
    LAYOUT_COMMAND,
    PEG_HALF,
    PHYSICS_DT,
    POSE_NAMES,
    SIDES,
    SOCKET_HALF,
    STATE_JOINTS,
    LayoutCommand,
    LayoutCommandCfg,
    cube_at_target,
    joint_pos_named,
    left_gripper_at_target,
    object_pose,
    peg_in_socket,
    place_layout,
    target_xy,
)
from robolearn.gl import ensure_gl
from robolearn.scene import SceneCfg
from robolearn.terrain import TerrainCfg

CAMERAS = {"top": "table/top", "wrist_left": "wrist_cam_left", "wrist_right": "wrist_cam_right"}
"""Dataset camera key -> MuJoCo camera (the overhead one belongs to the table entity)."""


@dataclass
class AlohaTaskCfg:
    """What differs between the ALOHA tasks: objects, layout ranges, success check, episode length."""

    name: str
    description: str
    episode_s: float
    object_xy_low: tuple[float, float]
    object_xy_high: tuple[float, float]
    object_yaw: float
    """Object yaw is drawn in [-object_yaw, object_yaw] (rad)."""
    target_xy_low: tuple[float, float]
    target_xy_high: tuple[float, float]
    success: TerminationTerm
    target_z: float = 0.0
    """Height of the target frame: the marker (the reach task's goal floats above the table) or the centre
    of the second object."""
    objects: tuple[str, ...] = ("cube",)
    """Free objects (entities from assets/aloha_<name>.xml). The first is placed at the layout's object pose; a
    second one (the socket) at the layout's target xy, unrotated. One object means a target marker entity."""
    object_half_z: tuple[float, ...] = (CUBE_HALF[2],)
    """Resting height of each object's centre on the table."""

    @property
    def env_state_names(self) -> list[str]:
        if len(self.objects) == 1:
            return list(ENV_STATE_NAMES)
        return [f"{obj}_{p}" for obj in self.objects for p in POSE_NAMES]

    @property
    def episode_steps(self) -> int:
        return int(round(self.episode_s / CONTROL_DT))


TASKS: dict[str, AlohaTaskCfg] = {
    "Aloha-CubeTransfer": AlohaTaskCfg(
        name="Aloha-CubeTransfer",
        description="Left arm picks a block, hands it to the right arm in the air, right arm places it on the target",
        episode_s=7.0, object_xy_low=(-0.16, -0.06), object_xy_high=(-0.08, 0.06), object_yaw=0.35,
        target_xy_low=(0.10, -0.06), target_xy_high=(0.18, 0.06),
        success=TerminationTerm(cube_at_target, params={"tolerance": 0.03}),
    ),
    "Aloha-Insertion": AlohaTaskCfg(
        name="Aloha-Insertion",
        description="Left arm picks up a socket, right arm picks up a peg, and inserts it into the socket in the air",
        episode_s=6.0, object_xy_low=(0.10, -0.06), object_xy_high=(0.18, 0.06), object_yaw=0.2,
        target_xy_low=(-0.18, -0.06), target_xy_high=(-0.10, 0.06),
        success=TerminationTerm(peg_in_socket), target_z=SOCKET_HALF[2],
        objects=("peg", "socket"), object_half_z=(PEG_HALF[2], SOCKET_HALF[2]),
    ),
    "Aloha-CubeRelay": AlohaTaskCfg(
        name="Aloha-CubeRelay",
        description="Left arm picks a block, hands it to the right arm, takes it back and places it on the target",
        episode_s=10.5, object_xy_low=(-0.16, -0.06), object_xy_high=(-0.08, 0.06), object_yaw=0.35,
        target_xy_low=(-0.16, 0.10), target_xy_high=(-0.08, 0.14),
        success=TerminationTerm(cube_at_target, params={"tolerance": 0.03}),
    ),
    "Aloha-Reach": AlohaTaskCfg(
        name="Aloha-Reach",
        description="Left gripper reaches a target above the table (the small task used by the tests)",
        episode_s=2.0, object_xy_low=(-0.16, -0.06), object_xy_high=(-0.08, 0.06), object_yaw=0.0,
        target_xy_low=(-0.2, -0.08), target_xy_high=(-0.05, 0.08),
        success=TerminationTerm(left_gripper_at_target, params={"height": 0.12, "tolerance": 0.03}),
        target_z=0.12,
    ),
}  # fmt: skip


def task_cfg(name: str) -> AlohaTaskCfg:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown manipulation task {name!r}; valid: {', '.join(sorted(TASKS))}") from None


# -- the env config ---------------------------------------------------------------------------------------------


def aloha_scene(task: AlohaTaskCfg) -> SceneCfg:
    entities: dict[str, EntityCfg] = {"table": ObjectEntityCfg(mjcf="aloha_table.xml")}
    entities.update({name: ObjectEntityCfg(mjcf=f"aloha_{name}.xml") for name in task.objects})
    if len(task.objects) == 1:
        entities["target"] = ObjectEntityCfg(mjcf="aloha_target.xml")  # a mocap disc (the marker's own shape)
    return SceneCfg(robot="aloha", fast_model=False, terrain=TerrainCfg(kind="none"), entities=entities)


def arm_action(side: str) -> JointPositionActionCfg:
    joints = "|".join((*ARM_JOINTS, "left_finger"))
    return JointPositionActionCfg(entity="robot", joint_names=f"{side}/({joints})", scale=1.0,
                                  use_default_offset=False)  # fmt: skip


def observations(task: AlohaTaskCfg) -> dict[str, ObsGroupCfg]:
    state = {"joint_pos": ObsTerm(joint_pos_named, params={"joints": STATE_JOINTS,
                                                           "asset_cfg": SceneEntityCfg("robot")})}  # fmt: skip
    env_state = {f"{o}_pose": ObsTerm(object_pose, params={"asset_cfg": SceneEntityCfg(o)}) for o in task.objects}
    if len(task.objects) == 1:
        env_state["target_xy"] = ObsTerm(target_xy, params={"asset_cfg": SceneEntityCfg("target")})
    return {"observation.state": ObsGroupCfg(state, enable_noise=False),
            "observation.environment_state": ObsGroupCfg(env_state, enable_noise=False)}  # fmt: skip


@dataclass
class AlohaEnvCfg(EnvCfg):
    task: str = "Aloha-CubeTransfer"
    """The AlohaTaskCfg this config was built from (TASKS)."""
    auto_reset: bool = False
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=PHYSICS_DT))
    decimation: int = int(round(CONTROL_DT / PHYSICS_DT))
    num_envs: int = 16
    base_body: str = ""
    keyframe: str | None = "neutral_pose"
    """The robot's keyframe; the layout event then opens the grippers and places the objects."""
    viewer: ViewerCfg = field(default_factory=lambda: ViewerCfg(distance=1.2, elevation=-35.0, azimuth=90.0))


def aloha_env_cfg(name: str) -> AlohaEnvCfg:
    t = task_cfg(name)
    actions: dict[str, ActionTermCfg] = {f"{s}_arm": arm_action(s) for s in SIDES}
    commands: dict[str, CommandTermCfg] = {LAYOUT_COMMAND: LayoutCommandCfg(
        object_xy_low=t.object_xy_low, object_xy_high=t.object_xy_high, object_yaw=t.object_yaw,
        target_xy_low=t.target_xy_low, target_xy_high=t.target_xy_high)}  # fmt: skip
    place = EventTerm(place_layout, mode="reset", params={
        "objects": t.objects, "rest_z": t.object_half_z, "target": "target" if len(t.objects) == 1 else "",
        "target_z": t.target_z})  # fmt: skip
    terminations = {"success": dataclasses.replace(t.success, params=dict(t.success.params)),
                    "time_out": TerminationTerm(mdp.time_out, time_out=True)}  # fmt: skip
    rewards: dict[str, RewardTerm] = {}
    return AlohaEnvCfg(scene=aloha_scene(t), observations=observations(t), rewards=rewards,
                       terminations=terminations, actions=actions, commands=commands, events={"place_layout": place},
                       episode_length_s=t.episode_s, task=name)  # fmt: skip


# -- what demo generation and evaluation call -------------------------------------------------------------------


def make_env(task: str, num_envs: int = 1, seed: int = 0, backend: str = "cpu") -> ManagerBasedRlEnv:
    cfg = aloha_env_cfg(task)
    cfg = dataclasses.replace(cfg, num_envs=num_envs, seed=seed, sim=dataclasses.replace(cfg.sim, backend=backend))
    return ManagerBasedRlEnv(cfg)


def sample_layouts(task: AlohaTaskCfg, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 5) random layouts: object x, y, yaw, target x, y within the task's ranges."""
    c = task
    obj = rng.uniform(c.object_xy_low, c.object_xy_high, size=(n, 2))
    yaw = rng.uniform(-c.object_yaw, c.object_yaw, size=(n, 1)) if c.object_yaw else np.zeros((n, 1))
    tgt = rng.uniform(c.target_xy_low, c.target_xy_high, size=(n, 2))
    return np.concatenate([obj, yaw, tgt], -1)


def layout_term(env: ManagerBasedRlEnv) -> LayoutCommand:
    return env.command_manager.get_term(LAYOUT_COMMAND)


def reset_to(env: ManagerBasedRlEnv, layouts: np.ndarray | None = None) -> dict[str, torch.Tensor]:
    """Reset every world with the given (num_envs, 5) layouts (drawn by the layout term if None)."""
    if layouts is not None:
        layout_term(env).set_next(torch.as_tensor(np.asarray(layouts, dtype=float)))
    obs, _ = env.reset()
    return obs


def task_success(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(num_envs,) bool: the success termination term, evaluated on the current state."""
    term = env.cfg.terminations.get("success")
    if term is None:
        raise ValueError(f"the env has no 'success' termination term; its terminations: {list(env.cfg.terminations)}")
    return term.func(env, **term.params)


def episode_steps(env: ManagerBasedRlEnv) -> int:
    return int(env.max_episode_length)


# -- cameras ----------------------------------------------------------------------------------------------------


def render(env: ManagerBasedRlEnv, world: int, camera: str = "top", width: int = 160, height: int = 120) -> np.ndarray:
    """An RGB frame (height, width, 3) of one world from a named camera; renderers are kept per size."""
    import mujoco

    if camera not in CAMERAS:
        raise ValueError(f"unknown camera {camera!r}; valid: {', '.join(CAMERAS)}")
    state: dict[str, Any] = env.term_state.setdefault("cameras", {"renderers": {}})
    if "data" not in state:
        state["data"] = mujoco.MjData(env.scene.model)
    key = (width, height)
    if key not in state["renderers"]:
        ensure_gl()
        state["renderers"][key] = mujoco.Renderer(env.scene.model, height=height, width=width)
    renderer = state["renderers"][key]
    env.sim.world_to_mjdata(world, state["data"])
    renderer.update_scene(state["data"], camera=CAMERAS[camera])
    return renderer.render().copy()


def close_cameras(env: ManagerBasedRlEnv) -> None:
    for r in env.term_state.pop("cameras", {}).get("renderers", {}).values():
        r.close()

