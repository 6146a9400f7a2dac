"""Camera observations for the imitation policies: the ResNet encoder, image datasets, training, export.

Kept small (3 Aloha-Reach demos at 48x64, a few gradient steps): rendering, ~0.06 s per frame in software
GL whatever the size, is most of the cost.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from robolearn.cli import main
from robolearn.envs.manipulation.aloha import close_cameras, make_env, sample_layouts, task_cfg
from robolearn.envs.manipulation.demos import BimanualIK, execute, expert_keyposes, features_for, plan
from robolearn.policies.data import DatasetError, DatasetWriter
from robolearn.policies.diffusion import DiffusionCfg
from robolearn.policies.imitation import (
    ImitationCfg,
    export_imitation,
    load_policy,
    train_imitation,
)
from robolearn.policies.imitation_eval import eval_imitation
from robolearn.policies.vision import ResNetEncoder, VisionCfg
from robolearn.sim2real.imitation_runtime import ImitationRuntime

TASK = "Aloha-Reach"
SIZE = (48, 64)
SMALL_VISION = VisionCfg(widths=(8, 16, 32), groups=4, num_keypoints=8, feature_dim=16)


@pytest.fixture(scope="module")
def image_demos(tmp_path_factory: pytest.TempPathFactory, gl_backend: str) -> Path:
    """3 scripted Aloha-Reach demos with the top camera at 48x64 (the CLI records 120x160)."""
    out = tmp_path_factory.mktemp("data") / "reach-top"
    env, ik, cfg = make_env(TASK, 3, seed=0), BimanualIK(), task_cfg(TASK)
    layouts = sample_layouts(cfg, 3, np.random.default_rng(0))
    actions = np.stack([plan(expert_keyposes(TASK), layout, cfg, ik) for layout in layouts])
    _, episodes = execute(env, layouts, actions, ("top",), image_size=SIZE)
    close_cameras(env)
    writer = DatasetWriter(out, fps=25, features=features_for(TASK, ("top",), SIZE), robot_type="aloha")
    for ep in episodes:
        writer.add_episode(ep.frames, task=cfg.description, videos=ep.videos)
    writer.flush()
    return out


def test_encoder_shape_and_crop_augmentation() -> None:
    torch.manual_seed(0)
    enc = ResNetEncoder(VisionCfg())
    frames = torch.randint(0, 256, (4, *SIZE, 3), dtype=torch.uint8)
    assert enc(frames).shape == (4, 64)
    # Training: a random crop per frame (90% of each side); evaluation: always the centre crop.
    a, b = enc.crop(frames), enc.crop(frames)
    assert a.shape == (4, 43, 58, 3) and not torch.equal(a, b)
    enc.eval()
    c = enc.crop(frames)
    assert c.shape == a.shape and torch.equal(c, enc.crop(frames))
    assert torch.equal(c, frames[:, 2:45, 3:61])
    with torch.no_grad():
        assert torch.equal(enc(frames), enc(frames))
        enc.train()
        assert not torch.allclose(enc(frames), enc(frames))


def test_missing_camera_is_a_dataset_error(image_demos: Path, tmp_path: Path) -> None:
    logdir = tmp_path / "runs"
    cfg = ImitationCfg(task=TASK, algo="bc", data=image_demos, steps=1, cameras=("wrist_left",))
    with pytest.raises(DatasetError, match=r"info\.json.*observation\.images\.wrist_left"):
        train_imitation(cfg, logdir, progress=False)
    # A low-dim dataset (no videos at all) with a camera requested.
    data = tmp_path / "lowdim"
    writer = DatasetWriter(data, 25, features_for(TASK, ()), robot_type="aloha")
    writer.add_episode({k: np.zeros((5, f["shape"][0])) for k, f in features_for(TASK, ()).items()},
                       task_cfg(TASK).description)  # fmt: skip
    writer.flush()
    cfg = ImitationCfg(task=TASK, algo="bc", data=data, steps=1, cameras=("top",))
    with pytest.raises(DatasetError, match=r"info\.json.*observation\.images\.top"):
        train_imitation(cfg, logdir, progress=False)
    assert not logdir.exists()


def _history(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, 2, 23, generator=g), torch.randint(
        0, 256, (1, 2, *SIZE, 3), generator=g, dtype=torch.uint8
    )


def test_bc_with_camera_trains_evaluates_and_exports(image_demos: Path, tmp_path: Path) -> None:
    # The CLI path (`robolearn train Aloha-Reach --algo bc --data ... --cameras top`), export included.
    argv = ["train", TASK, "--algo", "bc", "--data", str(image_demos), "--steps", "4", "--batch-size", "8",
            "--logdir", str(tmp_path), "--cameras", "top", "--torch-threads", "1"]  # fmt: skip
    assert main(argv) == 0
    (run,) = (tmp_path / TASK).iterdir()
    ckpt = torch.load(sorted((run / "checkpoints").glob("model_*.pt"))[-1], weights_only=False)
    assert ckpt["image_shapes"] == {"top": [*SIZE, 3]}
    assert any(k.startswith("vision.encoders.top.") for k in ckpt["ema"])  # the EMA covers the encoder
    policy = load_policy(run)
    obs, frames = _history(0)
    assert policy.act(obs, images={"top": frames}).shape == (1, 8, 14)
    with pytest.raises(ValueError, match="top"):
        policy.act(obs)
    # Closed loop renders the camera every control step at the dataset's size.
    result = eval_imitation(run, episodes=1, num_envs=1)
    assert result["episodes"] == 1
    runtime = ImitationRuntime(run)
    assert runtime.meta["vision"]["inputs"]["top"]["shape"] == [*SIZE, 3]
    np.testing.assert_allclose(runtime.act(obs[0].numpy(), images={"top": frames[0].numpy()}),
                               policy.act(obs, images={"top": frames})[0].numpy(), atol=1e-4)  # fmt: skip


def test_diffusion_with_camera_matches_onnx_runtime(image_demos: Path, tmp_path: Path) -> None:
    cfg = ImitationCfg(task=TASK, algo="diffusion", data=image_demos, steps=3, batch_size=8, cameras=("top",),
                       diffusion=DiffusionCfg(down_dims=(16, 32), step_embed_dim=16, warmup_steps=2),
                       vision=SMALL_VISION)  # fmt: skip
    run = train_imitation(cfg, tmp_path, progress=False)
    onnx_path, json_path = export_imitation(run)
    assert (run / "encoder.onnx").is_file() and '"encoder.onnx"' in json_path.read_text()
    policy = load_policy(run)
    obs, frames = _history(1)
    noise = torch.randn((1, 16, 14), generator=torch.Generator().manual_seed(3))
    expected = policy.act(obs, torch.Generator().manual_seed(3), images={"top": frames})[0].numpy()
    runtime = ImitationRuntime(run)
    got = runtime.act(obs[0].numpy(), noise=noise[0].numpy(), images={"top": frames[0].numpy()})
    np.testing.assert_allclose(got, expected, atol=1e-3)
