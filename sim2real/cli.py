"""`robolearn deploy`: run an exported policy on the simulated robot (sim2sim) or on a Unitree Go2.

    robolearn deploy runs/Go2-Velocity-Flat/<run> --sim2sim --latency-ms 20 --duration 20 --video out.mp4
    robolearn deploy runs/.../policy.json --robot unitree-go2 --interface enp3s0 --command 0.5 0 0
    robolearn deploy runs/imitate/<run>/export --robot unitree-g1 --interface enp3s0    (a tracking policy)

`DeployArgs` is a plain dataclass (tyro builds the parser); `main(args)` returns the exit status;
`cli(argv)` parses and runs without the rest of robolearn (`python -m robolearn.sim2real.cli <policy> --sim2sim`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import tyro

from robolearn.sim2real.safety import SafetyCfg
from robolearn.sim2real.schema import PolicySpecError

if TYPE_CHECKING:
    from robolearn.sim2real.sim2sim import RunEnvCfg

EXIT_INTERRUPTED = 130
EXIT_CHECKS_FAILED = 1
"""sim2sim ran but failed its checks (a fall, an e-stop, a non-finite metric); usage errors exit 2."""


@dataclass
class DeployArgs:
    """Run an exported policy on a robot or, with --sim2sim, on a simulated one."""

    policy: Annotated[Path, tyro.conf.Positional]
    """Run folder or policy.json (policy.onnx must sit next to it), or an Isaac Lab run folder (params/env.yaml,
    exported/policy.onnx) with --sim2sim."""
    sim2sim: bool = False
    """Run on the simulated robot (full MuJoCo model, PD in the motor driver, latency, noise)."""
    robot: Literal["sim", "unitree-go2", "unitree-g1"] = "sim"
    """Robot interface; with --sim2sim, 'unitree-go2' / 'unitree-g1' drive the simulation through that robot's
    LowCmd/LowState mapping."""
    interface: str | None = None
    """Network interface of the robot's DDS link (real Unitree robot only), e.g. enp3s0."""
    duration: float = 20.0
    """Seconds per episode."""
    episodes: int = 1
    command: tuple[float, ...] | None = None
    """Fixed command (e.g. vx vy yaw-rate). Unset: sim2sim draws one per episode from the trained ranges;
    a real robot takes it from the Unitree remote's sticks (L2+B is an e-stop)."""
    latency_ms: float = 20.0
    """sim2sim: delay from a command's write to the motors."""
    latency_jitter_ms: float = 0.0
    """sim2sim: extra uniform delay per command, in [0, latency-jitter-ms]."""
    push: float = 0.0
    """sim2sim: random horizontal base velocity kicks (m/s half-width) every 8-12 s; 0 disables."""
    noise: float = 0.0
    """sim2sim: sensor noise as a multiple of the training observation noise (0 none, 1 as trained)."""
    timestep: float = 0.002
    """sim2sim physics timestep (training used 0.004)."""
    integrator: str = "implicitfast"
    """sim2sim integrator (training used Euler)."""
    realtime: bool = True
    """Tick at wall-clock rate (real jitter); --no-realtime runs sim2sim as fast as possible."""
    compare: bool = True
    """sim2sim: also run the policy in the training env and print the gap."""
    ladder: bool = False
    """sim2sim: attribute the gap, adding one difference at a time to the training setup (not real time)."""
    video: Path | None = None
    """sim2sim: mp4 of the first episode."""
    out: Path | None = None
    """Write the report as JSON here."""
    min_survival: float = 1.0
    """sim2sim: exit 1 when fewer than this fraction of episodes survive (a fall past 1.2 rad tilt or a safety
    e-stop ends one) or a tracking error is not finite; 1.0: every episode must stay up."""
    seed: int = 0
    max_target_step: float = 0.35
    """Safety: largest joint-target change per tick (rad)."""
    tilt_limit: float = 1.0
    """Safety: base tilt (rad) that trips the e-stop."""
    cpu: int | None = None
    """Pin the loop to this CPU core (Linux), away from the robot's other processes."""
    stand_s: float = 2.0
    """Real robot: seconds to ramp from the measured pose to the default pose before the policy starts."""


def cli(argv: list[str] | None = None, run_env_cfg: RunEnvCfg | None = None) -> int:
    """`python -m robolearn.sim2real.cli`: the deploy verb alone, for a robot's computer, which needs only
    numpy + onnxruntime (`robolearn deploy` is the same class and `main` in the one command tree)."""
    return main(tyro.cli(DeployArgs, args=argv, prog="robolearn deploy"), run_env_cfg)


def main(args: DeployArgs, run_env_cfg: RunEnvCfg | None = None) -> int:
    """`run_env_cfg` reads a run folder's env config for --compare (sim2real sits below the learners, which
    own run folders: the top-level CLI passes robolearn.policies.evaluate.run_env_cfg)."""
    try:
        if args.sim2sim or (args.robot == "sim" and args.interface is None):
            return _sim2sim(args, run_env_cfg)
        return _real(args)
    except (PolicySpecError, FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _safety(args: DeployArgs) -> SafetyCfg:
    return SafetyCfg(max_target_step=args.max_target_step, tilt_limit=args.tilt_limit)


def _sim2sim(args: DeployArgs, run_env_cfg: RunEnvCfg | None) -> int:
    from robolearn.sim2real.sim2sim import (
        Sim2SimCfg,
        check_min_survival,
        policy_paths,
        run_sim2sim,
        run_train_env,
        sim2sim_checks,
    )

    check_min_survival(args.min_survival)  # before minutes of simulation, not after
    cfg = Sim2SimCfg(
        episodes=args.episodes, duration_s=args.duration, latency_ms=args.latency_ms,
        latency_jitter_ms=args.latency_jitter_ms, push=args.push, noise=args.noise,
        timestep=args.timestep, integrator=args.integrator, command=args.command, realtime=args.realtime,
        robot=args.robot, seed=args.seed, video=args.video, safety=_safety(args),
    )  # fmt: skip
    from robolearn.sim2real.isaaclab_run import is_isaaclab_run

    isaaclab = is_isaaclab_run(args.policy)
    if isaaclab:  # read and checked whole (unsupported terms, joints, network shape) before anything moves
        from robolearn.sim2real.isaaclab_run import CHECKED_ORDER, load_isaaclab_run

        meta = load_isaaclab_run(args.policy).meta
        if meta.robot not in CHECKED_ORDER:
            print(f"note: joint order: {meta.extra['isaaclab']['joint_order']}", file=sys.stderr)
    elif "motion" in policy_paths(args.policy)[1].extra:
        return _tracking_sim2sim(args, cfg)
    report: dict[str, Any] = {"sim2sim": run_sim2sim(args.policy, cfg)}
    # An Isaac Lab run has no robolearn training env to compare with: its env is Isaac Lab's.
    if args.compare and not isaaclab:
        report["train_env"] = run_train_env(args.policy, cfg, run_env_cfg)
    print_report(report, cfg)
    if args.ladder:
        from robolearn.sim2real.sim2sim import gap_ladder

        report["ladder"] = dict(gap_ladder(args.policy, cfg))
        print_ladder(report["ladder"], report.get("train_env"))
    failures = sim2sim_checks(report["sim2sim"], args.min_survival)
    report["checks"] = {"min_survival": args.min_survival, "passed": not failures, "failures": failures}
    if args.out:
        write_report(args.out, report)
    if failures:
        print("sim2sim failed its checks: " + "; ".join(failures), file=sys.stderr)
        return EXIT_CHECKS_FAILED
    return 0


def _tracking_sim2sim(args: DeployArgs, cfg: Any) -> int:
    """A motion-tracking policy (policy.json names a reference motion): episodes play its clips, the reference
    advancing in time; success and MPJPE per clip. The training env's figures are `robolearn eval <run>`'s."""
    from rich.console import Console
    from rich.table import Table

    from robolearn.sim2real.tracking_sim2sim import run_tracking_sim2sim

    report = {"sim2sim": run_tracking_sim2sim(args.policy, cfg)}
    s = report["sim2sim"]
    table = Table(title=f"sim2sim (tracking): {s['episodes']} episode(s), latency {cfg.latency_ms:g} ms, "
                        f"noise x{cfg.noise:g}, {cfg.integrator} @ {cfg.timestep * 1e3:g} ms")  # fmt: skip
    cols = ("success", "mpjpe_mm", "root_mpjpe_mm", "anchor_pos_m", "mean_time_s")
    table.add_column("clip")
    for c in cols:
        table.add_column(c.replace("_", " "), justify="right")
    for clip, v in [*s["per_clip"].items(), ("all", s)]:
        table.add_row(clip, *(f"{v[c]:.3g}" for c in cols))
    Console().print(table)
    if s.get("video"):
        print(f"wrote {s['video']}")
    failures = [] if s["success"] >= args.min_survival else [
        f"success {s['success']:.0%} of {s['episodes']} episode(s) is below the required {args.min_survival:.0%} "
        f"({'; '.join(s['failures']) or 'none recorded'})"]  # fmt: skip
    report["checks"] = {"min_survival": args.min_survival, "passed": not failures, "failures": failures}
    if args.out:
        write_report(args.out, report)
    if failures:
        print("sim2sim failed its checks: " + "; ".join(failures), file=sys.stderr)
        return EXIT_CHECKS_FAILED
    return 0


def write_report(path: Path, report: dict[str, Any]) -> None:
    """The JSON report, written whole or not at all (a temp file renamed over the target)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(report, indent=2))
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def print_report(report: dict[str, Any], cfg: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    s, t = report["sim2sim"], report.get("train_env")
    latency = f"{cfg.latency_ms:g}" + (f"+U(0,{cfg.latency_jitter_ms:g})" if cfg.latency_jitter_ms else "")
    push = f", pushes ±{cfg.push:g} m/s" if cfg.push else ""
    table = Table(
        title=f"sim2sim: {s['episodes']} x {cfg.duration_s:g} s, latency {latency} ms, noise x{cfg.noise:g}"
        f"{push}, {cfg.integrator} @ {cfg.timestep * 1e3:g} ms"
    )
    table.add_column("metric")
    table.add_column("sim2sim", justify="right")
    if t:
        table.add_column("train env", justify="right")
        table.add_column("gap", justify="right")
    for key, fmt in (("survival", "{:.0%}"), ("mean_time_s", "{:.1f}"), ("error_vel_xy", "{:.3f}"),
                     ("error_vel_yaw", "{:.3f}")):  # fmt: skip
        row = [key, fmt.format(s[key])]
        if t:
            row += [fmt.format(t[key]), f"{s[key] - t[key]:+.3f}"]
        table.add_row(*row)
    for key in ("jitter_median_ms", "jitter_p99_ms", "work_median_ms", "work_p99_ms"):
        value = s[key]
        table.add_row(key, "n/a" if value is None else f"{value:.3f}", *([""] * (2 if t else 0)))
    table.add_row("overruns", f"{s['overruns']} / {s['ticks']}", *([""] * (2 if t else 0)))
    table.add_row("safety-clipped ticks", f"{s['safety_clipped_fraction']:.1%}", *([""] * (2 if t else 0)))
    console = Console()
    console.print(table)
    if s["failures"]:
        console.print(f"sim2sim failures: {s['failures']}")
    if s.get("video"):
        console.print(f"wrote {s['video']}")


def print_ladder(ladder: dict[str, dict[str, Any]], train_env: dict[str, Any] | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="sim2sim gap, one difference at a time")
    for col in ("setup", "survival", "error_vel_xy", "error_vel_yaw"):
        table.add_column(col, justify="left" if col == "setup" else "right")
    rows = ([("training env (mjbatch)", train_env)] if train_env else []) + list(ladder.items())
    for name, r in rows:
        table.add_row(name, f"{r['survival']:.0%}", f"{r['error_vel_xy']:.3f}", f"{r['error_vel_yaw']:.3f}")
    Console().print(table)


def _unitree(robot: str, interface: str, joints: list[str]) -> tuple[Any, Any]:
    """(UnitreeRobot, transport) of a real Unitree robot over DDS."""
    from robolearn.sim2real.unitree import Sdk2Transport, UnitreeRobot

    if robot == "unitree-g1":
        from robolearn.sim2real.unitree_g1 import (
            G1_JOINTS,
            G1_MOTOR_JOINTS,
            G1Sdk2Transport,
            g1_limits,
            g1_low_cmd,
        )

        g1 = G1Sdk2Transport(interface)
        return UnitreeRobot(g1, joints, G1_JOINTS, G1_MOTOR_JOINTS, limits=g1_limits, new_cmd=g1_low_cmd), g1
    go2 = Sdk2Transport(interface)
    return UnitreeRobot(go2, joints), go2


REAL_ROBOTS = {"unitree-go2": "go2", "unitree-g1": "g1"}
"""--robot value -> the robot name a policy.json must carry."""


def _real(args: DeployArgs) -> int:
    """A real Unitree Go2 or G1 over DDS: stand up (to the reference's first pose for a tracking policy), then
    run the policy at its control rate; a tracking policy runs for its clip, the reference advancing."""
    import numpy as np

    from robolearn.sim2real.deploy import DeployLoop, constant_command, make_controller, stand_up
    from robolearn.sim2real.robot import WallClock
    from robolearn.sim2real.schema import load_metadata
    from robolearn.sim2real.unitree import GamepadCommand

    if args.robot not in REAL_ROBOTS:
        raise ValueError(f"--robot {args.robot!r} is not a real robot; use --sim2sim or --robot "
                         f"{' / '.join(REAL_ROBOTS)}")  # fmt: skip
    if not args.interface:
        raise ValueError(f"--robot {args.robot} needs --interface <nic> (the network interface to the robot)")
    from robolearn.sim2real.isaaclab_run import is_isaaclab_run

    if is_isaaclab_run(args.policy):
        raise ValueError(f"{args.policy}: an Isaac Lab run folder runs in --sim2sim and eval; for the robot, convert "
                         f"it to policy.json + policy.onnx first: robolearn export {args.policy}")  # fmt: skip
    meta = load_metadata(args.policy)
    if meta.robot != REAL_ROBOTS[args.robot]:
        raise ValueError(f"{args.policy}: the policy was trained for {meta.robot!r}, not {args.robot}")
    if args.command is not None and len(args.command) != len(meta.commands):
        raise ValueError(f"--command needs {len(meta.commands)} values ({[c.name for c in meta.commands]})")
    if args.cpu is not None:
        import os

        os.sched_setaffinity(0, {args.cpu})
    robot, transport = _unitree(args.robot, args.interface, meta.joint_names)
    pad = GamepadCommand([c.range for c in meta.commands])
    # A fixed --command, or the remote's sticks; the remote's L2+B is an e-stop either way.
    command = (constant_command(np.asarray(args.command)) if args.command is not None
               else lambda t: pad.command(transport.gamepad()))  # fmt: skip

    def operator(lp: DeployLoop) -> bool:
        if pad.estop(transport.gamepad()):
            lp.controller.safety.trip("operator e-stop (L2+B on the remote)")
        return not lp.estopped

    try:
        controller = make_controller(args.policy, robot, _safety(args))
        # Every observation term from this robot's state before a motor moves (a missing estimator fails here).
        controller.preflight(robot.read(), np.zeros(len(meta.commands), dtype=np.float32))
        ref = controller.reference
        goal = None if ref is None else ref.joint_pos[ref.frame(0.0)]
        clock = WallClock()
        if not stand_up(robot, controller, clock, args.stand_s, goal):
            print(f"e-stop while standing up: {controller.safety.status.reason}", file=sys.stderr)
            return 1
        loop = DeployLoop(robot, controller, clock, command)
        stats = loop.run(args.duration if ref is None else ref.duration_s, operator)
        summary = stats.summary()
        if loop.estopped:
            # The tick that tripped had already written its command: follow it with the damping command.
            robot.write(controller.safety.command(np.zeros(meta.num_joints), robot.read()))
            print(f"e-stop: {controller.safety.status.reason}", file=sys.stderr)
        print(json.dumps(summary, indent=2))
        return 1 if loop.estopped else 0
    finally:
        robot.close()


if __name__ == "__main__":
    raise SystemExit(cli())
