"""The deploy-side observation builder reproduces the training env's `policy` observation exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from robolearn.core import ManagerBasedRlEnv, ObsTerm, mdp
from robolearn.registry import get_task
from robolearn.sim2real.export import policy_metadata
from robolearn.sim2real.observation import ObservationBuilder, quat_rotate_inverse, resolve_term
from robolearn.sim2real.robot import RobotState
from robolearn.sim2real.schema import ObsTermSpec, PolicyMetadata, PolicySpecError

TASK = "Go2-Velocity-Flat"


def make_env(history: int = 1, clip: float | None = None, gait: bool = False) -> ManagerBasedRlEnv:
    cfg = get_task(TASK).env_cfg()
    policy = cfg.observations["policy"]
    if gait and "gait_phase" not in policy.terms:
        policy.terms["gait_phase"] = ObsTerm(mdp.gait_phase, params={"period": 0.4})
    policy.enable_noise = False
    policy.history_length = history
    if clip is not None:
        policy.terms["joint_vel"].clip = clip  # exercise clip-then-scale
    cfg = dataclasses.replace(cfg, num_envs=3)
    cfg.sim.num_threads = 1
    return ManagerBasedRlEnv(cfg)


def robot_states(env: ManagerBasedRlEnv) -> list[RobotState]:
    """What a robot would read: joint encoders, IMU quaternion, body-frame gyro and a (perfect)
    base-velocity estimate, computed here from the world-frame qvel, not from the env's own term."""
    qpos, qvel = env.sim.qpos.cpu().numpy(), env.sim.qvel.cpu().numpy()
    q_idx = [env.scene.model.joint(n).qposadr[0] for n in env.robot.joint_names]
    v_idx = [env.scene.model.joint(n).dofadr[0] for n in env.robot.joint_names]
    return [
        RobotState(q=qpos[i, q_idx], dq=qvel[i, v_idx], quat=qpos[i, 3:7], gyro=qvel[i, 3:6],
                   lin_vel=quat_rotate_inverse(qpos[i, 3:7], qvel[i, 0:3]))
        for i in range(env.num_envs)
    ]  # fmt: skip


def round_trip(meta: PolicyMetadata) -> PolicyMetadata:
    return PolicyMetadata.from_json(meta.to_json())


@pytest.mark.parametrize("history,clip,gait", [(1, None, False), (3, 4.0, True)])
def test_builder_equals_env_policy_observation(history, clip, gait):
    env = make_env(history, clip, gait)
    meta = round_trip(policy_metadata(env, TASK))  # only what policy.json carries
    assert all(t.func and resolve_term(t) for t in meta.observation_terms)
    builders = [ObservationBuilder(meta) for _ in range(env.num_envs)]
    gen = torch.Generator().manual_seed(0)
    obs, _ = env.reset(seed=0)
    compared = 0
    for step in range(12):
        states = robot_states(env)
        cmds = env.command_manager.get_command("base_velocity").cpu().numpy()
        last = env.action_manager.action.cpu().numpy()
        for i, b in enumerate(builders):
            if step == 0:
                b.reset()
            mine = b.build(states[i], cmds[i], last[i])
            np.testing.assert_allclose(mine, obs["policy"][i].numpy(), rtol=0, atol=2e-6,
                                       err_msg=f"world {i}, step {step}")  # fmt: skip
            compared += 1
        # Large actions: joints move fast and last_action is non-trivial.
        obs, _, terminated, time_out, _ = env.step(
            2.0 * torch.randn(env.num_envs, env.num_actions, generator=gen)
        )
        done = (terminated | time_out).nonzero(as_tuple=True)[0].tolist()
        for i in done:
            builders[i].reset()  # the env restarted the world's history
    assert compared == 36


def test_builder_rejects_terms_a_robot_cannot_measure():
    env = make_env()
    meta = round_trip(policy_metadata(env, TASK))
    meta.observation_terms.append(ObsTermSpec("height_scan", 77, 1.0, func="x.observations:height_scan"))
    meta.obs_dim += 77
    with pytest.raises(PolicySpecError, match="height_scan"):
        ObservationBuilder(meta)


def test_base_lin_vel_needs_the_robots_estimate():
    env = make_env()
    meta = round_trip(policy_metadata(env, TASK))
    assert "base_lin_vel" in [resolve_term(t) for t in meta.observation_terms]
    builder = ObservationBuilder(meta)
    state = dataclasses.replace(robot_states(env)[0], lin_vel=None)  # e.g. a Go2 in low-level mode
    with pytest.raises(PolicySpecError, match="base_lin_vel"):
        builder.build(state, np.zeros(3), np.zeros(env.num_actions))


def test_old_files_without_func_resolve_by_name():
    assert resolve_term(ObsTermSpec("joint_pos", 12, 1.0)) == "joint_pos_rel"
    assert resolve_term(ObsTermSpec("base_ang_vel", 3, 0.25)) == "base_ang_vel"
