"""A/B of training-speed levers on Go2-Velocity-Flat, interleaved in one process.

    python benchmarks/train_levers.py [--rounds 5]        wall and CPU seconds per PPO update, per variant
    python benchmarks/train_levers.py --iterations 6     whole iterations, before vs after: the time shares

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
    """Whole iterations of the old loop (1-thread update, logging-only mirror loss) and of the new one,
    alternating on one env, then each side's time shares and its env-steps/s against raw physics."""
    sides = {"before": (1, False), "after": (update_threads(base.update_threads), True)}
    algs = {}
    for name, (_, lean) in sides.items():
        torch.manual_seed(0)
        algs[name] = PPO.construct_algorithm(vec.get_observations(), vec, base.to_rsl_rl(), "cpu")
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--iterations", type=int, default=0, help="time whole iterations before vs after instead")
    a = p.parse_args()
    torch.set_num_threads(1)
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
