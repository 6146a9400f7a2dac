"""The humanoid gait clock and its rewards (envs/humanoid/biped_gait.py), on the H1 walking skill."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from robolearn.core import mdp
from robolearn.core.symmetry import Mirror
from robolearn.envs.humanoid import biped_gait
from robolearn.envs.humanoid.h1_skills import FEET, with_standing
from robolearn.registry import get_task, make_env

PERIOD = biped_gait.WALK_PERIOD


def _standing_cfg():
    return with_standing(get_task("H1-Skill-Walk").env_cfg())


@pytest.fixture(scope="module")
def env():
    return make_env("H1-Skill-Walk", _standing_cfg(), num_envs=2)


def _at_phase(env, phases: list[float], command: tuple[float, float, float] = (0.5, 0.0, 0.0)) -> None:
    """Each world's clock set to the given fraction of the gait cycle, under a walking command."""
    steps = torch.tensor([round(p * PERIOD / env.step_dt) for p in phases])
    env.episode_length_buf[:] = steps.to(env.episode_length_buf)
    env.command_manager.get_command("base_velocity")[:] = torch.tensor(command).to(env.command_manager.get_command("base_velocity"))


def _pose(env, joint_pos: torch.Tensor) -> None:
    """Robot joints set (base upright at the keyframe's height), kinematics recomputed."""
    env.reset(seed=0)
    env.sim.qpos[:, 3:7] = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=env.sim.qpos.dtype)
    env.sim.qpos[:, 7 : 7 + 19] = joint_pos.to(env.sim.qpos)
    env.sim.forward()


def test_the_swing_leg_folds_half_a_cycle_apart_with_double_support_between(env):
    # 0.64 s at 50 Hz is exactly 32 steps: phases 0.25 and 0.75 are steps 8 and 24.
    _at_phase(env, [0.25, 0.75])
    swing = biped_gait.swing_signal(env)
    assert torch.allclose(swing, torch.tensor([[1.0, 0.0], [0.0, 1.0]]), atol=1e-5)  # left, then right
    _at_phase(env, [0.0, 0.5])
    assert torch.equal(biped_gait.swing_signal(env), torch.zeros(2, 2))  # both feet down at the crossings
    assert torch.allclose(biped_gait.reference_joint_pos(env), env.robot.default_joint_pos.expand(2, -1))


def test_reference_pose_lifts_the_swing_foot_by_the_asked_clearance(env):
    _at_phase(env, [0.25, 0.75])
    ref = biped_gait.reference_joint_pos(env)
    _pose(env, ref)
    ids = [env.scene.model.body(f).id for f in FEET]
    z = env.sim.xpos[:, ids, 2]
    lift = torch.stack([z[0, 0] - z[0, 1], z[1, 1] - z[1, 0]])  # swing foot above the stance foot
    assert ((lift > 0.8 * biped_gait.SWING_HEIGHT) & (lift < 1.5 * biped_gait.SWING_HEIGHT)).all(), lift
    # At that pose the clearance term pays in full (swinging foot high enough), and the reference term peaks.
    _at_phase(env, [0.25, 0.75])  # the stance foot is at its default height: the base is at the keyframe's
    assert torch.allclose(biped_gait.gait_reference_pose(env), torch.ones(2), atol=1e-4)
    assert torch.allclose(biped_gait.swing_foot_clearance(env), torch.ones(2), atol=1e-4)


def test_clearance_is_zero_for_a_foot_left_on_the_ground_and_contact_follows_the_clock(env):
    _pose(env, env.robot.default_joint_pos.expand(2, -1))
    _at_phase(env, [0.25, 0.75])
    assert torch.allclose(biped_gait.swing_foot_clearance(env), torch.zeros(2), atol=1e-3)
    for _ in range(5):  # settle onto both feet
        env.step(torch.zeros(2, 19))
    _at_phase(env, [0.25, 0.0])
    # Both feet down: mid left swing matches one foot of two, a crossing (double support) both.
    assert torch.allclose(biped_gait.biped_contact(env), torch.tensor([0.5, 1.0]))


def test_a_world_commanded_to_stand_keeps_both_feet_down_in_the_default_pose(env):
    _pose(env, env.robot.default_joint_pos.expand(2, -1))
    for _ in range(5):  # settle onto both feet
        env.step(torch.zeros(2, 19))
    env.term_state["biped_gait"]["stand_at_zero_command"] = True  # the curriculum's second stage
    _at_phase(env, [0.25, 0.75], command=(0.05, 0.0, 0.05))  # below the stand threshold
    assert torch.equal(biped_gait.swing_signal(env), torch.zeros(2, 2))
    assert torch.allclose(biped_gait.reference_joint_pos(env), env.robot.default_joint_pos.expand(2, -1))
    # mid swing by the clock, yet both feet should stand
    assert torch.allclose(biped_gait.biped_contact(env), torch.ones(2))
    _at_phase(env, [0.25, 0.75], command=(0.0, 0.0, 0.3))  # turning in place steps
    assert (biped_gait.swing_signal(env).amax(dim=-1) > 0.9).all()
    assert torch.allclose(biped_gait.biped_contact(env), torch.full((2,), 0.5))
    env.term_state["biped_gait"].pop("stand_at_zero_command")


def test_the_observed_clock_stops_in_worlds_told_to_stand(env):
    _at_phase(env, [0.25, 0.75], command=(0.5, 0.0, 0.0))
    running = biped_gait.gait_clock(env)
    assert torch.allclose(running, mdp.gait_phase(env, PERIOD))
    env.command_manager.get_command("base_velocity")[1] = torch.tensor([0.05, 0.0, 0.05]).to(env.command_manager.get_command("base_velocity"))
    assert torch.equal(biped_gait.gait_clock(env)[1], torch.tensor(biped_gait.STOPPED_CLOCK))
    assert torch.allclose(biped_gait.gait_clock(env)[0], running[0])


def test_walking_skill_mirrors_with_its_clock(env):
    perm, sign = Mirror(env).groups["policy"]
    # goal (vx, vy, yaw rate): y and yaw flip; the clock moves half a period: (sin, cos) flips.
    assert sign[:5].tolist() == [1.0, -1.0, -1.0, -1.0, -1.0]
    assert perm[:5].tolist() == [0, 1, 2, 3, 4]


def test_the_preset_steps_at_zero_command_and_the_stand_fine_tune_stands_once_the_curriculum_lets_it():
    preset = make_env("H1-Skill-Walk", num_envs=2)
    preset.reset(seed=0)
    _at_phase(preset, [0.25, 0.75], command=(0.0, 0.0, 0.0))
    assert not biped_gait.standing_enabled(preset)  # the preset never asks for standing
    assert (biped_gait.swing_signal(preset).amax(dim=-1) > 0.9).all()
    assert torch.allclose(biped_gait.gait_clock(preset), mdp.gait_phase(preset, PERIOD))

    cfg = _standing_cfg()
    env = make_env(
        "H1-Skill-Walk", dataclasses.replace(cfg, curriculum={}), num_envs=2
    )  # as evaluation runs it
    env.reset(seed=0)
    _at_phase(env, [0.25, 0.75], command=(0.0, 0.0, 0.0))
    assert biped_gait.standing_enabled(env)
    assert torch.equal(biped_gait.swing_signal(env), torch.zeros(2, 2))
    assert biped_gait.stand_from_step(env, torch.arange(2), step=100) == 0.0  # step 0 of 100: still off
    assert not biped_gait.standing_enabled(env)
    assert (biped_gait.swing_signal(env).amax(dim=-1) > 0.9).all()  # zero commands step
    assert torch.allclose(biped_gait.gait_clock(env), mdp.gait_phase(env, PERIOD))  # and see the clock run
    env.common_step_counter = 100
    assert biped_gait.stand_from_step(env, torch.arange(2), step=100) == 1.0
    assert biped_gait.standing_enabled(env)
    assert torch.equal(biped_gait.swing_signal(env), torch.zeros(2, 2))
    assert torch.allclose(biped_gait.stand_still(env), mdp.stand_still(env))
