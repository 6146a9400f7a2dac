"""YOTO's back half: keypose actions, object point clouds, verified proliferation from one keypose file,
point-cloud augmentation, and BiDP (train, predict, execute through IK)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from robolearn.envs.manipulation.aloha import make_env, reset_to, sample_layouts, task_cfg
from robolearn.envs.manipulation.aloha_mdp import CONTROL_DT
from robolearn.envs.manipulation.demos import BimanualIK, plan
from robolearn.envs.manipulation.keyposes import expert_keyposes, save_keyposes
from robolearn.envs.manipulation.proliferation import (
    augment,
    decode,
    encode,
    initial_ee,
    point_cloud,
    proliferate,
    rot6d_to_matrix,
    schedule,
)
from robolearn.policies.bidp import BidpCfg, BidpModel
from robolearn.policies.data import DatasetError, LeRobotDataset
from robolearn.policies.imitation import ImitationCfg
from robolearn.policies.imitation_demos import DemosArgs, main
from robolearn.policies.keypose_data import load_keypose_data

TASK = "Aloha-CubeTransfer"
TINY = BidpCfg(points=128, pointnet_dims=(16, 32), feature_dim=16, down_dims=(16, 32), step_embed_dim=16,
               warmup_steps=5)  # fmt: skip


@pytest.fixture(scope="module")
def proliferated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One keypose file (the scripted expert stands in for an extracted demo) proliferated to 4 demos."""
    root = tmp_path_factory.mktemp("yoto")
    save_keyposes(root / "demo.json", expert_keyposes(TASK), TASK)
    assert main(DemosArgs(task=TASK, out=root / "data", n=4, batch=4, keyposes=root / "demo.json")) == 0
    return root / "data"


def test_keypose_actions_round_trip_to_the_same_plan() -> None:
    """Encoding keyposes as actions (gripper, delta position, 6-D rotation) and decoding them back to world
    keyposes plans the same joint trajectory, for both arms of both bimanual tasks."""
    ik = BimanualIK()
    for task in ("Aloha-CubeTransfer", "Aloha-Insertion"):
        cfg, keyposes = task_cfg(task), expert_keyposes(task)
        layout = sample_layouts(cfg, 1, np.random.default_rng(3))[0]
        actions = encode(keyposes, layout, cfg)
        times = schedule(keyposes)
        assert actions.shape == (len(times), 2, 10)
        np.testing.assert_allclose(plan(decode(actions, times), layout, cfg, ik), plan(keyposes, layout, cfg, ik),
                                   atol=1e-6)  # fmt: skip


def test_point_cloud_lies_on_the_task_objects() -> None:
    env = make_env(TASK, 2)
    layouts = np.array([[-0.14, -0.04, 0.3, 0.12, 0.03], [-0.09, 0.05, -0.2, 0.16, -0.05]])
    reset_to(env, layouts)
    for w, lay in enumerate(layouts):
        cloud = point_cloud(env, w, 1024, seed=w)
        assert cloud.shape == (1024, 3)
        # In the block's frame every point is on its surface (a box 8 x 1.5 x 1.5 cm half size) or on the
        # target disc (3 cm radius at the target, on the table).
        local = Rotation.from_euler("z", lay[2]).inv().apply(cloud - [lay[0], lay[1], 0.015])
        on_block = (np.abs(local) <= np.array([0.08, 0.015, 0.015]) + 1e-4).all(1)
        on_target = (np.linalg.norm(cloud[:, :2] - lay[3:5], axis=1) < 0.03 + 1e-4) & (cloud[:, 2] < 1e-3)
        assert (on_block | on_target).all()
        assert on_block.sum() == 512 and on_target.sum() == 512  # an equal share per entity
        faces = np.abs(np.abs(local[on_block]) - [0.08, 0.015, 0.015]) < 1e-4
        assert faces[:, 2].any() and faces[:, 1].any()  # the top and the sides are seen


def test_augmentation_moves_actions_with_the_cloud_exactly() -> None:
    cfg, keyposes = task_cfg(TASK), expert_keyposes(TASK)
    layout = sample_layouts(cfg, 1, np.random.default_rng(0))[0]
    env = make_env(TASK, 1)
    reset_to(env, layout[None])
    cloud, actions = point_cloud(env, 0, 1024).astype(np.float64), encode(keyposes, layout, cfg)
    clouds, moved = augment(cloud, actions, 5, np.random.default_rng(1))
    assert clouds.shape == (5, 1024, 3) and moved.shape == (5, *actions.shape)
    home = np.stack([initial_ee()[s][1] for s in ("left", "right")])
    for c, a in zip(clouds, moved, strict=True):
        # Recover the transform from the clouds alone (Kabsch), then check every keypose moved by exactly it.
        mu0, mu1 = cloud.mean(0), c.mean(0)
        u, _, vt = np.linalg.svd((c - mu1).T @ (cloud - mu0))
        rot = u @ np.diag([1, 1, np.linalg.det(u @ vt)]) @ vt
        np.testing.assert_allclose(
            cloud @ rot.T + (mu1 - rot @ mu0), c, atol=1e-9
        )  # rigid: no scaling, shear
        assert not np.allclose(rot, np.eye(3))  # and really moved
        np.testing.assert_allclose(rot[2], [0, 0, 1], atol=1e-12)  # a yaw: objects stay on the table
        world, world0 = a[..., 1:4] + home, actions[..., 1:4] + home
        np.testing.assert_allclose(world, world0 @ rot.T + (mu1 - rot @ mu0), atol=1e-9)
        np.testing.assert_allclose(
            rot6d_to_matrix(a[..., 4:]), rot @ rot6d_to_matrix(actions[..., 4:]), atol=1e-9
        )
        np.testing.assert_array_equal(a[..., 0], actions[..., 0])  # grippers untouched


def test_proliferation_keeps_only_successes_and_moves_keyposes_with_the_object(proliferated: Path) -> None:
    data = load_keypose_data(proliferated, TASK)
    ds = LeRobotDataset(proliferated)
    assert len(data) == ds.num_episodes == 4 and sorted(data.episode_index) == [0, 1, 2, 3]
    assert data.cloud.shape == (4, 1024, 3) and data.actions.shape == (4, 7, 2, 10)
    cfg, grasp = task_cfg(TASK), expert_keyposes(TASK)[2]  # the left arm's grasp, in the block's frame
    assert (grasp.arm, grasp.frame, grasp.gripper) == ("left", "object", 0.0)
    home = initial_ee()["left"][1]
    for lay, actions in zip(data.layout, data.actions, strict=True):
        # The grasp keypose (left arm's 3rd) sits at the same place relative to the block in every demo.
        world = actions[2, 0, 1:4] + home
        rel = Rotation.from_euler("z", lay[2]).inv().apply(world - [lay[0], lay[1], cfg.object_half_z[0]])
        np.testing.assert_allclose(rel, grasp.pos, atol=1e-5)
    # Each cloud shows its own placement: the block's points (the first half) centre on the block.
    np.testing.assert_allclose(data.cloud[:, :512, :2].mean(1), data.layout[:, :2], atol=0.01)
    assert np.ptp(data.layout[:, 0]) > 0.005 and np.ptp(data.layout[:, 2]) > 0.05  # placements varied
    # Verified by execution: the demos' recorded episodes end with the block on the target.
    cols = ds.columns()
    for e in range(ds.num_episodes):
        env_state = cols["observation.environment_state"][cols["episode_index"] == e]
        assert np.linalg.norm(env_state[-1, :2] - env_state[-1, 7:9]) < 0.03


def test_proliferation_drops_failed_rollouts() -> None:
    """Executed with joint noise, some rollouts drop the block: only the successful ones come out, each
    with its keypose demo."""
    tried: list[tuple[int, int]] = []
    episodes = list(proliferate(TASK, expert_keyposes(TASK), 2, seed=5, batch=6, noise=0.015,
                                progress=lambda done, n: tried.append((done, n))))  # fmt: skip
    assert len(episodes) == 2 and tried[-1][1] > tried[-1][0]  # some tries were rejected
    for ep in episodes:
        env_state = ep.frames["observation.environment_state"]
        assert ep.keypose is not None and ep.keypose.actions.shape == (7, 2, 10)
        np.testing.assert_array_equal(ep.keypose.layout, ep.layout)
        # The block ended on the target (the episode's last recorded step is one control step earlier).
        assert np.linalg.norm(env_state[-1, :2] - env_state[-1, 7:9]) < 0.035


def test_bidp_training_lowers_the_loss_and_executes_through_ik(proliferated: Path, tmp_path: Path) -> None:
    from robolearn.policies.bidp_run import load_bidp, rollout_bidp, train_bidp

    cfg = ImitationCfg(task=TASK, algo="bidp", data=proliferated, steps=60, batch_size=16, log_every=20,
                       bidp=BidpCfg(**{**TINY.__dict__, "augment": 2}))  # fmt: skip
    run = train_bidp(cfg, tmp_path, progress=False)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["loss"] < 0.8 * rows[0]["loss"], rows
    policy = load_bidp(run)
    env = make_env(TASK, 2)
    layouts = sample_layouts(task_cfg(TASK), 2, np.random.default_rng(10_000))
    success, pred = rollout_bidp(env, policy, TASK, layouts, BimanualIK(), points=1024)
    assert pred.shape == (2, 7, 2, 10) and success.shape == (2,) and np.isfinite(pred).all()
    assert ((pred[..., 0] >= 0) & (pred[..., 0] <= 1)).all()
    # The IK plan passes through the predicted keyposes: at the predicted grasp time the left gripper site
    # is at the predicted grasp pose.
    keyposes = decode(pred[0], policy.times)
    grasp = [k for k in keyposes if k.arm == "left"][2]
    ik = BimanualIK()
    actions = plan(keyposes, layouts[0], task_cfg(TASK), ik)
    q = np.zeros(16)
    q[:6] = actions[int(round(grasp.time / CONTROL_DT)) - 1, :6]
    _, pos = ik.site_pose(q, "left")
    np.testing.assert_allclose(pos, grasp.pos, atol=0.01)


def test_bidp_model_shapes() -> None:
    torch.manual_seed(0)
    model = BidpModel(7, 20, 20, TINY)
    x = model.sample(torch.randn(3, 128, 3), torch.randn(3, 20), steps=3)
    assert x.shape == (3, 7, 20)


def test_bidp_refuses_a_dataset_without_keyposes(tmp_path: Path) -> None:
    from robolearn.policies.bidp_run import train_bidp

    with pytest.raises(DatasetError, match="keyposes.npz: no keypose dataset"):
        train_bidp(
            ImitationCfg(task=TASK, algo="bidp", data=tmp_path, steps=1), tmp_path / "runs", progress=False
        )
    assert not (tmp_path / "runs").exists()
    (tmp_path / "keyposes.npz").write_bytes(b"not an npz")
    with pytest.raises(DatasetError, match="not a keypose dataset"):
        load_keypose_data(tmp_path, TASK)


def test_bidp_through_the_command_line(
    proliferated: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """`robolearn train <task> --algo bidp` trains on the demos folder's keypose dataset, `robolearn eval`
    executes the run through IK; a folder without keyposes.npz exits 2 with one message naming the file."""
    from robolearn.cli import main as cli

    logdir = tmp_path / "runs"
    flags = [
        "--agent.steps",
        "5",
        "--agent.batch-size",
        "8",
        "--agent.bidp.points",
        "64",
        "--logdir",
        str(logdir),
    ]
    assert cli(["train", TASK, "--algo", "bidp", "--agent.data", str(proliferated), *flags]) == 0
    (run,) = (logdir / TASK).iterdir()
    assert cli(["eval", str(run), "--episodes", "2"]) == 0
    result = json.loads((run / "eval.json").read_text())
    assert result["episodes"] == 2 and 0 <= result["success_rate"] <= 1
    capsys.readouterr()
    assert cli(["train", TASK, "--algo", "bidp", "--agent.data", str(tmp_path / "empty"), *flags]) == 2
    err = capsys.readouterr().err
    assert "keyposes.npz: no keypose dataset" in err and "Traceback" not in err
    assert cli(["export", str(run)]) == 2
    assert "no ONNX export" in capsys.readouterr().err


def test_relay_expert_hands_the_block_over_and_back() -> None:
    """Aloha-CubeRelay's scripted expert (4+ keyposes per arm) succeeds, and the block really is relayed:
    between the left gripper's release and its re-grasp the block stays in the air (held by the right arm
    alone), and it ends on the target, which starts >= 4 cm from it (no success at the start)."""
    from robolearn.envs.manipulation.demos import execute

    task = "Aloha-CubeRelay"
    cfg, keyposes = task_cfg(task), expert_keyposes(task)
    assert min(sum(k.arm == s for k in keyposes) for s in ("left", "right")) >= 4
    layouts = sample_layouts(cfg, 2, np.random.default_rng(7))
    ik = BimanualIK()
    env = make_env(task, 2)
    success, episodes = execute(env, layouts, np.stack([plan(keyposes, lay, cfg, ik) for lay in layouts]))
    assert success.all()
    left = sorted((k for k in keyposes if k.arm == "left"), key=lambda k: k.time)
    release = next(
        k.time for a, k in zip(left, left[1:], strict=False) if a.gripper == 0.0 and k.gripper == 1.0
    )
    regrasp = next(
        k.time for a, k in zip(left[5:], left[6:], strict=False) if a.gripper == 1.0 and k.gripper == 0.0
    )
    for ep in episodes:
        z = ep.frames["observation.environment_state"][:, 2]
        between = z[int(release / CONTROL_DT) + 3 : int(regrasp / CONTROL_DT)]
        assert between.min() > 0.15  # right arm alone holds it up
        start = ep.frames["observation.environment_state"][0]
        assert np.linalg.norm(start[:2] - start[7:9]) > 0.04
