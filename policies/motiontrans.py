"""MotionTrans cotraining: one diffusion policy on robot and human demos, with per-sample loss weights.

Weights (alpha = 0.5 in the paper): a robot sample weighs a = (alpha/N_r) / (alpha/N_r + (1-alpha)/N_h), a
human sample 1 - a, with N_r, N_h the embodiments' episode counts; so the N_r robot episodes together carry
alpha of the total weight and the N_h human episodes 1 - alpha, whatever the counts (`embodiment_share`).
Each batch draws half its samples from each embodiment (when both are present). The policy sees neither the
embodiment nor the weights.

Few-shot fine-tuning continues training from a policy (its normalizers kept) on robot demos only.
Evaluation rolls the policy out in the Panda env: its EE pose (camera frame) goes back to the world through
the robot's head camera, to the flange through the mount, to the IK action term.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from robolearn.envs.manipulation.aloha import reset_to, task_success
from robolearn.envs.panda.expert import make_env
from robolearn.envs.panda.scene import FLANGE_TO_EE, camera_pose
from robolearn.policies.diffusion import EMA, DiffusionCfg, DiffusionPolicy
from robolearn.policies.imitation import Normalizer, cosine_with_warmup
from robolearn.policies.imitation_data import DemoWindows, make_windows
from robolearn.policies.motiontrans_data import ACTION_DIM, OBS_DIM, Demo, robot_obs
from robolearn.retarget.motiontrans import vec_to_pose


def robot_weight(n_robot: int, n_human: int, alpha: float = 0.5) -> float:
    """a: the loss weight of one robot sample (a human sample weighs 1 - a)."""
    if n_robot <= 0 or n_human <= 0:
        raise ValueError(f"cotraining needs demos of both embodiments, got {n_robot} robot and {n_human} human")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    r, h = alpha / n_robot, (1 - alpha) / n_human
    return r / (r + h)


def embodiment_share(n_robot: int, n_human: int, alpha: float = 0.5) -> float:
    """The robot episodes' share of the total loss weight when every episode counts once (equal lengths)."""
    a = robot_weight(n_robot, n_human, alpha)
    return n_robot * a / (n_robot * a + n_human * (1 - a))


@dataclass
class CotrainCfg:
    steps: int = 1500
    batch: int = 64
    alpha: float = 0.5
    lr: float = 1e-3
    """10x the diffusion default: a tiny network on a short CPU budget."""
    seed: int = 0
    diffusion: DiffusionCfg = field(default_factory=lambda: DiffusionCfg(
        horizon=8, action_horizon=4, down_dims=(32, 64), warmup_steps=50, prediction_type="sample"))
    """A 0.8 s chunk at 10 Hz, replanned every 0.4 s. Predicting the clean chunk rather than the noise: on 8
    robot + 8 human Panda-Lift demos and 600 steps, epsilon prediction ended at loss 0.66 (1.0: no noise
    predicted) and lifted 0/6 held-out cubes cotrained (1/6 robot data only); sample prediction 2/6 (4/6)."""


@dataclass
class MotionTransPolicy:
    model: DiffusionPolicy
    net: torch.nn.Module
    """The EMA weights used for sampling."""
    obs_norm: Normalizer
    act_norm: Normalizer
    losses: dict[str, list[float]] = field(default_factory=dict)
    """Per-embodiment weighted loss on fixed probe batches, logged every 100 steps."""


def _windows(demos: list[Demo], obs_norm: Normalizer, act_norm: Normalizer, cfg: DiffusionCfg) -> DemoWindows:
    obs = obs_norm.normalize(torch.as_tensor(np.concatenate([d.obs for d in demos])))
    act = act_norm.normalize(torch.as_tensor(np.concatenate([d.action for d in demos])))
    ends = np.cumsum([len(d.obs) for d in demos])
    ranges = [(int(e - len(d.obs)), int(e)) for d, e in zip(demos, ends, strict=True)]
    return make_windows(obs, act, ranges, cfg.obs_horizon, cfg.horizon)


def train(demos: list[Demo], cfg: CotrainCfg, init: MotionTransPolicy | None = None) -> MotionTransPolicy:
    """Train (or, from `init`, fine-tune) on the demos; weighted and balanced when both embodiments are there."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    by = {e: [d for d in demos if d.embodiment == e] for e in ("robot", "human")}
    present = [e for e in by if by[e]]
    if not present:
        raise ValueError("train: no demos")
    if init is None:
        obs_norm = Normalizer.fit(np.concatenate([d.obs for d in demos]))
        act_norm = Normalizer.fit(np.concatenate([d.action for d in demos]))
        model = DiffusionPolicy(OBS_DIM, ACTION_DIM, cfg.diffusion)
    else:
        obs_norm, act_norm, model = init.obs_norm, init.act_norm, copy.deepcopy(init.model)
        model.net.load_state_dict(init.net.state_dict())
    windows = {e: _windows(by[e], obs_norm, act_norm, model.cfg) for e in present}
    a = robot_weight(len(by["robot"]), len(by["human"]), cfg.alpha) if len(present) == 2 else 1.0
    weight = {"robot": a, "human": 1.0 - a} if len(present) == 2 else {present[0]: 1.0}
    per = {e: cfg.batch // len(present) for e in present}
    probes = {e: torch.randint(0, len(windows[e].obs_index), (256,), generator=gen) for e in present}
    opt = torch.optim.AdamW(model.net.parameters(), lr=cfg.lr, weight_decay=model.cfg.weight_decay)
    sched = cosine_with_warmup(opt, model.cfg.warmup_steps, cfg.steps)
    ema = EMA(model.net, model.cfg.ema_power, model.cfg.ema_max_decay)
    losses: dict[str, list[float]] = {e: [] for e in present}
    for step in range(cfg.steps + 1):
        if step % 100 == 0:
            with torch.no_grad():
                for e in present:
                    o, act = windows[e].batch(probes[e])
                    torch.manual_seed(10_000 + step)  # the same noise draws for every probe evaluation
                    losses[e].append(float(model.loss(o, act)))
        if step == cfg.steps:
            break
        obs_b, act_b, w_b = [], [], []
        for e in present:
            ids = torch.randint(0, len(windows[e].obs_index), (per[e],), generator=gen)
            o, act = windows[e].batch(ids)
            obs_b.append(o)
            act_b.append(act)
            w_b.append(torch.full((per[e],), weight[e]))
        loss = model.loss(torch.cat(obs_b), torch.cat(act_b), torch.cat(w_b))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        ema.update(model.net)
    return MotionTransPolicy(model, ema.model, obs_norm, act_norm, losses)


# -- evaluation ----------------------------------------------------------------------------------------------


def env_action(vec: np.ndarray, camera: np.ndarray) -> np.ndarray:
    """[N, 25] policy actions (EE in the camera frame, hand joints) -> [N, 23] env actions (flange, hand)."""
    flange = camera[None] @ vec_to_pose(vec[:, :9]) @ np.linalg.inv(FLANGE_TO_EE)[None]
    quat = Rotation.from_matrix(flange[:, :3, :3]).as_quat(scalar_first=True)
    return np.concatenate([flange[:, :3, 3], quat, vec[:, 9:]], -1)


def evaluate(policy: MotionTransPolicy, task: str, layouts: np.ndarray, seed: int = 0) -> np.ndarray:
    """(len(layouts),) bool: success at any step of a closed-loop rollout on each layout."""
    env = make_env(task, len(layouts), seed=seed)
    obs = reset_to(env, layouts)
    cam = camera_pose()
    cfg = policy.model.cfg
    gen = torch.Generator().manual_seed(seed)
    steps = int(env.max_episode_length)
    success = np.zeros(len(layouts), dtype=bool)
    hist: list[torch.Tensor] = []
    chunk = None
    for t in range(steps):
        rep = robot_obs(task, obs["observation.state"].double().numpy(), obs["observation.environment_state"].double().numpy())
        hist = (hist + [policy.obs_norm.normalize(torch.as_tensor(rep))])[-cfg.obs_horizon :]
        while len(hist) < cfg.obs_horizon:
            hist.insert(0, hist[0])
        k = t % cfg.action_horizon
        if k == 0:
            sample = policy.model.sample(torch.stack(hist, 1), net=policy.net, generator=gen)
            # The chunk starts at the oldest observation of the window: the current step is obs_horizon - 1.
            chunk = policy.act_norm.unnormalize(sample).numpy()
        assert chunk is not None
        act = env_action(chunk[:, cfg.obs_horizon - 1 + k], cam)
        obs, *_ = env.step(torch.as_tensor(act, dtype=torch.float32))
        success |= task_success(env).numpy()
    return success
