"""Marker gloves: a few markers on the back of the hand and one or two per finger, read through a hand map.

Markers file:
  .csv : header 'time,<marker>_x,<marker>_y,<marker>_z,...' (or 'frame,...' with fps in the map); an empty
         cell or NaN where the marker was occluded.
  .npz : names [M], positions [T, M, 3] (NaN where occluded), fps.
Hand map (.json), which says what each marker is:
  {"units": "mm", "side": "right", "fps": 120, "max_gap_s": 0.1,
   "points": {"wrist": ["WRA", "WRB"], "index_mcp": "IDX1", "pinky_mcp": "PNK1",
              "index_mid": "IDX2", "index_tip": "IDX3", "thumb_tip": "THB3", ...}}
  points are the 21 hand points (sources.hands.HAND_POINTS) or '<finger>_mid', a marker on the middle
  phalanx; a list of markers means their mean (e.g. both sides of the wrist). wrist, index_mcp and
  pinky_mcp are required: they make the hand frame.

Short gaps are interpolated; long ones are reported and left empty, and the retargeter then uses only
the fingertip vectors present in that frame. Knuckles without a marker come from KNUCKLE_TEMPLATE; a
finger with a middle-phalanx marker but no visible tip gets its tip along knuckle -> middle phalanx, at
the ratio measured in the same clip where both are seen (1.85 when never: the shared hand sample's median).
"""

from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import numpy as np

from ..errors import RetargetInputError, as_choice, as_float_array, as_names, as_number, read_npz
from .gaps import fill_short_gaps
from .hands import BASES, FINGERS, HAND_POINTS, KNUCKLE_TEMPLATE, TIPS, HandSequence, to_hand_frame
from .keypoints import UNITS

FRAME_POINTS = ("wrist", "index_mcp", "pinky_mcp")
MID_TO_TIP_RATIO = 1.85  # |knuckle->tip| / |knuckle->middle-phalanx marker|, shared sample's median
MAP_POINTS = [*HAND_POINTS, *(f"{f}_mid" for f in FINGERS)]


def read_markers(path: Path, fps: float | None) -> tuple[list[str], np.ndarray, float]:
    """Marker names, positions [T, M, 3] (file units, NaN where occluded) and rate."""
    if not path.is_file():
        raise RetargetInputError(path, "file", "not found")
    if path.suffix.lower() == ".npz":
        d = read_npz(path, "marker .npz")
        for key in ("names", "positions"):
            if key not in d:
                raise RetargetInputError(path, key, "missing; expected names [M], positions [T, M, 3], fps")
        names = as_names(d["names"], path, "names")
        pos = as_float_array(d["positions"], path, "positions")
        rate = as_number(d["fps"], path, "fps") if "fps" in d else fps
    elif path.suffix.lower() == ".csv":
        names, pos, rate = _read_csv(path, fps)
    else:
        raise RetargetInputError(path, "file", "markers must be .csv or .npz")
    if pos.ndim != 3 or pos.shape[1:] != (len(names), 3) or len(pos) < 2:
        raise RetargetInputError(path, "positions", f"expected [T>=2, {len(names)}, 3], got {pos.shape}")
    if np.isinf(pos).any():  # NaN marks an occluded marker; infinity is a broken file
        raise RetargetInputError(path, "positions", "infinite values; expected finite numbers or NaN")
    if rate is None or not np.isfinite(rate) or rate <= 0:
        raise RetargetInputError(path, "fps", f"expected > 0 (in the file or the hand map), got {rate}")
    return names, pos, float(rate)


def _read_csv(path: Path, fps: float | None) -> tuple[list[str], np.ndarray, float | None]:
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise RetargetInputError(path, "file", f"not a readable UTF-8 CSV ({exc})") from None
    if len(rows) < 3 or rows[0][0] not in ("time", "frame"):
        raise RetargetInputError(path, "header", "expected 'time,<marker>_x,<marker>_y,<marker>_z,...'")
    cols = rows[0][1:]
    if len(cols) % 3 or any(
        not c.endswith(s) for c, s in zip(cols, ["_x", "_y", "_z"] * (len(cols) // 3), strict=True)
    ):
        raise RetargetInputError(
            path, "header", "columns must come in <marker>_x,<marker>_y,<marker>_z triples"
        )
    short = next((i for i, r in enumerate(rows[1:], 2) if len(r) != len(cols) + 1), None)
    if short is not None:
        raise RetargetInputError(path, "rows", f"row {short}: expected {len(cols) + 1} values per row")
    try:
        data = np.array([[float(v) if v.strip() else np.nan for v in r] for r in rows[1:]])
    except ValueError:
        raise RetargetInputError(
            path, "rows", "non-numeric value (occluded markers: leave the cell empty)"
        ) from None
    if data.ndim != 2 or data.shape[1] != len(cols) + 1:
        raise RetargetInputError(path, "rows", f"expected {len(cols) + 1} values per row")
    rate = fps
    if rows[0][0] == "time":
        dt = np.diff(data[:, 0])
        if not (dt > 0).all():
            raise RetargetInputError(path, "time", "must increase strictly")
        # Exporters round the time column (1/120 s to 0.008333): over an evenly sampled clip the
        # whole duration gives the rate to 1e-6 where one rounded step is off by 4e-5.
        even = np.allclose(dt, np.median(dt), rtol=0.01)
        rate = (len(dt) / (data[-1, 0] - data[0, 0])) if even else 1.0 / float(np.median(dt))
    return [c[:-2] for c in cols[::3]], data[:, 1:].reshape(len(data), -1, 3), rate


def read_hand_map(path: Path) -> dict:
    if not path.is_file():
        raise RetargetInputError(path, "file", "hand map not found")
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise RetargetInputError(path, "file", f"invalid JSON ({exc})") from None
    points = m.get("points") if isinstance(m, dict) else None
    if not isinstance(points, dict) or not points:
        raise RetargetInputError(path, "points", "missing; expected {hand point: marker name or [names]}")
    for point, markers in points.items():
        if point not in MAP_POINTS:
            raise RetargetInputError(
                path, f"points.{point}", f"unknown hand point; expected one of {MAP_POINTS}"
            )
        if isinstance(markers, str):
            points[point] = [markers]
        elif not (isinstance(markers, list) and markers and all(isinstance(x, str) for x in markers)):
            raise RetargetInputError(path, f"points.{point}", "expected a marker name or a list of names")
    for p in FRAME_POINTS:
        if p not in points:
            raise RetargetInputError(
                path, f"points.{p}", f"missing; {', '.join(FRAME_POINTS)} make the hand frame"
            )
    as_choice(m.get("units", "m"), path, "units", UNITS)
    as_choice(m.get("side", "right"), path, "side", ("right", "left"))
    for key in ("fps", "max_gap_s"):
        if key in m:
            m[key] = as_number(m[key], path, key)
    return m


def load_marker_hand(path: str | Path, hand_map: str | Path) -> HandSequence:
    """Marker-glove recording -> 21 hand points in the hand frame (NaN where nothing can stand in)."""
    path, map_path = Path(path), Path(hand_map)
    m = read_hand_map(map_path)
    names, raw, fps = read_markers(path, m.get("fps"))
    for point, markers in m["points"].items():
        absent = [x for x in markers if x not in names]
        if absent:
            raise RetargetInputError(
                map_path, f"points.{point}", f"marker {absent[0]!r} is not in {path.name}; it has {names}"
            )
    raw = raw * UNITS[m.get("units", "m")]
    used = sorted({x for markers in m["points"].values() for x in markers})
    cols = [names.index(x) for x in used]
    filled, gaps = fill_short_gaps(raw[:, cols], used, max(1, round(m.get("max_gap_s", 0.1) * fps)))
    with warnings.catch_warnings():  # a frame where every marker of a point is occluded: NaN, quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        pts = {p: np.nanmean(filled[:, [used.index(x) for x in xs]], axis=1) for p, xs in m["points"].items()}
    world = np.full((len(raw), 21, 3), np.nan)
    for p, v in pts.items():
        if p in HAND_POINTS:
            world[:, HAND_POINTS.index(p)] = v
    side = m.get("side", "right")
    local = to_hand_frame(world, side)
    mids = {p[:-4]: _local(pts[p], world, side) for p in pts if p.endswith("_mid")}
    _fill_knuckles(local)
    _tips_from_mids(local, mids)
    return HandSequence(
        local,
        fps,
        str(path),
        side,
        meta={
            "format": "marker_glove",
            "hand_map": str(map_path),
            "long_gaps": [str(g) for g in gaps],
            "fingers": [f for f in FINGERS if np.isfinite(local[:, TIPS[f]]).any()],
        },
    )


def _local(v: np.ndarray, world: np.ndarray, side: str) -> np.ndarray:
    """A world point [T, 3] in the hand frame of `world` (same construction as to_hand_frame)."""
    w = world.copy()
    w[:, 1] = v  # borrow a slot that the frame does not use
    return to_hand_frame(w, side)[:, 1]


def _fill_knuckles(local: np.ndarray) -> None:
    size = np.linalg.norm(local[:, HAND_POINTS.index("index_mcp")], axis=-1)
    for name, unit in KNUCKLE_TEMPLATE.items():
        k = HAND_POINTS.index(name)
        missing = ~np.isfinite(local[:, k]).all(-1)
        local[missing, k] = size[missing, None] * np.array(unit)


def _tips_from_mids(local: np.ndarray, mids: dict[str, np.ndarray]) -> None:
    for finger, mid in mids.items():
        base, tip = local[:, BASES[finger]], local[:, TIPS[finger]]
        both = np.isfinite(tip).all(-1) & np.isfinite(mid).all(-1)
        ratio = MID_TO_TIP_RATIO
        if both.any():
            ratio = float(
                np.median(
                    np.linalg.norm(tip[both] - base[both], axis=-1)
                    / np.linalg.norm(mid[both] - base[both], axis=-1)
                )
            )
        missing = ~np.isfinite(tip).all(-1) & np.isfinite(mid).all(-1)
        local[missing, TIPS[finger]] = base[missing] + ratio * (mid[missing] - base[missing])
