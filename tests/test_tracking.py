"""The motion-tracking tasks (G1-Tracking, H1-Tracking) on real retargeted CMU clips: reference state
initialization, rewards on a perfect replay and under error, the evaluation metrics, and refused clips."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from robolearn.core.env import ManagerBasedRlEnv
from robolearn.envs.tracking import mdp as track
from robolearn.envs.tracking.evaluation import TrackingMeter
from robolearn.envs.tracking.motion import CACHE_SUFFIX, MotionFileError
from robolearn.envs.tracking.tasks import MOTIONS_DIR
from robolearn.math import quat_mul, yaw_quat
from robolearn.registry import get_task

G1_CLIP = MOTIONS_DIR / "cmu_131_02_walk_g1.npz"
H1_CLIP = MOTIONS_DIR / "cmu_131_02_walk_h1.npz"
REWARDS = ("anchor_pos", "anchor_ori", "body_pos", "body_ori", "body_lin_vel", "body_ang_vel")


def exact_cfg(task: str, clip: Path, num_envs: int = 4):
    """The task on `clip` with no RSI noise, no randomization and no observation noise."""
    cfg = get_task(task).env_cfg()
    motion = dataclasses.replace(cfg.commands["motion"], motion_file=str(clip), rsi_pos_noise=0.0,
                                 rsi_yaw_noise=0.0, rsi_joint_noise=0.0, rsi_vel_noise=0.0)  # fmt: skip
    return dataclasses.replace(cfg, commands={"motion": motion}, events={}, num_envs=num_envs)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    """The shipped clips copied to a scratch folder, so their caches are written there."""
    folder = tmp_path_factory.mktemp("clips")
    for clip in (G1_CLIP, H1_CLIP):
        shutil.copy(clip, folder / clip.name)
    return folder


@pytest.fixture(scope="module")
def g1(clips: Path) -> ManagerBasedRlEnv:
    return ManagerBasedRlEnv(exact_cfg("G1-Tracking", clips / G1_CLIP.name))


def put_on_reference(env: ManagerBasedRlEnv) -> None:
    """Write every world's state onto its reference at the current frame (a perfect replay)."""
    cmd = track.motion(env)
    cmd.after_sim_reset(torch.arange(env.num_envs))
    env.sim.forward()
    env._update_entities()


@pytest.mark.parametrize("task,clip", [("G1-Tracking", G1_CLIP), ("H1-Tracking", H1_CLIP)])
def test_reference_state_initialization_puts_the_robot_on_the_clip(task: str, clip: Path, clips: Path):
    env = ManagerBasedRlEnv(exact_cfg(task, clips / clip.name, num_envs=8))
    cmd = track.motion(env)
    frames = cmd.frame.clone()
    assert len(set(frames.tolist())) > 1, "worlds start at random phases"
    # Every body of the robot, not only the tracked ones, sits where the clip's forward kinematics put it.
    ref = cmd.motion.body_pos[frames].double()
    assert torch.max(torch.linalg.norm(env.robot.body_pos_w - ref, dim=-1)) < 1e-5
    assert torch.allclose(env.robot.joint_pos.float(), cmd.motion.joint_pos[frames], atol=1e-6)
    # The preprocessing's MuJoCo FK agrees with the clip's own body positions (retarget's solver, full model),
    # up to the one vertical shift that sets the clip on the floor.
    saved = np.load(clips / clip.name)
    names = [str(n) for n in saved["body_names"]]
    common = [b for b in env.robot.body_names if b in names]
    ours = cmd.motion.body_pos[:, [env.robot.body_names.index(b) for b in common]].numpy()
    theirs = saved["body_pos"][:, [names.index(b) for b in common]]
    assert ours.shape == theirs.shape
    shift = float(np.median(ours[..., 2] - theirs[..., 2]))
    assert 0.0 < abs(shift) < 0.1
    assert np.abs(ours - theirs - np.array([0.0, 0.0, shift])).max() < 1e-3
    # The cache is written beside the clip and read back on the next build.
    cache = list(clips.glob(f".{clip.stem}.*{CACHE_SUFFIX}"))
    assert len(cache) == 1
    stamp = cache[0].stat().st_mtime_ns
    ManagerBasedRlEnv(exact_cfg(task, clips / clip.name, num_envs=1))
    assert cache[0].stat().st_mtime_ns == stamp


def test_the_clip_is_set_on_the_floor(clips: Path):
    """Preprocessing moves the clip vertically so its lowest collision point is at z = 0 in the median frame;
    `ground=False` keeps the retarget's heights (the shipped walk floats 5 mm on the G1)."""
    from robolearn.envs.tracking.commands import robot_kinematics
    from robolearn.envs.tracking.motion import lowest_points

    cfg = exact_cfg("G1-Tracking", clips / G1_CLIP.name, num_envs=1)
    lows = {}
    for grounded in (True, False):
        motion = dataclasses.replace(cfg.commands["motion"], ground=grounded)
        env = ManagerBasedRlEnv(dataclasses.replace(cfg, commands={"motion": motion}))
        m = track.motion(env).motion
        q = torch.cat([m.root_pos, m.root_quat, m.joint_pos], dim=1).double().numpy()
        lows[grounded] = float(np.median(lowest_points(robot_kinematics(env, "robot"), q)))
    assert abs(lows[True]) < 1e-4
    assert lows[False] > 0.004


def rewards(env: ManagerBasedRlEnv) -> dict[str, torch.Tensor]:
    terms = env.reward_manager.terms
    return {k: terms[k].func(env, **terms[k].params) for k in REWARDS}


def test_every_reward_is_one_on_a_perfect_replay_and_falls_with_error(g1: ManagerBasedRlEnv):
    env, cmd = g1, track.motion(g1)
    env.reset(seed=3)
    for _ in range(3):
        cmd.compute(env.step_dt)  # the reference moves on one frame
        put_on_reference(env)
        for name, value in rewards(env).items():
            assert torch.all(value > 0.999), (name, value)
        for name in ("anchor_height", "anchor_orientation", "end_effector"):
            term = env.termination_manager.terms[name]
            assert not term.func(env, **term.params).any(), name

    ids = torch.arange(env.num_envs)

    def perturbed(size: float) -> dict[str, torch.Tensor]:
        put_on_reference(env)
        root = env.robot.root_pose_w.clone()
        root[:, 0] += size
        root[:, 3:7] = quat_mul(yaw_quat(torch.full((env.num_envs,), size, dtype=root.dtype)), root[:, 3:7])
        env.robot.write_root_pose(ids, root)
        vel = torch.zeros(env.num_envs, 6, dtype=root.dtype)
        vel[:, :3] = 3 * size
        env.robot.write_root_velocity(ids, vel)
        q = env.robot.joint_pos + size
        env.robot.write_joint_state(ids, q, env.robot.joint_vel + 10 * size)
        env.sim.forward()
        env._update_entities()
        return rewards(env)

    small, large = perturbed(0.1), perturbed(0.3)
    for name in REWARDS:
        assert torch.all(small[name] < 0.99), (name, small[name])
        assert torch.all(large[name] < small[name]), (name, small[name], large[name])


def test_metrics_measure_the_body_error_in_millimetres(g1: ManagerBasedRlEnv):
    env, cmd = g1, track.motion(g1)
    env.reset(seed=5)
    meter = TrackingMeter(env.num_envs, env.step_dt, env.device)
    active = torch.ones(env.num_envs, dtype=torch.bool)
    for _ in range(2):
        cmd.compute(env.step_dt)
        put_on_reference(env)
        meter.update(cmd, active)
    # The whole robot 5 cm to the side of its reference: every body is 50 mm off, none relative to the root.
    cmd.compute(env.step_dt)
    put_on_reference(env)
    root = env.robot.root_pose_w.clone()
    root[:, 1] += 0.05
    env.robot.write_root_pose(torch.arange(env.num_envs), root)
    env.sim.forward()
    env._update_entities()
    meter.update(cmd, active)
    meter.close(active, torch.zeros_like(active), cmd.clip)
    for episode in meter.episodes:
        assert episode["success"] == 1.0 and episode["episode_steps"] == 3
        assert episode["mpjpe_mm"] == pytest.approx(50.0 / 3, abs=0.01)
        assert episode["root_mpjpe_mm"] == pytest.approx(0.0, abs=0.01)
        assert episode["anchor_pos_m"] == pytest.approx(0.05 / 3, abs=1e-4)
        assert episode["end_effector_mm"] == pytest.approx(50.0 / 3, abs=0.01)


def _bad_clip(folder: Path, edit) -> Path:
    data = dict(np.load(G1_CLIP))
    edit(data)
    path = folder / "bad.npz"
    np.savez(path, **data)
    return path


def _drop_wrists(data: dict) -> None:
    keep = [i for i, n in enumerate(data["joint_names"]) if "wrist" not in str(n)]
    data["joint_names"] = data["joint_names"][keep]
    data["qpos"] = data["qpos"][:, [*range(7), *(7 + i for i in keep)]]


def _h1(data: dict) -> None:
    data.clear()
    data.update(np.load(H1_CLIP))


def _unnormalized_root(data: dict) -> None:
    data["qpos"] = data["qpos"].copy()
    data["qpos"][7, 3:7] = 0.0


def _two_frames_at_1000_fps(data: dict) -> None:
    data["qpos"], data["body_pos"], data["fps"] = data["qpos"][:2], data["body_pos"][:2], np.float64(1000)


def _nan(data: dict) -> None:
    data["qpos"] = data["qpos"].copy()
    data["qpos"][40, 12] = np.nan


@pytest.mark.parametrize("edit,field,words", [
    (_h1, "robot", "'h1'"),
    (_drop_wrists, "joint_names", "left_wrist_roll_joint"),
    (_nan, "qpos", "NaN"),
    (_unnormalized_root, "qpos", "unit quaternions"),
    (_two_frames_at_1000_fps, "qpos", "at least 2 policy steps"),
])  # fmt: skip
def test_a_clip_the_robot_cannot_track_is_refused_naming_file_and_field(tmp_path: Path, edit, field, words):
    clip = _bad_clip(tmp_path, edit)
    cfg = exact_cfg("G1-Tracking", clip, num_envs=1)
    with pytest.raises(MotionFileError) as err:
        ManagerBasedRlEnv(cfg)
    assert err.value.field == field and str(clip) in str(err.value) and words in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz"], "nothing written"


def test_a_bad_clip_in_a_folder_writes_no_cache_for_the_good_ones(tmp_path: Path):
    shutil.copy(G1_CLIP, tmp_path / "a_good.npz")
    _bad_clip(tmp_path, _nan)
    with pytest.raises(MotionFileError, match="bad.npz"):
        ManagerBasedRlEnv(exact_cfg("G1-Tracking", tmp_path, num_envs=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_good.npz", "bad.npz"]


def test_adaptive_sampling_starts_more_episodes_where_episodes_fail(clips: Path):
    cfg = dataclasses.replace(exact_cfg("G1-Tracking", clips / G1_CLIP.name, num_envs=32), seed=1)
    motion = dataclasses.replace(cfg.commands["motion"], failure_alpha=0.5)
    env = ManagerBasedRlEnv(dataclasses.replace(cfg, commands={"motion": motion}))
    cmd = track.motion(env)
    assert torch.allclose(cmd.sampling_probabilities(), torch.full((cmd.num_bins,), 1 / cmd.num_bins))
    failed_bins: set[int] = set()
    for _ in range(40):  # zero actions: the servos replay the clip and the robot falls within ~0.5 s
        frames = cmd.frame.clone()
        _, _, terminated, _, _ = env.step(torch.zeros(env.num_envs, env.num_actions))
        failed_bins |= set(
            cmd.bin_of_frame[(frames + 1).clamp(max=cmd.motion.num_frames - 1)][terminated].tolist()
        )
    probs = cmd.sampling_probabilities()
    assert failed_bins and float(probs.sum()) == pytest.approx(1.0)
    never = [
        b
        for b in range(cmd.num_bins)
        if all(b + k not in failed_bins for k in range(cmd.cfg.kernel_bins + 1))
    ]
    # Segments where episodes failed are drawn more often than uniform, and than ones where (and just after
    # which) none did.
    assert float(probs[list(failed_bins)].min()) > 1 / cmd.num_bins * cmd.cfg.uniform_ratio
    assert float(probs[list(failed_bins)].max()) > 1 / cmd.num_bins
    if never:
        assert float(probs[list(failed_bins)].min()) > float(probs[never].max())


def test_a_folder_of_clips_is_one_reference_and_each_clip_ends_its_episode(tmp_path: Path):
    shutil.copy(G1_CLIP, tmp_path / "a_walk.npz")
    data = dict(np.load(G1_CLIP))
    data["qpos"], data["body_pos"] = data["qpos"][:30], data["body_pos"][:30]  # a 0.6 s clip
    np.savez(tmp_path / "b_short.npz", **data)
    cfg = exact_cfg("G1-Tracking", tmp_path, num_envs=4)
    motion = dataclasses.replace(cfg.commands["motion"], start="first")
    env = ManagerBasedRlEnv(dataclasses.replace(cfg, commands={"motion": motion}, auto_reset=False))
    cmd = track.motion(env)
    assert [f.name for f in cmd.motion.files] == ["a_walk.npz", "b_short.npz"]
    assert cmd.clip.tolist() == [0, 1, 0, 1]
    assert cmd.frame.tolist() == [0, int(cmd.motion.starts[1])] * 2
    ref = cmd.motion.body_pos[cmd.frame].double()
    assert torch.max(torch.linalg.norm(env.robot.body_pos_w - ref, dim=-1)) < 1e-5
    short = int(cmd.motion.ends[1] - cmd.motion.starts[1])
    for step in range(short):
        _, _, _, time_out, _ = env.step(torch.zeros(env.num_envs, env.num_actions))
        ended = env.termination_manager.term_dones["motion_end"]
        assert ended.tolist() == [False, step == short - 1] * 2


def test_an_env_snapshot_restores_the_reference_phase_and_the_sampling_state(clips: Path):
    from robolearn.core.snapshot import env_state, load_env_state

    cfg = dataclasses.replace(get_task("G1-Tracking").env_cfg(), num_envs=4)
    cfg.commands["motion"].motion_file = str(clips / G1_CLIP.name)
    env, twin = ManagerBasedRlEnv(cfg), ManagerBasedRlEnv(dataclasses.replace(cfg, seed=9))
    for _ in range(30):
        env.step(torch.zeros(4, env.num_actions))
    load_env_state(twin, env_state(env))
    a, b = track.motion(env), track.motion(twin)
    assert torch.equal(a.frame, b.frame) and torch.equal(a.bin_failed, b.bin_failed)
    action = 0.3 * torch.ones(4, env.num_actions)
    for _ in range(5):
        obs_a, rew_a, *_ = env.step(action)
        obs_b, rew_b, *_ = twin.step(action)
        assert torch.equal(obs_a["policy"], obs_b["policy"]) and torch.equal(rew_a, rew_b)


def test_the_residual_action_targets_the_reference_and_the_export_says_so(clips: Path):
    from robolearn.sim2real.export import policy_metadata

    cfg = exact_cfg("G1-Tracking", clips / G1_CLIP.name, num_envs=2)
    action = dataclasses.replace(cfg.actions["joint_pos"], residual=True)
    env = ManagerBasedRlEnv(dataclasses.replace(cfg, actions={"joint_pos": action}))
    cmd = track.motion(env)
    nxt = cmd.motion.joint_pos[cmd.frame + 1]
    env.step(torch.zeros(2, env.num_actions))  # zero actions: the servos are sent the reference itself
    assert torch.allclose(env.robot.ctrl.float(), nxt, atol=1e-6)
    assert policy_metadata(env, "G1-Tracking", "policy").extra["action_offset_command"] == {
        "joint_pos": "motion"
    }
