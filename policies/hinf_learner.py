"""The H-infinity learner: the trunk force, the disturber (a plain rsl_rl PPO), the cost, the force-cap
curriculum, and `HInfLearner`, which runs one rollout with both policies and then the actor, disturber and dual
steps. The actor's algorithm is robolearn.policies.hinf_ppo; the training loop is robolearn.policies.hinf."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import mujoco
import torch
from rsl_rl.algorithms import PPO
from tensordict import TensorDict

from robolearn.policies.hinf_ppo import HInfPPO
from robolearn.policies.lifecycle import EpisodeStats
from robolearn.policies.rsl_rl import RslRlVecEnv, lean_symmetry
from robolearn.policies.throughput import torch_threads, update_threads
from robolearn.rl import HInfCfg

if TYPE_CHECKING:
    from robolearn.core.cfg import EnvCfg
    from robolearn.core.env import ManagerBasedRlEnv


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
        self.alg: HInfPPO = PPO.construct_algorithm(self.obs, self.vec, cfg.to_rsl_rl(device), device)  # type: ignore[assignment]
        lean_symmetry(self.alg)
        self.force = TrunkForce(env, trunk)
        self.cost = CostFn(env, cfg.cost_terms)
        self.disturber = (
            Disturber(self.obs, env.num_envs, cfg, device) if cfg.disturber == "learned" else None
        )
        self.force_cap = min(cfg.force_start, cfg.force_max)
        self.fall_penalty = fall_cost(self.cost.max_cost, cfg.gamma) if cfg.fall_cost else 0.0
        self.rng = torch.Generator(device=env.device)
        self.rng.manual_seed(env.cfg.seed + 1)
        self.stats = EpisodeStats(env.num_envs, env.device)

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
            self.stats.add(reward, dones)
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
        with torch_threads(update_threads(cfg.update_threads)):  # the physics threads idle meanwhile
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
        """The learner's state between iterations (the env's and the episode statistics travel beside it)."""
        data = self.alg.save()
        data["force_cap"] = self.force_cap
        data["disturber"] = self.disturber.alg.save() if self.disturber is not None else None
        data["hinf_rng"] = self.rng.get_state()
        data["trunk_force"] = self.force.force.clone()
        return data

    def load(self, data: dict[str, Any]) -> None:
        self.alg.load(data, None, strict=True)
        self.force_cap = float(data.get("force_cap", self.force_cap))
        if self.disturber is not None and data.get("disturber") is not None:
            self.disturber.alg.load(data["disturber"], None, strict=True)
        if "hinf_rng" in data:
            self.rng.set_state(data["hinf_rng"])
        if "trunk_force" in data:
            self.force.force.copy_(data["trunk_force"])

    def sync_observations(self) -> None:
        """Read the observations again after the env's state was restored underneath the learner."""
        self.obs = self.vec.get_observations()
