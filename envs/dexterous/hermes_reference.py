"""The retargeted reference of a HERMES task inside the env: read, augmented per episode, and turned into
targets for the bimanual scene's wrist and finger joints.

A robot reference file (written by `robolearn.retarget.dexpilot.save_robot_reference`; the tasks may not
import retargeting, so the format is read here with numpy): fps, object_pose [T, 7], and per side
`<side>_root` [T, 7] (the pose of the hand's root body, LEAP's palm, in the world), `<side>_qpos` [T, F] with `<side>_joints`
[F] names. One frame per policy step (the scripted references are written at the tasks' 50 Hz).

Per episode, each world draws one rigid transform (a yaw about the object's start and an x-y shift) and
applies it to the object goal and both hands' reference, so one demonstration covers many placements.
Wrist targets: the scene's wrist is three world-axis slides, then roll-pitch-yaw hinges about an anchor
near the palm; a desired root-body pose (R, p) is E = R R0^T (x-y-z Euler angles -> hinges) and
slides = p - p0 - (E - I)(p0 - a0), with R0, p0 the root body and a0 the anchor at zero joints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import mujoco
import numpy as np
import torch

from robolearn.core.actions.base import ActionTerm, ActionTermCfg
from robolearn.core.commands import CommandTerm, CommandTermCfg
from robolearn.math import quat_mul, yaw_quat

from .bimanual import HANDS, WRIST_JOINTS

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

SIDE_OF = {"left_hand": "left", "right_hand": "right"}


class ReferenceFileError(ValueError):
    """A robot reference file that cannot be used; names the file and the field."""

    def __init__(self, path: str | Path, field: str, problem: str):
        self.path, self.field, self.problem = str(path), field, problem
        super().__init__(f"{path}: field {field!r}: {problem}")

    def __reduce__(self):
        return type(self), (self.path, self.field, self.problem)


@dataclass
class RobotReferenceArrays:
    fps: float
    object_pose: np.ndarray  # [T, 7]
    root: dict[str, np.ndarray]  # entity -> [T, 7]
    qpos: dict[str, np.ndarray]  # entity -> [T, F]
    joints: dict[str, list[str]]


def load_robot_reference(path: str | Path) -> RobotReferenceArrays:
    path = Path(path)
    if not path.is_file():
        raise ReferenceFileError(
            path, "file", "not found; write one with benchmarks/hermes.py --write-references"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
    except Exception as exc:
        raise ReferenceFileError(path, "file", f"not a readable .npz ({type(exc).__name__}: {exc})") from None

    def arr(key: str, shape: tuple) -> np.ndarray:
        if key not in d:
            raise ReferenceFileError(path, key, "missing")
        a = np.asarray(d[key], dtype=np.float64)
        if a.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, a.shape, strict=True)):
            raise ReferenceFileError(path, key, f"expected shape {shape}, got {a.shape}")
        if not np.isfinite(a).all():
            raise ReferenceFileError(path, key, "non-finite values; expected finite numbers")
        return a

    obj = arr("object_pose", (None, 7))
    T = len(obj)
    out = RobotReferenceArrays(float(arr("fps", ())), obj, {}, {}, {})
    for entity, side in SIDE_OF.items():
        out.root[entity] = arr(f"{side}_root", (T, 7))
        out.qpos[entity] = arr(f"{side}_qpos", (T, None))
        if f"{side}_joints" not in d:
            raise ReferenceFileError(path, f"{side}_joints", "missing")
        out.joints[entity] = [str(n) for n in d[f"{side}_joints"]]
    return out


def _mat(q: np.ndarray) -> np.ndarray:
    m = np.zeros(9)
    mujoco.mju_quat2Mat(m, q)
    return m.reshape(3, 3)


def quat_to_matrix(q: torch.Tensor) -> torch.Tensor:
    """(..., 4) wxyz -> (..., 3, 3)."""
    q = q / q.norm(dim=-1, keepdim=True)
    w, x, y, z = q.unbind(-1)
    rows = [
        torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        torch.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        torch.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ]
    return torch.stack(rows, -2)


def euler_xyz(E: torch.Tensor) -> torch.Tensor:
    """(..., 3) angles (a, b, c) with E = Rx(a) Ry(b) Rz(c): the order of the wrist's roll-pitch-yaw hinges."""
    b = torch.asin(E[..., 0, 2].clamp(-1.0, 1.0))
    a = torch.atan2(-E[..., 1, 2], E[..., 2, 2])
    c = torch.atan2(-E[..., 0, 1], E[..., 0, 0])
    return torch.stack([a, b, c], -1)


def rot_z(yaw: torch.Tensor) -> torch.Tensor:
    c, s, z, o = torch.cos(yaw), torch.sin(yaw), torch.zeros_like(yaw), torch.ones_like(yaw)
    return torch.stack(
        [torch.stack([c, -s, z], -1), torch.stack([s, c, z], -1), torch.stack([z, z, o], -1)], -2
    )


@dataclass
class HermesReferenceCfg(CommandTermCfg):
    """The task's reference; command = the object's goal pose at the current frame (7) and the phase (1)."""

    path: str = ""
    max_shift: float = 0.04
    """Per-episode x-y shift of object + hands (m), uniform in +-max_shift."""
    max_yaw: float = 0.3
    """Per-episode yaw about the object's start (rad), uniform in +-max_yaw."""
    resampling_time_s: tuple[float, float] = (1e9, 1e9)

    def build(self, name: str, env: ManagerBasedRlEnv) -> HermesReference:
        return HermesReference(name, self, env)


class HermesReference(CommandTerm):
    cfg: HermesReferenceCfg
    after_events = True

    def __init__(self, name: str, cfg: HermesReferenceCfg, env: ManagerBasedRlEnv):
        super().__init__(name, cfg, env, 8)
        ref = load_robot_reference(cfg.path)
        dev, f64 = env.device, torch.float64
        t = lambda a: torch.as_tensor(np.asarray(a), dtype=f64, device=dev)  # noqa: E731
        self.num_frames = len(ref.object_pose)
        self.obj_pos, self.obj_quat = t(ref.object_pose[:, :3]), t(ref.object_pose[:, 3:])
        self.pivot = self.obj_pos[0]
        self.root_R = {h: t(np.stack([_mat(q) for q in ref.root[h][:, 3:]])) for h in HANDS}
        self.root_p = {h: t(ref.root[h][:, :3]) for h in HANDS}
        self.fingers: dict[str, torch.Tensor] = {}
        self.calib: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        self.limits: dict[str, torch.Tensor] = {}
        model = env.scene.model
        data = mujoco.MjData(model)
        mujoco.mj_kinematics(model, data)
        for h in HANDS:
            entity = env.scene[h]
            names = entity.joint_names[: entity.num_actuated]
            if list(names[:6]) != list(WRIST_JOINTS):
                raise ValueError(
                    f"HERMES reference: entity {h!r} must start with the wrist joints {WRIST_JOINTS}"
                )
            cols = []
            for j in names[6:]:
                if j not in ref.joints[h]:
                    raise ReferenceFileError(
                        cfg.path, f"{SIDE_OF[h]}_joints", f"no joint {j!r}; it has {ref.joints[h]}"
                    )
                cols.append(ref.joints[h].index(j))
            self.fingers[h] = t(ref.qpos[h][:, cols])
            palm = model.body(f"{h}/palm").id
            R0, p0 = data.xmat[palm].reshape(3, 3), data.xpos[palm]
            a0 = data.xanchor[model.joint(f"{h}/wrist_roll").id]
            self.calib[h] = (t(R0), t(p0), t(a0))
            self.limits[h] = entity.soft_joint_limits[: entity.num_actuated].to(dev, f64)
        n = env.num_envs
        self.frame = torch.zeros(n, dtype=torch.long, device=dev)
        self.yaw = torch.zeros(n, dtype=f64, device=dev)
        self.shift = torch.zeros(n, 3, dtype=f64, device=dev)

    # -- per-world augmented reference ----------------------------------------------------------------------
    def object_goal(self, frame: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 3) position (env frame) and (N, 4) quaternion of the object's goal at `frame` (default: now)."""
        f = (self.frame if frame is None else frame).clamp(max=self.num_frames - 1)
        Rz = rot_z(self.yaw)
        pos = torch.einsum("nij,nj->ni", Rz, self.obj_pos[f] - self.pivot) + self.pivot + self.shift
        quat = quat_mul(yaw_quat(self.yaw), self.obj_quat[f])
        return pos, quat

    def joint_targets(self, h: str, frame: torch.Tensor | None = None) -> torch.Tensor:
        """(N, 6 + F) the hand's wrist + finger targets at `frame`, inside the joints' soft limits."""
        f = (self.frame if frame is None else frame).clamp(max=self.num_frames - 1)
        R0, p0, a0 = self.calib[h]
        Rz = rot_z(self.yaw)
        R = Rz @ self.root_R[h][f]
        p = torch.einsum("nij,nj->ni", Rz, self.root_p[h][f] - self.pivot) + self.pivot + self.shift
        E = R @ R0.T
        eye = torch.eye(3, dtype=E.dtype, device=E.device)
        slides = p - p0 - torch.einsum("nij,j->ni", E - eye, p0 - a0)
        q = torch.cat([slides, euler_xyz(E), self.fingers[h][f]], -1)
        lim = self.limits[h]
        return torch.minimum(torch.maximum(q, lim[:, 0]), lim[:, 1])

    def _resample(self, env_ids: torch.Tensor) -> None:
        k = len(env_ids)
        self.frame[env_ids] = 0
        self.yaw[env_ids] = self._uniform(k, -self.cfg.max_yaw, self.cfg.max_yaw).to(self.yaw)
        for axis in range(2):
            self.shift[env_ids, axis] = self._uniform(k, -self.cfg.max_shift, self.cfg.max_shift).to(
                self.shift
            )
        self._update()

    def after_sim_reset(self, env_ids: torch.Tensor) -> None:
        """Object at its (augmented) start, hands on the reference's first frame."""
        pos, quat = self.object_goal(torch.zeros_like(self.frame))
        origin = self.env.env_origins.to(pos)
        pose = torch.cat([pos + origin, quat], -1)[env_ids]
        self.env.scene["object"].write_root_pose(env_ids, pose)
        for h in HANDS:
            q = self.joint_targets(h, torch.zeros_like(self.frame))[env_ids]
            entity = self.env.scene[h]
            ids = list(range(entity.num_actuated))
            entity.write_joint_state(env_ids, q, torch.zeros_like(q), joint_ids=ids)

    def _update(self) -> None:
        pos, quat = self.object_goal()
        phase = (self.frame.to(pos) / max(self.num_frames - 1, 1)).clamp(max=1.0)
        self.command[:] = torch.cat([pos, quat, phase[:, None]], -1).to(self.command)

    def compute(self, dt: float) -> None:
        self.frame += 1
        self._update()
        super().compute(dt)


@dataclass
class ReferenceResidualActionCfg(ActionTermCfg):
    """Joint targets = the reference's next frame + scale * action (wrist and fingers of one hand).
    scale 0 is kinematic replay: the reference is sent to the servos and the policy's action is ignored."""

    command: str = "reference"
    scale: float = 0.1
    clip: float = 5.0

    def build(self, name: str, env: ManagerBasedRlEnv) -> ReferenceResidualAction:
        return ReferenceResidualAction(name, self, env)


class ReferenceResidualAction(ActionTerm):
    cfg: ReferenceResidualActionCfg

    def __init__(self, name: str, cfg: ReferenceResidualActionCfg, env: ManagerBasedRlEnv):
        super().__init__(name, cfg, env)
        self.dim = len(self.joint_ids)
        self.action = torch.zeros(env.num_envs, self.dim, device=env.device)
        self.target = torch.zeros(env.num_envs, self.dim, device=env.device)

    def _reference(self) -> HermesReference:
        return self.env.command_manager.get_term(self.cfg.command)

    def process(self, action: torch.Tensor) -> torch.Tensor:
        self.action[:] = action.clamp(-self.cfg.clip, self.cfg.clip)
        ref = self._reference()
        nxt = ref.joint_targets(self.cfg.entity, ref.frame + 1)[:, self.joint_ids].to(self.target)
        self.target[:] = nxt + self.cfg.scale * self.action
        return self.action

    def apply(self) -> None:
        self.write_ctrl(self.target)

    def reset(self, env_ids: torch.Tensor) -> None:
        self.action[env_ids] = 0.0
        ref = self._reference()
        q = ref.joint_targets(self.cfg.entity, torch.zeros_like(ref.frame))[env_ids][:, self.joint_ids]
        self.target[env_ids] = q.to(self.target)
        self.write_ctrl(self.target[env_ids], env_ids)


def angle_between(q1: torch.Tensor, q2: torch.Tensor) -> torch.Tensor:
    """(N,) rotation angle between unit quaternions (rad)."""
    dot = (q1 * q2).sum(-1).abs().clamp(max=1.0)
    return 2 * torch.acos(dot)
