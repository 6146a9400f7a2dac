"""Reward terms (legged_gym / Isaac Lab conventions). Each returns (num_envs,); weights live in the config."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


@functools.lru_cache(maxsize=64)
def _constant(values: tuple[float, ...], device: torch.device) -> torch.Tensor:
    """A term's constant parameter as a tensor, built once instead of every step (never written to)."""
    return torch.tensor(values, device=device)


def _command(env: ManagerBasedRlEnv, name: str = "base_velocity") -> torch.Tensor:
    return env.command_manager.get_command(name)


def track_lin_vel_xy(env: ManagerBasedRlEnv, std: float = 0.5, command_name: str = "base_velocity") -> torch.Tensor:
    err = torch.sum(torch.square(_command(env, command_name)[:, :2] - env.robot.root_lin_vel_b[:, :2]), dim=-1)
    return torch.exp(-err / std**2)


def track_ang_vel_z(env: ManagerBasedRlEnv, std: float = 0.5, command_name: str = "base_velocity") -> torch.Tensor:
    err = torch.square(_command(env, command_name)[:, 2] - env.robot.root_ang_vel_b[:, 2])
    return torch.exp(-err / std**2)


def lin_vel_z_l2(env: ManagerBasedRlEnv) -> torch.Tensor:
    return torch.square(env.robot.root_lin_vel_b[:, 2])


def ang_vel_xy_l2(env: ManagerBasedRlEnv) -> torch.Tensor:
    return torch.sum(torch.square(env.robot.root_ang_vel_b[:, :2]), dim=-1)


def flat_orientation_l2(env: ManagerBasedRlEnv) -> torch.Tensor:
    return torch.sum(torch.square(env.robot.projected_gravity_b[:, :2]), dim=-1)


def joint_torques_l2(env: ManagerBasedRlEnv) -> torch.Tensor:
    return torch.sum(torch.square(env.sim.actuator_force), dim=-1)


def joint_acc_l2(env: ManagerBasedRlEnv) -> torch.Tensor:
    return torch.sum(torch.square(env.robot.joint_acc), dim=-1)


def action_rate_l2(env: ManagerBasedRlEnv) -> torch.Tensor:
    am = env.action_manager
    return torch.sum(torch.square(am.action - am.prev_action), dim=-1)


def joint_pos_limits(env: ManagerBasedRlEnv, soft_ratio: float = 0.9) -> torch.Tensor:
    """How far joints are past a soft band inside their hard limits (radians, summed)."""
    lim = env.robot.soft_joint_limits
    mid, half = lim.mean(-1), 0.5 * (lim[:, 1] - lim[:, 0]) * soft_ratio
    q = env.robot.joint_pos
    return torch.sum((q - (mid + half)).clamp(min=0) + ((mid - half) - q).clamp(min=0), dim=-1)


def feet_air_time(env: ManagerBasedRlEnv, sensor: str = "feet", threshold: float = 0.3,
                  command_name: str = "base_velocity") -> torch.Tensor:  # fmt: skip
    """Reward steps longer than `threshold` seconds, paid at touchdown; zero when commanded to stand."""
    state = env.term_state.setdefault("feet_air_time", {})
    rows = env.sim.sensordata[:, env.scene.contact_slices[sensor]].reshape(env.num_envs, -1, 4)
    contact = rows[..., 0] > 0
    if "air" not in state:
        state["air"] = torch.zeros(contact.shape, device=env.device)
        state["contact"] = contact.clone()
    air = state["air"]
    # Masks, not boolean indexing: the same values without a nonzero() per step when no episode starts.
    new_episode = (env.episode_length_buf == 1).unsqueeze(-1)
    air.masked_fill_(new_episode, 0.0)
    previous = torch.where(new_episode, contact, state["contact"])
    first_contact = contact & ~previous & (air > 0)
    reward = torch.sum((air - threshold) * first_contact, dim=-1)
    air[:] = torch.where(contact, torch.zeros_like(air), air + env.step_dt)
    state["contact"] = contact
    moving = torch.linalg.norm(_command(env, command_name)[:, :2], dim=-1) > 0.1
    return reward * moving


def gait_contact(env: ManagerBasedRlEnv, sensor: str = "feet", period: float = 0.5,
                 offsets: tuple[float, ...] = (0.0, 0.5, 0.5, 0.0), stance: float = 0.5,
                 command_name: str = "base_velocity") -> torch.Tensor:  # fmt: skip
    """Fraction of feet whose ground contact matches a periodic gait (the `gait_phase` clock): foot i is
    meant to stand while (t / period + offsets[i]) mod 1 < stance. The default offsets over FL, FR, RL, RR
    are a trot. Commanded to stand, every foot is meant to stand. Rewarding the timing directly gives
    PPO a stepping pattern to improve on instead of waiting for random joint noise to lift a foot."""
    moving = torch.linalg.norm(_command(env, command_name), dim=-1) > 0.1
    return gait_contact_match(env, moving, sensor, period, offsets, stance)


def gait_contact_match(env: ManagerBasedRlEnv, moving: torch.Tensor, sensor: str = "feet", period: float = 0.5,
                       offsets: tuple[float, ...] = (0.0, 0.5, 0.5, 0.0), stance: float = 0.5) -> torch.Tensor:  # fmt: skip
    """`gait_contact` for tasks that decide for themselves when the robot should step (`moving`, (N,) bool)."""
    rows = env.sim.sensordata[:, env.scene.contact_slices[sensor]].reshape(env.num_envs, -1, 4)
    contact = rows[..., 0] > 0
    t = env.episode_length_buf.to(torch.float32).unsqueeze(-1) * env.step_dt
    phase = torch.remainder(t / period + _constant(tuple(offsets), t.device), 1.0)
    want_stance = (phase < stance) | ~moving.to(t.device).unsqueeze(-1)
    return (contact == want_stance).float().mean(dim=-1)


def undesired_contacts(env: ManagerBasedRlEnv, sensor: str) -> torch.Tensor:
    rows = env.sim.sensordata[:, env.scene.contact_slices[sensor]].reshape(env.num_envs, -1, 4)
    return torch.sum(rows[..., 0] > 0, dim=-1).float()


def stand_still(env: ManagerBasedRlEnv, command_name: str = "base_velocity") -> torch.Tensor:
    """Joint deviation from the default pose while commanded to stand."""
    standing = torch.linalg.norm(_command(env, command_name), dim=-1) < 0.1
    dev = torch.sum(torch.abs(env.robot.joint_pos - env.robot.default_joint_pos), dim=-1)
    return dev * standing


def is_alive(env: ManagerBasedRlEnv) -> torch.Tensor:
    return torch.ones(env.num_envs, device=env.device)
