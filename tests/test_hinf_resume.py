"""A resumed H-infinity run continues the same training: worlds, episodes, disturber and generators."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from test_train_ppo import checkpoint_differences

from robolearn.policies.cli import TrainArgs
from robolearn.policies.runs import list_checkpoints, load_checkpoint, read_metrics
from robolearn.policies.train import train
from robolearn.registry import get_task
from robolearn.rl import HInfCfg

TASK = "A1-Velocity-HInf"
# Short episodes so that some end (and fill the return window) within the first two iterations.
ENV = dict(num_envs=4, episode_length_s=0.3, seed=5)
AGENT = HInfCfg(
    num_envs=4, actor_hidden_dims=(16,), critic_hidden_dims=(16,), disturber_hidden_dims=(16,),
    num_steps_per_env=8, hold_steps=2, force_start=40.0, save_interval=1, torch_threads=1,
)  # fmt: skip


def _args(logdir: Path, iterations: int) -> TrainArgs:
    env = dataclasses.replace(get_task(TASK).env_cfg(), **ENV)
    agent = dataclasses.replace(AGENT, max_iterations=iterations)
    return TrainArgs(task=TASK, algo="hinf", logdir=logdir, max_iterations=iterations, env=env, agent=agent)


def test_resumed_hinf_run_continues_bit_for_bit(tmp_path: Path):
    straight = train(_args(tmp_path / "a", 4)).run
    stopped = train(_args(tmp_path / "b", 2)).run
    state = load_checkpoint(stopped)[1]
    assert state["episodes"]["returns"], "the return window travels with the checkpoint"
    assert state["disturber"] is not None and "env_state" in state
    resumed = train(TrainArgs(resume=stopped, max_iterations=4)).run

    # Actor, both critics, optimizers, lambda, disturber, force cap, env state and generators all match.
    assert checkpoint_differences(list_checkpoints(straight)[-1], list_checkpoints(resumed)[-1]) == []
    rows_a, rows_b = read_metrics(straight), read_metrics(resumed)
    assert len(rows_a) == len(rows_b) == 4
    for key in ("mean_return", "Loss/surrogate", "Loss/cost_value", "Disturber/surrogate", "HInf/lambda",
                "HInf/mean_force", "HInf/cost_rate"):  # fmt: skip
        assert [r[key] for r in rows_a] == [r[key] for r in rows_b], key


def test_an_hinf_checkpoint_without_env_state_still_resumes(tmp_path: Path, capsys):
    run = train(_args(tmp_path, 1)).run
    latest = list_checkpoints(run)[-1]
    old = torch.load(latest, weights_only=False)
    # What robolearn wrote before resumes continued the worlds:
    for key in ("env_state", "episodes", "rng", "cost_batch_rng", "trunk_force"):
        del old[key]
    torch.save(old, latest)
    capsys.readouterr()
    result = train(TrainArgs(resume=run, max_iterations=2))
    assert result.iterations == 2 and not result.interrupted
    assert "holds no env state" in capsys.readouterr().out
    assert [r["iteration"] for r in read_metrics(run)] == [0, 1]
