"""Checks of a LeRobot v3 dataset's metadata, each failure a DatasetError naming the file, the field and the
value it expected: every field of meta/info.json, the episode rows (meta/episodes/...), the task table, the
per-episode and aggregate stats, and whether a dataset matches what a writer or a task needs (robot,
rate, feature layout, tasks).

Readers call these before they trust a number from a file: a count, an index or a path template from a
hand-edited or half-copied dataset must never become a numpy error, a path outside the dataset or a
dataset that silently mixes two tasks.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from robolearn.policies.data.reader import LeRobotDataset


class DatasetError(ValueError):
    """A dataset that cannot be used as is; the message names the file and field.

    The message is one line: control characters (a newline in a damaged file's task string, in a library's
    error text) are written as escapes, so the command line prints exactly one line."""

    def __init__(self, message: str):
        super().__init__(
            "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in message)
        )


def describe(exc: BaseException, limit: int = 200) -> str:
    """A library's error as a short clause for a DatasetError message (pyarrow's can run to kilobytes)."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[:limit] + "..."


NUMERIC_DTYPES = frozenset(
    {
        "float16",
        "float32",
        "float64",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "bool",
    }
)
DTYPES = NUMERIC_DTYPES | {"video", "image", "string"}
"""Feature dtypes LeRobot writes; only the numeric ones are frame columns this reader loads."""
INDEX_DTYPES = {"timestamp": "float32", "frame_index": "int64", "episode_index": "int64", "index": "int64",
                "task_index": "int64"}  # fmt: skip
STATS = ("min", "max", "mean", "std", "count")
# A feature key names a folder under videos/: no separators, no dot-names (nothing outside the dataset).
_SAFE_KEY = re.compile(r"^[^/\\\x00]+$")


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_field(where: str, name: str, v: Any, minimum: int = 0) -> int:
    if not is_int(v) or v < minimum:
        raise DatasetError(f"{where}: {name} is {v!r}, expected an integer >= {minimum}")
    return int(v)


def _number_field(where: str, name: str, v: Any, minimum: float = 0.0) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < minimum:
        raise DatasetError(f"{where}: {name} is {v!r}, expected a finite number >= {minimum}")
    return float(v)


def format_path(root: Path, template: str, where: str, field: str, **keys: Any) -> Path:
    """root / template.format(**keys), refused when the template does not format or leaves the dataset."""
    try:
        rel = template.format(**keys)
    except (KeyError, IndexError, ValueError, AttributeError) as exc:
        raise DatasetError(
            f"{where}: {field} {template!r} does not format with {sorted(keys)} ({describe(exc)})"
        ) from None
    parts = Path(rel).parts
    if not rel or Path(rel).is_absolute() or ".." in parts:
        raise DatasetError(f"{where}: {field} {template!r} gives {rel!r}, expected a path inside the dataset")
    return root / rel


# -- meta/info.json ----------------------------------------------------------------------------------------


def validate_feature(where: str, key: Any, feat: Any) -> None:
    name = f"features.{key}"
    if not isinstance(key, str) or not key or not _SAFE_KEY.match(key) or key in (".", ".."):
        raise DatasetError(f"{where}: feature name {key!r}, expected a non-empty name without '/' or '\\'")
    if not isinstance(feat, dict):
        raise DatasetError(f"{where}: {name} is {feat!r}, expected an object with dtype, shape and names")
    dtype = feat.get("dtype")
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise DatasetError(f"{where}: {name}.dtype is {dtype!r}, expected one of {', '.join(sorted(DTYPES))}")
    shape = feat.get("shape")
    if not isinstance(shape, list) or not shape or not all(is_int(d) and d >= 1 for d in shape):
        raise DatasetError(f"{where}: {name}.shape is {shape!r}, expected a list of positive integers")
    if dtype == "video" and (len(shape) != 3 or shape[2] not in (1, 3, 4)):
        raise DatasetError(
            f"{where}: {name}.shape is {shape}, expected [height, width, channels] for a video"
        )
    names = feat.get("names")
    ok = names is None or (isinstance(names, list) and all(isinstance(n, str) for n in names)) or (
        isinstance(names, dict) and all(isinstance(v, list) and all(isinstance(n, str) for n in v)
                                        for v in names.values()))  # fmt: skip
    if not ok:
        raise DatasetError(
            f"{where}: {name}.names is {names!r}, expected null, a list of strings or a mapping"
        )


def validate_info(info: Any, path: Path) -> None:
    """Every field a reader uses, with its type and range; raises DatasetError naming `path` and the field."""
    where = str(path)
    if not isinstance(info, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(info).__name__}")
    required = (
        "codebase_version",
        "robot_type",
        "fps",
        "features",
        "total_episodes",
        "total_frames",
        "data_path",
    )
    for key in required:
        if key not in info:
            raise DatasetError(f"{where}: missing field {key!r}")
    version = info["codebase_version"]
    if not isinstance(version, str) or not version.startswith("v3"):
        raise DatasetError(f"{where}: codebase_version is {version!r}, expected v3.x")
    if not isinstance(info["robot_type"], str):
        raise DatasetError(f"{where}: robot_type is {info['robot_type']!r}, expected a string (e.g. 'aloha')")
    _int_field(where, "fps", info["fps"], 1)
    episodes = _int_field(where, "total_episodes", info["total_episodes"])
    frames = _int_field(where, "total_frames", info["total_frames"])
    if frames < episodes:
        raise DatasetError(f"{where}: total_frames is {frames}, expected >= total_episodes ({episodes})")
    for key, minimum in (("total_tasks", 0), ("chunks_size", 1)):
        if key in info:
            _int_field(where, key, info[key], minimum)
    for key in ("data_files_size_in_mb", "video_files_size_in_mb"):
        if key in info and info[key] is not None:
            _number_field(where, key, info[key])
    splits = info.get("splits", {})
    if not isinstance(splits, dict) or not all(isinstance(v, str) for v in splits.values()):
        raise DatasetError(f"{where}: splits is {splits!r}, expected an object of 'start:end' strings")
    features = info["features"]
    if not isinstance(features, dict) or not features:
        raise DatasetError(f"{where}: features is {features!r}, expected an object of feature name -> spec")
    for key, feat in features.items():
        validate_feature(where, key, feat)
    for key, dtype in INDEX_DTYPES.items():
        feat = features.get(key)
        if feat is None or feat["dtype"] != dtype or feat["shape"] != [1]:
            have = None if feat is None else {"dtype": feat["dtype"], "shape": feat["shape"]}
            raise DatasetError(f"{where}: features.{key} is {have}, expected dtype {dtype!r} and shape [1]")
    if not isinstance(info["data_path"], str):
        raise DatasetError(f"{where}: data_path is {info['data_path']!r}, expected a path template")
    format_path(Path("."), info["data_path"], where, "data_path", chunk_index=0, file_index=0)
    has_video = any(f["dtype"] == "video" for f in features.values())
    video_path = info.get("video_path")
    if has_video or video_path is not None:
        if not isinstance(video_path, str):
            raise DatasetError(
                f"{where}: video_path is {video_path!r}, expected a path template (video features)"
            )
        format_path(Path("."), video_path, where, "video_path", video_key="k", chunk_index=0, file_index=0)


# -- meta/tasks.parquet --------------------------------------------------------------------------------------


def validate_tasks(
    names: list[Any], indices: list[Any], path: Path, total_tasks: int | None
) -> dict[str, int]:
    """task string -> task_index, each unique; the count must be info.json's total_tasks when it has one."""
    for name, index in zip(names, indices, strict=True):
        if not isinstance(name, str) or not name:
            raise DatasetError(f"{path}: task {name!r}, expected a non-empty string")
        _int_field(str(path), f"task_index of {name!r}", index)
    if len(set(names)) != len(names) or len(set(indices)) != len(indices):
        raise DatasetError(
            f"{path}: task and task_index must be unique, got {list(zip(names, indices, strict=True))}"
        )
    if total_tasks is not None and len(names) != total_tasks:
        raise DatasetError(f"{path}: {len(names)} tasks, meta/info.json total_tasks is {total_tasks}")
    return dict(zip(names, indices, strict=True))


# -- meta/episodes/*.parquet -------------------------------------------------------------------------------------


def validate_episodes(rows: list[tuple[Path, dict[str, Any]]], num_episodes: int, num_frames: int,
                      video_keys: list[str], tasks: dict[str, int], info_path: Path) -> list[dict[str, Any]]:  # fmt: skip
    """The committed rows (episode_index < total_episodes) in order, each checked: contiguous frame ranges
    from 0 to total_frames, integer file locations, finite video timestamps, known tasks."""
    for path, r in rows:
        _int_field(str(path), "episode_index", r.get("episode_index"))
    committed = sorted(((p, r) for p, r in rows if r["episode_index"] < num_episodes),
                       key=lambda pr: pr[1]["episode_index"])  # fmt: skip
    seen = [r["episode_index"] for _, r in committed]
    if len(set(seen)) != len(seen):
        dup = sorted({i for i in seen if seen.count(i) > 1})
        raise DatasetError(f"{committed[0][0].parent.parent}: episode_index {dup} appears more than once")
    if len(committed) != num_episodes:
        raise DatasetError(f"{info_path.parent / 'episodes'}: {len(committed)} episode rows, "
                           f"{info_path} total_episodes is {num_episodes}")  # fmt: skip
    end = 0
    for path, r in committed:
        where = f"{path}: episode {r['episode_index']}"
        length = _int_field(where, "length", r.get("length"), 1)
        start = r.get("dataset_from_index")
        if not is_int(start) or start != end:
            raise DatasetError(
                f"{where}: dataset_from_index is {start!r}, expected {end} (the previous episode's end)"
            )
        stop = r.get("dataset_to_index")
        if not is_int(stop) or stop != start + length:
            raise DatasetError(
                f"{where}: dataset_to_index is {stop!r}, expected {start + length} (from + length)"
            )
        end = stop
        for key in ("data/chunk_index", "data/file_index"):
            _int_field(where, key, r.get(key))
        names = r.get("tasks")
        if names is not None and (
            not isinstance(names, list) or not all(isinstance(t, str) and t in tasks for t in names)
        ):
            raise DatasetError(
                f"{where}: tasks is {names!r}, expected task strings of meta/tasks.parquet ({list(tasks)})"
            )
        for key in video_keys:
            for loc in ("chunk_index", "file_index"):
                _int_field(where, f"videos/{key}/{loc}", r.get(f"videos/{key}/{loc}"))
            t0 = _number_field(where, f"videos/{key}/from_timestamp", r.get(f"videos/{key}/from_timestamp"))
            t1 = _number_field(where, f"videos/{key}/to_timestamp", r.get(f"videos/{key}/to_timestamp"))
            if t1 <= t0:
                raise DatasetError(
                    f"{where}: videos/{key}/to_timestamp is {t1}, expected > from_timestamp ({t0})"
                )
    if end != num_frames:
        raise DatasetError(f"{info_path}: total_frames is {num_frames}, the episodes hold {end} frames")
    return [r for _, r in committed]


def stat_size(feat: dict[str, Any], stat: str) -> int:
    """Values in one stat of a feature: 1 for count, channels for a video, the flattened shape otherwise."""
    if stat == "count":
        return 1
    return int(feat["shape"][-1]) if feat["dtype"] in ("video", "image") else math.prod(feat["shape"])


def stat_array(value: Any, where: str, field: str, size: int) -> np.ndarray:
    """A stat as float64 values, refused unless it holds `size` finite numbers."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise DatasetError(f"{where}: {field} is {value!r:.80}, expected {size} numbers") from None
    if arr.size != size or not np.isfinite(arr).all():
        raise DatasetError(f"{where}: {field} is {value!r:.80}, expected {size} finite numbers")
    return arr


def validate_episode_stats(
    rows: list[dict[str, Any]], features: dict[str, dict[str, Any]], where: Path
) -> None:
    """Each committed episode row has every stat of every numeric or video feature (what the writer pools)."""
    for r in rows:
        for key, feat in features.items():
            if feat["dtype"] not in NUMERIC_DTYPES | {"video"}:
                continue
            for s in STATS:
                field = f"stats/{key}/{s}"
                if field not in r:
                    raise DatasetError(f"{where}: episode {r['episode_index']}: missing field {field!r}")
                stat_array(r[field], f"{where}: episode {r['episode_index']}", field, stat_size(feat, s))


def validate_stats(
    data: Any, path: Path, features: dict[str, dict[str, Any]]
) -> dict[str, dict[str, np.ndarray]]:
    """meta/stats.json as feature -> stat -> array, each a known feature with finite numbers."""
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a JSON object of feature -> stats, got {type(data).__name__}")
    out: dict[str, dict[str, np.ndarray]] = {}
    for key, stats in data.items():
        if key not in features:
            raise DatasetError(f"{path}: {key!r} is not a feature of meta/info.json ({', '.join(features)})")
        if not isinstance(stats, dict):
            raise DatasetError(f"{path}: {key} is {stats!r:.80}, expected an object of {', '.join(STATS)}")
        for s, v in stats.items():
            size = stat_size(features[key], s) if s in STATS else np.asarray(v, dtype=object).size
            out.setdefault(key, {})[s] = stat_array(v, str(path), f"{key}.{s}", size)
    return out


# -- does a dataset fit a writer or a task ----------------------------------------------------------------------------


def check_matches(ds: LeRobotDataset, features: dict[str, dict[str, Any]], fps: int | None = None,
                  robot_type: str | None = None, exact: bool = True, who: str = "appending") -> None:  # fmt: skip
    """The dataset has this robot, rate and features (`exact`: no others besides the index columns)."""
    info = ds.root / "meta/info.json"
    if robot_type is not None and ds.info["robot_type"] != robot_type:
        raise DatasetError(f"{info}: robot_type is {ds.info['robot_type']!r}, {who} needs {robot_type!r}")
    if fps is not None and ds.fps != fps:
        raise DatasetError(f"{info}: fps is {ds.fps}, {who} needs {fps}")
    own = {k: v for k, v in ds.features.items() if k not in INDEX_DTYPES}
    if exact and set(own) != set(features):
        raise DatasetError(f"{info}: features are {sorted(own)}, {who} needs {sorted(features)}")
    for key, want in features.items():
        have = own.get(key)
        if have is None:
            raise DatasetError(f"{info}: missing feature {key!r} ({who} needs shape {want['shape']})")
        for field in ("dtype", "shape", "names"):
            if field == "names" and (have.get("names") is None or want.get("names") is None):
                continue  # unnamed columns (older writers) match by dtype and shape
            if _plain(have.get(field)) != _plain(want.get(field)):
                raise DatasetError(
                    f"{info}: features.{key}.{field} is {have.get(field)}, {who} needs {want.get(field)}"
                )


def check_tasks(ds: LeRobotDataset, allowed: set[str], who: str) -> None:
    """Every task string of the dataset is one of `allowed` (a dataset of one task, not a mix)."""
    other = sorted(set(ds.tasks) - allowed)
    if other:
        raise DatasetError(
            f"{ds.root / 'meta/tasks.parquet'}: task is {other[0]!r}, {who} needs "
            f"{' or '.join(repr(a) for a in sorted(allowed))} (a dataset holds one task's demos)"
        )


def _plain(v: Any) -> Any:
    """Tuples as lists (a config's shape may be a tuple, JSON's is a list)."""
    return list(v) if isinstance(v, tuple) else v
