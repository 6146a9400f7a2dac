"""Errors raised on bad retargeting inputs; each names the file (or flag), the field and what was expected.

Both carry their parts as attributes and rebuild from them when unpickled: an exception class whose
__init__ takes other arguments than its message cannot be unpickled by default, and a `--batch` worker
process hands its error back to the parent by pickling it.
"""

from __future__ import annotations

from pathlib import Path


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
    import numpy as np

    bad = ~np.isfinite(np.asarray(values, dtype=float))
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise RetargetInputError(
            source,
            field,
            f"{int(bad.sum())} non-finite value(s) (NaN/inf), first at index {first}; expected finite numbers",
        )
