"""Unitree H1 goal-conditioned primitive skills of SkillBlender (Kuang et al. 2025).

Four tasks, one per skill, each trained once with plain PPO and then frozen for the blender
(policies/skillblender.py): `H1-Skill-Squat`, `H1-Skill-Reach`, `H1-Skill-Step`, `H1-Skill-Walk`.

Shared by all four, as in the authors' H1 setup: menagerie `unitree_h1` (19 actuated joints), PD
targets = `home` keyframe (hip pitch -0.4, knee 0.8, ankle -0.4, arms and torso 0) + 0.25 * action,
the authors' gains (hip 200/5, knee 300/6, ankle 40/2, torso 300/6, shoulder and elbow 100/2).

The policy observation is laid out goal first: [goal, joint pos, joint vel, last action, base angular
velocity, projected gravity]. The proprioceptive tail is identical across skills, so the blender can
replace the goal slot of any skill with its own goal and reuse the same tail (`SKILL_GOALS` says how
wide each goal slot is and which range the blender may ask for).

Goals are errors to a sampled target, so the same observation drives a skill to any target:
- squat: target root height minus the current root height (1);
- reach: both wrists' target minus current position, in the heading frame of the pelvis (6);
- step: both feet's target minus current xy, in the heading frame (4);
- walk: the (vx, vy, yaw rate) command of the velocity recipe (3).
Targets are command terms (envs/humanoid/skill_commands.py: `pelvis_height`, `wrist_targets`,
`foot_targets`; walking's `base_velocity`), drawn at reset and again at random intervals (a waypoint
sequence); a goal observation reads its command by name.

Where this deviates from the authors (see docs/skillblender.md): squat heights are clamped to what the
menagerie H1 can reach with flat feet; reach tracks wrist positions only (no orientation); the walking
reward is the shared velocity recipe plus a base-height term, not humanoid-gym's gait reference.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from robolearn.core import (
    ActionTermCfg,
    CommandTermCfg,
    CurriculumTerm,
    EnvCfg,
    EventTerm,
    JointPositionActionCfg,
    ObsGroupCfg,
    RewardTerm,
    SimCfg,
    TerminationTerm,
    VelocityCommandCfg,
    mdp,
)
from robolearn.core.commands import VelocityCommand
from robolearn.envs.humanoid import biped_gait
from robolearn.envs.humanoid.skill_commands import (
    GOAL_RESAMPLE_S as GOAL_RESAMPLE_S,
    REACH_RADIUS as REACH_RADIUS,
    STEP_RADIUS as STEP_RADIUS,
    FootTargetCommandCfg,
    PelvisHeightCommandCfg,
    SkillGoal,
    WristTargetCommandCfg,
)

# The skills' MDP terms live in skill_mdp.py; they are imported here under their old module too, where run
# folders written before the split (the shipped skills included) name them.
from robolearn.envs.humanoid.skill_mdp import (
    ELBOWS as ELBOWS,
    H1_PD_GAINS as H1_PD_GAINS,
)
from robolearn.envs.locomotion.velocity import TROT_CPU_PPO
from robolearn.registry import register_task
from robolearn.rl import PpoCfg
from robolearn.scene import ContactSensorCfg, SceneCfg
from robolearn.terrain import TerrainCfg

if TYPE_CHECKING:
    pass

from robolearn.envs.humanoid.skill_mdp import (  # noqa: E402
    FEET as FEET,
    HIP_YAW_ROLL as HIP_YAW_ROLL,
    LEGS as LEGS,
    PELVIS as PELVIS,
    SQUAT_HEIGHT_RANGE as SQUAT_HEIGHT_RANGE,
    STEP_RADIUS_START as STEP_RADIUS_START,
    STEP_RAMP_ITERATIONS as STEP_RAMP_ITERATIONS,
    TORSO as TORSO,
    UPPER_BODY as UPPER_BODY,
    WALK_BASE_HEIGHT as WALK_BASE_HEIGHT,
    WALK_COMMAND as WALK_COMMAND,
    WRIST_OFFSET as WRIST_OFFSET,
    Humanoid as Humanoid,
    _body_ids as _body_ids,
    _humanoid as _humanoid,
    _joint_ids as _joint_ids,
    _to_heading as _to_heading,
    base_height_l2 as base_height_l2,
    default_points_h as default_points_h,
    default_pose_data as default_pose_data,
    feet_distance as feet_distance,
    feet_pos_w as feet_pos_w,
    floor_total_at_zero as floor_total_at_zero,
    foot_targets_w as foot_targets_w,
    from_heading as from_heading,
    gait_clock as gait_clock,
    goal_tracking as goal_tracking,
    humanoid_of as humanoid_of,
    joint_pose as joint_pose,
    joint_vel_l2 as joint_vel_l2,
    proprio_terms as proprio_terms,
    reach_goal as reach_goal,
    skill_critic_obs as skill_critic_obs,
    skill_policy_obs as skill_policy_obs,
    skill_rewards as skill_rewards,
    squat_goal as squat_goal,
    step_goal as step_goal,
    step_progress as step_progress,
    step_radius_levels as step_radius_levels,
    upright as upright,
    walk_goal as walk_goal,
    walk_observations as walk_observations,
    walk_rewards as walk_rewards,
    wrist_pos_h as wrist_pos_h,
    wrist_pos_w as wrist_pos_w,
    wrist_positions as wrist_positions,
)

# -- scene, events, terminations -----------------------------------------------------------------------


def humanoid_scene(terrain: str = "flat", guarded: tuple[str, tuple[str, ...]] | None = None,
             humanoid: Humanoid | None = None) -> SceneCfg:  # fmt: skip
    """The humanoid (H1 by default) with feet and leg contact sensors, plus `guarded` (sensor name, bodies;
    default its upper body) whose ground contact ends an episode; SkillBench scenes guard the trunk only,
    since their arms touch objects."""
    humanoid = humanoid or Humanoid()
    name, bodies = guarded or ("upper_body", humanoid.upper_body)
    return SceneCfg(
        robot=humanoid.robot,
        fast_model=humanoid.fast_model,
        terrain=TerrainCfg(kind=terrain),
        contact_sensors={
            "feet": ContactSensorCfg(bodies=humanoid.feet),
            name: ContactSensorCfg(bodies=bodies),
            "legs": ContactSensorCfg(bodies=humanoid.legs),
        },
        pd_gains=dict(humanoid.pd_gains),
        locked_joints=humanoid.locked_joints,
    )


def skill_events() -> dict[str, EventTerm]:
    """Friction at startup, a random heading and joint pose at reset; goals are command terms, drawn after
    these (see skill_commands)."""
    return {
        "friction": EventTerm(mdp.randomize_friction, mode="startup", params={"friction_range": (0.6, 1.25)}),
        "reset_base": EventTerm(
            mdp.reset_root_state,
            mode="reset",
            params={
                "pose_range": {"yaw": (-3.14, 3.14)},
                "velocity_range": {k: (-0.1, 0.1) for k in ("x", "y", "z", "roll", "pitch", "yaw")},
            },
        ),
        "reset_joints": EventTerm(
            mdp.reset_joints_by_scale, mode="reset", params={"position_range": (0.9, 1.1)}
        ),
    }


def skill_terminations(legs_illegal: bool) -> dict[str, TerminationTerm]:
    terms = {
        "time_out": TerminationTerm(mdp.time_out, time_out=True),
        "upper_body_contact": TerminationTerm(mdp.illegal_contact, params={"sensor": "upper_body"}),
        # Not in the authors' list: a safety net for a robot that lies down without touching with its torso.
        "bad_orientation": TerminationTerm(mdp.bad_orientation, params={"limit_angle": 1.0}),
    }
    if legs_illegal:
        terms["leg_contact"] = TerminationTerm(mdp.illegal_contact, params={"sensor": "legs"})
    return terms


def skill_observations(goal: Callable[..., torch.Tensor]) -> dict[str, ObsGroupCfg]:
    return {"policy": skill_policy_obs(goal), "critic": skill_critic_obs(goal)}


# -- task configs --------------------------------------------------------------------------------------


@dataclass
class H1SkillCfg(EnvCfg):
    """What the four skills share; a skill sets its observations, rewards, events and terminations."""

    scene: SceneCfg = field(default_factory=humanoid_scene)
    observations: dict[str, ObsGroupCfg] = field(default_factory=lambda: skill_observations(squat_goal))
    rewards: dict[str, RewardTerm] = field(default_factory=lambda: skill_rewards(squat_goal))
    terminations: dict[str, TerminationTerm] = field(default_factory=lambda: skill_terminations(True))
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {"pelvis_height": PelvisHeightCommandCfg()})
    events: dict[str, EventTerm] = field(default_factory=skill_events)
    actions: dict[str, ActionTermCfg] = field(
        default_factory=lambda: {"joint_pos": JointPositionActionCfg(scale=0.25)}
    )
    # 0.005 s x 4 = 50 Hz control.
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.005))
    decimation: int = 4
    num_envs: int = 256
    episode_length_s: float = 10.0
    base_body: str = PELVIS
    keyframe: str | None = "home"
    humanoid: Humanoid = field(default_factory=Humanoid)


@dataclass
class H1SquatCfg(H1SkillCfg):
    pass


@dataclass
class H1ReachCfg(H1SkillCfg):
    observations: dict[str, ObsGroupCfg] = field(default_factory=lambda: skill_observations(reach_goal))
    rewards: dict[str, RewardTerm] = field(default_factory=lambda: skill_rewards(reach_goal))
    terminations: dict[str, TerminationTerm] = field(default_factory=lambda: skill_terminations(False))
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {"wrist_targets": WristTargetCommandCfg()})


def step_rewards() -> dict[str, RewardTerm]:
    rewards = skill_rewards(step_goal)
    floor = rewards.pop("floor_total_at_zero")  # stays last
    rewards["step_progress"] = RewardTerm(step_progress, weight=2.0)
    rewards["floor_total_at_zero"] = floor
    return rewards


@dataclass
class H1StepCfg(H1SkillCfg):
    observations: dict[str, ObsGroupCfg] = field(default_factory=lambda: skill_observations(step_goal))
    rewards: dict[str, RewardTerm] = field(default_factory=step_rewards)
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {"foot_targets": FootTargetCommandCfg()})
    curriculum: dict[str, CurriculumTerm] = field(
        default_factory=lambda: {"step_radius": CurriculumTerm(step_radius_levels)}
    )


@dataclass
class H1WalkCfg(H1SkillCfg):
    observations: dict[str, ObsGroupCfg] = field(default_factory=walk_observations)
    rewards: dict[str, RewardTerm] = field(default_factory=walk_rewards)
    terminations: dict[str, TerminationTerm] = field(default_factory=lambda: skill_terminations(False))
    commands: dict[str, CommandTermCfg] = field(
        default_factory=lambda: {"base_velocity": dataclasses.replace(WALK_COMMAND)}
    )
    curriculum: dict[str, CurriculumTerm] = field(
        default_factory=lambda: {"command_levels": CurriculumTerm(mdp.command_levels, params={"start": 0.5})}
    )
    episode_length_s: float = 20.0


def with_standing(cfg: H1WalkCfg) -> H1WalkCfg:
    """The stand fine-tune of a walking preset, meant for `--init-from` a walker that already steps: under a
    command slower than 0.1 the gait stands and its observed clock stops (`biped_gait`), stand_still at the
    velocity recipe's -0.5 (at -1 and -2 the fine-tunes lost the gait), 20% stand commands. Measured in
    docs/skillblender.md (`20261126-190135-walk-stand-clock3`, 500 iterations)."""
    rewards = dict(cfg.rewards)
    rewards["stand_still"] = RewardTerm(biped_gait.stand_still, weight=-0.5)
    walk = cfg.commands["base_velocity"]
    assert isinstance(walk, VelocityCommandCfg)
    return dataclasses.replace(
        cfg,
        rewards=rewards,
        commands={**cfg.commands, "base_velocity": dataclasses.replace(walk, standing_fraction=0.2)},
        curriculum={
            **cfg.curriculum,
            "stand_from_step": CurriculumTerm(biped_gait.stand_from_step, params={"step": 0}),
        },
    )


# -- what the blender needs to know about each skill ---------------------------------------------------


def goal_slot(env_cfg: Any) -> SkillGoal | None:
    """A skill's goal slot, read from its config: the command that its policy observation's first term reads
    (the term's `command` param, else that function's default) and that command's range: a skill command's
    `goal_slot`, a velocity command's (vx, vy, yaw rate) ranges. None when the first term reads no command."""
    policy = env_cfg.observations.get("policy")
    if policy is None or not policy.terms:
        return None
    first = next(iter(policy.terms.values()))
    name = first.params.get("command")
    if name is None:
        param = inspect.signature(first.func).parameters.get("command")
        name = None if param is None else param.default
    cmd = env_cfg.commands.get(name) if isinstance(name, str) else None
    if isinstance(cmd, VelocityCommandCfg):
        ranges = (cmd.lin_vel_x, cmd.lin_vel_y, cmd.ang_vel_z)
        return SkillGoal(VelocityCommand.names, tuple(r[0] for r in ranges), tuple(r[1] for r in ranges))
    slot = getattr(cmd, "goal_slot", None)
    return slot(env_cfg) if slot is not None else None


def h1_skill_ppo() -> PpoCfg:
    """CPU preset for the skills (2 cores): the shared CPU PPO with a smaller initial action noise.

    H1 is top-heavy: 0.25 rad of random joint offsets every 20 ms (std 1.0 x scale 0.25) topples it at
    once, so exploration starts at std 0.5 as for Go2 (envs/locomotion/go2_velocity.py, go2_flat_cpu_ppo).
    """
    return PpoCfg.cpu(num_envs=256, init_noise_std=0.5, entropy_coef=0.005, torch_threads=1)


register_task(
    "H1-Skill-Squat", H1SquatCfg, "Unitree H1 skill: squat to a target pelvis height", presets={"ppo": h1_skill_ppo}
)
register_task(
    "H1-Skill-Reach", H1ReachCfg, "Unitree H1 skill: move both wrists to targets", presets={"ppo": h1_skill_ppo}
)
register_task(
    "H1-Skill-Step", H1StepCfg, "Unitree H1 skill: step both feet to xy targets", presets={"ppo": h1_skill_ppo}
)


def h1_walk_ppo() -> PpoCfg:
    """The skills' preset with the trot recipe's PPO settings, mirror augmentation included."""
    return PpoCfg.cpu(num_envs=256, **TROT_CPU_PPO)


register_task(
    "H1-Skill-Walk", H1WalkCfg, "Unitree H1 skill: track (vx, vy, yaw rate) commands", presets={"ppo": h1_walk_ppo}
)

SKILL_GOALS: dict[str, SkillGoal] = {}
"""Each skill task's goal slot (`goal_slot` of its default config)."""
for _task, _cfg in (("H1-Skill-Squat", H1SquatCfg), ("H1-Skill-Reach", H1ReachCfg), ("H1-Skill-Step", H1StepCfg),
                    ("H1-Skill-Walk", H1WalkCfg)):  # fmt: skip
    _slot = goal_slot(_cfg())
    assert _slot is not None
    SKILL_GOALS[_task] = _slot
