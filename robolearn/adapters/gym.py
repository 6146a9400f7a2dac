"""gymnasium adapters: a one-world `Env` (passes gymnasium's env checker) and a batched `VectorEnv`.

    import gymnasium as gym, robolearn.envs
    env = gym.make("robolearn/Go2-Velocity-Flat-v0")                  # one world
    venv = gym.make_vec("robolearn/Go2-Velocity-Flat-v0", num_envs=512)  # one batched env, no per-env loop

Observations are the task's `policy` group; the batched env auto-resets in the same step
(gymnasium's SAME_STEP mode), with the episode's last observation in `info["final_obs"]`.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv

from robolearn.core.env import ManagerBasedRlEnv


def _make(task: str, num_envs: int, **overrides: Any) -> ManagerBasedRlEnv:
    from robolearn.registry import make_env

    env = make_env(task, num_envs=num_envs, **overrides)
    env.keep_terminal_obs = True
    return env


def _spaces(env: ManagerBasedRlEnv, group: str) -> tuple[gym.spaces.Box, gym.spaces.Box]:
    obs_dim = env.observation_dims()[group]
    clip = float(env.action_manager.action_bound)
    obs_space = gym.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32)
    act_space = gym.spaces.Box(-clip, clip, (env.num_actions,), np.float32)
    return obs_space, act_space


class SingleEnv(gym.Env):
    """One world of a task as a standard gymnasium Env."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, task: str, render_mode: str | None = None, group: str = "policy", **overrides: Any):
        self.env = _make(task, 1, **overrides)
        self.group = group
        self.observation_space, self.action_space = _spaces(self.env, group)
        self.render_mode = render_mode
        self.metadata = {**self.metadata, "render_fps": int(round(1 / self.env.step_dt))}
        self._renderer = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        obs, _ = self.env.reset(seed=seed)
        return obs[self.group][0].numpy().copy(), {}

    def step(self, action):
        act = torch.as_tensor(np.asarray(action, dtype=np.float32)).reshape(1, -1)
        obs, rew, term, trunc, extras = self.env.step(act)
        info: dict[str, Any] = {}
        if "terminal_obs" in extras:
            info["final_obs"] = extras["terminal_obs"][self.group][0].numpy().copy()
        return obs[self.group][0].numpy().copy(), float(rew[0]), bool(term[0]), bool(trunc[0]), info

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        from robolearn.render import WorldRenderer

        if self._renderer is None:
            self._renderer = WorldRenderer(self.env.scene.model)
        q, v = self.env.sim.qpos[0].numpy(), self.env.sim.qvel[0].numpy()
        return self._renderer.render_state(q, v, self.env.camera_body)

    def close(self):
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


class BatchedVectorEnv(VectorEnv):
    """All worlds of a task as one gymnasium VectorEnv; arrays are numpy views of torch tensors."""

    metadata = {"autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, task: str, num_envs: int = 1, group: str = "policy", **overrides: Any):
        self.env = _make(task, num_envs, **overrides)
        self.group = group
        self.num_envs = num_envs
        self.single_observation_space, self.single_action_space = _spaces(self.env, group)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, _ = self.env.reset(seed=seed)
        return obs[self.group].numpy(), {}

    def step(self, actions):
        act = torch.as_tensor(np.asarray(actions, dtype=np.float32))
        obs, rew, term, trunc, extras = self.env.step(act)
        info: dict[str, Any] = {"log": extras["log"]}
        if "terminal_obs" in extras:
            done = (term | trunc).numpy()
            info["final_obs"] = extras["terminal_obs"][self.group].numpy()
            info["_final_obs"] = done
        return obs[self.group].numpy(), rew.numpy(), term.numpy(), trunc.numpy(), info

    def close_extras(self, **kwargs: Any) -> None:
        self.env.close()
