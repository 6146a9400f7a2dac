"""Terms of the ALOHA tasks: the layout command, the reset event that places the scene from it, observation
terms with the dataset's names, and success checks. Constants of the robot and the objects live here too, so
that the task configs (aloha.py) and the demo generator (demos.py) share them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from robolearn.core import CommandTermCfg, SceneEntityCfg
from robolearn.core.commands import CommandTerm
from robolearn.math import quat_rotate_inverse

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

SIDES = ("left", "right")
ARM_JOINTS = ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate")
ACTION_DIM = 14
STATE_DIM = 14
GRIPPER_CLOSED, GRIPPER_OPEN = 0.002, 0.037
"""Gripper actuator range (finger opening target, m): 0 in a keypose maps to closed, 1 to open."""
PHYSICS_DT = 0.002
CONTROL_DT = 0.04
"""25 Hz control: half ALOHA's 50 Hz, so action chunks cover twice the time for the same length."""
CUBE_HALF = (0.08, 0.015, 0.015)
PEG_HALF = (0.08, 0.012, 0.012)
SOCKET_HALF = (0.05, 0.025, 0.025)
SOCKET_OPENING_HALF = 0.018
"""Half width of the socket's square opening (assets/aloha_socket.xml)."""
INSERTION_DEPTH = 0.02
"""The peg counts as inserted once its tip is this deep inside the socket."""
STATE_JOINTS = tuple(f"{s}/{j}" for s in SIDES for j in (*ARM_JOINTS, "left_finger"))
"""The robot joints of observation.state, in order (a gripper's opening is its left finger's position)."""
STATE_NAMES = [f"{s}/{j}" for s in SIDES for j in (*ARM_JOINTS, "gripper")]
POSE_NAMES = ("x", "y", "z", "qw", "qx", "qy", "qz")
ENV_STATE_NAMES = [*(f"obj_{p}" for p in POSE_NAMES), "target_x", "target_y"]
"""environment_state of the tasks with one object and a target marker."""
HOME = (0.0, -0.96, 1.16, 0.0, -0.3, 0.0)
"""ALOHA's neutral arm pose (menagerie keyframe `neutral_pose`); the grippers start open, not half closed."""
LAYOUT_COMMAND = "layout"


def home_joint_pos() -> dict[str, float]:
    """The pose every episode starts from, by robot joint name (both fingers of each gripper open)."""
    q = {f"{s}/{j}": v for s in SIDES for j, v in zip(ARM_JOINTS, HOME, strict=True)}
    q.update({f"{s}/{f}_finger": GRIPPER_OPEN for s in SIDES for f in SIDES})
    return q


# -- the layout: where the objects and the target are -----------------------------------------------------


@dataclass
class LayoutCommandCfg(CommandTermCfg):
    """A layout per world (object x, y, yaw, target x, y), drawn at reset within the task's ranges unless
    the caller gives the next layouts (`LayoutCommand.set_next`): demo generation and evaluation do."""

    object_xy_low: tuple[float, float] = (0.0, 0.0)
    object_xy_high: tuple[float, float] = (0.0, 0.0)
    object_yaw: float = 0.0
    target_xy_low: tuple[float, float] = (0.0, 0.0)
    target_xy_high: tuple[float, float] = (0.0, 0.0)
    resampling_time_s: tuple[float, float] = (1e9, 1e9)
    """Never during an episode: a layout is the episode's initial condition."""

    def build(self, name: str, env: ManagerBasedRlEnv) -> LayoutCommand:
        return LayoutCommand(name, self, env)


class LayoutCommand(CommandTerm):
    names = ("object_x", "object_y", "object_yaw", "target_x", "target_y")
    cfg: LayoutCommandCfg

    def __init__(self, name: str, cfg: LayoutCommandCfg, env: ManagerBasedRlEnv):
        super().__init__(name, cfg, env, 5)
        # float64 like the state: a layout given in float64 is placed exactly, as before the port.
        self.command = self.command.to(torch.float64)
        self._next: torch.Tensor | None = None

    def set_next(self, layouts: torch.Tensor) -> None:
        """Use these (num_envs, 5) layouts at the next reset instead of drawing them."""
        if tuple(layouts.shape) != (self.env.num_envs, 5):
            raise ValueError(f"layouts: expected shape ({self.env.num_envs}, 5), got {tuple(layouts.shape)}")
        self._next = layouts.to(self.command)

    def _resample(self, env_ids: torch.Tensor) -> None:
        if self._next is not None:
            self.command[env_ids] = self._next[env_ids]
            self._next = None
            return
        c, n = self.cfg, len(env_ids)
        lo, hi = (*c.object_xy_low, -c.object_yaw, *c.target_xy_low), (*c.object_xy_high, c.object_yaw, *c.target_xy_high)
        for k in range(5):
            self.command[env_ids, k] = self._uniform(n, lo[k], hi[k]).to(self.command)


def place_layout(env: ManagerBasedRlEnv, env_ids: torch.Tensor, objects: tuple[str, ...],
                 rest_z: tuple[float, ...], target: str = "", target_z: float = 0.0) -> None:  # fmt: skip
    """Reset event: the robot at home, at rest; the first object at the layout's pose (resting at `rest_z[0]`);
    a second object (the socket) unrotated at the layout's target xy; else the `target` marker there."""
    lay = env.command_manager.get_command(LAYOUT_COMMAND)[env_ids]
    robot = env.scene["robot"]
    home = home_joint_pos()
    q = torch.tensor([home[n] for n in robot.joint_names], dtype=robot.joint_pos.dtype, device=robot.joint_pos.device)
    robot.write_joint_state(env_ids, q.expand(len(env_ids), -1), torch.zeros_like(q).expand(len(env_ids), -1))
    n, yaw = len(env_ids), lay[:, 2]
    zero, one = torch.zeros_like(yaw), torch.ones_like(yaw)
    pose = torch.stack([lay[:, 0], lay[:, 1], torch.full_like(yaw, rest_z[0]),
                        torch.cos(yaw / 2), zero, zero, torch.sin(yaw / 2)], -1)  # fmt: skip
    env.scene[objects[0]].write_root_pose(env_ids, pose)
    at_target = torch.stack([lay[:, 3], lay[:, 4], torch.full_like(yaw, 0.0), one, zero, zero, zero], -1)
    if len(objects) > 1:
        at_target[:, 2] = rest_z[1]
        env.scene[objects[1]].write_root_pose(env_ids, at_target)
    elif target:
        at_target[:, 2] = target_z
        env.scene[target].write_root_pose(env_ids, at_target)
    for name in objects:
        env.scene[name].write_root_velocity(env_ids, torch.zeros(n, 6, dtype=yaw.dtype))


# -- observations (LeRobot feature names are the group names) ---------------------------------------------


def joint_pos_named(env: ManagerBasedRlEnv, joints: tuple[str, ...], asset_cfg: SceneEntityCfg) -> torch.Tensor:
    """(N, len(joints)) positions of an entity's joints in the order given (not the model's)."""
    entity = env.scene[asset_cfg.name]
    return entity.joint_pos[:, [entity.joint_names.index(j) for j in joints]]


def object_pose(env: ManagerBasedRlEnv, asset_cfg: SceneEntityCfg) -> torch.Tensor:
    """(N, 7) an object's position and quaternion (w, x, y, z) as simulated (no sign fixing)."""
    return env.scene[asset_cfg.name].root_pose_w


def target_xy(env: ManagerBasedRlEnv, asset_cfg: SceneEntityCfg) -> torch.Tensor:
    return env.scene[asset_cfg.name].root_pos_w[:, :2]


# -- success ----------------------------------------------------------------------------------------------


def cube_at_target(env: ManagerBasedRlEnv, tolerance: float = 0.03) -> torch.Tensor:
    obj = env.scene["cube"].root_pos_w
    near = torch.linalg.norm(obj[:, :2] - target_xy(env, SceneEntityCfg("target")), dim=-1) < tolerance
    resting = obj[:, 2] < CUBE_HALF[2] + 0.01  # on the table, not held above the target
    return near & resting


def peg_in_socket(env: ManagerBasedRlEnv) -> torch.Tensor:
    """The peg's tip is at least INSERTION_DEPTH inside the socket's tube (from either end)."""
    socket = env.scene["socket"]
    peg = env.scene["peg"]
    tip = peg.site_pos_w[:, peg.site_names.index("peg_tip")]
    local = quat_rotate_inverse(socket.root_quat_w, tip - socket.root_pos_w)
    inside_x = local[:, 0].abs() < SOCKET_HALF[0] - INSERTION_DEPTH
    inside_yz = (local[:, 1:].abs() < SOCKET_OPENING_HALF).all(-1)
    return inside_x & inside_yz


def gripper_pos(env: ManagerBasedRlEnv, side: str) -> torch.Tensor:
    robot = env.scene["robot"]
    return robot.site_pos_w[:, robot.site_names.index(f"{side}/gripper")]


def left_gripper_at_target(env: ManagerBasedRlEnv, height: float, tolerance: float = 0.03) -> torch.Tensor:
    xy = target_xy(env, SceneEntityCfg("target"))
    goal = torch.cat([xy, torch.full_like(xy[:, :1], height)], -1)
    return torch.linalg.norm(gripper_pos(env, "left") - goal, dim=-1) < tolerance
