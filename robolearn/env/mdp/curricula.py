"""Curriculum terms: called with the worlds being reset; return a value to log."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from robolearn.env.env import ManagerBasedRlEnv


def terrain_levels(env: ManagerBasedRlEnv, env_ids: torch.Tensor) -> float | None:
    """Move a world one row harder if it walked out of its tile, one easier if it covered < half its command."""
    if env.terrain_origins is None:
        return None
    rows = env.terrain_origins.shape[0]
    tile = env.cfg.scene.terrain.tile_size
    dist = torch.linalg.norm(env.robot.root_pos_w[env_ids, :2] - env.env_origins[env_ids, :2], dim=-1).to(
        env.device
    )
    move_up = dist > tile / 2
    if env.command_manager is not None:
        expected = (
            torch.linalg.norm(env.command_manager.command[env_ids, :2], dim=-1) * env.cfg.episode_length_s
        )
        move_down = (dist < 0.5 * expected) & ~move_up
    else:
        move_down = torch.zeros_like(move_up)
    levels = env.terrain_levels[env_ids] + move_up.long() - move_down.long()
    # Worlds that solve the hardest row restart on a random row, so the whole range stays in play.
    solved = levels >= rows
    levels[solved] = torch.randint(0, rows, (int(solved.sum()),), device=env.device, generator=env.rng)
    env.terrain_levels[env_ids] = levels.clamp(0, rows - 1)
    return float(env.terrain_levels.float().mean())


def command_levels(env: ManagerBasedRlEnv, env_ids: torch.Tensor, reward: str = "track_lin_vel_xy",
                   start: float = 0.5, step: float = 0.1, threshold: float = 0.8) -> float | None:  # fmt: skip
    """Grow the (vx, vy) command ranges from `start` of their configured size by `step` whenever the
    worlds ending an episode earned more than `threshold` of `reward`'s maximum (legged_gym's command
    curriculum): slow commands first, the full range once they are tracked."""
    cmd = env.command_manager
    if cmd is None:
        return None
    state = env.term_state.setdefault("command_levels", {})
    if "started" not in state:
        state["started"] = True
        cmd.lin_vel_scale = start
    manager = getattr(env, "reward_manager", None)  # absent during the env's first reset
    if manager is not None and len(env_ids) and reward in manager.terms:
        earned = float(manager.episode_sums[reward][env_ids].mean()) / env.cfg.episode_length_s
        if earned > threshold * manager.terms[reward].weight:
            cmd.lin_vel_scale = min(1.0, cmd.lin_vel_scale + step)
    return cmd.lin_vel_scale
