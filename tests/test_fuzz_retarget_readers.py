"""Property tests of the human-motion and clip readers: whatever bytes or fields a file holds, a reader either
loads it into finite, consistently shaped data or raises RetargetInputError naming the file and the field.

Each property starts from a real, valid file (a CMU BVH clip, the shared dex-retargeting hand recording, a
keypoint/VR file built from the CMU clip) and damages it: truncations, byte flips, fields replaced by wrong
types, wrong shapes, NaN/inf, huge numbers and unicode, fields removed. Hypothesis runs derandomized (the same
cases on every run, so CI is reproducible); ROBOLEARN_FUZZ_EXAMPLES raises the number of cases for a longer
local hunt.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fuzzing import (
    ARRAYS,
    FLOATS,
    FUZZ,
    JSON_VALUES,
    TEXT,
    check_reader,
    damaged_bytes,
    mutate_fields,
    write_json,
    write_npz,
)  # fmt: skip
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from robolearn.retarget.clip import MotionClip
from robolearn.retarget.sources import load_bvh, load_hand_keypoints, load_keypoints, load_vr

DATA = Path(os.environ.get("ROBOLEARN_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
CMU_BVH = DATA / "mocap" / "cmu" / "131_01.bvh"
HAND_NPY = DATA / "hands" / "human_joint_right.npy"

# -- BVH ------------------------------------------------------------------------------------------------


def _short_bvh() -> str:
    """The CMU clip cut to 3 frames (a whole skeleton, fast to parse)."""
    head, motion = CMU_BVH.read_text().split("MOTION")
    lines = motion.strip().splitlines()
    return head + "MOTION\nFrames: 3\n" + "\n".join(lines[1:5]) + "\n"


BVH_TEXT = _short_bvh()
BVH_TOKENS = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "1e400", "-1e308", "", "{", "}", "ROOT", "JOINT", "End", "Site",
                     "CHANNELS", "OFFSET", "MOTION", "Frames:", "0", "-3", "99999999999", "Xrotation",
                     "Wrotation", "Ä", "名前", "\x00"]),
    TEXT.filter(lambda s: not any(c.isspace() for c in s)),
)  # fmt: skip


@st.composite
def damaged_bvh(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(damaged_bytes(BVH_TEXT.encode()))
    # Token-level damage keeps the file text, so the parser (not the decoder) meets it.
    lines = BVH_TEXT.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(0, len(lines) - 1))
        toks = lines[k].split() or [""]
        toks[draw(st.integers(0, len(toks) - 1))] = draw(BVH_TOKENS)
        lines[k] = " ".join(toks)
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@FUZZ
@given(data=damaged_bvh())
def test_damaged_bvh_loads_or_names_the_problem(data: bytes):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "clip.bvh"
        path.write_bytes(data)
        motion = check_reader(load_bvh, path)
    if motion is not None:
        assert np.isfinite(motion.positions).all() and np.isfinite(motion.rotations).all()
        assert motion.positions.shape == (motion.num_frames, len(motion.names), 3)
        assert motion.num_frames >= 1 and np.isfinite(motion.fps) and motion.fps > 0


def test_unicode_bvh_joint_names_load(tmp_path):
    """Non-ASCII joint names (exported by localized tools) are names like any other."""
    path = tmp_path / "ユニコード.bvh"
    path.write_text(BVH_TEXT.replace("JOINT Head", "JOINT Kopf_頭"), encoding="utf-8")
    motion = load_bvh(path)
    assert "Kopf_頭" in motion.names and motion.num_frames == 3


# -- keypoints (.npz / .json / .csv) ---------------------------------------------------------------------


def _keypoint_base() -> dict[str, Any]:
    """Five named joints of the CMU clip's first frames, metres, z up."""
    m = load_bvh(CMU_BVH).slice(0, 4)
    keep = [m.index(n) for n in ("Hips", "Head", "LeftWrist", "RightWrist", "LeftAnkle")]
    return {"names": np.array([m.names[i] for i in keep]), "positions": m.positions[:, keep], "fps": 120.0}


KP = _keypoint_base()


@FUZZ
@given(fields=mutate_fields({**KP, "units": np.array("m"), "up": np.array("z")}, ARRAYS))
def test_keypoint_npz_fields_load_or_name_the_problem(fields):
    with tempfile.TemporaryDirectory() as d:
        motion = check_reader(load_keypoints, write_npz(d, "kp.npz", fields))
    if motion is not None:
        assert np.isfinite(motion.positions).all() and motion.fps > 0 and np.isfinite(motion.fps)
        assert motion.positions.shape == (motion.num_frames, len(motion.names), 3) and motion.num_frames >= 1


KP_JSON = {"names": KP["names"].tolist(), "positions": KP["positions"].tolist(), "fps": 120, "units": "m",
           "up": "z"}  # fmt: skip


@FUZZ
@given(data=st.one_of(mutate_fields(KP_JSON, JSON_VALUES), JSON_VALUES))
def test_keypoint_json_fields_load_or_name_the_problem(data):
    with tempfile.TemporaryDirectory() as d:
        motion = check_reader(load_keypoints, write_json(d, "kp.json", data))
    if motion is not None:
        assert np.isfinite(motion.positions).all() and motion.fps > 0 and np.isfinite(motion.fps)


def _keypoint_csv() -> str:
    cols = [f"{n}_{a}" for n in KP["names"] for a in "xyz"]
    rows = [",".join(["time", *cols])]
    for t, frame in enumerate(KP["positions"]):
        rows.append(",".join([f"{t / 120:.6f}", *(f"{v:.5f}" for v in frame.reshape(-1))]))
    return "\n".join(rows) + "\n"


@FUZZ
@given(data=damaged_bytes(_keypoint_csv().encode()))
def test_damaged_keypoint_csv_loads_or_names_the_problem(data: bytes):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "kp.csv"
        path.write_bytes(data)
        motion = check_reader(load_keypoints, path)
    if motion is not None:
        assert np.isfinite(motion.positions).all() and motion.fps > 0 and np.isfinite(motion.fps)


@FUZZ
@given(suffix=st.sampled_from(["npz", "json", "csv"]), raw=st.binary(max_size=64))
def test_keypoint_files_of_random_bytes_name_the_problem(suffix: str, raw: bytes):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"kp.{suffix}"
        path.write_bytes(raw)
        assert check_reader(load_keypoints, path) is None


# -- VR ---------------------------------------------------------------------------------------------------


def _vr_base() -> dict[str, Any]:
    """Head and wrists of the CMU clip as [T, 7] poses (position + wxyz), hands from the dex recording."""
    m = load_bvh(CMU_BVH).slice(0, 4)
    hand = np.load(HAND_NPY)[:4]
    out: dict[str, Any] = {"fps": 120.0, "frame": np.array("robot"), "left_hand": hand, "right_hand": hand}
    for key, joint in (("head", "Head"), ("left_wrist", "LeftWrist"), ("right_wrist", "RightWrist")):
        quat = np.tile([1.0, 0.0, 0.0, 0.0], (4, 1))
        out[key] = np.concatenate([m.positions[:, m.index(joint)], quat], axis=1)
    return out


VR = _vr_base()


def _check_vr(seq) -> None:
    if seq is None:
        return
    for a in (seq.head, seq.left_wrist, seq.right_wrist):
        assert a.shape == (seq.num_frames, 4, 4) and np.isfinite(a).all()
        R = a[:, :3, :3]  # rotations, in the robot frame too
        np.testing.assert_allclose(R @ np.swapaxes(R, 1, 2), np.broadcast_to(np.eye(3), R.shape), atol=2e-3)
    assert seq.num_frames >= 1 and seq.fps > 0 and np.isfinite(seq.fps)


POSE_ARRAYS = st.one_of(
    ARRAYS,
    hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.just(4), st.just(4)), elements=FLOATS),
    hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.just(7)), elements=FLOATS),
)
"""Field values, with pose-shaped ([T, 4, 4], [T, 7]) arrays of any numbers drawn as often as the rest."""


@FUZZ
@given(fields=mutate_fields(VR, POSE_ARRAYS))
def test_vr_npz_fields_load_or_name_the_problem(fields):
    with tempfile.TemporaryDirectory() as d:
        _check_vr(check_reader(load_vr, write_npz(d, "vr.npz", fields)))


@FUZZ
@given(
    key=st.sampled_from(["head", "left_wrist", "right_wrist"]),
    mats=hnp.arrays(np.float64, (4, 4, 4), elements=st.floats(-2, 2)),
)
def test_vr_pose_matrices_load_as_rotations_or_name_the_problem(key: str, mats: np.ndarray):
    """Finite [T, 4, 4] poses of the right length, which only a check of the rotation itself can refuse."""
    with tempfile.TemporaryDirectory() as d:
        _check_vr(check_reader(load_vr, write_npz(d, "vr.npz", {**VR, key: mats})))


VR_JSON = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in VR.items()}


@FUZZ
@given(data=st.one_of(mutate_fields(VR_JSON, JSON_VALUES), JSON_VALUES))
def test_vr_json_fields_load_or_name_the_problem(data):
    with tempfile.TemporaryDirectory() as d:
        _check_vr(check_reader(load_vr, write_json(d, "vr.json", data)))


# -- hand keypoints (.npy / .npz) ------------------------------------------------------------------------

HAND = np.load(HAND_NPY)[:4]


@FUZZ
@given(fields=mutate_fields({"keypoints": HAND, "fps": np.float64(30.0), "side": np.array("left")}, ARRAYS))
def test_hand_npz_fields_load_or_name_the_problem(fields):
    with tempfile.TemporaryDirectory() as d:
        seq = check_reader(load_hand_keypoints, write_npz(d, "hand.npz", fields))
    if seq is not None:
        assert seq.keypoints.shape[1:] == (21, 3) and np.isfinite(seq.keypoints).all()
        assert seq.fps > 0 and np.isfinite(seq.fps) and seq.side in ("left", "right")


@FUZZ
@given(array=ARRAYS)
def test_hand_npy_arrays_load_or_name_the_problem(array):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "hand.npy"
        np.save(path, array)
        seq = check_reader(load_hand_keypoints, path)
    if seq is not None:
        assert seq.keypoints.shape[1:] == (21, 3) and np.isfinite(seq.keypoints).all()


@FUZZ
@given(data=damaged_bytes(HAND_NPY.read_bytes()[:4096]))
def test_damaged_hand_npy_loads_or_names_the_problem(data: bytes):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "hand.npy"
        path.write_bytes(data)
        check_reader(load_hand_keypoints, path)


# -- retargeted clips (.npz) -----------------------------------------------------------------------------


def _clip_fields() -> dict[str, Any]:
    """The fields of a clip as MotionClip.save writes them: 3 CMU frames retargeted onto G1."""
    from robolearn.retarget.api import retarget_file

    with tempfile.TemporaryDirectory() as d:
        path = retarget_file(CMU_BVH, "g1", frames=(0, 3)).clip.save(Path(d) / "clip.npz")
        with np.load(path) as z:
            return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def clip_fields() -> dict[str, Any]:
    return _clip_fields()


def _check_clip(clip: MotionClip | None) -> None:
    if clip is None:
        return
    assert clip.qpos.shape == (clip.num_frames, len(clip.joint_names) + 7 * clip.has_root)
    assert np.isfinite(clip.qpos).all() and np.isfinite(clip.body_pos).all()
    assert clip.fps > 0 and np.isfinite(clip.fps)
    assert clip.body_pos.shape == (clip.num_frames, len(clip.body_names), 3)


@FUZZ
@given(data=st.data())
def test_clip_fields_load_or_name_the_problem(clip_fields, data):
    fields = data.draw(mutate_fields(clip_fields, ARRAYS))
    with tempfile.TemporaryDirectory() as d:
        _check_clip(check_reader(MotionClip.load, write_npz(d, "clip.npz", fields)))


@FUZZ
@given(data=st.data())
def test_damaged_clip_file_loads_or_names_the_problem(clip_fields, data):
    with tempfile.TemporaryDirectory() as d:
        raw = write_npz(d, "clip.npz", clip_fields).read_bytes()
        path = Path(d) / "damaged.npz"
        path.write_bytes(data.draw(damaged_bytes(raw)))
        _check_clip(check_reader(MotionClip.load, path))
