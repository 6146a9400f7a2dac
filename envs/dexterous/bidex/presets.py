"""Training presets of the BiDex tasks (robolearn.rl configs): a CPU preset for a few tasks on 2 cores and a
GPU preset at the paper's scale (thousands of worlds)."""

from __future__ import annotations

from robolearn.rl.ppo import PpoCfg


def ppo_cpu() -> PpoCfg:
    """64 worlds, 24 steps each per iteration, a small (256, 128) actor-critic: ~1.5k samples/iteration."""
    return PpoCfg(num_envs=64, max_iterations=200, num_steps_per_env=24, actor_hidden_dims=(256, 128),
                  critic_hidden_dims=(256, 128), init_noise_std=0.6, learning_rate=5e-4, entropy_coef=0.005,
                  save_interval=50)  # fmt: skip


def ppo_gpu() -> PpoCfg:
    """The paper's scale: 4096 worlds (mujoco-warp), a (1024, 512, 256) actor-critic, 5k iterations."""
    return PpoCfg(num_envs=4096, max_iterations=5000, num_steps_per_env=16, actor_hidden_dims=(1024, 512, 256),
                  critic_hidden_dims=(1024, 512, 256), init_noise_std=0.8, learning_rate=3e-4,
                  num_mini_batches=8, save_interval=200)  # fmt: skip
