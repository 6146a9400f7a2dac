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
    """A task with a demo generator, e.g. Aloha-CubeTransfer, Aloha-Insertion or Aloha-Reach."""
    out: Path
    """Dataset folder (LeRobot v3 layout); appended to when it exists."""
    n: int = 200
    """Successful demos to write."""
    keyposes: Path | None = None
    """Keypose JSON (default: the task's scripted expert)."""
    seed: int = 0
    cameras: tuple[str, ...] = ()
    """Cameras to record as MP4 streams: top, wrist_left, wrist_right (software rendering: ~0.1 s/frame)."""
    batch: int = 16
    """Demos planned and simulated together."""
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

    generate = get_task(args.task).demos
    if generate is None:
        with_demos = [t for t in task_names() if get_task(t).demos is not None]
        raise ValueError(f"{args.task} has no demo generator; tasks with one: {', '.join(with_demos)}")
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
    with bar:
        for ep in stream.episodes:
            writer.add_episode(ep.frames, task=stream.description, videos=ep.videos)
            if writer.pending >= args.batch:
                writer.flush()
        writer.flush()
    print(
        f"wrote {args.n} demos to {args.out} ({writer.total_episodes} episodes in all) in {time.time() - start:.0f} s"
    )
    return 0
