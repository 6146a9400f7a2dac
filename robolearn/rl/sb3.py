"""The stable-baselines3 bridge's config (robolearn.policies.sb3 runs it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Sb3Cfg:
    algo: str = "ppo"
    """'ppo' or 'sac'."""
    num_envs: int | None = 64
    max_iterations: int = 200
    steps_per_iteration: int = 24
    save_interval: int = 25
    hidden_dims: tuple[int, ...] = (128, 128)
    learning_rate: float = 3e-4
    batch_size: int = 512
    gamma: float = 0.99
    torch_threads: int = 0
    action_bound: float | None = None
    """Box bound of actions seen by SB3 (None: the task's clip). SAC squashes into the box, so a
    bound of +-100 (the default clip) would make its exploration pure noise; 3 covers the joint
    offsets a Go2 gait uses (3 x 0.25 rad)."""

    @classmethod
    def for_algo(cls, algo: str) -> Sb3Cfg:
        name = algo.removeprefix("sb3-")
        if name not in ("ppo", "sac"):
            raise ValueError(f"unknown SB3 algorithm {algo!r}; use sb3-ppo or sb3-sac")
        if name == "ppo":
            return cls(algo=name, num_envs=64)
        return cls(algo=name, num_envs=16, action_bound=3.0)
