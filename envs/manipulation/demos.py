"""Keyframe demonstrations (YOTO-style): a few bimanual keyposes -> many consistent demos.

A demonstration is a short list of keyposes: at time `t`, arm `arm`'s gripper site should be at pose
(`pos`, `quat`) expressed in a named frame (`object`: the block's initial pose, `target`: the goal marker,
`world`), with the gripper `gripper` open (1) or closed (0). Because poses live in the object's and the
target's frames, moving those frames (augmentation) moves the keyposes with them, and the trajectories
between keyposes are regenerated: Cartesian interpolation (smoothstep in position, slerp in rotation) at
the control rate, solved to joint targets by differential IK with mink on the MuJoCo model. Every
generated demo is executed in simulation and kept only if the task's success check passes.

Keyposes (keyposes.py) come from a JSON file, a task's scripted expert (`expert_keyposes`) or retarget's
wrist tracks (`keyposes_from_qpos` on `retarget_wrists(...).qpos`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mink
import numpy as np
import torch
from scipy.spatial.transform import Rotation, Slerp

from robolearn.core import ManagerBasedRlEnv
from robolearn.envs.manipulation.aloha import (
    CAMERAS,
    AlohaTaskCfg,
    close_cameras,
    make_env,
    render,
    reset_to,
    sample_layouts,
    task_cfg,
    task_success,
)
from robolearn.envs.manipulation.aloha_mdp import (
    ACTION_DIM,
    CONTROL_DT,
    GRIPPER_CLOSED,
    GRIPPER_OPEN,
    HOME,
    SIDES,
    STATE_NAMES,
)
from robolearn.envs.manipulation.keyposes import (  # re-exported: the demo generator's public names
    FRAMES,
    Keypose,
    expert_keyposes,
    keyposes_from_qpos,
    load_keyposes,
    save_keyposes,
)
from robolearn.robots import robot_model


def home_qpos() -> np.ndarray:
    """The episodes' start pose in the robot model's qpos order (arm, left finger, right finger; per arm)."""
    return np.array([*HOME, GRIPPER_OPEN, GRIPPER_OPEN] * 2)


ROBOT_TYPE = "aloha"
"""meta/info.json's robot_type of the datasets these demos make (training checks it)."""
IK_ITERATIONS = 3
"""mink steps per control step; warm-started from the previous step, so a few suffice."""


# -- frames and trajectories -----------------------------------------------------------------------------


def frame_transform(frame: str, layout: np.ndarray, cfg: AlohaTaskCfg) -> tuple[Rotation, np.ndarray]:
    """World pose of a keypose frame for a layout (object x, y, yaw, target x, y)."""
    if frame == "object":
        return Rotation.from_euler("z", layout[2]), np.array([layout[0], layout[1], cfg.object_half_z[0]])
    if frame == "target":
        return Rotation.identity(), np.array([layout[3], layout[4], cfg.target_z])
    return Rotation.identity(), np.zeros(3)


def resolve(keyposes: list[Keypose], layout: np.ndarray, cfg: AlohaTaskCfg) -> list[tuple]:
    """Keyposes in world coordinates: (time, arm, Rotation, position, gripper)."""
    out = []
    for k in keyposes:
        rot, pos = frame_transform(k.frame, layout, cfg)
        q = Rotation.from_quat(k.quat, scalar_first=True)
        out.append((k.time, k.arm, rot * q, pos + rot.apply(k.pos), k.gripper))
    return out


def to_frame(rot: Rotation, pos: np.ndarray, frame: str, layout: np.ndarray, cfg: AlohaTaskCfg):
    """A world pose expressed in a keypose frame (the inverse of `resolve`)."""
    f_rot, f_pos = frame_transform(frame, layout, cfg)
    return f_rot.inv() * rot, f_rot.inv().apply(pos - f_pos)


def _smoothstep(s: np.ndarray) -> np.ndarray:
    # Zero velocity at both ends of a segment: the arm settles on each keypose (grasps need that).
    return s * s * (3 - 2 * s)


class BimanualIK:
    """Differential IK of both ALOHA gripper sites with mink (same kinematics as retarget.arms)."""

    def __init__(self) -> None:
        self.model = robot_model("aloha")
        self.tasks = {s: mink.FrameTask(f"{s}/gripper", "site", position_cost=1.0, orientation_cost=0.5)
                      for s in SIDES}  # fmt: skip
        self.posture = mink.PostureTask(self.model, cost=1e-3)
        self.posture.set_target(home_qpos())
        self.limits = [mink.ConfigurationLimit(self.model)]
        self.configuration = mink.Configuration(self.model, home_qpos())

    def site_pose(self, q: np.ndarray, side: str) -> tuple[Rotation, np.ndarray]:
        self.configuration.update(q)
        tf = self.configuration.get_transform_frame_to_world(f"{side}/gripper", "site")
        return Rotation.from_matrix(tf.rotation().as_matrix()), tf.translation()

    def reset(self) -> None:
        self.configuration.update(home_qpos())

    def solve(self, targets: dict[str, tuple[Rotation, np.ndarray]], dt: float) -> np.ndarray:
        for side, (rot, pos) in targets.items():
            so3 = mink.SO3.from_matrix(rot.as_matrix())
            self.tasks[side].set_target(mink.SE3.from_rotation_and_translation(so3, pos))
        tasks = [*self.tasks.values(), self.posture]
        for _ in range(IK_ITERATIONS):
            vel = mink.solve_ik(self.configuration, tasks, dt / IK_ITERATIONS, "daqp", damping=1e-3,
                                limits=self.limits)  # fmt: skip
            self.configuration.integrate_inplace(vel, dt / IK_ITERATIONS)
        return self.configuration.q.copy()


def plan(keyposes: list[Keypose], layout: np.ndarray, cfg: AlohaTaskCfg, ik: BimanualIK) -> np.ndarray:
    """Joint-target actions (episode_steps, 14) that pass through the keyposes for this layout."""
    ik.reset()
    home = {s: ik.site_pose(home_qpos(), s) for s in SIDES}
    world = resolve(keyposes, layout, cfg)
    # Per arm: knots (time, Rotation, position, gripper), starting at the home pose at t = 0.
    knots = {s: [(0.0, *home[s], 1.0)] + sorted([w for w in world if w[1] == s], key=lambda w: w[0])
             for s in SIDES}  # fmt: skip
    knots = {s: [(k[0], k[-3], k[-2], k[-1]) for k in ks] for s, ks in knots.items()}
    steps = cfg.episode_steps
    actions = np.zeros((steps, ACTION_DIM))
    for i in range(steps):
        t = (i + 1) * CONTROL_DT
        targets, grip = {}, {}
        for side, ks in knots.items():
            j = next((n for n in range(1, len(ks)) if ks[n][0] >= t), None)
            if j is None:  # after the last keypose: hold it
                _, rot, pos, g = ks[-1]
            else:
                (t0, r0, p0, g0), (t1, r1, p1, g1) = ks[j - 1], ks[j]
                s = float(_smoothstep(np.clip((t - t0) / max(t1 - t0, 1e-9), 0.0, 1.0)))
                rot = Slerp([0, 1], Rotation.concatenate([r0, r1]))(s)
                pos, g = (1 - s) * p0 + s * p1, (1 - s) * g0 + s * g1
            targets[side], grip[side] = (rot, pos), g
        q = ik.solve(targets, CONTROL_DT)
        for k, side in enumerate(SIDES):
            arm = q[8 * k : 8 * k + 6]
            actions[i, 7 * k : 7 * k + 6] = arm
            actions[i, 7 * k + 6] = GRIPPER_CLOSED + grip[side] * (GRIPPER_OPEN - GRIPPER_CLOSED)
    return actions


# -- generation: augment, execute, keep successes ------------------------------------------------------


@dataclass
class Episode:
    layout: np.ndarray
    frames: dict[str, np.ndarray]
    """observation.state (T, 14), observation.environment_state (T, task's width), action (T, 14)."""
    videos: dict[str, np.ndarray] = field(default_factory=dict)
    """camera key -> (T, H, W, 3) uint8."""
    keypose: Any = None
    """The demo as BiDP sees it (proliferation.KeyposeDemo: start cloud, keypose actions), if recorded."""


NOISE_CORRELATION = 0.8
"""Per-step correlation of the injected action noise (an AR(1) process, ~0.2 s time constant at 25 Hz)."""


def action_noise(rng: np.random.Generator, shape: tuple[int, int, int], std: float) -> np.ndarray:
    """Smooth noise (num_envs, T, 14) on the arm joints (grippers untouched), stationary std `std` rad."""
    noise = np.zeros(shape)
    if std <= 0:
        return noise
    arms = np.r_[0:6, 7:13]
    eps = rng.normal(0.0, std * np.sqrt(1 - NOISE_CORRELATION**2), size=(shape[0], shape[1], len(arms)))
    state = rng.normal(0.0, std, size=(shape[0], len(arms)))
    for t in range(shape[1]):
        state = NOISE_CORRELATION * state + eps[:, t]
        noise[:, t, arms] = state
    return noise


def execute(env: ManagerBasedRlEnv, layouts: np.ndarray, actions: np.ndarray, cameras: tuple[str, ...] = (),
            image_size: tuple[int, int] = (120, 160), noise: np.ndarray | None = None
            ) -> tuple[np.ndarray, list[Episode]]:  # fmt: skip
    """Run planned actions (num_envs, T, 14) from the layouts; (success, recorded episodes).

    With `noise` (same shape), the robot executes actions + noise while the recorded action stays the
    planned one (DART): demos then visit states off the plan, labelled with the action that returns to it.
    """
    obs = reset_to(env, layouts)
    n, steps = actions.shape[:2]
    executed = actions if noise is None else actions + noise
    rec: dict[str, list[np.ndarray]] = {k: [] for k in (*obs, "action")}
    vids: dict[str, list[np.ndarray]] = {f"observation.images.{c}": [] for c in cameras}
    h, w = image_size
    for i in range(steps):
        for key, value in obs.items():
            rec[key].append(value.numpy().copy())
        for c in cameras:
            vids[f"observation.images.{c}"].append(np.stack([render(env, e, c, w, h) for e in range(n)]))
        rec["action"].append(actions[:, i].astype(np.float32))
        obs, *_ = env.step(torch.as_tensor(executed[:, i], dtype=torch.float32))
    success = task_success(env).numpy().copy()
    episodes = []
    for e in range(n):
        frames = {k: np.stack([v[e] for v in values]).astype(np.float32) for k, values in rec.items()}
        videos = {k: np.stack([v[e] for v in values]) for k, values in vids.items()}
        episodes.append(Episode(layouts[e], frames, videos))
    return success, episodes


def generate_demos(task: str, keyposes: list[Keypose], n: int, seed: int = 0, batch: int = 16,
                   cameras: tuple[str, ...] = (), max_tries: int | None = None, progress=None,
                   noise: float = 0.0):  # fmt: skip
    """Yield `n` successful augmented demos (Episode) of `task`, plus the count of rejected attempts.

    Layouts (object and target poses) are drawn from the task's ranges with `seed`; keyposes in the object
    and target frames follow them. Rejected plans (the block slips, the place misses) are dropped.
    `progress(done, tried)` is called after each batch. `noise` > 0 executes the plans with smooth
    joint-target noise of that std (rad) and records the clean plan as the action (see `execute`).
    """
    cfg = task_cfg(task)
    for c in cameras:
        if c not in CAMERAS:
            raise ValueError(f"unknown camera {c!r}; valid: {', '.join(CAMERAS)}")
    rng = np.random.default_rng(seed)
    ik = BimanualIK()
    env = make_env(task, batch, seed=seed)
    max_tries = max_tries or 3 * n + 2 * batch
    done = tried = 0
    while done < n:
        if tried >= max_tries:
            cause = f"lower --noise ({noise} rad)" if noise > 0 else "the keyposes do not solve the task"
            raise RuntimeError(f"{task}: only {done} of {n} demos succeeded in {tried} tries; {cause}")
        layouts = sample_layouts(cfg, batch, rng)
        actions = np.stack([plan(keyposes, lay, cfg, ik) for lay in layouts])
        success, episodes = execute(
            env, layouts, actions, cameras, noise=action_noise(rng, actions.shape, noise)
        )
        tried += batch
        for ok, ep in zip(success, episodes, strict=True):
            if ok and done < n:
                done += 1
                yield ep
        if progress is not None:
            progress(done, tried)
    close_cameras(env)


# -- the task's demo generator (TaskSpec.demos) ---------------------------------------------------------


def features_for(task: str, cameras: tuple[str, ...], image_size: tuple[int, int] = (120, 160)) -> dict:
    h, w = image_size
    env_names = task_cfg(task).env_state_names
    feats = {
        "observation.state": {"dtype": "float32", "shape": [14], "names": STATE_NAMES},
        "observation.environment_state": {"dtype": "float32", "shape": [len(env_names)], "names": env_names},
        "action": {"dtype": "float32", "shape": [ACTION_DIM], "names": STATE_NAMES},
    }
    for c in cameras:
        feats[f"observation.images.{c}"] = {"dtype": "video", "shape": [h, w, 3],
                                            "names": ["height", "width", "channels"]}  # fmt: skip
    return feats


@dataclass
class DemoStream:
    """What `robolearn demos` writes: the dataset's features and rate, and the successful episodes."""

    features: dict
    fps: int
    robot_type: str
    description: str
    episodes: Iterator[Episode]
    keyframe_times: np.ndarray | None = None
    """(K, 2) keyframe times of the episodes' keypose demos (`Episode.keypose`); None: none recorded."""


def aloha_demos(task: str, n: int, keyposes: Path | None = None, seed: int = 0, batch: int = 16,
                cameras: tuple[str, ...] = (), noise: float = 0.0, progress=None) -> DemoStream:  # fmt: skip
    """`n` augmented demos of an ALOHA task from a keypose file (default: the task's scripted expert), each
    with its keypose demo (start point cloud and keypose actions, for BiDP)."""
    from robolearn.envs.manipulation.proliferation import proliferate, schedule  # it builds on this module

    if keyposes is not None:
        file_task, poses = load_keyposes(keyposes)
        if file_task != task:
            raise ValueError(f"{keyposes}: keyposes are for task {file_task!r}, not {task!r}")
    else:
        poses = expert_keyposes(task)
    return DemoStream(
        features_for(task, cameras), round(1 / CONTROL_DT), ROBOT_TYPE, task_cfg(task).description,
        proliferate(task, poses, n, seed, batch, cameras=cameras, noise=noise, progress=progress), schedule(poses),
    )  # fmt: skip


__all__ = [
    "FRAMES", "ROBOT_TYPE", "BimanualIK", "DemoStream", "Episode", "Keypose", "action_noise", "aloha_demos", "execute",
    "expert_keyposes", "features_for", "generate_demos", "keyposes_from_qpos", "load_keyposes", "plan", "resolve",
    "save_keyposes", "to_frame",
]  # fmt: skip
