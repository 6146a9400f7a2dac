"""The skills' goals as command terms: a pelvis height (squat), both wrists' targets (reach), both feet's xy
targets (step). The walking skill's goal is the shared velocity command (`base_velocity`).

Each term draws a new target at reset and again every 4-6 s (a waypoint sequence of 2-3 targets per 10 s
episode), from `env.rng`. They are `after_events` terms: drawn after the reset events, because a foot target
is placed around the pelvis pose that `reset_base` just drew, and resampled where interval events run. That is
also where the event terms these replace drew them, so a trained skill sees the same goals, in the same
random stream, as it did in training (the shipped skills' evaluations reproduce bit for bit).

A term's `goal_slot(env_cfg)` says what the skill's goal observation holds and the range a high-level policy
(the SkillBlender) may ask for: the learner reads it from the skill's config, with no per-task code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from robolearn.core import CommandTermCfg
from robolearn.core.commands import CommandTerm

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

GOAL_RESAMPLE_S = (4.0, 6.0)
"""Seconds between targets within an episode (a waypoint sequence of 2-3 targets per 10 s episode)."""
REACH_RADIUS = 0.25
"""Wrist targets lie within this distance of the default wrist positions (m)."""
STEP_RADIUS = 0.25
"""Foot targets lie within this xy distance of the default foot positions (m)."""


WRIST_GOAL_NAMES = tuple(f"{side}_wrist_{a}" for side in ("left", "right") for a in "xyz")
"""Both wrists' (x, y, z) in the heading frame: the reach goal's layout."""


@dataclass(frozen=True)
class SkillGoal:
    """A skill's goal slot: the first `dim` entries of its policy observation, and the range the blender may set."""

    names: tuple[str, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]

    @property
    def dim(self) -> int:
        return len(self.names)


class GoalCommand(CommandTerm):
    """A float64 goal (N, dim) drawn after the reset events; on a due timer the timer is drawn before the goal
    (the order of the interval event these replace, kept so the random stream is unchanged)."""

    after_events = True

    def __init__(self, name: str, cfg: CommandTermCfg, env: ManagerBasedRlEnv, dim: int):
        super().__init__(name, cfg, env, dim)
        self.command = self.command.double()
        # A first timer at construction (the reset redraws it), as the interval event these replace drew: it
        # keeps the draws after it (startup friction) where the shipped skills were trained and evaluated.
        # Without it the same skills evaluate on other frictions (h1-squat 60.5 ± 1.4 instead of 61.7 ± 0.4).
        self._time_left[:] = self._uniform(env.num_envs, *cfg.resampling_time_s)

    def compute(self, dt: float) -> None:
        self._time_left -= dt
        due = (self._time_left <= 0).nonzero(as_tuple=True)[0]
        if len(due):
            self._time_left[due] = self._uniform(len(due), *self.cfg.resampling_time_s)
            self._resample(due)

    def _rand(self, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.rand(shape, device=self.env.device, generator=self.env.rng, dtype=torch.float64)

    def _in_ball(self, n: int, dims: int, radius: float) -> torch.Tensor:
        """`n` points uniform in a `dims`-ball of `radius` (direction uniform, radius ~ U^(1/dims))."""
        g = self.env.rng
        direction = torch.randn((n, dims), device=self.env.device, generator=g, dtype=torch.float64)
        direction = direction / direction.norm(dim=-1, keepdim=True).clamp(min=1e-9)
        return direction * radius * self._rand((n, 1)) ** (1.0 / dims)


# -- squat: pelvis height ---------------------------------------------------------------------------------


@dataclass
class PelvisHeightCommandCfg(CommandTermCfg):
    """Pelvis height targets (m above the world's origin), uniform in `height_range` (default: the robot's
    squat range, `Humanoid.squat_range`). command = (height,)."""

    height_range: tuple[float, float] | None = None
    resampling_time_s: tuple[float, float] = GOAL_RESAMPLE_S

    def build(self, name: str, env: ManagerBasedRlEnv) -> PelvisHeightCommand:
        return PelvisHeightCommand(name, self, env)

    def span(self, env_cfg: Any) -> tuple[float, float]:
        from robolearn.envs.humanoid.h1_skills import humanoid_of

        return self.height_range or humanoid_of(env_cfg).squat_range

    def goal_slot(self, env_cfg: Any) -> SkillGoal:
        """The height error: at most the span of targets either way."""
        lo, hi = self.span(env_cfg)
        return SkillGoal(("height_error",), (lo - hi,), (hi - lo,))


class PelvisHeightCommand(GoalCommand):
    names = ("height",)
    cfg: PelvisHeightCommandCfg

    def __init__(self, name: str, cfg: PelvisHeightCommandCfg, env: ManagerBasedRlEnv):
        super().__init__(name, cfg, env, 1)

    def _resample(self, env_ids: torch.Tensor) -> None:
        lo, hi = self.cfg.span(self.env.cfg)
        self.command[env_ids, 0] = lo + (hi - lo) * self._rand((len(env_ids),))

    def visualize(self) -> dict[str, torch.Tensor]:
        pose = torch.zeros(self.env.num_envs, 7, dtype=torch.float64, device=self.env.device)
        pose[:, :2] = self.env.robot.root_pos_w[:, :2].to(pose)
        pose[:, 2] = self.command[:, 0] + self.env.env_origins[:, 2]
        pose[:, 3] = 1.0
        return {"pelvis_target": pose}


# -- reach: both wrists -----------------------------------------------------------------------------------


@dataclass
class WristTargetCommandCfg(CommandTermCfg):
    """Both wrists' targets relative to the pelvis in its heading frame: the default pose's wrist positions
    plus offsets uniform in a ball of `radius`. command = (left x, y, z, right x, y, z)."""

    radius: float = REACH_RADIUS
    resampling_time_s: tuple[float, float] = GOAL_RESAMPLE_S

    def build(self, name: str, env: ManagerBasedRlEnv) -> WristTargetCommand:
        return WristTargetCommand(name, self, env)

    def goal_slot(self, env_cfg: Any) -> SkillGoal:
        """The wrist errors: the box around the sampling ball (a fresh target is at most `radius` away per axis)."""
        del env_cfg
        return SkillGoal(WRIST_GOAL_NAMES, (-self.radius,) * 6, (self.radius,) * 6)


class WristTargetCommand(GoalCommand):
    names = WRIST_GOAL_NAMES
    cfg: WristTargetCommandCfg

    def __init__(self, name: str, cfg: WristTargetCommandCfg, env: ManagerBasedRlEnv):
        super().__init__(name, cfg, env, 6)

    def _resample(self, env_ids: torch.Tensor) -> None:
        from robolearn.envs.humanoid.h1_skills import default_points_h

        n = len(env_ids)
        offsets = self._in_ball(2 * n, 3, self.cfg.radius).reshape(n, 2, 3)
        self.command[env_ids] = (default_points_h(self.env)["wrists"] + offsets).reshape(n, 6)

    def visualize(self) -> dict[str, torch.Tensor]:
        from robolearn.envs.humanoid.h1_skills import from_heading

        n = self.env.num_envs
        ids = torch.arange(n, device=self.env.device)
        rel = self.command.reshape(n, 2, 3)
        pose = torch.zeros(n, 2, 7, dtype=torch.float64, device=self.env.device)
        pose[..., :2] = from_heading(self.env, rel[..., :2], ids)
        pose[..., :3] += self.env.robot.root_pos_w.to(pose).unsqueeze(1)
        pose[..., 2] += rel[..., 2]
        pose[..., 3] = 1.0
        return {"left_wrist": pose[:, 0], "right_wrist": pose[:, 1]}


# -- step: both feet ----------------------------------------------------------------------------------------


@dataclass
class FootTargetCommandCfg(CommandTermCfg):
    """Both feet's world xy targets: the default stance around the pelvis at sampling time plus offsets
    uniform in a disc of `radius` (or the step curriculum's current radius while it runs). Targets are fixed in
    the world: a foot must move to them. command = (left x, y, right x, y), world frame."""

    radius: float = STEP_RADIUS
    resampling_time_s: tuple[float, float] = GOAL_RESAMPLE_S

    def build(self, name: str, env: ManagerBasedRlEnv) -> FootTargetCommand:
        return FootTargetCommand(name, self, env)

    def goal_slot(self, env_cfg: Any) -> SkillGoal:
        del env_cfg
        names = tuple(f"{side}_foot_{a}" for side in ("left", "right") for a in "xy")
        return SkillGoal(names, (-self.radius,) * 4, (self.radius,) * 4)


class FootTargetCommand(GoalCommand):
    names = tuple(f"{side}_foot_{a}" for side in ("left", "right") for a in "xy")
    cfg: FootTargetCommandCfg

    def __init__(self, name: str, cfg: FootTargetCommandCfg, env: ManagerBasedRlEnv):
        super().__init__(name, cfg, env, 4)
        self.radius = cfg.radius
        """The radius targets are drawn in; the step curriculum narrows it early in training."""
        self.prev_dist = torch.full((env.num_envs,), torch.nan, dtype=torch.float64, device=env.device)
        """Mean foot-to-target distance at the last step (`step_progress`); NaN right after a draw."""

    def _resample(self, env_ids: torch.Tensor) -> None:
        from robolearn.envs.humanoid.h1_skills import default_points_h, from_heading

        self.prev_dist[env_ids] = torch.nan  # no progress across a new target
        n = len(env_ids)
        offsets = self._in_ball(2 * n, 2, self.radius).reshape(n, 2, 2)
        stance_h = default_points_h(self.env)["feet"][:, :2] + offsets
        root = self.env.robot.root_pos_w[env_ids.to(self.env.sim.device), :2].to(self.env.device).double()
        targets = root.unsqueeze(1) + from_heading(self.env, stance_h, env_ids)
        self.command[env_ids] = targets.reshape(n, 4)

    def visualize(self) -> dict[str, torch.Tensor]:
        n = self.env.num_envs
        pose = torch.zeros(n, 2, 7, dtype=torch.float64, device=self.env.device)
        pose[..., :2] = self.command.reshape(n, 2, 2)
        pose[..., 2] = self.env.env_origins[:, 2:3]
        pose[..., 3] = 1.0
        return {"left_foot": pose[:, 0], "right_foot": pose[:, 1]}
