"""Confined-3D planner and terrain: paths in solvable maps, 'no path' in blocked ones, collision-free
waypoints, reproducible layouts, range checks, pure pursuit."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from robolearn.envs.locomotion.confined3d.planner import (
    GridAStarPlanner,
    Planner,
    RobotBox,
    box_collides,
    pure_pursuit,
)
from robolearn.envs.locomotion.confined3d.terrain import (
    MIN_CEILING,
    Box,
    Layout,
    check_difficulty,
    generate_layout,
    grid_from_cfg,
)
from robolearn.terrain import TerrainCfg


def _corridor(blocked: bool = False, ceiling: float | None = None) -> Layout:
    """A hand-made 3 m corridor 0.8 m wide; optionally a wall across it or a low ceiling midway."""
    boxes = [
        Box((1.5, 0.0, -0.05), (1.7, 0.8, 0.05), "solid", "floor"),
        Box((1.5, -0.6, 0.3), (1.7, 0.2, 0.3), "solid", "wall"),
        Box((1.5, 0.6, 0.3), (1.7, 0.2, 0.3), "solid", "wall"),
    ]
    if blocked:
        boxes.append(Box((1.5, 0.0, 0.3), (0.1, 0.4, 0.3), "solid", "wall"))
    if ceiling is not None:
        boxes.append(Box((1.5, 0.0, ceiling + 0.025), (0.5, 0.45, 0.025), "ceiling", "ceiling"))
    return Layout(0, 0.0, 3.0, 1.6, boxes, np.array([0.5, 0.0]), np.array([2.6, 0.0]))


def test_planner_finds_a_path_and_crouches_under_a_low_ceiling() -> None:
    layout = _corridor(ceiling=0.30)
    planner: Planner = GridAStarPlanner(layout.maps())
    result = planner.plan(np.array([0.5, 0.0, 0.0]), layout.goal)
    assert result.solved, result.status
    wp = result.waypoints
    assert np.linalg.norm(wp[-1, :2] - layout.goal) < 0.2
    under = np.abs(wp[:, 0] - 1.5) < 0.4
    assert under.any() and wp[under, 2].max() < RobotBox().heights[0]  # crouched under the ceiling
    assert np.all(np.linalg.norm(np.diff(wp[:, :2], axis=0), axis=-1) <= 0.5 + 1e-6)


def test_blocked_map_reports_no_path() -> None:
    layout = _corridor(blocked=True)
    result = GridAStarPlanner(layout.maps()).plan(np.array([0.5, 0.0, 0.0]), layout.goal)
    assert not result.solved and result.status == "no_path"
    assert result.waypoints.shape == (0, 4)
    # A ceiling lower than the lowest crouch blocks the corridor too.
    too_low = _corridor(ceiling=0.2)
    assert GridAStarPlanner(too_low.maps()).plan(np.array([0.5, 0.0, 0.0]), too_low.goal).status == "no_path"


def test_goal_inside_a_wall_is_goal_blocked() -> None:
    layout = _corridor()
    result = GridAStarPlanner(layout.maps()).plan(np.array([0.5, 0.0, 0.0]), np.array([1.5, 0.7]))
    assert result.status == "goal_blocked"


@pytest.mark.parametrize("difficulty", [0.5, 1.0])
def test_waypoints_never_intersect_the_maps(difficulty: float) -> None:
    robot = RobotBox()
    for seed in range(3):
        layout = generate_layout(seed, difficulty)
        maps = layout.maps()
        result = GridAStarPlanner(maps, robot).plan(np.array([*layout.start, 0.0]), layout.goal)
        assert result.solved
        ground = 0.0  # generated floors are flat at 0 between obstacles
        for x, y, z, yaw in result.waypoints:
            assert not box_collides(maps, robot, x, y, yaw, z - ground)


def test_terrain_is_deterministic_per_seed_and_varies_across_seeds() -> None:
    a, b = generate_layout(7, 0.75), generate_layout(7, 0.75)
    assert a.boxes == b.boxes and np.array_equal(a.goal, b.goal)
    assert generate_layout(8, 0.75).boxes != a.boxes
    cfg = TerrainCfg(kind="confined3d", rows=2, cols=2, tile_size=4.0, seed=3)
    g1, g2 = grid_from_cfg(cfg), grid_from_cfg(dataclasses.replace(cfg))
    assert g1.layouts[1][1].boxes == g2.layouts[1][1].boxes
    assert grid_from_cfg(dataclasses.replace(cfg, seed=4)).layouts[1][1].boxes != g1.layouts[1][1].boxes


def test_hard_layouts_reach_the_minimum_ceiling() -> None:
    ceilings = [b.bottom for s in range(6) for b in generate_layout(s, 1.0).boxes if b.kind == "ceiling"]
    assert ceilings and min(ceilings) >= MIN_CEILING - 1e-9
    assert min(ceilings) < MIN_CEILING + 0.05  # the hardest tunnels force the lowest crouch


def test_out_of_range_seed_or_difficulty_is_rejected_with_the_range() -> None:
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 4294967295\]"):
        generate_layout(-1, 0.5)
    with pytest.raises(ValueError, match=r"difficulty must be in \[0.0, 1.0\]"):
        generate_layout(0, 1.5)
    with pytest.raises(ValueError, match=r"difficulty must be in"):
        check_difficulty(-0.1)
    with pytest.raises(ValueError, match=r"seed must be"):
        grid_from_cfg(TerrainCfg(kind="confined3d", rows=1, cols=1, seed=2**40))


def test_pure_pursuit_walks_toward_the_path_and_stops_at_its_end() -> None:
    path = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    cmd = pure_pursuit(np.array([0.0, 0.0, 0.0]), path)
    assert cmd[0] > 0.3 and abs(cmd[1]) < 1e-6 and abs(cmd[2]) < 1e-6
    left = pure_pursuit(np.array([1.0, -0.3, 0.0]), path)
    assert left[1] > 0 and left[2] > 0  # target is to the left: side-step and turn left
    assert np.allclose(pure_pursuit(np.array([2.0, 0.05, math.pi / 2]), path), 0.0)
