"""How much action latency an exported tracking policy survives in sim2sim: the full G1 model (torque motors with
the PD in the driver, implicitfast at 2 ms) at each latency, with and without the training sensor noise.

    python benchmarks/tracking_latency.py EXPORT [--latencies 0 5 10 20] [--episodes 10] [--out table.json]

EXPORT is the folder `robolearn export` (or benchmarks/tracking.py's `export_walk`) wrote: policy.onnx,
policy.json and the motion reference. The training env applies each action in the policy step it is computed
in, so this measures what the deploy side's latency costs a policy trained without any.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", type=Path)
    parser.add_argument("--latencies", type=float, nargs="+", default=[0.0, 5.0, 10.0, 20.0])
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 1.0],
                        help="sensor noise as multiples of the training noise")  # fmt: skip
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    from robolearn.sim2real.sim2sim import Sim2SimCfg
    from robolearn.sim2real.tracking_sim2sim import run_tracking_sim2sim

    rows = []
    print("| latency ms | noise | success | root MPJPE mm | MPJPE mm | s per episode |")
    print("|---|---|---|---|---|---|")
    for noise in args.noise:
        for latency in args.latencies:
            r = run_tracking_sim2sim(args.export, Sim2SimCfg(episodes=args.episodes, latency_ms=latency, noise=noise))
            row = {"latency_ms": latency, "noise": noise, "episodes": args.episodes, "success": r["success"],
                   "root_mpjpe_mm": r["root_mpjpe_mm"], "mpjpe_mm": r["mpjpe_mm"], "mean_time_s": r["mean_time_s"]}  # fmt: skip
            rows.append(row)
            print(f"| {latency:.0f} | {noise:g} | {100 * r['success']:.0f}% | {r['root_mpjpe_mm']:.1f} | "
                  f"{r['mpjpe_mm']:.0f} | {r['mean_time_s']:.2f} |", flush=True)  # fmt: skip
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps({"export": str(args.export), "rows": rows}, indent=2))
        tmp.replace(args.out)


if __name__ == "__main__":
    main()
