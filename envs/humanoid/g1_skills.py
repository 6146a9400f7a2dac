"""The four SkillBlender primitive skills on the Unitree G1: `G1-Skill-Squat`, `-Reach`, `-Step`,
`-Walk`; and the first G1 SkillBench task, `G1-SkillBench-Reach` (the H1 task's waypoints, which hang from
the robot's own default wrist points and pelvis height, blended from the G1 reach and squat skills).

Same observations, goals, rewards and terminations as the H1 skills (envs/humanoid/h1_skills.py); only the
robot description (`Humanoid`) differs. The paper's G1 has 21 actuated joints; menagerie's `g1_mjx` has 29,
so its waist roll and pitch and the three wrist joints per arm are locked (removed from the model, the
bodies welded at zero): 12 leg joints, waist yaw, and 4 per arm remain.

Where this differs from the authors: the gains are menagerie's (kp 75 / kd 2, ankles 20 / 2), not a tuned
set; the default pose is menagerie's `knees_bent` keyframe (hip pitch -0.31, knee 0.67, ankle -0.36).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from robolearn.envs.humanoid.h1_skillbench import (
    BENCH_SKILLS,
    SKILLBENCH_PRESETS,
    H1ReachWaypointsCfg,
    bench_scene,
    reach_error,
)
from robolearn.envs.humanoid.h1_skills import (
    SKILL_GOALS,
    H1ReachCfg,
    H1SkillCfg,
    H1SquatCfg,
    H1StepCfg,
    H1WalkCfg,
    Humanoid,
    goal_slot,
    h1_skill_ppo,
    h1_walk_ppo,
    humanoid_scene,
)
from robolearn.registry import register_task

G1_LOCKED_JOINTS = ("waist_roll_joint", "waist_pitch_joint", ".*_wrist_(roll|pitch|yaw)_joint")
G1_SQUAT_RANGE = (0.50, 0.75)
"""Pelvis height targets (m): from the `knees_bent` pose (0.755) down to thighs short of horizontal."""
G1 = Humanoid(
    robot="g1",
    feet=("left_ankle_roll_link", "right_ankle_roll_link"),
    # The hand collision geom's centre on the (locked) wrist.
    wrist_bodies=("left_wrist_yaw_link", "right_wrist_yaw_link"),
    wrist_offset=(0.11, 0.0, 0.0),
    # Bodies with floor contact pairs in menagerie's g1_mjx scene (it collides through explicit pairs only).
    upper_body=(
        "pelvis",
        "torso_link",
        "left_shoulder_yaw_link",
        "left_elbow_link",
        "right_shoulder_yaw_link",
        "right_elbow_link",
    ),
    legs=(
        "left_hip_roll_link",
        "left_hip_yaw_link",
        "left_knee_link",
        "right_hip_roll_link",
        "right_hip_yaw_link",
        "right_knee_link",
    ),
    pd_gains={},  # menagerie's position servos as they are
    standing_height=0.755,
    squat_range=G1_SQUAT_RANGE,
    fast_model=True,
    locked_joints=G1_LOCKED_JOINTS,
    keyframe="knees_bent",
)


G1_TRUNK = ("pelvis", "torso_link", "left_shoulder_yaw_link", "right_shoulder_yaw_link")
"""SkillBench's illegal contacts on the G1: its upper body less the forearms, which may touch objects."""


def on_g1(cfg_cls: type[H1SkillCfg], trunk: tuple[str, ...] | None = None) -> Callable[[], H1SkillCfg]:
    """The H1 skill config `cfg_cls` with the G1 as its robot; `trunk`: a SkillBench task's guarded bodies."""

    def make() -> H1SkillCfg:
        cfg = cfg_cls()
        cfg.humanoid = dataclasses.replace(G1)
        kind = cfg.scene.terrain.kind
        cfg.scene = (
            humanoid_scene(kind, humanoid=cfg.humanoid)
            if trunk is None
            else bench_scene(kind, humanoid=cfg.humanoid, trunk=trunk, entities=cfg.scene.entities)
        )
        cfg.keyframe = G1.keyframe
        return cfg

    return make


for _skill, _cfg, _ppo, _what in (
    ("Squat", H1SquatCfg, h1_skill_ppo, "squat to a target pelvis height"),
    ("Reach", H1ReachCfg, h1_skill_ppo, "move both wrists to targets"),
    ("Step", H1StepCfg, h1_skill_ppo, "step both feet to xy targets"),
    ("Walk", H1WalkCfg, h1_walk_ppo, "track (vx, vy, yaw rate) commands"),
):
    _slot = goal_slot(on_g1(_cfg)())
    assert _slot is not None
    SKILL_GOALS[f"G1-Skill-{_skill}"] = _slot
    register_task(f"G1-Skill-{_skill}", on_g1(_cfg), f"Unitree G1 (21 joints) skill: {_what}", presets={"ppo": _ppo})

register_task(
    "G1-SkillBench-Reach",
    on_g1(H1ReachWaypointsCfg, trunk=G1_TRUNK),
    "Unitree G1 SkillBench: both wrists to waypoints from knee to chest height (blend of reach + squat skills)",
    presets=SKILLBENCH_PRESETS,
    accuracy=reach_error,
)
BENCH_SKILLS["G1-SkillBench-Reach"] = ("G1-Skill-Reach", "G1-Skill-Squat")
