"""Files written whole or not at all: a temp file beside the target, flushed to disk, then renamed over it.

A reader (or a later run that skips a stage because its output exists) sees the old file or the new one,
never a half-written one, even when the writer is killed. The one way to write a file in this project; it
needs only the standard library, so retargeting and the deploy side can use it too.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_file", "atomic_path", "save_npz", "write_bytes", "write_text"]


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """A temp path beside `path` to write (hidden, `.{name}.XXXX{suffix}`); renamed to `path` when the block
    ends normally, removed when it raises. A writer that picks its format by the file name (ffmpeg) takes
    `suffix=".tmp" + path.suffix`; `clean_temp_files` of a run folder finds either by the `.tmp` in it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; outputs are meant to be shared
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextmanager
def atomic_file(
    path: str | os.PathLike[str], mode: str = "wb", encoding: str | None = None
) -> Iterator[IO[Any]]:
    """`open(path, mode)` for writing, made atomic: the file appears at `path` only when the block ends."""
    if not mode.startswith("w"):
        raise ValueError(f"atomic_file: mode must be a write mode ('w', 'wb'), got {mode!r}")
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    with atomic_path(path) as tmp, open(tmp, mode, encoding=encoding) as f:
        yield f


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    with atomic_file(path, "w") as f:
        f.write(text)
    return Path(path)


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_file(path, "wb") as f:
        f.write(data)
    return Path(path)


def save_npz(path: str | os.PathLike[str], arrays: dict[str, Any], compressed: bool = False) -> Path:
    """`numpy.savez` (or `savez_compressed`) of `arrays` to exactly `path`, atomically."""
    import numpy as np

    save: Callable[..., None] = np.savez_compressed if compressed else np.savez
    with atomic_file(path, "wb") as f:
        save(f, **arrays)
    return Path(path)
