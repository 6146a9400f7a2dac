"""Task registry: a task is a name bound to a function returning its EnvCfg (and learner presets).

Tasks live in robolearn.envs (and in any package that declares a `robolearn.tasks` entry
point); they register themselves on import, and the registry imports them on first lookup.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from robolearn.core.cfg import EnvCfg


@dataclass(frozen=True)
class TaskSpec:
    name: str
    env_cfg: Callable[[], EnvCfg]
    description: str
    train_cfg: Callable[[], Any] | None = None
    """Default learner config for `robolearn train` (None: the learner's defaults)."""


_TASKS: dict[str, TaskSpec] = {}
_loaded = False


class UnknownTaskError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def register_task(name: str, env_cfg: Callable[[], EnvCfg], description: str,
                  train_cfg: Callable[[], Any] | None = None) -> None:  # fmt: skip
    _TASKS[name] = TaskSpec(name, env_cfg, description, train_cfg)
    _register_gym(name)


def _register_gym(name: str) -> None:
    import gymnasium as gym

    gym_id = f"robolearn/{name}-v0"
    if gym_id not in gym.registry:
        gym.register(
            id=gym_id,
            entry_point="robolearn.adapters.gym:SingleEnv",
            vector_entry_point="robolearn.adapters.gym:BatchedVectorEnv",
            kwargs={"task": name},
            disable_env_checker=True,
        )


def load_tasks() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    importlib.import_module("robolearn.envs")
    for ep in entry_points(group="robolearn.tasks"):
        ep.load()


def task_names() -> list[str]:
    load_tasks()
    return sorted(_TASKS)


def get_task(name: str) -> TaskSpec:
    load_tasks()
    try:
        return _TASKS[name]
    except KeyError:
        raise UnknownTaskError(f"unknown task {name!r}; valid tasks: {', '.join(sorted(_TASKS))}") from None


def make_env(name: str, cfg: EnvCfg | None = None, **overrides: Any):
    """Build the batched env of a task; `overrides` replace top-level EnvCfg fields (e.g. num_envs=64)."""
    import dataclasses

    from robolearn.core.env import ManagerBasedRlEnv

    cfg = cfg or get_task(name).env_cfg()
    if overrides:
        cfg = dataclasses.replace(cfg, **overrides)
    return ManagerBasedRlEnv(cfg)
