"""Hypothesis strategies shared by the fuzz tests: the damage a user's file can carry (truncations, flipped
bytes, fields of the wrong type or shape, NaN/inf, huge numbers, unicode), and the reader property.

Runs are derandomized (the same cases every run, so CI is reproducible); ROBOLEARN_FUZZ_EXAMPLES raises the
number of cases per property for a longer local hunt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.extra import numpy as hnp

from robolearn.retarget.errors import RetargetInputError

EXAMPLES = int(os.environ.get("ROBOLEARN_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NASTY_FLOATS = st.sampled_from([np.nan, np.inf, -np.inf, 1e308, -1e308, 1e-310, 0.0, -0.0, 1e12])
FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64), NASTY_FLOATS)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


def shapes(max_dims: int = 4) -> st.SearchStrategy[tuple[int, ...]]:
    return hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=5)


ARRAYS = st.one_of(
    hnp.arrays(np.float64, shapes(), elements=FLOATS),
    hnp.arrays(np.int64, shapes(), elements=st.integers(-(2**63), 2**63 - 1)),
    hnp.arrays(np.bool_, shapes()),
    hnp.arrays(hnp.unicode_string_dtypes(max_len=6), shapes(2)),
    hnp.arrays(np.complex128, shapes(2)),
)
"""Values of an .npz field: any dtype numpy stores without pickling, any small shape (0-d and empty too)."""

JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), FLOATS, TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=12,
)


def mutate_fields(base: dict[str, Any], values: st.SearchStrategy) -> st.SearchStrategy[dict[str, Any]]:
    """`base` with some fields replaced by `values`, some removed, maybe an extra one added."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        out = dict(base)
        for key in draw(st.lists(st.sampled_from(sorted(base)), min_size=1, max_size=3, unique=True)):
            if draw(st.integers(0, 4)) == 0:
                del out[key]
            else:
                out[key] = draw(values)
        if draw(st.booleans()):
            out[draw(TEXT)] = draw(values)
        return out

    return build()


@st.composite
def damaged_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` truncated, with bytes overwritten, or with a chunk cut out or repeated."""
    kind = draw(st.sampled_from(["truncate", "flip", "cut", "repeat"]))
    n = len(data)
    i = draw(st.integers(0, n - 1))
    if kind == "truncate":
        return data[:i]
    if kind == "flip":
        noise = draw(st.binary(min_size=1, max_size=8))
        return data[:i] + noise + data[i + len(noise) :]
    j = draw(st.integers(i, min(n, i + 200)))
    return data[:i] + data[j:] if kind == "cut" else data[:j] + data[i:j] + data[j:]


def check_reader(read: Callable[[Path], Any], path: Path, other: Path | None = None) -> Any:
    """The property: a valid load or RetargetInputError naming the file (or `other`, a second file the
    reader takes, such as a hand map) and the field; anything else fails the test."""
    try:
        return read(path)
    except RetargetInputError as exc:
        assert exc.source in (str(path), str(other)) and exc.field and exc.problem, exc
        assert exc.source in str(exc)
        return None


def write_npz(folder: str, name: str, fields: dict[str, Any]) -> Path:
    path = Path(folder) / name
    with path.open("wb") as f:
        np.savez(f, **fields)
    return path


def write_json(folder: str, name: str, data: Any) -> Path:
    path = Path(folder) / name
    path.write_text(json.dumps(data, allow_nan=True, ensure_ascii=False), encoding="utf-8")
    return path
