"""MotionTrans data: robot and human demos of the Panda tasks in one representation.

Both embodiments become (obs, action) sequences at the robot's control rate (10 Hz):
  obs (45)     EE pose in the camera frame (9: position + two rotation columns), hand joints (16), the
               task object's pose in the camera frame (9), the target point in the camera frame (3), the
               task (one-hot over the Panda tasks, 8)
  action (25)  the next EE pose in the camera frame (9) and hand joint targets (16)
The camera frame is the robot's head camera for robot demos and the headset's first frame for human demos;
the embodiment is not part of the observation.

Robot demos: the scripted experts' LeRobot frames (flange pose -> EE pose via the mount's fixed rotation).
Human demos: the VR stand-in's recording is written as an OpenXR file and read back through the reader that
real recordings use (retarget/sources/openxr.py), then converted by retarget/motiontrans.human_to_robot
(wrist frame from keypoints, first-frame camera frame, vector-retargeted and low-passed fingers, x2.25 time
stretch, grasp spans held at the task's grasp pose).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from robolearn.envs.panda.expert import CLOSED, HOOK, generate
from robolearn.envs.panda.human import HumanDemo, human_demos
from robolearn.envs.panda.scene import CONTROL_DT, FLANGE_TO_EE, HAND_JOINTS, HUMAN_WRIST_IN_EE, camera_pose
from robolearn.envs.panda.tasks import TASKS, task_cfg
from robolearn.retarget.motiontrans import human_to_robot, in_frame, pose_to_vec
from robolearn.retarget.sources.openxr import load_openxr, save_openxr

TASK_IDS = sorted(TASKS)
OBS_DIM, ACTION_DIM = 9 + 16 + 9 + 3 + len(TASK_IDS), 9 + 16
LEAP_NAMES = [j.removeprefix("hand/") for j in HAND_JOINTS]


@dataclass
class Demo:
    task: str
    embodiment: str
    """'robot' or 'human': used for the loss weights and the balanced draws, never shown to the policy."""
    obs: np.ndarray
    action: np.ndarray
    layout: np.ndarray


def pose_mats(pos: np.ndarray, quat_wxyz: np.ndarray) -> np.ndarray:
    out = np.tile(np.eye(4), (len(pos), 1, 1))
    out[:, :3, :3] = Rotation.from_quat(quat_wxyz, scalar_first=True).as_matrix()
    out[:, :3, 3] = pos
    return out


def task_onehot(task: str, n: int) -> np.ndarray:
    out = np.zeros((n, len(TASK_IDS)), dtype=np.float32)
    out[:, TASK_IDS.index(task)] = 1.0
    return out


def scene_obs(env_state: np.ndarray, camera: np.ndarray) -> np.ndarray:
    """[T, 12] object pose (9) and target point (3) in the camera frame from env_state [T, 9] (world)."""
    obj = pose_to_vec(in_frame(pose_mats(env_state[:, :3], env_state[:, 3:7]), camera))
    target = np.concatenate([env_state[:, 7:9], np.zeros((len(env_state), 1))], -1)
    inv = np.linalg.inv(camera)
    return np.concatenate([obj, target @ inv[:3, :3].T + inv[:3, 3]], -1)


def flange_to_ee_vec(flange7: np.ndarray, camera: np.ndarray) -> np.ndarray:
    return pose_to_vec(in_frame(pose_mats(flange7[:, :3], flange7[:, 3:7]) @ FLANGE_TO_EE[None], camera))


def robot_demo(task: str, frames: dict[str, np.ndarray], layout: np.ndarray) -> Demo:
    """An expert episode's LeRobot frames in the shared representation."""
    act = frames["action"]
    obs = robot_obs(task, frames["observation.state"], frames["observation.environment_state"])
    action = np.concatenate([flange_to_ee_vec(act, camera_pose()), act[:, 7:]], -1)
    return Demo(task, "robot", obs, action.astype(np.float32), layout)


def robot_obs(task: str, state: np.ndarray, env_state: np.ndarray) -> np.ndarray:
    """[T, 45] the policy's observation from the env's observation.state and environment_state."""
    cam = camera_pose()
    obs = np.concatenate([flange_to_ee_vec(state, cam), state[:, 7:], scene_obs(env_state, cam),
                          task_onehot(task, len(state))], -1)  # fmt: skip
    return obs.astype(np.float32)


def robot_demos(task: str, n: int, seed: int, batch: int = 8) -> list[Demo]:
    return [robot_demo(task, ep.frames, ep.layout) for ep in generate(task, n, seed=seed, batch=batch)]


def write_recording(demo: HumanDemo, path: Path) -> None:
    """The stand-in's recording as an OpenXR app would log it (JSON keeps the grasp annotations)."""
    save_openxr(path, demo.fps, demo.head, {"right": demo.hand}, frame="openxr", grasp=demo.grasp)


def human_demo_from_file(task: str, path: Path, env_state: np.ndarray, layout: np.ndarray) -> Demo:
    """A human recording (OpenXR file) + the objects' poses at the robot rate -> the shared representation."""
    rec = load_openxr(path)
    grasp_pose = HOOK if task_cfg(task).grasp == "hook" else CLOSED
    acts = human_to_robot(rec, np.linalg.inv(HUMAN_WRIST_IN_EE), LEAP_NAMES, 1.0 / CONTROL_DT, closed=grasp_pose)
    n = min(len(acts.times), len(env_state))
    ee = pose_to_vec(acts.ee[:n])
    hand = acts.hand[:n]
    obs = np.concatenate([ee, hand, scene_obs(env_state[:n], acts.camera), task_onehot(task, n)], -1)
    nxt = np.r_[1:n, n - 1]  # the action at t is the pose reached at t + 1 (as the expert's targets)
    action = np.concatenate([ee[nxt], hand[nxt]], -1)
    return Demo(task, "human", obs.astype(np.float32), action.astype(np.float32), layout)


def human_demos_repr(task: str, n: int, seed: int, keep: Path | None = None, batch: int = 8) -> list[Demo]:
    """`n` simulated VR demos of `task`, each through an OpenXR file (kept under `keep` if given)."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep or Path(tmp)
        for k, (demo, env_state) in enumerate(human_demos(task, n, seed=seed, batch=batch)):
            path = folder / f"{task}_{seed}_{k:03d}.json"
            write_recording(demo, path)
            out.append(human_demo_from_file(task, path, env_state, demo.layout))
    return out


def convert_recordings(paths: list[Path], out: Path, task: str, fps: float = 1.0 / CONTROL_DT) -> int:
    """Convert OpenXR recordings (real or simulated) of `task` into a LeRobot v3 dataset of the human side
    (observation.state = EE pose in the first camera frame + retargeted hand joints, action = the next).

    Every file is read and checked before anything is written: a bad file raises RetargetInputError (file,
    field) and `out` is left as it was. Returns the number of episodes written."""
    from robolearn.policies.data import DatasetWriter

    recordings = [load_openxr(p) for p in paths]  # all validated first
    grasp_pose = HOOK if task_cfg(task).grasp == "hook" else CLOSED
    converted = [human_to_robot(r, np.linalg.inv(HUMAN_WRIST_IN_EE), LEAP_NAMES, fps, closed=grasp_pose)
                 for r in recordings]  # fmt: skip
    names = [*(f"ee_{k}" for k in ("x", "y", "z", "r11", "r21", "r31", "r12", "r22", "r32")), *LEAP_NAMES]
    feats = {k: {"dtype": "float32", "shape": [ACTION_DIM], "names": names} for k in ("observation.state", "action")}
    writer = DatasetWriter(out, fps=round(fps), features=feats, robot_type="human_vr", tasks={task_cfg(task).description})
    for acts in converted:
        state = np.concatenate([pose_to_vec(acts.ee), acts.hand], -1).astype(np.float32)
        nxt = np.r_[1 : len(state), len(state) - 1]
        writer.add_episode({"observation.state": state, "action": state[nxt]}, task=task_cfg(task).description)
    writer.flush()
    return len(converted)
