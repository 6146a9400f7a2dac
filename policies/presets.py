"""Learner presets per task and device: the shared recipe on a GPU, a task's `train_cfg` (or PpoCfg.cpu()) on CPU."""

from __future__ import annotations

from typing import Any

from robolearn.policies.config import PpoCfg, ppo_fields
from robolearn.registry import get_task

GPU_NUM_ENVS = 4096


def default_agent_cfg(task: str, algo: str = "ppo", device: str = "cpu") -> Any:
    if algo == "hinf":
        from robolearn.policies.hinf import HInfCfg

        hinf = get_task(task).train_cfg
        cfg = hinf() if hinf is not None else None
        return cfg if isinstance(cfg, HInfCfg) else HInfCfg.cpu()
    if algo == "distill":
        from robolearn.policies.distill import DistillCfg

        return DistillCfg.cpu()
    if algo == "skillblender":
        from robolearn.policies.skillblender import SkillBlenderCfg

        # The task's own PPO preset (worlds, nets, noise, learning rate), so a blender and the flat-PPO
        # baseline on the same task differ only in the actor; without one, the skills' preset std (the
        # H1 topples under 0.25 rad of random joint offsets).
        factory = get_task(task).train_cfg
        base = factory() if factory is not None else None
        if isinstance(base, PpoCfg):
            return SkillBlenderCfg(**ppo_fields(base))
        return SkillBlenderCfg.cpu(init_noise_std=0.5, torch_threads=1)
    if algo != "ppo":
        from robolearn.policies.sb3 import Sb3Cfg

        return Sb3Cfg.for_algo(algo)
    if str(device).startswith("cuda"):
        return PpoCfg(num_envs=GPU_NUM_ENVS)  # the shared recipe as published
    factory = get_task(task).train_cfg  # a task's CPU preset
    if factory is not None:
        cfg = factory()
        if isinstance(cfg, PpoCfg):
            # A subclass preset (e.g. HInfCfg) trained with plain PPO keeps only PPO's fields.
            return cfg if type(cfg) is PpoCfg else PpoCfg(**ppo_fields(cfg))
    return PpoCfg.cpu()
