"""PnP docking on rendered scenes with known base poses."""

from __future__ import annotations

import numpy as np
import pytest

from robolearn.gl import RenderUnavailable, ensure_gl
from robolearn.sim2real.docking import BaseCamera, PnPEstimator, dock, docking_scene, planar, se2


@pytest.fixture(scope="module")
def camera():
    try:
        ensure_gl()
    except RenderUnavailable as exc:
        pytest.skip(str(exc))
    cam = BaseCamera(docking_scene(seed=0))
    yield cam
    cam.close()


@pytest.mark.parametrize("offset", [(-0.08, 0.05, 8.0), (0.06, -0.1, -12.0)])
def test_pnp_recovers_a_known_rendered_pose(camera, offset):
    goal = np.array([0.1, -0.05, np.radians(5.0)])
    current = goal + np.array([offset[0], offset[1], np.radians(offset[2])])
    est = PnPEstimator(camera.view(goal), camera.K, camera.T_base_cam).estimate(camera.view(current))
    truth = planar(np.linalg.inv(se2(current)) @ se2(goal))
    assert est.ok and est.inliers >= 20
    assert np.linalg.norm(est.delta[:2] - truth[:2]) < 0.01
    assert np.degrees(abs(est.delta[2] - truth[2])) < 1.0


def test_docking_loop_converges_from_an_offset_start(camera):
    goal = np.zeros(3)
    res = dock(camera, goal, np.array([-0.15, 0.1, np.radians(-15.0)]), rng=np.random.default_rng(1))
    assert res.converged and res.iterations <= 10
    assert res.final_pos_error < 0.01 and np.degrees(res.final_yaw_error) < 1.0
    # it is a loop: the first step alone (gain < 1, noisy actuation) leaves a larger error
    first = planar(np.linalg.inv(se2(goal)) @ se2(res.history[1]))
    assert np.linalg.norm(first[:2]) > res.final_pos_error
