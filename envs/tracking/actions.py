"""The tracking tasks' action: joint-position targets around the reference's joint positions (`residual=True`,
the tasks' default) or around the default pose (`residual=False`, BeyondMimic's), each joint scaled by its own
torque limit over its servo stiffness (`effort_fraction`, BeyondMimic's 0.25: the knee moves 0.35 rad per unit
of action, the 5 N m wrists 0.075 rad).

`residual=True`: target = reference joint positions of the frame the step leads to (the command's first J
entries, which the policy also observes) + scale * action. A policy that outputs zeros replays the clip on
the servos; policy.json says so (`extra.action_offset_command`) and the deploy runtime adds the reference it
ships. The tasks take it because it is the action measured to learn on a CPU budget (docs/tracking.md: 42%
whole-clip success on the CMU walk at 13.5M env steps; on the earlier clip 1.4x the default-pose action's
training return at 2.46M); the default-pose action was not rerun at that length.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from robolearn.core import JointPositionActionCfg
from robolearn.core.actions.joint import JointPositionAction
from robolearn.envs.tracking.robots import effort_action_scale

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


@dataclass
class MotionJointPositionActionCfg(JointPositionActionCfg):
    """Joint-position targets around the motion command's reference joint positions (or the default pose)."""

    command_name: str = "motion"
    residual: bool = False
    """Targets around the reference's joint positions (True) or around the default pose (False)."""
    effort_fraction: float | None = None
    """BeyondMimic's per-joint scale: joint j moves `effort_fraction` * torque limit / kp per unit of action
    (`scale` is then ignored). None: one `scale` for every joint."""

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
        self.gain = torch.ones(self.dim, device=env.device)
        """Per-joint factor on `cfg.scale` (all 1 without `effort_fraction`)."""
        if cfg.effort_fraction is not None:
            scales = torch.as_tensor(effort_action_scale(env.scene.model, list(self.ctrl_ids), cfg.effort_fraction),
                                     dtype=torch.float32, device=env.device)  # fmt: skip
            # The export contract carries one scale: the largest; the per-joint factors (<= 1) are folded into
            # the exported network's output (policy_metadata's extra.action_gain) and into `last_action`.
            self.cfg = dataclasses.replace(cfg, scale=float(scales.max()))
            self.gain = scales / scales.max()

    @property
    def joint_scale(self) -> torch.Tensor:
        """(dim,) joint-target radians per unit of action, per joint."""
        return self.cfg.scale * self.gain

    @property
    def output_gain(self) -> list[float] | None:
        """The per-joint factors the export folds into the network's output (None when all are 1)."""
        return None if bool((self.gain == 1).all()) else self.gain.cpu().tolist()

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
        self.action[:] = action.clamp(-self.cfg.clip, self.cfg.clip)
        base = self.reference if self.cfg.residual else self.offset
        self.target[:] = base + self.joint_scale * self.action
        return self.action
