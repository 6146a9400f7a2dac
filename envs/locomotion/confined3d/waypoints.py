"""The confined-3D waypoint command: per-world A* paths (planner.py) through each world's tile, the current
waypoint, and goal / collision bookkeeping.

`commands={"waypoints": WaypointCommandCfg()}`; the command is the current waypoint (x, y, z, yaw), world frame,
float64 like the sim state it is compared with. Terms read it with `env.command_manager.get_command(name)` and
the bookkeeping (goal, at_goal, reached, collisions, ...) through `waypoints(env, name)`.

The state advances once per env step, in `compute` or at the first read of that step, whichever comes
first (the read also covers the observation computed when the env is built, before any step). A path is
never resampled on a timer: a world takes its tile's path at reset, once the reset events placed its base.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from robolearn.core import CommandTermCfg
from robolearn.core.commands import CommandTerm
from robolearn.envs.locomotion.confined3d.planner import GridAStarPlanner, PlannerCfg, PlanResult, RobotBox
from robolearn.envs.locomotion.confined3d.terrain import TERRAIN_KIND, grid_from_cfg
from robolearn.math import yaw_from_quat

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

MAX_WAYPOINTS = 64
STAND_HEIGHT = 0.27
WAYPOINTS = "waypoints"
"""The command's name in the confined tasks."""


@dataclass
class WaypointCommandCfg(CommandTermCfg):
    use_planner: bool = True
    """False: the only waypoint is the far goal (the end-to-end baseline)."""
    switch_radius: float = 0.25
    """A waypoint within this distance (xy) is passed and the next one becomes current."""
    goal_radius: float = 0.3
    replan: bool = False
    """Replan from the robot's pose when it drifts `replan_distance` off its path (evaluation)."""
    replan_distance: float = 0.4
    resampling_time_s: tuple[float, float] = (1e9, 1e9)
    """Unused: paths change at reset and on replanning only."""

    def build(self, name: str, env: ManagerBasedRlEnv) -> WaypointCommand:
        return WaypointCommand(name, self, env)


def body_contacts(env: ManagerBasedRlEnv) -> torch.Tensor:
    """Number of robot parts other than feet touching the terrain: trunk, hips, thighs, calf shanks."""

    def rows(name: str) -> torch.Tensor:
        return env.sim.sensordata[:, env.scene.contact_slices[name]].reshape(env.num_envs, -1, 4)[..., 0]

    found = (rows("base") > 0).sum(-1) + (rows("hips") > 0).sum(-1) + (rows("thighs") > 0).sum(-1)
    # "found" counts contacts: a calf with more contacts than its foot has one on the shank.
    shank = (rows("calves") - rows("feet")) > 0
    return (found + shank.sum(-1)).to(env.device).float()


class WaypointCommand(CommandTerm):
    """Per-world paths (world frame), current index, goal bookkeeping and collision counts."""

    names = ("x", "y", "z", "yaw")
    cfg: WaypointCommandCfg

    def __init__(self, name: str, cfg: WaypointCommandCfg, env: ManagerBasedRlEnv):
        terrain = env.cfg.scene.terrain
        if terrain.kind != TERRAIN_KIND:
            raise ValueError(f"commands[{name!r}]: waypoints need terrain.kind={TERRAIN_KIND!r}, got {terrain.kind!r}")
        super().__init__(name, cfg, env, 4)
        self.grid = grid_from_cfg(terrain)
        dev, n = env.device, env.num_envs
        rows, cols = self.grid.rows, self.grid.cols
        self.planners: dict[tuple[int, int], GridAStarPlanner] = {}
        self.tile_paths = torch.zeros(rows, cols, MAX_WAYPOINTS, 4, dtype=torch.float64, device=dev)
        self.tile_counts = torch.ones(rows, cols, dtype=torch.long, device=dev)
        self.tile_solvable = torch.ones(rows, cols, dtype=torch.bool, device=dev)
        self.tile_goals = torch.as_tensor(self.grid.goal_w(), device=dev)
        for r in range(rows):
            for c in range(cols):
                self.plan_tile(r, c)
        self.command = torch.zeros(n, 4, dtype=torch.float64, device=dev)
        self.paths = torch.zeros(n, MAX_WAYPOINTS, 4, dtype=torch.float64, device=dev)
        self.count = torch.ones(n, dtype=torch.long, device=dev)
        self.index = torch.zeros(n, dtype=torch.long, device=dev)
        self.goal = torch.zeros(n, 2, dtype=torch.float64, device=dev)
        self.solvable = torch.ones(n, dtype=torch.bool, device=dev)
        self.at_goal = torch.zeros(n, dtype=torch.bool, device=dev)
        self.reached = torch.zeros(n, dtype=torch.bool, device=dev)
        self.time_to_goal = torch.full((n,), -1.0, device=dev)
        self.collisions = torch.zeros(n, device=dev)
        self.touching = torch.zeros(n, dtype=torch.bool, device=dev)
        self.path_length = torch.ones(n, device=dev)
        self.replans = torch.zeros(n, dtype=torch.long, device=dev)
        self._rows = torch.arange(n, device=dev)
        self._step = -1

    @property
    def is_last(self) -> torch.Tensor:
        """(N,) True where the current waypoint is the goal."""
        return self.index == self.count - 1

    def plan_tile(self, r: int, c: int, goal: np.ndarray | None = None) -> PlanResult:
        """Plan tile (r, c) from its entrance to `goal` (tile frame; default: the layout's goal).

        Worlds on the tile take the result at their next reset. Without the planner (goal-only) the
        single waypoint is the goal. A goal the planner cannot reach marks the tile unsolvable: its
        episodes still run (toward the goal) but evaluation leaves them out instead of counting failures.
        """
        layout, offset = self.grid.layouts[r][c], self.grid.offsets[r, c]
        goal = layout.goal if goal is None else np.asarray(goal, dtype=float)
        if (r, c) not in self.planners:
            self.planners[(r, c)] = GridAStarPlanner(layout.maps(), RobotBox(), PlannerCfg())
        result = self.planners[(r, c)].plan(np.array([*layout.start, 0.0]), goal)
        if self.cfg.use_planner and result.solved:
            wp = result.waypoints[:MAX_WAYPOINTS].copy()
        else:
            wp = np.array([[*goal, STAND_HEIGHT, 0.0]])
        wp[:, :2] += offset
        self.tile_paths[r, c] = 0.0
        self.tile_paths[r, c, : len(wp)] = torch.as_tensor(wp, device=self.tile_paths.device)
        self.tile_counts[r, c] = len(wp)
        self.tile_solvable[r, c] = result.solved
        self.tile_goals[r, c] = torch.as_tensor(goal + offset, device=self.tile_goals.device)
        return result

    # -- the command manager's hooks ---------------------------------------------------------------------
    def reset(self, env_ids: torch.Tensor) -> dict[str, float]:
        return {}  # the path is taken in after_sim_reset, once the base is placed; no timer to draw

    def after_sim_reset(self, env_ids: torch.Tensor) -> None:
        """A world takes its tile's path; its path length is measured from where the reset events put it."""
        env = self.env
        lv, ty = env.terrain_levels[env_ids], env.terrain_types[env_ids]
        self.paths[env_ids] = self.tile_paths[lv, ty]
        self.count[env_ids] = self.tile_counts[lv, ty]
        self.solvable[env_ids] = self.tile_solvable[lv, ty]
        self.goal[env_ids] = self.tile_goals[lv, ty]
        self.index[env_ids] = 0
        self.command[env_ids] = self.paths[env_ids, 0]
        self.at_goal[env_ids] = False
        self.reached[env_ids] = False
        self.time_to_goal[env_ids] = -1.0
        self.collisions[env_ids] = 0.0
        self.touching[env_ids] = False
        self.replans[env_ids] = 0
        start = env.robot.root_pos_w[env_ids, :2].to(env.device)
        self.path_length[env_ids] = torch.linalg.norm(self.goal[env_ids] - start, dim=-1).float().clamp(min=0.1)

    def compute(self, dt: float) -> None:
        del dt
        self.update()

    def visualize(self) -> dict[str, torch.Tensor]:
        """Poses (N, 7) of the current waypoint (its yaw about z) and of the goal (at standing height)."""
        n, half = self.env.num_envs, 0.5 * self.command[:, 3]
        zero = torch.zeros_like(half)
        waypoint = torch.stack([*self.command[:, :3].unbind(-1), torch.cos(half), zero, zero, torch.sin(half)], -1)
        goal = torch.cat([self.goal, self.goal.new_tensor([STAND_HEIGHT, 1.0, 0.0, 0.0, 0.0]).expand(n, 5)], -1)
        return {"waypoint": waypoint, "goal": goal}

    # -- advancing -------------------------------------------------------------------------------------
    def update(self) -> None:
        """Advance waypoints and goal/collision bookkeeping; once per env step, however often it is called."""
        env = self.env
        if self._step == env.common_step_counter:
            return
        self._step = env.common_step_counter
        pos = env.robot.root_pos_w[:, :2].to(env.device)
        wp = self.paths[self._rows, self.index]
        near = torch.linalg.norm(wp[:, :2] - pos, dim=-1) < self.cfg.switch_radius
        self.index = torch.where(near & (self.index < self.count - 1), self.index + 1, self.index)
        self.at_goal = torch.linalg.norm(self.goal - pos, dim=-1) < self.cfg.goal_radius
        first = self.at_goal & ~self.reached
        self.time_to_goal = torch.where(first, env.episode_length_buf.float() * env.step_dt, self.time_to_goal)
        self.reached |= self.at_goal
        touching = body_contacts(env) > 0
        self.collisions += (touching & ~self.touching).float()  # count contact events, not contact steps
        self.touching = touching
        if self.cfg.replan and self.cfg.use_planner:
            self._replan_drifted(pos)
        self.command[:] = self.paths[self._rows, self.index]

    def _replan_drifted(self, pos: torch.Tensor) -> None:
        env = self.env
        a = self.paths[self._rows, (self.index - 1).clamp(min=0)][:, :2]
        b = self.paths[self._rows, self.index][:, :2]
        ab = b - a
        t = ((pos - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp(min=1e-9)
        off = torch.linalg.norm(a + t.clamp(0, 1).unsqueeze(-1) * ab - pos, dim=-1)
        drifted = (off > self.cfg.replan_distance) & ~self.at_goal & self.solvable
        yaw = yaw_from_quat(env.robot.root_quat_w).to(env.device)
        for i in drifted.nonzero(as_tuple=True)[0].tolist():
            r, c = int(env.terrain_levels[i]), int(env.terrain_types[i])
            offset = self.grid.offsets[r, c]
            start = np.array([*(pos[i].cpu().numpy() - offset), float(yaw[i])])
            result = self.planners[(r, c)].plan(start, self.grid.layouts[r][c].goal)
            if not result.solved:
                continue  # keep the old path; a robot wedged in a wall has no new one to follow
            wp = result.waypoints[:MAX_WAYPOINTS].copy()
            wp[:, :2] += offset
            self.paths[i, : len(wp)] = torch.as_tensor(wp, device=env.device)
            self.count[i] = len(wp)
            self.index[i] = 0
            self.replans[i] += 1


def waypoints(env: ManagerBasedRlEnv, command: str = WAYPOINTS) -> WaypointCommand:
    """The task's waypoint command term, advanced to the current step."""
    term = env.command_manager.get_term(command)
    if not isinstance(term, WaypointCommand):
        raise TypeError(f"commands[{command!r}] is a {type(term).__name__}, not a WaypointCommand")
    term.update()
    return term
