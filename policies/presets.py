"""Learner presets: the task's own (declared on its registry entry), else the learner's CPU default.

On a GPU, plain PPO uses the shared recipe as published (4096 worlds); every other case reads the task's
`presets[algo]`, so no learner branches on a task.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from robolearn.registry import get_task
from robolearn.rl import DistillCfg, HInfCfg, PpoCfg, Sb3Cfg, SkillBlenderCfg

GPU_NUM_ENVS = 4096

LEARNER_DEFAULTS: dict[str, Callable[[], Any]] = {
    "ppo": PpoCfg.cpu,
    "hinf": HInfCfg.cpu,
    "distill": DistillCfg.cpu,
    # A blended H1 topples under 0.25 rad of random joint offsets: the skills' preset std.
    "skillblender": lambda: SkillBlenderCfg.cpu(init_noise_std=0.5, torch_threads=1),
    "sb3-ppo": lambda: Sb3Cfg.for_algo("sb3-ppo"),
    "sb3-sac": lambda: Sb3Cfg.for_algo("sb3-sac"),
}
"""What a learner trains with on 2 CPU cores when the task declares no preset for it."""


def default_agent_cfg(task: str, algo: str = "ppo", device: str = "cpu") -> Any:
    spec = get_task(task)
    if algo == "ppo" and str(device).startswith("cuda"):
        return PpoCfg(num_envs=GPU_NUM_ENVS)  # the shared recipe as published
    factory = spec.presets.get(algo) or LEARNER_DEFAULTS.get(algo)
    if factory is None:
        raise ValueError(
            f"unknown algo {algo!r} for {task}; its presets: {sorted(spec.presets) or 'none'}, "
            f"and every task takes {sorted(LEARNER_DEFAULTS)}"
        )
    return factory()
