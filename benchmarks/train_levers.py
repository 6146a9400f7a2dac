"""A/B of training-speed levers on Go2-Velocity-Flat, interleaved in one process.

    python benchmarks/train_levers.py [--rounds 5]        wall and CPU seconds per PPO update, per variant
    python benchmarks/train_levers.py --iterations 6     whole iterations, before vs after: the time shares
    python benchmarks/train_levers.py --presets A1-Velocity-HInf Go1-Confined3D H1-Skill-Walk --iterations 2
                                                         env-steps/s of other tasks' presets, before vs after

Every variant gets its own learner fed by one real rollout of the task (512 worlds x 24 steps); the
updates then run round-robin, so machine load hits every variant alike. The update does not depend on
which rollout fills the storage (the same sizes), and rsl_rl's storage keeps its data after an update, so
one rollout serves every round. CPU seconds (process time) are robust to a loaded machine for one-thread
variants; wall seconds are what a run pays.
"""

from __future__ import annotations

import robolearn  # noqa: F401  (first: it makes torch's OpenMP threads sleep, which torch reads on import)

# isort: split
import argparse
import dataclasses
import statistics
import time

import torch
from rsl_rl.algorithms import PPO

from robolearn.policies import setup
from robolearn.policies.presets import default_agent_cfg
from robolearn.policies.rsl_rl import RslRlVecEnv, lean_symmetry
from robolearn.policies.throughput import (
    SHARES,
    IterationClock,
    format_shares,
    raw_physics_rate,
    timed,
    torch_threads,
    update_threads,
)
from robolearn.registry import get_task
from robolearn.rl import PpoCfg

TASK = "Go2-Velocity-Flat"


def variants(base: PpoCfg) -> dict[str, tuple[PpoCfg, int, bool]]:
    """name -> (PpoCfg, update threads, skip the logging-only mirror loss)."""
    r = dataclasses.replace
    base = r(base, bf16_update=False)
    return {
        "old preset (4 ep x 2 mb, symmetry), 1 thread": (base, 1, False),
        "no logging-only mirror loss": (base, 1, True),
        "no logging-only mirror loss, 2 threads": (base, 2, True),
        "4 ep x 1 mb": (r(base, num_mini_batches=1), 1, True),
        "3 ep x 2 mb": (r(base, num_learning_epochs=3), 1, True),
        "2 ep x 2 mb": (r(base, num_learning_epochs=2), 1, True),
        "2 ep x 1 mb": (r(base, num_learning_epochs=2, num_mini_batches=1), 1, True),
        "no symmetry": (r(base, symmetry=False), 1, True),
        "critic 64x64": (r(base, critic_hidden_dims=(64, 64)), 1, True),
        "bf16 autocast": (r(base, bf16_update=True), 1, True),
        "bf16 autocast, 3 ep x 2 mb": (r(base, bf16_update=True, num_learning_epochs=3), 1, True),
    }


def iteration(alg: PPO, vec: RslRlVecEnv, steps: int, threads: int) -> IterationClock:
    """One PPO iteration as train_ppo runs it, timed by share (logging and checkpointing left out)."""
    env, clock = vec.env, IterationClock()
    physics_before = env.physics_time
    obs = vec.get_observations()
    with torch.inference_mode():
        for _ in range(steps):
            with timed(clock, "inference"):
                actions = alg.act(obs)
            with timed(clock, "terms"):
                obs, rew, dones, extras = vec.step(actions)
            with timed(clock, "inference"):
                alg.process_env_step(obs, rew, dones, extras)
        with timed(clock, "inference"):
            alg.compute_returns(obs)
    clock.physics = env.physics_time - physics_before
    clock.terms -= clock.physics
    with timed(clock, "update"), torch_threads(threads):
        alg.update()
    return clock


def before_after(vec: RslRlVecEnv, base: PpoCfg, iterations: int) -> None:
    """Whole iterations of the old loop (1-thread float32 update, logging-only mirror loss) and of the
    preset's, alternating on one env, then each side's time shares and its env-steps/s against raw physics."""
    sides = {"before": (1, False), "after": (update_threads(base.update_threads), True)}
    cfgs = {"before": dataclasses.replace(base, bf16_update=False), "after": base}
    algs = {}
    for name, (_, lean) in sides.items():
        torch.manual_seed(0)
        algs[name] = PPO.construct_algorithm(vec.get_observations(), vec, cfgs[name].to_rsl_rl(), "cpu")
        algs[name].train_mode()
        if lean:
            lean_symmetry(algs[name])
    totals = {name: IterationClock() for name in sides}
    raw = []
    for i in range(iterations + 1):
        for name, (threads, _) in sides.items():
            clock = iteration(algs[name], vec, base.num_steps_per_env, threads)
            if i:  # the first round warms up
                for share in SHARES:
                    setattr(totals[name], share, getattr(totals[name], share) + getattr(clock, share))
        raw.append(raw_physics_rate(vec.env.cfg, seconds=1.0))
    steps = iterations * vec.num_envs * base.num_steps_per_env
    for name in sides:
        print(f"\n{name}:")
        print("\n".join(format_shares(totals[name].row_shares(), steps, statistics.median(raw))))


def preset_rates(task: str, iterations: int) -> tuple[str, int, float, float]:
    """(learner, worlds, env-steps/s before, after) of a task's own preset, whole iterations alternating.

    Before: the update on `torch_threads`, in float32, with rsl_rl's logging-only mirror loss; after: the
    preset's (every core, bf16 autocast where the CPU has it).
    Each side has its own env of the task (the H-infinity learner owns its env's disturbance force).
    """
    from rsl_rl.extensions import Symmetry

    from robolearn.policies.hinf_learner import HInfLearner

    algo = setup.default_algo(task)
    agent = default_agent_cfg(task, algo)
    env_cfg, agent = setup.fold_num_envs(get_task(task).env_cfg(), agent)
    steps = env_cfg.num_envs * agent.num_steps_per_env
    before = dataclasses.replace(agent, update_threads=agent.torch_threads, bf16_update=False)
    sides = {"before": before, "after": agent}
    step_fns = {}
    for name, cfg in sides.items():
        torch.manual_seed(0)
        env = setup.make_env(env_cfg, "cpu")
        if algo == "hinf":
            learner = HInfLearner(env, cfg, "cpu")
            alg, fn = learner.alg, learner.iterate
        else:
            vec = RslRlVecEnv(env)
            alg = PPO.construct_algorithm(vec.get_observations(), vec, cfg.to_rsl_rl(), "cpu")
            alg.train_mode()
            lean_symmetry(alg)
            fn = (
                lambda a, v, c: lambda: iteration(a, v, c.num_steps_per_env, update_threads(c.update_threads))
            )(alg, vec, cfg)
        if name == "before" and alg.symmetry is not None:
            alg.symmetry.__class__ = Symmetry  # the logging-only mirror loss back
        step_fns[name] = fn
    wall = dict.fromkeys(sides, 0.0)
    for i in range(iterations + 1):
        for name, fn in step_fns.items():
            start = time.perf_counter()
            fn()
            if i:  # the first round warms up
                wall[name] += time.perf_counter() - start
    return algo, env_cfg.num_envs, iterations * steps / wall["before"], iterations * steps / wall["after"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--iterations", type=int, default=0, help="time whole iterations before vs after instead")
    p.add_argument("--presets", nargs="+", default=[], help="tasks whose own presets to time before vs after")
    a = p.parse_args()
    torch.set_num_threads(1)
    if a.presets:
        print("| task | learner | worlds | env-steps/s before | after | after / before |")
        print("|---|---|---|---|---|---|")
        for task in a.presets:
            algo, n, before, after = preset_rates(task, a.iterations or 2)
            print(
                f"| {task} | {algo} | {n} | {before:,.0f} | {after:,.0f} | {after / before:.2f} |", flush=True
            )
        return
    base = default_agent_cfg(TASK)
    env = setup.make_env(get_task(TASK).env_cfg(), "cpu")
    vec = RslRlVecEnv(env)
    if a.iterations:
        before_after(vec, base, a.iterations)
        return
    algs: dict[str, tuple[PPO, int]] = {}
    for name, (cfg, threads, lean) in variants(base).items():
        torch.manual_seed(0)
        alg = PPO.construct_algorithm(vec.get_observations(), vec, cfg.to_rsl_rl(), "cpu")
        if lean:
            lean_symmetry(alg)
        alg.train_mode()
        obs = vec.get_observations()
        with torch.inference_mode():
            for _ in range(cfg.num_steps_per_env):
                obs, rew, dones, extras = vec.step(alg.act(obs))
                alg.process_env_step(obs, rew, dones, extras)
            alg.compute_returns(obs)
        algs[name] = (alg, threads)
    wall: dict[str, list[float]] = {n: [] for n in algs}
    cpu: dict[str, list[float]] = {n: [] for n in algs}
    for _ in range(a.rounds):
        for name, (alg, threads) in algs.items():
            w, c = time.perf_counter(), time.process_time()
            with torch_threads(threads):
                losses = alg.update()
            if name == next(iter(algs)) or "mirror" in name:
                print(f"{name}: surrogate loss {losses['surrogate']:.6f}", flush=True)
            wall[name].append(time.perf_counter() - w)
            cpu[name].append(time.process_time() - c)
    ref = statistics.median(cpu[next(iter(algs))])
    print("| variant | wall s / update (median) | CPU s / update (median) | CPU vs preset |")
    print("|---|---|---|---|")
    for name in algs:
        c = statistics.median(cpu[name])
        print(f"| {name} | {statistics.median(wall[name]):.3f} | {c:.3f} | {c / ref:.2f} |")


if __name__ == "__main__":
    main()
