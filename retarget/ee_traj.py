"""Dual-arm end-effector trajectories (TrajBooster's input): one schema for every source, and its readers.

An `EETrajectory` is one episode: the left and right wrist position (m) and orientation (quaternion w, x, y, z)
over time at `fps`, in the *trajectory frame*: z up from the ground, x forward and y to the left of the robot's
base at the first frame, origin on the ground below it. Optionally: a reference root (`root`: pelvis x, y and
height over time, when the source has one, e.g. a retargeted human clip), a language instruction and camera
frames.

Sources (each returns a list of episodes):
- `from_motion_clip`: the wrists of a `robolearn retarget ... --robot g1` clip (real human arm motion), by
  forward kinematics of the G1 model; its root is the reference root;
- `load_agibot`: the released Agibot-to-G1 format, pickled episodes with `left_hand_pos`, `left_hand_quat`,
  `right_hand_pos`, `right_hand_quat` at 30 Hz (positions in the Agibot base frame);
- the ALOHA demonstrations of `robolearn demos` (gripper poses) are read by the learner side
  (policies/trajbooster_data.py), which owns the LeRobot reader.

Every reader refuses a missing key or a non-finite value with a `RetargetInputError` naming the file and the
key; nothing is written by a refused read. `save`/`load` keep an episode set as one .npz (atomic write).
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from robolearn.atomic import save_npz
from robolearn.robots import robot_model

from .clip import MotionClip
from .errors import RetargetInputError, as_float_array, check_finite

AGIBOT_KEYS = ("left_hand_pos", "left_hand_quat", "right_hand_pos", "right_hand_quat")
AGIBOT_FPS = 30.0
G1_WRISTS = ("left_wrist_yaw_link", "right_wrist_yaw_link")
"""The G1 bodies whose frames the wrist poses are (the last link of each 7-joint arm)."""
SIDES = ("left", "right")


@dataclass
class EETrajectory:
    """One episode of both wrists' poses in the trajectory frame (see the module docstring)."""

    fps: float
    pos: np.ndarray
    """(T, 2, 3): left and right wrist positions (m)."""
    quat: np.ndarray
    """(T, 2, 4): left and right wrist orientations (w, x, y, z), unit."""
    root: np.ndarray | None = None
    """(T, 3): reference pelvis (x, y, height), or None where the source has no body."""
    instruction: str = ""
    images: dict[str, np.ndarray] = field(default_factory=dict)
    """camera name -> (T, H, W, 3) uint8."""
    source: str = ""
    """Where the episode came from (file and index), for messages."""

    @property
    def num_frames(self) -> int:
        return int(self.pos.shape[0])

    @property
    def duration(self) -> float:
        return (self.num_frames - 1) / self.fps

    def validate(self, where: str | Path | None = None) -> None:
        where = where or self.source or "<trajectory>"
        T = self.pos.shape[0] if self.pos.ndim == 3 else -1
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise RetargetInputError(where, "fps", f"expected a finite number > 0, got {self.fps}")
        if self.pos.shape != (T, 2, 3) or T < 1:
            raise RetargetInputError(where, "pos", f"expected shape [T >= 1, 2, 3], got {self.pos.shape}")
        if self.quat.shape != (T, 2, 4):
            raise RetargetInputError(where, "quat", f"expected shape [{T}, 2, 4], got {self.quat.shape}")
        check_finite(self.pos, where, "pos")
        check_finite(self.quat, where, "quat")
        norms = np.linalg.norm(self.quat, axis=-1)
        if np.abs(norms - 1.0).max() > 1e-3:
            raise RetargetInputError(where, "quat", f"expected unit quaternions, norms span "
                                     f"{norms.min():.4f}..{norms.max():.4f}")  # fmt: skip
        if self.root is not None:
            if self.root.shape != (T, 3):
                raise RetargetInputError(where, "root", f"expected shape [{T}, 3], got {self.root.shape}")
            check_finite(self.root, where, "root")
        for cam, frames in self.images.items():
            if frames.ndim != 4 or frames.shape[0] != T or frames.shape[-1] != 3:
                raise RetargetInputError(
                    where, f"images.{cam}", f"expected shape [{T}, H, W, 3], got {frames.shape}"
                )


# -- readers -----------------------------------------------------------------------------------------------


def _unit_quat(q: np.ndarray, where: str, key: str) -> np.ndarray:
    norms = np.linalg.norm(q, axis=-1, keepdims=True)
    if (norms < 1e-6).any():
        raise RetargetInputError(where, key, "expected unit quaternions, got a zero quaternion")
    return q / norms


def _array(d: dict, key: str, where: str, width: int) -> np.ndarray:
    if key not in d:
        raise RetargetInputError(where, key, f"missing; an episode needs {', '.join(AGIBOT_KEYS)}")
    a = as_float_array(d[key], where, key)
    if a.ndim != 2 or a.shape[1] != width or a.shape[0] < 1:
        raise RetargetInputError(where, key, f"expected shape [T, {width}], got {a.shape}")
    check_finite(a, where, key)
    return a


def agibot_episode(d: Any, where: str, quat_order: str = "xyzw", fps: float = AGIBOT_FPS) -> EETrajectory:
    """One Agibot-to-G1 episode (a dict of the four `AGIBOT_KEYS` arrays, optional `instruction`)."""
    if not isinstance(d, dict):
        raise RetargetInputError(where, "episode", f"expected a dict of {', '.join(AGIBOT_KEYS)}, "
                                 f"got {type(d).__name__}")  # fmt: skip
    pos = [_array(d, f"{s}_hand_pos", where, 3) for s in SIDES]
    quat = [_array(d, f"{s}_hand_quat", where, 4) for s in SIDES]
    lengths = {a.shape[0] for a in (*pos, *quat)}
    if len(lengths) != 1:
        raise RetargetInputError(
            where, "left_hand_pos", f"the four arrays differ in length: {sorted(lengths)}"
        )
    q = np.stack(quat, axis=1)
    if quat_order == "xyzw":
        q = q[..., [3, 0, 1, 2]]
    elif quat_order != "wxyz":
        raise RetargetInputError(where, "quat_order", f"expected 'xyzw' or 'wxyz', got {quat_order!r}")
    text = d.get("instruction", d.get("task", ""))
    return EETrajectory(fps, np.stack(pos, axis=1), _unit_quat(q, where, "left_hand_quat"),
                        instruction=str(text) if isinstance(text, str) else "", source=where)  # fmt: skip


def load_agibot(path: str | Path, quat_order: str = "xyzw") -> list[EETrajectory]:
    """Episodes of a pickled Agibot-to-G1 file: one episode dict, a list of them, or a dict of them by name.

    The released data is non-commercial and user-downloaded; nothing of it ships. The quaternion order of the
    release is not documented where we could read it: `quat_order` says which ("xyzw", scipy's, by default)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = pickle.load(f)  # noqa: S301 (a user's own file, as the released data is distributed)
    except Exception as exc:
        raise RetargetInputError(
            path, "file", f"not a readable pickle ({type(exc).__name__}: {exc})"
        ) from None
    if isinstance(data, dict) and any(k in data for k in AGIBOT_KEYS):
        items: list[tuple[str, Any]] = [("", data)]
    elif isinstance(data, dict):
        items = [(f"[{k!r}]", v) for k, v in data.items()]
    elif isinstance(data, (list, tuple)):
        items = [(f"[{i}]", v) for i, v in enumerate(data)]
    else:
        raise RetargetInputError(path, "file", f"expected episode dicts, got {type(data).__name__}")
    if not items:
        raise RetargetInputError(path, "file", "no episodes")
    return [agibot_episode(d, f"{path}{tag}", quat_order) for tag, d in items]


def heading_frame(root_pos: np.ndarray, root_quat: np.ndarray) -> tuple[Rotation, np.ndarray]:
    """The trajectory frame of a floating base's first pose: yaw-only rotation, origin on the ground below it."""
    yaw = Rotation.from_quat(root_quat, scalar_first=True).as_euler("ZYX")[0]
    return Rotation.from_euler("z", yaw), np.array([root_pos[0], root_pos[1], 0.0])


def to_frame(
    rot: Rotation, origin: np.ndarray, pos: np.ndarray, quat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """World poses (..., 3), (..., 4 wxyz) expressed in the frame (rot, origin)."""
    shape = pos.shape[:-1]
    p = rot.inv().apply((pos - origin).reshape(-1, 3)).reshape(*shape, 3)
    r = rot.inv() * Rotation.from_quat(quat.reshape(-1, 4), scalar_first=True)
    return p, r.as_quat(scalar_first=True).reshape(*shape, 4)


def from_motion_clip(clip: MotionClip, where: str = "<clip>", instruction: str = "") -> EETrajectory:
    """Both G1 wrists of a retargeted G1 clip (forward kinematics), and its pelvis as the reference root."""
    if not clip.has_root or not clip.robot.startswith("g1"):
        raise RetargetInputError(
            where, "robot", f"expected a floating-base G1 clip (--robot g1), got {clip.robot!r}"
        )
    model = robot_model("g1")
    data = mujoco.MjData(model)
    names = [model.joint(j).name for j in range(model.njnt)]
    cols = [names.index(n) for n in clip.joint_names if n in names]
    if len(cols) != len(clip.joint_names):
        missing = sorted(set(clip.joint_names) - set(names))
        raise RetargetInputError(where, "joint_names", f"not joints of the G1 model: {missing}")
    qadr = [int(model.jnt_qposadr[c]) for c in cols]
    wrist_ids = [model.body(b).id for b in G1_WRISTS]
    T = clip.num_frames
    pos, quat = np.zeros((T, 2, 3)), np.zeros((T, 2, 4))
    for t in range(T):
        data.qpos[:7] = clip.qpos[t, :7]
        data.qpos[qadr] = clip.qpos[t, 7:]
        mujoco.mj_kinematics(model, data)
        pos[t] = data.xpos[wrist_ids]
        quat[t] = data.xquat[wrist_ids]
    rot, origin = heading_frame(clip.qpos[0, :3], clip.qpos[0, 3:7])
    pos, quat = to_frame(rot, origin, pos, quat)
    root = rot.inv().apply(clip.qpos[:, :3] - origin)
    traj = EETrajectory(clip.fps, pos, quat, root=root, instruction=instruction, source=where)
    traj.validate()
    return traj


def load_clip(path: str | Path, instruction: str = "") -> EETrajectory:
    return from_motion_clip(MotionClip.load(path), str(path), instruction)


# -- resampling and the start of an episode ------------------------------------------------------------


def resample(traj: EETrajectory, fps: float) -> EETrajectory:
    """The episode at `fps` over the same duration: linear in position and root, SLERP in orientation;
    camera frames by nearest neighbour."""
    T = traj.num_frames
    if T < 2 or abs(fps - traj.fps) < 1e-9:
        return replace(traj, fps=fps) if T < 2 else traj
    times = np.arange(int(np.floor(traj.duration * fps + 1e-9)) + 1) / fps
    x = np.clip(times * traj.fps, 0, T - 1)
    i0 = np.minimum(np.floor(x).astype(int), T - 2)
    a = (x - i0)[:, None, None]
    pos = (1 - a) * traj.pos[i0] + a * traj.pos[i0 + 1]
    src_t = np.arange(T) / traj.fps
    quat = np.stack([
        Slerp(src_t, Rotation.from_quat(traj.quat[:, s], scalar_first=True))(np.minimum(times, src_t[-1]))
        .as_quat(scalar_first=True) for s in range(2)
    ], axis=1)  # fmt: skip
    root = None if traj.root is None else (1 - a[:, 0]) * traj.root[i0] + a[:, 0] * traj.root[i0 + 1]
    images = {k: v[np.rint(x).astype(int)] for k, v in traj.images.items()}
    return replace(traj, fps=fps, pos=pos, quat=quat, root=root, images=images)


def _smoothstep(s: np.ndarray) -> np.ndarray:
    return s * s * (3 - 2 * s)


def with_start(traj: EETrajectory, start_pos: np.ndarray, start_quat: np.ndarray, start_root: np.ndarray,
               transition_s: float = 1.0, still_s: float = 0.5) -> tuple[EETrajectory, int]:  # fmt: skip
    """The episode preceded by a smooth transition from the robot's current hands (`start_pos` (2, 3),
    `start_quat` (2, 4)) to its first pose (smoothstep in position, SLERP in rotation, `transition_s`), then a
    still prefix holding that first pose (`still_s`): the hierarchy starts every episode at rest on target.
    Returns the new episode and the number of frames prepended."""
    n_tr, n_still = round(transition_s * traj.fps), round(still_s * traj.fps)
    s = _smoothstep(np.arange(1, n_tr + 1) / max(n_tr, 1))
    pos = start_pos[None] + s[:, None, None] * (traj.pos[0] - start_pos)[None]
    quat = np.stack([
        Slerp([0.0, 1.0], Rotation.from_quat(np.stack([start_quat[k], traj.quat[0, k]]), scalar_first=True))(s)
        .as_quat(scalar_first=True) for k in range(2)
    ], axis=1) if n_tr else np.zeros((0, 2, 4))  # fmt: skip
    n = n_tr + n_still
    pre_pos = np.concatenate([pos, np.repeat(traj.pos[:1], n_still, 0)])
    pre_quat = np.concatenate([quat, np.repeat(traj.quat[:1], n_still, 0)])
    root0 = traj.root[0] if traj.root is not None else start_root
    pre_root = start_root[None] + np.concatenate([s, np.ones(n_still)])[:, None] * (root0 - start_root)[None]
    root = None if traj.root is None else np.concatenate([pre_root, traj.root])
    images = {k: np.concatenate([np.repeat(v[:1], n, 0), v]) for k, v in traj.images.items()}
    out = replace(traj, pos=np.concatenate([pre_pos, traj.pos]), quat=np.concatenate([pre_quat, traj.quat]),
                  root=root, images=images)  # fmt: skip
    return out, n


# -- an episode set as one file --------------------------------------------------------------------------


def save(trajs: list[EETrajectory], path: str | Path) -> Path:
    """Episodes (without camera frames) as one .npz, written to a temp file and renamed."""
    path = Path(path)
    for tr in trajs:
        tr.validate()
    arrays: dict[str, Any] = {"meta": np.array(json.dumps(
        [{"fps": t.fps, "instruction": t.instruction, "source": t.source, "root": t.root is not None}
         for t in trajs]))}  # fmt: skip
    for i, t in enumerate(trajs):
        arrays[f"pos_{i}"], arrays[f"quat_{i}"] = t.pos, t.quat
        if t.root is not None:
            arrays[f"root_{i}"] = t.root
    return save_npz(path, arrays)


def load(path: str | Path) -> list[EETrajectory]:
    from .errors import read_npz

    path = Path(path)
    d = read_npz(path, "end-effector trajectory file")
    if "meta" not in d:
        raise RetargetInputError(path, "meta", "missing")
    meta = json.loads(str(d["meta"]))
    out = []
    for i, m in enumerate(meta):
        for key in (f"pos_{i}", f"quat_{i}") + ((f"root_{i}",) if m["root"] else ()):
            if key not in d:
                raise RetargetInputError(path, key, "missing")
        root = d[f"root_{i}"] if m["root"] else None
        t = EETrajectory(float(m["fps"]), d[f"pos_{i}"], d[f"quat_{i}"], root=root, instruction=m["instruction"],
                         source=m["source"] or f"{path}[{i}]")  # fmt: skip
        t.validate(f"{path}[{i}]")
        out.append(t)
    return out
