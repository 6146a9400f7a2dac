"""`LeRobotDataset`: reads a LeRobot v3 folder (lerobot.py's layout), every file checked before use.

Opening reads and validates the metadata (meta/info.json, meta/tasks.parquet, meta/episodes/...);
`columns()` loads the frame files and checks them against the episode rows; `verify()` checks everything a
writer appending to the dataset relies on (frame files, video containers, per-episode stats). Any problem
is a DatasetError naming the file and field.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from robolearn.policies.data.lerobot import INFO_PATH, STATS_PATH, TASKS_PATH, decode_video, read_parquet
from robolearn.policies.data.validate import (
    NUMERIC_DTYPES,
    DatasetError,
    describe,
    format_path,
    validate_episode_stats,
    validate_episodes,
    validate_info,
    validate_stats,
    validate_tasks,
)

TIMESTAMP_TOLERANCE_S = 1e-4
"""How far a frame's timestamp may be from frame_index / fps (LeRobot's tolerance)."""


def read_json(path: Path) -> Any:
    """A JSON file's value; missing, unreadable, non-UTF-8 or malformed is a DatasetError naming it."""
    if not path.is_file():
        raise DatasetError(f"{path}: file is missing")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({describe(exc)})") from None


def column_array(col: pa.ChunkedArray, feat: dict[str, Any], path: Path, key: str) -> np.ndarray:
    """A numeric frame column as (N, *shape) of the feature's dtype; nulls, strings or ragged rows refused."""
    dtype, shape = feat["dtype"], list(feat["shape"])
    value_type, depth = col.type, 0
    while pa.types.is_list(value_type) or pa.types.is_fixed_size_list(value_type) or pa.types.is_large_list(
            value_type):  # fmt: skip
        value_type, depth = value_type.value_type, depth + 1
    if not (
        pa.types.is_integer(value_type) or pa.types.is_floating(value_type) or pa.types.is_boolean(value_type)
    ):
        raise DatasetError(f"{path}: field {key!r} holds {col.type}, meta/info.json says {dtype} {shape}")
    if pa.types.is_floating(value_type) and not np.issubdtype(np.dtype(dtype), np.floating):
        raise DatasetError(
            f"{path}: field {key!r} holds {col.type}, meta/info.json says {dtype} (whole numbers)"
        )
    flat: pa.ChunkedArray | pa.Array = col
    for _ in range(depth + 1):
        if flat.null_count:
            raise DatasetError(f"{path}: field {key!r} has null values")
        if _ < depth:
            flat = pc.list_flatten(flat)
    try:
        with np.errstate(over="raise", invalid="raise"):  # values outside the dtype's range: refused
            arr = np.asarray(col.to_pylist(), dtype=dtype) if depth else col.to_numpy().astype(dtype)
    except (ValueError, TypeError, OverflowError, FloatingPointError) as exc:
        raise DatasetError(
            f"{path}: field {key!r} cannot be read as {dtype} {shape} ({describe(exc)})"
        ) from None
    got = list(arr.shape[1:])
    if got != shape and not (shape == [1] and got == []):
        raise DatasetError(f"{path}: field {key!r} has shape {got}, meta/info.json says {shape}")
    return arr


class LeRobotDataset:
    """Reads a LeRobot v3 folder: low-dim columns into memory, videos decoded per episode on request."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        info_path = self.root / INFO_PATH
        if not info_path.is_file():
            raise DatasetError(f"{info_path}: file is missing (not a LeRobot v3 dataset folder)")
        self.info: dict[str, Any] = read_json(info_path)
        validate_info(self.info, info_path)
        self.fps = int(self.info["fps"])
        self.features: dict[str, dict[str, Any]] = self.info["features"]
        self.num_episodes = int(self.info["total_episodes"])
        self.num_frames = int(self.info["total_frames"])
        self.tasks: dict[str, int] = {}
        if self.num_episodes:
            self.tasks = self._read_tasks()
        rows: list[tuple[Path, dict[str, Any]]] = []
        for path in sorted((self.root / "meta" / "episodes").rglob("file-*.parquet")):
            table = read_parquet(path, ["episode_index", "length", "dataset_from_index", "dataset_to_index",
                                        "data/chunk_index", "data/file_index"])  # fmt: skip
            rows += [(path, r) for r in table.to_pylist()]
        # Only committed episodes: a crashed flush may have left rows of episodes info.json does not count.
        self.episodes = validate_episodes(rows, self.num_episodes, self.num_frames, self.video_keys, self.tasks,
                                          info_path)  # fmt: skip
        self._columns: dict[str, np.ndarray] | None = None

    def _read_tasks(self) -> dict[str, int]:
        path = self.root / TASKS_PATH
        table = read_parquet(path, ["task_index"])
        # LeRobot writes the task string as a pandas index; this project's writer as a column.
        name_col = next((c for c in ("task", "__index_level_0__") if c in table.column_names), None)
        if name_col is None:
            raise DatasetError(f"{path}: missing field 'task' (has {', '.join(table.column_names)})")
        total = self.info.get("total_tasks")
        return validate_tasks(table.column(name_col).to_pylist(), table.column("task_index").to_pylist(), path,
                              total)  # fmt: skip

    @property
    def video_keys(self) -> list[str]:
        return [k for k, f in self.features.items() if f["dtype"] == "video"]

    @property
    def stats(self) -> dict[str, dict[str, np.ndarray]]:
        path = self.root / STATS_PATH
        return validate_stats(read_json(path), path, self.features)

    def data_path(self, chunk: int, file: int) -> Path:
        return format_path(self.root, self.info["data_path"], str(self.root / INFO_PATH), "data_path",
                           chunk_index=chunk, file_index=file)  # fmt: skip

    def video_path(self, key: str, episode: dict[str, Any]) -> Path:
        return format_path(self.root, self.info["video_path"], str(self.root / INFO_PATH), "video_path",
                           video_key=key, chunk_index=episode[f"videos/{key}/chunk_index"],
                           file_index=episode[f"videos/{key}/file_index"])  # fmt: skip

    def columns(self) -> dict[str, np.ndarray]:
        """Every low-dim feature over all committed frames, in frame order: name -> (N, *shape).

        Each frame file must hold exactly the frames of its episodes, with the index, episode_index and
        task_index the episode rows and the task table say.
        """
        if self._columns is not None:
            return self._columns
        by_file: dict[tuple[int, int], list[dict[str, Any]]] = {}
        for r in self.episodes:
            by_file.setdefault((r["data/chunk_index"], r["data/file_index"]), []).append(r)
        want = [k for k, f in self.features.items() if f["dtype"] in NUMERIC_DTYPES]
        parts: dict[str, list[np.ndarray]] = {k: [] for k in want}
        for (chunk, file), eps in sorted(by_file.items(), key=lambda kv: kv[1][0]["dataset_from_index"]):
            path = self.data_path(chunk, file)
            table = read_parquet(path, want)
            frames = sum(r["length"] for r in eps)
            if table.num_rows != frames:  # before any array of `frames` entries is made
                raise DatasetError(f"{path}: {table.num_rows} rows, its episodes "
                                   f"{[r['episode_index'] for r in eps]} have {frames} frames")  # fmt: skip
            expect_index = np.concatenate(
                [np.arange(r["dataset_from_index"], r["dataset_to_index"]) for r in eps]
            )
            cols = {key: column_array(table.column(key), self.features[key], path, key) for key in want}
            expect_episode = np.concatenate([np.full(r["length"], r["episode_index"]) for r in eps])
            expect_frame = np.concatenate([np.arange(r["length"]) for r in eps])
            for key, expect in (("index", expect_index), ("episode_index", expect_episode),
                                ("frame_index", expect_frame)):  # fmt: skip
                if not np.array_equal(cols[key].reshape(-1), expect):
                    raise DatasetError(f"{path}: field {key!r} does not match meta/episodes (frames "
                                       f"{expect_index[0]}..{expect_index[-1]})")  # fmt: skip
            # LeRobot's own check of frame times: within 1e-4 s of frame_index / fps.
            late = np.abs(cols["timestamp"].reshape(-1).astype(np.float64) - expect_frame / self.fps)
            if not (late <= TIMESTAMP_TOLERANCE_S).all():
                i = int(np.argmax(~(late <= TIMESTAMP_TOLERANCE_S)))
                raise DatasetError(f"{path}: field 'timestamp' of frame {expect_index[i]} is "
                                   f"{cols['timestamp'].reshape(-1)[i]}, expected {expect_frame[i] / self.fps} "
                                   f"(frame_index / fps {self.fps})")  # fmt: skip
            bad = set(np.unique(cols["task_index"]).tolist()) - set(self.tasks.values())
            if bad:
                raise DatasetError(f"{path}: task_index {sorted(bad)} not in meta/tasks.parquet "
                                   f"({sorted(self.tasks.values())})")  # fmt: skip
            for key in want:
                parts[key].append(cols[key])
        self._columns = {k: (np.concatenate(v) if v else np.zeros((0, *self.features[k]["shape"])))
                         for k, v in parts.items()}  # fmt: skip
        return self._columns

    def episode(self, i: int) -> dict[str, np.ndarray]:
        """Low-dim features of episode `i`: name -> (length, *shape)."""
        r = self.episodes[i]
        cols = self.columns()
        sel = (cols["index"] >= r["dataset_from_index"]) & (cols["index"] < r["dataset_to_index"])
        return {k: v[sel] for k, v in cols.items()}

    def video(self, key: str, i: int) -> np.ndarray:
        """Frames (length, H, W, 3) of camera `key` in episode `i`."""
        if key not in self.video_keys:
            raise DatasetError(f"{self.root / INFO_PATH}: no video feature {key!r} (have {self.video_keys})")
        r = self.episodes[i]
        path = self.video_path(key, r)
        frames = decode_video(path, r[f"videos/{key}/from_timestamp"], r[f"videos/{key}/to_timestamp"])
        if len(frames) != r["length"]:
            raise DatasetError(f"{path}: episode {i} has {len(frames)} frames, meta says {r['length']}")
        return frames

    def check_videos(self, open_files: bool = False) -> None:
        """Every video file the committed episodes point to exists; with `open_files`, it is also a readable
        video long enough for its episodes (container metadata only, nothing decoded)."""
        ends: dict[Path, tuple[float, str, int]] = {}
        for r in self.episodes:
            for key in self.video_keys:
                path = self.video_path(key, r)
                if not path.is_file():
                    raise DatasetError(
                        f"{path}: video file is missing (feature {key!r}, episode {r['episode_index']})"
                    )
                end = float(r[f"videos/{key}/to_timestamp"])
                if end > ends.get(path, (0.0, "", 0))[0]:
                    ends[path] = (end, key, r["episode_index"])
        if open_files:
            for path, (end, key, episode) in ends.items():
                _check_video_file(path, end, self.fps, key, episode)

    def verify(self) -> None:
        """Every file of the committed episodes: frames, video containers, per-episode stats and stats.json
        (a writer rewrites stats.json from the episodes' stats, but a damaged one means damaged storage)."""
        self.columns()
        self.check_videos(open_files=True)
        validate_episode_stats(self.episodes, self.features, self.root / "meta/episodes")
        if self.num_episodes:
            self.stats  # noqa: B018 (reading it is the check)


def _check_video_file(path: Path, end: float, fps: int, key: str, episode: int) -> None:
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            frames = stream.frames
    # IndexError: no video stream; UnicodeDecodeError: damaged metadata (PyAV decodes it strictly)
    except (av.error.FFmpegError, IndexError, OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: corrupt or unreadable video ({describe(exc)})") from None
    if frames and frames < round(end * fps):
        raise DatasetError(
            f"{path}: {frames} frames, episode {episode} of {key!r} ends at frame {round(end * fps)}"
        )
