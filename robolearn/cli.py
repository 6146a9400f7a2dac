"""The `robolearn` command.

    robolearn list                                   tasks, robots and backends
    robolearn bench <task> [--env.num-envs 512 ...]  env-steps/s and the ratio to raw physics
    robolearn play <task> --random --video out.mp4   a video of a batch of worlds
    robolearn play <run> --video out.mp4             a trained policy (see `train`)
    robolearn quickstart                             the whole loop on a small budget
    robolearn train|eval|export|plot|retarget ...    learners, evaluation, export, retargeting

Every field of a task's config can be overridden: `--env.sim.dt 0.005`,
`--env.rewards.track-lin-vel-xy.weight 2.0`; `robolearn <command> <task> --help` lists them.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tyro

from robolearn.core.cfg import EnvCfg

COMMANDS = {
    "list": "list tasks, robots and sim backends",
    "bench": "measure env-steps/s of a task against raw physics",
    "play": "render a video of a task (random actions) or of a trained run",
    "quickstart": "train, evaluate and export a small Go2 policy end to end",
    "train": "train a policy on a task (PPO on rsl-rl; SB3 PPO/SAC)",
    "eval": "evaluate a run on held-out seeds",
    "export": "export a run's policy (ONNX + policy.json)",
    "plot": "plot learning curves of runs",
    "retarget": "retarget human motion to a robot",
    "demos": "generate demonstrations (keyposes + IK + augmentation) into a LeRobot-format dataset",
    "deploy": "run an exported policy on a robot or, with --sim2sim, on a simulated one",
}

IMITATION_ALGOS = ("diffusion", "bc")


@dataclass
class BenchArgs:
    """Measure env-steps/s of the task (observations, rewards, resets, random actions) against raw
    mjbatch stepping of the same model with the same substeps."""

    env: EnvCfg
    steps: int = 0
    """Env steps per timed run (0: about 60k env-steps)."""
    repeats: int = 3
    """Timed runs; the median is printed."""


@dataclass
class PlayArgs:
    """Render a batch of worlds of a task to an mp4."""

    env: EnvCfg
    random: bool = False
    """Random actions (no policy needed)."""
    video: Path = Path("play.mp4")
    steps: int = 150
    """Policy steps to simulate."""
    worlds: int = 4
    """Worlds shown side by side."""


def _print_list() -> int:
    from rich.console import Console
    from rich.table import Table

    from robolearn.registry import get_task, task_names
    from robolearn.robots import ROBOTS
    from robolearn.sim import BACKENDS

    console = Console()
    tasks = Table(title="tasks")
    tasks.add_column("task", no_wrap=True)
    tasks.add_column("gymnasium id", no_wrap=True)
    tasks.add_column("description")
    for name in task_names():
        tasks.add_row(name, f"robolearn/{name}-v0", get_task(name).description)
    robots = Table(title="robots (mujoco-menagerie)")
    for col in ("robot", "menagerie", "model", "training model", "description"):
        robots.add_column(col, no_wrap=col != "description")
    for r in ROBOTS.values():
        robots.add_row(r.name, r.menagerie, r.model, r.fast_model or r.model, r.description)
    from robolearn.envs.manipulation.aloha import TASKS as IMITATION_TASKS

    for name, task in IMITATION_TASKS.items():
        doc = (getattr(task, "description", "") or "").strip()
        tasks.add_row(name, "-", f"{doc} (imitation: robolearn demos / train --algo diffusion|bc)".strip())
    console.print(tasks, robots)
    console.print(
        "sim backends: " + ", ".join(BACKENDS) + " (cpu = mjbatch, default; warp = mujoco-warp GPU)"
    )
    return 0


def _task_cli(command: str, args_type: type, argv: list[str], description: str) -> tuple[str, Any]:
    from robolearn.registry import get_task, task_names

    if not argv or argv[0].startswith("-"):
        if argv and argv[0] in ("-h", "--help"):
            print(
                f"usage: robolearn {command} TASK [OPTIONS]\n\n{description}\n\ntasks: {', '.join(task_names())}"
            )
            raise SystemExit(0)
        raise SystemExit(f"robolearn {command}: give a task first; valid tasks: {', '.join(task_names())}")
    task, rest = argv[0], argv[1:]
    cfg = get_task(task).env_cfg()
    defaults = args_type(env=cfg)
    parsed = tyro.cli(args_type, default=defaults, args=rest, prog=f"robolearn {command} {task}")
    return task, parsed


def _bench(argv: list[str]) -> int:
    import os

    import torch
    from rich.console import Console
    from rich.table import Table

    from robolearn.bench import bench_task

    task, args = _task_cli("bench", BenchArgs, argv, BenchArgs.__doc__ or "")
    torch.set_num_threads(1)
    console = Console()
    with console.status(f"benchmarking {task} with {args.env.num_envs} worlds..."):
        r = bench_task(args.env, args.steps, args.repeats)
    table = Table(title=f"{task}: median of {args.repeats} runs ({os.cpu_count()} cores)")
    for col in ("N", "threads", "substeps", "raw physics steps/s", "env steps/s", "ratio"):
        table.add_column(col, justify="right")
    threads = args.env.sim.num_threads or os.cpu_count()
    table.add_row(
        str(r.num_envs), str(threads), str(r.decimation), f"{r.raw:,.0f}", f"{r.env:,.0f}", f"{r.ratio:.2f}"
    )
    console.print(table)
    return 0


def _play(argv: list[str]) -> int:
    if argv and not argv[0].startswith("-") and Path(argv[0]).exists():  # a run folder or checkpoint file
        return _delegate("play", argv)
    task, args = _task_cli("play", PlayArgs, argv, PlayArgs.__doc__ or "")
    if not args.random:
        raise SystemExit(
            f"robolearn play {task}: pass --random for random actions, or give a run folder instead of a task"
        )
    import torch

    from robolearn.core.env import ManagerBasedRlEnv
    from robolearn.render import render_env_video

    env = ManagerBasedRlEnv(dataclasses.replace(args.env, num_envs=max(args.worlds, 1)))
    gen = torch.Generator().manual_seed(args.env.seed)
    path = render_env_video(env, lambda obs: 0.5 * torch.randn(env.num_envs, env.num_actions, generator=gen),
                            args.video, steps=args.steps, worlds=args.worlds)  # fmt: skip
    print(f"wrote {path}")
    return 0


def _positional_task(argv: list[str]) -> list[str]:
    """`<command> <task> ...` for commands whose args dataclass has a `--task` field."""
    return ["--task", *argv] if argv and not argv[0].startswith("-") else argv


def _is_imitation(argv: list[str]) -> bool:
    if "--algo" in argv[:-1]:
        return argv[argv.index("--algo") + 1] in IMITATION_ALGOS
    if argv and Path(argv[0], "config.yaml").is_file():  # eval of a run folder: its config names the algo
        import yaml

        return (yaml.safe_load(Path(argv[0], "config.yaml").read_text()) or {}).get("algo") in IMITATION_ALGOS
    return False


def _delegate(command: str, argv: list[str]) -> int:
    """Commands implemented by the learner, imitation, retargeting and sim2real packages."""
    if command == "retarget":
        from robolearn.retarget import cli as retarget_cli

        return retarget_cli.main(tyro.cli(retarget_cli.RetargetArgs, args=argv, prog="robolearn retarget"))
    if command == "deploy":
        from robolearn.sim2real import cli as deploy_cli

        return deploy_cli.main(tyro.cli(deploy_cli.DeployArgs, args=argv, prog="robolearn deploy"))
    if command == "demos":
        from robolearn.policies import imitation_demos

        args = tyro.cli(imitation_demos.DemosArgs, args=_positional_task(argv), prog="robolearn demos")
        return imitation_demos.main(args)
    if command in ("train", "eval") and _is_imitation(argv):
        from robolearn.policies import imitation

        if command == "train":
            targs = tyro.cli(
                imitation.ImitationTrainArgs, args=_positional_task(argv), prog="robolearn train"
            )
            return imitation.train_main(targs)
        eargs = tyro.cli(imitation.ImitationEvalArgs, args=["--run", *argv], prog="robolearn eval")
        return imitation.eval_main(eargs)
    try:
        from robolearn.policies import cli as policies_cli
    except ImportError as exc:
        raise SystemExit(f"robolearn {command}: the learners are not installed ({exc})") from exc
    return policies_cli.run(command, argv)


def _quickstart(argv: list[str]) -> int:
    try:
        from robolearn.policies import cli as policies_cli
    except ImportError:
        policies_cli = None
    if policies_cli is not None and hasattr(policies_cli, "run"):
        return policies_cli.run("quickstart", argv)
    return _sim_quickstart()


def _sim_quickstart() -> int:
    """Build the Go2 env, measure it and write a short video (the loop without a learner)."""
    import torch

    from robolearn.bench import bench_task
    from robolearn.core.env import ManagerBasedRlEnv
    from robolearn.registry import get_task

    cfg = get_task("Go2-Velocity-Flat").env_cfg()
    cfg.num_envs = 256
    r = bench_task(cfg, steps=100, repeats=1)
    print(f"Go2-Velocity-Flat, 256 worlds: {r.env:,.0f} env-steps/s ({r.ratio:.2f}x raw physics)")
    env = ManagerBasedRlEnv(dataclasses.replace(cfg, num_envs=4))
    from robolearn.render import render_env_video

    path = render_env_video(
        env, lambda obs: 0.5 * torch.randn(4, env.num_actions), "quickstart/random.mp4", steps=100
    )
    print(f"video: {path.resolve()}")
    return 0


def _usage() -> str:
    lines = [__doc__ or "", "commands:"]
    lines += [f"  {name:<11} {text}" for name, text in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except (KeyError, ValueError, FileNotFoundError, RuntimeError) as exc:
        # User-facing errors (unknown task/robot, bad files, bad shapes): the message, not a traceback.
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"robolearn: error: {message}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    command, rest = argv[0], argv[1:]
    handlers = {"list": lambda a: _print_list(), "bench": _bench, "play": _play, "quickstart": _quickstart}
    if command in handlers:
        return handlers[command](rest)
    if command in COMMANDS:
        return _delegate(command, rest)
    print(f"robolearn: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
