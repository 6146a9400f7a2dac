"""The shipped H1 walking skill, packed, as a frozen-policy action term: a high level gives it velocity
commands, and the H1 moves exactly as when the walker runs as its own task's policy."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from typing import Any

import torch

from robolearn.core import FrozenPolicyActionCfg, ManagerBasedRlEnv
from robolearn.policies.evaluate import load_run_policy
from robolearn.policies.skillblender import skill_run

VX = 0.8


def _quiet(cfg: Any) -> Any:
    """The walker's eval env with one forward command held and no observation noise (noise draws from the
    env's generator, whose stream would then differ between the two envs)."""
    groups = {k: dataclasses.replace(g, enable_noise=False) for k, g in cfg.observations.items()}
    held = cfg.commands["base_velocity"].held(VX, 0.0, 0.0)
    return dataclasses.replace(cfg, observations=groups, commands={"base_velocity": held})


def _walker_obs(env: ManagerBasedRlEnv, term: Any) -> torch.Tensor:
    """The walker's own policy observation, with the high level's command as its goal and its own last output
    as `last_action` (the env's last action is the high level's)."""
    env.command_manager.get_command("base_velocity")[:] = term.command
    parts = []
    for name, t in env.cfg.observations["policy"].terms.items():
        x = term.low_action if name == "last_action" else t.func(env, **t.params)
        x = x.reshape(env.num_envs, -1).to(torch.float32)
        if t.clip is not None:
            x = x.clamp(-t.clip, t.clip)
        parts.append(x * t.scale if t.scale != 1.0 else x)
    return torch.cat(parts, dim=-1)


def test_the_shipped_walker_as_a_frozen_policy_term_acts_as_it_does_alone():
    with contextlib.redirect_stdout(io.StringIO()):  # rsl_rl prints the model
        pol = load_run_policy(skill_run("h1-walk"), num_envs=2, seed=10_000, edit_env=_quiet)
    alone = pol.env
    cfg = dataclasses.replace(alone.cfg, actions={
        "walk": FrozenPolicyActionCfg(
            policy_factory=lambda env: (lambda obs: pol.act({"policy": obs})), observation=_walker_obs,
            command_ranges=((-0.5, 1.0), (-0.3, 0.3), (-0.5, 0.5)), scale=0.25,
        ),
    })  # fmt: skip
    driven = ManagerBasedRlEnv(cfg)
    obs, _ = alone.reset(seed=10_000)
    driven.reset(seed=10_000)
    high = torch.tensor([[(VX + 0.5) / 1.5 * 2 - 1, 0.0, 0.0]] * 2)  # [-1, 1] onto the command ranges: 0.8 m/s
    vx, fell = [], torch.zeros(2, dtype=torch.bool)
    with torch.no_grad():
        for i in range(100):
            obs, _, terminated, _, _ = alone.step(pol.act(obs))
            driven.step(high)
            fell |= terminated
            if i >= 50:
                vx.append(driven.robot.root_lin_vel_b[:, 0].float())
    torch.testing.assert_close(driven.command_manager.get_command("base_velocity")[0], torch.tensor([VX, 0.0, 0.0]))
    assert torch.equal(driven.sim.qpos, alone.sim.qpos)  # the same targets, bit for bit
    assert not fell.any() and torch.stack(vx).mean() > 0.3  # and it walks forward, as test_pretrained_skills asks
    assert driven.action_manager.term_dims == {"walk": 3}
