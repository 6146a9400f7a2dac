"""`robolearn sweep` on a local Ray, `--ray` batch work, and the one-line hint when Ray is not installed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from robolearn.cli import main
from robolearn.policies.runs import read_config, read_metrics

pytest.importorskip("ray", reason="Ray is the 'ray' extra (the test extra brings it)")

TASK = "Go2-Stand"


def test_sweep_of_two_tiny_trials_on_local_ray_writes_two_runs_and_a_summary(tmp_path: Path, capsys):
    code = main(["sweep", TASK, "--seeds", "3", "--set", "agent.learning_rate=1e-3,3e-4", "--max-iterations", "2",
                 "--num-envs", "16", "--eval-episodes", "2", "--local-cpus", "2", "--logdir", str(tmp_path),
                 "--name", "lr"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    folder = tmp_path / TASK / "lr"
    runs = sorted((folder / TASK).iterdir())
    assert [r.name.split("-", 2)[-1] for r in runs] == ["learning_rate=0.0003_seed3", "learning_rate=0.001_seed3"] or \
        sorted(r.name.rsplit("-", 1)[-1] for r in runs) == ["learning_rate=1e-3_seed3", "learning_rate=3e-4_seed3"]
    for run in runs:  # each a normal run folder, trained as asked
        cfg = read_config(run)
        assert cfg["seed"] == 3 and cfg["env"]["num_envs"] == 16
        assert [r["iteration"] for r in read_metrics(run)] == [0, 1]
        assert (run / "policy.onnx").is_file() and (run / "eval.json").is_file()
    assert sorted(read_config(r)["agent"]["learning_rate"] for r in runs) == [3e-4, 1e-3]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["metric"] == "return"
    assert [s["setting"] for s in summary["settings"]] == ["learning_rate=1e-3", "learning_rate=3e-4"]
    for setting in summary["settings"]:
        assert setting["n"] == 1 and not setting["failed"]
        evaluated = [json.loads((r / "eval.json").read_text())["return"]["mean"] for r in runs
                     if r.name.endswith(setting["setting"].split("=")[1] + "_seed3")]  # fmt: skip
        assert setting["median_return"] == pytest.approx(evaluated[0])
    assert (folder / "summary.md").read_text().count("| learning_rate=") == 2
    assert (folder / "curves.png").stat().st_size > 10_000


def test_sweep_rejects_a_setting_that_is_no_config_field_before_training(tmp_path: Path, capsys):
    code = main(["sweep", TASK, "--set", "agent.learning_rat=1e-3", "--logdir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "agent.learning_rat is not a config field" in err and "Traceback" not in err
    assert not list(tmp_path.rglob("config.yaml"))
