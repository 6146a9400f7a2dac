"""Evaluation of imitation policies on the ALOHA tasks' manager-based env: roll out on held-out layouts
(seed 10000 on; demos use small seeds) and report the success rate with a 95% Wilson interval."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robolearn.core import ManagerBasedRlEnv
from robolearn.envs.manipulation.aloha import (
    close_cameras,
    episode_steps,
    make_env,
    render,
    reset_to,
    sample_layouts,
    task_cfg,
)
from robolearn.envs.manipulation.aloha_mdp import ACTION_DIM
from robolearn.policies.imitation import EVAL_SEED, ImitationPolicy, load_policy, run_algo_name, run_task
from robolearn.policies.imitation_data import OBS_KEYS


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a success rate (sane at 0 and n, unlike the normal approximation)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def render_cameras(env: ManagerBasedRlEnv, image_shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    """camera -> (num_envs, H, W, 3) uint8 frames of every world, at the size the policy was trained on."""
    return {c: torch.from_numpy(np.stack([render(env, e, c, shape[1], shape[0]) for e in range(env.num_envs)]))
            for c, shape in image_shapes.items()}  # fmt: skip


def _step(env: ManagerBasedRlEnv, action: torch.Tensor, success: torch.Tensor) -> dict[str, torch.Tensor]:
    """One control step; `success` accumulates the task's success termination term (the env does not reset)."""
    obs, *_ = env.step(action)
    success |= env.termination_manager.term_dones["success"].cpu()
    return obs


def rollout(env: ManagerBasedRlEnv, policy: ImitationPolicy | None, layouts: np.ndarray, seed: int = 0) -> np.ndarray:
    """Run one episode per world from `layouts`; a None policy acts uniformly at random. -> success (N,) bool:
    whether the task succeeded at any step.

    Image policies get the frames of their cameras rendered after every control step (software GL: this,
    not the policy, dominates their evaluation time)."""
    obs = reset_to(env, layouts)
    steps, success = episode_steps(env), torch.zeros(env.num_envs, dtype=torch.bool)
    flat = torch.cat([obs[k] for k in OBS_KEYS], -1)
    gen = torch.Generator().manual_seed(seed)
    if policy is None:
        ctrl = [c for term in env.action_manager.terms.values() for c in term.ctrl_ids]
        lo, hi = (torch.as_tensor(env.scene.model.actuator_ctrlrange[ctrl, i], dtype=torch.float32) for i in (0, 1))
        for _ in range(steps):
            _step(env, lo + (hi - lo) * torch.rand((env.num_envs, ACTION_DIM), generator=gen), success)
        return success.numpy().copy()
    hist = [flat] * policy.cfg.obs_horizon
    shapes = policy.image_shapes if policy.vision is not None else {}
    frames = [render_cameras(env, shapes)] * policy.cfg.obs_horizon
    t = 0
    while t < steps:
        images = {c: torch.stack([f[c] for f in frames], 1) for c in shapes} if shapes else None
        actions = policy.act(torch.stack(hist, 1), gen, images)
        for k in range(actions.shape[1]):
            obs = _step(env, actions[:, k], success)
            t += 1
            if t >= steps:
                break
            hist = [*hist[1:], torch.cat([obs[key] for key in OBS_KEYS], -1)]
            if shapes:
                frames = [*frames[1:], render_cameras(env, shapes)]
    return success.numpy().copy()


def eval_imitation(run: Path | None, episodes: int = 50, seed: int = EVAL_SEED, num_envs: int = 25,
                   task: str | None = None, inference_steps: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Success rate over `episodes` held-out layouts (seeded), with a 95% interval. run=None: random policy."""
    if run is not None and run_algo_name(run) == "bidp":
        from robolearn.policies.bidp_run import eval_bidp

        return eval_bidp(run, episodes, seed, num_envs, task, inference_steps)
    policy = load_policy(run, inference_steps=inference_steps) if run is not None else None
    task = task or run_task(run)  # type: ignore[arg-type]
    num_envs = min(num_envs, episodes)
    env, cfg = make_env(task, num_envs, seed=seed), task_cfg(task)
    rng = np.random.default_rng(seed)
    successes, n, start = 0, 0, time.time()
    while n < episodes:
        layouts = sample_layouts(cfg, num_envs, rng)
        ok = rollout(env, policy, layouts, seed + n)[: episodes - n]
        successes, n = successes + int(ok.sum()), n + len(ok)
    close_cameras(env)
    low, high = wilson_interval(successes, n)
    return {"task": task, "episodes": n, "successes": successes, "success_rate": successes / n,
            "ci95": [low, high], "seed": seed, "eval_wall_s": round(time.time() - start, 1)}  # fmt: skip
