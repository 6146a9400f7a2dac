"""LeRobot v3 datasets: round trip, stats, crash safety of the writer, and bad input named by file and field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from robolearn.policies.data import DatasetError, DatasetWriter, LeRobotDataset, lerobot as lr

FEATURES = {
    "observation.state": {"dtype": "float32", "shape": [3], "names": ["a", "b", "c"]},
    "action": {"dtype": "float32", "shape": [2], "names": ["u", "v"]},
    "observation.images.top": {
        "dtype": "video",
        "shape": [16, 24, 3],
        "names": ["height", "width", "channels"],
    },
}


def _episode(rng: np.random.Generator, length: int) -> tuple[dict, dict]:
    frames = {"observation.state": rng.normal(size=(length, 3)), "action": rng.normal(size=(length, 2))}
    # Flat-colour frames survive H.264 almost exactly, so decoded video can be compared to what was written.
    colours = rng.integers(0, 255, size=(length, 1, 1, 3))
    videos = {"observation.images.top": np.broadcast_to(colours, (length, 16, 24, 3)).astype(np.uint8)}
    return frames, videos


def _write(root: Path, lengths: list[int], flush_every: int = 2, seed: int = 0) -> list[tuple[dict, dict]]:
    rng = np.random.default_rng(seed)
    eps = [_episode(rng, n) for n in lengths]
    writer = DatasetWriter(root, fps=25, features=FEATURES, robot_type="aloha")
    for i, (frames, videos) in enumerate(eps):
        writer.add_episode(frames, task="pick" if i % 2 else "place", videos=videos)
        if writer.pending >= flush_every:
            writer.flush()
    writer.flush()
    return eps


def test_round_trip_and_stats(tmp_path: Path) -> None:
    eps = _write(tmp_path, [5, 7, 6])
    ds = LeRobotDataset(tmp_path)
    info = json.loads((tmp_path / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["total_episodes"] == 3 and info["total_frames"] == 18
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert (tmp_path / "data/chunk-000/file-000.parquet").is_file()
    assert (tmp_path / "videos/observation.images.top/chunk-000/file-000.mp4").is_file()
    assert {"timestamp", "frame_index", "episode_index", "index", "task_index"} <= set(info["features"])
    assert ds.tasks == {"place": 0, "pick": 1}
    for i, (frames, videos) in enumerate(eps):
        got = ds.episode(i)
        np.testing.assert_allclose(got["observation.state"], frames["observation.state"], rtol=1e-6)
        np.testing.assert_array_equal(got["frame_index"], np.arange(len(frames["action"])))
        assert (got["episode_index"] == i).all() and (got["task_index"] == i % 2).all()
        video = ds.video("observation.images.top", i)
        assert video.shape == videos["observation.images.top"].shape
        assert np.abs(video.astype(int) - videos["observation.images.top"]).mean() < 6
    allx = np.concatenate([f["action"] for f, _ in eps])
    stats = ds.stats
    np.testing.assert_allclose(stats["action"]["mean"], allx.mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats["action"]["std"], allx.std(0), rtol=1e-5)
    np.testing.assert_allclose(stats["action"]["min"], allx.min(0), rtol=1e-6)
    assert stats["observation.images.top"]["mean"].shape == (3, 1, 1)
    assert int(stats["index"]["count"][0]) == 18


def test_append_reopens(tmp_path: Path) -> None:
    _write(tmp_path, [4, 4])
    _write(tmp_path, [3], seed=1)
    ds = LeRobotDataset(tmp_path)
    assert ds.num_episodes == 3 and ds.num_frames == 11
    assert ds.episode(2)["index"].tolist() == [8, 9, 10]


def test_crash_mid_flush_keeps_previous_episodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, [4, 5])
    writer = DatasetWriter(tmp_path, fps=25, features=FEATURES)
    frames, videos = _episode(np.random.default_rng(3), 6)
    writer.add_episode(frames, "pick", videos)

    def crash(path: Path, data: object) -> None:
        raise KeyboardInterrupt("killed while committing")

    monkeypatch.setattr(
        lr, "_write_json", crash
    )  # data, video and episode files are written, info.json is not
    with pytest.raises(KeyboardInterrupt):
        writer.flush()
    monkeypatch.undo()
    assert (tmp_path / "data/chunk-000/file-001.parquet").is_file()  # the uncommitted file is there...
    ds = LeRobotDataset(tmp_path)
    assert ds.num_episodes == 2 and len(ds.columns()["index"]) == 9  # ...and ignored
    writer = DatasetWriter(tmp_path, fps=25, features=FEATURES)  # reopening cleans it up
    assert not (tmp_path / "data/chunk-000/file-001.parquet").exists()
    writer.add_episode(frames, "pick", videos)
    writer.flush()
    assert LeRobotDataset(tmp_path).num_episodes == 3


def test_bad_files_are_named(tmp_path: Path) -> None:
    _write(tmp_path, [4, 4])
    video = tmp_path / "videos/observation.images.top/chunk-000/file-000.mp4"
    video.unlink()
    with pytest.raises(DatasetError, match="file-000.mp4"):
        LeRobotDataset(tmp_path).check_videos()
    data = tmp_path / "data/chunk-000/file-000.parquet"
    data.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(DatasetError, match=r"file-000\.parquet.*corrupt"):
        LeRobotDataset(tmp_path).columns()
    with pytest.raises(DatasetError, match="observation.state"):
        DatasetWriter(tmp_path / "new", 25, FEATURES).add_episode({"action": np.zeros((3, 2))}, "t", {})
