"""Joint-space action terms: position targets (PD servos), velocity targets, efforts, and a gripper."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mujoco
import torch

from robolearn.core.actions.base import ActionTerm, ActionTermCfg

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


def _check_actuators(term: ActionTerm, kind: str) -> None:
    """Refuse a term whose joints' actuators are of another kind (a velocity target sent to a position servo
    would be read as a position)."""
    model = term.env.scene.model
    bad = []
    for joint, a in zip(term.joint_names, term.ctrl_ids, strict=True):
        affine = model.actuator_biastype[a] == mujoco.mjtBias.mjBIAS_AFFINE
        kp, kv = -model.actuator_biasprm[a, 1], -model.actuator_biasprm[a, 2]
        is_kind = {
            "position": affine and kp > 0,
            "velocity": affine and kp == 0 and kv > 0,
            "effort": not affine,
        }[kind]
        if not is_kind:
            bad.append(joint)
    if bad:
        hint = {"position": "scene pd_gains", "velocity": "RobotEntityCfg.velocity_gains",
                "effort": "RobotEntityCfg.motor_joints"}[kind]  # fmt: skip
        raise ValueError(f"actions[{term.name!r}]: joints {bad} of entity {term.entity.name!r} have no {kind} "
                         f"actuators (set them up with {hint})")  # fmt: skip


@dataclass
class JointPositionActionCfg(ActionTermCfg):
    """Joint-position targets: default pose + scale * action, tracked by the scene's PD servos."""

    scale: float = 0.25
    clip: float = 100.0
    use_default_offset: bool = True
    """Targets are relative to the default pose (else absolute, in radians or metres)."""

    def build(self, name: str, env: ManagerBasedRlEnv) -> JointPositionAction:
        return JointPositionAction(name, self, env)


class JointPositionAction(ActionTerm):
    cfg: JointPositionActionCfg

    def __init__(self, name: str, cfg: JointPositionActionCfg, env: ManagerBasedRlEnv):
        super().__init__(name, cfg, env)
        _check_actuators(self, "position")
        self.dim = len(self.joint_ids)
        default = self.entity.default_joint_pos[self.joint_ids].to(env.device)
        self.offset = default if cfg.use_default_offset else torch.zeros_like(default)
        self.default = default
        self.action = torch.zeros(env.num_envs, self.dim, device=env.device)
        self.target = torch.zeros_like(self.action)

    def process(self, action: torch.Tensor) -> torch.Tensor:
        self.action[:] = action.clamp(-self.cfg.clip, self.cfg.clip)
        self.target[:] = self.offset + self.cfg.scale * self.action
        return self.action

    def apply(self) -> None:
        self.write_ctrl(self.target)

    def reset(self, env_ids: torch.Tensor) -> None:
        self.action[env_ids] = 0.0
        self.write_ctrl(self.default.expand(len(env_ids), -1), env_ids)


@dataclass
class JointVelocityActionCfg(ActionTermCfg):
    """Joint-velocity targets (scale * action) for velocity servos (RobotEntityCfg.velocity_gains)."""

    scale: float = 1.0
    clip: float = 100.0

    def build(self, name: str, env: ManagerBasedRlEnv) -> JointVelocityAction:
        return JointVelocityAction(name, self, env)


class JointVelocityAction(ActionTerm):
    cfg: JointVelocityActionCfg

    def __init__(self, name: str, cfg: JointVelocityActionCfg, env: ManagerBasedRlEnv):
        super().__init__(name, cfg, env)
        _check_actuators(self, "velocity")
        self.dim = len(self.joint_ids)
        self.target = torch.zeros(env.num_envs, self.dim, device=env.device)

    def process(self, action: torch.Tensor) -> torch.Tensor:
        clipped = action.clamp(-self.cfg.clip, self.cfg.clip)
        self.target[:] = self.cfg.scale * clipped
        return clipped

    def apply(self) -> None:
        self.write_ctrl(self.target)

    def reset(self, env_ids: torch.Tensor) -> None:
        self.target[env_ids] = 0.0
        self.write_ctrl(self.target[env_ids], env_ids)


@dataclass
class JointEffortActionCfg(ActionTermCfg):
    """Joint efforts (scale * action, N m or N) for motors (RobotEntityCfg.motor_joints); MuJoCo clips them to
    the actuators' control ranges."""

    scale: float = 1.0
    clip: float = 100.0

    def build(self, name: str, env: ManagerBasedRlEnv) -> JointEffortAction:
        return JointEffortAction(name, self, env)


class JointEffortAction(JointVelocityAction):
    cfg: JointEffortActionCfg  # type: ignore[assignment]

    def __init__(self, name: str, cfg: JointEffortActionCfg, env: ManagerBasedRlEnv):
        ActionTerm.__init__(self, name, cfg, env)
        _check_actuators(self, "effort")
        self.dim = len(self.joint_ids)
        self.target = torch.zeros(env.num_envs, self.dim, device=env.device)


@dataclass
class GripperActionCfg(ActionTermCfg):
    """One action for a gripper's joints: binary (> 0 opens, else closes) or continuous ([-1, 1] from closed
    to open), sent as position targets."""

    open_pos: float = 0.04
    close_pos: float = 0.0
    binary: bool = True

    def build(self, name: str, env: ManagerBasedRlEnv) -> GripperAction:
        return GripperAction(name, self, env)


class GripperAction(ActionTerm):
    cfg: GripperActionCfg

    def __init__(self, name: str, cfg: GripperActionCfg, env: ManagerBasedRlEnv):
        super().__init__(name, cfg, env)
        _check_actuators(self, "position")
        self.dim = 1
        self.target = torch.full((env.num_envs, len(self.joint_ids)), cfg.open_pos, device=env.device)

    def process(self, action: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        if c.binary:
            value = torch.where(action > 0, c.open_pos, c.close_pos)
            out = action
        else:
            out = action.clamp(-1.0, 1.0)
            value = c.close_pos + (out + 1.0) * 0.5 * (c.open_pos - c.close_pos)
        self.target[:] = value.expand_as(self.target)
        return out

    def apply(self) -> None:
        self.write_ctrl(self.target)

    def reset(self, env_ids: torch.Tensor) -> None:
        self.target[env_ids] = self.cfg.open_pos
        self.write_ctrl(self.target[env_ids], env_ids)
