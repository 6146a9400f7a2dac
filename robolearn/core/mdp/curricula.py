"""Curriculum terms: called with the worlds being reset; return a value to log."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


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
    if "base_velocity" in env.command_manager:
        command = env.command_manager.get_command("base_velocity")
        expected = torch.linalg.norm(command[env_ids, :2], dim=-1) * env.cfg.episode_length_s
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
                   start: float = 0.5, step: float = 0.1, threshold: float = 0.8,
                   command_name: str = "base_velocity", every_s: float | None = None) -> float | None:  # fmt: skip
    """Grow the (vx, vy) command ranges from `start` of their configured size by `step` when, over the
    episodes that ended in the last episode-length of steps, `reward` earned more than `threshold` of
    its maximum rate (legged_gym's command curriculum): slow commands first, the full range once they
    are tracked. Deciding once per `every_s` of simulated time (default: one episode length) keeps the pace
    independent of how often worlds reset."""
    if command_name not in env.command_manager:
        return None
    cmd = env.command_manager.get_term(command_name)
    state = env.term_state.setdefault("command_levels", {})
    if every_s is not None and not every_s > 0:
        raise ValueError(f"curriculum command_levels: every_s must be > 0 s (or None: once per episode), got {every_s}")
    interval = env.max_episode_length if every_s is None else max(1, round(every_s / env.step_dt))
    if "next_decision" not in state:
        cmd.lin_vel_scale = start
        state.update(next_decision=interval, earned=0.0, seconds=0.0)
    manager = getattr(env, "reward_manager", None)  # absent during the env's first reset
    if manager is None or not len(env_ids) or reward not in manager.terms:
        return cmd.lin_vel_scale
    state["earned"] += float(manager.episode_sums[reward][env_ids].sum())
    state["seconds"] += float(env.episode_length_buf[env_ids].sum()) * env.step_dt
    if env.common_step_counter >= state["next_decision"]:
        rate = state["earned"] / max(state["seconds"], 1e-9) / manager.terms[reward].weight
        if rate > threshold:
            cmd.lin_vel_scale = min(1.0, cmd.lin_vel_scale + step)
        state.update(next_decision=env.common_step_counter + interval, earned=0.0, seconds=0.0)
    return cmd.lin_vel_scale
