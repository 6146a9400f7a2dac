"""TACO and ARCTIC readers on small fixtures written here in the datasets' documented layouts, and
`robolearn demos bidex` end to end."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from robolearn.cli import main as cli
from robolearn.envs.dexterous.bidex.readers import mano_to_leap, read_arctic, read_taco
from robolearn.envs.dexterous.bidex.schema import DemoFileError, load_task_set

T = 40


def _lift(t: int, start: np.ndarray, up: float = 0.08) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = start + [0.0, 0.0, up * min(max((t - 10) / 15, 0.0), 1.0)]
    return m


def write_taco(root: Path, triplet: str = "(stir, spoon, bowl)", seq: str = "20231105_019") -> Path:
    """A TACO sequence: (T, 4, 4) tool/target poses, MANO hand pickles of torch tensors, a cm mesh."""
    obj_dir = root / "Object_Poses" / triplet / seq
    hand_dir = root / "Hand_Poses" / triplet / seq
    obj_dir.mkdir(parents=True)
    hand_dir.mkdir(parents=True)
    np.save(obj_dir / "tool_017.npy", np.stack([_lift(t, np.array([0.3, -0.1, 0.77])) for t in range(T)]))
    np.save(obj_dir / "target_042.npy", np.stack([_lift(t, np.array([0.3, 0.1, 0.74])) for t in range(T)]))
    rng = np.random.default_rng(0)
    for side in ("left", "right"):
        frames = {f"{t:05d}": {"hand_pose": torch.tensor(rng.normal(0, 0.3, 48), dtype=torch.float32),
                               "hand_trans": torch.tensor([0.3, 0.1 if side == "left" else -0.1, 0.85])}
                  for t in range(T)}  # fmt: skip
        with (hand_dir / f"{side}_hand.pkl").open("wb") as f:
            pickle.dump(frames, f)
        with (hand_dir / f"{side}_hand_shape.pkl").open("wb") as f:
            pickle.dump({"hand_shape": torch.zeros(10)}, f)
    models = root / "object_models"
    models.mkdir()
    cube = [(x, y, z) for x in (-2, 2) for y in (-2, 2) for z in (-1.5, 1.5)]  # a 4 x 4 x 3 cm box, in cm
    # vertices only: MuJoCo takes their convex hull
    (models / "042_cm.obj").write_text("".join(f"v {x} {y} {z}\n" for x, y, z in cube))
    return root


def write_arctic(root: Path, name: str = "box_grab_01") -> Path:
    """An ARCTIC raw sequence: MANO dict .mano.npy and (T, 7) .object.npy (radian, axis-angle, mm)."""
    d = root / "raw_seqs" / "s01"
    d.mkdir(parents=True)
    rng = np.random.default_rng(1)
    mano = {side: {"rot": rng.normal(0, 0.1, (T, 3)), "pose": rng.normal(0, 0.2, (T, 45)),
                   "trans": np.tile([0.0, 0.1 if side == "left" else -0.1, 0.2], (T, 1)), "shape": np.zeros(10),
                   "fitting_err": np.zeros(T)} for side in ("left", "right")}  # fmt: skip
    np.save(d / f"{name}.mano.npy", mano, allow_pickle=True)
    obj = np.zeros((T, 7))
    obj[:, 0] = np.linspace(0, 0.8, T)  # the lid opens
    obj[:, 4:7] = [[0.0, 0.0, 1000 * (0.05 + 0.08 * min(max((t - 10) / 15, 0.0), 1.0))] for t in range(T)]
    np.save(d / f"{name}.object.npy", obj)
    return root


def test_taco_sequence_becomes_a_demo_on_the_table(tmp_path):
    demos = read_taco(write_taco(tmp_path / "taco"))
    assert [d.name for d in demos] == ["BiDex-stir-0"] and demos[0].category == "stir"
    d = demos[0]
    assert d.num_frames == T and d.init == 0 and d.end == T - 1
    assert 10 < d.ref < 25  # both items 3 cm above their start
    assert d.shapes["object"].parts[0]["type"] == "mesh"
    # the object's mesh bottom (1.5 cm below its origin) rests on the table top
    assert d.object_pose[0, 2, 3] - 0.015 == pytest.approx(d.table_height, abs=1e-6)
    np.testing.assert_allclose((d.object_pose[0, :2, 3] + d.tool_pose[0, :2, 3]) / 2, 0.0, atol=1e-9)
    assert d.fingers.shape == (2, T, 16) and np.isfinite(d.fingers).all()


def test_readers_reject_a_malformed_sequence_naming_file_and_field(tmp_path):
    root = write_taco(tmp_path / "taco")
    seq = root / "Object_Poses" / "(stir, spoon, bowl)" / "20231105_019"
    np.save(seq / "tool_017.npy", np.zeros((T, 3, 4)))
    with pytest.raises(DemoFileError, match=r"tool_017.npy: field 'poses': expected shape \(T>=2, 4, 4\)"):
        read_taco(root)
    root = write_taco(tmp_path / "taco2")
    pkl = root / "Hand_Poses" / "(stir, spoon, bowl)" / "20231105_019" / "left_hand.pkl"
    with pkl.open("wb") as f:
        pickle.dump({f"{t:05d}": {"hand_pose": np.zeros(48)} for t in range(T)}, f)
    with pytest.raises(DemoFileError, match=r"left_hand.pkl: field '00000.hand_trans': missing"):
        read_taco(root)
    with pkl.open("wb") as f:
        pickle.dump({"x": Path("/")}, f)  # an object the pose reader does not unpickle
    with pytest.raises(DemoFileError, match=r"left_hand.pkl: field 'file'.*not allowed"):
        read_taco(root)
    root = write_arctic(tmp_path / "arctic")
    mano_path = root / "raw_seqs" / "s01" / "box_grab_01.mano.npy"
    mano = np.load(mano_path, allow_pickle=True).item()
    mano["right"]["pose"] = mano["right"]["pose"][:, :40]
    np.save(mano_path, mano, allow_pickle=True)
    with pytest.raises(DemoFileError, match=r"box_grab_01.mano.npy: field 'right.pose': expected shape \(40, 45\)"):
        read_arctic(root)


def test_arctic_sequence_and_the_mano_finger_map(tmp_path):
    d = read_arctic(write_arctic(tmp_path / "arctic"))[0]
    assert d.name == "BiDex-box-0" and d.num_frames == T and d.ref > 10
    assert np.allclose(d.fingers[0], mano_to_leap(np.load(tmp_path / "arctic/raw_seqs/s01/box_grab_01.mano.npy",
                                                         allow_pickle=True).item()["left"]["pose"]))
    bent = np.zeros((1, 45))
    bent[0, 3] = 1.0  # the index finger's middle joint bent by 1 rad
    leap = mano_to_leap(bent)[0]
    assert leap[2] == pytest.approx(1.0) and np.delete(leap, 2).max() == 0.0  # if_pip, nothing else


def test_demos_cli_writes_a_task_set_and_refuses_bad_sources(tmp_path, capsys):
    out = tmp_path / "set"
    assert cli(["demos", "bidex", "--from", "taco", str(write_taco(tmp_path / "taco")), "--out", str(out)]) == 0
    assert [d.name for d in load_task_set(out)] == ["BiDex-stir-0"] and (out / "tasks.json").is_file()
    assert cli(["demos", "bidex", "--from", "generate", "--count", "3", "--categories", "cut", "--out", str(out)]) == 0
    assert len(load_task_set(out)) == 4
    assert cli(["demos", "bidex", "--from", "kinect", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "--from kinect" in capsys.readouterr().err
    bad = write_taco(tmp_path / "bad")
    np.save(next((bad / "Object_Poses").glob("*/*/tool_*.npy")), np.zeros((T, 3, 4)))
    assert cli(["demos", "bidex", "--from", "taco", str(bad), "--out", str(tmp_path / "y")]) == 2
    assert "field 'poses'" in capsys.readouterr().err and not (tmp_path / "y").exists()


def test_a_taco_task_with_its_mesh_runs_on_the_table(tmp_path):
    from robolearn.core import ManagerBasedRlEnv
    from robolearn.envs.dexterous.bidex.reference import reference
    from robolearn.envs.dexterous.bidex.task import bidex_env_cfg

    d = read_taco(write_taco(tmp_path / "taco"))[0]
    env = ManagerBasedRlEnv(bidex_env_cfg([d], num_envs=2))
    env.reset(seed=0)
    for _ in range(20):
        env.step(torch.zeros(2, env.num_actions))
    pos, _ = reference(env).item_pose()
    # the cm mesh, scaled to metres: its bottom 1.5 cm below its origin, on the demonstration's table
    assert pos[:, 0, 2].numpy() == pytest.approx(d.table_height + 0.015, abs=3e-3)
