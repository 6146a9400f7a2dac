"""The side-by-side video of `robolearn imitate`: human skeleton | reference robot | tracking robot (sim2sim).

One row per clip, clips one after another; each panel's camera follows its own subject, so the three stay
centred while the motion travels. The tracking robot is the sim2sim run on the full model (its first episode
on the clip); where that episode failed early, its last pose is held.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import mujoco
import numpy as np

FLOOR_XML = """<mujoco><worldbody><light pos="0 0 4" dir="0 0 -1" castshadow="false"/>
<geom type="plane" size="0 0 0.05" rgba="0.8 0.8 0.8 1"/></worldbody></mujoco>"""
PANEL = (320, 240)
"""Width, height of one panel (software GL renders ~20 ms a frame at this size)."""
EVERY = 2
"""Render every other clip frame: 25 fps from 50 Hz clips, half the rendering time."""


class _Panel:
    def __init__(self, model: mujoco.MjModel):
        model.vis.quality.shadowsize = 0
        self.model, self.data = model, mujoco.MjData(model)
        self.renderer = mujoco.Renderer(model, PANEL[1], PANEL[0])
        self.cam = mujoco.MjvCamera()
        self.cam.distance, self.cam.elevation, self.cam.azimuth = 3.0, -15.0, 150.0

    def render(
        self, qpos: np.ndarray | None, lookat: np.ndarray, points: np.ndarray | None = None
    ) -> np.ndarray:
        from robolearn.retarget.video import add_skeleton

        if qpos is not None:
            n = min(len(qpos), self.model.nq)
            self.data.qpos[:n] = qpos[:n]
        mujoco.mj_kinematics(self.model, self.data)
        self.cam.lookat[:] = lookat
        self.renderer.update_scene(self.data, self.cam)
        if points is not None:
            add_skeleton(self.renderer.scene, points)
        return self.renderer.render()

    def close(self) -> None:
        self.renderer.close()


def side_by_side(run: Path, clips: list[str], out: Path,
                 progress: Callable[[int, int], None] | None = None) -> Path:  # fmt: skip
    """Write `out` (mp4, atomically) from the run's clips/, human/ and sim2sim_states.npz."""
    from robolearn.gl import ensure_gl
    from robolearn.render import VideoWriter
    from robolearn.retarget.clip import MotionClip
    from robolearn.retarget.video import scene_model

    ensure_gl()
    loaded = [MotionClip.load(run / c) for c in clips]
    with np.load(run / "sim2sim_states.npz") as d:
        states = {k.split("/", 1)[1]: d[k] for k in d.files}
    total = sum(len(range(0, c.num_frames, EVERY)) for c in loaded)
    robot = loaded[0].robot
    panels = [
        _Panel(mujoco.MjModel.from_xml_string(FLOOR_XML)),
        _Panel(scene_model(robot)),
        _Panel(scene_model(robot)),
    ]
    writer = VideoWriter(out, fps=loaded[0].fps / EVERY)
    done = 0
    try:
        for rel, clip in zip(clips, loaded, strict=True):
            name = Path(rel).stem
            with np.load(run / "human" / f"{name}.npz") as h:
                human = h["points"]
            sim = states.get(name)
            for t in range(0, clip.num_frames, EVERY):
                pts = human[min(t, len(human) - 1)]
                ref = clip.qpos[t]
                tracked = sim[min(t, len(sim) - 1)] if sim is not None and len(sim) else ref
                frame = np.concatenate([
                    panels[0].render(None, np.nanmean(pts, axis=0), pts),
                    panels[1].render(ref, ref[:3]),
                    panels[2].render(tracked, tracked[:3]),
                ], axis=1)  # fmt: skip
                writer.write(frame)
                done += 1
                if progress is not None:
                    progress(done, total)
        writer.close()
    finally:
        for p in panels:
            p.close()
    return out
