"""Task registration of the BiDex family: per demonstration and per category, from generated or read demos."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from robolearn.envs.dexterous.bidex.generate import generate_demo
from robolearn.envs.dexterous.bidex.schema import BimanualDemo, load_task_set, task_name
from robolearn.envs.dexterous.bidex.task import BidexEnvCfg, bidex_env_cfg
from robolearn.registry import register_task

DEMO_COMMAND = "robolearn.policies.bidex.demos:main"
"""`robolearn demos bidex`: the family's demo command, loaded by name (it sits in the learner layer, which
reads human data through robolearn.retarget; tasks do not import it)."""


def _single(make: Callable[[], BimanualDemo]) -> Callable[[], BidexEnvCfg]:
    return lambda: bidex_env_cfg([make()])


def register_category(category: str, count: int, seed: int = 0) -> None:
    """`BiDex-<category>-<i>` for i < count (generated), and the category's multi-task env."""
    for i in range(count):
        register_task(task_name(category, i), _single(functools.partial(generate_demo, category, i, seed)),
                      f"BiDex {category} task {i} (generated demonstration): two LEAP hands, two-stage reward",
                      presets=_presets())  # fmt: skip
    register_task(f"BiDex-{category}", lambda: bidex_env_cfg([generate_demo(category, i, seed) for i in range(count)]),
                  f"BiDex {category}: all {count} generated tasks in one multi-task env (one task per world)",
                  presets=_presets())  # fmt: skip


def register_folder(folder: Path) -> list[str]:
    """One task per demonstration file of `folder` (its names are the files' `name` fields)."""
    demos = load_task_set(folder)
    for d in demos:
        register_task(d.name, _single(functools.partial(_same, d)), f"BiDex task from {d.source}", presets=_presets())
    return [d.name for d in demos]


def _same(d: BimanualDemo) -> BimanualDemo:
    return d


def _presets() -> dict:
    from robolearn.envs.dexterous.bidex.presets import ppo_cpu

    return {"ppo": ppo_cpu}


def register_family() -> None:
    from robolearn.registry import register_demo_family

    register_demo_family("bidex", DEMO_COMMAND, "BiDex task sets: --from taco DIR | arctic DIR | generate")
