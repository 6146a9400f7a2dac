"""The robolearn command: the verb tree, help and errors, and overrides that reach config.yaml and the env."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from robolearn.cli import main, verbs
from robolearn.policies import setup
from robolearn.policies.plain_config import to_plain
from robolearn.policies.runs import read_metrics
from robolearn.registry import get_task

TASK = "Go2-Velocity-Flat"  # its trot rewards were once re-applied over --env.rewards.* overrides
TINY = ["--num-envs", "4", "--max-iterations", "1", "--env.sim.num-threads", "1", "--agent.num-steps-per-env", "4",
        "--agent.num-mini-batches", "1", "--agent.actor-hidden-dims", "16", "--agent.critic-hidden-dims", "16"]  # fmt: skip


def test_no_arguments_and_help_list_the_verbs(capsys):
    for argv in ([], ["--help"]):
        assert main(argv) == 0
        out = capsys.readouterr().out
        for verb in verbs():
            assert verb in out, verb


@pytest.mark.parametrize("verb", list(verbs()))
def test_every_verb_has_help_listing_its_flags(verb, capsys):
    assert main([verb, "--help"]) == 0
    out = capsys.readouterr().out
    assert f"usage: robolearn {verb}" in out and "--help" in out


def test_a_task_verb_help_lists_the_task_fields_and_aliases(capsys):
    assert main(["train", TASK, "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--env.rewards.gait-contact.weight", "--env.rewards.track-lin-vel-xy.params.std",
                 "--num-envs INT, --env.num-envs", "--seed INT, --env.seed", "--backend STR, --env.sim.backend",
                 "--max-iterations INT, --agent.max-iterations", "--agent.learning-rate", "--remove"):  # fmt: skip
        assert flag in out, flag
    assert "--agent.num-envs" not in out  # the env owns the number of worlds
    assert main(["train", "A1-Velocity-HInf", "--algo", "hinf", "--help"]) == 0
    assert "--agent.force-max" in capsys.readouterr().out  # the learner's own config type


def test_unknown_verb_task_and_removal_are_clear_errors(capsys):
    assert main(["fly"]) == 2
    captured = capsys.readouterr()
    assert "fly" in captured.out + captured.err and "train" in captured.out + captured.err
    assert main(["bench", "Go2-Velocity-Flatt"]) == 2
    err = capsys.readouterr().err
    assert "unknown task 'Go2-Velocity-Flatt'; valid tasks:" in err and "Go2-Velocity-Flat," in err
    assert main(["train", "Go2-Velocity-Flatt"]) == 2
    assert "unknown task 'Go2-Velocity-Flatt'; valid tasks:" in capsys.readouterr().err
    assert main(["play", "nowhere-task", "--random"]) == 2
    assert "valid tasks:" in capsys.readouterr().err
    assert main(["bench", TASK, "--remove", "env.rewards.nope", "--steps", "1"]) == 2
    err = capsys.readouterr().err
    assert "--remove env.rewards.nope: env.rewards has no entry 'nope'" in err and "stand-still" in err
    assert main(["train", TASK, "--agent.num-envs", "8"]) == 2  # not a flag: --num-envs is


def test_bad_override_value_names_the_flag_without_a_traceback():
    proc = subprocess.run([sys.executable, "-m", "robolearn.cli", "bench", TASK, "--env.sim.dt", "abc"],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2 and "env.sim.dt" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def _list(columns: int) -> str:
    """`robolearn list` piped, as `robolearn list | less` or a CI log reads it, at a terminal width."""
    env = {**os.environ, "COLUMNS": str(columns)}
    proc = subprocess.run(
        [sys.executable, "-m", "robolearn.cli", "list"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_list_shows_tasks_robots_and_backends_whole_at_80_columns():
    from robolearn.registry import task_names
    from robolearn.robots import ROBOTS

    out = _list(80)
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "…" not in out and "..." not in out  # wrapped, never cut
    # Every description reads whole once the table's borders and the wrapping are taken out.
    text = " ".join(out.replace("│", " ").split())
    for name in task_names():
        spec = get_task(name)
        assert f"{name} {' '.join(spec.description.split())}" in text, name
    for r in ROBOTS.values():
        assert r.name in text and " ".join(r.description.split()) in text, r.name
    assert "robolearn/<task>-v0" in out and "cpu" in out and "Aloha-CubeTransfer" in out
    wide = _list(160)
    assert "robolearn/Go2-Velocity-Flat-v0" in wide and "unitree_g1" in wide


def test_bench_prints_ratio_to_raw_physics(capsys):
    argv = ["bench", TASK, "--num-envs", "8", "--env.sim.num-threads", "1", "--steps", "5", "--repeats", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "ratio" in out and "raw physics" in out


def test_play_random_writes_a_video(tmp_path, gl_backend):
    video = tmp_path / "play.mp4"
    assert main(["play", TASK, "--random", "--video", str(video), "--steps", "6", "--num-envs", "1"]) == 0
    assert video.stat().st_size > 1000
    assert not list(tmp_path.glob(".*tmp*")), "the temp file must be renamed into place"


def test_imitation_training_is_chosen_by_the_algo_and_checks_its_data(tmp_path, capsys):
    argv = [
        "train",
        "Aloha-Reach",
        "--algo",
        "bc",
        "--data",
        str(tmp_path / "none"),
        "--logdir",
        str(tmp_path),
    ]
    assert main(argv) != 0
    assert "meta/info.json" in capsys.readouterr().err
    assert not (tmp_path / "Aloha-Reach").exists()
    assert main(["train", "Aloha-Reach", "--help"]) == 0  # the imitation learner's config, with its aliases
    assert "--data PATH, --agent.data" in capsys.readouterr().out
    assert main(["train", "Go2-Stand", "--algo", "bc"]) == 2
    assert "not an imitation task" in capsys.readouterr().err


def test_a_flag_the_learner_would_ignore_is_refused(tmp_path, capsys):
    # Nothing given is silently dropped: options of another learner are errors, before any run folder.
    assert main(["train", "Aloha-Reach", "--algo", "bc", "--video", "--logdir", str(tmp_path)]) == 2
    assert "--video: not an option of --algo bc" in capsys.readouterr().err
    assert main(["train", "Go2-Stand", "--skills", "h1-walk", "--logdir", str(tmp_path)]) == 2
    assert "--skills is an option of --algo skillblender, not of --algo ppo" in capsys.readouterr().err
    assert main(["train", "Go2-Stand", "--env.sim.device", "cuda", "--logdir", str(tmp_path)]) == 2
    assert "set --device only" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_every_kind_of_override_reaches_config_yaml_and_the_trained_env(tmp_path, monkeypatch, capsys):
    default = get_task(TASK).env_cfg()
    cmd = "env.commands.base-velocity"  # a named command term
    assert "base_velocity" in default.commands
    argv = ["train", TASK, *TINY, "--logdir", str(tmp_path), "--seed", "7",
            "--env.episode-length-s", "2.5",  # scalar
            "--env.rewards.joint-torques.weight", "-0.001",  # nested term weight (the trot recipe sets it)
            "--env.rewards.track-lin-vel-xy.params.std", "0.4",  # term parameter
            f"--{cmd}.lin-vel-x", "-0.3", "0.6",  # tuple range
            "--env.events.friction.params.friction-range", "0.7", "1.1",  # tuple range in a term's params
            "--agent.learning-rate", "0.0005",
            "--remove", "env.rewards.stand-still", "env.events.push"]  # dict entry removal  # fmt: skip
    seen = []
    make_env = setup.make_env
    monkeypatch.setattr(setup, "make_env", lambda *a, **k: seen.append(make_env(*a, **k)) or seen[-1])
    assert main(argv) == 0
    (run,) = (tmp_path / TASK).iterdir()
    config = yaml.safe_load((run / "config.yaml").read_text())
    env, agent = config["env"], config["agent"]
    command = env["commands"]
    for part in cmd.split(".")[2:]:
        command = command[part.replace("-", "_")]
    assert (
        env["num_envs"] == 4 and env["seed"] == 7 and config["seed"] == 7 and env["episode_length_s"] == 2.5
    )
    assert (
        env["sim"]["num_threads"] == 1 and agent["max_iterations"] == 1 and agent["learning_rate"] == 0.0005
    )
    assert agent["num_envs"] is None  # the env owns it
    assert env["rewards"]["joint_torques"]["weight"] == -0.001
    assert env["rewards"]["track_lin_vel_xy"]["params"]["std"] == 0.4
    assert command["lin_vel_x"] == [-0.3, 0.6]
    assert env["events"]["friction"]["params"]["friction_range"] == [0.7, 1.1]
    assert "stand_still" not in env["rewards"] and "push" not in env["events"]
    assert "gait_contact" in env["rewards"]  # the rest of the recipe is kept
    # The env that trained was built from exactly that config.
    (trained,) = seen
    assert to_plain(trained.cfg) == env
    assert trained.num_envs == 4
    assert trained.reward_manager.terms["joint_torques"].weight == -0.001
    assert "stand_still" not in trained.reward_manager.terms and "push" not in trained.event_manager.terms
    assert [r["iteration"] for r in read_metrics(run)] == [0]

    # A distillation's flags are its teacher's env and the student's config.
    assert main(["train", "--algo", "distill", "--teacher", str(run), "--help"]) == 0
    assert "--agent.teacher-hidden-dims" in capsys.readouterr().out

    # Resuming takes --max-iterations; any other change to the run's config is refused, naming it.
    assert main(["train", "--resume", str(run), "--max-iterations", "2"]) == 0
    assert [r["iteration"] for r in read_metrics(run)] == [0, 1]
    assert main(["train", "--resume", str(run), "--max-iterations", "3", "--env.rewards.joint-torques.weight",
                 "-0.002"]) == 2  # fmt: skip


def test_python_api_preset_worlds_fold_into_the_env(tmp_path: Path):
    from robolearn.policies.cli import TrainArgs
    from robolearn.policies.train import resolve_spec
    from robolearn.rl import PpoCfg

    agent = PpoCfg(num_envs=8, max_iterations=1)
    spec, run, _, _ = resolve_spec(
        TrainArgs(task="Go2-Stand", agent=agent, logdir=tmp_path, remove=("env.rewards.alive",))
    )
    assert spec.env.num_envs == 8 and spec.agent.num_envs is None
    assert "alive" not in spec.env.rewards and "alive" in get_task("Go2-Stand").env_cfg().rewards
    assert yaml.safe_load((run / "config.yaml").read_text())["env"]["num_envs"] == 8


def test_resume_after_a_corrupt_checkpoint_hints_a_flag_that_works(tmp_path, capsys):
    argv = [
        "train",
        TASK,
        *TINY,
        "--max-iterations",
        "2",
        "--agent.save-interval",
        "1",
        "--logdir",
        str(tmp_path),
    ]
    assert main(argv) == 0
    (run,) = (tmp_path / TASK).iterdir()
    good, latest = sorted((run / "checkpoints").glob("model_*.pt"))
    latest.write_bytes(latest.read_bytes()[:100])  # a truncated file, as a full disk leaves it
    capsys.readouterr()

    assert main(["eval", str(run), "--episodes", "1"]) == 2
    assert f"pass it with --checkpoint {good})" in capsys.readouterr().err  # eval's flag
    assert main(["train", "--resume", str(run), "--max-iterations", "3"]) == 2
    refused = capsys.readouterr().err
    assert str(latest) in refused and f"pass it with --resume {good})" in refused  # train's flag
    assert main(["train", "--resume", str(run), "--checkpoint", str(good)]) == 2  # what the old hint said
    err = capsys.readouterr().err
    assert "train: unknown flag --checkpoint (train has none: --resume takes" in err
    assert "Traceback" not in err and "Could not create" not in err

    hinted = re.search(r"pass it with (--resume \S+)\)", refused)
    assert hinted is not None
    assert main(["train", *hinted.group(1).split(), "--max-iterations", "3"]) == 0  # the hint, as typed
    assert [r["iteration"] for r in read_metrics(run)][-2:] == [1, 2]


def test_unknown_flags_are_named_with_the_flag_meant(capsys):
    for argv, said in [
        (["train", TASK, "--max-iteration", "3"], "train: unknown flag --max-iteration (did you mean --max-iterations?)"),
        (["train", TASK, "--env.rewards.stand-stil.weight", "1"],
         "unknown flag --env.rewards.stand-stil.weight (did you mean --env.rewards.stand-still.weight?)"),
        (["eval", "runs/x", "--chekpoint", "x"], "eval: unknown flag --chekpoint (did you mean --checkpoint?)"),
        (["train", TASK, "--frobnicate"], "train: unknown flag --frobnicate; `robolearn train --help` lists its flags"),
    ]:  # fmt: skip
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err and "Could not create" not in err, err


def _read_until(fd: int, pattern: str, proc: subprocess.Popen, timeout: float = 120.0) -> str:
    """What `fd` gives until `pattern` matches it (the process's own output, not a fixed sleep: a loaded machine
    takes 5-6 s to import where an idle one takes 3); fails if the process ends or the timeout passes first."""
    import select
    import time

    text, deadline = "", time.monotonic() + timeout
    while not re.search(pattern, text):
        assert proc.poll() is None, f"ended (exit {proc.returncode}) before {pattern!r}: {text[-2000:]}"
        assert time.monotonic() < deadline, f"no {pattern!r} in {timeout:g} s: {text[-2000:]}"
        if select.select([fd], [], [], 0.5)[0]:
            text += os.read(fd, 65536).decode(errors="replace")
    return text


def test_ctrl_c_outside_training_is_one_line_and_leaves_no_clip(tmp_path):
    """Ctrl-C while retargeting a long clip: exit 130, one line, no traceback, no clip or temp file left."""
    import pty
    import select
    import signal
    import time

    clip = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mocap" / "cmu" / "01_01.bvh"
    out = tmp_path / "out"
    out.mkdir()
    cmd = [
        sys.executable,
        "-m",
        "robolearn.cli",
        "retarget",
        str(clip),
        "--robot",
        "g1",
        "--out",
        str(out / "a.npz"),
    ]
    # stdout on a terminal, as a user's is: the progress bar is drawn live there (to a pipe, only at the end).
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120"}
    # SIGINT back to its default in the child: a job started in the background (`cmd &` without job control, as
    # a CI script may run pytest) inherits SIGINT ignored, and Python then installs no handler: the interrupt
    # would be dropped and the clip written (it was, in such a run).
    proc = subprocess.Popen(cmd, stdout=follower, stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    os.close(follower)
    try:
        # Solving: the bar shows a frame done (2752 frames: several seconds more on any CPU).
        _read_until(leader, r"\b[1-9]\d*/2752\b", proc)
        proc.send_signal(signal.SIGINT)
        # Keep reading the terminal until the process ends: the bar's last redraw on the way out blocks on a
        # full pty otherwise (it did in CI: the process hung after the interrupt).
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([leader], [], [], 0.2)[0]:
                try:
                    os.read(leader, 65536)
                except OSError:  # the follower side closed: the process is gone
                    break
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        os.close(leader)
    assert proc.returncode == 130, err
    assert err.strip() == "robolearn: interrupted", err
    assert list(out.iterdir()) == []


def test_ctrl_c_while_the_cli_starts_is_one_line() -> None:
    """Ctrl-C during start-up, while the CLI's imports (seconds of torch and MuJoCo) load: exit 130 and one line,
    no traceback. The interrupt is delivered where it lands, not by timing a signal (which on a fast machine
    arrives after start-up and on a loaded one before it): an import hook raises KeyboardInterrupt, what
    Python raises on SIGINT, as the CLI's last heavy import begins."""
    code = (
        "import runpy, sys\n"
        "class CtrlC:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'robolearn.sim2real.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, CtrlC())\n"
        "sys.argv = ['robolearn', 'list']\n"
        "runpy.run_module('robolearn.cli', run_name='__main__', alter_sys=True)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 130, out.stderr[-3000:]
    assert out.stderr.strip() == "robolearn: interrupted", out.stderr[-3000:]
    assert out.stdout == ""  # nothing listed: the command never ran
