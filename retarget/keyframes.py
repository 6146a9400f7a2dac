"""Keyframes of a hand demonstration and the keyposes they give, in each arm's base frame.

Keyframes are chosen automatically (every grip change of either hand, and the slowest frame of every pause:
a run of frames where both hands move slower than `pause_speed`) or given by frame number (`--keyframes
12,40,...`: what YOTO's authors picked by hand). The first and the last frame are always keyframes. Each
keyframe gives one keypose per seen hand: the hand's pose mapped through the hand-eye calibration into its
arm's base frame, and the gripper (1 open, 0 closed). Where a hand's grip changes at a keyframe, a keypose
`grip_s` earlier holds the same pose with the old grip, so the robot arrives first and then closes or
opens (the demo generator interpolates the gripper between keyposes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import FlagError, RetargetInputError
from .hand_pose import HandTrack, debounce
from .rotations import mat_to_quat
from .smoothing import zero_phase_lowpass
from .sources.gaps import runs


@dataclass
class KeyframeCfg:
    pause_speed: float = 0.10
    """m/s: both hands slower than this are pausing (a reach moves at 0.3-1 m/s, a settled hand < 0.05)."""
    min_gap_s: float = 0.3
    """Keyframes closer than this merge (a grip change wins over a pause: it carries the gripper event)."""
    speed_cutoff_hz: float = 2.0
    """Low-pass of positions before differentiating: keeps the detector's jitter out of the speed."""


def grip_change_frames(closed: np.ndarray) -> list[int]:
    """Frames t where the grip state differs from frame t-1."""
    return [int(t) for t in np.flatnonzero(np.diff(closed.astype(np.int8))) + 1]


def hand_speed(track: HandTrack, cutoff_hz: float) -> np.ndarray:
    """Speed [T] (m/s) of the palm, low-passed without lag. The palm, not the pinch point: closing the
    fingers moves the pinch point ~4 cm while the hand rests (0.16 m/s in the scripted test)."""
    pos = zero_phase_lowpass(track.palm, track.fps, cutoff_hz)
    return np.linalg.norm(np.gradient(pos, axis=0), axis=1) * track.fps


def pauses(speed: np.ndarray, pause_speed: float, min_frames: int = 1) -> list[tuple[int, int]]:
    """[start, stop) runs of frames slower than `pause_speed`, a dip above it shorter than `min_frames`
    bridged (detector noise splits one pause into two). Runs touching the clip's ends are left out: the
    first and last frames are keyframes anyway."""
    slow = debounce(speed < pause_speed, min_frames)
    return [(a, b) for a, b in runs(slow) if a > 0 and b < len(speed)]


def detect_keyframes(tracks: dict[str, HandTrack], cfg: KeyframeCfg | None = None) -> list[int]:
    """Sorted keyframes: first and last frame, grip changes and pauses, merged within cfg.min_gap_s."""
    cfg = cfg or KeyframeCfg()
    first = next(iter(tracks.values()))
    T, fps = len(first.position), first.fps
    speed = np.max([hand_speed(t, cfg.speed_cutoff_hz) for t in tracks.values()], axis=0)
    # priority: 2 ends, 1 grip changes, 0 pauses
    cands = {0: 2, T - 1: 2}
    for t in tracks.values():
        for f in grip_change_frames(t.closed):
            cands[f] = max(cands.get(f, 0), 1)
    for a, b in pauses(speed, cfg.pause_speed, max(1, round(cfg.min_gap_s * fps))):
        # One keyframe per pause: its slowest frame, or none when a grip changes during it (that frame is
        # the pause's keyframe already).
        if not any(a <= f < b for f, p in cands.items() if p == 1):
            cands.setdefault(int(a + np.argmin(speed[a:b])), 0)
    gap = cfg.min_gap_s * fps
    kept: list[int] = []
    for f in sorted(cands):
        if kept and f - kept[-1] < gap:
            if cands[kept[-1]] == 0 and cands[f] > 0:  # a grip change or the end replaces a pause
                kept[-1] = f
                continue
            if cands[f] == 0:  # a pause beside a kept keyframe adds nothing
                continue
        kept.append(f)  # grip changes and ends are never dropped
    return kept


def parse_keyframes(text: str, num_frames: int) -> list[int]:
    """`--keyframes 12,40,...`: increasing frame numbers inside the clip."""
    try:
        frames = [int(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise FlagError(
            "--keyframes", text, "expected comma-separated frame numbers, e.g. 12,40,77"
        ) from None
    if not frames:
        raise FlagError("--keyframes", text, "expected at least one frame number")
    if any(b <= a for a, b in zip(frames, frames[1:], strict=False)):
        raise FlagError("--keyframes", text, "expected increasing frame numbers")
    if frames[0] < 0 or frames[-1] >= num_frames:
        raise FlagError(
            "--keyframes", text, f"expected frame numbers from 0 to {num_frames - 1} (the clip's frames)"
        )
    return frames


@dataclass
class HandKeypose:
    """A keypose of one arm in that arm's base frame (the robot side turns it into its own keypose type)."""

    time: float
    arm: str
    pos: np.ndarray  # (3,) metres, arm base frame
    quat: np.ndarray  # (4,) w x y z
    gripper: float  # 1 open, 0 closed
    frame: int  # the video frame it came from


def keyposes_in_base(tracks: dict[str, HandTrack], keyframes: list[int], hand_eye: dict[str, np.ndarray],
                     calib_path: str = "calibration", start_s: float = 1.0,
                     grip_s: float = 0.3) -> list[HandKeypose]:  # fmt: skip
    """Keyposes of every seen hand at the keyframes, hand i driving arm i. Keypose times are the frames'
    times shifted so the first keyframe is reached `start_s` after the episode starts (from home)."""
    out: list[HandKeypose] = []
    for side, track in tracks.items():
        if side not in hand_eye:
            raise RetargetInputError(calib_path, f"hand_eye.{side}", f"missing; the {side} hand was seen, "
                                     f"so its arm's base-from-camera 4x4 is needed")  # fmt: skip
        h = hand_eye[side]
        pos = track.position @ h[:3, :3].T + h[:3, 3]
        quat = mat_to_quat(h[:3, :3] @ track.rotation)
        grip = np.where(track.closed, 0.0, 1.0)
        prev_t = None
        for i, f in enumerate(keyframes):
            t = start_s + (f - keyframes[0]) / track.fps
            if i > 0 and grip[f] != grip[keyframes[i - 1]] and prev_t is not None:
                before = max(t - grip_s, (prev_t + t) / 2)
                out.append(HandKeypose(before, side, pos[f], quat[f], float(grip[keyframes[i - 1]]), f))
            out.append(HandKeypose(t, side, pos[f], quat[f], float(grip[f]), f))
            prev_t = t
    return sorted(out, key=lambda k: (k.time, k.arm))
