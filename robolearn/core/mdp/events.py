"""Event terms: randomization at startup, at reset and at intervals. Signature: (env, env_ids, **params)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from robolearn.math import quat_mul, yaw_quat

if TYPE_CHECKING:
    from robolearn.core.entity import SceneEntityCfg
    from robolearn.core.env import ManagerBasedRlEnv


def _uniform(env: ManagerBasedRlEnv, lo: float, hi: float, shape: tuple[int, ...]) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(shape, device=env.device, generator=env.rng, dtype=torch.float64)


def randomize_friction(
    env: ManagerBasedRlEnv, env_ids: torch.Tensor, friction_range: tuple[float, float]
) -> None:
    """Scale sliding friction of every geom of a world by one factor (robot and ground alike)."""
    friction = env.sim.model_field("geom_friction")
    base = torch.as_tensor(env.scene.model.geom_friction[:, 0], device=friction.device)
    scale = _uniform(env, *friction_range, (len(env_ids), 1)).to(friction.device)
    friction[env_ids.to(friction.device), :, 0] = (base * scale).to(friction.dtype)


def add_base_mass(env: ManagerBasedRlEnv, env_ids: torch.Tensor, mass_range: tuple[float, float]) -> None:
    mass = env.sim.model_field("body_mass")
    base = float(env.scene.model.body_mass[env.robot.base_id])
    ids = env_ids.to(mass.device)
    mass[ids, env.robot.base_id] = base + _uniform(env, *mass_range, (len(env_ids),)).to(mass)
    env.sim.set_const(ids)


def reset_root_state(env: ManagerBasedRlEnv, env_ids: torch.Tensor, pose_range: dict[str, tuple[float, float]],
                     velocity_range: dict[str, tuple[float, float]]) -> None:  # fmt: skip
    """Offset the base position and yaw, and set a random base velocity (world frame)."""
    n = len(env_ids)
    ids = env_ids.to(env.sim.device)
    qpos, qvel = env.sim.qpos, env.sim.qvel
    for axis, k in (("x", 0), ("y", 1), ("z", 2)):
        if axis in pose_range:
            qpos[ids, k] += _uniform(env, *pose_range[axis], (n,)).to(qpos)
    if "yaw" in pose_range:
        q = quat_mul(
            yaw_quat(_uniform(env, *pose_range["yaw"], (n,))), env.robot.default_root_quat.expand(n, 4)
        )
        qpos[ids, 3:7] = q.to(qpos)
    for k, axis in enumerate(("x", "y", "z", "roll", "pitch", "yaw")):
        if axis in velocity_range:
            qvel[ids, k] = _uniform(env, *velocity_range[axis], (n,)).to(qvel)


def reset_joints_by_scale(env: ManagerBasedRlEnv, env_ids: torch.Tensor, position_range: tuple[float, float],
                          velocity_range: tuple[float, float] = (0.0, 0.0)) -> None:  # fmt: skip
    """Joint positions = default * U(position_range), clipped to limits; velocities uniform."""
    robot = env.robot
    n, j = len(env_ids), len(robot.joint_names)
    ids = env_ids.to(env.sim.device)
    q = robot.default_joint_pos * _uniform(env, *position_range, (n, j))
    q = torch.clamp(q, robot.soft_joint_limits[:, 0], robot.soft_joint_limits[:, 1])
    qpos_rows = env.sim.qpos[ids]
    qpos_rows[:, robot._q] = q.to(qpos_rows.dtype)
    env.sim.qpos[ids] = qpos_rows
    qvel_rows = env.sim.qvel[ids]
    qvel_rows[:, robot._v] = _uniform(env, *velocity_range, (n, j)).to(qvel_rows.dtype)
    env.sim.qvel[ids] = qvel_rows


def push_by_setting_velocity(env: ManagerBasedRlEnv, env_ids: torch.Tensor,
                             velocity_range: dict[str, tuple[float, float]]) -> None:  # fmt: skip
    """A push: add a random velocity to the base (world frame), as legged_gym does."""
    ids = env_ids.to(env.sim.device)
    for k, axis in enumerate(("x", "y", "z")):
        if axis in velocity_range:
            env.sim.qvel[ids, k] += _uniform(env, *velocity_range[axis], (len(env_ids),)).to(
                env.sim.qvel.dtype
            )


def reset_entity_root(env: ManagerBasedRlEnv, env_ids: torch.Tensor, asset_cfg: SceneEntityCfg,
                      pose_range: dict[str, tuple[float, float]]) -> None:  # fmt: skip
    """Offset an entity's root (a free object, a marker) from its default pose by uniform x, y, z and yaw."""
    entity = env.scene[asset_cfg.name]
    n = len(env_ids)
    pos = entity.default_root_pos.expand(n, 3).clone() + env.env_origins[env_ids].to(entity.default_root_pos)
    for axis, k in (("x", 0), ("y", 1), ("z", 2)):
        if axis in pose_range:
            pos[:, k] += _uniform(env, *pose_range[axis], (n,)).to(pos)
    quat = entity.default_root_quat.expand(n, 4)
    if "yaw" in pose_range:
        quat = quat_mul(yaw_quat(_uniform(env, *pose_range["yaw"], (n,))), quat.to(torch.float64))
    entity.write_root_pose(env_ids, torch.cat([pos, quat.to(pos)], dim=-1))
    if not entity.fixed_base:
        entity.write_root_velocity(env_ids, torch.zeros(n, 6, dtype=pos.dtype, device=pos.device))


def reset_entity_joints(env: ManagerBasedRlEnv, env_ids: torch.Tensor, asset_cfg: SceneEntityCfg,
                        position_noise: float = 0.0) -> None:  # fmt: skip
    """An entity's joints at their defaults plus uniform noise (clipped to the limits), at rest."""
    entity = env.scene[asset_cfg.name]
    ids = asset_cfg.joint_ids
    q = entity.default_joint_pos[ids].expand(len(env_ids), -1).clone()
    if position_noise:
        q += _uniform(env, -position_noise, position_noise, tuple(q.shape)).to(q)
    lim = entity.soft_joint_limits[ids]
    q = torch.clamp(q, lim[:, 0], lim[:, 1])
    cols = None if isinstance(ids, slice) else list(ids)
    entity.write_joint_state(env_ids, q, torch.zeros_like(q), cols)
