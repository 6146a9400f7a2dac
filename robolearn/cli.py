"""The `robolearn` command: one tyro subcommand tree, one argument class per verb.

    robolearn list                                   tasks, robots and backends
    robolearn bench <task> [--num-envs 512 ...]      env-steps/s and the ratio to raw physics
    robolearn play <task> --random --video out.mp4   a video of a batch of worlds
    robolearn train <task> [--env.* --agent.* ...]   train (robolearn train <task> --help lists every flag)
    robolearn sweep <task> --seeds 0 1 --set ...     a grid of trainings on Ray, summarised and plotted
    robolearn play|eval|export <run>                 a trained run
    robolearn quickstart                             the whole loop on a small budget
    robolearn imitate <motion> --robot g1            human motion to a deployed tracking policy

A verb is one function, `<verb>_main(args: <Verb>Args) -> int`, listed in `verbs()`; its argument class
is the annotation, the class's docstring its help. Verbs whose flags depend on the positional task or run
(`--env.*`, `--agent.*`) are parsed twice, both times by tyro: the first parse reads the positional and
--algo, the args' `cli_defaults()` builds the task's (or run's) configs, and the second parse lays the
flags over them, so `robolearn train <task> --help` lists the task's fields. Short flags (`--num-envs`,
`--seed`, `--backend`, `--max-iterations`) are aliases of config fields (robolearn.overrides).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Union

try:
    # Start-up: `import robolearn.cli` takes 2.7 s on an idle machine (5-6 s loaded), 2.1 s of it torch (through
    # robolearn.core's action terms) and 0.3 s MuJoCo, all under EnvCfg; tyro needs the config classes to
    # build the flags. A Ctrl-C in there is answered as one during a command is (main below): one line, 130.
    import tyro

    from robolearn.core.cfg import EnvCfg
    from robolearn.sim2real.cli import DeployArgs
except KeyboardInterrupt:
    print("robolearn: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

DESCRIPTION = "Robot learning on batched MuJoCo: train, play, evaluate, export and deploy policies."


@dataclass
class ListArgs:
    """List tasks, robots and sim backends."""


@dataclass
class BenchArgs:
    """Measure a task's env-steps/s against raw physics: the env (observations, rewards, resets, random
    actions) against mjbatch stepping the same model with the same substeps."""

    task: Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="TASK")]
    """Task name (see `robolearn list`), right after the verb: its config is what --env.* overrides."""
    env: tyro.conf.AvoidSubcommands[EnvCfg | None] = None
    """The task's env config; every field is a flag."""
    remove: tuple[str, ...] = ()
    """Dict entries to delete (see `robolearn train --help`)."""
    steps: int = 0
    """Env steps per timed run (0: about 60k env-steps)."""
    repeats: int = 3
    """Timed runs; the median is printed."""
    train: int = 0
    """Also train the task's PPO preset for this many iterations (in a temporary folder) and print where
    the wall time went and training's env-steps/s against the raw physics measured here."""

    def cli_defaults(self) -> BenchArgs | None:
        from robolearn.registry import get_task, task_names

        if self.task not in task_names():
            return None  # bench_main names the valid tasks
        return BenchArgs(task=self.task, env=get_task(self.task).env_cfg())


WIDE_LIST = 140
"""Terminal columns from which `robolearn list` gives the gymnasium ids a column of their own (the longest
task name, id and a 50-column description); narrower, the id's pattern is the table's caption."""


def list_main(args: ListArgs) -> int:
    from rich.console import Console
    from rich.table import Table

    from robolearn.registry import get_task, task_names
    from robolearn.robots import ROBOTS
    from robolearn.sim import BACKENDS

    # Names never wrap (they are typed back); descriptions wrap, never cut to "...": at 80 columns (a pipe's
    # width too) the fixed columns leave them 45 (tasks) and 28 (robots) columns.
    console = Console()
    wide = console.width >= WIDE_LIST
    tasks = Table(title="tasks", caption=None if wide else "rl tasks are gymnasium ids robolearn/<task>-v0")
    tasks.add_column("task", no_wrap=True)
    if wide:
        tasks.add_column("gymnasium id", no_wrap=True)
    tasks.add_column("description", overflow="fold", ratio=1)
    for name in task_names():
        spec = get_task(name)
        how = (
            ""
            if spec.kind == "rl"
            else f" ({spec.kind}: robolearn demos, then train; default {spec.default_algo})"
        )
        gym = [f"robolearn/{name}-v0" if spec.kind == "rl" else "-"] if wide else []
        tasks.add_row(name, *gym, spec.description + how)
    robots = Table(title="robots (mujoco-menagerie)")
    for col in ("robot", "menagerie", "model (training)"):
        robots.add_column(col, no_wrap=True)
    robots.add_column("description", overflow="fold", ratio=1)
    for r in ROBOTS.values():
        model = f"{r.model} ({r.fast_model})" if r.fast_model else r.model
        robots.add_row(r.name, r.menagerie, model, r.description)
    console.print(tasks, robots)
    console.print(
        "sim backends: " + ", ".join(BACKENDS) + " (cpu = mjbatch, default; warp = mujoco-warp GPU)"
    )
    return 0


def deploy_main(args: DeployArgs) -> int:
    from robolearn.policies.evaluate import run_env_cfg
    from robolearn.sim2real.cli import main

    # sim2real sits below the learners, which own run folders: --compare gets the run's env config from here.
    return main(args, run_env_cfg)


def bench_main(args: BenchArgs) -> int:
    import os

    import torch
    from rich.console import Console
    from rich.table import Table

    from robolearn.bench import bench_task
    from robolearn.overrides import remove_entries
    from robolearn.registry import get_task

    if args.env is None:
        get_task(args.task)  # an unknown task: the error lists the valid ones
    assert args.env is not None
    remove_entries({"env": args.env}, args.remove)
    torch.set_num_threads(1)
    console = Console()
    with console.status(f"benchmarking {args.task} with {args.env.num_envs} worlds..."):
        r = bench_task(args.env, args.steps, args.repeats)
    table = Table(title=f"{args.task}: median of {args.repeats} runs ({os.cpu_count()} cores)")
    for col in ("N", "threads", "substeps", "raw physics steps/s", "env steps/s", "ratio"):
        table.add_column(col, justify="right")
    threads = args.env.sim.num_threads or os.cpu_count()
    table.add_row(
        str(r.num_envs), str(threads), str(r.decimation), f"{r.raw:,.0f}", f"{r.env:,.0f}", f"{r.ratio:.2f}"
    )
    console.print(table)
    if args.train > 0:
        from robolearn.policies.cli import _guard
        from robolearn.policies.throughput import bench_training

        def train_and_report() -> int:
            console.print("\n".join(bench_training(args.task, args.env, args.train, r.raw)))
            return 0

        return _guard(train_and_report)
    return 0


def verbs() -> dict[str, Callable[[Any], int]]:
    """Every verb, in the order `robolearn --help` lists them."""
    from robolearn.policies import cli as learners, imitation_demos, sweep
    from robolearn.policies.imitate import cli as imitate
    from robolearn.retarget import cli as retarget

    return {
        "train": learners.train_main,
        "sweep": sweep.sweep_main,
        "play": learners.play_main,
        "eval": learners.eval_main,
        "export": learners.export_main,
        "deploy": deploy_main,
        "retarget": retarget.main,
        "demos": imitation_demos.main,
        "imitate": imitate.main,
        "bench": bench_main,
        "plot": learners.plot_main,
        "list": list_main,
        "quickstart": learners.quickstart_main,
    }


def args_type(main: Callable[[Any], int]) -> type:
    """A verb's argument class: the annotation of its main function's one parameter."""
    hints = typing.get_type_hints(main)
    return next(t for name, t in hints.items() if name != "return")


def tree(types: dict[str, type], defaults: dict[str, Any]) -> Any:
    """The subcommand tree: one subcommand per verb, with the verb's defaults where a first parse made them."""
    members = [
        Annotated[cls, tyro.conf.subcommand(name, default=defaults[name])]
        if name in defaults
        else Annotated[cls, tyro.conf.subcommand(name)]
        for name, cls in types.items()
    ]
    return Union[tuple(members)]  # noqa: UP007 (a runtime Union of a built tuple)


def _demo_family(argv: list[str]) -> tuple[Callable[[Any], int], Any] | None:
    """`robolearn demos <family> ...`: a task family's own demo command (robolearn.registry.register_demo_family)."""
    if len(argv) < 2 or argv[0] != "demos":
        return None
    from robolearn.registry import demo_families

    family = demo_families().get(argv[1])
    if family is None:
        return None
    module, _, function = family[0].partition(":")
    return getattr(importlib.import_module(module), function), argv[2:]


def parse(argv: list[str]) -> tuple[Callable[[Any], int], Any]:
    """(the verb's main, its parsed args). Exits with tyro's message (status 2) on bad flags, 0 on --help."""
    from robolearn.overrides import UnknownFlagError, alias_registry, flag_names, unknown_flags_message

    family = _demo_family(argv)
    if family is not None:
        return family
    mains = verbs()
    types = {name: args_type(main) for name, main in mains.items()}
    defaults: dict[str, Any] = {}
    try:
        # First parse: the verb and its positional, flags of task-dependent configs left unknown. Help and
        # errors are the second parse's to print (a verb's help needs the task's configs).
        with contextlib.redirect_stderr(io.StringIO()):  # tyro prints a parser-building error regardless
            head, _ = tyro.cli(tree(types, {}), args=argv, return_unknown_args=True, add_help=False,
                               console_outputs=False)  # fmt: skip
    except SystemExit:
        head = None
    # An optional positional not yet read when the first parse meets an unknown flag comes back as "[]"
    # (tyro 1.0): cli_defaults() treats a task it does not know as absent; the second parse reads it right.
    if head is not None and hasattr(head, "cli_defaults"):
        default = head.cli_defaults()
        if default is not None:
            defaults[next(name for name, cls in types.items() if cls is type(head))] = default
    argv = argv or ["--help"]
    kwargs: dict[str, Any] = {"args": argv, "prog": "robolearn", "description": DESCRIPTION,
                              "registry": alias_registry()}  # fmt: skip
    if "--help" not in argv and "-h" not in argv:
        # Quietly first, unknown flags handed back: they are reported as unknown flags, not as tyro's box (which
        # suggests another verb's flag of that name); any other parse error is printed by the loud parse below.
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # tyro prints a parser-building error regardless
                args, unknown = tyro.cli(tree(types, defaults), return_unknown_args=True, console_outputs=False,
                                         **kwargs)  # fmt: skip
        except SystemExit:
            pass
        else:
            verb = next(name for name, cls in types.items() if cls is type(args))
            if unknown:
                raise UnknownFlagError(unknown_flags_message(
                    verb, unknown, flag_names(defaults.get(verb, type(args))), getattr(args, "FLAG_HINTS", {})))  # fmt: skip
            return mains[verb], args
    args = tyro.cli(tree(types, defaults), **kwargs)
    return mains[next(name for name, cls in types.items() if cls is type(args))], args


def main(argv: list[str] | None = None) -> int:
    from robolearn.policies.runs import RunError

    try:
        verb_main, args = parse(list(sys.argv[1:] if argv is None else argv))
        return verb_main(args)
    except SystemExit as exc:  # tyro's --help (0) and its flag errors (2), as main's return value
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
    except KeyboardInterrupt:
        # Ctrl-C outside a training loop (building an env, retargeting, evaluating): nothing half-written is
        # kept by those commands (they write through temp files), so one line and the shell's 128 + SIGINT.
        print("robolearn: interrupted", file=sys.stderr)
        return 130
    except (KeyError, ValueError, FileNotFoundError, RuntimeError, RunError) as exc:
        # User-facing errors (unknown task/robot, bad files, bad shapes): the message, not a traceback.
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"robolearn: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
