"""BiDex learners on the real env: the IPPO teacher improves, DAgger fits the student, the student exports
to ONNX with its point-cloud input and runs in the deploy runtime."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from tensordict import TensorDict

from robolearn.core import ManagerBasedRlEnv
from robolearn.envs.dexterous.bidex.generate import generate_demo
from robolearn.envs.dexterous.bidex.presets import ppo_cpu
from robolearn.envs.dexterous.bidex.task import bidex_env_cfg, rewards
from robolearn.policies.bidex.export import export_student
from robolearn.policies.bidex.student import STUDENT_GROUP, Dagger, DaggerCfg
from robolearn.policies.bidex.teacher import BidexTeacher, TeacherCfg
from robolearn.sim2real.pointcloud_runtime import PointCloudPolicy

FAST_PPO = dataclasses.replace(ppo_cpu(), num_steps_per_env=16, learning_rate=3e-3, init_noise_std=0.3,
                               entropy_coef=0.0, desired_kl=0.02)  # fmt: skip


def _eval_return(env: ManagerBasedRlEnv, teacher: BidexTeacher, steps: int = 40) -> float:
    """Mean summed reward of the deterministic teacher over the first `steps` steps from a fixed reset."""
    obs, _ = env.reset(seed=5)
    total = 0.0
    for _ in range(steps):
        obs, r, *_ = env.step(teacher.act(TensorDict(obs, batch_size=[env.num_envs])))
        total += float(r.mean())
    teacher.obs = teacher.vec.reset()
    return total


def test_tiny_ippo_teacher_run_raises_the_return():
    torch.set_num_threads(1)
    cfg = bidex_env_cfg([generate_demo("stir", 0)], num_envs=16)
    cfg.rewards = rewards({"approach": 5.0, "action_rate": 0.0})  # the dense term that a dozen updates can move
    env = ManagerBasedRlEnv(cfg)
    teacher = BidexTeacher(env, TeacherCfg(mode="ippo", ppo=FAST_PPO))
    assert len(teacher.agents) == 2  # one actor-critic per hand
    before = _eval_return(env, teacher)
    teacher.train(12, log=None)
    after = _eval_return(env, teacher)
    assert after > before + 0.05, (before, after)
    assert teacher.env_steps == 12 * 16 * 16


def test_joint_teacher_is_one_actor_over_both_hands(tmp_path):
    env = ManagerBasedRlEnv(bidex_env_cfg([generate_demo("cut", 0)], num_envs=4))
    teacher = BidexTeacher(env, TeacherCfg(mode="joint", ppo=dataclasses.replace(FAST_PPO, num_steps_per_env=4)))
    assert len(teacher.agents) == 1
    teacher.train(1, log=None)
    path = teacher.save(tmp_path / "teacher.pt")
    other = BidexTeacher(env, TeacherCfg(mode="ippo", ppo=FAST_PPO))
    with pytest.raises(ValueError, match="field 'mode'"):
        other.load(path)


@pytest.fixture(scope="module")
def dagger() -> Dagger:
    torch.set_num_threads(1)
    env = ManagerBasedRlEnv(bidex_env_cfg([generate_demo("stir", i) for i in range(2)], student=True, num_envs=8))
    teacher = BidexTeacher(env, TeacherCfg(ppo=dataclasses.replace(FAST_PPO, num_steps_per_env=4, init_noise_std=1.0)))
    d = Dagger(env, teacher.act, DaggerCfg(steps_per_iteration=8, epochs=8))
    return d


def test_tiny_dagger_run_lowers_the_action_loss(dagger):
    dagger.collect(beta=1.0)
    first = dagger.action_loss()  # the untrained student on the first labelled batch
    rows = dagger.train(3, log=None)
    assert dagger.action_loss() < 0.5 * first, (first, rows)
    proprio, points = dagger.student.proprio_dim, dagger.student.num_points
    assert points == 128 and dagger.env.observation_dims()[STUDENT_GROUP] == proprio + 3 * points


def test_student_exports_to_onnx_and_runs_in_the_deploy_runtime(dagger, tmp_path):
    export_student(dagger.student, dagger.env, tmp_path / "student")
    policy = PointCloudPolicy(tmp_path / "student")
    obs = dagger.obs[STUDENT_GROUP][:3]
    proprio = obs[:, : policy.proprio_dim].numpy()
    cloud = obs[:, policy.proprio_dim :].reshape(3, -1, 3).numpy()
    want = dagger.student(obs).detach().numpy()
    np.testing.assert_allclose(policy.act(proprio, cloud), want, atol=1e-4)
    np.testing.assert_allclose(policy.act(proprio[0], cloud[0]), want[0], atol=1e-4)
    median, p95 = policy.latency_ms(runs=20)
    assert 0 < median <= p95
