"""Action terms and their manager: the policy's action vector is the concatenation of named terms, each over
one entity's joints (or its end effector), in the order of `EnvCfg.actions`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mujoco
import numpy as np
import torch

from robolearn.core.entity import index, match_names

if TYPE_CHECKING:
    from robolearn.core.entity import Entity
    from robolearn.core.env import ManagerBasedRlEnv


@dataclass
class ActionTermCfg:
    """Base of every action term's config: the entity it drives and which of its actuated joints."""

    entity: str = "robot"
    joint_names: str = ".*"
    """Regex over the entity's actuated joint names (its own, unprefixed); unmatched joints hold their default."""

    def build(self, name: str, env: ManagerBasedRlEnv) -> ActionTerm:
        raise NotImplementedError(f"{type(self).__name__} builds no action term")


class ActionTerm:
    """One named slice of the action vector. `process` receives that slice once per env step; `apply`
    writes the entity's controls (once per env step: the backend runs the decimation substeps in one call)."""

    dim: int

    def __init__(self, name: str, cfg: ActionTermCfg, env: ManagerBasedRlEnv):
        self.name = name
        self.cfg = cfg
        self.env = env
        if cfg.entity not in env.scene:
            raise ValueError(f"actions[{name!r}].entity={cfg.entity!r} is not an entity of the scene; "
                             f"entities: {list(env.scene.entities)}")  # fmt: skip
        self.entity: Entity = env.scene[cfg.entity]
        actuated = self.entity.joint_names[: self.entity.num_actuated]
        if not actuated:
            raise ValueError(f"actions[{name!r}]: entity {cfg.entity!r} has no actuated joints")
        self.joint_ids = match_names(actuated, cfg.joint_names, "joint_names", cfg.entity)
        self.joint_names = [actuated[i] for i in self.joint_ids]
        ids = [self.entity.actuator_ids[i] for i in self.joint_ids]
        self.ctrl_ids = ids
        """Columns of sim.ctrl this term writes."""
        self._ctrl_cols = index(ids)
        self._all_ctrl = ids == list(range(env.sim.ctrl.shape[1]))

    @property
    def claimed_joints(self) -> list[str]:
        """The entity joints whose actuators this term writes (checked for overlaps with other terms)."""
        return self.joint_names

    def write_ctrl(self, target: torch.Tensor, env_ids: torch.Tensor | None = None) -> None:
        ctrl = self.env.sim.ctrl
        if env_ids is None:
            if self._all_ctrl:
                ctrl.copy_(target)  # the whole ctrl row: one copy, no scatter
            else:
                ctrl[:, self._ctrl_cols] = target.to(ctrl.dtype)
        else:
            ids = env_ids.to(ctrl.device)
            if isinstance(self._ctrl_cols, slice):
                ctrl[ids, self._ctrl_cols] = target.to(ctrl.dtype)
            else:
                rows = ctrl[ids]
                rows[:, self._ctrl_cols] = target.to(ctrl.dtype)
                ctrl[ids] = rows

    def process(self, action: torch.Tensor) -> torch.Tensor:
        """Take this term's slice of the policy's action; return it as processed (clipped), which the manager
        keeps as the last action (what `last_action` observes and action-rate penalties compare)."""
        raise NotImplementedError

    def apply(self) -> None:
        pass

    def reset(self, env_ids: torch.Tensor) -> None:
        pass


def finite_rows(action: torch.Tensor) -> torch.Tensor | None:
    """None when every entry of (N, A) `action` is finite, else the (N,) bool mask of its all-finite rows.

    The usual step has no NaN: on the CPU one numpy pass over the whole array answers that in ~9 us at
    N=512 x 12, where torch's isfinite + row all + any + the env's mask took ~55-60 us (both measured on the
    shared 2-core dev machine, 20k calls).
    """
    if action.device.type == "cpu" and action.dtype in (torch.float32, torch.float64):
        if np.isfinite(action.detach().numpy()).all():
            return None
    elif bool(torch.isfinite(action).all()):
        return None
    return torch.isfinite(action).all(-1)


class ActionManager:
    """Named action terms; `action` is their concatenation (N, dim), `term_dims` their sizes in order."""

    def __init__(self, cfgs: dict[str, ActionTermCfg], env: ManagerBasedRlEnv):
        if not isinstance(cfgs, dict):
            raise TypeError(
                f"EnvCfg.actions must be a dict of named action terms, e.g. {{'joint_pos': JointPositionActionCfg()}}, "
                f"got {type(cfgs).__name__}"
            )
        self.env = env
        self.terms: dict[str, ActionTerm] = {name: cfg.build(name, env) for name, cfg in cfgs.items()}
        self._check_overlaps()
        self.term_dims = {name: int(t.dim) for name, t in self.terms.items()}
        self.dim = sum(self.term_dims.values())
        self._slices: dict[str, slice] = {}
        start = 0
        for name, d in self.term_dims.items():
            self._slices[name] = slice(start, start + d)
            start += d
        self.action = torch.zeros(env.num_envs, self.dim, device=env.device)
        self.prev_action = torch.zeros_like(self.action)
        self.nonfinite = torch.zeros(env.num_envs, dtype=torch.bool, device=env.device)
        """(N,) worlds whose last action had a NaN or inf (replaced by zeros; the env resets them)."""
        self.any_nonfinite = False
        """Whether any world's last action had a NaN or inf (the env skips the mask on the usual step)."""
        self._had_nonfinite = False
        self._unclaimed = self._unclaimed_defaults()

    def _check_overlaps(self) -> None:
        owner: dict[tuple[str, str], str] = {}
        for name, term in self.terms.items():
            for joint in term.claimed_joints:
                key = (term.entity.name, joint)
                if key in owner:
                    raise ValueError(f"actions[{name!r}] drives joint {joint!r} of entity {term.entity.name!r}, "
                                     f"which actions[{owner[key]!r}] already drives")  # fmt: skip
                owner[key] = name

    def _unclaimed_defaults(self) -> list[tuple[list[int], torch.Tensor]]:
        """Actuators no term writes: a position servo holds its joint's default position, others get 0."""
        model = self.env.scene.model
        claimed = {c for t in self.terms.values() for c in t.ctrl_ids}
        out = []
        for name in self.env.scene.entities:
            entity = self.env.scene[name]
            cols, values = [], []
            for i, a in enumerate(entity.actuator_ids):
                if a in claimed:
                    continue
                # A position servo: affine bias with a -kp * q term.
                affine = model.actuator_biastype[a] == mujoco.mjtBias.mjBIAS_AFFINE
                servo = affine and model.actuator_biasprm[a, 1] != 0
                cols.append(a)
                zero = torch.zeros((), dtype=entity.default_joint_pos.dtype, device=entity.default_joint_pos.device)
                values.append(entity.default_joint_pos[i] if servo else zero)
            if cols:
                out.append((cols, torch.stack(values)))
        return out

    # -- lookup -------------------------------------------------------------------------------------------
    @property
    def active_terms(self) -> list[str]:
        return list(self.terms)

    def get_term(self, name: str) -> ActionTerm:
        try:
            return self.terms[name]
        except KeyError:
            raise KeyError(f"no action term {name!r}; the task's action terms: {list(self.terms)}") from None

    def term_action(self, name: str) -> torch.Tensor:
        """(N, dim of the term) the term's slice of the last action."""
        self.get_term(name)
        return self.action[:, self._slices[name]]

    @property
    def action_bound(self) -> float:
        """The largest magnitude any term accepts (a Box bound for gymnasium and SB3)."""
        return max((float(getattr(t.cfg, "clip", 1.0)) for t in self.terms.values()), default=1.0)

    @property
    def joint_names(self) -> list[str]:
        """The joints each term drives, in term order (for joint-position terms: what the action's entries drive)."""
        return [n for t in self.terms.values() for n in t.joint_names]

    # -- the loop -----------------------------------------------------------------------------------------
    def process(self, action: torch.Tensor) -> None:
        expected = (self.env.num_envs, self.dim)
        if tuple(action.shape) != expected:
            raise ValueError(
                f"action has shape {tuple(action.shape)}, expected {expected} (num_envs, action dim); "
                f"terms: {self.term_dims}"
            )
        self.prev_action[:] = self.action
        action = action.to(self.env.device)
        # A NaN or inf anywhere in a world's action makes the whole action of that world zeros (each term's
        # neutral: default pose for position targets, no velocity or effort) before any term sees it. Sent
        # on, MuJoCo would zero that world's controls itself and warn, but the NaN would stay in last_action
        # (an observation) and action-rate rewards. The env then resets the world and counts it
        # (Sim/nan_resets), so the zeros act for one step at most.
        finite = finite_rows(action)
        self.any_nonfinite = finite is not None
        if finite is not None:
            self.nonfinite = ~finite
            action = torch.where(finite.unsqueeze(-1), action, torch.zeros_like(action))
        elif self._had_nonfinite:
            self.nonfinite = torch.zeros_like(self.nonfinite)
        self._had_nonfinite = self.any_nonfinite
        for name, term in self.terms.items():
            sl = self._slices[name]
            self.action[:, sl] = term.process(action[:, sl])
        for term in self.terms.values():
            term.apply()

    def reset(self, env_ids: torch.Tensor) -> None:
        self.action[env_ids] = 0.0
        self.prev_action[env_ids] = 0.0
        ctrl = self.env.sim.ctrl
        sim_ids = env_ids.to(ctrl.device)
        for cols, values in self._unclaimed:
            rows = ctrl[sim_ids]
            rows[:, cols] = values.to(ctrl)
            ctrl[sim_ids] = rows
        for term in self.terms.values():
            term.reset(env_ids)
