"""Teacher-student distillation (DAgger) on rsl-rl-lib: a deployable student imitates a PPO teacher.

The teacher is a finished PPO run whose policy sees privileged terms (e.g. the base linear velocity,
which a real Go2 in low-level mode does not measure). The student sees the teacher's policy terms minus
`drop_terms`, stacked over `history` frames so it can infer what was dropped, acts in the env, and is
regressed onto the teacher's action in the states it visits itself (rsl_rl's Distillation owns the
algorithm; policies/train.py's loop runs it like PPO).

    robolearn train Go2-Velocity-Flat --algo distill --teacher runs/Go2-Velocity-Flat/<teacher run>
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from robolearn.core.cfg import EnvCfg
from robolearn.policies.config import PpoCfg
from robolearn.policies.runs import RunError, resolve_run

STUDENT_GROUP = "student"


@dataclass
class DistillCfg(PpoCfg):
    """The student's learner. Inherited PPO fields that apply: worlds, steps per env, iterations,
    checkpoints, the student's MLP (`actor_hidden_dims`, activation, normalization), threads."""

    teacher: str = ""
    """The teacher's run folder (a PPO run of the same task)."""
    history: int = 5
    """Frames of the student's observation stacked (oldest first)."""
    drop_terms: tuple[str, ...] = ("base_lin_vel",)
    """Teacher policy terms the student does not get."""
    gradient_length: int = 16
    """Timesteps of loss summed per gradient step (epochs x steps per env should divide by it)."""
    loss_type: str = "mse"
    # Filled from the teacher's config.yaml when the run starts, so the run folder rebuilds the teacher.
    teacher_hidden_dims: tuple[int, ...] = ()
    teacher_obs_groups: tuple[str, ...] = ("policy",)
    teacher_activation: str = "elu"

    @classmethod
    def cpu(cls, **overrides: Any) -> DistillCfg:  # type: ignore[override]
        """2-core sizing: the teacher's CPU world count; a student std of 0.1 (Isaac Lab's distillation)
        so the student's own exploration stays near the states it will meet deployed."""
        base = cls(
            num_envs=512, actor_hidden_dims=(128, 128, 128), critic_hidden_dims=(), init_noise_std=0.1,
            num_learning_epochs=2, learning_rate=1e-3, max_iterations=300, save_interval=25, torch_threads=1,
            actor_obs_groups=(STUDENT_GROUP,),
        )  # fmt: skip
        return dataclasses.replace(base, **overrides)

    def to_rsl_rl(self) -> dict[str, Any]:
        def model(hidden: tuple[int, ...], activation: str, std: float) -> dict[str, Any]:
            return {
                "class_name": "rsl_rl.models:MLPModel",
                "hidden_dims": list(hidden),
                "activation": activation,
                "obs_normalization": self.obs_normalization,
                "distribution_cfg": {
                    "class_name": "rsl_rl.modules.distribution:GaussianDistribution",
                    "init_std": std,
                },
            }

        return {
            "num_steps_per_env": self.num_steps_per_env,
            "obs_groups": {"student": list(self.actor_obs_groups), "teacher": list(self.teacher_obs_groups)},
            "student": model(self.actor_hidden_dims, self.activation, self.init_noise_std),
            "teacher": model(self.teacher_hidden_dims, self.teacher_activation, 1.0),
            "algorithm": {
                "class_name": "rsl_rl.algorithms:Distillation",
                "num_learning_epochs": self.num_learning_epochs,
                "gradient_length": self.gradient_length,
                "learning_rate": self.learning_rate,
                "max_grad_norm": self.max_grad_norm,
                "loss_type": self.loss_type,
            },
            "multi_gpu": None,
        }


def student_env(teacher_env: EnvCfg, agent: DistillCfg) -> EnvCfg:
    """The teacher's env with a `student` group: its policy terms minus `drop_terms`, `history` frames."""
    teacher_group = teacher_env.observations[agent.teacher_obs_groups[0]]
    missing = [t for t in agent.drop_terms if t not in teacher_group.terms]
    if missing:
        raise RunError(
            f"drop_terms {missing} are not terms of the teacher's {agent.teacher_obs_groups[0]!r} group; "
            f"its terms: {list(teacher_group.terms)}"
        )
    group = copy.deepcopy(teacher_group)
    group.terms = {k: v for k, v in group.terms.items() if k not in agent.drop_terms}
    group.history_length = agent.history
    return dataclasses.replace(teacher_env, observations={**teacher_env.observations, STUDENT_GROUP: group})


def resolve_teacher(
    task: str | None, teacher: Path | None, agent: DistillCfg
) -> tuple[str, EnvCfg, DistillCfg]:
    """(task, env with the student group, agent with the teacher's model fields) from the teacher run."""
    from robolearn.policies.setup import spec_from_run

    if teacher is None and not agent.teacher:
        raise RunError("--algo distill needs --teacher <run folder of a PPO run>")
    run, _ = resolve_run(teacher or Path(agent.teacher))
    t = spec_from_run(run)
    if t.algo != "ppo":
        raise RunError(
            f"the teacher {run} was trained with algo {t.algo!r}; distillation needs a PPO teacher"
        )
    if task is not None and task != t.task:
        raise RunError(f"the teacher {run} was trained on {t.task!r}, not {task!r}")
    agent = dataclasses.replace(
        agent, teacher=str(run), teacher_hidden_dims=tuple(t.agent.actor_hidden_dims),
        teacher_obs_groups=tuple(t.agent.actor_obs_groups), teacher_activation=t.agent.activation,
    )  # fmt: skip
    return t.task, student_env(t.env, agent), agent
