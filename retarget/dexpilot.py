"""DexPilot-style retargeting of a human reference onto two robot hands, and the rigid augmentation of a
reference (HERMES: one demonstration, many spatial variants).

Per frame, joint angles q minimise (scipy least squares on pinocchio Jacobians, hands.py's machinery)
    sum_k |v_k(robot, q) - s R v_k(human)|^2                      knuckle -> fingertip vectors
  + sum_(i<j) w_ij |u_ij(robot, q) - target_ij|^2                  fingertip i -> fingertip j vectors
  + smooth |q - q_prev|^2
as dex-retargeting's DexPilot optimizer does for its fingertip pairs: a pair closer than PROJECT_DIST in the
human hand is "projected": with a large weight, a thumb pair's target shrinks to ETA1 along the human
direction (the robot tips touch, so a human pinch lands as a robot pinch even though the hands' proportions
differ) and a pair of two other fingers' to ETA2 (side by side fingers stay apart, not fused), and it
stays projected until the human pair opens past ESCAPE_DIST (hysteresis: a pinch hovering at 3 cm does not
flicker). Other pairs target s R u_ij(human) with weight 1.

The robot hand follows the human wrist: its root body turns by R_root = R_wrist R^T (R takes the human hand
frame to the robot root body's frame, hands.py's palm-frame match), placed so the robot's knuckle centroid sits
on the human's.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pinocchio as pin
from scipy.optimize import least_squares

from robolearn.atomic import save_npz

from .errors import RetargetInputError
from .hands import HandRetargeter, palm_frame
from .human_reference import HandTrackRef, HumanReference, pose7
from .rotations import axis_rotation, quat_to_mat
from .sources.hands import BASES, TIPS

PROJECT_DIST = 0.03
"""dex-retargeting's DexPilot default: a human fingertip pair closer than 3 cm is a pinch."""
ESCAPE_DIST = 0.05
ETA1 = 1e-4
"""Target length of a projected thumb pair (m): the robot tips touch."""
ETA2 = 3e-2
"""Target length of a projected pair of two non-thumb fingers (m), DexPilot's value."""
PROJECTED_WEIGHT = 10.0
"""Residual weight of a projected pair (DexPilot's 200 on the squared error is ~14 on the residual)."""
ROBOTS = {"left": "leap_hand_left", "right": "leap_hand"}


@dataclass
class DexPilotResult:
    qpos: np.ndarray  # [T, nq]
    joint_names: list[str]
    fingers: list[str]
    robot_tips: np.ndarray  # [T, F, 3] fingertips in the robot root frame
    human_tips: np.ndarray  # [T, F, 3] scaled, aligned human fingertips (robot root frame, knuckle-centred)
    projected: np.ndarray  # [T, P] bool, P = F choose 2 pairs in `pairs` order
    pairs: list[tuple[int, int]]
    scale: float
    rotation: np.ndarray  # [3, 3] human hand frame -> robot root frame
    robot_knuckle_centroid: np.ndarray  # [3] in the root body's frame (pinocchio's world), rest pose

    def pair_distances(self) -> tuple[np.ndarray, np.ndarray]:
        """Robot and (scaled) human fingertip-pair distances [T, P]."""
        r = np.stack(
            [np.linalg.norm(self.robot_tips[:, j] - self.robot_tips[:, i], axis=-1) for i, j in self.pairs], 1
        )
        h = np.stack(
            [np.linalg.norm(self.human_tips[:, j] - self.human_tips[:, i], axis=-1) for i, j in self.pairs], 1
        )
        return r, h


class DexPilotRetargeter(HandRetargeter):
    def __init__(self, robot: str, smooth: float = 0.05, project_dist: float = PROJECT_DIST,
                 escape_dist: float = ESCAPE_DIST):  # fmt: skip
        super().__init__(robot, smooth=smooth)
        if not 0 < project_dist < escape_dist:
            raise ValueError(
                f"DexPilot: need 0 < project_dist ({project_dist}) < escape_dist ({escape_dist})"
            )
        self.project_dist, self.escape_dist = project_dist, escape_dist
        self.tip_pairs = list(combinations(range(len(self.fingers)), 2))

    def retarget_keypoints(self, keypoints: np.ndarray, source: str = "keypoints") -> DexPilotResult:
        """Wrist-frame keypoints [T, 21, 3] (any frame attached to the hand: the palm frames are matched)."""
        kp = keypoints - keypoints[:, :1]
        F = len(self.fingers)
        human = kp[:, [BASES[f] for f in self.fingers] + [TIPS[f] for f in self.fingers]]
        lengths = np.linalg.norm(human[:, F + 1 :] - human[:, 1:F], axis=-1)
        if not np.isfinite(lengths).any() or np.nanmax(lengths) <= 0:
            raise RetargetInputError(source, "keypoints", "no frame with a finger knuckle and tip apart")
        robot_len = np.linalg.norm(self.rest_tips[1:] - self.rest_bases[1:], axis=-1).mean()
        scale = float(robot_len / np.nanpercentile(lengths, 95))
        R = self._palm_frame_robot() @ palm_frame(np.median(kp, axis=0), hand_points=True).T
        target_pts = scale * human @ R.T
        # Human pair distances in metres (unscaled): the pinch thresholds are the human's.
        human_d = np.stack(
            [np.linalg.norm(human[:, F + j] - human[:, F + i], axis=-1) for i, j in self.tip_pairs], 1
        )
        projected = np.zeros(human_d.shape, bool)
        state = human_d[0] < self.project_dist
        for t in range(len(human_d)):
            state = (human_d[t] < self.project_dist) | (state & (human_d[t] < self.escape_dist))
            projected[t] = state
        out = self._solve(target_pts, projected)
        robot_tips = np.array([self._points(q)[1] for q in out])
        pin.framesForwardKinematics(self.model, self.data, self.q_rest)
        root = self.data.oMf[self.root_id]
        to_root = np.linalg.inv(root.homogeneous)
        robot_tips = robot_tips @ to_root[:3, :3].T + to_root[:3, 3]
        knuckles = self.rest_bases.mean(axis=0)  # relative to the root body, in the model's axes
        human_tips = target_pts[:, F:] - target_pts[:, :F].mean(axis=1, keepdims=True) + knuckles
        return DexPilotResult(out, self.joint_names, self.fingers, robot_tips, human_tips, projected,
                              self.tip_pairs, scale, R, knuckles + root.translation)  # fmt: skip

    def _solve(self, target_pts: np.ndarray, projected: np.ndarray) -> np.ndarray:
        F = len(self.fingers)
        vec_pairs = [(k, F + k) for k in range(F)] + [(F + i, F + j) for i, j in self.tip_pairs]
        sw = np.sqrt(self.smooth)
        q = self.q_rest.copy()
        out = np.zeros((len(target_pts), self.model.nq))
        for t, pts in enumerate(target_pts):
            target = np.array([pts[b] - pts[a] for a, b in vec_pairs])
            w = np.ones(len(vec_pairs))
            for k, on in enumerate(projected[t]):
                if on:
                    v = target[F + k]
                    eta = ETA1 if self.tip_pairs[k][0] == 0 else ETA2  # finger 0 is the thumb
                    target[F + k] = eta * v / max(float(np.linalg.norm(v)), 1e-9)
                    w[F + k] = PROJECTED_WEIGHT
            q_prev = q.copy()

            def residual(x, target=target, w=w, q_prev=q_prev):
                p = np.vstack(self._points(x))
                v = np.array([p[b] - p[a] for a, b in vec_pairs])
                return np.concatenate([(w[:, None] * (v - target)).ravel(), sw * (x - q_prev)])

            def jac(x, w=w):
                pin.computeJointJacobians(self.model, self.data, x)
                pin.updateFramePlacements(self.model, self.data)
                J = [pin.getFrameJacobian(self.model, self.data, i, pin.LOCAL_WORLD_ALIGNED)[:3]
                     for i in self.base_ids + self.tip_ids]  # fmt: skip
                rows = [w[k] * (J[b] - J[a]) for k, (a, b) in enumerate(vec_pairs)]
                return np.vstack([*rows, sw * np.eye(len(x))])

            q = least_squares(residual, np.clip(q, self.lower, self.upper), jac=jac,
                              bounds=(self.lower, self.upper), method="trf", max_nfev=30).x  # fmt: skip
            out[t] = q
        return out


# -- robot references -------------------------------------------------------------------------------------


@dataclass
class RobotHandRef:
    root: np.ndarray  # [T, 7] the hand's root body (pinocchio's world: LEAP's palm) in the world, xyz + wxyz
    qpos: np.ndarray  # [T, nq] finger joints, the model's joint order
    joint_names: list[str]
    robot: str


@dataclass
class RobotReference:
    """What the HERMES tasks replay and track. File (.npz): fps, object_pose [T, 7], and per side
    <side>_root [T, 7], <side>_qpos [T, 16], <side>_joints [16] (names), <side>_robot; task."""

    fps: float
    object_pose: np.ndarray
    hands: dict[str, RobotHandRef]
    task: str = ""

    @property
    def num_frames(self) -> int:
        return int(self.object_pose.shape[0])


def retarget_reference(ref: HumanReference, robots: dict[str, str] | None = None) -> RobotReference:
    """Each hand of a human reference onto its robot hand (DexPilot fingers, root following the wrist)."""
    robots = robots or ROBOTS
    hands = {}
    for side, hand in ref.hands.items():
        solver = DexPilotRetargeter(robots[side])
        res = solver.retarget_keypoints(hand.keypoints, ref.source)
        hands[side] = RobotHandRef(root_poses(hand, res), res.qpos, res.joint_names, robots[side])
    return RobotReference(ref.fps, ref.object_pose.copy(), hands, ref.task)


def root_poses(hand: HandTrackRef, res: DexPilotResult) -> np.ndarray:
    """[T, 7] poses of the robot hand's root body (pinocchio's world frame is the root body's: it drops the
    root's pose in the MJCF): R_root = R_wrist R^T, placed per frame so the robot's fingertip centroid (at
    that frame's retargeted joints) lands on the human's. Matching the wrists or knuckles instead leaves
    the LEAP's fingertips ~4 cm beyond the human's (its fingers are 40 % longer), so a grasp closes in front
    of the object; matching the tips puts the robot's grasp where the human's was."""
    R_wrist = quat_to_mat(hand.wrist[:, 3:])
    R_root = R_wrist @ res.rotation.T
    human_tips = hand.keypoints[:, [TIPS[f] for f in res.fingers]].mean(axis=1)  # wrist frame
    world_tips = np.einsum("tij,tj->ti", R_wrist, human_tips) + hand.wrist[:, :3]
    pos = world_tips - np.einsum("tij,tj->ti", R_root, res.robot_tips.mean(axis=1))
    return pose7(R_root, pos)


def save_robot_reference(ref: RobotReference, path: str | Path) -> Path:
    """Write atomically (temp file, then rename)."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {"fps": np.float64(ref.fps), "object_pose": ref.object_pose,
                                     "task": np.array(ref.task)}  # fmt: skip
    for side, h in ref.hands.items():
        if h.root.shape != (ref.num_frames, 7) or len(h.qpos) != ref.num_frames:
            raise RetargetInputError(
                path, f"{side}_root", f"expected {ref.num_frames} frames like object_pose"
            )
        arrays.update({f"{side}_root": h.root, f"{side}_qpos": h.qpos, f"{side}_joints": np.array(h.joint_names),
                       f"{side}_robot": np.array(h.robot)})  # fmt: skip
    return save_npz(path, arrays)


# -- augmentation -----------------------------------------------------------------------------------------


def rigid_transform(pose: np.ndarray, R: np.ndarray, t: np.ndarray, pivot: np.ndarray) -> np.ndarray:
    """Poses [T, 7] moved by the rotation R about `pivot`, then by t."""
    Rp = np.einsum("ij,tjk->tik", R, quat_to_mat(pose[:, 3:]))
    pos = (pose[:, :3] - pivot) @ R.T + pivot + t
    return pose7(Rp, pos)


def augment(ref: HumanReference, rng: np.random.Generator, max_xy: float = 0.05,
            max_yaw: float = 0.5) -> HumanReference:  # fmt: skip
    """One random rigid transform (yaw about the object's first position, then an x-y shift) applied to the
    object and both hands together, so the hand-object relation of the demonstration is kept."""
    yaw = rng.uniform(-max_yaw, max_yaw)
    shift = np.array([*rng.uniform(-max_xy, max_xy, 2), 0.0])
    R = axis_rotation("z", np.array(yaw))
    pivot = ref.object_pose[0, :3]
    hands = {s: HandTrackRef(rigid_transform(h.wrist, R, shift, pivot), h.keypoints.copy())
             for s, h in ref.hands.items()}  # fmt: skip
    return HumanReference(ref.fps, rigid_transform(ref.object_pose, R, shift, pivot), hands, ref.task,
                          ref.source, {**ref.meta, "augment": {"yaw": yaw, "shift": shift[:2].tolist()}})  # fmt: skip
