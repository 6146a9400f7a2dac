"""Hand sources onto robot hands in one call: 21-point keypoint files, MediaPipe estimates (or a video),
marker gloves through a hand map; out comes a motion clip (joints only, no floating base)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from robolearn.robots import robot_model

from .clip import MotionClip, resample_qpos
from .errors import RetargetInputError
from .hands import HAND_MAPS, HandRetargeter, HandRetargetResult
from .sources.estimates import VIDEO_SUFFIXES, hand_from_estimate, is_estimate, read_estimate, run_mediapipe
from .sources.hands import HandSequence, load_hand_keypoints
from .sources.keypoints import npz_keys
from .sources.markers import load_marker_hand


def is_hand_robot(robot: str) -> bool:
    return robot in HAND_MAPS


def load_hand_source(
    path: str | Path,
    hand_map: str | Path | None = None,
    source_fps: float | None = None,
    mediapipe_python: str | Path | None = None,
) -> HandSequence:
    """A hand sequence from any hand source, chosen by the file (and the hand map, for marker gloves)."""
    path = Path(path)
    if hand_map is not None:
        return load_marker_hand(path, hand_map)
    suffix = path.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        tmp = run_mediapipe(path, "hand", mediapipe_python)
        try:
            return hand_from_estimate(path, read_estimate(tmp, video=path))
        finally:
            tmp.unlink(missing_ok=True)
    if suffix == ".npz" and path.is_file() and is_estimate(npz_keys(path)):
        return hand_from_estimate(path, read_estimate(path))
    if suffix in (".npy", ".npz"):
        return load_hand_keypoints(path, fps=source_fps or 30.0)
    raise RetargetInputError(
        path,
        "file",
        f"unsupported hand source {suffix!r}; expected .npy/.npz keypoints, a video "
        f"({', '.join(VIDEO_SUFFIXES)}), or marker .csv/.npz with --hand-map",
    )


def hand_clip(result: HandRetargetResult, robot: str, source: dict, fps: float | None = None) -> MotionClip:
    model = robot_model(robot)
    out_fps = fps or result.fps
    qpos = resample_qpos(result.qpos, result.fps, out_fps, has_root=False)
    data = mujoco.MjData(model)
    body_pos = np.zeros((len(qpos), model.nbody - 1, 3))
    for t, q in enumerate(qpos):
        data.qpos[:] = q  # pinocchio and MuJoCo share the hands' joint order (checked by HandRetargeter)
        mujoco.mj_kinematics(model, data)
        body_pos[t] = data.xpos[1:]
    return MotionClip(
        fps=out_fps,
        joint_names=[model.joint(j).name for j in range(model.njnt)],
        qpos=qpos,
        body_names=[model.body(b).name for b in range(1, model.nbody)],
        body_pos=body_pos,
        robot=robot,
        has_root=False,
        source=source,
    )


@dataclass
class HandFileResult:
    clip: MotionClip
    result: HandRetargetResult
    hand: HandSequence

    def summary(self) -> dict:
        err = self.result.tip_direction_errors_deg()
        return {
            "frames": self.hand.num_frames,
            "fingers": self.result.fingers,
            "tip_direction_error_mean_deg": float(np.nanmean(err))
            if np.isfinite(err).any()
            else float("nan"),
            "long_gaps": self.hand.meta.get("long_gaps", []),
        }


def retarget_hand_file(
    path: str | Path,
    robot: str = "leap_hand",
    fps: float | None = None,
    frames: tuple[int, int | None] | None = None,
    hand_map: str | Path | None = None,
    source_fps: float | None = None,
    mediapipe_python: str | Path | None = None,
) -> HandFileResult:
    solver = HandRetargeter(robot)  # unknown or non-hand robot: clear error before reading anything
    hand = load_hand_source(path, hand_map, source_fps, mediapipe_python)
    if frames is not None:
        hand.keypoints = hand.keypoints[slice(*frames)]
        if hand.num_frames < 1:
            raise RetargetInputError(path, "frames", f"--start/--stop {frames} select no frame")
    result = solver.retarget(hand)
    source = {"path": str(path), "source_fps": hand.fps, "frames": hand.num_frames, "side": hand.side}
    source.update(hand.meta)
    source.update(scale=result.scale, solver="vector retargeting (scipy least squares, pinocchio)")
    return HandFileResult(hand_clip(result, robot, source, fps), result, hand)
