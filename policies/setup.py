"""Resolve what a run trains (task, env cfg, learner cfg) and rebuild envs and policies from run folders."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rsl_rl.models import MLPModel
from rsl_rl.utils import resolve_class, resolve_obs_groups

from robolearn.core.cfg import EnvCfg
from robolearn.core.env import ManagerBasedRlEnv
from robolearn.policies.plain_config import from_plain
from robolearn.policies.presets import default_agent_cfg
from robolearn.policies.rsl_rl import RslRlVecEnv
from robolearn.policies.runs import RunError, read_config
from robolearn.registry import get_task, resolve_algo
from robolearn.rl import PpoCfg

RSL_RL_ALGOS = ("ppo", "hinf", "distill", "skillblender")
"""Learners whose checkpoints hold rsl_rl models (PPO/H-infinity actors, students, blenders)."""
TRAINED_BY_PPO_LOOP = ("ppo", "distill", "skillblender")
"""Learners that policies.train.train_ppo runs (H-infinity has its own loop, SB3 its own library)."""

RESUME_MUTABLE = {"agent.max_iterations", "agent.save_interval", "agent.keep_checkpoints"}
"""Config entries a resumed run may change; anything else must match the run's config.yaml."""


@dataclass
class RunSpec:
    task: str
    algo: str
    env: EnvCfg
    agent: Any
    seed: int
    device: str

    def plain(self) -> dict[str, Any]:
        from robolearn.policies.plain_config import to_plain

        return {
            "task": self.task,
            "algo": self.algo,
            "seed": self.seed,
            "device": self.device,
            "env": to_plain(self.env),
            "agent": to_plain(self.agent),
        }


def agent_cls(algo: str) -> type:
    if algo == "ppo":
        return PpoCfg
    if algo == "hinf":
        from robolearn.rl import HInfCfg

        return HInfCfg
    if algo == "distill":
        from robolearn.rl import DistillCfg

        return DistillCfg
    if algo == "skillblender":
        from robolearn.rl import SkillBlenderCfg

        return SkillBlenderCfg
    from robolearn.rl import Sb3Cfg

    return Sb3Cfg


def spec_from_run(run: Path) -> RunSpec:
    """The RunSpec stored in a run's config.yaml, laid over the task's current defaults."""
    data = read_config(run)
    where = str(run / "config.yaml")
    try:
        env_default = get_task(data["task"]).env_cfg()
    except KeyError as exc:  # UnknownTaskError: the message lists the tasks
        raise RunError(f"{where}: task: {exc}") from None
    algo = data.get("algo", "ppo")
    agent = from_plain(agent_cls(algo)(), data["agent"], f"{where}: agent")
    if algo == "distill":  # the student's observation group is made from the task's policy group
        from robolearn.policies.distill import student_env

        env_default = student_env(env_default, agent)
    env_cfg = from_plain(env_default, data["env"], f"{where}: env")
    return RunSpec(
        data["task"], algo, env_cfg, agent, int(data.get("seed", 0)), str(data.get("device", "cpu"))
    )


def eval_env_cfg(env_cfg: EnvCfg) -> EnvCfg:
    """A run's env as evaluation sees it: curricula are training schedules (they would, e.g., narrow the
    commands of a fresh env), so evaluation runs without them, like Isaac Lab's PLAY configs."""
    return dataclasses.replace(env_cfg, curriculum={})


def make_env(
    env_cfg: EnvCfg, device: str, num_envs: int | None = None, seed: int | None = None
) -> ManagerBasedRlEnv:
    overrides: dict[str, Any] = {}
    if num_envs is not None:
        overrides["num_envs"] = num_envs
    if seed is not None:
        overrides["seed"] = seed
    cfg = dataclasses.replace(env_cfg, **overrides) if overrides else env_cfg
    return ManagerBasedRlEnv(cfg, device=device)


def build_actor(vec: RslRlVecEnv, agent: PpoCfg, device: str) -> MLPModel:
    """The acting network of a run's learner: PPO's actor, or a distillation run's student."""
    cfg = agent.to_rsl_rl()
    role, other = ("student", "teacher") if "student" in cfg else ("actor", "critic")
    obs = vec.get_observations()
    groups = resolve_obs_groups(obs, cfg["obs_groups"], [role, other])
    cls, kwargs = resolve_class(cfg[role])
    return cls(obs, groups, role, vec.num_actions, **kwargs).to(device)


def load_policy(
    run: Path, checkpoint: Path | None, env: ManagerBasedRlEnv, agent: PpoCfg, state: dict
) -> MLPModel:
    """The actor of a PPO (or H-infinity) checkpoint, or a distillation run's student, in eval mode."""
    del run, checkpoint
    actor = build_actor(RslRlVecEnv(env), agent, str(env.device))
    try:
        actor.load_state_dict(state.get("student_state_dict") or state["actor_state_dict"])
    except RuntimeError as exc:
        raise RunError(f"the checkpoint does not fit the run's actor config: {exc}") from None
    return actor.eval()


def iteration_hook(task: str) -> Any:
    """The task's per-iteration hook (TaskSpec.iteration_hook), or None."""
    return get_task(task).iteration_hook


def default_algo(task: str) -> str:
    """The learner `robolearn train <task>` uses without --algo: the task's declared default, else PPO."""
    return resolve_algo(task, None)


def default_spec(task: str, algo: str, device: str) -> tuple[EnvCfg, Any]:
    spec = get_task(task)
    env_cfg = spec.env_cfg()
    agent = default_agent_cfg(task, algo, device)
    return env_cfg, agent


def fold_num_envs(env_cfg: EnvCfg, agent: Any) -> tuple[EnvCfg, Any]:
    """The env owns the number of worlds. A learner preset's `num_envs` is its proposal for it: it becomes
    `env.num_envs` and the agent's copy is cleared, so config.yaml records the value once (under env) and a
    --env.num-envs / --num-envs flag is never overwritten by the preset."""
    if getattr(agent, "num_envs", None) is None:
        return env_cfg, agent
    return dataclasses.replace(env_cfg, num_envs=agent.num_envs), dataclasses.replace(agent, num_envs=None)


def set_threads(n: int) -> None:
    if n > 0:
        torch.set_num_threads(n)
