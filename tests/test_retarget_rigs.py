"""Any humanoid rig: one real CMU motion rewritten in other studios' conventions (renamed joints, six
channels per joint, a static root above the hips, other rotation orders, a rest pose that is not a
T-pose) must give the same robot motion; rigs that cannot be mapped say how to fix them."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

DATA = Path(os.environ.get("ROBOLEARN_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
os.environ.setdefault("MENAGERIE_ROOT", str(DATA.parent / "menagerie"))

from robolearn.retarget.api import retarget_file, retarget_motion  # noqa: E402
from robolearn.retarget.errors import RetargetInputError  # noqa: E402
from robolearn.retarget.rig_names import parse_joint_name  # noqa: E402
from robolearn.retarget.sources import load_bvh  # noqa: E402
from robolearn.retarget.sources.bvh import read_bvh  # noqa: E402

CLIP = DATA / "mocap" / "cmu" / "01_01.bvh"
FRAMES = (300, 324)  # 0.2 s of the first hop: a few frames keep the solver under a second

# CMU 01_01 joint -> the same joint in three studios' naming styles.
_CMU = (
    "Hips LHipJoint LeftUpLeg LeftLeg LeftFoot LeftToeBase RHipJoint RightUpLeg RightLeg RightFoot "
    "RightToeBase LowerBack Spine Spine1 Neck Neck1 Head LeftShoulder LeftArm LeftForeArm LeftHand "
    "LeftFingerBase LFingers LThumb RightShoulder RightArm RightForeArm RightHand RightFingerBase RFingers RThumb"
).split()
_MIXAMO = {n: f"mixamorig:{n}" for n in _CMU} | {
    "LowerBack": "mixamorig:Spine",
    "Spine": "mixamorig:Spine1",
    "Spine1": "mixamorig:Spine2",
    "LFingers": "mixamorig:LeftHandMiddle1",
    "RFingers": "mixamorig:RightHandMiddle1",
    "LThumb": "mixamorig:LeftHandThumb1",
    "RThumb": "mixamorig:RightHandThumb1",
}
_BLENDER_SIDE = {
    "HipJoint": "pelvis",
    "UpLeg": "thigh",
    "Leg": "shin",
    "Foot": "foot",
    "ToeBase": "toe",
    "Shoulder": "shoulder",
    "Arm": "upper_arm",
    "ForeArm": "forearm",
    "Hand": "hand",
    "FingerBase": "palm",
    "Fingers": "f_middle.01",
    "Thumb": "thumb.01",
}
_BIPED_SIDE = {
    "HipJoint": "HipJoint",
    "UpLeg": "Thigh",
    "Leg": "Calf",
    "Foot": "Foot",
    "ToeBase": "Toe0",
    "Shoulder": "Clavicle",
    "Arm": "UpperArm",
    "ForeArm": "Forearm",
    "Hand": "Hand",
    "FingerBase": "Finger1",
    "Fingers": "Finger11",
    "Thumb": "Finger0",
}


def _split_side(name: str) -> tuple[str, str]:
    for prefix, side in (("Left", "L"), ("Right", "R"), ("L", "L"), ("R", "R")):
        if name.startswith(prefix) and name[len(prefix)].isupper():
            return side, name[len(prefix) :]
    raise ValueError(name)


_CENTRE_BLENDER = dict(
    zip(
        ["Hips", "LowerBack", "Spine", "Spine1", "Neck", "Neck1", "Head"],
        "hips spine spine.001 spine.002 neck neck.001 head".split(),
        strict=True,
    )
)
_CENTRE_BIPED = dict(
    zip(
        ["Hips", "LowerBack", "Spine", "Spine1", "Neck", "Neck1", "Head"],
        [
            "Bip01 Pelvis",
            "Bip01 Spine",
            "Bip01 Spine1",
            "Bip01 Spine2",
            "Bip01 Neck",
            "Bip01 Neck1",
            "Bip01 Head",
        ],
        strict=True,
    )
)
_BLENDER = {
    n: _CENTRE_BLENDER.get(n) or f"{_BLENDER_SIDE[_split_side(n)[1]]}.{_split_side(n)[0]}" for n in _CMU
}
_BIPED = {
    n: _CENTRE_BIPED.get(n) or f"Bip01 {_split_side(n)[0]} {_BIPED_SIDE[_split_side(n)[1]]}" for n in _CMU
}
STYLES = {
    # style: (joint names, static root name or None, rotation order, six channels on every joint)
    "mixamo": (_MIXAMO, "mixamorig:Reference", "XYZ", True),
    "blender": (_BLENDER, "root", "YXZ", True),
    "biped": (_BIPED, "Bip01", "XZY", True),
    "anonymous": ({n: f"joint{k:02d}" for k, n in enumerate(_CMU)}, None, "YZX", False),
}


def write_rig(
    dst: Path,
    names: dict[str, str],
    static_root: str | None,
    order: str,
    six_channels: bool,
    bones_along_x: bool = False,
    frames: tuple[int, int] = FRAMES,
    mirror_x: bool = False,
) -> Path:
    """CMU 01_01's motion (frames [a, b)) as another rig: new names, rotation order, optionally position
    channels on every joint (the real OFFSET is kept too, so adding instead of replacing would show), a
    static root above the hips, and joint frames turned so each bone lies along its parent's local +X in
    the rest pose (a rig that is far from a T-pose when all rotations are zero), or mirrored across x (a
    left-handed export: the joints named left end up on the body's right when read right-handed)."""
    src = read_bvh(CLIP)
    rows = [ln.split() for ln in CLIP.read_text().split("MOTION")[1].strip().splitlines()[2:]]
    values = np.array(rows[frames[0] : frames[1]], dtype=float)
    joints = src.joints
    turn = [np.eye(3) for _ in joints]  # constant rotation C_j: new joint frame = old frame @ C_j
    if bones_along_x:
        for j in range(len(joints)):
            kids = [k for k, c in enumerate(joints) if c.parent == j and np.linalg.norm(c.offset) > 1e-9]
            if kids:
                d = joints[kids[0]].offset / np.linalg.norm(joints[kids[0]].offset)
                turn[j] = Rotation.align_vectors([d], [[1.0, 0.0, 0.0]])[0].as_matrix()
    local_rot, trans, col = [], None, 0
    for joint in joints:
        vals = values[:, col : col + len(joint.channels)]
        col += len(joint.channels)
        rot_ch = [c[0] for c in joint.channels if c.endswith("rotation")]
        rot_vals = vals[:, [k for k, c in enumerate(joint.channels) if c.endswith("rotation")]]
        local_rot.append(
            Rotation.from_euler("".join(rot_ch).upper(), rot_vals, degrees=True).as_matrix()
            if rot_ch
            else None
        )
        if joint.parent < 0:
            trans = vals[:, :3]
    flip = np.diag([-1.0, 1.0, 1.0]) if mirror_x else np.eye(3)
    trans = trans @ flip
    local_rot = [None if r is None else flip @ r @ flip for r in local_rot]
    T = len(values)
    lines, data = ["HIERARCHY"], []
    if static_root is not None:
        lines += [
            f"ROOT {static_root}",
            "{",
            "OFFSET 0 0 0",
            "CHANNELS 6 Xposition Yposition Zposition Xrotation Yrotation Zrotation",
        ]
        data.append(np.zeros((T, 6)))
    pos_ch = ["Xposition", "Yposition", "Zposition"]
    rot_names = [f"{a}rotation" for a in order]
    depth = [0] * len(joints)
    for j, joint in enumerate(joints):
        parent = joint.parent
        depth[j] = depth[parent] + 1 if parent >= 0 else 0
        closing = 0 if j == 0 else depth[j - 1] - depth[j] + 1  # '}' lines before this joint
        lines += ["}"] * closing
        c_parent = turn[parent] if parent >= 0 else np.eye(3)
        offset = c_parent.T @ flip @ joint.offset
        if joint.end_site:
            lines += ["End Site", "{", "OFFSET " + " ".join(repr(float(v)) for v in offset)]
            continue
        kind = "ROOT" if parent < 0 and static_root is None else "JOINT"
        lines += [f"{kind} {names[joint.name]}", "{", "OFFSET " + " ".join(repr(float(v)) for v in offset)]
        rot = c_parent.T @ local_rot[j] @ turn[j]
        angles = Rotation.from_matrix(rot).as_euler(order.upper(), degrees=True)
        if parent < 0:
            lines.append("CHANNELS 6 " + " ".join(pos_ch + rot_names))
            data.append(np.hstack([trans, angles]))
        elif six_channels:
            lines.append("CHANNELS 6 " + " ".join(pos_ch + rot_names))
            data.append(np.hstack([np.broadcast_to(offset, (T, 3)), angles]))
        else:
            lines.append("CHANNELS 3 " + " ".join(rot_names))
            data.append(angles)
    lines += ["}"] * (depth[-1] + 1 + (static_root is not None))
    table = np.hstack(data)
    frame_time = CLIP.read_text().split("MOTION")[1].strip().splitlines()[1]
    lines += ["MOTION", f"Frames: {T}", frame_time]
    lines += [" ".join(repr(float(v)) for v in row) for row in table]
    dst.write_text("\n".join(lines) + "\n")
    return dst


@pytest.fixture(scope="module")
def reference():
    motion = load_bvh(CLIP).slice(*FRAMES)
    return motion, retarget_motion(motion, "g1", check_self_collision=False)


@pytest.mark.parametrize("style", sorted(STYLES))
def test_other_studio_rig_gives_the_same_robot_motion(style, tmp_path, reference):
    motion, ref = reference
    names, root, order, six = STYLES[style]
    path = write_rig(tmp_path / f"{style}.bvh", names, root, order, six)
    res = retarget_file(path, "g1")
    got = load_bvh(path)
    assert got.meta["units"] == "cmu" and got.meta["up_axis"] == "y", got.meta
    # the same canonical joints, whatever they are called, found by name (or by hierarchy when anonymous)
    expected = {p: names[n] for p, n in motion.meta["body_map"].items()}
    assert got.meta["body_map"] == expected
    how = set(got.meta["body_map_how"].values())
    assert how == ({"topology"} if style == "anonymous" else {"name"})
    assert np.abs(res.clip.qpos - ref.clip.qpos).max() < 1e-6


def test_rest_pose_not_a_t_pose_comes_out_upright(tmp_path, reference):
    """Bones along the parent's +X at rest: the rest pose is a line along x, yet the motion stands on y."""
    _, ref = reference
    path = write_rig(tmp_path / "x_rest.bvh", _MIXAMO, None, "ZXY", False, bones_along_x=True)
    bvh = read_bvh(path)
    rest = np.zeros((len(bvh.joints), 3))
    for j, joint in enumerate(bvh.joints):
        rest[j] = joint.offset + (rest[joint.parent] if joint.parent >= 0 else 0)
    head, toe = bvh.names.index("mixamorig:Head"), bvh.names.index("mixamorig:LeftToeBase")
    assert abs(rest[head, 1] - rest[toe, 1]) < 1e-6  # at rest the head is not above the feet at all
    res = retarget_file(path, "g1")
    m = res.metrics
    assert m.upright_problem is None and m.verdict == "good", m.as_dict()
    assert m.robot_pelvis_height_ratio > 0.8 and m.robot_torso_tilt_deg < 20
    assert np.abs(res.clip.qpos - ref.clip.qpos).max() < 1e-6


def test_lying_clip_is_never_good(reference):
    """Reading the CMU clip with the wrong up axis lays human and robot on the floor: the keypoints still
    match (under 2 cm), so only the upright checks can tell, and the verdict must not be 'good'."""
    _, ref = reference
    lying = load_bvh(CLIP, up="z").slice(*FRAMES)
    m = retarget_motion(lying, "g1", check_self_collision=False).metrics
    assert m.keypoint_error_overall < 0.02
    assert m.robot_pelvis_height_ratio < 0.5 and m.robot_torso_tilt_deg > 60
    assert m.verdict.startswith("check: not upright") and "up axis" in m.verdict
    assert ref.metrics.verdict == "good" and ref.metrics.robot_torso_tilt_deg < 20
    fallen = replace(ref.metrics, robot_pelvis_height_ratio=0.2, robot_torso_tilt_deg=80.0)
    assert fallen.verdict.startswith("check: robot not upright while the human is")


def test_report_flags_a_lying_clip(tmp_path, capsys):
    from robolearn.retarget.cli import RetargetArgs, main

    out = tmp_path / "lying.npz"
    args = RetargetArgs(input=CLIP, robot="g1", out=out, up="z", start=FRAMES[0], stop=FRAMES[1], report=True)
    assert main(args) == 0 and out.is_file()
    text = " ".join(w for w in capsys.readouterr().out.split() if w != "│")  # table cells may wrap
    assert "verdict" in text and "check: not upright" in text and "good" not in text


@pytest.mark.parametrize(
    "name,side,part",
    [
        ("L_Thigh", "left", "hip"),
        ("thigh.L", "left", "hip"),
        ("lShin", "left", "knee"),
        ("mixamorig:LeftUpLeg", "left", "hip"),
        ("Bip01 L Thigh", "left", "hip"),
        ("LeftUpLeg", "left", "hip"),
        ("Knee_R", "right", "knee"),
        ("right_calf", "right", "knee"),
        ("upperarm_r", "right", "shoulder"),
        ("lowerarm_l", "left", "elbow"),
        ("Bip01 R Forearm", "right", "elbow"),
        ("ball_l", "left", "toe"),
        ("R_Wrist", "right", "wrist"),
        ("rhand", "right", "wrist"),
        ("Left Humerus", "left", "shoulder"),
        ("mixamorig:Hips", None, "pelvis"),
        ("spine_01", None, "spine"),
        ("thigh_twist_01_l", "left", None),
    ],
)
def test_joint_name_styles(name, side, part):
    got = parse_joint_name(name)
    assert (got.side, got.part) == (side, part)


def _broken_rig(tmp_path: Path) -> Path:
    """Anonymous names, and the right leg hangs off the lower back: neither names nor the hips' three
    branches can place the limbs."""
    text = write_rig(tmp_path / "tmp.bvh", STYLES["anonymous"][0], None, "ZYX", False).read_text()
    lines = text.split("MOTION")[0].splitlines()
    start = lines.index("JOINT joint06")
    end = lines.index("JOINT joint11")  # the right leg block runs up to the lower back
    block = lines[start:end]
    rest = lines[:start] + lines[end:]
    at = rest.index("JOINT joint11") + 4  # after joint11's OFFSET and CHANNELS lines
    # the motion columns follow the hierarchy: move the right leg's 15 after the lower back's 3
    head, frames = text.split("MOTION")
    motion_lines = frames.strip().splitlines()
    table = np.array([ln.split() for ln in motion_lines[2:]])
    cols = [*range(21), *range(36, 39), *range(21, 36), *range(39, table.shape[1])]
    rows = [" ".join(r) for r in table[:, cols]]
    out = tmp_path / "broken.bvh"
    out.write_text("\n".join(rest[:at] + block + rest[at:] + ["MOTION", *motion_lines[:2], *rows]) + "\n")
    (tmp_path / "tmp.bvh").unlink()
    return out


def test_unmappable_rig_names_the_missing_points_and_the_fix(tmp_path):
    from robolearn.retarget.cli import RetargetArgs, main

    bad = _broken_rig(tmp_path)
    with pytest.raises(
        RetargetInputError, match=r"broken\.bvh.*no joint found for \['pelvis', 'left_hip'"
    ) as err:
        retarget_file(bad, "g1")
    msg = str(err.value)
    assert "--skeleton-map" in msg and "\n  right_knee: " in msg and "\n  left_elbow: " in msg
    out = tmp_path / "out.npz"
    assert main(RetargetArgs(input=bad, robot="g1", out=out)) != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.bvh"]

    # the lines the message asks for, written into a map file, make the same file retarget upright
    names = STYLES["anonymous"][0]
    ref_map = load_bvh(CLIP).meta["body_map"]
    smap = tmp_path / "map.yaml"
    smap.write_text("".join(f"{p}: {names[n]}\n" for p, n in ref_map.items()))
    assert main(RetargetArgs(input=bad, robot="g1", out=out, skeleton_map=smap)) == 0
    res = retarget_file(bad, "g1", skeleton_map=smap)
    assert res.metrics.upright_problem is None
    assert set(
        load_bvh(bad, skeleton_map={p: names[n] for p, n in ref_map.items()}).meta["body_map_how"].values()
    ) == {"map"}


def test_skeleton_map_errors_name_file_and_point(tmp_path):
    smap = tmp_path / "map.yaml"
    smap.write_text("left_knee: NoSuchJoint\n")
    with pytest.raises(RetargetInputError, match=r"01_01\.bvh.*'left_knee'.*NoSuchJoint.*not in the file"):
        retarget_file(CLIP, "g1", frames=FRAMES, skeleton_map=smap)
    smap.write_text("left_kneee: LeftLeg\n")
    with pytest.raises(RetargetInputError, match=r"map\.yaml.*'left_kneee'.*unknown canonical point"):
        retarget_file(CLIP, "g1", skeleton_map=smap)
    # an override wins over the name match
    m = load_bvh(CLIP, skeleton_map={"left_hand": "LeftFingerBase"})
    assert (
        m.meta["body_map"]["left_hand"] == "LeftFingerBase" and m.meta["body_map_how"]["left_hand"] == "map"
    )


def test_inspect_prints_hierarchy_units_and_map(tmp_path, capsys):
    from robolearn.retarget.cli import RetargetArgs, main

    path = write_rig(tmp_path / "biped.bvh", *STYLES["biped"])
    assert main(RetargetArgs(input=path, inspect=True)) == 0
    out = capsys.readouterr().out
    assert (
        "Bip01 L Calf" in out
        and "units: cmu, up axis: y, facing: +z (file axes; auto ones read off the motion)" in out
    )
    assert "left_knee: Bip01 L Calf  # name" in out and "left_shoulder: Bip01 L UpperArm  # name" in out
    assert [p.name for p in tmp_path.iterdir()] == ["biped.bvh"]  # nothing written
    bad = _broken_rig(tmp_path)
    assert main(RetargetArgs(input=bad, inspect=True)) != 0
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert "joint06" in out and "--skeleton-map" in out


# Two published skeletons, by hierarchy and names only: SMPL's 24-joint kinematic tree (its 'L_Foot' is
# the ball of the foot, 'L_Shoulder' the upper arm) and the Unreal mannequin (clavicles, twist bones, IK
# helper bones under the root whose names also say 'foot').
SMPL = (
    "Pelvis L_Hip R_Hip Spine1 L_Knee R_Knee Spine2 L_Ankle R_Ankle Spine3 L_Foot R_Foot Neck L_Collar "
    "R_Collar Head L_Shoulder R_Shoulder L_Elbow R_Elbow L_Wrist R_Wrist L_Hand R_Hand"
).split()
SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]
UE = [
    ("root", -1), ("pelvis", 0), ("spine_01", 1), ("spine_02", 2), ("spine_03", 3), ("clavicle_l", 4),
    ("upperarm_l", 5), ("lowerarm_l", 6), ("hand_l", 7), ("index_01_l", 8), ("thumb_01_l", 8),
    ("upperarm_twist_01_l", 6), ("clavicle_r", 4), ("upperarm_r", 12), ("lowerarm_r", 13), ("hand_r", 14),
    ("middle_01_r", 15), ("neck_01", 4), ("head", 17), ("thigh_l", 1), ("calf_l", 19), ("foot_l", 20),
    ("ball_l", 21), ("thigh_twist_01_l", 19), ("thigh_r", 1), ("calf_r", 24), ("foot_r", 25), ("ball_r", 26),
    ("ik_foot_root", 0), ("ik_foot_l", 28), ("ik_foot_r", 28),
]  # fmt: skip


@pytest.mark.parametrize(
    "names,parents,expected",
    [
        (
            SMPL,
            SMPL_PARENTS,
            {"left_toe": "L_Foot", "left_shoulder": "L_Shoulder", "right_hand": "R_Hand", "spine": "Spine1"},
        ),
        (
            [n for n, _ in UE],
            [p for _, p in UE],
            {
                "left_shoulder": "upperarm_l",
                "left_ankle": "foot_l",
                "left_toe": "ball_l",
                "left_hand": "index_01_l",
                "spine": "spine_01",
            },
        ),
    ],
)
def test_published_skeletons_map_by_name(names, parents, expected):
    from robolearn.retarget.rig import map_skeleton

    bmap = map_skeleton(names, parents, np.zeros((1, len(names), 3)))
    got = bmap.names(names)
    assert {k: got[k] for k in expected} == expected and set(bmap.how.values()) == {"name"}
    assert len(got) == 18  # every canonical point, hands included


def test_left_handed_export_is_mirrored_back(tmp_path, reference):
    """A left-handed export (x flipped) read as right-handed is a mirror image whose 'Left' limbs are on
    the body's right: the reader flips it back, and the robot moves as for the original."""
    motion, ref = reference
    assert motion.meta["mirrored_axis"] is None
    path = write_rig(tmp_path / "lh.bvh", {n: n for n in _CMU}, None, "ZYX", False, mirror_x=True)
    got = load_bvh(path)
    assert got.meta["mirrored_axis"] == "x"
    np.testing.assert_allclose(got.positions, motion.positions, atol=1e-9)
    assert np.abs(retarget_file(path, "g1").clip.qpos - ref.clip.qpos).max() < 1e-6
