"""Gaps in tracked points (occluded markers, frames a pose estimator missed): find them, fill the short
ones, report the long ones by frame range."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open [start, stop) runs where a 1-D boolean mask is True."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def format_ranges(ranges: list[tuple[int, int]], limit: int = 8) -> str:
    """'12-40, 77, 90-99' (inclusive frame numbers), cut after `limit` ranges."""
    parts = [f"{a}" if b - a == 1 else f"{a}-{b - 1}" for a, b in ranges[:limit]]
    more = f", ... ({len(ranges) - limit} more)" if len(ranges) > limit else ""
    return ", ".join(parts) + more


@dataclass
class Gap:
    point: str
    start: int  # first missing frame
    stop: int  # first frame after the gap

    def __str__(self) -> str:
        return f"{self.point} frames {format_ranges([(self.start, self.stop)])}"


def fill_short_gaps(positions: np.ndarray, names: list[str], max_frames: int) -> tuple[np.ndarray, list[Gap]]:
    """Linearly interpolate NaN runs of at most `max_frames` frames per point ([T, J, 3]); runs touching
    the first or last frame hold the nearest value. Longer runs stay NaN and come back as gaps."""
    out = np.array(positions, dtype=float, copy=True)
    T = out.shape[0]
    frames = np.arange(T)
    long: list[Gap] = []
    for j, name in enumerate(names):
        missing = ~np.isfinite(out[:, j]).all(axis=-1)
        if not missing.any():
            continue
        out[missing, j] = np.nan
        if missing.all():
            long.append(Gap(name, 0, T))
            continue
        seen = ~missing
        for a, b in runs(missing):
            if b - a > max_frames:
                long.append(Gap(name, a, b))
                continue
            for k in range(3):
                out[a:b, j, k] = np.interp(frames[a:b], frames[seen], out[seen, j, k])
    return out, long
