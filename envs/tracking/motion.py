"""Reference motions for the tracking tasks: `robolearn retarget` clips, checked against the task's robot,
resampled to the policy rate and preprocessed once (MuJoCo forward kinematics of every body, velocities),
with the result cached beside the clip.

A clip is the `.npz` `robolearn retarget` writes (retarget/clip.py): `fps`, `joint_names`, `qpos` [T, 7 + J]
(root position, root quaternion w-x-y-z, joint angles), `robot`, `has_root`. Tasks sit beside retargeting
(neither imports the other), so the file is read here with numpy and checked field by field; a clip that
cannot drive the task's robot raises `MotionFileError` naming the file and the field, before anything is
written.

The cache (`.<clip stem>.<key>.track.npz` in the clip's folder) is keyed by a hash of the clip's bytes, of
the robot model's kinematic tree (body offsets, joint axes and addresses: what forward kinematics reads),
of the body names and of the policy rate, so an edited clip or another model is preprocessed again.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np
import torch

from robolearn.atomic import save_npz

log = logging.getLogger(__name__)

CACHE_VERSION = 5
CACHE_SUFFIX = ".track.npz"
ROOT_WIDTH = 7
"""qpos columns of a free root: position (3) and quaternion w, x, y, z (4)."""


class MotionFileError(ValueError):
    """A motion file the tracking task cannot use; names the file, the field and what was expected.
    Raised before anything is written (no cache file is left behind)."""

    def __init__(self, source: str | Path, field: str, problem: str):
        self.source = str(source)
        self.field = field
        self.problem = problem
        super().__init__(f"{self.source}: field {field!r}: {problem}")

    def __reduce__(self):
        return type(self), (self.source, self.field, self.problem)


@dataclass
class RawClip:
    """The fields of a retarget clip that tracking uses, checked."""

    path: Path
    fps: float
    joint_names: list[str]
    qpos: np.ndarray
    robot: str


@dataclass
class RobotKinematics:
    """What preprocessing needs of the task's robot: its model and where its root and joints sit in qpos."""

    model: mujoco.MjModel
    robot: str
    joint_names: list[str]
    joint_qadr: np.ndarray
    root_qadr: int
    body_ids: list[int]
    """Model body ids of the robot's bodies (the entity's `body_names` order)."""


def clip_files(motion_file: str | Path) -> list[Path]:
    """The clip(s) of `motion_file`: the file itself, or every `.npz` clip of a folder (cache files skipped)."""
    path = Path(motion_file)
    if not str(motion_file):
        raise MotionFileError("<config>", "motion_file", "empty; expected a retarget clip (.npz) or a folder of them "
                              "(--env.commands.motion.motion-file PATH)")  # fmt: skip
    if path.is_dir():
        files = sorted(p for p in path.glob("*.npz") if not p.name.startswith("."))
        if not files:
            raise MotionFileError(path, "motion_file", "a folder without .npz clips; expected retarget clips")
        return files
    if not path.is_file():
        raise MotionFileError(path, "motion_file", "no such file or folder; expected a retarget clip (.npz)")
    return [path]


def read_clip(path: Path) -> RawClip:
    """A retarget clip's fields, each checked (shape, finiteness, types); any problem is a MotionFileError."""
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as exc:  # numpy fails in many ways on a damaged file; to the user they mean one thing
        raise MotionFileError(
            path, "file", f"not a readable .npz clip ({type(exc).__name__}: {exc})"
        ) from None
    for key in ("fps", "joint_names", "qpos", "robot"):
        if key not in data:
            raise MotionFileError(
                path, key, f"missing; a retarget clip has it (fields found: {sorted(data)})"
            )
    fps = data["fps"]
    if fps.size != 1 or fps.dtype.kind not in "iuf" or not np.isfinite(fps).all() or float(fps) <= 0:
        raise MotionFileError(path, "fps", f"expected one finite number > 0, got {fps!r}")
    names = data["joint_names"]
    if names.ndim != 1 or names.dtype.kind != "U" or len(set(names.tolist())) != len(names):
        raise MotionFileError(path, "joint_names", f"expected distinct joint names, got {names!r}")
    robot = data["robot"]
    if robot.size != 1 or robot.dtype.kind != "U":
        raise MotionFileError(path, "robot", f"expected the robot's name, got {robot!r}")
    if "has_root" in data and not bool(data["has_root"]):
        raise MotionFileError(
            path, "has_root", "False; tracking needs a floating-base clip (root pose in qpos)"
        )
    qpos = data["qpos"]
    width = ROOT_WIDTH + len(names)
    if qpos.dtype.kind not in "iuf" or qpos.ndim != 2 or qpos.shape[1] != width or qpos.shape[0] < 2:
        raise MotionFileError(path, "qpos", f"expected shape [T >= 2, {width}] (root 7 + {len(names)} joints), "
                              f"got {qpos.shape} of {qpos.dtype}")  # fmt: skip
    bad = ~np.isfinite(qpos)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise MotionFileError(path, "qpos", f"{int(bad.sum())} non-finite value(s) (NaN/inf), first at "
                              f"[frame, column] {first}; expected finite numbers")  # fmt: skip
    norms = np.linalg.norm(qpos[:, 3:7], axis=1)
    if np.any(np.abs(norms - 1.0) > 1e-3):
        frame = int(np.argmax(np.abs(norms - 1.0)))
        raise MotionFileError(path, "qpos", f"root quaternion (columns 3-6) of norm {norms[frame]:.4g} at frame "
                              f"{frame}; expected unit quaternions (w, x, y, z)")  # fmt: skip
    return RawClip(
        path, float(fps), [str(n) for n in names], qpos.astype(np.float64), str(robot.reshape(-1)[0])
    )


def check_length(clip: RawClip, rate: float) -> None:
    """A clip must last at least two policy steps (one to start on, one to track)."""
    duration = (clip.qpos.shape[0] - 1) / clip.fps
    if duration * rate < 2.0 - 1e-9:
        raise MotionFileError(clip.path, "qpos", f"{clip.qpos.shape[0]} frames at {clip.fps:g} fps last "
                              f"{duration:.4g} s; expected at least 2 policy steps ({2 / rate:.3g} s)")  # fmt: skip


def check_for_robot(clip: RawClip, kin: RobotKinematics) -> np.ndarray:
    """The clip's qpos laid out for the robot: root 7 then the robot's joints in its own order. A clip for
    another robot, or one missing some of the robot's joints, is refused."""
    if clip.robot != kin.robot:
        raise MotionFileError(clip.path, "robot", f"a clip for {clip.robot!r}; this task's robot is {kin.robot!r} "
                              f"(retarget it with --robot {kin.robot})")  # fmt: skip
    missing = [j for j in kin.joint_names if j not in clip.joint_names]
    if missing:
        raise MotionFileError(clip.path, "joint_names", f"{len(clip.joint_names)} joints, missing {len(missing)} "
                              f"of the robot's {len(kin.joint_names)}: {missing}")  # fmt: skip
    cols = [ROOT_WIDTH + clip.joint_names.index(j) for j in kin.joint_names]
    return np.concatenate([clip.qpos[:, :ROOT_WIDTH], clip.qpos[:, cols]], axis=1)


# -- preprocessing ----------------------------------------------------------------------------------------


def _quat_normalize(q: np.ndarray) -> np.ndarray:
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def _quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw], -1)  # fmt: skip


def _quat_conj(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def _slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    dot = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(dot < 0, -b, b)
    dot = np.abs(dot).clip(max=1.0)
    theta = np.arccos(dot)
    small = theta < 1e-6
    s = np.where(small, 1.0, np.sin(theta))
    wa = np.where(small, 1.0 - t, np.sin((1.0 - t) * theta) / s)
    wb = np.where(small, t, np.sin(t * theta) / s)
    return _quat_normalize(wa * a + wb * b)


def resample(qpos: np.ndarray, fps: float, rate: float) -> np.ndarray:
    """qpos at `rate` frames/s over the clip's duration: linear for positions and joints, SLERP for the root."""
    n = qpos.shape[0]
    duration = (n - 1) / fps
    times = np.arange(int(np.floor(duration * rate + 1e-9)) + 1) / rate
    x = np.clip(times * fps, 0, n - 1)
    i0 = np.minimum(np.floor(x).astype(int), n - 2)
    a = (x - i0)[:, None]
    out = (1 - a) * qpos[i0] + a * qpos[i0 + 1]
    out[:, 3:7] = _slerp(_quat_normalize(qpos[i0, 3:7]), _quat_normalize(qpos[i0 + 1, 3:7]), a)
    return out


def angular_velocity(quat: np.ndarray, dt: float) -> np.ndarray:
    """World-frame angular velocities (T, ..., 3) of world orientations (T, ..., 4), central differences."""
    nxt = np.concatenate([quat[1:], quat[-1:]])
    prv = np.concatenate([quat[:1], quat[:-1]])
    span = np.full(quat.shape[0], 2.0 * dt)
    span[0] = span[-1] = dt
    d = _quat_mul(nxt, _quat_conj(prv))
    d = np.where(d[..., :1] < 0, -d, d)
    sin_half = np.linalg.norm(d[..., 1:], axis=-1, keepdims=True)
    angle = 2.0 * np.arctan2(sin_half, d[..., :1])
    axis = d[..., 1:] / np.maximum(sin_half, 1e-12)
    return axis * angle / span.reshape((-1,) + (1,) * (quat.ndim - 1))


def _rotate_inverse(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectors `v` (T, 3) in the frames of unit quaternions `q` (T, 4)."""
    qv = np.concatenate([np.zeros(v.shape[:-1] + (1,)), v], axis=-1)
    return _quat_mul(_quat_mul(_quat_conj(q), qv), q)[..., 1:]


def forward_kinematics(kin: RobotKinematics, qpos: np.ndarray, qvel: np.ndarray) -> dict[str, np.ndarray]:
    """World positions (T, B, 3), orientations (T, B, 4), linear and angular velocities (T, B, 3) of the
    robot's bodies, by MuJoCo on its model. Velocities come from the joint velocities through the model
    (not from differencing body positions), so a robot moving exactly as the reference reads exactly its
    body velocities."""
    model, data = kin.model, mujoco.MjData(kin.model)
    t_len, b_len = qpos.shape[0], len(kin.body_ids)
    out = {"body_pos": np.empty((t_len, b_len, 3)), "body_quat": np.empty((t_len, b_len, 4)),
           "body_lin_vel": np.empty((t_len, b_len, 3)), "body_ang_vel": np.empty((t_len, b_len, 3))}  # fmt: skip
    vadr = model.jnt_dofadr[model.jnt_qposadr.tolist().index(kin.root_qadr)]
    dof = {int(a): int(model.jnt_dofadr[j]) for j, a in enumerate(model.jnt_qposadr)}
    joint_vadr = [dof[int(a)] for a in kin.joint_qadr]
    res = np.zeros(6)
    for t in range(t_len):
        data.qpos[:] = model.qpos0
        data.qvel[:] = 0.0
        data.qpos[kin.root_qadr : kin.root_qadr + ROOT_WIDTH] = qpos[t, :ROOT_WIDTH]
        data.qpos[kin.joint_qadr] = qpos[t, ROOT_WIDTH:]
        data.qvel[vadr : vadr + 6] = qvel[t, :6]
        data.qvel[joint_vadr] = qvel[t, 6:]
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        mujoco.mj_comVel(model, data)
        out["body_pos"][t] = data.xpos[kin.body_ids]
        out["body_quat"][t] = data.xquat[kin.body_ids]
        for i, b in enumerate(kin.body_ids):
            mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_XBODY, b, res, 0)
            out["body_ang_vel"][t, i] = res[:3]
            out["body_lin_vel"][t, i] = res[3:]
    return out


def _collision_geoms(kin: RobotKinematics) -> np.ndarray:
    """The robot's geoms that can touch the ground (geoms of the world body): by contype/conaffinity, or by
    an explicit contact pair (the menagerie G1's training model collides through pairs only)."""
    m = kin.model
    world = np.nonzero(m.geom_bodyid == 0)[0]
    mine = np.isin(m.geom_bodyid, kin.body_ids)
    ct, ca = m.geom_contype[:, None], m.geom_conaffinity[:, None]
    by_mask = (((ct & m.geom_conaffinity[world]) | (ca & m.geom_contype[world])) != 0).any(axis=1)
    pairs = np.stack([m.pair_geom1, m.pair_geom2], axis=1)
    to_world = np.isin(pairs, world)
    paired = np.isin(np.arange(m.ngeom), pairs[to_world[:, ::-1]])
    return np.nonzero(mine & (by_mask | paired))[0]


def lowest_points(kin: RobotKinematics, q: np.ndarray) -> np.ndarray:
    """(T,) height of the robot's lowest collision point in each frame (the geoms' local bounding boxes)."""
    model, data = kin.model, mujoco.MjData(kin.model)
    geoms = _collision_geoms(kin)
    centre, half = model.geom_aabb[geoms, :3], model.geom_aabb[geoms, 3:]
    out = np.empty(q.shape[0])
    for t in range(q.shape[0]):
        data.qpos[:] = model.qpos0
        data.qpos[kin.root_qadr : kin.root_qadr + ROOT_WIDTH] = q[t, :ROOT_WIDTH]
        data.qpos[kin.joint_qadr] = q[t, ROOT_WIDTH:]
        mujoco.mj_kinematics(model, data)
        rz = data.geom_xmat[geoms].reshape(-1, 3, 3)[:, 2, :]  # each geom's local axes' world z components
        z = data.geom_xpos[geoms, 2] + np.sum(rz * centre, axis=1) - np.sum(np.abs(rz) * half, axis=1)
        out[t] = z.min()
    return out


def ground(q: np.ndarray, kin: RobotKinematics) -> np.ndarray:
    """The clip moved vertically so that the robot stands on the floor (z = 0): the median over frames of its
    lowest collision point goes to 0 (a walk has a foot down in nearly every frame; the median ignores the
    few frames a retarget lets a foot sink or float). Retargeted CMU clips float: the 131_01 walk held the
    G1's stance foot ~4.5 cm up, so a replay dropped 4.5 cm at its first step and its anchor-height
    reference was out of reach."""
    q = q.copy()
    q[:, 2] -= float(np.median(lowest_points(kin, q)))
    return q


def preprocess(qpos: np.ndarray, kin: RobotKinematics, fps: float, rate: float,
               grounded: bool = True) -> dict[str, np.ndarray]:  # fmt: skip
    """Every per-frame quantity the task reads, at `rate` frames/s (one frame per policy step), the clip set
    on the floor (`ground`)."""
    q = resample(qpos, fps, rate)
    q[:, 3:7] = _quat_normalize(q[:, 3:7])
    if grounded:
        q = ground(q, kin)
    dt = 1.0 / rate
    root_lin = np.gradient(q[:, :3], dt, axis=0)
    root_ang_w = angular_velocity(q[:, 3:7], dt)
    joint_vel = np.gradient(q[:, ROOT_WIDTH:], dt, axis=0)
    # MuJoCo's free joint: world linear velocity, body-frame angular velocity.
    qvel = np.concatenate([root_lin, _rotate_inverse(q[:, 3:7], root_ang_w), joint_vel], axis=1)
    return {"root_pos": q[:, :3], "root_quat": q[:, 3:7], "joint_pos": q[:, ROOT_WIDTH:], "joint_vel": joint_vel,
            **forward_kinematics(kin, q, qvel)}  # fmt: skip


def kinematics_key(kin: RobotKinematics, rate: float, grounded: bool = True) -> bytes:
    """What forward kinematics of this robot reads, as bytes (a change means a new cache entry)."""
    m = kin.model
    parts = [m.body_parentid, m.body_pos, m.body_quat, m.jnt_type, m.jnt_pos, m.jnt_axis, m.jnt_bodyid,
             m.jnt_qposadr, m.qpos0, np.asarray(kin.body_ids), np.asarray(kin.joint_qadr),
             m.geom_bodyid, m.geom_pos, m.geom_quat, m.geom_aabb, m.geom_contype, m.geom_conaffinity]  # fmt: skip
    text = f"{CACHE_VERSION}|{kin.robot}|{rate:.9g}|{','.join(kin.joint_names)}|{kin.root_qadr}|{grounded}"
    return text.encode() + b"".join(np.ascontiguousarray(p).tobytes() for p in parts)


def cache_path(clip: Path, kin: RobotKinematics, rate: float, grounded: bool = True) -> Path:
    digest = hashlib.sha256(clip.read_bytes() + kinematics_key(kin, rate, grounded)).hexdigest()[:16]
    return clip.parent / f".{clip.stem}.{digest}{CACHE_SUFFIX}"


def load_preprocessed(clip: RawClip, kin: RobotKinematics, rate: float,
                      grounded: bool = True) -> dict[str, np.ndarray]:  # fmt: skip
    """The clip preprocessed for this robot and rate: from the cache when it holds it, else computed and
    cached (a folder that cannot be written only costs the preprocessing next time)."""
    qpos = check_for_robot(clip, kin)
    path = cache_path(clip.path, kin, rate, grounded)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except Exception as exc:  # a damaged cache is rebuilt, never trusted
            log.warning("rebuilding the damaged motion cache %s (%s)", path, exc)
    arrays = preprocess(qpos, kin, clip.fps, rate, grounded)
    try:
        save_npz(path, arrays)
    except OSError as exc:
        log.warning("could not cache the preprocessed motion beside %s: %s", clip.path, exc)
    return arrays


# -- the reference the command term reads -------------------------------------------------------------------


@dataclass
class ReferenceMotion:
    """Every clip's frames at the policy rate, concatenated; clip c holds frames [starts[c], ends[c]].

    A plain object, not tensors on the command term: env snapshots (checkpoints) save a term's tensors, and
    these are constants rebuilt from the clip files.
    """

    files: list[Path]
    rate: float
    starts: torch.Tensor
    ends: torch.Tensor
    """Last frame of each clip (inclusive)."""
    clip_of_frame: torch.Tensor
    root_pos: torch.Tensor
    root_quat: torch.Tensor
    joint_pos: torch.Tensor
    joint_vel: torch.Tensor
    body_pos: torch.Tensor
    body_quat: torch.Tensor
    body_lin_vel: torch.Tensor
    body_ang_vel: torch.Tensor

    @property
    def num_clips(self) -> int:
        return len(self.files)

    @property
    def num_frames(self) -> int:
        return int(self.joint_pos.shape[0])


def load_reference(
    motion_file: str | Path, kin: RobotKinematics, rate: float, device: torch.device, grounded: bool = True
) -> ReferenceMotion:
    """Read, check and preprocess every clip of `motion_file` (one file or a folder) for the robot `kin`.
    Every clip is read and checked before any is preprocessed, so a bad clip in a folder writes no cache."""
    files = clip_files(motion_file)
    clips = [read_clip(f) for f in files]
    for clip in clips:
        check_for_robot(clip, kin)
        check_length(clip, rate)
    parts = [load_preprocessed(c, kin, rate, grounded) for c in clips]
    lengths = [p["joint_pos"].shape[0] for p in parts]
    starts = np.cumsum([0, *lengths[:-1]])
    ends = starts + np.asarray(lengths) - 1
    cat = {k: torch.as_tensor(np.concatenate([p[k] for p in parts]), dtype=torch.float32, device=device)
           for k in parts[0]}  # fmt: skip
    clip_of_frame = torch.repeat_interleave(torch.arange(len(files)), torch.as_tensor(lengths)).to(device)
    return ReferenceMotion(files=files, rate=rate, starts=torch.as_tensor(starts, device=device),
                           ends=torch.as_tensor(ends, device=device), clip_of_frame=clip_of_frame, **cat)  # fmt: skip
