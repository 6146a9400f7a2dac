"""BiDP runs: train on a keypose dataset (`robolearn train <task> --algo bidp`), load, and evaluate by
executing the predicted keyposes open loop through IK on held-out layouts.

Run folders are the imitation learners' (config.yaml, checkpoints/model_*.pt, metrics.jsonl); a checkpoint
holds the EMA weights, the normalizers (keypose actions and start state: min/max to [-1, 1]; the cloud: its
mean point and one scale) and the keyframe times the executed keyposes are reached at.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robolearn.envs.manipulation.aloha import make_env, reset_to, sample_layouts, task_cfg
from robolearn.envs.manipulation.demos import BimanualIK, plan
from robolearn.envs.manipulation.proliferation import (
    POSE_DIM,
    augment,
    decode,
    initial_ee_state,
    point_cloud,
)
from robolearn.policies.bidp import BidpModel
from robolearn.policies.diffusion import EMA
from robolearn.policies.imitation import (
    EVAL_SEED,
    ImitationCfg,
    Normalizer,
    cosine_with_warmup,
)
from robolearn.policies.keypose_data import KeyposeData, load_keypose_data
from robolearn.policies.plain_config import from_plain, to_plain
from robolearn.policies.runs import (
    CONFIG_FILE,
    MetricsLog,
    RunError,
    atomic_torch_save,
    checkpoint_path,
    list_checkpoints,
    new_run_dir,
    write_yaml,
)


@dataclass
class CloudNorm:
    """Points -> (p - centre) / scale: one scale for all axes keeps the cloud's shape (a rigid motion stays one)."""

    centre: torch.Tensor
    scale: float

    @classmethod
    def fit(cls, clouds: np.ndarray) -> CloudNorm:
        centre = clouds.reshape(-1, 3).mean(0)
        return cls(torch.as_tensor(centre, dtype=torch.float32), float(np.abs(clouds - centre).max()))

    def normalize(self, cloud: torch.Tensor) -> torch.Tensor:
        return (cloud - self.centre) / self.scale


def training_rows(data: KeyposeData, copies: int, yaw: float, shift: float, seed: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(clouds, start states, keypose actions) of every demo, plus `copies` augmented copies of each."""
    clouds, states, actions = [data.cloud], [data.ee_state], [data.actions]
    if copies:
        rng = np.random.default_rng(seed)
        for i in range(len(data)):
            c, a = augment(data.cloud[i], data.actions[i], copies, rng, yaw, shift)
            clouds.append(c)
            actions.append(a.astype(np.float32))
            states.append(np.repeat(data.ee_state[i : i + 1], copies, 0))
    return tuple(np.concatenate(x).astype(np.float32) for x in (clouds, states, actions))  # type: ignore[return-value]


def train_bidp(cfg: ImitationCfg, logdir: Path = Path("runs"), run_name: str | None = None,
               progress: bool = True) -> Path:  # fmt: skip
    """Train BiDP on `cfg.data`'s keypose dataset (keyposes.npz); returns the run folder."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    torch.manual_seed(cfg.seed)
    b = cfg.bidp
    data = load_keypose_data(Path(cfg.data), cfg.task, cfg.num_demos)  # checked before the run folder exists
    clouds, states, actions = training_rows(data, b.augment, b.augment_yaw, b.augment_shift, cfg.seed)
    k = len(data.times)
    cloud_norm = CloudNorm.fit(clouds)
    state_norm, act_norm = (
        Normalizer.fit(states.reshape(len(states), -1)),
        Normalizer.fit(actions.reshape(len(actions), -1)),
    )
    x_cloud = cloud_norm.normalize(torch.from_numpy(clouds))
    x_state = state_norm.normalize(torch.from_numpy(states.reshape(len(states), -1)))
    x_act = act_norm.normalize(torch.from_numpy(actions.reshape(len(actions), -1))).view(
        len(actions), k, 2 * POSE_DIM
    )
    model = BidpModel(k, 2 * POSE_DIM, x_state.shape[1], b)
    ema = EMA(model, cfg.diffusion.ema_power, cfg.diffusion.ema_max_decay)
    optimizer = torch.optim.AdamW(model.parameters(), lr=b.lr, weight_decay=b.weight_decay)
    scheduler = cosine_with_warmup(optimizer, min(b.warmup_steps, cfg.steps // 10 + 1), cfg.steps)

    run = new_run_dir(logdir, cfg.task, run_name or f"bidp-{len(data)}demos")
    env_info = {"keyframes": k, "pose_dim": POSE_DIM, "cloud_points": int(clouds.shape[1]), "demos": len(data),
                "training_rows": len(actions)}  # fmt: skip
    write_yaml(run / CONFIG_FILE, {"task": cfg.task, "algo": "bidp", "env": env_info, "agent": to_plain(cfg)})
    metrics = MetricsLog(run)
    gen = torch.Generator().manual_seed(cfg.seed)
    start, losses = time.time(), []
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TextColumn("{task.fields[info]}"), TimeRemainingColumn(), disable=not progress) as bar:  # fmt: skip
        job = bar.add_task(f"bidp {cfg.task}", total=cfg.steps, info="")
        for step in range(1, cfg.steps + 1):
            ids = torch.randint(0, len(x_act), (cfg.batch_size,), generator=gen)
            pts = torch.randperm(x_cloud.shape[1], generator=gen)[: b.points]
            loss = model.loss(x_cloud[ids][:, pts], x_state[ids], x_act[ids])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            ema.update(model)
            losses.append(loss.item())
            if step % cfg.log_every == 0 or step == cfg.steps:
                row = {"iteration": step, "loss": float(np.mean(losses)), "lr": scheduler.get_last_lr()[0],
                       "wall_s": round(time.time() - start, 2)}  # fmt: skip
                metrics.write(row)
                bar.update(job, info=f"loss {row['loss']:.4f}")
                losses.clear()
            if step % cfg.save_every == 0 or step == cfg.steps:
                atomic_torch_save({
                    "algo": "bidp", "cfg": to_plain(cfg), "step": step, "keyframes": k, "state_dim": x_state.shape[1],
                    "times": data.times.tolist(), "model": model.state_dict(), "ema": ema.model.state_dict(),
                    "optimizer": optimizer.state_dict(), "state_norm": state_norm.state_dict(),
                    "act_norm": act_norm.state_dict(), "cloud_centre": cloud_norm.centre.tolist(),
                    "cloud_scale": cloud_norm.scale, "train_wall_s": time.time() - start,
                }, checkpoint_path(run, step))  # fmt: skip
            bar.advance(job)
    metrics.close()
    return run


class BidpPolicy:
    """A trained BiDP with its normalizers: clouds and start states -> keypose actions / keyposes."""

    def __init__(self, model: BidpModel, times: np.ndarray, state_norm: Normalizer, act_norm: Normalizer,
                 cloud_norm: CloudNorm, inference_steps: int | None = None):  # fmt: skip
        self.model, self.times = model, times
        self.state_norm, self.act_norm, self.cloud_norm = state_norm, act_norm, cloud_norm
        self.inference_steps = inference_steps

    @torch.no_grad()
    def predict(
        self, clouds: np.ndarray, states: np.ndarray, generator: torch.Generator | None = None
    ) -> np.ndarray:
        """clouds (B, P, 3), start states (B, 2, 10) -> keypose actions (B, K, 2, 10)."""
        cloud = self.cloud_norm.normalize(torch.as_tensor(clouds, dtype=torch.float32))
        pts = torch.randperm(cloud.shape[1], generator=torch.Generator().manual_seed(0))[
            : self.model.cfg.points
        ]
        cloud = cloud[:, pts]
        state = self.state_norm.normalize(
            torch.as_tensor(states.reshape(len(states), -1), dtype=torch.float32)
        )
        x = self.model.sample(cloud, state, self.inference_steps, generator)
        raw = self.act_norm.unnormalize(x.flatten(1).clamp(-1, 1))
        return raw.view(len(raw), self.model.keyframes, 2, POSE_DIM).numpy().astype(np.float64)


def load_bidp(run: Path, inference_steps: int | None = None) -> BidpPolicy:
    """The EMA weights of a BiDP run's latest checkpoint."""
    ckpts = list_checkpoints(Path(run))
    if not ckpts:
        raise RunError(f"{run}: no BiDP checkpoint (looked for {Path(run) / 'checkpoints'}/model_*.pt)")
    try:
        data = torch.load(ckpts[-1], map_location="cpu", weights_only=False)
        cfg = from_plain(ImitationCfg(), data["cfg"], "agent")
        model = BidpModel(data["keyframes"], 2 * POSE_DIM, data["state_dim"], cfg.bidp)
        model.load_state_dict(data["ema"])
    except Exception as exc:
        raise RunError(f"checkpoint {ckpts[-1]} is corrupt or not a BiDP checkpoint ({type(exc).__name__}: {exc})"
                       ) from None  # fmt: skip
    model.eval()
    cloud = CloudNorm(torch.tensor(data["cloud_centre"]), float(data["cloud_scale"]))
    return BidpPolicy(model, np.array(data["times"]), Normalizer.from_state(data["state_norm"]),
                      Normalizer.from_state(data["act_norm"]), cloud, inference_steps)  # fmt: skip


def rollout_bidp(env, policy: BidpPolicy, task: str, layouts: np.ndarray, ik: BimanualIK, seed: int = 0,
                 points: int = 1024) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """One episode per world: cloud at the start -> predicted keyposes -> IK plan -> executed open loop.
    -> (success (N,) bool: at any step, as the chunked policies are scored; predicted actions (N, K, 2, 10))."""
    reset_to(env, layouts)
    clouds = np.stack([point_cloud(env, w, points, seed + w) for w in range(env.num_envs)])
    states = np.repeat(initial_ee_state()[None], env.num_envs, 0)
    pred = policy.predict(clouds, states, torch.Generator().manual_seed(seed))
    cfg = task_cfg(task)
    actions = np.stack(
        [plan(decode(a, policy.times), lay, cfg, ik) for a, lay in zip(pred, layouts, strict=True)]
    )
    reset_to(env, layouts)
    success = torch.zeros(env.num_envs, dtype=torch.bool)
    for i in range(actions.shape[1]):
        env.step(torch.as_tensor(actions[:, i], dtype=torch.float32))
        success |= env.termination_manager.term_dones["success"].cpu()
    return success.numpy().copy(), pred


def eval_bidp(run: Path, episodes: int = 50, seed: int = EVAL_SEED, num_envs: int = 25, task: str | None = None,
              inference_steps: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Success rate of a BiDP run over `episodes` held-out layouts (seeded), with a 95% Wilson interval."""
    import yaml

    from robolearn.policies.imitation_eval import wilson_interval

    policy = load_bidp(run, inference_steps)
    task = task or yaml.safe_load((Path(run) / CONFIG_FILE).read_text())["task"]
    points = int(yaml.safe_load((Path(run) / CONFIG_FILE).read_text())["env"]["cloud_points"])
    num_envs = min(num_envs, episodes)
    env, ik, rng = make_env(task, num_envs, seed=seed), BimanualIK(), np.random.default_rng(seed)
    successes, n, start = 0, 0, time.time()
    while n < episodes:
        ok, _ = rollout_bidp(
            env, policy, task, sample_layouts(task_cfg(task), num_envs, rng), ik, seed + n, points
        )
        ok = ok[: episodes - n]
        successes, n = successes + int(ok.sum()), n + len(ok)
    low, high = wilson_interval(successes, n)
    return {"task": task, "episodes": n, "successes": successes, "success_rate": successes / n,
            "ci95": [low, high], "seed": seed, "eval_wall_s": round(time.time() - start, 1)}  # fmt: skip
