"""Keyposes of a bimanual demonstration: the data type, its JSON file, the tasks' scripted experts, and keyposes
sampled from an ALOHA joint track (retarget's wrist tracks).

A keypose says: at time `t`, arm `arm`'s gripper site is at pose (`pos`, `quat`) expressed in a named frame
(`object`: the first object's initial pose, `target`: the layout's target, `world`), with the gripper open (1)
or closed (0). demos.py turns keyposes into trajectories for any layout.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from robolearn.atomic import write_text
from robolearn.envs.manipulation.aloha_mdp import CUBE_HALF, PEG_HALF, SIDES, SOCKET_HALF
from robolearn.robots import robot_model

FRAMES = ("object", "target", "world")
# Top-down grasps: the site's x axis (along the fingers) points down, fingers close along the world y.
TOP_DOWN = {
    "left": Rotation.from_matrix([[0, 0, 1], [0, 1, 0], [-1, 0, 0]]).as_quat(scalar_first=True),
    "right": Rotation.from_matrix([[0, 0, -1], [0, -1, 0], [-1, 0, 0]]).as_quat(scalar_first=True),
}
# The right gripper level, pointing at the left arm (-x), fingers closing along y: it takes the block's free
# end from the side, so its housing stays clear of the left gripper, which holds the other end from above.
RIGHT_LEVEL = Rotation.from_matrix([[-1, 0, 0], [0, -1, 0], [0, 0, 1]]).as_quat(scalar_first=True)
# Placing, the right gripper pitches its nose (and the block's free end) 20 degrees down before it opens:
# the block's far end then nearly touches the table and the block lands flat. Released level from 7 cm, it
# tumbled off the target in ~40% of layouts (expert success 56% -> 100% on 48 held-out layouts).
RIGHT_PLACE = (Rotation.from_euler("y", -20, degrees=True) * Rotation.from_quat(RIGHT_LEVEL, scalar_first=True)
               ).as_quat(scalar_first=True)  # fmt: skip


@dataclass
class Keypose:
    time: float
    """Seconds from the episode start at which the pose is reached."""
    arm: str
    frame: str
    pos: tuple[float, float, float]
    quat: tuple[float, float, float, float]
    """Orientation in `frame`, w x y z."""
    gripper: float
    """1 open, 0 closed."""

    def __post_init__(self) -> None:
        if self.arm not in SIDES:
            raise ValueError(f"keypose arm must be one of {SIDES}, got {self.arm!r}")
        if self.frame not in FRAMES:
            raise ValueError(f"keypose frame must be one of {FRAMES}, got {self.frame!r}")


def save_keyposes(path: str | os.PathLike[str], keyposes: list[Keypose], task: str) -> None:
    """Write the JSON atomically (a temp file beside it, then rename): never a half-written file."""
    write_text(path, json.dumps({"task": task, "keyposes": [asdict(k) for k in keyposes]}, indent=1))


def load_keyposes(path: str | os.PathLike[str]) -> tuple[str, list[Keypose]]:
    """(task, keyposes) from a JSON file written by `save_keyposes`; errors name the file and entry."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        task, items = data["task"], data["keyposes"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a keypose file (needs 'task' and 'keyposes'): {exc}") from None
    out = []
    for i, item in enumerate(items):
        try:
            out.append(Keypose(**{**item, "pos": tuple(item["pos"]), "quat": tuple(item["quat"])}))
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"{path}: keyposes[{i}]: {exc}") from None
    return task, out


# -- scripted experts: keyposes of one demonstration per task ------------------------------------------


def expert_keyposes(task: str) -> list[Keypose]:
    """A hand-written demonstration of the task (the 'one demo' that augmentation multiplies)."""
    L, R = TOP_DOWN["left"], TOP_DOWN["right"]
    if task == "Aloha-Reach":
        return [Keypose(1.4, "left", "target", (0, 0, 0), tuple(L), 1.0)]
    if task == "Aloha-Insertion":
        return _insertion_keyposes()
    if task == "Aloha-CubeRelay":
        return _relay_keyposes()
    if task != "Aloha-CubeTransfer":
        raise ValueError(f"no scripted expert for task {task!r}")
    grip = CUBE_HALF[0] - 0.025  # each hand holds its own end of the block, 2.5 cm in
    z = 0.006  # site a little above the block's centre: fingertips clear the table
    handover = np.array([-0.015, 0.0, 0.217])  # block centre during the handover (world)
    drop = 0.07  # the level right gripper cannot reach the table: it releases the block from this height
    L, R, P = tuple(L), tuple(RIGHT_LEVEL), tuple(RIGHT_PLACE)
    k = Keypose
    return [
        # Left arm: above the block, down, close, lift to the handover point, release, retreat.
        k(1.0, "left", "object", (-grip, 0, 0.10), L, 1.0),
        k(1.7, "left", "object", (-grip, 0, z), L, 1.0),
        k(2.0, "left", "object", (-grip, 0, z), L, 0.0),
        k(3.0, "left", "world", tuple(handover + (-grip, 0, z)), L, 0.0),
        k(4.6, "left", "world", tuple(handover + (-grip, 0, z)), L, 0.0),
        k(4.9, "left", "world", tuple(handover + (-grip, 0, z)), L, 1.0),
        k(5.5, "left", "world", tuple(handover + (-grip - 0.04, 0, 0.08)), L, 1.0),
        # Right arm: level beside the block's free end, slide in, close, carry above the target, open, retreat.
        k(3.2, "right", "world", tuple(handover + (grip + 0.08, 0, 0)), R, 1.0),
        k(3.9, "right", "world", tuple(handover + (grip, 0, 0)), R, 1.0),
        k(4.3, "right", "world", tuple(handover + (grip, 0, 0)), R, 0.0),
        k(5.7, "right", "target", (grip, 0, drop), R, 0.0),
        k(6.2, "right", "target", (grip, 0, drop), P, 0.0),
        k(6.4, "right", "target", (grip, 0, drop), P, 1.0),
        k(6.9, "right", "target", (grip + 0.08, 0, drop + 0.05), R, 1.0),
    ]


def _relay_keyposes() -> list[Keypose]:
    # The CubeTransfer handover, then back: once the right gripper holds the block's free end, the left one
    # lets go, backs off, takes its end again from above, the right one lets go and backs off, and the left
    # arm carries the block to the target (on its own side) and puts it down from above.
    transfer = expert_keyposes("Aloha-CubeTransfer")
    left = [k for k in transfer if k.arm == "left"][:6]  # pick, handover, release
    right = [k for k in transfer if k.arm == "right"][:3]  # approach, slide in, close
    grip = CUBE_HALF[0] - 0.025
    hold, L = left[3], left[0].quat
    back = tuple(np.add(hold.pos, (-0.04, 0, 0.06)))
    place_z = 0.02  # the site's height over the target when the left arm lets go: the block drops ~5 mm
    k = Keypose
    return [
        *left,
        k(5.4, "left", "world", back, L, 1.0),
        k(6.1, "left", "world", hold.pos, L, 1.0),
        k(6.4, "left", "world", hold.pos, L, 0.0),
        k(8.4, "left", "target", (-grip, 0, 0.10), L, 0.0),
        k(9.2, "left", "target", (-grip, 0, place_z), L, 0.0),
        k(9.5, "left", "target", (-grip, 0, place_z), L, 1.0),
        k(10.1, "left", "target", (-grip, 0, 0.10), L, 1.0),
        *right,
        k(6.7, "right", "world", right[-1].pos, right[-1].quat, 0.0),
        k(7.0, "right", "world", right[-1].pos, right[-1].quat, 1.0),
        k(7.6, "right", "world", right[0].pos, right[0].quat, 1.0),
    ]


def _insertion_keyposes() -> list[Keypose]:
    # Both grippers take their object from above, tilted 60 degrees about y so that their bases lean away
    # from each other: upright, the two gripper housings collide ~25 cm apart, long before the peg reaches
    # the tube. In the air the tube (left) and the peg (right) line up along x and the right arm pushes the
    # peg in. Once lifted, the peg hangs ~8 mm lower in its grip than the tube (measured): the right arm
    # holds its site that much higher so the two axes line up.
    tilt = Rotation.from_euler("y", 60, degrees=True)
    L = tuple(
        (tilt.inv() * Rotation.from_quat(TOP_DOWN["left"], scalar_first=True)).as_quat(scalar_first=True)
    )
    R = tuple((tilt * Rotation.from_quat(TOP_DOWN["right"], scalar_first=True)).as_quat(scalar_first=True))
    grip = PEG_HALF[0] - 0.04  # the peg is held 4 cm from its outer end
    z_pick = 0.006  # site a little above each object's centre when grasping
    peg_sag = 0.008
    socket = np.array([-0.06, 0.0, 0.20])  # tube centre in the air (world)
    tube_end = socket[0] + SOCKET_HALF[0]
    pre = np.array(
        [tube_end + PEG_HALF[0] + 0.03, 0.0, socket[2] + peg_sag]
    )  # peg tip 3 cm short of the tube
    inserted = pre - (0.07, 0, 0)  # tip 4 cm inside
    k = Keypose
    return [
        k(1.0, "left", "target", (0, 0, 0.10), L, 1.0),
        k(1.7, "left", "target", (0, 0, z_pick), L, 1.0),
        k(2.0, "left", "target", (0, 0, z_pick), L, 0.0),
        k(3.2, "left", "world", tuple(socket), L, 0.0),
        k(1.0, "right", "object", (grip, 0, 0.10), R, 1.0),
        k(1.7, "right", "object", (grip, 0, z_pick), R, 1.0),
        k(2.0, "right", "object", (grip, 0, z_pick), R, 0.0),
        k(3.2, "right", "world", tuple(pre + (grip, 0, 0)), R, 0.0),
        k(3.8, "right", "world", tuple(pre + (grip, 0, 0)), R, 0.0),
        k(5.0, "right", "world", tuple(inserted + (grip, 0, 0)), R, 0.0),
    ]


def keyposes_from_qpos(qpos: np.ndarray, fps: float, every_s: float = 0.5, start_s: float = 1.0,
                       grippers: np.ndarray | None = None) -> list[Keypose]:  # fmt: skip
    """World-frame keyposes of both grippers sampled from an ALOHA joint track (e.g. retarget_wrists' qpos).

    qpos: (T, 16) ALOHA joint positions; grippers: optional (T, 2) openings in [0, 1] (default: open).
    Samples every `every_s` seconds; the first keypose is reached at `start_s` from the home pose.
    """
    model = robot_model("aloha")
    if qpos.ndim != 2 or qpos.shape[1] != model.nq:
        raise ValueError(f"qpos: expected shape (T, {model.nq}), got {qpos.shape}")
    data = mujoco.MjData(model)
    out = []
    step = max(1, int(round(every_s * fps)))
    for n, t in enumerate(range(0, len(qpos), step)):
        data.qpos[:] = qpos[t]
        mujoco.mj_kinematics(model, data)
        for k, side in enumerate(SIDES):
            site = model.site(f"{side}/gripper").id
            quat = Rotation.from_matrix(data.site_xmat[site].reshape(3, 3)).as_quat(scalar_first=True)
            g = 1.0 if grippers is None else float(grippers[t, k])
            out.append(
                Keypose(start_s + n * every_s, side, "world", tuple(data.site_xpos[site]), tuple(quat), g)
            )
    return out
