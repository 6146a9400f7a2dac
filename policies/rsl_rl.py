"""rsl_rl's VecEnv over a ManagerBasedRlEnv: observation groups as a TensorDict, time-outs in extras.

The TensorDict wraps the env's own group tensors (no copy); rsl_rl's storage copies what it keeps.
"""

from __future__ import annotations

from typing import Any

import torch
from rsl_rl.env import VecEnv
from rsl_rl.extensions import Symmetry
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


class AugmentationOnlySymmetry(Symmetry):
    """rsl_rl's symmetry augmentation without the mirror loss computed for logging only.

    With `use_mirror_loss` off, rsl_rl still runs the actor once more over the doubled minibatch, building
    a graph it then detaches, just to log the loss: 17% of Go2-Velocity-Flat's update CPU time
    (benchmarks/train_levers.py). Gradients are the same without it; the logged loss becomes NaN.
    """

    def compute_loss(self, actor: Any, batch: Any, original_batch_size: int) -> torch.Tensor:
        if self.use_mirror_loss:
            return super().compute_loss(actor, batch, original_batch_size)
        return torch.tensor(float("nan"))


def lean_symmetry(alg: Any) -> None:
    """Swap the learner's symmetry extension (if any, and augmentation only) for AugmentationOnlySymmetry."""
    sym = getattr(alg, "symmetry", None)
    if sym is not None and not sym.use_mirror_loss and type(sym) is Symmetry:
        sym.__class__ = AugmentationOnlySymmetry  # same state, one method less work
