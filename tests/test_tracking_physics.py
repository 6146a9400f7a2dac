"""The tracking tasks' physics as BeyondMimic sets it up: servo gains from each joint's armature (10 Hz, damping
ratio 2), per-joint action scales from the torque limits, and the undesired-contacts penalty."""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path

import pytest
import torch

from robolearn.core.env import ManagerBasedRlEnv
from robolearn.envs.tracking import mdp as track
from robolearn.envs.tracking.tasks import MOTIONS_DIR, UNDESIRED_CONTACTS
from robolearn.math import quat_mul
from robolearn.registry import get_task

W = 2 * math.pi * 10.0
"""BeyondMimic's natural frequency (rad/s)."""
G1_MOTORS = {  # joint -> (BeyondMimic's armature, torque limit N m), from their G1 config
    "left_hip_pitch_joint": (0.010177520, 88.0), "left_hip_roll_joint": (0.025101925, 139.0),
    "left_knee_joint": (0.025101925, 139.0), "left_ankle_pitch_joint": (2 * 0.003609725, 50.0),
    "waist_yaw_joint": (0.010177520, 88.0), "waist_roll_joint": (2 * 0.003609725, 50.0),
    "left_shoulder_pitch_joint": (0.003609725, 25.0), "left_elbow_joint": (0.003609725, 25.0),
    "left_wrist_pitch_joint": (0.00425, 5.0), "right_wrist_yaw_joint": (0.00425, 5.0),
}  # fmt: skip


def one_world(task: str, clip: str, folder: Path) -> ManagerBasedRlEnv:
    """Two worlds on the shipped walk (copied to `folder`, where its cache goes), no noise or randomization."""
    shutil.copy(MOTIONS_DIR / clip, folder / clip)
    cfg = get_task(task).env_cfg()
    cmd = dataclasses.replace(cfg.commands["motion"], motion_file=str(folder / clip), start="first",
                              rsi_pos_noise=0.0, rsi_yaw_noise=0.0, rsi_joint_noise=0.0, rsi_vel_noise=0.0)  # fmt: skip
    return ManagerBasedRlEnv(dataclasses.replace(cfg, commands={"motion": cmd}, events={}, num_envs=2))


@pytest.fixture(scope="module")
def g1(tmp_path_factory: pytest.TempPathFactory) -> ManagerBasedRlEnv:
    return one_world("G1-Tracking", "cmu_131_02_walk_g1.npz", tmp_path_factory.mktemp("clips"))


def test_g1_servos_have_beyondmimic_gains_and_action_scales(g1: ManagerBasedRlEnv):
    model, robot = g1.scene.model, g1.robot
    term = g1.action_manager.terms["joint_pos"]
    names = list(robot.joint_names)
    for joint, (armature, effort) in G1_MOTORS.items():
        i = names.index(joint)
        a = robot.actuator_ids[i]
        kp, kd = model.actuator_gainprm[a, 0], -model.actuator_biasprm[a, 2]
        assert model.dof_armature[model.jnt_dofadr[model.joint(joint).id]] == pytest.approx(
            armature, rel=1e-6
        )
        assert kp == pytest.approx(armature * W * W, rel=1e-6), joint
        assert -model.actuator_biasprm[a, 1] == pytest.approx(kp, rel=1e-9)
        assert kd == pytest.approx(2 * 2.0 * armature * W, rel=1e-6), joint
        assert float(term.joint_scale[i]) == pytest.approx(0.25 * effort / kp, rel=1e-5), joint
    # The figures BeyondMimic's config comes to: knee kp 99.1, ankle 28.5; knee scale 0.35 rad, wrist 0.075.
    knee, ankle, wrist = (
        names.index(j) for j in ("left_knee_joint", "left_ankle_pitch_joint", "left_wrist_pitch_joint")
    )
    assert model.actuator_gainprm[robot.actuator_ids[knee], 0] == pytest.approx(99.1, abs=0.05)
    assert model.actuator_gainprm[robot.actuator_ids[ankle], 0] == pytest.approx(28.5, abs=0.05)
    assert float(term.joint_scale[knee]) == pytest.approx(0.351, abs=1e-3)
    assert float(term.joint_scale[wrist]) == pytest.approx(0.0745, abs=1e-3)
    # One unit of action on the knee moves its servo target by that scale from the reference's joint positions
    # (the task's residual action; the default pose for BeyondMimic's).
    g1.reset(seed=0)
    action = torch.zeros(g1.num_envs, g1.action_manager.dim)
    action[:, knee] = 1.0
    base = (term.reference if term.cfg.residual else term.default).clone()
    g1.step(action)
    moved = term.target[0] - base[0]
    assert float(moved[knee]) == pytest.approx(float(term.joint_scale[knee]), rel=1e-5)
    assert float(moved.abs().sum() - moved[knee].abs()) < 1e-6
    # The policy's last-action observation is the scaled one (what policy.onnx emits at deploy time).
    assert torch.allclose(track.last_action(g1)[0], term.gain * action[0])


def test_undesired_contacts_penalize_a_body_on_the_ground_not_the_feet(g1: ManagerBasedRlEnv):
    """World 0 stands on the clip's first frame (feet on the floor); world 1 is laid on its side on the floor
    (scripted): only world 1 is penalized, -0.1 per touching body per second."""
    env, cmd = g1, track.motion(g1)
    env.reset(seed=0)
    ids = torch.arange(env.num_envs)
    cmd.after_sim_reset(ids)
    pose = env.robot.root_pose_w.clone()
    side = torch.tensor([math.cos(math.pi / 4), math.sin(math.pi / 4), 0.0, 0.0], dtype=pose.dtype)
    pose[1, 2] = 0.12  # the pelvis sphere (7 cm) and the torso box reach below the floor
    pose[1, 3:7] = quat_mul(side[None], pose[1:2, 3:7])[0]
    env.robot.write_root_pose(torch.tensor([1]), pose[1:2])
    env.sim.forward()
    env._update_entities()
    term = env.reward_manager.terms[UNDESIRED_CONTACTS]
    touching = term.func(env, **term.params)
    assert term.weight == -0.1
    assert float(touching[0]) == 0.0, "feet on the floor are not undesired"
    assert float(touching[1]) >= 2.0, "the lying robot's pelvis, torso and more touch the floor"
    sensor = env.cfg.scene.contact_sensors[UNDESIRED_CONTACTS]
    assert not {"left_ankle_roll_link", "right_ankle_roll_link", "left_wrist_yaw_link"} & set(sensor.bodies)
    assert {"pelvis", "torso_link", "left_knee_link"} <= set(sensor.bodies)
    # Through the env's reward: the scripted world's step reward carries the penalty.
    env.reward_manager.compute(env.step_dt)
    value = env.reward_manager.step_values[UNDESIRED_CONTACTS]
    assert float(value[0]) == 0.0
    assert float(value[1]) == pytest.approx(-0.1 * env.step_dt * float(touching[1]))


def test_h1_servos_follow_the_same_rule_from_its_model_armature(tmp_path: Path):
    env = one_world("H1-Tracking", "cmu_131_02_walk_h1.npz", tmp_path)
    model, robot = env.scene.model, env.robot
    for i, a in enumerate(robot.actuator_ids):
        joint = robot.joint_names[i]
        armature = model.dof_armature[model.jnt_dofadr[model.joint(joint).id]]
        assert model.actuator_gainprm[a, 0] == pytest.approx(armature * W * W, rel=1e-6), joint
        assert -model.actuator_biasprm[a, 2] == pytest.approx(4.0 * armature * W, rel=1e-6), joint
