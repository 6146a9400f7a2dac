"""Ship a tracking policy's reference motion: motion.npz beside policy.json, and the anchor chain in its extra.

The deploy runtime (motion_reference.py) runs without MuJoCo, so everything it needs from the robot model is
computed here, once, on the training model: every body's position per frame (for sim2sim's MPJPE), the
anchor body's pose, joint velocities, and the kinematic chain from the IMU body to the anchor (body offsets
and hinge axes) with which the runtime turns the IMU's orientation and the joint angles into the anchor's.

A task opts in by giving its reference command term a `deploy_reference()` method returning a mapping with
`clips` (a list of {"name", "fps", "joint_names", "qpos" [T, 7 + J]}: root position, root quaternion w-first,
joint angles, as in a retargeted clip), `anchor_body` and optionally `body_names` (the tracked bodies); the
exporter never looks at task names.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from robolearn.sim2real.motion_reference import MOTION_FORMAT
from robolearn.sim2real.schema import PolicyMetadata, PolicySpecError

MOTION_FILE = "motion.npz"


def reference_source(env: Any) -> dict[str, Any] | None:
    """The env's reference motion description (a command term's `deploy_reference()`), or None."""
    for term in env.command_manager.terms.values():
        fn = getattr(term, "deploy_reference", None)
        if callable(fn):
            return dict(fn())
    return None


def anchor_chain(model: mujoco.MjModel, base_body: str, anchor_body: str, joints: list[str]) -> list[dict]:
    """Bodies from `base_body` (exclusive) down to `anchor_body`: pose in the parent and hinge, root first."""
    base, body = model.body(base_body).id, model.body(anchor_body).id
    links = []
    while body != base:
        if body == 0:
            raise PolicySpecError(f"anchor body {anchor_body!r} is not below the IMU body {base_body!r}")
        jnt = [j for j in range(model.njnt) if model.jnt_bodyid[j] == body]
        if len(jnt) > 1 or any(model.jnt_type[j] != mujoco.mjtJoint.mjJNT_HINGE for j in jnt):
            raise PolicySpecError(f"body {model.body(body).name!r} between IMU and anchor has joints other "
                                  "than one hinge; the deploy runtime's anchor chain supports hinges")  # fmt: skip
        name = model.joint(jnt[0]).name if jnt else None
        if name is not None and name not in joints:
            raise PolicySpecError(f"joint {name!r} between IMU and anchor is not one of the policy's joints")
        links.append({"body": model.body(body).name, "pos": model.body_pos[body].tolist(),
                      "quat": model.body_quat[body].tolist(), "joint": name,
                      "axis": model.jnt_axis[jnt[0]].tolist() if jnt else [0.0, 0.0, 1.0]})  # fmt: skip
        body = int(model.body_parentid[body])
    return links[::-1]


def motion_arrays(model: mujoco.MjModel, clips: list[dict[str, Any]], joints: list[str], anchor_body: str,
                  body_names: list[str]) -> dict[str, np.ndarray]:  # fmt: skip
    """FK of every clip on `model`: the fields of motion.npz (clips concatenated, `clip_starts` delimiting)."""
    data = mujoco.MjData(model)
    anchor = model.body(anchor_body).id
    bodies = [model.body(b).id for b in body_names]
    qadr = np.array([model.joint(j).qposadr[0] for j in joints])
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("joint_pos", "joint_vel", "anchor_pos", "anchor_quat",
                                                          "body_pos", "qpos")}  # fmt: skip
    starts, names, fps = [0], [], None
    for clip in clips:
        where, clip_fps, clip_q = clip["name"], float(clip["fps"]), np.asarray(clip["qpos"], dtype=np.float64)
        if fps is not None and clip_fps != fps:
            raise PolicySpecError(f"{where}: field 'fps' is {clip_fps:g}, the other clips' is {fps:g}")
        fps = clip_fps
        col = {n: 7 + i for i, n in enumerate(clip["joint_names"])}
        missing = [j for j in joints if j not in col]
        if missing:
            raise PolicySpecError(f"{where}: field 'joint_names' lacks the policy's joints {missing}")
        qpos = np.zeros((len(clip_q), model.nq))
        qpos[:, :7] = clip_q[:, :7]
        qpos[:, qadr] = clip_q[:, [col[j] for j in joints]]
        for q in qpos:
            data.qpos[:] = q
            mujoco.mj_kinematics(model, data)
            parts["anchor_pos"].append(data.xpos[anchor].copy())
            parts["anchor_quat"].append(data.xquat[anchor].copy())
            parts["body_pos"].append(data.xpos[bodies].copy())
        jp = qpos[:, qadr]
        parts["joint_pos"].append(jp)
        parts["joint_vel"].append(np.gradient(jp, 1.0 / clip_fps, axis=0) if len(jp) > 1 else np.zeros_like(jp))
        parts["qpos"].append(qpos)
        starts.append(starts[-1] + len(qpos))
        names.append(str(clip["name"]))
    out = {k: np.asarray(np.concatenate(v) if k in ("joint_pos", "joint_vel", "qpos") else np.stack(v))
           for k, v in parts.items()}  # fmt: skip
    return {**out, "fps": np.float64(fps), "clip_names": np.array(names), "clip_starts": np.array(starts),
            "joint_names": np.array(joints), "body_names": np.array(body_names), "format": np.array(MOTION_FORMAT)}  # fmt: skip


def write_motion(env: Any, meta: PolicyMetadata, out_dir: Path) -> bool:
    """Write motion.npz into `out_dir` and name it in meta.extra when the env tracks a reference motion."""
    source = reference_source(env)
    if source is None:
        return False
    model = env.scene.model
    anchor = str(source["anchor_body"])
    bodies = list(source.get("body_names") or [model.body(b).name for b in range(1, model.nbody)])
    arrays = motion_arrays(model, list(source["clips"]), meta.joint_names, anchor, bodies)
    out_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".motion.", suffix=".npz.tmp", dir=out_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, out_dir / MOTION_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    meta.extra["motion"] = {
        "file": MOTION_FILE,
        "format": MOTION_FORMAT,
        "anchor_body": anchor,
        "anchor_chain": anchor_chain(model, meta.base_body, anchor, meta.joint_names),
        "clips": [str(n) for n in arrays["clip_names"]],
        "duration_s": [float((e - s - 1) / arrays["fps"]) for s, e in zip(arrays["clip_starts"][:-1],
                                                                            arrays["clip_starts"][1:], strict=True)],  # fmt: skip
    }
    return True
