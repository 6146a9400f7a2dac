"""YOTO's chain from a video's world-frame keyposes to demos on new layouts: the demonstration's object and
target poses put the keyposes into the task's frames (envs/manipulation/scene_frames.py), and proliferation
then solves layouts the video never showed."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from robolearn.envs.manipulation.aloha import sample_layouts, task_cfg
from robolearn.envs.manipulation.demos import generate_demos, resolve
from robolearn.envs.manipulation.keyposes import Keypose, expert_keyposes, save_keyposes
from robolearn.envs.manipulation.proliferation import proliferate
from robolearn.envs.manipulation.scene_frames import ScenePose, layout_scene, to_task_frames
from robolearn.policies.video_keyposes import demo_scene
from robolearn.retarget.errors import FlagError, RetargetInputError
from robolearn.retarget.stereo import load_calibration

TASK = "Aloha-CubeTransfer"
SHOWN = np.array([-0.09, 0.05, 0.3, 0.11, 0.05])
"""The layout of the 'video': object x, y, yaw, target x, y."""


def as_video(task: str, layout: np.ndarray) -> list[Keypose]:
    """The scripted expert's keyposes resolved to world poses on one layout: what a video of it yields."""
    out = []
    for t, arm, rot, pos, grip in resolve(expert_keyposes(task), layout, task_cfg(task)):
        out.append(Keypose(t, arm, "world", tuple(pos), tuple(rot.as_quat(scalar_first=True)), grip))
    return out


@pytest.mark.parametrize("task", ["Aloha-CubeTransfer", "Aloha-Insertion", "Aloha-CubeRelay", "Aloha-Reach"])
def test_world_keyposes_get_the_experts_frames_back(task: str) -> None:
    """From world poses and the layout's object/target poses, each keypose gets the frame (and the pose in it)
    that the scripted expert wrote: the rule reproduces the experts' convention on every ALOHA task."""
    cfg = task_cfg(task)
    for layout in sample_layouts(cfg, 3, np.random.default_rng(5)):
        converted = to_task_frames(
            as_video(task, layout), *layout_scene(layout, cfg.object_half_z[0], cfg.target_z)
        )
        for want, got in zip(expert_keyposes(task), converted, strict=True):
            assert got.frame == want.frame, (want.time, want.arm)
            np.testing.assert_allclose(got.pos, want.pos, atol=1e-9)
            assert abs(abs(np.dot(got.quat, want.quat)) - 1) < 1e-9


def test_video_keyposes_with_the_object_pose_solve_new_layouts() -> None:
    """The whole chain on CubeTransfer: world keyposes of one layout + that layout's object and target poses
    -> 2 verified demos on 2 new layouts; the same keyposes left in the world frame solve neither."""
    cfg = task_cfg(TASK)
    world = as_video(TASK, SHOWN)
    obj, tgt = layout_scene(SHOWN, cfg.object_half_z[0], cfg.target_z)
    episodes = list(proliferate(TASK, to_task_frames(world, obj, tgt), n=2, seed=3, batch=2, n_points=64))
    assert len(episodes) == 2
    for ep in episodes:  # layouts the video never showed: block and target >= 2 cm away (or the block turned)
        moved = np.linalg.norm(ep.layout[:2] - SHOWN[:2]) > 0.02 or abs(ep.layout[2] - SHOWN[2]) > 0.1
        assert moved and np.linalg.norm(ep.layout[3:] - SHOWN[3:]) > 0.02, ep.layout
    with pytest.raises(RuntimeError, match="only 0 of 2 demos succeeded"):
        list(generate_demos(TASK, world, n=2, seed=3, batch=2, max_tries=2))


def test_the_calibration_scene_section_is_read_and_checked(tmp_path) -> None:
    """`scene` in the calibration gives the poses (yaw in degrees); a flag overrides it; bad entries name the
    file and the field."""
    from robolearn.retarget.stereo import save_calibration

    src = tmp_path / "base.yaml"
    src.write_text(yaml.safe_dump({"image_size": [640, 480],
                                   "left": {"camera_matrix": [[500, 0, 320], [0, 500, 240], [0, 0, 1]],
                                            "dist_coeffs": [0, 0, 0, 0, 0]},
                                   "scene": {"object": [-0.12, 0.03, 0.015, 90], "target": [0.14, -0.04, 0, 0]}}))  # fmt: skip
    calib = load_calibration(src)
    obj, tgt = demo_scene(calib.scene)
    assert obj == ScenePose((-0.12, 0.03, 0.015), pytest.approx(np.pi / 2)) and tgt is not None
    assert load_calibration(save_calibration(tmp_path / "again.yaml", calib)).scene.keys() == {
        "object",
        "target",
    }
    obj, _ = demo_scene(calib.scene, object_pose="0.1,0,0.015,0")
    assert obj == ScenePose((0.1, 0.0, 0.015), 0.0)
    for scene, field in (({"object": [0.1, 0.0, 0.015]}, "scene.object"), ({"object": [0.1, 0, 0, "x"]}, "scene.object"),
                         ({"target": [0.1, 0, 0, 0]}, "scene.object"), ({"cube": [0, 0, 0, 0]}, "scene"),
                         ([1, 2], "scene")):  # fmt: skip
        bad = tmp_path / "bad.yaml"
        bad.write_text(yaml.safe_dump({**yaml.safe_load(src.read_text()), "scene": scene}))
        with pytest.raises(RetargetInputError) as info:
            load_calibration(bad)
        assert info.value.field == field and str(bad) in str(info.value)
    with pytest.raises(FlagError, match="--object-pose 0.1,0,0: expected x,y,z,yaw"):
        demo_scene({}, object_pose="0.1,0,0")
    with pytest.raises(FlagError, match="--target-pose"):
        demo_scene({}, target_pose="0.1,0,0,0")


def test_pose_flags_without_a_video_are_refused(tmp_path, capsys) -> None:
    from robolearn.cli import main as cli

    save_keyposes(tmp_path / "kp.json", expert_keyposes(TASK), TASK)
    rc = cli(["demos", TASK, "--out", str(tmp_path / "ds"), "--n", "1", "--keyposes", str(tmp_path / "kp.json"),
              "--object-pose", "0,0,0,0"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "--object-pose 0,0,0,0: only with --from-video" in err and "Traceback" not in err
    assert not (tmp_path / "ds").exists()


def test_from_video_with_pose_flags_writes_keyposes_in_the_task_frames(tmp_path, capsys) -> None:
    """`demos --from-video` on scripted stereo hand keypoints: with --object-pose/--target-pose the keypose
    file is in the object/target frames, and placing those frames back at the given poses gives the very
    world poses the same video yields without the flags."""
    from test_stereo_hands import STEREO, calib_file, scripted_hands, write_view

    from robolearn.cli import main as cli
    from robolearn.envs.manipulation.keyposes import load_keyposes
    from robolearn.retarget.stereo import calibrate_stereo, image_pairs

    calib = calibrate_stereo(*image_pairs(STEREO)).calibration
    hands, _ = scripted_hands()
    views = [str(write_view(tmp_path / f"{v}.npz", calib, hands, v)) for v in ("left", "right")]
    base = ["demos", TASK, "--out", str(tmp_path / "ds"), "--n", "0", "--from-video", *views,
            "--calib", str(calib_file(tmp_path, calib))]  # fmt: skip
    assert cli([*base, "--keyposes-out", str(tmp_path / "world.json")]) == 0
    assert "keyposes stay in the world frame" in capsys.readouterr().out
    _, world = load_keyposes(tmp_path / "world.json")
    left_close = next(k for k in world if k.arm == "left" and k.gripper < 0.5)
    right_open = [k for k in world if k.arm == "right"][-1]  # the right hand's release (the last keypose)
    obj = np.add(left_close.pos, (0.02, -0.01, -0.01))  # the left hand picks the object, the right one places
    tgt = np.add(right_open.pos, (0.0, 0.01, -0.05))
    flags = ["--object-pose", ",".join(map(str, [*obj, 20])), "--target-pose", ",".join(map(str, [*tgt, 0]))]
    assert cli([*base, "--keyposes-out", str(tmp_path / "task.json"), *flags]) == 0
    assert "keyposes in frames: object" in capsys.readouterr().out
    _, task = load_keyposes(tmp_path / "task.json")
    poses = {"object": ScenePose(tuple(obj), np.radians(20)), "target": ScenePose(tuple(tgt))}
    left = sorted((k for k in task if k.arm == "left"), key=lambda k: k.time)
    first_close = next(n for n, k in enumerate(left) if k.gripper < 0.5)
    assert first_close >= 1 and {k.frame for k in left[: first_close + 1]} == {"object"}
    assert [k for k in task if k.arm == "right"][-1].frame == "target"
    for w, t in zip(world, task, strict=True):
        if t.frame == "world":
            assert t == w
            continue
        rot, origin = poses[t.frame].transform()
        np.testing.assert_allclose(origin + rot.apply(t.pos), w.pos, atol=1e-9)
