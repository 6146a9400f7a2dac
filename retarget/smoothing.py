"""Joint trajectories without lag: a zero-phase low-pass (forward-backward Butterworth, scipy's filtfilt) and a
velocity limit that spreads an over-fast move over its neighbouring frames instead of clipping one frame."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, filtfilt


def zero_phase_lowpass(x: np.ndarray, fps: float, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Low-pass each column of x [T, D] forwards and backwards (no phase lag). Unchanged when the clip is
    too short to pad or the cutoff is at or above Nyquist (nothing to remove)."""
    nyquist = fps / 2
    if cutoff_hz <= 0 or cutoff_hz >= nyquist or len(x) < 4:
        return x.copy()
    b, a = butter(order, cutoff_hz / nyquist)
    padlen = min(3 * max(len(a), len(b)), len(x) - 1)
    return filtfilt(b, a, x, axis=0, padlen=padlen, padtype="even")


def _slew(x: np.ndarray, step: np.ndarray) -> np.ndarray:
    out = np.empty_like(x)
    out[0] = x[0]
    for t in range(1, len(x)):
        out[t] = out[t - 1] + np.clip(x[t] - out[t - 1], -step, step)
    return out


def limit_velocity(x: np.ndarray, fps: float, vmax: np.ndarray | float) -> np.ndarray:
    """x [T, D] with every |dx/dt| <= vmax, without lag: the mean of a forward and a backward rate limiter.

    Each pass alone lags (or leads) by the time it spends catching up; their mean is symmetric in time, and
    since both obey the bound so does their mean (|a+b|/2 <= (|a|+|b|)/2). Both passes stay within the
    input's range, so joint-position limits that held before still hold.
    """
    step = np.broadcast_to(np.asarray(vmax, dtype=float) / fps, x.shape[1:])
    if len(x) < 2 or (np.abs(np.diff(x, axis=0)) <= step + 1e-12).all():
        return x.copy()
    forward = _slew(x, step)
    backward = _slew(x[::-1], step)[::-1]
    return (forward + backward) / 2


def smooth_quaternions(quat: np.ndarray, fps: float, cutoff_hz: float) -> np.ndarray:
    """Low-pass unit quaternions [T, 4] component-wise on one hemisphere, then renormalise (fine for the
    small per-frame rotations of a 30-120 fps clip)."""
    q = quat.copy()
    for t in range(1, len(q)):
        if np.dot(q[t], q[t - 1]) < 0:
            q[t] = -q[t]
    q = zero_phase_lowpass(q, fps, cutoff_hz)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def jerk_mean(joints: np.ndarray, fps: float) -> float:
    """Mean |d^3 q / dt^3| over joints and frames (rad/s^3): the jitter a smoother removes."""
    if len(joints) < 4:
        return 0.0
    return float(np.abs(np.diff(joints, n=3, axis=0)).mean() * fps**3)
