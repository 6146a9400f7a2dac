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
from pathlib import Path

from robolearn.core.cfg import EnvCfg
from robolearn.policies.runs import RunError, resolve_run
from robolearn.rl import STUDENT_GROUP, DistillCfg


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
