"""Demonstration datasets for imitation: the task's features checked, frames and camera videos loaded,
training windows indexed. A dataset that is not the task's (robot, rate, features, task string) or is
damaged is refused with a DatasetError naming the file and field before any run folder exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from robolearn.envs.manipulation.aloha import task_cfg
from robolearn.envs.manipulation.aloha_mdp import ACTION_DIM, CONTROL_DT, STATE_DIM
from robolearn.policies.data import DatasetError, LeRobotDataset, check_matches, check_tasks

OBS_KEYS = ("observation.state", "observation.environment_state")
"""The low-dim observation features, concatenated in this order."""


def obs_features(task: str) -> dict[str, int]:
    """Width of each low-dim observation feature of a task (environment_state differs between tasks)."""
    return {
        "observation.state": STATE_DIM,
        "observation.environment_state": len(task_cfg(task).env_state_names),
    }


ACTION_FEATURE = "action"
IMAGE_KEY = "observation.images.{camera}"
"""Dataset video feature of a camera (as `robolearn demos --cameras` writes them)."""


@dataclass
class DemoWindows:
    """All training windows of a dataset: index arrays into the frame tensors, built once."""

    obs: torch.Tensor  # (N, O)
    actions: torch.Tensor  # (N, A)
    obs_index: torch.Tensor  # (W, obs_horizon)
    action_index: torch.Tensor  # (W, horizon)
    num_episodes: int
    images: dict[str, torch.Tensor] = field(default_factory=dict)  # camera -> (N, H, W, 3) uint8

    def batch(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.obs[self.obs_index[ids]], self.actions[self.action_index[ids]]

    def batch_images(self, ids: torch.Tensor) -> dict[str, torch.Tensor]:
        """camera -> (B, obs_horizon, H, W, 3) uint8 frames of the same windows as `batch`."""
        index = self.obs_index[ids]
        return {camera: frames[index] for camera, frames in self.images.items()}


def check_cameras(ds: LeRobotDataset, cameras: tuple[str, ...]) -> dict[str, list[int]]:
    """camera -> frame shape [H, W, 3]; DatasetError naming info.json and the field when one is missing."""
    info = ds.root / "meta/info.json"
    shapes = {}
    for camera in cameras:
        key = IMAGE_KEY.format(camera=camera)
        feat = ds.features.get(key)
        if feat is None or feat.get("dtype") != "video":
            raise DatasetError(
                f"{info}: missing video feature {key!r} (camera {camera!r} requested; the dataset has "
                f"{ds.video_keys or 'no videos'}; record it with `robolearn demos --cameras {camera}`)"
            )
        shape = [int(v) for v in feat["shape"]]
        if len(shape) != 3 or shape[2] != 3:
            raise DatasetError(f"{info}: features.{key} has shape {shape}, expected [height, width, 3]")
        shapes[camera] = shape
    return shapes


def check_task_dataset(ds: LeRobotDataset, task: str) -> None:
    """The dataset is `task`'s demos: its robot, control rate, feature names and task string, so two tasks'
    demos never mix (Reach and CubeTransfer have the same features, names included: only the task tells them apart)."""
    from robolearn.envs.manipulation.demos import ROBOT_TYPE, features_for

    who = f"task {task}"
    check_matches(ds, features_for(task, ()), round(1 / CONTROL_DT), ROBOT_TYPE, exact=False, who=who)
    check_tasks(ds, {task_cfg(task).description}, who)


def load_images(path: Path, cameras: tuple[str, ...], num_demos: int | None = None) -> dict[str, np.ndarray]:
    """camera -> every frame of the first `num_demos` episodes (N, H, W, 3) uint8, row i = dataset index i.

    Decoded once up front: H.264 decoding per training batch would cost more than the encoder itself
    (a 120x160 frame is 57.6 kB, so 10k frames are ~0.6 GB per camera).
    """
    ds = LeRobotDataset(path)
    shapes = check_cameras(ds, cameras)
    episodes = ds.episodes[: num_demos or None]
    end = int(episodes[-1]["dataset_to_index"]) if episodes else 0
    out = {}
    for camera in cameras:
        frames = np.zeros((end, *shapes[camera]), dtype=np.uint8)
        for i, e in enumerate(episodes):
            video = ds.video(IMAGE_KEY.format(camera=camera), i)
            if list(video.shape[1:]) != shapes[camera]:
                raise DatasetError(f"{ds.root}: {IMAGE_KEY.format(camera=camera)} episode {i} has frames "
                                   f"{list(video.shape[1:])}, meta/info.json says {shapes[camera]}")  # fmt: skip
            frames[int(e["dataset_from_index"]) : int(e["dataset_to_index"])] = video
        out[camera] = frames
    return out


def load_demos(
    path: Path, task: str, num_demos: int | None = None, cameras: tuple[str, ...] = ()
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """(obs (N, O), actions (N, A), episode frame ranges) from a dataset, checked against the task.

    Raises DatasetError naming the file and field on a mismatch, a missing video (or camera in `cameras`)
    or a corrupt file, so training never starts on data it cannot use.
    """
    features = obs_features(task)
    ds = LeRobotDataset(path)
    info = ds.root / "meta/info.json"
    for key, dim in {**features, ACTION_FEATURE: ACTION_DIM}.items():
        feat = ds.features.get(key)
        if feat is None:
            raise DatasetError(f"{info}: missing feature {key!r} (task {task} needs shape [{dim}])")
        if list(feat["shape"]) != [dim]:
            raise DatasetError(f"{info}: features.{key} has shape {feat['shape']}, task {task} needs [{dim}]")
    check_task_dataset(ds, task)
    check_cameras(ds, cameras)
    if ds.num_episodes == 0:
        raise DatasetError(f"{info}: the dataset has no episodes")
    ds.verify()  # every file, so a damaged dataset is refused before a run folder exists
    cols = ds.columns()
    episodes = ds.episodes[: num_demos or None]
    if num_demos and len(episodes) < num_demos:
        raise DatasetError(f"{path}: {ds.num_episodes} episodes, {num_demos} requested")
    end = episodes[-1]["dataset_to_index"]
    sel = cols["index"] < end
    obs = np.concatenate([cols[k][sel].reshape(int(sel.sum()), -1) for k in OBS_KEYS], -1).astype(np.float32)
    actions = cols[ACTION_FEATURE][sel].astype(np.float32)
    if not (np.isfinite(obs).all() and np.isfinite(actions).all()):
        raise DatasetError(f"{path}: non-finite values in observations or actions")
    ranges = [(int(e["dataset_from_index"]), int(e["dataset_to_index"])) for e in episodes]
    return obs, actions, ranges


def make_windows(obs: torch.Tensor, actions: torch.Tensor, ranges: list[tuple[int, int]],
                 obs_horizon: int, horizon: int) -> DemoWindows:  # fmt: skip
    """One window per frame t: obs t-obs_horizon+1..t, actions from t-obs_horizon+1 on (both edge-padded)."""
    obs_idx, act_idx = [], []
    for start, end in ranges:
        t = torch.arange(start, end)
        first = t - (obs_horizon - 1)
        obs_idx.append((first[:, None] + torch.arange(obs_horizon)).clamp(start, end - 1))
        act_idx.append((first[:, None] + torch.arange(horizon)).clamp(start, end - 1))
    return DemoWindows(obs, actions, torch.cat(obs_idx), torch.cat(act_idx), len(ranges))
