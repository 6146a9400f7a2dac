"""Keypose extraction accuracy (YOTO's front end) on rendered stereo views whose truth is known.

    python benchmarks/yoto_keyposes.py                 # 640x480, 4 s at 30 fps, noise 0 and 2 px
    python benchmarks/yoto_keyposes.py --noise 0 1 2 4 --seconds 4

Two MuJoCo cameras (12 cm baseline by default, as a ZED 2's; 60 degree field of view, 0.6 m from the hands, looking down at the table
from the front) watch two hands of 21 marker spheres (4 mm radius) each: the shapes are frames of a person's
real hand (shared/data/hands/human_joint_right.npy: one open, one pinched; the left hand is its mirror image)
moving along a scripted path with pauses and two grip events per hand. Each marker is found in each rendered
view as the centroid of its pixels in MuJoCo's segmentation image (occluded markers are missing), optionally
with Gaussian pixel noise of MediaPipe's order (2-5 px at this size). MediaPipe itself is not run: its hand
landmarker does not detect a hand made of spheres, so the 2-D points stand in for its output. The cameras'
intrinsics and poses come from the model (no chessboard here; tests check calibration on the real pairs).

Then the project's chain runs as `robolearn demos --from-video` runs it: triangulation
(retarget.stereo), filtering, hand poses and grips (retarget.hand_pose), keyframe detection and the
hand-eye mapping into each ALOHA arm's base and the world (retarget.keyframes, policies.video_keyposes).
Reported: 3-D keypoint error (raw triangulation and filtered), the keyposes' position and orientation
error against the true pinch point and hand frame at their frames, and keyframe timing error against the
true grip-change frames (the true pinch distance crossing the same hysteresis thresholds) and the true
pause centres. Monocular (left view only, depth from the default hand size) is reported beside it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from robolearn.gl import ensure_gl
from robolearn.policies.video_keyposes import to_world
from robolearn.retarget.hand_pose import HAND_SIZE_M, grip_closed, hand_frame, hand_length
from robolearn.retarget.keyframes import detect_keyframes, grip_change_frames, keyposes_in_base
from robolearn.retarget.stereo import CameraIntrinsics, StereoCalibration, triangulate
from robolearn.retarget.stereo_hands import ViewKeypoints, monocular_hands, stereo_hands

HANDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "hands" / "human_joint_right.npy"
FPS = 30.0
SIDES = ("left", "right")
MIRROR = np.diag([-1.0, 1.0, 1.0])
# Pauses (start, end) in seconds; the hands move between them. Grip events start at these times (0.2 s each).
PAUSES = [(0.6, 1.2), (1.8, 2.4), (3.0, 3.5)]
GRIP_EVENTS = {"left": [(0.7, "close"), (1.95, "open")], "right": [(1.9, "close"), (3.1, "open")]}
WAYPOINTS = np.array([[0.0, 0.05, 0.12], [0.05, 0.10, 0.02], [-0.03, 0.14, 0.05], [0.04, 0.08, 0.03],
                      [0.0, 0.04, 0.12]])  # world offsets (m) of each hand's path: start, 3 pauses, end  # fmt: skip


def templates() -> tuple[np.ndarray, np.ndarray]:
    """An open and a pinched frame of the real right hand (wrist frame, metres)."""
    h = np.load(HANDS)
    d = np.linalg.norm(h[:, 4] - h[:, 8], axis=1)
    return h[int(np.argmin(np.abs(d - 0.09)))], h[int(np.argmin(d))]


def scripted(seconds: float) -> dict[str, np.ndarray]:
    """World keypoints [T, 21, 3] of both hands: palm down over the table, fingers pointing away (+y)."""
    T = int(seconds * FPS)
    t = np.arange(T) / FPS
    knots_t = [0.0] + [x for p in PAUSES for x in p] + [seconds - 0.2]
    knots_p = np.concatenate([WAYPOINTS[:1], np.repeat(WAYPOINTS[1:4], 2, axis=0), WAYPOINTS[4:]])
    # smoothstep between knots: the hand starts and stops like a person's (zero speed at each pause)
    seg = np.clip(np.searchsorted(knots_t, t, side="right") - 1, 0, len(knots_t) - 2)
    s = np.clip((t - np.take(knots_t, seg)) / (np.take(knots_t, seg + 1) - np.take(knots_t, seg)), 0, 1)
    s = s * s * (3 - 2 * s)
    path = knots_p[seg] + s[:, None] * (knots_p[seg + 1] - knots_p[seg])
    open_, pinched = templates()
    # hand frame (x along the hand, z out of the palm) -> world: fingers along +y, palm facing down
    rot = np.array([[0, 1, 0], [1, 0, 0], [0, 0, -1]]).T
    rot = Rotation.from_euler("x", -20, degrees=True).as_matrix() @ rot
    out = {}
    for side in SIDES:
        a = np.zeros(T)
        for when, kind in GRIP_EVENTS[side]:
            ramp = np.clip((t - when) / 0.2, 0, 1)
            a = a + ramp if kind == "close" else a - ramp
        shape = (1 - a)[:, None, None] * open_ + a[:, None, None] * pinched
        own = hand_frame(shape[0, 0], shape[0, 5], shape[0, 13], "right")  # the template's own hand frame
        pts = shape @ (rot @ own.T).T + path[:, None] + (0.12, 0.0, 0.15)
        out[side] = pts @ MIRROR if side == "left" else pts  # the left hand: the right one's mirror image
    return out


def scene(size: tuple[int, int], baseline: float) -> mujoco.MjModel:
    spec = mujoco.MjSpec()
    spec.worldbody.add_geom(type=mujoco.mjtGeom.mjGEOM_PLANE, size=[1, 1, 0.05], rgba=[0.8, 0.8, 0.8, 1])
    spec.worldbody.add_light(pos=[0, 0, 2], dir=[0, 0, -1], castshadow=False)
    for side in SIDES:
        for j in range(21):
            body = spec.worldbody.add_body(name=f"{side}{j}", mocap=True)
            body.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.004, 0, 0], rgba=[0.9, 0.6, 0.4, 1],
                          contype=0, conaffinity=0)  # fmt: skip
    for name, x in (("left", -baseline / 2), ("right", baseline / 2)):
        # 0.6 m in front of and above the hands, looking down 45 degrees at them
        eye = np.array([x, -0.35, 0.50])
        fwd = np.array([0.0, 0.45, -0.43]) / np.linalg.norm([0.0, 0.45, -0.43])
        right = np.array([1.0, 0.0, 0.0])
        up = np.cross(right, fwd)
        spec.worldbody.add_camera(name=name, pos=eye, xyaxes=[*right, *up], fovy=60.0)
    spec.visual.global_.offwidth, spec.visual.global_.offheight = size
    return spec.compile()


def cameras(model: mujoco.MjModel, data: mujoco.MjData, size: tuple[int, int]) -> dict[str, tuple]:
    """(K, R_cam_from_world, t) per camera, OpenCV convention (pixel centres at integers)."""
    w, h = size
    out = {}
    for name in SIDES:
        cam = model.camera(name)
        f = (h / 2) / np.tan(np.radians(model.cam_fovy[cam.id]) / 2)
        K = np.array([[f, 0, (w - 1) / 2], [0, f, (h - 1) / 2], [0, 0, 1]])
        # MuJoCo cameras look along -z with y up; OpenCV's along +z with y down.
        R = np.diag([1.0, -1.0, -1.0]) @ data.cam_xmat[cam.id].reshape(3, 3).T
        out[name] = (K, R, -R @ data.cam_xpos[cam.id])
    return out


def render_points(model, hands: dict[str, np.ndarray], size: tuple[int, int]) -> dict[str, np.ndarray]:
    """Per view, marker pixels [T, 2, 21, 2] (segmentation centroids; NaN where a marker is hidden)."""
    ensure_gl()
    data = mujoco.MjData(model)
    renderer = mujoco.Renderer(model, size[1], size[0])
    renderer.enable_segmentation_rendering()
    T = len(hands["left"])
    geom = {(s, j): model.body(f"{s}{j}").geomadr[0] for s in SIDES for j in range(21)}
    out = {v: np.full((T, 2, 21, 2), np.nan) for v in SIDES}
    try:
        for t in range(T):
            for k, s in enumerate(SIDES):
                data.mocap_pos[k * 21 : (k + 1) * 21] = hands[s][t]
            mujoco.mj_forward(model, data)
            for view in SIDES:
                renderer.update_scene(data, camera=view)
                seg = renderer.render()[..., 0]
                for (s, j), g in geom.items():
                    v, u = np.nonzero(seg == g)
                    if len(u) >= 3:
                        out[view][t, SIDES.index(s), j] = (u.mean(), v.mean())
    finally:
        renderer.close()
    return out


def hand_eye(cams: dict, data: mujoco.MjData) -> dict[str, np.ndarray]:
    """Each ALOHA arm's base from the left camera, from the model's poses."""
    from robolearn.policies.video_keyposes import arm_bases

    K, R, t = cams["left"]
    world_from_cam = np.eye(4)
    world_from_cam[:3, :3], world_from_cam[:3, 3] = R.T, -R.T @ t
    out = {}
    for side, (rot, pos) in arm_bases().items():
        base_from_world = np.eye(4)
        base_from_world[:3, :3] = rot.inv().as_matrix()
        base_from_world[:3, 3] = -rot.inv().apply(pos)
        out[side] = base_from_world @ world_from_cam
    return out


def run(seconds: float, noise_px: list[float], size: tuple[int, int], seed: int, baseline: float,
        seeds: int = 1) -> dict:  # fmt: skip
    hands = scripted(seconds)
    model = scene(size, baseline)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)  # camera poses (mj_kinematics alone leaves cam_xpos at zero)
    cams = cameras(model, data, size)
    start = time.time()
    px = render_points(model, hands, size)
    render_s = time.time() - start
    (K1, R1, t1), (K2, R2, t2) = cams["left"], cams["right"]
    zero = np.zeros(5)
    calib = StereoCalibration(size, CameraIntrinsics(K1, zero), CameraIntrinsics(K2, zero), R2 @ R1.T,
                              t2 - R2 @ R1.T @ t1, hand_eye=hand_eye(cams, data))  # fmt: skip
    truth_cam = {s: hands[s] @ R1.T + t1 for s in SIDES}
    truth = truth_events(hands)
    rows = []
    for sigma in noise_px:
        for s in range(seed, seed + seeds):  # one rendering, fresh pixel noise per seed
            rng = np.random.default_rng([s, int(sigma * 1000)])
            noisy = {v: p + rng.normal(0, sigma, p.shape) for v, p in px.items()}
            for method in ("stereo", "monocular"):
                rows.append({"method": method, "noise_px": sigma, "seed": s,
                             **evaluate(calib, noisy, truth_cam, hands, truth, stereo=method == "stereo")})  # fmt: skip
    hidden = float(np.mean([np.isnan(p[..., 0]).mean() for p in px.values()]))
    return {"frames": len(hands["left"]), "fps": FPS, "baseline_m": baseline, "image": list(size), "render_s": round(render_s, 1),
            "markers_hidden": round(hidden, 4), "true_hand_length_m": round(float(hand_length(templates()[0])), 4),
            "truth": {"grip_changes": truth["grips"], "pauses": truth["pauses"]}, "rows": rows}  # fmt: skip


def truth_events(hands: dict[str, np.ndarray]) -> dict:
    grips = {
        s: grip_change_frames(grip_closed(np.linalg.norm(h[:, 4] - h[:, 8], axis=1)))
        for s, h in hands.items()
    }
    pauses = [int(round((a + b) / 2 * FPS)) for a, b in PAUSES]
    return {"grips": grips, "pauses": pauses}


def evaluate(calib, px, truth_cam, hands, truth, stereo: bool) -> dict:
    fps = FPS
    if stereo:
        raw, _ = triangulate(calib, px["left"], px["right"])
        raw_err = np.concatenate([np.linalg.norm(raw[:, k] - truth_cam[s], axis=-1).ravel()
                                  for k, s in enumerate(SIDES)])  # fmt: skip
        left = ViewKeypoints(
            Path("left"), px["left"], np.full(px["left"].shape[:3] + (3,), np.nan), fps, calib.image_size
        )
        right = ViewKeypoints(Path("right"), px["right"], left.shape, fps, calib.image_size)
        result = stereo_hands(left, right, calib)
    else:
        # MediaPipe's world landmarks give the hand's metric shape: here the true shape, centred.
        shape = np.stack([truth_cam[s] - truth_cam[s][:, :1] for s in SIDES], axis=1)
        result = monocular_hands(ViewKeypoints(Path("left"), px["left"], shape, fps, calib.image_size), calib,
                                 HAND_SIZE_M)  # fmt: skip
        raw_err = np.array([np.nan])
    filt_err = np.concatenate([np.linalg.norm(result.tracks[s].keypoints - truth_cam[s], axis=-1).ravel()
                               for s in result.tracks])  # fmt: skip
    keyframes = detect_keyframes(result.tracks)
    poses = to_world(keyposes_in_base(result.tracks, keyframes, calib.hand_eye))
    pos_err, rot_err = [], []
    for k in poses:
        f = int(round((k.time - 1.0) * fps)) + keyframes[0]
        f = min(keyframes, key=lambda x: abs(x - f))
        h = hands[k.arm][f]
        pos_err.append(np.linalg.norm(np.array(k.pos) - (h[4] + h[8]) / 2))
        true_rot = hand_frame(h[0], h[5], h[13], k.arm)
        rot_err.append(
            np.degrees(
                (
                    Rotation.from_quat(k.quat, scalar_first=True).inv() * Rotation.from_matrix(true_rot)
                ).magnitude()
            )
        )
    grip_dt = [min(abs(d - g) for d in grip_change_frames(result.tracks[s].closed)) if grip_change_frames(result.tracks[s].closed) else np.inf
               for s in SIDES for g in truth["grips"][s]]  # fmt: skip
    pause_dt = [min(abs(k - p) for k in keyframes) for p in truth["pauses"]]
    events = [0, len(hands["left"]) - 1, *truth["pauses"], *(g for s in SIDES for g in truth["grips"][s])]
    spurious = [k for k in keyframes if min(abs(k - e) for e in events) > 3]
    return {
        "raw_3d_error_mm": _stats(raw_err * 1000),
        "filtered_3d_error_mm": _stats(filt_err * 1000),
        "keypose_position_error_mm": _stats(np.array(pos_err) * 1000),
        "keypose_rotation_error_deg": _stats(np.array(rot_err)),
        "keyframes": keyframes,
        "grip_change_timing_error_ms": _stats(np.array(grip_dt) / fps * 1000),
        "pause_keyframe_timing_error_ms": _stats(np.array(pause_dt) / fps * 1000),
        "grip_changes_found": int(sum(d <= 3 for d in grip_dt)), "grip_changes_true": len(grip_dt),
        "spurious_keyframes": len(spurious),
    }  # fmt: skip


def _stats(x: np.ndarray) -> dict:
    x = x[np.isfinite(x)]
    if not len(x):
        return {"median": None, "mean": None, "p95": None, "max": None}
    return {k: round(float(v), 2) for k, v in
            (("median", np.median(x)), ("mean", x.mean()), ("p95", np.percentile(x, 95)), ("max", x.max()))}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--noise", type=float, nargs="+", default=[0.0, 2.0])
    ap.add_argument("--size", type=int, nargs=2, default=[640, 480])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=5, help="pixel-noise draws per noise level")
    ap.add_argument("--baseline", type=float, default=0.12, help="camera baseline (m); a ZED 2's is 0.12")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "yoto_keyposes.json")
    args = ap.parse_args()
    result = run(args.seconds, args.noise, tuple(args.size), args.seed, args.baseline, args.seeds)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"{result['frames']} frames, {result['image'][0]}x{result['image'][1]}, baseline {args.baseline} m, rendered in {result['render_s']} s, "
          f"{result['markers_hidden']:.1%} of marker views hidden")  # fmt: skip
    print(f"{'method':10} {'noise px':>8} {'raw 3-D mm':>11} {'filtered mm':>12} {'keypose mm':>11} {'keypose deg':>12} "
          f"{'grip dt ms':>11} {'pause dt ms':>12} {'grips found':>12} {'spurious':>9}")  # fmt: skip
    for key in dict.fromkeys((r["method"], r["noise_px"]) for r in result["rows"]):
        rs = [r for r in result["rows"] if (r["method"], r["noise_px"]) == key]
        print(f"{key[0]:10} {key[1]:8.1f} {_m(rs, 'raw_3d_error_mm'):>11} {_m(rs, 'filtered_3d_error_mm'):>12} "
              f"{_m(rs, 'keypose_position_error_mm'):>11} {_m(rs, 'keypose_rotation_error_deg'):>12} "
              f"{_m(rs, 'grip_change_timing_error_ms', 'mean'):>11} {_m(rs, 'pause_keyframe_timing_error_ms', 'mean'):>12} "
              f"{sum(r['grip_changes_found'] for r in rs):>6}/{sum(r['grip_changes_true'] for r in rs):<5} "
              f"{sum(r['spurious_keyframes'] for r in rs):>9}")  # fmt: skip
    print(
        f"(errors: medians, timing: means, each averaged over {args.seeds} noise draws; grips and spurious "
        f"keyframes summed over them; full statistics in {args.out})"
    )


def _m(rows: list[dict], key: str, stat: str = "median") -> str:
    values = [r[key][stat] for r in rows if r[key][stat] is not None]
    return f"{np.mean(values):.1f}" if values else "-"


if __name__ == "__main__":
    main()
