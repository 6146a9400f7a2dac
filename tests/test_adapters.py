"""gymnasium and stable-baselines3 adapters."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import robolearn.envs  # noqa: F401  (registers robolearn/<Task>-v0)
from robolearn.adapters.gym import BatchedVectorEnv
from robolearn.adapters.sb3 import Sb3VecEnv
from robolearn.registry import make_env

GYM_ID = "robolearn/Go2-Velocity-Flat-v0"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_single_env_passes_gymnasium_checker():
    env = gym.make(GYM_ID)
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=3)
    assert obs.shape == (50,) and obs.dtype == np.float32


def test_make_vec_gives_one_batched_env():
    venv = gym.make_vec(GYM_ID, num_envs=6)
    assert isinstance(venv, BatchedVectorEnv) and venv.env.num_envs == 6
    obs, _ = venv.reset(seed=0)
    obs, rew, term, trunc, info = venv.step(np.zeros((6, 12), np.float32))
    assert obs.shape == (6, 50) and rew.shape == (6,) and term.dtype == bool


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_sb3_check_env_and_ppo_learns_a_few_hundred_steps():
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    sb3_check_env(gym.make(GYM_ID).unwrapped, warn=False)
    venv = Sb3VecEnv(make_env("Go2-Velocity-Flat", num_envs=4))
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=1, policy_kwargs={"net_arch": [32, 32]},
                seed=0, device="cpu")  # fmt: skip
    model.learn(total_timesteps=512)
    assert model.num_timesteps >= 512
    action, _ = model.predict(venv.reset(), deterministic=True)
    assert action.shape == (4, 12)


def test_sb3_adapter_reports_terminal_observation():
    env = make_env("Go2-Velocity-Flat", num_envs=2, episode_length_s=0.06)  # 3 policy steps
    venv = Sb3VecEnv(env)
    venv.reset()
    for _ in range(3):
        obs, rew, done, infos = venv.step(np.zeros((2, 12), np.float32))
    assert done.all()
    assert infos[0]["TimeLimit.truncated"] and infos[0]["terminal_observation"].shape == (50,)
    assert infos[1]["episode"]["l"] == 3
