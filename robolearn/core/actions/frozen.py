"""A frozen-policy action term: the policy's action is a command to a packed low-level policy (e.g. a walking
skill taking velocity and height commands), which runs every step and writes its entity's joint targets.

The core never loads a run folder: the task gives an already-built callable through a factory
(`policy_factory(env) -> callable`), so loading packed runs stays in robolearn.policies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from robolearn.core.actions.base import ActionTerm, ActionTermCfg
from robolearn.core.actions.joint import _check_actuators

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


@dataclass
class FrozenPolicyActionCfg(ActionTermCfg):
    """command_ranges: one (low, high) per command the high level gives; its action in [-1, 1] maps onto them.
    observation(env, term) builds the low-level policy's input (it reads term.command and term.low_action);
    the low-level output becomes joint targets default + scale * output, as the skill was trained."""

    policy_factory: Callable[[Any], Callable[[torch.Tensor], torch.Tensor]] | None = None
    observation: Callable[[Any, Any], torch.Tensor] | None = None
    command_ranges: tuple[tuple[float, float], ...] = ((-1.0, 1.0),)
    scale: float = 0.25
    clip: float = 100.0

    def build(self, name: str, env: ManagerBasedRlEnv) -> FrozenPolicyAction:
        return FrozenPolicyAction(name, self, env)


class FrozenPolicyAction(ActionTerm):
    cfg: FrozenPolicyActionCfg

    def __init__(self, name: str, cfg: FrozenPolicyActionCfg, env: ManagerBasedRlEnv):
        super().__init__(name, cfg, env)
        if cfg.policy_factory is None or cfg.observation is None:
            raise ValueError(f"actions[{name!r}]: a frozen-policy term needs policy_factory and observation")
        _check_actuators(self, "position")
        self.policy = cfg.policy_factory(env)
        self.dim = len(cfg.command_ranges)
        ranges = torch.tensor(cfg.command_ranges, dtype=torch.float32, device=env.device)
        self._lo, self._hi = ranges[:, 0], ranges[:, 1]
        self.command = torch.zeros(env.num_envs, self.dim, device=env.device)
        """The command the high level gave this step, in the low level's units."""
        self.low_action = torch.zeros(env.num_envs, len(self.joint_ids), device=env.device)
        """The low-level policy's last output (its own `last_action` observation)."""
        self.offset = self.entity.default_joint_pos[self.joint_ids].to(env.device)
        self.target = torch.zeros_like(self.low_action)
        out = self._run()
        if out.shape != self.low_action.shape:
            raise ValueError(f"actions[{name!r}]: the frozen policy returns shape {tuple(out.shape)}, expected "
                             f"{tuple(self.low_action.shape)} (num_envs, joints {self.joint_names})")  # fmt: skip

    def _run(self) -> torch.Tensor:
        assert self.cfg.observation is not None
        with torch.no_grad():
            obs = self.cfg.observation(self.env, self).to(self.env.device, torch.float32)
            return self.policy(obs).to(self.env.device, torch.float32)

    def process(self, action: torch.Tensor) -> torch.Tensor:
        a = action.clamp(-1.0, 1.0)
        self.command[:] = self._lo + (a + 1.0) * 0.5 * (self._hi - self._lo)
        return a

    def apply(self) -> None:
        self.low_action[:] = self._run().clamp(-self.cfg.clip, self.cfg.clip)
        self.target[:] = self.offset + self.cfg.scale * self.low_action
        self.write_ctrl(self.target)

    def reset(self, env_ids: torch.Tensor) -> None:
        self.command[env_ids] = 0.0
        self.low_action[env_ids] = 0.0
        self.write_ctrl(self.offset.expand(len(env_ids), -1), env_ids)
