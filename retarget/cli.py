"""`robolearn retarget`: human motion files to robot motion clips, with a quality report and a video."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .errors import FlagError, RetargetInputError
from .flags import check_at_least, check_frame_range, check_output_file, check_output_folder, check_positive
from .sources.estimates import VIDEO_SUFFIXES

SOURCE_SUFFIXES = (".bvh", ".npz", ".npy", ".csv", ".json")


@dataclass
class RetargetArgs:
    """Retarget human motion onto a robot: humanoids from BVH, keypoints (.npz/.csv/.json), AMASS .npz,
    SMPL-joint .npy or video; hands from 21-point keypoints, video or a marker glove (--hand-map)."""

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
    """Parallel processes for --batch (0: all cores; with --ray local, the local Ray's cores)."""
    ray: str | None = None
    """Spread --batch's files over Ray instead of a process pool: `local` (Ray on this machine) or a cluster
    address (auto, host:6379, ray://host:10001; its nodes must see the input and --out folders)."""
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


def humanoids() -> list[str]:
    from robolearn.robots import ROBOTS

    return [r.name for r in ROBOTS.values() if r.category == "humanoid"]


def check_args(args: RetargetArgs) -> None:
    """Every flag, before any file is read or solved: a FlagError names the flag and what it expects."""
    from robolearn.robots import robot_info

    from .hand_files import is_hand_robot

    if robot_info(args.robot).category not in ("humanoid", "quadruped") and not is_hand_robot(args.robot):
        raise FlagError("--robot", args.robot, f"expected a humanoid ({', '.join(humanoids())}), a quadruped "
                        "or a hand; body motion retargets onto those (arms: retarget.arms)")  # fmt: skip
    if (args.input is None) == (args.batch is None):
        raise FlagError(
            "INPUT", args.input or "(none)", "expected a motion file, or --batch <folder>, not both"
        )
    check_positive("--fps", args.fps, "an output frame rate in frames per second")
    check_positive("--source-fps", args.source_fps, "the source's frame rate in frames per second")
    check_at_least("--workers", args.workers, 0)
    check_frame_range(args.start, args.stop)
    if args.ray is not None:
        from .ray_batch import check_ray

        check_ray(args)
    if args.batch is not None:
        if not args.batch.is_dir():
            raise FlagError(
                "--batch", args.batch, f"expected a folder of motion files ({', '.join(SOURCE_SUFFIXES)})"
            )
        if args.video is not None:
            raise FlagError("--video", args.video, "renders one clip; expected no --video with --batch")
        if is_hand_robot(args.robot):
            raise FlagError(
                "--robot", args.robot, "--batch retargets body motion; expected a humanoid or quadruped"
            )
        check_output_folder(
            "--out" if args.out else "--out (default: the --batch folder)", args.out or args.batch
        )
        return
    assert args.input is not None
    if not args.input.is_file():
        raise FlagError("INPUT", args.input, "no such file")
    for flag, path in (("--skeleton-map", args.skeleton_map), ("--hand-map", args.hand_map)):
        if path is not None and not path.is_file():
            raise FlagError(flag, path, "no such file")
    if args.inspect:
        return  # --inspect writes nothing
    out = args.out or _default_out(args.input, args.robot)
    check_output_file(
        "--out" if args.out else "--out (default: next to the input)",
        out,
        (".npz",),
        f"{args.input.stem}_{args.robot}.npz",
    )
    if args.video is not None:
        from robolearn.gl import ensure_gl

        check_output_file("--video", args.video, (".mp4",), f"{args.input.stem}_{args.robot}.mp4")
        ensure_gl()  # no GL on this machine: said before the clip is solved, not after


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


def batch_job(src: str, args: RetargetArgs, out: str) -> tuple[dict | None, str | None]:
    """(metrics, None) or (None, the error's message). The message, not the exception, goes back to the
    parent: an exception of another library may not survive pickling, and one that fails to unpickle
    breaks the whole pool (every later file, good ones included, fails with it)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    try:
        return _one(Path(src), args, Path(out)).metrics.as_dict(), None
    except Exception as exc:  # one bad file must not stop the batch; its own error is reported
        known = isinstance(exc, (RetargetInputError, FlagError, FileNotFoundError))
        return None, str(exc) if known else f"{type(exc).__name__}: {exc}"


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
    """Exit status: 0 done, 1 some --batch files failed (each with its own error), 2 bad flags or input."""
    from robolearn.cluster import RayUnavailable
    from robolearn.gl import RenderUnavailable
    from robolearn.robots import robot_info

    console, errors = Console(), Console(stderr=True)
    try:
        robot_info(args.robot)
        check_args(args)
        if args.batch is not None:
            return _main_batch(args, console, errors)
        assert args.input is not None, "check_args: an input without --batch"
        if args.inspect:
            return _inspect(args, console, errors)
        from .hand_files import is_hand_robot

        if is_hand_robot(args.robot):
            return _main_hand(args, console)
        if args.input.suffix.lower() in VIDEO_SUFFIXES:
            return _main_video_body(args, console)
        return _main_one(args, console)
    except (RetargetInputError, FlagError, KeyError, ValueError, OSError, RenderUnavailable, RayUnavailable) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        errors.print(f"[red]error:[/red] {escape(str(message))}", soft_wrap=True)
        return 2


def _main_one(args: RetargetArgs, console: Console) -> int:
    from .rig import load_skeleton_map
    from .sources import load_motion

    assert args.input is not None, "check_args: an input without --batch"
    out = args.out or _default_out(args.input, args.robot)
    overrides = load_skeleton_map(args.skeleton_map) if args.skeleton_map else None
    motion = load_motion(
        args.input, overrides, args.units, args.up, body_model=args.body_model, source_fps=args.source_fps
    )
    n = motion.num_frames
    check_frame_range(args.start, args.stop, n)
    n = len(range(n)[args.start : args.stop])
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        task = bar.add_task(f"retarget {args.input.name} -> {args.robot}", total=n)
        result = _one(args.input, args, out, progress=lambda t: bar.update(task, completed=t + 1))
        if args.video is not None:
            from .video import render_clip

            vt = bar.add_task(f"render {args.video.name}", total=result.clip.num_frames)
            args.video.parent.mkdir(parents=True, exist_ok=True)  # checked writable before the solve
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


def _inspect(args: RetargetArgs, console: Console, errors: Console) -> int:
    from .inspection import inspect_source
    from .rig import load_skeleton_map

    assert args.input is not None, "--inspect needs an input file"
    overrides = load_skeleton_map(args.skeleton_map) if args.skeleton_map else None
    listing, error = inspect_source(args.input, overrides, args.units, args.up)
    console.print(listing, markup=False, highlight=False)
    if error is not None:
        errors.print(f"[red]error:[/red] {escape(str(error))}", soft_wrap=True)
        return 2
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


def _main_video_body(args: RetargetArgs, console: Console) -> int:
    """Body from video: MediaPipe writes a keypoint file (its own venv), then the keypoint path runs."""
    from dataclasses import replace

    from .sources.estimates import read_estimate, run_mediapipe

    assert args.input is not None, "video mode needs an input"
    with console.status(f"MediaPipe pose on {args.input.name}"):
        keypoints = run_mediapipe(args.input, "body", args.mediapipe_python)
    try:
        read_estimate(keypoints, video=args.input)  # a video without a person: the error names the video
        out = args.out or _default_out(args.input, args.robot)
        return _main_one(replace(args, input=keypoints, out=out), console)
    finally:
        keypoints.unlink(missing_ok=True)


def batch_plan(folder: Path, robot: str, out_dir: Path) -> dict[Path, Path]:
    """Each motion file of `folder` and the clip it becomes; two inputs that would write one clip (walk.bvh
    and walk.npz) are an error, as the second would silently replace the first."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SOURCE_SUFFIXES)
    if not files:
        raise FlagError(
            "--batch", folder, f"expected a folder holding motion files ({', '.join(SOURCE_SUFFIXES)})"
        )
    plan: dict[Path, Path] = {}
    for f in files:
        out = _default_out(f, robot, out_dir)
        same = next((src for src, o in plan.items() if o == out), None)
        if same is not None:
            raise FlagError("--batch", folder, f"{same.name} and {f.name} would both write {out.name}; "
                            "expected one motion file per name")  # fmt: skip
        plan[f] = out
    return plan


def run_batch(
    plan: dict[Path, Path],
    args: RetargetArgs,
    workers: int,
    done: Callable[[Path, dict | None, str | None], None],
) -> None:
    """Retarget every planned file on `workers` processes, calling `done(src, metrics, error)` once per file.
    A worker that dies (killed, out of memory) breaks its pool and fails every file still queued there:
    those files are run again, one process each, so only the file that kills its process is lost."""
    retry: list[Path] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(batch_job, str(src), args, str(out)): src for src, out in plan.items()}
        for fut in as_completed(futures):
            try:
                done(futures[fut], *fut.result())
            except BrokenProcessPool:
                retry.append(futures[fut])
    for src in sorted(retry):
        with ProcessPoolExecutor(max_workers=1) as pool:
            try:
                done(src, *pool.submit(batch_job, str(src), args, str(plan[src])).result())
            except BrokenProcessPool:
                done(src, None, "its worker process died (killed, or out of memory) while retargeting it")


def _main_batch(args: RetargetArgs, console: Console, errors: Console) -> int:
    assert args.batch is not None, "batch mode needs --batch"
    out_dir = args.out or args.batch
    plan = batch_plan(args.batch, args.robot, out_dir)
    workers = min(args.workers or os.cpu_count() or 1, len(plan))
    failed: dict[Path, str] = {}
    table = Table(title=f"batch -> {args.robot}")
    for col in ("clip", "frames", "fps", "kp err (cm)", "limit viol.", "penetration (mm)"):
        table.add_column(col, overflow="fold")
    with Progress(console=console) as bar:
        where = f"Ray ({args.ray})" if args.ray is not None else f"{workers} processes"
        task = bar.add_task(f"retarget {len(plan)} clips on {where}", total=len(plan))

        def done(src: Path, m: dict | None, error: str | None) -> None:
            if m is None:
                failed[src] = error or "failed"
                table.add_row(src.name, "failed", "", "", "", "")
            else:
                table.add_row(src.name, str(m["frames"]), f"{m['fps_solve']:.0f}",
                              f"{100 * m['keypoint_error_overall']:.2f}", str(m["limit_violations"]),
                              f"{m['penetration_mm']:.2f}")  # fmt: skip
            bar.advance(task)

        if args.ray is not None:
            from .ray_batch import run_batch_ray

            run_batch_ray(plan, args, args.ray, done)
        else:
            run_batch(plan, args, workers, done)
    console.print(table)
    console.print(f"{len(plan) - len(failed)} of {len(plan)} clips written to {out_dir}")
    for src, error in sorted(failed.items()):
        said = error if str(src) in error else f"{src}: {error}"  # the project's errors name the file
        errors.print(f"[red]failed:[/red] {escape(said)}", soft_wrap=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(tyro.cli(RetargetArgs)))
