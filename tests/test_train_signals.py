"""A training process stopped by Ctrl-C (SIGINT) or killed (SIGKILL) leaves a resumable run folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from robolearn.policies.cli import EXIT_INTERRUPTED, TrainArgs
from robolearn.policies.runs import list_checkpoints, load_checkpoint, read_metrics
from robolearn.policies.train import train

START_TIMEOUT_S = 120

SCRIPT = """
import sys
from pathlib import Path
from robolearn.policies.cli import TrainArgs, train_main
from robolearn.rl import PpoCfg
agent = PpoCfg(num_envs=16, actor_hidden_dims=(16,), critic_hidden_dims=(16,), num_steps_per_env=8, save_interval=1)
sys.exit(train_main(TrainArgs(task="Go2-Stand", logdir=Path(sys.argv[1]), max_iterations=100000, agent=agent,
                              run_name="sig")))
"""


def _start(logdir: Path) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", SCRIPT, str(logdir)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip


def _wait_for_checkpoints(proc: subprocess.Popen, logdir: Path, n: int) -> Path:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        runs = list(logdir.glob("Go2-Stand/*-sig"))
        if runs and len(list_checkpoints(runs[0])) >= n:
            return runs[0]
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
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
    assert not list(run.rglob(".*.tmp"))


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
