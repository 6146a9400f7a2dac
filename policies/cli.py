"""Arguments and entry points of `robolearn train | play | eval | export | plot | quickstart`.

Each command is a plain dataclass (tyro builds the parser) and a `main(args) -> int` exit status.
Errors about runs, checkpoints and configs are printed as one clear message, not a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import tyro

from robolearn.core.cfg import EnvCfg
from robolearn.policies.config import PpoCfg
from robolearn.policies.runs import RunError

EXIT_INTERRUPTED = 130


@dataclass
class TrainArgs:
    task: str | None = None
    """Task name (see `robolearn tasks`); not needed with --resume."""
    num_envs: int | None = None
    """Parallel worlds (default: the learner preset's)."""
    max_iterations: int | None = None
    """Total learning iterations (default: the learner preset's)."""
    seed: int = 0
    logdir: Path = Path("runs")
    backend: str = "cpu"
    """Simulation backend: 'cpu' (mjbatch) or 'warp'."""
    device: str = "cpu"
    """Torch device of the learner."""
    resume: Path | None = None
    """A run folder (resumes from its latest checkpoint) or one of its checkpoint files."""
    init_from: Path | None = None
    """A fresh run whose policy and critic start from this run's weights (its latest checkpoint, or the
    checkpoint file named): fine-tuning a trained policy under changed rewards. Same task and network
    shapes; the config is this run's own. PPO-loop learners only."""
    algo: Literal["ppo", "sb3-ppo", "sb3-sac", "hinf", "distill", "skillblender"] | None = None
    """Learner (default: ppo; with --resume, the run's own)."""
    skills: tuple[Path, ...] = ()
    """--algo skillblender: the frozen skills to blend: run folders (runs/H1-Skill-Reach/<run>) or the names of
    pretrained skills (h1-walk, h1-reach, h1-squat, h1-step)."""
    single_weight: bool = False
    """--algo skillblender: one blend weight per skill (the paper's baseline) instead of one per skill and joint."""
    goals_from_zero: bool = False
    """--algo skillblender: every skill's goal starts at zero (each skill holds still; a walker that can stand
    stands) instead of at the output layer's random initialisation."""
    teacher: Path | None = None
    """--algo distill: the PPO run whose policy the student imitates (the task defaults to its task)."""
    run_name: str | None = None
    video: bool = False
    """Record a video of the final policy into the run's videos/."""
    time_limit_min: float | None = None
    """Stop (checkpoint + export) after this many minutes of training wall time."""
    env: EnvCfg | None = None
    """Full env config override (default: the task's)."""
    agent: PpoCfg | None = None
    """Full learner config override (default: the task's preset for the device)."""


@dataclass
class PlayArgs:
    run: tyro.conf.Positional[Path]
    """Run folder or checkpoint file."""
    checkpoint: Path | None = None
    video: Path | None = None
    """Output mp4 (default: <run>/videos/play_<checkpoint>.mp4)."""
    num_envs: int = 4
    """Worlds rendered side by side."""
    steps: int = 250
    seed: int = 1


@dataclass
class EvalArgs:
    run: tyro.conf.Positional[Path]
    checkpoint: Path | None = None
    episodes: int = 100
    seed: int = 10_000
    """Held-out seed (training uses small seeds)."""
    out: Path | None = None
    """eval.json path (default: <run>/eval.json)."""
    disturbance: str = "none"
    """Trunk pushes during eval: none | random:<max N> | impulse:<N> | disturber:<H-infinity run>."""
    suite: str = "auto"
    """auto | default | confined3d: confined3d drives the policy through held-out tunnels of every difficulty
    (success, time to goal, collisions); auto picks it for the Go1-Confined3D tasks."""


@dataclass
class ExportArgs:
    run: tyro.conf.Positional[Path]
    checkpoint: Path | None = None
    out: Path | None = None
    """Output folder (default: the run folder)."""
    pack: Path | None = None
    """Instead of ONNX, write a small copy of the run to this folder: its config and the actor's weights
    (no critic, no optimizer state), which `play`, `eval` and `--skills` load like the run. How the pretrained
    skills in robolearn/assets/skills are made."""


@dataclass
class PlotArgs:
    runs: tyro.conf.Positional[list[Path]] = field(default_factory=lambda: [Path("runs")])
    """Run folders, or folders holding runs."""
    out: Path = Path("learning_curves.png")


@dataclass
class QuickstartArgs:
    logdir: Path = Path("runs")
    max_iterations: int = 150
    num_envs: int = 512


def _guard(fn: Callable[[], int]) -> int:
    try:
        return fn()
    except (RunError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def train_main(args: TrainArgs) -> int:
    from robolearn.policies.train import train

    def run() -> int:
        return EXIT_INTERRUPTED if train(args).interrupted else 0

    return _guard(run)


def play_main(args: PlayArgs) -> int:
    from robolearn.policies.evaluate import play_run

    def run() -> int:
        print(play_run(args.run, args.video, args.num_envs, args.steps, args.checkpoint, args.seed))
        return 0

    return _guard(run)


def eval_main(args: EvalArgs) -> int:
    from robolearn.policies.evaluate import eval_run

    return _guard(
        lambda: (
            eval_run(
                args.run,
                args.episodes,
                args.seed,
                args.checkpoint,
                args.out,
                disturbance=args.disturbance,
                suite=args.suite,
            ),
            0,
        )[1]
    )


def export_main(args: ExportArgs) -> int:
    from robolearn.policies.evaluate import export_run

    def run() -> int:
        if args.pack is not None:
            from robolearn.policies.runs import pack_run

            print(f"wrote {pack_run(args.run, args.pack, args.checkpoint)}")
            return 0
        paths = export_run(args.run, args.checkpoint, args.out)
        print(f"wrote {paths.onnx}\n      {paths.json}\n      {paths.torchscript}")
        return 0

    return _guard(run)


def plot_main(args: PlotArgs) -> int:
    from robolearn.policies.plots import plot_runs

    return _guard(lambda: (print(plot_runs(args.runs, args.out)), 0)[1])


def quickstart_main(args: QuickstartArgs) -> int:
    from robolearn.policies.quickstart import quickstart

    return _guard(lambda: (quickstart(args.logdir, args.max_iterations, args.num_envs), 0)[1])


MAINS: dict[str, tuple[type, Callable[..., int]]] = {
    "play": (PlayArgs, play_main),
    "eval": (EvalArgs, eval_main),
    "export": (ExportArgs, export_main),
    "plot": (PlotArgs, plot_main),
    "quickstart": (QuickstartArgs, quickstart_main),
}


def _algo_flag(argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        if arg.startswith("--algo="):
            return arg.split("=", 1)[1]
        if arg == "--algo" and i + 1 < len(argv):
            return argv[i + 1]
    return "ppo"


def _task_first(argv: list[str]) -> list[str]:
    """`--task X` as the positional `X`: only the positional form builds the task's own config types, which
    `--env.*` / `--agent.*` flags need (with `--task`, tyro could not build a parser for them)."""
    for i, arg in enumerate(argv):
        if arg.startswith("--task="):
            return [arg.split("=", 1)[1], *argv[:i], *argv[i + 1 :]]
        if arg == "--task" and i + 1 < len(argv):
            return [argv[i + 1], *argv[:i], *argv[i + 2 :]]
    return argv


def run(command: str, argv: list[str]) -> int:
    """Parse `argv` for `command` with tyro and run it (the entry point robolearn.cli delegates to)."""
    prog = f"robolearn {command}"
    if command == "train":
        argv = _task_first(argv)
        if argv and not argv[0].startswith("-"):
            # `train <task> ...`: the task's own config types, so every field has a flag.
            from robolearn.policies.setup import default_spec

            task, rest = argv[0], argv[1:]
            algo = _algo_flag(rest)  # the learner's own config type, e.g. HInfCfg for --algo hinf
            env_cfg, agent = default_spec(task, algo, "cpu")
            defaults = TrainArgs(task=task, env=env_cfg, agent=agent, algo=algo)  # type: ignore[arg-type]
            parsed = tyro.cli(
                tyro.conf.AvoidSubcommands[TrainArgs], default=defaults, args=rest, prog=f"{prog} {task}"
            )
            return train_main(parsed)
        return train_main(tyro.cli(TrainArgs, args=argv, prog=prog))
    if command not in MAINS:
        print(f"{prog}: unknown command", file=sys.stderr)
        return 2
    args_type, main = MAINS[command]
    return main(tyro.cli(args_type, args=argv, prog=prog))
