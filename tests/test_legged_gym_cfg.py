"""legged_gym configs on robolearn: the A1 rough config (tests/legged_gym_a1.py, legged_gym's form) reads into a
velocity task whose observation is legged_gym's (235 values with the height map), whose reward scales sit on
robolearn's terms of the same meaning, and whose unknown rewards are named."""

from __future__ import annotations

import dataclasses
import math

import legged_gym_a1 as lg
import pytest
import torch

from robolearn.core.env import ManagerBasedRlEnv
from robolearn.envs.locomotion.legged_gym import LeggedGymConfigError, from_legged_gym


def test_a1_rough_config_reads_into_a_task_with_legged_gyms_terms():
    conv = from_legged_gym(lg.A1RoughCfg)
    cfg = conv.env_cfg
    assert cfg.scene.robot == "a1" and cfg.scene.terrain.kind == "rough"
    assert (cfg.sim.dt, cfg.decimation, cfg.actions["joint_pos"].scale) == (0.005, 4, 0.25)
    assert set(cfg.scene.pd_gains.values()) == {(20.0, 0.5)} and len(cfg.scene.pd_gains) == 12
    weights = {k: t.weight for k, t in cfg.rewards.items()}
    # Zero scales dropped (as legged_gym does); the A1 file's overrides win over the base class.
    assert weights == {
        "tracking_lin_vel": 1.0, "tracking_ang_vel": 0.5, "lin_vel_z": -2.0, "ang_vel_xy": -0.05,
        "torques": -0.0002, "dof_acc": -2.5e-7, "feet_air_time": 1.0, "collision": -1.0, "action_rate": -0.01,
        "dof_pos_limits": -10.0,
    }  # fmt: skip
    assert cfg.rewards["tracking_lin_vel"].params["std"] == pytest.approx(math.sqrt(0.25))
    assert cfg.rewards["dof_pos_limits"].params["soft_ratio"] == 0.9
    assert conv.unknown_rewards == []
    # Contacts by legged_gym's substring rule on the menagerie A1: calf bodies carry the feet, thigh and calf
    # bodies are penalized, and "base" is the root ("trunk").
    assert sorted(cfg.scene.contact_sensors["feet"].bodies) == ["FL_calf", "FR_calf", "RL_calf", "RR_calf"]
    assert cfg.scene.contact_sensors["terminate"].bodies == ("trunk",)
    assert len(cfg.scene.contact_sensors["penalized"].bodies) == 8
    obs = cfg.observations["policy"].terms
    assert list(obs) == ["base_lin_vel", "base_ang_vel", "projected_gravity", "commands", "dof_pos", "dof_vel",
                         "actions", "heights"]  # fmt: skip
    assert (obs["base_lin_vel"].scale, obs["dof_vel"].noise, obs["heights"].scale) == (2.0, 1.5, 5.0)
    assert set(cfg.events) == {"reset_base", "reset_joints", "friction", "push"}
    assert "terrain_levels" in cfg.curriculum
    assert any("only_positive_rewards" in n for n in conv.notes)


def test_the_read_task_observes_what_legged_gym_declares_and_steps():
    cfg = from_legged_gym(lg.A1RoughCfg).env_cfg
    env = ManagerBasedRlEnv(dataclasses.replace(cfg, num_envs=2))
    obs, _ = env.reset()
    assert obs["policy"].shape == (2, lg.A1RoughCfg.env.num_observations)  # 48 + 17 x 11 heights
    for _ in range(5):
        obs, reward, *_ = env.step(torch.zeros(2, 12))
    assert torch.isfinite(obs["policy"]).all() and torch.isfinite(reward).all()
    command = env.command_manager.get_command("base_velocity")
    # The command enters the observation scaled like legged_gym's commands_scale: (2, 2, 0.25).
    env.observation_manager.groups["policy"].enable_noise = False
    policy = env.observation_manager.compute_group("policy", update_history=False)
    assert torch.allclose(policy[:, 9:12], command * torch.tensor([2.0, 2.0, 0.25]), atol=1e-6)


def test_a_forks_own_rewards_are_listed_by_name():
    conv = from_legged_gym(lg.A1HInfForkCfg)
    assert conv.unknown_rewards == ["feet_stumble", "hip_pos", "torque_limits"]
    assert conv.env_cfg.scene.terrain.kind == "flat"
    assert "heights" not in conv.env_cfg.observations["policy"].terms


def test_a_config_robolearn_cannot_read_names_the_field():
    class Anymal(lg.A1RoughCfg):
        class asset(lg.A1RoughCfg.asset):
            file = "{LEGGED_GYM_ROOT_DIR}/resources/robots/anymal_c/urdf/anymal_c.urdf"
            name = "anymal_c"

    with pytest.raises(
        LeggedGymConfigError, match=r"^Anymal: asset.file='.*anymal_c.urdf' .* is not a robot"
    ):
        from_legged_gym(Anymal)

    class Torque(lg.A1RoughCfg):
        class control(lg.A1RoughCfg.control):
            control_type = "T"

    with pytest.raises(LeggedGymConfigError, match="control.control_type='T'"):
        from_legged_gym(Torque)


def test_a_registered_legged_gym_config_is_a_task(capsys):
    import gymnasium as gym

    from robolearn import registry
    from robolearn.envs.locomotion.legged_gym import register_legged_gym

    name = "A1-Legged-Gym-Fork-Test"
    register_legged_gym(name, lg.A1HInfForkCfg)
    try:
        assert "feet_stumble, hip_pos, torque_limits" in capsys.readouterr().out
        spec = registry.get_task(name)
        assert spec.env_cfg().scene.robot == "a1"
        assert spec.presets["ppo"]().critic_obs_groups == ("policy",)
    finally:  # the rest of the session's tests list every task: leave the registry as it was
        registry._TASKS.pop(name, None)
        gym.registry.pop(f"robolearn/{name}-v0", None)
