"""Readers of TACO and ARCTIC sequences (user-downloaded, licence-gated, never shipped) into BiDex demos.

TACO (Liu et al. 2024, the layout of its released data and `dataset_utils`):
    <root>/Object_Poses/<triplet>/<sequence>/tool_<id>.npy     (T, 4, 4) tool-to-world, metres
    <root>/Object_Poses/<triplet>/<sequence>/target_<id>.npy   (T, 4, 4) the acted-on object
    <root>/Hand_Poses/<triplet>/<sequence>/{left,right}_hand.pkl
        {frame key: {"hand_pose": (48,) MANO axis-angles, "hand_trans": (3,) wrist position}}
    <root>/object_models/<id>_cm.obj                            optional meshes, in centimetres
ARCTIC (Fan et al. 2023, raw_seqs):
    <root>/raw_seqs/<subject>/<sequence>.mano.npy    {"left"|"right": {"rot" (T, 3), "pose" (T, 45),
                                                        "trans" (T, 3), "shape" (10,)}}
    <root>/raw_seqs/<subject>/<sequence>.object.npy  (T, 7): articulation (rad), axis-angle (3), trans (mm)

Both give MANO parameters, not keypoints: the 21 keypoints need the MANO model (licence-gated), so the
fingers are mapped joint to joint: each LEAP flexion joint takes the rotation angle of the MANO joint at
the same place, each LEAP abduction joint the MANO MCP's rotation about its own y axis, clipped to the
LEAP range. The wrist is MANO's root (position and global orientation).

Frames: the items' first-frame bottoms set the table (z up in both datasets' world frames, as their
visualisers' ground planes); the scene is moved so the items' initial midpoint is at the table's centre
and the table top at `table_height`. Key frames: init 0, ref the first frame where both items are 3 cm
above their start, end the last frame. ARCTIC's one articulated object becomes two rigid items, the base
(left hand) and the top part (right hand: the base turned by the articulation angle about its z axis).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from robolearn.envs.dexterous.bidex.schema import (
    FINGER_JOINTS,
    BimanualDemo,
    DemoFileError,
    ItemShape,
    check_demo,
)

LEAP_RANGE = np.array([[-0.31, 2.23], [-1.05, 1.05], [-0.51, 1.88], [-0.37, 2.04]] * 3
                      + [[-0.35, 2.09], [-0.35, 2.09], [-0.47, 2.44], [-1.34, 1.88]])  # fmt: skip
MANO_FINGERS = {"index": 0, "middle": 1, "pinky": 2, "ring": 3, "thumb": 4}
"""MANO's 15 finger joints come in this finger order, three joints (proximal to distal) each."""
LIFT = 0.03
DEFAULT_TABLE = 0.2


class _TensorUnpickler(pickle.Unpickler):
    """Unpickles TACO's pose files (dicts of torch tensors or numpy arrays) and refuses any other class."""

    ALLOWED = {
        ("torch._utils", "_rebuild_tensor_v2"), ("torch.storage", "_load_from_bytes"),
        ("torch", "FloatStorage"), ("torch", "DoubleStorage"), ("collections", "OrderedDict"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"), ("torch", "device"),
    }  # fmt: skip

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"class {module}.{name} is not allowed in a pose file")
        return super().find_class(module, name)


def _array(x: Any) -> np.ndarray:
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x, dtype=float)


def mano_to_leap(pose45: np.ndarray) -> np.ndarray:
    """(T, 45) MANO finger axis-angles -> (T, 16) LEAP finger joints (FINGER_JOINTS order)."""
    aa = pose45.reshape(-1, 15, 3)
    angle = np.linalg.norm(aa, axis=-1)

    def joint(finger: str, k: int) -> int:
        return 3 * MANO_FINGERS[finger] + k

    cols = []
    for finger in ("index", "middle", "ring"):
        cols += [angle[:, joint(finger, 0)], aa[:, joint(finger, 0), 1], angle[:, joint(finger, 1)],
                 angle[:, joint(finger, 2)]]  # fmt: skip
    cols += [angle[:, joint("thumb", 0)], aa[:, joint("thumb", 0), 1], angle[:, joint("thumb", 1)],
             angle[:, joint("thumb", 2)]]  # fmt: skip
    return np.clip(np.stack(cols, -1), LEAP_RANGE[:, 0], LEAP_RANGE[:, 1])


def _quat_wxyz(rotvec: np.ndarray) -> np.ndarray:
    x, y, z, w = Rotation.from_rotvec(rotvec).as_quat().T
    return np.stack([w, x, y, z], -1)


def _ref_frame(obj: np.ndarray, tool: np.ndarray, source: str) -> int:
    lifted = (obj[:, 2, 3] - obj[0, 2, 3] > LIFT) & (tool[:, 2, 3] - tool[0, 2, 3] > LIFT)
    if not lifted.any() or int(np.argmax(lifted)) >= len(obj) - 1:
        raise DemoFileError(source, "key_frames", f"no frame (before the last) where both items are {LIFT * 100:.0f} cm "
                                                  "above their start: the sequence never picks them up")  # fmt: skip
    return int(np.argmax(lifted))


def _obj_extent(path: Path, scale: float) -> np.ndarray:
    """(3,) half extents of an .obj mesh's vertices, times scale (metres)."""
    verts = [line.split()[1:4] for line in path.read_text(errors="replace").splitlines() if line.startswith("v ")]
    if not verts:
        raise DemoFileError(path, "vertices", "no 'v x y z' lines: not an .obj mesh")
    v = np.asarray(verts, dtype=float) * scale
    return (v.max(0) - v.min(0)) / 2


def _shape(mesh: Path | None, fallback_half: tuple[float, float, float], mass: float) -> ItemShape:
    if mesh is not None and mesh.is_file():
        half = _obj_extent(mesh, 1.0)  # in the mesh's centimetres: ItemShape.half_height is at scale 1
        return ItemShape(parts=[{"type": "mesh", "mesh": str(mesh)}], scale=0.01, mass=mass, half_height=float(half[2]))
    return ItemShape(parts=[{"type": "box", "size": list(fallback_half)}], mass=mass, half_height=fallback_half[2])


def _to_table(obj: np.ndarray, tool: np.ndarray, wrists: np.ndarray, shapes: dict[str, ItemShape],
              table_height: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Shift everything so the items start centred on the table, their bottoms on its top."""
    bottom = min(obj[0, 2, 3] - shapes["object"].half_height * shapes["object"].scale,
                 tool[0, 2, 3] - shapes["tool"].half_height * shapes["tool"].scale)  # fmt: skip
    mid = (obj[0, :2, 3] + tool[0, :2, 3]) / 2
    shift = np.array([-mid[0], -mid[1], table_height - bottom])
    obj, tool = obj.copy(), tool.copy()
    obj[:, :3, 3] += shift
    tool[:, :3, 3] += shift
    return obj, tool, wrists + shift


def _load_pose_file(path: Path) -> dict:
    if not path.is_file():
        raise DemoFileError(path, "file", "not found")
    try:
        with path.open("rb") as f:
            data = _TensorUnpickler(f).load()
    except Exception as exc:
        raise DemoFileError(path, "file", f"not a readable pose pickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(data, dict) or not data:
        raise DemoFileError(path, "frames", "expected a dict of frames {key: {hand_pose, hand_trans}}")
    return data


def _taco_hand(path: Path, frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = _load_pose_file(path)
    keys = sorted(data)
    if len(keys) != frames:
        raise DemoFileError(path, "frames", f"{len(keys)} frames, the object poses have {frames}")
    pose, trans = [], []
    for k in keys:
        entry = data[k]
        for field in ("hand_pose", "hand_trans"):
            if not isinstance(entry, dict) or field not in entry:
                raise DemoFileError(path, f"{k}.{field}", "missing")
        p, t = _array(entry["hand_pose"]).reshape(-1), _array(entry["hand_trans"]).reshape(-1)
        if p.shape != (48,) or t.shape != (3,):
            raise DemoFileError(path, f"{k}.hand_pose", f"expected (48,) and (3,) hand_trans, got {p.shape}, {t.shape}")
        pose.append(p)
        trans.append(t)
    pose_a, trans_a = np.asarray(pose), np.asarray(trans)
    if not (np.isfinite(pose_a).all() and np.isfinite(trans_a).all()):
        raise DemoFileError(path, "hand_pose", "non-finite values; expected finite numbers")
    return trans_a, _quat_wxyz(pose_a[:, :3]), mano_to_leap(pose_a[:, 3:])


def _poses(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise DemoFileError(path, "file", f"not a readable .npy ({type(exc).__name__})") from None
    if arr.ndim != 3 or arr.shape[1:] != (4, 4) or len(arr) < 2:
        raise DemoFileError(path, "poses", f"expected shape (T>=2, 4, 4), got {arr.shape}")
    return arr.astype(float)


def read_taco_sequence(root: Path, triplet: str, sequence: str, name: str,
                       table_height: float = DEFAULT_TABLE) -> BimanualDemo:  # fmt: skip
    obj_dir = root / "Object_Poses" / triplet / sequence
    tools = sorted(obj_dir.glob("tool_*.npy"))
    targets = sorted(obj_dir.glob("target_*.npy"))
    if len(tools) != 1 or len(targets) != 1:
        raise DemoFileError(obj_dir, "files", f"expected one tool_<id>.npy and one target_<id>.npy, found "
                                              f"{[p.name for p in tools + targets]}")  # fmt: skip
    tool, obj = _poses(tools[0]), _poses(targets[0])
    if len(tool) != len(obj):
        raise DemoFileError(targets[0], "poses", f"{len(obj)} frames, {tools[0].name} has {len(tool)}")
    hand_dir = root / "Hand_Poses" / triplet / sequence
    hands = [_taco_hand(hand_dir / f"{side}_hand.pkl", len(obj)) for side in ("left", "right")]
    models = root / "object_models"
    ids = {"object": targets[0].stem.split("_")[-1], "tool": tools[0].stem.split("_")[-1]}
    shapes = {k: _shape(models / f"{i}_cm.obj", (0.04, 0.04, 0.03), 0.15) for k, i in ids.items()}
    wrists = np.stack([h[0] for h in hands])
    obj, tool, wrists = _to_table(obj, tool, wrists, shapes, table_height)
    src = str(obj_dir)
    demo = BimanualDemo(
        name=name, category=triplet.strip("()").split(",")[0].strip() or "taco", fps=30.0, object_pose=obj,
        tool_pose=tool, wrist_pos=wrists, wrist_quat=np.stack([h[1] for h in hands]),
        fingers=np.stack([h[2] for h in hands]), init=0, ref=_ref_frame(obj, tool, src), end=len(obj) - 1,
        table_height=table_height, shapes=shapes, source=src,
    )  # fmt: skip
    return check_demo(demo)


def read_taco(root: Path) -> list[BimanualDemo]:
    """Every sequence under <root>/Object_Poses/<triplet>/<sequence>, named BiDex-<action>-<i> per action."""
    base = root / "Object_Poses"
    if not base.is_dir():
        raise DemoFileError(root, "Object_Poses", "missing: not a TACO root (Object_Poses/, Hand_Poses/)")
    demos: list[BimanualDemo] = []
    counts: dict[str, int] = {}
    for triplet in sorted(p for p in base.iterdir() if p.is_dir()):
        for seq in sorted(p for p in triplet.iterdir() if p.is_dir()):
            action = triplet.name.strip("()").split(",")[0].strip()
            i = counts.get(action, 0)
            counts[action] = i + 1
            demos.append(read_taco_sequence(root, triplet.name, seq.name, f"BiDex-{action}-{i}"))
    if not demos:
        raise DemoFileError(base, "sequences", "no <triplet>/<sequence> folders")
    return demos


def _aa_pose(rotvec: np.ndarray, trans: np.ndarray) -> np.ndarray:
    out = np.tile(np.eye(4), (len(rotvec), 1, 1))
    out[:, :3, :3] = Rotation.from_rotvec(rotvec).as_matrix()
    out[:, :3, 3] = trans
    return out


def read_arctic_sequence(mano_path: Path, name: str, table_height: float = DEFAULT_TABLE) -> BimanualDemo:
    obj_path = mano_path.with_name(mano_path.name.replace(".mano.npy", ".object.npy"))
    try:
        mano = np.load(mano_path, allow_pickle=True).item()  # ARCTIC stores a dict: its documented loader
    except Exception as exc:
        raise DemoFileError(mano_path, "file", f"not a readable MANO .npy dict ({type(exc).__name__})") from None
    if not obj_path.is_file():
        raise DemoFileError(obj_path, "file", "not found (the sequence's object poses)")
    params = np.load(obj_path, allow_pickle=False).astype(float)
    if params.ndim != 2 or params.shape[1] != 7 or len(params) < 2:
        raise DemoFileError(obj_path, "object", f"expected shape (T>=2, 7), got {params.shape}")
    base = _aa_pose(params[:, 1:4], params[:, 4:7] / 1000.0)
    top = base.copy()
    top[:, :3, :3] = base[:, :3, :3] @ Rotation.from_rotvec(params[:, :1] * [[0, 0, 1]]).as_matrix()
    top[:, :3, 3] += base[:, :3, 2] * 0.06  # the top part sits on the base
    hands = []
    for side in ("left", "right"):
        h = mano.get(side) if isinstance(mano, dict) else None
        if h is None:
            raise DemoFileError(mano_path, side, "missing: expected {'left': {...}, 'right': {...}}")
        for field, width in (("rot", 3), ("pose", 45), ("trans", 3)):
            a = np.asarray(h.get(field, np.zeros((0,))), dtype=float)
            if a.ndim != 2 or a.shape != (len(params), width):
                raise DemoFileError(mano_path, f"{side}.{field}", f"expected shape ({len(params)}, {width}), got {a.shape}")
        hands.append((np.asarray(h["trans"], float), _quat_wxyz(np.asarray(h["rot"], float)),
                      mano_to_leap(np.asarray(h["pose"], float))))  # fmt: skip
    shapes = {"object": _shape(None, (0.06, 0.06, 0.03), 0.3), "tool": _shape(None, (0.06, 0.06, 0.01), 0.1)}
    wrists = np.stack([h[0] for h in hands])
    obj, tool, wrists = _to_table(base, top, wrists, shapes, table_height)
    demo = BimanualDemo(
        name=name, category=mano_path.name.split("_")[0], fps=30.0, object_pose=obj, tool_pose=tool,
        wrist_pos=wrists, wrist_quat=np.stack([h[1] for h in hands]), fingers=np.stack([h[2] for h in hands]),
        init=0, ref=_ref_frame(obj, tool, str(obj_path)), end=len(obj) - 1, table_height=table_height,
        shapes=shapes, source=str(mano_path),
    )  # fmt: skip
    return check_demo(demo)


def read_arctic(root: Path) -> list[BimanualDemo]:
    """Every <root>/raw_seqs/<subject>/<sequence>.mano.npy, named BiDex-<object>-<i> per object."""
    files = sorted((root / "raw_seqs").glob("*/*.mano.npy"))
    if not files:
        raise DemoFileError(root, "raw_seqs", "no raw_seqs/<subject>/<sequence>.mano.npy files: not an ARCTIC root")
    demos: list[BimanualDemo] = []
    counts: dict[str, int] = {}
    for f in files:
        obj = f.name.split("_")[0]
        i = counts.get(obj, 0)
        counts[obj] = i + 1
        demos.append(read_arctic_sequence(f, f"BiDex-{obj}-{i}"))
    return demos


__all__ = ["FINGER_JOINTS", "mano_to_leap", "read_arctic", "read_taco"]
