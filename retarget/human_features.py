"""Human features for CrossLoco: a folder of human clips -> the root path at a quadruped's size and per-joint
pose features, at the policy rate, written as one `.npz` the Go2-CrossLoco task reads.

No joint correspondence is made here (that is what CrossLoco learns); the features are what the robot is
shown of the human:
  - root: the pelvis path on the floor in the clip's start-heading frame, scaled by robot stand height /
    human leg length (thigh + shin), the heading (unwrapped yaw, 0 at the clip's first frame) and the pelvis
    height about its median, scaled the same way;
  - pose: the 15 canonical body points other than the pelvis and hands (hips, knees, ankles, toes, spine,
    shoulders, elbows, wrists), relative to the pelvis, in the pelvis heading frame, divided by the human
    leg length (unitless, so people of any size give the same features): 45 numbers a frame.
A mirrored clip (left and right swapped, the lateral axis negated) gives mirrored features: `mirror_features`
of a clip's features equals the features of `mirror_motion` of the clip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from robolearn.atomic import save_npz

from .api import _resample_points
from .errors import RetargetInputError
from .frames import keypoint_frames
from .scaling import bone_lengths, leg_length
from .skeleton import BODY_POINTS, body_points
from .sources import BODY_SUFFIXES, load_motion
from .sources.motion import HumanMotion

FEATURES_VERSION = 1
POSE_POINTS = [p for p in BODY_POINTS if p not in ("pelvis", "left_hand", "right_hand")]
"""The points whose pelvis-relative positions make the pose features (15 x 3)."""
POSE_DIM = 3 * len(POSE_POINTS)
SKELETON_POINTS = [p for p in BODY_POINTS if p not in ("left_hand", "right_hand")]
"""Points kept (scaled, in the clip frame) to draw the human beside the robot."""
SKELETON_BONES = [(SKELETON_POINTS.index(c), SKELETON_POINTS.index(p)) for c, p in (
    ("left_hip", "pelvis"), ("left_knee", "left_hip"), ("left_ankle", "left_knee"), ("left_toe", "left_ankle"),
    ("right_hip", "pelvis"), ("right_knee", "right_hip"), ("right_ankle", "right_knee"),
    ("right_toe", "right_ankle"), ("spine", "pelvis"), ("left_shoulder", "spine"), ("left_elbow", "left_shoulder"),
    ("left_wrist", "left_elbow"), ("right_shoulder", "spine"), ("right_elbow", "right_shoulder"),
    ("right_wrist", "right_elbow"),
)]  # fmt: skip
GO2_STAND_HEIGHT = 0.27
"""m: the Go2 'home' keyframe's base height (menagerie go2.xml), the robot size root paths are scaled to."""


def _swap_sides(name: str) -> str:
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


MIRROR_POSE = np.array([POSE_POINTS.index(_swap_sides(p)) for p in POSE_POINTS])
"""Pose point k of a mirrored clip is point MIRROR_POSE[k] of the clip (left <-> right)."""


@dataclass
class HumanFeatures:
    """Features of one clip at `fps` (T frames)."""

    name: str
    fps: float
    root_xy: np.ndarray  # [T, 2] m at robot size, start-heading frame, 0 at the first frame
    root_z: np.ndarray  # [T] m at robot size, about the clip's median pelvis height
    heading: np.ndarray  # [T] rad, unwrapped, 0 at the first frame
    pose: np.ndarray  # [T, POSE_DIM] unitless
    skeleton: np.ndarray  # [T, len(SKELETON_POINTS), 3] m at robot size, clip frame (drawing only)
    scale: float  # robot stand height / human leg length
    source: str

    @property
    def num_frames(self) -> int:
        return int(self.pose.shape[0])


def clip_features(motion: HumanMotion, fps: float, stand_height: float = GO2_STAND_HEIGHT) -> HumanFeatures:
    """Features of one clip, resampled (linear) from its own rate to `fps`."""
    pts, _ = body_points(motion)
    keep = [BODY_POINTS.index(p) for p in SKELETON_POINTS]
    for p in SKELETON_POINTS:
        if not np.isfinite(pts[:, BODY_POINTS.index(p)]).all():
            raise RetargetInputError(
                motion.source, p, "finite positions in every frame (the pose features need it)"
            )
    pts = _resample_points(pts[:, keep], motion.fps, fps) if abs(motion.fps - fps) > 1e-6 else pts[:, keep]
    if len(pts) < 2:
        raise RetargetInputError(motion.source, "frames", f"{len(pts)} frame(s) at {fps} fps; expected >= 2")
    full = np.full((len(pts), len(BODY_POINTS), 3), np.nan)
    full[:, keep] = pts
    leg = leg_length(bone_lengths(full))
    scale = stand_height / leg
    frames = keypoint_frames(full)["pelvis"]
    heading = np.unwrap(np.arctan2(frames[:, 1, 0], frames[:, 0, 0]))
    pelvis = pts[:, SKELETON_POINTS.index("pelvis")]
    c0, s0 = np.cos(heading[0]), np.sin(heading[0])
    to_start = np.array([[c0, s0], [-s0, c0]])  # world xy -> start-heading frame
    root_xy = scale * (pelvis[:, :2] - pelvis[0, :2]) @ to_start.T
    root_z = scale * (pelvis[:, 2] - np.median(pelvis[:, 2]))
    c, s = np.cos(heading), np.sin(heading)
    rel = pts[:, [SKELETON_POINTS.index(p) for p in POSE_POINTS]] - pelvis[:, None]
    local = np.stack([c[:, None] * rel[..., 0] + s[:, None] * rel[..., 1],
                      -s[:, None] * rel[..., 0] + c[:, None] * rel[..., 1], rel[..., 2]], axis=-1)  # fmt: skip
    skel = pts - np.array([pelvis[0, 0], pelvis[0, 1], 0.0])
    skel[..., :2] = skel[..., :2] @ to_start.T
    return HumanFeatures(
        name=Path(motion.source).stem, fps=fps, root_xy=root_xy, root_z=root_z, heading=heading - heading[0],
        pose=(local / leg).reshape(len(pts), POSE_DIM), skeleton=scale * skel, scale=float(scale),
        source=motion.source,
    )  # fmt: skip


def mirror_features(f: HumanFeatures) -> HumanFeatures:
    """The features of the clip seen in a mirror: left and right swapped, lateral (y) negated."""
    pose = f.pose.reshape(len(f.pose), -1, 3)[:, MIRROR_POSE] * np.array([1.0, -1.0, 1.0])
    skel_swap = [SKELETON_POINTS.index(_swap_sides(p)) for p in SKELETON_POINTS]
    return HumanFeatures(
        name=f"{f.name}_mirror", fps=f.fps, root_xy=f.root_xy * np.array([1.0, -1.0]), root_z=f.root_z.copy(),
        heading=-f.heading, pose=pose.reshape(len(pose), -1), skeleton=f.skeleton[:, skel_swap] * [1.0, -1.0, 1.0],
        scale=f.scale, source=f.source,
    )  # fmt: skip


def mirror_motion(motion: HumanMotion) -> HumanMotion:
    """A clip reflected in the world's x-z plane, its body map's left and right points swapped (the person
    in the mirror raises their left hand when the original raises the right)."""
    pts, names = body_points(motion)
    body_map = {p: n for p, n in zip(BODY_POINTS, names, strict=True) if n}
    mirrored = {_swap_sides(p): n for p, n in body_map.items()}
    return HumanMotion(
        names=list(motion.names), positions=motion.positions * np.array([1.0, -1.0, 1.0]), fps=motion.fps,
        source=motion.source, parents=motion.parents, rotations=None,
        meta={**motion.meta, "body_map": mirrored, "mirrored": True},
    )  # fmt: skip


def clip_files(folder: str | Path) -> list[Path]:
    """The body-motion files of a clip folder (sorted), or one file."""
    folder = Path(folder)
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise RetargetInputError(
            folder, "clips", "not found; expected a folder of human clips or one clip file"
        )
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in BODY_SUFFIXES)
    if not files:
        raise RetargetInputError(
            folder, "clips", f"no human motion file in the folder; expected one of {', '.join(BODY_SUFFIXES)}"
        )
    return files


def load_clip_folder(
    folder: str | Path, fps: float = 50.0, *, resample: bool = False, mirror: bool = False,
    stand_height: float = GO2_STAND_HEIGHT,
) -> list[HumanFeatures]:  # fmt: skip
    """Every clip of a folder as features at `fps`, plus its mirror when `mirror`.

    Every file must read (a broken one is refused, naming it) and, unless `resample`, all clips must share
    one source frame rate: the clip set is one sampling of motion, and a clip at another rate is more likely
    a wrong file than an intended mix. With `resample`, clips at any rate are interpolated to `fps`."""
    files = clip_files(folder)
    motions: list[HumanMotion] = []
    for path in files:
        motion = load_motion(path)
        if motions and not resample and abs(motion.fps - motions[0].fps) > 1e-3 * motions[0].fps:
            raise RetargetInputError(
                path, "fps", f"{motion.fps:.4g} fps, but {files[0].name} is at {motions[0].fps:.4g} fps; expected one "
                "frame rate for the whole clip set (or resample=True / --resample)",
            )  # fmt: skip
        motions.append(motion)
    out = []
    for motion in motions:
        feats = clip_features(motion, fps, stand_height)
        out.append(feats)
        if mirror:
            out.append(mirror_features(feats))
    return out


def save_features(clips: list[HumanFeatures], path: str | Path) -> Path:
    """All clips in one `.npz` (frames concatenated, `starts` giving each clip's first frame), written
    atomically (a temp file in the same folder, then renamed)."""
    path = Path(path)
    if not clips:
        raise RetargetInputError(path, "clips", "no clip to write")
    if len({c.fps for c in clips}) != 1:
        raise RetargetInputError(path, "fps", f"clips at {sorted({c.fps for c in clips})}; expected one rate")
    lengths = [c.num_frames for c in clips]
    save_npz(path, dict(
        version=np.int64(FEATURES_VERSION), fps=np.float64(clips[0].fps),
        names=np.array([c.name for c in clips]), starts=np.cumsum([0, *lengths[:-1]]).astype(np.int64),
        lengths=np.array(lengths, dtype=np.int64),
        root_xy=np.concatenate([c.root_xy for c in clips]).astype(np.float32),
        root_z=np.concatenate([c.root_z for c in clips]).astype(np.float32),
        heading=np.concatenate([c.heading for c in clips]).astype(np.float32),
        pose=np.concatenate([c.pose for c in clips]).astype(np.float32),
        skeleton=np.concatenate([c.skeleton for c in clips]).astype(np.float32),
        skeleton_points=np.array(SKELETON_POINTS), skeleton_bones=np.array(SKELETON_BONES, dtype=np.int64),
        scale=np.array([c.scale for c in clips]), pose_points=np.array(POSE_POINTS),
        sources=np.array(json.dumps([c.source for c in clips])),
    ), compressed=True)  # fmt: skip
    return path
