"""H-infinity locomotion (Long et al., 2024, "Learning H-Infinity Locomotion Control"), issue 6.

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
"""

from __future__ import annotations

import copy
import math
import statistics
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import mujoco
import torch
import torch.nn as nn
from rsl_rl.algorithms import PPO
from rsl_rl.models import MLPModel
from rsl_rl.storage import RolloutStorage
from tensordict import TensorDict

from robolearn.policies.rsl_rl import RslRlVecEnv
from robolearn.rl import HInfCfg

if TYPE_CHECKING:
    from robolearn.core.cfg import EnvCfg
    from robolearn.core.env import ManagerBasedRlEnv
    from robolearn.policies.setup import RunSpec
    from robolearn.policies.train import TrainResult

GRAVITY = 9.81
FORCE_DIM = 3
"""The disturber's action: a world-frame force (x, y, z) on the trunk CoM."""


def check_env_for_hinf(cfg: HInfCfg, env_cfg: EnvCfg) -> str:
    """Validate the learner config against a task before the env is built; returns the trunk body name."""
    cfg.validate()
    trunk = cfg.trunk_body if cfg.trunk_body is not None else env_cfg.base_body
    if not trunk:
        raise ValueError(
            "hinf: the task names no trunk body for the disturber (EnvCfg.base_body and HInfCfg.trunk_body are empty)"
        )
    missing = [t for t in cfg.cost_terms if t not in env_cfg.rewards]
    if missing:
        raise ValueError(
            f"hinf: cost_terms {missing} are not reward terms of the task; its terms: {sorted(env_cfg.rewards)}"
        )
    if cfg.trunk_body is not None:
        from robolearn.scene import build_scene

        model = build_scene(env_cfg.scene).model
        if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, trunk) < 0:
            bodies = [model.body(i).name for i in range(model.nbody)]
            raise ValueError(
                f"hinf: trunk_body {trunk!r} is not a body of {env_cfg.scene.robot}; bodies: {bodies}"
            )
    return trunk


# -- dual variable ---------------------------------------------------------------------------------


class PidLagrangian:
    """lambda = (kp*e + ki*I + kd*D)_+ with e = J_c - eta*J_d, I = (I + e)_+, D = (J_c - J_c,prev)_+.

    With kp = kd = 0 this is projected dual ascent, lambda <- (lambda + ki*e)_+ (Stooke et al. 2020).
    """

    def __init__(self, lambda_init: float = 0.0, kp: float = 0.0, ki: float = 0.02, kd: float = 0.0,
                 lambda_max: float = 5.0, enabled: bool = True):  # fmt: skip
        self.kp, self.ki, self.kd, self.lambda_max, self.enabled = kp, ki, kd, lambda_max, enabled
        self.value = lambda_init
        self.integral = lambda_init / ki if ki > 0 else 0.0
        self.prev_cost: float | None = None

    def update(self, cost: float, bound: float) -> float:
        """One dual step from batch estimates of the cost and of eta * disturbance; returns lambda."""
        if not self.enabled:
            return self.value
        error = cost - bound
        self.integral = max(0.0, self.integral + error)
        rise = 0.0 if self.prev_cost is None else max(0.0, cost - self.prev_cost)
        self.prev_cost = cost
        self.value = min(
            max(0.0, self.kp * error + self.ki * self.integral + self.kd * rise), self.lambda_max
        )
        return self.value

    def state_dict(self) -> dict[str, Any]:
        return {"value": self.value, "integral": self.integral, "prev_cost": self.prev_cost}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.value, self.integral, self.prev_cost = state["value"], state["integral"], state["prev_cost"]


# -- the actor's algorithm: PPO with a cost critic and a Lagrangian advantage ---------------------------


def gae(rewards: torch.Tensor, values: torch.Tensor, last_values: torch.Tensor, dones: torch.Tensor,
        gamma: float, lam: float) -> torch.Tensor:  # fmt: skip
    """Generalized advantage estimates of (T, N, 1) rollouts; `dones` cut the bootstrap."""
    advantages = torch.zeros_like(values)
    running = torch.zeros_like(last_values)
    for t in reversed(range(values.shape[0])):
        next_values = last_values if t == values.shape[0] - 1 else values[t + 1]
        alive = 1.0 - dones[t].float()
        delta = rewards[t] + alive * gamma * next_values - values[t]
        running = delta + alive * gamma * lam * running
        advantages[t] = running
    return advantages


class HInfPPO(PPO):
    """rsl_rl's PPO whose actor also answers to a cost critic through a Lagrange multiplier.

    Costs arrive with each step in `extras["cost"]`. Reward returns, the reward critic and the PPO
    update itself are rsl_rl's; this class adds the cost critic, mixes the two advantages and trains
    the cost critic on its own minibatches (its own generator, so the actor's minibatches are PPO's).
    """

    def __init__(self, actor: MLPModel, critic: MLPModel, storage: RolloutStorage,
                 lagrangian_cfg: dict[str, Any] | None = None, **kwargs: Any):  # fmt: skip
        super().__init__(actor, critic, storage, **kwargs)
        # A copy of the reward critic's architecture (and initial weights: no RNG is drawn, so the actor and
        # reward critic start exactly as plain PPO's from the same seed).
        self.cost_critic = copy.deepcopy(self._raw_critic)
        self.cost_optimizer = torch.optim.Adam(self.cost_critic.parameters(), lr=self.learning_rate)
        shape = (storage.num_transitions_per_env, storage.num_envs, 1)
        self.costs = torch.zeros(shape, device=self.device)
        self.cost_values = torch.zeros(shape, device=self.device)
        self.cost_returns = torch.zeros(shape, device=self.device)
        self.cost_advantages = torch.zeros(shape, device=self.device)
        self._cost_value: torch.Tensor | None = None
        self.lagrangian = PidLagrangian(**(lagrangian_cfg or {}))
        self._batch_rng = torch.Generator(device=self.device)
        self._batch_rng.manual_seed(0)

    def act(self, obs: TensorDict) -> torch.Tensor:
        actions = super().act(obs)
        self._cost_value = self.cost_critic(obs).detach()
        return actions

    def process_env_step(self, obs: TensorDict, rewards: torch.Tensor, dones: torch.Tensor,
                         extras: dict[str, Any]) -> None:  # fmt: skip
        step = self.storage.step
        cost = extras["cost"].to(self.device).clone().view(-1, 1)
        assert self._cost_value is not None, "act() must precede process_env_step()"
        if "time_outs" in extras:
            # Truncated episodes: bootstrap the cost like rsl_rl bootstraps the reward.
            cost += self.gamma * self._cost_value * extras["time_outs"].view(-1, 1).to(self.device)
        self.costs[step] = cost
        self.cost_values[step] = self._cost_value
        super().process_env_step(obs, rewards, dones, extras)

    @property
    def lagrange_multiplier(self) -> float:
        return self.lagrangian.value

    def compute_returns(self, obs: TensorDict) -> None:
        super().compute_returns(obs)  # reward returns; its normalized advantages are replaced below
        st = self.storage
        reward_adv = st.returns - st.values
        last_cost_values = self.cost_critic(obs).detach()
        self.cost_advantages = gae(
            self.costs, self.cost_values, last_cost_values, st.dones, self.gamma, self.lam
        )
        self.cost_returns = self.cost_advantages + self.cost_values
        lam = self.lagrangian.value
        # Dividing by (1 + lambda) keeps the advantage's scale as lambda grows (PPO-Lagrangian practice).
        adv = (reward_adv - lam * self.cost_advantages) / (1.0 + lam)
        if not self.normalize_advantage_per_mini_batch:
            adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        st.advantages = adv

    def update(self) -> dict[str, float]:
        losses = super().update()  # clears the storage counter; its tensors still hold the batch
        losses["cost_value"] = self._update_cost_critic()
        return losses

    def _update_cost_critic(self) -> float:
        obs = self.storage.observations.flatten(0, 1)
        targets = self.cost_returns.flatten(0, 1)
        old_values = self.cost_values.flatten(0, 1)
        n = targets.shape[0]
        size = max(n // self.num_mini_batches, 1)
        total, count = 0.0, 0
        for _ in range(self.num_learning_epochs):
            order = torch.randperm(n, generator=self._batch_rng, device=self.device)
            for start in range(0, n, size):
                idx = order[start : start + size]
                values = self.cost_critic(obs[idx])
                if self.use_clipped_value_loss:
                    clipped = old_values[idx] + (values - old_values[idx]).clamp(
                        -self.clip_param, self.clip_param
                    )
                    loss = torch.max((values - targets[idx]).pow(2), (clipped - targets[idx]).pow(2)).mean()
                else:
                    loss = (values - targets[idx]).pow(2).mean()
                self.cost_optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(self.cost_critic.parameters(), self.max_grad_norm)
                self.cost_optimizer.step()
                total += loss.item()
                count += 1
        self.cost_critic.update_normalization(obs)
        return total / max(count, 1)

    def train_mode(self) -> None:
        super().train_mode()
        self.cost_critic.train()

    def eval_mode(self) -> None:
        super().eval_mode()
        self.cost_critic.eval()

    def save(self) -> dict:
        data = super().save()
        data["cost_critic_state_dict"] = self.cost_critic.state_dict()
        data["cost_optimizer_state_dict"] = self.cost_optimizer.state_dict()
        data["lagrangian"] = self.lagrangian.state_dict()
        return data

    def load(self, loaded_dict: dict, load_cfg: dict | None, strict: bool) -> bool:
        out = super().load(loaded_dict, load_cfg, strict)
        if "cost_critic_state_dict" in loaded_dict:
            self.cost_critic.load_state_dict(loaded_dict["cost_critic_state_dict"], strict=strict)
            self.cost_optimizer.load_state_dict(loaded_dict["cost_optimizer_state_dict"])
            self.lagrangian.load_state_dict(loaded_dict["lagrangian"])
        return out


# -- forces on the trunk ---------------------------------------------------------------------------------


def squash_force(raw: torch.Tensor, cap: float) -> torch.Tensor:
    """Map an unbounded 3-D action to a force of magnitude < cap, keeping its direction (radial tanh-like)."""
    norm = raw.norm(dim=-1, keepdim=True)
    return raw * (cap / torch.sqrt(1.0 + norm.square()))


class TrunkForce:
    """A world-frame force on one body's CoM, held in a buffer and written into `xfrc_applied` each step."""

    def __init__(self, env: ManagerBasedRlEnv, body: str):
        model = env.scene.model
        try:
            self.body_id = model.body(body).id
        except KeyError:
            bodies = [model.body(i).name for i in range(model.nbody)]
            raise ValueError(
                f"hinf: trunk body {body!r} is not a body of the model; bodies: {bodies}"
            ) from None
        self.env = env
        self.weight = float(model.body_subtreemass[self.body_id]) * GRAVITY
        """The robot's weight (N): forces are measured against it."""
        self.force = torch.zeros(env.num_envs, FORCE_DIM, device=env.device)

    def set(self, force: torch.Tensor, ids: torch.Tensor | None = None) -> None:
        if ids is None:
            self.force[:] = force
        else:
            self.force[ids] = force

    def clear(self, ids: torch.Tensor | None = None) -> None:
        self.set(torch.zeros(FORCE_DIM, device=self.force.device), ids)

    def apply(self) -> None:
        """Write the held force into the physics (before env.step; reset worlds are zeroed by MuJoCo)."""
        xfrc = self.env.sim.xfrc_applied
        xfrc[:, self.body_id, :3] = self.force.to(xfrc.device, xfrc.dtype)
        xfrc[:, self.body_id, 3:] = 0.0

    def magnitude(self) -> torch.Tensor:
        return self.force.norm(dim=-1)


class Disturber:
    """The adversary: a plain rsl_rl PPO whose 3-D action, squashed and capped, is the trunk force."""

    def __init__(self, obs: TensorDict, num_envs: int, cfg: HInfCfg, device: str):
        env_like = SimpleNamespace(num_envs=num_envs, num_actions=FORCE_DIM)
        self.alg: PPO = PPO.construct_algorithm(obs, env_like, cfg.disturber_rsl_rl(), device)  # type: ignore[arg-type]

    def act(self, obs: TensorDict) -> torch.Tensor:
        return self.alg.act(obs)

    @torch.no_grad()
    def act_deterministic(self, obs: TensorDict) -> torch.Tensor:
        return self.alg.get_policy()(obs)


class CostFn:
    """c_t = sum_i max(w_i * dt * ideal_i - r_i,t, 0) from the reward manager's per-term values of this step."""

    def __init__(self, env: ManagerBasedRlEnv, cost_terms: dict[str, float]):
        terms = env.reward_manager.terms
        missing = [t for t in cost_terms if t not in terms]
        if missing:
            raise ValueError(
                f"hinf: cost_terms {missing} are not active reward terms; active: {sorted(terms)}"
            )
        self.env = env
        self.ideal = {t: terms[t].weight * env.step_dt * ideal for t, ideal in cost_terms.items()}

    @property
    def max_cost(self) -> float:
        """The largest cost of one step: every cost term at zero reward."""
        return float(sum(self.ideal.values()))

    def __call__(self) -> torch.Tensor:
        values = self.env.reward_manager.step_values
        return sum((ideal - values[t]).clamp(min=0.0) for t, ideal in self.ideal.items())  # type: ignore[return-value]


def fall_cost(max_cost: float, gamma: float) -> float:
    """Cost charged at a fall: the maximum per-step cost on every later step, discounted (gamma c / (1 - gamma)).

    After a termination nothing is bootstrapped, so without this charge the cost-to-go of a fallen robot
    is 0, lower than that of any robot still standing.
    """
    return gamma * max_cost / (1.0 - gamma)


# -- the learner: one rollout with both policies, then actor, disturber and dual steps ------------------


@dataclass
class RolloutStats:
    cost_rate: float
    """Mean cost per second of experience."""
    disturbance_rate: float
    """Mean ||d|| (fraction of weight) per second."""
    mean_force: float
    """Mean force magnitude applied (N)."""
    falls_per_episode: float
    """Failures per max-episode-length of experience (drives the force curriculum)."""
    cost_fraction: float
    """Mean cost per step as a fraction of its maximum (gates the force curriculum)."""


def next_force_cap(cfg: HInfCfg, cap: float, falls_per_episode: float, cost_fraction: float) -> float:
    """The force-cap curriculum: up while the actor neither falls nor loses tracking, down while it falls."""
    if falls_per_episode < cfg.curriculum_up and cost_fraction < cfg.curriculum_cost:
        return min(cap + cfg.force_step, cfg.force_max)
    if falls_per_episode > cfg.curriculum_down:
        return max(cap - cfg.force_step, 0.0)
    return cap


class HInfLearner:
    """Actor (HInfPPO) + disturber + force curriculum over one env; `iterate()` is one training iteration."""

    def __init__(self, env: ManagerBasedRlEnv, cfg: HInfCfg, device: str = "cpu"):
        trunk = check_env_for_hinf(cfg, env.cfg)
        self.cfg, self.env, self.device = cfg, env, device
        self.vec = RslRlVecEnv(env)
        self.obs = self.vec.get_observations()
        self.alg: HInfPPO = PPO.construct_algorithm(self.obs, self.vec, cfg.to_rsl_rl(), device)  # type: ignore[assignment]
        self.force = TrunkForce(env, trunk)
        self.cost = CostFn(env, cfg.cost_terms)
        self.disturber = (
            Disturber(self.obs, env.num_envs, cfg, device) if cfg.disturber == "learned" else None
        )
        self.force_cap = min(cfg.force_start, cfg.force_max)
        self.fall_penalty = fall_cost(self.cost.max_cost, cfg.gamma) if cfg.fall_cost else 0.0
        self.rng = torch.Generator(device=env.device)
        self.rng.manual_seed(env.cfg.seed + 1)
        n = env.num_envs
        self.ep_return = torch.zeros(n, device=env.device)
        self.ep_length = torch.zeros(n, device=env.device)
        self.returns: deque[float] = deque(maxlen=200)
        self.lengths: deque[float] = deque(maxlen=200)

    def _new_forces(self) -> None:
        if self.cfg.disturber == "learned":
            assert self.disturber is not None
            raw = self.disturber.act(self.obs)
        elif self.cfg.disturber == "random":
            # Same distribution as an untrained disturber's output: N(0, init_std^2) per axis.
            raw = self.cfg.disturber_init_std * torch.randn(
                self.env.num_envs, FORCE_DIM, generator=self.rng, device=self.env.device
            )
        else:
            raw = torch.zeros(self.env.num_envs, FORCE_DIM, device=self.env.device)
        self.force.set(squash_force(raw.to(self.env.device), self.force_cap))

    @torch.inference_mode()
    def collect(self) -> tuple[RolloutStats, dict[str, list[float]]]:
        cfg, env, alg = self.cfg, self.env, self.alg
        n, k, dt = env.num_envs, cfg.hold_steps, env.step_dt
        logs: dict[str, list[float]] = defaultdict(list)
        cost_sum = torch.zeros((), device=env.device)
        dist_sum = torch.zeros((), device=env.device)
        force_sum = torch.zeros((), device=env.device)
        falls = 0
        window_reward = torch.zeros(n, device=env.device)
        window_done = torch.zeros(n, dtype=torch.bool, device=env.device)
        window_fail = torch.zeros(n, dtype=torch.bool, device=env.device)
        for t in range(cfg.num_steps_per_env):
            if t % k == 0:
                self._new_forces()
                window_reward.zero_()
                window_done.zero_()
                window_fail.zero_()
            self.force.apply()
            magnitude = self.force.magnitude()
            actions = alg.act(self.obs)
            self.obs, reward, dones, extras = self.vec.step(actions)
            time_outs = extras["time_outs"].bool()
            failed = dones.bool() & ~time_outs
            cost = self.cost() + self.fall_penalty * failed.float()
            disturbance = magnitude / self.force.weight * dt
            extras["cost"] = cost
            alg.process_env_step(self.obs, reward, dones, extras)
            cost_sum += cost.sum()
            dist_sum += disturbance.sum()
            force_sum += magnitude.sum()
            falls += int(failed.sum())
            window_reward += cost - (cfg.eta * disturbance if cfg.effort_penalty else 0.0)
            window_done |= dones.bool()
            window_fail |= failed
            done_ids = dones.nonzero(as_tuple=True)[0]
            self.force.clear(done_ids)  # a new episode starts unpushed until the next decision
            self.ep_return += reward
            self.ep_length += 1
            if len(done_ids):
                self.returns.extend(self.ep_return[done_ids].tolist())
                self.lengths.extend(self.ep_length[done_ids].tolist())
                self.ep_return[done_ids] = 0.0
                self.ep_length[done_ids] = 0.0
            for key, value in extras["log"].items():
                logs[key].append(float(value))
            if self.disturber is not None and (t + 1) % k == 0:
                self.disturber.alg.process_env_step(
                    self.obs,
                    window_reward.clone(),
                    window_done.clone(),
                    {"time_outs": window_done & ~window_fail},
                )
        alg.compute_returns(self.obs)
        if self.disturber is not None:
            self.disturber.alg.compute_returns(self.obs)
        samples = n * cfg.num_steps_per_env
        stats = RolloutStats(
            cost_rate=float(cost_sum) / samples / dt,
            disturbance_rate=float(dist_sum) / samples / dt,
            mean_force=float(force_sum) / samples,
            falls_per_episode=falls * env.max_episode_length / samples,
            cost_fraction=float(cost_sum) / samples / self.cost.max_cost,
        )
        return stats, logs

    def update(self, stats: RolloutStats) -> dict[str, float]:
        """Actor PPO step, disturber PPO step, dual step, force-cap curriculum."""
        cfg = self.cfg
        losses = {f"Loss/{k}": v for k, v in self.alg.update().items()}
        if self.disturber is not None:
            losses.update({f"Disturber/{k}": v for k, v in self.disturber.alg.update().items()})
        # Batch estimates of both sides of the constraint as per-second rates (stationary averages of the
        # discounted sums share the factor 1/(1-gamma), so comparing rates compares the sums).
        self.alg.lagrangian.update(stats.cost_rate, cfg.eta * stats.disturbance_rate)
        if cfg.disturber != "off":
            self.force_cap = next_force_cap(cfg, self.force_cap, stats.falls_per_episode, stats.cost_fraction)
        return losses

    def iterate(self) -> dict[str, float]:
        stats, logs = self.collect()
        row = self.update(stats)
        row.update({
            "HInf/lambda": self.alg.lagrange_multiplier,
            "HInf/force_cap": self.force_cap,
            "HInf/mean_force": stats.mean_force,
            "HInf/cost_rate": stats.cost_rate,
            "HInf/disturbance_rate": stats.disturbance_rate,
            "HInf/violation": stats.cost_rate - self.cfg.eta * stats.disturbance_rate,
            "HInf/cost_fraction": stats.cost_fraction,
            "HInf/falls_per_episode": stats.falls_per_episode,
            **{k: statistics.fmean(v) for k, v in logs.items()},
        })  # fmt: skip
        return row

    def save(self) -> dict[str, Any]:
        data = self.alg.save()
        data["force_cap"] = self.force_cap
        data["disturber"] = self.disturber.alg.save() if self.disturber is not None else None
        data["hinf_rng"] = self.rng.get_state()
        return data

    def load(self, data: dict[str, Any]) -> None:
        self.alg.load(data, None, strict=True)
        self.force_cap = float(data.get("force_cap", self.force_cap))
        if self.disturber is not None and data.get("disturber") is not None:
            self.disturber.alg.load(data["disturber"], None, strict=True)
        if "hinf_rng" in data:
            self.rng.set_state(data["hinf_rng"])


# -- training entry (`robolearn train <task> --algo hinf`) ------------------------------------------------


def train_hinf(spec: RunSpec, run: Path, state: dict | None, ckpt: Path | None, video: bool = False,
               time_limit_s: float | None = None) -> TrainResult:  # fmt: skip
    """The training helper's run folder, metrics, checkpoints and export around `HInfLearner`."""
    from robolearn.policies import setup
    from robolearn.policies.runs import MetricsLog, atomic_torch_save, checkpoint_path, clean_temp_files
    from robolearn.policies.train import PLAIN_LOG_EVERY, _Interrupt, console, finish_run, log_row

    agent: HInfCfg = spec.agent
    check_env_for_hinf(agent, spec.env)  # fail before the env is built
    setup.set_threads(agent.torch_threads)
    torch.manual_seed(spec.seed)
    clean_temp_files(run)
    env = setup.make_env(spec.env, spec.device)
    learner = HInfLearner(env, agent, spec.device)

    start_it, env_steps, wall_before = 0, 0, 0.0
    if state is not None:
        learner.load(state)
        start_it, env_steps, wall_before = state["iteration"], state["env_steps"], state["wall_time"]
        torch.set_rng_state(state["torch_rng"])
        console.print(f"resumed {run} from {ckpt} (iteration {start_it}, {env_steps} env steps)")

    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(run), flush_secs=10)
    metrics = MetricsLog(run, keep_until=start_it)
    t_start = time.perf_counter()
    done, last_ckpt = start_it, None

    def save(iteration: int) -> Path:
        data = learner.save()
        data.update(iteration=iteration, env_steps=env_steps, wall_time=wall_before + time.perf_counter() - t_start,
                    learning_rate=learner.alg.learning_rate, task=spec.task, algo="hinf",
                    torch_rng=torch.get_rng_state())  # fmt: skip
        path = checkpoint_path(run, iteration)
        atomic_torch_save(data, path)
        return path

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
                "mean_return": statistics.fmean(learner.returns) if learner.returns else math.nan,
                "mean_episode_length": statistics.fmean(learner.lengths) if learner.lengths else math.nan,
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
