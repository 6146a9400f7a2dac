"""MotionTrans: Panda + LEAP tasks, the VR human stand-in, the human -> robot action space, weighted cotraining."""

from __future__ import annotations

import json

import mujoco
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from robolearn.envs.panda.human import hand_points
from robolearn.envs.panda.scene import FLANGE_TO_EE, HAND_JOINTS, HOME_ARM
from robolearn.retarget.errors import RetargetInputError
from robolearn.retarget.motiontrans import resample_poses, stretch_times, wrist_frame
from robolearn.retarget.sources.openxr import TO_MANO21, load_openxr


def _check_frame(r: np.ndarray) -> None:
    assert np.allclose(r.T @ r, np.eye(3), atol=1e-9)
    assert np.isclose(np.linalg.det(r), 1.0)


def test_wrist_frame_orthonormal_right_handed_both_hands():
    rng = np.random.default_rng(0)
    mirror = np.diag([-1.0, 1.0, 1.0])  # a left hand is a right hand reflected through its y-z plane
    for curl in (0.0, 0.5, 1.0):
        right = hand_points(curl)[TO_MANO21]
        for _ in range(5):
            rot = Rotation.random(random_state=rng).as_matrix()
            pts = right @ rot.T + rng.normal(size=3)
            r_frame = wrist_frame(pts, "right")
            _check_frame(r_frame)
            assert np.allclose(r_frame, rot, atol=1e-9)  # the hand model's axes are its wrist frame
            left = (right @ mirror.T) @ rot.T
            l_frame = wrist_frame(left, "left")
            _check_frame(l_frame)
            # Mirrored signs: the left frame's z (fingers) and y (back of the hand) are the right one's.
            assert np.allclose(l_frame[:, 2], r_frame[:, 2], atol=1e-9)
            assert np.allclose(l_frame[:, 1], r_frame[:, 1], atol=1e-9)
            assert not np.allclose(wrist_frame(left, "right")[:, 0], l_frame[:, 0])


def test_wrist_frame_from_leap_keypoints_matches_robot_ee_frame():
    """At a scripted arm pose, the frame the keypoint formula gives on the LEAP hand's own knuckles and tips
    is the robot's EE frame (flange x FLANGE_TO_EE)."""
    from robolearn.entities import entity_spec
    from robolearn.envs.panda.scene import panda_entity
    from robolearn.retarget.hands import tip_offset

    model = entity_spec("panda", panda_entity())[0].compile()
    data = mujoco.MjData(model)
    data.qpos[:7] = np.array(HOME_ARM) + [0.4, -0.3, 0.2, 0.5, -0.3, 0.4, 0.6]
    mujoco.mj_kinematics(model, data)

    def tip(body: str) -> np.ndarray:
        b = data.body(body)
        return b.xpos + b.xmat.reshape(3, 3) @ tip_offset(model, body)

    kp = np.zeros((21, 3))
    base = {"index": "hand/if_bs", "middle": "hand/mf_bs", "ring": "hand/rf_bs"}
    kp[5], kp[9], kp[13] = (data.body(base[f]).xpos for f in ("index", "middle", "ring"))
    kp[0] = kp[9] - (tip("hand/mf_ds") - kp[9])  # the open finger's line, extended back past the knuckle
    kp[1], kp[17] = kp[5], kp[13]  # no thumb base or pinky on the same line: use the index / ring knuckles
    frame = wrist_frame(kp, "right")
    site = data.site("attachment_site")
    ee = site.xmat.reshape(3, 3) @ FLANGE_TO_EE[:3, :3]
    angle = np.degrees(Rotation.from_matrix(frame.T @ ee).magnitude())
    assert angle < 0.5, f"keypoint wrist frame is {angle:.1f} deg off the EE frame"


@pytest.mark.parametrize("n_robot", [1, 5, 20, 300])
@pytest.mark.parametrize("n_human", [1, 7, 50, 1000])
@pytest.mark.parametrize("alpha", [0.2, 0.5, 0.8])
def test_cotraining_weights_balance_embodiments(n_robot, n_human, alpha):
    from robolearn.policies.motiontrans import embodiment_share, robot_weight

    a = robot_weight(n_robot, n_human, alpha)
    assert 0.0 < a < 1.0
    # However many episodes each side has, the robot episodes together carry alpha of the weight.
    assert embodiment_share(n_robot, n_human, alpha) == pytest.approx(alpha)
    if alpha == 0.5:
        assert n_robot * a == pytest.approx(n_human * (1 - a))


def test_cotraining_weight_refuses_missing_embodiment():
    from robolearn.policies.motiontrans import robot_weight

    with pytest.raises(ValueError, match="both embodiments"):
        robot_weight(0, 10)


def test_time_stretch_keeps_path_and_scales_durations():
    fps, n = 30.0, 61
    t = np.arange(n) / fps
    poses = np.tile(np.eye(4), (n, 1, 1))
    poses[:, :3, 3] = np.stack([np.sin(t), t**2, 0.1 * t], -1)
    poses[:, :3, :3] = Rotation.from_rotvec(np.outer(t, [0.2, 0.5, -0.1])).as_matrix()
    stretched = stretch_times(n, fps, 2.25)
    assert stretched[-1] == pytest.approx(2.25 * t[-1])
    new_t = np.arange(0.0, stretched[-1] + 1e-9, 0.1)
    out = resample_poses(poses, stretched, new_t)
    # Same path: each resampled pose equals the original at time new_t / 2.25 (and both ends are kept).
    orig_at = resample_poses(poses, t, new_t / 2.25)
    assert np.allclose(out, orig_at, atol=1e-9)
    assert np.allclose(out[0], poses[0]) and np.allclose(out[-1], poses[-1], atol=1e-9)
    with pytest.raises(ValueError):
        stretch_times(n, fps, 0.0)


def _good_recording(n: int = 12) -> dict:
    rng = np.random.default_rng(1)
    hand = hand_points(0.3)[None] + rng.normal(0, 0.001, (n, 26, 3)) + np.array([0.0, 1.0, -0.4])
    return {"fps": 30.0, "frame": "openxr", "head": [[0.0, 1.6, 0.0, 1.0, 0.0, 0.0, 0.0]] * n,
            "right_hand": hand.tolist(), "annotations": {"grasp": [[0.1, 0.2]]}}  # fmt: skip


@pytest.mark.parametrize(
    ("field", "edit", "message"),
    [
        ("right_hand", lambda d: d.update(right_hand=np.array(d["right_hand"])[:, :21].tolist()), "26"),
        ("head", lambda d: d.pop("head"), "missing"),
        ("right_hand", lambda d: d["right_hand"][3][4].__setitem__(1, float("nan")), "non-finite"),
        ("head", lambda d: d["head"][2].__setitem__(0, float("nan")), "non-finite"),
    ],
)
def test_bad_vr_file_refused_nothing_written(tmp_path, field, edit, message):
    from robolearn.policies.motiontrans_data import convert_recordings

    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(_good_recording()))
    d = _good_recording()
    edit(d)
    bad.write_text(json.dumps(d))
    out = tmp_path / "dataset"
    with pytest.raises(RetargetInputError) as err:
        convert_recordings([good, bad], out, "Panda-Lift")
    assert err.value.field == field and str(bad) in str(err.value) and message in str(err.value)
    assert not out.exists()
    assert load_openxr(good).hands["right"].shape == (12, 26, 3)


def test_panda_tasks_build_and_expert_succeeds():
    from robolearn.envs.panda.expert import execute, expert_keyposes, make_env, plan, sample_layouts
    from robolearn.envs.panda.tasks import TASKS, task_cfg

    assert len(TASKS) >= 8 and all(t.startswith("Panda-") for t in TASKS)
    cfg = task_cfg("Panda-Lift")
    env = make_env("Panda-Lift", 2)
    assert env.scene["panda"].joint_names[7:] == [j for j in HAND_JOINTS]
    layouts = sample_layouts(cfg, 2, np.random.default_rng(5))
    idle = np.repeat(plan([], layouts[0], cfg)[None], 2, 0)  # the hand stays home: the cube stays down
    assert not execute(env, layouts, idle)[0].any()
    actions = np.stack([plan(expert_keyposes("Panda-Lift"), lay, cfg) for lay in layouts])
    success, episodes = execute(env, layouts, actions)
    assert success.all()
    assert episodes[0].frames["observation.state"].shape == (cfg.episode_steps, 23)


def test_tiny_cotraining_lowers_loss_on_both_embodiments():
    from robolearn.policies.diffusion import DiffusionCfg
    from robolearn.policies.motiontrans import CotrainCfg, train
    from robolearn.policies.motiontrans_data import human_demos_repr, robot_demos

    torch.set_num_threads(1)
    demos = robot_demos("Panda-Lift", 1, seed=0, batch=2) + human_demos_repr("Panda-Lift", 1, seed=1, batch=2)
    cfg = CotrainCfg(steps=100, batch=16, diffusion=DiffusionCfg(horizon=8, action_horizon=4, down_dims=(16, 32),
                                                                 warmup_steps=10, prediction_type="sample"))  # fmt: skip
    policy = train(demos, cfg)
    for side in ("robot", "human"):
        first, last = policy.losses[side][0], policy.losses[side][-1]
        assert last < 0.6 * first, f"{side}: probe loss {first:.3f} -> {last:.3f}"


def test_egocentric_stream_shows_the_human_hand_not_the_robot():
    from robolearn.envs.panda.egocentric import hand_scene, render_egocentric
    from robolearn.envs.panda.human import human_demos
    from robolearn.envs.panda.tasks import task_cfg

    cfg = task_cfg("Panda-Lift")
    demo, env_state = next(human_demos("Panda-Lift", 1, seed=0, batch=1))
    model = hand_scene(cfg)
    assert not any(model.body(i).name.startswith("panda") for i in range(model.nbody))
    frame = len(demo.hand) // 2
    with_hand = render_egocentric(cfg, demo, env_state, [frame], model=model)[0]
    demo.hand[frame] += np.array([0.0, 0.0, 5.0])  # the hand out of view
    without = render_egocentric(cfg, demo, env_state, [frame], model=model)[0]
    changed = np.abs(with_hand.astype(int) - without.astype(int)).sum(-1) > 30
    assert 5 < changed.sum() < 0.5 * changed.size  # the hand is in the picture, and not the whole picture


@pytest.mark.parametrize("frame", ["openxr", "unity"])
@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_openxr_recording_round_trips_in_both_conventions(tmp_path, frame, suffix):
    from robolearn.retarget.sources.openxr import save_openxr

    rng = np.random.default_rng(2)
    head = np.tile(np.eye(4), (5, 1, 1))
    head[:, :3, :3] = Rotation.random(5, random_state=rng).as_matrix()
    head[:, :3, 3] = rng.normal(size=(5, 3))
    hand = rng.normal(size=(5, 26, 3))
    path = tmp_path / f"rec{suffix}"
    save_openxr(path, 30.0, head, {"right": hand}, frame=frame, grasp=[(0.0, 0.1)])
    rec = load_openxr(path)
    assert np.allclose(rec.head, head, atol=1e-9) and np.allclose(rec.hands["right"], hand, atol=1e-9)
    assert rec.grasp == ([(0.0, 0.1)] if suffix == ".json" else [])
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temp file left behind


def test_demos_cli_writes_panda_expert_dataset(tmp_path):
    from robolearn.cli import main

    out = tmp_path / "lift"
    assert main(["demos", "Panda-Lift", "--out", str(out), "--n", "2", "--batch", "2"]) == 0
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["total_episodes"] == 2 and info["robot_type"] == "panda_leap"
    assert info["features"]["action"]["shape"] == [23]
    assert info["total_frames"] == 2 * 50 and info["fps"] == 10  # 5 s episodes at 10 Hz
