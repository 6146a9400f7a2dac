"""Observation, reward and termination terms of Go2-CrossLoco (they read the `human` command)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from robolearn.envs.crossloco.command import HUMAN, HumanCommand
from robolearn.math import yaw_from_quat

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


def human(env: ManagerBasedRlEnv, command_name: str = HUMAN) -> HumanCommand:
    return env.command_manager.get_term(command_name)


def _wrap(a: torch.Tensor) -> torch.Tensor:
    return torch.atan2(torch.sin(a), torch.cos(a))


def root_error(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 3) reference root minus robot root, world frame (m)."""
    return human(env).ref_pos_w - env.robot.root_pos_w.float()


def root_error_b(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 5) the reference root seen from the robot: xy offset in its yaw frame, height offset, and the
    heading error as (sin, cos)."""
    err = root_error(env)
    yaw = yaw_from_quat(env.robot.root_quat_w).float()
    c, s = torch.cos(yaw), torch.sin(yaw)
    dx, dy = c * err[:, 0] + s * err[:, 1], -s * err[:, 0] + c * err[:, 1]
    dyaw = _wrap(human(env).ref_heading - yaw)
    return torch.stack([dx, dy, err[:, 2], torch.sin(dyaw), torch.cos(dyaw)], dim=-1)


def cycle(env: ManagerBasedRlEnv) -> torch.Tensor:
    """CrossLoco's cycle-consistency reward, in [0, 1] (envs/crossloco/mappers.py)."""
    term = human(env)
    return term.mappers.reward(term.h, term.r)


def root_tracking(env: ManagerBasedRlEnv, k: float = 2.0) -> torch.Tensor:
    """exp(-k |p - p_ref|), root position in 3-D (m)."""
    return torch.exp(-k * torch.linalg.norm(root_error(env), dim=-1))


def termination_penalty(env: ManagerBasedRlEnv) -> torch.Tensor:
    """1 where the episode ended by a failure this step (not a time-out)."""
    tm = env.termination_manager
    out = torch.zeros(env.num_envs, device=env.device)
    for key, term in tm.terms.items():
        if not term.time_out:
            out = torch.maximum(out, tm.term_dones[key].float())
    return out


def reference_end(env: ManagerBasedRlEnv) -> torch.Tensor:
    return human(env).at_end


def root_deviation(env: ManagerBasedRlEnv, threshold: float = 0.5) -> torch.Tensor:
    """The root more than `threshold` m from the reference on the floor."""
    return torch.linalg.norm(root_error(env)[:, :2], dim=-1) > threshold
