"""The tracking tasks' action: joint-position targets around the reference's joint positions.

`residual=True` (the default): target = reference joint positions of the frame the step leads to (the
command's first J entries, which the policy also observes) + scale * action. A policy that outputs zeros
replays the clip on the servos, so PPO starts from a robot that follows the motion and only has to learn
to balance it. Measured on G1-Tracking (CMU 131_01 walk, 32 worlds, 10 PPO iterations, 2 loaded cores):
with targets around the default pose, episodes from RSI lasted 6-10 steps throughout (the servos pull the
robot out of the reference pose and an end effector leaves its reference within 0.2 s); around the
reference they grew from 11 to 22 steps and the return from 0.25 to 0.41.

`residual=False` is BeyondMimic's action (targets around the default pose, the keyframe), for runs with the
budget to learn the whole motion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from robolearn.core import JointPositionActionCfg
from robolearn.core.actions.joint import JointPositionAction

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


@dataclass
class MotionJointPositionActionCfg(JointPositionActionCfg):
    """Joint-position targets around the motion command's reference joint positions (or the default pose)."""

    command_name: str = "motion"
    residual: bool = True
    """Targets around the reference's joint positions (True) or around the default pose (False)."""

    def build(self, name: str, env: ManagerBasedRlEnv) -> MotionJointPositionAction:
        return MotionJointPositionAction(name, self, env)


class MotionJointPositionAction(JointPositionAction):
    cfg: MotionJointPositionActionCfg

    def __init__(self, name: str, cfg: MotionJointPositionActionCfg, env: ManagerBasedRlEnv):
        super().__init__(name, cfg, env)
        command = env.command_manager.get_term(cfg.command_name)
        if list(command.entity.joint_names) != list(self.entity.joint_names):
            raise ValueError(f"actions[{name!r}]: entity {self.entity.name!r} is not the one command "
                             f"{cfg.command_name!r} tracks ({command.entity.name!r})")  # fmt: skip
        self.command_term = command
        self._cols = torch.as_tensor(self.joint_ids, dtype=torch.long, device=env.device)

    @property
    def offset_command(self) -> str | None:
        """The command whose reference joint positions the targets are offsets from (None: the default pose);
        the export writes it into policy.json (`extra.action_offset_command`) for the deploy side."""
        return self.cfg.command_name if self.cfg.residual else None

    @property
    def reference(self) -> torch.Tensor:
        """(N, dim) the reference joint positions the targets are offsets from (this step's target frame)."""
        return self.command_term.command[:, self._cols]

    def process(self, action: torch.Tensor) -> torch.Tensor:
        if not self.cfg.residual:
            return super().process(action)
        self.action[:] = action.clamp(-self.cfg.clip, self.cfg.clip)
        self.target[:] = self.reference + self.cfg.scale * self.action
        return self.action
