"""Stereo (or monocular) video -> 3-D hand tracks in the left camera's frame.

Each view is a video (MediaPipe's hand landmarker runs on it in its own environment, `--kind hands` of
mediapipe_keypoints.py) or the keypoint .npz that step wrote. The two views must have the same number of
frames and the frame size of the calibration; a hand is used when both views see it in at least half the
frames, with matches whose rectified rows disagree by more than MAX_EPIPOLAR_PX dropped (MediaPipe labels
a hand's side per view, and a mislabelled view pairs a left hand with a right one).

Monocular input places each hand by an assumed hand size (hand_pose.monocular_hand) and is less accurate:
depth is off by the ratio of the true to the assumed size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .errors import RetargetInputError, as_float_array, as_number, read_npz
from .hand_pose import HAND_SIZE_M, SIDES, HandTrack, hand_track, monocular_hand
from .sources.estimates import VIDEO_SUFFIXES, run_mediapipe
from .sources.gaps import fill_short_gaps, format_ranges, runs
from .sources.hands import HAND_POINTS
from .stereo import Rectification, StereoCalibration, rectify, triangulate

# A true match sits on the same rectified row up to the detector's noise (MediaPipe: 2-5 px at 640x480);
# a left hand paired with a right one is off by tens of pixels.
MAX_EPIPOLAR_PX = 12.0
MIN_JOINTS = 17  # of 21: MediaPipe always reports all 21 (guessing hidden ones); markers may hide a few


@dataclass
class ViewKeypoints:
    source: Path
    pixels: np.ndarray  # [T, 2, 21, 2], sides in SIDES order, NaN where not detected
    shape: np.ndarray  # [T, 2, 21, 3] MediaPipe world landmarks (hand-centred metres), NaN where missing
    fps: float
    size: tuple[int, int]  # width, height


@dataclass
class HandsResult:
    tracks: dict[str, HandTrack]  # the hands seen, in the left camera's frame
    method: str  # "stereo" or "monocular"
    detected: dict[str, float] = field(default_factory=dict)  # fraction of frames each hand was used
    epipolar_px: dict[str, float] = field(default_factory=dict)  # median row disagreement of the matches
    notes: list[str] = field(default_factory=list)


def probe_video(path: Path) -> tuple[int, tuple[int, int], float]:
    """(frames, (width, height), fps) of a video, read by OpenCV without decoding it all."""
    if not path.is_file():
        raise RetargetInputError(path, "file", "not found")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise RetargetInputError(path, "file", "not a readable video (OpenCV could not open it)")
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        return frames, size, float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
    finally:
        cap.release()


def read_view(path: Path, video: Path | None = None) -> ViewKeypoints:
    """A keypoint file of `mediapipe_keypoints.py --kind hands`; errors name `video` when made from one."""
    where = video or path
    d = read_npz(path, "hand keypoint .npz (mediapipe_keypoints.py --kind hands)")
    for key in ("pixels", "positions", "fps", "width", "height"):
        if key not in d:
            raise RetargetInputError(
                where, key, "missing; expected a file from mediapipe_keypoints.py --kind hands"
            )
    px = as_float_array(d["pixels"], where, "pixels")
    if px.ndim != 4 or px.shape[1:] != (2, 21, 2) or len(px) < 2:
        raise RetargetInputError(where, "pixels", f"shape {px.shape}; expected [T>=2, 2, 21, 2]")
    shape = as_float_array(d["positions"], where, "positions")
    if shape.shape != px.shape[:3] + (3,):
        raise RetargetInputError(where, "positions", f"shape {shape.shape}; expected {px.shape[:3] + (3,)}")
    if "sides" in d and [str(s) for s in d["sides"]] != list(SIDES):
        raise RetargetInputError(where, "sides", f"{d['sides']!r}; expected {list(SIDES)}")
    size = (int(as_number(d["width"], where, "width")), int(as_number(d["height"], where, "height")))
    return ViewKeypoints(where, px, shape, as_number(d["fps"], where, "fps"), size)


def load_view(path: Path, mediapipe_python: str | Path | None = None) -> ViewKeypoints:
    """Keypoints of one view: run MediaPipe on a video, or read a keypoint .npz."""
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        if not path.is_file():
            raise RetargetInputError(path, "file", "not found")
        return read_view(path)
    out = run_mediapipe(path, "hands", mediapipe_python)
    try:
        return read_view(out, video=path)
    finally:
        out.unlink(missing_ok=True)


def check_views(left: tuple[Path, int, tuple[int, int]], right: tuple[Path, int, tuple[int, int]] | None,
                calib: StereoCalibration, calib_path: Path) -> None:  # fmt: skip
    """Both views the same length and frame size, and the calibration's size; (path, frames, size) each."""
    (lp, ln, lsize) = left
    if right is not None:
        rp, rn, rsize = right
        if rn != ln:
            raise RetargetInputError(rp, "frames", f"{rn} frames; expected {ln} like the left view {lp.name}")
        if rsize != lsize:
            raise RetargetInputError(rp, "frame size", f"{rsize[0]}x{rsize[1]}; expected "
                                     f"{lsize[0]}x{lsize[1]} like the left view {lp.name}")  # fmt: skip
    if lsize != calib.image_size:
        w, h = calib.image_size
        raise RetargetInputError(calib_path, "image_size", f"{w}x{h}; the video {lp.name} is "
                                 f"{lsize[0]}x{lsize[1]}: calibrate at the video's resolution")  # fmt: skip
    if right is not None and calib.right is None:
        raise RetargetInputError(calib_path, "right", "missing; two views need a stereo calibration")


def view_header(path: Path) -> tuple[Path, int, tuple[int, int]]:
    """(path, frames, size) before any keypoint extraction: cheap for videos, a read for .npz."""
    if path.suffix.lower() in VIDEO_SUFFIXES:
        frames, size, _ = probe_video(path)
        return path, frames, size
    if not path.is_file():
        raise RetargetInputError(path, "file", "not found")
    v = read_view(path)
    return path, len(v.pixels), v.size


def _filled(points: np.ndarray) -> np.ndarray:
    """Every joint's missing frames interpolated (ends held): frames were judged usable before this, and
    the notes name the frames that were filled. NaN stays only for a joint never seen."""
    filled, _ = fill_short_gaps(points, HAND_POINTS, len(points))
    return filled


def _pairing_score(pts: np.ndarray, epi: np.ndarray) -> np.ndarray:
    """Per frame, for triangulated hands [T, 2, 21, 3] and their epipolar errors [T, 2, 21]: the number of
    hands that match (on one rectified row, in front of the camera), less a fraction for their row error."""
    seen = np.isfinite(epi)
    n = np.maximum(seen.sum(-1), 1)
    row = np.where(seen, epi, 0.0).sum(-1) / n
    ahead = np.where(seen, pts[..., 2] > 0, True).all(-1)
    good = seen.any(-1) & ahead & (row <= MAX_EPIPOLAR_PX)
    return (good * (1.0 - row / (2 * MAX_EPIPOLAR_PX))).sum(-1)


def match_hands(left: ViewKeypoints, right: ViewKeypoints, calib: StereoCalibration,
                rect: Rectification) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The right view's hands in the left view's order, frame by frame (and which frames were swapped).

    MediaPipe labels a hand's side in each view on its own and sometimes gets it wrong in one: the pairing
    kept is the one whose matches lie on one rectified row and in front of the cameras (a left hand paired
    with a right one side by side triangulates behind the cameras or off the row)."""
    same = _pairing_score(*triangulate(calib, left.pixels, right.pixels, rect))
    swapped = _pairing_score(*triangulate(calib, left.pixels, right.pixels[:, ::-1], rect))
    swap = swapped > same
    pixels = right.pixels.copy()
    pixels[swap] = pixels[swap][:, ::-1]
    return pixels, swap


def stereo_hands(left: ViewKeypoints, right: ViewKeypoints, calib: StereoCalibration,
                 cutoff_hz: float = 4.0) -> HandsResult:  # fmt: skip
    """Triangulate each hand seen in both views in at least half the frames."""
    rect = rectify(calib)
    result = HandsResult({}, "stereo")
    seen: dict[str, np.ndarray] = {}
    right_px, swap = match_hands(left, right, calib, rect)
    if swap.any():
        result.notes.append(f"hand sides relabelled in the right view at frames {format_ranges(runs(swap))} "
                            "(MediaPipe's labels disagreed between the views; matched by geometry)")  # fmt: skip
    for k, side in enumerate(SIDES):
        pts, epi = triangulate(calib, left.pixels[:, k], right_px[:, k], rect)
        # Per joint: seen in both views, on one rectified row, in front of the camera. A frame counts when
        # MIN_JOINTS are; its other joints are interpolated like short gaps (a hidden fingertip).
        joint_ok = np.isfinite(epi) & (epi <= MAX_EPIPOLAR_PX) & (pts[..., 2] > 0)
        used = joint_ok.sum(axis=1) >= MIN_JOINTS
        pts[~joint_ok] = np.nan
        seen[side] = used
        result.detected[side] = float(used.mean())
        if used.mean() < 0.5:
            continue
        pts[~used] = np.nan
        result.epipolar_px[side] = float(np.median(epi[joint_ok & used[:, None]]))
        filled = _filled(pts)
        if not np.isfinite(filled).all():
            result.notes.append(f"{side} hand: a joint is never seen in both views; hand left out")
            continue
        result.tracks[side] = hand_track(filled, side, left.fps, cutoff_hz)
        if (~used).any():
            result.notes.append(
                f"{side} hand: frames {format_ranges(runs(~used))} filled (not seen in both views)"
            )
    if not result.tracks:
        _no_hands(left.source, seen)
    return result


def monocular_hands(view: ViewKeypoints, calib: StereoCalibration, hand_size_m: float = HAND_SIZE_M,
                    cutoff_hz: float = 4.0) -> HandsResult:  # fmt: skip
    """Each hand placed in the camera's frame by its assumed size; says it is less accurate."""
    result = HandsResult({}, "monocular")
    seen: dict[str, np.ndarray] = {}
    for k, side in enumerate(SIDES):
        pts = monocular_hand(view.pixels[:, k], view.shape[:, k], calib.left.camera_matrix,
                             calib.left.dist_coeffs, hand_size_m)  # fmt: skip
        used = np.isfinite(pts).all(axis=(1, 2))
        seen[side] = used
        result.detected[side] = float(used.mean())
        if used.mean() >= 0.5:
            result.tracks[side] = hand_track(_filled(pts), side, view.fps, cutoff_hz)
    if not result.tracks:
        _no_hands(view.source, seen)
    result.notes.append(f"monocular: depth from an assumed hand length of {hand_size_m * 100:.1f} cm "
                        "(wrist to middle knuckle); less accurate than stereo: a hand 10% larger than assumed "
                        "is placed 10% too far (pass two views for triangulated depth)")  # fmt: skip
    return result


def _no_hands(source: Path, seen: dict[str, np.ndarray]) -> None:
    parts = [f"{side}: {int(m.sum())} of {len(m)} frames" for side, m in seen.items()]
    missing = np.logical_and.reduce([~m for m in seen.values()])
    raise RetargetInputError(source, "detected", f"no hand seen in at least half the frames ({'; '.join(parts)}"
                             f"; frames without any hand: {format_ranges(runs(missing)) or 'none'}); "
                             "expected a hand in view (in both views for stereo) most of the time")  # fmt: skip


def hands_from_views(paths: list[Path], calib: StereoCalibration, calib_path: Path,
                     mediapipe_python: str | Path | None = None, hand_size_m: float = HAND_SIZE_M,
                     cutoff_hz: float = 4.0) -> HandsResult:  # fmt: skip
    """The whole front end: check the views against each other and the calibration (before MediaPipe
    runs), extract keypoints, triangulate (two views) or place by hand size (one view)."""
    if len(paths) not in (1, 2):
        raise RetargetInputError("--from-video", "views", f"{len(paths)} files; expected one video or a "
                                 "left and a right one")  # fmt: skip
    headers = [view_header(p) for p in paths]
    check_views(headers[0], headers[1] if len(headers) == 2 else None, calib, calib_path)
    views = [load_view(p, mediapipe_python) for p in paths]
    if len(views) == 2:
        # A decoder can report a frame count one off the frames it delivers: compare what was read too.
        check_views((paths[0], len(views[0].pixels), views[0].size), (paths[1], len(views[1].pixels),
                    views[1].size), calib, calib_path)  # fmt: skip
        return stereo_hands(views[0], views[1], calib, cutoff_hz)
    return monocular_hands(views[0], calib, hand_size_m, cutoff_hz)
