"""Evaluation of confined-3D traversal for the three methods, on held-out terrain seeds.

- `hierarchical`: a Go1-Confined3D policy following the planner's waypoints (replanning on drift).
- `goal_only`: a Go1-Confined3D-GoalOnly policy given only the far goal.
- `velocity`: a Go1-Velocity-Flat policy commanded by pure pursuit along the planner's path.

Every world plays one episode on a fixed tile (row = difficulty, column = layout). An episode
succeeds when the base comes within the goal radius before the time limit without a fall; time to
goal and collision events (trunk, hips, thighs or calf shanks touching the terrain) are recorded.
A tile the planner cannot solve is reported as unsolvable and left out of the success rate.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mujoco
import numpy as np
import torch

from robolearn.core import EnvCfg, TerminationTerm, mdp
from robolearn.envs.locomotion.confined3d.planner import pure_pursuit
from robolearn.envs.locomotion.confined3d.task import confined_terrain
from robolearn.envs.locomotion.confined3d.waypoints import WAYPOINTS, WaypointCommand, WaypointCommandCfg
from robolearn.math import yaw_from_quat
from robolearn.registry import EvalSuite, PlayVideo, PolicyFactory

METHODS = ("hierarchical", "goal_only", "velocity")
METHOD_OF_TASK = {
    "Go1-Confined3D": "hierarchical",
    "Go1-Confined3D-GoalOnly": "goal_only",
    "Go1-Velocity-Flat": "velocity",
}
"""How the confined3d suite drives each task's policy through the tunnels (the tasks' registrations use it)."""
DIFFICULTY_ROWS = 4


@dataclass
class EpisodeRecord:
    method: str
    difficulty: float
    tile: tuple[int, int]
    solvable: bool
    success: bool
    time_to_goal: float
    """Seconds until the goal radius was first reached; nan when it was not."""
    collisions: float
    fell: bool
    replans: int
    progress: float = 0.0
    """Largest fraction of the start-to-goal distance covered (straight line), in [0, 1]."""


def summarize(records: list[EpisodeRecord]) -> dict[tuple[str, float], dict[str, float]]:
    """Per (method, difficulty): episodes, unsolvable (excluded), success rate, mean time to goal (successes),
    mean collisions per episode, falls, progress, and layouts crossed at least once out of those played."""
    out: dict[tuple[str, float], dict[str, float]] = {}
    keys = sorted({(r.method, r.difficulty) for r in records})
    for key in keys:
        group = [r for r in records if (r.method, r.difficulty) == key]
        solvable = [r for r in group if r.solvable]
        wins = [r for r in solvable if r.success]
        out[key] = {
            "episodes": float(len(solvable)),
            "unsolvable": float(len(group) - len(solvable)),
            "success_rate": len(wins) / len(solvable) if solvable else math.nan,
            "time_to_goal": statistics.fmean(r.time_to_goal for r in wins) if wins else math.nan,
            "collisions": statistics.fmean(r.collisions for r in solvable) if solvable else math.nan,
            "falls": float(sum(r.fell for r in solvable)),
            "progress": statistics.fmean(r.progress for r in solvable) if solvable else math.nan,
            # Episodes on one layout are correlated (same tunnel): how many layouts were crossed at all.
            "layouts": float(len({r.tile for r in solvable})),
            "layouts_crossed": float(len({r.tile for r in wins})),
        }
    return out


def eval_env_cfg(cfg: EnvCfg, method: str, rows: int, cols: int, seed: int, worlds_per_tile: int,
                 replan: bool = True) -> EnvCfg:  # fmt: skip
    """A trained run's env config moved onto held-out confined terrain with fixed tiles per world."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    events = dict(cfg.events)
    commands = dict(cfg.commands)  # the velocity task keeps its velocity command, set by pure pursuit
    commands[WAYPOINTS] = WaypointCommandCfg(use_planner=method != "goal_only", replan=replan and method != "goal_only")
    events.pop("push", None)
    reset_base = events.get("reset_base")
    if reset_base is not None:
        # Spawn at the tunnel entrance facing down it (the velocity task spawns anywhere, any yaw).
        events["reset_base"] = dataclasses.replace(reset_base, params={
            "pose_range": {"x": (-0.05, 0.05), "y": (-0.05, 0.05), "yaw": (-0.1, 0.1)},
            "velocity_range": {},
        })  # fmt: skip
    terminations = {
        "time_out": TerminationTerm(mdp.time_out, time_out=True),
        "bad_orientation": TerminationTerm(mdp.bad_orientation, params={"limit_angle": 1.0}),
        "fell": TerminationTerm(mdp.base_height_below, params={"min_height": 0.06}),
    }
    scene = dataclasses.replace(cfg.scene, terrain=confined_terrain(rows, cols, seed, cfg.scene.terrain.tile_size
                                                                    if cfg.scene.terrain.kind == "confined3d" else 4.0))  # fmt: skip
    return dataclasses.replace(cfg, scene=scene, events=events, commands=commands, terminations=terminations, curriculum={},
                               num_envs=rows * cols * worlds_per_tile, episode_length_s=20.0)  # fmt: skip


def _place_worlds(env: Any, rows: int, cols: int) -> None:
    ids = torch.arange(env.num_envs, device=env.device)
    tile = ids % (rows * cols)
    env.terrain_levels[:] = tile // cols
    env.terrain_types[:] = tile % cols
    env.reset()


def velocity_commands(
    env: Any, state: WaypointCommand, lookahead: float = 0.5, speed: float = 0.4
) -> torch.Tensor:
    """Pure-pursuit (vx, vy, yaw rate) for every world along its current planned path."""
    pos = env.robot.root_pos_w[:, :2].cpu().numpy()
    yaw = yaw_from_quat(env.robot.root_quat_w).cpu().numpy()
    paths, counts, index = state.paths.cpu().numpy(), state.count.cpu().numpy(), state.index.cpu().numpy()
    cmd = np.zeros((env.num_envs, 3))
    for i in range(env.num_envs):
        # Follow the path from the waypoint before the current one, so the closest point is ahead of us.
        path = paths[i, max(int(index[i]) - 1, 0) : int(counts[i])]
        cmd[i] = pure_pursuit(np.array([pos[i, 0], pos[i, 1], yaw[i]]), path, lookahead, speed)
    return torch.as_tensor(cmd, dtype=torch.float32, device=env.device)


def rollout(env: Any, act: Callable[[dict[str, torch.Tensor]], torch.Tensor], method: str,
            on_step: Callable[[Any], None] | None = None) -> list[EpisodeRecord]:  # fmt: skip
    """One episode per world (no time-out reset: T - 1 steps); falls end a world's episode."""
    state: WaypointCommand = env.command_manager.get_term(WAYPOINTS)  # advanced by the env's step
    rows = env.terrain_origins.shape[0]
    n = env.num_envs
    active = torch.ones(n, dtype=torch.bool, device=env.device)
    fell = torch.zeros_like(active)
    reached = torch.zeros_like(active)
    t_goal = torch.full((n,), math.nan, device=env.device)
    collisions = torch.zeros(n, device=env.device)
    replans = torch.zeros(n, dtype=torch.long, device=env.device)
    progress = torch.zeros(n, device=env.device)
    obs = env.obs_buf
    for _ in range(env.max_episode_length - 1):
        if method == "velocity":
            env.command_manager.get_command("base_velocity")[:] = velocity_commands(env, state)
            obs = env.observation_manager.compute()
        with torch.no_grad():
            obs, _, terminated, _, _ = env.step(act(obs))
        if on_step is not None:
            on_step(env)
        fell |= terminated & active
        active &= ~terminated
        live = active
        first = live & state.reached & ~reached
        t_goal = torch.where(first, state.time_to_goal, t_goal)
        reached |= live & state.reached
        collisions = torch.where(live, state.collisions, collisions)
        replans = torch.where(live, state.replans, replans)
        left = torch.linalg.norm(state.goal - env.robot.root_pos_w[:, :2].to(env.device), dim=-1).float()
        now = (1.0 - left / state.path_length).clamp(0.0, 1.0)
        progress = torch.where(live, torch.maximum(progress, now), progress)
        if not active.any():
            break
    levels, types = env.terrain_levels.tolist(), env.terrain_types.tolist()
    solvable = state.tile_solvable[env.terrain_levels, env.terrain_types].tolist()
    return [
        EpisodeRecord(
            method,
            round((levels[i] + 1) / rows, 3),
            (levels[i], types[i]),
            bool(solvable[i]),
            bool(reached[i]),
            float(t_goal[i]),
            float(collisions[i]),
            bool(fell[i] and not reached[i]),
            int(replans[i]),
            float(progress[i]),
        )
        for i in range(n)
    ]


def load_for_eval(policy: PolicyFactory, env_cfg: EnvCfg, method: str, rows: int, cols: int, seed: int,
                  worlds_per_tile: int, replan: bool = True) -> tuple[Any, Callable]:  # fmt: skip
    """The policy (a factory from the learner side) on a held-out confined env; returns (env, act)."""
    env, act = policy(eval_env_cfg(env_cfg, method, rows, cols, seed, worlds_per_tile, replan))
    _place_worlds(env, rows, cols)
    return env, act


def evaluate_method(policy: PolicyFactory, env_cfg: EnvCfg, method: str, rows: int = DIFFICULTY_ROWS,
                    cols: int = 2, seed: int = 1000, worlds_per_tile: int = 2) -> list[EpisodeRecord]:  # fmt: skip
    env, act = load_for_eval(policy, env_cfg, method, rows, cols, seed, worlds_per_tile)
    return rollout(env, act, method)


def evaluate_in_tunnels(env_cfg: EnvCfg, policy: PolicyFactory, episodes: int, seed: int, method: str,
                        worlds_per_tile: int = 2) -> dict[str, Any]:  # fmt: skip
    """`robolearn eval --suite confined3d`: about `episodes` episodes spread over the four difficulties of
    held-out terrain `seed` (layouts per difficulty = episodes / (4 x worlds_per_tile), rounded up)."""
    cols = max(1, math.ceil(episodes / (DIFFICULTY_ROWS * worlds_per_tile)))
    records = evaluate_method(policy, env_cfg, method, DIFFICULTY_ROWS, cols, seed, worlds_per_tile)
    table = summarize(records)
    solvable = [r for r in records if r.solvable]
    return {
        "suite": "confined3d",
        "method": method,
        "episodes": len(records),
        "layouts_per_difficulty": cols,
        "success_rate": sum(r.success for r in solvable) / max(len(solvable), 1),
        "rows": [{"difficulty": d, **v} for (_, d), v in table.items()],
    }


def tunnel_suite(method: str) -> EvalSuite:
    """The confined-3D evaluation suite of a task whose policy is driven as `method` (TaskSpec.suites)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return functools.partial(evaluate_in_tunnels, method=method)


# -- video -------------------------------------------------------------------------------------------


def _draw_path(scene: mujoco.MjvScene, path: np.ndarray, current: int) -> None:
    """Planned path as visual-only markers added to the render scene: spheres at waypoints, segments between."""
    for k, (x, y, z, _) in enumerate(path):
        if scene.ngeom >= scene.maxgeom - 1:
            return
        rgba = np.array([1.0, 0.2, 0.2, 1.0] if k == current else [0.1, 0.9, 0.3, 0.9], dtype=np.float32)
        g = scene.geoms[scene.ngeom]
        mujoco.mjv_initGeom(g, mujoco.mjtGeom.mjGEOM_SPHERE, np.array([0.03, 0, 0]), np.array([x, y, z]),
                            np.eye(3).ravel(), rgba)  # fmt: skip
        scene.ngeom += 1
        if k + 1 < len(path):
            g = scene.geoms[scene.ngeom]
            mujoco.mjv_initGeom(g, mujoco.mjtGeom.mjGEOM_CAPSULE, np.zeros(3), np.zeros(3), np.eye(3).ravel(),
                                np.array([0.1, 0.9, 0.3, 0.6], dtype=np.float32))  # fmt: skip
            mujoco.mjv_connector(g, mujoco.mjtGeom.mjGEOM_CAPSULE, 0.01, np.array([x, y, z]), path[k + 1, :3])
            scene.ngeom += 1


def record_traversal(env_cfg: EnvCfg, policy: PolicyFactory, out: Path, method: str = "hierarchical",
                     difficulty_row: int = 3, seed: int = 1000, width: int = 480, height: int = 320,
                     every: int = 2) -> Path:  # fmt: skip
    """mp4 of one world crossing a held-out tunnel (row `difficulty_row` of DIFFICULTY_ROWS) with its planned path drawn."""
    from robolearn.render import VideoWriter, WorldRenderer

    env, act = load_for_eval(
        policy, env_cfg, method, rows=DIFFICULTY_ROWS, cols=1, seed=seed, worlds_per_tile=1, replan=True
    )
    state: WaypointCommand = env.command_manager.get_term(WAYPOINTS)  # advanced by the env's step
    world = difficulty_row
    renderer = WorldRenderer(env.scene.model, width, height)
    renderer.camera.distance, renderer.camera.elevation, renderer.camera.azimuth = 2.6, -60.0, 100.0
    writer = VideoWriter(out, fps=1.0 / (env.step_dt * every))
    data, model = renderer.data, env.scene.model
    frame = [0]

    def draw(env_: Any) -> None:
        frame[0] += 1
        if frame[0] % every:
            return
        data.qpos[:] = env_.sim.qpos[world].cpu().numpy()
        mujoco.mj_forward(model, data)
        renderer.camera.lookat[:] = data.xpos[env_.robot.base_id]
        renderer.renderer.update_scene(data, renderer.camera, renderer.options)
        n = int(state.count[world])
        _draw_path(renderer.renderer.scene, state.paths[world, :n].cpu().numpy(), int(state.index[world]))
        writer.write(renderer.renderer.render().copy())

    rollout(env, act, method, on_step=draw)
    renderer.close()
    return writer.close()


def traversal_video(method: str) -> PlayVideo:
    """`robolearn play` of a confined-3D task (TaskSpec.play): the crossing of one held-out tunnel."""
    return lambda env_cfg, policy, out, seed: record_traversal(env_cfg, policy, out, method, seed=seed)
