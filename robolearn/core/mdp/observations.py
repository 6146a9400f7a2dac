"""Observation terms: functions of the env returning (num_envs, dim) tensors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from robolearn.core.entity import SceneEntityCfg
    from robolearn.core.env import ManagerBasedRlEnv


def base_lin_vel(env: ManagerBasedRlEnv) -> torch.Tensor:
    return env.robot.root_lin_vel_b


def base_ang_vel(env: ManagerBasedRlEnv) -> torch.Tensor:
    return env.robot.root_ang_vel_b


def projected_gravity(env: ManagerBasedRlEnv) -> torch.Tensor:
    return env.robot.projected_gravity_b


def base_height(env: ManagerBasedRlEnv) -> torch.Tensor:
    return (env.robot.root_pos_w[:, 2] - env.env_origins[:, 2]).unsqueeze(-1)


def joint_pos_rel(env: ManagerBasedRlEnv, asset_cfg: SceneEntityCfg | None = None) -> torch.Tensor:
    """Joint positions minus the default pose: the main robot's, or an entity's joint subset."""
    if asset_cfg is None:
        return env.robot.joint_pos - env.robot.default_joint_pos
    e = env.scene[asset_cfg.name]
    return (e.joint_pos - e.default_joint_pos)[:, asset_cfg.joint_ids]


def joint_vel(env: ManagerBasedRlEnv, asset_cfg: SceneEntityCfg | None = None) -> torch.Tensor:
    if asset_cfg is None:
        return env.robot.joint_vel
    return env.scene[asset_cfg.name].joint_vel[:, asset_cfg.joint_ids]


def root_pos(env: ManagerBasedRlEnv, asset_cfg: SceneEntityCfg) -> torch.Tensor:
    """An entity's root position relative to its world's origin (N, 3)."""
    return env.scene[asset_cfg.name].root_pos_w - env.env_origins.to(env.sim.qpos.dtype)


def root_quat(env: ManagerBasedRlEnv, asset_cfg: SceneEntityCfg) -> torch.Tensor:
    """An entity's root orientation (w, x, y, z), sign-fixed to w >= 0 so q and -q read the same (N, 4)."""
    q = env.scene[asset_cfg.name].root_quat_w
    return torch.where(q[:, :1] < 0, -q, q)


def body_pos(env: ManagerBasedRlEnv, asset_cfg: SceneEntityCfg) -> torch.Tensor:
    """World positions of an entity's bodies (its `body_names` subset) relative to the origin (N, 3B)."""
    p = env.scene[asset_cfg.name].body_pos_w[:, asset_cfg.body_ids]
    return (p - env.env_origins.to(p.dtype).unsqueeze(1)).reshape(env.num_envs, -1)


def last_action(env: ManagerBasedRlEnv, action_name: str | None = None) -> torch.Tensor:
    """The last action (all terms), or one named action term's part of it."""
    if action_name is None:
        return env.action_manager.action
    return env.action_manager.term_action(action_name)


def velocity_command(env: ManagerBasedRlEnv, command_name: str = "base_velocity") -> torch.Tensor:
    return env.command_manager.get_command(command_name)


def generated_commands(env: ManagerBasedRlEnv, command_name: str) -> torch.Tensor:
    """Any named command (a goal pose, a trajectory target, a clip reference)."""
    return env.command_manager.get_command(command_name)


def gait_phase(env: ManagerBasedRlEnv, period: float = 0.5) -> torch.Tensor:
    """(sin, cos) of a clock of `period` seconds started with the episode: the timing a gait reward asks
    for. The deploy side keeps the same clock from its own step count."""
    angle = (2.0 * torch.pi / period) * env.episode_length_buf.to(torch.float32) * env.step_dt
    return torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1)


def contact_found(env: ManagerBasedRlEnv, sensor: str) -> torch.Tensor:
    """1 where each contact of the sensor group touches the ground, else 0 (privileged)."""
    rows = env.sim.sensordata[:, env.scene.contact_slices[sensor]].reshape(env.num_envs, -1, 4)
    return (rows[..., 0] > 0).float()


def height_scan(env: ManagerBasedRlEnv, size: tuple[float, float] = (1.6, 1.0), resolution: float = 0.2,
                offset: float = 0.5) -> torch.Tensor:  # fmt: skip
    """Heights of the ground under a grid around the base (yaw-aligned), relative to the base."""
    from robolearn.core.mdp.sensors import ground_heights_grid

    return ground_heights_grid(env, size, resolution, offset)
