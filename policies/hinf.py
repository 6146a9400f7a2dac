"""H-infinity locomotion (Long et al., 2024, "Learning H-Infinity Locomotion Control").

Two policies learn together with PPO on any locomotion task:

- the **actor** (rsl_rl's PPO, extended here by `HInfPPO`): joint targets from proprioception. It
  maximises the task reward subject to the H-infinity constraint
      sum_t gamma^t c_t  <=  eta * sum_t gamma^t ||d_t||
  through a Lagrange multiplier lambda >= 0: a second (cost) critic learns the discounted cost, and
  the actor's advantage is (A_r - lambda * A_c) / (1 + lambda);
- the **disturber** (a plain rsl_rl PPO with a 3-D Gaussian action): a force on the trunk CoM from
  privileged state, bounded by a curriculum cap, held for `hold_steps` policy steps, rewarded with
  c_t - eta * ||d_t|| so that only forces that hurt more than they cost pay off.

The cost c_t is the task reward lost w.r.t. its ideal value on the named terms:
c_t = sum_i max(w_i * dt * ideal_i - r_i,t, 0); tracking kernels have ideal 1. ||d_t|| is the force
as a fraction of the robot's weight times dt, so both sides of the constraint are per-second rates
on the reward's scale and eta is dimensionless (cost rate per body weight of force).

Each iteration: one rollout with both policies; a PPO step for the actor; a PPO step for the
disturber; a dual step on lambda (PID-Lagrangian of Stooke et al. 2020; with kp = kd = 0 it is plain
projected dual ascent). Choices where the paper is vague are listed in docs/hinf.md.

With lambda fixed at 0 and the disturber off, `HInfPPO` performs exactly rsl_rl's PPO update
(tests/test_hinf_learner.py checks it on one batch).

The modules along the algorithm's seams: robolearn.policies.hinf_ppo (the actor's PPO with the cost critic, the
dual variable), robolearn.policies.hinf_learner (forces, disturber, cost, curriculum, `HInfLearner`), and this
one (the training loop). Older run folders' config.yaml name `robolearn.policies.hinf:HInfPPO`, so the names
stay importable from here.
"""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tensordict import TensorDict

from robolearn.policies.hinf_learner import (
    FORCE_DIM as FORCE_DIM,
    GRAVITY as GRAVITY,
    CostFn as CostFn,
    Disturber,
    HInfLearner,
    RolloutStats as RolloutStats,
    TrunkForce as TrunkForce,
    check_env_for_hinf,
    fall_cost as fall_cost,
    next_force_cap as next_force_cap,
    squash_force as squash_force,
)
from robolearn.policies.hinf_ppo import HInfPPO as HInfPPO, PidLagrangian as PidLagrangian, gae as gae
from robolearn.rl import HInfCfg

if TYPE_CHECKING:
    from robolearn.policies.setup import RunSpec
    from robolearn.policies.train import TrainResult


# -- training entry (`robolearn train <task> --algo hinf`) ------------------------------------------------


def train_hinf(spec: RunSpec, run: Path, state: dict | None, ckpt: Path | None, video: bool = False,
               time_limit_s: float | None = None) -> TrainResult:  # fmt: skip
    """The training helper's run folder, metrics, checkpoints and export around `HInfLearner`."""
    from robolearn.policies import setup
    from robolearn.policies.lifecycle import restore_training_state, seed_all, training_state
    from robolearn.policies.runs import MetricsLog, atomic_torch_save, checkpoint_path, clean_temp_files
    from robolearn.policies.train import PLAIN_LOG_EVERY, _Interrupt, console, finish_run, log_row

    agent: HInfCfg = spec.agent
    check_env_for_hinf(agent, spec.env)  # fail before the env is built
    setup.set_threads(agent.torch_threads)
    seed_all(spec.seed)
    clean_temp_files(run)
    env = setup.make_env(spec.env, spec.device)
    learner = HInfLearner(env, agent, spec.device)

    start_it, env_steps, wall_before = 0, 0, 0.0
    if state is not None:
        learner.load(state)
        start_it, env_steps, wall_before = state["iteration"], state["env_steps"], state["wall_time"]
        restore_training_state(env, learner.stats, state, ckpt)
        learner.sync_observations()
        console.print(f"resumed {run} from {ckpt} (iteration {start_it}, {env_steps} env steps)")

    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(run), flush_secs=10)
    metrics = MetricsLog(run, keep_until=start_it)
    t_start = time.perf_counter()
    done, last_ckpt = start_it, None

    def save(iteration: int) -> Path:
        # Between iterations only, like PPO's: the env, the learner, the disturber and every generator are where
        # the next iteration of an uninterrupted run would find them, so a resume continues bit for bit.
        data = learner.save()
        data.update(iteration=iteration, env_steps=env_steps, wall_time=wall_before + time.perf_counter() - t_start,
                    learning_rate=learner.alg.learning_rate, task=spec.task, algo="hinf",
                    **training_state(env, learner.stats))  # fmt: skip
        path = checkpoint_path(run, iteration)
        atomic_torch_save(data, path)
        return path

    stats = learner.stats
    learner.alg.train_mode()
    with _Interrupt() as interrupt, writer:
        for it in range(start_it, agent.max_iterations):
            t0 = time.perf_counter()
            losses = learner.iterate()
            t_iter = time.perf_counter() - t0
            env_steps += env.num_envs * agent.num_steps_per_env
            row: dict[str, Any] = {
                "iteration": it,
                "env_steps": env_steps,
                "wall_time": round(wall_before + time.perf_counter() - t_start, 3),
                "mean_return": statistics.fmean(stats.returns) if stats.returns else math.nan,
                "mean_episode_length": statistics.fmean(stats.lengths) if stats.lengths else math.nan,
                "fps": env.num_envs * agent.num_steps_per_env / t_iter,
                "learning_rate": learner.alg.learning_rate,
                "action_std": float(learner.alg.get_policy().output_std.detach().mean()),
                **losses,
            }
            log_row(metrics, writer, row, env_steps)
            done = it + 1
            if it % PLAIN_LOG_EVERY == 0 or done == agent.max_iterations:
                console.print(
                    f"[{spec.task} hinf] it {done}/{agent.max_iterations} {row['wall_time']:.0f}s "
                    f"return {row['mean_return']:.2f} lambda {row['HInf/lambda']:.2f} "
                    f"cap {row['HInf/force_cap']:.0f}N force {row['HInf/mean_force']:.1f}N "
                    f"falls/ep {row['HInf/falls_per_episode']:.2f}"
                )
            out_of_time = time_limit_s is not None and time.perf_counter() - t_start >= time_limit_s
            if done % agent.save_interval == 0 or interrupt.requested or out_of_time:
                last_ckpt = save(done)
            if interrupt.requested or out_of_time:
                break
    return finish_run(
        run, spec, env, learner.alg.get_policy(), save, last_ckpt, done, metrics, interrupt.requested, video
    )


def load_disturber(checkpoint: dict[str, Any], cfg: HInfCfg, obs: TensorDict, num_envs: int,
                   device: str = "cpu") -> Disturber:  # fmt: skip
    """The trained disturber of an H-infinity checkpoint (for evaluating other policies against it)."""
    if checkpoint.get("disturber") is None:
        raise ValueError(
            "hinf: this checkpoint has no learned disturber (trained with disturber='random' or 'off')"
        )
    disturber = Disturber(obs, num_envs, cfg, device)
    disturber.alg.load(checkpoint["disturber"], {"actor": True}, strict=True)
    disturber.alg.eval_mode()
    return disturber
