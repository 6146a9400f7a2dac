"""Bimanual demonstrations from human tool-use motion primitives (pour, stir, brush, cut, push-pull).

Each generated demonstration follows the shape of a TACO clip: both items rest on the table at `init`,
the hands reach, close and lift them to their reference poses at `ref` (the left hand holds the object
steady, the right hand brings the tool to it), then the tool performs the primitive on the object until
`end`. A category fixes the shapes and the primitive; its tasks vary, from a seed, the item scales,
placements, table height, lift height, the primitive's amplitude and speed. At 25 frames/s one demo frame
lasts two 20 ms control steps, the rate at which the task's reference advances.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from robolearn.envs.dexterous.bidex.schema import FINGER_JOINTS, BimanualDemo, ItemShape, task_name

FPS = 25.0
CATEGORIES = ("pour", "stir", "brush", "cut", "pushpull")
Y_AXIS_TURN = (math.sqrt(0.5), 0.0, math.sqrt(0.5), 0.0)
"""A quarter turn about y: a cylinder or capsule's axis (z) lies along x."""


def _shape(kind: str, size: tuple[float, ...], mass: float, quat: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0),
           rgba: tuple[float, ...] = (0.8, 0.4, 0.2, 1.0)) -> ItemShape:  # fmt: skip
    if kind == "box":
        half = size[2]
    elif kind == "sphere":
        half = size[0]
    else:  # cylinder/capsule standing (identity) or lying along x (a quarter turn about y)
        lying = quat != (1.0, 0.0, 0.0, 0.0)
        half = size[0] if lying else size[1] + (size[0] if kind == "capsule" else 0.0)
    part = {"type": kind, "size": list(size) + [0.0] * (3 - len(size)), "quat": list(quat), "rgba": list(rgba)}
    return ItemShape(parts=[part], mass=mass, half_height=half)


BLUE, ORANGE = (0.25, 0.45, 0.8, 1.0), (0.9, 0.5, 0.15, 1.0)
SHAPES: dict[str, tuple[ItemShape, ItemShape]] = {
    # (object for the left hand, tool for the right hand)
    "pour": (_shape("cylinder", (0.045, 0.03), 0.15, rgba=BLUE), _shape("cylinder", (0.03, 0.045), 0.1, rgba=ORANGE)),
    "stir": (_shape("cylinder", (0.045, 0.03), 0.15, rgba=BLUE),
             _shape("capsule", (0.014, 0.055), 0.06, Y_AXIS_TURN, rgba=ORANGE)),
    "brush": (_shape("box", (0.06, 0.045, 0.012), 0.15, rgba=BLUE), _shape("box", (0.05, 0.022, 0.02), 0.08, rgba=ORANGE)),
    "cut": (_shape("box", (0.06, 0.045, 0.012), 0.15, rgba=BLUE), _shape("box", (0.06, 0.012, 0.025), 0.08, rgba=ORANGE)),
    "pushpull": (_shape("box", (0.035, 0.035, 0.03), 0.12, rgba=BLUE), _shape("box", (0.035, 0.035, 0.03), 0.12, rgba=ORANGE)),
}  # fmt: skip


@dataclass
class Variation:
    """What one task of a category draws from its seed."""

    scale_object: float
    scale_tool: float
    object_xy: tuple[float, float]
    tool_xy: tuple[float, float]
    table_height: float
    lift: float
    amplitude: float
    cycles: float
    motion_frames: int


def draw_variation(rng: np.random.Generator) -> Variation:
    u = rng.uniform
    return Variation(
        scale_object=u(0.85, 1.15), scale_tool=u(0.85, 1.15),
        object_xy=(u(-0.02, 0.04), u(0.12, 0.17)), tool_xy=(u(-0.02, 0.04), u(-0.17, -0.12)),
        table_height=u(0.15, 0.25), lift=u(0.07, 0.11), amplitude=u(0.7, 1.3), cycles=u(1.0, 2.0),
        motion_frames=int(rng.integers(30, 46)),
    )  # fmt: skip


def rot_x(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rot_z(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def pose(pos: np.ndarray, rot: np.ndarray | None = None) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = np.eye(3) if rot is None else rot
    m[:3, 3] = pos
    return m


Primitive = Callable[[float, Variation, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
"""(phase in [0, 1], variation, object reference pose, tool reference pose) -> (object pose, tool pose)."""


def _pour(s: float, v: Variation, obj: np.ndarray, tool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # The cup tilts towards the bowl (about x, towards +y) up to ~80 degrees and back.
    tilt = 1.4 * v.amplitude * math.sin(math.pi * s) ** 2
    return obj, pose(tool[:3, 3], rot_x(min(tilt, 1.5)))


def _stir(s: float, v: Variation, obj: np.ndarray, tool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = 2 * math.pi * v.cycles * s
    r = 0.025 * v.amplitude
    return obj, pose(tool[:3, 3] + [r * math.cos(a) - r, r * math.sin(a), 0.0], tool[:3, :3])


def _brush(s: float, v: Variation, obj: np.ndarray, tool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dx = 0.04 * v.amplitude * math.sin(2 * math.pi * v.cycles * s)
    return obj, pose(tool[:3, 3] + [dx, 0.0, 0.0], tool[:3, :3])


def _cut(s: float, v: Variation, obj: np.ndarray, tool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = 2 * math.pi * v.cycles * s
    saw = 0.03 * v.amplitude * math.sin(a)
    down = 0.02 * v.amplitude * s  # the knife sinks as it saws
    return obj, pose(tool[:3, 3] + [saw, 0.0, -down], tool[:3, :3])


def _pushpull(s: float, v: Variation, obj: np.ndarray, tool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = 0.05 * v.amplitude * math.sin(2 * math.pi * v.cycles * s)
    return pose(obj[:3, 3] + [d, 0.0, 0.0], obj[:3, :3]), pose(tool[:3, 3] + [-d, 0.0, 0.0], tool[:3, :3])


PRIMITIVES: dict[str, Primitive] = {"pour": _pour, "stir": _stir, "brush": _brush, "cut": _cut, "pushpull": _pushpull}
TOOL_OVER_OBJECT = {"pour": (0.0, 0.06, 0.09), "stir": (0.0, 0.0, 0.07), "brush": (0.0, 0.0, 0.04),
                    "cut": (0.0, 0.0, 0.05)}  # fmt: skip
"""Where the tool's reference sits relative to the object's (pour: beside the bowl, raised); push-pull
keeps the items in their own lanes."""

GRASP = np.array([0.8, 0.0, 0.7, 0.5] * 3 + [1.2, 0.6, 0.4, 0.5])
"""A closed LEAP grasp (FINGER_JOINTS order), used for the fingers from the grasp frame on."""
PALM_ABOVE = 0.07
"""Palm centre above the item's origin while holding it (m)."""


def _smooth(s: float) -> float:
    s = min(max(s, 0.0), 1.0)
    return s * s * (3 - 2 * s)


def _interp_pose(a: np.ndarray, b: np.ndarray, s: float) -> np.ndarray:
    """Position linearly, rotation about the relative axis (small angles here)."""
    from scipy.spatial.transform import Rotation, Slerp

    rots = Rotation.from_matrix(np.stack([a[:3, :3], b[:3, :3]]))
    out = pose(a[:3, 3] + s * (b[:3, 3] - a[:3, 3]), Slerp([0.0, 1.0], rots)([s]).as_matrix()[0])
    return out


def generate_demo(category: str, index: int, seed: int = 0) -> BimanualDemo:
    """Task `index` of `category`: its variation drawn from (seed, category, index)."""
    if category not in PRIMITIVES:
        raise ValueError(f"bidex generator: unknown category {category!r}; categories: {list(CATEGORIES)}")
    rng = np.random.default_rng([seed, CATEGORIES.index(category), index])
    v = draw_variation(rng)
    obj_shape, tool_shape = (ItemShape(s.parts, scale, s.mass, s.half_height) for s, scale in
                             zip(SHAPES[category], (v.scale_object, v.scale_tool), strict=True))  # fmt: skip
    rest = {
        "object": pose(np.array([*v.object_xy, v.table_height + obj_shape.half_height * v.scale_object + 1e-3])),
        "tool": pose(np.array([*v.tool_xy, v.table_height + tool_shape.half_height * v.scale_tool + 1e-3])),
    }
    obj_ref = pose(rest["object"][:3, 3] + [0.0, 0.0, v.lift])
    if category in TOOL_OVER_OBJECT:
        tool_ref = pose(obj_ref[:3, 3] + TOOL_OVER_OBJECT[category] - [0.0, 0.02, 0.0])
        tool_ref[1, 3] = min(tool_ref[1, 3], obj_ref[1, 3] - 0.09)  # keep the hands apart (palms ~9 cm wide)
    else:
        tool_ref = pose(rest["tool"][:3, 3] + [0.0, 0.0, v.lift])
    reach, grasp, ref = 8, 14, 30
    end = ref + v.motion_frames
    frames = end + 1
    obj_traj, tool_traj = np.zeros((frames, 4, 4)), np.zeros((frames, 4, 4))
    for t in range(frames):
        if t <= grasp:
            o, tl = rest["object"], rest["tool"]
        elif t <= ref:
            s = _smooth((t - grasp) / (ref - grasp))
            o, tl = _interp_pose(rest["object"], obj_ref, s), _interp_pose(rest["tool"], tool_ref, s)
        else:
            o, tl = PRIMITIVES[category]((t - ref) / (end - ref), v, obj_ref, tool_ref)
        obj_traj[t], tool_traj[t] = o, tl
    wrist_pos, wrist_quat, fingers = _hands(obj_traj, tool_traj, reach, grasp)
    return BimanualDemo(
        name=task_name(category, index), category=category, fps=FPS, object_pose=obj_traj, tool_pose=tool_traj,
        wrist_pos=wrist_pos, wrist_quat=wrist_quat, fingers=fingers, init=0, ref=ref, end=end,
        table_height=v.table_height, shapes={"object": obj_shape, "tool": tool_shape}, source=f"generated:{seed}",
    )  # fmt: skip


def _hands(obj: np.ndarray, tool: np.ndarray, reach: int, grasp: int) -> tuple[np.ndarray, ...]:
    """Palms above their items (coming down from 10 cm higher until `reach`), fingers closing until `grasp`."""
    from scipy.spatial.transform import Rotation

    frames = obj.shape[0]
    pos = np.zeros((2, frames, 3))
    quat = np.zeros((2, frames, 4))
    fingers = np.zeros((2, frames, len(FINGER_JOINTS)))
    palm_down = Rotation.from_quat([1.0, 0.0, 0.0, 0.0])  # scipy's (x, y, z, w): half a turn about x
    for h, traj in enumerate((obj, tool)):
        for t in range(frames):
            above = PALM_ABOVE + 0.1 * (1 - _smooth(t / reach))
            pos[h, t] = traj[t, :3, 3] + [0.0, 0.0, above]
            r = Rotation.from_matrix(traj[t, :3, :3]) * palm_down
            x, y, z, w = r.as_quat()
            quat[h, t] = (w, x, y, z)
            fingers[h, t] = GRASP * _smooth((t - reach) / (grasp - reach))
    return pos, quat, fingers


def generate_category(category: str, count: int, seed: int = 0) -> list[BimanualDemo]:
    return [generate_demo(category, i, seed) for i in range(count)]
