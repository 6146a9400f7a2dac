"""An env's whole state saved and restored into a freshly built env: the worlds continue bit for bit."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from robolearn.core.env import ManagerBasedRlEnv
from robolearn.core.snapshot import SnapshotError, env_state, load_env_state
from robolearn.registry import get_task


def _cfg(task: str, num_envs: int = 8):
    # Short episodes: resets, curriculum updates and command resamples all happen within the steps below.
    return dataclasses.replace(get_task(task).env_cfg(), num_envs=num_envs, episode_length_s=1.0)


def _rollout(env: ManagerBasedRlEnv, steps: int, gen: torch.Generator) -> list[torch.Tensor]:
    out = []
    for _ in range(steps):
        obs, reward, terminated, time_out, _ = env.step(
            torch.randn(env.num_envs, env.num_actions, generator=gen)
        )
        out.append(torch.cat([*(v.flatten() for v in obs.values()), reward, terminated, time_out]))
    return out


@pytest.mark.parametrize("task", ["Go2-Velocity-Rough", "H1-Skill-Step"])
def test_a_restored_env_continues_where_the_saved_one_left_off(task: str):
    env = ManagerBasedRlEnv(_cfg(task), device="cpu")
    gen = torch.Generator().manual_seed(0)
    _rollout(env, 60, gen)
    rough = env.terrain_origins is not None
    if rough:  # curricula away from their start, so a fresh env would not happen to match
        env.terrain_levels[:] = torch.arange(env.num_envs) % env.terrain_origins.shape[0]
        env.command_manager.get_term("base_velocity").lin_vel_scale = 0.7
        env.term_state["command_levels"]["next_decision"] = 4321  # a fresh env's is its decision interval
    saved, actions = env_state(env), gen.get_state()
    expected = _rollout(env, 80, gen)

    fresh = ManagerBasedRlEnv(_cfg(task), device="cpu")
    load_env_state(fresh, saved)
    if rough:
        assert fresh.terrain_levels.tolist() == (torch.arange(8) % env.terrain_origins.shape[0]).tolist()
        assert fresh.command_manager.get_term("base_velocity").lin_vel_scale == 0.7
        assert fresh.term_state["command_levels"]["next_decision"] == 4321
    assert fresh.common_step_counter == 60
    gen.set_state(actions)
    got = _rollout(fresh, 80, gen)
    assert [i for i, (a, b) in enumerate(zip(expected, got, strict=True)) if not torch.equal(a, b)] == []


def test_a_state_from_another_layout_is_refused_before_anything_changes():
    saved = env_state(ManagerBasedRlEnv(_cfg("Go2-Stand", num_envs=4), device="cpu"))
    env = ManagerBasedRlEnv(_cfg("Go2-Stand", num_envs=6), device="cpu")
    before = env.sim.get_state()
    with pytest.raises(SnapshotError, match="4 worlds .* this env has 6"):
        load_env_state(env, saved)
    assert all(torch.equal(v, before[k]) for k, v in env.sim.get_state().items())
