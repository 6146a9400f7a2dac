"""Task registry: a task is a name bound to its config and to what it declares about training.

A task declares, where it registers: its env config, its default learner (`default_algo`), its training
presets (per learner, factories of robolearn.rl configs), its evaluation suites, its play video and its demo
generator. Learners and the CLI read these fields and never branch on task names or families.

Tasks live in robolearn.envs (and in any package that declares a `robolearn.tasks` entry point); they
register themselves on import, and the registry imports them on first lookup. That import is by string
(a plugin load): the core never imports the tasks' modules (import-linter's contracts in pyproject.toml).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal

from robolearn.core.cfg import EnvCfg

Act = Callable[[dict[str, Any]], Any]
"""A deterministic policy: an observation dict (group -> batched tensor) -> batched actions."""
PolicyFactory = Callable[[EnvCfg], tuple[Any, Act]]
"""Supplied by the learner side: builds an env from a config and returns (env, the run's policy acting on it).
So a task's suite chooses its own env (held-out terrain, one world per tile, ...) and never loads a checkpoint."""
EvalSuite = Callable[[EnvCfg, PolicyFactory, int, int], dict[str, Any]]
"""(the run's env config, policy factory, episodes, seed) -> results; an optional "rows" entry (a list of
flat dicts) is printed as the suite's table."""
PlayVideo = Callable[[EnvCfg, PolicyFactory, Path, int], Path]
"""(the run's env config, policy factory, video path, seed) -> the video written."""

Kind = Literal["rl", "imitation"]


@dataclass(frozen=True)
class TaskSpec:
    name: str
    env_cfg: Callable[[], Any]
    """The task's config: an EnvCfg (every "rl" task, and imitation tasks on the manager-based env, e.g. ALOHA)
    or an imitation task's own config."""
    description: str
    kind: Kind = "rl"
    """"rl": a manager-based env (a gymnasium id too); "imitation": trained from demonstrations."""
    default_algo: str = "ppo"
    """What `robolearn train <task>` trains without --algo."""
    presets: Mapping[str, Callable[[], Any]] = field(default_factory=dict)
    """Learner config factory per algo (robolearn.rl dataclasses); an algo missing here uses the learner's
    own default."""
    suites: Mapping[str, EvalSuite] = field(default_factory=dict)
    """Named evaluation suites (`robolearn eval --suite NAME`) besides the learner's episode metrics."""
    default_suite: str | None = None
    """The suite `robolearn eval` runs unless told (None: the learner's episode metrics)."""
    accuracy: Callable[[Any], Any] | None = None
    """The task's end-of-episode error (m, per world) that `robolearn eval` reports with the feasibility
    measures (jerk, power, foot slip, ...); None: not a goal-reaching task."""
    play: PlayVideo | None = None
    """The task's own play video (None: the learner renders a few worlds)."""
    demos: Callable[..., Any] | None = None
    """Demonstration generator of an imitation task (`robolearn demos`)."""
    metric: str = "return"
    """The eval.json key that judges a trained run (`robolearn sweep` summarises it per setting)."""


_TASKS: dict[str, TaskSpec] = {}
_loaded = False


class UnknownTaskError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def register_task(
    name: str, env_cfg: Callable[[], Any], description: str, *, kind: Kind = "rl", default_algo: str = "ppo",
    presets: Mapping[str, Callable[[], Any]] | None = None, suites: Mapping[str, EvalSuite] | None = None,
    default_suite: str | None = None, accuracy: Callable[[Any], Any] | None = None,
    play: PlayVideo | None = None, demos: Callable[..., Any] | None = None, metric: str = "return",
) -> TaskSpec:  # fmt: skip
    spec = TaskSpec(name, env_cfg, description, kind, default_algo, dict(presets or {}), dict(suites or {}),
                    default_suite, accuracy, play, demos, metric)  # fmt: skip
    if default_suite is not None and default_suite not in spec.suites:
        raise ValueError(f"{name}: default_suite {default_suite!r} is not one of its suites {sorted(spec.suites)}")
    _TASKS[name] = spec
    if spec.kind == "rl":
        _register_gym(name)
    return spec


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


_DEMO_FAMILIES: dict[str, tuple[str, str]] = {}


def register_demo_family(name: str, command: str, description: str) -> None:
    """A task family's own `robolearn demos <name> ...` command, as "module:function" (the function takes
    the remaining command-line arguments and returns an exit status). Loaded by name when run, so a family
    in the task layer may name a command that lives in the learner layer."""
    _DEMO_FAMILIES[name] = (command, description)


def demo_families() -> dict[str, tuple[str, str]]:
    """name -> (command, description) of every registered demo family."""
    load_tasks()
    return dict(_DEMO_FAMILIES)


def load_tasks() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    # A plugin load by name, not an import of the tasks: the core stays below them.
    importlib.import_module("robolearn.envs")
    for ep in entry_points(group="robolearn.tasks"):
        ep.load()


def task_names(kind: Kind | None = None) -> list[str]:
    """Every task's name, or those of one kind."""
    load_tasks()
    return sorted(n for n, s in _TASKS.items() if kind is None or s.kind == kind)


def get_task(name: str) -> TaskSpec:
    load_tasks()
    try:
        return _TASKS[name]
    except KeyError:
        raise UnknownTaskError(f"unknown task {name!r}; valid tasks: {', '.join(sorted(_TASKS))}") from None


def resolve_algo(task: str, algo: str | None) -> str:
    """The learner to train `task` with: `algo` when given, else the task's default_algo."""
    return algo or get_task(task).default_algo


def make_env(name: str, cfg: EnvCfg | None = None, **overrides: Any):
    """Build the batched env of a task; `overrides` replace top-level EnvCfg fields (e.g. num_envs=64)."""
    import dataclasses

    from robolearn.core.env import ManagerBasedRlEnv

    spec = get_task(name)
    cfg = cfg or spec.env_cfg()
    if not isinstance(cfg, EnvCfg):  # an imitation task may run on an env of its own
        raise ValueError(f"{name} is a {spec.kind} task, not a manager-based env (see robolearn demos / train)")
    if overrides:
        cfg = dataclasses.replace(cfg, **overrides)
    return ManagerBasedRlEnv(cfg)
