"""Hands -> robot hands by vector retargeting (Shadow, Allegro, LEAP from menagerie; pinocchio kinematics).

Per frame, joint angles q minimise
    sum_i |s * v_i(human) - v_i(robot, q)|^2  +  smooth * |q - q_prev|^2
over the joint box (scipy least-squares, pinocchio Jacobians), where the vectors v_i are knuckle-to-
fingertip vectors (finger flexion and spread) and thumb-to-fingertip vectors (so pinches land). Knuckles
rather than the wrist anchor the vectors because the hands' root frames sit in different places (Shadow
at the wrist, Allegro and LEAP mid-palm). The human hand frame (MANO-like) is turned into the robot's
palm frame once, by matching a palm frame built the same way on both (x along the fingers, y across the
knuckles), and the scale s is the ratio of robot to human knuckle-to-tip lengths of the open hand, so no
per-robot frame conventions are hand-coded.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import mujoco
import numpy as np
import pinocchio as pin
from scipy.optimize import least_squares

from robolearn.robots import robot_info, robot_model

from .errors import RetargetInputError
from .kinematics import check_joint_sets, load_pinocchio
from .sources.hands import BASES, TIPS, HandSequence


@dataclass(frozen=True)
class HandMap:
    root: str
    bases: dict[str, str]  # finger -> knuckle body
    tips: dict[str, str]  # finger -> distal body (tip point found from its geometry)
    locked: tuple[str, ...] = ()  # joints held at 0 (the Shadow wrist: the arm solver owns the wrist)


_SHADOW = HandMap(
    root="rh_palm",
    bases={
        "thumb": "rh_thbase",
        "index": "rh_ffknuckle",
        "middle": "rh_mfknuckle",
        "ring": "rh_rfknuckle",
        "pinky": "rh_lfknuckle",
    },
    tips={
        "thumb": "rh_thdistal",
        "index": "rh_ffdistal",
        "middle": "rh_mfdistal",
        "ring": "rh_rfdistal",
        "pinky": "rh_lfdistal",
    },
    locked=("rh_WRJ1", "rh_WRJ2"),
)
_ALLEGRO = HandMap(
    root="palm",
    bases={"thumb": "th_base", "index": "ff_base", "middle": "mf_base", "ring": "rf_base"},
    tips={"thumb": "th_tip", "index": "ff_tip", "middle": "mf_tip", "ring": "rf_tip"},
)
_LEAP = HandMap(
    root="palm",
    bases={"thumb": "th_mp", "index": "if_bs", "middle": "mf_bs", "ring": "rf_bs"},
    tips={"thumb": "th_ds", "index": "if_ds", "middle": "mf_ds", "ring": "rf_ds"},
)
# The left LEAP model has the right one's body names (a mirror image of it).
HAND_MAPS = {"shadow_hand": _SHADOW, "allegro": _ALLEGRO, "leap_hand": _LEAP, "leap_hand_left": _LEAP}


def tip_offset(model: mujoco.MjModel, body: str) -> np.ndarray:
    """Point of the body's geometry farthest from its origin (body frame): the fingertip of a distal link.
    Bodies with no geometry (Allegro's *_tip frames) are tips themselves."""
    bid = model.body(body).id
    best, best_d = np.zeros(3), 0.0
    for g in np.flatnonzero(model.geom_bodyid == bid):
        rot_flat = np.zeros(9)
        mujoco.mju_quat2Mat(rot_flat, model.geom_quat[g])
        rot = rot_flat.reshape(3, 3)
        if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH:
            m = model.geom_dataid[g]
            verts = model.mesh_vert[model.mesh_vertadr[m] : model.mesh_vertadr[m] + model.mesh_vertnum[m]]
        else:
            s = model.geom_size[g]
            verts = np.array([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)]) * np.maximum(
                s[[0, 0, 1]] if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_CAPSULE else s, 1e-9
            )
        pts = verts @ rot.T + model.geom_pos[g]
        d = np.linalg.norm(pts, axis=1)
        if d.max() > best_d:
            best, best_d = pts[np.argmax(d)], d.max()
    return best


def kabsch(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Rotation R minimising sum |R src_i - dst_i|^2 (no reflection)."""
    u, _, vt = np.linalg.svd(dst.T @ src)
    d = np.sign(np.linalg.det(u @ vt))
    return u @ np.diag([1.0, 1.0, d]) @ vt


@dataclass
class HandRetargetResult:
    qpos: np.ndarray  # [T, nq]
    joint_names: list[str]
    fingers: list[str]
    robot_tips: np.ndarray  # [T, F, 3] robot knuckle->tip vectors
    human_tips: np.ndarray  # [T, F, 3] scaled, aligned human knuckle->tip vectors
    scale: float
    fps: float

    def tip_direction_errors_deg(self) -> np.ndarray:
        """Angle between robot and human knuckle->fingertip directions [T, F]."""
        a = self.robot_tips / np.linalg.norm(self.robot_tips, axis=-1, keepdims=True)
        b = self.human_tips / np.linalg.norm(self.human_tips, axis=-1, keepdims=True)
        return np.degrees(np.arccos(np.clip(np.sum(a * b, -1), -1, 1)))


class HandRetargeter:
    def __init__(self, robot: str, smooth: float = 0.05, pinch_weight: float = 0.5):
        robot_info(robot)
        if robot not in HAND_MAPS:
            raise ValueError(
                f"robot {robot!r} has no hand map; hand retargeting supports {sorted(HAND_MAPS)}"
            )
        if not check_joint_sets(robot).match:
            raise RuntimeError(f"pinocchio and MuJoCo disagree on {robot!r} joints")
        self.robot, self.map = robot, HAND_MAPS[robot]
        self.smooth, self.pinch_weight = smooth, pinch_weight
        mj = robot_model(robot)
        self.model = load_pinocchio(robot)
        self.fingers = list(self.map.tips)
        for f in self.fingers:
            fid = self.model.getFrameId(self.map.tips[f])
            frame = self.model.frames[fid]
            placement = frame.placement * pin.SE3(np.eye(3), tip_offset(mj, self.map.tips[f]))
            self.model.addFrame(
                pin.Frame(f"tip_{f}", frame.parentJoint, fid, placement, pin.FrameType.OP_FRAME)
            )
        self.data = self.model.createData()
        self.tip_ids = [self.model.getFrameId(f"tip_{f}") for f in self.fingers]
        self.root_id = self.model.getFrameId(self.map.root)
        self.lower = self.model.lowerPositionLimit.copy()
        self.upper = self.model.upperPositionLimit.copy()
        self.joint_names = [self.model.names[j] for j in range(1, self.model.njoints)]
        for name in self.map.locked:
            k = self.model.joints[self.model.getJointId(name)].idx_q
            self.lower[k], self.upper[k] = -1e-9, 1e-9
        self.q_rest = np.clip(np.zeros(self.model.nq), self.lower, self.upper)
        pin.framesForwardKinematics(self.model, self.data, self.q_rest)
        root = self.data.oMf[self.root_id].translation
        self.base_ids = [self.model.getFrameId(self.map.bases[f]) for f in self.fingers]
        self.rest_bases = np.array([self.data.oMf[i].translation - root for i in self.base_ids])
        self.rest_tips = np.array([self.data.oMf[i].translation - root for i in self.tip_ids])

    def _points(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pin.framesForwardKinematics(self.model, self.data, q)
        return (
            np.array([self.data.oMf[i].translation for i in self.base_ids]),
            np.array([self.data.oMf[i].translation for i in self.tip_ids]),
        )

    def _pairs(self) -> list[tuple[int, int]]:
        """Vectors a->b over the stacked points [bases..., tips...]: knuckle->tip, then thumb tip->tip."""
        F = len(self.fingers)
        return [(k, F + k) for k in range(F)] + [(F, F + k) for k in range(1, F)]  # thumb is finger 0

    def retarget(self, hand: HandSequence) -> HandRetargetResult:
        """Per-frame least squares. Points may be NaN (marker gloves with long gaps): a frame's vectors
        with a missing end are dropped, so the solver uses the fingertip vectors present and the
        smoothness term holds the rest."""
        kp = hand.keypoints - hand.keypoints[:, :1]
        F = len(self.fingers)
        human = kp[:, [BASES[f] for f in self.fingers] + [TIPS[f] for f in self.fingers]]  # [T, 2F, 3]
        # Open-hand knuckle-to-tip length: 95th percentile over the clip (fingers extended at some point).
        lengths = np.linalg.norm(human[:, F + 1 :] - human[:, 1:F], axis=-1)
        if not np.isfinite(lengths).any():
            raise RetargetInputError(hand.source, "keypoints", "no frame with a finger knuckle and tip")
        human_len = np.nanpercentile(lengths, 95)
        robot_len = np.linalg.norm(self.rest_tips[1:] - self.rest_bases[1:], axis=-1).mean()
        scale = float(robot_len / human_len)
        with warnings.catch_warnings():  # points no marker stands for are NaN in every frame
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(kp, axis=0)
        R = self._palm_frame_robot() @ palm_frame(median, hand_points=True).T
        target_pts = scale * human @ R.T
        pairs = self._pairs()
        w = np.array([1.0] * F + [self.pinch_weight] * (F - 1))

        def vectors(p: np.ndarray) -> np.ndarray:
            return np.array([p[b] - p[a] for a, b in pairs])

        q = self.q_rest.copy()
        out = np.zeros((hand.num_frames, self.model.nq))
        sw = np.sqrt(self.smooth)
        for t in range(hand.num_frames):
            target = vectors(target_pts[t])
            present = np.isfinite(target).all(axis=1)
            wt = w * present
            target = np.where(present[:, None], target, 0.0)
            q_prev = q.copy()

            def residual(x, target=target, q_prev=q_prev, wt=wt):
                return np.concatenate(
                    [
                        (wt[:, None] * (vectors(np.vstack(self._points(x))) - target)).ravel(),
                        sw * (x - q_prev),
                    ]
                )

            def jac(x, wt=wt):
                pin.computeJointJacobians(self.model, self.data, x)
                pin.updateFramePlacements(self.model, self.data)
                J = [
                    pin.getFrameJacobian(self.model, self.data, i, pin.LOCAL_WORLD_ALIGNED)[:3]
                    for i in self.base_ids + self.tip_ids
                ]
                rows = [wt[k] * (J[b] - J[a]) for k, (a, b) in enumerate(pairs)]
                return np.vstack([*rows, sw * np.eye(len(x))])

            if present.any():
                q = least_squares(
                    residual,
                    np.clip(q, self.lower, self.upper),
                    jac=jac,
                    bounds=(self.lower, self.upper),
                    method="trf",
                    max_nfev=20,
                    xtol=1e-6,
                    ftol=1e-6,
                ).x
            out[t] = q
        robot_vecs = np.array([(lambda b_t: b_t[1] - b_t[0])(self._points(x)) for x in out])
        human_vecs = target_pts[:, F:] - target_pts[:, :F]
        return HandRetargetResult(
            out, self.joint_names, self.fingers, robot_vecs, human_vecs, scale, hand.fps
        )

    def _palm_frame_robot(self) -> np.ndarray:
        return palm_frame(
            np.vstack([self.rest_bases, self.rest_tips]), hand_points=False, fingers=self.fingers
        )


def palm_frame(points: np.ndarray, hand_points: bool, fingers: list[str] | None = None) -> np.ndarray:
    """x along the (non-thumb) fingers of the open hand, y from the ring towards the index knuckle."""
    from .rotations import frame_from_forward

    if hand_points:  # 21 MediaPipe points
        forward = points[9] - points[0]
        lateral = points[5] - points[13]
    else:  # robot rest: bases then tips, in `fingers` order
        if fingers is None:
            raise ValueError("palm_frame of robot points needs the finger names")
        F = len(fingers)
        i, r = fingers.index("index"), fingers.index("ring")
        forward = np.mean([points[F + k] - points[k] for k in range(1, F)], axis=0)
        lateral = points[i] - points[r]
    frame = frame_from_forward(forward, np.cross(forward, lateral))
    return frame


def retarget_hand(hand: HandSequence, robot: str = "shadow_hand") -> HandRetargetResult:
    if hand.num_frames < 1:
        raise RetargetInputError(hand.source, "keypoints", "no frames")
    return HandRetargeter(robot).retarget(hand)
