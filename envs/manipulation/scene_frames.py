"""World-frame keyposes of one demonstration (e.g. extracted from a video) -> keyposes in the task's frames.

Proliferation (proliferation.py) moves a keypose with its frame: `object` keyposes follow the first object's
new placement, `target` ones the new target, `world` ones stay put. Keyposes extracted from a video are all
in `world`, so they solve only the layout they were shown on. Given where the object (and the target) stood
in that demonstration, `to_task_frames` re-expresses each keypose in the frame it belongs to
(`keypose_frames` picks it), and the demo then follows any new layout.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial.transform import Rotation

from robolearn.envs.manipulation.keyposes import Keypose

NEAR_M = 0.12
"""A grip change this close (3-D, to the frame's origin) to the object or the target happens at it. The
scripted experts' grasps and releases lie 0.6-9 cm from their frame (CubeTransfer's place: 8.9 cm, the
gripper 7 cm above the target); their handovers in the air are 17 cm or more from every frame."""
CLOSED = 0.5
"""Gripper values below this are closed (keyposes carry 1 open, 0 closed)."""


@dataclass(frozen=True)
class ScenePose:
    """Where a frame stood during the demonstration, in the world frame of the keyposes."""

    pos: tuple[float, float, float]
    """The object's centre (or the target's origin), metres."""
    yaw: float = 0.0
    """Rotation about the vertical, radians."""

    def transform(self) -> tuple[Rotation, np.ndarray]:
        return Rotation.from_euler("z", self.yaw), np.asarray(self.pos, dtype=float)


def _segments(poses: list[Keypose]) -> list[tuple[list[int], int, bool]]:
    """One arm's keyposes (in time order) split at grip changes: per segment, its indices, the index of the
    keypose that decides its frame (the close or the release that ends it; the last one if none) and
    whether that is a release. Keyposes after the last change join the segment before when it ended by
    opening (a retreat goes with its release) and form their own while the gripper still holds."""
    segments: list[tuple[list[int], int, bool]] = []
    current: list[int] = []
    closed = False  # every episode starts with both grippers open
    for i, k in enumerate(poses):
        current.append(i)
        now = k.gripper < CLOSED
        if now != closed:
            segments.append((current, i, not now))
            closed, current = now, []
    if current:
        if segments and segments[-1][2]:
            segments[-1][0].extend(current)
        else:
            segments.append((current, current[-1], False))
    return segments


def keypose_frames(keyposes: list[Keypose], object_pose: ScenePose, target_pose: ScenePose | None = None
                   ) -> list[str]:  # fmt: skip
    """The frame each world-frame keypose belongs to, in the scripted experts' convention (keyposes.py):

    an arm's keyposes up to its first grip close are in the `object` frame (it reaches for the object), after
    it in the `target` frame (it carries the object there and lets go). Grip changes in the air
    (CubeTransfer's handover: the left hand lets go, the right one closes, ~20 cm above the table) are tied
    to neither: those arms meet at a fixed point in the world, so the segment is `world`, as the experts
    write it. Tying the handover to the object (as the left hand's pick) and to the target (as the right
    hand's place) pulls the two grippers apart on a new layout: 2 of 32 CubeTransfer layouts succeed that
    way, 32 of 32 with this rule.

    Precisely: per arm, keyposes are split at grip changes (`_segments`); a segment takes the frame whose
    origin is nearest the grip change that ends it (the close or the release) if within NEAR_M (a release
    within NEAR_M of the target: `target`), else `world`. So a grasp at the target's pose (Insertion's left
    hand takes the socket, which stands at the target) is a `target` segment, and each of the experts'
    keyposes gets the frame they give it (tests/test_yoto_video_frames.py).
    """
    origins = {"object": np.asarray(object_pose.pos, dtype=float)}
    if target_pose is not None:
        origins["target"] = np.asarray(target_pose.pos, dtype=float)
    frames = [""] * len(keyposes)
    for arm in sorted({k.arm for k in keyposes}):
        idx = sorted((i for i, k in enumerate(keyposes) if k.arm == arm), key=lambda i: keyposes[i].time)
        arm_poses = [keyposes[i] for i in idx]
        for seg, decisive, release in _segments(arm_poses):
            at = np.asarray(arm_poses[decisive].pos, dtype=float)
            dist = {name: float(np.linalg.norm(at - o)) for name, o in origins.items()}
            near = [name for name in dist if dist[name] <= NEAR_M]
            if release and "target" in near:  # letting go at the target is a place, even beside the start
                frame = "target"
            else:
                frame = min(near, key=lambda name: dist[name]) if near else "world"
            for j in seg:
                frames[idx[j]] = frame
    return frames


def to_task_frames(keyposes: list[Keypose], object_pose: ScenePose, target_pose: ScenePose | None = None
                   ) -> list[Keypose]:  # fmt: skip
    """World-frame keyposes re-expressed in the frames `keypose_frames` picks, relative to where the object
    and target stood in the demonstration (demos.resolve then places them on any layout)."""
    for i, k in enumerate(keyposes):
        if k.frame != "world":
            raise ValueError(
                f"keyposes[{i}]: frame {k.frame!r}; expected 'world' (video keyposes are in the world)"
            )
    poses = {"object": object_pose, "target": target_pose}
    out = []
    for k, frame in zip(keyposes, keypose_frames(keyposes, object_pose, target_pose), strict=True):
        if frame == "world":
            out.append(k)
            continue
        scene = poses[frame]
        assert scene is not None
        rot, origin = scene.transform()
        q = rot.inv() * Rotation.from_quat(k.quat, scalar_first=True)
        pos = rot.inv().apply(np.asarray(k.pos, dtype=float) - origin)
        out.append(replace(k, frame=frame, pos=tuple(float(v) for v in pos),
                           quat=tuple(float(v) for v in q.as_quat(scalar_first=True))))  # fmt: skip
    return out


def layout_scene(layout: np.ndarray, object_z: float, target_z: float) -> tuple[ScenePose, ScenePose]:
    """The object and target poses of a layout (object x, y, yaw, target x, y) at the task's heights."""
    obj = ScenePose((float(layout[0]), float(layout[1]), object_z), float(layout[2]))
    return obj, ScenePose((float(layout[3]), float(layout[4]), target_z))


__all__ = ["NEAR_M", "ScenePose", "keypose_frames", "layout_scene", "to_task_frames"]
