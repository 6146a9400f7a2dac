"""Foot contacts read off the source motion: height and speed of heel (ankle) and toe points, with hysteresis.

Heel and toe are separate contacts, so a heel strike locks the heel while the toe comes down and a toe-off
keeps the toe planted while the heel rises; the solver locks each point that is in contact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .skeleton import BODY_POINTS

CONTACT_POINTS = ("left_ankle", "left_toe", "right_ankle", "right_toe")


@dataclass
class ContactConfig:
    """Thresholds (scaled robot-size keypoints; heights above the point's own ground level).

    Measured on CMU 131_01 (walk) and 01_01 (jumps) scaled onto G1: stance heels sit within 2 cm of their
    5th-percentile height and move at 0.02-0.2 m/s; swing feet reach 5-20 cm and 1-2.5 m/s. Entering needs
    both low and slow, leaving needs either high or fast, with a gap between so noise does not toggle it.
    """

    height_on: float = 0.03
    height_off: float = 0.05
    speed_on: float = 0.3
    speed_off: float = 0.6
    min_duration: float = 0.1
    """Contacts shorter than this (s) are dropped: a swing foot brushing past its ground level."""
    max_slide: float = 0.05
    """A contact ends once its point has slid this far (m, horizontally) from where it touched down: a
    foot that slides (a dance glide, a pivot) is not planted and locking it would drag the robot off the
    motion (in a floating round trip, locks held 19 cm away from the source without this)."""
    ground_percentile: float = 5.0
    speed_window: float = 1.0 / 30.0
    """Central-difference span (s) for speeds, so 120 fps mocap noise does not read as motion."""


def point_speeds(points: np.ndarray, fps: float, window: float) -> np.ndarray:
    """Speed [T, K] (m/s) of points [T, K, 3] by central differences over about `window` seconds."""
    T = len(points)
    h = max(1, int(round(window * fps / 2)))
    lo = np.clip(np.arange(T) - h, 0, T - 1)
    hi = np.clip(np.arange(T) + h, 0, T - 1)
    span = np.maximum(hi - lo, 1) / fps
    return np.linalg.norm(points[hi] - points[lo], axis=-1) / span[:, None]


def hysteresis(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per column, on where `low` holds, off where `high` holds, unchanged in between (starts off)."""
    state = np.zeros(low.shape[1], dtype=bool)
    out = np.zeros(low.shape, dtype=bool)
    for t in range(len(low)):
        state = (state & ~high[t]) | low[t]
        out[t] = state
    return out


def drop_short_runs(contact: np.ndarray, min_frames: int) -> np.ndarray:
    out = contact.copy()
    for k in range(contact.shape[1]):
        for s, e in contact_phases(contact[:, k]):
            if e - s < min_frames:
                out[s:e, k] = False
    return out


def detect_contacts(points: np.ndarray, fps: float, config: ContactConfig | None = None) -> np.ndarray:
    """Contact flags [T, K] for points [T, K, 3] (NaN columns never touch)."""
    cfg = config or ContactConfig()
    finite = np.isfinite(points).all(axis=(0, 2))
    pts = np.where(finite[None, :, None], points, 0.0)
    ground = np.percentile(pts[..., 2], cfg.ground_percentile, axis=0)
    height = pts[..., 2] - ground
    speed = point_speeds(pts, fps, cfg.speed_window)
    on = (height < cfg.height_on) & (speed < cfg.speed_on)
    off = (height > cfg.height_off) | (speed > cfg.speed_off)
    contact = cut_slides(hysteresis(on, off), pts, cfg.max_slide)
    contact = drop_short_runs(contact, max(1, int(round(cfg.min_duration * fps))))
    contact[:, ~finite] = False
    return contact


def cut_slides(contact: np.ndarray, points: np.ndarray, max_slide: float) -> np.ndarray:
    """End each contact phase at the first frame its point is `max_slide` from the touch-down spot."""
    out = contact.copy()
    for k in range(contact.shape[1]):
        for s, e in contact_phases(contact[:, k]):
            slide = np.linalg.norm(points[s:e, k, :2] - points[s, k, :2], axis=-1)
            far = np.flatnonzero(slide > max_slide)
            if len(far):
                out[s + far[0] : e, k] = False
    return out


def foot_contacts(
    targets: np.ndarray, fps: float, config: ContactConfig | None = None
) -> dict[str, np.ndarray]:
    """Contact flags [T] per CONTACT_POINTS name, from keypoints [T, P, 3] in BODY_POINTS order."""
    idx = [BODY_POINTS.index(p) for p in CONTACT_POINTS]
    flags = detect_contacts(targets[:, idx], fps, config)
    return {p: flags[:, k] for k, p in enumerate(CONTACT_POINTS)}


def contact_phases(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) frame ranges (end exclusive) where a flag [T] is on."""
    col = np.r_[False, flags, False].astype(np.int8)
    starts, ends = np.flatnonzero(np.diff(col) == 1), np.flatnonzero(np.diff(col) == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))
