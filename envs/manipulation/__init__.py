"""Bimanual manipulation tasks on ALOHA (imitation learning, issue 9)."""

from robolearn.envs.manipulation.aloha import TASKS, AlohaEnv, AlohaTaskCfg, task_cfg

__all__ = ["TASKS", "AlohaEnv", "AlohaTaskCfg", "task_cfg"]
