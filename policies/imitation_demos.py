"""`robolearn demos <task>`: write a task's generated demonstrations into a LeRobot v3 dataset.

The generator is the task's (TaskSpec.demos, e.g. envs/manipulation/demos.py's keyframe demos); this module
only writes what it yields.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import tyro

from robolearn.registry import get_task, task_names


@dataclass
class DemosArgs:
    """Generate demonstrations (the task's generator, e.g. scripted keyposes + IK + noise injection) into a
    LeRobot v3 dataset."""

    task: Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="TASK")]
    """A task with a demo generator, e.g. Aloha-CubeTransfer, Aloha-Insertion or Aloha-Reach (task families
    with a command of their own: `robolearn demos bidex --help`)."""
    out: Path
    """Dataset folder (LeRobot v3 layout); appended to when it exists."""
    n: int = 200
    """Successful demos to write."""
    keyposes: Path | None = None
    """Keypose JSON (default: the task's scripted expert): the one demonstration that is proliferated into
    --n demos (new object placements, keyposes moved with the objects, each executed and kept only on
    success). Keypose tasks also get <out>/keyposes.npz (start point clouds + keypose actions) for --algo bidp."""
    seed: int = 0
    cameras: tuple[str, ...] = ()
    """Cameras to record as MP4 streams: top, wrist_left, wrist_right (software rendering: ~0.1 s/frame)."""
    batch: int = 16
    """Demos planned and simulated together."""
    from_video: tuple[Path, ...] = ()
    """A human demonstration: left and right videos of a stereo pair (or one video: monocular, less
    accurate), or the keypoint .npz files MediaPipe wrote for them; the demos follow its keyposes."""
    calib: Path | None = None
    """Camera calibration YAML for --from-video (retarget/stereo.py: intrinsics, R, T, hand_eye)."""
    object_pose: str | None = None
    """--from-video: the object's pose in the video, x,y,z,yaw (metres in the robot's world frame, the one the
    keyposes end up in; yaw in degrees), e.g. -0.12,0.0,0.015,10 (default: the calibration's scene.object).
    The keyposes are then written in the task's frames and follow new layouts (docs/yoto.md); without it
    they stay in the world frame and solve only the demonstrated layout."""
    target_pose: str | None = None
    """--from-video, place tasks: the target's pose in the video, x,y,z,yaw (default: scene.target)."""
    keyframes: str | None = None
    """--from-video keyframes as frame numbers, e.g. 12,40,77 (default: grip changes and pauses)."""
    keyposes_out: Path | None = None
    """Where --from-video writes its keypose JSON (default: OUT.keyposes.json beside the dataset)."""
    mediapipe_python: Path | None = None
    """Python of MediaPipe's own venv for --from-video (default: $ROBOLEARN_MEDIAPIPE_PYTHON)."""
    hand_size: float = 0.095
    """Monocular --from-video: the hand's wrist-to-middle-knuckle length (m) that sets its depth."""
    noise: float = 0.0
    """DART-style noise injection: std (rad) of smooth noise on the executed arm targets; the dataset
    records the expert's clean targets, so the policy sees recoveries. Measured: 0.03 for CubeTransfer
    (a third of the noisy runs succeed), 0.015 for Insertion (0.03 leaves only 13%)."""
    ray: str | None = None
    """Generate shards of --batch demos as Ray tasks, `local` (Ray on this machine) or a cluster address;
    this process writes them into the dataset as they arrive. Shard k draws its layouts from a seed of its
    own (from --seed and k), so the demos differ from one process's stream; the dataset's format does not."""


def shard_seed(seed: int, shard: int) -> int:
    """Shard k's seed: an independent stream per (seed, shard), so --seed 0 and --seed 1 share no shard."""
    import numpy as np

    return int(np.random.SeedSequence([seed, shard]).generate_state(1)[0])


def demo_shard(args: DemosArgs, shard: int, count: int) -> list[tuple[dict, dict]]:
    """One Ray task: `count` successful demos of shard `shard`, as (frames, videos) per episode."""
    generate = get_task(args.task).demos
    assert generate is not None
    stream = generate(args.task, count, keyposes=args.keyposes, seed=shard_seed(args.seed, shard),
                      batch=min(args.batch, count), cameras=args.cameras, noise=args.noise)  # fmt: skip
    return [(ep.frames, ep.videos) for ep in stream.episodes]


def main_ray(args: DemosArgs) -> int:
    """Exit status 0 every shard written, 1 some failed (each reported; the others are in the dataset)."""
    import sys

    from rich.progress import Progress

    from robolearn.cluster import RayUnavailable, import_ray, ray_map
    from robolearn.policies.data import DatasetWriter

    try:
        import_ray()
    except RayUnavailable as exc:
        raise ValueError(str(exc)) from None
    generate = get_task(args.task).demos
    assert generate is not None
    # The stream's header (features, rate, robot) without simulating a demo: the writer checks an existing
    # dataset against it before any shard starts.
    head = generate(args.task, args.n, keyposes=args.keyposes, seed=args.seed, batch=args.batch,
                    cameras=args.cameras, noise=args.noise)  # fmt: skip
    writer = DatasetWriter(args.out, fps=head.fps, features=head.features, robot_type=head.robot_type,
                           tasks={head.description})  # fmt: skip
    counts = [min(args.batch, args.n - k) for k in range(0, args.n, args.batch)]
    failed: dict[int, str] = {}
    start, written = time.time(), 0
    with Progress() as bar:
        job = bar.add_task(f"demos {args.task}: {len(counts)} shards on Ray ({args.ray})", total=args.n)

        def done(result) -> None:
            nonlocal written
            if result.error is not None:
                failed[result.index] = result.error
            else:
                for frames, videos in result.value:
                    writer.add_episode(frames, task=head.description, videos=videos)
                writer.flush()  # each shard committed as it arrives
                written += len(result.value)
            bar.advance(job, counts[result.index])

        ray_map(demo_shard, [(args, k, c) for k, c in enumerate(counts)], address=args.ray, done=done)
    print(f"wrote {written} of {args.n} demos to {args.out} ({writer.total_episodes} episodes in all) "
          f"in {time.time() - start:.0f} s")  # fmt: skip
    for k, error in sorted(failed.items()):
        print(f"failed: shard {k} (seed {shard_seed(args.seed, k)}, {counts[k]} demos): {error}", file=sys.stderr)
    return 1 if failed else 0


def main(args: DemosArgs) -> int:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from robolearn.policies.data import DatasetWriter
    from robolearn.policies.keypose_data import KeyposeSink

    generate = get_task(args.task).demos
    if generate is None:
        with_demos = [t for t in task_names() if get_task(t).demos is not None]
        raise ValueError(f"{args.task} has no demo generator; tasks with one: {', '.join(with_demos)}")
    if (args.object_pose or args.target_pose) and not args.from_video:
        from robolearn.retarget.errors import FlagError

        raise FlagError("--object-pose" if args.object_pose else "--target-pose",
                        args.object_pose or args.target_pose, "only with --from-video")  # fmt: skip
    if args.from_video:
        args.keyposes = _keyposes_from_video(args)
        if args.n == 0:
            return 0
    if args.ray is not None:
        return main_ray(args)
    start = time.time()
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TextColumn("{task.fields[info]}"), TimeRemainingColumn())  # fmt: skip
    job = bar.add_task(f"demos {args.task}", total=args.n, info="")

    def progress(done: int, tried: int) -> None:
        bar.update(job, completed=done, info=f"kept {done}/{tried} tried")

    # The stream's episodes are generated lazily: the writer checks an existing dataset (its files, robot,
    # rate, features and task) before the first demo is simulated and before anything is written.
    stream = generate(args.task, args.n, keyposes=args.keyposes, seed=args.seed, batch=args.batch,
                      cameras=args.cameras, noise=args.noise, progress=progress)  # fmt: skip
    writer = DatasetWriter(args.out, fps=stream.fps, features=stream.features, robot_type=stream.robot_type,
                           tasks={stream.description})  # fmt: skip
    keyposes = None
    if stream.keyframe_times is not None:  # BiDP's keypose dataset, kept in step with the committed episodes
        keyposes = KeyposeSink(args.out, args.task, stream.keyframe_times, writer.total_episodes)
    with bar:
        for ep in stream.episodes:
            writer.add_episode(ep.frames, task=stream.description, videos=ep.videos)
            if keyposes is not None:
                keyposes.add(ep.keypose)
            if writer.pending >= args.batch:
                writer.flush()
                if keyposes is not None:
                    keyposes.commit()
        writer.flush()
        if keyposes is not None:
            keyposes.commit()
    print(
        f"wrote {args.n} demos to {args.out} ({writer.total_episodes} episodes in all) in {time.time() - start:.0f} s"
    )
    return 0


def _keyposes_from_video(args: DemosArgs) -> Path:
    """Run the video front end, write its keypose JSON and say where; the demos then follow it."""
    from robolearn.policies.video_keyposes import keyposes_from_video, write_keyposes
    from robolearn.retarget.errors import FlagError
    from robolearn.retarget.flags import check_output_file

    if args.calib is None:
        raise FlagError(
            "--calib", None, "required with --from-video: a calibration YAML (retarget/stereo.py)"
        )
    if args.keyposes is not None:
        raise FlagError("--keyposes", args.keyposes, "give either --keyposes or --from-video, not both")
    if not args.hand_size > 0:
        raise FlagError("--hand-size", args.hand_size, "expected a hand length in metres > 0, e.g. 0.095")
    path = args.keyposes_out or args.out.with_name(args.out.name + ".keyposes.json")
    check_output_file("--keyposes-out", path, (".json",), "keyposes.json")  # before MediaPipe runs
    result = keyposes_from_video(list(args.from_video), args.calib, args.keyframes, args.mediapipe_python,
                                 args.hand_size, object_pose=args.object_pose, target_pose=args.target_pose)  # fmt: skip
    write_keyposes(path, args.task, result)
    print(result.summary())
    print(f"wrote {len(result.keyposes)} keyposes to {path}")
    return path
