"""A1 H-infinity tasks: they build, and the hind-leg terms read the posture they are meant to reward."""

from __future__ import annotations

import math

import torch

from robolearn.envs.locomotion.a1_hinf import _heading_velocity, upright_on_hind_legs
from robolearn.registry import get_task, make_env


def test_velocity_task_builds_with_a_trunk_and_the_cost_terms():
    env = make_env("A1-Velocity-HInf", num_envs=2)
    assert env.scene.model.body(env.cfg.base_body).name == "trunk"
    assert {"track_lin_vel_xy", "track_ang_vel_z"} <= set(env.reward_manager.terms)
    spec = get_task("A1-Velocity-HInf")
    assert spec.default_algo == "hinf" and spec.presets["hinf"]().force_max == 60.0


def test_hind_leg_terms_follow_the_trunk_pose():
    env = make_env("A1-HindLegs-HInf", num_envs=2)
    # World 0 stays on four legs; world 1 is pitched 90 degrees nose-up (body x-axis vertical) and moves +x.
    half = math.pi / 4  # quaternion of a -90 degree rotation about y: nose up
    env.sim.qpos[1, 3:7] = torch.tensor([math.cos(half), 0.0, -math.sin(half), 0.0], dtype=env.sim.qpos.dtype)
    env.sim.qvel[1, :3] = torch.tensor([0.4, 0.0, 0.0], dtype=env.sim.qvel.dtype)
    env.sim.forward()
    env.robot.update()
    upright = upright_on_hind_legs(env)
    assert upright[0] < 0.01 and upright[1] > 0.99, upright
    # The belly faces +x when the nose points up, so walking along +x is forward in the heading frame.
    vel = _heading_velocity(env)
    assert abs(float(vel[1, 0]) - 0.4) < 1e-4 and abs(float(vel[1, 1])) < 1e-4, vel


def test_rough_task_sees_the_terrain_and_trains_on_a_pyramidal_cone():
    import mujoco

    from robolearn.robots import robot_model

    env = make_env("A1-Velocity-Rough-HInf", num_envs=2)
    assert "height_scan" in env.observation_manager.groups["policy"].terms
    assert env.scene.terrain_origins is not None
    # Training uses the cheaper pyramidal friction cone; the full model (sim2sim) keeps menagerie's elliptic one.
    assert env.scene.model.opt.cone == mujoco.mjtCone.mjCONE_PYRAMIDAL
    assert robot_model("a1").opt.cone == mujoco.mjtCone.mjCONE_ELLIPTIC
