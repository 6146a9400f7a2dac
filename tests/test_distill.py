"""Teacher-student distillation: a student without the base velocity learns the PPO teacher's actions."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from robolearn.policies.cli import TrainArgs
from robolearn.policies.evaluate import load_run_policy
from robolearn.policies.runs import RunError, read_metrics
from robolearn.policies.train import train
from robolearn.registry import get_task
from robolearn.rl import DistillCfg, PpoCfg
from robolearn.sim2real.observation import ObservationBuilder
from robolearn.sim2real.robot import RobotState
from robolearn.sim2real.schema import PolicyMetadata

TASK = "Go2-Velocity-Flat"


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> Path:
    env = dataclasses.replace(get_task(TASK).env_cfg(), episode_length_s=2.0)
    agent = PpoCfg(num_envs=16, num_steps_per_env=8, actor_hidden_dims=(32, 32), critic_hidden_dims=(32, 32))
    args = TrainArgs(
        task=TASK, logdir=tmp_path_factory.mktemp("runs"), max_iterations=2, env=env, agent=agent
    )
    return train(args).run


@pytest.fixture(scope="module")
def student(teacher: Path) -> Path:
    agent = DistillCfg.cpu(num_envs=16, num_steps_per_env=8, actor_hidden_dims=(64, 64), gradient_length=4,
                           learning_rate=3e-3, max_iterations=10, save_interval=5)  # fmt: skip
    return train(TrainArgs(algo="distill", teacher=teacher, logdir=teacher.parent.parent, agent=agent)).run


def test_student_loss_falls(student: Path):
    rows = read_metrics(student)
    assert len(rows) == 10
    losses = [r["Loss/behavior"] for r in rows]
    assert losses[-1] < 0.5 * losses[0], losses


def test_student_is_deployable_without_a_velocity_estimate(student: Path, teacher: Path):
    meta = PolicyMetadata.from_json((student / "policy.json").read_text())
    teacher_meta = json.loads((teacher / "policy.json").read_text())
    names = [t.name for t in meta.observation_terms]
    assert "base_lin_vel" not in names and meta.history_length == 5 and meta.obs_group == "student"
    assert meta.obs_dim == 5 * (teacher_meta["obs_dim"] - 3)
    builder = ObservationBuilder(meta)
    state = RobotState(q=np.asarray(meta.default_joint_pos), dq=np.zeros(12), quat=np.array([1.0, 0, 0, 0]),
                       gyro=np.zeros(3))  # fmt: skip
    assert builder.build(state, np.zeros(3), np.zeros(12)).shape == (meta.obs_dim,)


def test_student_run_loads_for_eval(student: Path):
    pol = load_run_policy(student, num_envs=2, seed=0)
    obs, _ = pol.env.reset(seed=0)
    assert pol.act(obs).shape == (2, 12)


def test_teacher_of_another_task_is_refused(teacher: Path, tmp_path: Path):
    with pytest.raises(RunError, match="Go2-Velocity-Flat"):
        train(TrainArgs(task="Go2-Stand", algo="distill", teacher=teacher, logdir=tmp_path))
