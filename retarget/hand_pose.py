"""A hand's 6-D pose and grip state from its 21 keypoints (MediaPipe / MANO order), in camera space.

The pose follows YOTO (arXiv 2501.14208): the orientation comes from the wrist and the index and ring base
joints (MCPs), which move with the palm, not with the fingers: x points from the wrist to the middle of the
two MCPs (along the hand), z is the palm normal (out of the palm for both hands: the cross product flips for
a left hand, its mirror image), y = z x x. The position is the point between the thumb and index tips,
where a pinch holds an object and where a parallel gripper's site sits between its fingers.

The grip is closed when the thumb-index tip distance falls below `close_m` and open again only above
`open_m`: the hysteresis keeps a distance hovering near one threshold from flickering the gripper.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .smoothing import zero_phase_lowpass
from .sources.hands import HAND_POINTS

WRIST, INDEX_MCP, RING_MCP, MIDDLE_MCP = (HAND_POINTS.index(n) for n in ("wrist", "index_mcp", "ring_mcp",
                                                                          "middle_mcp"))  # fmt: skip
PALM = [HAND_POINTS.index(n) for n in ("wrist", "index_mcp", "middle_mcp", "ring_mcp", "pinky_mcp")]
THUMB_TIP, INDEX_TIP = HAND_POINTS.index("thumb_tip"), HAND_POINTS.index("index_tip")
SIDES = ("left", "right")
# Pinch thresholds on the thumb-index tip distance: an adult's open pinch spans 6-10 cm, a closed one
# (fingertips or an object 1-2 cm thick between them) under 3 cm.
CLOSE_M = 0.03
OPEN_M = 0.05
# A grip state must last this long: 4 px of detector noise flickers the pinch distance across both
# thresholds for a frame or two (benchmarks/yoto_keyposes.py), while a real grasp holds for 0.5 s or more.
MIN_GRIP_S = 0.2
GRIP_CUTOFF_HZ = 2.0
# An adult hand's wrist-to-middle-MCP length (the dex-retargeting sample measures 0.097 m): the scale a
# monocular estimate assumes when no --hand-size is given.
HAND_SIZE_M = 0.095


def hand_frame(wrist: np.ndarray, index_mcp: np.ndarray, ring_mcp: np.ndarray, side: str) -> np.ndarray:
    """Rotation matrices [..., 3, 3] (columns x, y, z) from three joints [..., 3]; right-handed for both
    hands, z out of the palm."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    x = (index_mcp + ring_mcp) / 2 - wrist
    x = x / np.linalg.norm(x, axis=-1, keepdims=True)
    n = np.cross(index_mcp - wrist, ring_mcp - wrist)
    z = n if side == "right" else -n
    z = z - np.sum(z * x, axis=-1, keepdims=True) * x
    z = z / np.linalg.norm(z, axis=-1, keepdims=True)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1)


def grip_closed(distance: np.ndarray, close_m: float = CLOSE_M, open_m: float = OPEN_M,
                min_frames: int = 1) -> np.ndarray:  # fmt: skip
    """Closed [T] (bool) from thumb-index distances [T] with hysteresis; NaN frames keep the state. A state
    held for fewer than `min_frames` frames between two others is noise and is dropped."""
    if not close_m < open_m:
        raise ValueError(f"grip thresholds: close ({close_m}) must be below open ({open_m})")
    closed = np.zeros(len(distance), bool)
    first = distance[np.isfinite(distance)]
    state = bool(len(first) and first[0] < (close_m + open_m) / 2)
    for t, d in enumerate(distance):
        if state and d > open_m:
            state = False
        elif not state and d < close_m:
            state = True
        closed[t] = state
    return debounce(closed, min_frames)


def debounce(state: np.ndarray, min_frames: int) -> np.ndarray:
    """Runs shorter than `min_frames` inside the clip take their neighbours' state (shortest first)."""
    out = state.copy()
    while min_frames > 1:
        edges = np.flatnonzero(np.diff(out.astype(np.int8))) + 1
        bounds = np.concatenate([[0], edges, [len(out)]])
        inner = [(b - a, a, b) for a, b in zip(bounds[1:-2], bounds[2:-1], strict=True)]
        short = [r for r in inner if r[0] < min_frames]
        if not short:
            break
        _, a, b = min(short)
        out[a:b] = ~out[a:b]
    return out


@dataclass
class HandTrack:
    """One hand over a clip, in the camera's frame (OpenCV axes, metres)."""

    side: str
    keypoints: np.ndarray  # [T, 21, 3]
    position: np.ndarray  # [T, 3] between thumb and index tips
    rotation: np.ndarray  # [T, 3, 3]
    closed: np.ndarray  # [T] bool
    fps: float

    @property
    def palm(self) -> np.ndarray:
        """[T, 3] centroid of the wrist and the knuckles: moves with the hand, not with the fingers."""
        return self.keypoints[:, PALM].mean(axis=1)

    @property
    def pinch(self) -> np.ndarray:
        return np.linalg.norm(self.keypoints[:, THUMB_TIP] - self.keypoints[:, INDEX_TIP], axis=-1)


def hand_track(keypoints: np.ndarray, side: str, fps: float, cutoff_hz: float = 4.0,
               close_m: float = CLOSE_M, open_m: float = OPEN_M) -> HandTrack:  # fmt: skip
    """Smooth the keypoints (zero-phase low-pass: no lag, so keyframe times do not shift) and read the pose
    and grip off them. `keypoints` [T, 21, 3] must be finite (fill gaps first)."""
    T = len(keypoints)
    smooth = zero_phase_lowpass(keypoints.reshape(T, -1), fps, cutoff_hz).reshape(keypoints.shape)
    rot = hand_frame(smooth[:, WRIST], smooth[:, INDEX_MCP], smooth[:, RING_MCP], side)
    pos = (smooth[:, THUMB_TIP] + smooth[:, INDEX_TIP]) / 2
    # The grip reads the thumb-to-index vector low-passed harder (GRIP_CUTOFF_HZ), then its length: the
    # length of a noisy vector is biased up (a closed pinch would read open), its filtered mean is not.
    gap = keypoints[:, THUMB_TIP] - keypoints[:, INDEX_TIP]
    pinch = np.linalg.norm(zero_phase_lowpass(gap, fps, min(cutoff_hz, GRIP_CUTOFF_HZ)), axis=-1)
    closed = grip_closed(pinch, close_m, open_m, max(1, round(MIN_GRIP_S * fps)))
    return HandTrack(side, smooth, pos, rot, closed, fps)


def hand_length(keypoints: np.ndarray) -> np.ndarray:
    """Wrist-to-middle-MCP distance [...] of keypoints [..., 21, 3]."""
    return np.linalg.norm(keypoints[..., MIDDLE_MCP, :] - keypoints[..., WRIST, :], axis=-1)


def monocular_hand(pixels: np.ndarray, shape: np.ndarray, camera_matrix: np.ndarray,
                   dist_coeffs: np.ndarray, hand_size_m: float = HAND_SIZE_M) -> np.ndarray:  # fmt: skip
    """Camera-frame keypoints [T, 21, 3] of one hand from one view: its pixels [T, 21, 2] and its metric
    shape [T, 21, 3] (MediaPipe world landmarks, hand-centred), scaled so the hand is `hand_size_m` long.

    Depth comes from the assumed size alone (cv2.solvePnP fits the scaled shape to the pixels): a hand
    10 % larger than assumed is placed 10 % too far. Frames with missing points are NaN.
    """
    out = np.full(pixels.shape[:-1] + (3,), np.nan)
    for t in range(len(pixels)):
        obj, img = shape[t], pixels[t]
        if not (np.isfinite(obj).all() and np.isfinite(img).all()):
            continue
        obj = (obj - obj[WRIST]) * (hand_size_m / max(float(hand_length(obj)), 1e-6))
        ok, rvec, tvec = cv2.solvePnP(obj.astype(np.float64), img.astype(np.float64), camera_matrix,
                                      dist_coeffs, flags=cv2.SOLVEPNP_SQPNP)  # fmt: skip
        if ok and tvec[2, 0] > 0:
            out[t] = obj @ cv2.Rodrigues(rvec)[0].T + tvec.ravel()
    return out
