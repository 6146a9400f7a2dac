"""Small rotation helpers on numpy arrays (quaternions are w, x, y, z, as in MuJoCo and the clip format)."""

from __future__ import annotations

import numpy as np


def axis_rotation(axis: str, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices [..., 3, 3] about a principal axis ('x', 'y' or 'z') by `angle` radians."""
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(angle), np.zeros_like(angle)
    if axis == "x":
        rows = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
    elif axis == "y":
        rows = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    elif axis == "z":
        rows = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    else:
        raise ValueError(f"unknown rotation axis {axis!r}")
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def quat_to_mat(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=float)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def mat_to_quat(m: np.ndarray) -> np.ndarray:
    """Rotation matrices [..., 3, 3] to unit quaternions [..., 4] (w >= 0)."""
    from scipy.spatial.transform import Rotation

    flat = np.asarray(m, dtype=float).reshape(-1, 3, 3)
    xyzw = Rotation.from_matrix(flat).as_quat()
    wxyz = np.concatenate([xyzw[:, 3:], xyzw[:, :3]], axis=1)
    wxyz *= np.where(wxyz[:, :1] < 0, -1.0, 1.0)
    return wxyz.reshape(*np.shape(m)[:-2], 4)


def quat_slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation between quaternion arrays [..., 4], taking the short way round."""
    q0 = q0 / np.linalg.norm(q0, axis=-1, keepdims=True)
    q1 = q1 / np.linalg.norm(q1, axis=-1, keepdims=True)
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot).clip(max=1.0)
    t = np.asarray(t, dtype=float)[..., None] if np.ndim(t) == np.ndim(dot) - 1 else t
    theta = np.arccos(dot)
    sin = np.sin(theta)
    near = sin < 1e-6  # nearly equal: plain lerp avoids 0/0
    w0 = np.where(near, 1 - t, np.sin((1 - t) * theta) / np.where(near, 1, sin))
    w1 = np.where(near, t, np.sin(t * theta) / np.where(near, 1, sin))
    out = w0 * q0 + w1 * q1
    return out / np.linalg.norm(out, axis=-1, keepdims=True)


def rotation_angle(r_a: np.ndarray, r_b: np.ndarray) -> np.ndarray:
    """Geodesic angle (radians) between rotation matrices [..., 3, 3]."""
    rel = np.swapaxes(r_a, -1, -2) @ r_b
    cos = (np.trace(rel, axis1=-2, axis2=-1) - 1) / 2
    return np.arccos(np.clip(cos, -1.0, 1.0))


def frame_from_axes(lateral: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Right-handed frame [..., 3, 3] with y along `lateral` and z along `up` made orthogonal to it.

    Used to read a body's orientation off keypoints (e.g. pelvis: hip-to-hip is y, hips-to-pelvis is z),
    so that the same construction applies to a human skeleton and to the robot's own keypoints.
    """
    y = lateral / np.maximum(np.linalg.norm(lateral, axis=-1, keepdims=True), 1e-9)
    z = up - np.sum(up * y, axis=-1, keepdims=True) * y
    z = z / np.maximum(np.linalg.norm(z, axis=-1, keepdims=True), 1e-9)
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=-1)


def frame_from_forward(forward: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Right-handed frame with x along `forward` and z along `up` made orthogonal to it."""
    x = forward / np.maximum(np.linalg.norm(forward, axis=-1, keepdims=True), 1e-9)
    z = up - np.sum(up * x, axis=-1, keepdims=True) * x
    z = z / np.maximum(np.linalg.norm(z, axis=-1, keepdims=True), 1e-9)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=-1)
