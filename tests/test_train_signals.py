"""A training process stopped by Ctrl-C (SIGINT) or killed (SIGKILL) leaves a resumable run folder."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robolearn.policies.cli import EXIT_INTERRUPTED, TrainArgs
from robolearn.policies.runs import list_checkpoints, load_checkpoint, read_metrics
from robolearn.policies.train import train

START_TIMEOUT_S = 120

SCRIPT = """
import sys
from pathlib import Path
from robolearn.policies.cli import TrainArgs, train_main
from robolearn.rl import PpoCfg
save_interval, steps = (int(a) for a in sys.argv[2:4]) if len(sys.argv) > 2 else (1, 8)
agent = PpoCfg(num_envs=16, actor_hidden_dims=(16,), critic_hidden_dims=(16,), num_steps_per_env=steps,
               save_interval=save_interval)
sys.exit(train_main(TrainArgs(task="Go2-Stand", logdir=Path(sys.argv[1]), max_iterations=100000, agent=agent,
                              run_name="sig")))
"""


def _start(logdir: Path, *args: int, stdout: int = subprocess.DEVNULL) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(logdir), *map(str, args)], env=env,
                            stdout=stdout, stderr=subprocess.PIPE)  # fmt: skip


def _wait_for_checkpoints(
    proc: subprocess.Popen, logdir: Path, n: int, pattern: str = "Go2-Stand/*-sig"
) -> Path:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        exited = proc.poll() is not None  # before counting: a process may write its last checkpoint and exit
        runs = list(logdir.glob(pattern))
        if runs and len(list_checkpoints(runs[0])) >= n:
            return runs[0]
        assert not exited, proc.stderr.read().decode() if proc.stderr else "exited"
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"no {n} checkpoints within {START_TIMEOUT_S} s")


def test_sigint_saves_a_checkpoint_and_exits_cleanly(tmp_path: Path):
    proc = _start(tmp_path)
    run = _wait_for_checkpoints(proc, tmp_path, 2)
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(timeout=60)
    assert rc == EXIT_INTERRUPTED, proc.stderr.read().decode()
    rows = read_metrics(run)
    ckpt, state = load_checkpoint(run)
    assert state["iteration"] == len(rows) == rows[-1]["iteration"] + 1  # the interrupted iteration is saved
    assert (run / "policy.onnx").is_file() and (run / "policy.json").is_file()
    assert json.loads((run / "policy.json").read_text())["checkpoint"] == f"checkpoints/{ckpt.name}"
    assert not list(run.rglob(".*.tmp"))


def test_second_sigint_abandons_the_iteration_without_a_traceback(tmp_path: Path):
    # Checkpoints every 3 iterations of 128 steps (a rollout of ~0.4 s): both Ctrl-C land inside the rollout
    # of the iteration after checkpoint 3.
    proc = _start(tmp_path, 3, 128, stdout=subprocess.PIPE)
    run = _wait_for_checkpoints(proc, tmp_path, 1)
    while len(read_metrics(run)) < 4:  # the row is written just before the iteration's end checks
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
        time.sleep(0.01)
    time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = (b.decode() for b in proc.communicate(timeout=60))
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    out = " ".join(out.split())  # rich wraps long lines
    assert "abandoning this iteration" in out and "the run stands at model_000003.pt" in out, out
    ckpt, state = load_checkpoint(run)
    assert ckpt.name == "model_000003.pt"  # the abandoned iteration wrote nothing
    assert json.loads((run / "policy.json").read_text())["checkpoint"] == f"checkpoints/{ckpt.name}"
    assert not list(run.rglob(".*.tmp"))
    result = train(TrainArgs(resume=run, max_iterations=4))  # and it resumes from there
    assert result.iterations == 4 and [r["iteration"] for r in read_metrics(run)] == [0, 1, 2, 3]


def test_sigkill_leaves_a_resumable_run(tmp_path: Path):
    proc = _start(tmp_path)
    run = _wait_for_checkpoints(proc, tmp_path, 3)
    time.sleep(0.15)  # land somewhere inside an iteration or a checkpoint write
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    ckpts = list_checkpoints(run)
    _, state = load_checkpoint(run)  # the latest checkpoint is whole
    assert state["iteration"] == int(ckpts[-1].stem.split("_")[1])

    result = train(TrainArgs(resume=run, max_iterations=state["iteration"] + 2))
    assert result.iterations == state["iteration"] + 2 and not result.interrupted
    iterations = [r["iteration"] for r in read_metrics(run)]
    assert iterations == list(
        range(state["iteration"] + 2)
    )  # rows past the checkpoint were dropped, none doubled
    assert not list(run.rglob(".*.tmp"))


FAULT_SCRIPT = """
import dataclasses, sys
from pathlib import Path

import pytest
from robolearn.policies.cli import TrainArgs, train_main
from robolearn.registry import get_task
from robolearn.rl import PpoCfg
logdir, iterations = Path(sys.argv[1]), int(sys.argv[2])
if len(sys.argv) > 3:
    args = TrainArgs(resume=Path(sys.argv[3]), max_iterations=iterations)
else:
    env = dataclasses.replace(get_task("Go2-Stand").env_cfg(), episode_length_s=0.5)
    # 48 steps: the rollout and the checkpoint + export take about as long, so kills land in both.
    agent = PpoCfg(num_envs=16, actor_hidden_dims=(16,), critic_hidden_dims=(16,), num_steps_per_env=48,
                   save_interval=1, keep_checkpoints=0, torch_threads=1)
    args = TrainArgs(task="Go2-Stand", logdir=logdir, env=env, agent=agent, max_iterations=iterations, run_name="f")
sys.exit(train_main(args))
"""
FAULT_ITERATIONS = 12


def _train_process(logdir: Path, resume: Path | None = None) -> subprocess.Popen:
    argv = [sys.executable, "-c", FAULT_SCRIPT, str(logdir), str(FAULT_ITERATIONS)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(argv + ([str(resume)] if resume else []), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_matches_an_uninterrupted_run(tmp_path: Path):
    from test_train_ppo import checkpoint_differences

    reference = _train_process(tmp_path / "ref")
    assert reference.wait(timeout=300) == 0, reference.stderr.read().decode() if reference.stderr else ""
    ref_run = next((tmp_path / "ref").glob("Go2-Stand/*-f"))

    rng = random.Random(7)  # the kill moments are random but the same on every run of the test
    schedule: list[str] = []
    proc = _train_process(tmp_path / "faulty")
    run = _wait_for_checkpoints(proc, tmp_path / "faulty", 2, pattern="Go2-Stand/*-f")
    for _ in range(3):
        # A process's first export takes seconds (ONNX warm-up): kills wait for its second checkpoint, then
        # land anywhere in the rollout, the update, a checkpoint write or an export.
        saved = len(list_checkpoints(run))
        delay = rng.uniform(0.0, 1.0)
        time.sleep(delay)
        if proc.poll() is not None:
            break  # finished before this kill
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        writing = [p.name for p in run.rglob(".*.tmp")]  # a checkpoint or export cut short, or none
        schedule.append(f"SIGKILL {delay:.2f} s after checkpoint {saved}, writing {writing or 'nothing'}")
        proc = _train_process(tmp_path / "faulty", resume=run)
        target = min(len(list_checkpoints(run)) + 2, FAULT_ITERATIONS)
        _wait_for_checkpoints(proc, tmp_path / "faulty", target, pattern="Go2-Stand/*-f")
    assert proc.wait(timeout=300) == 0, proc.stderr.read().decode() if proc.stderr else ""

    faulty = {p.name: p for p in list_checkpoints(run)}
    assert sorted(faulty) == [p.name for p in list_checkpoints(ref_run)], schedule
    for ref in list_checkpoints(ref_run):  # every iteration, not only the last: the curves are one curve
        assert checkpoint_differences(ref, faulty[ref.name]) == [], (ref.name, schedule)
    print("kill -9 schedule:", schedule)
    rows_ref, rows = read_metrics(ref_run), read_metrics(run)
    assert [r["iteration"] for r in rows] == list(range(FAULT_ITERATIONS)), schedule
    for key in ("mean_return", "mean_episode_length", "Loss/surrogate", "env_steps"):
        assert [r[key] for r in rows] == [r[key] for r in rows_ref], (key, schedule)
