"""The manager-based env on the Go2 velocity task: shapes, determinism, resets, NaN safety, terms."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from robolearn.core import ManagerBasedRlEnv, mdp
from robolearn.registry import get_task

TASK = "Go2-Velocity-Flat"


def make(num_envs: int = 4, **overrides) -> ManagerBasedRlEnv:
    cfg = get_task(TASK).env_cfg()
    cfg = dataclasses.replace(cfg, num_envs=num_envs, **overrides)
    cfg.sim.num_threads = 1
    return ManagerBasedRlEnv(cfg)


@pytest.fixture(scope="module")
def env() -> ManagerBasedRlEnv:
    return make()


def rollout(env: ManagerBasedRlEnv, steps: int, seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    obs, _ = env.reset(seed=seed)
    out = [obs["policy"].clone()]
    for _ in range(steps):
        obs, rew, *_ = env.step(0.5 * torch.randn(env.num_envs, env.num_actions, generator=gen))
        out += [obs["policy"].clone(), rew.clone()]
    return out


def test_observation_and_action_shapes(env):
    obs, _ = env.reset(seed=0)
    dims = env.observation_dims()
    # policy: ang vel 3, gravity 3, command 3, joint pos 12, joint vel 12, last action 12
    # base lin/ang vel, gravity, command (3 each), joint pos/vel, last action (12 each), trot clock (2)
    assert dims["policy"] == 50 and obs["policy"].shape == (4, 50) and obs["policy"].dtype == torch.float32
    assert dims["critic"] == 50 + 1 + 4  # + base height, foot contacts
    assert env.num_actions == 12


def test_deterministic_under_a_seed():
    a, b = make(), make()
    for x, y in zip(rollout(a, 30, seed=7), rollout(b, 30, seed=7), strict=True):
        assert torch.equal(x, y)
    c = rollout(a, 30, seed=8)
    assert not torch.equal(c[-2], rollout(b, 30, seed=7)[-2])


def test_wrong_action_shape_names_the_expected_shape(env):
    with pytest.raises(ValueError, match=r"expected \(4, 12\)"):
        env.step(torch.zeros(4, 11))


def test_nan_state_resets_the_world_and_is_counted(env):
    env.reset(seed=0)
    before = env.nan_resets
    env.sim.qvel[2, :] = float("nan")
    obs, rew, terminated, time_out, extras = env.step(torch.zeros(4, 12))
    assert env.nan_resets == before + 1 and extras["log"]["Sim/nan_resets"] == before + 1
    assert terminated[2] and not terminated[[0, 1, 3]].any()
    assert torch.isfinite(obs["policy"]).all() and torch.isfinite(rew).all()
    assert torch.isfinite(env.sim.qvel).all() and env.episode_length_buf[2] == 0


def test_nan_and_inf_actions_reset_only_those_worlds_and_everything_stays_finite(env):
    env.reset(seed=0)
    gen = torch.Generator().manual_seed(0)
    for _ in range(3):  # a moving policy: action-rate penalties are non-zero before the bad step
        env.step(0.5 * torch.randn(4, 12, generator=gen))
    before = env.nan_resets
    action = 0.5 * torch.randn(4, 12, generator=gen)
    action[1, 3] = float("nan")
    action[2, :] = float("inf")
    obs, rew, terminated, time_out, extras = env.step(action)
    assert env.nan_resets == before + 2 and extras["log"]["Sim/nan_resets"] == before + 2
    assert terminated.tolist() == [False, True, True, False] and not time_out[[1, 2]].any()
    assert rew[1] == 0 and rew[2] == 0 and torch.isfinite(rew).all()
    assert all(torch.isfinite(o).all() for o in obs.values())
    # The reset worlds start over: last_action (an observation) is zeros, the others keep what they sent.
    assert env.action_manager.action[[1, 2]].abs().sum() == 0
    assert torch.equal(env.action_manager.action[[0, 3]], action[[0, 3]])
    assert env.episode_length_buf[[1, 2]].tolist() == [0, 0]
    # What the logger writes: the reset worlds' episode sums, finite (not Episode_Reward/action_rate = nan).
    episode_logs = {k: v for k, v in extras["log"].items() if k.startswith("Episode_Reward/")}
    assert episode_logs and all(math.isfinite(v) for v in episode_logs.values())
    assert episode_logs["Episode_Reward/action_rate"] < 0  # the steps before the NaN still count
    for _ in range(2):
        obs, rew, *_ = env.step(0.5 * torch.randn(4, 12, generator=gen))
    assert torch.isfinite(rew).all() and torch.isfinite(obs["policy"]).all()
    assert all(torch.isfinite(s).all() for s in env.reward_manager.episode_sums.values())
    assert env.nan_resets == before + 2  # counted once, not on every later step


def test_mujoco_warnings_go_to_python_logging_not_a_file_in_the_working_directory(
    env, tmp_path, monkeypatch, caplog
):
    from robolearn.sim import set_mujoco_log_file

    monkeypatch.chdir(tmp_path)
    env.reset(seed=0)
    env.sim.qvel[1, :] = float("nan")  # MuJoCo warns "Nan, Inf or huge value in QVEL"
    with caplog.at_level("WARNING", logger="robolearn.core.env"):
        env.step(torch.zeros(4, 12))
    assert list(tmp_path.iterdir()) == []  # no MUJOCO_LOG.TXT
    assert "reset 1 world(s) [1]" in caplog.text and "NaN/inf or diverged state" in caplog.text
    # A caller that wants MuJoCo's own log (a run folder) can have it there.
    run_log = tmp_path / "run" / "mujoco.log"
    run_log.parent.mkdir()
    try:
        assert set_mujoco_log_file(run_log)
        env.sim.qvel[3, :] = float("nan")
        env.step(torch.zeros(4, 12))
        assert "QVEL" in run_log.read_text()
    finally:
        set_mujoco_log_file(None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_time_out_is_a_truncation_not_a_failure():
    env = make(num_envs=2, episode_length_s=0.1)  # 5 policy steps
    env.reset(seed=0)
    for _i in range(5):
        _, _, terminated, time_out, extras = env.step(torch.zeros(2, 12))
    assert time_out.all() and not terminated.any()
    assert extras["time_outs"].all() and (env.episode_length_buf == 0).all()
    assert "Episode_Reward/track_lin_vel_xy" in extras["log"]
    assert extras["log"]["Episode_Termination/time_out"] == 2


def test_falling_robot_terminates_as_failure():
    env = make(num_envs=2)
    env.reset(seed=0)
    env.sim.qpos[0, 3:7] = torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=torch.float64)  # upside down
    env.sim.forward()
    _, _, terminated, time_out, _ = env.step(torch.zeros(2, 12))
    assert terminated[0] and not time_out[0] and not terminated[1]


def test_standing_with_zero_actions_tracks_a_zero_command(env):
    env.reset(seed=0)
    env.command_manager.get_command("base_velocity")[:] = 0.0
    env.command_manager.get_term("base_velocity")._time_left[:] = 100.0
    for _ in range(50):
        _, rew, terminated, *_ = env.step(torch.zeros(4, 12))
    assert not terminated.any()
    height = env.robot.root_pos_w[:, 2]
    assert ((height > 0.2) & (height < 0.4)).all()
    # Standing still tracks (0, 0, 0) nearly perfectly: the tracking reward is close to its maximum.
    track = env.reward_manager.step_values["track_lin_vel_xy"] / (1.5 * env.step_dt)
    assert (track > 0.9).all()


def test_friction_randomization_is_per_world():
    env = make(num_envs=3)
    friction = env.sim.model_field("geom_friction")[:, :, 0]
    assert not torch.allclose(friction[0], friction[1])
    ratio = friction / torch.as_tensor(env.scene.model.geom_friction[:, 0])
    assert ((ratio >= 0.6) & (ratio <= 1.25)).all()


def test_push_event_changes_base_velocity():
    env = make(num_envs=2)
    env.reset(seed=0)
    env.event_manager._next_fire["push"][:] = 0.0
    qvel_before = env.sim.qvel[:, :2].clone()
    env.event_manager.apply("interval", torch.arange(2), env.step_dt)
    assert (env.sim.qvel[:, :2] - qvel_before).abs().max() > 1e-3


def test_rough_terrain_curriculum_moves_levels():
    cfg = get_task("Go2-Velocity-Rough").env_cfg()
    cfg = dataclasses.replace(cfg, num_envs=4)
    env = ManagerBasedRlEnv(cfg)
    obs, _ = env.reset(seed=0)
    assert obs["policy"].shape[1] == 50 + 9 * 6  # + a 9x6 height scan
    # Robots spawn on their tile's level pad: the scan reads ~0 there (base height minus its 0.3 m offset).
    scan = obs["critic"][:, -(9 * 6 + 1 + 4 + 2) : -(1 + 4 + 2)]  # before height, contacts, clock
    assert scan.median().abs() < 0.05 and scan.abs().max() < 0.3
    env.terrain_levels[:] = 2
    env.robot.root_pos_w[0, 0] += 10.0  # walked out of its tile
    env._reset_idx(torch.tensor([0, 1]))
    assert env.terrain_levels[0] == 3 and env.terrain_levels[1] == 1


def test_command_curriculum_starts_narrow_grows_on_tracking_and_is_dropped_for_eval():
    from robolearn.core import CurriculumTerm, mdp
    from robolearn.policies.setup import eval_env_cfg

    curriculum = {"command_levels": CurriculumTerm(mdp.command_levels, params={"start": 0.5, "step": 0.1})}
    env = make(num_envs=64, curriculum=curriculum)
    env.reset(seed=0)
    cmd = env.command_manager.get_term("base_velocity")
    assert cmd.lin_vel_scale == 0.5 and cmd.command[:, :2].abs().max() <= 0.5
    ids = torch.arange(8)
    manager, weight = env.reward_manager, env.reward_manager.terms["track_lin_vel_xy"].weight
    env.episode_length_buf[ids] = env.max_episode_length
    manager.episode_sums["track_lin_vel_xy"][ids] = 0.9 * weight * 20.0
    env._reset_idx(ids)  # tracked well, but less than an episode length of steps since the start
    assert cmd.lin_vel_scale == 0.5
    env.common_step_counter = env.max_episode_length
    env.episode_length_buf[ids] = env.max_episode_length
    manager.episode_sums["track_lin_vel_xy"][ids] = 0.5 * weight * 20.0
    env._reset_idx(ids)  # decision time; the window's episodes tracked 0.7 of the maximum on average
    assert cmd.lin_vel_scale == 0.5
    env.common_step_counter = 2 * env.max_episode_length
    env.episode_length_buf[ids] = env.max_episode_length
    manager.episode_sums["track_lin_vel_xy"][ids] = 0.9 * weight * 20.0
    env._reset_idx(ids)
    assert cmd.lin_vel_scale == pytest.approx(0.6)
    # Deciding every 5 s of simulated time instead of once per episode length (20 s here).
    curriculum["command_levels"].params["every_s"] = 5.0
    fast = make(num_envs=64, curriculum=curriculum)
    fast.reset(seed=0)
    cmd, manager = fast.command_manager.get_term("base_velocity"), fast.reward_manager
    interval = round(5.0 / fast.step_dt)
    assert interval < fast.max_episode_length
    fast.common_step_counter = interval
    fast.episode_length_buf[ids] = fast.max_episode_length
    manager.episode_sums["track_lin_vel_xy"][ids] = 0.9 * weight * 20.0
    fast._reset_idx(ids)
    assert cmd.lin_vel_scale == pytest.approx(0.6)
    fast.common_step_counter = interval + 1  # the next decision waits for another 5 s
    fast.episode_length_buf[ids] = fast.max_episode_length
    manager.episode_sums["track_lin_vel_xy"][ids] = 0.9 * weight * 20.0
    fast._reset_idx(ids)
    assert cmd.lin_vel_scale == pytest.approx(0.6)
    curriculum["command_levels"].params["every_s"] = 0.0
    with pytest.raises(ValueError, match="every_s must be > 0"):
        make(num_envs=4, curriculum=curriculum).reset(seed=0)
    full = ManagerBasedRlEnv(dataclasses.replace(eval_env_cfg(env.cfg), num_envs=64))
    full.reset(seed=0)
    assert full.command_manager.get_term("base_velocity").lin_vel_scale == 1.0 and full.command_manager.get_command("base_velocity")[:, :2].abs().max() > 0.6


def test_gait_clock_and_contact_reward(env):
    env.reset(seed=0)
    for _ in range(50):
        env.step(torch.zeros(env.num_envs, env.num_actions))  # settled, standing: all four feet down
    assert torch.all(mdp.contact_found(env, "feet") == 1.0)
    t = 50 * env.step_dt
    phase = mdp.gait_phase(env, period=0.5)
    torch.testing.assert_close(phase[0], torch.tensor([math.sin(2 * math.pi * t / 0.5), math.cos(2 * math.pi * t / 0.5)]))
    env.command_manager.get_command("base_velocity")[:] = torch.tensor([0.0, 0.0, 0.0])
    assert torch.all(mdp.gait_contact(env) == 1.0)  # told to stand: every planted foot is right
    env.command_manager.get_command("base_velocity")[:] = torch.tensor([0.5, 0.0, 0.0])
    assert torch.all(mdp.gait_contact(env) == 0.5)  # trotting: one diagonal pair should be in the air


def test_g1_stands_on_our_floor_through_the_menagerie_contact_pairs():
    # g1_mjx collides with the floor only through explicit pairs of its menagerie scene; the scene
    # builder must re-point them at our floor (else the robot falls through it).
    cfg = get_task("G1-Velocity-Flat").env_cfg()
    cfg = dataclasses.replace(cfg, num_envs=2, events={})
    env = ManagerBasedRlEnv(cfg)
    env.reset(seed=0)
    env.command_manager.get_command("base_velocity")[:] = 0.0
    for _ in range(50):
        _, _, terminated, *_ = env.step(torch.zeros(2, env.num_actions))
    assert not terminated.any()
    assert (env.robot.root_pos_w[:, 2] > 0.6).all()
    feet = env.sim.sensordata[:, env.scene.contact_slices["feet"]].reshape(2, -1, 4)
    assert (feet[..., 0] > 0).all(), "both feet should be on the ground"
