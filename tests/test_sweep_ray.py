"""`robolearn sweep` on a local Ray, `--ray` batch work, and the one-line hint when Ray is not installed."""

from __future__ import annotations

import json
import shutil
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
    assert sorted(r.name.split("-", 2)[-1] for r in runs) == ["learning_rate=1e-3_seed3", "learning_rate=3e-4_seed3"]
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

    # `robolearn eval <folder of runs> --ray local`: the same eval.json as the local path wrote, and a run
    # with a corrupt checkpoint reported while the others are evaluated.
    local = {r: json.loads((r / "eval.json").read_text()) for r in runs}
    for r in runs:
        (r / "eval.json").unlink()
    bad = runs[0].with_name("corrupt")
    shutil.copytree(runs[0], bad)
    for ckpt in (bad / "checkpoints").iterdir():
        ckpt.write_bytes(ckpt.read_bytes()[:500])
    code = main(["eval", str(folder / TASK), "--ray", "local", "--episodes", "2"])
    captured = capsys.readouterr()
    assert code == 1
    assert "2 of 3 runs evaluated" in captured.out
    assert f"failed: {bad}" in captured.err and "model_000002.pt" in captured.err
    for r in runs:
        assert json.loads((r / "eval.json").read_text())["return"] == local[r]["return"]
    # Without --ray the same folder is evaluated in this process, run after run, with the same report.
    for r in runs:
        (r / "eval.json").unlink()
    assert main(["eval", str(folder / TASK), "--episodes", "2"]) == 1
    assert "2 of 3 runs evaluated" in capsys.readouterr().out
    for r in runs:
        assert json.loads((r / "eval.json").read_text())["return"] == local[r]["return"]


def test_sweep_rejects_a_setting_that_is_no_config_field_before_training(tmp_path: Path, capsys):
    code = main(["sweep", TASK, "--set", "agent.learning_rat=1e-3", "--logdir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "agent.learning_rat is not a config field" in err and "Traceback" not in err
    assert not list(tmp_path.rglob("config.yaml"))


DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CMU = DATA / "mocap" / "cmu"


def test_ray_batch_retarget_writes_the_good_clips_and_reports_the_corrupt_one(tmp_path: Path, capsys):
    src = tmp_path / "mocap"
    src.mkdir()
    for name in ("131_02.bvh", "131_03.bvh"):
        (src / name).write_bytes((CMU / name).read_bytes())
    (src / "cut.bvh").write_text((CMU / "131_01.bvh").read_text()[:30000])  # a truncated download
    out = tmp_path / "clips"

    code = main(["retarget", "--batch", str(src), "--out", str(out), "--stop", "15", "--ray", "local",
                 "--workers", "2"])  # fmt: skip

    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert sorted(p.name for p in out.iterdir()) == ["131_02_g1.npz", "131_03_g1.npz"]  # no temp files left
    assert "2 of 3 clips written" in captured.out
    assert "cut.bvh: field 'Frames': header says 994 frames" in captured.err
    # The same clip as the local process pool writes.
    local = tmp_path / "local"
    assert main(["retarget", str(src / "131_02.bvh"), "--out", str(local / "a.npz"), "--stop", "15"]) == 0
    import numpy as np

    with np.load(out / "131_02_g1.npz") as a, np.load(local / "a.npz") as b:
        np.testing.assert_allclose(a["qpos"], b["qpos"])


def test_ray_demos_write_a_dataset_the_reader_accepts_and_append_like_the_local_path(tmp_path: Path):
    from robolearn.policies.data import LeRobotDataset

    out = tmp_path / "reach"
    assert main(["demos", "Aloha-Reach", "--out", str(out), "--n", "2", "--batch", "1", "--ray", "local"]) == 0
    assert main(["demos", "Aloha-Reach", "--out", str(out), "--n", "1", "--batch", "1"]) == 0  # local appends
    ds = LeRobotDataset(out)
    assert ds.num_episodes == 3
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
