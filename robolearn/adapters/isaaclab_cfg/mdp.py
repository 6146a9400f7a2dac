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

from typing import TYPE_CHECKING, Any

import torch

from robolearn.adapters.isaaclab_cfg.commands import UniformVelocityCommandCfg
from robolearn.adapters.isaaclab_cfg.configclass import configclass
from robolearn.adapters.isaaclab_cfg.managers import ActionTermCfg, SceneEntityCfg
from robolearn.adapters.isaaclab_cfg.mdp_common import ROBOT, SensorRef, asset, contacts, joints

# Re-exported (`name as name`): a task file reaches every term through this one module, as Isaac Lab's mdp.
from robolearn.adapters.isaaclab_cfg.mdp_events import (
    apply_external_force_torque as apply_external_force_torque,
    modify_reward_weight as modify_reward_weight,
    push_by_setting_velocity as push_by_setting_velocity,
    randomize_rigid_body_com as randomize_rigid_body_com,
    randomize_rigid_body_mass as randomize_rigid_body_mass,
    randomize_rigid_body_material as randomize_rigid_body_material,
    reset_joints_by_offset as reset_joints_by_offset,
    reset_joints_by_scale as reset_joints_by_scale,
    reset_root_state_uniform as reset_root_state_uniform,
    terrain_levels_vel as terrain_levels_vel,
)
from robolearn.adapters.isaaclab_cfg.mdp_feet import (
    feet_air_time_positive_biped as feet_air_time_positive_biped,
    feet_air_time_variance as feet_air_time_variance,
    feet_slide as feet_slide,
    is_terminated as is_terminated,
)
from robolearn.core import mdp as core
from robolearn.math import quat_rotate, quat_rotate_inverse, yaw_from_quat, yaw_quat

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv as Env


@configclass
class JointPositionActionCfg(ActionTermCfg):
    joint_names: list[str] = [".*"]
    scale: float | dict[str, float] = 1.0
    offset: float | dict[str, float] = 0.0
    use_default_offset: bool = True
    preserve_order: bool = False


# -- observations -----------------------------------------------------------------------------------------------


def base_lin_vel(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    return asset(env, asset_cfg).root_lin_vel_b


def base_ang_vel(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    return asset(env, asset_cfg).root_ang_vel_b


def projected_gravity(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    return asset(env, asset_cfg).projected_gravity_b


def base_pos_z(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    return asset(env, asset_cfg).root_pos_w[:, 2:3]


def root_pos_w(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    """Root position relative to the world's origin (Isaac Lab subtracts the env origin too)."""
    a = asset(env, asset_cfg)
    return a.root_pos_w - env.env_origins.to(a.root_pos_w)


def root_quat_w(env: Env, make_quat_unique: bool = False, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    q = asset(env, asset_cfg).root_quat_w
    return torch.where(q[:, :1] < 0, -q, q) if make_quat_unique else q


def root_lin_vel_w(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    a = asset(env, asset_cfg)
    return quat_rotate(a.root_quat_w, a.root_lin_vel_b)


def root_ang_vel_w(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    a = asset(env, asset_cfg)
    return quat_rotate(a.root_quat_w, a.root_ang_vel_b)


def current_time_s(env: Env) -> torch.Tensor:
    return (env.episode_length_buf.to(torch.float32) * env.step_dt).unsqueeze(1)


def remaining_time_s(env: Env) -> torch.Tensor:
    return env.max_episode_length * env.step_dt - current_time_s(env)


def generated_commands(env: Env, command_name: str | None = None) -> torch.Tensor:
    return env.command_manager.get_command(command_name or "base_velocity")


def joint_pos(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    return asset(env, asset_cfg).joint_pos[:, joints(asset_cfg)]


def joint_pos_rel(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    a = asset(env, asset_cfg)
    return (a.joint_pos - a.default_joint_pos)[:, joints(asset_cfg)]


def joint_vel(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    return asset(env, asset_cfg).joint_vel[:, joints(asset_cfg)]


def joint_effort(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    """The actuators' forces on the joints (MuJoCo's actuator_force: after force limits)."""
    a = asset(env, asset_cfg)
    return env.sim.actuator_force[:, a._ctrl][:, joints(asset_cfg)]


def joint_vel_rel(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    """Joint velocities minus the default ones, which are zero in every robolearn robot."""
    return joint_vel(env, asset_cfg)


def last_action(env: Env, action_name: str | None = None) -> torch.Tensor:
    return core.last_action(env, action_name)


def height_scan(env: Env, sensor_cfg: SensorRef, offset: float = 0.5) -> torch.Tensor:
    """Base height above the ground under the scanner's yaw-aligned grid, minus `offset`, within [-1, 1]."""
    return core.height_scan(env, tuple(sensor_cfg.size), sensor_cfg.resolution, offset)  # type: ignore[arg-type]


# -- rewards ----------------------------------------------------------------------------------------------------


def track_lin_vel_xy_exp(
    env: Env, std: float, command_name: str, asset_cfg: SceneEntityCfg = ROBOT
) -> torch.Tensor:
    v = asset(env, asset_cfg).root_lin_vel_b[:, :2]
    err = torch.sum(torch.square(env.command_manager.get_command(command_name)[:, :2] - v), dim=1)
    return torch.exp(-err / std**2)


def track_ang_vel_z_exp(
    env: Env, std: float, command_name: str, asset_cfg: SceneEntityCfg = ROBOT
) -> torch.Tensor:
    w = asset(env, asset_cfg).root_ang_vel_b[:, 2]
    err = torch.square(env.command_manager.get_command(command_name)[:, 2] - w)
    return torch.exp(-err / std**2)


def track_lin_vel_xy_yaw_frame_exp(env: Env, std: float, command_name: str,
                                   asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:  # fmt: skip
    """Linear velocity in the base's yaw frame (not tilted with the trunk) against the command."""
    a = asset(env, asset_cfg)
    v_world = quat_rotate(a.root_quat_w, a.root_lin_vel_b)
    v_yaw = quat_rotate_inverse(yaw_quat(yaw_from_quat(a.root_quat_w)).to(v_world), v_world)
    err = torch.sum(torch.square(env.command_manager.get_command(command_name)[:, :2] - v_yaw[:, :2]), dim=1)
    return torch.exp(-err / std**2)


def track_ang_vel_z_world_exp(env: Env, command_name: str, std: float,
                              asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:  # fmt: skip
    a = asset(env, asset_cfg)
    wz = quat_rotate(a.root_quat_w, a.root_ang_vel_b)[:, 2]
    return torch.exp(-torch.square(env.command_manager.get_command(command_name)[:, 2] - wz) / std**2)


def lin_vel_z_l2(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    return torch.square(asset(env, asset_cfg).root_lin_vel_b[:, 2])


def ang_vel_xy_l2(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    return torch.sum(torch.square(asset(env, asset_cfg).root_ang_vel_b[:, :2]), dim=1)


def flat_orientation_l2(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    return torch.sum(torch.square(asset(env, asset_cfg).projected_gravity_b[:, :2]), dim=1)


def base_height_l2(env: Env, target_height: float, asset_cfg: SceneEntityCfg = ROBOT,
                   sensor_cfg: SensorRef | None = None) -> torch.Tensor:  # fmt: skip
    """(base height - target)^2; over the scanner's mean ground height when a scanner is named, else over z = 0.
    The scanned height is clipped at 1 m (robolearn's height scan), enough for a quadruped's base."""
    a = asset(env, asset_cfg)
    if sensor_cfg is None:
        height = a.root_pos_w[:, 2] - env.env_origins[:, 2].to(a.root_pos_w)
    else:
        height = core.height_scan(env, tuple(sensor_cfg.size), sensor_cfg.resolution, 0.0).mean(dim=1)  # type: ignore[arg-type]
    return torch.square(height.to(torch.float32) - target_height)


def joint_torques_l2(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    a = asset(env, asset_cfg)
    return torch.sum(torch.square(env.sim.actuator_force[:, a._ctrl][:, joints(asset_cfg)]), dim=1)


def joint_acc_l2(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    return torch.sum(torch.square(asset(env, asset_cfg).joint_acc[:, joints(asset_cfg)]), dim=1)


def joint_vel_l2(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    return torch.sum(torch.square(joint_vel(env, asset_cfg)), dim=1)


def joint_vel_l1(env: Env, asset_cfg: SceneEntityCfg) -> torch.Tensor:
    return torch.sum(torch.abs(joint_vel(env, asset_cfg)), dim=1)


def joint_deviation_l1(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    return torch.sum(torch.abs(joint_pos_rel(env, asset_cfg)), dim=1)


def joint_pos_limits(env: Env, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    """Radians past the joint limits (the model's ranges: Isaac Lab's soft-limit factor is not applied)."""
    a, ids = asset(env, asset_cfg), joints(asset_cfg)
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
    force = torch.linalg.norm(contacts(env, sensor_cfg)[..., 1:4], dim=-1)
    return torch.sum(force > threshold, dim=1).float()


def stand_still_joint_deviation_l1(env: Env, command_name: str, command_threshold: float = 0.06,
                                   asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:  # fmt: skip
    standing = (
        torch.linalg.norm(env.command_manager.get_command(command_name)[:, :2], dim=1) < command_threshold
    )
    return joint_deviation_l1(env, asset_cfg) * standing


# -- terminations -----------------------------------------------------------------------------------------------


def time_out(env: Env) -> torch.Tensor:
    return core.time_out(env)


def illegal_contact(env: Env, threshold: float, sensor_cfg: SensorRef) -> torch.Tensor:
    force = torch.linalg.norm(contacts(env, sensor_cfg)[..., 1:4], dim=-1)
    return torch.any(force > threshold, dim=1)


def bad_orientation(env: Env, limit_angle: float, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    g = asset(env, asset_cfg).projected_gravity_b
    return torch.acos((-g[:, 2]).clamp(-1.0, 1.0)).abs() > limit_angle


def root_height_below_minimum(
    env: Env, minimum_height: float, asset_cfg: SceneEntityCfg = ROBOT
) -> torch.Tensor:
    return asset(env, asset_cfg).root_pos_w[:, 2] < minimum_height


COVERED = (
    "base_lin_vel", "base_ang_vel", "projected_gravity", "base_pos_z", "root_pos_w", "root_quat_w",
    "root_lin_vel_w", "root_ang_vel_w", "current_time_s", "remaining_time_s", "joint_effort", "joint_vel_l1",
    "generated_commands", "joint_pos",
    "joint_pos_rel", "joint_vel", "joint_vel_rel", "last_action", "height_scan",
    "track_lin_vel_xy_exp", "track_ang_vel_z_exp", "track_lin_vel_xy_yaw_frame_exp", "track_ang_vel_z_world_exp",
    "lin_vel_z_l2", "ang_vel_xy_l2", "flat_orientation_l2", "base_height_l2", "joint_torques_l2", "joint_acc_l2",
    "joint_vel_l2", "joint_deviation_l1", "joint_pos_limits", "action_rate_l2", "action_l2", "is_alive",
    "feet_air_time", "undesired_contacts", "stand_still_joint_deviation_l1", "feet_air_time_positive_biped",
    "feet_air_time_variance", "feet_slide", "is_terminated",
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
