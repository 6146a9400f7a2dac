"""SkillBench object scenes (cabinet, ball kick, box lift, box carry, object transfer): each builds with its
objects at rest, draws goals in range, and its accuracy is right on scripted states."""

from __future__ import annotations

import pytest
import torch

from robolearn.envs.humanoid import h1_skillbench as bench, h1_skillbench_objects as objects
from robolearn.registry import get_task, make_env

PROPRIO = 19 * 3 + 3 + 3
WORLDS = 16


@pytest.fixture(scope="module", params=list(objects.TASKS))
def task_env(request):
    return request.param, make_env(request.param, num_envs=WORLDS)


def _object_pos(name, env):
    if name == "H1-SkillBench-Cabinet":
        return objects.door_edge_w(env)
    entity = objects.BALL if name == "H1-SkillBench-BallKick" else objects.PACKAGE
    return bench.object_pose_w(env, entity)[0]


def test_scene_builds_with_objects_at_rest_and_registers_its_skills(task_env):
    name, env = task_env
    env.reset(seed=0)
    assert env.num_actions == 19 and env.robot.default_joint_pos[3] == pytest.approx(0.8)
    task_width = env.observation_dims()["policy"] - PROPRIO - 2  # the walking clock and the skills' tail
    assert task_width == (10 if name == "H1-SkillBench-Cabinet" else 12)  # the skills' tail stays last
    start = _object_pos(name, env).clone()
    for _ in range(25):  # half a second with the robot standing: nothing falls, slides or swings
        obs, reward, *_ = env.step(torch.zeros(WORLDS, 19))
        assert torch.isfinite(obs["policy"]).all() and torch.isfinite(reward).all()
    assert (_object_pos(name, env) - start).norm(dim=-1).max() < 0.01
    assert set(bench.BENCH_SKILLS[name]) <= {
        "H1-Skill-Walk",
        "H1-Skill-Reach",
        "H1-Skill-Squat",
        "H1-Skill-Step",
    }
    assert get_task(name).accuracy is objects.TASKS[name][2]


def test_goals_are_drawn_in_their_ranges(task_env):
    name, env = task_env
    env.reset(seed=1)
    if name == "H1-SkillBench-Cabinet":
        angle = objects.door_angle(env)
        assert ((angle >= objects.DOOR_AJAR[0]) & (angle <= objects.DOOR_AJAR[1])).all()
        assert (objects.door_target(env) == objects.DOOR_TARGET).all()
        return
    goal = objects.bench_goal(env) - env.env_origins
    start = _object_pos(name, env) - env.env_origins
    if name == "H1-SkillBench-BallKick":
        ahead = goal[:, 0] - start[:, 0]
        assert ((ahead >= objects.KICK_DISTANCE[0]) & (ahead <= objects.KICK_DISTANCE[1])).all()
    elif name == "H1-SkillBench-BoxLift":
        lift = goal[:, 2] - start[:, 2]
        assert ((lift >= objects.LIFT_RANGE[0] - 1e-6) & (lift <= objects.LIFT_RANGE[1] + 1e-6)).all()
        torch.testing.assert_close(goal[:, :2], start[:, :2], atol=2e-3, rtol=0)  # straight up
    elif name == "H1-SkillBench-BoxCarry":
        side = goal[:, 1].abs()
        assert ((side >= objects.CARRY_DISTANCE[0]) & (side <= objects.CARRY_DISTANCE[1])).all()
        assert (goal[:, 1] > 0).any() and (goal[:, 1] < 0).any()  # either side
        assert torch.allclose(goal[:, 2], torch.full_like(goal[:, 2], objects.CARRY_HEIGHT))
    else:  # transfer: a spot on the second table's top
        assert ((goal[:, 1] - objects.TRANSFER_TABLE_Y).abs() <= objects.TRANSFER_SPOT[1]).all()
        assert torch.allclose(goal[:, 2], start[:, 2], atol=2e-3)
    assert not torch.allclose(goal[0], goal[1])  # drawn per world


def test_accuracy_on_scripted_states(task_env):
    name, env = task_env
    env.reset(seed=2)
    accuracy = get_task(name).accuracy
    if name == "H1-SkillBench-Cabinet":
        door = env.scene[objects.DOOR]  # open; 0.5 rad short: the free edge's arc is 0.28 m
        door.write_joint_state(torch.arange(2), torch.tensor([[objects.DOOR_TARGET], [objects.DOOR_TARGET - 0.5]]))
        expected = [0.0, 0.5 * objects.DOOR_WIDTH]
    else:
        obj = env.scene[objects.BALL if name == "H1-SkillBench-BallKick" else objects.PACKAGE]
        goal = objects.bench_goal(env)
        pose = obj.root_pose_w.clone()
        pose[:2, :3] = goal[:2] + torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.3, 0.4]], dtype=goal.dtype)
        obj.write_root_pose(torch.arange(2), pose[:2])
        expected = [0.0, 0.5]
    err = accuracy(env)[:2]
    assert err.tolist() == pytest.approx(expected, abs=1e-6)


def test_door_edge_swings_toward_the_robot_as_it_opens():
    env = make_env("H1-SkillBench-Cabinet", num_envs=2)
    env.reset(seed=0)
    env.scene[objects.DOOR].write_joint_state(torch.arange(2), torch.tensor([[0.0], [torch.pi / 2]]))
    env.sim.forward()
    edge = objects.door_edge_w(env) - env.env_origins
    # Closed: the edge lies on the cabinet's face, a door's width right of the hinge; open 90 degrees: it
    # stands a door's width out from the face, level with the hinge.
    face = objects.CABINET_X - 0.002 - objects.DOOR_THICKNESS / 2
    assert edge[0, :2].tolist() == pytest.approx([face, objects.DOOR_HINGE_Y - objects.DOOR_WIDTH], abs=1e-3)
    assert edge[1, :2].tolist() == pytest.approx(
        [
            face - objects.DOOR_THICKNESS / 2 - objects.DOOR_WIDTH,
            objects.DOOR_HINGE_Y - objects.DOOR_THICKNESS / 2,
        ],
        abs=1e-3,
    )


# -- run folders written when the placement events drew the goals ---------------------------------------------

OLD_PLACEMENT = {
    # task: (event name, old function, params, interval) of the event that drew the task's goal
    "H1-SkillBench-ButtonPress": ("place_button", f"{bench.__name__}:place_button", {"y_range": [-0.2, 0.2]}, None),
    "H1-SkillBench-BoxPush": ("place_box", f"{bench.__name__}:place_box", {}, None),
    "H1-SkillBench-Reach": ("next_waypoint", f"{bench.__name__}:place_reach_waypoint", {}, [2.6, 2.6]),
    "H1-SkillBench-Cabinet": ("reset_door", f"{objects.__name__}:reset_door", {}, None),
    "H1-SkillBench-BallKick": ("reset_ball", f"{objects.__name__}:reset_ball", {}, None),
    "H1-SkillBench-BoxLift": ("reset_package", f"{objects.__name__}:reset_lift", {}, None),
    "H1-SkillBench-BoxCarry": ("reset_package", f"{objects.__name__}:reset_carry", {}, None),
    "H1-SkillBench-ObjectTransfer": ("reset_package", f"{objects.__name__}:reset_transfer", {}, None),
}  # fmt: skip


@pytest.mark.parametrize("name", list(OLD_PLACEMENT))
def test_an_old_skillbench_config_loads_with_its_goal_command(name):
    from robolearn.policies.plain_config import from_plain, to_plain
    from robolearn.policies.runs import upgrade_env_config

    default = get_task(name).env_cfg()
    old = to_plain(default)
    key, func, params, interval = OLD_PLACEMENT[name]
    old["commands"] = {}  # the goals lived in the events
    old["events"] = {k: e for k, e in old["events"].items() if k in ("friction", "reset_base", "reset_joints")}
    old["events"][key] = {"func": func, "params": params, "mode": "interval" if interval else "reset",
                          "interval_range_s": interval or [10.0, 15.0]}  # fmt: skip
    old["scene"]["entities"] = {}  # the objects were free bodies of the terrain kind, named by their joint
    old_joint = {"box": "skillbench/box_free", "package": "skillbench/package_free", "ball": "skillbench/ball_free"}
    for group in ("observations",):
        for obs in old[group].values():
            for term in obs["terms"].values():
                if "entity" in term["params"]:
                    term["params"]["joint"] = old_joint[term["params"].pop("entity")]
    for term in old["rewards"].values():
        if "entity" in term["params"]:
            term["params"]["joint"] = old_joint[term["params"].pop("entity")]
    cfg = from_plain(default, upgrade_env_config(old))
    assert cfg.scene.entities == default.scene.entities
    assert to_plain(cfg.observations) == to_plain(default.observations)
    assert to_plain(cfg.rewards) == to_plain(default.rewards)
    assert set(cfg.commands) == set(default.commands)
    (command,) = cfg.commands
    if name == "H1-SkillBench-ButtonPress":  # the old param moved to the command
        assert cfg.commands[command].y == (-0.2, 0.2)
    else:
        assert cfg.commands[command] == default.commands[command]
    kept = {k: e.func for k, e in cfg.events.items()}
    assert kept == {k: e.func for k, e in default.events.items()}


def test_the_object_assets_match_the_task_constants():
    env = make_env("H1-SkillBench-BallKick", num_envs=1)
    ball = env.scene.model.geom("ball/ball")
    assert ball.size[0] == pytest.approx(objects.BALL_RADIUS) and env.scene[objects.BALL].kind == "object"
    assert env.scene.model.body("ball/ball").mass[0] == pytest.approx(objects.BALL_MASS)
    env = make_env("H1-SkillBench-Cabinet", num_envs=1)
    panel = env.scene.model.geom("door/panel")
    half = [objects.DOOR_THICKNESS / 2, objects.DOOR_WIDTH / 2, objects.DOOR_HALF_HEIGHT]
    assert panel.size.tolist() == pytest.approx(half)
    assert env.scene[objects.DOOR].joint_names == ["hinge"] and env.scene[objects.DOOR].fixed_base
    assert env.scene.model.joint("door/hinge").range.tolist() == pytest.approx([0.0, 1.7])  # radians
