"""Bimanual manipulation tasks on ALOHA (imitation learning): trained from generated demonstrations."""

import functools

from robolearn.envs.manipulation.aloha import (
    TASKS,
    AlohaEnvCfg,
    AlohaTaskCfg,
    aloha_env_cfg,
    make_env,
    task_cfg,
)
from robolearn.envs.manipulation.demos import aloha_demos
from robolearn.registry import register_task

for _name, _cfg in TASKS.items():
    register_task(_name, functools.partial(aloha_env_cfg, _name), _cfg.description, kind="imitation",
                  default_algo="diffusion", demos=aloha_demos)  # fmt: skip

__all__ = ["TASKS", "AlohaEnvCfg", "AlohaTaskCfg", "aloha_env_cfg", "make_env", "task_cfg"]
