"""`robolearn retarget` as a user runs it: a batch with bad files in it, and flags that cannot work."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from robolearn.cli import main as robolearn

DATA = Path(os.environ.get("ROBOLEARN_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
CMU = DATA / "mocap" / "cmu"


def _nan_keypoints(path: Path) -> Path:
    pos = np.zeros((3, 2, 3))
    pos[1, 0, 0] = np.nan
    np.savez(path, names=np.array(["Hips", "Head"]), positions=pos, fps=30.0)
    return path


def test_batch_with_bad_files_reports_each_error_and_writes_every_good_clip(tmp_path, capsys):
    src = tmp_path / "mocap"
    src.mkdir()
    for name in ("131_02.bvh", "01_01.bvh"):
        (src / name).write_bytes((CMU / name).read_bytes())
    (src / "cut.bvh").write_text((CMU / "131_01.bvh").read_text()[:30000])  # a truncated download
    _nan_keypoints(src / "lost.npz")  # a pose estimator lost a joint
    out = tmp_path / "clips"

    code = robolearn(["retarget", "--batch", str(src), "--out", str(out), "--stop", "15", "--workers", "2"])

    captured = capsys.readouterr()
    assert code == 1, captured.err  # some files failed
    assert sorted(p.name for p in out.iterdir()) == ["01_01_g1.npz", "131_02_g1.npz"]
    assert "2 of 4 clips written" in captured.out
    # Each bad file's own error (file, field, problem), not a broken process pool.
    assert "cut.bvh: field 'Frames': header says 994 frames" in captured.err
    assert "lost.npz: field 'positions': 1 non-finite value(s)" in captured.err
    assert "terminated abruptly" not in captured.out + captured.err


@pytest.mark.parametrize(
    "flags, named",
    [
        (["--fps", "0"], "--fps 0.0: expected an output frame rate"),
        (["--fps", "-30"], "--fps -30.0: expected an output frame rate"),
        (["--fps", "nan"], "--fps nan"),
        (["--workers", "-1"], "--workers -1: expected an integer >= 0"),
        (["--start", "5", "--stop", "5"], "--stop 5: expected a frame after --start 5"),
        (["--start", "100000"], "--start 100000: expected a frame before the clip's end (it has 994 frames)"),
        (["--robot", "aloha"], "--robot aloha: expected a humanoid"),
        (["--out", "{tmp}/clip.txt"], "clip.txt: expected a file name ending in .npz"),
        (["--out", "{tmp}"], "is a folder; expected a file path such as"),
        (["--out", "{tmp}/afile/clip.npz"], "afile is a file, so no folder can be made under it"),
        (["--video", "{tmp}/v.gif"], "--video {tmp}/v.gif: expected a file name ending in .mp4"),
    ],
)
def test_bad_flags_are_named_before_any_work(flags, named, tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    before = sorted(tmp_path.iterdir())
    flags = [f.replace("{tmp}", str(tmp_path)) for f in flags]
    t0 = time.perf_counter()
    code = robolearn(["retarget", str(CMU / "131_01.bvh"), *flags])  # 994 frames: a solve takes many seconds
    seconds = time.perf_counter() - t0
    captured = capsys.readouterr()
    assert code == 2 and named.replace("{tmp}", str(tmp_path)) in captured.err, captured.err
    assert "Traceback" not in captured.err and "retarget 131_01" not in captured.out  # no solve started
    assert seconds < 10, seconds
    assert sorted(tmp_path.iterdir()) == before  # nothing written, no probe left behind


def test_unwritable_output_folder_is_named_before_any_work(tmp_path, capsys):
    ro = tmp_path / "read-only"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() == 0:  # root writes through permission bits; /proc takes no new files from anyone
        ro = Path("/proc")
    code = robolearn(["retarget", str(CMU / "131_01.bvh"), "--out", str(ro / "walk.npz")])
    err = capsys.readouterr().err
    assert code == 2 and f"--out {ro / 'walk.npz'}: cannot write in {ro}" in err, err
    assert robolearn(["retarget", "--batch", str(CMU), "--out", str(ro / "clips")]) == 2
    assert f"--out {ro / 'clips'}: cannot write in {ro}" in capsys.readouterr().err


def test_batch_flags_are_checked_before_any_work(tmp_path, capsys):
    afile = tmp_path / "clips.npz"
    afile.write_text("")
    assert robolearn(["retarget", "--batch", str(CMU), "--out", str(afile)]) == 2
    assert f"--out {afile}: is a file; expected a folder" in capsys.readouterr().err
    assert robolearn(["retarget", "--batch", str(CMU), "--video", str(tmp_path / "v.mp4")]) == 2
    assert "--video" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert robolearn(["retarget", "--batch", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert f"--batch {empty}: expected a folder holding motion files" in capsys.readouterr().err
    (empty / "walk.bvh").write_text("")
    (empty / "walk.npz").write_text("")
    assert robolearn(["retarget", "--batch", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert "walk.bvh and walk.npz would both write walk_g1.npz" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clips.npz", "empty"]


def test_api_refuses_a_zero_frame_rate():
    from robolearn.retarget.api import retarget_file

    with pytest.raises(ValueError, match="fps: expected a positive output frame rate.*got 0"):
        retarget_file(CMU / "131_01.bvh", "g1", fps=0, frames=(0, 5))


def test_batch_survives_a_worker_killed_midway(tmp_path):
    """The kernel's OOM killer (or a user's kill -9) takes a worker: its pool breaks and fails every file
    still queued there; those are run again, so every good clip is still written."""
    import multiprocessing
    import signal

    from robolearn.retarget.cli import RetargetArgs, batch_plan, run_batch

    for name in ("131_02.bvh", "131_03.bvh", "01_01.bvh"):
        (tmp_path / name).write_bytes((CMU / name).read_bytes())
    plan = batch_plan(tmp_path, "g1", tmp_path / "clips")
    results: dict[str, str | None] = {}

    def done(src: Path, metrics: dict | None, error: str | None) -> None:
        if not results:  # after the first clip, kill the pool's worker as it starts the next one
            for proc in multiprocessing.active_children():
                os.kill(proc.pid, signal.SIGKILL)
        results[src.name] = error

    run_batch(plan, RetargetArgs(batch=tmp_path, stop=10), 1, done)
    assert results == {"131_02.bvh": None, "131_03.bvh": None, "01_01.bvh": None}
    assert sorted(p.name for p in (tmp_path / "clips").iterdir()) == [
        "01_01_g1.npz",
        "131_02_g1.npz",
        "131_03_g1.npz",
    ]


def test_clip_and_video_into_folders_that_do_not_exist_yet(tmp_path, gl_backend):
    out, video = tmp_path / "clips" / "walk.npz", tmp_path / "videos" / "walk.mp4"
    assert (
        robolearn(
            ["retarget", str(CMU / "131_02.bvh"), "--stop", "5", "--out", str(out), "--video", str(video)]
        )
        == 0
    )
    assert out.stat().st_size > 1000 and video.stat().st_size > 1000
