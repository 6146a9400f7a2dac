"""The PPO training loop: rsl_rl owns the algorithm, this module owns the run folder and the logging.

Read top to bottom: resolve the config (fresh or resumed), build env + algorithm, then per iteration
collect `num_steps_per_env` steps from every world, update, log a metrics row, checkpoint.
"""

from __future__ import annotations

import contextlib
import copy
import math
import shutil
import statistics
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rsl_rl.algorithms import PPO, Distillation

from robolearn.overrides import remove_entries
from robolearn.policies import distributed, setup
from robolearn.policies.distributed import SINGLE, Ranks
from robolearn.policies.lifecycle import (
    RETURN_WINDOW as RETURN_WINDOW,
    EpisodeStats,
    Interrupt as _Interrupt,
    TrainingAborted,
    TrainResult as TrainResult,
    abort_to_newest_checkpoint,
    console as console,
    export_run_policy,
    finish_run as finish_run,
    log_row as log_row,
    record_video,
    restore_training_state,
    seed_all,
    training_state,
)
from robolearn.policies.plain_config import diff_plain, to_plain
from robolearn.policies.rsl_rl import RslRlVecEnv, lean_symmetry
from robolearn.policies.runs import (
    MetricsLog,
    RunError,
    atomic_torch_save,
    check_trainable,
    checkpoint_path,
    clean_temp_files,
    load_checkpoint,
    new_run_dir,
    prune_checkpoints,
    read_config,
    resolve_run,
    write_yaml,
)
from robolearn.policies.throughput import IterationClock, timed, torch_threads, update_threads

if TYPE_CHECKING:
    from robolearn.policies.cli import TrainArgs

PLAIN_LOG_EVERY = 10
"""Without a terminal (nohup, CI) a plain line is printed every this many iterations."""


def resolve_spec(args: TrainArgs) -> tuple[setup.RunSpec, Path, dict[str, Any] | None, Path | None]:
    """(spec, run folder, checkpoint state or None, checkpoint path) for a fresh or resumed run."""
    if args.resume is not None:
        return _resume_spec(args)
    algo = args.algo
    if algo == "distill":
        from robolearn.policies.distill import DistillCfg, resolve_teacher

        base = args.agent if isinstance(args.agent, DistillCfg) else DistillCfg.cpu()
        task, env_cfg, agent = resolve_teacher(args.task, args.teacher, base)
        args = replace(args, task=task, agent=agent, env=args.env or env_cfg)
    if args.task is None:
        raise RunError("name a task to train (or --resume a run folder)")
    algo = algo or setup.default_algo(args.task)
    check_learner_flags(args, algo)
    if args.init_from is not None and algo != "ppo":
        raise RunError("--init-from starts a fresh PPO run; it does not combine with another --algo")
    env_cfg, agent = setup.default_spec(args.task, algo, args.device)
    env_cfg, agent = setup.fold_num_envs(args.env or env_cfg, args.agent or agent)
    if args.num_envs is not None:
        env_cfg = replace(env_cfg, num_envs=args.num_envs)
    if args.max_iterations is not None:
        agent = replace(agent, max_iterations=args.max_iterations)
    if args.remove:
        env_cfg, agent = copy.deepcopy(env_cfg), copy.deepcopy(agent)  # the caller's configs stay as given
        remove_entries({"env": env_cfg, "agent": agent}, args.remove)
    if env_cfg.sim.device not in (None, args.device):
        # The learner reads the env's tensors on its own device, so --device is the one owner of both.
        raise RunError(f"--env.sim.device {env_cfg.sim.device} differs from --device {args.device}: "
                       "training puts the env's tensors on the learner's device; set --device only")  # fmt: skip
    if algo == "skillblender":  # bad skills or task layouts fail here, before a run folder exists
        from robolearn.policies.skillblender import check_blender_task, load_skill

        if args.skills:
            agent = replace(agent, skills=tuple(str(s) for s in args.skills))
        if args.single_weight:
            agent = replace(agent, per_joint_weights=False)
        if args.goals_from_zero:
            agent = replace(agent, goals_from_zero=True)
        if not agent.skills:
            raise RunError("--algo skillblender needs --skills <run folder> [<run folder> ...]")
        check_blender_task(env_cfg, [load_skill(skill) for skill in agent.skills])
    if algo == "hinf":  # bad H-infinity settings fail here, before a run folder exists
        from robolearn.policies.hinf import check_env_for_hinf

        check_env_for_hinf(agent, env_cfg)
    # One seed, the env's (--seed is its alias), seeds the worlds and the learner.
    spec = setup.RunSpec(args.task, algo, env_cfg, agent, env_cfg.seed, args.device)
    run = new_run_dir(Path(args.logdir), args.task, args.run_name)
    plain = spec.plain()
    if args.init_from is not None:
        plain["init_from"] = str(args.init_from)  # provenance only: resuming reads the run's own checkpoints
    write_yaml(run / "config.yaml", plain)
    return spec, run, None, None


LEARNER_FLAGS = {"skills": "skillblender", "single_weight": "skillblender", "goals_from_zero": "skillblender",
                 "teacher": "distill"}  # fmt: skip
"""TrainArgs fields that only one learner reads."""


def check_learner_flags(args: TrainArgs, algo: str) -> None:
    """A flag the chosen learner would ignore is an error, not a silent no-op."""
    for name, owner in LEARNER_FLAGS.items():
        if algo != owner and getattr(args, name) != getattr(type(args)(), name):
            raise RunError(f"--{name.replace('_', '-')} is an option of --algo {owner}, not of --algo {algo}")


def _resume_spec(args: TrainArgs) -> tuple[setup.RunSpec, Path, dict[str, Any] | None, Path | None]:
    """A resumed run: its config.yaml, with only the RESUME_MUTABLE entries changed by the request."""
    assert args.resume is not None
    if args.init_from is not None:
        raise RunError("--init-from starts a fresh run; it does not combine with --resume")
    run, ckpt = resolve_run(args.resume)
    stored = read_config(run)
    if args.task is not None and args.task != stored["task"]:
        raise RunError(f"{run} was trained on task {stored['task']!r}; cannot resume it as {args.task!r}")
    if args.algo is not None and args.algo != stored.get("algo", "ppo"):
        raise RunError(f"{run} was trained with algo {stored.get('algo')!r}, not {args.algo!r}")
    ckpt_path, state = load_checkpoint(run, ckpt, pick="--resume {}")
    check_trainable(ckpt_path, state)  # a packed run says so before any config comparison
    spec = setup.spec_from_run(run)
    env_cfg = args.env if args.env is not None else spec.env
    agent = args.agent if args.agent is not None else spec.agent
    if args.num_envs is not None:
        env_cfg = replace(env_cfg, num_envs=args.num_envs)
    if args.max_iterations is not None:
        agent = replace(agent, max_iterations=args.max_iterations)
    if args.remove:
        env_cfg, agent = copy.deepcopy(env_cfg), copy.deepcopy(agent)
        remove_entries({"env": env_cfg, "agent": agent}, args.remove)
    requested = {"env": to_plain(env_cfg), "agent": to_plain(agent)}
    # Against the run's config as it resolves today (config.yaml over the task's current defaults): a field
    # added to the task since the run was written is not a change the user asked for.
    diffs = [d for d in diff_plain({"env": to_plain(spec.env), "agent": to_plain(spec.agent)}, requested)
             if d.split(":")[0] not in setup.RESUME_MUTABLE]  # fmt: skip
    if diffs:
        raise RunError(
            f"cannot resume {run}: the requested config differs from its config.yaml:\n  "
            + "\n  ".join(diffs)
        )
    mutable = {key.split(".", 1)[1] for key in setup.RESUME_MUTABLE if key.startswith("agent.")}
    # Only the fields this learner's config has (SB3's keeps no keep_checkpoints).
    spec.agent = replace(
        spec.agent, **{name: getattr(agent, name) for name in mutable if hasattr(agent, name)}
    )
    if state.get("task", spec.task) != spec.task:
        raise RunError(f"{ckpt_path} belongs to task {state.get('task')!r}, the run to {spec.task!r}")
    return spec, run, state, ckpt_path


def train(args: TrainArgs) -> TrainResult:
    if args.nproc != 1:  # --nproc N: N ranks on this machine (policies/distributed.py)
        return distributed.launch_train(args)
    ranks = distributed.ranks_from_environment()
    if ranks.distributed:  # a rank started by torchrun or --nproc
        return distributed.train_rank(args, ranks)
    spec, run, state, ckpt = resolve_spec(args)
    if state is not None:
        distributed.rank_state(state, ranks, ckpt)  # a run of several processes resumes on as many
    return _train_resolved(args, spec, run, state, ckpt)


def _train_resolved(
    args: TrainArgs, spec: setup.RunSpec, run: Path, state: dict[str, Any] | None, ckpt: Path | None
) -> TrainResult:
    if spec.algo == "hinf":
        from robolearn.policies.hinf import train_hinf

        time_limit = args.time_limit_min * 60.0 if args.time_limit_min else None
        return train_hinf(spec, run, state, ckpt, video=args.video, time_limit_s=time_limit)
    if spec.algo not in setup.TRAINED_BY_PPO_LOOP:
        from robolearn.policies.sb3 import train_sb3

        return train_sb3(spec, run, state, ckpt)
    time_limit = args.time_limit_min * 60.0 if args.time_limit_min else None
    return train_ppo(
        spec, run, state, ckpt, video=args.video, time_limit_s=time_limit, init_from=args.init_from
    )


def _init_weights(alg: Any, task: str, source: Path) -> None:
    """Load another run's actor and critic (with their observation normalizers) into a fresh learner."""
    src_run, src_ckpt = resolve_run(source)
    path, state = load_checkpoint(src_run, src_ckpt, pick="--init-from {}")
    check_trainable(path, state)
    if state.get("task", task) != task:
        raise RunError(f"--init-from {path}: trained on task {state.get('task')!r}, this run is {task!r}")
    try:
        alg.load(state, {"actor": True, "critic": True}, strict=True)
    except RuntimeError as exc:  # a state-dict shape or key mismatch
        raise RunError(f"--init-from {path}: its networks do not fit this run's: {exc}") from None


def train_ppo(
    spec: setup.RunSpec,
    run: Path,
    state: dict | None,
    ckpt: Path | None,
    video: bool = False,
    time_limit_s: float | None = None,
    init_from: Path | None = None,
    ranks: Ranks = SINGLE,
) -> TrainResult:
    agent = spec.agent
    setup.set_threads(agent.torch_threads)
    # Each rank its own worlds and draws: seed + rank (rank 0 is a single-process run's seed).
    seed_all(spec.seed + ranks.rank)
    if ranks.main:
        clean_temp_files(run)
    device = distributed.rank_device(spec.device, ranks)
    try:
        env = setup.make_env(spec.env, device, seed=spec.env.seed + ranks.rank if ranks.distributed else None)
    except Exception:
        # A fresh folder holding only config.yaml (an env that cannot be built: a bad clip) goes.
        if state is None and ranks.main:
            shutil.rmtree(run, ignore_errors=True)
        raise
    vec = RslRlVecEnv(env)
    iteration_hook = setup.iteration_hook(spec.task)
    cfg = agent.to_rsl_rl(device)
    cfg["multi_gpu"] = ranks.rsl_rl_cfg()
    alg_cls = Distillation if spec.algo == "distill" else PPO
    alg = alg_cls.construct_algorithm(vec.get_observations(), vec, cfg, device)
    lean_symmetry(alg)
    stats = EpisodeStats(env.num_envs, env.device)

    start_it, env_steps, wall_before = 0, 0, 0.0
    if state is not None:
        alg.load(state, None, strict=True)
        start_it, env_steps, wall_before = state["iteration"], state["env_steps"], state["wall_time"]
        restore_training_state(env, stats, state, ckpt)
        if ranks.main:
            console.print(f"resumed {run} from {ckpt} (iteration {start_it}, {env_steps} env steps)")
    else:
        if spec.algo == "distill":
            teacher_ckpt, teacher = load_checkpoint(Path(agent.teacher), None, pick=None)
            alg.load(teacher, {"teacher": True}, strict=True)
            console.print(f"teacher: {teacher_ckpt}")
        if init_from is not None:
            try:
                _init_weights(alg, spec.task, init_from)
            except RunError:
                if ranks.main:
                    shutil.rmtree(run)  # a fresh folder holding only config.yaml: leave nothing half-made
                raise
            console.print(f"policy and critic initialised from {init_from}")
        if agent.random_initial_episode_length:
            env.episode_length_buf[:] = torch.randint_like(env.episode_length_buf, env.max_episode_length)
    if ranks.distributed:  # every rank starts from rank 0's networks (each seeded its own)
        alg.broadcast_parameters()

    from torch.utils.tensorboard import SummaryWriter

    # Rank 0 writes the run folder; the other ranks log nothing.
    writer: Any = SummaryWriter(log_dir=str(run), flush_secs=10) if ranks.main else contextlib.nullcontext()
    metrics: Any = MetricsLog(run, keep_until=start_it) if ranks.main else None
    # Counted over every rank's worlds: env_steps and fps are the whole run's.
    n, steps_per_it = env.num_envs * ranks.world_size, agent.num_steps_per_env
    t_start = time.perf_counter()
    done, last_ckpt = start_it, None

    def save(iteration: int) -> Path:
        # Saved between iterations only: the env, the learner and every generator are where the next
        # iteration of an uninterrupted run would find them, so a resume continues bit for bit.
        data = alg.save()
        path = checkpoint_path(run, iteration)
        per_rank = distributed.gather_to_main(
            ranks, {**training_state(env, stats), "digest": distributed.learner_digest(data)}
        )
        if per_rank is None:
            return path  # rank 0 writes; the others have handed it their worlds and generators
        digests = [r.pop("digest") for r in per_rank]
        distributed.check_in_sync(digests)
        data.update(iteration=iteration, env_steps=env_steps, wall_time=wall_before + time.perf_counter() - t_start,
                    learning_rate=alg.learning_rate, task=spec.task, algo=spec.algo, **per_rank[0])  # fmt: skip
        if ranks.distributed:
            data.update(world_size=ranks.world_size, ranks=per_rank[1:], rank_digests=digests)
        atomic_torch_save(data, path)
        # The export follows every checkpoint, so policy.onnx always belongs to the newest one (0.14 s a
        # checkpoint on Go2-Velocity-Flat's networks, after a 1.5 s first export).
        export_run_policy(run, spec, env, alg.get_policy(), path)
        prune_checkpoints(run, agent.keep_checkpoints)
        return path

    obs = vec.get_observations()
    alg.train_mode()
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[info]}"), console=console,
        disable=not console.is_terminal or not ranks.main,
    )  # fmt: skip
    with _Interrupt() as interrupt:
        try:
            with progress, writer:
                bar = progress.add_task(spec.task, total=agent.max_iterations, completed=start_it, info="")
                t_updated = time.perf_counter()
                for it in range(start_it, agent.max_iterations):
                    t0 = time.perf_counter()
                    # Logging and checkpointing after the previous update are counted in this iteration's row.
                    clock = IterationClock(log=t0 - t_updated)
                    physics_before = env.physics_time
                    logs: dict[str, list[float]] = defaultdict(list)
                    with torch.inference_mode():
                        for _ in range(steps_per_it):
                            with timed(clock, "inference"):
                                actions = alg.act(obs)
                            with timed(clock, "terms"):
                                obs, reward, dones, extras = vec.step(actions)
                            with timed(clock, "inference"):
                                alg.process_env_step(obs, reward, dones, extras)
                            stats.add(reward, dones)
                            interrupt.check()
                            for key, value in extras["log"].items():
                                logs[key].append(float(value))
                        with timed(clock, "inference"):
                            alg.compute_returns(obs)
                    clock.physics = env.physics_time - physics_before
                    clock.terms -= clock.physics  # vec.step's time less its physics
                    t_collect = time.perf_counter() - t0
                    # The ranks on one machine share its cores in the update.
                    with torch_threads(max(1, update_threads(agent.update_threads) // ranks.world_size)):
                        losses = alg.update()
                        if iteration_hook is not None:  # the task's own per-iteration training
                            losses.update(iteration_hook(env))
                    t_updated = time.perf_counter()
                    t_iter = t_updated - t0
                    clock.update = t_iter - t_collect
                    env_steps += n * steps_per_it
                    row = _metrics_row(it, env_steps, wall_before + time.perf_counter() - t_start, stats,
                                       n * steps_per_it / t_iter, t_collect, t_iter, alg, losses, logs)  # fmt: skip
                    row.update(clock.row())
                    if ranks.distributed:  # the episodes of every rank's worlds (a collective: every rank)
                        row["mean_return"] = distributed.pooled_mean(ranks, stats.returns)
                        row["mean_episode_length"] = distributed.pooled_mean(ranks, stats.lengths)
                    if ranks.main:
                        log_row(metrics, writer, row, env_steps)
                    info = f"{row['fps']:,.0f} steps/s  return {row['mean_return']:.2f}"
                    if "Metrics/error_vel_xy" in row:  # velocity-command tasks only
                        info += f"  err_xy {row['Metrics/error_vel_xy']:.3f}"
                    done = it + 1
                    progress.update(bar, completed=done, info=info)
                    if ranks.main and not console.is_terminal and (
                        it % PLAIN_LOG_EVERY == 0 or done == agent.max_iterations
                    ):
                        print(f"[{spec.task}] it {done}/{agent.max_iterations} {row['wall_time']:.0f}s {info}",
                              flush=True)  # fmt: skip
                    out_of_time = time_limit_s is not None and time.perf_counter() - t_start >= time_limit_s
                    # Every rank stops (and saves) together when any rank is asked to.
                    stop, out_of_time = distributed.any_rank(ranks, interrupt.requested, out_of_time)
                    if done % agent.save_interval == 0 or stop or out_of_time:
                        last_ckpt = save(done)
                    if stop or out_of_time:
                        break
        except TrainingAborted:
            # Abandoned mid-rollout, before its update: nothing of the iteration is saved. The newest
            # checkpoint stays the run's state, and its export (written with it) stays consistent.
            if not ranks.main:
                return TrainResult(run, done, True, last_ckpt)
            metrics.close()
            return abort_to_newest_checkpoint(run, spec, env, alg)
        stopped = distributed.any_rank(ranks, interrupt.requested)[0]
        if not ranks.main:  # its part of a final checkpoint, if rank 0 writes one
            if last_ckpt is None or last_ckpt != checkpoint_path(run, done):
                last_ckpt = save(done)
            return TrainResult(run, done, stopped, last_ckpt)
        # Inside the handler: a Ctrl-C during the final checkpoint or export is noted, not raised into it.
        result = finish_run(run, spec, env, alg.get_policy(), save, last_ckpt, done, metrics,
                            stopped, video=False)  # fmt: skip
    if video and not result.interrupted:
        record_video(run)
    return result


def _metrics_row(it: int, env_steps: int, wall: float, stats: EpisodeStats, fps: float, t_collect: float,
                 t_iter: float, alg: Any, losses: dict[str, float], logs: dict[str, list[float]]) -> dict[str, Any]:  # fmt: skip
    return {
        "iteration": it,
        "env_steps": env_steps,
        "wall_time": round(wall, 3),
        "mean_return": statistics.fmean(stats.returns) if stats.returns else math.nan,
        "mean_episode_length": statistics.fmean(stats.lengths) if stats.lengths else math.nan,
        "fps": fps,
        "collect_time": t_collect,
        "learn_time": t_iter - t_collect,
        "learning_rate": alg.learning_rate,
        "action_std": float(alg.get_policy().output_std.detach().mean()),
        **{f"Loss/{k}": v for k, v in losses.items()},
        **{k: statistics.fmean(v) for k, v in logs.items()},
    }
