"""Human references (human_reference.py) from the three recording kinds HERMES names, each brought to the
one schema: VR (wrist poses + hand joints from a headset, sources/vr.py), motion capture (21-point keypoint
files or marker gloves through the hand sources) and monocular video (MediaPipe pixels + metric hand shape:
wrist translation by PnP, palm orientation by a plane fit). The object's pose is given by the caller (or
by markers on it), as the paper does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import RetargetInputError, as_float_array
from .hand_pose import HAND_SIZE_M, PALM, monocular_hand
from .human_reference import HandTrackRef, HumanReference, from_world_keypoints, pose7
from .rotations import quat_to_mat
from .sources.hands import HAND_POINTS, load_hand_keypoints
from .sources.markers import read_hand_map, read_markers
from .sources.vr import FRAME_TO_ROBOT, load_vr

IDENTITY7 = np.array([0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])


def _object(object_pose: np.ndarray | None, T: int, source: str | Path) -> np.ndarray:
    """The object's pose per frame: [7] held still, [T, 7] a track, None the world origin."""
    if object_pose is None:
        return np.tile(IDENTITY7, (T, 1))
    a = as_float_array(object_pose, source, "object_pose")
    if a.shape == (7,):
        a = np.tile(a, (T, 1))
    if a.shape != (T, 7):
        raise RetargetInputError(source, "object_pose", f"expected [7] or [{T}, 7], got {a.shape}")
    return a


def _track(wrist: np.ndarray, local: np.ndarray) -> HandTrackRef:
    """Keypoints in any wrist-attached frame + that frame's world pose [T, 4, 4] -> the schema's frame."""
    world = np.einsum("tij,tkj->tki", wrist[:, :3, :3], local) + wrist[:, None, :3, 3]
    return from_world_keypoints(world)


def reference_from_vr(
    path: str | Path, object_pose: np.ndarray | None = None, task: str = ""
) -> HumanReference:
    """A VR recording (sources/vr.py: wrists in the robot world frame, hand joints in the wrist frame)."""
    vr = load_vr(path)
    M = FRAME_TO_ROBOT[vr.frame]
    hands = {}
    for side in ("left", "right"):
        kp = getattr(vr, f"{side}_hand")
        if kp is not None:
            # The joints are in the wrist frame in the headset's axes; the wrist rotation was conjugated into
            # the robot's (M R M^T), so the joints take M too (for Unity a reflection: left-handed axes).
            hands[side] = _track(getattr(vr, f"{side}_wrist"), kp @ M.T)
    if not hands:
        raise RetargetInputError(path, "right_hand", "missing; a reference needs left_hand and/or right_hand")
    return HumanReference(vr.fps, _object(object_pose, vr.num_frames, path), hands, task, str(path))


def reference_from_keypoints(path: str | Path, side: str = "right", wrist_pose: np.ndarray | None = None,
                             object_pose: np.ndarray | None = None, fps: float = 30.0,
                             task: str = "") -> HumanReference:  # fmt: skip
    """A 21-point keypoint file (wrist frame, e.g. the shared dex-retargeting recording): the wrist is held
    at `wrist_pose` ([7] or [T, 7]; the world origin if None), since the file has no wrist motion."""
    hand = load_hand_keypoints(path, fps=fps, side=side)
    T = hand.num_frames
    wrist = _object(wrist_pose, T, path)
    mats = np.tile(np.eye(4), (T, 1, 1))
    mats[:, :3, :3], mats[:, :3, 3] = quat_to_mat(wrist[:, 3:]), wrist[:, :3]
    return HumanReference(hand.fps, _object(object_pose, T, path), {side: _track(mats, hand.keypoints)},
                          task, str(path))  # fmt: skip


def reference_from_markers(path: str | Path, hand_map: str | Path, object_markers: list[str] | None = None,
                           object_pose: np.ndarray | None = None, task: str = "") -> HumanReference:  # fmt: skip
    """A marker-glove capture through its hand map (sources/markers.py): the hand's points in the world
    (the capture's frame), its wrist frame read off wrist / index / little-finger knuckle markers; the
    object at the mean of `object_markers` (position only; orientation identity) when given."""
    from .sources.markers import load_marker_hand

    hand = load_marker_hand(path, hand_map)
    m = read_hand_map(Path(hand_map))
    names, raw, fps = read_markers(Path(path), m.get("fps"))
    from .sources.keypoints import UNITS

    raw = raw * UNITS[m.get("units", "m")]

    def mean_of(markers: list[str]) -> np.ndarray:
        return np.nanmean(raw[:, [names.index(x) for x in markers]], axis=1)

    world = np.full((len(raw), 21, 3), np.nan)
    for p in ("wrist", "index_mcp", "pinky_mcp"):
        world[:, HAND_POINTS.index(p)] = mean_of(m["points"][p])
    from .sources.hands import hand_frame

    R = hand_frame(world)
    wrist = pose7(R, world[:, 0])
    if object_markers:
        absent = [x for x in object_markers if x not in names]
        if absent:
            raise RetargetInputError(path, "object_markers", f"{absent[0]!r} not in the file; it has {names}")
        object_pose = np.concatenate([mean_of(object_markers), np.tile([1.0, 0, 0, 0], (len(raw), 1))], 1)
    # Keypoints of the hand sequence are in to_hand_frame's frame, which mirrors a left hand: undo it.
    local = hand.keypoints.copy()
    if hand.side == "left":
        local[..., 2] *= -1
    ref = HumanReference(fps, _object(object_pose, len(raw), path), {hand.side: HandTrackRef(wrist, local)},
                         task, str(path))  # fmt: skip
    return ref


def palm_plane_rotation(points: np.ndarray, side: str = "right") -> np.ndarray:
    """Palm orientation [T, 3, 3] from a least-squares plane through the palm points (wrist and the four
    knuckles, [T, 21, 3]): z is the plane normal (SVD), x the wrist -> mid-knuckle direction in the plane,
    y = z cross x. The normal's sign follows the hand frame (z along x cross (index - little-finger knuckle),
    mirrored for a left hand so both are right-handed)."""
    palm = points[:, PALM]
    centred = palm - palm.mean(axis=1, keepdims=True)
    normal = np.linalg.svd(centred)[2][:, 2]
    idx, pinky = HAND_POINTS.index("index_mcp"), HAND_POINTS.index("pinky_mcp")
    fwd = (points[:, idx] + points[:, pinky]) / 2 - points[:, 0]
    ref = np.cross(fwd, points[:, idx] - points[:, pinky])
    normal *= np.sign(np.sum(normal * ref, axis=-1, keepdims=True))
    x = fwd - np.sum(fwd * normal, axis=-1, keepdims=True) * normal
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    return np.stack([x, np.cross(normal, x), normal], axis=-1)


def reference_from_video(pixels: np.ndarray, shape: np.ndarray, camera_matrix: np.ndarray, fps: float,
                         camera_pose: np.ndarray | None = None, side: str = "right",
                         dist_coeffs: np.ndarray | None = None, hand_size_m: float = HAND_SIZE_M,
                         object_pose: np.ndarray | None = None, source: str = "video",
                         task: str = "") -> HumanReference:  # fmt: skip
    """Monocular video of one hand: its pixels [T, 21, 2] and metric shape [T, 21, 3] (MediaPipe's image and
    world landmarks, `mediapipe_keypoints.py --kind hands`). The wrist translation comes from PnP of the
    pixels against the metric shape (hand_pose.monocular_hand, depth from the assumed hand size), the palm
    orientation from a plane fit of the placed palm points; `camera_pose` [4, 4] takes the camera frame
    (OpenCV axes) to the world. Frames where PnP fails hold the nearest good one."""
    dist = np.zeros(5) if dist_coeffs is None else dist_coeffs
    cam = monocular_hand(pixels, shape, camera_matrix, dist, hand_size_m)
    ok = np.isfinite(cam).all(axis=(1, 2))
    if ok.mean() < 0.5:
        raise RetargetInputError(source, "pixels", f"PnP placed the hand in {int(ok.sum())} of {len(ok)} "
                                 "frames; expected at least half")  # fmt: skip
    idx = np.maximum.accumulate(np.where(ok, np.arange(len(ok)), -1))
    idx[idx < 0] = int(np.argmax(ok))
    cam = cam[idx]
    pose = np.eye(4) if camera_pose is None else np.asarray(camera_pose, float)
    world = cam @ pose[:3, :3].T + pose[:3, 3]
    R = palm_plane_rotation(world, side)
    local = np.einsum("tji,tkj->tki", R, world - world[:, :1])
    # The plane fit's axes are the schema's wrist axes; its normal, a least-squares fit over five points,
    # is steadier under pixel noise than the cross product of two knuckle vectors.
    track = HandTrackRef(pose7(R, world[:, 0]), local)
    return HumanReference(fps, _object(object_pose, len(world), source), {side: track}, task, source)


def reference_from_video_file(path: str | Path, camera_matrix: np.ndarray, side: str = "right",
                              camera_pose: np.ndarray | None = None, dist_coeffs: np.ndarray | None = None,
                              hand_size_m: float = HAND_SIZE_M, object_pose: np.ndarray | None = None,
                              mediapipe_python: str | Path | None = None, task: str = "") -> HumanReference:  # fmt: skip
    """A video (MediaPipe's hand landmarker runs in its own environment) or the keypoint .npz that
    `mediapipe_keypoints.py --kind hands` wrote: one hand's pixels and metric shape -> `reference_from_video`."""
    from .stereo_hands import SIDES, load_view

    if side not in SIDES:
        raise RetargetInputError(path, "side", f"expected one of {list(SIDES)}, got {side!r}")
    view = load_view(Path(path), mediapipe_python)
    k = SIDES.index(side)
    return reference_from_video(view.pixels[:, k], view.shape[:, k], camera_matrix, view.fps, camera_pose, side,
                                dist_coeffs, hand_size_m, object_pose, str(path), task)  # fmt: skip
