"""Stereo (or single) camera calibration with OpenCV: chessboard calibration, the calibration YAML file,
rectification and triangulation of matched 2-D points into 3-D, in the left camera's frame.

Conventions are OpenCV's: pixels (u right, v down), camera frame x right, y down, z forward, metres.
`R`, `T` map the left camera's frame into the right one's (x_right = R x_left + T), as cv2.stereoCalibrate
returns them. The calibration file (YAML):

    image_size: [640, 480]                   # width, height in pixels
    left:  {camera_matrix: 3x3, dist_coeffs: [k1, k2, p1, p2, k3]}
    right: {camera_matrix: 3x3, dist_coeffs: [...]}   # absent for one (monocular) camera
    R: 3x3                                   # with right: right camera from left camera
    T: [x, y, z]                             # metres
    hand_eye:                                # optional; needed to turn hands into robot keyposes
      left: 4x4                              # the left arm's base frame from the left camera
      right: 4x4                             #   (p_base = H @ [p_camera, 1])
    reprojection_error_px: 0.4               # optional, what calibration measured
    scene:                                   # optional; where things stood during the demonstration
      object: [x, y, z, yaw]                 #   the object's centre in the robot's world (m), yaw (deg)
      target: [x, y, z, yaw]                 #   the target's (place tasks)
"""

from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml

from robolearn.atomic import write_text

from .errors import RetargetInputError, as_float_array

ARMS = ("left", "right")
SCENE_KEYS = ("object", "target")
# cv2.undistortPoints stops after 5 iterations by default (~1e-4 px residual with k1 = -0.27); 50 iterations
# to 1e-12 make undistortion exact to float precision, so triangulation error is the geometry's alone.
_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-12)


@dataclass
class CameraIntrinsics:
    camera_matrix: np.ndarray  # 3x3
    dist_coeffs: np.ndarray  # (n,), n in 4, 5, 8, 12, 14

    def undistort(self, pixels: np.ndarray, rect: np.ndarray | None = None,
                  proj: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
        """Pixels [..., 2] -> normalised image coordinates [..., 2] (or, with rect/proj, rectified pixels)."""
        flat = np.ascontiguousarray(pixels.reshape(-1, 1, 2), dtype=np.float64)
        if hasattr(cv2, "undistortPointsIter"):  # OpenCV 4.x; 5.x took the criteria into undistortPoints
            out = cv2.undistortPointsIter(flat, self.camera_matrix, self.dist_coeffs, rect, proj,
                                          _UNDISTORT_CRITERIA)  # fmt: skip
        else:
            out = cv2.undistortPoints(flat, self.camera_matrix, self.dist_coeffs, R=rect, P=proj,
                                      criteria=_UNDISTORT_CRITERIA)  # fmt: skip
        return out.reshape(pixels.shape)


@dataclass
class StereoCalibration:
    image_size: tuple[int, int]  # width, height
    left: CameraIntrinsics
    right: CameraIntrinsics | None = None
    R: np.ndarray = field(default_factory=lambda: np.eye(3))
    T: np.ndarray = field(default_factory=lambda: np.zeros(3))
    hand_eye: dict[str, np.ndarray] = field(default_factory=dict)
    reprojection_error_px: float | None = None
    scene: dict[str, np.ndarray] = field(default_factory=dict)
    """`object` / `target` -> [x, y, z (m, world), yaw (deg)] during the demonstration (SCENE_KEYS)."""

    @property
    def stereo(self) -> bool:
        return self.right is not None


@dataclass
class Rectification:
    R1: np.ndarray  # rotation of the left camera into the rectified left frame
    R2: np.ndarray
    P1: np.ndarray  # 3x4 projections of the rectified cameras
    P2: np.ndarray
    Q: np.ndarray  # 4x4 disparity-to-depth


# -- calibration from chessboard pairs ---------------------------------------------------------------------


def find_chessboard(image: np.ndarray, board: tuple[int, int]) -> np.ndarray | None:
    """Sub-pixel inner corners [N, 2] of a chessboard with `board` = (columns, rows) inner corners, or None."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    found, corners = cv2.findChessboardCorners(
        gray, board, flags=cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
    )
    if not found:
        return None
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_MAX_ITER, 30, 0.01)
    return cv2.cornerSubPix(gray, corners, (11, 11), (-1, -1), criteria).reshape(-1, 2)


@dataclass
class CalibrationReport:
    calibration: StereoCalibration
    used_pairs: list[tuple[str, str]]
    skipped: list[str]  # images where the board was not found


def calibrate_stereo(left_images: list[str | Path], right_images: list[str | Path],
                     board: tuple[int, int] = (9, 6), square_m: float = 0.025) -> CalibrationReport:  # fmt: skip
    """Calibrate both cameras and their relative pose from chessboard pairs (the same instants, in order).

    Each camera's intrinsics come from its own views first (cv2.calibrateCamera), then cv2.stereoCalibrate
    refines R, T with them fixed: fixing them needs fewer pairs than a joint fit of all 20+ parameters.
    The reported error is stereoCalibrate's RMS reprojection error over both views, in pixels.
    """
    if len(left_images) != len(right_images):
        raise RetargetInputError(right_images[0] if right_images else "right images", "images",
                                 f"{len(right_images)} right images for {len(left_images)} left ones; "
                                 "expected one right image per left image")  # fmt: skip
    objp = np.zeros((board[0] * board[1], 3), np.float32)
    objp[:, :2] = np.mgrid[0 : board[0], 0 : board[1]].T.reshape(-1, 2) * square_m
    obj, pts_l, pts_r, used, skipped = [], [], [], [], []
    size: tuple[int, int] | None = None
    for lp, rp in zip(left_images, right_images, strict=True):
        views = []
        for p in (lp, rp):
            img = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
            if img is None:
                raise RetargetInputError(p, "file", "not a readable image")
            here = (img.shape[1], img.shape[0])
            if size is not None and here != size:
                raise RetargetInputError(p, "image size", f"{here[0]}x{here[1]}; expected {size[0]}x{size[1]} "
                                         "like the first image")  # fmt: skip
            size = here
            views.append(find_chessboard(img, board))
        if views[0] is None or views[1] is None:
            skipped += [str(p) for p, v in zip((lp, rp), views, strict=True) if v is None]
            continue
        obj.append(objp)
        pts_l.append(views[0].astype(np.float32))
        pts_r.append(views[1].astype(np.float32))
        used.append((str(lp), str(rp)))
    if len(used) < 3 or size is None:
        raise RetargetInputError(left_images[0] if left_images else "images", "chessboard",
                                 f"found a {board[0]}x{board[1]} board in both views of {len(used)} pairs; "
                                 "expected at least 3")  # fmt: skip
    _, k1, d1, _, _ = cv2.calibrateCamera(obj, pts_l, size, None, None)
    _, k2, d2, _, _ = cv2.calibrateCamera(obj, pts_r, size, None, None)
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-6)
    rms, k1, d1, k2, d2, R, T, _, _ = cv2.stereoCalibrate(
        obj, pts_l, pts_r, k1, d1, k2, d2, size, criteria=criteria, flags=cv2.CALIB_FIX_INTRINSIC
    )
    calib = StereoCalibration(size, CameraIntrinsics(k1, d1.ravel()), CameraIntrinsics(k2, d2.ravel()),
                              R, T.ravel(), reprojection_error_px=float(rms))  # fmt: skip
    return CalibrationReport(calib, used, skipped)


def image_pairs(folder: str | Path, left: str = "left*.jpg", right: str = "right*.jpg") -> tuple[list, list]:
    """Sorted left and right image paths of a calibration folder (paired by sorted order)."""
    return sorted(glob.glob(os.path.join(folder, left))), sorted(glob.glob(os.path.join(folder, right)))


# -- rectification and triangulation -----------------------------------------------------------------------


def rectify(calib: StereoCalibration) -> Rectification:
    """cv2.stereoRectify: rotations and projections under which matching points share an image row."""
    if calib.right is None:
        raise ValueError("rectification needs a stereo calibration (a 'right' camera)")
    R1, R2, P1, P2, Q, _, _ = cv2.stereoRectify(
        calib.left.camera_matrix, calib.left.dist_coeffs, calib.right.camera_matrix, calib.right.dist_coeffs,
        calib.image_size, calib.R, np.reshape(calib.T, (3, 1)), alpha=0,
    )  # fmt: skip
    return Rectification(R1, R2, P1, P2, Q)


def triangulate(calib: StereoCalibration, left_px: np.ndarray, right_px: np.ndarray,
                rect: Rectification | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Matched pixels [..., 2] of both views -> (points [..., 3] in the left camera frame (m), epipolar
    error [...] in rectified pixels: the row difference of the match, ~0 for a true correspondence).

    Both views are undistorted and rectified, triangulated with cv2.triangulatePoints in the rectified
    left frame, and rotated back into the left camera's frame. NaN pixels give NaN points.
    """
    rect = rect or rectify(calib)
    assert calib.right is not None
    ok = np.isfinite(left_px).all(-1) & np.isfinite(right_px).all(-1)
    out = np.full(left_px.shape[:-1] + (3,), np.nan)
    epi = np.full(left_px.shape[:-1], np.nan)
    if not ok.any():
        return out, epi
    ul = calib.left.undistort(left_px[ok], rect.R1, rect.P1)
    ur = calib.right.undistort(right_px[ok], rect.R2, rect.P2)
    homog = cv2.triangulatePoints(rect.P1, rect.P2, ul.T.astype(np.float64), ur.T.astype(np.float64))
    rectified = (homog[:3] / homog[3]).T
    out[ok] = rectified @ rect.R1  # R1 maps left -> rectified left; its transpose maps back
    epi[ok] = np.abs(ul[:, 1] - ur[:, 1])
    return out, epi


def project(calib: StereoCalibration, points: np.ndarray, view: str = "left") -> np.ndarray:
    """Points [..., 3] in the left camera frame -> pixels [..., 2] of a view (with its distortion)."""
    cam = calib.left if view == "left" else calib.right
    assert cam is not None
    rvec = np.zeros(3) if view == "left" else cv2.Rodrigues(calib.R)[0]
    tvec = np.zeros(3) if view == "left" else calib.T
    px, _ = cv2.projectPoints(points.reshape(-1, 1, 3).astype(np.float64), rvec, tvec, cam.camera_matrix,
                              cam.dist_coeffs)  # fmt: skip
    return px.reshape(points.shape[:-1] + (2,))


# -- the calibration file -----------------------------------------------------------------------------------


def _matrix(value, path: Path, field: str, shape: tuple[int, ...]) -> np.ndarray:
    a = as_float_array(value, path, field)
    if a.shape != shape:
        raise RetargetInputError(path, field, f"shape {a.shape}; expected {shape}")
    if not np.isfinite(a).all():
        raise RetargetInputError(path, field, "non-finite values; expected finite numbers")
    return a


def _camera(value, path: Path, name: str) -> CameraIntrinsics:
    if not isinstance(value, dict):
        raise RetargetInputError(path, name, "expected a mapping with camera_matrix and dist_coeffs")
    for key in ("camera_matrix", "dist_coeffs"):
        if key not in value:
            raise RetargetInputError(path, f"{name}.{key}", "missing")
    k = _matrix(value["camera_matrix"], path, f"{name}.camera_matrix", (3, 3))
    if k[0, 0] <= 0 or k[1, 1] <= 0 or not np.allclose(k[2], [0, 0, 1]):
        raise RetargetInputError(path, f"{name}.camera_matrix",
                                 "expected [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0")  # fmt: skip
    d = as_float_array(value["dist_coeffs"], path, f"{name}.dist_coeffs").ravel()
    if d.size not in (4, 5, 8, 12, 14) or not np.isfinite(d).all():
        raise RetargetInputError(path, f"{name}.dist_coeffs",
                                 f"{d.size} values; expected 4, 5, 8, 12 or 14 finite numbers")  # fmt: skip
    return CameraIntrinsics(k, d)


def check_rigid(h: np.ndarray, path: Path, field: str) -> None:
    """A 4x4 rigid transform: orthonormal rotation with det +1, last row 0 0 0 1."""
    rot = h[:3, :3]
    if not np.allclose(h[3], [0, 0, 0, 1]) or not np.allclose(rot @ rot.T, np.eye(3), atol=1e-4) \
            or np.linalg.det(rot) < 0:  # fmt: skip
        raise RetargetInputError(path, field, "expected a rigid 4x4 transform (orthonormal rotation, "
                                 "det +1, last row [0, 0, 0, 1])")  # fmt: skip


def load_calibration(path: str | Path) -> StereoCalibration:
    """Read and check a calibration YAML; every error names the file and the field."""
    path = Path(path)
    if not path.is_file():
        raise RetargetInputError(path, "file", "not found")
    try:
        doc = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RetargetInputError(path, "file", f"not readable YAML ({exc})") from None
    if not isinstance(doc, dict):
        raise RetargetInputError(
            path, "file", "expected a mapping with image_size and left (see retarget/stereo.py)"
        )
    for key in ("image_size", "left"):
        if key not in doc:
            raise RetargetInputError(path, key, "missing")
    size = as_float_array(doc["image_size"], path, "image_size")
    if size.shape != (2,) or (size <= 0).any() or (size != np.round(size)).any():
        raise RetargetInputError(
            path, "image_size", f"{doc['image_size']!r}; expected [width, height] in pixels"
        )
    calib = StereoCalibration((int(size[0]), int(size[1])), _camera(doc["left"], path, "left"))
    if doc.get("right") is not None:
        calib.right = _camera(doc["right"], path, "right")
        for key in ("R", "T"):
            if key not in doc:
                raise RetargetInputError(path, key, "missing; a stereo calibration needs R and T")
        calib.R = _matrix(doc["R"], path, "R", (3, 3))
        h = np.eye(4)
        h[:3, :3] = calib.R
        check_rigid(h, path, "R")
        calib.T = _matrix(np.ravel(doc["T"]) if isinstance(doc["T"], list) else doc["T"], path, "T", (3,))
    hand_eye = doc.get("hand_eye") or {}
    if not isinstance(hand_eye, dict) or set(hand_eye) - set(ARMS):
        raise RetargetInputError(path, "hand_eye", f"expected a mapping of arm ({', '.join(ARMS)}) to a 4x4")
    for arm, value in hand_eye.items():
        h = _matrix(value, path, f"hand_eye.{arm}", (4, 4))
        check_rigid(h, path, f"hand_eye.{arm}")
        calib.hand_eye[arm] = h
    if doc.get("reprojection_error_px") is not None:
        calib.reprojection_error_px = float(doc["reprojection_error_px"])
    calib.scene = _scene(doc.get("scene"), path)
    return calib


def _scene(value, path: Path) -> dict[str, np.ndarray]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not value or set(value) - set(SCENE_KEYS):
        raise RetargetInputError(path, "scene", "expected a mapping of object (and target) to [x, y, z, yaw]")
    out = {}
    for key, pose in value.items():
        a = as_float_array(pose, path, f"scene.{key}")
        if a.shape != (4,) or not np.isfinite(a).all():
            raise RetargetInputError(path, f"scene.{key}", f"{pose!r}; expected [x, y, z, yaw]: 4 finite numbers "
                                     "(metres in the robot's world frame, yaw in degrees)")  # fmt: skip
        out[key] = a
    if "target" in out and "object" not in out:
        raise RetargetInputError(path, "scene.object", "missing; a target pose needs the object's pose too")
    return out


def save_calibration(path: str | Path, calib: StereoCalibration) -> Path:
    """Write the YAML atomically (a temp file beside it, then rename)."""
    path = Path(path)
    doc: dict = {"image_size": list(calib.image_size), "left": _camera_doc(calib.left)}
    if calib.right is not None:
        doc.update(right=_camera_doc(calib.right), R=calib.R.tolist(), T=np.ravel(calib.T).tolist())
    if calib.hand_eye:
        doc["hand_eye"] = {arm: h.tolist() for arm, h in calib.hand_eye.items()}
    if calib.reprojection_error_px is not None:
        doc["reprojection_error_px"] = float(calib.reprojection_error_px)
    if calib.scene:
        doc["scene"] = {key: np.ravel(pose).tolist() for key, pose in calib.scene.items()}
    return write_text(path, yaml.safe_dump(doc, default_flow_style=None, sort_keys=False))


def _camera_doc(cam: CameraIntrinsics) -> dict:
    return {"camera_matrix": cam.camera_matrix.tolist(), "dist_coeffs": np.ravel(cam.dist_coeffs).tolist()}


def main(argv: list[str] | None = None) -> int:
    """`python -m robolearn.retarget.stereo FOLDER OUT.yaml`: calibrate from chessboard pairs in FOLDER."""
    import argparse

    ap = argparse.ArgumentParser(
        description="Stereo calibration from chessboard pairs (left*.jpg, right*.jpg)."
    )
    ap.add_argument("folder")
    ap.add_argument("out")
    ap.add_argument("--board", type=int, nargs=2, default=(9, 6), help="inner corners: columns rows")
    ap.add_argument("--square", type=float, default=0.025, help="square size (m)")
    ap.add_argument("--left", default="left*.jpg")
    ap.add_argument("--right", default="right*.jpg")
    args = ap.parse_args(argv)
    try:
        left, right = image_pairs(args.folder, args.left, args.right)
        if not left:
            raise RetargetInputError(args.folder, args.left, "no such images; expected chessboard views")
        report = calibrate_stereo(left, right, tuple(args.board), args.square)
    except RetargetInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    save_calibration(args.out, report.calibration)
    c = report.calibration
    print(
        f"{len(report.used_pairs)} pairs, RMS reprojection error {c.reprojection_error_px:.3f} px, "
        f"baseline {np.linalg.norm(c.T) * 1000:.1f} mm; wrote {args.out} (add hand_eye for keyposes)"
    )
    if report.skipped:
        print(f"board not found in: {', '.join(report.skipped)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
