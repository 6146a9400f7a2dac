"""mp4 of the robot playing a clip beside the scaled human skeleton (offscreen MuJoCo, light settings)."""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np

from robolearn.atomic import atomic_path
from robolearn.robots import robot_spec

from .clip import MotionClip
from .skeleton import BODY_PARENTS, BODY_POINTS


def scene_model(robot: str) -> mujoco.MjModel:
    """The robot on a floor under one light: what the retarget video renders."""
    spec = robot_spec(robot)
    spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0, 0, 0.05], rgba=[0.8, 0.8, 0.8, 1])
    spec.worldbody.add_light(pos=[0, 0, 4], dir=[0, 0, -1], castshadow=False)
    return spec.compile()


def render_clip(
    clip: MotionClip,
    path: str | Path,
    human_points: np.ndarray | None = None,
    width: int = 480,
    height: int = 320,
    human_offset: tuple[float, float, float] = (0.0, 1.0, 0.0),
    progress=None,
) -> Path:
    """Write an mp4 (atomically). The human skeleton (if given, [T, P, 3] in BODY_POINTS order) is drawn
    as capsules, shifted by `human_offset` so both stand side by side."""
    import imageio_ffmpeg

    from robolearn.gl import ensure_gl

    ensure_gl()
    path = Path(path)
    model = scene_model(clip.robot)
    model.vis.quality.shadowsize = 0
    data = mujoco.MjData(model)
    renderer = mujoco.Renderer(model, height, width)
    cam = mujoco.MjvCamera()
    cam.distance, cam.elevation, cam.azimuth = 3.5, -15.0, 180.0
    offset = np.array(human_offset)
    try:
        with atomic_path(path, suffix=".tmp.mp4") as tmp:  # ffmpeg picks the container by the name
            writer = imageio_ffmpeg.write_frames(str(tmp), (width, height), fps=clip.fps, macro_block_size=1,
                                                 quality=6)  # fmt: skip
            writer.send(None)
            try:
                for t in range(clip.num_frames):
                    data.qpos[: clip.qpos.shape[1]] = clip.qpos[t]
                    mujoco.mj_kinematics(model, data)
                    root = clip.qpos[t, :3] if clip.has_root else np.zeros(3)
                    cam.lookat[:] = root + offset / 2 + np.array([0, 0, 0.0 if clip.has_root else 0.1])
                    renderer.update_scene(data, cam)
                    if human_points is not None:
                        add_skeleton(renderer.scene, human_points[min(t, len(human_points) - 1)] + offset)
                    writer.send(np.ascontiguousarray(renderer.render()))
                    if progress is not None:
                        progress(t)
            finally:
                writer.close()
    finally:
        renderer.close()
    return path


def add_skeleton(scene: mujoco.MjvScene, pts: np.ndarray) -> None:
    """Capsules between the BODY_POINTS of one frame `pts` [P, 3] (NaN points skipped), added to `scene`."""
    for child, parent in BODY_PARENTS.items():
        if parent is None:
            continue
        a, b = pts[BODY_POINTS.index(parent)], pts[BODY_POINTS.index(child)]
        if not (np.isfinite(a).all() and np.isfinite(b).all()) or scene.ngeom >= scene.maxgeom:
            continue
        g = scene.geoms[scene.ngeom]
        mujoco.mjv_initGeom(
            g,
            mujoco.mjtGeom.mjGEOM_CAPSULE,
            np.zeros(3),
            np.zeros(3),
            np.eye(3).ravel(),
            np.array([0.9, 0.4, 0.1, 1.0], dtype=np.float32),
        )
        mujoco.mjv_connector(g, mujoco.mjtGeom.mjGEOM_CAPSULE, 0.02, a, b)
        scene.ngeom += 1
