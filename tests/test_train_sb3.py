"""SB3 PPO / SAC through the same run folders: metrics, checkpoints, eval and resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from robolearn.policies.cli import TrainArgs
from robolearn.policies.evaluate import eval_run
from robolearn.policies.runs import RunError, list_checkpoints, read_metrics
from robolearn.policies.train import train


@pytest.mark.parametrize("algo", ["sb3-ppo", "sb3-sac"])
def test_sb3_run_folder_eval_and_resume(algo: str, tmp_path: Path):
    result = train(TrainArgs(task="Go2-Stand", algo=algo, num_envs=8, max_iterations=2, logdir=tmp_path))
    run = result.run
    rows = read_metrics(run)
    assert [r["iteration"] for r in rows] == [0, 1]
    assert rows[-1]["env_steps"] == 2 * 8 * 24 and "Sim/nan_resets" in rows[-1]
    if any(r["mean_return"] is not None for r in rows):  # an episode ended: its reward terms were logged
        assert any("Episode_Reward/height" in r for r in rows)
    assert [p.name for p in list_checkpoints(run)] == ["model_000002.pt"]
    assert (run / "config.yaml").read_text().count(f"algo: {algo}") == 1
    result = eval_run(run, episodes=3, seed=7, quiet=True)
    assert result["episodes"] == 3
    with pytest.raises(RunError, match="trained with algo"):
        train(TrainArgs(resume=run, algo="ppo"))
    again = train(TrainArgs(resume=run, max_iterations=3))  # no --algo: the run's own
    assert again.iterations == 3 and [r["iteration"] for r in read_metrics(run)] == [0, 1, 2]


def test_sb3_resume_continues_the_worlds_and_the_return_window(tmp_path: Path):
    """A resumed SB3 run steps the worlds where the checkpoint left them (SB3 would otherwise reset them).
    Its networks do not continue bit for bit: SB3 checkpoints before the last rollout's update."""
    steps = 24  # Sb3Cfg.steps_per_iteration of Go2-Stand
    run = train(
        TrainArgs(task="Go2-Stand", algo="sb3-ppo", num_envs=8, max_iterations=2, logdir=tmp_path)
    ).run
    stopped = torch.load(list_checkpoints(run)[-1], weights_only=False)
    train(TrainArgs(resume=run, max_iterations=3))
    resumed = torch.load(list_checkpoints(run)[-1], weights_only=False)
    before, after = stopped["env_state"]["env"], resumed["env_state"]["env"]
    assert after["common_step_counter"] == 3 * steps
    # Worlds whose episode ran through the third iteration are `steps` further into it, not restarted.
    went_on = after["episode_length_buf"] == before["episode_length_buf"] + steps
    assert went_on.any() and (went_on | (after["episode_length_buf"] < steps)).all()
    # The return window carries the episodes that ended before the stop.
    assert (
        resumed["episodes"]["returns"][: len(stopped["episodes"]["returns"])]
        == stopped["episodes"]["returns"]
    )
