"""Property tests of the newer retarget sources: MediaPipe keypoint estimates (.npz), HumanML3D joint arrays
(.npy) and marker-glove recordings (.csv/.npz) with their hand map (.json). Same property as
test_fuzz_retarget_readers: a valid load (finite where the reader promises it) or RetargetInputError naming
the file and the field.

Bases are real: the MediaPipe hand estimate of the shared hand video (tests/fixtures), joints of a CMU clip
in HumanML3D's SMPL order, and a glove whose markers sit on the shared dex-retargeting hand points.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from fuzzing import (
    ARRAYS,
    FUZZ,
    JSON_VALUES,
    check_reader,
    damaged_bytes,
    mutate_fields,
    write_json,
    write_npz,
)
from hypothesis import given, strategies as st

from robolearn.retarget.sources.estimates import hand_from_estimate, read_estimate
from robolearn.retarget.sources.hands import HAND_POINTS
from robolearn.retarget.sources.markers import load_marker_hand
from robolearn.retarget.sources.smpl import load_smpl_joints

DATA = Path(os.environ.get("ROBOLEARN_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
HAND_NPY = DATA / "hands" / "human_joint_right.npy"
ESTIMATE = Path(__file__).parent / "fixtures" / "mediapipe_hand_video.npz"

# -- MediaPipe estimates -------------------------------------------------------------------------------

with np.load(ESTIMATE) as _z:
    EST = {k: _z[k][:12] if _z[k].ndim else _z[k] for k in _z.files}  # 12 frames: fast, still real


def _read_hand_estimate(path: Path):
    e = read_estimate(path)
    return hand_from_estimate(path, e) if e["kind"] == "hand" else e


@FUZZ
@given(fields=mutate_fields(EST, ARRAYS))
def test_mediapipe_estimate_fields_load_or_name_the_problem(fields):
    with tempfile.TemporaryDirectory() as d:
        out = check_reader(_read_hand_estimate, write_npz(d, "hand.npz", fields))
    if out is not None and not isinstance(out, dict):
        assert out.keypoints.shape[1:] == (21, 3) and np.isfinite(out.fps) and out.fps > 0
        assert out.side in ("left", "right")


@FUZZ
@given(data=st.data())
def test_damaged_mediapipe_estimate_loads_or_names_it(data):
    with tempfile.TemporaryDirectory() as d:
        raw = write_npz(d, "base.npz", EST).read_bytes()
        path = Path(d) / "hand.npz"
        path.write_bytes(data.draw(damaged_bytes(raw)))
        check_reader(_read_hand_estimate, path)


# -- HumanML3D joints (.npy) -------------------------------------------------------------------------------


@FUZZ
@given(array=st.one_of(ARRAYS, st.just(np.zeros((3, 22, 3))).map(lambda a: a + np.nan)))
def test_humanml3d_arrays_load_or_name_the_problem(array):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "000001.npy"
        np.save(path, array)
        motion = check_reader(load_smpl_joints, path)
    if motion is not None:
        assert np.isfinite(motion.positions).all() and motion.positions.shape[1:] == (22, 3)


def _humanml3d_bytes() -> bytes:
    """22 joints of a CMU clip, y up, as HumanML3D stores new_joints/*.npy."""
    import io

    from robolearn.retarget.sources import load_bvh

    m = load_bvh(DATA / "mocap" / "cmu" / "131_01.bvh").slice(0, 4)
    buf = io.BytesIO()
    np.save(buf, m.positions[:, :22][..., [0, 2, 1]])
    return buf.getvalue()


@FUZZ
@given(data=st.one_of(damaged_bytes(_humanml3d_bytes()), st.binary(max_size=200)))
def test_damaged_humanml3d_file_loads_or_names_it(data: bytes):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "000001.npy"
        path.write_bytes(data)
        motion = check_reader(load_smpl_joints, path)
    if motion is not None:
        assert np.isfinite(motion.positions).all()


# -- marker gloves -------------------------------------------------------------------------------------------

GLOVE_POINTS = ["wrist", "index_mcp", "pinky_mcp", "thumb_tip", "index_tip", "middle_tip", "ring_tip"]
GLOVE_MAP = {"units": "mm", "side": "right", "max_gap_s": 0.1, "fps": 30,
             "points": {p: f"M_{p}" for p in GLOVE_POINTS}}  # fmt: skip
_kp = np.load(HAND_NPY)[:8]
GLOVE = {
    "names": np.array([f"M_{p}" for p in GLOVE_POINTS]),
    "positions": 1000.0 * _kp[:, [HAND_POINTS.index(p) for p in GLOVE_POINTS]],
    "fps": np.float64(30.0),
}


def _glove_csv() -> str:
    cols = [f"{n}_{a}" for n in GLOVE["names"] for a in "xyz"]
    rows = [",".join(["time", *cols])]
    for t, frame in enumerate(GLOVE["positions"]):
        rows.append(",".join([f"{t / 30:.6f}", *(f"{v:.3f}" for v in frame.reshape(-1))]))
    return "\n".join(rows) + "\n"


def _check_glove(seq) -> None:
    if seq is not None:
        assert seq.keypoints.shape == (seq.num_frames, 21, 3) and np.isfinite(seq.fps) and seq.fps > 0


@FUZZ
@given(hand_map=st.one_of(mutate_fields(GLOVE_MAP, JSON_VALUES), JSON_VALUES))
def test_marker_hand_map_loads_or_names_the_problem(hand_map: Any):
    with tempfile.TemporaryDirectory() as d:
        markers = write_npz(d, "glove.npz", GLOVE)
        map_path = write_json(d, "map.json", hand_map)
        try:
            _check_glove(load_marker_hand(markers, map_path))
        except Exception as exc:  # the error names the map (or the markers file it points into)
            from robolearn.retarget.errors import RetargetInputError

            assert isinstance(exc, RetargetInputError), repr(exc)
            assert exc.source in (str(map_path), str(markers))


@FUZZ
@given(fields=mutate_fields(GLOVE, ARRAYS))
def test_marker_npz_fields_load_or_name_the_problem(fields):
    with tempfile.TemporaryDirectory() as d:
        map_path = write_json(d, "map.json", GLOVE_MAP)
        _check_glove(
            check_reader(lambda p: load_marker_hand(p, map_path), write_npz(d, "glove.npz", fields), map_path)
        )


@FUZZ
@given(data=damaged_bytes(_glove_csv().encode()))
def test_damaged_marker_csv_loads_or_names_it(data: bytes):
    with tempfile.TemporaryDirectory() as d:
        map_path = write_json(d, "map.json", GLOVE_MAP)
        path = Path(d) / "glove.csv"
        path.write_bytes(data)
        _check_glove(check_reader(lambda p: load_marker_hand(p, map_path), path, map_path))
