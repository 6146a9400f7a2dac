"""Retargeting benchmark: every clip under shared/data/mocap onto each robot, one core, median of N runs.

    OMP_NUM_THREADS=1 python benchmarks/retarget_speed.py [--runs 3] [--frames N] [--robots g1 h1 t1 go2]
        [--clips 131_01.bvh ...] [--json out.json]

Per clip and robot, "before" is the plain solver (no foot locking, no self-collision limit, no smoothing,
the QP velocity bound at the limit) and "after" the default one. Columns: frames/s of the solver on one
core (target >= 300), keypoint error mean/max (after), joint-limit violations (target 0), penetration
(<= 5 mm), stance skating in m/s (heel/toe speed while the source has them in contact; target: after <=
half of before), self-collision frames (target 0 after), jitter (mean |joint jerk|, rad/s^3).
Formats the loaders do not read (e.g. ASF/AMC) are listed as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ROBOLEARN_DATA", ROOT.parent / "shared" / "data"))
os.environ.setdefault("MENAGERIE_ROOT", str(DATA.parent / "menagerie"))

COLUMNS = (
    "clip",
    "robot",
    "frames",
    "fps before",
    "fps after",
    "kp err mean (cm)",
    "kp err max (cm)",
    "limit viol.",
    "penetr. (mm)",
    "stance skating before/after (m/s)",
    "self-coll. frames before/after",
    "jitter before/after",
)


def plain_config(robot: str):
    """The solver without the contact/collision/smoothing stages (what "before" measures)."""
    from robolearn.retarget.body import BodySolverConfig
    from robolearn.retarget.quadruped import QuadrupedConfig

    if robot == "go2":
        return QuadrupedConfig(smooth_cutoff_hz=0.0, lock_feet=False)
    return BodySolverConfig(
        lock_feet=False, avoid_self_collision=False, smooth_cutoff_hz=0.0, ik_velocity_factor=1.0
    )


def run(motion, robot: str, config, runs: int):
    import numpy as np

    from robolearn.retarget.api import retarget_motion
    from robolearn.retarget.quadruped import retarget_quadruped

    def once(check: bool):
        if robot == "go2":
            return retarget_quadruped(motion, robot, config=config)
        return retarget_motion(motion, robot, config=config, check_self_collision=check)

    results = [once(i == 0) for i in range(runs)]
    return results[0].metrics, float(np.median([r.metrics.fps_solve for r in results]))


def bench_row(path: Path, motion, robot: str, runs: int) -> dict:
    before, fps_before = run(motion, robot, plain_config(robot), runs)
    after, fps_after = run(motion, robot, None, runs)
    return {
        "clip": path.name,
        "robot": robot,
        "frames": after.frames,
        "fps_before": fps_before,
        "fps_after": fps_after,
        "kp_err_mean_cm": 100 * after.keypoint_error_overall,
        "kp_err_max_cm": 100 * max(after.keypoint_error_max.values()),
        "limit_violations": after.limit_violations,
        "penetration_mm": after.penetration_mm,
        "stance_skating_before": before.stance_skating,
        "stance_skating_after": after.stance_skating,
        "self_collision_before": before.self_collision_frames,
        "self_collision_after": after.self_collision_frames,
        "jitter_before": before.jitter,
        "jitter_after": after.jitter,
        # the older ankle-body measure (frames with the foot's lowest point under 2 cm): it also counts a
        # heel rolling off a planted toe, so it falls less than stance skating
        "foot_skating_before": before.foot_skating,
        "foot_skating_after": after.foot_skating,
    }


def format_row(r: dict) -> list[str]:
    def coll(n: int) -> str:
        return "-" if n < 0 else str(n)  # the quadruped path does not check self-collision

    return [
        r["clip"],
        r["robot"],
        str(r["frames"]),
        f"{r['fps_before']:.0f}",
        f"{r['fps_after']:.0f}",
        f"{r['kp_err_mean_cm']:.2f}",
        f"{r['kp_err_max_cm']:.1f}",
        str(r["limit_violations"]),
        f"{r['penetration_mm']:.2f}",
        f"{r['stance_skating_before']:.3f} / {r['stance_skating_after']:.3f}",
        f"{coll(r['self_collision_before'])} / {coll(r['self_collision_after'])}",
        f"{r['jitter_before']:.0f} / {r['jitter_after']:.0f}",
    ]


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    from robolearn.retarget.errors import RetargetInputError
    from robolearn.retarget.sources import load_motion

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--frames", type=int, default=0, help="frames per clip (0: all)")
    parser.add_argument("--robots", nargs="+", default=["g1", "h1", "t1", "go2"])
    parser.add_argument("--clips", nargs="*", default=None, help="file names under mocap/ (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    files = sorted(
        p for p in (DATA / "mocap").rglob("*") if p.is_file() and p.suffix.lower() not in (".md", ".txt")
    )
    if args.clips:
        files = [p for p in files if p.name in args.clips]
    table = Table(
        title=f"retargeting, one core, median of {args.runs} runs (before: plain solver; after: default)"
    )
    for col in COLUMNS:
        table.add_column(col, justify="right")
    rows, skipped = [], []
    for path in files:
        try:
            motion = load_motion(path)
        except RetargetInputError as exc:
            skipped.append(f"{path.name}: {exc}")
            continue
        if args.frames:
            motion = motion.slice(0, args.frames)
        for robot in args.robots:
            row = bench_row(path, motion, robot, args.runs)
            rows.append(row)
            table.add_row(*format_row(row))
    console = Console(width=200)
    console.print(table)
    for s in skipped:
        console.print(f"skipped {s}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
