"""`robolearn demos <task> --from-video left.mp4 right.mp4 --calib stereo.yaml`: a human demonstration on
video -> keyposes of the task's robot (YOTO's front end), written as the keypose JSON the demo generator reads.

retarget does the vision (stereo_hands: MediaPipe, triangulation, hand poses and grips; keyframes: keyframe
choice and the hand-eye mapping into each arm's base frame); this module places the arm bases in the world
(from the robot model) and makes the task's Keypose records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from robolearn.envs.manipulation.keyposes import Keypose, save_keyposes
from robolearn.retarget.errors import RetargetInputError
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
                        cfg: KeyframeCfg | None = None, start_s: float = 1.0) -> VideoKeyposes:  # fmt: skip
    """The chain: views -> 3-D hands -> keyframes (given or detected) -> world-frame keyposes."""
    calib = load_calibration(calib_path)
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
    return VideoKeyposes(to_world(poses), frames, hands.method, first.fps, T, notes + hands.notes)


def write_keyposes(path: Path, task: str, result: VideoKeyposes) -> Path:
    """The keypose JSON (save_keyposes writes it atomically)."""
    save_keyposes(path, result.keyposes, task)
    return path
