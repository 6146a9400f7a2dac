"""Retargeting benchmark: G1 from every shared CMU clip, one core, median of N runs.

    OMP_NUM_THREADS=1 python benchmarks/retarget_speed.py [--runs 3] [--frames N]

Target: >= 200 frames/s, mean keypoint error after scaling <= 5 cm, zero joint-limit violations,
penetration <= 5 mm.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ROBOLEARN_DATA", ROOT.parent / "shared" / "data"))
os.environ.setdefault("MENAGERIE_ROOT", str(DATA.parent / "menagerie"))


def main() -> None:
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from robolearn.retarget.api import retarget_motion
    from robolearn.retarget.sources import load_bvh

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--frames", type=int, default=0, help="frames per clip (0: all)")
    parser.add_argument("--robot", default="g1")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    table = Table(title=f"{args.robot} from CMU BVH, one core, median of {args.runs} runs")
    for col in (
        "clip",
        "frames",
        "frames/s",
        "kp err mean (cm)",
        "kp err max (cm)",
        "limit viol.",
        "penetration (mm)",
        "skating (m/s)",
        "self-coll. frames",
    ):
        table.add_column(col, justify="right")
    for path in sorted((DATA / "mocap" / "cmu").glob("*.bvh")):
        motion = load_bvh(path)
        if args.frames:
            motion = motion.slice(0, args.frames)
        runs = [retarget_motion(motion, args.robot, check_self_collision=(i == 0)) for i in range(args.runs)]
        m = runs[0].metrics
        fps = float(np.median([r.metrics.fps_solve for r in runs]))
        table.add_row(
            path.name,
            str(m.frames),
            f"{fps:.0f}",
            f"{100 * m.keypoint_error_overall:.2f}",
            f"{100 * max(m.keypoint_error_max.values()):.1f}",
            str(m.limit_violations),
            f"{m.penetration_mm:.2f}",
            f"{m.foot_skating:.3f}",
            str(m.self_collision_frames),
        )
    Console().print(table)


if __name__ == "__main__":
    main()
