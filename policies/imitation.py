"""Imitation learning from demonstration datasets: train (diffusion | bc), evaluate, export.

    train_imitation(ImitationCfg(task=..., algo="diffusion", data=Path(...)))  -> run folder
    eval_imitation(run, episodes=50, seed=10_000)  (imitation_eval.py)          -> success rate with a 95% CI
    export_imitation(run)                                                       -> policy.onnx + policy.json

Run folders follow the PPO runner's layout (policies/runs.py): config.yaml, checkpoints/model_*.pt,
metrics.jsonl, TensorBoard events. Observations are the low-dim LeRobot features of the ALOHA tasks
(`observation.state` and `observation.environment_state`); both observations and actions are scaled to
[-1, 1] with the dataset's min/max (stored in every checkpoint and in the exported JSON). With
`cameras`, each observation step also gets the features of a small ResNet per camera (policies/vision.py),
trained end to end with the action model.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from robolearn.envs.manipulation.aloha_mdp import ACTION_DIM, CONTROL_DT
from robolearn.policies.bc import BcCfg, BcPolicy
from robolearn.policies.bidp import BidpCfg
from robolearn.policies.diffusion import EMA, DiffusionCfg, DiffusionPolicy
from robolearn.policies.imitation_data import load_demos, load_images, make_windows, obs_features
from robolearn.policies.plain_config import from_plain, to_plain
from robolearn.policies.runs import (
    CONFIG_FILE,
    MetricsLog,
    RunError,
    atomic_torch_save,
    atomic_write_text,
    checkpoint_path,
    list_checkpoints,
    new_run_dir,
    write_yaml,
)
from robolearn.policies.vision import CameraEncoders, ObservationEncoder, VisionCfg

EVAL_SEED = 10_000
"""Evaluation layouts come from this seed on: demos use small seeds, so evaluation scenes are held out."""
NORM_EPS = 1e-4
"""Features that never vary in the data (range < eps) are mapped to 0 instead of dividing by ~0."""


@dataclass
class ImitationCfg:
    task: str = "Aloha-CubeTransfer"
    algo: Literal["diffusion", "bc", "bidp"] = "diffusion"
    data: Path = Path("data/Aloha-CubeTransfer")
    """LeRobot v3 dataset folder (from `robolearn demos`; bidp reads its keyposes.npz)."""
    num_demos: int | None = None
    """Train on the first N episodes only (None: all)."""
    steps: int = 3000
    """Gradient steps."""
    batch_size: int = 256
    seed: int = 0
    log_every: int = 50
    save_every: int = 1000
    torch_threads: int = 0
    """CPU threads for torch (0: torch's default)."""
    cameras: tuple[str, ...] = ()
    """Camera observations (video features `observation.images.<camera>`), e.g. ("top",). Empty: low-dim only."""
    diffusion: DiffusionCfg = field(default_factory=DiffusionCfg)
    bc: BcCfg = field(default_factory=BcCfg)
    bidp: BidpCfg = field(default_factory=BidpCfg)
    """BiDP (algo bidp): point cloud -> whole keypose sequence, executed through IK (policies/bidp.py)."""
    vision: VisionCfg = field(default_factory=VisionCfg)
    """Image encoder (used only with `cameras`)."""

    @property
    def model_cfg(self) -> DiffusionCfg | BcCfg:
        """The chunked learners' config (bidp trains in policies/bidp_run.py with `bidp`)."""
        return self.diffusion if self.algo == "diffusion" else self.bc


# -- data --------------------------------------------------------------------------------------------------


@dataclass
class Normalizer:
    """x -> [-1, 1] per dimension from min/max (the diffusion policy's choice: it matches clip_sample)."""

    low: torch.Tensor
    high: torch.Tensor

    @classmethod
    def fit(cls, x: np.ndarray) -> Normalizer:
        return cls(
            torch.as_tensor(x.min(0), dtype=torch.float32), torch.as_tensor(x.max(0), dtype=torch.float32)
        )

    def _scale(self) -> tuple[torch.Tensor, torch.Tensor]:
        span = self.high - self.low
        safe = torch.where(span > NORM_EPS, span, torch.ones_like(span))
        return safe, span > NORM_EPS

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        span, varies = self._scale()
        return torch.where(varies, 2 * (x - self.low) / span - 1, torch.zeros_like(x))

    def unnormalize(self, x: torch.Tensor) -> torch.Tensor:
        # A dimension that never varies in the data goes back to its one value (normalize maps it to 0; with
        # the safe span of 1 it would come back 0.5 off: the idle right arm of Aloha-Reach, 0.5 rad off home).
        span, varies = self._scale()
        return torch.where(varies, (x + 1) / 2 * span + self.low, self.low)

    def state_dict(self) -> dict[str, list[float]]:
        return {"low": self.low.tolist(), "high": self.high.tolist()}

    @classmethod
    def from_state(cls, d: dict[str, list[float]]) -> Normalizer:
        return cls(torch.tensor(d["low"]), torch.tensor(d["high"]))


# -- policy (shared by training, evaluation and benchmarks) ----------------------------------------------------


class ImitationPolicy:
    """A trained model with its normalizers; `act(obs history)` returns the actions to execute.

    Image policies also hold their camera encoders (`vision`, in eval mode: centre crops) and the frame
    shape each camera was trained on (`image_shapes`, camera -> [H, W, 3]); their `act` needs `images`.
    """

    def __init__(self, algo: str, model: DiffusionPolicy | BcPolicy, net: nn.Module, obs_norm: Normalizer,
                 act_norm: Normalizer, inference_steps: int | None = None, vision: ObservationEncoder | None = None,
                 image_shapes: dict[str, list[int]] | None = None):  # fmt: skip
        self.algo, self.model, self.net = algo, model, net
        self.obs_norm, self.act_norm = obs_norm, act_norm
        self.cfg = model.cfg
        self.inference_steps = inference_steps
        self.vision = vision
        self.image_shapes = image_shapes or {}

    @property
    def cameras(self) -> tuple[str, ...]:
        return self.vision.cameras if self.vision is not None else ()

    @torch.no_grad()
    def features(self, obs_hist: torch.Tensor, images: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """The action model's conditioning: normalized low-dim obs (+ camera features) (B, obs_horizon, O')."""
        obs = self.obs_norm.normalize(obs_hist)
        if self.vision is None:
            return obs
        if images is None:
            raise ValueError(
                f"this policy observes cameras {list(self.cameras)}: pass images={{camera: frames}}"
            )
        return self.vision(obs, {c: torch.as_tensor(v) for c, v in images.items()})

    def chunk(self, obs_hist: torch.Tensor, generator: torch.Generator | None = None,
              images: dict[str, torch.Tensor] | None = None) -> torch.Tensor:  # fmt: skip
        """obs_hist (B, obs_horizon, O) raw [+ images camera -> (B, obs_horizon, H, W, 3) uint8]
        -> full predicted chunk (B, horizon, A) raw."""
        x = self.model.sample(self.features(obs_hist, images), self.net, self.inference_steps, generator)
        return self.act_norm.unnormalize(x.clamp(-1, 1))

    def act(self, obs_hist: torch.Tensor, generator: torch.Generator | None = None,
            images: dict[str, torch.Tensor] | None = None) -> torch.Tensor:  # fmt: skip
        """The `action_horizon` actions to execute now (B, action_horizon, A)."""
        start = self.cfg.obs_horizon - 1  # the chunk starts with the oldest observed step
        return self.chunk(obs_hist, generator, images)[:, start : start + self.cfg.action_horizon]


def build_model(algo: str, cfg: ImitationCfg, obs_dim: int, action_dim: int) -> DiffusionPolicy | BcPolicy:
    if algo == "diffusion":
        return DiffusionPolicy(obs_dim, action_dim, cfg.diffusion)
    if algo == "bc":
        return BcPolicy(obs_dim, action_dim, cfg.bc)
    raise ValueError(f"algo must be 'diffusion' or 'bc', got {algo!r}")


def _trained_net(model: DiffusionPolicy | BcPolicy) -> nn.Module:
    """The module whose weights are trained and averaged (the noise net; the whole MLP for BC)."""
    return model.net if isinstance(model, DiffusionPolicy) else model


class ImagePolicyNets(nn.Module):
    """What an image policy trains and averages as one module: the action network and the camera encoders
    (so the EMA covers the encoders too). Low-dim policies keep the bare network: their checkpoints stay as
    they were."""

    def __init__(self, net: nn.Module, vision: ObservationEncoder):
        super().__init__()
        self.net, self.vision = net, vision


def build_nets(algo: str, cfg: ImitationCfg, obs_dim: int, action_dim: int
               ) -> tuple[DiffusionPolicy | BcPolicy, nn.Module, ObservationEncoder | None]:  # fmt: skip
    """(action model, trained module, camera encoders or None); obs_dim is the low-dim width."""
    vision = ObservationEncoder(cfg.cameras, cfg.vision) if cfg.cameras else None
    model = build_model(algo, cfg, obs_dim + (vision.feature_dim if vision else 0), action_dim)
    net = _trained_net(model)
    return model, (ImagePolicyNets(net, vision) if vision is not None else net), vision


# -- training ------------------------------------------------------------------------------------------------------


def cosine_with_warmup(
    optimizer: torch.optim.Optimizer, warmup: int, total: int
) -> torch.optim.lr_scheduler.LambdaLR:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_imitation(cfg: ImitationCfg, logdir: Path = Path("runs"), run_name: str | None = None,
                    progress: bool = True) -> Path:  # fmt: skip
    """Train `cfg.algo` on `cfg.data`; returns the run folder."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
    from torch.utils.tensorboard import SummaryWriter

    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    torch.manual_seed(cfg.seed)
    cameras = tuple(cfg.cameras)
    # Every check (and the video decoding) happens before the run folder exists.
    obs_np, act_np, ranges = load_demos(Path(cfg.data), cfg.task, cfg.num_demos, cameras)
    images = load_images(Path(cfg.data), cameras, cfg.num_demos) if cameras else {}
    image_shapes = {c: list(v.shape[1:]) for c, v in images.items()}
    obs_norm, act_norm = Normalizer.fit(obs_np), Normalizer.fit(act_np)
    mcfg = cfg.model_cfg
    windows = make_windows(obs_norm.normalize(torch.from_numpy(obs_np)), act_norm.normalize(torch.from_numpy(act_np)),
                           ranges, mcfg.obs_horizon, mcfg.horizon)  # fmt: skip
    windows.images = {c: torch.from_numpy(v) for c, v in images.items()}
    model, net, vision = build_nets(cfg.algo, cfg, obs_np.shape[1], act_np.shape[1])
    ema = EMA(net, cfg.diffusion.ema_power, cfg.diffusion.ema_max_decay)
    optimizer = torch.optim.AdamW(net.parameters(), lr=mcfg.lr, weight_decay=mcfg.weight_decay)
    scheduler = cosine_with_warmup(optimizer, min(mcfg.warmup_steps, cfg.steps // 10 + 1), cfg.steps)

    run = new_run_dir(logdir, cfg.task, run_name or f"{cfg.algo}-{len(ranges)}demos")
    env_info: dict[str, Any] = {"obs_features": obs_features(cfg.task), "action_dim": ACTION_DIM}
    if image_shapes:
        env_info["image_shapes"] = image_shapes
    write_yaml(
        run / CONFIG_FILE, {"task": cfg.task, "algo": cfg.algo, "env": env_info, "agent": to_plain(cfg)}
    )
    metrics, tb = MetricsLog(run), SummaryWriter(str(run))
    gen = torch.Generator().manual_seed(cfg.seed)
    start, losses = time.time(), []
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TextColumn("{task.fields[info]}"), TimeRemainingColumn(), disable=not progress) as bar:  # fmt: skip
        job = bar.add_task(f"{cfg.algo} {cfg.task}", total=cfg.steps, info="")
        for step in range(1, cfg.steps + 1):
            ids = torch.randint(0, len(windows.obs_index), (cfg.batch_size,), generator=gen)
            obs, actions = windows.batch(ids)
            if vision is not None:  # camera features join the low-dim obs; gradients reach the encoders
                obs = vision(obs, windows.batch_images(ids))
            loss = model.loss(obs, actions)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            ema.update(net)
            losses.append(loss.item())
            if step % cfg.log_every == 0 or step == cfg.steps:
                row = {"iteration": step, "loss": float(np.mean(losses)), "lr": scheduler.get_last_lr()[0],
                       "wall_s": round(time.time() - start, 2)}  # fmt: skip
                metrics.write(row)
                tb.add_scalar("train/loss", row["loss"], step)
                tb.add_scalar("train/lr", row["lr"], step)
                bar.update(job, info=f"loss {row['loss']:.4f}")
                losses.clear()
            if step % cfg.save_every == 0 or step == cfg.steps:
                ckpt = {
                    "algo": cfg.algo, "cfg": to_plain(cfg), "step": step, "obs_dim": obs_np.shape[1],
                    "action_dim": act_np.shape[1], "model": net.state_dict(), "ema": ema.model.state_dict(),
                    "optimizer": optimizer.state_dict(), "obs_norm": obs_norm.state_dict(),
                    "act_norm": act_norm.state_dict(), "train_wall_s": time.time() - start,
                }  # fmt: skip
                if image_shapes:  # image policies only: low-dim checkpoints keep their old keys
                    ckpt["image_shapes"] = image_shapes
                atomic_torch_save(ckpt, checkpoint_path(run, step))
            bar.advance(job)
    metrics.close()
    tb.close()
    return run


def load_policy(
    run: Path, checkpoint: Path | None = None, inference_steps: int | None = None
) -> ImitationPolicy:
    """The EMA weights of a run's latest (or given) checkpoint."""
    run = Path(run)
    ckpts = list_checkpoints(run)
    path = Path(checkpoint) if checkpoint else (ckpts[-1] if ckpts else None)
    if path is None or not path.is_file():
        raise RunError(f"{run}: no imitation checkpoint (looked for {run / 'checkpoints'}/model_*.pt)")
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
        algo = data["algo"]
    except Exception as exc:
        raise RunError(
            f"checkpoint {path} is corrupt or not an imitation checkpoint ({type(exc).__name__}: {exc})"
        ) from None
    cfg = from_plain(ImitationCfg(), data["cfg"], "agent")
    model, trained, vision = build_nets(algo, cfg, data["obs_dim"], data["action_dim"])
    trained.load_state_dict(data["ema"])
    model.eval()
    trained.eval()  # the encoders' eval mode is the centre crop
    net = trained.net if isinstance(trained, ImagePolicyNets) else trained
    return ImitationPolicy(algo, model, net, Normalizer.from_state(data["obs_norm"]),
                           Normalizer.from_state(data["act_norm"]), inference_steps, vision,
                           data.get("image_shapes"))  # fmt: skip


def run_task(run: Path) -> str:
    import yaml

    return yaml.safe_load((Path(run) / CONFIG_FILE).read_text())["task"]


def run_algo_name(run: Path) -> str:
    import yaml

    return str(yaml.safe_load((Path(run) / CONFIG_FILE).read_text()).get("algo", ""))


# -- export --------------------------------------------------------------------------------------------------------------


FORMAT_LOWDIM, FORMAT_IMAGES = "robolearn-imitation/1", "robolearn-imitation/2"
"""policy.json formats: /2 adds camera inputs (encoder.onnx), so a /1-only runtime refuses it."""


def export_imitation(run: Path, out: Path | None = None) -> tuple[Path, Path]:
    """policy.onnx (diffusion: the noise network; bc: the MLP, both in normalized units) + policy.json.

    The JSON holds what a runtime needs to reproduce `ImitationPolicy.act` without torch: observation and
    action normalization, horizons, and for diffusion the DDIM sampler (timesteps and alphas_cumprod).
    Image policies also get encoder.onnx: one uint8 frame batch per camera (`image_<camera>`, (N, H, W, 3),
    centre crop and normalization inside) -> `features` (N, cameras * feature_dim), in the JSON's camera
    order; per observation step these follow the normalized low-dim observation.
    """
    if run_algo_name(run) == "bidp":
        raise RunError(f"{run}: a BiDP run has no ONNX export yet (`robolearn eval {run}` executes it)")
    policy = load_policy(run)
    out = Path(out or run)
    out.mkdir(parents=True, exist_ok=True)
    c = policy.cfg
    obs_dim = policy.model.obs_dim
    onnx_path, json_path = out / "policy.onnx", out / "policy.json"
    tmp = out / ".policy.tmp.onnx"
    if policy.algo == "diffusion":
        assert isinstance(policy.model, DiffusionPolicy)
        args: tuple[torch.Tensor, ...] = (torch.zeros(1, c.horizon, policy.model.action_dim), torch.zeros(1, dtype=torch.int64),
                torch.zeros(1, c.obs_horizon * obs_dim))  # fmt: skip
        names, outputs = ["sample", "timestep", "obs_cond"], ["epsilon"]
    else:
        args = (torch.zeros(1, c.obs_horizon, obs_dim),)
        names, outputs = ["obs"], ["actions"]
    torch.onnx.export(policy.net, args, str(tmp), input_names=names, output_names=outputs, dynamo=False,
                      dynamic_axes={n: {0: "batch"} for n in [*names, *outputs]}, opset_version=17)  # fmt: skip
    tmp.replace(onnx_path)
    vision_meta = _export_encoder(policy, out) if policy.vision is not None else None
    meta: dict[str, Any] = {
        "format": FORMAT_IMAGES if vision_meta else FORMAT_LOWDIM, "algo": policy.algo, "task": run_task(run),
        "obs_features": obs_features(run_task(run)), "action_dim": policy.model.action_dim,
        "obs_horizon": c.obs_horizon, "horizon": c.horizon, "action_horizon": c.action_horizon,
        "control_dt": CONTROL_DT,
        "obs_norm": policy.obs_norm.state_dict(), "action_norm": policy.act_norm.state_dict(),
        "normalization": "x_norm = 2 * (x - low) / (high - low) - 1 (0 where high - low < 1e-4)",
    }  # fmt: skip
    if vision_meta:
        meta["vision"] = vision_meta
    if isinstance(policy.model, DiffusionPolicy):
        sched = policy.model.infer_scheduler
        sched.set_timesteps(c.num_inference_steps)
        meta["sampler"] = {
            "type": "DDIM", "prediction_type": "epsilon", "clip_sample": 1.0, "eta": 0.0,
            "num_train_timesteps": c.num_train_timesteps, "beta_schedule": c.beta_schedule,
            "num_inference_steps": c.num_inference_steps, "timesteps": sched.timesteps.tolist(),
            "alphas_cumprod": sched.alphas_cumprod.tolist(),
        }  # fmt: skip
    atomic_write_text(json_path, json.dumps(meta, indent=1))
    return onnx_path, json_path


def _export_encoder(policy: ImitationPolicy, out: Path) -> dict[str, Any]:
    """encoder.onnx for an image policy; returns its policy.json entry."""
    assert policy.vision is not None
    cameras = policy.cameras
    enc = CameraEncoders(policy.vision).eval()
    args = tuple(torch.zeros(1, *policy.image_shapes[c], dtype=torch.uint8) for c in cameras)
    names = [f"image_{c}" for c in cameras]
    path, tmp = out / "encoder.onnx", out / ".encoder.tmp.onnx"
    torch.onnx.export(enc, args, str(tmp), input_names=names, output_names=["features"], dynamo=False,
                      dynamic_axes={n: {0: "frames"} for n in [*names, "features"]}, opset_version=17)  # fmt: skip
    tmp.replace(path)
    return {
        "encoder": path.name, "cameras": list(cameras),
        "inputs": {c: {"name": n, "shape": policy.image_shapes[c], "dtype": "uint8", "layout": "HWC RGB"}
                   for c, n in zip(cameras, names, strict=True)},
        "feature_dim": policy.vision.feature_dim,
        "obs_layout": "per step: [normalized low-dim obs, features] (policy.onnx's obs is obs_horizon x that)",
    }  # fmt: skip


# The command line (`robolearn train <task> --algo diffusion|bc`, `robolearn eval|export <run>`) is
# policies.cli: one argument class per verb, the learner's config (ImitationCfg) its `--agent.*` flags.
# Evaluation (`eval_imitation`) is policies/imitation_eval.py: it needs the task's env, training does not.
__all__ = ["ImitationCfg", "ImitationPolicy", "export_imitation", "load_policy", "train_imitation"]
