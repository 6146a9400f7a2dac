"""Solvers: round trip on G1, limits never violated on real CMU clips, hands on the real hand sample,
ALOHA wrists, CLI errors (unknown robot, malformed input) write nothing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

DATA = Path(os.environ.get("ROBOLEARN_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
os.environ.setdefault("MENAGERIE_ROOT", str(DATA.parent / "menagerie"))

from robolearn.retarget.api import retarget_file, retarget_motion  # noqa: E402
from robolearn.retarget.body import BodySolverConfig, HumanoidRetargeter  # noqa: E402
from robolearn.retarget.clip import MotionClip, resample_qpos  # noqa: E402
from robolearn.retarget.kinematics import check_joint_sets  # noqa: E402
from robolearn.retarget.skeleton import BODY_POINTS  # noqa: E402
from robolearn.retarget.sources import HumanMotion, load_hand_keypoints  # noqa: E402

CMU = DATA / "mocap" / "cmu"


def test_joint_sets_pinocchio_vs_mujoco():
    for robot in ("g1", "h1", "shadow_hand", "allegro", "leap_hand"):
        assert check_joint_sets(robot).match, robot
    aloha = check_joint_sets("aloha")
    assert not aloha.match and aloha.pinocchio_nq == 8 and aloha.mujoco_nq == 16
    assert aloha.backend == "mujoco+mink"


def test_round_trip_g1():
    """Smooth random robot motion -> FK keypoints as 'human' -> retarget -> same joints, same points."""
    # Pure IK accuracy: the random poses float (no floor to lock feet to) and some put a hand in the body,
    # which the self-collision limit rightly refuses (tests/test_retarget_feet.py covers both).
    config = BodySolverConfig(iterations=(2, 8), ground_fix=False, lock_feet=False, avoid_self_collision=False)
    solver = HumanoidRetargeter("g1", config)
    model = solver.model
    rng = np.random.default_rng(0)
    lo, hi = model.lowerPositionLimit[7:], model.upperPositionLimit[7:]
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    keys = np.clip(rng.uniform(-0.25, 0.25, (3, len(lo))) * half * 0.8 + (mid * 0.2), lo, hi)
    s = (1 - np.cos(np.linspace(0, np.pi, 20)))[:, None] / 2
    joints = np.vstack([keys[0] + (keys[1] - keys[0]) * s, keys[1] + (keys[2] - keys[1]) * s])
    q = np.zeros((len(joints), model.nq))
    q[:, 2] = 0.8
    q[:, 6] = 1.0  # identity quaternion (x, y, z, w)
    q[:, 7:] = joints
    pts = np.stack([solver.points_at(x) for x in q])
    motion = HumanMotion(list(BODY_POINTS), pts, 30.0, "<round trip>")
    res = solver.retarget(motion)
    got = res.qpos[:, 7:]
    err_pts = np.nanmax(
        np.linalg.norm(
            np.stack([solver.points_at(np.r_[x[:3], x[4:7], x[3], x[7:]]) for x in res.qpos]) - pts, axis=-1
        )
    )
    assert err_pts < 0.01, err_pts
    # Two joint kinds move no tracked keypoint and are unobservable by design: wrist roll (twist about
    # the forearm line the wrist and hand points lie on) and ankle roll (foot targets are kept level).
    names = [solver.model.names[j] for j in range(2, solver.model.njoints)]
    observable = np.array(["wrist_roll" not in n and "ankle_roll" not in n for n in names])
    per_joint = np.abs(got - joints).mean(0)
    assert np.median(per_joint) < 0.01
    assert per_joint[observable].mean() < 0.02 and per_joint[observable].max() < 0.06, dict(
        zip(names, per_joint, strict=True)
    )


@pytest.mark.parametrize("clip,robot", [("131_01.bvh", "g1"), ("01_01.bvh", "h1")])
def test_limits_never_violated_on_cmu(clip, robot):
    res = retarget_file(CMU / clip, robot, frames=(0, 240))
    m = res.metrics
    assert m.limit_violations == 0 and m.limit_violation_max == 0.0
    assert m.penetration_mm <= 5.0
    assert m.keypoint_error_overall < 0.05
    assert m.joint_velocity_peak <= 30.0 + 1e-6  # the configured velocity limit


def test_clip_round_trip_and_resample(tmp_path):
    res = retarget_file(CMU / "131_03.bvh", "g1", fps=30.0, frames=(0, 120))
    clip = res.clip
    assert clip.fps == 30.0 and clip.num_frames == 30 and clip.qpos.shape[1] == 36
    path = clip.save(tmp_path / "c.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]
    back = MotionClip.load(path)
    np.testing.assert_allclose(back.qpos, clip.qpos)
    assert back.joint_names == clip.joint_names and back.body_pos.shape == (30, len(back.body_names), 3)
    np.testing.assert_allclose(np.linalg.norm(back.qpos[:, 3:7], axis=1), 1.0, atol=1e-9)
    same = resample_qpos(clip.qpos, 30.0, 30.0, True)
    np.testing.assert_allclose(same, clip.qpos)


def test_hand_retargeting_tracks_fingertip_directions():
    """Shared MediaPipe sample -> Shadow / Allegro / LEAP.

    Threshold: the sample's bone lengths vary 4-16 % frame to frame (monocular estimation noise), and the
    robot fingers differ from a human's (Allegro/LEAP: 4 fingers, different thumb), so knuckle-to-tip
    directions cannot match exactly; a mean of 15 degrees is about 1 cm of tip offset on a 4 cm
    phalanx chain. The solver must also beat the rest pose by 3x, so a solver that ignores its input fails.
    """
    from robolearn.retarget.hands import HandRetargeter

    hand = load_hand_keypoints(DATA / "hands" / "human_joint_right.npy")
    hand.keypoints = hand.keypoints[:240]  # the first 8 s (consecutive frames: smoothing is per frame)
    for robot in ("shadow_hand", "allegro", "leap_hand"):
        solver = HandRetargeter(robot)
        res = solver.retarget(hand)
        err = res.tip_direction_errors_deg()
        b, t = solver._points(solver.q_rest)
        rest = (t - b)[None] / np.linalg.norm(t - b, axis=-1, keepdims=True)[None]
        h = res.human_tips / np.linalg.norm(res.human_tips, axis=-1, keepdims=True)
        rest_err = np.degrees(np.arccos(np.clip((rest * h).sum(-1), -1, 1)))
        assert err.mean() < 15.0, (robot, err.mean(0))
        assert err.mean() < rest_err.mean() / 3, (robot, err.mean(), rest_err.mean())
        assert (res.qpos >= solver.lower - 1e-9).all() and (res.qpos <= solver.upper + 1e-9).all()


def test_aloha_wrist_round_trip():
    from robolearn.retarget.arms import retarget_wrists, synthetic_vr_from_aloha
    from robolearn.robots import robot_model

    model = robot_model("aloha")
    t = np.linspace(0, 1, 30)[:, None]
    q = model.key_qpos[0] + 0.3 * np.sin(2 * np.pi * t * np.array([1, 0.7, 0.5, 1.2, 0.9, 1.1, 0, 0] * 2))
    q = np.clip(q, model.jnt_range[:, 0], model.jnt_range[:, 1])
    res = retarget_wrists(synthetic_vr_from_aloha(q, 30.0, model), scale=1.0)
    assert res.position_error.max() < 0.005 and res.orientation_error_deg.max() < 2.0


def test_cli_errors_write_nothing(tmp_path):
    from robolearn.retarget.cli import RetargetArgs, main

    out = tmp_path / "out.npz"
    assert main(RetargetArgs(input=CMU / "131_01.bvh", robot="nao", out=out)) == 2
    cut = tmp_path / "cut.bvh"
    text = (CMU / "131_01.bvh").read_text()
    cut.write_text(text[: len(text) // 2])
    assert main(RetargetArgs(input=cut, robot="g1", out=out)) == 2
    nan = tmp_path / "nan.npz"
    pos = np.zeros((3, 2, 3))
    pos[1, 0, 0] = np.nan
    np.savez(nan, names=np.array(["Hips", "Head"]), positions=pos, fps=30.0)
    assert main(RetargetArgs(input=nan, robot="g1", out=out)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.bvh", "nan.npz"]


def test_unknown_robot_message():
    from robolearn.robots import UnknownRobotError

    with pytest.raises(UnknownRobotError, match="valid robots: .*g1"):
        retarget_file(CMU / "131_01.bvh", "nao")


def test_retarget_motion_api_returns_metrics():
    from robolearn.retarget.sources import load_bvh

    res = retarget_motion(load_bvh(CMU / "131_02.bvh").slice(0, 60), "g1", check_self_collision=False)
    assert res.metrics.frames == 60 and res.metrics.fps_solve > 0
    assert set(res.metrics.keypoint_error_mean) >= {"pelvis", "left_ankle", "right_wrist"}
