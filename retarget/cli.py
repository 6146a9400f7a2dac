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
from .sources.estimates import VIDEO_SUFFIXES

SOURCE_SUFFIXES = (".bvh", ".npz", ".npy", ".csv", ".json")


@dataclass
class RetargetArgs:
    """Retarget human motion onto a robot: humanoids from BVH, keypoints (.npz/.csv/.json), AMASS .npz,
    SMPL-joint .npy or video; hands from 21-point keypoints, video or a marker glove (--hand-map)."""

    input: Annotated[Path | None, tyro.conf.Positional] = None
    """Motion file to retarget (omit with --batch)."""
    robot: str = "g1"
    """Robot name from the registry (humanoids: g1, h1)."""
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
    skeleton_map: Path | None = None
    """YAML file of 'canonical_point: source joint name' lines overriding the body map found by joint
    names and hierarchy (see --inspect for the points and the map in use)."""
    units: str = "auto"
    """BVH length unit: auto (read off the motion), m, cm, mm, inch or cmu."""
    up: str = "auto"
    """BVH up axis: auto (read off the motion), x, y, z or, for upside-down rigs, --up=-y (etc.)."""
    inspect: bool = False
    """Print the input's hierarchy, frame rate, units, up axis, facing and body map; retarget nothing."""
    body_model: Path | None = None
    """SMPL model folder (smplh/, smplx/) for AMASS .npz parameter files (licence-gated, not shipped)."""
    source_fps: float | None = None
    """Frame rate of sources that carry none (.npy SMPL-joint arrays: 20, HumanML3D's; hand .npy: 30)."""
    hand_map: Path | None = None
    """Marker-glove hand map (.json: units, side, which marker is which hand point); input: markers .csv/.npz."""
    mediapipe_python: Path | None = None
    """Python of MediaPipe's own venv, for video inputs (default: $ROBOLEARN_MEDIAPIPE_PYTHON, else this one)."""


def _default_out(src: Path, robot: str, folder: Path | None = None) -> Path:
    return (folder or src.parent) / f"{src.stem}_{robot}.npz"


def _one(src: Path, args: RetargetArgs, out: Path, progress=None):
    from .api import retarget_file

    result = retarget_file(
        src,
        args.robot,
        fps=args.fps,
        frames=(args.start, args.stop),
        progress=progress,
        skeleton_map=args.skeleton_map,
        units=args.units,
        up=args.up,
        body_model=args.body_model,
        source_fps=args.source_fps,
    )
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
        (
            "pelvis height / standing (robot, human)",
            f"{metrics['robot_pelvis_height_ratio']:.2f}, {metrics['human_pelvis_height_ratio']:.2f}",
        ),
        (
            "torso tilt deg (robot, human)",
            f"{metrics['robot_torso_tilt_deg']:.0f}, {metrics['human_torso_tilt_deg']:.0f}",
        ),
        ("verdict", metrics["verdict"]),
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
        if args.inspect:
            return _inspect(args, console)
        from .hand_files import is_hand_robot

        if is_hand_robot(args.robot):
            return _main_hand(args, console)
        out = args.out or _default_out(args.input, args.robot)
        if args.input.suffix.lower() in VIDEO_SUFFIXES:
            return _main_video_body(args, console, out)
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            from .rig import load_skeleton_map
            from .sources import load_motion

            overrides = load_skeleton_map(args.skeleton_map) if args.skeleton_map else None
            n = (
                load_motion(
                    args.input,
                    overrides,
                    args.units,
                    args.up,
                    body_model=args.body_model,
                    source_fps=args.source_fps,
                )
                .slice(args.start, args.stop)
                .num_frames
            )
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
        return 2  # a usage error, like every other verb's


def _inspect(args: RetargetArgs, console: Console) -> int:
    from .inspection import inspect_source
    from .rig import load_skeleton_map

    assert args.input is not None, "--inspect needs an input file"
    overrides = load_skeleton_map(args.skeleton_map) if args.skeleton_map else None
    listing, error = inspect_source(args.input, overrides, args.units, args.up)
    console.print(listing, markup=False, highlight=False)
    if error is not None:
        console.print(f"[red]error:[/red] {error}", markup=True, highlight=False)
        return 1
    return 0


def _main_hand(args: RetargetArgs, console: Console) -> int:
    """Hand robots: 21-point keypoints, a video (MediaPipe) or a marker glove (--hand-map)."""
    from .hand_files import retarget_hand_file

    assert args.input is not None, "hand mode needs an input"
    if args.video is not None:
        raise RetargetInputError(args.video, "--video", "not available for hand robots yet; omit it")
    out = args.out or _default_out(args.input, args.robot)
    with console.status(f"retarget {args.input.name} -> {args.robot}"):
        res = retarget_hand_file(
            args.input,
            args.robot,
            fps=args.fps,
            frames=(args.start, args.stop),
            hand_map=args.hand_map,
            source_fps=args.source_fps,
            mediapipe_python=args.mediapipe_python,
        )
    res.clip.save(out)
    summary = res.summary()
    for gap in summary["long_gaps"]:
        console.print(f"[yellow]warning:[/yellow] long gap, held or left to the other fingers: {gap}")
    console.print(f"wrote {out} ({res.clip.num_frames} frames at {res.clip.fps:g} fps)")
    if args.report:
        console.print(
            f"fingers {', '.join(summary['fingers'])}; knuckle->tip direction error "
            f"{summary['tip_direction_error_mean_deg']:.1f} deg mean"
        )
    return 0


def _main_video_body(args: RetargetArgs, console: Console, out: Path) -> int:
    """Body from video: MediaPipe writes a keypoint file (its own venv), then the keypoint path runs."""
    from dataclasses import replace

    from .sources.estimates import read_estimate, run_mediapipe

    assert args.input is not None, "video mode needs an input"
    with console.status(f"MediaPipe pose on {args.input.name}"):
        keypoints = run_mediapipe(args.input, "body", args.mediapipe_python)
    try:
        read_estimate(keypoints, video=args.input)  # a video without a person: the error names the video
        return main(replace(args, input=keypoints, out=out))
    finally:
        keypoints.unlink(missing_ok=True)


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
