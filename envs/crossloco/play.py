"""Go2-CrossLoco's play video: each world's robot with the human skeleton it follows drawn beside it.

The skeleton is the clip's body points at robot size (the features file's `skeleton`), placed in the same
floor frame as the reference root and shifted by `SKELETON_OFFSET` so the two stand side by side in the frame.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import mujoco
import numpy as np
import torch

from robolearn.core import EnvCfg
from robolearn.envs.crossloco.command import HUMAN, HumanCommand, HumanCommandCfg
from robolearn.render import VideoWriter, WorldRenderer, tile

SKELETON_OFFSET = np.array([-0.7, 0.0, 0.0])
"""m: where the skeleton is drawn relative to the reference's own floor position: along world x, which the
task's side camera (azimuth 90, looking along +y) shows as beside the robot; along y it hid behind it."""
BONE_RGBA = np.array([0.95, 0.55, 0.15, 1.0], dtype=np.float32)


def skeleton_drawer(points: np.ndarray, bones: np.ndarray, offset: np.ndarray = SKELETON_OFFSET,
                    width: float = 0.012) -> Callable[[mujoco.MjvScene], None]:  # fmt: skip
    """A `WorldRenderer.render_state(decorate=...)` callback drawing bones as capsules and joints as spheres."""
    pts = np.asarray(points, dtype=np.float64) + offset

    def draw(scene: mujoco.MjvScene) -> None:
        for a, b in bones:
            if scene.ngeom >= scene.maxgeom:
                return
            g = scene.geoms[scene.ngeom]
            mujoco.mjv_initGeom(g, mujoco.mjtGeom.mjGEOM_CAPSULE, np.zeros(3), np.zeros(3), np.eye(3).ravel(),
                                BONE_RGBA)  # fmt: skip
            mujoco.mjv_connector(g, mujoco.mjtGeom.mjGEOM_CAPSULE, width, pts[a], pts[b])
            scene.ngeom += 1
        for p in pts:
            if scene.ngeom >= scene.maxgeom:
                return
            g = scene.geoms[scene.ngeom]
            mujoco.mjv_initGeom(g, mujoco.mjtGeom.mjGEOM_SPHERE, np.full(3, 1.6 * width), p, np.eye(3).ravel(),
                                BONE_RGBA)  # fmt: skip
            scene.ngeom += 1

    return draw


def human_skeletons(term: HumanCommand) -> list[np.ndarray]:
    """Per world, the skeleton points [P, 3] of its current frame (floor frame of the reference root)."""
    frames = term.frame.cpu().numpy()
    return [term.ref.skeleton[f] for f in frames]


def render_with_skeleton(env: Any, act: Callable, steps: int, worlds: list[int], skeletons: Callable[[], list],
                         bones: np.ndarray, every: int = 2, size: tuple[int, int] = (320, 240)) -> list[np.ndarray]:  # fmt: skip
    """Frames (tiled over `worlds`) of `steps` policy steps; `skeletons()` gives each world's points now."""
    renderer = WorldRenderer(env.scene.model, size[0], size[1], getattr(env.cfg, "viewer", None))
    out, obs = [], env.obs_buf
    try:
        for t in range(steps):
            with torch.no_grad():
                obs, *_ = env.step(act(obs))
            if t % every:
                continue
            qpos, qvel = env.sim.qpos.cpu().numpy(), env.sim.qvel.cpu().numpy()
            sk = skeletons()
            out.append(tile([renderer.render_state(qpos[i], qvel[i], env.camera_body,
                                                   decorate=skeleton_drawer(sk[i], bones)) for i in worlds]))  # fmt: skip
    finally:
        renderer.close()
    return out


def crossloco_play(env_cfg: EnvCfg, policy: Any, path: Path, seed: int, steps: int = 250) -> Path:
    """`robolearn play`: two worlds from the first frames of two clips, robot and human skeleton side by side."""
    import dataclasses

    cmds = dict(env_cfg.commands)
    human = cmds[HUMAN]
    assert isinstance(human, HumanCommandCfg), type(human)
    cmds[HUMAN] = dataclasses.replace(human, split="all", start="first")
    cfg = dataclasses.replace(env_cfg, commands=cmds, num_envs=2, seed=seed)
    env, act = policy(cfg)
    term: HumanCommand = env.command_manager.get_term(HUMAN)
    term.recording = False
    env.reset(seed=seed)
    frames = render_with_skeleton(env, act, steps, [0, 1], lambda: human_skeletons(term), term.ref.bones)
    writer = VideoWriter(path, fps=1.0 / (env.step_dt * 2))
    for f in frames:
        writer.write(f)
    return writer.close()
