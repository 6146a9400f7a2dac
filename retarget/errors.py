"""Errors raised on bad retargeting inputs; each names the file, the field and what was expected."""

from __future__ import annotations

from pathlib import Path


class RetargetInputError(ValueError):
    """A malformed or unusable input file (or array). Nothing is written when one is raised."""

    def __init__(self, source: str | Path, field: str, problem: str):
        self.source = str(source)
        self.field = field
        self.problem = problem
        super().__init__(f"{self.source}: field {field!r}: {problem}")


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
