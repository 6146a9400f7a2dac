"""Observation terms: functions of the env returning (num_envs, dim) tensors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


def base_lin_vel(env: ManagerBasedRlEnv) -> torch.Tensor:
    return env.robot.root_lin_vel_b


def base_ang_vel(env: ManagerBasedRlEnv) -> torch.Tensor:
    return env.robot.root_ang_vel_b


def projected_gravity(env: ManagerBasedRlEnv) -> torch.Tensor:
    return env.robot.projected_gravity_b


def base_height(env: ManagerBasedRlEnv) -> torch.Tensor:
    return (env.robot.root_pos_w[:, 2] - env.env_origins[:, 2]).unsqueeze(-1)


def joint_pos_rel(env: ManagerBasedRlEnv) -> torch.Tensor:
    return env.robot.joint_pos - env.robot.default_joint_pos


def joint_vel(env: ManagerBasedRlEnv) -> torch.Tensor:
    return env.robot.joint_vel


def last_action(env: ManagerBasedRlEnv) -> torch.Tensor:
    return env.action_manager.action


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
