"""PnP docking (HERMES): bring a mobile base back to the pose it had when the manipulation was learnt,
from its camera alone.

Estimator: ORB features of the current image are matched to those of the goal image (taken at the goal
pose, with depth); the matched goal features, back-projected to 3-D with the goal depth, and their pixels
in the current image give the goal camera's pose in the current camera by cv2.solvePnPRansac; through the
camera's mount on the base, that is the goal base pose in the current base frame (x, y, yaw: the base is
planar). Loop: drive the base by a fraction of that error, look again, until the error is below the
tolerance or the iterations run out.

The scene (`docking_scene`) is rendered offscreen by MuJoCo: a room of walls and tabletop items with
random-dot textures (ORB needs corners; flat colours give none), a camera on a planar x-y-yaw base.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import mujoco
import numpy as np

from robolearn.gl import ensure_gl

BASE_JOINTS = ("base_x", "base_y", "base_yaw")
CAMERA = "base_camera"
# MuJoCo cameras look along -z with y up; OpenCV's along +z with y down.
MJ_TO_CV = np.diag([1.0, -1.0, -1.0])


def docking_scene(seed: int = 0) -> mujoco.MjModel:
    """A 4 x 4 m room with textured walls, a table with boxes, and the base (camera 1.1 m up, pitched
    20 degrees down) on slides x, y and a yaw hinge."""
    rng = np.random.default_rng(seed)
    spec = mujoco.MjSpec()
    spec.visual.global_.offwidth, spec.visual.global_.offheight = 640, 480
    for k in range(4):
        tex = spec.add_texture(name=f"dots{k}", type=mujoco.mjtTexture.mjTEXTURE_2D,
                               builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER, width=256, height=256,
                               rgb1=rng.uniform(0.2, 0.9, 3), rgb2=rng.uniform(0.2, 0.9, 3),
                               mark=mujoco.mjtMark.mjMARK_RANDOM, random=0.08, markrgb=rng.uniform(0, 1, 3))  # fmt: skip
        mat = spec.add_material(name=f"m{k}", texrepeat=[3 + k, 2 + k])
        mat.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = tex.name
    world = spec.worldbody
    world.add_light(pos=[0, 0, 3], dir=[0, 0, -1], diffuse=[0.8, 0.8, 0.8])
    world.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=[3, 3, 0.1], material="m0")
    for k, (pos, size) in enumerate([((2.0, 0, 1), (0.05, 2, 1)), ((0, 2.0, 1), (2, 0.05, 1)),
                                     ((0, -2.0, 1), (2, 0.05, 1)), ((-2.0, 0, 1), (0.05, 2, 1))]):  # fmt: skip
        world.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, pos=pos, size=size, material=f"m{1 + k % 3}")
    world.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, pos=[1.0, 0, 0.35], size=[0.35, 0.6, 0.35], material="m2")
    for _ in range(8):
        world.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=rng.uniform(0.03, 0.1, 3),
                       pos=[rng.uniform(0.8, 1.2), rng.uniform(-0.5, 0.5), 0.8], euler=[0, 0, rng.uniform(0, 3)],
                       material=f"m{rng.integers(1, 4)}")  # fmt: skip
    base = world.add_body(name="base", pos=[0, 0, 0])
    axes = ([1, 0, 0], [0, 1, 0], [0, 0, 1])
    for name, axis in zip(BASE_JOINTS, axes, strict=True):
        kind = mujoco.mjtJoint.mjJNT_HINGE if name == "base_yaw" else mujoco.mjtJoint.mjJNT_SLIDE
        base.add_joint(name=name, type=kind, axis=axis)
    base.add_geom(
        type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[0.2, 0.1, 0], pos=[0, 0, 0.1], contype=0, conaffinity=0
    )
    # Looking along +x, 20 degrees down: xyaxes give the camera's x (right = -y) and y (up) in the body.
    pitch = np.radians(20)
    base.add_camera(name=CAMERA, pos=[0.1, 0, 1.1], fovy=60,
                    xyaxes=[0, -1, 0, np.sin(pitch), 0, np.cos(pitch)])  # fmt: skip
    return spec.compile()


@dataclass
class View:
    rgb: np.ndarray  # [H, W, 3] uint8
    depth: np.ndarray  # [H, W] metres along the optical axis


class BaseCamera:
    """Renders the base camera at a base pose (x, y, yaw) of a docking scene."""

    def __init__(self, model: mujoco.MjModel, width: int = 320, height: int = 240):
        ensure_gl()
        self.model, self.data = model, mujoco.MjData(model)
        self.renderer = mujoco.Renderer(model, height=height, width=width)
        self.cam = model.camera(CAMERA).id
        self.qadr = [model.joint(j).qposadr[0] for j in BASE_JOINTS]
        f = 0.5 * height / np.tan(np.radians(model.cam_fovy[self.cam]) / 2)
        self.K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])
        mujoco.mj_kinematics(model, self.data)
        mujoco.mj_camlight(model, self.data)
        # camera pose in the base frame (the base body's frame is the world's at qpos 0)
        R_cam = self.data.cam_xmat[self.cam].reshape(3, 3) @ MJ_TO_CV
        self.T_base_cam = np.eye(4)
        self.T_base_cam[:3, :3], self.T_base_cam[:3, 3] = R_cam, self.data.cam_xpos[self.cam]

    def view(self, pose: np.ndarray) -> View:
        self.data.qpos[self.qadr] = pose
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_camlight(self.model, self.data)
        self.renderer.disable_depth_rendering()
        self.renderer.update_scene(self.data, camera=self.cam)
        rgb = self.renderer.render().copy()
        self.renderer.enable_depth_rendering()
        self.renderer.update_scene(self.data, camera=self.cam)
        depth = self.renderer.render().copy()
        self.renderer.disable_depth_rendering()
        return View(rgb, depth)

    def close(self) -> None:
        self.renderer.close()


@dataclass
class PoseEstimate:
    ok: bool
    delta: np.ndarray  # goal base pose in the current base frame: x, y (m), yaw (rad)
    inliers: int
    matches: int


def planar(T: np.ndarray) -> np.ndarray:
    """x, y, yaw of a 4x4 transform (its roll and pitch are dropped: the base is planar)."""
    return np.array([T[0, 3], T[1, 3], np.arctan2(T[1, 0], T[0, 0])])


def se2(pose: np.ndarray) -> np.ndarray:
    c, s = np.cos(pose[2]), np.sin(pose[2])
    T = np.eye(4)
    T[:2, :2], T[:2, 3] = [[c, -s], [s, c]], pose[:2]
    return T


class PnPEstimator:
    """Goal view + camera -> relative base pose from any current view."""

    def __init__(self, goal: View, K: np.ndarray, T_base_cam: np.ndarray, features: int = 1500):
        self.K, self.T_base_cam = K, T_base_cam
        self.orb = cv2.ORB.create(nfeatures=features)
        self.matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        self.goal_kp, self.goal_desc = self.orb.detectAndCompute(
            cv2.cvtColor(goal.rgb, cv2.COLOR_RGB2GRAY), None
        )
        self.goal_depth = goal.depth

    def _backproject(self, uv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """3-D goal-camera points of pixels [N, 2], and which have a valid depth."""
        u, v = np.round(uv[:, 0]).astype(int), np.round(uv[:, 1]).astype(int)
        h, w = self.goal_depth.shape
        inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
        z = np.zeros(len(uv))
        z[inside] = self.goal_depth[v[inside], u[inside]]
        ok = inside & (z > 0.05) & (z < 10.0)
        xy = (uv - self.K[:2, 2]) / np.diag(self.K)[:2]
        return np.column_stack([xy * z[:, None], z]), ok

    def estimate(self, current: View) -> PoseEstimate:
        kp, desc = self.orb.detectAndCompute(cv2.cvtColor(current.rgb, cv2.COLOR_RGB2GRAY), None)
        fail = PoseEstimate(False, np.zeros(3), 0, 0)
        if desc is None or self.goal_desc is None:
            return fail
        # Lowe's ratio test (0.8) keeps distinctive matches; a repeated texture gives ambiguous ones.
        pairs = [m for m in self.matcher.knnMatch(self.goal_desc, desc, k=2) if len(m) == 2]
        good = [a for a, b in pairs if a.distance < 0.8 * b.distance]
        if len(good) < 8:
            return PoseEstimate(False, np.zeros(3), 0, len(good))
        goal_uv = np.array([self.goal_kp[m.queryIdx].pt for m in good])
        cur_uv = np.array([kp[m.trainIdx].pt for m in good])
        pts, valid = self._backproject(goal_uv)
        if valid.sum() < 8:
            return PoseEstimate(False, np.zeros(3), 0, len(good))
        ok, rvec, tvec, inliers = cv2.solvePnPRansac(pts[valid], cur_uv[valid], self.K, None,
                                                     reprojectionError=2.0, iterationsCount=200,
                                                     flags=cv2.SOLVEPNP_ITERATIVE)  # fmt: skip
        if not ok or inliers is None or len(inliers) < 8:
            return PoseEstimate(False, np.zeros(3), 0 if inliers is None else len(inliers), len(good))
        idx = inliers[:, 0]
        rvec, tvec = cv2.solvePnPRefineLM(pts[valid][idx], cur_uv[valid][idx], self.K, None, rvec, tvec)
        T_cur_goal = np.eye(4)  # goal camera in the current camera
        T_cur_goal[:3, :3], T_cur_goal[:3, 3] = cv2.Rodrigues(rvec)[0], tvec.ravel()
        T = self.T_base_cam @ T_cur_goal @ np.linalg.inv(self.T_base_cam)
        return PoseEstimate(True, planar(T), len(idx), len(good))


@dataclass
class DockingCfg:
    gain: float = 0.8
    """Fraction of the estimated error driven per step (below 1: a base overshoots on a full step)."""
    pos_tol: float = 0.005
    yaw_tol: float = np.radians(0.5)
    max_iters: int = 15
    actuation_noise: float = 0.05
    """Relative error of each executed motion (wheel slip): what makes docking a loop, not one step."""


@dataclass
class DockingResult:
    converged: bool
    iterations: int
    final_pos_error: float  # m, true base to goal
    final_yaw_error: float  # rad
    history: list[np.ndarray] = field(default_factory=list)


def dock(camera: BaseCamera, goal_pose: np.ndarray, start_pose: np.ndarray, cfg: DockingCfg | None = None,
         rng: np.random.Generator | None = None) -> DockingResult:  # fmt: skip
    """Closed-loop docking from `start_pose` to the pose the goal view was taken at; the true poses are
    used only to report the error."""
    cfg = cfg or DockingCfg()
    rng = rng or np.random.default_rng(0)
    est = PnPEstimator(camera.view(goal_pose), camera.K, camera.T_base_cam)
    pose = np.asarray(start_pose, float).copy()
    history = [pose.copy()]
    converged, iterations = False, 0
    while iterations < cfg.max_iters:
        iterations += 1
        e = est.estimate(camera.view(pose))
        if not e.ok:
            break
        if np.linalg.norm(e.delta[:2]) < cfg.pos_tol and abs(e.delta[2]) < cfg.yaw_tol:
            converged = True
            break
        step = cfg.gain * e.delta * (1 + cfg.actuation_noise * rng.standard_normal(3))
        pose = planar(se2(pose) @ se2(step))  # the step is in the base's own frame
        history.append(pose.copy())
    err = planar(np.linalg.inv(se2(goal_pose)) @ se2(pose))
    return DockingResult(converged, iterations, float(np.linalg.norm(err[:2])), float(abs(err[2])), history)
