"""Randomization presets edit any task's EnvCfg, and their events randomize per world."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from robolearn.core import ManagerBasedRlEnv
from robolearn.registry import get_task
from robolearn.sim2real.randomization import PRESETS, apply_preset


def cfg(task: str = "Go2-Velocity-Flat"):
    return get_task(task).env_cfg()


def test_presets_order_by_strength_and_none_disables():
    none = apply_preset(cfg(), "none")
    assert not none.observations["policy"].enable_noise
    assert not any(k in none.events for k in ("friction", "base_mass", "push"))
    assert "reset_base" in none.events  # resets are the task's, not randomization
    std = apply_preset(cfg(), "legged-standard")
    heavy = apply_preset(cfg(), "heavy")
    f_std, f_heavy = (
        std.events["friction"].params["friction_range"],
        heavy.events["friction"].params["friction_range"],
    )
    assert f_heavy[0] < f_std[0] and f_heavy[1] > f_std[1]
    nominal = cfg().observations["policy"].terms["joint_vel"].noise
    assert heavy.observations["policy"].terms["joint_vel"].noise == pytest.approx(1.5 * nominal)
    again = apply_preset(heavy, "heavy")  # applying twice does not compound the noise
    assert again.observations["policy"].terms["joint_vel"].noise == pytest.approx(1.5 * nominal)
    with pytest.raises(ValueError, match="presets: none, light, legged-standard, heavy"):
        apply_preset(cfg(), "extreme")
    assert list(PRESETS) == ["none", "light", "legged-standard", "heavy"]


def test_heavy_scales_rough_terrain_only():
    rough = apply_preset(cfg("Go2-Velocity-Rough"), "heavy")
    assert rough.scene.terrain.max_step == pytest.approx(
        1.25 * cfg("Go2-Velocity-Rough").scene.terrain.max_step
    )
    assert apply_preset(cfg(), "heavy").scene.terrain.kind == "flat"


def test_heavy_randomizes_model_per_world():
    c = dataclasses.replace(apply_preset(cfg(), "heavy"), num_envs=4)
    c.sim.num_threads = 1
    env = ManagerBasedRlEnv(c)
    model = env.scene.model
    base = env.robot.base_id
    ipos = env.sim.model_field("body_ipos")[:, base].numpy()
    kp = env.sim.model_field("actuator_gainprm")[:, :, 0].numpy()
    bias = env.sim.model_field("actuator_biasprm").numpy()
    force = env.sim.model_field("actuator_forcerange")[:, :, 1].numpy()
    mass = env.sim.model_field("body_mass")[:, base].numpy()
    for values in (ipos[:, 0], kp[:, 0], force[:, 0], mass):
        assert np.unique(values.round(9)).size == 4  # each world got its own draw
    assert (np.abs(ipos - model.body_ipos[base]) <= 0.05 + 1e-12).all()
    assert np.allclose(bias[:, :, 1], -kp)  # the servo stays a PD around its target
    assert (kp >= 0.8 * 35 - 1e-9).all() and (kp <= 1.2 * 35 + 1e-9).all()
    # The randomized worlds still step.
    for _ in range(5):
        obs, *_ = env.step(torch.zeros(env.num_envs, env.num_actions))
    assert torch.isfinite(obs["policy"]).all()
