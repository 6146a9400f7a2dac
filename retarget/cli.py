"""`robolearn retarget`: human motion files to robot motion clips, with a quality report and a video."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .errors import RetargetInputError

SOURCE_SUFFIXES = (".bvh", ".npz", ".csv", ".json")


@dataclass
class RetargetArgs:
    """Retarget human motion (BVH, keypoint .npz/.csv/.json) onto a humanoid robot."""

    input: Annotated[Path | None, tyro.conf.Positional] = None
    """Motion file to retarget (omit with --batch)."""
    robot: str = "g1"
    """Robot name from the registry (humanoids: g1, h1, t1; quadruped: go2, root path and limb phases)."""
    out: Path | None = None
    """Output clip (.npz); default: <input stem>_<robot>.npz next to the input, or in --batch's folder."""
    video: Path | None = None
    """Write an mp4 of the robot beside the scaled human skeleton."""
    report: bool = False
    """Print the quality report (keypoint/orientation errors, limits, skating, penetration, fps)."""
    batch: Path | None = None
    """Folder of motion files: retarget every one, in parallel."""
    fps: float | None = None
    """Output frame rate (resampled, SLERP for the root); default: the source's."""
    workers: int = 0
    """Parallel processes for --batch (0: all cores)."""
    start: int = 0
    """First source frame to use."""
    stop: int | None = None
    """Source frame to stop before (default: the end)."""


def _default_out(src: Path, robot: str, folder: Path | None = None) -> Path:
    return (folder or src.parent) / f"{src.stem}_{robot}.npz"


def _one(src: Path, args: RetargetArgs, out: Path, progress=None):
    from .api import retarget_file

    result = retarget_file(src, args.robot, fps=args.fps, frames=(args.start, args.stop), progress=progress)
    result.clip.save(out)
    return result


def _batch_job(src: str, args: RetargetArgs, out: str) -> tuple[str, dict]:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return src, _one(Path(src), args, Path(out)).metrics.as_dict()


def report_table(metrics: dict, title: str) -> Table:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("frames", f"{metrics['frames']}"),
        ("solver frames/s (1 core)", f"{metrics['fps_solve']:.0f}"),
        ("keypoint error mean (cm)", f"{100 * metrics['keypoint_error_overall']:.2f}"),
        ("keypoint error max (cm)", f"{100 * max(metrics['keypoint_error_max'].values()):.2f}"),
        (
            "joint-limit violations (count / max rad)",
            f"{metrics['limit_violations']} / {metrics['limit_violation_max']:.2g}",
        ),
        ("joint velocity peak (rad/s)", f"{metrics['joint_velocity_peak']:.1f}"),
        ("joint acceleration peak (rad/s^2)", f"{metrics['joint_acceleration_peak']:.0f}"),
        ("foot skating (m/s in contact)", f"{metrics['foot_skating']:.3f}"),
        ("ground penetration (mm)", f"{metrics['penetration_mm']:.2f}"),
        ("self-collision frames", f"{metrics['self_collision_frames']}"),
        ("stance skating (m/s, source contacts)", f"{metrics.get('stance_skating', 0.0):.3f}"),
        ("jitter (mean |jerk|, rad/s^3)", f"{metrics.get('jitter', 0.0):.0f}"),
    ]
    rows += [(f"  error {k} (cm)", f"{100 * v:.2f}") for k, v in metrics["keypoint_error_mean"].items()]
    rows += [
        (f"  orientation {k} (deg)", f"{v:.1f}") for k, v in metrics["orientation_error_mean_deg"].items()
    ]
    for r in rows:
        table.add_row(*r)
    return table


def main(args: RetargetArgs) -> int:
    console = Console()
    try:
        from robolearn.robots import robot_info

        robot_info(args.robot)
        if args.batch is not None:
            return _main_batch(args, console)
        if args.input is None:
            console.print("[red]error:[/red] give an input file or --batch <folder>")
            return 2
        out = args.out or _default_out(args.input, args.robot)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            from .sources import load_motion

            n = load_motion(args.input).slice(args.start, args.stop).num_frames
            task = bar.add_task(f"retarget {args.input.name} -> {args.robot}", total=n)
            result = _one(args.input, args, out, progress=lambda t: bar.update(task, completed=t + 1))
            if args.video is not None:
                from .video import render_clip

                vt = bar.add_task(f"render {args.video.name}", total=result.clip.num_frames)
                render_clip(
                    result.clip,
                    args.video,
                    result.human_points,
                    progress=lambda t: bar.update(vt, completed=t + 1),
                )
        console.print(f"wrote {out} ({result.clip.num_frames} frames at {result.clip.fps:g} fps)")
        if args.report:
            console.print(report_table(result.metrics.as_dict(), f"{args.input.name} -> {args.robot}"))
        return 0
    except (RetargetInputError, KeyError, ValueError, FileNotFoundError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 1


def _main_batch(args: RetargetArgs, console: Console) -> int:
    assert args.batch is not None, "batch mode needs --batch"
    files = sorted(p for p in args.batch.iterdir() if p.suffix.lower() in SOURCE_SUFFIXES)
    if not files:
        console.print(f"[red]error:[/red] no {SOURCE_SUFFIXES} files in {args.batch}")
        return 1
    out_dir = args.out or args.batch
    workers = args.workers or os.cpu_count() or 1
    failures = 0
    table = Table(title=f"batch -> {args.robot}")
    for col in ("clip", "frames", "fps", "kp err (cm)", "limit viol.", "penetration (mm)"):
        table.add_column(col)
    with Progress(console=console) as bar, ProcessPoolExecutor(max_workers=workers) as pool:
        task = bar.add_task(f"retarget {len(files)} clips on {workers} processes", total=len(files))
        futures = {
            pool.submit(_batch_job, str(f), args, str(_default_out(f, args.robot, out_dir))): f for f in files
        }
        for fut in as_completed(futures):
            src = futures[fut]
            try:
                _, m = fut.result()
                table.add_row(
                    src.name,
                    str(m["frames"]),
                    f"{m['fps_solve']:.0f}",
                    f"{100 * m['keypoint_error_overall']:.2f}",
                    str(m["limit_violations"]),
                    f"{m['penetration_mm']:.2f}",
                )
            except Exception as exc:  # one bad file must not stop the batch
                failures += 1
                table.add_row(src.name, "failed", str(exc)[:60], "", "", "")
            bar.advance(task)
    console.print(table)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main(tyro.cli(RetargetArgs)))
