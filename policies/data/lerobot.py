"""Demonstration datasets in the LeRobot v3 layout, written and read with pyarrow and PyAV.

    <root>/meta/info.json                                  schema, fps, counts, path templates
    <root>/meta/stats.json                                 per-feature min/max/mean/std/count
    <root>/meta/tasks.parquet                              task string -> task_index
    <root>/meta/episodes/chunk-000/file-000.parquet        one row per episode (length, offsets, stats)
    <root>/data/chunk-000/file-000.parquet                 one row per frame (low-dim features)
    <root>/videos/<camera key>/chunk-000/file-000.mp4      camera streams, episodes back to back

Several episodes share a file (v3's point); each `flush()` of the writer adds one new file index, so
appending never rewrites what is there. Crash safety: every file goes to a temp name and is renamed;
`meta/info.json` is written last and is the commit point. Readers trust only the episodes counted in
info.json, and a writer reopening the folder deletes files a crashed flush left behind and rewrites the
stats from the committed episodes. Before that it verifies the whole dataset and that it takes the new
episodes (robot, fps, features, tasks): a damaged or foreign dataset is refused with nothing written.

This module holds the writer and the file helpers; reader.py reads, validate.py checks the metadata.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from robolearn.atomic import atomic_path
from robolearn.policies.data.validate import DatasetError, check_matches, check_tasks, describe

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000
"""Files per chunk folder (LeRobot's default)."""
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
VIDEO_CODEC = "h264"
VIDEO_PIX_FMT = "yuv420p"
VIDEO_STATS_EVERY = 5
"""Image statistics from every 5th frame: plenty for a normalization, 5x less decoding."""
# Columns every frame has, whatever the robot (LeRobot's default features).
INDEX_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}


_FILE_NAME = re.compile(r"chunk-(?P<chunk>\d+)/file-(?P<file>\d+)\.\w+")
"""A data, video or episodes file of the layout (chunk folder and file index)."""


# -- small helpers ---------------------------------------------------------------------------------------


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through `write(tmp_path)` then rename: readers see the old file or the new one, never half."""
    with atomic_path(path, suffix=f".tmp{path.suffix}") as tmp:
        write(tmp)


def _write_json(path: Path, data: Any) -> None:
    def write(p: Path) -> None:
        p.write_text(json.dumps(data, indent=2))

    _atomic_write(path, write)


def _write_parquet(path: Path, table: pa.Table) -> None:
    _atomic_write(path, lambda p: pq.write_table(table, p))


def read_parquet(path: Path, columns: list[str] | None = None) -> pa.Table:
    """A Parquet table; a missing or corrupt file, or a missing column, is a DatasetError naming it."""
    if not path.is_file():
        raise DatasetError(f"{path}: file is missing")
    try:
        table = pq.read_table(path)
        # Damaged bytes can decode into invalid UTF-8 (in values or column names) or bad offsets that only
        # fail when a value is converted (found by tests/test_dataset_fuzz.py); validating names the file.
        table.validate(full=True)
        names = table.column_names
    except (pa.ArrowException, OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: corrupt or unreadable Parquet file ({describe(exc)})") from None
    for col in columns or []:
        if col not in names:
            raise DatasetError(f"{path}: missing field {col!r} (has {', '.join(names)})")
    return table


def _fmt(template: str, **kw: Any) -> str:
    return template.format(**kw)


def feature_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """min/max/mean/std/count over the first axis (frames), as LeRobot stores them."""
    v = values.astype(np.float64)
    return {"min": v.min(0), "max": v.max(0), "mean": v.mean(0), "std": v.std(0), "count": np.array([len(v)])}


def image_stats(frames: np.ndarray) -> dict[str, np.ndarray]:
    """Per-channel stats of (T, H, W, 3) uint8 frames scaled to [0, 1], shaped (3, 1, 1) like LeRobot's."""
    x = frames[::VIDEO_STATS_EVERY].astype(np.float64) / 255.0
    per_c = x.reshape(-1, x.shape[-1])
    s = feature_stats(per_c)
    return {k: (v.reshape(-1, 1, 1) if k != "count" else np.array([len(frames)])) for k, v in s.items()}


def aggregate_stats(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Combine per-episode stats (pooled mean and variance, weighted by counts)."""
    counts = np.array([float(p["count"][0]) for p in parts])
    w = (counts / counts.sum()).reshape(-1, *([1] * np.ndim(parts[0]["mean"])))
    means = np.stack([p["mean"] for p in parts])
    mean = (w * means).sum(0)
    var = (w * (np.stack([p["std"] for p in parts]) ** 2 + (means - mean) ** 2)).sum(0)
    return {
        "min": np.min(np.stack([p["min"] for p in parts]), 0),
        "max": np.max(np.stack([p["max"] for p in parts]), 0),
        "mean": mean,
        "std": np.sqrt(var),
        "count": np.array([int(counts.sum())]),
    }


# -- video -------------------------------------------------------------------------------------------------


def encode_video(path: Path, frames: np.ndarray, fps: int) -> None:
    """(T, H, W, 3) uint8 -> H.264 MP4 at `fps`, frame i at pts i (timestamps exact in 1/fps)."""
    import av

    def write(tmp: Path) -> None:
        with av.open(str(tmp), mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=fps)
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = VIDEO_PIX_FMT
            stream.options = {"crf": "20", "g": "2"}  # short GOP: cheap seeks to an episode's start
            for frame in frames:
                for packet in stream.encode(
                    av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
                ):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)

    _atomic_write(path, write)


def decode_video(path: Path, start: float = 0.0, end: float | None = None) -> np.ndarray:
    """Frames with timestamps in [start, end) as (T, H, W, 3) uint8."""
    import av

    if not path.is_file():
        raise DatasetError(f"{path}: video file is missing")
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            tb = float(stream.time_base)
            container.seek(int(start / tb), stream=stream, backward=True, any_frame=False)
            out = []
            for frame in container.decode(stream):
                t = frame.pts * tb
                if t < start - 1e-6:
                    continue
                if end is not None and t >= end - 1e-6:
                    break
                out.append(frame.to_ndarray(format="rgb24"))
    # IndexError: no video stream; UnicodeDecodeError: damaged metadata (PyAV decodes it strictly)
    except (av.error.FFmpegError, IndexError, OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: corrupt or unreadable video ({describe(exc)})") from None
    if not out:
        raise DatasetError(f"{path}: no frames between {start:.3f} s and {end} s")
    return np.stack(out)


# -- writer ------------------------------------------------------------------------------------------------


@dataclass
class _Pending:
    frames: dict[str, np.ndarray]
    videos: dict[str, np.ndarray]
    task: str


class DatasetWriter:
    """Appends episodes to a LeRobot v3 dataset folder (created if absent).

    features: name -> {"dtype": "float32" | "video", "shape": [...], "names": [...]} for the robot's own
    features (`observation.state`, `action`, `observation.images.top`, ...); the index columns are added.
    """

    def __init__(self, root: str | os.PathLike[str], fps: int, features: dict[str, dict[str, Any]],
                 robot_type: str | None = None, tasks: set[str] | None = None):  # fmt: skip
        """robot_type: what a new dataset records ("unknown" when None) and, when given, what an existing one
        must have; tasks: when given, the only task strings the dataset may hold (old episodes and new)."""
        self.root = Path(root)
        self.fps = int(fps)
        self.features = {k: dict(v) for k, v in features.items()}
        self.robot_type = robot_type or "unknown"
        self.allowed_tasks = tasks
        self._pending: list[_Pending] = []
        info_path = self.root / INFO_PATH
        if info_path.is_file():
            self._open_existing(info_path, robot_type)
        else:
            if self.root.exists() and (not self.root.is_dir() or any(self.root.iterdir())):
                # A dataset that lost meta/info.json, a first write killed before its commit, or a folder
                # that is no dataset at all: writing here would bury or mix what is there.
                raise DatasetError(f"{info_path}: file is missing and {self.root} is not an empty folder: not a "
                                   "LeRobot v3 dataset to append to (pick a new folder, or delete this one)")  # fmt: skip
            self.total_episodes = self.total_frames = 0
            self.next_file = 0
            self.tasks: dict[str, int] = {}
            self.episode_rows: list[dict[str, Any]] = []

    @property
    def video_keys(self) -> list[str]:
        return [k for k, f in self.features.items() if f["dtype"] == "video"]

    @property
    def pending(self) -> int:
        return len(self._pending)

    def _open_existing(self, info_path: Path, robot_type: str | None) -> None:
        """Check the whole dataset and that it takes these episodes before anything is written."""
        from robolearn.policies.data.reader import LeRobotDataset

        ds = LeRobotDataset(self.root)
        check_matches(ds, self.features, self.fps, robot_type, exact=True, who="appending")
        if self.allowed_tasks is not None:
            check_tasks(ds, self.allowed_tasks, "appending")
        for key, ours in (("data_path", DATA_PATH), ("video_path", VIDEO_PATH if ds.video_keys else None)):
            if ds.info.get(key) != ours:  # new files go where this writer's templates say
                raise DatasetError(f"{info_path}: {key} is {ds.info.get(key)!r}, appending needs {ours!r}")
        ds.verify()
        self.robot_type = ds.info["robot_type"]
        self.features = {k: v for k, v in ds.features.items() if k not in INDEX_FEATURES}
        self.total_episodes, self.total_frames = ds.num_episodes, ds.num_frames
        self.tasks = dict(ds.tasks)
        self.episode_rows = ds.episodes
        used = {r["data/chunk_index"] * CHUNKS_SIZE + r["data/file_index"] for r in self.episode_rows}
        self.next_file = max(used) + 1 if used else 0
        self._remove_uncommitted(used)
        self._write_stats()  # a crash between stats.json and info.json left stats of uncommitted episodes

    def _remove_uncommitted(self, used: set[int]) -> None:
        """Delete files of a flush that crashed before its info.json (and temp files)."""
        for folder in (self.root / "data", self.root / "videos", self.root / "meta" / "episodes"):
            for p in folder.rglob("*") if folder.is_dir() else []:
                if not p.is_file():
                    continue
                m = _FILE_NAME.fullmatch(p.parent.name + "/" + p.name)
                orphan = p.name.startswith(".") or (
                    m is not None and int(m["chunk"]) * CHUNKS_SIZE + int(m["file"]) not in used
                )
                if orphan:
                    p.unlink()

    def add_episode(self, frames: dict[str, np.ndarray], task: str,
                    videos: dict[str, np.ndarray] | None = None) -> None:  # fmt: skip
        """Buffer one episode: frames[name] is (T, *shape) for every non-video feature, videos[key] (T, H, W, 3)."""
        videos = videos or {}
        lengths = set()
        for key, feat in self.features.items():
            src = videos if feat["dtype"] == "video" else frames
            if key not in src:
                raise DatasetError(
                    f"episode is missing feature {key!r} (expected shape [T, {feat['shape']}])"
                )
            arr = np.asarray(src[key])
            if list(arr.shape[1:]) != list(feat["shape"]):
                raise DatasetError(
                    f"feature {key!r}: expected shape [T, {feat['shape']}], got {list(arr.shape)}"
                )
            lengths.add(len(arr))
        if len(lengths) != 1 or 0 in lengths:
            raise DatasetError(f"episode features have different or zero lengths: {sorted(lengths)}")
        if self.allowed_tasks is not None and task not in self.allowed_tasks:
            raise DatasetError(f"episode task {task!r}: this writer takes only {sorted(self.allowed_tasks)}")
        self._pending.append(_Pending(dict(frames), dict(videos), task))

    def flush(self) -> None:
        """Write buffered episodes as one new file index, then commit them in meta/info.json."""
        if not self._pending:
            return
        file_index, chunk = self.next_file % CHUNKS_SIZE, self.next_file // CHUNKS_SIZE
        loc = {"chunk_index": chunk, "file_index": file_index}
        columns: dict[str, list[np.ndarray]] = {k: [] for k in (*INDEX_FEATURES, *self.features)}
        rows, ep_index, index = [], self.total_episodes, self.total_frames
        video_frames: dict[str, list[np.ndarray]] = {k: [] for k in self.video_keys}
        video_offset = 0
        for ep in self._pending:
            n = len(next(iter(ep.frames.values())) if ep.frames else next(iter(ep.videos.values())))
            task_index = self.tasks.setdefault(ep.task, len(self.tasks))
            columns["timestamp"].append(np.arange(n, dtype=np.float32) / self.fps)
            columns["frame_index"].append(np.arange(n, dtype=np.int64))
            columns["episode_index"].append(np.full(n, ep_index, dtype=np.int64))
            columns["index"].append(np.arange(index, index + n, dtype=np.int64))
            columns["task_index"].append(np.full(n, task_index, dtype=np.int64))
            row: dict[str, Any] = {"episode_index": ep_index, "tasks": [ep.task], "length": n,
                                   "data/chunk_index": chunk, "data/file_index": file_index,
                                   "dataset_from_index": index, "dataset_to_index": index + n}  # fmt: skip
            for key in self.video_keys:
                video_frames[key].append(ep.videos[key])
                row[f"videos/{key}/chunk_index"] = chunk
                row[f"videos/{key}/file_index"] = file_index
                row[f"videos/{key}/from_timestamp"] = video_offset / self.fps
                row[f"videos/{key}/to_timestamp"] = (video_offset + n) / self.fps
            video_offset += n
            row["meta/episodes/chunk_index"], row["meta/episodes/file_index"] = chunk, file_index
            for key, feat in self.features.items():
                if feat["dtype"] == "video":
                    stats = image_stats(ep.videos[key])
                else:
                    arr = np.asarray(ep.frames[key], dtype=feat["dtype"])
                    columns[key].append(arr)
                    stats = feature_stats(arr.reshape(n, -1))
                for name, value in stats.items():
                    row[f"stats/{key}/{name}"] = np.asarray(value, dtype=np.float64).ravel().tolist()
            for name in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
                for stat, value in feature_stats(columns[name][-1].reshape(n, 1)).items():
                    row[f"stats/{name}/{stat}"] = np.asarray(value, dtype=np.float64).ravel().tolist()
            rows.append(row)
            ep_index, index = ep_index + 1, index + n
        # 1) bulk files under new names (invisible to readers until info.json counts their episodes)
        data = {}
        for key, parts in columns.items():
            if key in self.video_keys:
                continue
            arr = np.concatenate(parts)
            data[key] = pa.array(list(arr)) if arr.ndim > 1 else pa.array(arr)
        _write_parquet(self.root / _fmt(DATA_PATH, **loc), pa.table(data))
        for key, parts in video_frames.items():
            encode_video(self.root / _fmt(VIDEO_PATH, video_key=key, **loc), np.concatenate(parts), self.fps)
        _write_parquet(self.root / _fmt(EPISODES_PATH, **loc), pa.Table.from_pylist(rows))
        # 2) meta: tasks and stats (harmless if we crash now: the reader ignores uncommitted episodes)
        self.episode_rows = self.episode_rows + rows
        self.tasks_table_write()
        self._write_stats()
        # 3) commit
        self.total_episodes, self.total_frames, self.next_file = ep_index, index, self.next_file + 1
        _write_json(self.root / INFO_PATH, self._info())
        self._pending.clear()

    def tasks_table_write(self) -> None:
        names = sorted(self.tasks, key=self.tasks.get)  # type: ignore[arg-type]
        table = pa.table({"task_index": pa.array([self.tasks[t] for t in names], pa.int64()),
                          "task": pa.array(names)})  # fmt: skip
        _write_parquet(self.root / TASKS_PATH, table)

    def _write_stats(self) -> None:
        if not self.episode_rows:
            return
        stats = {}
        for key in (*INDEX_FEATURES, *self.features):
            parts = []
            for r in self.episode_rows:
                p = {
                    s: np.asarray(r[f"stats/{key}/{s}"], dtype=np.float64)
                    for s in ("min", "max", "mean", "std", "count")
                }
                if self.features.get(key, {}).get("dtype") == "video":
                    p = {s: (v.reshape(-1, 1, 1) if s != "count" else v) for s, v in p.items()}
                parts.append(p)
            stats[key] = {s: v.tolist() for s, v in aggregate_stats(parts).items()}
        _write_json(self.root / STATS_PATH, stats)

    def _info(self) -> dict[str, Any]:
        feats: dict[str, Any] = {}
        for key, feat in self.features.items():
            f = dict(feat)
            if f["dtype"] == "video":
                h, w, c = f["shape"]
                f["info"] = {"video.height": h, "video.width": w, "video.codec": VIDEO_CODEC,
                             "video.pix_fmt": VIDEO_PIX_FMT, "video.is_depth_map": False, "video.fps": self.fps,
                             "video.channels": c, "has_audio": False}  # fmt: skip
            feats[key] = f
        feats.update(INDEX_FEATURES)
        return {
            "codebase_version": CODEBASE_VERSION,
            "robot_type": self.robot_type,
            "total_episodes": self.total_episodes,
            "total_frames": self.total_frames,
            "total_tasks": len(self.tasks),
            "chunks_size": CHUNKS_SIZE,
            "data_files_size_in_mb": 100,
            "video_files_size_in_mb": 500,
            "fps": self.fps,
            "splits": {"train": f"0:{self.total_episodes}"},
            "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if self.video_keys else None,
            "features": feats,
        }

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:  # on an error, keep only what was committed before it
            self.flush()
