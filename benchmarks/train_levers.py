"""A/B of PPO-update levers on Go2-Velocity-Flat, interleaved in one process: wall and CPU seconds per update.

    python benchmarks/train_levers.py [--rounds 5]

Every variant gets its own learner fed by one real rollout of the task (512 worlds x 24 steps); the
updates then run round-robin, so machine load hits every variant alike. The update does not depend on
which rollout fills the storage (the same sizes), and rsl_rl's storage keeps its data after an update, so
one rollout serves every round. CPU seconds (process time) are robust to a loaded machine for one-thread
variants; wall seconds are what a run pays.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch
from rsl_rl.algorithms import PPO

from robolearn.policies import setup
from robolearn.policies.presets import default_agent_cfg
from robolearn.policies.rsl_rl import RslRlVecEnv, lean_symmetry
from robolearn.policies.throughput import torch_threads
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(1)
    base = default_agent_cfg(TASK)
    env = setup.make_env(get_task(TASK).env_cfg(), "cpu")
    vec = RslRlVecEnv(env)
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
