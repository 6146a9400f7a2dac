"""TrajBooster (docs/trajbooster.md): end-effector sources and their workspace mapping, the heuristic labels,
the arm IK, the DAgger manager and `robolearn trajbooster` writing a LeRobot v3 dataset."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from lerobot_cases import reach_dataset, run_cli  # noqa: F401 (fixture)

from robolearn.envs.humanoid import trajbooster as tb
from robolearn.envs.humanoid.trajbooster_ik import WRISTS, ArmIK, frame_pose
from robolearn.retarget import ee_traj, ee_workspace
from robolearn.retarget.errors import RetargetInputError

DEFAULT_ARM = {"left_shoulder_pitch_joint": 0.2, "right_shoulder_pitch_joint": 0.2, "left_shoulder_roll_joint": 0.22,
               "right_shoulder_roll_joint": -0.22, "left_elbow_joint": 1.0, "right_elbow_joint": 1.0}  # fmt: skip


def agibot_episode(T: int = 30, seed: int = 0, lift: float = 0.0) -> dict:
    """An Agibot-to-G1 episode as the release pickles it: both hands in the Agibot base frame at 30 Hz,
    quaternions x, y, z, w. The hands sweep 10 cm in x and y and `lift` in z over one second."""
    s = np.linspace(0.0, 1.0, T)[:, None]
    rng = np.random.default_rng(seed)
    left = np.array([0.45, 0.25, 0.9]) + s * [0.1, -0.1, lift] + rng.normal(0, 0.002, (T, 3))
    right = np.array([0.45, -0.25, 0.9]) + s * [0.1, 0.1, lift] + rng.normal(0, 0.002, (T, 3))
    quat = np.tile([0.0, 0.0, 0.0, 1.0], (T, 1))
    return {"left_hand_pos": left, "left_hand_quat": quat, "right_hand_pos": right, "right_hand_quat": quat.copy(),
            "instruction": "wipe the table"}  # fmt: skip


def write_pickle(path: Path, episodes: list[dict]) -> Path:
    with open(path, "wb") as f:
        pickle.dump(episodes, f)
    return path


# -- sources and workspace mapping ------------------------------------------------------------------------


def test_workspace_mapping_keeps_the_documented_ranges(tmp_path):
    episodes = ee_traj.load_agibot(write_pickle(tmp_path / "agibot.pkl", [agibot_episode(seed=k, lift=0.6 * k - 0.6)
                                                                          for k in range(3)]))  # fmt: skip
    assert len(episodes) == 3 and episodes[0].fps == 30 and episodes[0].instruction == "wipe the table"
    reach = ee_workspace.g1_reach()
    mapped = ee_workspace.map_workspace(episodes, source_arm_length=0.6, reach=reach)
    xyz = np.concatenate([m.pos.reshape(-1, 3) for m in mapped])
    lo, hi = reach.z_range
    assert xyz[:, 2].min() >= lo - 1e-9 and xyz[:, 2].max() <= hi + 1e-9
    # With the statistics of the flat episode only (as held-out episodes are mapped with the training set's),
    # the 0.6 m lift and drop go beyond the G1's range and are clipped at both ends.
    flat = ee_workspace.source_stats(episodes[1:2])
    z = np.concatenate(
        [m.pos[..., 2].ravel() for m in ee_workspace.map_workspace(episodes, 0.6, reach, flat)]
    )
    assert z.min() == pytest.approx(lo) and z.max() == pytest.approx(hi)
    # x: normalised onto the G1's reach statistics (mean and spread per axis).
    assert xyz[:, 0].mean() == pytest.approx(reach.mean[0], abs=1e-6)
    assert xyz[:, 0].std() == pytest.approx(reach.std[0], rel=1e-6)
    # y: scaled by the arm-length ratio, the midline kept.
    src_y = np.concatenate([e.pos[..., 1].ravel() for e in episodes])
    np.testing.assert_allclose(xyz[:, 1], src_y * reach.arm_length / 0.6)
    # The ranges themselves come from the model: a G1 arm is ~0.41 m from shoulder to wrist, its wrists reach
    # from below the knees (crouched) to above the head.
    assert 0.3 < reach.arm_length < 0.5 and lo < 0.6 and hi > 1.2


def test_resampling_and_the_start_of_an_episode(tmp_path):
    (ep,) = ee_traj.load_agibot(write_pickle(tmp_path / "a.pkl", [agibot_episode(T=31)]))
    fast = ee_traj.resample(ep, 50.0)
    assert fast.num_frames == 51 and fast.duration == pytest.approx(ep.duration)
    np.testing.assert_allclose(fast.pos[[0, -1]], ep.pos[[0, -1]], atol=1e-12)
    start_pos = fast.pos[0] - [0.2, 0.0, 0.3]
    fast = ee_workspace.with_reference_root(fast)
    full, n = ee_traj.with_start(fast, start_pos, fast.quat[0], np.array([0.0, 0.0, 0.755]), 1.0, 0.5)
    assert n == 75 and full.num_frames == 75 + 51
    np.testing.assert_allclose(full.pos[49], fast.pos[0], atol=1e-12)  # the transition ends on the first pose
    np.testing.assert_allclose(full.pos[50:75], np.repeat(fast.pos[:1], 25, 0))  # still prefix
    steps = np.linalg.norm(np.diff(full.pos[:50], axis=0), axis=-1).max()
    assert steps < 0.02  # 36 cm over 1 s at 50 Hz, smoothstep: no jump


def test_human_clip_wrists_come_from_the_retargeted_g1(tmp_path):
    from robolearn.retarget.cli import RetargetArgs, main

    clip = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mocap" / "cmu" / "131_02.bvh"
    out = tmp_path / "walk.npz"
    assert main(RetargetArgs(input=clip, robot="g1", out=out, start=600, stop=660)) == 0
    ep = ee_traj.load_clip(out, "walk")
    assert ep.root is not None and ep.num_frames == 60
    # The trajectory frame starts at the pelvis' ground point: wrists either side of it, at hip height.
    assert abs(ep.root[0, 0]) < 1e-9 and abs(ep.root[0, 1]) < 1e-9
    assert ep.pos[0, 0, 1] > 0.05 > -0.05 > ep.pos[0, 1, 1]
    assert 0.5 < ep.pos[0, :, 2].mean() < 1.1
    assert ep.root[-1, 0] > 0.04  # half a second of walking forward


def test_aloha_demos_give_gripper_trajectories(reach_dataset):  # noqa: F811
    from robolearn.policies.trajbooster_data import load_source

    kind, eps = load_source(reach_dataset)
    assert kind == "aloha" and len(eps) == 2 and eps[0].fps == 25 and "Left gripper" in eps[0].instruction
    # Aloha-Reach moves the left gripper to a target; the right arm stays home.
    assert np.ptp(eps[0].pos[:, 0], axis=0).max() > 0.05 and np.ptp(eps[0].pos[:, 1], axis=0).max() < 0.02
    assert eps[0].pos[0, 0, 1] > 0 > eps[0].pos[0, 1, 1]  # the G1's left arm is ALOHA's left arm


@pytest.mark.parametrize("damage, key", [("drop", "right_hand_quat"), ("nan", "left_hand_pos")])
def test_a_source_with_a_missing_key_or_nan_is_refused_and_nothing_is_written(tmp_path, capsys, damage, key):
    bad = agibot_episode()
    if damage == "drop":
        del bad[key]
    else:
        bad[key][7, 1] = np.nan
    src = write_pickle(tmp_path / "bad.pkl", [agibot_episode(), bad])
    with pytest.raises(RetargetInputError, match=key) as exc:
        ee_traj.load_agibot(src)
    assert str(src) in str(exc.value)
    out = tmp_path / "out"
    rc, err = run_cli(["trajbooster", str(src), "--out", str(out)], capsys)
    assert rc == 2 and key in err and "bad.pkl" in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "out.manager.pt").exists()


# -- heuristic labels --------------------------------------------------------------------------------------


def test_heuristic_labels_equal_hand_computed_values():
    dt = 0.02
    # World 0: the reference pelvis walks ahead at 0.2 m/s and lowers to 0.6 m; the robot is at the origin facing
    # +x. World 1: the robot faces +y (yaw 90 deg), the reference 0.3 m to its right stays put; it stands
    # 0.04 m off in x (inside the deadband). World 2: 3 cm of lateral offset only (deadband) and a 0.4 rad heading.
    ref = torch.zeros(3, 5, 3, dtype=torch.float64)
    for k, h in enumerate((0, 5, 10, 15, 20)):
        ref[0, k] = torch.tensor([0.2 * h * dt + 0.1, 0.0, 0.6])
    ref[1, :] = torch.tensor([0.04, -0.3, 0.75])
    ref[2, :] = torch.tensor([0.0, 0.03, 0.9])
    root_xy = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    yaw = torch.tensor([0.0, math.pi / 2, 0.4], dtype=torch.float64)
    got = tb.heuristic_labels(ref, root_xy, yaw, dt)
    # World 0, by hand: offsets 0.1 + 0.2 * (0.1, 0.2, 0.3, 0.4) s = 0.12, 0.14, 0.16, 0.18 m over 0.1..0.4 s:
    # 0.4 * 1.2 + 0.3 * 0.7 + 0.2 * 0.5333 + 0.1 * 0.45 = 0.8417 m/s, clipped to 0.5.
    assert got[0].tolist() == pytest.approx([0.5, 0.0, 0.0, 0.6])
    # World 1: facing +y, the reference at world (0.04, -0.3) is 0.3 m behind the robot and 0.04 m to its right:
    # local (-0.3, -0.04), the 0.04 deadbanded; -0.3 * (0.4/0.1 + 0.3/0.2 + 0.2/0.3 + 0.1/0.4) = -1.925 -> -0.5.
    # The heading pi/2 is turned back at -YAW_GAIN * pi/2 = -1.57 rad/s, clipped to -0.5.
    assert got[1].tolist() == pytest.approx([-0.5, 0.0, -0.5, 0.75])
    # World 2: offsets under 5 cm give no motion; yaw -0.4 rad/s; height clipped to the worker's 0.755.
    assert got[2].tolist() == pytest.approx([0.0, 0.0, -0.4, 0.755])
    # Unclipped, a 6 cm lead at every horizon: 0.06 * (0.4/0.1 + 0.3/0.2 + 0.2/0.3 + 0.1/0.4) = 0.385 m/s.
    small = tb.heuristic_labels(torch.tensor([[[0.0, 0.0, 0.7]] + [[0.06, 0.0, 0.7]] * 4], dtype=torch.float64),
                                torch.zeros(1, 2, dtype=torch.float64), torch.zeros(1, dtype=torch.float64), dt)  # fmt: skip
    assert float(small[0, 0]) == pytest.approx(0.06 * (4 + 1.5 + 2 / 3 + 0.25))


# -- arm IK --------------------------------------------------------------------------------------------------


def test_ik_reaches_a_reachable_target_within_1cm_and_reports_an_unreachable_one():
    ik = ArmIK(1, DEFAULT_ARM, iterations=3)
    rng = np.random.default_rng(0)
    q = ik.q0.copy()
    q[ik.qadr] += rng.uniform(-0.5, 0.5, 14)  # a pose the arms can take: its wrists are reachable
    poses = [frame_pose(ik.model, q, w) for w in WRISTS]
    pos, quat = np.stack([p for p, _ in poses]), np.stack([r for _, r in poses])
    for _ in range(20):  # 20 control steps of 3 IK iterations
        res = ik.solve(0, pos, quat)
    assert res.reachable and res.pos_error.max() < 0.01
    far = pos + np.array([0.8, 0.0, 0.0])  # 0.8 m ahead of a 0.41 m arm
    for _ in range(20):
        res = ik.solve(0, far, quat)
    assert not res.reachable and res.pos_error.min() > 0.3
    assert ik.stats.unreachable >= 20 and ik.stats.failures == 0 and ik.stats.mean_ms > 0


# -- manager, hierarchy and the dataset --------------------------------------------------------------------------


def short_episodes(tmp_path: Path, n: int = 2) -> list:
    from robolearn.policies.trajbooster_data import load_source, prepare

    kind, eps = load_source(write_pickle(tmp_path / "ag.pkl", [agibot_episode(T=24, seed=k, lift=-0.3 * k)
                                                               for k in range(n)]))  # fmt: skip
    return prepare(eps, kind, 50.0)


def test_a_tiny_dagger_run_lowers_the_command_loss(tmp_path):
    from robolearn.policies.trajbooster import Hierarchy
    from robolearn.policies.trajbooster_manager import dagger

    eps = short_episodes(tmp_path)
    h = Hierarchy("manager", num_envs=2, transition_s=0.3, still_s=0.1)
    manager, log = dagger(h, eps, passes=2, epochs=40)
    first, last = log.rows[0], log.rows[-1]
    assert first["beta"] == 1.0 and last["beta"] == 0.0 and last["samples"] > first["samples"] > 10
    # The untrained student's loss on the first (heuristic) pass, and the loss after the last refit.
    assert last["loss_after_fit"] < 0.5 * first["loss_before_fit"]
    assert log.env_steps > 0 and h.ik.stats.solves > 0


def test_the_dataset_opens_with_our_reader_and_trains_our_diffusion_policy(tmp_path, capsys):
    from robolearn.policies.data import LeRobotDataset
    from robolearn.policies.trajbooster_cli import features, manager_path, train_diffusion_smoke

    src = write_pickle(tmp_path / "ag.pkl", [agibot_episode(T=24, seed=k) for k in range(2)])
    out = tmp_path / "g1_wb"
    rc, err = run_cli(
        ["trajbooster", str(src), "--out", str(out), "--num-envs", "2", "--dagger-passes", "1"], capsys
    )
    assert rc == 0, err
    ds = LeRobotDataset(out)
    assert ds.info["robot_type"] == "unitree_g1" and ds.fps == 50
    for key, feat in features().items():
        assert ds.features[key]["shape"] == feat["shape"] and ds.features[key]["names"] == feat["names"]
    assert ds.num_episodes >= 1 and set(ds.tasks) == {"wipe the table"}
    ep = ds.episode(0)
    assert ep["action"].shape[1] == 18 and np.isfinite(ep["action"]).all()
    assert (ep["action"][:, 17] <= 0.755 + 1e-6).all()  # the height command stays in the worker's range
    assert manager_path(out).is_file()
    first, last = train_diffusion_smoke(out, steps=30)
    assert last < first


def test_the_frozen_worker_sees_the_observation_it_was_trained_on():
    """The hierarchy rebuilds the worker's input from the frozen-policy term (`worker_observation`); in the
    worker's own training env, noise off, it must equal the policy observation term for term."""
    from types import SimpleNamespace

    from robolearn.core.env import ManagerBasedRlEnv
    from robolearn.registry import get_task

    cfg = get_task("G1-Velocity-Height").env_cfg()
    cfg.num_envs = 2
    cfg.observations["policy"].enable_noise = False
    env = ManagerBasedRlEnv(cfg)
    env.reset()
    g = torch.Generator().manual_seed(0)
    for _ in range(10):
        obs, *_ = env.step(0.3 * torch.randn(2, 12, generator=g))
    legs = env.action_manager.get_term("legs")
    command = torch.cat([env.command_manager.get_command("base_velocity").float(),
                         env.command_manager.get_command("base_height").float()], dim=-1)  # fmt: skip
    term = SimpleNamespace(joint_ids=legs.joint_ids, command=command, low_action=legs.action)
    torch.testing.assert_close(tb.worker_observation(env, term), obs["policy"].float())
