"""HERMES human references (one schema, three sources), DexPilot retargeting and rigid augmentation."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from robolearn.retarget.dexpilot import DexPilotRetargeter, augment, retarget_reference, save_robot_reference
from robolearn.retarget.errors import RetargetInputError
from robolearn.retarget.human_reference import load_reference, reference_arrays, save_reference, validate
from robolearn.retarget.reference_sources import (
    reference_from_keypoints,
    reference_from_markers,
    reference_from_video,
    reference_from_video_file,
    reference_from_vr,
)
from robolearn.retarget.rotations import quat_to_mat, rotation_angle
from robolearn.retarget.scripted_references import TASKS, hand_shape, scripted_reference

REAL = Path(os.environ["ROBOLEARN_DATA"]) / "hands" / "human_joint_right.npy"  # shared real data (conftest.py)


def test_bad_reference_refused_naming_file_and_field_nothing_written(tmp_path):
    ref = scripted_reference("pour")
    out = tmp_path / "pour.npz"
    short = reference_arrays(ref)
    short["right_keypoints"] = short["right_keypoints"][:-3]
    with pytest.raises(RetargetInputError) as e:
        validate(short, out)
    assert e.value.field == "right_keypoints" and str(out) in str(e.value) and "147 frames" in str(e.value)
    ref.object_pose[10, 2] = np.nan
    with pytest.raises(RetargetInputError) as e:
        save_reference(ref, out)
    assert e.value.field == "object_pose" and "non-finite" in str(e.value)
    assert list(tmp_path.iterdir()) == []  # no file, no temp file left behind
    # a file on disk with mismatched lengths is refused when read, too
    short["object_pose"] = scripted_reference("pour").object_pose
    np.savez(tmp_path / "bad.npz", **short)
    with pytest.raises(RetargetInputError, match="right_keypoints"):
        load_reference(tmp_path / "bad.npz")


def test_scripted_reference_round_trips(tmp_path):
    ref = scripted_reference("bottle_scanner")
    back = load_reference(save_reference(ref, tmp_path / "b.npz"))
    assert back.task == "bottle_scanner" and set(back.hands) == {"left", "right"}
    np.testing.assert_allclose(back.hands["right"].world_keypoints(), ref.hands["right"].world_keypoints())


def test_real_recording_passes_through_the_pipeline(tmp_path):
    ref = reference_from_keypoints(REAL, wrist_pose=np.array([-0.1, -0.18, 0.42, 1.0, 0, 0, 0]))
    assert ref.num_frames == 621
    back = load_reference(save_reference(ref, tmp_path / "real.npz"))
    back.object_pose, back.hands["right"].wrist = back.object_pose[:40], back.hands["right"].wrist[:40]
    back.hands["right"].keypoints = back.hands["right"].keypoints[:40]
    robot = retarget_reference(back)
    assert np.isfinite(robot.hands["right"].qpos).all() and robot.hands["right"].qpos.shape == (40, 16)
    save_robot_reference(robot, tmp_path / "robot.npz")


def test_vr_source_places_the_hand_by_its_wrist(tmp_path):
    """An OpenXR recording: wrist poses + wrist-frame joints; the reference's world keypoints are the wrist
    transform of the joints, converted to the robot frame."""
    T = 5
    kp = np.tile(hand_shape(0.3), (T, 1, 1))
    wrist = np.tile([0.1, 1.2, -0.4, 1.0, 0.0, 0.0, 0.0], (T, 1))  # xyz + wxyz, OpenXR (y up, -z forward)
    wrist[:, 0] += np.linspace(0, 0.05, T)
    np.savez(tmp_path / "vr.npz", fps=30.0, head=wrist, left_wrist=wrist, right_wrist=wrist, right_hand=kp,
             frame="openxr")  # fmt: skip
    ref = reference_from_vr(tmp_path / "vr.npz", object_pose=np.array([0.4, 0.0, 0.2, 1, 0, 0, 0]))
    world = ref.hands["right"].world_keypoints()
    M = np.array([[0.0, 0.0, -1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(world, (kp @ M.T) + (wrist[:, None, :3] @ M.T), atol=1e-9)


def test_video_source_recovers_wrist_by_pnp_and_palm_by_plane_fit():
    """A hand of known pose, projected through a known camera: PnP of its pixels against its metric shape
    puts the wrist back within 1 mm and the palm plane within 1 degree."""
    rng = np.random.default_rng(0)
    T, K = 6, np.array([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]])
    shape = np.tile(hand_shape(0.2), (T, 1, 1))
    shape *= 0.095 / np.linalg.norm(shape[0, 9])  # the assumed hand size, so depth is exact
    rvecs = rng.uniform(-0.4, 0.4, (T, 3))
    tvecs = np.stack([rng.uniform(-0.1, 0.1, T), rng.uniform(-0.1, 0.1, T), rng.uniform(0.4, 0.7, T)], 1)
    pixels = np.stack([cv2.projectPoints(shape[t], rvecs[t], tvecs[t], K, None)[0][:, 0] for t in range(T)])
    ref = reference_from_video(pixels, shape, K, fps=30.0)
    hand = ref.hands["right"]
    assert np.abs(hand.wrist[:, :3] - tvecs).max() < 1e-3
    true_R = np.stack([cv2.Rodrigues(r)[0] for r in rvecs])
    got = quat_to_mat(hand.wrist[:, 3:])
    # the plane-fit frame, expressed in the hand's own (true) frame, is the same for every frame
    rel = np.swapaxes(true_R, 1, 2) @ got
    assert np.degrees(rotation_angle(rel[:1], rel)).max() < 1.0
    np.testing.assert_allclose(
        hand.world_keypoints(), shape @ np.swapaxes(true_R, 1, 2) + tvecs[:, None], atol=1e-3
    )


def test_dexpilot_lands_a_pinch_and_keeps_open_pairs_apart():
    solver = DexPilotRetargeter("leap_hand")
    kp = np.stack([hand_shape(0.0)] * 3 + [hand_shape(0.5, pinch=1.0)] * 8)
    res = solver.retarget_keypoints(kp)
    robot_d, human_d = res.pair_distances()
    thumb_index = res.pairs.index((0, 1))
    assert res.projected[-1, thumb_index] and not res.projected[0, thumb_index]
    assert robot_d[-1, thumb_index] < 0.015  # the robot thumb and index tips meet
    assert robot_d[0, thumb_index] > 0.05  # and were apart with the hand open
    far = [k for k, (i, j) in enumerate(res.pairs) if i > 0 and not res.projected[-1, k]]
    assert np.abs(robot_d[-1, far] - human_d[-1, far]).max() < 0.02  # scaled human spacing kept


def test_augmentation_moves_hand_and_object_rigidly_together():
    ref = scripted_reference("pour")
    aug = augment(ref, np.random.default_rng(3), max_xy=0.05, max_yaw=0.5)
    assert np.abs(aug.object_pose[:, :3] - ref.object_pose[:, :3]).max() > 0.01  # it did move
    for side in ("left", "right"):
        a, b = ref.hands[side].world_keypoints(), aug.hands[side].world_keypoints()
        # hand points relative to the object, in the object's frame, are unchanged
        Ra, Rb = quat_to_mat(ref.object_pose[:, 3:]), quat_to_mat(aug.object_pose[:, 3:])
        rel_a = np.einsum("tji,tkj->tki", Ra, a - ref.object_pose[:, None, :3])
        rel_b = np.einsum("tji,tkj->tki", Rb, b - aug.object_pose[:, None, :3])
        np.testing.assert_allclose(rel_a, rel_b, atol=1e-9)


def test_every_task_has_a_retargetable_scripted_reference():
    for task in TASKS:
        ref = scripted_reference(task)
        robot = retarget_reference(ref)
        assert set(robot.hands) == {"left", "right"} and np.isfinite(robot.hands["left"].qpos).all()


def _projected_hand(T: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    K = np.array([[600.0, 0, 320], [0, 600.0, 240], [0, 0, 1]])
    shape = np.tile(hand_shape(0.2), (T, 1, 1))
    shape *= 0.095 / np.linalg.norm(shape[0, 9])
    rvecs = rng.uniform(-0.4, 0.4, (T, 3))
    tvecs = np.stack([rng.uniform(-0.1, 0.1, T), rng.uniform(-0.1, 0.1, T), rng.uniform(0.4, 0.7, T)], 1)
    pixels = np.stack([cv2.projectPoints(shape[t], rvecs[t], tvecs[t], K, None)[0][:, 0] for t in range(T)])
    return K, shape, pixels, tvecs


def test_video_keypoint_file_source(tmp_path):
    """The file `mediapipe_keypoints.py --kind hands` writes (both hands' pixels and world landmarks; the
    left hand unseen here) goes through the same PnP + plane fit."""
    K, shape, pixels, tvecs = _projected_hand()
    T = len(pixels)
    px = np.full((T, 2, 21, 2), np.nan)
    world = np.full((T, 2, 21, 3), np.nan)
    px[:, 1], world[:, 1] = pixels, shape
    np.savez(tmp_path / "view.npz", kind="hands", names=np.array([f"p{i}" for i in range(21)]),
             sides=np.array(["left", "right"]), pixels=px, positions=world, fps=30.0, width=640, height=480)  # fmt: skip
    ref = reference_from_video_file(tmp_path / "view.npz", K, side="right")
    assert np.abs(ref.hands["right"].wrist[:, :3] - tvecs).max() < 1e-3
    with pytest.raises(RetargetInputError, match="PnP placed the hand in 0 of 6"):
        reference_from_video_file(tmp_path / "view.npz", K, side="left")


def test_marker_capture_source_reads_wrist_and_object_from_markers(tmp_path):
    """A marker glove (wrist, knuckles, fingertips) and three markers on the object, in mm."""
    T = 5
    kp = np.tile(hand_shape(0.4), (T, 1, 1)) + np.array([0.1, -0.2, 0.4])
    kp[:, :, 0] += np.linspace(0, 0.03, T)[:, None]
    points = {"wrist": 0, "index_mcp": 5, "pinky_mcp": 17, "middle_mcp": 9, "ring_mcp": 13, "thumb_cmc": 1,
              "thumb_tip": 4, "index_tip": 8, "middle_tip": 12, "ring_tip": 16, "pinky_tip": 20}  # fmt: skip
    obj = np.array([[0.3, 0.0, 0.25], [0.32, 0.0, 0.25], [0.31, 0.02, 0.25]])
    names = [f"M_{p}" for p in points] + ["OBJ1", "OBJ2", "OBJ3"]
    pos = np.concatenate([kp[:, list(points.values())], np.tile(obj, (T, 1, 1))], axis=1) * 1000
    np.savez(tmp_path / "glove.npz", names=np.array(names), positions=pos, fps=100.0)
    import json

    (tmp_path / "map.json").write_text(json.dumps({"units": "mm", "side": "right",
                                                   "points": {p: f"M_{p}" for p in points}}))  # fmt: skip
    ref = reference_from_markers(
        tmp_path / "glove.npz", tmp_path / "map.json", object_markers=["OBJ1", "OBJ2", "OBJ3"]
    )
    np.testing.assert_allclose(ref.hands["right"].wrist[:, :3], kp[:, 0], atol=1e-9)
    np.testing.assert_allclose(ref.object_pose[:, :3], np.tile(obj.mean(0), (T, 1)), atol=1e-9)
    world = ref.hands["right"].world_keypoints()
    np.testing.assert_allclose(world[:, 8], kp[:, 8], atol=1e-6)  # a fingertip lands back in the world
