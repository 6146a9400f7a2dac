"""Scripted human references for the HERMES tasks: authored human keypoints and object motion, one
demonstration per task, in the schema of human_reference.py.

The hand shapes are two frames of the shared real recording (dex-retargeting's human_joint_right, frames
507 and 266: the most open and the most closed hand, in the hand frame, mm), blended by a grasp amount;
a pinch moves the thumb tip onto the index tip. A left hand is the right one mirrored (z negated in the
hand frame). World frame: x forward, y left, z up, the table top at TABLE_TOP (bidex's bimanual scene).

Each task: the object rests at `start`, a hand reaches over it palm down, closes its fingertips around a
grip point near the object's top, the object follows the hand through `keys` (time, position, roll-pitch-yaw), and the hand lets go. The object's motion is the
goal the tasks track; the hands' motion is the reference the robot hands are retargeted from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from .human_reference import HandTrackRef, HumanReference, pose7

OPEN_HAND = np.array([[0, 0, 0], [27, 21, -8], [61, 29, -7], [98, 31, 0], [124, 31, 12], [109, 30, 0], [140, 34, -6], [165, 34, -4], [198, 30, -11], [107, 10, 5], [148, 14, -3], [175, 15, -14], [210, 14, -25], [97, -11, 2], [132, -15, -14], [152, -20, -30], [176, -27, -47], [78, -30, 0], [99, -37, -9], [119, -43, -22], [136, -52, -35]], float) / 1000  # fmt: skip
CLOSED_HAND = np.array([[0, 0, 0], [29, 27, -17], [62, 35, -30], [98, 25, -39], [113, -5, -37], [103, 34, 0], [112, 37, -26], [98, 36, -32], [79, 27, -22], [102, 9, 9], [114, 11, -27], [88, 14, -34], [82, 8, -17], [90, -14, 5], [88, -9, -27], [64, 0, -23], [57, -3, -2], [73, -34, 0], [73, -25, -22], [56, -17, -27], [51, -23, -10]], float) / 1000  # fmt: skip
THUMB = [1, 2, 3, 4]
TIPS_21 = [4, 8, 12, 16]  # thumb, index, middle, ring tips: the fingers the LEAP hand has
GRIP_CLOSURE = 0.8
"""How far a grasp closes the hand (0 open, 1 the recording's fist): a fist's tips would pass through the
object."""
INDEX_TIP, THUMB_TIP = 8, 4
TABLE_TOP = 0.2
FPS = 50.0
"""The tasks' control rate (5 ms physics x 4): one reference frame per policy step."""
# Palm down, fingers along +x: the right hand's frame is the world's; the left's is turned about x by pi.
PALM_DOWN = {"right": np.eye(3), "left": np.diag([1.0, -1.0, -1.0])}
REST = {"right": np.array([-0.14, -0.18, 0.42]), "left": np.array([-0.14, 0.18, 0.42])}
"""Wrist points of the hands at rest, above the table (the palms ~7 cm ahead of the wrist)."""


def hand_shape(grasp: float, pinch: float = 0.0, side: str = "right") -> np.ndarray:
    """[21, 3] hand-frame keypoints: open (0) to closed (1) power grasp; `pinch` moves the thumb onto the
    index tip (a precision grasp), each thumb joint proportionally."""
    kp = (1 - grasp) * OPEN_HAND + grasp * CLOSED_HAND
    if pinch > 0:
        shift = kp[INDEX_TIP] - kp[THUMB_TIP]
        for k, j in enumerate(THUMB):
            kp[j] = kp[j] + pinch * shift * (k + 1) / len(THUMB)
    if side == "left":
        kp = kp * np.array([1.0, 1.0, -1.0])
    return kp


@dataclass
class Grasp:
    side: str
    grip: tuple[float, float, float]  # object-frame point the closed hand's fingertips close around (m)
    reach: float = 0.6  # s: at the pre-grasp, 8 cm above the grasp
    close: float = 1.0  # s: at the grasp, fingers start closing (0.3 s)
    release: float = 2.4  # s: fingers open, then the hand rises
    pinch: float = 0.0


@dataclass
class TaskScript:
    name: str
    start: tuple[float, float, float]  # object position at rest (m)
    keys: list[tuple[float, tuple[float, float, float], tuple[float, float, float]]]  # t, pos, rpy
    grasps: list[Grasp]
    duration: float = 3.0
    wipe: str = ""  # a hand that wipes over the object (circles 3 cm across, 4 cm above it), no grasp
    extras: dict = field(default_factory=dict)


def _obj_track(s: TaskScript, t: np.ndarray) -> np.ndarray:
    times = np.array([0.0] + [k[0] for k in s.keys] + [s.duration])
    pos = np.array([s.start] + [k[1] for k in s.keys] + [s.keys[-1][1] if s.keys else s.start])
    rpy = np.array([(0.0, 0.0, 0.0)] + [k[2] for k in s.keys] + [s.keys[-1][2] if s.keys else (0, 0, 0)])
    p = np.stack([np.interp(t, times, pos[:, i]) for i in range(3)], -1)
    r = np.stack([np.interp(t, times, rpy[:, i]) for i in range(3)], -1)
    return pose7(Rotation.from_euler("xyz", r).as_matrix(), p)


def _ramp(t: np.ndarray, t0: float, width: float) -> np.ndarray:
    return np.clip((t - t0) / width, 0.0, 1.0)


def _grasp_hand(g: Grasp, obj: np.ndarray, t: np.ndarray) -> HandTrackRef:
    R_obj = Rotation.from_quat(obj[:, [4, 5, 6, 3]]).as_matrix()
    closed = hand_shape(GRIP_CLOSURE, g.pinch, g.side)
    tips = closed[TIPS_21].mean(axis=0)
    off = np.array(g.grip) - PALM_DOWN[g.side] @ tips  # wrist, so the fingertips' centroid lands on `grip`
    held = np.einsum("tij,j->ti", R_obj, off) + obj[:, :3]  # wrist while holding
    R_hand = R_obj @ PALM_DOWN[g.side]
    grasp_pt = held[0]
    above = grasp_pt + [0.0, 0.0, 0.08]
    pos = np.empty((len(t), 3))
    for k, tk in enumerate(t):
        if tk < g.reach:
            a = tk / g.reach
            pos[k] = (1 - a) * REST[g.side] + a * above
        elif tk < g.close:
            a = (tk - g.reach) / (g.close - g.reach)
            pos[k] = (1 - a) * above + a * grasp_pt
        elif tk < g.release + 0.3:
            pos[k] = held[k]
        else:
            pos[k] = held[k] + [0.0, 0.0, 0.08 * min((tk - g.release - 0.3) / 0.3, 1.0)]
    close = _ramp(t, g.close, 0.3) * (1 - _ramp(t, g.release, 0.3))
    kp = np.stack([hand_shape(GRIP_CLOSURE * c, g.pinch * c, g.side) for c in close])
    rot = np.where((t < g.close)[:, None, None], R_hand[:1], R_hand)
    return HandTrackRef(pose7(rot, pos), kp)


def _still_hand(side: str, t: np.ndarray, obj: np.ndarray | None = None) -> HandTrackRef:
    pos = np.tile(REST[side], (len(t), 1))
    if obj is not None:  # wipe: circles over the object after it is held up
        a = _ramp(t, 1.4, 0.3) * (1 - _ramp(t, 2.5, 0.3))
        centre = obj[:, :3] + [-0.06, 0.0, 0.09]
        circle = 0.03 * np.stack([np.cos(2 * np.pi * t), np.sin(2 * np.pi * t), 0 * t], -1)
        pos = (1 - a[:, None]) * pos + a[:, None] * (centre + circle)
    R = np.tile(PALM_DOWN[side], (len(t), 1, 1))
    return HandTrackRef(pose7(R, pos), np.tile(hand_shape(0.1, 0.0, side), (len(t), 1, 1)))


z = TABLE_TOP
TASKS: dict[str, TaskScript] = {
    # Teapot (body 10 x 7 x 8 cm): lifted by its lid, tilted 0.8 rad about x (pouring to the left), set down.
    "pour": TaskScript("pour", (0.05, -0.08, z + 0.04),
                       [(1.3, (0.05, -0.08, z + 0.04), (0, 0, 0)), (1.8, (0.05, -0.05, z + 0.14), (0, 0, 0)),
                        (2.2, (0.05, -0.05, z + 0.14), (0.8, 0, 0)), (2.6, (0.05, -0.05, z + 0.14), (0, 0, 0))],
                       [Grasp("right", (0.0, 0.0, 0.03), release=3.2)]),
    # Bottle (cylinder r 3 cm, 16 cm tall) from the right onto the scanner (a 2 cm slab) on the left.
    "bottle_scanner": TaskScript("bottle_scanner", (0.05, -0.1, z + 0.08),
                                 [(1.3, (0.05, -0.1, z + 0.08), (0, 0, 0)), (1.7, (0.05, -0.06, z + 0.18), (0, 0, 0)),
                                  (2.2, (0.05, 0.08, z + 0.18), (0, 0, 0)), (2.5, (0.05, 0.08, z + 0.10), (0, 0, 0))],
                                 [Grasp("right", (0.0, 0.0, 0.065), release=2.5)]),
    # Flower (stem capsule 12 cm, head sphere) lying along y, pinched, stood upright over the vase on the
    # right and lowered into it.
    "flower_vase": TaskScript("flower_vase", (0.05, 0.06, z + 0.015),
                              [(1.3, (0.05, 0.06, z + 0.015), (0, 0, 0)), (1.8, (0.05, 0.02, z + 0.16), (0, 0, 0)),
                               (2.3, (0.05, -0.06, z + 0.16), (1.5, 0, 0)), (2.6, (0.05, -0.06, z + 0.12), (1.5, 0, 0))],
                              [Grasp("left", (0.0, 0.0, 0.0), release=2.6, pinch=0.8)]),
    # Plate (r 8 cm, 1.5 cm thick): the left hand lifts it by the rim and tilts it, the right hand wipes.
    "clean_plate": TaskScript("clean_plate", (0.05, 0.02, z + 0.0075),
                              [(1.3, (0.05, 0.02, z + 0.0075), (0, 0, 0)), (1.7, (0.05, 0.02, z + 0.07), (0.35, 0, 0)),
                               (2.6, (0.05, 0.02, z + 0.07), (0.35, 0, 0))],
                              [Grasp("left", (0.0, 0.06, 0.0), release=3.2)], wipe="right"),
}  # fmt: skip


def scripted_reference(task: str, fps: float = FPS) -> HumanReference:
    """The authored demonstration of `task` (one of TASKS)."""
    if task not in TASKS:
        raise ValueError(f"unknown HERMES task {task!r}; expected one of {sorted(TASKS)}")
    s = TASKS[task]
    t = np.arange(int(round(s.duration * fps))) / fps
    obj = _obj_track(s, t)
    hands = {g.side: _grasp_hand(g, obj, t) for g in s.grasps}
    for side in ("left", "right"):
        if side not in hands:
            hands[side] = _still_hand(side, t, obj if s.wipe == side else None)
    return HumanReference(fps, obj, hands, task, f"scripted:{task}")


def write_robot_references(out_dir: str | Path, tasks: list[str] | None = None) -> list[Path]:
    """Retarget every task's scripted demonstration (DexPilot, both LEAP hands) and write the robot
    references the HERMES tasks load (`<out_dir>/<task>.npz`)."""
    from .dexpilot import retarget_reference, save_robot_reference

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [
        save_robot_reference(retarget_reference(scripted_reference(t)), out / f"{t}.npz")
        for t in tasks or TASKS
    ]
