"""The reference motion a tracking policy follows, advanced in time by the deploy runtime (numpy only).

A tracking policy observes where the reference is now: its joint positions and velocities, and the
reference anchor (pelvis/torso) pose relative to the robot's anchor. The export writes the reference as
`motion.npz` beside policy.json (FK of every body already done on the training model, see
sim2real/motion_export.py) and names it in policy.json's `extra["motion"]` together with the kinematic
chain from the IMU body to the anchor body; this module reads both, so the runtime computes the reference
terms on a robot's computer with no MuJoCo: the anchor's orientation is the IMU's composed with the chain's
joint rotations.

At the first reading after a reset the reference is aligned to the robot: its yaw (and, when the robot's
state carries a position estimate, its horizontal position) is mapped onto the robot's anchor, as a
motion played on a real robot starts wherever the robot stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robolearn.sim2real.schema import PolicySpecError

MOTION_FORMAT = "robolearn-motion/1"
ARRAYS = ("fps", "clip_names", "clip_starts", "joint_names", "joint_pos", "joint_vel", "anchor_pos",
          "anchor_quat", "body_names", "body_pos", "qpos")  # fmt: skip
"""Fields of motion.npz (qpos: the training model's full qpos per frame, for rendering the reference)."""


# -- quaternions (w, x, y, z), on plain arrays -----------------------------------------------------
def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw], -1)  # fmt: skip


def quat_conj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip


def axis_angle_quat(axis: np.ndarray, angle: float) -> np.ndarray:
    return np.concatenate([[np.cos(angle / 2)], np.sin(angle / 2) * np.asarray(axis, dtype=np.float64)])


def yaw_quat(q: np.ndarray) -> np.ndarray:
    """The heading part of q: a rotation about world z."""
    w, x, y, z = q
    yaw = np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))
    return axis_angle_quat(np.array([0.0, 0.0, 1.0]), float(yaw))


@dataclass
class ChainLink:
    """One body between the IMU body and the anchor: its pose in its parent and its hinge (if any)."""

    pos: np.ndarray
    quat: np.ndarray
    joint: int | None
    """Index of the body's hinge in the policy's joint order (None: welded to its parent)."""
    axis: np.ndarray


class MotionReference:
    """motion.npz + the anchor chain: the reference at time t and the robot's anchor from its state."""

    def __init__(self, folder: str | Path, motion: dict[str, Any], joint_names: list[str], where: str):
        self.where = where
        path = Path(folder) / str(motion.get("file", ""))
        if not path.is_file():
            raise PolicySpecError(
                f"{where}: extra.motion.file names {path}, which is missing; export the run again"
            )
        with np.load(path, allow_pickle=False) as d:
            missing = [k for k in ARRAYS if k not in d]
            if missing:
                raise PolicySpecError(
                    f"{path}: missing fields {missing} (a {MOTION_FORMAT} file has {list(ARRAYS)})"
                )
            data = {k: d[k] for k in ARRAYS}
        self.path = path
        self.fps = float(data["fps"])
        self.clip_names = [str(n) for n in data["clip_names"]]
        self.clip_starts = data["clip_starts"].astype(np.int64)
        if [str(n) for n in data["joint_names"]] != list(joint_names):
            raise PolicySpecError(f"{path}: field 'joint_names' differs from policy.json's joint_names")
        for key in ("joint_pos", "joint_vel", "anchor_pos", "anchor_quat", "body_pos", "qpos"):
            if not np.isfinite(data[key]).all():
                raise PolicySpecError(f"{path}: field {key!r} holds NaN or infinite values")
        self.joint_pos, self.joint_vel = data["joint_pos"], data["joint_vel"]
        self.anchor_pos, self.anchor_quat = data["anchor_pos"], data["anchor_quat"]
        self.body_names = [str(n) for n in data["body_names"]]
        self.body_pos, self.qpos = data["body_pos"], data["qpos"]
        self.anchor_body = str(motion.get("anchor_body", ""))
        self.residual_action = bool(motion.get("residual_action", False))
        """The policy's joint targets are offsets from the reference's next joint positions, not from
        policy.json's fixed action_offset (the tracking task's residual action)."""
        self.chain = [
            ChainLink(np.asarray(c["pos"], float), np.asarray(c["quat"], float),
                      None if c.get("joint") is None else joint_names.index(c["joint"]),
                      np.asarray(c.get("axis", [0.0, 0.0, 1.0]), float))
            for c in motion.get("anchor_chain", [])
        ]  # fmt: skip
        self.clip = 0
        self.align_q = np.array([1.0, 0.0, 0.0, 0.0])
        self.align_p = np.zeros(3)
        self._aligned = False

    # -- the clip and time ----------------------------------------------------------------------
    def select(self, clip: int | str) -> None:
        if isinstance(clip, str):
            if clip not in self.clip_names:
                raise ValueError(f"{self.path}: no clip {clip!r}; clips: {', '.join(self.clip_names)}")
            clip = self.clip_names.index(clip)
        if not 0 <= clip < len(self.clip_names):
            raise ValueError(f"{self.path}: clip index {clip} out of range (0..{len(self.clip_names) - 1})")
        self.clip = int(clip)

    @property
    def num_frames(self) -> int:
        return int(self.clip_starts[self.clip + 1] - self.clip_starts[self.clip])

    @property
    def duration_s(self) -> float:
        return (self.num_frames - 1) / self.fps

    def frame(self, t: float) -> int:
        """Global index of the frame at t seconds into the clip (held at the last frame past its end)."""
        k = int(np.clip(round(t * self.fps), 0, self.num_frames - 1))
        return int(self.clip_starts[self.clip]) + k

    def reset(self) -> None:
        self._aligned = False

    def next_joint_pos(self, t: float) -> np.ndarray:
        """The reference's joint positions one frame after t: the frame a step taken at t leads to (what the
        tracking command shows, and what a residual action's targets are offsets from)."""
        return self.joint_pos[self.frame(t + 1.0 / self.fps)]

    # -- the robot's anchor and the alignment ---------------------------------------------------
    def robot_anchor_quat(self, base_quat: np.ndarray, q: np.ndarray) -> np.ndarray:
        """World orientation of the anchor body: the IMU body's, rotated through the chain's joints."""
        out = np.asarray(base_quat, dtype=np.float64)
        for link in self.chain:
            out = quat_mul(out, link.quat)
            if link.joint is not None:
                out = quat_mul(out, axis_angle_quat(link.axis, float(q[link.joint])))
        return out / np.linalg.norm(out)

    def robot_anchor_pos(self, base_pos: np.ndarray, base_quat: np.ndarray, q: np.ndarray) -> np.ndarray:
        pos, rot = np.asarray(base_pos, dtype=np.float64), np.asarray(base_quat, dtype=np.float64)
        for link in self.chain:
            pos = pos + quat_to_matrix(rot) @ link.pos
            rot = quat_mul(rot, link.quat)
            if link.joint is not None:
                rot = quat_mul(rot, axis_angle_quat(link.axis, float(q[link.joint])))
        return pos

    def align(self, anchor_quat: np.ndarray, anchor_pos: np.ndarray | None) -> None:
        """Map the clip's first anchor pose onto the robot's: heading always, horizontal position when known."""
        i = int(self.clip_starts[self.clip])
        self.align_q = quat_mul(yaw_quat(anchor_quat), quat_conj(yaw_quat(self.anchor_quat[i])))
        self.align_p = np.zeros(3)
        if anchor_pos is not None:
            moved = quat_to_matrix(self.align_q) @ self.anchor_pos[i]
            self.align_p = np.array([anchor_pos[0] - moved[0], anchor_pos[1] - moved[1], 0.0])
        self._aligned = True

    def ref_anchor(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """The reference anchor's (position, orientation) at t, in the robot's aligned world frame."""
        i = self.frame(t)
        pos = quat_to_matrix(self.align_q) @ self.anchor_pos[i] + self.align_p
        return pos, quat_mul(self.align_q, self.anchor_quat[i])

    def ensure_aligned(self, anchor_quat: np.ndarray, anchor_pos: np.ndarray | None) -> None:
        if not self._aligned:
            self.align(anchor_quat, anchor_pos)


def load_reference(meta: Any, folder: str | Path, where: str) -> MotionReference | None:
    """The policy's reference motion when policy.json's extra names one (else None: not a tracking policy)."""
    motion = meta.extra.get("motion") if isinstance(meta.extra, dict) else None
    if motion is None:
        return None
    if not isinstance(motion, dict) or not isinstance(motion.get("file"), str):
        raise PolicySpecError(f"{where}: extra.motion must be a mapping with a 'file' string (motion.npz)")
    return MotionReference(folder, motion, list(meta.joint_names), where)


# -- observation terms (deploy twins of the tracking task's reference terms) -----------------------
def _reference(x: Any) -> MotionReference:
    ref = x.reference
    if ref is None:
        raise PolicySpecError("the policy observes a reference motion, but policy.json's extra names no motion "
                              "(extra.motion); export the tracking run again")  # fmt: skip
    return ref


def _robot_anchor(x: Any, ref: MotionReference) -> tuple[np.ndarray, np.ndarray | None]:
    quat = ref.robot_anchor_quat(x.state.quat, x.state.q)
    pos = None if x.state.pos is None else ref.robot_anchor_pos(x.state.pos, x.state.quat, x.state.q)
    ref.ensure_aligned(quat, pos)
    return quat, pos


def motion_command(x: Any) -> np.ndarray:
    """The reference's next joint positions and velocities (2J): the tracking task's command, which the env
    advances before observing (at step k it shows frame k + 1)."""
    ref = _reference(x)
    i = ref.frame(x.time + 1.0 / ref.fps)
    return np.concatenate([ref.joint_pos[i], ref.joint_vel[i]])


def motion_anchor_ori_b(x: Any) -> np.ndarray:
    """The reference anchor's orientation in the robot anchor's frame: the first two columns of its matrix,
    column after column."""
    ref = _reference(x)
    quat, _ = _robot_anchor(x, ref)
    _, ref_quat = ref.ref_anchor(x.time)
    return quat_to_matrix(quat_mul(quat_conj(quat), ref_quat))[:, :2].T.reshape(-1)


def motion_anchor_pos_b(x: Any) -> np.ndarray:
    ref = _reference(x)
    quat, pos = _robot_anchor(x, ref)
    if pos is None:
        raise PolicySpecError(
            "the policy observes the reference anchor's position, but the robot's state has no position "
            "estimate (RobotState.pos is None): run a state estimator, or train without that term"
        )
    ref_pos, _ = ref.ref_anchor(x.time)
    return quat_to_matrix(quat).T @ (ref_pos - pos)


REFERENCE_TERMS = {
    "generated_commands": motion_command,
    "anchor_pos_error_b": motion_anchor_pos_b,
    "anchor_ori_error_b": motion_anchor_ori_b,
}
"""Terms a tracking policy reads from its reference, keyed by the env's term function name (the tracking
task's command is its one generated command a deploy side can compute: the reference's)."""
