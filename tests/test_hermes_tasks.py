"""HERMES tasks on the bimanual scene: the reference drives the hands, the object-centric reward, baselines."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robolearn.core import ManagerBasedRlEnv
from robolearn.envs.dexterous.hermes import (
    TASK_ITEMS,
    hermes_cfg,
    object_errors,
    object_orientation_tracking,
    object_position_tracking,
)
from robolearn.envs.dexterous.hermes_reference import ReferenceFileError, load_robot_reference
from robolearn.registry import get_task


@pytest.fixture(scope="module")
def env() -> ManagerBasedRlEnv:
    e = ManagerBasedRlEnv(hermes_cfg("bottle_scanner", "residual", num_envs=4))
    e.reset(seed=0)
    return e


def test_hands_start_on_the_reference_and_the_object_on_its_goal(env):
    ref = env.command_manager.get_term("reference")
    for h in ("left_hand", "right_hand"):
        q = env.scene[h].joint_pos[:, : ref.joint_targets(h).shape[1]]
        torch.testing.assert_close(q.double(), ref.joint_targets(h).to(q.device), atol=1e-6, rtol=0)
    p, r = object_errors(env)
    assert p.max() < 1e-6 and r.max() < 1e-3
    # each world has its own rigid augmentation of object + hands
    assert ref.yaw.std() > 0.01 and ref.shift[:, :2].std() > 0.001


def test_reward_is_maximal_on_the_reference_and_falls_with_object_error(env):
    env.reset(seed=1)
    obj = env.scene["object"]
    pose = obj.root_pose_w.clone()
    ids = torch.arange(env.num_envs)
    at_goal = (object_position_tracking(env) + object_orientation_tracking(env)).clone()
    torch.testing.assert_close(at_goal, torch.full_like(at_goal, 2.0), atol=1e-3, rtol=0)
    last = at_goal
    for dx in (0.01, 0.03, 0.08):
        moved = pose.clone()
        moved[:, 0] += dx
        obj.write_root_pose(ids, moved)
        env.sim.forward(ids)
        env._update_entities()
        value = object_position_tracking(env) + object_orientation_tracking(env)
        assert (value < last - 1e-3).all()
        last = value
    turned = pose.clone()
    turned[:, 3:] = torch.tensor([np.cos(0.2), np.sin(0.2), 0.0, 0.0], dtype=pose.dtype)  # 0.4 rad about x
    obj.write_root_pose(ids, turned)
    env.sim.forward(ids)
    env._update_entities()
    assert (object_orientation_tracking(env) < 0.5).all()


def test_replay_and_free_baselines_build_and_step():
    for mode in ("replay", "free"):
        e = ManagerBasedRlEnv(hermes_cfg("pour", mode, num_envs=2))
        e.reset(seed=0)
        obs, rew, *_ = e.step(torch.ones(2, e.num_actions))
        assert torch.isfinite(rew).all() and obs["policy"].shape[1] == e.observation_dims()["policy"]
        assert ("wrist_ref" in e.cfg.rewards) == (mode != "free")
    # replay ignores the policy: two different actions give the same targets
    e = ManagerBasedRlEnv(hermes_cfg("pour", "replay", num_envs=2))
    e.reset(seed=0)
    e.action_manager.process(torch.randn(2, e.num_actions))
    a = torch.cat([e.action_manager.get_term(h).target for h in ("left_hand", "right_hand")], -1).clone()
    e.action_manager.process(torch.randn(2, e.num_actions))
    b = torch.cat([e.action_manager.get_term(h).target for h in ("left_hand", "right_hand")], -1)
    torch.testing.assert_close(a, b)


def test_every_task_is_registered_with_its_reference():
    for task in TASK_ITEMS:
        name = {"pour": "Pour", "bottle_scanner": "BottleScanner", "flower_vase": "FlowerVase",
                "clean_plate": "CleanPlate"}[task]  # fmt: skip
        cfg = get_task(f"HERMES-{name}").env_cfg()
        assert cfg.task == task and load_robot_reference(cfg.reference).object_pose.shape == (150, 7)


def test_a_bad_reference_file_is_refused_naming_file_and_field(tmp_path):
    ref = dict(np.load(hermes_cfg("pour").reference))
    ref["right_root"] = ref["right_root"][:-2]
    np.savez(tmp_path / "short.npz", **ref)
    with pytest.raises(ReferenceFileError, match="right_root") as e:
        ManagerBasedRlEnv(hermes_cfg("pour", reference=str(tmp_path / "short.npz"), num_envs=1))
    assert "short.npz" in str(e.value)


def test_robolearn_train_runs_a_hermes_task_in_each_mode(tmp_path):
    """The registered task through the shared trainer (what `robolearn train HERMES-Pour --env.mode free`
    does); the mode switches the action terms."""
    from robolearn.policies.cli import TrainArgs
    from robolearn.policies.runs import read_metrics
    from robolearn.policies.train import train
    from robolearn.rl import PpoCfg

    agent = PpoCfg(num_envs=4, num_steps_per_env=8, actor_hidden_dims=(32,), critic_hidden_dims=(32,))
    for mode in ("residual", "free"):
        env = get_task("HERMES-Pour").env_cfg()
        env.mode = mode
        env.__post_init__()
        run = train(
            TrainArgs(task="HERMES-Pour", env=env, agent=agent, logdir=tmp_path, max_iterations=1)
        ).run
        assert len(read_metrics(run)) == 1
        assert ("wrist_ref" in env.rewards) == (mode == "residual")
