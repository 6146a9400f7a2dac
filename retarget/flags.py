"""Checks of `robolearn retarget`'s flags, run before any file is solved: a bad value costs nothing.

An output is checked by writing (and removing) a probe file in its folder, not with os.access: root (in
containers, CI) passes os.access on a read-only mount, and only a real write shows what the save will meet.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

from .errors import FlagError


def check_positive(flag: str, value: float | None, what: str = "a positive number") -> None:
    """`value` is None (the default applies) or a finite number > 0."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise FlagError(flag, value, f"expected {what} (> 0)")


def check_at_least(flag: str, value: int, low: int) -> None:
    if value < low:
        raise FlagError(flag, value, f"expected an integer >= {low}")


def check_frame_range(start: int, stop: int | None, frames: int | None = None) -> None:
    """--start/--stop select at least one frame (of `frames`, when the clip is loaded)."""
    check_at_least("--start", start, 0)
    if stop is not None and stop <= start:
        raise FlagError("--stop", stop, f"expected a frame after --start {start}")
    if frames is not None and start >= frames:
        raise FlagError("--start", start, f"expected a frame before the clip's end (it has {frames} frames)")


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable_folder(folder: Path, flag: str, value: object) -> None:
    """Files can be created in `folder` (or, if it does not exist yet, in its nearest existing parent, where
    the save will create it)."""
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise FlagError(flag, value, f"{existing} is a file, so no folder can be made under it")
    try:
        fd, probe = tempfile.mkstemp(prefix=".robolearn-write-check.", dir=existing)
    except OSError as exc:
        raise FlagError(
            flag, value, f"cannot write in {existing} ({exc.strerror}); expected a writable folder"
        ) from None
    os.close(fd)
    os.unlink(probe)


def check_output_file(flag: str, path: Path, suffixes: tuple[str, ...], example: str) -> None:
    """`path` can be written as a file with one of `suffixes` (an existing file is replaced atomically)."""
    if path.is_dir():
        raise FlagError(flag, path, f"is a folder; expected a file path such as {path / example}")
    if path.suffix.lower() not in suffixes:
        raise FlagError(flag, path, f"expected a file name ending in {' or '.join(suffixes)}")
    check_writable_folder(path.parent, flag, path)


def check_output_folder(flag: str, path: Path) -> None:
    """`path` is (or can be made) a folder that files can be written in."""
    if path.exists() and not path.is_dir():
        raise FlagError(
            flag, path, "is a file; expected a folder (with --batch, one clip per input is written there)"
        )
    check_writable_folder(path, flag, path)
