"""Body keypoints from video (MediaPipe pose estimate files) into the humanoid solver.

No video of a whole person is on disk (the shared video shows a hand), so the estimate file here is made
from a real CMU clip, written the way mediapipe_keypoints.py writes pose_landmark_full's world landmarks
(33 named points, hip-centred, metres, y down, z away from the camera). What this checks is our reading
of that convention; MediaPipe itself ran on real frames only for hands and for a person-free video.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from robolearn.retarget.cli import RetargetArgs, main
from robolearn.retarget.errors import RetargetInputError
from robolearn.retarget.skeleton import BODY_POINTS, OPTIONAL_POINTS, body_points
from robolearn.retarget.sources import load_bvh, load_motion
from robolearn.retarget.sources.estimates import _Y_DOWN_TO_Z_UP

DATA = Path(os.environ.get("ROBOLEARN_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
CMU = DATA / "mocap" / "cmu"
MP_PY = Path(__file__).resolve().parents[1] / "retarget" / "mediapipe_keypoints.py"

# MediaPipe pose point -> CMU (Motionbuilder rig) joint; face points sit at the head.
_FROM_CMU = {
    "shoulder": "{S}Arm", "elbow": "{S}ForeArm", "wrist": "{S}Hand", "pinky": "{s}Fingers",
    "index": "{S}FingerBase", "thumb": "{s}Thumb", "hip": "{S}UpLeg", "knee": "{S}Leg",
    "ankle": "{S}Foot", "heel": "{S}Foot", "foot_index": "{S}ToeBase",
}  # fmt: skip


def pose_names() -> list[str]:
    import importlib.util

    spec = importlib.util.spec_from_file_location("mediapipe_keypoints", MP_PY)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.POSE_NAMES


def cmu_as_mediapipe(frames: int = 8) -> tuple[dict, np.ndarray, list[str]]:
    m = load_bvh(CMU / "01_01.bvh").slice(0, frames)
    names = pose_names()
    pts = np.zeros((frames, len(names), 3))
    for k, name in enumerate(names):
        side, _, part = name.partition("_")
        if side in ("left", "right") and part in _FROM_CMU:
            S, s = ("Left", "L") if side == "left" else ("Right", "R")
            pts[:, k] = m.positions[:, m.index(_FROM_CMU[part].format(S=S, s=s))]
            if part == "heel":
                pts[:, k, 2] -= 0.05
        else:
            pts[:, k] = m.positions[:, m.index("Head")]
    zup = pts.copy()
    hips = (pts[:, names.index("left_hip")] + pts[:, names.index("right_hip")]) / 2
    mp = np.einsum("ji,tkj->tki", _Y_DOWN_TO_Z_UP, pts - hips[:, None])  # inverse rotation
    d = {
        "kind": np.array("body"),
        "names": np.array(names),
        "positions": mp,
        "detected": np.ones(frames, bool),
        "fps": np.float64(120.0),
        "estimator": np.array("made from CMU 01_01 in MediaPipe's convention"),
    }
    return d, zup, names


def test_body_estimate_reads_z_up_with_pelvis_spine_and_toes(tmp_path):
    d, zup, names = cmu_as_mediapipe()
    p = tmp_path / "walk_pose.npz"
    np.savez(p, **d)
    m = load_motion(p)
    assert m.fps == 120.0 and m.meta["format"] == "video_body"
    for a, b in (("left_hip", "left_knee"), ("right_shoulder", "right_wrist")):
        np.testing.assert_allclose(
            m.positions[:, m.index(b)] - m.positions[:, m.index(a)],
            zup[:, names.index(b)] - zup[:, names.index(a)],
            atol=1e-9,
        )
    assert m.positions[:, :, 2].min() == pytest.approx(0.0, abs=1e-9)  # lowest heel/toe on the ground
    assert (m.positions[:, m.index("nose"), 2] > m.positions[:, m.index("pelvis"), 2] + 0.4).all()
    pts, used = body_points(m)
    required = [BODY_POINTS.index(q) for q in BODY_POINTS if q not in OPTIONAL_POINTS]
    assert np.isfinite(pts[:, required]).all()
    assert used[BODY_POINTS.index("left_toe")] == "left_toe" and used[BODY_POINTS.index("spine")] == "spine"
    out = tmp_path / "walk_pose_g1.npz"
    assert main(RetargetArgs(input=p, robot="g1", out=out, stop=4)) == 0 and out.exists()


def test_no_person_in_most_frames_is_an_error(tmp_path):
    d, _, _ = cmu_as_mediapipe(frames=10)
    d["detected"][2:9] = False
    d["positions"][2:9] = np.nan
    p = tmp_path / "empty_room.npz"
    np.savez(p, **d)
    with pytest.raises(RetargetInputError, match=r"no person detected in 7 of 10 frames \(frames 2-8\)"):
        load_motion(p)
    out = tmp_path / "empty_room_g1.npz"
    assert main(RetargetArgs(input=p, robot="g1", out=out)) != 0 and not out.exists()


@pytest.mark.skipif(
    not os.environ.get("ROBOLEARN_MEDIAPIPE_PYTHON"),
    reason="set ROBOLEARN_MEDIAPIPE_PYTHON to MediaPipe's venv",
)
def test_video_without_a_person_names_the_frames(tmp_path):
    """Real MediaPipe pose on a video with nobody in it (the shared chessboard photos, 2 frames each)."""
    import cv2
    import imageio_ffmpeg

    video = tmp_path / "boards.mp4"
    writer = imageio_ffmpeg.write_frames(str(video), (640, 480), fps=5, macro_block_size=1)
    writer.send(None)
    boards = sorted((DATA / "stereo").glob("left*.jpg"))
    for img in boards:
        rgb = cv2.cvtColor(cv2.resize(cv2.imread(str(img)), (640, 480)), cv2.COLOR_BGR2RGB)
        for _ in range(2):
            writer.send(np.ascontiguousarray(rgb))
    writer.close()
    out = tmp_path / "boards_g1.npz"
    assert main(RetargetArgs(input=video, robot="g1", out=out)) != 0 and not out.exists()
    from robolearn.retarget.sources.estimates import read_estimate, run_mediapipe

    keypoints = run_mediapipe(video, "body")
    try:
        with pytest.raises(
            RetargetInputError, match=rf"boards\.mp4.*no person detected in {2 * len(boards)} of"
        ):
            read_estimate(keypoints, video=video)
    finally:
        keypoints.unlink()
