"""What Ray and torch.distributed cost on one machine (issue "Beyond one machine"), small budgets:

  sweep      a 2-seed `robolearn sweep` through a local Ray vs the same two `robolearn train` runs back to back
  nproc      `robolearn train --nproc 2` (2 ranks x N worlds, 1 thread each) vs one process with 2N worlds and
             2 physics threads (and with 1): env-steps/s from metrics.jsonl
  retarget   `robolearn retarget --batch` of the shared CMU clips on Ray vs the local process pool

Every command runs as a user runs it (a subprocess of the CLI); wall time is the command's, memory is the
peak of the summed resident memory of the command's whole process tree (Ray's GCS, raylet and workers
included), sampled every 0.2 s from /proc.

    python benchmarks/distributed.py --out benchmarks/results/distributed.json
    python benchmarks/distributed.py --only sweep --address ray://head:10001   # the sweep on a cluster
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CMU = ROOT.parent / "shared" / "data" / "mocap" / "cmu"
TASK = "Go2-Velocity-Flat"


def _tree_rss_mb(pid: int) -> float:
    """Summed VmRSS of `pid` and every descendant (from /proc: no psutil needed)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, frontier = {pid}, [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parents.items() if pp == p and c not in tree]
        tree.update(kids)
        frontier += kids
    total = 0
    for p in tree:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run a command; its wall time, exit status and the peak RSS of its process tree."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})  # fmt: skip
    peak = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], _tree_rss_mb(proc.pid))
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    stop.set()
    sampler.join()
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        print(out[-3000:], file=sys.stderr)
    return {"cmd": " ".join(cmd[2:]), "rc": proc.returncode, "wall_s": round(wall, 1), "peak_rss_mb": round(peak[0])}


def robolearn(*args: str) -> list[str]:
    return [sys.executable, "-m", "robolearn.cli", *args]


def bench_sweep(tmp: Path, iterations: int, worlds: int, address: str | None) -> dict:
    common = ["--max-iterations", str(iterations), "--num-envs", str(worlds)]
    back = [measure(robolearn("train", TASK, "--seed", str(s), "--logdir", str(tmp / "b2b"), *common,
                              "--env.sim.num-threads", "1", "--agent.torch-threads", "1"))
            for s in (0, 1)]  # fmt: skip
    where = ["--address", address] if address else ["--local-cpus", "2"]
    ray = measure(robolearn("sweep", TASK, "--seeds", "0", "1", "--eval-episodes", "0", "--logdir", str(tmp / "ray"),
                            "--name", "s", *common, *where))  # fmt: skip
    b2b = {"wall_s": round(sum(r["wall_s"] for r in back), 1), "peak_rss_mb": max(r["peak_rss_mb"] for r in back)}
    return {"back_to_back": back, "back_to_back_total": b2b, "ray_sweep": ray,
            "wall_ratio": round(ray["wall_s"] / b2b["wall_s"], 2),
            "extra_memory_mb": ray["peak_rss_mb"] - b2b["peak_rss_mb"]}  # fmt: skip


def _fps(logdir: Path) -> float:
    """Median env-steps/s over a run's iterations after the first (which carries warm-up)."""
    run = next(logdir.rglob("metrics.jsonl"))
    rows = [json.loads(line) for line in run.read_text().splitlines() if line.strip()]
    return statistics.median(r["fps"] for r in rows[1:] or rows)


def bench_nproc(tmp: Path, iterations: int, worlds: int) -> dict:
    common = ["--max-iterations", str(iterations)]
    one = measure(robolearn("train", TASK, "--logdir", str(tmp / "one"), "--num-envs", str(2 * worlds), *common,
                            "--env.sim.num-threads", "2", "--agent.torch-threads", "2"))  # fmt: skip
    two = measure(robolearn("train", TASK, "--nproc", "2", "--logdir", str(tmp / "two"), "--num-envs", str(worlds),
                            *common, "--env.sim.num-threads", "1", "--agent.torch-threads", "1"))  # fmt: skip
    # The same worlds on one thread: on a loaded machine the 2-thread process's per-step barrier waits for a
    # descheduled thread (measured 7x slower than this at load ~10 on 2 cores), which ranks do not have.
    single = measure(robolearn("train", TASK, "--logdir", str(tmp / "single"), "--num-envs", str(2 * worlds),
                               *common, "--env.sim.num-threads", "1", "--agent.torch-threads", "1"))  # fmt: skip
    for r, d in ((one, "one"), (two, "two"), (single, "single")):
        r["env_steps_per_s"] = round(_fps(tmp / d))
    return {"one_process_2_threads": one, "one_process_1_thread": single, "nproc_2": two,
            "throughput_ratio": round(two["env_steps_per_s"] / one["env_steps_per_s"], 2),
            "throughput_ratio_vs_1_thread": round(two["env_steps_per_s"] / single["env_steps_per_s"], 2)}  # fmt: skip


def bench_retarget(tmp: Path, frames: int, address: str | None) -> dict:
    common = ["--batch", str(CMU), "--stop", str(frames), "--workers", "2"]
    pool = measure(robolearn("retarget", *common, "--out", str(tmp / "pool")))
    ray = measure(robolearn("retarget", *common, "--out", str(tmp / "ray"), "--ray", address or "local"))
    return {"clips": len(list(CMU.glob("*.bvh"))), "frames_per_clip": frames, "process_pool": pool, "ray": ray,
            "wall_ratio": round(ray["wall_s"] / pool["wall_s"], 2)}  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="*", choices=("sweep", "nproc", "retarget"), default=None)
    p.add_argument("--iterations", type=int, default=5)
    p.add_argument("--worlds", type=int, default=128, help="worlds per run (nproc: per rank)")
    p.add_argument("--frames", type=int, default=300, help="retarget: source frames per clip")
    p.add_argument("--address", default=None, help="Ray cluster address for sweep/retarget (default: local Ray)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "distributed.json")
    a = p.parse_args()
    only = a.only or ["sweep", "nproc", "retarget"]
    result: dict = {"cores": os.cpu_count(), "load_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        if "sweep" in only:
            result["sweep"] = bench_sweep(Path(tmp) / "sweep", a.iterations, a.worlds, a.address)
            print(json.dumps(result["sweep"]), flush=True)
        if "nproc" in only:
            result["nproc"] = bench_nproc(Path(tmp) / "nproc", a.iterations, a.worlds)
            print(json.dumps(result["nproc"]), flush=True)
        if "retarget" in only:
            result["retarget"] = bench_retarget(Path(tmp) / "retarget", a.frames, a.address)
            print(json.dumps(result["retarget"]), flush=True)
    result["load_after"] = os.getloadavg()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = a.out.with_suffix(".tmp")
    tmp_out.write_text(json.dumps(result, indent=2))
    tmp_out.replace(a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
