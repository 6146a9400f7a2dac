"""The names of Isaac Lab's term functions, and what stands in for one robolearn does not compute.

A task file importing `mdp.feet_slide` from this package still imports: it gets an `UncoveredTerm` naming
the function, and the conversion then refuses it with the config field that uses it and the covered list.
"""

from __future__ import annotations

from typing import Any

ISAACLAB_MDP_FUNCTIONS = (
    # isaaclab.envs.mdp (3.0): curricula, events, observations, rewards, terminations
    "initial_final_interpolate_fn", "modify_env_param", "modify_reward_weight", "modify_term_cfg",
    "apply_external_force_torque", "push_by_setting_velocity", "randomize_actuator_gains",
    "randomize_fixed_tendon_parameters", "randomize_joint_parameters", "randomize_physics_scene_gravity",
    "randomize_rigid_body_collider_offsets", "randomize_rigid_body_com", "randomize_rigid_body_inertia",
    "randomize_rigid_body_mass", "randomize_rigid_body_material", "randomize_rigid_body_scale",
    "randomize_visual_color", "randomize_visual_material", "randomize_visual_shape",
    "randomize_visual_texture_material", "reset_joints_by_offset", "reset_joints_by_scale",
    "reset_joints_within_limits_range", "reset_nodal_state_uniform", "reset_root_state_from_terrain",
    "reset_root_state_uniform", "reset_root_state_with_random_orientation", "reset_scene_to_default",
    "base_ang_vel", "base_lin_vel", "base_pos_z", "body_incoming_wrench", "body_pose_w", "body_projected_gravity_b",
    "current_time_s", "generated_commands", "height_scan", "image_depth", "image_features", "image_normals",
    "image_rgb", "image_segmentation", "imu_ang_vel", "imu_lin_acc", "pva_orientation", "pva_projected_gravity",
    "joint_effort", "joint_pos", "joint_pos_limit_normalized", "joint_pos_rel", "joint_vel", "joint_vel_rel",
    "last_action", "projected_gravity", "remaining_time_s", "root_ang_vel_w", "root_lin_vel_w", "root_pos_w",
    "root_quat_w", "action_l2", "action_rate_l2", "ang_vel_xy_l2", "applied_torque_limits", "base_height_l2",
    "body_lin_acc_l2", "contact_forces", "desired_contacts", "flat_orientation_l2", "is_alive", "is_terminated",
    "is_terminated_term", "joint_acc_l2", "joint_deviation_l1", "joint_pos_limits", "joint_pos_target_l2",
    "joint_torques_l2", "joint_vel_l1", "joint_vel_l2", "joint_vel_limits", "lin_vel_z_l2",
    "orientation_command_error", "position_command_error", "position_command_error_tanh", "survival_success_rate",
    "terminated_penalty", "track_ang_vel_z_exp", "track_lin_vel_xy_exp", "undesired_contacts", "bad_orientation",
    "command_resample", "illegal_contact", "joint_effort_out_of_limit", "joint_pos_out_of_limit",
    "joint_pos_out_of_manual_limit", "joint_vel_out_of_limit", "joint_vel_out_of_manual_limit",
    "pose_command_success", "root_height_below_minimum", "time_out",
    # isaaclab_tasks' velocity mdp
    "feet_air_time", "feet_air_time_positive_biped", "feet_air_time_variance", "feet_slide",
    "stand_still_joint_deviation_l1", "terrain_levels_vel", "terrain_out_of_bounds", "track_ang_vel_z_world_exp",
    "track_lin_vel_xy_yaw_frame_exp",
)  # fmt: skip
"""Every term function of `isaaclab.envs.mdp` and the velocity task's mdp in Isaac Lab 3.0 (from its
`__init__.pyi` files); the real-package check compares it with the installed package."""


class IsaacLabConfigError(ValueError):
    """An Isaac Lab config robolearn cannot run as written: the message names the config field."""


class UncoveredTerm:
    """Isaac Lab's term function `name`, which robolearn does not compute."""

    def __init__(self, name: str):
        self.name = name
        self.__name__ = self.__qualname__ = name

    def __repr__(self) -> str:
        return f"<Isaac Lab mdp.{self.name}: not covered by robolearn>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise IsaacLabConfigError(f"Isaac Lab's mdp.{self.name} is not covered by robolearn")
