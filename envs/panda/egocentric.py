"""The egocentric camera of a human VR demo: the headset's view of the table, the task's objects and the
human hand (its 26 tracked joints as skin-coloured spheres, 2 more along each bone), with no robot in the
scene. Frames are rendered from the recorded head pose, objects at their recorded poses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mujoco
import numpy as np

from robolearn.entities import EntityCfg, MarkerEntityCfg
from robolearn.envs.panda.scene import table_entity
from robolearn.envs.panda.tasks import PandaTaskCfg
from robolearn.gl import ensure_gl
from robolearn.scene import SceneCfg, build_scene
from robolearn.terrain import TerrainCfg

if TYPE_CHECKING:
    from robolearn.envs.panda.human import HumanDemo

BONES = [(1, 2), (2, 3), (3, 4), (4, 5)] + [(1, b) for b in (6, 11, 16, 21)] + [
    (b + i, b + i + 1) for b in (6, 11, 16, 21) for i in range(4)
]
"""OpenXR joint pairs drawn as bones: wrist -> thumb chain, wrist -> each metacarpal, each finger chain."""
SKIN = (0.87, 0.68, 0.56, 1.0)


def hand_scene(cfg: PandaTaskCfg) -> mujoco.MjModel:
    """Table + the task's objects + hand markers (26 joints, then 2 per bone); no robot."""
    ents: dict[str, EntityCfg] = {"table": table_entity(), **cfg.objects}
    for k in range(26 + 2 * len(BONES)):
        ents[f"h{k}"] = MarkerEntityCfg(radius=0.009 if k < 26 else 0.007, rgba=SKIN)
    return build_scene(SceneCfg(robot="", fast_model=False, terrain=TerrainCfg(kind="none"), entities=ents)).model


def hand_markers(joints: np.ndarray) -> np.ndarray:
    """[26 + 2 * bones, 3] the joints, then points at 1/3 and 2/3 of each bone."""
    mids = [joints[a] + f * (joints[b] - joints[a]) for a, b in BONES for f in (1 / 3, 2 / 3)]
    return np.concatenate([joints, np.array(mids)])


def render_egocentric(cfg: PandaTaskCfg, demo: HumanDemo, env_state: np.ndarray, frames: list[int],
                      size: tuple[int, int] = (48, 64), model: mujoco.MjModel | None = None) -> np.ndarray:  # fmt: skip
    """[len(frames), H, W, 3] uint8 headset views at the given recording frames. `env_state` [T_r, 9] is the
    objects' recorded state at the robot rate (object pose, target xy), looked up at the matching time."""
    model = model or hand_scene(cfg)
    data = mujoco.MjData(model)
    ensure_gl()
    h, w = size
    renderer = mujoco.Renderer(model, height=h, width=w)
    free = model.jnt_qposadr[model.joint(f"{cfg.primary}/free").id] if f"{cfg.primary}/free" in _joints(model) else None
    from robolearn.envs.panda.human import HUMAN_SPEEDUP
    from robolearn.envs.panda.scene import CONTROL_DT

    out = []
    for f in frames:
        r = min(len(env_state) - 1, int(round(f / demo.fps * HUMAN_SPEEDUP / CONTROL_DT)))
        if free is not None:
            data.qpos[free : free + 7] = env_state[r, :7]
        if cfg.target:
            body = model.body(f"{cfg.target}/body")
            if model.body_mocapid[body.id] >= 0:
                data.mocap_pos[model.body_mocapid[body.id]] = [*env_state[r, 7:9], cfg.target_z]
        for k, p in enumerate(hand_markers(demo.hand[f])):
            data.mocap_pos[model.body_mocapid[model.body(f"h{k}/body").id]] = p
        mujoco.mj_forward(model, data)
        head = demo.head[f]
        fwd = head[:3, 0]
        cam = mujoco.MjvCamera()
        cam.type = mujoco.mjtCamera.mjCAMERA_FREE
        cam.distance = 0.6
        cam.lookat[:] = head[:3, 3] + cam.distance * fwd
        cam.azimuth = float(np.degrees(np.arctan2(fwd[1], fwd[0])))
        cam.elevation = float(np.degrees(np.arcsin(np.clip(fwd[2], -1, 1))))
        renderer.update_scene(data, camera=cam)
        out.append(renderer.render().copy())
    renderer.close()
    return np.stack(out)


def _joints(model: mujoco.MjModel) -> set[str]:
    return {model.joint(i).name for i in range(model.njnt)}
