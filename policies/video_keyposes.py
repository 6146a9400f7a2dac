"""`robolearn demos <task> --from-video left.mp4 right.mp4 --calib stereo.yaml`: a human demonstration on
video -> keyposes of the task's robot (YOTO's front end), written as the keypose JSON the demo generator reads.

retarget does the vision (stereo_hands: MediaPipe, triangulation, hand poses and grips; keyframes: keyframe
choice and the hand-eye mapping into each arm's base frame); this module places the arm bases in the world
(from the robot model) and makes the task's Keypose records. Given where the object (and the target) stood
in the video (`--object-pose`, `--target-pose` or the calibration's `scene`), the keyposes are re-expressed in
the task's frames (envs/manipulation/scene_frames.py), so proliferation moves them with new layouts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from robolearn.envs.manipulation.keyposes import Keypose, save_keyposes
from robolearn.envs.manipulation.scene_frames import ScenePose, to_task_frames
from robolearn.retarget.errors import FlagError, RetargetInputError
from robolearn.retarget.keyframes import (
    HandKeypose,
    KeyframeCfg,
    detect_keyframes,
    keyposes_in_base,
    parse_keyframes,
)
from robolearn.retarget.stereo import load_calibration
from robolearn.retarget.stereo_hands import hands_from_views
from robolearn.robots import robot_model

ROBOT = "aloha"


def arm_bases(robot: str = ROBOT) -> dict[str, tuple[Rotation, np.ndarray]]:
    """World pose of each arm's base body (`left/base_link`, `right/base_link`) at the model's rest pose."""
    model = robot_model(robot)
    data = mujoco.MjData(model)
    mujoco.mj_kinematics(model, data)
    out = {}
    for side in ("left", "right"):
        body = model.body(f"{side}/base_link")
        out[side] = (Rotation.from_quat(data.xquat[body.id], scalar_first=True), data.xpos[body.id].copy())
    return out


def to_world(poses: list[HandKeypose], robot: str = ROBOT) -> list[Keypose]:
    """Base-frame hand keyposes -> world-frame Keyposes of the robot's arms."""
    bases = arm_bases(robot)
    out = []
    for k in poses:
        rot, pos = bases[k.arm]
        q = rot * Rotation.from_quat(k.quat, scalar_first=True)
        out.append(Keypose(round(float(k.time), 4), k.arm, "world", tuple(float(v) for v in pos + rot.apply(k.pos)),
                           tuple(float(v) for v in q.as_quat(scalar_first=True)), float(k.gripper)))  # fmt: skip
    return out


def scene_pose(values: np.ndarray | list[float]) -> ScenePose:
    """[x, y, z (m), yaw (deg)] -> ScenePose (yaw in radians)."""
    x, y, z, yaw = (float(v) for v in values)
    return ScenePose((x, y, z), float(np.radians(yaw)))


def parse_pose_flag(flag: str, text: str) -> ScenePose:
    """`--object-pose 0.1,-0.02,0.015,30`: x, y, z in metres (the keyposes' world frame), yaw in degrees."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not np.isfinite(values).all():
        raise FlagError(flag, text, "expected x,y,z,yaw: metres in the robot's world frame and degrees, "
                        "e.g. -0.12,0.0,0.015,10")  # fmt: skip
    return scene_pose(values)


def demo_scene(calib_scene: dict[str, np.ndarray], object_pose: str | None = None, target_pose: str | None = None,
               calib_path: Path | str = "calibration") -> tuple[ScenePose | None, ScenePose | None]:  # fmt: skip
    """The demonstration's object and target poses: the flags, else the calibration's `scene` section."""
    obj = parse_pose_flag("--object-pose", object_pose) if object_pose else None
    tgt = parse_pose_flag("--target-pose", target_pose) if target_pose else None
    if obj is None and "object" in calib_scene:
        obj = scene_pose(calib_scene["object"])
    if tgt is None and "target" in calib_scene:
        tgt = scene_pose(calib_scene["target"])
    if tgt is not None and obj is None:
        raise FlagError(
            "--target-pose",
            target_pose or f"{calib_path} scene.target",
            "needs the object's pose too: give --object-pose (or scene.object in the calibration)",
        )
    return obj, tgt


def in_task_frames(
    keyposes: list[Keypose], obj: ScenePose | None, tgt: ScenePose | None
) -> tuple[list[Keypose], str]:
    """The keyposes in the task's frames when the object's pose is known (else as they are), and a note."""
    if obj is None:
        return keyposes, ("keyposes stay in the world frame: demos reach only the demonstrated layout; give "
                          "--object-pose (and --target-pose) so they follow new layouts")  # fmt: skip
    out = to_task_frames(keyposes, obj, tgt)
    counts = {f: sum(k.frame == f for k in out) for f in ("object", "target", "world")}
    return out, "keyposes in frames: " + ", ".join(f"{f} {n}" for f, n in counts.items())


@dataclass
class VideoKeyposes:
    keyposes: list[Keypose]
    keyframes: list[int]
    method: str
    fps: float
    num_frames: int
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"{self.method}: {self.num_frames} frames at {self.fps:g} fps, keyframes "
                 f"{','.join(map(str, self.keyframes))}, {len(self.keyposes)} keyposes"]  # fmt: skip
        return "\n".join(lines + self.notes)


def keyposes_from_video(views: list[Path], calib_path: Path, keyframes: str | None = None,
                        mediapipe_python: Path | None = None, hand_size_m: float = 0.095,
                        cfg: KeyframeCfg | None = None, start_s: float = 1.0, object_pose: str | None = None,
                        target_pose: str | None = None) -> VideoKeyposes:  # fmt: skip
    """The chain: views -> 3-D hands -> keyframes (given or detected) -> world-frame keyposes -> the task's
    frames (object / target / world) when the object's pose is given (`demo_scene`)."""
    calib = load_calibration(calib_path)
    obj, tgt = demo_scene(calib.scene, object_pose, target_pose, calib_path)  # before MediaPipe runs
    if not calib.hand_eye:
        raise RetargetInputError(calib_path, "hand_eye", "missing; keyposes need each arm's base-from-camera "
                                 "4x4 (hand_eye: {left: ..., right: ...})")  # fmt: skip
    if keyframes:
        parse_keyframes(
            keyframes, 2**62
        )  # the syntax, before MediaPipe runs; the range once frames are known
    hands = hands_from_views(views, calib, calib_path, mediapipe_python, hand_size_m)
    first = next(iter(hands.tracks.values()))
    T = len(first.position)
    frames = parse_keyframes(keyframes, T) if keyframes else detect_keyframes(hands.tracks, cfg)
    poses = keyposes_in_base(hands.tracks, frames, calib.hand_eye, str(calib_path), start_s=start_s)
    notes = [f"{side} hand: seen in {frac:.0%} of frames"
             + (f", epipolar error {hands.epipolar_px[side]:.1f} px" if side in hands.epipolar_px else "")
             for side, frac in hands.detected.items()]  # fmt: skip
    keyposes, note = in_task_frames(to_world(poses), obj, tgt)
    return VideoKeyposes(keyposes, frames, hands.method, first.fps, T, notes + hands.notes + [note])


def write_keyposes(path: Path, task: str, result: VideoKeyposes) -> Path:
    """The keypose JSON (save_keyposes writes it atomically)."""
    save_keyposes(path, result.keyposes, task)
    return path
