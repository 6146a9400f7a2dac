"""The SkillBlender skills on the G1: 21 actuated joints with the waist and wrists locked."""

from __future__ import annotations

import pytest
import torch

from robolearn.core.symmetry import Mirror
from robolearn.envs.humanoid import g1_skills, h1_skills
from robolearn.envs.humanoid.h1_skills import SKILL_GOALS
from robolearn.registry import make_env
from robolearn.scene import SceneCfg, build_scene

G1_TASKS = ("G1-Skill-Squat", "G1-Skill-Reach", "G1-Skill-Step", "G1-Skill-Walk")


def test_locking_the_waist_and_wrists_leaves_the_papers_21_joints():
    scene = build_scene(SceneCfg(robot="g1", locked_joints=g1_skills.G1_LOCKED_JOINTS))
    assert len(scene.joint_names) == scene.model.nu == 21
    assert "waist_yaw_joint" in scene.joint_names
    assert not any("wrist" in n or n in ("waist_roll_joint", "waist_pitch_joint") for n in scene.joint_names)
    assert scene.model.key_qpos.shape[1] == scene.model.nq == 7 + 21  # keyframes lost the locked entries
    with pytest.raises(ValueError, match="locked_joints.*no_such_joint"):
        build_scene(SceneCfg(robot="g1", locked_joints=("no_such_joint",)))


@pytest.mark.parametrize("task", G1_TASKS)
def test_g1_skill_builds_stands_and_keeps_the_h1_observation_layout(task):
    env = make_env(task, num_envs=2)
    assert env.num_actions == 21
    default = dict(zip(env.robot.joint_names, env.robot.default_joint_pos.tolist(), strict=True))
    assert default["left_knee_joint"] == pytest.approx(0.669)  # menagerie's knees_bent keyframe
    goal = SKILL_GOALS[task]
    clock = 2 if task.endswith("Walk") else 0
    assert env.observation_dims()["policy"] == goal.dim + clock + 21 * 3 + 6  # goal, [clock], shared tail
    obs, _ = env.reset(seed=0)
    for _ in range(25):  # half a second of default-pose targets: it stands
        obs, reward, terminated, _, _ = env.step(torch.zeros(2, 21))
        assert torch.isfinite(reward).all() and all(torch.isfinite(v).all() for v in obs.values())
    assert not terminated.any()
    height = env.robot.root_pos_w[:, 2] - env.env_origins[:, 2]
    assert ((height > 0.65) & (height < 0.8)).all(), height


def test_g1_goals_use_its_own_squat_range_bodies_and_mirror():
    env = make_env("G1-Skill-Squat", num_envs=64)
    env.reset(seed=0)
    heights = env.command_manager.get_command("pelvis_height")[:, 0]
    lo, hi = g1_skills.G1_SQUAT_RANGE
    assert (heights >= lo).all() and (heights <= hi).all() and heights.max() < 0.8  # not the H1's 0.65-1.0
    walk = make_env("G1-Skill-Walk", num_envs=2)
    walk.reset(seed=0)
    feet = h1_skills.feet_pos_w(walk)
    assert (feet[..., 2] < 0.1).all()  # the ankle roll links, on the ground
    assert ((feet[:, 0, :2] - feet[:, 1, :2]).norm(dim=-1) > 0.1).all()  # two feet, not one body twice
    Mirror(walk)  # every joint pairs with its mirror image; waist yaw flips
