"""`robolearn retarget --batch DIR --ray local|ADDRESS`: the batch's files as Ray tasks, through the same job
and report as the process pool (retarget.cli.run_batch)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cli import RetargetArgs, batch_job
from .errors import FlagError


def check_ray(args: RetargetArgs) -> None:
    """--ray needs --batch and Ray itself (an optional extra): said before any file is read."""
    from robolearn.cluster import RayUnavailable, import_ray

    if args.batch is None:
        raise FlagError("--ray", args.ray, "spreads a --batch folder's files; expected --batch <folder>")
    try:
        import_ray()
    except RayUnavailable as exc:
        raise FlagError("--ray", args.ray, str(exc)) from None


def run_batch_ray(
    plan: dict[Path, Path], args: RetargetArgs, address: str,
    done: Callable[[Path, dict | None, str | None], None],
) -> None:  # fmt: skip
    """run_batch's contract on Ray: one task per file (one core each), `done` once per file as they finish;
    a file whose task fails (its error, or its worker's death) is reported and never stops the others."""
    from robolearn.cluster import ray_map

    sources = list(plan)

    def finished(result: Any) -> None:
        src = sources[result.index]
        if result.error is not None:
            done(src, None, result.error)
        else:
            done(src, *result.value)

    ray_map(batch_job, [(str(src), args, str(plan[src])) for src in sources], address=address,
            local_cpus=args.workers or None, done=finished)  # fmt: skip
