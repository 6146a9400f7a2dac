"""ALOHA task scenes: the insertion task's success check and expert, and DART-style noisy demos."""

from __future__ import annotations

import numpy as np
import torch

from robolearn.envs.manipulation.aloha import SOCKET_HALF, AlohaEnv, task_cfg
from robolearn.envs.manipulation.demos import (
    NOISE_CORRELATION,
    BimanualIK,
    action_noise,
    execute,
    expert_keyposes,
    features_for,
    plan,
)
from robolearn.policies.imitation import obs_features


def _place(env: AlohaEnv, world: int, obj: int, pos: tuple[float, float, float]) -> None:
    q = env._object_q[obj]
    env.sim.qpos[world, q : q + 3] = torch.tensor(pos, dtype=env.sim.qpos.dtype)
    env.sim.qpos[world, q + 3 : q + 7] = torch.tensor([1.0, 0, 0, 0], dtype=env.sim.qpos.dtype)


def test_insertion_success_on_scripted_states() -> None:
    env = AlohaEnv("Aloha-Insertion", 4)
    env.reset()
    socket = (-0.06, 0.0, 0.2)
    tip_x = {
        0: -0.06,
        1: -0.06 + SOCKET_HALF[0] - 0.005,
        2: -0.06,
        3: 0.1,
    }  # centre, 5 mm in, centre, outside
    tip_y = {0: 0.0, 1: 0.0, 2: 0.03, 3: 0.0}  # world 2: beside the tube, not in it
    for w in range(4):
        _place(env, w, 1, socket)
        _place(env, w, 0, (tip_x[w] + 0.08, tip_y[w], 0.2))  # the tip is the peg's -x end
    env.sim.forward()
    assert env.success().tolist() == [True, False, False, False]


def test_insertion_observation_and_dataset_features_agree() -> None:
    env = AlohaEnv("Aloha-Insertion", 2)
    obs = env.reset()
    names = task_cfg("Aloha-Insertion").env_state_names
    assert obs["observation.environment_state"].shape == (2, len(names)) == (2, 14)
    feats = features_for("Aloha-Insertion", ())
    assert feats["observation.environment_state"]["shape"] == [
        obs_features("Aloha-Insertion")["observation.environment_state"]
    ]
    # both objects rest on the table where the layout puts them
    np.testing.assert_allclose(
        obs["observation.environment_state"][:, 7:9].numpy(), env.layouts[:, 3:5], atol=1e-5
    )


def test_insertion_expert_inserts_the_peg() -> None:
    task = "Aloha-Insertion"
    cfg, ik = task_cfg(task), BimanualIK()
    env = AlohaEnv(task, 3)
    layouts = env.sample_layouts(3, np.random.default_rng(5))
    actions = np.stack([plan(expert_keyposes(task), lay, cfg, ik) for lay in layouts])
    success, _ = execute(env, layouts, actions)
    assert success.all()
    assert (env.object_pos(1)[:, 2] > 0.1).all()  # inserted in the air, both objects held up


def test_noisy_demos_record_the_clean_plan() -> None:
    rng = np.random.default_rng(0)
    noise = action_noise(rng, (64, 200, 14), 0.03)
    assert np.all(noise[..., [6, 13]] == 0)  # grippers untouched
    arms = noise[..., :6]
    assert abs(arms.std() - 0.03) < 0.003
    lag1 = np.mean(arms[:, 1:] * arms[:, :-1]) / arms.var()
    assert abs(lag1 - NOISE_CORRELATION) < 0.05

    env = AlohaEnv("Aloha-Reach", 2)
    layouts = env.sample_layouts(2, rng)
    ik = BimanualIK()
    actions = np.stack([plan(expert_keyposes("Aloha-Reach"), lay, env.cfg, ik) for lay in layouts])
    _, clean = execute(env, layouts, actions)
    _, noisy = execute(env, layouts, actions, noise=action_noise(rng, actions.shape, 0.05))
    np.testing.assert_allclose(noisy[0].frames["action"], actions[0].astype(np.float32))  # labels: the plan
    moved = np.abs(noisy[0].frames["observation.state"] - clean[0].frames["observation.state"]).max()
    assert moved > 0.01  # while the robot went elsewhere
