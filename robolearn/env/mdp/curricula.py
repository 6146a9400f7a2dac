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
