"""Keypose datasets (what BiDP trains on): `keyposes.npz` beside a LeRobot demo dataset's meta/ folder.

`robolearn demos` writes it for generators that yield keypose demos (the ALOHA tasks): per LeRobot episode
its index, layout, the task objects' start point cloud, the grippers' start state and the keypose actions
(envs/manipulation/proliferation.py describes the layout). It is rewritten (temp file, then rename) after
every committed batch of episodes, so it never names an episode the dataset does not hold.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from robolearn.envs.manipulation.proliferation import KeyposeDemo
from robolearn.policies.data import DatasetError

KEYPOSE_FILE = "keyposes.npz"
FIELDS = ("task", "times", "episode_index", "layout", "cloud", "ee_state", "actions")


@dataclass
class KeyposeData:
    task: str
    times: np.ndarray
    """(K, 2) keyframe times per arm (s)."""
    episode_index: np.ndarray
    """(N,) the LeRobot episode each row belongs to."""
    layout: np.ndarray
    cloud: np.ndarray
    """(N, P, 3)"""
    ee_state: np.ndarray
    """(N, 2, 10)"""
    actions: np.ndarray
    """(N, K, 2, 10)"""

    def __len__(self) -> int:
        return len(self.episode_index)

    def first(self, n: int | None) -> KeyposeData:
        if n is None:
            return self
        keep = np.argsort(self.episode_index)[:n]
        return KeyposeData(self.task, self.times, self.episode_index[keep], self.layout[keep], self.cloud[keep],
                           self.ee_state[keep], self.actions[keep])  # fmt: skip


def save_keypose_data(root: str | os.PathLike[str], data: KeyposeData) -> Path:
    path = Path(root) / KEYPOSE_FILE
    tmp = path.with_name(f".{KEYPOSE_FILE}.tmp")
    arrays: dict[str, Any] = {k: np.asarray(getattr(data, k)) for k in FIELDS}
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    tmp.replace(path)
    return path


def load_keypose_data(root: str | os.PathLike[str], task: str | None = None, num_demos: int | None = None
                      ) -> KeyposeData:  # fmt: skip
    """The keypose dataset of a demo folder, checked; errors name the file and the field."""
    path = Path(root) / KEYPOSE_FILE
    if not path.is_file():
        raise DatasetError(f"{path}: no keypose dataset (`robolearn demos <task> --out {root}` writes it with the "
                           "demos of a keypose-driven task)")  # fmt: skip
    try:
        with np.load(path, allow_pickle=False) as z:
            raw = {k: z[k] for k in FIELDS}
    except (OSError, ValueError, KeyError) as exc:
        raise DatasetError(
            f"{path}: not a keypose dataset (needs fields {', '.join(FIELDS)}): {exc}"
        ) from None
    data = KeyposeData(
        str(raw["task"]), raw["times"].astype(np.float64), raw["episode_index"].astype(np.int64),
        raw["layout"].astype(np.float64), raw["cloud"].astype(np.float32), raw["ee_state"].astype(np.float64),
        raw["actions"].astype(np.float64),
    )  # fmt: skip
    if task is not None and data.task != task:
        raise DatasetError(f"{path}: field 'task' is {data.task!r}, expected {task!r}")
    n, k = len(data.episode_index), len(data.times)
    expect = {"times": (k, 2), "layout": (n, 5), "ee_state": (n, 2, 10), "actions": (n, k, 2, 10)}
    for name, shape in expect.items():
        if getattr(data, name).shape != shape:
            raise DatasetError(
                f"{path}: field {name!r} has shape {getattr(data, name).shape}, expected {shape}"
            )
    if data.cloud.ndim != 3 or data.cloud.shape[0] != n or data.cloud.shape[2] != 3:
        raise DatasetError(f"{path}: field 'cloud' has shape {data.cloud.shape}, expected ({n}, points, 3)")
    if n == 0:
        raise DatasetError(f"{path}: holds no demos")
    if not all(np.isfinite(getattr(data, f)).all() for f in FIELDS[1:]):
        raise DatasetError(f"{path}: non-finite values")
    return data.first(num_demos)


class KeyposeSink:
    """Collects the keypose demos of episodes as `robolearn demos` writes them; `commit` after each flush."""

    def __init__(self, root: Path, task: str, times: np.ndarray, first_episode: int):
        self.root, self.next_episode = Path(root), first_episode
        self.rows: list[tuple[int, KeyposeDemo]] = []
        self.data = KeyposeData(task, times, np.zeros(0, np.int64), np.zeros((0, 5)), np.zeros((0, 0, 3)),
                                np.zeros((0, 2, 10)), np.zeros((0, len(times), 2, 10)))  # fmt: skip
        if (self.root / KEYPOSE_FILE).is_file():  # appending: same task and keyframe schedule, checked first
            old = load_keypose_data(self.root, task)
            if old.times.shape != times.shape or not np.allclose(old.times, times):
                raise DatasetError(f"{self.root / KEYPOSE_FILE}: field 'times' {old.times.tolist()} differs from "
                                   f"these keyposes' {times.tolist()}; write to a new --out")  # fmt: skip
            self.data = old

    def add(
        self, demo
    ) -> None:  # a proliferation.KeyposeDemo (envs layer; typed loosely to keep layers apart)
        self.rows.append((self.next_episode, demo))
        self.next_episode += 1

    def commit(self) -> None:
        if not self.rows:
            return
        d, rows = self.data, self.rows
        cloud = np.stack([r.cloud for _, r in rows])
        old_cloud = d.cloud if len(d) else np.zeros((0, *cloud.shape[1:]), np.float32)
        self.data = KeyposeData(
            d.task, d.times, np.r_[d.episode_index, [i for i, _ in rows]],
            np.concatenate([d.layout, np.stack([r.layout for _, r in rows])]),
            np.concatenate([old_cloud, cloud]),
            np.concatenate([d.ee_state, np.stack([r.ee_state for _, r in rows])]),
            np.concatenate([d.actions, np.stack([r.actions for _, r in rows])]),
        )  # fmt: skip
        self.rows = []
        save_keypose_data(self.root, self.data)
