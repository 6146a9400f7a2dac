"""Readers: every shared CMU clip parses; malformed inputs give clear errors and write nothing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from robolearn.retarget.errors import RetargetInputError
from robolearn.retarget.sources import load_bvh, load_hand_keypoints, load_keypoints, load_vr

DATA = Path(os.environ.get("ROBOLEARN_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
CMU = DATA / "mocap" / "cmu"
os.environ.setdefault("MENAGERIE_ROOT", str(DATA.parent / "menagerie"))

# From SOURCES.md: frames, 31 joints (+7 end sites), 96 channels, 120 fps.
EXPECTED_FRAMES = {"01_01.bvh": 2752, "131_01.bvh": 994, "131_02.bvh": 1247, "131_03.bvh": 1102}


@pytest.mark.parametrize("name", sorted(EXPECTED_FRAMES))
def test_bvh_parses_every_shared_clip(name):
    m = load_bvh(CMU / name)
    assert m.num_frames == EXPECTED_FRAMES[name]
    assert m.meta["num_joints"] == 31 and len(m.names) == 38 and m.meta["num_channels"] == 96
    assert m.fps == pytest.approx(120.0, rel=1e-4)
    assert m.meta["units"] == "cmu" and m.meta["up_axis"] == "y"
    # Metres, z up: the head is 1.2-1.6 m above the lowest foot point in the first frame.
    head = m.positions[0, m.index("Head"), 2]
    assert 1.2 < head - m.positions[0, :, 2].min() < 1.7


def test_bvh_units_and_axes_are_detected(tmp_path):
    """The same skeleton in metres with z up reads to the same positions as the CMU original."""
    text = (CMU / "131_01.bvh").read_text()
    ref = load_bvh(CMU / "131_01.bvh")
    head, motion = text.split("MOTION")
    scale = 0.0254 / 0.45

    def conv(line: str) -> str:
        toks = line.split()
        return (
            "\t".join([toks[0], *[f"{float(v) * scale:.6f}" for v in toks[1:]]])
            if toks and toks[0] == "OFFSET"
            else line
        )

    lines = motion.strip().splitlines()
    rows = []
    for row in lines[2:4]:
        vals = row.split()
        vals[:3] = [f"{float(v) * scale:.6f}" for v in vals[:3]]
        rows.append(" ".join(vals))
    metres = (
        "\n".join(conv(ln) for ln in head.splitlines())
        + "MOTION\nFrames: 2\n"
        + lines[1]
        + "\n"
        + "\n".join(rows)
        + "\n"
    )
    p = tmp_path / "m.bvh"
    p.write_text(metres)
    m = load_bvh(p)
    assert m.meta["units"] == "m"
    np.testing.assert_allclose(m.positions, ref.positions[:2], atol=1e-4)


def _truncated(tmp_path: Path) -> Path:
    text = (CMU / "131_01.bvh").read_text()
    p = tmp_path / "cut.bvh"
    p.write_text(text[: int(len(text) * 0.6)])
    return p


def test_truncated_bvh_is_a_clear_error(tmp_path):
    p = _truncated(tmp_path)
    with pytest.raises(RetargetInputError, match=r"cut\.bvh.*Frames.*994.*truncated"):
        load_bvh(p)


def test_nan_keypoints_are_a_clear_error(tmp_path):
    pos = np.zeros((5, 2, 3))
    pos[3, 1, 2] = np.nan
    p = tmp_path / "k.npz"
    np.savez(p, names=np.array(["a", "b"]), positions=pos, fps=30.0)
    with pytest.raises(RetargetInputError, match=r"k\.npz.*'positions'.*non-finite.*\(3, 1, 2\)"):
        load_keypoints(p)


def test_wrong_keypoint_count_is_a_clear_error(tmp_path):
    p = tmp_path / "hand.npy"
    np.save(p, np.zeros((4, 20, 3)))
    with pytest.raises(RetargetInputError, match=r"hand\.npy.*\[T>=1, 21, 3\].*\(4, 20, 3\)"):
        load_hand_keypoints(p)
    p2 = tmp_path / "body.npz"
    np.savez(p2, names=np.array(["a", "b", "c"]), positions=np.zeros((4, 2, 3)), fps=30.0)
    with pytest.raises(RetargetInputError, match=r"body\.npz.*'positions'.*\[T>=1, 3, 3\]"):
        load_keypoints(p2)


def test_keypoint_formats_agree(tmp_path):
    ref = load_bvh(CMU / "131_02.bvh").slice(0, 10)
    np.savez(tmp_path / "k.npz", names=np.array(ref.names), positions=ref.positions, fps=ref.fps)
    import json

    (tmp_path / "k.json").write_text(
        json.dumps({"fps": ref.fps, "names": ref.names, "positions": ref.positions.tolist()})
    )
    header = "time," + ",".join(f"{n}_{a}" for n in ref.names for a in "xyz")
    rows = [
        ",".join([f"{t / ref.fps:.9f}", *map(repr, ref.positions[t].ravel().tolist())]) for t in range(10)
    ]
    (tmp_path / "k.csv").write_text(header + "\n" + "\n".join(rows) + "\n")
    for suffix in ("npz", "json", "csv"):
        m = load_keypoints(tmp_path / f"k.{suffix}")
        np.testing.assert_allclose(m.positions, ref.positions, atol=1e-9)
        assert m.fps == pytest.approx(ref.fps, rel=1e-6)


def test_vr_frame_conversion(tmp_path):
    """OpenXR forward (-z) becomes robot +x, up (+y) becomes +z; Unity forward (+z) becomes +x."""
    T = 3
    pose = np.tile([0.0, 1.6, -0.5, 1.0, 0.0, 0.0, 0.0], (T, 1))
    p = tmp_path / "vr.npz"
    np.savez(p, fps=90.0, head=pose, left_wrist=pose, right_wrist=pose, frame="openxr")
    vr = load_vr(p)
    np.testing.assert_allclose(vr.head[0, :3, 3], [0.5, 0.0, 1.6])
    np.savez(p, fps=90.0, head=pose, left_wrist=pose, right_wrist=pose, frame="unity")
    vr = load_vr(p)
    np.testing.assert_allclose(vr.head[0, :3, 3], [-0.5, 0.0, 1.6])
    assert np.linalg.det(vr.head[0, :3, :3]) == pytest.approx(1.0)
    np.savez(p, fps=90.0, head=pose, left_wrist=pose[:2], right_wrist=pose)
    with pytest.raises(RetargetInputError, match="left_wrist.*expected 3 frames"):
        load_vr(p)
