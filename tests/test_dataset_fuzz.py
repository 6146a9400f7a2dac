"""Property tests of the LeRobot dataset reader against damaged datasets: random truncations and garbage
bytes in every file, random JSON (wrong types, NaN/inf, huge numbers, unicode) in every field of
meta/info.json and meta/stats.json, random columns, rows and names in every Parquet file.

The property: reading everything (metadata, frames, videos, stats) either works and is consistent or raises
a DatasetError, never another exception, and leaves the folder as it was; from the command line,
`robolearn demos` and `robolearn train --algo bc` exit 2 with one line and write nothing.

The datasets are real: two Aloha-Reach demos written by `robolearn demos`, and a small dataset with an
H.264 camera stream from DatasetWriter for the video files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from lerobot_cases import reach_dataset, run_cli, snapshot

from robolearn.policies.data import DatasetError, DatasetWriter, LeRobotDataset

__all__ = ["reach_dataset"]  # fixture

# Each example copies a dataset (~10 files) and reads all of it: 20-40 ms here, so these counts keep the
# module at a few seconds. The deadline only catches a pathological case (a huge allocation, a hang): the
# machine running the tests may be shared and slow.
# ROBOLEARN_FUZZ_EXAMPLES=2000 runs a longer search (the command-line test takes a fifth of it).
EXAMPLES = int(os.environ.get("ROBOLEARN_FUZZ_EXAMPLES", "50"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
OUTCOMES: Counter[str] = Counter()
"""test -> examples read: how many ended in a named error and how many in a valid load (printed at the end)."""


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    print("\nfuzz cases:", ", ".join(f"{k} {v}" for k, v in sorted(OUTCOMES.items())))


@pytest.fixture(scope="session")
def video_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three short episodes with a 16x24 camera stream, in two flushes (two MP4 files)."""
    root = tmp_path_factory.mktemp("datasets") / "video"
    feats = {
        "observation.state": {"dtype": "float32", "shape": [3], "names": ["a", "b", "c"]},
        "action": {"dtype": "float32", "shape": [2], "names": ["u", "v"]},
        "observation.images.top": {"dtype": "video", "shape": [16, 24, 3], "names": ["height", "width", "channels"]},
    }  # fmt: skip
    rng = np.random.default_rng(0)
    writer = DatasetWriter(root, 25, feats, robot_type="aloha")
    for i, n in enumerate((4, 6, 5)):
        frames = {"observation.state": rng.normal(size=(n, 3)), "action": rng.normal(size=(n, 2))}
        video = rng.integers(0, 255, size=(n, 16, 24, 3), dtype=np.uint8)
        writer.add_episode(frames, "look", {"observation.images.top": video})
        if i == 0:
            writer.flush()
    writer.flush()
    return root


def load_everything(root: Path) -> None:
    """All a user of the dataset reads; a valid load must be consistent with its own metadata."""
    ds = LeRobotDataset(root)
    ds.verify()
    assert isinstance(ds.stats, dict)
    cols = ds.columns()
    assert all(len(v) == ds.num_frames for v in cols.values())
    for i, e in enumerate(ds.episodes):
        assert all(len(v) == e["length"] for v in ds.episode(i).values())
        for key in ds.video_keys:
            assert len(ds.video(key, i)) == e["length"]


def check_read(root: Path, test: str) -> bool:
    """The property on the library: a valid load or a DatasetError naming a file, and no file changed.
    Returns whether the dataset was refused."""
    before = snapshot(root)
    try:
        load_everything(root)
        refused = False
    except DatasetError as exc:
        assert str(root) in str(exc), f"the error names no file of the dataset: {exc}"
        refused = True
    assert snapshot(root) == before, "reading changed the dataset"
    OUTCOMES[f"{test}: {'named error' if refused else 'valid'}"] += 1
    return refused


class Copy:
    """A fresh copy of a fixture dataset per example (hypothesis reuses the test's fixtures)."""

    def __init__(self, src: Path):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = Path(self._tmp.name) / "data"
        shutil.copytree(src, self.root)

    def __enter__(self) -> Path:
        return self.root

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()


def files_of(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# -- strategies --------------------------------------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)
shapes = st.lists(st.integers(min_value=-2, max_value=2**40), max_size=4)
field_values = (
    json_values | shapes | st.sampled_from(["float32", "int64", "video", "v3.0", "aloha", 25, 0, -1])
)


damages = st.tuples(
    st.sampled_from(["truncate", "garbage", "empty"]),
    st.floats(0, 1, exclude_max=True),
    st.binary(min_size=1, max_size=64),
)
"""(how, where as a fraction of the file, junk bytes): a small draw to print when an example fails."""


def damage(path: Path, how: str, where: float, junk: bytes) -> None:
    """Truncate the file, empty it, or overwrite a slice of it with junk."""
    data = path.read_bytes()
    at = int(where * len(data))
    if how == "empty":
        data = b""
    elif how == "truncate":
        data = data[:at]
    else:
        data = data[:at] + junk + data[at + len(junk) :]
    path.write_bytes(data)


def set_path(doc: Any, path: list[Any], value: Any, delete: bool) -> None:
    """Set (or delete) doc[path[0]][path[1]]...; a path through a non-object replaces that level."""
    for key in path[:-1]:
        if not isinstance(doc.get(key), dict):
            doc[key] = {}
        doc = doc[key]
    if delete:
        doc.pop(path[-1], None)
    else:
        doc[path[-1]] = value


@st.composite
def json_paths(draw: st.DrawFn, doc: dict[str, Any], depth: int) -> list[Any]:
    """An existing path (down to `depth` levels) or a new unicode key somewhere on it."""
    path: list[Any] = []
    node: Any = doc
    for _ in range(depth):
        if not isinstance(node, dict) or not node or draw(st.integers(0, 3)) == 0:
            break
        key = draw(st.sampled_from(sorted(node)))
        path.append(key)
        node = node[key]
    if not path or draw(st.integers(0, 5)) == 0:
        path.append(draw(st.text(min_size=1, max_size=10)))
    return path


# -- the library --------------------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_damaged_files(reach_dataset: Path, data: st.DataObject) -> None:
    with Copy(reach_dataset) as root:
        name = data.draw(st.sampled_from(files_of(root)), label="file")
        damage(root / name, *data.draw(damages, label="damage"))
        check_read(root, "damaged files")


@FUZZ
@given(data=st.data(), delete=st.booleans(), value=field_values)
def test_info_json_fields(reach_dataset: Path, data: st.DataObject, delete: bool, value: Any) -> None:
    with Copy(reach_dataset) as root:
        path = root / "meta/info.json"
        info = json.loads(path.read_text())
        field = data.draw(json_paths(info, 3), label="field")
        set_path(info, field, value, delete)
        path.write_text(json.dumps(info, ensure_ascii=data.draw(st.booleans())))
        check_read(root, "info.json fields")


@FUZZ
@given(data=st.data(), delete=st.booleans(), value=field_values)
def test_stats_json_fields(reach_dataset: Path, data: st.DataObject, delete: bool, value: Any) -> None:
    with Copy(reach_dataset) as root:
        path = root / "meta/stats.json"
        stats = json.loads(path.read_text())
        set_path(stats, data.draw(json_paths(stats, 2), label="field"), value, delete)
        path.write_text(json.dumps(stats))
        check_read(root, "stats.json fields")


def column_values(n: int) -> st.SearchStrategy[list[Any]]:
    """n values of one type: integers (int64, huge ones included), floats with NaN/inf, unicode strings,
    nulls, or float lists of random (ragged) lengths."""
    lists = st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=16)
    return st.one_of(
        st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n),
        st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n),
        st.lists(st.text(max_size=8), min_size=n, max_size=n),
        st.lists(st.none(), min_size=n, max_size=n),
        st.lists(lists, min_size=n, max_size=n),
    )


@FUZZ
@given(data=st.data())
def test_parquet_columns_and_rows(reach_dataset: Path, data: st.DataObject) -> None:
    with Copy(reach_dataset) as root:
        name = data.draw(st.sampled_from([f for f in files_of(root) if f.endswith(".parquet")]), label="file")
        path = root / name
        table = pq.read_table(path)
        col = data.draw(st.integers(0, table.num_columns - 1), label="column")
        how = data.draw(st.sampled_from(["values", "drop column", "rename", "rows"]), label="change")
        if how == "values":
            table = table.set_column(
                col, table.column_names[col], pa.array(data.draw(column_values(table.num_rows)))
            )
        elif how == "drop column":
            table = table.remove_column(col)
        elif how == "rename":
            names = list(table.column_names)
            names[col] = data.draw(st.text(max_size=12).filter(lambda s: s not in names), label="name")
            table = table.rename_columns(names)
        else:
            table = table.slice(0, data.draw(st.integers(0, max(table.num_rows - 1, 0)), label="rows"))
        pq.write_table(table, path)
        check_read(root, "parquet columns and rows")


@settings(FUZZ, max_examples=max(EXAMPLES * 3 // 5, 1))
@given(data=st.data())
def test_damaged_videos(video_dataset: Path, data: st.DataObject) -> None:
    with Copy(video_dataset) as root:
        names = [f for f in files_of(root) if f.endswith(".mp4") or "episodes" in f]
        damage(root / data.draw(st.sampled_from(names), label="file"), *data.draw(damages, label="damage"))
        check_read(root, "damaged videos")


# -- the command line -----------------------------------------------------------------------------------------------


# No deadline: the first example imports the learners (torch, diffusers), seconds on a busy machine.
@settings(FUZZ, max_examples=max(EXAMPLES // 5, 1), deadline=None)
@given(data=st.data(), value=field_values)
def test_cli_refuses_damaged_datasets(
    reach_dataset: Path, data: st.DataObject, value: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with Copy(reach_dataset) as root:
        if data.draw(st.booleans(), label="damage a file"):
            damage(
                root / data.draw(st.sampled_from(files_of(root)), label="file"),
                *data.draw(damages, label="damage"),
            )
        else:
            info = json.loads((root / "meta/info.json").read_text())
            set_path(info, data.draw(json_paths(info, 3), label="field"), value, delete=False)
            (root / "meta/info.json").write_text(json.dumps(info))
        assume(check_read(root, "command line"))  # datasets the reader refuses (a valid one just appends)
        before = snapshot(root)
        logdir = root.parent / "runs"
        for args, prefix in (
            (["demos", "Aloha-Reach", "--out", str(root), "--n", "1", "--batch", "1"], "robolearn: error: "),
            (["train", "Aloha-Reach", "--algo", "bc", "--data", str(root), "--steps", "1", "--logdir", str(logdir)],
             "error: "),
        ):  # fmt: skip
            rc, err = run_cli(args, capsys)
            assert rc == 2, (args[0], err)
            assert err.startswith(prefix) and err.count("\n") == 1 and "Traceback" not in err, err
            assert snapshot(root) == before and not logdir.exists()
