"""One bimanual demonstration in TACO's schema, as the BiDex tasks read it (one `.npz` file per task).

Frames are in the table frame: x forward (away from the person), y to the left, z up, the table top at
`table_height`. The left hand holds the `object` and the right hand the `tool` (TACO's naming: the tool
acts on the object). Per frame: the 4x4 pose of each item, per hand the palm-centre position and
orientation (w, x, y, z) and the LEAP finger joint positions (the menagerie model's 16 joints, in its
order), and the key frames `init` (the hands start), `ref` (the items have been picked up and reach their
reference pose) and `end` (the demonstration ends).

Items are shapes (robolearn.entities.ShapePartCfg fields) with a uniform scale and a mass.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robolearn.atomic import save_npz
from robolearn.entities import ShapeEntityCfg, ShapePartCfg

FINGER_JOINTS = (
    "if_mcp", "if_rot", "if_pip", "if_dip", "mf_mcp", "mf_rot", "mf_pip", "mf_dip",
    "rf_mcp", "rf_rot", "rf_pip", "rf_dip", "th_cmc", "th_axl", "th_mcp", "th_ipl",
)  # fmt: skip
SIDES = ("left", "right")
ITEMS = ("object", "tool")
"""The left hand's item, then the right hand's."""
SCHEMA_VERSION = 1


class DemoFileError(ValueError):
    """A malformed demonstration (file, folder or array): names the source, the field and what was expected."""

    def __init__(self, source: str | Path, field: str, problem: str):
        self.source, self.field, self.problem = str(source), field, problem
        super().__init__(f"{self.source}: field {field!r}: {problem}")

    def __reduce__(self):
        return type(self), (self.source, self.field, self.problem)


@dataclass
class ItemShape:
    parts: list[dict[str, Any]] = field(default_factory=lambda: [{"type": "box", "size": [0.03, 0.03, 0.03]}])
    """ShapePartCfg fields per part (type, size, pos, quat, mesh, rgba)."""
    scale: float = 1.0
    mass: float = 0.1
    half_height: float = 0.03
    """The lowest point's depth below the item's origin at scale 1 (rest height on the table)."""

    def entity(
        self, pos: tuple[float, float, float], quat: tuple[float, float, float, float]
    ) -> ShapeEntityCfg:
        parts = tuple(
            ShapePartCfg(**{k: tuple(v) if isinstance(v, list) else v for k, v in p.items()})  # type: ignore[arg-type]
            for p in self.parts
        )
        return ShapeEntityCfg(parts=parts, scale=self.scale, mass=self.mass, pos=pos, quat=quat)


@dataclass
class BimanualDemo:
    name: str
    category: str
    fps: float
    object_pose: np.ndarray
    """(T, 4, 4) the left hand's item."""
    tool_pose: np.ndarray
    """(T, 4, 4) the right hand's item."""
    wrist_pos: np.ndarray
    """(2, T, 3) palm centres, left then right."""
    wrist_quat: np.ndarray
    """(2, T, 4) palm orientations (w, x, y, z)."""
    fingers: np.ndarray
    """(2, T, 16) LEAP finger joint positions (FINGER_JOINTS order)."""
    init: int
    ref: int
    end: int
    table_height: float
    shapes: dict[str, ItemShape]
    """`object` and `tool`."""
    source: str = ""

    @property
    def num_frames(self) -> int:
        return int(self.object_pose.shape[0])

    def item_pose(self, item: str) -> np.ndarray:
        return self.object_pose if item == "object" else self.tool_pose


def check_demo(d: BimanualDemo) -> BimanualDemo:
    """Raise DemoFileError naming the field of the first inconsistency; returns the demo."""
    src = d.source or d.name
    t = d.object_pose.shape[0] if d.object_pose.ndim == 3 else -1
    shapes = {
        "object_pose": (t, 4, 4), "tool_pose": (t, 4, 4), "wrist_pos": (2, t, 3), "wrist_quat": (2, t, 4),
        "fingers": (2, t, len(FINGER_JOINTS)),
    }  # fmt: skip
    if t < 2:
        raise DemoFileError(src, "object_pose", f"expected shape (T>=2, 4, 4), got {d.object_pose.shape}")
    for name, want in shapes.items():
        arr = getattr(d, name)
        if arr.shape != want:
            raise DemoFileError(src, name, f"expected shape {want}, got {arr.shape}")
        if not np.isfinite(arr).all():
            first = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
            raise DemoFileError(src, name, f"non-finite value at index {first}; expected finite numbers")
    for name in ("object_pose", "tool_pose"):
        rot = getattr(d, name)[:, :3, :3]
        err = np.abs(rot @ rot.transpose(0, 2, 1) - np.eye(3)).max(axis=(1, 2))
        if (err > 1e-3).any() or (np.abs(getattr(d, name)[:, 3] - [0, 0, 0, 1]) > 1e-6).any():
            frame = int(np.argmax(err > 1e-3)) if (err > 1e-3).any() else 0
            raise DemoFileError(src, name, f"frame {frame} is not a rigid transform (rotation not orthonormal "
                                           "or last row not [0, 0, 0, 1])")  # fmt: skip
    if not 0 <= d.init < d.ref < d.end < t:
        raise DemoFileError(src, "key_frames", f"expected 0 <= init < ref < end < T={t}, got init={d.init}, "
                                               f"ref={d.ref}, end={d.end}")  # fmt: skip
    if not d.fps > 0:
        raise DemoFileError(src, "fps", f"expected > 0, got {d.fps}")
    if set(d.shapes) != set(ITEMS):
        raise DemoFileError(src, "shapes", f"expected the items {list(ITEMS)}, got {sorted(d.shapes)}")
    return d


def save_demo(d: BimanualDemo, path: Path) -> Path:
    """Write one task file atomically (a temp file renamed into place)."""
    check_demo(d)
    meta = {"version": SCHEMA_VERSION, "name": d.name, "category": d.category, "fps": d.fps, "init": d.init,
            "ref": d.ref, "end": d.end, "table_height": d.table_height,
            "shapes": {k: asdict(v) for k, v in d.shapes.items()}}  # fmt: skip
    save_npz(path, {"meta": np.array(json.dumps(meta)), "object_pose": d.object_pose, "tool_pose": d.tool_pose,
                    "wrist_pos": d.wrist_pos, "wrist_quat": d.wrist_quat, "fingers": d.fingers},
             compressed=True)  # fmt: skip
    return path


def load_demo(path: Path) -> BimanualDemo:
    path = Path(path)
    if not path.is_file():
        raise DemoFileError(path, "file", "not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # numpy fails in many ways on a damaged file
        raise DemoFileError(path, "file", f"not a readable .npz ({type(exc).__name__}: {exc})") from None
    for key in ("meta", "object_pose", "tool_pose", "wrist_pos", "wrist_quat", "fingers"):
        if key not in arrays:
            raise DemoFileError(path, key, f"missing; the file has {sorted(arrays)}")
    try:
        meta = json.loads(str(arrays["meta"]))
        shapes = {k: ItemShape(**v) for k, v in meta["shapes"].items()}
        demo = BimanualDemo(
            name=meta["name"], category=meta["category"], fps=float(meta["fps"]), init=int(meta["init"]),
            ref=int(meta["ref"]), end=int(meta["end"]), table_height=float(meta["table_height"]), shapes=shapes,
            object_pose=arrays["object_pose"].astype(float), tool_pose=arrays["tool_pose"].astype(float),
            wrist_pos=arrays["wrist_pos"].astype(float), wrist_quat=arrays["wrist_quat"].astype(float),
            fingers=arrays["fingers"].astype(float), source=str(path),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise DemoFileError(path, "meta", f"malformed ({type(exc).__name__}: {exc})") from None
    return check_demo(demo)


def task_name(category: str, index: int) -> str:
    return f"BiDex-{category}-{index}"


def load_task_set(folder: Path) -> list[BimanualDemo]:
    """Every `*.npz` task file of a folder, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DemoFileError(folder, "folder", "not a directory")
    files = sorted(folder.glob("*.npz"))
    if not files:
        raise DemoFileError(
            folder, "folder", "holds no .npz task files (write them with robolearn demos bidex)"
        )
    return [load_demo(f) for f in files]


def split_tasks(names: list[str], unseen_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """(trained, unseen) by a seeded permutation; at least one task on each side when there are two or more."""
    rng = np.random.default_rng(seed)
    order = [names[i] for i in rng.permutation(len(names))]
    k = int(round(unseen_fraction * len(names)))
    if len(names) >= 2:
        k = min(max(k, 1), len(names) - 1)
    return sorted(order[k:]), sorted(order[:k])


_IN_MEMORY: dict[str, BimanualDemo] = {}


def demo_spec(d: BimanualDemo) -> str:
    """A string naming where a demonstration comes from, so env configs stay plain data (run folders save
    them as YAML): `generate:<category>:<index>:<seed>`, a task file's path, or `memory:<name>` for a demo
    held only by this process (read from a dataset, not yet written)."""
    if d.source.startswith("generated:"):
        index = d.name.rsplit("-", 1)[-1]
        return f"generate:{d.category}:{index}:{d.source.split(':', 1)[1]}"
    if d.source.endswith(".npz") and Path(d.source).is_file():
        return str(Path(d.source).resolve())
    _IN_MEMORY[d.name] = d
    return f"memory:{d.name}"


def resolve_spec(spec: str) -> BimanualDemo:
    """The demonstration a `demo_spec` string names."""
    kind, _, rest = spec.partition(":")
    if kind == "generate":
        from robolearn.envs.dexterous.bidex.generate import generate_demo

        category, index, seed = rest.split(":")
        return generate_demo(category, int(index), int(seed))
    if kind == "memory":
        if rest not in _IN_MEMORY:
            raise DemoFileError(spec, "task", "a demonstration held by another process; write it with "
                                              "robolearn demos bidex and name the file")  # fmt: skip
        return _IN_MEMORY[rest]
    return load_demo(Path(spec))
