"""The H-infinity actor's algorithm: rsl_rl's PPO with a cost critic whose advantage enters through a Lagrange
multiplier, and the multiplier's dual step (PID-Lagrangian). The learner and the training loop that drive it
are in robolearn.policies.hinf_learner and robolearn.policies.hinf."""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn as nn
from rsl_rl.algorithms import PPO
from rsl_rl.models import MLPModel
from rsl_rl.storage import RolloutStorage
from tensordict import TensorDict

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
        # The cost critic's minibatch order: without it a resumed run shuffles differently from an unbroken one.
        data["cost_batch_rng"] = self._batch_rng.get_state()
        return data

    def load(self, loaded_dict: dict, load_cfg: dict | None, strict: bool) -> bool:
        out = super().load(loaded_dict, load_cfg, strict)
        if "cost_critic_state_dict" in loaded_dict:
            self.cost_critic.load_state_dict(loaded_dict["cost_critic_state_dict"], strict=strict)
            self.cost_optimizer.load_state_dict(loaded_dict["cost_optimizer_state_dict"])
            self.lagrangian.load_state_dict(loaded_dict["lagrangian"])
        if "cost_batch_rng" in loaded_dict:
            self._batch_rng.set_state(loaded_dict["cost_batch_rng"])
        return out
