"""BiDex state teachers on rsl-rl: IPPO (one actor-critic per hand, as the paper) or one joint actor-critic.

IPPO: the left and right hands are two agents, each an rsl-rl PPO with its own actor, critic, rollout
storage and optimizer. Both see the whole privileged state (the `policy` and `critic` groups); each acts
for its own hand (22 joint targets) and is trained on its own hand's reward terms (`left_*` / `right_*`
of the two-stage reward). The joint variant is one PPO over the 44-D action and the summed reward.
A teacher is multi-task over the env's tasks (one demonstration per world, drawn at every reset).
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import torch
from rsl_rl.algorithms import PPO
from tensordict import TensorDict

from robolearn.core.env import ManagerBasedRlEnv
from robolearn.envs.dexterous.bidex.presets import ppo_cpu
from robolearn.policies.rsl_rl import RslRlVecEnv
from robolearn.rl.ppo import PpoCfg

SIDES = ("left", "right")


@dataclass
class TeacherCfg:
    mode: Literal["ippo", "joint"] = "ippo"
    iterations: int = 50
    ppo: PpoCfg = field(default_factory=ppo_cpu)
    seed: int = 0
    log_every: int = 10


def _agent(obs: TensorDict, num_envs: int, num_actions: int, ppo: PpoCfg, device: str) -> PPO:
    cfg = ppo.to_rsl_rl()
    env_like = SimpleNamespace(num_envs=num_envs, num_actions=num_actions)
    return PPO.construct_algorithm(obs, env_like, cfg, device)  # type: ignore[arg-type]


def split_rewards(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 2) this step's reward of each hand: the sum of its `left_*` / `right_*` terms."""
    values = env.reward_manager.step_values
    return torch.stack([sum((v for k, v in values.items() if k.startswith(f"{s}_")), torch.zeros(env.num_envs))
                        for s in SIDES], -1)  # fmt: skip


class BidexTeacher:
    """Collect with the current policies, update each agent; `act` is the deterministic teacher."""

    def __init__(self, env: ManagerBasedRlEnv, cfg: TeacherCfg, device: str = "cpu"):
        torch.manual_seed(cfg.seed)
        self.env, self.cfg, self.device = env, cfg, device
        self.vec = RslRlVecEnv(env)
        self.obs = self.vec.reset()
        n = env.num_envs
        dims = [env.action_manager.term_dims[f"{s}_hand"] for s in SIDES]
        if cfg.mode == "ippo":
            self.agents = [_agent(self.obs, n, d, cfg.ppo, device) for d in dims]
        elif cfg.mode == "joint":
            self.agents = [_agent(self.obs, n, sum(dims), cfg.ppo, device)]
        else:
            raise ValueError(f"teacher mode must be 'ippo' or 'joint', got {cfg.mode!r}")
        self.env_steps = 0
        self.iteration = 0
        self.returns: list[float] = []
        self._ep_return = torch.zeros(n)

    def _act(self, obs: TensorDict) -> torch.Tensor:
        return torch.cat([a.act(obs) for a in self.agents], dim=-1)

    @torch.no_grad()
    def act(self, obs: TensorDict) -> torch.Tensor:
        """Deterministic actions (the distribution's mean) for a batch of observations."""
        return torch.cat([a.get_policy()(obs) for a in self.agents], dim=-1)

    def collect(self) -> dict[str, list[float]]:
        logs: dict[str, list[float]] = defaultdict(list)
        with torch.no_grad():  # not inference_mode: the env's own buffers must stay writable afterwards
            for _ in range(self.cfg.ppo.num_steps_per_env):
                actions = self._act(self.obs)
                self.obs, reward, dones, extras = self.vec.step(actions)
                per_hand = split_rewards(self.env)
                rewards = [per_hand[:, 0], per_hand[:, 1]] if self.cfg.mode == "ippo" else [reward]
                for agent, r in zip(self.agents, rewards, strict=True):
                    agent.process_env_step(self.obs, r.clone(), dones, extras)
                self._ep_return += reward.cpu()
                done = dones.cpu().bool()
                self.returns.extend(self._ep_return[done].tolist())
                self._ep_return[done] = 0.0
                for k, v in extras["log"].items():
                    logs[k].append(float(v))
            for agent in self.agents:
                agent.compute_returns(self.obs)
        self.env_steps += self.env.num_envs * self.cfg.ppo.num_steps_per_env
        return logs

    def iterate(self) -> dict[str, float]:
        logs = self.collect()
        row: dict[str, float] = {}
        for i, agent in enumerate(self.agents):
            for k, v in agent.update().items():
                row[f"agent{i}/{k}"] = float(v)
        self.iteration += 1
        recent = self.returns[-200:]
        row["mean_return"] = statistics.fmean(recent) if recent else float("nan")
        row.update({k: statistics.fmean(v) for k, v in logs.items() if v})
        return row

    def train(self, iterations: int | None = None, log: Any = print) -> list[dict[str, float]]:
        rows = []
        start = time.time()
        for it in range(iterations or self.cfg.iterations):
            row = self.iterate()
            row["wall_s"] = time.time() - start
            row["env_steps"] = self.env_steps
            rows.append(row)
            if log is not None and (it % self.cfg.log_every == 0 or it == (iterations or self.cfg.iterations) - 1):
                log(f"[{self.cfg.mode}] it {it}: return {row['mean_return']:.3f}, env steps {self.env_steps}, "
                    f"{row['wall_s']:.0f} s")  # fmt: skip
        return rows

    def state_dict(self) -> dict[str, Any]:
        return {"mode": self.cfg.mode, "ppo": dataclasses.asdict(self.cfg.ppo),
                "agents": [a.save() for a in self.agents]}  # fmt: skip

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        torch.save(self.state_dict(), tmp)
        tmp.replace(path)
        return path

    def load(self, path: Path) -> None:
        data = torch.load(path, map_location=self.device, weights_only=False)
        if data["mode"] != self.cfg.mode:
            raise ValueError(f"{path}: field 'mode': a {data['mode']!r} teacher, this learner is {self.cfg.mode!r}")
        for agent, state in zip(self.agents, data["agents"], strict=True):
            agent.load(state, None, strict=True)
