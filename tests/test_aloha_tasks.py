"""ALOHA task scenes: the manager-based env's entities, action order and observation names, the insertion task's
success check and expert, and DART-style noisy demos."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robolearn.core import ManagerBasedRlEnv
from robolearn.envs.manipulation.aloha import (
    CAMERAS,
    TASKS,
    layout_term,
    make_env,
    render,
    reset_to,
    sample_layouts,
    task_cfg,
    task_success,
)
from robolearn.envs.manipulation.aloha_mdp import CONTROL_DT, GRIPPER_OPEN, PHYSICS_DT, SOCKET_HALF
from robolearn.envs.manipulation.demos import (
    NOISE_CORRELATION,
    BimanualIK,
    action_noise,
    execute,
    expert_keyposes,
    features_for,
    plan,
)
from robolearn.policies.imitation_data import obs_features

STATE = [f"{s}/{j}" for s in ("left", "right")
         for j in ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate", "gripper")]  # fmt: skip
POSE = ["x", "y", "z", "qw", "qx", "qy", "qz"]
ENV_STATE = {
    "Aloha-CubeTransfer": [f"obj_{p}" for p in POSE] + ["target_x", "target_y"],
    "Aloha-Reach": [f"obj_{p}" for p in POSE] + ["target_x", "target_y"],
    "Aloha-CubeRelay": [f"obj_{p}" for p in POSE] + ["target_x", "target_y"],
    "Aloha-Insertion": [f"peg_{p}" for p in POSE] + [f"socket_{p}" for p in POSE],
}


def _place(env: ManagerBasedRlEnv, world: int, obj: str, pos: tuple[float, float, float]) -> None:
    pose = torch.tensor([[*pos, 1.0, 0, 0, 0]], dtype=env.sim.qpos.dtype)
    env.scene[obj].write_root_pose(torch.tensor([world]), pose)


def test_scene_actions_and_timing() -> None:
    env = make_env("Aloha-CubeTransfer", 2)
    assert list(env.scene.entities) == ["robot", "table", "cube", "target"]
    assert env.robot.fixed_base and not env.scene["cube"].fixed_base
    assert env.scene.model.opt.timestep == PHYSICS_DT and env.step_dt == pytest.approx(CONTROL_DT)
    assert env.max_episode_length == task_cfg("Aloha-CubeTransfer").episode_steps == 175
    # The 14-D action is MuJoCo's ctrl, in actuator order: per arm 6 joints, then the gripper (left finger).
    assert env.action_manager.term_dims == {"left_arm": 7, "right_arm": 7}
    ctrl = [c for t in env.action_manager.terms.values() for c in t.ctrl_ids]
    assert ctrl == list(range(14))
    assert [n.replace("left_finger", "gripper") for n in env.action_manager.joint_names] == STATE
    # No floor: the table is the ground (its top is z = 0).
    model = env.scene.model
    assert not any("floor" in (model.geom(i).name or "") for i in range(model.ngeom))
    target = torch.tensor([0.3, -0.9, 1.1, 0.1, -0.2, 0.1, 0.02] * 2)
    for _ in range(3):
        _, _, terminated, time_out, _ = env.step(target.expand(2, -1))
    np.testing.assert_allclose(env.sim.ctrl[0].numpy(), target.numpy(), atol=1e-6)  # absolute targets
    assert not terminated.any() and not time_out.any()


def test_registered_as_manager_based_tasks() -> None:
    from robolearn.registry import get_task, make_env as registry_env

    spec = get_task("Aloha-Reach")
    assert spec.kind == "imitation" and spec.demos is not None
    env = registry_env("Aloha-Reach", num_envs=2)
    assert isinstance(env, ManagerBasedRlEnv) and env.num_actions == 14 and not env.cfg.auto_reset


def test_no_auto_reset_and_given_layouts() -> None:
    cfg = task_cfg("Aloha-Reach")
    env = make_env("Aloha-Reach", 2)
    layouts = sample_layouts(cfg, 2, np.random.default_rng(3))
    obs = reset_to(env, layouts)
    np.testing.assert_allclose(layout_term(env).command.numpy(), layouts)
    np.testing.assert_allclose(obs["observation.environment_state"][:, 7:9].numpy(), layouts[:, 3:5], atol=1e-6)
    np.testing.assert_allclose(obs["observation.environment_state"][:, :2].numpy(), layouts[:, :2], atol=1e-6)
    assert (obs["observation.state"][:, [6, 13]] == GRIPPER_OPEN).all()  # grippers start open
    hold = obs["observation.state"].clone()
    for _ in range(env.max_episode_length):
        _, _, _, time_out, _ = env.step(hold)
    assert time_out.all() and (env.episode_length_buf == env.max_episode_length).all()  # over, not reset
    np.testing.assert_allclose(env.scene["target"].root_pos_w[:, :2].numpy(), layouts[:, 3:5])
    with pytest.raises(ValueError, match=r"layouts: expected shape \(2, 5\)"):
        reset_to(env, layouts[:1])
    other = reset_to(env)  # drawn by the layout term within the task's ranges
    xy = other["observation.environment_state"][:, 7:9].numpy()
    assert (xy >= np.array(cfg.target_xy_low) - 1e-6).all() and (xy <= np.array(cfg.target_xy_high) + 1e-6).all()


@pytest.mark.parametrize("task", list(TASKS))
def test_observation_names_and_dataset_features(task: str) -> None:
    env = make_env(task, 1)
    obs = reset_to(env)
    assert list(obs) == ["observation.state", "observation.environment_state"]
    assert env.observation_dims() == {"observation.state": 14, "observation.environment_state": len(ENV_STATE[task])}
    assert obs_features(task) == env.observation_dims()
    feats = features_for(task, tuple(CAMERAS))
    assert feats["observation.state"] == {"dtype": "float32", "shape": [14], "names": STATE}
    assert feats["observation.environment_state"] == {
        "dtype": "float32", "shape": [len(ENV_STATE[task])], "names": ENV_STATE[task]}  # fmt: skip
    assert feats["action"] == {"dtype": "float32", "shape": [14], "names": STATE}
    for cam in ("top", "wrist_left", "wrist_right"):
        assert feats[f"observation.images.{cam}"]["shape"] == [120, 160, 3]


def test_cameras_render_on_demand(gl_backend: str) -> None:
    env = make_env("Aloha-Reach", 1)
    reset_to(env)
    frames = {c: render(env, 0, c, 64, 48) for c in CAMERAS}
    assert all(f.shape == (48, 64, 3) and f.dtype == np.uint8 and f.std() > 1 for f in frames.values())
    with pytest.raises(ValueError, match="unknown camera 'side'"):
        render(env, 0, "side")


def test_insertion_success_on_scripted_states() -> None:
    env = make_env("Aloha-Insertion", 4)
    reset_to(env)
    socket = (-0.06, 0.0, 0.2)
    tip_x = {
        0: -0.06,
        1: -0.06 + SOCKET_HALF[0] - 0.005,
        2: -0.06,
        3: 0.1,
    }  # centre, 5 mm in, centre, outside
    tip_y = {0: 0.0, 1: 0.0, 2: 0.03, 3: 0.0}  # world 2: beside the tube, not in it
    for w in range(4):
        _place(env, w, "socket", socket)
        _place(env, w, "peg", (tip_x[w] + 0.08, tip_y[w], 0.2))  # the tip is the peg's -x end
    env.sim.forward()
    assert task_success(env).tolist() == [True, False, False, False]


def test_insertion_observation_and_dataset_features_agree() -> None:
    env = make_env("Aloha-Insertion", 2)
    layouts = sample_layouts(task_cfg("Aloha-Insertion"), 2, np.random.default_rng(0))
    obs = reset_to(env, layouts)
    names = task_cfg("Aloha-Insertion").env_state_names
    assert obs["observation.environment_state"].shape == (2, len(names)) == (2, 14)
    feats = features_for("Aloha-Insertion", ())
    assert feats["observation.environment_state"]["shape"] == [
        obs_features("Aloha-Insertion")["observation.environment_state"]
    ]
    # both objects rest on the table where the layout puts them
    np.testing.assert_allclose(
        obs["observation.environment_state"][:, 7:9].numpy(), layouts[:, 3:5], atol=1e-5
    )


def test_insertion_expert_inserts_the_peg() -> None:
    task = "Aloha-Insertion"
    cfg, ik = task_cfg(task), BimanualIK()
    env = make_env(task, 3)
    layouts = sample_layouts(cfg, 3, np.random.default_rng(5))
    actions = np.stack([plan(expert_keyposes(task), lay, cfg, ik) for lay in layouts])
    success, _ = execute(env, layouts, actions)
    assert success.all()
    assert (env.scene["socket"].root_pos_w[:, 2] > 0.1).all()  # inserted in the air, both objects held up


def test_noisy_demos_record_the_clean_plan() -> None:
    rng = np.random.default_rng(0)
    noise = action_noise(rng, (64, 200, 14), 0.03)
    assert np.all(noise[..., [6, 13]] == 0)  # grippers untouched
    arms = noise[..., :6]
    assert abs(arms.std() - 0.03) < 0.003
    lag1 = np.mean(arms[:, 1:] * arms[:, :-1]) / arms.var()
    assert abs(lag1 - NOISE_CORRELATION) < 0.05

    env, cfg = make_env("Aloha-Reach", 2), task_cfg("Aloha-Reach")
    layouts = sample_layouts(cfg, 2, rng)
    ik = BimanualIK()
    actions = np.stack([plan(expert_keyposes("Aloha-Reach"), lay, cfg, ik) for lay in layouts])
    _, clean = execute(env, layouts, actions)
    _, noisy = execute(env, layouts, actions, noise=action_noise(rng, actions.shape, 0.05))
    np.testing.assert_allclose(noisy[0].frames["action"], actions[0].astype(np.float32))  # labels: the plan
    moved = np.abs(noisy[0].frames["observation.state"] - clean[0].frames["observation.state"]).max()
    assert moved > 0.01  # while the robot went elsewhere
