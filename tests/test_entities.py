"""Scene entities, named action terms and named command terms (the "Core v2" core).

Real MuJoCo scenes: two LEAP hands and a box (the Leap-Bimanual-BoxLift task), a fixed-base ALOHA with a
free box, a Go2 for the single-robot path.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from robolearn.core import (
    DifferentialIKActionCfg,
    EnvCfg,
    FrozenPolicyActionCfg,
    GripperActionCfg,
    JointPositionActionCfg,
    ManagerBasedRlEnv,
    ObsGroupCfg,
    ObsTerm,
    PoseCommandCfg,
    RewardTerm,
    SceneEntityCfg,
    TerminationTerm,
    TrajectoryCommandCfg,
    mdp,
)
from robolearn.entities import BoxEntityCfg, MarkerEntityCfg, RobotEntityCfg
from robolearn.registry import get_task, load_tasks
from robolearn.scene import SceneCfg, build_scene

load_tasks()


@pytest.fixture(scope="module")
def leap():
    env = ManagerBasedRlEnv(get_task("Leap-Bimanual-BoxLift").env_cfg(), num_envs=2)
    env.reset(seed=0)
    return env


def test_two_hand_scene_views_and_independent_actions(leap):
    env = leap
    assert list(env.scene.entities) == ["left_hand", "right_hand", "table", "box", "goal"]
    assert env.robot is None  # no main robot: every term names its entity
    assert env.action_manager.term_dims == {"left_hand": 19, "right_hand": 19} and env.num_actions == 38
    for side in ("left_hand", "right_hand"):
        hand = env.scene[side]
        assert hand.fixed_base and hand.num_actuated == 19
        assert hand.joint_names[:3] == ["wrist_x", "wrist_y", "wrist_z"] and "if_mcp" in hand.joint_names
        assert hand.joint_pos.shape == hand.joint_vel.shape == (2, 19)
        assert hand.body_pose_w.shape == (2, len(hand.body_names), 7) and hand.root_pose_w.shape == (2, 7)
    box = env.scene["box"]
    assert not box.fixed_base and box.root_pose_w.shape == (2, 7) and box.joint_pos.shape == (2, 0)
    assert env.scene["goal"].root_pos_w[0, 2] == pytest.approx(0.385)  # the marker sits at the lift target
    torch.testing.assert_close(box.root_pos_w[:, 2], torch.full((2,), 0.235, dtype=torch.float64), atol=2e-3, rtol=0)
    zero = torch.zeros(2, env.num_actions)
    for _ in range(20):
        env.step(zero)  # settle
    left0, right0 = env.scene["left_hand"].joint_pos.clone(), env.scene["right_hand"].joint_pos.clone()
    action = zero.clone()
    action[:, 2] = 1.0  # left wrist up (scale 0.1: +10 cm)
    action[:, 3] = 1.0  # left index finger
    for _ in range(15):
        env.step(action)
    moved_left = (env.scene["left_hand"].joint_pos - left0).abs()
    moved_right = (env.scene["right_hand"].joint_pos - right0).abs()
    assert (moved_left[:, 2] > 0.05).all() and (moved_left[:, 3] > 0.05).all()
    assert moved_right.max() < 1e-3
    obs = env.obs_buf["policy"]
    assert obs.shape == (2, env.observation_dims()["policy"]) and torch.isfinite(obs).all()


def test_bad_entity_joint_and_body_names_list_the_names(leap):
    with pytest.raises(ValueError, match=r"joint_names 'nope.*' matches none of entity 'left_hand'.*wrist_x"):
        SceneEntityCfg("left_hand", joint_names="nope.*").resolve(leap.scene)
    with pytest.raises(ValueError, match=r"body_names 'no_body' matches none of entity 'box'.*'body'"):
        SceneEntityCfg("box", body_names="no_body").resolve(leap.scene)
    with pytest.raises(KeyError, match=r"no entity 'hand'.*left_hand.*right_hand"):
        SceneEntityCfg("hand").resolve(leap.scene)
    cfg = SceneEntityCfg("right_hand", joint_names=("wrist_.*", "th_cmc"), body_names="palm").resolve(leap.scene)
    assert cfg.joint_ids == [0, 1, 2, 15] and len(cfg.body_ids) == 1


def test_entity_name_clashes_are_refused():
    with pytest.raises(ValueError, match=r"entities\['robot'\] clashes with the main robot \(scene.robot='go2'\)"):
        build_scene(SceneCfg(robot="go2", entities={"robot": BoxEntityCfg()}))
    with pytest.raises(ValueError, match="reserved"):
        build_scene(SceneCfg(robot="", entities={"terrain": BoxEntityCfg()}))
    with pytest.raises(ValueError, match="no '/'"):
        build_scene(SceneCfg(robot="", entities={"a/b": BoxEntityCfg()}))


def test_overlapping_action_terms_are_refused_naming_both():
    cfg = get_task("Leap-Bimanual-BoxLift").env_cfg()
    cfg.actions = {**cfg.actions, "left_wrist": JointPositionActionCfg(entity="left_hand", joint_names="wrist_.*")}
    with pytest.raises(ValueError, match=r"actions\['left_wrist'\] drives joint 'wrist_x'.*actions\['left_hand'\]"):
        ManagerBasedRlEnv(cfg, num_envs=1)
    cfg.actions = {"x": JointPositionActionCfg(entity="left_hand", joint_names="nothing")}
    with pytest.raises(ValueError, match=r"joint_names 'nothing' matches none of entity 'left_hand'.*if_mcp"):
        ManagerBasedRlEnv(cfg, num_envs=1)


def test_a_missing_command_lists_the_tasks_commands(leap):
    with pytest.raises(KeyError, match=r"no command 'base_velocity'; its commands: \[\]"):
        mdp.velocity_command(leap)
    go2 = ManagerBasedRlEnv(dataclasses.replace(get_task("Go2-Velocity-Flat").env_cfg(), num_envs=2))
    with pytest.raises(KeyError, match=r"no command 'goal'; its commands: \['base_velocity'\]"):
        go2.command_manager.get_command("goal")
    # The single-robot task is a scene with one entity, `robot`, which is also env.robot.
    assert list(go2.scene.entities) == ["robot"] and go2.scene["robot"] is go2.robot and not go2.robot.fixed_base
    assert go2.action_manager.term_dims == {"joint_pos": 12}


# -- a fixed-base robot and a free object ---------------------------------------------------------------------


def _aloha_cfg(**actions) -> EnvCfg:
    arm = SceneEntityCfg("aloha", joint_names="left/.*")
    scene = SceneCfg(robot="", entities={
        "aloha": RobotEntityCfg(robot="aloha", keyframe="neutral_pose"),
        "cube": BoxEntityCfg(half_size=(0.02, 0.02, 0.02), pos=(0.0, 0.0, 0.02)),
        "target": MarkerEntityCfg(),
    })  # fmt: skip
    return EnvCfg(
        scene=scene,
        observations={"policy": ObsGroupCfg({"arm": ObsTerm(mdp.joint_pos_rel, params={"asset_cfg": arm}),
                                             "cube": ObsTerm(mdp.root_pos, params={"asset_cfg": SceneEntityCfg("cube")})})},
        rewards={"alive": RewardTerm(mdp.is_alive, weight=1.0)},
        terminations={"time_out": TerminationTerm(mdp.time_out, time_out=True)},
        actions=actions, base_body="", num_envs=2, decimation=10, episode_length_s=10.0,
    )  # fmt: skip


def test_fixed_base_robot_with_a_free_object_and_a_gripper_term():
    cfg = _aloha_cfg(
        left_arm=JointPositionActionCfg(entity="aloha", joint_names="left/(waist|shoulder|elbow|forearm_roll|wrist_.*)",
                                        scale=0.5),
        left_gripper=GripperActionCfg(entity="aloha", joint_names="left/left_finger", open_pos=0.037, close_pos=0.002),
    )  # fmt: skip
    cfg.sim.dt = 0.002
    env = ManagerBasedRlEnv(cfg)
    env.reset(seed=0)
    aloha, cube = env.scene["aloha"], env.scene["cube"]
    assert aloha.fixed_base and aloha.num_actuated == 14 and len(aloha.joint_names) == 16
    assert env.action_manager.term_dims == {"left_arm": 6, "left_gripper": 1}
    root0 = aloha.root_pose_w.clone()
    action = torch.zeros(2, 7)
    action[:, 6] = 1.0  # world 1: zero arm action, gripper open (a baseline)
    action[0, 0] = 0.4  # world 0: waist +0.2 rad (no gravity load on a vertical axis) ...
    action[0, 6] = -1.0  # ... and the gripper closed
    for _ in range(20):
        env.step(action)
    torch.testing.assert_close(aloha.root_pose_w, root0)  # a fixed base stays put
    q = aloha.joint_pos
    assert q[0, 0] - aloha.default_joint_pos[0] > 0.15 and abs(q[1, 0]) < 1e-3
    finger = aloha.joint_names.index("left/left_finger")
    assert q[0, finger] < 0.01 and q[1, finger] > 0.03  # closed; open
    right = [i for i, n in enumerate(aloha.joint_names) if n.startswith("right/")]
    torch.testing.assert_close(q[0, right], q[1, right])  # the right arm does not feel the left arm's actions
    assert cube.root_pos_w[:, 2].sub(0.02).abs().max() < 2e-3  # resting on the floor, not driven
    pose = cube.root_pose_w.clone()
    pose[:, :3] += torch.tensor([0.1, 0.0, 0.0], dtype=pose.dtype)
    cube.write_root_pose(torch.arange(2), pose)
    env.sim.forward()
    torch.testing.assert_close(cube.body_pos_w[:, 0], pose[:, :3])


def test_differential_ik_moves_the_site_toward_a_target():
    cfg = _aloha_cfg(left_ee=DifferentialIKActionCfg(
        entity="aloha", joint_names="left/(waist|shoulder|elbow|forearm_roll|wrist_.*)", site="left/gripper",
        mode="absolute", use_orientation=False))  # fmt: skip
    cfg.sim.dt = 0.002
    env = ManagerBasedRlEnv(cfg)
    env.reset(seed=0)
    aloha = env.scene["aloha"]
    site = aloha.site_ids[aloha.site_names.index("left/gripper")]
    start = env.sim.site_xpos[:, site].clone()
    goal = start + torch.tensor([[0.05, 0.05, -0.08], [0.08, -0.04, -0.05]], dtype=start.dtype)
    d0 = torch.linalg.norm(goal - start, dim=-1)
    for _ in range(25):
        env.step(goal.float())
    d1 = torch.linalg.norm(goal - env.sim.site_xpos[:, site], dim=-1)
    assert (d1 < 0.25 * d0).all(), (d0, d1)
    right = [i for i, n in enumerate(aloha.joint_names) if n.startswith("right/")]
    # The IK step moves the left arm only (the right arm sags under gravity the same in both worlds).
    torch.testing.assert_close(aloha.joint_pos[0, right], aloha.joint_pos[1, right])


# -- a frozen low-level policy ------------------------------------------------------------------------------------


def _tiny_policy(env):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(12 + 3, 16), torch.nn.ELU(), torch.nn.Linear(16, 12))
    with torch.no_grad():
        net[2].weight.mul_(0.1)
        net[2].bias.zero_()
        net[2].bias[2] = 1.0  # a bias on one joint: the command moves through a known path
    return net


def _tiny_policy_obs(env, term):
    return torch.cat([mdp.joint_pos_rel(env).float(), term.command], dim=-1)


def test_frozen_policy_term_drives_the_robot_joints():
    cfg = get_task("Go2-Stand").env_cfg()
    cfg = dataclasses.replace(cfg, num_envs=2, events={}, actions={
        "walk": FrozenPolicyActionCfg(policy_factory=_tiny_policy, observation=_tiny_policy_obs,
                                      command_ranges=((-1.0, 1.0), (-0.5, 0.5), (-1.0, 1.0)), scale=0.25)})  # fmt: skip
    env = ManagerBasedRlEnv(cfg)
    env.reset(seed=0)
    term = env.action_manager.get_term("walk")
    assert env.num_actions == 3 and term.joint_names == env.robot.joint_names
    env.step(torch.tensor([[1.0, 0.0, -1.0], [0.0, 0.0, 0.0]]))
    torch.testing.assert_close(term.command[0], torch.tensor([1.0, 0.0, -1.0]))
    torch.testing.assert_close(term.command[1], torch.tensor([0.0, 0.0, 0.0]))
    # The joint targets are exactly the frozen network's output on the observation it was given.
    obs = _tiny_policy_obs(env, term)  # the state has moved on since; rebuild the targets from the term's output
    target = env.robot.default_joint_pos.float() + 0.25 * term.low_action
    torch.testing.assert_close(env.sim.ctrl[:, :12].float(), target)
    assert (term.low_action[:, 2] > 0.5).all() and obs.shape == (2, 15)


# -- commands ---------------------------------------------------------------------------------------------------------


def test_pose_and_trajectory_commands_resample_and_show_markers(leap):
    cfg = get_task("Leap-Bimanual-BoxLift").env_cfg()
    cfg.commands = {
        "goal": PoseCommandCfg(pos_x=(0.1, 0.2), pos_y=(0.0, 0.0), pos_z=(0.4, 0.5), marker="goal"),
        "path": TrajectoryCommandCfg(waypoints=(((0.0, 0.0), (1.0, 2.0)),), period_s=0.1),
    }
    env = ManagerBasedRlEnv(cfg, num_envs=2)
    env.reset(seed=0)
    goal = env.command_manager.get_command("goal")
    assert goal.shape == (2, 7) and ((goal[:, 0] >= 0.1) & (goal[:, 0] <= 0.2)).all()
    torch.testing.assert_close(env.scene["goal"].root_pos_w.float(), goal[:, :3])
    assert set(env.command_manager.visualize()) == {"goal/goal"}
    env.step(torch.zeros(2, env.num_actions))  # 0.02 s along a 0.1 s segment
    torch.testing.assert_close(env.command_manager.get_command("path"), torch.tensor([[0.2, 0.4]] * 2))


# -- configs ---------------------------------------------------------------------------------------------------------


def test_tyro_overrides_reach_dict_values_of_different_term_types():
    import tyro

    @dataclass
    class Args:
        env: EnvCfg

    cfg = get_task("Leap-Bimanual-BoxLift").env_cfg()
    cfg.actions = {**cfg.actions, "grip": GripperActionCfg(entity="left_hand", joint_names="if_mcp")}
    cfg.commands = {"goal": PoseCommandCfg()}
    out = tyro.cli(Args, default=Args(cfg), args=[
        "--env.actions.left-hand.scale", "0.3", "--env.actions.grip.open-pos", "0.5",
        "--env.commands.goal.pos-z", "0.1", "0.2", "--env.scene.entities.box.mass", "0.3",
        "--env.rewards.lift.weight", "2.0",
    ])  # fmt: skip
    assert out.env.actions["left_hand"].scale == 0.3 and type(out.env.actions["grip"]) is GripperActionCfg
    assert out.env.actions["grip"].open_pos == 0.5 and out.env.commands["goal"].pos_z == (0.1, 0.2)
    assert out.env.scene.entities["box"].mass == 0.3 and out.env.rewards["lift"].weight == 2.0


def test_old_run_configs_are_upgraded_to_named_terms():
    from robolearn.policies.plain_config import from_plain, to_plain
    from robolearn.policies.runs import upgrade_env_config

    default = get_task("H1-Skill-Walk").env_cfg()
    plain = to_plain(default)
    old = dict(plain, actions={"scale": 0.5, "clip": 10.0, "joint_names": ".*"},
               commands={"lin_vel_x": [0.0, 1.0], "lin_vel_y": [0.0, 0.0], "ang_vel_z": [0.0, 0.0]})  # fmt: skip
    cfg = from_plain(default, upgrade_env_config(old))
    assert cfg.actions["joint_pos"].scale == 0.5 and cfg.actions["joint_pos"].clip == 10.0
    assert cfg.commands["base_velocity"].lin_vel_x == (0.0, 1.0)
    assert upgrade_env_config(dict(plain, commands=None))["commands"] == {}
    assert upgrade_env_config(plain) == plain  # the new shape passes through


def test_motion_clip_command_follows_the_clip(tmp_path, leap):
    hand = leap.scene["left_hand"]
    t = np.arange(11) / 10.0
    qpos = np.outer(t, np.ones(len(hand.joint_names)))  # every joint ramps 0 -> 1 over a second
    path = tmp_path / "clip.npz"
    np.savez(path, fps=10.0, joint_names=np.array(hand.joint_names), qpos=qpos)
    from robolearn.core import MotionClipCommandCfg

    cfg = get_task("Leap-Bimanual-BoxLift").env_cfg()
    cfg.commands = {"ref": MotionClipCommandCfg(clip=str(path), entity="left_hand", loop=False)}
    env = ManagerBasedRlEnv(cfg, num_envs=2)
    env.reset(seed=0)
    term = env.command_manager.get_term("ref")
    before = term.command[:, 0].clone()
    torch.testing.assert_close(before, term.t.clamp(max=1.0))
    env.step(torch.zeros(2, env.num_actions))
    torch.testing.assert_close(term.command[:, 0], (before + env.step_dt).clamp(max=1.0))
    cfg.commands = {"ref": MotionClipCommandCfg(clip=str(path), entity="right_hand")}
    np.savez(path, fps=10.0, joint_names=np.array(["a"]), qpos=np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"joints \['wrist_x'.*of entity 'right_hand' are not in the clip"):
        ManagerBasedRlEnv(cfg, num_envs=1)


def test_the_task_docs_show_the_real_leap_task_file():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "writing-a-task.md").read_text()
    src = (root / "envs" / "dexterous" / "leap_bimanual.py").read_text()
    block = doc.split("```python\n", 1)[1].split("```\n", 1)[0]
    assert block == src


def test_an_entity_task_config_survives_a_run_folder_round_trip():
    import yaml

    from robolearn.policies.plain_config import from_plain, to_plain
    from robolearn.policies.runs import upgrade_env_config

    default = get_task("Leap-Bimanual-BoxLift").env_cfg()
    edited = get_task("Leap-Bimanual-BoxLift").env_cfg()
    edited.scene.entities["left_hand"].mount["wrist_z"].kp = 123.0
    edited.actions["right_hand"].scale = 0.2
    plain = yaml.safe_load(yaml.safe_dump(to_plain(edited)))
    back = from_plain(default, upgrade_env_config(plain))
    assert back.scene.entities["left_hand"].mount["wrist_z"].kp == 123.0
    assert type(back.scene.entities["box"]) is BoxEntityCfg and back.actions["right_hand"].scale == 0.2
    assert to_plain(back) == to_plain(edited)


def test_main_robot_with_a_free_object_and_an_entity_contact_sensor():
    from robolearn.scene import ContactSensorCfg

    cfg = get_task("Go2-Stand").env_cfg()
    cfg.scene.entities = {"crate": BoxEntityCfg(half_size=(0.1, 0.1, 0.1), mass=2.0, pos=(1.0, 0.0, 0.1))}
    cfg.scene.contact_sensors = {
        **cfg.scene.contact_sensors,
        "crate_on_ground": ContactSensorCfg(entity="crate", bodies=("body",)),
        "feet_on_crate": ContactSensorCfg(geoms=("FL",), against="crate"),
    }
    env = ManagerBasedRlEnv(dataclasses.replace(cfg, num_envs=2, events={}))
    env.reset(seed=0)
    crate = env.scene["crate"]
    torch.testing.assert_close(crate.root_pos_w, torch.tensor([[1.0, 0.0, 0.1]] * 2, dtype=torch.float64))
    torch.testing.assert_close(env.robot.joint_pos, env.robot.default_joint_pos.expand(2, -1))  # the home keyframe
    for _ in range(10):
        env.step(torch.zeros(2, env.num_actions))
    assert (mdp.contact_found(env, "crate_on_ground") == 1.0).all()
    assert (mdp.contact_found(env, "feet_on_crate") == 0.0).all()
    with pytest.raises(ValueError, match=r"contact_sensors\['x'\].entity='nope' is not an entity.*\['robot', 'crate'\]"):
        build_scene(dataclasses.replace(cfg.scene, contact_sensors={"x": ContactSensorCfg(entity="nope")}))


def test_velocity_and_effort_terms_and_their_actuator_checks():
    from robolearn.core import JointEffortActionCfg, JointVelocityActionCfg

    dog = RobotEntityCfg(robot="go2", fast_model=True, pos=(0.0, 0.0, 0.5), pd_gains={".*": (35.0, 0.5)},
                         velocity_gains={"FL_.*": 10.0}, motor_joints=("FR_.*",))  # fmt: skip
    cfg = _aloha_cfg()
    cfg.scene = SceneCfg(robot="", entities={"dog": dog})
    cfg.observations = {"policy": ObsGroupCfg({"q": ObsTerm(mdp.joint_pos_rel, params={"asset_cfg": SceneEntityCfg("dog")})})}
    cfg.actions = {
        "fl": JointVelocityActionCfg(entity="dog", joint_names="FL_.*", scale=2.0),
        "fr": JointEffortActionCfg(entity="dog", joint_names="FR_.*", scale=5.0),
        "rear": JointPositionActionCfg(entity="dog", joint_names="R._.*"),
    }  # fmt: skip
    env = ManagerBasedRlEnv(cfg)
    env.reset(seed=0)
    d = env.scene["dog"]
    assert env.action_manager.term_dims == {"fl": 3, "fr": 3, "rear": 6}
    action = torch.zeros(2, 12)
    action[:, 0] = 0.5  # FL hip at 1 rad/s
    action[:, 3:6] = 1.0  # FR: 5 N m on each joint
    for _ in range(3):
        env.step(action)  # 0.06 s: the dog, dropped from 0.5 m, is still in the air
    ctrl = d.ctrl
    torch.testing.assert_close(ctrl[:, :3], torch.tensor([[1.0, 0.0, 0.0]] * 2, dtype=ctrl.dtype))
    torch.testing.assert_close(ctrl[:, 3:6], torch.full((2, 3), 5.0, dtype=ctrl.dtype))
    torch.testing.assert_close(env.sim.actuator_force[:, d.actuator_ids[3:6]], ctrl[:, 3:6])  # motors: force = ctrl
    assert (d.joint_vel[:, 0] > 0.5).all(), d.joint_vel[:, 0]
    cfg.actions = {"fr": JointVelocityActionCfg(entity="dog", joint_names="FR_.*")}
    with pytest.raises(ValueError, match=r"joints \['FR_hip_joint'.*no velocity actuators.*velocity_gains"):
        ManagerBasedRlEnv(cfg)


def test_relative_differential_ik_steps_the_site():
    cfg = _aloha_cfg(left_ee=DifferentialIKActionCfg(
        entity="aloha", joint_names="left/(waist|shoulder|elbow|forearm_roll|wrist_.*)", site="left/gripper",
        mode="relative", scale=0.01))  # fmt: skip
    cfg.sim.dt = 0.002
    env = ManagerBasedRlEnv(cfg)
    env.reset(seed=0)
    aloha = env.scene["aloha"]
    site = aloha.site_ids[aloha.site_names.index("left/gripper")]
    start = env.sim.site_xpos[:, site].clone()
    action = torch.zeros(2, 6)
    action[:, 2] = 1.0  # 1 cm up per step, orientation held
    for _ in range(10):
        env.step(action)
    for _ in range(10):
        env.step(torch.zeros(2, 6))  # hold the goal: 10 cm above the start
    rise = env.sim.site_xpos[:, site, 2] - start[:, 2]
    drift = torch.linalg.norm(env.sim.site_xpos[:, site, :2] - start[:, :2], dim=-1)
    assert (rise > 0.085).all() and (drift < 0.015).all(), (rise, drift)


def test_export_metadata_lists_action_terms_and_refuses_non_joint_targets(leap):
    from robolearn.sim2real.export import policy_metadata

    go2 = ManagerBasedRlEnv(dataclasses.replace(get_task("Go2-Velocity-Flat").env_cfg(), num_envs=1))
    meta = policy_metadata(go2, "Go2-Velocity-Flat")
    assert meta.extra["action_terms"] == {"joint_pos": 12} and meta.joint_names == go2.robot.joint_names
    assert [c.name for c in meta.commands] == ["lin_vel_x", "lin_vel_y", "ang_vel_z"]
    with pytest.raises(ValueError, match=r"action terms \['left_hand', 'right_hand'\] are not joint-position terms of the main"):
        policy_metadata(leap, "Leap-Bimanual-BoxLift")


def test_an_articulated_object_and_a_loose_tool_from_mjcf():
    from robolearn.entities import ObjectEntityCfg

    cfg = _aloha_cfg()
    cfg.scene = SceneCfg(robot="", entities={
        "cabinet": ObjectEntityCfg(mjcf="drawer.xml", pos=(0.5, 0.0, 0.0)),
        "tool": ObjectEntityCfg(mjcf="drawer.xml", pos=(0.0, 1.0, 0.0), free=True),
    })  # fmt: skip
    cfg.observations = {"policy": ObsGroupCfg({"drawer": ObsTerm(mdp.joint_pos_rel, params={"asset_cfg": SceneEntityCfg("cabinet")})})}
    cfg.actions = {}
    env = ManagerBasedRlEnv(cfg)
    env.reset(seed=0)
    cabinet, tool = env.scene["cabinet"], env.scene["tool"]
    assert cabinet.fixed_base and cabinet.joint_names == ["slide"] and cabinet.num_actuated == 0
    assert not tool.fixed_base and tool.joint_names == ["slide"] and env.num_actions == 0
    handle = cabinet.site_pos_w[:, cabinet.find_sites("handle")[0]].clone()
    cabinet.write_joint_state(torch.arange(2), torch.full((2, 1), 0.1))
    env.sim.forward()
    torch.testing.assert_close(cabinet.site_pos_w[:, 0] - handle, torch.tensor([[0.1, 0.0, 0.0]] * 2, dtype=handle.dtype))
    env.step(torch.zeros(2, 0))
    assert (env.obs_buf["policy"][:, 0] > 0.09).all()  # the drawer stays out (damped, no spring)
    assert tool.root_pos_w[0, 1] == pytest.approx(1.0, abs=1e-3)  # the loose cabinet sits on the floor
