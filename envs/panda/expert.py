"""Scripted robot experts of the Panda-* tasks and their LeRobot v3 demos (the ALOHA generator's way: one
keypose demonstration per task, moved with each layout's object and target frames, executed in simulation
and kept only if the task's success check passes).

Keyposes give the flange pose (envs/manipulation/keyposes.Keypose, arm "right") with the hand open (1) or
closed (0, the task's grasp pose: a power grasp or a hook). Flange positions are offsets from the object's
centre; the orientation is the home orientation (palm down, fingers along +x) unless turned.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from robolearn.core import ManagerBasedRlEnv
from robolearn.envs.manipulation.aloha import reset_to, task_success
from robolearn.envs.manipulation.demos import DemoStream, Episode
from robolearn.envs.manipulation.keyposes import Keypose
from robolearn.envs.panda.scene import ACTION_DIM, CLOSED, CONTROL_DT, HAND_JOINTS, HOOK, OPEN
from robolearn.envs.panda.tasks import PandaTaskCfg, panda_env_cfg, task_cfg
from robolearn.envs.panda.trajectory import Profile, sample, smoothstep, world_knots

DOWN = Rotation.from_matrix([[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
"""The flange's world orientation at the home pose: palm down, fingers along +x (measured)."""
HOME_FLANGE = np.array([0.004, 0.0, 0.625])
"""The flange's position at the home pose (m, world)."""
GRASP = np.array([0.0, 0.025, 0.175])
"""Flange offset from a 5 cm cube's centre for the power grasp: the palm above the cube, the thumb behind
it (-x), the fingers curling over its far side (measured on Panda-Lift; see docs/motiontrans.md)."""
PLACE_SHIFT = np.array([0.03, 0.03, 0.0])
ROBOT_TYPE = "panda_leap"


def _q(rot: Rotation) -> tuple[float, float, float, float]:
    w, x, y, z = rot.as_quat(scalar_first=True)
    return (float(w), float(x), float(y), float(z))


D = _q(DOWN)
POUR = _q(Rotation.from_euler("x", -75, degrees=True) * DOWN)
"""The flange rolled 75 degrees about world x: the held cup tips over sideways (success needs 57)."""


def kp(t: float, frame: str, pos, grip: float, quat=D) -> Keypose:
    return Keypose(t, "right", frame, tuple(float(v) for v in pos), quat, grip)


def _pick(t0: float, above: float = 0.10) -> list[Keypose]:
    """Above the cube, down, close, lift: starting at t0 (s)."""
    g = GRASP
    return [
        kp(t0, "object", g + (0, 0, above), 1.0),
        kp(t0 + 0.9, "object", g, 1.0),
        kp(t0 + 1.5, "object", g, 0.0),
    ]


def expert_keyposes(task: str) -> list[Keypose]:
    """One scripted demonstration of a Panda task."""
    g = GRASP
    # The cube slips ~2 cm toward the thumb while the hand closes and ~2 cm more as it opens (measured, 6
    # layouts): placing aims that much beyond the target.
    put = GRASP + PLACE_SHIFT
    if task == "Panda-Lift":
        return [*_pick(1.2), kp(4.0, "object", g + (0, 0, 0.15), 0.0)]
    if task == "Panda-PickPlace":  # the target frame is on the table: the cube's centre rests 2.5 cm above it
        return [*_pick(1.2), kp(3.6, "object", g + (0, 0, 0.12), 0.0), kp(5.0, "target", put + (0, 0, 0.06), 0.0),
                kp(5.6, "target", put + (0, 0, 0.035), 1.0), kp(6.4, "target", put + (0, 0, 0.14), 1.0)]  # fmt: skip
    if task == "Panda-Stack":  # the target frame is the block's centre: the cube rests 6 cm above it
        return [*_pick(1.2), kp(3.6, "object", g + (0, 0, 0.14), 0.0), kp(5.0, "target", put + (0, 0, 0.09), 0.0),
                kp(5.6, "target", put + (0, 0, 0.068), 1.0), kp(6.4, "target", put + (0, 0, 0.17), 1.0)]  # fmt: skip
    if task == "Panda-Pour":
        # Rolled 75 degrees about x, the held cup's centre is 17.6 cm to the side of the flange and 2.1 cm below.
        return [*_pick(1.2), kp(3.6, "object", g + (0, 0, 0.15), 0.0), kp(5.0, "target", (0.0, 0.176, 0.3), 0.0),
                kp(6.2, "target", (0.0, 0.176, 0.14), 0.0, POUR)]  # fmt: skip
    if task == "Panda-Push":
        # The open hand's fingertips (13 cm ahead of the flange) at the box's back face, mid-height; sweep forward.
        return [kp(1.2, "object", (-0.17, 0.045, 0.12), 1.0), kp(2.2, "object", (-0.17, 0.045, 0.075), 1.0),
                kp(4.6, "target", (-0.15, 0.045, 0.1), 1.0), kp(5.2, "target", (-0.22, 0.045, 0.14), 1.0)]  # fmt: skip
    if task == "Panda-KnockOver":  # fingertips against the bottle 4 cm below its top, then through it
        return [kp(1.2, "object", (-0.2, 0.045, 0.11), 1.0), kp(2.4, "object", (-0.16, 0.045, 0.11), 1.0),
                kp(3.4, "object", (-0.02, 0.045, 0.11), 1.0)]  # fmt: skip
    if task == "Panda-Drag":
        # The hook's fingertips are 0.9 cm behind and 11.8 cm below the flange: close it in the air above the
        # box, lower the tips behind its far face, pull toward the robot.
        return [kp(1.2, "object", (0.044, 0.045, 0.2), 1.0), kp(2.0, "object", (0.044, 0.045, 0.2), 0.0),
                kp(3.0, "object", (0.044, 0.045, 0.115), 0.0), kp(5.0, "object", (-0.12, 0.045, 0.115), 0.0)]  # fmt: skip
    if task == "Panda-OpenDrawer":
        # The handle bar is 16 cm in front of the cabinet's centre (toward the robot), 9 cm up. The hook
        # closes in the air, comes down over the bar (its tips on the robot's side, the bar inside the curl,
        # 19 cm behind the flange... measured: tips 1 cm ahead of the flange, middle phalanges 4.5 cm) and pulls.
        return [kp(1.2, "object", (-0.19, 0.045, 0.27), 1.0), kp(2.0, "object", (-0.19, 0.045, 0.27), 0.0),
                kp(3.0, "object", (-0.19, 0.045, 0.19), 0.0), kp(5.0, "object", (-0.32, 0.045, 0.19), 0.0)]  # fmt: skip
    raise ValueError(f"no scripted expert for task {task!r}")


def hand_targets(opening: np.ndarray, cfg: PandaTaskCfg) -> np.ndarray:
    """(T, 16) LEAP joint targets: opening 1 is the open hand, 0 the task's grasp pose."""
    shut = HOOK if cfg.grasp == "hook" else CLOSED
    return shut[None] + opening[:, None] * (OPEN - shut)[None]


def plan(keyposes: list[Keypose], layout: np.ndarray, cfg: PandaTaskCfg, dt: float = CONTROL_DT,
         steps: int | None = None, profile: Profile = smoothstep) -> np.ndarray:  # fmt: skip
    """(steps, 23) actions (flange pose xyz + wxyz, hand joint targets) through the keyposes for a layout."""
    steps = cfg.episode_steps if steps is None else steps
    knots = world_knots(keyposes, layout, cfg, (DOWN, HOME_FLANGE))
    rots, pos, grip = sample(knots, (np.arange(steps) + 1) * dt, profile)
    return np.concatenate([pos, rots.as_quat(scalar_first=True), hand_targets(grip, cfg)], -1)


def make_env(task: str, num_envs: int = 1, seed: int = 0) -> ManagerBasedRlEnv:
    cfg = panda_env_cfg(task)
    return ManagerBasedRlEnv(dataclasses.replace(cfg, num_envs=num_envs, seed=seed))


def sample_layouts(cfg: PandaTaskCfg, n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 5) layouts: object x, y, yaw, target x, y within the task's ranges."""
    obj = rng.uniform(cfg.object_xy_low, cfg.object_xy_high, size=(n, 2))
    yaw = rng.uniform(-cfg.object_yaw, cfg.object_yaw, size=(n, 1))
    tgt = rng.uniform(cfg.target_xy_low, cfg.target_xy_high, size=(n, 2))
    return np.concatenate([obj, yaw, tgt], -1)


def execute(
    env: ManagerBasedRlEnv, layouts: np.ndarray, actions: np.ndarray
) -> tuple[np.ndarray, list[Episode]]:
    """Run (num_envs, T, 23) actions from the layouts; (success at the end, recorded episodes)."""
    obs = reset_to(env, layouts)
    rec: dict[str, list[np.ndarray]] = {k: [] for k in (*obs, "action")}
    for i in range(actions.shape[1]):
        for key, value in obs.items():
            rec[key].append(value.numpy().copy())
        rec["action"].append(actions[:, i].astype(np.float32))
        obs, *_ = env.step(torch.as_tensor(actions[:, i], dtype=torch.float32))
    success = task_success(env).numpy().copy()
    episodes = []
    for e in range(len(layouts)):
        frames = {k: np.stack([v[e] for v in values]).astype(np.float32) for k, values in rec.items()}
        episodes.append(Episode(layouts[e], frames))
    return success, episodes


def generate(task: str, n: int, seed: int = 0, batch: int = 8, keyposes: list[Keypose] | None = None,
             max_tries: int | None = None, progress=None) -> Iterator[Episode]:  # fmt: skip
    """Yield `n` successful expert demos of `task` on layouts drawn with `seed` (failures are dropped)."""
    cfg = task_cfg(task)
    poses = keyposes or expert_keyposes(task)
    rng = np.random.default_rng(seed)
    env = make_env(task, batch, seed=seed)
    max_tries = max_tries or 3 * n + 2 * batch
    done = tried = 0
    while done < n:
        if tried >= max_tries:
            raise RuntimeError(f"{task}: only {done} of {n} expert demos succeeded in {tried} tries")
        layouts = sample_layouts(cfg, batch, rng)
        actions = np.stack([plan(poses, lay, cfg) for lay in layouts])
        success, episodes = execute(env, layouts, actions)
        tried += batch
        for ok, ep in zip(success, episodes, strict=True):
            if ok and done < n:
                done += 1
                yield ep
        if progress is not None:
            progress(done, tried)


STATE_NAMES = ["flange_x", "flange_y", "flange_z", "flange_qw", "flange_qx", "flange_qy", "flange_qz",
               *(j.removeprefix("hand/") for j in HAND_JOINTS)]  # fmt: skip
ENV_STATE_NAMES = ["obj_x", "obj_y", "obj_z", "obj_qw", "obj_qx", "obj_qy", "obj_qz", "target_x", "target_y"]


def features() -> dict:
    return {
        "observation.state": {"dtype": "float32", "shape": [ACTION_DIM], "names": STATE_NAMES},
        "observation.environment_state": {"dtype": "float32", "shape": [9], "names": ENV_STATE_NAMES},
        "action": {"dtype": "float32", "shape": [ACTION_DIM], "names": STATE_NAMES},
    }


def panda_demos(task: str, n: int, keyposes=None, seed: int = 0, batch: int = 8, cameras: tuple[str, ...] = (),
                noise: float = 0.0, progress=None) -> DemoStream:  # fmt: skip
    """`robolearn demos Panda-*`: `n` scripted expert demos as a LeRobot v3 stream (no cameras, no noise)."""
    if cameras or noise:
        raise ValueError(f"{task}: the Panda experts record state only (no --cameras, no --noise)")
    if keyposes is not None:
        from robolearn.envs.manipulation.keyposes import load_keyposes

        file_task, poses = load_keyposes(keyposes)
        if file_task != task:
            raise ValueError(f"{keyposes}: keyposes are for task {file_task!r}, not {task!r}")
    else:
        poses = expert_keyposes(task)
    return DemoStream(features(), round(1 / CONTROL_DT), ROBOT_TYPE, task_cfg(task).description,
                      generate(task, n, seed, batch, poses, progress=progress))  # fmt: skip
