"""Isaac Lab's `mdp` term functions under their names and signatures, computed on robolearn's env.

Each function takes Isaac Lab's parameters (`asset_cfg`, `sensor_cfg`, `command_name`, `std`, `threshold`,
...) and computes the quantity Isaac Lab's does (`isaaclab.envs.mdp` and the velocity task's
`isaaclab_tasks...velocity.mdp`, 3.0) from robolearn's batched MuJoCo state. `COVERED` lists them; the
conversion refuses any other function by name. Where MuJoCo has no exact counterpart the docstring says what
is computed instead (e.g. one friction coefficient per geom for PhysX's static/dynamic pair).

A contact sensor parameter arrives as a `SensorRef` naming the robolearn contact-sensor group the conversion
built for that term's body subset; a height scanner's carries its grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from robolearn.adapters.isaaclab_cfg.commands import UniformVelocityCommandCfg
from robolearn.adapters.isaaclab_cfg.configclass import configclass
from robolearn.adapters.isaaclab_cfg.managers import ActionTermCfg, SceneEntityCfg
from robolearn.core import mdp as core
from robolearn.math import quat_rotate, quat_rotate_inverse, yaw_from_quat, yaw_quat

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv as Env

_ROBOT = SceneEntityCfg("robot")


@dataclass
class SensorRef:
    """A converted `sensor_cfg`: the Isaac Lab sensor's name, and what robolearn reads for it."""

    name: str
    group: str = ""
    """The contact-sensor group (robolearn.scene.ContactSensorCfg) holding the term's bodies."""
    size: tuple[float, float] = (1.6, 1.0)
    resolution: float = 0.1
    """A height scanner's grid (m)."""


@configclass
class JointPositionActionCfg(ActionTermCfg):
    joint_names: list[str] = [".*"]
    scale: float | dict[str, float] = 1.0
    offset: float | dict[str, float] = 0.0
    use_default_offset: bool = True
    preserve_order: bool = False


# -- helpers ----------------------------------------------------------------------------------------------------


def _asset(env: Env, cfg: Any) -> Any:
    if cfg is None or cfg.name == "robot":
        return env.robot
    entity = env.scene[cfg.name]
    entity.update()
    return entity


def _joints(cfg: Any) -> Any:
    return getattr(cfg, "joint_ids", slice(None))


def _contacts(env: Env, sensor_cfg: SensorRef) -> torch.Tensor:
    """(N, bodies, 4) rows of (found, fx, fy, fz) of the term's contact group."""
    return env.sim.sensordata[:, env.scene.contact_slices[sensor_cfg.group]].reshape(env.num_envs, -1, 4)


def _uniform(env: Env, lo: float, hi: float, shape: tuple[int, ...]) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(shape, device=env.device, generator=env.rng, dtype=torch.float64)


# -- observations -----------------------------------------------------------------------------------------------


def base_lin_vel(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    return _asset(env, asset_cfg).root_lin_vel_b


def base_ang_vel(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    return _asset(env, asset_cfg).root_ang_vel_b


def projected_gravity(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    return _asset(env, asset_cfg).projected_gravity_b


def base_pos_z(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    return _asset(env, asset_cfg).root_pos_w[:, 2:3]


def root_pos_w(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    """Root position relative to the world's origin (Isaac Lab subtracts the env origin too)."""
    a = _asset(env, asset_cfg)
    return a.root_pos_w - env.env_origins.to(a.root_pos_w)


def root_quat_w(env: Env, make_quat_unique: bool = False, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    q = _asset(env, asset_cfg).root_quat_w
    return torch.where(q[:, :1] < 0, -q, q) if make_quat_unique else q


def root_lin_vel_w(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    a = _asset(env, asset_cfg)
    return quat_rotate(a.root_quat_w, a.root_lin_vel_b)


def root_ang_vel_w(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    a = _asset(env, asset_cfg)
    return quat_rotate(a.root_quat_w, a.root_ang_vel_b)


def current_time_s(env: Env) -> torch.Tensor:
    return (env.episode_length_buf.to(torch.float32) * env.step_dt).unsqueeze(1)


def remaining_time_s(env: Env) -> torch.Tensor:
    return env.max_episode_length * env.step_dt - current_time_s(env)


def generated_commands(env: Env, command_name: str | None = None) -> torch.Tensor:
    return env.command_manager.get_command(command_name or "base_velocity")


def joint_pos(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    return _asset(env, asset_cfg).joint_pos[:, _joints(asset_cfg)]


def joint_pos_rel(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    a = _asset(env, asset_cfg)
    return (a.joint_pos - a.default_joint_pos)[:, _joints(asset_cfg)]


def joint_vel(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    return _asset(env, asset_cfg).joint_vel[:, _joints(asset_cfg)]


def joint_effort(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    """The actuators' forces on the joints (MuJoCo's actuator_force: after force limits)."""
    a = _asset(env, asset_cfg)
    return env.sim.actuator_force[:, a._ctrl][:, _joints(asset_cfg)]


def joint_vel_rel(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    """Joint velocities minus the default ones, which are zero in every robolearn robot."""
    return joint_vel(env, asset_cfg)


def last_action(env: Env, action_name: str | None = None) -> torch.Tensor:
    return core.last_action(env, action_name)


def height_scan(env: Env, sensor_cfg: SensorRef, offset: float = 0.5) -> torch.Tensor:
    """Base height above the ground under the scanner's yaw-aligned grid, minus `offset`, within [-1, 1]."""
    return core.height_scan(env, tuple(sensor_cfg.size), sensor_cfg.resolution, offset)  # type: ignore[arg-type]


# -- rewards ----------------------------------------------------------------------------------------------------


def track_lin_vel_xy_exp(
    env: Env, std: float, command_name: str, asset_cfg: SceneEntityCfg = _ROBOT
) -> torch.Tensor:
    v = _asset(env, asset_cfg).root_lin_vel_b[:, :2]
    err = torch.sum(torch.square(env.command_manager.get_command(command_name)[:, :2] - v), dim=1)
    return torch.exp(-err / std**2)


def track_ang_vel_z_exp(
    env: Env, std: float, command_name: str, asset_cfg: SceneEntityCfg = _ROBOT
) -> torch.Tensor:
    w = _asset(env, asset_cfg).root_ang_vel_b[:, 2]
    err = torch.square(env.command_manager.get_command(command_name)[:, 2] - w)
    return torch.exp(-err / std**2)


def track_lin_vel_xy_yaw_frame_exp(env: Env, std: float, command_name: str,
                                   asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:  # fmt: skip
    """Linear velocity in the base's yaw frame (not tilted with the trunk) against the command."""
    a = _asset(env, asset_cfg)
    v_world = quat_rotate(a.root_quat_w, a.root_lin_vel_b)
    v_yaw = quat_rotate_inverse(yaw_quat(yaw_from_quat(a.root_quat_w)).to(v_world), v_world)
    err = torch.sum(torch.square(env.command_manager.get_command(command_name)[:, :2] - v_yaw[:, :2]), dim=1)
    return torch.exp(-err / std**2)


def track_ang_vel_z_world_exp(env: Env, command_name: str, std: float,
                              asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:  # fmt: skip
    a = _asset(env, asset_cfg)
    wz = quat_rotate(a.root_quat_w, a.root_ang_vel_b)[:, 2]
    return torch.exp(-torch.square(env.command_manager.get_command(command_name)[:, 2] - wz) / std**2)


def lin_vel_z_l2(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    return torch.square(_asset(env, asset_cfg).root_lin_vel_b[:, 2])


def ang_vel_xy_l2(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    return torch.sum(torch.square(_asset(env, asset_cfg).root_ang_vel_b[:, :2]), dim=1)


def flat_orientation_l2(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    return torch.sum(torch.square(_asset(env, asset_cfg).projected_gravity_b[:, :2]), dim=1)


def base_height_l2(env: Env, target_height: float, asset_cfg: SceneEntityCfg = _ROBOT,
                   sensor_cfg: SensorRef | None = None) -> torch.Tensor:  # fmt: skip
    """(base height - target)^2; over the scanner's mean ground height when a scanner is named, else over z = 0.
    The scanned height is clipped at 1 m (robolearn's height scan), enough for a quadruped's base."""
    a = _asset(env, asset_cfg)
    if sensor_cfg is None:
        height = a.root_pos_w[:, 2] - env.env_origins[:, 2].to(a.root_pos_w)
    else:
        height = core.height_scan(env, tuple(sensor_cfg.size), sensor_cfg.resolution, 0.0).mean(dim=1)  # type: ignore[arg-type]
    return torch.square(height.to(torch.float32) - target_height)


def joint_torques_l2(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    a = _asset(env, asset_cfg)
    return torch.sum(torch.square(env.sim.actuator_force[:, a._ctrl][:, _joints(asset_cfg)]), dim=1)


def joint_acc_l2(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    return torch.sum(torch.square(_asset(env, asset_cfg).joint_acc[:, _joints(asset_cfg)]), dim=1)


def joint_vel_l2(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    return torch.sum(torch.square(joint_vel(env, asset_cfg)), dim=1)


def joint_vel_l1(env: Env, asset_cfg: SceneEntityCfg) -> torch.Tensor:
    return torch.sum(torch.abs(joint_vel(env, asset_cfg)), dim=1)


def joint_deviation_l1(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    return torch.sum(torch.abs(joint_pos_rel(env, asset_cfg)), dim=1)


def joint_pos_limits(env: Env, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    """Radians past the joint limits (the model's ranges: Isaac Lab's soft-limit factor is not applied)."""
    a, ids = _asset(env, asset_cfg), _joints(asset_cfg)
    q, lim = a.joint_pos[:, ids], a.soft_joint_limits[ids]
    return torch.sum((lim[:, 0] - q).clamp(min=0) + (q - lim[:, 1]).clamp(min=0), dim=1)


def action_rate_l2(env: Env) -> torch.Tensor:
    return core.action_rate_l2(env)


def action_l2(env: Env) -> torch.Tensor:
    return torch.sum(torch.square(env.action_manager.action), dim=1)


def is_alive(env: Env) -> torch.Tensor:
    return core.is_alive(env)


def feet_air_time(env: Env, command_name: str, sensor_cfg: SensorRef, threshold: float) -> torch.Tensor:
    """Seconds of air time beyond `threshold`, paid at touchdown, zero when commanded to stand."""
    return core.feet_air_time(env, sensor=sensor_cfg.group, threshold=threshold, command_name=command_name)


def undesired_contacts(env: Env, threshold: float, sensor_cfg: SensorRef) -> torch.Tensor:
    """Bodies of the group whose contact force exceeds `threshold` (N)."""
    force = torch.linalg.norm(_contacts(env, sensor_cfg)[..., 1:4], dim=-1)
    return torch.sum(force > threshold, dim=1).float()


def stand_still_joint_deviation_l1(env: Env, command_name: str, command_threshold: float = 0.06,
                                   asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:  # fmt: skip
    standing = (
        torch.linalg.norm(env.command_manager.get_command(command_name)[:, :2], dim=1) < command_threshold
    )
    return joint_deviation_l1(env, asset_cfg) * standing


# -- terminations -----------------------------------------------------------------------------------------------


def time_out(env: Env) -> torch.Tensor:
    return core.time_out(env)


def illegal_contact(env: Env, threshold: float, sensor_cfg: SensorRef) -> torch.Tensor:
    force = torch.linalg.norm(_contacts(env, sensor_cfg)[..., 1:4], dim=-1)
    return torch.any(force > threshold, dim=1)


def bad_orientation(env: Env, limit_angle: float, asset_cfg: SceneEntityCfg = _ROBOT) -> torch.Tensor:
    g = _asset(env, asset_cfg).projected_gravity_b
    return torch.acos((-g[:, 2]).clamp(-1.0, 1.0)).abs() > limit_angle


def root_height_below_minimum(
    env: Env, minimum_height: float, asset_cfg: SceneEntityCfg = _ROBOT
) -> torch.Tensor:
    return _asset(env, asset_cfg).root_pos_w[:, 2] < minimum_height


# -- events -----------------------------------------------------------------------------------------------------


def reset_root_state_uniform(env: Env, env_ids: torch.Tensor, pose_range: dict[str, tuple[float, float]],
                             velocity_range: dict[str, tuple[float, float]],
                             asset_cfg: SceneEntityCfg = _ROBOT) -> None:  # fmt: skip
    """Offsets of x, y, z and yaw from the default root pose and a uniform root velocity (roll and pitch
    offsets of `pose_range` are not drawn)."""
    core.reset_root_state(env, env_ids, pose_range, velocity_range)


def reset_joints_by_scale(env: Env, env_ids: torch.Tensor, position_range: tuple[float, float],
                          velocity_range: tuple[float, float], asset_cfg: SceneEntityCfg = _ROBOT) -> None:  # fmt: skip
    # Isaac Lab scales the default velocities, which are zero: the joints start at rest.
    core.reset_joints_by_scale(env, env_ids, position_range, (0.0, 0.0))


def reset_joints_by_offset(env: Env, env_ids: torch.Tensor, position_range: tuple[float, float],
                           velocity_range: tuple[float, float], asset_cfg: SceneEntityCfg = _ROBOT) -> None:  # fmt: skip
    a = _asset(env, asset_cfg)
    n, j = len(env_ids), len(a.joint_names)
    q = a.default_joint_pos + _uniform(env, *position_range, (n, j)).to(a.default_joint_pos)
    q = torch.clamp(q, a.soft_joint_limits[:, 0], a.soft_joint_limits[:, 1])
    a.write_joint_state(env_ids, q, _uniform(env, *velocity_range, (n, j)))


def push_by_setting_velocity(env: Env, env_ids: torch.Tensor, velocity_range: dict[str, tuple[float, float]],
                             asset_cfg: SceneEntityCfg = _ROBOT) -> None:  # fmt: skip
    """Add a uniform velocity (x, y, z) to the root, world frame."""
    core.push_by_setting_velocity(env, env_ids, velocity_range)


def randomize_rigid_body_material(env: Env, env_ids: torch.Tensor | None, static_friction_range: tuple[float, float],
                                  dynamic_friction_range: tuple[float, float], restitution_range: tuple[float, float],
                                  num_buckets: int, asset_cfg: SceneEntityCfg,
                                  make_consistent: bool = False) -> None:  # fmt: skip
    """MuJoCo has one sliding friction per geom: the asset's geoms get U(dynamic_friction_range) per world
    (restitution and the static coefficient have no MuJoCo counterpart)."""
    a = _asset(env, asset_cfg)
    friction = env.sim.model_field("geom_friction")
    bodies = torch.as_tensor(a.body_ids, dtype=torch.long)[_body_sel(asset_cfg)]
    owner = torch.as_tensor(env.scene.model.geom_bodyid, dtype=torch.long)
    geoms = torch.isin(owner, bodies).nonzero(as_tuple=True)[0]
    ids = torch.arange(env.num_envs) if env_ids is None else env_ids.cpu()
    value = _uniform(env, *dynamic_friction_range, (len(ids), 1)).to(friction.device, friction.dtype)
    rows = friction[ids.to(friction.device)]
    rows[:, geoms.to(friction.device), 0] = value
    friction[ids.to(friction.device)] = rows


def randomize_rigid_body_mass(env: Env, env_ids: torch.Tensor | None, asset_cfg: SceneEntityCfg,
                              mass_distribution_params: tuple[float, float], operation: str,
                              distribution: str = "uniform", recompute_inertia: bool = True,
                              min_mass: float = 1e-6) -> None:  # fmt: skip
    """Masses of the asset's bodies added to, scaled by, or set to a draw (inertias are left as they are)."""
    a = _asset(env, asset_cfg)
    mass = env.sim.model_field("body_mass")
    ids = (torch.arange(env.num_envs) if env_ids is None else env_ids.cpu()).to(mass.device)
    body_ids = torch.as_tensor(a.body_ids, dtype=torch.long)[_body_sel(asset_cfg)].to(mass.device)
    base = torch.as_tensor(env.scene.model.body_mass, device=mass.device)[body_ids]
    lo, hi = mass_distribution_params
    shape = (len(ids), len(body_ids))
    if distribution == "log_uniform":
        draw = torch.exp(
            _uniform(env, float(torch.log(torch.tensor(lo))), float(torch.log(torch.tensor(hi))), shape)
        )
    elif distribution == "gaussian":
        draw = lo + hi * torch.randn(shape, generator=env.rng, device=env.device, dtype=torch.float64)
    else:
        draw = _uniform(env, lo, hi, shape)
    draw = draw.to(mass)
    new = {"add": base + draw, "scale": base * draw, "abs": draw}[operation].clamp(min=min_mass)
    rows = mass[ids]
    rows[:, body_ids] = new
    mass[ids] = rows
    env.sim.set_const(ids)


def _body_sel(cfg: Any) -> Any:
    ids = getattr(cfg, "body_ids", slice(None))
    return ids if isinstance(ids, slice) else torch.as_tensor(ids, dtype=torch.long)


def randomize_rigid_body_com(env: Env, env_ids: torch.Tensor | None, com_range: dict[str, tuple[float, float]],
                             asset_cfg: SceneEntityCfg) -> None:  # fmt: skip
    """Offset the centres of mass of the asset's bodies by uniform x, y, z (body frame)."""
    a = _asset(env, asset_cfg)
    ipos = env.sim.model_field("body_ipos")
    ids = (torch.arange(env.num_envs) if env_ids is None else env_ids.cpu()).to(ipos.device)
    body_ids = torch.as_tensor(a.body_ids, dtype=torch.long)[_body_sel(asset_cfg)].to(ipos.device)
    base = torch.as_tensor(env.scene.model.body_ipos, device=ipos.device)[body_ids]
    offset = torch.zeros(len(ids), len(body_ids), 3, dtype=torch.float64, device=env.device)
    for k, axis in enumerate("xyz"):
        if axis in com_range:
            offset[..., k] = _uniform(env, *com_range[axis], (len(ids), len(body_ids)))
    rows = ipos[ids]
    rows[:, body_ids] = (base + offset.to(base)).to(ipos)
    ipos[ids] = rows
    env.sim.set_const(ids)


def apply_external_force_torque(env: Env, env_ids: torch.Tensor, force_range: tuple[float, float],
                                torque_range: tuple[float, float], asset_cfg: SceneEntityCfg = _ROBOT) -> None:  # fmt: skip
    """A constant wrench on the asset's bodies, drawn per episode (world frame, through xfrc_applied)."""
    if not any(force_range) and not any(torque_range):
        return
    a = _asset(env, asset_cfg)
    body_ids = torch.as_tensor(a.body_ids, dtype=torch.long)[_body_sel(asset_cfg)]
    n, b = len(env_ids), len(body_ids)
    wrench = torch.cat(
        [_uniform(env, *force_range, (n, b, 3)), _uniform(env, *torque_range, (n, b, 3))], dim=-1
    )
    xfrc = env.sim.xfrc_applied
    rows = xfrc[env_ids.to(xfrc.device)]
    rows[:, body_ids.to(xfrc.device)] = wrench.to(xfrc)
    xfrc[env_ids.to(xfrc.device)] = rows


# -- curricula --------------------------------------------------------------------------------------------------


def terrain_levels_vel(env: Env, env_ids: torch.Tensor, asset_cfg: SceneEntityCfg = _ROBOT) -> float | None:
    return core.terrain_levels(env, env_ids)


def modify_reward_weight(
    env: Env, env_ids: torch.Tensor, term_name: str, weight: float, num_steps: int
) -> float:
    """Set reward `term_name`'s weight once `num_steps` env steps have passed."""
    manager = getattr(env, "reward_manager", None)
    if manager is not None and env.common_step_counter > num_steps and term_name in manager.terms:
        manager.terms[term_name].weight = weight
    return weight


COVERED = (
    "base_lin_vel", "base_ang_vel", "projected_gravity", "base_pos_z", "root_pos_w", "root_quat_w",
    "root_lin_vel_w", "root_ang_vel_w", "current_time_s", "remaining_time_s", "joint_effort", "joint_vel_l1",
    "generated_commands", "joint_pos",
    "joint_pos_rel", "joint_vel", "joint_vel_rel", "last_action", "height_scan",
    "track_lin_vel_xy_exp", "track_ang_vel_z_exp", "track_lin_vel_xy_yaw_frame_exp", "track_ang_vel_z_world_exp",
    "lin_vel_z_l2", "ang_vel_xy_l2", "flat_orientation_l2", "base_height_l2", "joint_torques_l2", "joint_acc_l2",
    "joint_vel_l2", "joint_deviation_l1", "joint_pos_limits", "action_rate_l2", "action_l2", "is_alive",
    "feet_air_time", "undesired_contacts", "stand_still_joint_deviation_l1",
    "time_out", "illegal_contact", "bad_orientation", "root_height_below_minimum",
    "reset_root_state_uniform", "reset_joints_by_scale", "reset_joints_by_offset", "push_by_setting_velocity",
    "randomize_rigid_body_material", "randomize_rigid_body_mass", "randomize_rigid_body_com",
    "apply_external_force_torque", "terrain_levels_vel", "modify_reward_weight",
)  # fmt: skip
"""Every Isaac Lab term function this module computes."""

__all__ = [*COVERED, "COVERED", "JointPositionActionCfg", "SensorRef", "UniformVelocityCommandCfg"]


def __getattr__(name: str) -> Any:
    # Isaac Lab's other term functions import as stand-ins the conversion refuses by name and field.
    from robolearn.adapters.isaaclab_cfg.terms import ISAACLAB_MDP_FUNCTIONS, UncoveredTerm

    if name in ISAACLAB_MDP_FUNCTIONS:
        return UncoveredTerm(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
