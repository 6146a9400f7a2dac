"""Isaac Lab task configs on robolearn: Isaac Lab's Go2 velocity config (tests/isaaclab_go2_velocity.py, Isaac
Lab's form with only its imports changed) converts, builds, steps and trains; what robolearn cannot run is
refused by name and config field."""

from __future__ import annotations

import dataclasses
import inspect
import math

import isaaclab_go2_velocity as go2
import pytest
import torch

from robolearn.adapters.isaaclab_cfg import (
    UNITREE_GO1_CFG,
    GaussianNoiseCfg,
    IsaacLabConfigError,
    RewardTermCfg,
    configclass,
    convert,
    mdp,
    register,
    replace,
    sim_utils,
    to_env_cfg,
)
from robolearn.core.env import ManagerBasedRlEnv


def _env(cfg, num_envs: int = 4) -> ManagerBasedRlEnv:
    return ManagerBasedRlEnv(dataclasses.replace(to_env_cfg(cfg), num_envs=num_envs))


def test_go2_flat_config_keeps_isaac_labs_terms_weights_and_post_init_edits():
    conv = convert(go2.UnitreeGo2FlatEnvCfg())
    cfg = conv.env_cfg
    assert cfg.scene.robot == "go2" and cfg.scene.terrain.kind == "flat"
    assert (cfg.sim.dt, cfg.decimation, cfg.episode_length_s) == (0.005, 4, 20.0)
    # Declaration order is observation order (Isaac Lab's "order preserved"); the flat task removed height_scan.
    assert list(cfg.observations["policy"].terms) == [
        "base_lin_vel", "base_ang_vel", "projected_gravity", "velocity_commands", "joint_pos", "joint_vel", "actions",
    ]  # fmt: skip
    assert cfg.observations["policy"].terms["joint_vel"].noise == 1.5
    assert cfg.observations["policy"].enable_noise
    weights = {k: t.weight for k, t in cfg.rewards.items()}
    # The Go2 rough and flat __post_init__ edits, in order: flat's win where both set a weight.
    assert weights["flat_orientation_l2"] == -2.5 and weights["feet_air_time"] == 0.25
    assert weights["track_lin_vel_xy_exp"] == 1.5 and weights["action_rate_l2"] == -0.005
    assert "undesired_contacts" not in weights and cfg.curriculum == {}
    assert cfg.rewards["base_height_l2"].params["sensor_cfg"] is None
    # ".*_foot" bodies are the menagerie Go2's foot geoms; the base contact group is the base body.
    feet = cfg.rewards["feet_air_time"].params["sensor_cfg"].group
    assert cfg.scene.contact_sensors[feet].geoms == ("FL", "FR", "RL", "RR")
    base = cfg.terminations["base_contact"].params["sensor_cfg"].group
    assert cfg.scene.contact_sensors[base].bodies == ("base",)
    assert cfg.actions["joint_pos"].scale == 0.25
    assert cfg.scene.pd_gains["FL_calf_joint"] == (25.0, 0.5)
    assert any(n.startswith("sim.physics") for n in conv.notes)


def test_go2_flat_and_rough_build_and_step_with_isaac_labs_observation_sizes():
    # Isaac Lab's Go2 policy observes 48 values on flat ground and 235 with the 17 x 11 height scan.
    for cls, width in ((go2.UnitreeGo2FlatEnvCfg, 48), (go2.UnitreeGo2RoughEnvCfg, 235)):
        env = _env(cls())
        obs, _ = env.reset()
        assert obs["policy"].shape == (4, width)
        for _ in range(10):
            obs, reward, terminated, truncated, _ = env.step(torch.zeros(4, 12))
        assert torch.isfinite(obs["policy"]).all() and torch.isfinite(reward).all()
        assert not terminated.any()  # standing in its default pose, the base never touches the ground


def test_startup_events_randomize_the_robot_as_configured():
    env = _env(go2.UnitreeGo2FlatEnvCfg())
    robot_geoms = torch.isin(
        torch.as_tensor(env.scene.model.geom_bodyid), torch.as_tensor(env.robot.body_ids)
    )
    friction = env.sim.model_field("geom_friction")[:, :, 0]
    assert torch.allclose(friction[:, robot_geoms], torch.tensor(0.6, dtype=friction.dtype))
    base_mass = env.sim.model_field("body_mass")[:, env.robot.base_id]
    nominal = float(env.scene.model.body_mass[env.robot.base_id])
    assert ((base_mass >= nominal / 1.25 - 1e-9) & (base_mass <= nominal * 1.25 + 1e-9)).all()
    assert base_mass.unique().numel() == 4  # one draw per world


def test_heading_command_steers_the_yaw_rate_toward_the_drawn_heading():
    env = _env(go2.UnitreeGo2FlatEnvCfg())
    env.reset()
    env.step(torch.zeros(4, 12))
    term = env.command_manager.get_term("base_velocity")
    from robolearn.math import wrap_to_pi, yaw_from_quat

    yaw = yaw_from_quat(env.robot.root_quat_w).float()
    expected = (0.5 * wrap_to_pi(term.heading_target - yaw)).clamp(-1.0, 1.0)
    steer = term.is_heading & ~term.standing
    assert steer.any()
    assert torch.allclose(term.command[steer, 2], expected[steer], atol=1e-5)


def test_term_functions_keep_isaac_labs_parameter_names():
    sig = inspect.signature
    assert list(sig(mdp.track_lin_vel_xy_exp).parameters) == ["env", "std", "command_name", "asset_cfg"]
    assert list(sig(mdp.feet_air_time).parameters) == ["env", "command_name", "sensor_cfg", "threshold"]
    assert list(sig(mdp.reset_joints_by_scale).parameters) == [
        "env", "env_ids", "position_range", "velocity_range", "asset_cfg"]  # fmt: skip
    assert sig(mdp.base_lin_vel).parameters["asset_cfg"].default.name == "robot"
    # Every covered name is a function of robolearn's, not the stand-in of an uncovered Isaac Lab term.
    assert all(inspect.isfunction(getattr(mdp, name)) for name in mdp.COVERED)


def test_an_uncovered_term_function_is_refused_naming_it_and_the_field():
    @configclass
    class WithTorqueLimits(go2.UnitreeGo2FlatEnvCfg):
        def __post_init__(self):
            super().__post_init__()
            self.rewards.torque_limits = RewardTermCfg(func=mdp.applied_torque_limits, weight=-0.1)

    with pytest.raises(IsaacLabConfigError) as info:
        convert(WithTorqueLimits())
    message = str(info.value)
    assert message.startswith("WithTorqueLimits: rewards.torque_limits.func is Isaac Lab's mdp.applied_torque_limits")
    assert "covered functions: base_lin_vel" in message and "feet_air_time" in message


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: setattr(c.scene, "robot", UNITREE_GO1_CFG), "scene.robot.actuators['base_legs'] is an ActuatorNetMLPCfg"),
        (lambda c: setattr(c.scene, "robot", replace(c.scene.robot, spawn=sim_utils.UsdFileCfg(usd_path="/x/spot.usd"))),
         "scene.robot.spawn.usd_path='/x/spot.usd' is not a robot"),
        (lambda c: setattr(c.observations.policy.joint_vel, "noise", GaussianNoiseCfg(std=0.1)),
         "observations.policy.joint_vel.noise"),
        (lambda c: setattr(c.rewards.feet_air_time.params["sensor_cfg"], "body_names", ".*_toe"),
         "rewards.feet_air_time.params['sensor_cfg']: body_names ['.*_toe'] of sensor 'contact_forces' match no body"),
        (lambda c: setattr(c.scene.terrain, "terrain_type", "usd"), "scene.terrain.terrain_type='usd'"),
    ],
)  # fmt: skip
def test_what_robolearn_cannot_run_is_refused_by_field(edit, message):
    cfg = go2.UnitreeGo2FlatEnvCfg()
    edit(cfg)
    with pytest.raises(IsaacLabConfigError, match="^UnitreeGo2FlatEnvCfg: ") as info:
        convert(cfg)
    assert message in str(info.value)


def test_configclass_gives_each_instance_its_own_defaults():
    a, b = go2.UnitreeGo2FlatEnvCfg(), go2.UnitreeGo2FlatEnvCfg()
    a.rewards.feet_air_time.params["threshold"] = 9.0
    assert b.rewards.feet_air_time.params["threshold"] == 0.5
    assert a.rewards.track_lin_vel_xy_exp.params["std"] == math.sqrt(0.25)


def test_robolearn_train_trains_a_registered_isaac_lab_config(tmp_path):
    import gymnasium as gym

    from robolearn import registry
    from robolearn.cli import main

    name = "Isaac-Velocity-Flat-Unitree-Go2-Test"
    register(name, go2.UnitreeGo2FlatEnvCfg)
    try:
        runs = tmp_path / "runs"
        rc = main(["train", name, "--num-envs", "8", "--max-iterations", "2", "--agent.num-steps-per-env", "8",
                   "--logdir", str(runs)])  # fmt: skip
        assert rc == 0
        run = next((runs / name).iterdir())
        assert list((run / "checkpoints").glob("*.pt")) or list(run.glob("*.pt"))
        assert "isaaclab_cfg.mdp:feet_air_time" in (run / "config.yaml").read_text()
    finally:  # the rest of the session's tests list every task: leave the registry as it was
        registry._TASKS.pop(name, None)
        gym.registry.pop(f"robolearn/{name}-v0", None)


def test_h1_flat_config_runs_and_its_termination_penalty_pays_on_a_fall():
    """Isaac Lab's H1 flat task (humanoid gait terms, is_terminated) on the menagerie H1: 69 observations as in
    Isaac Lab; left without actions the robot falls, and the step its torso touches down pays -200 x dt."""
    cfg = to_env_cfg(go2.H1FlatEnvCfg())
    assert cfg.scene.robot == "h1" and cfg.scene.contact_sensors["contact_forces_0"].bodies == (
        "left_ankle_link", "right_ankle_link")  # fmt: skip
    env = ManagerBasedRlEnv(dataclasses.replace(cfg, num_envs=2))
    obs, _ = env.reset()
    assert obs["policy"].shape == (2, 69)
    fell = torch.zeros(2, dtype=torch.bool)
    for _ in range(150):
        _, reward, terminated, _, _ = env.step(torch.zeros(2, 19))
        penalty = env.reward_manager.step_values["termination_penalty"]
        assert torch.allclose(penalty, torch.where(terminated, -200.0 * env.step_dt, 0.0))
        assert (env.reward_manager.step_values["feet_air_time"] <= 0.6 * env.step_dt + 1e-6).all()
        fell |= terminated
    assert fell.all() and torch.isfinite(reward).all()


def test_play_mode_gives_isaac_labs_play_settings():
    cfg = go2.UnitreeGo2FlatEnvCfg()
    cfg.play_mode()
    env_cfg = to_env_cfg(cfg)
    assert env_cfg.num_envs == 50 and not env_cfg.observations["policy"].enable_noise
    assert "push_robot" not in env_cfg.events and "base_external_force_torque" not in env_cfg.events
