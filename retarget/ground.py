"""Ground contact of a solved clip: the feet's collision points, their lowest height, and the floor fix."""

from __future__ import annotations

import mujoco
import numpy as np


def foot_contact_points(
    model: mujoco.MjModel, feet: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(body ids, local points, radii) of the feet's collision geometry: sphere centres, capsule end
    centres, box corners; a point touches the floor when its height equals its radius."""
    bodies, pts, radii = [], [], []
    for g in range(model.ngeom):
        body = model.geom_bodyid[g]
        if model.body(body).name not in feet or not (model.geom_contype[g] or model.geom_conaffinity[g]):
            continue
        pos, size, typ = model.geom_pos[g], model.geom_size[g], model.geom_type[g]
        rot_flat = np.zeros(9)
        mujoco.mju_quat2Mat(rot_flat, model.geom_quat[g])
        rot = rot_flat.reshape(3, 3)
        if typ == mujoco.mjtGeom.mjGEOM_SPHERE:
            local = [(np.zeros(3), size[0])]
        elif typ == mujoco.mjtGeom.mjGEOM_CAPSULE:
            local = [(np.array([0, 0, s * size[1]]), size[0]) for s in (-1, 1)]
        elif typ == mujoco.mjtGeom.mjGEOM_BOX:
            local = [(np.array([a, b, c]) * size, 0.0) for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)]
        else:
            continue  # meshes: feet in menagerie humanoids use primitives for contact
        for p, r in local:
            bodies.append(body)
            pts.append(pos + rot @ p)
            radii.append(r)
    return np.array(bodies), np.array(pts), np.array(radii)


def lowest_foot_height(model: mujoco.MjModel, qpos: np.ndarray, feet: tuple[str, ...]) -> np.ndarray:
    """Per frame, the height of the lowest point of the feet's collision geometry [T] (negative = in floor)."""
    bodies, pts, radii = foot_contact_points(model, feet)
    data = mujoco.MjData(model)
    out = np.zeros(len(qpos))
    for t, q in enumerate(qpos):
        data.qpos[:] = q
        mujoco.mj_kinematics(model, data)
        world = np.einsum("nij,nj->ni", data.xmat[bodies].reshape(-1, 3, 3), pts) + data.xpos[bodies]
        out[t] = np.min(world[:, 2] - radii)
    return out


def ground_fix(model: mujoco.MjModel, qpos: np.ndarray, feet: tuple[str, ...]) -> tuple[np.ndarray, float]:
    """Shift the clip so the lowest foot rests on the floor, then lift any frame that still penetrates.

    The floor level is the 5th percentile of per-frame lowest-foot heights: that is the stance foot in
    walks and the landing in jumps, so flights stay in the air and mocap floor offsets are removed.
    """
    qpos = qpos.copy()
    low = lowest_foot_height(model, qpos, feet)
    shift = -float(np.percentile(low, 5))
    qpos[:, 2] += shift + np.maximum(-(low + shift), 0.0)
    return qpos, shift
