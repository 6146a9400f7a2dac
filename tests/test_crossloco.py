"""CrossLoco: human features from clips, the mappers and cycle reward, the Go2-CrossLoco task training."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from robolearn.envs.crossloco.mappers import CycleMappers, MapperCfg, cycle_reward
from robolearn.retarget.errors import RetargetInputError
from robolearn.retarget.human_features import (
    clip_features,
    load_clip_folder,
    mirror_features,
    mirror_motion,
)
from robolearn.retarget.sources import load_motion

CMU = Path(os.environ["ROBOLEARN_DATA"]) / "mocap" / "cmu"  # the shared real data (conftest.py)


def test_cycle_reward_is_in_unit_interval_and_one_for_a_perfect_invertible_mapping():
    torch.manual_seed(0)
    d = 6
    a = torch.randn(d, d) + 3 * torch.eye(d)  # invertible
    r2h, h2r = torch.nn.Linear(d, d, bias=False), torch.nn.Linear(d, d, bias=False)
    with torch.no_grad():
        r2h.weight.copy_(a)
        h2r.weight.copy_(torch.linalg.inv(a))
    r = torch.randn(256, d)
    h = r @ a.T
    perfect = cycle_reward(h, r, h2r, r2h)
    assert torch.allclose(perfect, torch.ones(256), atol=1e-4)
    # Unrelated mappers and pairs: strictly inside (0, 1), never above 1.
    rand = CycleMappers(d, d, MapperCfg(hidden=(16,)), torch.device("cpu"))
    h_other = torch.randn(256, d) * 5
    bad = rand.reward(h_other, r)
    assert ((bad > 0) & (bad < 1)).all() and float(bad.mean()) < 0.5


def test_mapper_losses_fall_on_synthetic_linear_pairs():
    gen = torch.Generator().manual_seed(1)
    w = torch.randn(12, 45, generator=gen) * 0.3
    mappers = CycleMappers(45, 12, MapperCfg(hidden=(64, 64), epochs=4, batch_size=512, capacity=2048),
                           torch.device("cpu"))  # fmt: skip
    r = torch.randn(2048, 12, generator=gen)
    mappers.record(r @ w, r)  # h = W r: r->h is linear, h->r is its (least-squares) inverse
    first = mappers.fit(gen)
    for _ in range(12):
        last = mappers.fit(gen)
    assert last["h2r"] < 0.2 * first["h2r"] and last["r2h"] < 0.2 * first["r2h"]
    # Fitted on the pairs, the cycle reward on them rises well above an unfitted mapper's.
    h = r[:512] @ w
    fresh = CycleMappers(45, 12, MapperCfg(hidden=(64, 64)), torch.device("cpu"), seed=3)
    assert float(mappers.reward(h, r[:512]).mean()) > float(fresh.reward(h, r[:512]).mean()) + 0.2


def test_features_of_a_mirrored_clip_are_the_mirrored_features():
    motion = load_motion(CMU / "131_02.bvh").slice(0, 360)
    f = clip_features(motion, 50.0)
    m = clip_features(mirror_motion(motion), 50.0)
    expected = mirror_features(f)
    assert f.pose.shape == (150, 45) and f.root_xy.shape == (150, 2)
    for key in ("pose", "root_xy", "heading", "root_z", "skeleton"):
        np.testing.assert_allclose(getattr(m, key), getattr(expected, key), atol=1e-9, err_msg=key)
    # Not trivially symmetric: the walk's own features differ from their mirror.
    assert np.abs(f.pose - expected.pose).max() > 0.05
    # Robot size: the path is scaled by Go2 stand height / human leg length (~0.27 / 0.8).
    assert 0.25 < f.scale < 0.45


def _short_bvh(src: Path, dst: Path, frames: int, frame_time: str | None = None) -> Path:
    head, _, motion = src.read_text().partition("MOTION\n")
    lines = motion.splitlines()
    dt = frame_time or lines[1].split(":")[1].strip()
    dst.write_text(head + f"MOTION\nFrames: {frames}\nFrame Time: {dt}\n" + "\n".join(lines[2 : 2 + frames]) + "\n")
    return dst


def test_bad_clip_folders_are_refused_naming_the_file(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no clips here")
    with pytest.raises(RetargetInputError, match="empty.*no human motion file"):
        load_clip_folder(empty)
    broken = tmp_path / "broken"
    broken.mkdir()
    _short_bvh(CMU / "131_02.bvh", broken / "a.bvh", 120)
    (broken / "b.bvh").write_text("HIERARCHY\nROOT Hips\n{\n")
    with pytest.raises(RetargetInputError, match="b.bvh"):
        load_clip_folder(broken)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    _short_bvh(CMU / "131_02.bvh", mixed / "a.bvh", 120)
    _short_bvh(CMU / "131_03.bvh", mixed / "b.bvh", 60, frame_time="0.0166667")
    with pytest.raises(RetargetInputError, match=r"b\.bvh.*'fps'.*60 fps.*a\.bvh is at 120"):
        load_clip_folder(mixed)
    clips = load_clip_folder(mixed, resample=True)  # told to resample: both at 50 Hz, 1 s each
    assert [c.num_frames for c in clips] == [50, 50]


def test_tiny_training_raises_the_return_and_fits_the_mappers_every_iteration(tmp_path: Path):
    from robolearn.policies.cli import TrainArgs
    from robolearn.policies.runs import read_metrics
    from robolearn.policies.train import train
    from robolearn.registry import get_task
    from robolearn.rl import PpoCfg

    env = dataclasses.replace(get_task("Go2-CrossLoco").env_cfg(), episode_length_s=2.0)
    agent = PpoCfg(num_envs=64, actor_hidden_dims=(32, 32), critic_hidden_dims=(32, 32), save_interval=100,
                   init_noise_std=0.5, torch_threads=1)  # fmt: skip
    run = train(TrainArgs(task="Go2-CrossLoco", logdir=tmp_path, env=env, agent=agent, max_iterations=8)).run
    rows = read_metrics(run)
    assert len(rows) == 8
    # The learner ran the task's hook: both mappers were fitted after every update, and learnt.
    assert all("Loss/mapper_h2r" in r and "Loss/mapper_r2h" in r for r in rows)
    assert rows[-1]["Loss/mapper_r2h"] < rows[0]["Loss/mapper_r2h"]
    first = np.mean([r["mean_return"] for r in rows[1:4]])
    last = np.mean([r["mean_return"] for r in rows[-3:]])
    assert last > first + 0.05, (first, last)
    shutil.rmtree(run)


def test_a_bad_features_file_is_refused_naming_the_file_and_field(tmp_path: Path, capsys):
    from robolearn.cli import main

    src = np.load(Path(__file__).resolve().parents[1] / "assets" / "motions" / "cmu_crossloco_features.npz")
    bad = tmp_path / "no_pose.npz"
    np.savez(bad, **{k: src[k] for k in src.files if k != "pose"})
    logdir = tmp_path / "runs"
    code = main(["train", "Go2-CrossLoco", "--logdir", str(logdir), "--max-iterations", "1", "--num-envs", "2",
                 "--env.commands.human.features-file", str(bad)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2
    assert "no_pose.npz" in err and "'pose'" in err and "Traceback" not in err
    assert not list(logdir.rglob("config.yaml"))  # no half-made run folder


def test_play_draws_the_human_skeleton_of_each_worlds_frame_beside_the_robot():
    import mujoco

    from robolearn.envs.crossloco.command import HUMAN
    from robolearn.envs.crossloco.play import SKELETON_OFFSET, human_skeletons, skeleton_drawer
    from robolearn.registry import make_env

    env = make_env("Go2-CrossLoco", num_envs=2)
    term = env.command_manager.get_term(HUMAN)
    env.step(torch.zeros(2, env.num_actions))
    skeletons = human_skeletons(term)
    frames = term.frame.tolist()
    np.testing.assert_allclose(skeletons[1], term.ref.skeleton[frames[1]])
    # The skeleton's pelvis stands where the world's reference root is (same floor frame, robot size).
    ref_xy = term.ref_pos_w[:, :2].numpy()
    np.testing.assert_allclose(skeletons[0][0, :2], ref_xy[0], atol=1e-5)
    scene = mujoco.MjvScene(env.scene.model, maxgeom=200)
    before = scene.ngeom
    skeleton_drawer(skeletons[0], term.ref.bones)(scene)
    bones, points = len(term.ref.bones), len(skeletons[0])
    assert scene.ngeom - before == bones + points
    spheres = [scene.geoms[i] for i in range(before + bones, scene.ngeom)]
    np.testing.assert_allclose(spheres[0].pos, skeletons[0][0] + SKELETON_OFFSET, atol=1e-5)


def test_probe_and_diversity_measure_what_they_claim():
    from robolearn.envs.crossloco.evaluation import Rollout, diversity, probe_r2

    rng = np.random.default_rng(0)
    w = rng.normal(size=(10, 6))

    def rollout(states: np.ndarray, h: np.ndarray, q: np.ndarray) -> Rollout:
        return Rollout("c", np.zeros(len(h)), h, states, q, False)

    states = [rng.normal(size=(150, 10)) for _ in range(4)]
    q = rng.normal(size=(150, 12))
    linear = [rollout(s, s @ w, q) for s in states]  # h a linear function of the robot state
    unrelated = [rollout(s, rng.normal(size=(150, 6)), q) for s in states]
    assert probe_r2(linear) > 0.99
    assert probe_r2(unrelated) < 0.05
    assert diversity(linear) == 0.0  # the same joint trajectory for every motion
    spread = [rollout(s, s @ w, q + k) for k, s in enumerate(states)]  # each motion shifts every joint by k rad
    assert diversity(spread) > 1.0


def test_held_out_suite_plays_every_clips_held_out_segment_once():
    from robolearn.envs.crossloco.evaluation import crossloco_suite
    from robolearn.registry import get_task, make_env

    cfg = get_task("Go2-CrossLoco").env_cfg()

    def standing(env_cfg):  # the policy factory a run would give: here, joint targets at the standing pose
        env = make_env("Go2-CrossLoco", env_cfg)
        return env, lambda obs: torch.zeros(env.num_envs, env.num_actions)

    out = crossloco_suite(cfg, standing, 1, 0)
    names = sorted(r["clip"] for r in out["rows"])
    assert out["segments"] == 8 and len(set(names)) == 8 and "131_01_mirror" in names
    # Segments are the last quarter of each clip (131_01: 414 frames -> 103 held out), fewer if it fell.
    steps = {r["clip"]: r["steps"] for r in out["rows"]}
    assert steps["131_01"] <= 104 and max(steps.values()) <= 288
    assert 0.0 <= out["falls"] <= 1.0 and out["root_error_m"] > 0.0


def test_go2_tracking_baseline_starts_on_its_retargeted_clip():
    from robolearn.envs.tracking.mdp import MOTION
    from robolearn.registry import make_env

    env = make_env("Go2-Tracking", num_envs=4)
    cmd = env.command_manager.get_term(MOTION)
    assert cmd.motion.files[0].name == "cmu_131_01_walk_go2.npz"
    # Reference state initialization: the base starts within the RSI noise (0.02 m) of the clip's root.
    start = cmd.motion.root_pos[cmd.frame][:, :2]
    assert torch.linalg.norm(env.robot.root_pos_w[:, :2].float() - start, dim=-1).max() < 0.03
    for _ in range(5):
        _, reward, *_ = env.step(torch.zeros(4, env.num_actions))  # residual 0: the retargeted joint targets
    assert torch.isfinite(reward).all() and (reward > 0).all()
