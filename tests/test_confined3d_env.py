"""Confined-3D env: the two-layer height scan against analytic box heights, the exploration decay,
unsolvable goals, and the evaluation summary. One small env (one tile, two worlds) for the module."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from robolearn.core.actions import DelayedJointPositionAction, DelayedJointPositionActionCfg
from robolearn.core.env import ManagerBasedRlEnv
from robolearn.envs.locomotion.confined3d.evaluation import EpisodeRecord, rollout, summarize
from robolearn.envs.locomotion.confined3d.heightmap import (
    MAP_RESOLUTION,
    NO_HIT,
    scan_points,
    two_layer_height_scan,
)
from robolearn.envs.locomotion.confined3d.task import (
    Go1Confined3DCfg,
    confined_terrain,
    exploration_scale,
    trot_until_goal,
)
from robolearn.envs.locomotion.confined3d.terrain import grid_from_cfg
from robolearn.envs.locomotion.confined3d.waypoints import WAYPOINTS

SIZE, SHAPE = (2.0, 1.0), (21, 11)


@pytest.fixture(scope="module")
def env() -> ManagerBasedRlEnv:
    cfg = Go1Confined3DCfg()
    cfg.scene.terrain = confined_terrain(rows=1, cols=1, seed=5)
    cfg.curriculum["exploration_decay"].params["decay_steps"] = 10
    return ManagerBasedRlEnv(dataclasses.replace(cfg, num_envs=2))


def _place(env: ManagerBasedRlEnv, x: float, y: float, z: float, yaw: float) -> None:
    env.sim.qpos[0, 0:3] = torch.tensor([x, y, z], dtype=env.sim.qpos.dtype)
    env.sim.qpos[0, 3:7] = torch.tensor([np.cos(yaw / 2), 0, 0, np.sin(yaw / 2)], dtype=env.sim.qpos.dtype)
    env.sim.forward()
    env.robot.update()


def _analytic(env: ManagerBasedRlEnv, x: float, y: float, z: float, yaw: float, edge: float
              ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    grid = grid_from_cfg(env.cfg.scene.terrain)
    layout, off = grid.layouts[0][0], grid.offsets[0, 0]
    pts = scan_points(SIZE, SHAPE, torch.device("cpu")).numpy()
    c, s = np.cos(yaw), np.sin(yaw)
    world = np.stack([x + c * pts[:, 0] - s * pts[:, 1], y + s * pts[:, 0] + c * pts[:, 1]], -1)
    local = world - off
    floor, ceiling = layout.floor_height(local), layout.ceiling_height(local)
    # Points within `edge` of a box edge may legitimately read either side; leave them out.
    stable = np.ones(len(local), dtype=bool)
    for d in (
        (edge, 0),
        (-edge, 0),
        (0, edge),
        (0, -edge),
        (edge, edge),
        (edge, -edge),
        (-edge, edge),
        (-edge, -edge),
    ):
        stable &= (layout.floor_height(local + d) == floor) & (layout.ceiling_height(local + d) == ceiling)
    below = np.clip(z - floor, -NO_HIT, NO_HIT)
    above = np.clip(ceiling - z, -NO_HIT, NO_HIT)
    return np.concatenate([below, above]), np.concatenate([stable, stable])


@pytest.mark.parametrize("method", ["rays", "map"])
def test_height_scan_matches_analytic_box_heights(env: ManagerBasedRlEnv, method: str) -> None:
    grid = grid_from_cfg(env.cfg.scene.terrain)
    layout, off = grid.layouts[0][0], grid.offsets[0, 0]
    ceilings = [b for b in layout.boxes if b.kind == "ceiling"]
    assert ceilings, "seed 5 has a ceiling in its tile"
    poses = [
        (*(off + layout.start), 0.27, 0.0),
        (off[0] + ceilings[0].center[0], off[1] + ceilings[0].center[1], 0.2, 0.4),
    ]
    for x, y, z, yaw in poses:
        _place(env, x, y, z, yaw)
        # Rays are exact; the raster is exact up to its cell size (heightmap.MAP_RESOLUTION).
        expected, stable = _analytic(
            env, x, y, z, yaw, edge=2e-3 if method == "rays" else MAP_RESOLUTION + 1e-3
        )
        scan = two_layer_height_scan(env, SIZE, SHAPE, method=method)[0].numpy()
        assert scan.shape == (2 * SHAPE[0] * SHAPE[1],)
        assert stable.mean() > 0.7
        np.testing.assert_allclose(scan[stable], expected[stable], atol=1e-4 if method == "rays" else 1e-3)
    # Under the ceiling, its underside is seen above the base.
    assert (scan[SHAPE[0] * SHAPE[1] :] < NO_HIT).any()


def test_scan_dropout_reads_no_hit(env: ManagerBasedRlEnv) -> None:
    scan = two_layer_height_scan(env, SIZE, SHAPE, dropout=1.0, method="map")
    assert torch.all(scan == NO_HIT)


def test_exploration_weight_decays_linearly_to_zero(env: ManagerBasedRlEnv) -> None:
    assert exploration_scale(0, 100) == 1.0 and exploration_scale(50, 100) == 0.5
    assert exploration_scale(100, 100) == 0.0 and exploration_scale(150, 100) == 0.0
    term = env.reward_manager.terms["exploration"]
    w0 = env.term_state["exploration_weight"]
    env.reset()
    assert term.weight == pytest.approx(w0 * (1 - env.common_step_counter / 10))
    actions = torch.zeros(env.num_envs, env.num_actions)
    for _ in range(5):
        env.step(actions)
    env.reset()  # the curriculum runs at resets
    assert term.weight == pytest.approx(w0 * 0.5)
    for _ in range(6):
        env.step(actions)
    env.reset()
    assert term.weight == 0.0


def test_waypoints_come_from_the_planner_and_advance(env: ManagerBasedRlEnv) -> None:
    env.reset()
    state = env.command_manager.get_term(WAYPOINTS)
    assert bool(state.solvable.all()) and int(state.count[0]) > 2
    first = state.paths[0, 0, :2].clone()
    _place(env, float(first[0]), float(first[1]), 0.27, 0.0)
    env.step(torch.zeros(env.num_envs, env.num_actions))
    assert int(state.index[0]) >= 1
    # The command terms read is the current waypoint of each world's path.
    rows = torch.arange(env.num_envs)
    assert torch.equal(env.command_manager.get_command(WAYPOINTS), state.paths[rows, state.index])
    goal = state.goal[0]
    _place(env, float(goal[0]), float(goal[1]), 0.27, 0.0)
    env.step(torch.zeros(env.num_envs, env.num_actions))
    assert bool(state.reached[0]) and float(state.time_to_goal[0]) > 0


def test_trot_reward_asks_for_steps_on_the_way_and_all_feet_down_at_the_goal(env: ManagerBasedRlEnv) -> None:
    env.reset()
    state = env.command_manager.get_term(WAYPOINTS)
    start = state.paths[0, 0, :2].clone()
    goal = state.goal[0].clone()
    for xy, expected in ((start - torch.tensor([0.3, 0.0], dtype=start.dtype), 0.5), (goal, 1.0)):
        _place(env, float(xy[0]), float(xy[1]), 0.27, 0.0)
        for _ in range(10):  # settle on four feet at the default pose
            env.step(torch.zeros(env.num_envs, env.num_actions))
        env.episode_length_buf[0] = 0  # the clock's start: a trot wants one diagonal pair up
        # Standing on four feet matches half the trot's pattern, and all of "stand still" at the goal.
        assert float(trot_until_goal(env)[0]) == expected


def test_unreachable_goal_marks_the_tile_unsolvable(env: ManagerBasedRlEnv) -> None:
    state = env.command_manager.get_term(WAYPOINTS)
    layout = state.grid.layouts[0][0]
    wall = next(b for b in layout.boxes if b.role == "wall")
    result = state.plan_tile(0, 0, goal=np.array(wall.center[:2]))
    assert result.status in ("no_path", "goal_blocked")
    assert not bool(state.tile_solvable[0, 0])
    env.reset()
    assert not bool(state.solvable.any())
    state.plan_tile(0, 0)  # back to the tile's own goal
    assert bool(state.tile_solvable[0, 0])
    env.reset()


def test_latency_is_the_declared_action_term_delaying_targets_per_world(env: ManagerBasedRlEnv) -> None:
    term = env.action_manager.get_term("joint_pos")
    assert isinstance(term, DelayedJointPositionAction) and set(term.delay.tolist()) <= {0, 1}
    with pytest.raises(ValueError, match="delay_steps"):
        DelayedJointPositionActionCfg(delay_steps=(2, 1)).build("joint_pos", env)
    drawn = term.delay.clone()
    term.delay[:] = torch.tensor([0, 1])
    try:
        env.reset()
        sent = [torch.full((env.num_envs, env.num_actions), v) for v in (0.1, 0.2)]
        env.step(sent[0])
        # World 0 acts now; world 1's motors still get the zero action queued at reset.
        torch.testing.assert_close(term.target[0], term.offset + 0.25 * 0.1, check_dtype=False)
        torch.testing.assert_close(term.target[1], term.offset, check_dtype=False)
        env.step(sent[1])
        torch.testing.assert_close(term.target[0], term.offset + 0.25 * 0.2, check_dtype=False)
        torch.testing.assert_close(term.target[1], term.offset + 0.25 * 0.1, check_dtype=False)
        # The policy observes what it sent, not what the motors got.
        assert torch.equal(env.action_manager.action, sent[1])
    finally:
        term.delay[:] = drawn
        env.reset()


def test_summary_leaves_unsolvable_episodes_out() -> None:
    recs = [
        EpisodeRecord("hierarchical", 1.0, (3, 0), True, True, 12.0, 1.0, False, 0),
        EpisodeRecord("hierarchical", 1.0, (3, 0), True, False, float("nan"), 3.0, True, 0),
        EpisodeRecord("hierarchical", 1.0, (3, 1), False, False, float("nan"), 0.0, False, 0),
    ]
    row = summarize(recs)[("hierarchical", 1.0)]
    assert row["episodes"] == 2 and row["unsolvable"] == 1
    assert row["success_rate"] == 0.5 and row["time_to_goal"] == 12.0 and row["collisions"] == 2.0
    assert row["layouts"] == 1 and row["layouts_crossed"] == 1  # the unsolvable tile is not counted


def test_rollout_records_success_time_and_progress() -> None:
    """The evaluation loop on a short episode: a world put at its goal succeeds; one left alone does not."""
    cfg = Go1Confined3DCfg()
    cfg.scene.terrain = confined_terrain(rows=1, cols=1, seed=5)
    env = ManagerBasedRlEnv(dataclasses.replace(cfg, num_envs=2, episode_length_s=0.4))
    state = env.command_manager.get_term(WAYPOINTS)

    def teleport(e: ManagerBasedRlEnv) -> None:
        if e.episode_length_buf[0] == 5:
            goal = state.goal[0]
            e.sim.qpos[0, 0:2] = goal.to(e.sim.qpos.dtype)
            e.sim.forward()
            e.robot.update()

    records = rollout(
        env, lambda obs: torch.zeros(env.num_envs, env.num_actions), "hierarchical", on_step=teleport
    )
    assert [r.solvable for r in records] == [True, True]
    assert records[0].success and records[0].time_to_goal > 0 and records[0].progress > 0.9
    assert not records[1].success and records[1].progress < 0.5


def test_tunnel_eval_names_the_methods_and_suites_it_knows(tmp_path) -> None:
    from robolearn.envs.locomotion.confined3d.evaluation import tunnel_suite
    from robolearn.policies.evaluate import eval_run
    from robolearn.registry import get_task

    with pytest.raises(ValueError, match="goal_only"):
        tunnel_suite("flying")
    with pytest.raises(ValueError, match="confined3d"):
        eval_run(tmp_path, suite="tunnels")
    # The tunnel tasks are evaluated and played in the tunnels by default; the velocity baseline on request.
    for task in ("Go1-Confined3D", "Go1-Confined3D-GoalOnly"):
        spec = get_task(task)
        assert spec.default_suite == "confined3d" and spec.play is not None
    velocity = get_task("Go1-Velocity-Flat")
    assert velocity.default_suite is None and "confined3d" in velocity.suites and velocity.play is None


def test_eval_of_a_tunnel_run_runs_the_tasks_own_suite(tmp_path) -> None:
    """The learner's eval reads the task's default suite from the registry and hands it the run's policy."""
    from robolearn.policies.cli import TrainArgs
    from robolearn.policies.evaluate import eval_run
    from robolearn.policies.train import train
    from robolearn.rl import PpoCfg

    agent = PpoCfg(num_envs=8, max_iterations=1, num_steps_per_env=4, actor_hidden_dims=(16,),
                   critic_hidden_dims=(16,), save_interval=1)  # fmt: skip
    run = train(TrainArgs(task="Go1-Confined3D", logdir=tmp_path, agent=agent)).run
    result = eval_run(run, episodes=8, seed=5, quiet=False)
    assert result["suite"] == "confined3d" and result["method"] == "hierarchical"
    assert [row["difficulty"] for row in result["rows"]] == [0.25, 0.5, 0.75, 1.0]
    assert result["episodes"] == 8 and (run / "eval.json").is_file()
    flat = eval_run(run, episodes=2, seed=5, quiet=True, suite="default")  # the learner's episode metrics
    assert flat["episodes"] == 2 and "return" in flat


def test_runs_written_with_waypoint_and_latency_events_load_as_todays_terms() -> None:
    """Run folders from when waypoints and latency were startup events rebuild into the command and the
    delayed action term, with the events gone."""
    from robolearn.policies.plain_config import from_plain, to_plain
    from robolearn.policies.runs import upgrade_env_config
    from robolearn.registry import get_task

    old_module = "robolearn.envs.locomotion.confined3d.task:"
    default = get_task("Go1-Confined3D-GoalOnly").env_cfg()
    plain = to_plain(default)
    old = dict(plain, commands={}, actions={"joint_pos": {k: v for k, v in plain["actions"]["joint_pos"].items()
                                                          if k != "delay_steps"}})  # fmt: skip
    waypoints = {"use_planner": False, "switch_radius": 0.25, "goal_radius": 0.3, "replan": False}
    old["events"] = {
        "init_waypoints": {"func": old_module + "init_waypoints", "mode": "startup", "params": {"cfg": waypoints}},
        **plain["events"],
        "latency": {"func": old_module + "action_latency", "mode": "startup", "params": {"delay_steps": [0, 1]}},
        "reset_waypoints": {"func": old_module + "reset_waypoints", "mode": "reset", "params": {}},
    }
    cfg = from_plain(default, upgrade_env_config(old))
    assert list(cfg.events) == list(default.events)
    assert cfg.commands == default.commands and cfg.actions == default.actions
    assert upgrade_env_config(plain) == plain
