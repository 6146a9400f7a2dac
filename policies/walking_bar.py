"""The walking bar of Go2-Velocity-Flat: what `robolearn quickstart` trains until and benchmarks/train_go2.py
times. Commanded (vx, vy) in [-1, 1] m/s tracked with a mean lin-vel error <= 0.25 m/s, and falls in < 5%
of the evaluation episodes (held-out seeds, deterministic actions)."""

from __future__ import annotations

from typing import Any

TASK = "Go2-Velocity-Flat"
BAR_ERROR_XY = 0.25
"""m/s, mean over evaluation episodes."""
BAR_FAILURE_RATE = 0.05


def passes(result: dict[str, Any]) -> bool:
    """Whether an eval_run result meets the bar."""
    return (
        result["error_vel_xy"]["mean"] <= BAR_ERROR_XY and result["failure_rate"]["mean"] < BAR_FAILURE_RATE
    )
