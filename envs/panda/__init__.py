"""Panda + LEAP hand tabletop tasks (MotionTrans): scripted robot experts and a simulated VR human stand-in."""

import functools

from robolearn.envs.panda.expert import panda_demos
from robolearn.envs.panda.tasks import TASKS, PandaEnvCfg, PandaTaskCfg, panda_env_cfg, task_cfg
from robolearn.registry import register_task

for _name, _cfg in TASKS.items():
    register_task(_name, functools.partial(panda_env_cfg, _name), _cfg.description, kind="imitation",
                  default_algo="diffusion", demos=panda_demos)  # fmt: skip

__all__ = ["TASKS", "PandaEnvCfg", "PandaTaskCfg", "panda_env_cfg", "task_cfg"]
