"""Offscreen rendering of chosen worlds and mp4 writing.

The GL backend is picked when the first renderer is made (robolearn.gl): a display -> glfw,
else OSMesa (software; `apt-get install libosmesa6`), else EGL; MUJOCO_GL set by the user wins. Frames use light settings (no shadows, reflections or skybox): in software
GL they cost a fraction of the default look.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from robolearn.gl import ensure_gl


class WorldRenderer:
    """Renders worlds of a sim backend by copying their state into one host MjData."""

    def __init__(self, model: mujoco.MjModel, width: int = 320, height: int = 240, viewer: Any = None):
        self.model = copy.deepcopy(model)  # per-world geometry is written into it
        self.data = mujoco.MjData(model)
        ensure_gl()
        try:
            self.renderer = mujoco.Renderer(model, height=height, width=width)
        except Exception as exc:
            raise RuntimeError(
                f"offscreen rendering failed with MUJOCO_GL={os.environ.get('MUJOCO_GL')!r}: {exc}. "
                "On a headless machine install OSMesa (apt-get install libosmesa6) and set MUJOCO_GL=osmesa, "
                "or MUJOCO_GL=egl where a GPU exists."
            ) from exc
        self.camera = mujoco.MjvCamera()
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        if viewer is None:
            from robolearn.core.cfg import ViewerCfg

            viewer = ViewerCfg()
        self.viewer = viewer
        self.camera.distance, self.camera.elevation = viewer.distance, viewer.elevation
        self.camera.azimuth = viewer.azimuth
        self.options = mujoco.MjvOption()
        scene_flags = self.renderer.scene.flags
        scene_flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        scene_flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        scene_flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = 0

    def render_state(self, qpos: np.ndarray, qvel: np.ndarray | None = None, track_body: int = 1,
                     geometry: dict[str, np.ndarray] | None = None,
                     decorate: Callable[[mujoco.MjvScene], None] | None = None) -> np.ndarray:  # fmt: skip
        """One frame of a world's state; `geometry` holds that world's own values of geometry fields
        (`RENDERED_FIELDS`, e.g. a button moved per world), laid over the model's. `decorate` adds drawing-only
        geoms to the frame's scene (a reference skeleton beside the robot)."""
        for name, value in (geometry or {}).items():
            getattr(self.model, name)[:] = value
        self.data.qpos[:] = qpos
        if qvel is not None:
            self.data.qvel[:] = qvel
        mujoco.mj_forward(self.model, self.data)
        self.camera.lookat[:] = self.data.xpos[track_body]
        if self.viewer.heading_relative:
            x_axis = self.data.xmat[track_body].reshape(3, 3)[:, 0]
            heading = np.degrees(np.arctan2(x_axis[1], x_axis[0]))
            self.camera.azimuth = heading + self.viewer.azimuth
        self.renderer.update_scene(self.data, self.camera, self.options)
        if decorate is not None:
            decorate(self.renderer.scene)
        scene_flags = self.renderer.scene.flags
        scene_flags[mujoco.mjtRndFlag.mjRND_SHADOW] = 0
        scene_flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = 0
        scene_flags[mujoco.mjtRndFlag.mjRND_SKYBOX] = 0
        return self.renderer.render().copy()

    def close(self) -> None:
        self.renderer.close()


def tile(frames: Sequence[np.ndarray], cols: int | None = None) -> np.ndarray:
    """Arrange equally sized frames in a grid."""
    n = len(frames)
    cols = cols or int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    h, w, c = frames[0].shape
    grid = np.zeros((rows * h, cols * w, c), dtype=frames[0].dtype)
    for i, f in enumerate(frames):
        r, k = divmod(i, cols)
        grid[r * h : (r + 1) * h, k * w : (k + 1) * w] = f
    return grid


class VideoWriter:
    """mp4 (H.264) through imageio-ffmpeg; written to a temp file and renamed on close."""

    def __init__(self, path: str | os.PathLike[str], fps: float):
        import imageio_ffmpeg

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.stem}.tmp{self.path.suffix}")
        self.fps = fps
        self._gen: Any = None
        self._imageio_ffmpeg = imageio_ffmpeg
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        if self._gen is None:
            h, w = frame.shape[:2]
            gen = self._imageio_ffmpeg.write_frames(
                str(self._tmp), (w, h), fps=self.fps, codec="libx264", pix_fmt_out="yuv420p",
                macro_block_size=8, quality=7, ffmpeg_log_level="error",
            )  # fmt: skip
            gen.send(None)
            self._gen = gen
        self._gen.send(np.ascontiguousarray(frame))
        self.frames += 1

    def close(self) -> Path:
        if self._gen is None:
            raise RuntimeError(f"no frames were written to {self.path}")
        self._gen.close()  # flushes and closes ffmpeg
        os.replace(self._tmp, self.path)
        return self.path


RENDERED_FIELDS = ("geom_pos", "geom_size")
"""Per-world model fields that change what a frame shows."""


def _world_geometry(env: Any, world: int) -> dict[str, np.ndarray]:
    fields = env.sim.per_world_fields()
    return {k: v[world].cpu().numpy() for k, v in fields.items() if k in RENDERED_FIELDS}


def render_env_video(env, policy: Callable, path: str | os.PathLike[str], steps: int = 150, worlds: int = 4,
                     every: int = 2, width: int = 320, height: int = 240, progress: bool = True) -> Path:  # fmt: skip
    """Run `policy(obs_dict) -> actions` on `env` for `steps` and write a tiled mp4 of its first worlds."""
    import torch
    from rich.progress import Progress

    worlds = min(worlds, env.num_envs)
    renderer = WorldRenderer(env.scene.model, width, height, getattr(env.cfg, "viewer", None))
    writer = VideoWriter(path, fps=1.0 / (env.step_dt * every))
    obs = env.obs_buf
    base = env.camera_body
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"rendering {Path(path).name}", total=steps)
        for t in range(steps):
            with torch.no_grad():
                obs, *_ = env.step(policy(obs))
            if t % every == 0:
                qpos, qvel = env.sim.qpos.cpu().numpy(), env.sim.qvel.cpu().numpy()
                frames = [
                    renderer.render_state(qpos[i], qvel[i], base, _world_geometry(env, i))
                    for i in range(worlds)
                ]
                writer.write(tile(frames))
            bar.advance(task)
    renderer.close()
    return writer.close()


def frame_strip(video: str | os.PathLike[str], out: str | os.PathLike[str], count: int = 6) -> Path:
    """`count` evenly spaced frames of an mp4 side by side in one PNG: a video's gist where a video cannot go
    (a README, a closing note). Written to a temp file, then renamed."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    if total <= 0:
        raise ValueError(f"{video}: no frames to read")
    frames = []
    for i in np.linspace(0, total - 1, count).astype(int):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
        ok, frame = cap.read()
        if ok:
            frames.append(frame)
    cap.release()
    out = Path(out)
    tmp = out.with_name(out.stem + ".tmp.png")
    cv2.imwrite(str(tmp), np.concatenate(frames, axis=1))
    tmp.replace(out)
    return out
