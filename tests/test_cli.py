"""The robolearn command: list, bench, play --random, and its errors."""

from __future__ import annotations

import subprocess
import sys

from robolearn.cli import main


def test_list_shows_tasks_robots_and_backends(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "Go2-Velocity-Flat" in out and "robolearn/Go2-Velocity-Flat-v0" in out
    assert "unitree_g1" in out and "cpu" in out


def test_bench_prints_ratio_to_raw_physics(capsys):
    argv = ["bench", "Go2-Velocity-Flat", "--env.num-envs", "8", "--env.sim.num-threads", "1", "--steps", "5",
            "--repeats", "1"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "ratio" in out and "raw physics" in out


def test_play_random_writes_a_video(tmp_path):
    video = tmp_path / "play.mp4"
    argv = ["play", "Go2-Velocity-Flat", "--random", "--video", str(video), "--steps", "6", "--worlds", "1"]
    assert main(argv) == 0
    assert video.stat().st_size > 1000
    assert not list(tmp_path.glob(".*tmp*")), "the temp file must be renamed into place"


def test_tyro_overrides_reach_the_env_config(capsys):
    # A bad override value is rejected by tyro with the field's name.
    proc = subprocess.run([sys.executable, "-m", "robolearn.cli", "bench", "Go2-Velocity-Flat", "--env.sim.dt", "abc"],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode != 0 and "env.sim.dt" in proc.stderr


def test_unknown_task_and_command_are_clear_errors(capsys):
    assert main(["bench", "Go2-Velocity-Flatt"]) == 2
    err = capsys.readouterr().err
    assert "unknown task 'Go2-Velocity-Flatt'; valid tasks:" in err and "Go2-Velocity-Flat," in err
    assert main(["fly"]) == 2
    assert "unknown command 'fly'" in capsys.readouterr().err


def test_imitation_commands_are_wired(tmp_path, capsys):
    assert main(["list"]) == 0
    assert "Aloha-CubeTransfer" in capsys.readouterr().out
    # Training on a folder that is not a dataset fails before any run folder exists.
    code = main(
        [
            "train",
            "Aloha-Reach",
            "--algo",
            "bc",
            "--data",
            str(tmp_path / "none"),
            "--logdir",
            str(tmp_path / "runs"),
        ]
    )
    assert code != 0
    assert "meta/info.json" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_task_flag_takes_the_task_config_path():
    # `--task X` is rewritten to the positional form, the one whose parser knows the learner's own fields
    # (e.g. --agent.eta of the H-infinity learner).
    from robolearn.policies.cli import _task_first

    assert _task_first(["--algo", "hinf", "--task", "A1-Velocity-HInf", "--agent.eta", "2"]) == [
        "A1-Velocity-HInf", "--algo", "hinf", "--agent.eta", "2"
    ]
    assert _task_first(["--task=Go2-Velocity-Flat", "--seed", "1"]) == ["Go2-Velocity-Flat", "--seed", "1"]
    assert _task_first(["--resume", "runs/x"]) == ["--resume", "runs/x"]
