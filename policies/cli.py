"""Arguments and entry points of `robolearn train | play | eval | export | plot | quickstart`.

Each verb is one dataclass (tyro builds its parser; robolearn.cli puts them in one subcommand tree) and a
`main(args) -> int` exit status. A verb whose flags depend on its positional task or run (`--env.*`,
`--agent.*`) has a `cli_defaults()` method: given the first parse (the positional and --algo), it returns
the defaults of the second parse, the task's or run's own configs, so `--help` lists their every field.
Errors about runs, checkpoints and configs are printed as one clear message, not a traceback.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import tyro

from robolearn.core.cfg import EnvCfg
from robolearn.policies.runs import RunError

EXIT_INTERRUPTED = 130
IMITATION_ALGOS = ("diffusion", "bc", "bidp")
RL_ONLY = ("env", "resume", "init_from", "skills", "single_weight", "goals_from_zero", "teacher", "video",
           "time_limit_min", "num_envs", "max_iterations", "nproc")  # fmt: skip
"""TrainArgs fields the imitation learners do not read (their settings are ImitationCfg's, --agent.*)."""
PLAY_WORLDS = 4


def imitation_tasks() -> list[str]:
    from robolearn.registry import task_names

    return task_names(kind="imitation")


def run_algo(run: Path) -> str:
    """The learner a run folder (or a checkpoint inside one) was trained with, from its config.yaml."""
    from robolearn.policies.runs import read_config, resolve_run

    return str(read_config(resolve_run(Path(run))[0]).get("algo", "ppo"))


@dataclass
class TrainArgs:
    """Train a policy on a task: PPO on rsl-rl (default), H-infinity, distillation, skill blending, SB3 PPO/SAC,
    or, with --algo diffusion|bc|bidp, imitation from a demo dataset (`robolearn demos`)."""

    task: Annotated[str | None, tyro.conf.Positional, tyro.conf.arg(metavar="TASK")] = None
    """Task name (see `robolearn list`), right after the verb: its configs are what --env.* / --agent.* override
    (`robolearn train <task> --help` lists them). Not needed with --resume, nor with --teacher."""
    algo: (
        Literal["ppo", "sb3-ppo", "sb3-sac", "hinf", "distill", "skillblender", "diffusion", "bc", "bidp"] | None
    ) = None
    """Learner (default: the task's; with --resume, the run's own)."""
    env: tyro.conf.AvoidSubcommands[EnvCfg | None] = None
    """The task's env config; every field is a flag (--env.rewards.<term>.weight, ...). Imitation tasks have none."""
    agent: tyro.conf.AvoidSubcommands[Any] = None
    """The learner's config: the task's preset for --algo (with --resume, the run's)."""
    remove: tuple[str, ...] = ()
    """Dict entries to delete from the configs, by flag path: --remove env.rewards.stand-still env.events.push."""
    logdir: Path = Path("runs")
    device: str = "cpu"
    """Torch device of the learner."""
    resume: Path | None = None
    """A run folder (resumes from its latest checkpoint) or one of its checkpoint files. Only
    --max-iterations and --agent.save-interval may differ from the run's config."""
    init_from: Path | None = None
    """A fresh run whose policy and critic start from this run's weights (its latest checkpoint, or the
    checkpoint file named): fine-tuning a trained policy under changed rewards. Same task and network
    shapes; the config is this run's own. PPO-loop learners only."""
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
    eval_episodes: int = 0
    """Evaluate the trained policy on this many held-out episodes (imitation: layouts) after training (0: skip)."""
    nproc: int = 1
    """Training processes on this machine (torch.distributed: gloo on CPU, nccl on GPU with one GPU each),
    each with --num-envs worlds seeded seed + rank, gradients all-reduced; rank 0 writes the run folder.
    On several nodes, start `torchrun --nproc-per-node N -m robolearn.cli train ...` on each instead.
    PPO-loop learners (ppo, distill, skillblender). docs/distributed.md."""
    num_envs: tyro.conf.Suppress[int | None] = None
    """Python API shorthand for env.num_envs (on the command line --num-envs is that field's alias)."""
    max_iterations: tyro.conf.Suppress[int | None] = None
    """Python API shorthand for agent.max_iterations (on the command line --max-iterations is its alias)."""

    FLAG_HINTS: ClassVar[dict[str, str]] = {
        "--checkpoint": "train has none: --resume takes a run folder or one of its checkpoint files, "
        "--resume <run>/checkpoints/model_000100.pt",
    }
    """Flags users bring from other verbs, and what train does instead (robolearn.cli's unknown-flag error)."""

    def cli_defaults(self) -> TrainArgs | None:
        """The configs the flags override: the run's (--resume), the teacher's task (distill), the imitation
        learner's, or the task's env with its preset for the algo (the preset's worlds folded into the env)."""
        from robolearn.policies import setup

        if self.resume is not None:
            from robolearn.policies.runs import resolve_run

            spec = setup.spec_from_run(resolve_run(self.resume)[0])
            return TrainArgs(resume=self.resume, env=spec.env, agent=spec.agent)
        from robolearn.registry import task_names

        if self.algo == "distill" and self.teacher is not None:
            from robolearn.policies.distill import DistillCfg, resolve_teacher

            # An unknown task is left to train() to report (it may be the first parse's artefact, see parse()).
            task = self.task if self.task in task_names() else None
            _, env_cfg, agent = resolve_teacher(task, self.teacher, DistillCfg.cpu())
            env_cfg, agent = setup.fold_num_envs(env_cfg, agent)
            return TrainArgs(task=task, algo="distill", env=env_cfg, agent=agent, teacher=self.teacher)

        if self.task in imitation_tasks() or (self.algo in IMITATION_ALGOS and self.task in task_names()):
            return TrainArgs(task=self.task, algo=self.algo or "diffusion", agent=self.imitation_cfg())
        if self.task not in task_names():
            return None  # no task, or an unknown one: the second parse and train() say so
        algo = self.algo or setup.default_algo(self.task)
        env_cfg, agent = setup.fold_num_envs(*setup.default_spec(self.task, algo, self.device))
        return TrainArgs(task=self.task, algo=algo, env=env_cfg, agent=agent, device=self.device)  # type: ignore[arg-type]

    def imitation_cfg(self) -> Any:
        from robolearn.policies.imitation import ImitationCfg

        if self.task not in imitation_tasks():
            raise ValueError(f"--algo {self.algo}: {self.task!r} is not an imitation task; imitation tasks: "
                             f"{', '.join(imitation_tasks())}")  # fmt: skip
        if self.algo not in (None, *IMITATION_ALGOS):
            raise ValueError(f"--algo {self.algo}: {self.task} is trained by imitation: --algo diffusion|bc|bidp")
        cfg = self.agent if isinstance(self.agent, ImitationCfg) else ImitationCfg()
        return dataclasses.replace(cfg, task=self.task, algo=self.algo or "diffusion")


@dataclass
class PlayArgs:
    """Render a video: a task with random actions (`play <task> --random`) or a run's policy (`play <run>`)."""

    target: Annotated[str, tyro.conf.Positional, tyro.conf.arg(metavar="TASK|RUN")]
    """A task name (with --random), or a run folder or checkpoint file; right after the verb."""
    random: bool = False
    """Random actions on a task (no policy needed)."""
    video: Path | None = None
    """Output mp4 (default: play.mp4 for a task, <run>/videos/play_<checkpoint>.mp4 for a run)."""
    steps: int | None = None
    """Policy steps to simulate (default: 150 for a task, 250 for a run)."""
    checkpoint: Path | None = None
    """A run's checkpoint (default: its latest)."""
    env: tyro.conf.AvoidSubcommands[EnvCfg | None] = None
    """The worlds shown (--num-envs of them side by side, seeded by --seed): the task's config, or the run's,
    of which a run's policy may change only those two."""
    remove: tuple[str, ...] = ()
    """A task's dict entries to delete (see `robolearn train --help`)."""

    def cli_defaults(self) -> PlayArgs | None:
        from robolearn.registry import get_task, task_names

        if self.target in task_names():
            env_cfg = dataclasses.replace(get_task(self.target).env_cfg(), num_envs=PLAY_WORLDS)
        elif Path(self.target).exists():
            env_cfg = self._run_env()
        else:
            return None  # play_main names the valid tasks
        return PlayArgs(target=self.target, env=env_cfg)

    def _run_env(self) -> EnvCfg:
        from robolearn.policies.runs import resolve_run
        from robolearn.policies.setup import spec_from_run

        if run_algo(Path(self.target)) in IMITATION_ALGOS:
            raise RunError(f"{self.target}: an imitation run; `robolearn eval {self.target}` rolls it out")
        env_cfg = spec_from_run(resolve_run(Path(self.target))[0]).env
        return dataclasses.replace(env_cfg, num_envs=PLAY_WORLDS, seed=1)


@dataclass
class EvalArgs:
    """Evaluate a run on held-out seeds and write eval.json (RL and imitation runs)."""

    run: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="RUN")]
    """Run folder or checkpoint file."""
    checkpoint: Path | None = None
    episodes: int = 100
    seed: int = 10_000
    """Held-out seed (training uses small seeds)."""
    out: Path | None = None
    """eval.json path (default: <run>/eval.json)."""
    disturbance: str = "none"
    """Trunk pushes during eval: none | random:<max N> | impulse:<N> | disturber:<H-infinity run>."""
    suite: str = "auto"
    """auto | default | a suite the task declares (e.g. confined3d: held-out tunnels of every difficulty);
    auto runs the task's default_suite."""
    inference_steps: int | None = None
    """Diffusion runs: DDIM steps (default: the run's)."""
    ray: str | None = None
    """RUN a folder of runs: evaluate them as Ray tasks, `local` (Ray on this machine) or a cluster address
    (auto, host:6379, ray://host:10001); without --ray they are evaluated one after another."""


@dataclass
class ExportArgs:
    """Export a run's policy: policy.onnx + policy.json (the deploy contract), or a small packed copy."""

    run: Annotated[Path, tyro.conf.Positional, tyro.conf.arg(metavar="RUN")]
    checkpoint: Path | None = None
    out: Path | None = None
    """Output folder (default: the run folder)."""
    pack: Path | None = None
    """Instead of ONNX, write a small copy of the run to this folder: its config and the actor's weights
    (no critic, no optimizer state), which `play`, `eval` and `--skills` load like the run. How the pretrained
    skills in robolearn/assets/skills are made."""
    isaaclab: Path | None = None
    """Also write the exported policy as an Isaac Lab run folder here (params/env.yaml, params/agent.yaml,
    exported/policy.onnx in Isaac Lab's joint order), which `deploy --sim2sim` and `eval` read back. (RUN may
    itself be an Isaac Lab run folder: it is then exported to policy.json + policy.onnx, default <RUN>/robolearn.)"""


@dataclass
class PlotArgs:
    """Plot learning curves of runs (PNG)."""

    runs: Annotated[list[Path], tyro.conf.Positional, tyro.conf.arg(metavar="RUN")] = field(
        default_factory=lambda: [Path("runs")]
    )
    """Run folders, or folders holding runs."""
    out: Path = Path("learning_curves.png")


@dataclass
class QuickstartArgs:
    """Train a Go2 policy until it walks (checked on held-out episodes as it trains, up to a wall-time
    cap), then evaluate, export, render and plot it."""

    logdir: Path = Path("runs")
    max_minutes: float = 20.0
    """Cap on the training wall time; evaluation is not counted."""
    check_every: int = 50
    """Iterations between checks of the walking bar."""
    max_iterations: int = 0
    """Cap on the training iterations as well (0: none, the wall time caps it)."""
    num_envs: int = 512


def _guard(fn: Callable[[], int]) -> int:
    from robolearn.policies.data import DatasetError

    try:
        return fn()
    except (RunError, FileNotFoundError, ValueError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def train_main(args: TrainArgs) -> int:
    if args.algo in IMITATION_ALGOS or (args.task is not None and args.task in imitation_tasks()):
        return _guard(lambda: _train_imitation(args))
    from robolearn.policies.train import train

    def run() -> int:
        result = train(args)
        if result.interrupted:
            return EXIT_INTERRUPTED
        if args.eval_episodes:
            from robolearn.policies.evaluate import eval_run

            eval_run(result.run, args.eval_episodes)
        return 0

    return _guard(run)


def _train_imitation(args: TrainArgs) -> int:
    from robolearn.overrides import remove_entries
    from robolearn.policies.imitation import export_imitation, train_imitation
    from robolearn.policies.imitation_eval import eval_imitation
    from robolearn.policies.runs import atomic_write_text

    unused = [
        f"--{name.replace('_', '-')}" for name in RL_ONLY if getattr(args, name) != getattr(TrainArgs(), name)
    ]
    if unused:
        raise ValueError(
            f"{', '.join(unused)}: not an option of --algo {args.algo or 'diffusion'} (imitation)"
        )
    cfg = args.imitation_cfg()
    remove_entries({"agent": cfg}, args.remove)
    if cfg.algo == "bidp":  # keyposes executed through IK: no chunked ONNX policy to export
        from robolearn.policies.bidp_run import train_bidp

        run = train_bidp(cfg, args.logdir, args.run_name)
    else:
        run = train_imitation(cfg, args.logdir, args.run_name)
        export_imitation(run)
    if args.eval_episodes:
        result = eval_imitation(run, args.eval_episodes)
        atomic_write_text(run / "eval.json", json.dumps(result, indent=1))
        print(json.dumps(result))
    print(f"run folder: {run}")
    return 0


def play_main(args: PlayArgs) -> int:
    from robolearn.registry import get_task, task_names

    if args.env is None and not Path(args.target).exists():
        get_task(args.target)  # an unknown task: the error lists the valid ones
    if args.target in task_names():
        return _guard(lambda: _play_task(args))
    return _guard(lambda: _play_run(args))


def _play_task(args: PlayArgs) -> int:
    import torch

    from robolearn.core.env import ManagerBasedRlEnv
    from robolearn.gl import RenderUnavailable, render_skipped
    from robolearn.overrides import remove_entries
    from robolearn.render import render_env_video

    if not args.random:
        raise ValueError(
            f"robolearn play {args.target}: pass --random for random actions, or give a run folder"
        )
    assert args.env is not None
    remove_entries({"env": args.env}, args.remove)
    env = ManagerBasedRlEnv(args.env)
    gen = torch.Generator().manual_seed(args.env.seed)
    try:
        path = render_env_video(env, lambda obs: 0.5 * torch.randn(env.num_envs, env.num_actions, generator=gen),
                                args.video or Path("play.mp4"), steps=args.steps or 150, worlds=env.num_envs)  # fmt: skip
    except RenderUnavailable as exc:
        render_skipped("the video", exc)
        return 2  # the video was all `play` makes: nothing was made
    print(f"wrote {path}")
    return 0


def _play_run(args: PlayArgs) -> int:
    from robolearn.gl import RenderUnavailable, render_skipped
    from robolearn.policies.evaluate import play_run
    from robolearn.policies.plain_config import diff_plain, to_plain

    defaults = args.cli_defaults()
    assert defaults is not None and defaults.env is not None and args.env is not None
    default = defaults.env
    changed = [d for d in diff_plain(to_plain(default), to_plain(args.env), "env")
               if d.split(":")[0] not in ("env.num_envs", "env.seed")]  # fmt: skip
    if changed or args.remove or args.random:
        raise ValueError(f"robolearn play {args.target}: a run plays in its own env; only --num-envs and --seed "
                         f"may change (given: {', '.join(changed) or '--remove/--random'})")  # fmt: skip
    try:
        print(play_run(Path(args.target), args.video, args.env.num_envs, args.steps or 250, args.checkpoint,
                       args.env.seed))  # fmt: skip
    except RenderUnavailable as exc:
        render_skipped("the video", exc)
        return 2  # the video was all `play` makes: nothing was made
    return 0


def eval_main(args: EvalArgs) -> int:
    from robolearn.policies.eval_batch import eval_many, is_many

    if is_many(args):  # a folder of runs (--ray spreads them)
        return _guard(lambda: eval_many(args))

    def run() -> int:
        from robolearn.sim2real.isaaclab_run import is_isaaclab_run

        if is_isaaclab_run(args.run):
            from robolearn.policies.evaluate import eval_isaaclab_run

            defaults = EvalArgs(run=args.run)
            unused = [f"--{n.replace('_', '-')}" for n in ("checkpoint", "disturbance", "suite", "inference_steps")
                      if getattr(args, n) != getattr(defaults, n)]  # fmt: skip
            if unused:
                raise ValueError(f"{', '.join(unused)}: not an option for an Isaac Lab run ({args.run})")
            eval_isaaclab_run(args.run, args.episodes, args.seed, args.out)
            return 0
        imitation = run_algo(args.run) in IMITATION_ALGOS
        defaults = EvalArgs(run=args.run)
        unread = ("checkpoint", "disturbance", "suite") if imitation else ("inference_steps",)
        unused = [
            f"--{name.replace('_', '-')}" for name in unread if getattr(args, name) != getattr(defaults, name)
        ]
        if unused:
            kind = "an imitation run" if imitation else "an RL run"
            raise ValueError(f"{', '.join(unused)}: not an option for {kind} ({args.run})")
        if imitation:
            from robolearn.policies.imitation_eval import eval_imitation
            from robolearn.policies.runs import atomic_write_text

            result = eval_imitation(args.run, args.episodes, args.seed, inference_steps=args.inference_steps)
            atomic_write_text(args.out or Path(args.run) / "eval.json", json.dumps(result, indent=1))
            print(json.dumps(result))
            return 0
        from robolearn.policies.evaluate import eval_run

        eval_run(args.run, args.episodes, args.seed, args.checkpoint, args.out, disturbance=args.disturbance,
                 suite=args.suite)  # fmt: skip
        return 0

    return _guard(run)


def export_main(args: ExportArgs) -> int:
    def run() -> int:
        from robolearn.sim2real.isaaclab_run import is_isaaclab_run

        if is_isaaclab_run(args.run):
            from robolearn.sim2real.isaaclab_export import import_isaaclab_run

            if args.pack is not None or args.isaaclab is not None or args.checkpoint is not None:
                raise ValueError(f"{args.run} is an Isaac Lab run: it exports to policy.json + onnx only")
            print(f"wrote {import_isaaclab_run(args.run, args.out or Path(args.run) / 'robolearn')} (+ onnx)")
            return 0
        if run_algo(args.run) in IMITATION_ALGOS:
            from robolearn.policies.imitation import export_imitation

            if args.pack is not None or args.isaaclab is not None:
                flag = "--pack" if args.pack is not None else "--isaaclab"
                raise ValueError(f"{flag}: {args.run} is an imitation run; only RL runs take {flag}")
            print("wrote " + "\n      ".join(str(p) for p in export_imitation(args.run, args.out)))
            return 0
        if args.isaaclab is not None and args.pack is not None:
            raise ValueError("--isaaclab writes the ONNX export as an Isaac Lab run, not a --pack copy")
        if args.pack is not None:
            from robolearn.policies.runs import pack_run

            print(f"wrote {pack_run(args.run, args.pack, args.checkpoint)}")
            return 0
        from robolearn.policies.evaluate import export_run

        paths = export_run(args.run, args.checkpoint, args.out)
        print(f"wrote {paths.onnx}\n      {paths.json}\n      {paths.torchscript}")
        if args.isaaclab is not None:
            from robolearn.sim2real.isaaclab_export import export_isaaclab_run

            print(f"wrote {export_isaaclab_run(paths.json, args.isaaclab)} (an Isaac Lab run folder)")
        return 0

    return _guard(run)


def plot_main(args: PlotArgs) -> int:
    from robolearn.policies.plots import plot_runs

    return _guard(lambda: (print(plot_runs(args.runs, args.out)), 0)[1])


def quickstart_main(args: QuickstartArgs) -> int:
    from robolearn.policies.quickstart import quickstart

    return _guard(
        lambda: (
            quickstart(args.logdir, args.max_minutes, args.check_every, args.num_envs, args.max_iterations),
            0,
        )[1]
    )
