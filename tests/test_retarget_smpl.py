"""SMPL-family sources: AMASS parameters posed by the real `smplx` code, HumanML3D joint arrays.

The SMPL body models are licence-gated, so the AMASS tests build a stand-in SMPL-X model file in the
released .npz layout (same keys, shapes and vertex count as SMPLX_NEUTRAL.npz v1.1: 10 shape and 10
expression directions) whose joints are the rest pose of a real CMU skeleton. smplx loads it and poses
it through its own linear blend skinning; what is not tested is the real models' joint regressor and
shape space (their numbers, not our code path).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from robolearn.retarget.cli import RetargetArgs, main
from robolearn.retarget.errors import RetargetInputError
from robolearn.retarget.rotations import axis_rotation
from robolearn.retarget.skeleton import BODY_POINTS, OPTIONAL_POINTS, body_points
from robolearn.retarget.sources import SMPL_JOINTS, load_bvh, load_motion
from robolearn.retarget.sources.motion import UP_TO_Z

DATA = Path(os.environ.get("ROBOLEARN_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
CMU = DATA / "mocap" / "cmu"

# SMPL joint -> CMU (Motionbuilder rig) joint at the same place.
_CMU = {
    "pelvis": "Hips", "left_hip": "LeftUpLeg", "right_hip": "RightUpLeg", "spine1": "LowerBack",
    "left_knee": "LeftLeg", "right_knee": "RightLeg", "spine2": "Spine", "left_ankle": "LeftFoot",
    "right_ankle": "RightFoot", "spine3": "Spine1", "left_foot": "LeftToeBase",
    "right_foot": "RightToeBase", "neck": "Neck", "left_collar": "LeftShoulder",
    "right_collar": "RightShoulder", "head": "Head", "left_shoulder": "LeftArm",
    "right_shoulder": "RightArm", "left_elbow": "LeftForeArm", "right_elbow": "RightForeArm",
    "left_wrist": "LeftHand", "right_wrist": "RightHand",
}  # fmt: skip
SMPLX_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 15, 15, 15]
SMPLX_PARENTS += [20, 25, 26, 20, 28, 29, 20, 31, 32, 20, 34, 35, 20, 37, 38]  # left hand
SMPLX_PARENTS += [21, 40, 41, 21, 43, 44, 21, 46, 47, 21, 49, 50, 21, 52, 53]  # right hand
N_VERTS = 10475  # SMPL-X's vertex count (its extra-joint vertex ids go up to 9929)


def rest_joints_model_frame() -> np.ndarray:
    """55 rest joints in SMPL's model frame (y up), pelvis at the origin: a real CMU skeleton's first
    frame for the body, hand and face joints placed a few cm from their parents."""
    m = load_bvh(CMU / "01_01.bvh")
    world = np.stack([m.positions[0, m.index(_CMU[j])] for j in SMPL_JOINTS])
    world -= world[0]
    body = world @ UP_TO_Z["y"]  # z-up world -> y-up model frame (the inverse rotation)
    rest = np.zeros((55, 3))
    rest[:22] = body
    for j in range(22, 55):
        parent = SMPLX_PARENTS[j]
        rest[j] = rest[parent] + np.array([0.0, 0.03 if j < 25 else -0.025, 0.01 * (j % 5)])
    return rest


SMPLH_OF_SMPLX = [j for j in range(55) if j not in (22, 23, 24)]  # SMPL-H: no jaw, no eyes


def write_model(folder: Path, kind: str = "smplx", gender: str = "neutral") -> tuple[Path, np.ndarray]:
    """A stand-in model file in the released layout: SMPL-X (55 joints, 10475 vertices, .npz v1.1) or
    SMPL-H (52 joints, 6890 vertices, AMASS's .npz). Each joint is regressed from one vertex."""
    rest = rest_joints_model_frame()
    keep = list(range(55)) if kind == "smplx" else SMPLH_OF_SMPLX
    parents = [-1] + [keep.index(SMPLX_PARENTS[j]) for j in keep[1:]]
    rest, J = rest[keep], len(keep)
    n_verts = N_VERTS if kind == "smplx" else 6890
    v = np.zeros((n_verts, 3))
    v[:J] = rest
    regressor = np.zeros((J, n_verts))
    regressor[np.arange(J), np.arange(J)] = 1.0
    weights = np.zeros((n_verts, J))
    weights[np.arange(J), np.arange(J)] = 1.0
    weights[J:, 0] = 1.0
    shapedirs = np.zeros((n_verts, 3, 20 if kind == "smplx" else 16), np.float32)
    shapedirs[:, :, 0] = 0.1 * v  # beta_0 = 1 makes the body 10 % larger
    arrays = {
        "v_template": v,
        "f": np.array([[0, 1, 2]], np.int64),
        "J_regressor": regressor,
        "kintree_table": np.array([parents, list(range(J))], np.int64),
        "weights": weights,
        "shapedirs": shapedirs,
        "posedirs": np.zeros((n_verts, 3, (J - 1) * 9), np.float32),
        "hands_componentsl": np.eye(45),
        "hands_componentsr": np.eye(45),
        "hands_meanl": np.zeros(45),
        "hands_meanr": np.zeros(45),
    }
    if kind == "smplx":
        arrays.update(lmk_faces_idx=np.zeros(51, np.int64), lmk_bary_coords=np.full((51, 3), 1 / 3))
    (folder / kind).mkdir(parents=True, exist_ok=True)
    path = folder / kind / f"{kind.upper()}_{gender.upper()}.npz"
    np.savez_compressed(path, **arrays)
    return path, rest


def write_amass(path: Path, poses: np.ndarray, trans: np.ndarray, betas=None, fps: float = 120.0) -> Path:
    """AMASS as released: SMPL-X files carry mocap_frame_rate and surface_model_type, SMPL-H files
    mocap_framerate and a gender."""
    extra = (
        {
            "mocap_frame_rate": np.float64(fps),
            "gender": np.array("neutral"),
            "surface_model_type": np.array("smplx"),
        }
        if poses.shape[1] == 165
        else {"mocap_framerate": np.float64(fps), "gender": np.array("female")}
    )
    np.savez(path, poses=poses, trans=trans, betas=np.zeros(16) if betas is None else betas, **extra)
    return path


@pytest.fixture(scope="module")
def body_model(tmp_path_factory) -> tuple[Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("models")
    _, rest = write_model(folder, "smplx")
    write_model(folder, "smplh", "female")
    return folder, rest


def _poses(T: int, width: int = 165) -> np.ndarray:
    poses = np.zeros((T, width))
    poses[:, 0] = np.pi / 2  # AMASS root orientation: SMPL's y-up model frame into z-up
    return poses


def test_amass_smplx_is_posed_by_smplx(tmp_path, body_model):
    """Rest joints come back rotated into z-up and translated; a knee rotation moves only what hangs
    below the knee, by exactly the rotation (the poses vector is sliced in SMPL-X's joint order)."""
    folder, rest = body_model
    T = 3
    poses = _poses(T)
    bend = np.array([0.0, 0.0, 0.0]), np.array([0.5, 0.0, 0.0]), np.array([1.2, 0.0, 0.0])
    knee = SMPL_JOINTS.index("left_knee")
    for t, aa in enumerate(bend):
        poses[t, 3 * knee : 3 * knee + 3] = aa
    trans = np.array([[0.0, 0.0, 0.95], [0.1, 0.0, 0.95], [0.2, 0.05, 0.95]])
    m = load_motion(write_amass(tmp_path / "walk_stageii.npz", poses, trans), body_model=folder)
    assert m.fps == 120.0 and m.meta["format"] == "amass_smplx" and m.num_frames == T
    assert m.names[:22] == [
        {"left_foot": "left_toe", "right_foot": "right_toe"}.get(n, n) for n in SMPL_JOINTS
    ]
    world_rest = rest[:22] @ UP_TO_Z["y"].T
    np.testing.assert_allclose(m.positions[0, :22], world_rest + trans[0], atol=1e-6)
    below = [SMPL_JOINTS.index(j) for j in ("left_ankle", "left_foot")]
    for t in (1, 2):
        k = rest[knee]
        expect = (rest[below] - k) @ axis_rotation("x", np.array(bend[t][0])).T + k
        np.testing.assert_allclose(m.positions[t, below], expect @ UP_TO_Z["y"].T + trans[t], atol=1e-6)
        others = [j for j in range(22) if j not in below]
        np.testing.assert_allclose(m.positions[t, others], world_rest[others] + trans[t], atol=1e-6)
    # The canonical body points the solver tracks are all found (pelvis ... toes, hands).
    pts, used = body_points(m)
    assert np.isfinite(pts).all() and used[-1] == "right_middle1"


@pytest.mark.parametrize(("width", "hands_at"), [(165, 75), (156, 66)])
def test_amass_hand_poses_bend_the_right_fingers(tmp_path, body_model, width, hands_at):
    """SMPL-X and SMPL-H files: the hand block of `poses` (after jaw and eyes in SMPL-X) reaches the
    hand joints, left hand first: bending the left index's first joint moves its two outer joints only."""
    folder, _ = body_model
    poses = _poses(2, width)
    poses[1, hands_at + 2] = 1.0  # left_index1, about z
    m = load_motion(write_amass(tmp_path / "hands.npz", poses, np.zeros((2, 3))), body_model=folder)
    assert m.meta["format"] == ("amass_smplx" if width == 165 else "amass_smplh")
    assert m.meta["gender"] == ("neutral" if width == 165 else "female")
    moved = np.linalg.norm(m.positions[1] - m.positions[0], axis=-1) > 1e-6
    assert [m.names[j] for j in np.flatnonzero(moved)] == ["left_index2", "left_index3"]


def test_amass_betas_change_the_skeleton(tmp_path, body_model):
    folder, _ = body_model
    poses, trans = _poses(1), np.zeros((1, 3))
    small = load_motion(write_amass(tmp_path / "a.npz", poses, trans), body_model=folder)
    big = load_motion(write_amass(tmp_path / "b.npz", poses, trans, betas=np.eye(16)[0]), body_model=folder)
    height = lambda m: np.ptp(m.positions[0, :22, 2])  # noqa: E731
    assert height(big) == pytest.approx(1.1 * height(small), rel=1e-6)


def test_amass_without_body_model_names_the_flag(tmp_path, body_model):
    p = write_amass(tmp_path / "clip.npz", _poses(2), np.zeros((2, 3)))
    with pytest.raises(RetargetInputError, match=r"--body-model.*licence-gated.*smpl-x\.is\.tue\.mpg\.de"):
        load_motion(p)
    with pytest.raises(RetargetInputError, match=r"no SMPLX model.*smplx/SMPLX_NEUTRAL\.npz"):
        load_motion(p, body_model=tmp_path)
    out = tmp_path / "clip_g1.npz"
    assert main(RetargetArgs(input=p, robot="g1", out=out)) != 0
    assert not out.exists()


def test_amass_bad_fields(tmp_path, body_model):
    folder, _ = body_model
    p = tmp_path / "bad.npz"
    np.savez(p, poses=np.zeros((4, 100)), trans=np.zeros((4, 3)), betas=np.zeros(10), mocap_framerate=60.0)
    with pytest.raises(RetargetInputError, match=r"bad\.npz.*'poses'.*72 \| 156 \| 165.*\(4, 100\)"):
        load_motion(p, body_model=folder)
    np.savez(p, poses=np.zeros((4, 156)), trans=np.zeros((4, 3)), betas=np.zeros(10))
    with pytest.raises(RetargetInputError, match=r"'mocap_framerate'.*missing"):
        load_motion(p, body_model=folder)


def test_amass_cli_writes_a_g1_clip(tmp_path, body_model):
    """What a user runs: robolearn retarget walk.npz --robot g1 --body-model DIR."""
    folder, _ = body_model
    T = 6
    poses = _poses(T)
    trans = np.stack([np.linspace(0, 0.1, T), np.zeros(T), np.full(T, 0.95)], axis=1)
    src = write_amass(tmp_path / "walk.npz", poses, trans, fps=30.0)
    out = tmp_path / "walk_g1.npz"
    assert main(RetargetArgs(input=src, robot="g1", out=out, body_model=folder)) == 0
    with np.load(out, allow_pickle=False) as z:
        assert z["qpos"].shape[0] == T and np.isfinite(z["qpos"]).all()


def test_humanml3d_joints_npy(tmp_path):
    """HumanML3D new_joints/*.npy: [T, 22, 3], y up, 20 fps unless told; the solver finds every point."""
    m = load_bvh(CMU / "01_01.bvh").slice(0, 8)
    zup = np.stack([m.positions[:, m.index(_CMU[j])] for j in SMPL_JOINTS], axis=1)
    p = tmp_path / "000021.npy"
    np.save(p, zup @ UP_TO_Z["y"])  # stored y up, as HumanML3D does
    motion = load_motion(p)
    assert motion.fps == 20.0 and motion.meta["fps_assumed"]
    np.testing.assert_allclose(motion.positions, zup, atol=1e-9)
    pts, used = body_points(motion)
    assert np.isfinite(pts[:, [BODY_POINTS.index(p) for p in BODY_POINTS if p not in OPTIONAL_POINTS]]).all()
    assert used[BODY_POINTS.index("left_toe")] == "left_toe" and used[BODY_POINTS.index("spine")] == "spine1"
    assert load_motion(p, source_fps=30).fps == 30.0
    np.save(p, np.zeros((8, 263)))
    with pytest.raises(RetargetInputError, match=r"000021\.npy.*new_joint_vecs.*new_joints"):
        load_motion(p)
    np.save(p, np.zeros((8, 24, 3)))
    with pytest.raises(RetargetInputError, match=r"'shape'.*\[T>=1, 22, 3\].*\(8, 24, 3\)"):
        load_motion(p)


def test_joint_order_matches_smplx():
    from smplx.joint_names import JOINT_NAMES  # the test extra brings smplx (the 'smpl' extra's package)

    assert SMPL_JOINTS == JOINT_NAMES[:22]
