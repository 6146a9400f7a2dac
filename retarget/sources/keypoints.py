"""Keypoint sequences (.npz / .csv / .json): named 3-D joints over time, the interchange format of video
pose estimators and VR trackers.

  .npz : names [J] (str), positions [T, J, 3], fps (scalar); optional units ('m'|'cm'|'mm'), up ('x'|'y'|'z')
  .json: {"fps": 30, "names": [...], "positions": [[[x, y, z], ...], ...], "units": "m", "up": "z"}
  .csv : header 'time,<name>_x,<name>_y,<name>_z,...'; fps from the time column; metres, z up
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..errors import (
    RetargetInputError,
    as_choice,
    as_float_array,
    as_names,
    as_number,
    check_finite,
    read_json_object,
    read_npz,
)
from .motion import UP_TO_Z, HumanMotion

UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}


def _build(path: Path, names, positions, fps, units="m", up="z") -> HumanMotion:
    names = as_names(names, path, "names")
    positions = as_float_array(positions, path, "positions")
    if positions.ndim != 3 or positions.shape[1:] != (len(names), 3) or positions.shape[0] < 1:
        raise RetargetInputError(
            path,
            "positions",
            f"expected shape [T>=1, {len(names)}, 3] (one xyz per name), got {positions.shape}",
        )
    check_finite(positions, path, "positions")
    fps = as_number(fps, path, "fps")
    units = as_choice(units, path, "units", UNITS)
    up = as_choice(up, path, "up", UP_TO_Z)
    world = np.einsum("ij,tkj->tki", UP_TO_Z[up], positions) * UNITS[units]
    return HumanMotion(
        names, world, fps, str(path), meta={"format": path.suffix.lstrip("."), "units": units, "up_axis": up}
    )


def npz_keys(path: Path) -> set[str]:
    """The array names in an .npz (empty when unreadable: the reader chosen later says why)."""
    try:
        return set(read_npz(path, ".npz"))
    except RetargetInputError:
        return set()


def load_keypoints(path: str | Path) -> HumanMotion:
    path = Path(path)
    if not path.is_file():
        raise RetargetInputError(path, "file", "not found")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        d = read_npz(path, "keypoint .npz")
        for key in ("names", "positions", "fps"):
            if key not in d:
                raise RetargetInputError(path, key, "missing; expected names [J], positions [T, J, 3], fps")
        return _build(path, d["names"], d["positions"], d["fps"], d.get("units", "m"), d.get("up", "z"))
    if suffix == ".json":
        d = read_json_object(path)
        for key in ("names", "positions", "fps"):
            if key not in d:
                raise RetargetInputError(path, key, "missing; expected names, positions [T][J][3], fps")
        return _build(path, d["names"], d["positions"], d["fps"], d.get("units", "m"), d.get("up", "z"))
    if suffix == ".csv":
        try:
            with path.open(newline="", encoding="utf-8") as f:
                rows = list(csv.reader(f))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise RetargetInputError(path, "file", f"not a readable UTF-8 CSV ({exc})") from None
        if len(rows) < 3 or not rows[0] or rows[0][0] != "time":
            raise RetargetInputError(
                path, "header", "expected 'time,<name>_x,<name>_y,<name>_z,...' and >= 2 rows"
            )
        cols = rows[0][1:]
        if len(cols) % 3 or any(
            not c.endswith(s) for c, s in zip(cols, ["_x", "_y", "_z"] * (len(cols) // 3), strict=True)
        ):
            raise RetargetInputError(
                path, "header", "columns must come in <name>_x,<name>_y,<name>_z triples"
            )
        short = next((i for i, r in enumerate(rows[1:], 2) if len(r) != len(cols) + 1), None)
        if short is not None:
            raise RetargetInputError(path, "rows", f"line {short}: expected {len(cols) + 1} values per row")
        try:
            data = np.array([[float(v) for v in r] for r in rows[1:]])
        except ValueError:
            raise RetargetInputError(path, "rows", "non-numeric value") from None
        check_finite(data, path, "rows")
        dt = np.diff(data[:, 0])
        if (dt <= 0).any():
            raise RetargetInputError(path, "time", "must increase strictly")
        names = [c[:-2] for c in cols[::3]]
        return _build(path, names, data[:, 1:].reshape(len(data), -1, 3), 1.0 / float(np.median(dt)))
    raise RetargetInputError(
        path, "file", f"unsupported keypoint format {suffix!r}; expected .npz, .json or .csv"
    )


def save_keypoints_npz(path: str | Path, motion: HumanMotion) -> None:
    """Write a HumanMotion as a keypoint .npz (metres, z up)."""
    np.savez(path, names=np.array(motion.names), positions=motion.positions, fps=np.float64(motion.fps))
