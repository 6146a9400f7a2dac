"""Workspace mapping of end-effector trajectories onto the Unitree G1 (TrajBooster's recipe).

A source robot's wrists live in its own workspace; the G1's are measured here from its model (`g1_reach`):
wrist positions of 4000 random arm configurations (joint limits, uniform) with the G1 standing in menagerie's
`knees_bent` pose, those in front of the pelvis (x > 0.1 m) kept. `map_workspace` then, per axis of the
wrists relative to the reference root (x, y) and the ground (z):
- x: normalised, (x - mean_src) / std_src * std_g1 + mean_g1 (statistics over all given episodes, both arms);
- y: scaled by the arm-length ratio (G1 / source): lateral spacing keeps its proportions;
- z: normalised as x, then clipped to the G1's whole-body range `z_range` (the standing reach lowered by the
  worker's crouch, `CROUCH_DROP`, up to the standing reach's top).
Orientations are kept.

`reference_root` gives sources without a body (fixed-base arms) a pelvis reference: lowered where both
wrists go below what the standing G1 reaches comfortably (its 10th percentile of z) and moved forward where a
wrist goes beyond its 90th percentile of x, within the worker's height range, smoothed over 0.5 s.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from robolearn.robots import robot_model

from .ee_traj import G1_WRISTS, EETrajectory

G1_STAND_HEIGHT = 0.755
"""Pelvis height of the G1's `knees_bent` pose (m), the worker's standing command."""
CROUCH_DROP = 0.205
"""How far the worker lowers the pelvis (m): 0.755 -> 0.55, the worker's height command range."""
G1_SHOULDER = "left_shoulder_pitch_link"
REACH_SAMPLES = 4000


@dataclass(frozen=True)
class Reach:
    """Per-axis statistics of the standing G1's wrist positions (x, y relative to the pelvis, z above ground)."""

    mean: np.ndarray
    std: np.ndarray
    low: np.ndarray
    """10th percentile per axis."""
    high: np.ndarray
    """90th percentile per axis."""
    z_range: tuple[float, float]
    """Whole-body z range of the wrists: the standing minimum lowered by the crouch, up to the standing max."""
    arm_length: float
    """Shoulder to wrist (m), the farthest over the samples (arm stretched)."""
    wrist_pos: np.ndarray
    """(2, 3) left and right wrist positions of the default pose (x, y relative to the pelvis)."""
    wrist_quat: np.ndarray
    """(2, 4) their orientations (w, x, y, z) in the heading frame."""


KNEES_BENT = {
    "hip_pitch": -0.312,
    "knee": 0.669,
    "ankle_pitch": -0.363,
    "shoulder_pitch": 0.2,
    "left_shoulder_roll": 0.22,
    "right_shoulder_roll": -0.22,
    "elbow": 1.0,
}
"""Joints of menagerie's g1_mjx `knees_bent` keyframe (the worker's default pose); the rest at zero."""


def knees_bent_qpos(model: mujoco.MjModel) -> np.ndarray:
    """The G1 (menagerie `g1`, floating base first) standing in the `knees_bent` pose."""
    qpos = np.zeros(model.nq)
    qpos[2], qpos[3] = G1_STAND_HEIGHT, 1.0
    for j in range(model.njnt):
        for part, value in KNEES_BENT.items():
            name = model.joint(j).name
            if name.endswith(f"_{part}_joint") or name == f"{part}_joint":
                qpos[model.jnt_qposadr[j]] = value
    return qpos


@functools.lru_cache(maxsize=1)
def g1_reach(seed: int = 0) -> Reach:
    model = robot_model("g1")
    data = mujoco.MjData(model)
    base = knees_bent_qpos(model)
    arm = [
        j for j in range(model.njnt) if any(p in model.joint(j).name for p in ("shoulder", "elbow", "wrist"))
    ]
    adr = np.array([model.jnt_qposadr[j] for j in arm])
    lo, hi = model.jnt_range[arm, 0], model.jnt_range[arm, 1]
    wrists = [model.body(b).id for b in G1_WRISTS]
    rng = np.random.default_rng(seed)
    pts, reach_samples = [], []
    shoulder = model.body(G1_SHOULDER).id
    for _ in range(REACH_SAMPLES):
        data.qpos[:] = base
        data.qpos[adr] = rng.uniform(lo, hi)
        mujoco.mj_kinematics(model, data)
        p = data.xpos[wrists] - [data.qpos[0], data.qpos[1], 0.0]
        pts.extend(p[p[:, 0] > 0.1])
        reach_samples.append(float(np.linalg.norm(data.xpos[wrists[0]] - data.xpos[shoulder])))
    xyz = np.asarray(pts)
    data.qpos[:] = base
    mujoco.mj_kinematics(model, data)
    wrist_pos = data.xpos[wrists] - [data.qpos[0], data.qpos[1], 0.0]
    wrist_quat = data.xquat[wrists].copy()
    # The arm length: the farthest the wrist gets from the shoulder over the samples (the G1's elbow at zero is
    # bent 90 degrees, so the zero pose is no stretched arm).
    arm_length = max(reach_samples)
    z_lo = float(xyz[:, 2].min()) - CROUCH_DROP
    return Reach(mean=xyz.mean(0), std=xyz.std(0), low=np.percentile(xyz, 10, axis=0),
                 high=np.percentile(xyz, 90, axis=0), z_range=(max(z_lo, 0.05), float(xyz[:, 2].max())),
                 arm_length=arm_length, wrist_pos=wrist_pos, wrist_quat=wrist_quat)  # fmt: skip


def _relative(traj: EETrajectory) -> np.ndarray:
    """Wrists relative to the reference root in x, y (z stays above ground): (T, 2, 3)."""
    rel = traj.pos.copy()
    if traj.root is not None:
        rel[..., :2] -= traj.root[:, None, :2]
    return rel


def source_stats(trajs: list[EETrajectory]) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis mean and std of the episodes' root-relative wrist positions (both arms, every frame)."""
    xyz = np.concatenate([_relative(t).reshape(-1, 3) for t in trajs])
    return xyz.mean(0), xyz.std(0)


def map_workspace(trajs: list[EETrajectory], source_arm_length: float, reach: Reach | None = None,
                  stats: tuple[np.ndarray, np.ndarray] | None = None, relative_orientation: bool = True
                  ) -> list[EETrajectory]:  # fmt: skip
    """The episodes in the G1's workspace (module docstring). `stats`: the source's (mean, std) per axis, by
    default measured on `trajs` (pass the training set's to map held-out episodes the same way).
    `relative_orientation`: a source's wrist frames are not the G1's, so each wrist's rotation since the
    episode's first frame is applied to the G1's default wrist orientation (False keeps them: G1 clips)."""
    if not source_arm_length > 0:
        raise ValueError(f"source_arm_length must be > 0 m, got {source_arm_length}")
    reach = reach or g1_reach()
    mean, std = stats if stats is not None else source_stats(trajs)
    # An axis the source barely moves along (< 1 cm) keeps its scale instead of being blown up.
    gain = np.where(std > 0.01, reach.std / np.maximum(std, 1e-9), 1.0)
    ratio = reach.arm_length / source_arm_length
    out = []
    for t in trajs:
        rel = _relative(t)
        mapped = rel.copy()
        for ax in (0, 2):
            mapped[..., ax] = (rel[..., ax] - mean[ax]) * gain[ax] + reach.mean[ax]
        mapped[..., 1] = rel[..., 1] * ratio
        mapped[..., 2] = np.clip(mapped[..., 2], *reach.z_range)
        if t.root is not None:
            mapped[..., :2] += t.root[:, None, :2]
        quat = t.quat
        if relative_orientation:
            quat = np.stack([(Rotation.from_quat(t.quat[:, k], scalar_first=True)
                              * Rotation.from_quat(t.quat[0, k], scalar_first=True).inv()
                              * Rotation.from_quat(reach.wrist_quat[k], scalar_first=True)).as_quat(scalar_first=True)
                             for k in range(2)], axis=1)  # fmt: skip
        out.append(replace(t, pos=mapped, quat=quat))
    return out


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 1 or len(x) < 2:
        return x
    pad = np.concatenate([np.repeat(x[:1], n // 2, 0), x, np.repeat(x[-1:], n - 1 - n // 2, 0)])
    kernel = np.ones(n) / n
    return np.stack([np.convolve(pad[:, k], kernel, mode="valid") for k in range(x.shape[1])], axis=1)


def reference_root(traj: EETrajectory, reach: Reach | None = None, smooth_s: float = 0.5) -> np.ndarray:
    """(T, 3) pelvis (x, y, height) for a mapped episode without a body (module docstring)."""
    reach = reach or g1_reach()
    low_z = traj.pos[..., 2].min(axis=1)
    drop = np.clip(reach.low[2] - low_z, 0.0, CROUCH_DROP)
    far = np.clip(traj.pos[..., 0].max(axis=1) - reach.high[0], 0.0, None)
    root = np.stack([far, np.zeros_like(far), G1_STAND_HEIGHT - drop], axis=1)
    return _smooth(root, max(1, round(smooth_s * traj.fps)))


def with_reference_root(traj: EETrajectory, reach: Reach | None = None) -> EETrajectory:
    """The episode with a reference root: its own where it has one, `reference_root` otherwise."""
    return traj if traj.root is not None else replace(traj, root=reference_root(traj, reach))
