"""YOTO proliferation: one keypose demonstration -> many verified keypose demos, plus point-cloud augmentation.

A keypose demo (what BiDP learns from) is, for one layout: the task objects' point cloud at the episode start,
the grippers' initial state, and the keypose sequence the robot executed, all in world coordinates.

* `proliferate`: new object placements (layouts), the keyposes moved rigidly with their frames (object,
  target), planned by IK, executed in simulation, kept only on success (demos.generate_demos does the
  verification; this adds the cloud and the keypose actions of each kept demo).
* `augment`: random rigid transforms (yaw about the vertical through the cloud's centroid, then a horizontal
  shift) of the cloud, with the same transform applied to the keypose actions; not executed (the paper's
  geometric augmentation).

Keypose actions: an array (K, 2, 10): per keyframe and arm (left, right) the gripper opening (1 open, 0 closed),
the gripper site's position relative to its initial position (3, m) and its orientation as the first two
columns of its rotation matrix (6-D rotation, Zhou et al. 2019: continuous, unlike quaternions). Keyframe k
of an arm is that arm's k-th keypose in time; an arm with fewer keyposes repeats its last one (a zero-length
segment for the planner). `times` (K, 2) holds each entry's time from the episode start.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from robolearn.core import ManagerBasedRlEnv
from robolearn.envs.manipulation.aloha import AlohaTaskCfg, make_env, reset_to, task_cfg
from robolearn.envs.manipulation.aloha_mdp import SIDES
from robolearn.envs.manipulation.demos import Episode, generate_demos, home_qpos, resolve
from robolearn.envs.manipulation.keyposes import Keypose
from robolearn.robots import robot_model

POSE_DIM = 10
"""Per arm and keyframe: gripper (1), delta position (3), 6-D rotation (6)."""
CLOUD_POINTS = 1024
VIEWS = 8
"""Virtual scanners per object, on a ring 45 degrees above it: the top and every side face get points."""
SCAN_RADIUS = 0.4
"""Scanner distance from the object's centre (m): beyond the robot's grippers at home, so no self-occlusion."""


# -- keypose actions <-> keyposes ---------------------------------------------------------------------------


def rot6d(matrix: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 6): the first two columns."""
    return np.concatenate([matrix[..., :, 0], matrix[..., :, 1]], -1)


def rot6d_to_matrix(x: np.ndarray) -> np.ndarray:
    """(..., 6) -> (..., 3, 3) by Gram-Schmidt (a predicted 6-D vector need not be orthonormal)."""
    a, b = x[..., :3], x[..., 3:]
    e1 = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b - (e1 * b).sum(-1, keepdims=True) * e1
    e2 = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return np.stack([e1, e2, np.cross(e1, e2)], -1)


@functools.cache
def initial_ee() -> dict[str, tuple[Rotation, np.ndarray]]:
    """Each gripper site's world pose at the episodes' start (the home pose)."""
    model = robot_model("aloha")
    data = mujoco.MjData(model)
    data.qpos[:] = home_qpos()
    mujoco.mj_kinematics(model, data)
    out = {}
    for side in SIDES:
        site = model.site(f"{side}/gripper").id
        out[side] = (Rotation.from_matrix(data.site_xmat[site].reshape(3, 3)), data.site_xpos[site].copy())
    return out


def initial_ee_state() -> np.ndarray:
    """(2, 10) the grippers' start state in the keypose action layout (open, zero delta, home orientation)."""
    return np.stack([np.r_[1.0, np.zeros(3), rot6d(initial_ee()[s][0].as_matrix())] for s in SIDES])


def schedule(keyposes: list[Keypose]) -> np.ndarray:
    """(K, 2) keyframe times per arm (the shorter arm repeats its last time)."""
    # An arm without keyposes holds its home pose: one entry at t = 0.
    per_arm = [sorted(k.time for k in keyposes if k.arm == s) or [0.0] for s in SIDES]
    k = max(len(t) for t in per_arm)
    return np.stack([np.array(t + [t[-1]] * (k - len(t))) for t in per_arm], 1)


def encode(keyposes: list[Keypose], layout: np.ndarray, cfg: AlohaTaskCfg) -> np.ndarray:
    """Keypose actions (K, 2, 10) of `keyposes` resolved for `layout` (see the module doc)."""
    world = resolve(keyposes, layout, cfg)
    k = len(schedule(keyposes))
    out = np.zeros((k, 2, POSE_DIM))
    for a, side in enumerate(SIDES):
        poses = sorted((w for w in world if w[1] == side), key=lambda w: w[0])
        rot0, pos0 = initial_ee()[side]
        rows = [np.r_[g, p - pos0, rot6d(r.as_matrix())] for _, _, r, p, g in poses]
        rows = rows or [np.r_[1.0, np.zeros(3), rot6d(rot0.as_matrix())]]
        out[:, a] = rows + [rows[-1]] * (k - len(rows))
    return out


def decode(actions: np.ndarray, times: np.ndarray) -> list[Keypose]:
    """World-frame keyposes from keypose actions (K, 2, 10) and their times (K, 2): what `plan` executes."""
    if actions.ndim != 3 or actions.shape[1:] != (2, POSE_DIM) or times.shape != actions.shape[:2]:
        raise ValueError(f"keypose actions: expected (K, 2, {POSE_DIM}) with times (K, 2), got "
                         f"{actions.shape} and {times.shape}")  # fmt: skip
    quats = Rotation.from_matrix(rot6d_to_matrix(actions[..., 4:])).as_quat(scalar_first=True)
    out = []
    for a, side in enumerate(SIDES):
        pos0 = initial_ee()[side][1]
        for k in range(len(actions)):
            g = float(np.clip(actions[k, a, 0], 0.0, 1.0))
            pos = tuple(float(v) for v in pos0 + actions[k, a, 1:4])
            out.append(
                Keypose(float(times[k, a]), side, "world", pos, tuple(float(v) for v in quats[k, a]), g)
            )
    return out


# -- the object point cloud ---------------------------------------------------------------------------------


def task_bodies(env: ManagerBasedRlEnv) -> list[list[int]]:
    """Per task entity (objects, then the target marker if any): its body ids in the scene model."""
    model = env.scene.model
    names = [n for n in env.scene.entities if n not in ("robot", "table")]
    out = []
    for name in names:
        out.append([b for b in range(model.nbody) if model.body(b).name.startswith(f"{name}/")])
    return out


def point_cloud(env: ManagerBasedRlEnv, world: int, n: int = CLOUD_POINTS, seed: int = 0) -> np.ndarray:
    """(n, 3) world points on the task objects' surfaces (and the target marker) in one world, now.

    MuJoCo ray casts (mj_multiRay, which returns the geom each ray hits: the batched ray API gives distances
    only) from `VIEWS` virtual scanners per object; rays that hit anything else (robot, table, another
    object in front) are dropped. Each entity gets an equal share of the points, drawn from its hits."""
    rng = np.random.default_rng(seed)
    model = env.scene.model
    data = mujoco.MjData(model)
    env.sim.world_to_mjdata(world, data)
    entities = task_bodies(env)
    shares = np.diff(np.linspace(0, n, len(entities) + 1).round().astype(int))
    clouds = []
    for bodies, share in zip(entities, shares, strict=True):
        geoms = [g for g in range(model.ngeom) if model.geom_bodyid[g] in bodies]
        centre = data.xpos[bodies[0]].copy()
        reach = max(float(model.geom_rbound[g]) for g in geoms)
        hits = []
        for v in range(VIEWS):
            az = 2 * np.pi * v / VIEWS
            origin = centre + SCAN_RADIUS * np.array(
                [np.cos(az) / np.sqrt(2), np.sin(az) / np.sqrt(2), 1 / np.sqrt(2)]
            )
            aim = centre + rng.uniform(-reach, reach, size=(4 * share // VIEWS + 64, 3))
            vec = aim - origin
            vec /= np.linalg.norm(vec, axis=1, keepdims=True)
            geomid = np.zeros(len(vec), dtype=np.int32)
            dist = np.zeros(len(vec))
            mujoco.mj_multiRay(
                model, data, origin, vec.ravel(), None, True, -1, geomid, dist, None, len(vec), 10.0
            )
            keep = np.isin(geomid, geoms)
            hits.append(origin + vec[keep] * dist[keep, None])
        pts = np.concatenate(hits)
        if len(pts) == 0:
            raise RuntimeError(f"point cloud: no ray hit entity bodies {bodies} in world {world}")
        clouds.append(pts[rng.choice(len(pts), share, replace=len(pts) < share)])
    return np.concatenate(clouds).astype(np.float32)


# -- proliferation: verified demos from one keypose file ------------------------------------------------------


@dataclass
class KeyposeDemo:
    """One verified demo as BiDP sees it."""

    layout: np.ndarray
    cloud: np.ndarray
    """(P, 3) world points of the task objects at the start."""
    ee_state: np.ndarray
    """(2, 10) the grippers' start state."""
    actions: np.ndarray
    """(K, 2, 10) keypose actions."""


def clouds_for(task: str, layouts: np.ndarray, n_points: int = CLOUD_POINTS, seed: int = 0,
               env: ManagerBasedRlEnv | None = None) -> np.ndarray:  # fmt: skip
    """(len(layouts), P, 3) start-of-episode clouds: the scene reset to each layout, then ray cast."""
    env = env or make_env(task, min(len(layouts), 16), seed=seed)
    out = []
    for i in range(0, len(layouts), env.num_envs):
        part = layouts[i : i + env.num_envs]
        padded = np.concatenate([part, np.repeat(part[-1:], env.num_envs - len(part), 0)])
        reset_to(env, padded)
        out += [point_cloud(env, w, n_points, seed + i + w) for w in range(len(part))]
    return np.stack(out)


def proliferate(task: str, keyposes: list[Keypose], n: int, seed: int = 0, batch: int = 16,
                cameras: tuple[str, ...] = (), noise: float = 0.0, n_points: int = CLOUD_POINTS,
                progress=None) -> Iterator[Episode]:  # fmt: skip
    """`n` verified demos of `task` from one demonstration's keyposes (see the module doc): the recorded
    episodes of demos.generate_demos, each with its `keypose` demo (KeyposeDemo) filled in."""
    cfg = task_cfg(task)
    env = make_env(task, 1, seed=seed)  # for the clouds: the generator's worlds have moved on by then
    ee = initial_ee_state()
    for i, ep in enumerate(
        generate_demos(task, keyposes, n, seed, batch, cameras, progress=progress, noise=noise)
    ):
        cloud = clouds_for(task, ep.layout[None], n_points, seed + i, env)[0]
        ep.keypose = KeyposeDemo(ep.layout, cloud, ee, encode(keyposes, ep.layout, cfg))
        yield ep


# -- point-cloud augmentation ---------------------------------------------------------------------------------


def rigid_transform(yaw: float, shift: np.ndarray, pivot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(R (3, 3), t (3,)) of x -> R (x - pivot) + pivot + shift, a yaw about the vertical through `pivot`."""
    rot = Rotation.from_euler("z", yaw).as_matrix()
    return rot, pivot + shift - rot @ pivot


def transform_actions(actions: np.ndarray, rot: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Keypose actions (K, 2, 10) of the scene moved by x -> rot x + trans (the robot stays put)."""
    out = actions.copy()
    pos0 = np.stack([initial_ee()[s][1] for s in SIDES])  # (2, 3)
    world = actions[..., 1:4] + pos0
    out[..., 1:4] = world @ rot.T + trans - pos0
    mats = rot @ rot6d_to_matrix(actions[..., 4:])
    out[..., 4:] = rot6d(mats)
    return out


def augment(cloud: np.ndarray, actions: np.ndarray, n: int, rng: np.random.Generator, max_yaw: float = 0.2,
            max_shift: float = 0.03) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """`n` rigid copies of one demo: clouds (n, P, 3) and keypose actions (n, K, 2, 10), each moved by its
    own random transform (yaw in [-max_yaw, max_yaw] rad about the cloud's centroid, then a horizontal shift
    in [-max_shift, max_shift] m per axis). Defaults: about the spread of the tasks' layout ranges (+-3 cm,
    +-0.2 to 0.35 rad), so the copies stay within reach of the arms."""
    clouds, acts = [], []
    pivot = cloud.mean(0).astype(np.float64)
    for _ in range(n):
        shift = np.r_[rng.uniform(-max_shift, max_shift, 2), 0.0]
        rot, trans = rigid_transform(float(rng.uniform(-max_yaw, max_yaw)), shift, pivot)
        clouds.append(cloud.astype(np.float64) @ rot.T + trans)
        acts.append(transform_actions(actions, rot, trans))
    return np.stack(clouds).astype(cloud.dtype), np.stack(acts)


__all__ = [
    "CLOUD_POINTS", "POSE_DIM", "KeyposeDemo", "augment", "clouds_for", "decode", "encode", "initial_ee",
    "initial_ee_state", "point_cloud", "proliferate", "rigid_transform", "rot6d", "rot6d_to_matrix", "schedule",
    "transform_actions",
]  # fmt: skip
