"""The Panda-* tabletop tasks: objects, layout ranges, success checks, the env config.

Every task has one layout per episode (object x, y, yaw, target x, y: the ALOHA tasks' layout command,
reused), a primary object whose pose the policy observes, and a target (a marker, a second object, or
nothing). Success is a termination term evaluated on the state, as in the ALOHA tasks. Imitation tasks:
no rewards; `auto_reset=False`.
"""

from __future__ import annotations

import dataclasses
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
from robolearn.core.actions.ik import DifferentialIKActionCfg
from robolearn.entities import EntityCfg
from robolearn.envs.manipulation.aloha_mdp import (
    LAYOUT_COMMAND,
    LayoutCommandCfg,
    joint_pos_named,
    object_pose,
)
from robolearn.envs.panda.scene import (
    ARM_JOINTS,
    CONTROL_DT,
    FLANGE_SITE,
    HAND_JOINTS,
    PANDA,
    PANDA_CFG,
    PHYSICS_DT,
    cube,
    drawer,
    marker,
    panda_scene,
)
from robolearn.math import quat_rotate_inverse

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

CUBE_HALF = 0.025
BOX_HALF = (0.03, 0.05, 0.03)
"""The pushed / dragged box: 6 x 10 x 6 cm, its long side across the push."""
BLOCK_HALF = (0.04, 0.04, 0.02)
CUP_HALF = (0.025, 0.025, 0.045)
BOTTLE_HALF = (0.02, 0.02, 0.07)
DRAWER_OPEN = 0.07
"""The drawer counts as open once pulled this far (m) out of its 15 cm travel."""


@dataclass
class PandaTaskCfg:
    name: str
    description: str
    episode_s: float
    objects: dict[str, EntityCfg]
    primary: str
    """The object whose pose the layout sets and the policy observes."""
    rest_z: float
    """Height of the primary object's root on the table."""
    success: TerminationTerm
    object_xy_low: tuple[float, float] = (0.0, -0.08)
    object_xy_high: tuple[float, float] = (0.08, 0.08)
    object_yaw: float = 0.3
    target_xy_low: tuple[float, float] = (0.0, 0.0)
    target_xy_high: tuple[float, float] = (0.0, 0.0)
    target: str = ""
    """The entity placed at the layout's target xy (a marker or an object), resting at `target_z`."""
    target_z: float = 0.0
    grasp: str = "closed"
    """The hand pose a keypose's closed gripper (0) means: `closed` (a power grasp) or `hook`."""

    @property
    def object_half_z(self) -> tuple[float]:
        """The keypose `object` frame's height (demos.resolve reads this name)."""
        return (self.rest_z,)

    @property
    def episode_steps(self) -> int:
        return int(round(self.episode_s / CONTROL_DT))


# -- terms -------------------------------------------------------------------------------------------------


def place_panda_layout(env: ManagerBasedRlEnv, env_ids: torch.Tensor, primary: str, rest_z: float,
                       target: str = "", target_z: float = 0.0) -> None:  # fmt: skip
    """Reset event: the Panda at home with an open hand, at rest; the primary object at the layout's pose;
    the target entity at the layout's target xy."""
    lay = env.command_manager.get_command(LAYOUT_COMMAND)[env_ids]
    robot = env.scene[PANDA]
    q = robot.default_joint_pos.to(robot.joint_pos).expand(len(env_ids), -1)
    robot.write_joint_state(env_ids, q, torch.zeros_like(q))
    yaw, n = lay[:, 2], len(env_ids)
    zero, one = torch.zeros_like(yaw), torch.ones_like(yaw)
    pose = torch.stack([lay[:, 0], lay[:, 1], torch.full_like(yaw, rest_z),
                        torch.cos(yaw / 2), zero, zero, torch.sin(yaw / 2)], -1)  # fmt: skip
    env.scene[primary].write_root_pose(env_ids, pose)
    env.scene[primary].write_root_velocity(env_ids, torch.zeros(n, 6, dtype=yaw.dtype))
    if target:
        at = torch.stack([lay[:, 3], lay[:, 4], torch.full_like(yaw, target_z), one, zero, zero, zero], -1)
        env.scene[target].write_root_pose(env_ids, at)
        if env.scene[target].layout.free_joint is not None:
            env.scene[target].write_root_velocity(env_ids, torch.zeros(n, 6, dtype=yaw.dtype))


def target_xy(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 2) the layout's target xy relative to the world's origin (zeros for tasks without a target)."""
    return env.command_manager.get_command(LAYOUT_COMMAND)[:, 3:5].float()


def flange_pose(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 7) the flange's position (relative to the world's origin) and quaternion wxyz."""
    import mujoco
    import numpy as np

    robot = env.scene[PANDA]
    sid = robot.site_ids[robot.site_names.index(FLANGE_SITE)]
    sim = env.sim
    pos = sim.site_xpos[:, sid] - env.env_origins.to(sim.site_xpos)
    mats = sim.site_xmat[:, sid].detach().cpu().double().numpy().reshape(-1, 9)
    quat = np.zeros((len(mats), 4))
    for q, m in zip(quat, mats, strict=True):
        mujoco.mju_mat2Quat(q, m)
    return torch.cat([pos, torch.as_tensor(quat).to(pos)], -1)


def _pos(env: ManagerBasedRlEnv, name: str) -> torch.Tensor:
    return env.scene[name].root_pos_w - env.env_origins.to(env.scene[name].root_pos_w)


def near_target(env: ManagerBasedRlEnv, obj: str, tolerance: float, max_z: float) -> torch.Tensor:
    """The object rests (below `max_z`) within `tolerance` of the layout's target in xy."""
    p = _pos(env, obj)
    return (torch.linalg.norm(p[:, :2] - target_xy(env).to(p), dim=-1) < tolerance) & (p[:, 2] < max_z)


def lifted(env: ManagerBasedRlEnv, obj: str, height: float) -> torch.Tensor:
    return _pos(env, obj)[:, 2] > height


def on_top(env: ManagerBasedRlEnv, obj: str, base: str, tolerance: float, z: float) -> torch.Tensor:
    """`obj` rests on `base`: within `tolerance` of it in xy, its centre `z` above the base's (+-1 cm)."""
    a, b = _pos(env, obj), _pos(env, base)
    return (torch.linalg.norm(a[:, :2] - b[:, :2], dim=-1) < tolerance) & (
        (a[:, 2] - b[:, 2] - z).abs() < 0.01
    )


def tilt(env: ManagerBasedRlEnv, obj: str) -> torch.Tensor:
    """(N,) angle (rad) between the object's z axis and the world's."""
    q = env.scene[obj].root_quat_w
    up = torch.zeros_like(q[:, 1:])
    up[:, 2] = 1.0
    local_up = quat_rotate_inverse(q, up)
    return torch.arccos(local_up[:, 2].clamp(-1.0, 1.0))


def poured(env: ManagerBasedRlEnv, obj: str, tolerance: float, min_tilt: float) -> torch.Tensor:
    """The cup is held above the target (its centre within `tolerance` in xy, 5 cm up) and tipped past
    `min_tilt`: the contents would land in the bowl (no particles are simulated)."""
    p = _pos(env, obj)
    over = torch.linalg.norm(p[:, :2] - target_xy(env).to(p), dim=-1) < tolerance
    return over & (p[:, 2] > 0.05) & (tilt(env, obj) > min_tilt)


def knocked_over(env: ManagerBasedRlEnv, obj: str, min_tilt: float) -> torch.Tensor:
    return tilt(env, obj) > min_tilt


def pulled_back(env: ManagerBasedRlEnv, obj: str, distance: float) -> torch.Tensor:
    """The object moved at least `distance` toward the robot (-x) from its layout position."""
    start = env.command_manager.get_command(LAYOUT_COMMAND)[:, 0].to(env.scene[obj].root_pos_w)
    return (start - _pos(env, obj)[:, 0]) > distance


def drawer_open(env: ManagerBasedRlEnv, opening: float = DRAWER_OPEN) -> torch.Tensor:
    d = env.scene["drawer"]
    return d.joint_pos[:, d.joint_names.index("slide")] > opening


def success_term(func, **params) -> TerminationTerm:
    return TerminationTerm(func, params=params)


# -- the tasks ---------------------------------------------------------------------------------------------


TASKS: dict[str, PandaTaskCfg] = {
    t.name: t
    for t in [
        PandaTaskCfg(
            "Panda-PickPlace", "Pick up the cube and put it on the green target", 7.0,
            {"cube": cube(), "target": marker()}, "cube", CUBE_HALF,
            success_term(near_target, obj="cube", tolerance=0.04, max_z=CUBE_HALF + 0.01),
            target_xy_low=(0.05, 0.12), target_xy_high=(0.12, 0.2), target="target",
        ),
        PandaTaskCfg(
            "Panda-Lift", "Pick up the cube and hold it 10 cm above the table", 5.0,
            {"cube": cube()}, "cube", CUBE_HALF, success_term(lifted, obj="cube", height=0.10),
        ),
        PandaTaskCfg(
            "Panda-Push", "Push the box forward onto the green target", 6.0,
            {"box": cube(rgba=(0.2, 0.4, 0.8, 1.0), mass=0.15), "target": marker(0.04)}, "box", CUBE_HALF,
            success_term(near_target, obj="box", tolerance=0.05, max_z=0.05),
            object_xy_low=(-0.05, -0.08), object_xy_high=(0.02, 0.08), object_yaw=0.0,
            target_xy_low=(0.16, -0.02), target_xy_high=(0.2, 0.02), target="target",
        ),
        PandaTaskCfg(
            "Panda-OpenDrawer", "Pull the drawer open by its handle", 6.0,
            {"drawer": drawer()}, "drawer", 0.0, success_term(drawer_open),
            object_xy_low=(0.05, -0.06), object_xy_high=(0.12, 0.06), object_yaw=0.0, grasp="hook",
        ),
        PandaTaskCfg(
            "Panda-Stack", "Put the small cube on top of the big block", 7.0,
            {"cube": cube(), "block": cube(0.035, (0.9, 0.8, 0.2, 1.0), 0.3)}, "cube", CUBE_HALF,
            success_term(on_top, obj="cube", base="block", tolerance=0.03, z=0.035 + CUBE_HALF),
            target_xy_low=(0.05, 0.12), target_xy_high=(0.12, 0.2), target="block", target_z=0.035,
        ),
        PandaTaskCfg(
            "Panda-Pour", "Pick up the cup and pour it over the green bowl", 7.0,
            {"cup": cube(0.025, (0.9, 0.9, 0.9, 1.0), 0.06), "target": marker(0.05)}, "cup", CUBE_HALF,
            success_term(poured, obj="cup", tolerance=0.08, min_tilt=1.0),
            target_xy_low=(0.05, 0.12), target_xy_high=(0.12, 0.2), target="target",
        ),
        PandaTaskCfg(
            "Panda-KnockOver", "Knock the standing bottle over", 5.0,
            {"bottle": dataclasses.replace(cube(), half_size=BOTTLE_HALF, rgba=(0.3, 0.7, 0.3, 1.0))}, "bottle",
            BOTTLE_HALF[2], success_term(knocked_over, obj="bottle", min_tilt=1.2), object_yaw=0.0,
        ),
        PandaTaskCfg(
            "Panda-Drag", "Hook the box from behind and drag it 8 cm toward the robot", 6.0,
            {"box": cube(rgba=(0.2, 0.4, 0.8, 1.0), mass=0.15)}, "box", CUBE_HALF,
            success_term(pulled_back, obj="box", distance=0.08),
            object_xy_low=(0.06, -0.08), object_xy_high=(0.14, 0.08), object_yaw=0.0, grasp="hook",
        ),
    ]
}  # fmt: skip


def task_cfg(name: str) -> PandaTaskCfg:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown Panda task {name!r}; valid: {', '.join(sorted(TASKS))}") from None


# -- the env config ----------------------------------------------------------------------------------------


@dataclass
class PandaEnvCfg(EnvCfg):
    task: str = "Panda-PickPlace"
    auto_reset: bool = False
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=PHYSICS_DT))
    decimation: int = int(round(CONTROL_DT / PHYSICS_DT))
    num_envs: int = 4
    base_body: str = ""
    keyframe: str | None = "home"
    viewer: ViewerCfg = field(default_factory=lambda: ViewerCfg(distance=1.4, elevation=-30.0, azimuth=180.0))


def observations(t: PandaTaskCfg) -> dict[str, ObsGroupCfg]:
    state = {
        "flange_pose": ObsTerm(flange_pose),
        "hand_joints": ObsTerm(joint_pos_named, params={"joints": HAND_JOINTS, "asset_cfg": PANDA_CFG}),
    }
    env_state = {
        "object_pose": ObsTerm(object_pose, params={"asset_cfg": SceneEntityCfg(t.primary)}),
        "target_xy": ObsTerm(target_xy),
    }
    return {"observation.state": ObsGroupCfg(state, enable_noise=False),
            "observation.environment_state": ObsGroupCfg(env_state, enable_noise=False)}  # fmt: skip


def panda_env_cfg(name: str) -> PandaEnvCfg:
    t = task_cfg(name)
    actions: dict[str, ActionTermCfg] = {
        "ee": DifferentialIKActionCfg(entity=PANDA, joint_names="|".join(ARM_JOINTS), site=FLANGE_SITE,
                                      mode="absolute", position_cost=1.0, orientation_cost=0.3),
        "hand": JointPositionActionCfg(entity=PANDA, joint_names="|".join(HAND_JOINTS), scale=1.0,
                                       use_default_offset=False),
    }  # fmt: skip
    commands: dict[str, CommandTermCfg] = {LAYOUT_COMMAND: LayoutCommandCfg(
        object_xy_low=t.object_xy_low, object_xy_high=t.object_xy_high, object_yaw=t.object_yaw,
        target_xy_low=t.target_xy_low, target_xy_high=t.target_xy_high)}  # fmt: skip
    place = EventTerm(place_panda_layout, mode="reset",
                      params={"primary": t.primary, "rest_z": t.rest_z, "target": t.target, "target_z": t.target_z})  # fmt: skip
    terminations = {"success": dataclasses.replace(t.success, params=dict(t.success.params)),
                    "time_out": TerminationTerm(mdp.time_out, time_out=True)}  # fmt: skip
    rewards: dict[str, RewardTerm] = {}
    return PandaEnvCfg(scene=panda_scene(t.objects), observations=observations(t), rewards=rewards,
                       terminations=terminations, actions=actions, commands=commands, events={"place_layout": place},
                       episode_length_s=t.episode_s, task=name)  # fmt: skip

