"""`robolearn imitate` as a user runs it: a real CMU walk (2 s of it) onto the G1, a one-iteration policy, then
the stage manifest: a rerun skips every unchanged stage, a changed input reruns only what depends on it, and a
run killed between stages picks up without redoing the finished ones."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from robolearn.policies.imitate.pipeline import ImitateCfg, imitate

CLIP = Path(os.environ["ROBOLEARN_DATA"]) / "mocap" / "cmu" / "131_01.bvh"
TINY = dict(robot="g1", max_iterations=1, num_envs=4, eval_episodes=2, sim2sim_episodes=1, video=False,
            frames=(0, 240))  # fmt: skip
"""2 s of the walk (100 frames at the 50 Hz policy rate), one PPO iteration on 4 worlds: seconds per stage."""
STAGES_RUN = ["retarget", "train", "eval", "export", "sim2sim", "report"]


def finished(run: Path) -> dict[str, str]:
    return {
        k: v["finished"] + str(v["seconds"])
        for k, v in json.loads((run / "manifest.json").read_text())["stages"].items()
    }


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ImitateCfg]:
    cfg = ImitateCfg(motion=CLIP, out=tmp_path_factory.mktemp("imitate") / "walk", **TINY)  # type: ignore[arg-type]
    runner = imitate(cfg)
    assert [r.name for r in runner.records if r.ran] == STAGES_RUN
    return cfg.run_dir(), cfg


def test_first_run_writes_every_stage(first_run: tuple[Path, ImitateCfg]) -> None:
    run, _ = first_run
    for rel in ("clips/131_01.npz", "retarget.json", "eval.json", "export/policy.onnx", "export/policy.json",
                "export/motion.npz", "sim2sim.json", "report.md", "report.json"):  # fmt: skip
        assert (run / rel).is_file(), rel
    policy = json.loads((run / "export/policy.json").read_text())
    assert policy["extra"]["motion"]["file"] == "motion.npz"
    assert policy["extra"]["motion"]["clips"] == ["131_01"]
    s2s = json.loads((run / "sim2sim.json").read_text())
    assert s2s["episodes"] == 1 and s2s["mpjpe_mm"] > 0
    quality = json.loads((run / "retarget.json").read_text())["131_01.bvh"]
    assert quality["frames"] == 240 and quality["keypoint_error_overall"] < 0.1


def test_second_run_skips_unchanged_stages(first_run: tuple[Path, ImitateCfg]) -> None:
    run, cfg = first_run
    before = finished(run)
    mtimes = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file() and p.name != "imitate.json"}
    runner = imitate(cfg)
    assert [r.name for r in runner.records if r.ran] == []
    assert finished(run) == before
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes


def test_changed_input_reruns_only_what_depends_on_it(first_run: tuple[Path, ImitateCfg]) -> None:
    run, cfg = first_run
    before = finished(run)
    import dataclasses

    runner = imitate(dataclasses.replace(cfg, eval_episodes=3))
    assert [r.name for r in runner.records if r.ran] == ["eval", "report"]
    after = finished(run)
    for stage in ("retarget", "train", "export", "sim2sim"):
        assert after[stage] == before[stage], stage
    assert json.loads((run / "eval.json").read_text())["episodes"] == 3


def test_rerun_after_a_kill_between_stages_finishes_without_redoing(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    argv = [sys.executable, "-m", "robolearn.cli", "imitate", str(CLIP), "--out", str(out), "--robot", "g1",
            "--max-iterations", "1", "--num-envs", "4", "--eval-episodes", "2", "--sim2sim-episodes", "1",
            "--no-video", "--frames", "0", "240"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = out / "manifest.json"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if manifest.is_file() and "train" in json.loads(manifest.read_text())["stages"]:
                proc.send_signal(signal.SIGKILL)  # between train and the stages after it
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    stages = json.loads(manifest.read_text())["stages"]
    assert "train" in stages and "report" not in stages, "the kill came too late to test anything"
    before = finished(out)
    runner = imitate(ImitateCfg(motion=CLIP, out=out, resume=True, **TINY))  # type: ignore[arg-type]
    ran = [r.name for r in runner.records if r.ran]
    assert "retarget" not in ran and "train" not in ran
    assert ran[-1] == "report" and (out / "report.md").is_file()
    after = finished(out)
    assert all(after[k] == v for k, v in before.items() if k in ("retarget", "train"))


def test_missing_motion_file_is_one_error_and_writes_nothing(tmp_path: Path) -> None:
    from robolearn.cli import main

    out = tmp_path / "run"
    code = main(["imitate", str(tmp_path / "nope.bvh"), "--out", str(out), "--robot", "g1"])
    assert code == 2
    assert not out.exists()


def test_resume_continues_an_interrupted_training_stage(tmp_path: Path) -> None:
    """Ctrl-C during training: the iteration under way finishes and is checkpointed, imitate exits 130, and
    `--resume` continues that training run from its checkpoint (same run folder, iterations not redone)."""
    out = tmp_path / "interrupted"
    iterations = 8
    argv = [sys.executable, "-m", "robolearn.cli", "imitate", str(CLIP), "--out", str(out), "--robot", "g1",
            "--max-iterations", str(iterations), "--num-envs", "4", "--eval-episodes", "2",
            "--sim2sim-episodes", "1", "--no-video", "--frames", "0", "240"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            metrics = list(out.glob("train/*/*/metrics.jsonl"))
            if metrics and metrics[0].read_text().count("\n") >= 1:
                proc.send_signal(signal.SIGINT)
                break
            time.sleep(0.02)
        code = proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130, "the interrupt came too late to test anything"
    (run_dir,) = [p.parent for p in out.glob("train/*/*/metrics.jsonl")]
    done = len(run_dir.joinpath("metrics.jsonl").read_text().splitlines())
    assert 1 <= done < iterations and "train" not in json.loads((out / "manifest.json").read_text())["stages"]
    runner = imitate(ImitateCfg(motion=CLIP, out=out, resume=True, **{**TINY, "max_iterations": iterations}))  # type: ignore[arg-type]
    assert [r.name for r in runner.records if r.ran][
        0
    ] == "train"  # retarget was finished before the interrupt
    rows = [json.loads(line) for line in run_dir.joinpath("metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows] == list(range(iterations))  # continued, not restarted
    assert [p.parent for p in out.glob("train/*/*/metrics.jsonl")] == [run_dir]


def test_task_for_another_robot_is_refused_before_anything_is_written(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from robolearn.cli import main

    out = tmp_path / "run"
    assert main(["imitate", str(CLIP), "--robot", "g1", "--task", "H1-Tracking", "--out", str(out)]) == 2
    assert "--task H1-Tracking trains the h1, not --robot g1" in capsys.readouterr().err
    assert not out.exists()
