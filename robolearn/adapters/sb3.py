"""A stable-baselines3 VecEnv over the batched env (the `policy` observation group)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from robolearn.core.env import ManagerBasedRlEnv


class Sb3VecEnv(VecEnv):
    def __init__(self, env: ManagerBasedRlEnv, group: str = "policy", action_bound: float | None = None):
        """`action_bound` sets the Box bounds SB3 sees (default: the task's action clip). Squashing
        learners like SAC act over the whole box, so give them the range a policy really uses."""
        self.env = env
        self.group = group
        env.keep_terminal_obs = True
        clip = float(action_bound if action_bound is not None else env.action_manager.action_bound)
        obs_space = spaces.Box(-np.inf, np.inf, (env.observation_dims()[group],), np.float32)
        act_space = spaces.Box(-clip, clip, (env.num_actions,), np.float32)
        self.render_mode = None
        super().__init__(env.num_envs, obs_space, act_space)
        self._actions: torch.Tensor | None = None
        self._returns = np.zeros(env.num_envs)
        self._lengths = np.zeros(env.num_envs, dtype=np.int64)

    def reset(self) -> np.ndarray:
        obs, _ = self.env.reset(seed=self._seeds[0] if self._seeds and self._seeds[0] is not None else None)
        self._reset_seeds()
        self._returns[:] = 0
        self._lengths[:] = 0
        return obs[self.group].numpy().copy()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = torch.as_tensor(np.asarray(actions, dtype=np.float32))

    def step_wait(self):
        assert self._actions is not None, "step_async must come first"
        obs, rew, term, trunc, extras = self.env.step(self._actions)
        rew_np, done = rew.numpy().copy(), (term | trunc).numpy()
        self._returns += rew_np
        self._lengths += 1
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(done):
            info = infos[i]
            info["terminal_observation"] = extras["terminal_obs"][self.group][i].numpy().copy()
            info["TimeLimit.truncated"] = bool(trunc[i]) and not bool(term[i])
            info["episode"] = {"r": float(self._returns[i]), "l": int(self._lengths[i])}
            self._returns[i] = 0
            self._lengths[i] = 0
        return obs[self.group].numpy().copy(), rew_np, done.copy(), infos

    def close(self) -> None:
        self.env.close()

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *args, indices=None, **kwargs) -> list[Any]:
        raise NotImplementedError(
            f"{type(self).__name__} runs one batched env; no per-env method {method_name!r}"
        )

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * len(self._indices(indices))

    def _indices(self, indices) -> Sequence[int]:
        if indices is None:
            return range(self.num_envs)
        return [indices] if isinstance(indices, int) else list(indices)
