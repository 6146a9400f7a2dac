"""Deploy runtime: one policy step's latency on one core, and sim2sim survival of a trained run.

    python benchmarks/deploy_latency.py                       # latency of Go2-sized policies
    python benchmarks/deploy_latency.py --run runs/Go2-Velocity-Flat/<run> --episodes 20

1. Latency: observation build + ONNX inference (onnxruntime, 1 thread) + safety layer, pinned to
   one core, over `--steps` ticks fed with states from the simulated robot under a random policy.
   Target: total median < 1 ms. Without --run it exports untrained Go2 actors of the CPU preset
   (3x128) and of the shared recipe (512-256-128) through sim2real.export; with --run, the run's.
2. sim2sim (with --run): `--episodes` episodes of `--duration` s at `--latency-ms` on the simulated
   robot (full model, implicitfast 2 ms, PD in the driver), against the training env with the same
   commands. Target: survival >= 95%.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def export_untrained(hidden: tuple[int, ...], out: Path) -> Path:
    """An untrained Go2 actor of the given width, exported through the training helper's export."""
    import dataclasses

    from robolearn.core import ManagerBasedRlEnv
    from robolearn.policies.rsl_rl import RslRlVecEnv
    from robolearn.policies.setup import build_actor
    from robolearn.registry import get_task
    from robolearn.rl import PpoCfg
    from robolearn.sim2real.export import export_policy, policy_metadata

    task = "Go2-Velocity-Flat"
    cfg = dataclasses.replace(get_task(task).env_cfg(), num_envs=2)
    env = ManagerBasedRlEnv(cfg)
    actor = build_actor(RslRlVecEnv(env), PpoCfg(actor_hidden_dims=hidden), "cpu")
    export_policy(actor, policy_metadata(env, task), out)
    return out / "policy.json"


def time_steps(policy_json: Path, steps: int) -> dict[str, np.ndarray]:
    from robolearn.sim2real.deploy import make_controller
    from robolearn.sim2real.robot import VirtualClock
    from robolearn.sim2real.sim_robot import SimRobotCfg, SimulatedRobot

    clock = VirtualClock()
    robot = SimulatedRobot(SimRobotCfg(latency_s=0.0), clock)
    controller = make_controller(policy_json, robot)
    # States the controller will see: a robot moving under the policy (reset when it falls).
    states = []
    controller.reset(robot.read())
    rng = np.random.default_rng(0)
    for _ in range(min(steps, 500)):
        clock.advance(controller.meta.control_period)
        s = robot.read()
        states.append(s)
        robot.write(controller.step(s, rng.uniform(-1, 1, 3).astype(np.float32)))
        if robot.fallen() or controller.safety.status.estop:
            robot.reset()
            controller.reset(robot.read())
    controller.reset(states[0])
    times = np.zeros((steps, 4))
    cmd = np.array([0.5, 0.0, 0.0], dtype=np.float32)
    for i in range(steps):
        s = states[i % len(states)]
        t0 = time.perf_counter_ns()
        controller.step(s, cmd)
        total = time.perf_counter_ns() - t0
        t = controller.times
        times[i] = (t.obs_ns, t.infer_ns, t.safety_ns, total)
        if controller.safety.status.estop:
            controller.reset(s)
    return {k: times[:, j] / 1e3 for j, k in enumerate(("obs build", "inference", "safety", "total step"))}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", type=Path, help="run folder (or policy.json) of a trained Go2 policy")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--noise", type=float, default=1.0, help="sensor noise, x training noise")
    parser.add_argument("--command-scale", type=float, default=1.0)
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    console = Console()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as on a robot's spare core
    policies: dict[str, Path] = {}
    tmp = tempfile.TemporaryDirectory()
    if args.run:
        policies[f"run {args.run.name}"] = (
            args.run if args.run.suffix == ".json" else args.run / "policy.json"
        )
    else:
        for hidden in ((128, 128, 128), (512, 256, 128)):
            name = "-".join(map(str, hidden))
            policies[f"untrained {name}"] = export_untrained(hidden, Path(tmp.name) / name)

    table = Table(title=f"Go2 policy step on one core ({args.steps} steps), microseconds")
    for col in ("policy", "part", "median", "p99", "max"):
        table.add_column(col, justify="left" if col in ("policy", "part") else "right")
    for name, path in policies.items():
        for part, t in time_steps(path, args.steps).items():
            table.add_row(name, part, f"{np.median(t):.1f}", f"{np.percentile(t, 99):.1f}", f"{t.max():.1f}")
    console.print(table)

    if not args.run:
        console.print("sim2sim survival needs --run <trained Go2 run folder>")
        return
    from robolearn.policies.evaluate import run_env_cfg
    from robolearn.sim2real.cli import print_report
    from robolearn.sim2real.sim2sim import Sim2SimCfg, run_sim2sim, run_train_env

    cfg = Sim2SimCfg(episodes=args.episodes, duration_s=args.duration, latency_ms=args.latency_ms,
                     noise=args.noise, command_scale=args.command_scale)  # fmt: skip
    t0 = time.perf_counter()
    report = {"sim2sim": run_sim2sim(args.run, cfg)}
    t1 = time.perf_counter()
    report["train_env"] = run_train_env(args.run, cfg, run_env_cfg)
    print_report(report, cfg)
    ticks = report["sim2sim"]["ticks"]
    console.print(f"sim2sim wall time {t1 - t0:.1f} s for {ticks} ticks ({(t1 - t0) / max(ticks, 1) * 1e3:.2f} ms/tick "
                  f"including physics at {cfg.timestep * 1e3:g} ms); target survival >= 95%")  # fmt: skip


if __name__ == "__main__":
    main()
