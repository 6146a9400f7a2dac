"""What a user does with a dataset that is broken or not the task's: `robolearn demos` appending to it and
`robolearn train --algo bc` training on it refuse with a named error (exit 2, one line, nothing written);
every field of meta/info.json, the episode rows, the task table and the stats is checked on read."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from lerobot_cases import copy_dataset, reach_dataset, run_cli, snapshot, transfer_dataset, write_demos

from robolearn.envs.manipulation.aloha import task_cfg
from robolearn.envs.manipulation.demos import features_for
from robolearn.policies.data import DatasetError, DatasetWriter, LeRobotDataset

__all__ = ["reach_dataset", "transfer_dataset"]  # fixtures

REACH = task_cfg("Aloha-Reach").description
TRANSFER = task_cfg("Aloha-CubeTransfer").description
DATA0 = "data/chunk-000/file-000.parquet"
EPISODES0 = "meta/episodes/chunk-000/file-000.parquet"


def _edit_info(root: Path, **fields: object) -> None:
    info = json.loads((root / "meta/info.json").read_text())
    info.update(fields)
    (root / "meta/info.json").write_text(json.dumps(info))


def _truncate(path: Path, keep: float = 0.5) -> None:
    path.write_bytes(path.read_bytes()[: int(path.stat().st_size * keep)])


def _insertion_layout(root: Path) -> None:
    """A dataset of the right robot and task string but Insertion's features (14 environment values)."""
    shutil.rmtree(root)
    feats = features_for("Aloha-Insertion", ())
    writer = DatasetWriter(root, 25, feats, robot_type="aloha")
    writer.add_episode({k: np.zeros((4, f["shape"][0])) for k, f in feats.items()}, REACH)
    writer.flush()


BROKEN: dict[str, tuple[Callable[[Path], None], str]] = {
    "data parquet missing": (lambda r: (r / DATA0).unlink(), r"file-000\.parquet: file is missing"),
    "data parquet truncated": (lambda r: _truncate(r / DATA0), r"file-000\.parquet: corrupt or unreadable"),
    "episodes parquet truncated": (
        lambda r: _truncate(r / EPISODES0),
        r"episodes.*file-000\.parquet: corrupt",
    ),
    "tasks parquet missing": (
        lambda r: (r / "meta/tasks.parquet").unlink(),
        r"tasks\.parquet: file is missing",
    ),
    "info.json truncated": (lambda r: _truncate(r / "meta/info.json"), r"info\.json: not valid JSON"),
    "fps not a number": (
        lambda r: _edit_info(r, fps="fast"),
        r"info\.json: fps is 'fast', expected an integer",
    ),
    "another robot": (
        lambda r: _edit_info(r, robot_type="koch"),
        r"robot_type is 'koch', appending needs 'aloha'",
    ),
    "another rate": (lambda r: _edit_info(r, fps=50), r"info\.json: fps is 50, appending needs 25"),
    "another feature layout": (
        _insertion_layout,
        r"info\.json: features\.observation\.environment_state\.shape is \[14\], appending needs \[9\]",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_demos_refuses_to_append_to_a_broken_or_foreign_dataset(
    case: str, reach_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_dataset(reach_dataset, tmp_path / "data")
    breaks, message = BROKEN[case]
    breaks(root)
    before = snapshot(root)
    rc, err = run_cli(["demos", "Aloha-Reach", "--out", str(root), "--n", "1", "--batch", "1"], capsys)
    assert rc == 2
    assert err.startswith("robolearn: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert str(root) in err, err
    assert re.search(message, err), err
    assert snapshot(root) == before  # nothing written, nothing cleaned up


def test_demos_refuses_another_tasks_dataset(
    transfer_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reach and CubeTransfer demos have the same features: only the task tells them apart."""
    root = copy_dataset(transfer_dataset, tmp_path / "transfer")
    before = snapshot(root)
    rc, err = run_cli(["demos", "Aloha-Reach", "--out", str(root), "--n", "1", "--batch", "1"], capsys)
    assert rc == 2 and "Traceback" not in err
    assert f"{root / 'meta/tasks.parquet'}: task is {TRANSFER!r}, appending needs {REACH!r}" in err
    assert snapshot(root) == before


def test_demos_refuses_a_folder_that_is_not_a_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("my notes")
    rc, err = run_cli(["demos", "Aloha-Reach", "--out", str(tmp_path), "--n", "1"], capsys)
    assert rc == 2 and "meta/info.json: file is missing" in err and "not an empty folder" in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["notes.txt"]


def test_demos_appends_to_its_own_dataset(reach_dataset: Path, tmp_path: Path) -> None:
    root = copy_dataset(reach_dataset, tmp_path / "data")
    write_demos("Aloha-Reach", root, n=1)
    ds = LeRobotDataset(root)
    assert ds.num_episodes == 3 and ds.tasks == {REACH: 0}
    ds.verify()


def _train(data: Path, logdir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    return run_cli(["train", "Aloha-Reach", "--algo", "bc", "--data", str(data), "--steps", "1",
                    "--logdir", str(logdir)], capsys)  # fmt: skip


def _mix(root: Path) -> None:
    """CubeTransfer episodes appended through the library (which allows several tasks per dataset)."""
    feats = features_for("Aloha-Reach", ())
    writer = DatasetWriter(root, 25, feats)
    writer.add_episode({k: np.zeros((3, f["shape"][0])) for k, f in feats.items()}, TRANSFER)
    writer.flush()


FOREIGN: dict[str, tuple[Callable[[Path], None], str]] = {
    "mixed tasks": (_mix, f"task is {TRANSFER!r}, task Aloha-Reach needs {REACH!r}"),
    "another robot": (
        lambda r: _edit_info(r, robot_type="koch"),
        "robot_type is 'koch', task Aloha-Reach needs 'aloha'",
    ),
    "another rate": (lambda r: _edit_info(r, fps=50), "info.json: fps is 50, task Aloha-Reach needs 25"),
    "renamed features": (
        lambda r: _edit_info(
            r,
            features={
                **json.loads((r / "meta/info.json").read_text())["features"],
                "action": {"dtype": "float32", "shape": [14], "names": list("abcdefghijklmn")},
            },
        ),
        "features.action.names is ['a', 'b'",
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", list(FOREIGN))
def test_train_refuses_a_dataset_that_is_not_the_tasks(
    case: str, reach_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_dataset(reach_dataset, tmp_path / "data")
    FOREIGN[case][0](root)
    rc, err = _train(root, tmp_path / "runs", capsys)
    assert rc == 2 and "Traceback" not in err
    assert FOREIGN[case][1] in err, err
    assert not (tmp_path / "runs").exists()


def test_train_refuses_another_tasks_dataset(
    transfer_dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, err = _train(transfer_dataset, tmp_path / "runs", capsys)
    assert rc == 2 and f"tasks.parquet: task is {TRANSFER!r}, task Aloha-Reach needs {REACH!r}" in err
    assert not (tmp_path / "runs").exists()


def test_fps_not_a_number_from_the_console_script(reach_dataset: Path, tmp_path: Path) -> None:
    """The real process: exit status 2 and one line on stderr, no traceback."""
    root = copy_dataset(reach_dataset, tmp_path / "data")
    _edit_info(root, fps="fast")
    before = snapshot(root)
    proc = subprocess.run([sys.executable, "-m", "robolearn.cli", "demos", "Aloha-Reach", "--out", str(root),
                           "--n", "1"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert (
        proc.stderr
        == f"robolearn: error: {root / 'meta/info.json'}: fps is 'fast', expected an integer >= 1\n"
    )
    assert snapshot(root) == before


# -- every metadata field, read by the library -------------------------------------------------------------------


def _rewrite_parquet(path: Path, column: str, values: list) -> None:
    table = pq.read_table(path)
    pq.write_table(table.set_column(table.column_names.index(column), column, pa.array(values)), path)


def _edit_stats(root: Path, key: str, value: object) -> None:
    stats = json.loads((root / "meta/stats.json").read_text())
    stats[key] = value
    (root / "meta/stats.json").write_text(json.dumps(stats))


def _edit_feature(root: Path, key: str, **fields: object) -> None:
    info = json.loads((root / "meta/info.json").read_text())
    info["features"][key].update(fields)
    (root / "meta/info.json").write_text(json.dumps(info))


METADATA: dict[str, tuple[Callable[[Path], None], str]] = {
    "codebase_version": (lambda r: _edit_info(r, codebase_version="v2.1"), r"info\.json: codebase_version is 'v2\.1', expected v3"),
    "robot_type": (lambda r: _edit_info(r, robot_type=None), r"info\.json: robot_type is None, expected a string"),
    "fps": (lambda r: _edit_info(r, fps=float("nan")), r"info\.json: fps is nan, expected an integer >= 1"),
    "total_episodes": (lambda r: _edit_info(r, total_episodes=-1), r"info\.json: total_episodes is -1, expected an integer >= 0"),
    "total_frames": (lambda r: _edit_info(r, total_frames=10**30), r"info\.json: total_frames is 10{30}, the episodes hold \d+"),
    "total_tasks": (lambda r: _edit_info(r, total_tasks=3), r"tasks\.parquet: 1 tasks, meta/info\.json total_tasks is 3"),
    "chunks_size": (lambda r: _edit_info(r, chunks_size=0), r"info\.json: chunks_size is 0, expected an integer >= 1"),
    "splits": (lambda r: _edit_info(r, splits=["0:2"]), r"info\.json: splits is \['0:2'\]"),
    "data_path": (lambda r: _edit_info(r, data_path="../../{chunk_index}.parquet"), r"info\.json: data_path .* expected a path inside the dataset"),
    "data_path keys": (lambda r: _edit_info(r, data_path="data/{episode}.parquet"), r"info\.json: data_path .* does not format"),
    "features": (lambda r: _edit_info(r, features=[]), r"info\.json: features is \[\], expected an object"),
    "feature dtype": (lambda r: _edit_feature(r, "action", dtype="float128"), r"info\.json: features\.action\.dtype is 'float128'"),
    "feature dtype object": (lambda r: _edit_feature(r, "action", dtype={"x": 1}), r"info\.json: features\.action\.dtype is \{'x': 1\}"),
    "feature shape": (lambda r: _edit_feature(r, "action", shape=[0]), r"info\.json: features\.action\.shape is \[0\], expected a list of positive"),
    "feature names": (lambda r: _edit_feature(r, "action", names=[1, 2]), r"info\.json: features\.action\.names is \[1, 2\]"),
    "index feature": (lambda r: _edit_feature(r, "index", dtype="float32"), r"info\.json: features\.index is .*expected dtype 'int64'"),
    "episode length": (lambda r: _rewrite_parquet(r / EPISODES0, "length", [0]), r"file-000\.parquet: episode 0: length is 0, expected an integer >= 1"),
    "episode index": (lambda r: _rewrite_parquet(r / EPISODES0, "episode_index", [1]), r"episode_index \[1\] appears more than once"),
    "episode range": (lambda r: _rewrite_parquet(r / EPISODES0, "dataset_to_index", [3]), r"episode 0: dataset_to_index is 3, expected \d+"),
    "episode tasks": (lambda r: _rewrite_parquet(r / EPISODES0, "tasks", [[{"x": 1}]]), r"episode 0: tasks is \[\{'x': 1\}\], expected task strings"),
    "task string": (lambda r: _rewrite_parquet(r / "meta/tasks.parquet", "task", [""]), r"tasks\.parquet: task '', expected a non-empty string"),
    "task index": (lambda r: _rewrite_parquet(r / "meta/tasks.parquet", "task_index", [-4]), r"tasks\.parquet: task_index of .* is -4"),
    "frame task index": (lambda r: _rewrite_parquet(r / DATA0, "task_index", [7] * pq.read_metadata(r / DATA0).num_rows), r"file-000\.parquet: task_index \[7\] not in meta/tasks\.parquet"),
    "frame timestamp": (lambda r: _rewrite_parquet(r / DATA0, "timestamp", [0.5] * pq.read_metadata(r / DATA0).num_rows), r"file-000\.parquet: field 'timestamp' of frame 0 is 0\.5, expected 0\.0"),
    "frame index": (lambda r: _rewrite_parquet(r / DATA0, "frame_index", [0] * pq.read_metadata(r / DATA0).num_rows), r"file-000\.parquet: field 'frame_index' does not match meta/episodes"),
    "frame values": (lambda r: _rewrite_parquet(r / DATA0, "action", ["x"] * pq.read_metadata(r / DATA0).num_rows), r"file-000\.parquet: field 'action' holds string"),
    "stats value": (lambda r: _edit_stats(r, "action", {"mean": [float("inf")] * 14}), r"stats\.json: action\.mean is .*expected 14 finite numbers"),
    "stats feature": (lambda r: _edit_stats(r, "observation.images.ghost", {}), r"stats\.json: 'observation\.images\.ghost' is not a feature"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(METADATA))
def test_every_metadata_field_is_named(case: str, reach_dataset: Path, tmp_path: Path) -> None:
    root = copy_dataset(reach_dataset, tmp_path / "data")
    LeRobotDataset(root).verify()  # the copy is sound before the edit
    METADATA[case][0](root)
    with pytest.raises(DatasetError, match=METADATA[case][1]):
        ds = LeRobotDataset(root)
        ds.verify()
        ds.stats  # noqa: B018 (reading it is the check)
