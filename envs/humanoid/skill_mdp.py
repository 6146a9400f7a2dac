"""The H1 skills' MDP: the body parts they name, geometry on the batched state, goal observations,
rewards and observation groups, shared by the four skill tasks (h1_skills.py) and the G1 skills."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import mujoco
import numpy as np
import torch

from robolearn.core import (
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    VelocityCommandCfg,
    mdp,
)
from robolearn.core.symmetry import (
    HALF_PERIOD,
    PSEUDO_VECTOR,
    VECTOR,
    VELOCITY_COMMAND,
    ContactMirror,
    Invariant,
    JointMirror,
    Signs,
)
from robolearn.envs.humanoid import biped_gait
from robolearn.envs.humanoid.skill_commands import (
    GOAL_RESAMPLE_S as GOAL_RESAMPLE_S,
    REACH_RADIUS as REACH_RADIUS,
    STEP_RADIUS,
)
from robolearn.envs.locomotion.velocity import velocity_rewards
from robolearn.math import yaw_from_quat

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

H1_PD_GAINS = {
    ".*_hip_.*": (200.0, 5.0),
    ".*_knee": (300.0, 6.0),
    ".*_ankle": (40.0, 2.0),
    "torso": (300.0, 6.0),
    ".*_shoulder_.*": (100.0, 2.0),
    ".*_elbow": (100.0, 2.0),
}
"""The authors' H1 gains (kp N m/rad, kd N m s/rad)."""

PELVIS = "pelvis"
FEET = ("left_ankle_link", "right_ankle_link")
ELBOWS = ("left_elbow_link", "right_elbow_link")
WRIST_OFFSET = (0.28, 0.0, -0.015)
"""The menagerie H1 has no hands: the wrist point is the hand sphere's centre in the elbow link's frame."""
UPPER_BODY = (
    "torso_link",
    "left_shoulder_roll_link",
    "left_shoulder_yaw_link",
    "left_elbow_link",
    "right_shoulder_roll_link",
    "right_shoulder_yaw_link",
    "right_elbow_link",
)
"""Bodies whose ground contact ends an episode. The pelvis has no collision geom in menagerie's H1 (the
torso link's `hip` capsule covers it), and the shoulder pitch links have none either."""
LEGS = (
    "left_hip_yaw_link",
    "left_hip_roll_link",
    "left_hip_pitch_link",
    "left_knee_link",
    "right_hip_yaw_link",
    "right_hip_roll_link",
    "right_hip_pitch_link",
    "right_knee_link",
)
"""Added to the illegal contacts of squatting and stepping (a knee on the floor is not a squat)."""
HIP_YAW_ROLL = (".*_hip_yaw(_joint)?", ".*_hip_roll(_joint)?")
TORSO = ("torso|waist_yaw_joint",)
"""The trunk joint: H1's torso, a G1's waist yaw (its waist roll and pitch are locked)."""

SQUAT_HEIGHT_RANGE = (0.65, 1.00)
"""Root (pelvis) height targets, m. The authors' range is [0.2, 1.1] (their H1 height convention); the
menagerie H1's pelvis is at 1.04 with straight legs and 0.98 in the default pose, and with flat feet it
cannot go below 0.60 (forward kinematics: hip pitch at its -1.57 limit, knee at its 2.05 limit, ankle
within its 0.87 rad dorsiflexion limit; 0.65 with the thighs short of horizontal), hence this range."""
STEP_RADIUS_START = 0.05
"""m: the step curriculum's first target radius. Trained on the full 0.25 m from the start, the step skill
learnt to stand (its tracking matched standing still); targets grow to STEP_RADIUS over the ramp instead."""
STEP_RAMP_ITERATIONS = 750
"""Half of the skill preset's 1500 iterations."""
WALK_COMMAND = VelocityCommandCfg(
    lin_vel_x=(-0.5, 1.0), lin_vel_y=(-0.3, 0.3), ang_vel_z=(-0.5, 0.5), standing_fraction=0.1
)
WALK_BASE_HEIGHT = 0.98
"""Pelvis height of the default pose on flat ground (the authors' 0.89 is measured from the feet frame)."""


@dataclass
class Humanoid:
    """A menagerie humanoid as the skills see it: the bodies their terms read and how its scene is built.
    Terms read it from `env.cfg.humanoid`, so one skill definition serves H1 and G1."""

    robot: str = "h1"
    feet: tuple[str, str] = FEET
    wrist_bodies: tuple[str, str] = ELBOWS
    wrist_offset: tuple[float, float, float] = WRIST_OFFSET
    upper_body: tuple[str, ...] = UPPER_BODY
    legs: tuple[str, ...] = LEGS
    pd_gains: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(H1_PD_GAINS))
    standing_height: float = WALK_BASE_HEIGHT
    """Pelvis height in the default pose on flat ground (m)."""
    squat_range: tuple[float, float] = SQUAT_HEIGHT_RANGE
    fast_model: bool = False  # menagerie has no h1_mjx variant; its collision geoms are primitives already
    locked_joints: tuple[str, ...] = ()
    keyframe: str = "home"
    """The default pose; a task built for this robot sets its `EnvCfg.keyframe` from it."""


def humanoid_of(env_cfg: Any) -> Humanoid:
    """The humanoid a task config is built for (H1 when it names none)."""
    return getattr(env_cfg, "humanoid", None) or Humanoid()


def _humanoid(env: ManagerBasedRlEnv) -> Humanoid:
    return humanoid_of(env.cfg)


# -- geometry on the batched state ---------------------------------------------------------------------


def _body_ids(env: ManagerBasedRlEnv, names: tuple[str, ...]) -> torch.Tensor:
    cache = env.term_state.setdefault("h1_body_ids", {})
    if names not in cache:
        cache[names] = torch.tensor([env.scene.model.body(n).id for n in names], dtype=torch.long)
    return cache[names]


def _to_heading(env: ManagerBasedRlEnv, vec_w: torch.Tensor) -> torch.Tensor:
    """World-frame vectors (N, ..., 2 or 3) expressed in the pelvis heading (yaw-only) frame."""
    yaw = yaw_from_quat(env.robot.root_quat_w).to(env.device).double()
    shape = (-1,) + (1,) * (vec_w.dim() - 2)
    c, s = torch.cos(yaw).view(shape), torch.sin(yaw).view(shape)
    x, y = vec_w[..., 0].double(), vec_w[..., 1].double()
    out = vec_w.double().clone()
    out[..., 0] = c * x + s * y
    out[..., 1] = -s * x + c * y
    return out


def from_heading(env: ManagerBasedRlEnv, vec_h: torch.Tensor, env_ids: torch.Tensor) -> torch.Tensor:
    """Heading-frame xy vectors (n, ..., 2) of worlds `env_ids` turned into the world frame."""
    yaw = yaw_from_quat(env.robot.root_quat_w[env_ids.to(env.sim.device)]).to(env.device).double()
    shape = (-1,) + (1,) * (vec_h.dim() - 2)
    c, s = torch.cos(yaw).view(shape), torch.sin(yaw).view(shape)
    x, y = vec_h[..., 0], vec_h[..., 1]
    return torch.stack([c * x - s * y, s * x + c * y], dim=-1)


def wrist_pos_w(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 2, 3) world positions of the left and right wrist points."""
    humanoid = _humanoid(env)
    ids = _body_ids(env, humanoid.wrist_bodies)
    pos = env.sim.xpos[:, ids].to(env.device).double()
    rot = env.sim.xmat[:, ids].to(env.device).double().reshape(-1, 2, 3, 3)
    offset = torch.tensor(humanoid.wrist_offset, dtype=torch.float64, device=env.device)
    return pos + rot @ offset


def wrist_pos_h(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 2, 3) wrist positions relative to the pelvis, in its heading frame."""
    root = env.robot.root_pos_w.to(env.device).double().unsqueeze(1)
    return _to_heading(env, wrist_pos_w(env) - root)


def wrist_positions(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 6) both wrists relative to the pelvis in its heading frame (a privileged critic term)."""
    return wrist_pos_h(env).reshape(env.num_envs, 6).float()


def feet_pos_w(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 2, 3) world positions of the left and right ankle links."""
    return env.sim.xpos[:, _body_ids(env, _humanoid(env).feet)].to(env.device).double()


def default_pose_data(env: ManagerBasedRlEnv) -> mujoco.MjData:
    """A host MjData in the robot's default pose (its keyframe, else qpos0), kinematics done."""
    model = env.scene.model
    data = mujoco.MjData(model)
    if env.robot.keyframe is not None:
        mujoco.mj_resetDataKeyframe(model, data, env.robot.keyframe)
    mujoco.mj_kinematics(model, data)
    return data


def default_points_h(env: ManagerBasedRlEnv) -> dict[str, torch.Tensor]:
    """Wrist (2, 3) and foot (2, 3) positions of the default pose, relative to the pelvis in its heading frame."""
    cache = env.term_state.setdefault("h1_default_points", {})
    if not cache:
        model = env.scene.model
        data = default_pose_data(env)
        root = data.qpos[:3].copy()
        humanoid = _humanoid(env)
        elbows = [model.body(n).id for n in humanoid.wrist_bodies]
        offset = np.array(humanoid.wrist_offset)
        wrists = np.stack([data.xpos[b] + data.xmat[b].reshape(3, 3) @ offset for b in elbows])
        feet = np.stack([data.xpos[model.body(n).id] for n in humanoid.feet])
        # The keyframe's pelvis has zero yaw, so its world axes are its heading axes.
        cache["wrists"] = torch.tensor(wrists - root, dtype=torch.float64, device=env.device)
        cache["feet"] = torch.tensor(feet - root, dtype=torch.float64, device=env.device)
    return cache


# -- goal observations: the error to the target, in the frame the skill acts in -----------------------


def squat_goal(env: ManagerBasedRlEnv, command: str = "pelvis_height") -> torch.Tensor:
    """The pelvis height command minus the current height (1)."""
    height = env.robot.root_pos_w[:, 2].to(env.device).double() - env.env_origins[:, 2]
    return (env.command_manager.get_command(command)[:, 0] - height).unsqueeze(-1).float()


def reach_goal(env: ManagerBasedRlEnv, command: str = "wrist_targets") -> torch.Tensor:
    """Both wrists' targets minus their positions, relative to the pelvis in its heading frame (6)."""
    err = env.command_manager.get_command(command).reshape(-1, 2, 3) - wrist_pos_h(env)
    return err.reshape(env.num_envs, 6).float()


def foot_targets_w(env: ManagerBasedRlEnv, command: str = "foot_targets") -> torch.Tensor:
    """(N, 2, 2) both feet's world xy targets."""
    return env.command_manager.get_command(command).reshape(-1, 2, 2)


def step_goal(env: ManagerBasedRlEnv, command: str = "foot_targets") -> torch.Tensor:
    """Both feet's xy targets minus their positions, in the pelvis heading frame (4)."""
    err_w = foot_targets_w(env, command) - feet_pos_w(env)[..., :2]
    return _to_heading(env, err_w).reshape(env.num_envs, 4).float()


def walk_goal(env: ManagerBasedRlEnv, command: str = "base_velocity") -> torch.Tensor:
    """The (vx, vy, yaw rate) command (3)."""
    return env.command_manager.get_command(command)


# -- rewards -------------------------------------------------------------------------------------------


def goal_tracking(
    env: ManagerBasedRlEnv, goal: Callable[..., torch.Tensor], sharpness: float = 4.0
) -> torch.Tensor:
    """exp(-sharpness * mean |goal error|): the authors' tracking kernel, 1 on the target."""
    return torch.exp(-sharpness * goal(env).abs().mean(dim=-1))


def step_progress(env: ManagerBasedRlEnv, clip: float = 1.0, command: str = "foot_targets") -> torch.Tensor:
    """How fast (m/s) the feet close on their targets: the drop of the mean foot-to-target xy distance since the
    last step, clipped to ±clip; 0 on the step a target is drawn. Shaping for the step skill, where the
    tracking kernel alone pays almost as much for standing still as for a step that risks a fall."""
    err_w = foot_targets_w(env, command) - feet_pos_w(env)[..., :2]
    dist = torch.linalg.norm(err_w, dim=-1).mean(dim=-1)
    prev = env.command_manager.get_term(command).prev_dist
    rate = torch.nan_to_num((prev - dist) / env.step_dt, nan=0.0).clamp(-clip, clip)
    prev[:] = dist
    return rate.float()


def step_radius_levels(env: ManagerBasedRlEnv, env_ids: torch.Tensor, start: float = STEP_RADIUS_START,
                       end: float = STEP_RADIUS, ramp_steps: int = 24 * STEP_RAMP_ITERATIONS,
                       command: str = "foot_targets") -> float:  # fmt: skip
    """Curriculum: the step targets' radius grows linearly from `start` to `end` over `ramp_steps` policy steps."""
    del env_ids
    radius = start + (end - start) * min(1.0, env.common_step_counter / ramp_steps)
    env.command_manager.get_term(command).radius = radius
    return radius


def feet_distance(env: ManagerBasedRlEnv, min_dist: float = 0.2, max_dist: float = 0.5) -> torch.Tensor:
    """1 while the feet are [min_dist, max_dist] apart in xy, falling off sharply outside (humanoid-gym)."""
    feet = feet_pos_w(env)
    dist = torch.linalg.norm(feet[:, 0, :2] - feet[:, 1, :2], dim=-1)
    below = (dist - min_dist).clamp(-0.5, 0.0)
    above = (dist - max_dist).clamp(0.0, 0.5)
    return (0.5 * (torch.exp(-100 * below.abs()) + torch.exp(-100 * above.abs()))).float()


def _joint_ids(env: ManagerBasedRlEnv, patterns: tuple[str, ...]) -> list[int]:
    import re

    return [i for i, n in enumerate(env.robot.joint_names) if any(re.fullmatch(p, n) for p in patterns)]


def joint_pose(env: ManagerBasedRlEnv, joints: tuple[str, ...], deadband: float = 0.1,
               sharpness: float = 100.0) -> torch.Tensor:  # fmt: skip
    """exp(-sharpness * max(sum |q - q_default| - deadband, 0)) over the named joints (regexes).

    1 within `deadband` rad of the default pose; humanoid-gym's form, whose 0.1 rad deadband keeps the
    kernel from vanishing at the small deviations any balancing robot has.
    """
    ids = _joint_ids(env, joints)
    dev = (env.robot.joint_pos[:, ids] - env.robot.default_joint_pos[ids]).abs().sum(dim=-1)
    return torch.exp(-sharpness * (dev - deadband).clamp(min=0.0)).float()


def upright(env: ManagerBasedRlEnv, sharpness: float = 20.0) -> torch.Tensor:
    """1 when the pelvis is level (projected gravity straight down)."""
    return torch.exp(-sharpness * torch.linalg.norm(env.robot.projected_gravity_b[:, :2], dim=-1)).float()


def joint_vel_l2(env: ManagerBasedRlEnv) -> torch.Tensor:
    return torch.sum(torch.square(env.robot.joint_vel), dim=-1)


def base_height_l2(env: ManagerBasedRlEnv, target: float | None = None) -> torch.Tensor:
    """Squared pelvis height error to `target` (default: the robot's standing height)."""
    height = env.robot.root_pos_w[:, 2] - env.env_origins[:, 2]
    return torch.square(height - (target if target is not None else _humanoid(env).standing_height))


def floor_total_at_zero(env: ManagerBasedRlEnv) -> torch.Tensor:
    """Tops the step's total reward up to zero (the authors clip the total at >= 0).

    Give it weight 1 and put it last: it sums the values the terms before it wrote this step.
    """
    manager = env.reward_manager
    total = torch.zeros(env.num_envs, device=env.device)
    for name, term in manager.terms.items():
        if term.func is floor_total_at_zero:
            break
        total += manager.step_values[name]
    return (-total).clamp(min=0.0) / env.step_dt


def skill_rewards(goal: Callable[..., torch.Tensor]) -> dict[str, RewardTerm]:
    """Tracking (weight 5) and the authors' regularizers of the non-walking skills; total floored at 0."""
    return {
        "goal_tracking": RewardTerm(goal_tracking, weight=5.0, params={"goal": goal}),
        "feet_distance": RewardTerm(feet_distance, weight=0.5),
        "hip_yaw_roll_pose": RewardTerm(joint_pose, weight=0.5, params={"joints": HIP_YAW_ROLL}),
        "torso_pose": RewardTerm(joint_pose, weight=0.5, params={"joints": TORSO}),
        "upright": RewardTerm(upright, weight=1.0),
        "joint_torques": RewardTerm(mdp.joint_torques_l2, weight=-1e-5),
        "joint_vel": RewardTerm(joint_vel_l2, weight=-5e-4),
        "joint_acc": RewardTerm(mdp.joint_acc_l2, weight=-1e-7),
        "floor_total_at_zero": RewardTerm(floor_total_at_zero, weight=1.0),
    }




def walk_rewards() -> dict[str, RewardTerm]:
    """The shared velocity recipe plus humanoid-gym's gait set (envs/humanoid/biped_gait.py): a reference
    stepping pose, the contact pattern and swing clearance on the observed 0.64 s clock, and foot slip.
    Without the gait set the H1 found the standing optimum (its velocity error matched standing still)."""
    rewards = velocity_rewards(air_time_threshold=0.2)  # a 0.64 s cycle swings each foot ~0.29 s
    del rewards["undesired_contacts"]  # illegal contacts terminate instead
    # The gait steps in place at zero command, as humanoid-gym's does; `with_standing` is the fine-tune that
    # teaches it to stand (trained from scratch with standing from iteration 1000 it neither stood nor kept
    # its speed: docs/skillblender.md).
    del rewards["stand_still"]
    rewards["joint_torques"].weight = -1e-5  # H1's leg torques are ~10x a quadruped's
    rewards["base_height"] = RewardTerm(base_height_l2, weight=-10.0)
    rewards["hip_yaw_roll_pose"] = RewardTerm(joint_pose, weight=0.5, params={"joints": HIP_YAW_ROLL})
    rewards["feet_distance"] = RewardTerm(feet_distance, weight=0.5)
    rewards["is_alive"] = RewardTerm(mdp.is_alive, weight=0.5)
    # humanoid-gym's weights for the reference pose (2.2) and the contact pattern (1.2)
    rewards["gait_reference_pose"] = RewardTerm(biped_gait.gait_reference_pose, weight=2.2)
    rewards["gait_contact"] = RewardTerm(biped_gait.biped_contact, weight=1.2)
    rewards["swing_clearance"] = RewardTerm(biped_gait.swing_foot_clearance, weight=1.0)
    rewards["feet_slip"] = RewardTerm(biped_gait.feet_slip, weight=-0.1)
    return rewards


# -- observations --------------------------------------------------------------------------------------


def proprio_terms(noise: bool = True) -> dict[str, ObsTerm]:
    """The observation tail every skill shares (and the blender passes on to each skill unchanged)."""
    k = 1.0 if noise else 0.0
    return {
        "joint_pos": ObsTerm(mdp.joint_pos_rel, noise=0.01 * k, mirror=JointMirror()),
        "joint_vel": ObsTerm(mdp.joint_vel, noise=1.5 * k, scale=0.05, mirror=JointMirror()),
        "last_action": ObsTerm(mdp.last_action, mirror=JointMirror()),
        "base_ang_vel": ObsTerm(mdp.base_ang_vel, noise=0.2 * k, scale=0.25, mirror=Signs(PSEUDO_VECTOR)),
        "projected_gravity": ObsTerm(mdp.projected_gravity, noise=0.05 * k, mirror=Signs(VECTOR)),
    }


def gait_clock() -> ObsTerm:
    """The walking skill's clock, read between its goal and the shared tail; a blender task that blends
    walking puts the same term right before the tail (see `skill_inputs`)."""
    return ObsTerm(biped_gait.gait_clock, params={"period": biped_gait.WALK_PERIOD}, mirror=Signs(HALF_PERIOD))


def skill_policy_obs(goal: Callable[..., torch.Tensor]) -> ObsGroupCfg:
    return ObsGroupCfg(terms={"goal": ObsTerm(goal), **proprio_terms()})


def walk_observations() -> dict[str, ObsGroupCfg]:
    """Goal, clock, shared tail; the critic without the wrists (arms do not matter to walking, and the
    mirror augmentation would need a rule for them)."""
    goal = ObsTerm(walk_goal, mirror=Signs(VELOCITY_COMMAND))
    policy = ObsGroupCfg(terms={"goal": goal, "gait_phase": gait_clock(), **proprio_terms()})
    critic = skill_critic_obs(walk_goal)
    critic.terms["goal"] = ObsTerm(walk_goal, mirror=Signs(VELOCITY_COMMAND))
    del critic.terms["wrists"]
    critic.terms = {"goal": critic.terms.pop("goal"), "gait_phase": gait_clock(), **critic.terms}
    return {"policy": policy, "critic": critic}


def skill_critic_obs(goal: Callable[..., torch.Tensor]) -> ObsGroupCfg:
    """Privileged: noise-free, plus base linear velocity, height, foot contacts and both wrists' positions."""
    terms = {
        "goal": ObsTerm(goal),
        **proprio_terms(noise=False),
        "base_lin_vel": ObsTerm(mdp.base_lin_vel, mirror=Signs(VECTOR)),
        "base_height": ObsTerm(mdp.base_height, mirror=Invariant()),
        "feet_contact": ObsTerm(mdp.contact_found, params={"sensor": "feet"}, mirror=ContactMirror()),
        "wrists": ObsTerm(wrist_positions),
    }
    return ObsGroupCfg(terms=terms, enable_noise=False)


