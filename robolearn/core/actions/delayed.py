"""A joint-position term whose targets reach the servos a whole number of policy steps late, the delay drawn
per world at build time: actuation and communication latency, a standard sim-to-real randomization."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from robolearn.core.actions.joint import JointPositionAction, JointPositionActionCfg

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


@dataclass
class DelayedJointPositionActionCfg(JointPositionActionCfg):
    """Joint-position targets applied d policy steps late, d ~ U{delay_steps} per world (inclusive bounds;
    (0, 1) at 50 Hz is 0 or 20 ms). The draw uses env.rng once, when the term is built."""

    delay_steps: tuple[int, int] = (0, 0)

    def build(self, name: str, env: ManagerBasedRlEnv) -> DelayedJointPositionAction:
        return DelayedJointPositionAction(name, self, env)


class DelayedJointPositionAction(JointPositionAction):
    cfg: DelayedJointPositionActionCfg

    def __init__(self, name: str, cfg: DelayedJointPositionActionCfg, env: ManagerBasedRlEnv):
        lo, hi = cfg.delay_steps
        if not (isinstance(lo, int) and isinstance(hi, int) and 0 <= lo <= hi):
            raise ValueError(f"actions[{name!r}].delay_steps must be integers 0 <= low <= high, got {cfg.delay_steps}")
        super().__init__(name, cfg, env)
        self.delay = torch.randint(lo, hi + 1, (env.num_envs,), device=env.device, generator=env.rng)
        """Each world's delay in policy steps."""
        # queue[k] is the action sent k steps ago; a world reads row delay[i].
        self._queue = torch.zeros(hi + 1, env.num_envs, self.dim, device=env.device)
        self._rows = torch.arange(env.num_envs, device=env.device)

    def process(self, action: torch.Tensor) -> torch.Tensor:
        self._queue = torch.roll(self._queue, 1, dims=0)
        self._queue[0] = action
        super().process(self._queue[self.delay, self._rows])
        # The policy's own last action (an observation) is what it sent, not what the motors got yet.
        self.action[:] = self._queue[0].clamp(-self.cfg.clip, self.cfg.clip)
        return self.action

    def reset(self, env_ids: torch.Tensor) -> None:
        super().reset(env_ids)
        self._queue[:, env_ids] = 0.0
