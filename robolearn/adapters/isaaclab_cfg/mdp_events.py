"""Isaac Lab's event and curriculum term functions on robolearn's env (see robolearn.adapters.isaaclab_cfg.mdp)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from robolearn.adapters.isaaclab_cfg.managers import SceneEntityCfg
from robolearn.adapters.isaaclab_cfg.mdp_common import ROBOT, asset, body_sel, uniform
from robolearn.core import mdp as core

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv as Env


# -- events -----------------------------------------------------------------------------------------------------


def reset_root_state_uniform(env: Env, env_ids: torch.Tensor, pose_range: dict[str, tuple[float, float]],
                             velocity_range: dict[str, tuple[float, float]],
                             asset_cfg: SceneEntityCfg = ROBOT) -> None:  # fmt: skip
    """Offsets of x, y, z and yaw from the default root pose and a uniform root velocity (roll and pitch
    offsets of `pose_range` are not drawn)."""
    core.reset_root_state(env, env_ids, pose_range, velocity_range)


def reset_joints_by_scale(env: Env, env_ids: torch.Tensor, position_range: tuple[float, float],
                          velocity_range: tuple[float, float], asset_cfg: SceneEntityCfg = ROBOT) -> None:  # fmt: skip
    # Isaac Lab scales the default velocities, which are zero: the joints start at rest.
    core.reset_joints_by_scale(env, env_ids, position_range, (0.0, 0.0))


def reset_joints_by_offset(env: Env, env_ids: torch.Tensor, position_range: tuple[float, float],
                           velocity_range: tuple[float, float], asset_cfg: SceneEntityCfg = ROBOT) -> None:  # fmt: skip
    a = asset(env, asset_cfg)
    n, j = len(env_ids), len(a.joint_names)
    q = a.default_joint_pos + uniform(env, *position_range, (n, j)).to(a.default_joint_pos)
    q = torch.clamp(q, a.soft_joint_limits[:, 0], a.soft_joint_limits[:, 1])
    a.write_joint_state(env_ids, q, uniform(env, *velocity_range, (n, j)))


def push_by_setting_velocity(env: Env, env_ids: torch.Tensor, velocity_range: dict[str, tuple[float, float]],
                             asset_cfg: SceneEntityCfg = ROBOT) -> None:  # fmt: skip
    """Add a uniform velocity (x, y, z) to the root, world frame."""
    core.push_by_setting_velocity(env, env_ids, velocity_range)


def randomize_rigid_body_material(env: Env, env_ids: torch.Tensor | None, static_friction_range: tuple[float, float],
                                  dynamic_friction_range: tuple[float, float], restitution_range: tuple[float, float],
                                  num_buckets: int, asset_cfg: SceneEntityCfg,
                                  make_consistent: bool = False) -> None:  # fmt: skip
    """MuJoCo has one sliding friction per geom: the asset's geoms get U(dynamic_friction_range) per world
    (restitution and the static coefficient have no MuJoCo counterpart)."""
    a = asset(env, asset_cfg)
    friction = env.sim.model_field("geom_friction")
    bodies = torch.as_tensor(a.body_ids, dtype=torch.long)[body_sel(asset_cfg)]
    owner = torch.as_tensor(env.scene.model.geom_bodyid, dtype=torch.long)
    geoms = torch.isin(owner, bodies).nonzero(as_tuple=True)[0]
    ids = torch.arange(env.num_envs) if env_ids is None else env_ids.cpu()
    value = uniform(env, *dynamic_friction_range, (len(ids), 1)).to(friction.device, friction.dtype)
    rows = friction[ids.to(friction.device)]
    rows[:, geoms.to(friction.device), 0] = value
    friction[ids.to(friction.device)] = rows


def randomize_rigid_body_mass(env: Env, env_ids: torch.Tensor | None, asset_cfg: SceneEntityCfg,
                              mass_distribution_params: tuple[float, float], operation: str,
                              distribution: str = "uniform", recompute_inertia: bool = True,
                              min_mass: float = 1e-6) -> None:  # fmt: skip
    """Masses of the asset's bodies added to, scaled by, or set to a draw (inertias are left as they are)."""
    a = asset(env, asset_cfg)
    mass = env.sim.model_field("body_mass")
    ids = (torch.arange(env.num_envs) if env_ids is None else env_ids.cpu()).to(mass.device)
    body_ids = torch.as_tensor(a.body_ids, dtype=torch.long)[body_sel(asset_cfg)].to(mass.device)
    base = torch.as_tensor(env.scene.model.body_mass, device=mass.device)[body_ids]
    lo, hi = mass_distribution_params
    shape = (len(ids), len(body_ids))
    if distribution == "log_uniform":
        draw = torch.exp(
            uniform(env, float(torch.log(torch.tensor(lo))), float(torch.log(torch.tensor(hi))), shape)
        )
    elif distribution == "gaussian":
        draw = lo + hi * torch.randn(shape, generator=env.rng, device=env.device, dtype=torch.float64)
    else:
        draw = uniform(env, lo, hi, shape)
    draw = draw.to(mass)
    new = {"add": base + draw, "scale": base * draw, "abs": draw}[operation].clamp(min=min_mass)
    rows = mass[ids]
    rows[:, body_ids] = new
    mass[ids] = rows
    env.sim.set_const(ids)


def randomize_rigid_body_com(env: Env, env_ids: torch.Tensor | None, com_range: dict[str, tuple[float, float]],
                             asset_cfg: SceneEntityCfg) -> None:  # fmt: skip
    """Offset the centres of mass of the asset's bodies by uniform x, y, z (body frame)."""
    a = asset(env, asset_cfg)
    ipos = env.sim.model_field("body_ipos")
    ids = (torch.arange(env.num_envs) if env_ids is None else env_ids.cpu()).to(ipos.device)
    body_ids = torch.as_tensor(a.body_ids, dtype=torch.long)[body_sel(asset_cfg)].to(ipos.device)
    base = torch.as_tensor(env.scene.model.body_ipos, device=ipos.device)[body_ids]
    offset = torch.zeros(len(ids), len(body_ids), 3, dtype=torch.float64, device=env.device)
    for k, axis in enumerate("xyz"):
        if axis in com_range:
            offset[..., k] = uniform(env, *com_range[axis], (len(ids), len(body_ids)))
    rows = ipos[ids]
    rows[:, body_ids] = (base + offset.to(base)).to(ipos)
    ipos[ids] = rows
    env.sim.set_const(ids)


def apply_external_force_torque(env: Env, env_ids: torch.Tensor, force_range: tuple[float, float],
                                torque_range: tuple[float, float], asset_cfg: SceneEntityCfg = ROBOT) -> None:  # fmt: skip
    """A constant wrench on the asset's bodies, drawn per episode (world frame, through xfrc_applied)."""
    if not any(force_range) and not any(torque_range):
        return
    a = asset(env, asset_cfg)
    body_ids = torch.as_tensor(a.body_ids, dtype=torch.long)[body_sel(asset_cfg)]
    n, b = len(env_ids), len(body_ids)
    wrench = torch.cat(
        [uniform(env, *force_range, (n, b, 3)), uniform(env, *torque_range, (n, b, 3))], dim=-1
    )
    xfrc = env.sim.xfrc_applied
    rows = xfrc[env_ids.to(xfrc.device)]
    rows[:, body_ids.to(xfrc.device)] = wrench.to(xfrc)
    xfrc[env_ids.to(xfrc.device)] = rows


# -- curricula --------------------------------------------------------------------------------------------------


def terrain_levels_vel(env: Env, env_ids: torch.Tensor, asset_cfg: SceneEntityCfg = ROBOT) -> float | None:
    return core.terrain_levels(env, env_ids)


def modify_reward_weight(
    env: Env, env_ids: torch.Tensor, term_name: str, weight: float, num_steps: int
) -> float:
    """Set reward `term_name`'s weight once `num_steps` env steps have passed."""
    manager = getattr(env, "reward_manager", None)
    if manager is not None and env.common_step_counter > num_steps and term_name in manager.terms:
        manager.terms[term_name].weight = weight
    return weight
