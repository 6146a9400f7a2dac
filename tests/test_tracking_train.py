"""Training and evaluating the G1 tracking task: a tiny PPO run raises the return, `robolearn eval` reports the
tracking metrics per clip, and the clip is a config field the command line sets (a bad one exits with 2)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from robolearn.cli import main
from robolearn.envs.tracking.tasks import MOTIONS_DIR, tracking_cpu_ppo
from robolearn.policies.cli import TrainArgs
from robolearn.policies.runs import read_metrics
from robolearn.policies.train import train
from robolearn.registry import get_task

TASK = "G1-Tracking"
ITERATIONS = 10


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    return Path(shutil.copy(MOTIONS_DIR / "cmu_131_02_walk_g1.npz", folder / "walk.npz"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, clip: Path) -> Path:
    cfg = get_task(TASK).env_cfg()
    motion = dataclasses.replace(cfg.commands["motion"], motion_file=str(clip))
    env = dataclasses.replace(cfg, commands={"motion": motion})
    agent = dataclasses.replace(tracking_cpu_ppo(), num_envs=32, actor_hidden_dims=(64, 64),
                                critic_hidden_dims=(64, 64), save_interval=ITERATIONS)  # fmt: skip
    args = TrainArgs(task=TASK, logdir=tmp_path_factory.mktemp("runs"), env=env, max_iterations=ITERATIONS,
                     agent=agent)  # fmt: skip
    return train(args).run


def test_a_tiny_training_run_raises_the_return(trained: Path):
    rows = read_metrics(trained)
    assert len(rows) == ITERATIONS
    # Measured: 0.43 -> 0.77 mean return and 14 -> 33 steps per episode over these 10 iterations.
    assert rows[-1]["mean_return"] > rows[0]["mean_return"] + 0.03
    assert rows[-1]["mean_episode_length"] > rows[0]["mean_episode_length"]
    for term in ("anchor_pos", "body_pos", "body_ang_vel", "action_rate"):
        assert f"Episode_Reward/{term}" in rows[-1], term
    # The task's action is residual (targets around the reference's joint positions): policy.json says so.
    meta = json.loads((trained / "policy.json").read_text())
    assert meta["extra"]["action_offset_command"] == {"joint_pos": "motion"}


def test_eval_reports_tracking_metrics_per_clip(trained: Path, tmp_path: Path, capsys):
    out = tmp_path / "eval.json"
    assert main(["eval", str(trained), "--episodes", "6", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["episodes"] == 6
    walk = result["clips"]["walk"]
    assert walk["episodes"] == 6
    for metric in ("success", "episode_steps", "mpjpe_mm", "root_mpjpe_mm", "anchor_pos_m", "anchor_ori_rad", "end_effector_mm",
                   "joint_speed", "jerk"):  # fmt: skip
        assert set(walk[metric]) == {"mean", "ci95"}, metric
    # An untrained policy falls within a second: no success, errors of centimetres to decimetres.
    assert walk["success"]["mean"] == 0.0
    assert 5.0 < walk["mpjpe_mm"]["mean"] < 1000.0
    assert 1.0 < walk["root_mpjpe_mm"]["mean"] < 1000.0
    printed = capsys.readouterr().out
    assert "walk" in printed and "MPJPE" in printed


def test_the_clip_is_set_from_the_command_line_and_a_bad_one_exits_2(tmp_path: Path, capsys):
    bad = tmp_path / "h1_clip.npz"
    shutil.copy(MOTIONS_DIR / "cmu_131_02_walk_h1.npz", bad)
    argv = ["train", TASK, "--env.commands.motion.motion-file", str(bad), "--num-envs", "2",
            "--max-iterations", "1", "--logdir", str(tmp_path / "runs")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "'robot'" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "runs") == ["h1_clip.npz"], (
        "no cache written"
    )
    assert not list((tmp_path / "runs").rglob("config.yaml")), "no run folder left behind"
