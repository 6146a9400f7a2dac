"""The CPU backend: live views, parity with plain MuJoCo, per-world parameters, resets and rays."""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
import torch

from robolearn.scene import SceneCfg, build_scene
from robolearn.sim import make_backend


@pytest.fixture(scope="module")
def go2_model() -> mujoco.MjModel:
    return build_scene(SceneCfg(robot="go2", pd_gains={".*": (35.0, 0.5)})).model


def test_views_are_live_and_zero_copy(go2_model):
    sim = make_backend("cpu", go2_model, 3, num_threads=1)
    qpos_before = sim.qpos.clone()
    sim.ctrl[:] = torch.as_tensor(go2_model.key_ctrl[0])
    ptr = sim.qpos.data_ptr()
    sim.step(5)
    assert sim.qpos.data_ptr() == ptr, "step must update the same tensor in place"
    assert not torch.equal(sim.qpos, qpos_before)
    assert sim.time[0] == pytest.approx(5 * go2_model.opt.timestep)


def test_matches_plain_mujoco_stepping(go2_model):
    sim = make_backend("cpu", go2_model, 2, num_threads=2)
    sim.reset(keyframe=0)
    data = mujoco.MjData(go2_model)
    mujoco.mj_resetDataKeyframe(go2_model, data, 0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        ctrl = go2_model.key_ctrl[0] + 0.2 * rng.standard_normal(go2_model.nu)
        sim.ctrl[:] = torch.as_tensor(ctrl)
        data.ctrl[:] = ctrl
        sim.step(5)
        for _ in range(5):
            mujoco.mj_step(go2_model, data)
    np.testing.assert_allclose(sim.qpos[1].numpy(), data.qpos, atol=1e-9)
    np.testing.assert_allclose(sim.qvel[0].numpy(), data.qvel, atol=1e-7)


def test_per_world_mass_changes_only_that_world(go2_model):
    sim = make_backend("cpu", go2_model, 2, num_threads=1)
    sim.reset(keyframe=0)
    base = go2_model.body("base").id
    sim.model_field("body_mass")[1, base] += 5.0
    sim.set_const(torch.tensor([1]))
    sim.ctrl[:] = torch.as_tensor(go2_model.key_ctrl[0])
    sim.step(100)
    assert sim.qpos[1, 2] < sim.qpos[0, 2] - 1e-3, "the heavier robot should sag lower on its PD servos"


def test_per_world_gravity_and_com_offset(go2_model):
    sim = make_backend("cpu", go2_model, 2, num_threads=1)
    sim.reset(keyframe=0)
    sim.qpos[:, 2] += 1.0  # drop from 1 m above the pose
    sim.forward()
    sim.model_field("gravity")[1] = torch.zeros(3, dtype=torch.float64)
    base = go2_model.body("base").id
    sim.model_field("body_ipos")[0, base, 0] += 0.05  # CoM 5 cm forward in world 0 only
    sim.step(50)
    assert sim.qpos[1, 2] == pytest.approx(go2_model.key_qpos[0, 2] + 1.0, abs=1e-6), "no gravity: no fall"
    assert sim.qpos[0, 2] < go2_model.key_qpos[0, 2] + 0.9
    assert sim.subtree_com[0, base, 0] > sim.xpos[0, base, 0] + 0.01


def test_reset_selected_worlds(go2_model):
    sim = make_backend("cpu", go2_model, 3, num_threads=1)
    sim.reset(keyframe=0)
    sim.ctrl[:] = 0.0
    sim.step(50)
    moved = sim.qpos.clone()
    sim.reset(torch.tensor([1]), keyframe=0)
    np.testing.assert_allclose(sim.qpos[1].numpy(), go2_model.key_qpos[0])
    assert torch.equal(sim.qpos[0], moved[0]) and torch.equal(sim.qpos[2], moved[2])


def test_rays_measure_height_above_floor(go2_model):
    sim = make_backend("cpu", go2_model, 2, num_threads=1)
    pnt = torch.tensor(
        [[[0.0, 3.0, 1.5], [2.0, 2.0, 0.7]], [[5.0, 5.0, 0.3], [4.0, 4.0, 2.0]]], dtype=torch.float64
    )
    vec = torch.zeros_like(pnt)
    vec[..., 2] = -1.0
    dist = sim.ray(pnt, vec, flg_static=True, geomgroup=(1, 0, 0, 0, 0, 0))
    np.testing.assert_allclose(dist.numpy(), pnt[..., 2].numpy(), atol=1e-9)


def test_unknown_backend_lists_valid_ones(go2_model):
    with pytest.raises(ValueError, match="valid backends: cpu, warp"):
        make_backend("gpu-magic", go2_model, 1)


def test_warp_backend_without_warp_says_how_to_install(go2_model, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "mujoco_warp", None)  # as if the gpu extra were not installed
    with pytest.raises(RuntimeError, match=r"pip install 'robolearn\[gpu\]'"):
        make_backend("warp", go2_model, 1)


def test_nan_control_flags_only_that_world(go2_model):
    sim = make_backend("cpu", go2_model, 3, 1)
    sim.step(1)
    assert not sim.diverged().any()
    sim.ctrl[1, 0] = float("nan")  # MuJoCo zeroes the controls and steps on; the world is still flagged
    sim.step(1)
    assert sim.diverged().tolist() == [False, True, False]
    sim.reset(torch.tensor([1]))
    sim.step(1)
    assert not sim.diverged().any()  # once per event, not on every later step
