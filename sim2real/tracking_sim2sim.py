"""sim2sim of a motion-tracking policy: the deploy runtime on the full robot model, the reference advancing.

Each episode plays one clip of the policy's motion.npz from its first frame: the simulated robot starts on
that frame (reference state initialization at phase 0), the runtime computes the reference terms from the
shipped motion as it would on the robot, and the episode ends with the clip or at a failure. Failures are
the tracking task's: a fall (tilt past FALL_TILT or the trunk on the ground), a safety e-stop, or the anchor
body's height off the reference's by more than ANCHOR_HEIGHT_LIMIT. Errors are measured on ground truth
(MuJoCo body positions against the reference's, in the aligned frame): MPJPE and root-relative MPJPE (the
anchor's position subtracted from both) over the reference's bodies, in mm, like `robolearn eval`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from robolearn.atomic import save_npz
from robolearn.sim2real.deploy import Controller, DeployLoop, OnnxPolicy, constant_command
from robolearn.sim2real.motion_reference import MotionReference, load_reference, quat_to_matrix
from robolearn.sim2real.robot import Clock, VirtualClock, WallClock
from robolearn.sim2real.safety import SafetyLayer, check_action_scale
from robolearn.sim2real.schema import PolicySpecError
from robolearn.sim2real.sim2sim import FALL_TILT, Sim2SimCfg, _Recorder, make_sim_robot, policy_paths
from robolearn.sim2real.sim_robot import SimulatedRobot

ANCHOR_HEIGHT_LIMIT = 0.25
"""Anchor height error (m) that ends an episode: BeyondMimic's termination threshold for the anchor."""


class _TrackingMonitor:
    """Per tick: ground-truth body errors against the reference, failures, and the states for a video."""

    def __init__(self, sim: SimulatedRobot, ref: MotionReference, record: bool):
        self.sim, self.ref = sim, ref
        model = sim.model
        missing = [b for b in ref.body_names if b not in {model.body(i).name for i in range(model.nbody)}]
        if missing:
            raise PolicySpecError(
                f"{ref.path}: bodies {missing} of the reference are not in the simulated model"
            )
        self.body_ids = [model.body(b).id for b in ref.body_names]
        self.anchor_id = model.body(ref.anchor_body).id
        self.anchor_col = ref.body_names.index(ref.anchor_body) if ref.anchor_body in ref.body_names else None
        self.errors: list[tuple[float, float, float]] = []
        self.states: list[np.ndarray] = [] if record else None  # type: ignore[assignment]
        self.failure = ""
        self.ticks = 0

    def __call__(self, loop: DeployLoop) -> bool:
        ref, d = self.ref, self.sim.data
        t = self.ticks * loop.controller.meta.control_period
        self.ticks += 1
        i = ref.frame(t)
        rot = quat_to_matrix(ref.align_q)
        ref_bodies = ref.body_pos[i] @ rot.T + ref.align_p
        ref_anchor, _ = ref.ref_anchor(t)
        sim_bodies, sim_anchor = d.xpos[self.body_ids], d.xpos[self.anchor_id]
        err = np.linalg.norm(sim_bodies - ref_bodies, axis=-1).mean()
        rel = np.linalg.norm((sim_bodies - sim_anchor) - (ref_bodies - ref_anchor), axis=-1).mean()
        self.errors.append((float(err), float(rel), float(np.linalg.norm(sim_anchor - ref_anchor))))
        if self.states is not None:
            self.states.append(d.qpos.copy())
        if self.sim.fallen(FALL_TILT):
            self.failure = "fell"
        elif loop.estopped:
            self.failure = f"e-stop: {loop.controller.safety.status.reason}"
        elif abs(sim_anchor[2] - ref_anchor[2]) > ANCHOR_HEIGHT_LIMIT:
            self.failure = f"anchor height off the reference by more than {ANCHOR_HEIGHT_LIMIT} m"
        return not self.failure


def start_state(sim: SimulatedRobot, ref: MotionReference) -> tuple[np.ndarray, np.ndarray]:
    """qpos/qvel of the simulated model on the clip's first frame (joints mapped by name)."""
    i = int(ref.clip_starts[ref.clip])
    model = sim.model
    qadr = [model.joint(n).qposadr[0] for n in sim.joint_names]
    vadr = [model.joint(n).dofadr[0] for n in sim.joint_names]
    qpos, qvel = sim.data.qpos.copy(), np.zeros(model.nv)
    qpos[:7] = ref.qpos[i, :7]
    qpos[qadr] = ref.joint_pos[i]
    qvel[vadr] = ref.joint_vel[i]
    if ref.num_frames > 1:
        qvel[:3] = (ref.qpos[i + 1, :3] - ref.qpos[i, :3]) * ref.fps
    return qpos, qvel


def run_tracking_sim2sim(policy: str | Path, cfg: Sim2SimCfg, states: Path | None = None,
                         progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:  # fmt: skip
    """Episodes cycle through the clips (episode k plays clip k mod clips); per-clip and overall figures.
    `states` (an .npz) receives the simulated qpos of each clip's first episode, for a video."""
    json_path, meta = policy_paths(policy)
    onnx = OnnxPolicy(json_path.with_name("policy.onnx"), meta)
    ref = load_reference(meta, json_path.parent, str(json_path))
    if ref is None:
        raise PolicySpecError(f"{json_path}: names no reference motion (extra.motion); not a tracking policy")
    n_clips = len(ref.clip_names)
    episodes: list[dict[str, Any]] = []
    recorded: dict[str, np.ndarray] = {}
    total = max(cfg.episodes, n_clips)
    for ep in range(total):
        ref.select(ep % n_clips)
        clock: Clock = WallClock() if cfg.realtime else VirtualClock()
        robot, sim = make_sim_robot(meta, cfg, clock, cfg.seed + ep)
        if ep == 0:
            check_action_scale(meta, robot.limits(), str(json_path))
        sim.reset(*start_state(sim, ref))
        controller = Controller(meta, onnx, SafetyLayer(meta, robot.limits(), cfg.safety), ref)
        loop = DeployLoop(robot, controller, clock, constant_command(np.zeros(len(meta.commands))))
        name = ref.clip_names[ref.clip]
        monitor = _TrackingMonitor(sim, ref, record=states is not None and name not in recorded)
        video = _Recorder(sim, cfg.video, meta.control_period) if (cfg.video and ep == 0) else None

        def tick(lp: DeployLoop, m: _TrackingMonitor = monitor, v: _Recorder | None = video) -> bool:
            if v is not None:
                v.frame()
            return m(lp)

        loop.run(ref.duration_s, tick)
        if video is not None:
            video.close()
        err = np.array(monitor.errors) if monitor.errors else np.full((1, 3), np.nan)
        episodes.append({"clip": name, "success": not monitor.failure, "time_s": monitor.ticks * meta.control_period,
                         "mpjpe_mm": 1e3 * float(err[:, 0].mean()), "root_mpjpe_mm": 1e3 * float(err[:, 1].mean()),
                         "anchor_pos_m": float(err[:, 2].mean()), "failure": monitor.failure})  # fmt: skip
        if monitor.states is not None:
            recorded[name] = np.stack(monitor.states) if monitor.states else np.zeros((0, sim.model.nq))
        if progress is not None:
            progress(ep + 1, total)
    if states is not None:
        _save_states(states, recorded)
    return {"side": "sim2sim", "latency_ms": cfg.latency_ms, "noise": cfg.noise, "model": cfg.model,
            "video": str(cfg.video) if cfg.video else None, **summarize(episodes), "per_clip": {c: summarize([e for e in episodes if e["clip"] == c])
                                                for c in ref.clip_names}, "episodes_detail": episodes}  # fmt: skip


def summarize(episodes: list[dict[str, Any]]) -> dict[str, Any]:
    def mean(key: str) -> float:
        return float(np.mean([e[key] for e in episodes])) if episodes else float("nan")

    return {"episodes": len(episodes), "success": mean("success"), "mpjpe_mm": mean("mpjpe_mm"),
            "root_mpjpe_mm": mean("root_mpjpe_mm"), "anchor_pos_m": mean("anchor_pos_m"),
            "mean_time_s": mean("time_s"), "failures": [e["failure"] for e in episodes if e["failure"]]}  # fmt: skip


def _save_states(path: Path, recorded: dict[str, np.ndarray]) -> None:
    save_npz(path, {f"qpos/{k}": v for k, v in recorded.items()})
