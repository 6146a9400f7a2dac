"""Action terms: how a policy's output becomes actuator controls."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import torch

from robolearn.core.cfg import JointPositionActionCfg

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


class JointPositionAction:
    """Joint-position targets around the default pose, tracked by the PD servos of the scene."""

    def __init__(self, cfg: JointPositionActionCfg, env: ManagerBasedRlEnv):
        self.cfg = cfg
        self.env = env
        names = env.robot.joint_names
        self.joint_ids = [i for i, n in enumerate(names) if re.fullmatch(cfg.joint_names, n)]
        if not self.joint_ids:
            raise ValueError(f"actions.joint_names={cfg.joint_names!r} matches none of the joints {names}")
        self.joint_names = [names[i] for i in self.joint_ids]
        self.dim = len(self.joint_ids)
        self._all = self.dim == len(names)
        n = env.num_envs
        self.action = torch.zeros(n, self.dim, device=env.device)
        self.prev_action = torch.zeros_like(self.action)
        self.offset = env.robot.default_joint_pos[self.joint_ids].to(env.device)
        self.target = torch.zeros_like(self.action)

    def process(self, action: torch.Tensor) -> None:
        expected = (self.env.num_envs, self.dim)
        if tuple(action.shape) != expected:
            raise ValueError(
                f"action has shape {tuple(action.shape)}, expected {expected} (num_envs, action dim)"
            )
        self.prev_action[:] = self.action
        self.action[:] = action.to(self.env.device).clamp(-self.cfg.clip, self.cfg.clip)
        self.target[:] = self.offset + self.cfg.scale * self.action
        ctrl = self.env.sim.ctrl
        if self._all:
            ctrl.copy_(self.target)
        else:
            ctrl[:, self.joint_ids] = self.target.to(ctrl.dtype)

    def reset(self, env_ids: torch.Tensor) -> None:
        self.action[env_ids] = 0.0
        self.prev_action[env_ids] = 0.0
        self.env.sim.ctrl[env_ids] = self.env.robot.default_joint_pos.to(self.env.sim.ctrl.dtype)
