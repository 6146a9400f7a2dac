"""Ship a tracking policy's reference motion: motion.npz beside policy.json, and the anchor chain in its extra.

The deploy runtime (motion_reference.py) runs without MuJoCo, so everything it needs from the robot model is
computed here, once, on the training model: every body's position per frame (for sim2sim's MPJPE), the
anchor body's pose, joint velocities, and the kinematic chain from the IMU body to the anchor (body offsets
and hinge axes) with which the runtime turns the IMU's orientation and the joint angles into the anchor's.

A task opts in by giving its reference command term a `deploy_reference()` method returning the reference as
the env preprocessed it (so the deploy side sees exactly the training reference): `fps`, `clip_names`,
`clip_starts` (C + 1 frame offsets), `joint_names`, `joint_pos`/`joint_vel` [T, J], `root_pos` [T, 3],
`root_quat` [T, 4] (w first), `body_names`, `body_pos` [T, B, 3], `body_quat` [T, B, 4] (tracked bodies, world)
and `anchor_body` (one of the bodies). The exporter never looks at task names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from robolearn.atomic import save_npz
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


def motion_arrays(model: mujoco.MjModel, ref: dict[str, Any], joints: list[str]) -> dict[str, np.ndarray]:
    """The fields of motion.npz from a `deploy_reference()` mapping: joints in the policy's order, the anchor's
    pose, and the training model's full qpos per frame (for rendering the reference)."""
    names = [str(n) for n in ref["joint_names"]]
    missing = [j for j in joints if j not in names]
    if missing:
        raise PolicySpecError(f"deploy_reference: field 'joint_names' lacks the policy's joints {missing}")
    cols = [names.index(j) for j in joints]
    bodies = [str(b) for b in ref["body_names"]]
    anchor = str(ref["anchor_body"])
    if anchor not in bodies:
        raise PolicySpecError(
            f"deploy_reference: field 'anchor_body' {anchor!r} is not one of body_names {bodies}"
        )
    a = bodies.index(anchor)
    joint_pos = np.asarray(ref["joint_pos"], dtype=np.float64)[:, cols]
    qpos = np.tile(model.qpos0, (len(joint_pos), 1))
    qpos[:, 0:3], qpos[:, 3:7] = np.asarray(ref["root_pos"]), np.asarray(ref["root_quat"])
    qpos[:, [model.joint(j).qposadr[0] for j in joints]] = joint_pos
    body_pos, body_quat = (
        np.asarray(ref["body_pos"], dtype=np.float64),
        np.asarray(ref["body_quat"], dtype=np.float64),
    )
    return {
        "format": np.array(MOTION_FORMAT), "fps": np.float64(ref["fps"]),
        "clip_names": np.array([str(c) for c in ref["clip_names"]]),
        "clip_starts": np.asarray(ref["clip_starts"], dtype=np.int64), "joint_names": np.array(joints),
        "joint_pos": joint_pos, "joint_vel": np.asarray(ref["joint_vel"], dtype=np.float64)[:, cols],
        "anchor_pos": body_pos[:, a], "anchor_quat": body_quat[:, a], "body_names": np.array(bodies),
        "body_pos": body_pos, "qpos": qpos,
    }  # fmt: skip


def write_motion(env: Any, meta: PolicyMetadata, out_dir: Path) -> bool:
    """Write motion.npz into `out_dir` and name it in meta.extra when the env tracks a reference motion."""
    source = reference_source(env)
    if source is None:
        return False
    model = env.scene.model
    anchor = str(source["anchor_body"])
    arrays: dict[str, Any] = motion_arrays(model, source, meta.joint_names)
    save_npz(out_dir / MOTION_FILE, arrays)
    meta.extra["motion"] = {
        "file": MOTION_FILE,
        "format": MOTION_FORMAT,
        "anchor_body": anchor,
        "anchor_chain": anchor_chain(model, meta.base_body, anchor, meta.joint_names),
        # An action term whose targets are offsets from the reference (cfg.residual) replaces action_offset.
        "residual_action": any(
            bool(getattr(t.cfg, "residual", False)) for t in env.action_manager.terms.values()
        ),
        "clips": [str(n) for n in arrays["clip_names"]],
        "duration_s": [
            float((e - s - 1) / arrays["fps"])
            for s, e in zip(arrays["clip_starts"][:-1], arrays["clip_starts"][1:], strict=True)
        ],  # fmt: skip
    }
    return True
