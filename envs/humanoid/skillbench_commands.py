"""SkillBench goals as command terms: a point goal (button, box push, package lift / carry / transfer, ball
kick), the door's target angle (cabinet), and a wrist waypoint sequence (reach).

All are `after_events` goal terms (skill_commands.GoalCommand): drawn once the task's reset events have
placed its objects, since most goals are placed relative to an object's start (the box goal ahead of the
box, the lift goal above the package). Drawn there, the draws follow the object's in the random stream as
the combined place-object-and-goal events drew them, so a task's accuracy at reset (`benchmarks/skillbench.py`,
"nothing moved") is unchanged: BoxLift 0.298 m, Cabinet 0.560 m over the 100 held-out episodes.

A goal marker is a world geom moved per world (`geom_pos` is a per-world model field), so one compiled model
serves every world.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from robolearn.core import CommandTermCfg
from robolearn.envs.humanoid.skill_commands import WRIST_GOAL_NAMES, GoalCommand

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

NEVER = (1e9, 1e9)
"""A goal drawn at reset only."""


def _geom_id(env: ManagerBasedRlEnv, name: str, where: str) -> int:
    gid = int(env.scene.model.geom(name).id) if name else -1
    if name and gid < 0:
        raise ValueError(f"{where}: the scene has no geom {name!r}")
    return gid


# -- a point goal ------------------------------------------------------------------------------------------


@dataclass
class PointGoalCommandCfg(CommandTermCfg):
    """A goal point (world frame): `x`, `y`, `z` ranges added to the root position of the entity `relative_to`
    at the draw (after its reset event placed it), or to each world's origin when it is "". An axis whose range
    is a single value draws nothing; `z_fixed` sets z outright (a goal on the floor). With `either_side`, y's
    sign is drawn first, + or - with equal odds (a goal to the robot's left or right).

    `marker` names a world geom moved onto the goal (at `marker_z` when given: a floor or table-top disc
    under a goal in the air). command = (x, y, z)."""

    x: tuple[float, float] = (0.0, 0.0)
    y: tuple[float, float] = (0.0, 0.0)
    z: tuple[float, float] = (0.0, 0.0)
    relative_to: str = ""
    z_fixed: float | None = None
    either_side: bool = False
    marker: str = ""
    marker_z: float | None = None
    resampling_time_s: tuple[float, float] = NEVER

    def build(self, name: str, env: ManagerBasedRlEnv) -> PointGoalCommand:
        return PointGoalCommand(name, self, env)


class PointGoalCommand(GoalCommand):
    names = ("x", "y", "z")
    cfg: PointGoalCommandCfg

    def __init__(self, name: str, cfg: PointGoalCommandCfg, env: ManagerBasedRlEnv):
        for axis in ("x", "y", "z"):
            lo, hi = getattr(cfg, axis)
            if lo > hi:
                raise ValueError(f"commands[{name!r}].{axis}: low {lo} above high {hi}")
        super().__init__(name, cfg, env, 3)
        self._marker = _geom_id(env, cfg.marker, f"commands[{name!r}].marker")
        self._relative_to = env.scene[cfg.relative_to] if cfg.relative_to else None

    def _draw(self, n: int, lo: float, hi: float) -> torch.Tensor:
        if lo == hi:
            return torch.full((n,), lo, dtype=torch.float64, device=self.env.device)
        return lo + (hi - lo) * self._rand((n,))

    def _resample(self, env_ids: torch.Tensor) -> None:
        n, c, env = len(env_ids), self.cfg, self.env
        side = torch.where(self._rand((n,)) < 0.5, -1.0, 1.0).to(torch.float64) if c.either_side else None
        offset = torch.stack([self._draw(n, *c.x), self._draw(n, *c.y), self._draw(n, *c.z)], dim=-1)
        if side is not None:
            offset[:, 1] *= side
        if self._relative_to is not None:
            base = self._relative_to.root_pos_w[env_ids.to(env.sim.device)]
            goal = base.to(env.device).double() + offset
        else:
            goal = env.env_origins[env_ids] + offset
        if c.z_fixed is not None:
            goal[:, 2] = env.env_origins[env_ids, 2] + c.z_fixed
        self.command[env_ids] = goal
        if self._marker >= 0:
            shown = goal - env.env_origins[env_ids]
            if c.marker_z is not None:
                shown[:, 2] = c.marker_z
            field = env.sim.model_field("geom_pos")
            field[env_ids.to(field.device), self._marker] = shown.to(field)

    def visualize(self) -> dict[str, torch.Tensor]:
        pose = torch.zeros(self.env.num_envs, 7, dtype=torch.float64, device=self.env.device)
        pose[:, :3] = self.command
        pose[:, 3] = 1.0
        return {"goal": pose}


# -- the cabinet door's target angle --------------------------------------------------------------------------


@dataclass
class JointTargetCommandCfg(CommandTermCfg):
    """A target position of one joint (a door's hinge angle), uniform in `target` (a single value draws
    nothing). command = (target,)."""

    target: tuple[float, float] = (0.0, 0.0)
    resampling_time_s: tuple[float, float] = NEVER

    def build(self, name: str, env: ManagerBasedRlEnv) -> JointTargetCommand:
        return JointTargetCommand(name, self, env)


class JointTargetCommand(GoalCommand):
    names = ("target",)
    cfg: JointTargetCommandCfg

    def __init__(self, name: str, cfg: JointTargetCommandCfg, env: ManagerBasedRlEnv):
        if cfg.target[0] > cfg.target[1]:
            raise ValueError(f"commands[{name!r}].target: low {cfg.target[0]} above high {cfg.target[1]}")
        super().__init__(name, cfg, env, 1)

    def _resample(self, env_ids: torch.Tensor) -> None:
        lo, hi = self.cfg.target
        self.command[env_ids, 0] = lo if lo == hi else lo + (hi - lo) * self._rand((len(env_ids),))


# -- wrist waypoints ------------------------------------------------------------------------------------------


@dataclass
class WristWaypointCommandCfg(CommandTermCfg):
    """A waypoint for both wrists, fixed in the world: the default pose's wrist points plus one offset shared
    by both (uniform in `x`, `y`, `z`, pelvis heading frame at the draw), hung from the standing pelvis height
    so a robot that squats does not drag them down. command = (left x, y, z, right x, y, z), world frame."""

    x: tuple[float, float] = (0.0, 0.25)
    y: tuple[float, float] = (-0.1, 0.1)
    z: tuple[float, float] = (-0.45, 0.15)
    resampling_time_s: tuple[float, float] = (2.6, 2.6)

    def build(self, name: str, env: ManagerBasedRlEnv) -> WristWaypointCommand:
        return WristWaypointCommand(name, self, env)


class WristWaypointCommand(GoalCommand):
    names = WRIST_GOAL_NAMES
    cfg: WristWaypointCommandCfg

    def __init__(self, name: str, cfg: WristWaypointCommandCfg, env: ManagerBasedRlEnv):
        super().__init__(name, cfg, env, 6)

    def _resample(self, env_ids: torch.Tensor) -> None:
        from robolearn.envs.humanoid.h1_skills import default_points_h, from_heading, humanoid_of

        env, c, n = self.env, self.cfg, len(env_ids)
        u = torch.rand((n, 3), device=env.device, generator=env.rng, dtype=torch.float64)
        lows = torch.tensor([c.x[0], c.y[0], c.z[0]], dtype=torch.float64, device=env.device)
        highs = torch.tensor([c.x[1], c.y[1], c.z[1]], dtype=torch.float64, device=env.device)
        points_h = default_points_h(env)["wrists"].unsqueeze(0) + (lows + (highs - lows) * u).unsqueeze(1)
        root = env.robot.root_pos_w[env_ids.to(env.sim.device), :2].to(env.device).double()
        targets = torch.empty(n, 2, 3, dtype=torch.float64, device=env.device)
        targets[..., :2] = root.unsqueeze(1) + from_heading(env, points_h[..., :2], env_ids)
        pelvis = humanoid_of(env.cfg).standing_height
        targets[..., 2] = env.env_origins[env_ids, 2].unsqueeze(1) + pelvis + points_h[..., 2]
        self.command[env_ids] = targets.reshape(n, 6)

    def visualize(self) -> dict[str, torch.Tensor]:
        n = self.env.num_envs
        pose = torch.zeros(n, 2, 7, dtype=torch.float64, device=self.env.device)
        pose[..., :3] = self.command.reshape(n, 2, 3)
        pose[..., 3] = 1.0
        return {"left_wrist": pose[:, 0], "right_wrist": pose[:, 1]}
