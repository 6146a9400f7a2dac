"""`robolearn train --nproc`: ranks on torch.distributed (gloo on CPU) train one policy, rank 0 writes the run."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from robolearn.policies.cli import TrainArgs
from robolearn.policies.distributed import learner_digest
from robolearn.policies.runs import RunError, list_checkpoints, read_metrics
from robolearn.policies.train import train
from robolearn.registry import get_task
from robolearn.rl import PpoCfg

TASK = "Go2-Stand"
WORLDS = 16
TINY = dict(actor_hidden_dims=(32, 32), critic_hidden_dims=(32, 32), save_interval=2, torch_threads=1)


def tiny_args(logdir: Path, **kw) -> TrainArgs:
    env = dataclasses.replace(get_task(TASK).env_cfg(), episode_length_s=1.0, num_envs=WORLDS)
    return TrainArgs(task=TASK, logdir=logdir, env=env, **{"agent": PpoCfg(**TINY), "max_iterations": 3, **kw})


def files_of(run: Path) -> set[str]:
    """A run folder's files, the TensorBoard file's host/pid/time-stamped name reduced to its kind."""
    names = {str(p.relative_to(run)) for p in run.rglob("*") if p.is_file()}
    return {"events" if n.startswith("events.out.tfevents") else n for n in names}


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> Path:
    return train(tiny_args(tmp_path_factory.mktemp("runs"), nproc=2)).run


def test_two_gloo_ranks_keep_identical_parameters_and_count_both_ranks_worlds(two_ranks: Path):
    ckpt = torch.load(list_checkpoints(two_ranks)[-1], weights_only=False)
    assert ckpt["world_size"] == 2 and ckpt["iteration"] == 3
    # Each rank's learner digest, taken on that rank at the checkpoint: all equal to the saved networks'.
    assert ckpt["rank_digests"] == [learner_digest(ckpt)] * 2
    # Rank 1 stepped its own worlds (seed + 1): its saved world state is not rank 0's.
    assert len(ckpt["ranks"]) == 1
    assert not _same(ckpt["env_state"], ckpt["ranks"][0]["env_state"])
    steps = 24 * WORLDS * 2  # num_steps_per_env x worlds x ranks
    assert [r["env_steps"] for r in read_metrics(two_ranks)] == [steps, 2 * steps, 3 * steps]


def test_two_rank_run_folder_holds_what_one_process_writes(two_ranks: Path, tmp_path: Path):
    single = train(tiny_args(tmp_path)).run
    assert files_of(two_ranks) == files_of(single)


def test_two_rank_run_resumes_on_two_ranks_and_refuses_one(two_ranks: Path):
    with pytest.raises(RunError, match="--nproc 2"):
        train(TrainArgs(resume=two_ranks, max_iterations=4))
    result = train(TrainArgs(resume=two_ranks, max_iterations=4, nproc=2))
    assert result.iterations == 4 and not result.interrupted
    assert [r["iteration"] for r in read_metrics(two_ranks)] == [0, 1, 2, 3]
    ckpt = torch.load(list_checkpoints(two_ranks)[-1], weights_only=False)
    assert ckpt["rank_digests"] == [learner_digest(ckpt)] * 2


def test_nproc_rejects_learners_without_all_reduce(tmp_path: Path):
    with pytest.raises(RunError, match="PPO-loop learners"):
        train(tiny_args(tmp_path, algo="sb3-ppo", agent=None, nproc=2))
    assert not list((tmp_path / TASK).glob("*"))  # no half-made run folder


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and bool(torch.equal(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_cli_refuses_bad_nproc_before_starting_processes(tmp_path: Path, capsys):
    from robolearn.cli import main

    assert main(["train", TASK, "--nproc", "0", "--logdir", str(tmp_path)]) == 2
    assert "--nproc 0: expected 1 or more training processes" in capsys.readouterr().err
    assert main(["train", "Go2-Nope", "--nproc", "2", "--logdir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown task 'Go2-Nope'" in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())
