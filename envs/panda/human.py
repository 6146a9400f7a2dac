"""A simulated human demonstrator in VR: a free-floating, human-proportioned hand (kinematic) that performs a
Panda task along the task's keyposes, recorded as a headset reports it.

What makes it human rather than the robot expert: the hand moves at human speed (the keypose schedule
compressed by ~2.25 with a per-demo speed factor), with minimum-jerk segments, jittered keypose and grasp
timing, physiological tremor (8-12 Hz, ~1 mm) and slow postural drift (~5 mm); its fingers are a human's
(26 OpenXR joints of a ~19 cm hand, scaled per demo) curling in a power grasp or a hook; the head wanders.

The recording is what an OpenXR app logs: the headset pose and 26 hand joints per frame at the tracking
rate (world frame; retarget/sources/openxr.save_openxr writes the file). Objects: the hand is kinematic, so
what it does to the objects comes from physics: the same wrist trajectory (slowed to the robot's speed) is
played through the simulated LEAP hand, and the demo is kept only if the task succeeds. That rollout's
object poses are the demo's observations; its robot actions are never part of the human data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from robolearn.envs.manipulation.keyposes import Keypose
from robolearn.envs.panda.scene import CAMERA_PITCH, CAMERA_POS, FLANGE_TO_EE, HUMAN_WRIST_IN_EE
from robolearn.envs.panda.tasks import PandaTaskCfg
from robolearn.envs.panda.trajectory import minimum_jerk, sample, world_knots

HEADSET_FPS = 30.0
"""Quest hand tracking reports at 30 Hz (60 in high-frequency mode)."""
HUMAN_SPEEDUP = 2.25
"""Humans demonstrate ~2.25x faster than the robot expert's schedule (MotionTrans' time-stretch factor)."""
TREMOR_MM = 1.0
DRIFT_MM = 5.0

# The open right hand in its wrist frame (x toward the thumb, y the back of the hand, z along the fingers),
# metres, an adult hand ~19 cm long: knuckle (MCP) positions and phalanx lengths per finger.
KNUCKLES = {"index": (0.024, 0.0, 0.088), "middle": (0.0, 0.0, 0.093), "ring": (-0.018, 0.0, 0.088),
            "little": (-0.035, 0.0, 0.078)}  # fmt: skip
METACARPAL_BASE = {"index": (0.014, 0.0, 0.02), "middle": (0.003, 0.0, 0.02), "ring": (-0.009, 0.0, 0.02),
                   "little": (-0.02, 0.0, 0.016)}  # fmt: skip
PHALANGES = {"index": (0.040, 0.024, 0.020), "middle": (0.045, 0.028, 0.022), "ring": (0.042, 0.026, 0.021),
             "little": (0.032, 0.019, 0.018)}  # fmt: skip
THUMB_OPEN = np.array([[0.02, 0.0, 0.015], [0.045, -0.02, 0.042], [0.062, -0.027, 0.07], [0.072, -0.03, 0.095]])
THUMB_CLOSED = np.array([[0.02, 0.0, 0.015], [0.04, -0.035, 0.045], [0.03, -0.05, 0.07], [0.012, -0.055, 0.085]])
"""Thumb metacarpal base, proximal, distal joints and tip, open and opposed (toward the index pad). The
middle knuckle on the z axis, the thumb's base and the knuckles in the y = 0 plane: the model's axes are the
robot-like wrist frame its keypoints give (retarget/motiontrans.wrist_frame), curled or not."""
CURL = {"closed": (1.2, 1.5, 0.9), "hook": (0.3, 1.6, 1.1)}
"""MCP, PIP, DIP flexion (rad) of a fully closed power grasp and of a hook."""


def hand_points(curl: float, style: str = "closed", scale: float = 1.0) -> np.ndarray:
    """[26, 3] OpenXR joint positions of a right hand in its wrist frame, fingers curled by `curl` in [0, 1]."""
    out = np.zeros((26, 3))
    angles = np.array(CURL[style]) * curl
    for k, finger in enumerate(("index", "middle", "ring", "little")):
        base = 6 + 5 * k
        out[base] = METACARPAL_BASE[finger]
        p, d, theta = np.array(KNUCKLES[finger]), np.array([0.0, 0.0, 1.0]), 0.0
        out[base + 1] = p
        for j, length in enumerate(PHALANGES[finger]):
            theta += angles[j]  # flexion turns the finger toward the palm (-y) about x
            d = np.array([0.0, -np.sin(theta), np.cos(theta)])
            p = p + length * d
            out[base + 2 + j] = p
    thumb_curl = curl if style == "closed" else 0.2 * curl
    out[2:6] = (1 - thumb_curl) * THUMB_OPEN + thumb_curl * THUMB_CLOSED
    out[0] = (out[7] + out[22]) / 2 * np.array([1.0, 1.0, 0.55])  # palm centre, halfway up the metacarpals
    return out * scale


@dataclass
class HumanDemo:
    """One simulated VR demonstration (world frame, robot convention) and the layout it was performed on."""

    layout: np.ndarray
    fps: float
    head: np.ndarray
    """[T, 4, 4] headset poses (x forward, y left, z up)."""
    hand: np.ndarray
    """[T, 26, 3] right-hand OpenXR joints."""
    grasp: list[tuple[float, float]]
    """Seconds during which the hand holds or hooks the object (the annotations a labeller would add)."""
    ee: np.ndarray
    """[T, 4, 4] the robot-EE pose the wrist stands for (what the rollout executes)."""
    opening: np.ndarray
    """[T] 1 open .. 0 grasping."""
    meta: dict = field(default_factory=dict)


def human_keyposes(keyposes: list[Keypose], rng: np.random.Generator) -> list[Keypose]:
    """The keyposes on a human schedule: compressed by HUMAN_SPEEDUP x a per-demo speed factor, each
    segment's duration jittered by 10% and each grasp change by +-60 ms, order kept."""
    speed = HUMAN_SPEEDUP * float(np.exp(rng.normal(0.0, 0.1)))
    out: list[Keypose] = []
    t_prev = t_new = 0.0
    for k in sorted(keyposes, key=lambda k: k.time):
        dt = (k.time - t_prev) / speed * float(np.clip(rng.normal(1.0, 0.1), 0.7, 1.3))
        if k.gripper != (out[-1].gripper if out else 1.0):
            dt = max(0.05, dt + float(rng.normal(0.0, 0.06)))
        t_prev, t_new = k.time, t_new + max(dt, 0.05)
        out.append(Keypose(t_new, k.arm, k.frame, k.pos, k.quat, k.gripper))
    return out


def _band_noise(rng: np.random.Generator, n: int, fps: float, lo: float, hi: float, rms: float, dim: int) -> np.ndarray:
    """[n, dim] noise with energy between lo and hi Hz, scaled to `rms` per axis."""
    spec = np.fft.rfft(rng.normal(size=(n, dim)), axis=0)
    f = np.fft.rfftfreq(n, 1 / fps)
    spec[(f < lo) | (f > hi)] = 0.0
    x = np.fft.irfft(spec, n=n, axis=0)
    return x * rms / np.maximum(x.std(axis=0, keepdims=True), 1e-12)


def head_track(rng: np.random.Generator, n: int, fps: float) -> np.ndarray:
    """[n, 4, 4] headset poses: behind the robot's base looking down at the table, offset and swaying."""
    pitch = CAMERA_PITCH + rng.normal(0.0, 0.05)
    yaw = rng.normal(0.0, 0.05)
    base = Rotation.from_euler("zy", [yaw, pitch])  # x forward tilted down by `pitch`
    sway = _band_noise(rng, n, fps, 0.05, 0.5, 0.01, 6)
    out = np.tile(np.eye(4), (n, 1, 1))
    out[:, :3, :3] = (Rotation.from_rotvec(0.3 * sway[:, 3:]) * base).as_matrix()
    out[:, :3, 3] = np.array(CAMERA_POS) + rng.normal(0.0, 0.02, 3) + sway[:, :3]
    return out


def human_demo(keyposes: list[Keypose], layout: np.ndarray, cfg: PandaTaskCfg, rng: np.random.Generator,
               start: tuple[Rotation, np.ndarray]) -> HumanDemo:  # fmt: skip
    """One human demonstration of the keyposes on a layout; `start` is the flange pose the knots start at."""
    poses = human_keyposes(keyposes, rng)
    duration = cfg.episode_s / HUMAN_SPEEDUP
    n = int(round(duration * HEADSET_FPS))
    times = np.arange(n) / HEADSET_FPS
    rots, pos, opening = sample(world_knots(poses, layout, cfg, start), times, minimum_jerk)
    flange = np.tile(np.eye(4), (n, 1, 1))
    flange[:, :3, :3], flange[:, :3, 3] = rots.as_matrix(), pos
    pos_noise = _band_noise(rng, n, HEADSET_FPS, 8.0, 12.0, TREMOR_MM / 1000, 3)
    pos_noise += _band_noise(rng, n, HEADSET_FPS, 0.1, 0.6, DRIFT_MM / 1000, 3)
    rot_noise = Rotation.from_rotvec(_band_noise(rng, n, HEADSET_FPS, 0.1, 12.0, np.radians(1.0), 3))
    ee = flange @ FLANGE_TO_EE[None]
    ee[:, :3, :3] = (rot_noise * Rotation.from_matrix(ee[:, :3, :3])).as_matrix()
    ee[:, :3, 3] += pos_noise
    wrist = ee @ HUMAN_WRIST_IN_EE[None]
    scale = float(np.clip(rng.normal(1.0, 0.05), 0.85, 1.15))
    style = cfg.grasp
    local = np.stack([hand_points(1.0 - g, style, scale) for g in opening])
    hand = np.einsum("tij,tkj->tki", wrist[:, :3, :3], local) + wrist[:, None, :3, 3]
    closed = opening < 0.5
    spans, t0 = [], None
    for t, c in zip(times, closed, strict=True):
        if c and t0 is None:
            t0 = t
        if not c and t0 is not None:
            spans.append((float(t0), float(t)))
            t0 = None
    if t0 is not None:
        spans.append((float(t0), float(times[-1])))
    return HumanDemo(layout, HEADSET_FPS, head_track(rng, n, HEADSET_FPS), hand, spans, ee, opening,
                     {"speed_keyposes": [k.time for k in poses], "hand_scale": scale})  # fmt: skip


def robot_rate_targets(demo: HumanDemo, steps: int, dt: float, cfg: PandaTaskCfg) -> np.ndarray:
    """[steps, 23] env actions replaying the demo's wrist on the robot: its time stretched by HUMAN_SPEEDUP,
    the EE pose turned back into the flange pose, the opening into the task's hand pose."""
    from scipy.spatial.transform import Slerp

    from robolearn.envs.panda.expert import hand_targets

    t_h = np.arange(len(demo.ee)) / demo.fps
    t = np.clip((np.arange(steps) + 1) * dt / HUMAN_SPEEDUP, 0.0, t_h[-1])
    flange = demo.ee @ np.linalg.inv(FLANGE_TO_EE)[None]
    pos = np.stack([np.interp(t, t_h, flange[:, k, 3]) for k in range(3)], -1)
    quat = Slerp(t_h, Rotation.from_matrix(flange[:, :3, :3]))(t).as_quat(scalar_first=True)
    return np.concatenate([pos, quat, hand_targets(np.interp(t, t_h, demo.opening), cfg)], -1)


def human_demos(task: str, n: int, seed: int = 0, batch: int = 8, max_tries: int | None = None):
    """Yield `n` (HumanDemo, object observations [T, 9] at the robot's rate) of `task` that succeed when
    their wrist trajectory is played through the simulated hand (layouts drawn with `seed`)."""
    from robolearn.envs.panda.expert import (
        DOWN,
        HOME_FLANGE,
        execute,
        expert_keyposes,
        make_env,
        sample_layouts,
    )
    from robolearn.envs.panda.scene import CONTROL_DT
    from robolearn.envs.panda.tasks import task_cfg

    cfg = task_cfg(task)
    rng = np.random.default_rng(seed)
    env = make_env(task, batch, seed=seed)
    keyposes = expert_keyposes(task)
    max_tries = max_tries or 4 * n + 2 * batch
    done = tried = 0
    while done < n:
        if tried >= max_tries:
            raise RuntimeError(f"{task}: only {done} of {n} human demos succeeded in {tried} tries")
        layouts = sample_layouts(cfg, batch, rng)
        demos = [human_demo(keyposes, lay, cfg, rng, (DOWN, HOME_FLANGE)) for lay in layouts]
        actions = np.stack([robot_rate_targets(d, cfg.episode_steps, CONTROL_DT, cfg) for d in demos])
        success, episodes = execute(env, layouts, actions)
        tried += batch
        for ok, demo, ep in zip(success, demos, episodes, strict=True):
            if ok and done < n:
                done += 1
                yield demo, ep.frames["observation.environment_state"]
