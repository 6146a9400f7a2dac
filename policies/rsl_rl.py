"""rsl_rl's VecEnv over a ManagerBasedRlEnv: observation groups as a TensorDict, time-outs in extras.

The TensorDict wraps the env's own group tensors (no copy); rsl_rl's storage copies what it keeps.
"""

from __future__ import annotations

import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict

from robolearn.core.env import ManagerBasedRlEnv


class RslRlVecEnv(VecEnv):
    def __init__(self, env: ManagerBasedRlEnv):
        self.env = env
        self.num_envs = env.num_envs
        self.num_actions = env.num_actions
        self.max_episode_length = env.max_episode_length
        self.device = env.device
        self.cfg = env.cfg

    # rsl_rl randomizes initial episode lengths by assigning this buffer; forward to the env's.
    @property
    def episode_length_buf(self) -> torch.Tensor:
        return self.env.episode_length_buf

    @episode_length_buf.setter
    def episode_length_buf(self, value: torch.Tensor) -> None:
        self.env.episode_length_buf[:] = value

    def _wrap(self, obs: dict[str, torch.Tensor]) -> TensorDict:
        return TensorDict(obs, batch_size=[self.num_envs], device=self.device)

    def get_observations(self) -> TensorDict:
        return self._wrap(self.env.obs_buf)

    def reset(self) -> TensorDict:
        obs, _ = self.env.reset()
        return self._wrap(obs)

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        obs, reward, terminated, time_out, extras = self.env.step(actions)
        # rsl_rl wants one done flag; it bootstraps the value of time-outs from extras["time_outs"].
        dones = terminated | time_out
        extras["time_outs"] = time_out
        return self._wrap(obs), reward, dones, extras
