"""Ray for work that outgrows one process pool: independent items (clips to retarget, runs to evaluate,
trials of a sweep) spread over a local Ray or a cluster's.

Ray is an optional extra (`pip install 'robolearn[ray]'`); without it, asking for Ray says how to get it
in one line. The items' functions write their own outputs (atomically, as the local path does); what comes
back to the caller is each item's small result or its error's message, so one failed item never stops the
others, and an exception another library cannot rebuild on this side never breaks the batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

RAY_PIN = "ray==2.60.0"
RAY_HINT = f"Ray is not installed (an optional extra): pip install 'robolearn[ray]'  (or: pip install '{RAY_PIN}')"
LOCAL = "local"
"""The address that starts Ray on this machine (`--ray local`)."""


class RayUnavailable(RuntimeError):
    """Ray is missing, or the cluster at the address cannot be reached."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayUnavailable(RAY_HINT) from None
    return ray


def connect(address: str | None, num_cpus: int | None = None, num_gpus: int | None = None) -> Any:
    """Ray, initialised: a local instance (address None or "local", `num_cpus` cores) or the cluster at
    `address` ("auto", "host:6379", "ray://host:10001"). A second call reuses the first connection."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    # Workers import robolearn from this interpreter's environment; the variables that locate its robot
    # models travel with them (a cluster's nodes need robolearn installed and the models at that path).
    env = {k: v for k, v in os.environ.items() if k.startswith(("MENAGERIE_ROOT", "ROBOLEARN_", "MUJOCO_GL"))}
    runtime_env = {"env_vars": env} if env else None
    try:
        if address in (None, LOCAL):
            ray.init(num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False, log_to_driver=False,
                     runtime_env=runtime_env)  # fmt: skip
        else:
            ray.init(address=address, log_to_driver=False, runtime_env=runtime_env)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayUnavailable(f"--ray {address}: cannot start or reach Ray: {exc}") from None
    return ray


@dataclass
class ItemResult:
    """One item's outcome: its function's return value, or the message of the error it raised."""

    index: int
    value: Any = None
    error: str | None = None


def error_message(exc: BaseException) -> str:
    """The message of an item's error; a Ray task error is unwrapped to the item's own exception."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        exc = cause
    text = str(exc).strip().splitlines()
    known = isinstance(exc, (ValueError, FileNotFoundError, KeyError))
    message = text[-1] if text else type(exc).__name__
    return message if known else f"{type(exc).__name__}: {message}"


def ray_map(
    fn: Callable[..., Any],
    items: Sequence[tuple[Any, ...]],
    *,
    address: str | None = LOCAL,
    num_cpus: float = 1.0,
    num_gpus: float = 0.0,
    local_cpus: int | None = None,
    done: Callable[[ItemResult], None] | None = None,
) -> list[ItemResult]:
    """`fn(*item)` for every item as a Ray task needing `num_cpus` cores and `num_gpus` GPUs (fractions
    share a GPU), `done` called in the order they finish; the results in item order. A local Ray gets
    `local_cpus` cores (default: all)."""
    ray = connect(address, num_cpus=local_cpus)
    remote = ray.remote(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=0)(fn)
    pending = {remote.remote(*item): i for i, item in enumerate(items)}
    results: list[ItemResult | None] = [None] * len(items)
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            i = pending.pop(ref)
            try:
                result = ItemResult(i, value=ray.get(ref))
            except Exception as exc:  # the item's own error (or its worker's death): reported, never raised
                result = ItemResult(i, error=error_message(exc))
            results[i] = result
            if done is not None:
                done(result)
    return [r for r in results if r is not None]


def shutdown() -> None:
    ray = import_ray()
    if ray.is_initialized():
        ray.shutdown()
