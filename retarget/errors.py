"""Errors raised on bad retargeting inputs; each names the file (or flag), the field and what was expected.

Both carry their parts as attributes and rebuild from them when unpickled: an exception class whose
__init__ takes other arguments than its message cannot be unpickled by default, and a `--batch` worker
process hands its error back to the parent by pickling it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np


class RetargetInputError(ValueError):
    """A malformed or unusable input file (or array). Nothing is written when one is raised."""

    def __init__(self, source: str | Path, field: str, problem: str):
        self.source = str(source)
        self.field = field
        self.problem = problem
        super().__init__(f"{self.source}: field {field!r}: {problem}")

    def __reduce__(self):
        return type(self), (self.source, self.field, self.problem)


class FlagError(ValueError):
    """A command-line value that cannot work (an output that cannot be written, a negative frame rate),
    found before any work starts; the message names the flag, the value given and what was expected."""

    def __init__(self, flag: str, value: object, expected: str):
        self.flag = flag
        self.value = value
        self.expected = expected
        super().__init__(f"{flag} {value}: {expected}")

    def __reduce__(self):
        return type(self), (self.flag, self.value, self.expected)


def check_finite(values, source: str | Path, field: str) -> None:
    """Raise if any value is NaN or infinite (pose estimators emit NaN for lost joints)."""
    bad = ~np.isfinite(np.asarray(values, dtype=float))
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise RetargetInputError(
            source,
            field,
            f"{int(bad.sum())} non-finite value(s) (NaN/inf), first at index {first}; expected finite numbers",
        )


def read_numpy(path: Path, what: str) -> np.ndarray | dict[str, np.ndarray]:
    """The array of a .npy file, or every array of an .npz (read eagerly, pickles refused).

    numpy's loaders fail in many ways on a damaged file (ValueError, OSError, EOFError, zipfile.BadZipFile,
    zlib.error, struct.error, MemoryError for a header claiming a huge array): to the user they all mean
    the file is not a readable `what`, so all of them become that one named error.
    """
    try:
        with open(path, "rb") as f:
            loaded = np.load(f, allow_pickle=False)
            if isinstance(loaded, np.ndarray):
                return loaded
            with loaded as z:
                return {k: z[k] for k in z.files}
    except Exception as exc:
        raise RetargetInputError(
            path, "file", f"not a readable {what} ({type(exc).__name__}: {exc})"
        ) from None


def read_npz(path: Path, what: str) -> dict[str, np.ndarray]:
    loaded = read_numpy(path, what)
    if not isinstance(loaded, dict):
        raise RetargetInputError(
            path, "file", f"a single .npy array; expected a {what} (.npz of named arrays)"
        )
    return loaded


def read_json_object(path: Path) -> dict[str, Any]:
    """A JSON file holding one object; unreadable or other JSON is refused naming the file."""
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise RetargetInputError(path, "file", f"invalid JSON ({exc})") from None
    if not isinstance(d, dict):
        raise RetargetInputError(path, "file", f"expected a JSON object, got {type(d).__name__}")
    return d


def as_number(value: Any, source: str | Path, field: str, positive: bool = True) -> float:
    """One finite number (a 0-d or one-element numeric array, or a JSON number); > 0 if `positive`."""
    a = np.asarray(value) if not isinstance(value, (dict, list, str)) else np.asarray(None)
    if a.size != 1 or a.dtype.kind not in "iuf":
        raise RetargetInputError(source, field, f"expected one number, got {_describe(value)}")
    number = float(a.reshape(-1)[0])
    if not np.isfinite(number) or (positive and number <= 0):
        raise RetargetInputError(
            source, field, f"expected a finite number{' > 0' if positive else ''}, got {number}"
        )
    return number


def as_choice(value: Any, source: str | Path, field: str, choices: Iterable[str]) -> str:
    """One string among `choices` (a 0-d string array from an .npz, or a JSON string)."""
    choices = list(choices)
    a = np.asarray(value) if not isinstance(value, (dict, list)) else np.asarray(None)
    text = str(a.reshape(-1)[0]) if a.size == 1 and a.dtype.kind == "U" else ""
    if text not in choices:
        raise RetargetInputError(source, field, f"expected one of {choices}, got {_describe(value)}")
    return text


def as_text(value: Any, source: str | Path, field: str) -> str:
    """One string (a 0-d string array from an .npz, or a JSON string)."""
    a = np.asarray(value) if not isinstance(value, (dict, list)) else np.asarray(None)
    if a.size != 1 or a.dtype.kind != "U":
        raise RetargetInputError(source, field, f"expected a string, got {_describe(value)}")
    return str(a.reshape(-1)[0])


def as_names(value: Any, source: str | Path, field: str) -> list[str]:
    """A non-empty 1-D list of non-empty, distinct strings (joint or body names)."""
    if isinstance(value, (list, tuple)) and not all(isinstance(v, str) for v in value):
        raise RetargetInputError(source, field, "expected a list of strings")
    a = np.asarray(value) if not isinstance(value, (dict, str)) else np.asarray(None)
    if a.ndim != 1 or a.size == 0 or a.dtype.kind != "U":
        raise RetargetInputError(
            source, field, f"expected a 1-D list of >= 1 strings, got {_describe(value)}"
        )
    names = [str(n) for n in a]
    if not all(names):
        raise RetargetInputError(source, field, "empty name")
    if len(set(names)) != len(names):
        raise RetargetInputError(source, field, "duplicate names")
    return names


def as_float_array(value: Any, source: str | Path, field: str) -> np.ndarray:
    """A numeric array as float64 (ragged lists, strings, booleans, complex and objects are refused)."""
    try:
        a = np.asarray(value) if not isinstance(value, (dict, str)) else np.asarray(None)
    except (TypeError, ValueError):  # ragged nested lists
        raise RetargetInputError(source, field, "ragged; expected a rectangular array of numbers") from None
    if a.dtype.kind not in "iuf":
        raise RetargetInputError(source, field, f"expected an array of numbers, got {_describe(value)}")
    return a.astype(np.float64)


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    text = repr(value)
    return f"{type(value).__name__} {text[:40] + '...' if len(text) > 40 else text}"
