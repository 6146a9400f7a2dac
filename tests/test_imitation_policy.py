"""Keyframe demos, diffusion/BC policies, training and evaluation on the ALOHA tasks (tiny sizes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from robolearn.envs.manipulation.aloha import CONTROL_DT, task_cfg
from robolearn.envs.manipulation.demos import BimanualIK, expert_keyposes, plan, resolve, to_frame
from robolearn.policies.data import DatasetError, DatasetWriter
from robolearn.policies.diffusion import DiffusionCfg, DiffusionPolicy
from robolearn.policies.imitation import (
    ImitationCfg,
    export_imitation,
    load_policy,
    train_imitation,
)
from robolearn.policies.imitation_demos import DemosArgs, main
from robolearn.policies.imitation_eval import eval_imitation

TINY = DiffusionCfg(down_dims=(16, 32), step_embed_dim=16, warmup_steps=20)


def test_augmentation_keeps_keypose_to_object_relations() -> None:
    task = "Aloha-CubeTransfer"
    cfg, keyposes, ik = task_cfg(task), expert_keyposes(task), BimanualIK()
    grasp = next(k for k in keyposes if k.arm == "left" and k.frame == "object" and k.gripper == 0.0)
    step = int(round(grasp.time / CONTROL_DT)) - 1
    layouts = [np.array([-0.15, -0.05, 0.3, 0.12, 0.0]), np.array([-0.09, 0.05, -0.3, 0.16, 0.05])]
    world = []
    for layout in layouts:
        q = np.zeros(16)
        q[:6] = plan(keyposes, layout, cfg, ik)[step, :6]
        rot, pos = ik.site_pose(q, "left")
        rel_rot, rel_pos = to_frame(rot, pos, "object", layout, cfg)
        np.testing.assert_allclose(rel_pos, grasp.pos, atol=5e-3)  # same grasp relative to the block
        err = (rel_rot.inv() * Rotation.from_quat(grasp.quat, scalar_first=True)).magnitude()
        assert np.degrees(err) < 3
        world.append(resolve([grasp], layout, cfg)[0][3])
    assert np.linalg.norm(world[0] - world[1]) > 0.05  # while the world poses moved with the block


def test_diffusion_step_lowers_loss_and_sample_shape() -> None:
    torch.manual_seed(0)
    policy = DiffusionPolicy(obs_dim=23, action_dim=14, cfg=TINY)
    obs, actions = torch.randn(32, 2, 23), torch.rand(32, 16, 14) * 2 - 1
    opt = torch.optim.AdamW(policy.parameters(), lr=1e-3)

    def fixed_loss() -> torch.Tensor:
        torch.manual_seed(1)  # same noise and diffusion steps: the loss only moves with the weights
        return policy.loss(obs, actions)

    before = fixed_loss()
    opt.zero_grad()
    before.backward()
    opt.step()
    assert fixed_loss().item() < before.item()
    chunk = policy.sample(obs[:3], steps=4)
    assert chunk.shape == (3, 16, 14) and torch.isfinite(chunk).all()


@pytest.fixture(scope="module")
def reach_demos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("data") / "reach"
    assert main(DemosArgs(task="Aloha-Reach", out=out, n=10, batch=10)) == 0
    return out


def test_tiny_end_to_end_beats_random(reach_demos: Path, tmp_path: Path) -> None:
    cfg = ImitationCfg(task="Aloha-Reach", algo="diffusion", data=reach_demos, steps=300, batch_size=64,
                       diffusion=DiffusionCfg(down_dims=(32, 64), warmup_steps=30))  # fmt: skip
    run = train_imitation(cfg, tmp_path, progress=False)
    assert (run / "config.yaml").is_file() and (run / "metrics.jsonl").is_file()
    trained = eval_imitation(run, episodes=10, num_envs=10)
    random = eval_imitation(None, episodes=10, num_envs=10, task="Aloha-Reach")
    assert trained["success_rate"] > random["success_rate"], (trained, random)
    assert trained["ci95"][0] <= trained["success_rate"] <= trained["ci95"][1]
    policy = load_policy(run)
    assert policy.act(torch.zeros(2, 2, 23)).shape == (2, 8, 14)
    # The exported noise network matches torch.
    import onnxruntime as ort

    onnx_path, json_path = export_imitation(run)
    sess = ort.InferenceSession(str(onnx_path))
    x, t, c = (
        np.random.randn(1, 16, 14).astype(np.float32),
        np.array([5]),
        np.random.randn(1, 46).astype(np.float32),
    )
    (eps,) = sess.run(None, {"sample": x, "timestep": t, "obs_cond": c})
    ref = policy.net(torch.from_numpy(x), torch.from_numpy(t), torch.from_numpy(c)).detach().numpy()
    np.testing.assert_allclose(eps, ref, atol=1e-4)
    assert '"DDIM"' in json_path.read_text()
    # The torch-free runtime (numpy DDIM + onnxruntime) executes the same actions from the same noise.
    from robolearn.sim2real.imitation_runtime import ImitationRuntime

    obs_hist = torch.randn(1, 2, 23)
    noise = torch.randn((1, 16, 14), generator=torch.Generator().manual_seed(3))
    expected = policy.act(obs_hist, generator=torch.Generator().manual_seed(3))[0].numpy()
    runtime = ImitationRuntime(run)
    np.testing.assert_allclose(runtime.act(obs_hist[0].numpy(), noise=noise[0].numpy()), expected, atol=1e-3)


def test_bc_trains_on_same_data(reach_demos: Path, tmp_path: Path) -> None:
    cfg = ImitationCfg(task="Aloha-Reach", algo="bc", data=reach_demos, steps=20, batch_size=32)
    run = train_imitation(cfg, tmp_path, progress=False)
    policy = load_policy(run)
    assert policy.act(torch.zeros(1, 2, 23)).shape == (1, 8, 14)
    from robolearn.sim2real.imitation_runtime import ImitationRuntime

    export_imitation(run)
    obs_hist = torch.randn(2, 23)
    np.testing.assert_allclose(
        ImitationRuntime(run).act(obs_hist.numpy()), policy.act(obs_hist[None])[0].numpy(), atol=1e-4
    )


def test_mismatched_dataset_never_trains(tmp_path: Path) -> None:
    data = tmp_path / "wrong"
    feats = {"observation.state": {"dtype": "float32", "shape": [14], "names": None},
             "observation.environment_state": {"dtype": "float32", "shape": [9], "names": None},
             "action": {"dtype": "float32", "shape": [7], "names": None}}  # fmt: skip
    writer = DatasetWriter(data, 25, feats)
    writer.add_episode({"observation.state": np.zeros((5, 14)), "observation.environment_state": np.zeros((5, 9)),
                        "action": np.zeros((5, 7))}, "one arm")  # fmt: skip
    writer.flush()
    logdir = tmp_path / "runs"
    with pytest.raises(DatasetError, match=r"info\.json.*action.*\[7\].*\[14\]"):
        train_imitation(ImitationCfg(task="Aloha-Reach", data=data, steps=1), logdir, progress=False)
    assert not logdir.exists()


def test_normalizers_give_a_constant_action_dimension_back_at_its_value() -> None:
    """A dimension that never varies in the demos (the idle arm of a one-arm task) comes back at its value from
    both the training normalizer and the deploy runtime's, not half a unit off."""
    import numpy as np
    import torch

    from robolearn.policies.imitation import Normalizer
    from robolearn.sim2real.imitation_runtime import _MinMax

    data = np.stack([np.linspace(-1.0, 2.0, 7), np.full(7, 0.3)], axis=1).astype(np.float32)
    norm = Normalizer.fit(data)
    z = norm.normalize(torch.as_tensor(data))
    assert torch.all(z[:, 1] == 0)
    np.testing.assert_allclose(norm.unnormalize(z).numpy(), data, atol=1e-6)
    runtime = _MinMax(norm.state_dict())
    np.testing.assert_allclose(runtime.unnormalize(runtime.normalize(data)), data, atol=1e-6)
    np.testing.assert_allclose(runtime.unnormalize(np.zeros(2, np.float32))[1], 0.3, atol=1e-7)
