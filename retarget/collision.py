"""Self-collision avoidance as an IK limit: the QP may not bring two robot geoms closer than a margin.

A pink limit (pinocchio tangent space) computed on the MuJoCo model, whose collision geometry (meshes,
capsules) is what the quality metric checks. Every other QP step (see `reuse_rows`): MuJoCo kinematics, a
bounding-sphere cull of the candidate pairs, mj_geomDistance on the few left, and one row per close pair:

    d + J_d dq >= d_min + (1 - gain) (d - d_min)

so a pair approaches its margin geometrically and is pushed back out if it starts inside it.

Candidate pairs are the ones the self-collision metric can count: collision-enabled, not parent and child,
not excluded, and not already overlapping in the rest pose (coarse meshes of neighbouring links). Pairs
on one chain (one body an ancestor of the other) with one or two joints between them are kept only if
some sampled setting of those joints (range corners and random values) brings them within the margin.
That drops G1's knee/ankle and torso/shoulder-roll neighbours, which made up most close pairs (84 per step
on a CMU walk, 2.6 ms of distance queries) and keeps the wrist roll/yaw pair its wrist pitch can close.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np
import pinocchio as pin
from pink.limits import Limit

from .kinematics import mujoco_qpos_from_pinocchio


@dataclass
class CollisionConfig:
    min_distance: float = 0.01
    """Margin kept between geoms (m); the metric counts overlaps deeper than 1 mm."""
    detect_distance: float = 0.03
    """Pairs farther apart than this add no row. Measured on G1, CMU 131_01, 480 frames: 0.05 m: 278
    frames/s (CPU time), 0.03: 286, 0.02: 304, all with 0 self-collision frames; 0.03 keeps a step of
    slack over the margin."""
    flat_min_distance: float = 0.04
    """Margin between two flat-sided geoms (boxes, cylinders: T1's feet, shanks, hands), detected at twice
    it. Their closest points jump between corners and edges as they turn, so a row built for one pair of
    points lets the next corner through, and on a crossing-feet walk (CMU 131_02) foot locks and rows
    fought. T1 mean jerk / stance skating there: 0.01 m 10749 / 0.093, 0.03 m 3979 / 0.079, 0.04 m
    2797 / 0.069 (plain solver 3945 / 0.087), 0 self-collision frames each."""
    gain: float = 0.5
    reuse_rows: bool = True
    """Rows built for one QP step also serve the next, with distances extrapolated along them (first order):
    half the distance queries. Measured on CMU 131_01, 480 frames, CPU time: G1 275 -> 313 frames/s, H1
    375 -> 418, T1 397 -> 410, self-collision frames 0 either way (body.py repairs what smoothing brings
    back)."""


def _filtered(model: mujoco.MjModel, g1: int, g2: int) -> bool:
    b1, b2 = int(model.geom_bodyid[g1]), int(model.geom_bodyid[g2])
    if b1 == b2:
        return True
    compatible = (model.geom_contype[g1] & model.geom_conaffinity[g2]) or (
        model.geom_contype[g2] & model.geom_conaffinity[g1]
    )
    if not compatible:
        return True
    p1, p2 = int(model.body_parentid[b1]), int(model.body_parentid[b2])
    if (p1 == b2 and b2 != 0) or (p2 == b1 and b1 != 0):
        return True
    signature = (min(b1, b2) << 16) + max(b1, b2)
    return bool(model.nexclude and signature in set(model.exclude_signature.tolist()))


def candidate_pairs(
    model: mujoco.MjModel, rest_qpos: np.ndarray, rest_overlap: float = 1e-3
) -> tuple[np.ndarray, np.ndarray]:
    """Geom pairs [N, 2] that may collide during motion (see the module docstring) and their rest distances."""
    data = mujoco.MjData(model)
    data.qpos[:] = rest_qpos
    mujoco.mj_kinematics(model, data)
    geoms = [g for g in range(model.ngeom) if model.geom_contype[g] or model.geom_conaffinity[g]]
    fromto = np.zeros(6)
    pairs, rest = [], []
    for i, g1 in enumerate(geoms):
        for g2 in geoms[i + 1 :]:
            if _filtered(model, g1, g2):
                continue
            dist = mujoco.mj_geomDistance(model, data, g1, g2, 0.1, fromto)
            if dist < -rest_overlap:
                continue
            pairs.append((g1, g2))
            rest.append(dist)
    return np.array(pairs, dtype=int).reshape(-1, 2), np.array(rest)


def _chain_joints(model: mujoco.MjModel, b1: int, b2: int) -> list[int] | None:
    """Hinge/slide joints between two bodies on one chain (None when neither is the other's ancestor)."""
    for lo, hi in ((b1, b2), (b2, b1)):
        joints, body = [], hi
        while body not in (lo, 0):
            joints += [j for j in range(model.njnt) if model.jnt_bodyid[j] == body]
            body = int(model.body_parentid[body])
        if body == lo:
            return joints
    return None


def chain_pair_can_touch(
    model: mujoco.MjModel,
    data: mujoco.MjData,
    rest: np.ndarray,
    pair: tuple[int, int],
    margin: float,
    samples: int = 32,
) -> bool:
    """Whether the joints between a same-chain pair can bring it within `margin` (corners + random samples).

    Only pairs one or two joints apart are sampled (a 2-D grid is covered densely); with more joints between
    them the reachable set has interior contacts sparse samples miss (H1's elbow reaches its torso), so such
    pairs are kept."""
    joints = _chain_joints(model, int(model.geom_bodyid[pair[0]]), int(model.geom_bodyid[pair[1]]))
    if joints is None or len(joints) > 2:
        return True
    if any(model.jnt_type[j] in (mujoco.mjtJoint.mjJNT_FREE, mujoco.mjtJoint.mjJNT_BALL) for j in joints):
        return True
    lo, hi = model.jnt_range[joints, 0], model.jnt_range[joints, 1]
    corners = np.array(np.meshgrid(*[[0.0, 0.5, 1.0]] * len(joints))).reshape(len(joints), -1).T
    rng = np.random.default_rng(0)
    fractions = np.vstack([corners, rng.uniform(size=(samples, len(joints)))])
    adr = model.jnt_qposadr[joints]
    fromto = np.zeros(6)
    for f in fractions:
        data.qpos[:] = rest
        data.qpos[adr] = lo + f * (hi - lo)
        mujoco.mj_kinematics(model, data)
        if mujoco.mj_geomDistance(model, data, pair[0], pair[1], margin + 1e-3, fromto) < margin:
            return True
    return False


class SelfCollisionLimit(Limit):
    """pink limit keeping candidate geom pairs at least `min_distance` apart."""

    def __init__(self, model: mujoco.MjModel, config: CollisionConfig | None = None):
        self.model = model
        self.data = mujoco.MjData(model)
        self.config = config or CollisionConfig()
        rest_q = model.key_qpos[0] if model.nkey else model.qpos0
        pairs, rest = candidate_pairs(model, rest_q)
        keep = [
            chain_pair_can_touch(model, self.data, rest_q, (a, b), self.config.min_distance) for a, b in pairs
        ]
        self.pairs, rest = pairs[keep], rest[keep]
        # Neighbouring links closer than the margin at rest (G1 elbow and wrist pitch, 9.5 mm) keep half
        # their rest gap instead: no joint may be able to open it, which would make the QP infeasible.
        flat = np.isin(
            model.geom_type[self.pairs], (mujoco.mjtGeom.mjGEOM_BOX, mujoco.mjtGeom.mjGEOM_CYLINDER)
        )
        wanted = np.where(flat.all(axis=1), self.config.flat_min_distance, self.config.min_distance)
        self.margins = np.minimum(wanted, np.maximum(rest, 0.0) / 2)
        self.detect = np.maximum(self.config.detect_distance, 2 * self.margins)
        self._margin_of = {
            (int(a), int(b)): float(m) for (a, b), m in zip(self.pairs, self.margins, strict=True)
        }
        self._detect_of = {
            (int(a), int(b)): float(d) for (a, b), d in zip(self.pairs, self.detect, strict=True)
        }
        self.has_free_joint = model.nq > 0 and model.jnt_type[0] == mujoco.mjtJoint.mjJNT_FREE
        self._fromto = np.zeros(6)
        self._jac1 = np.zeros((3, model.nv))
        self._jac2 = np.zeros((3, model.nv))
        self.rows_last = 0
        self._cache: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # q, G, h of the last rows

    def distances(self, qpos: np.ndarray) -> np.ndarray:
        """Signed distance of every candidate pair at MuJoCo qpos (capped at detect_distance)."""
        self.data.qpos[:] = qpos
        mujoco.mj_kinematics(self.model, self.data)
        cap = self.config.detect_distance
        return np.array(
            [mujoco.mj_geomDistance(self.model, self.data, a, b, cap, self._fromto) for a, b in self.pairs]
        )

    def min_distance(self, qpos: np.ndarray) -> float:
        """Smallest signed distance over candidate pairs at MuJoCo qpos (detect_distance when none is close)."""
        self.data.qpos[:] = qpos
        mujoco.mj_kinematics(self.model, self.data)
        cap = self.config.detect_distance
        dists = [
            mujoco.mj_geomDistance(self.model, self.data, a, b, cap, self._fromto)
            for a, b in self._close_pairs()
        ]
        return min(dists, default=cap)

    def _close_pairs(self) -> np.ndarray:
        pos = self.data.geom_xpos
        a, b = self.pairs[:, 0], self.pairs[:, 1]
        gap = np.linalg.norm(pos[a] - pos[b], axis=1) - self.model.geom_rbound[a] - self.model.geom_rbound[b]
        return self.pairs[gap < self.detect]

    def reset(self) -> None:
        """Forget the last rows (a new clip, or a frame solved out of sequence)."""
        self._cache = None

    def compute_qp_inequalities(self, configuration, dt: float):
        if self.config.reuse_rows and self._cache is not None:
            q0, G, h = self._cache
            self._cache = None
            if not len(h):
                return None
            delta = pin.difference(configuration.model, q0, configuration.q)
            return G, h - self.config.gain * G @ delta  # d grows by J delta = -G delta
        G, h = self._rows(configuration)
        self._cache = (configuration.q.copy(), G, h)
        return (G, h) if len(h) else None

    def _rows(self, configuration) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        qpos = mujoco_qpos_from_pinocchio(configuration.q, self.has_free_joint)
        self.data.qpos[:] = qpos
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_comPos(self.model, self.data)  # mj_jac reads the com-based motion axes it computes
        rows, bounds = [], []
        for g1, g2 in self._close_pairs():
            detect = self._detect_of[(int(g1), int(g2))]
            dist = mujoco.mj_geomDistance(self.model, self.data, g1, g2, detect, self._fromto)
            if dist >= detect:
                continue
            p1, p2 = self._fromto[:3].copy(), self._fromto[3:].copy()
            normal = p2 - p1
            norm = np.linalg.norm(normal)
            if norm < 1e-9:
                continue
            normal /= norm
            if dist < 0:
                normal = -normal  # fromto runs from g1 into g2 when they overlap: separation is the other way
            mujoco.mj_jac(self.model, self.data, self._jac1, None, p1, self.model.geom_bodyid[g1])
            mujoco.mj_jac(self.model, self.data, self._jac2, None, p2, self.model.geom_bodyid[g2])
            rows.append(-normal @ (self._jac2 - self._jac1))
            bounds.append(cfg.gain * (dist - self._margin_of[(int(g1), int(g2))]))
        self.rows_last = len(rows)
        if not rows:
            return np.zeros((0, self.model.nv)), np.zeros(0)
        G = np.array(rows)
        if self.has_free_joint:
            # MuJoCo's free-joint linear velocity is in the world frame, pinocchio's in the base frame.
            rot = np.zeros(9)
            mujoco.mju_quat2Mat(rot, qpos[3:7])
            G[:, :3] = G[:, :3] @ rot.reshape(3, 3)
        return G, np.array(bounds)
