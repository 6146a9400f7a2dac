"""BiDex evaluation: per task, episodes of a policy -> task fulfillment and stage-1 / stage-2 success.

Definitions (per episode, measured by the env's Reference term):
  stage-1 success  both hands reached stage 2: each item came within 5 cm of its pose at the demo's `ref`
                   frame while its hand was close (the paper's switch condition)
  stage-2 success  at the moment both references reached the demo's `end` frame, both items were within
                   5 cm of them and both hands close (the paper code's logged success, at the end)
  fulfillment F    tracked post-ref steps / post-ref steps: the demo's post-ref part lasts 2 (end - ref)
                   control steps, counted from the step both hands are in stage 2; a step is tracked when
                   both items are within 5 cm of their current references. F = 0 if stage 2 never starts.
  fulfilled        F >= FULFILLED (0.5). BiDexHD reports a task fulfillment rate thresholded on the tracked
                   share of post-ref steps; its exact threshold was not at hand offline, 0.5 is ours.
Intervals: Wilson 95% for rates, normal-approximation 95% for the mean F, over episodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from robolearn.core.env import ManagerBasedRlEnv
from robolearn.envs.dexterous.bidex.reference import reference

FULFILLED = 0.5
Policy = Callable[[dict[str, torch.Tensor]], torch.Tensor]


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_ci(values: list[float], z: float = 1.96) -> tuple[float, float, float]:
    n = len(values)
    if n == 0:
        return (float("nan"),) * 3
    m = sum(values) / n
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / max(n - 1, 1))
    half = z * sd / math.sqrt(n)
    return m, max(0.0, m - half), min(1.0, m + half)


@dataclass
class EpisodeStats:
    task: int
    fulfillment: float
    stage1: bool
    stage2: bool


def run_episodes(env: ManagerBasedRlEnv, policy: Policy, task: int, seed: int = 0) -> list[EpisodeStats]:
    """One episode per world of `env` (built with auto_reset=False) on task index `task`."""
    ref = reference(env)
    ref.forced_task = task
    obs, _ = env.reset(seed=seed)
    n = env.num_envs
    done = torch.zeros(n, dtype=torch.bool)
    out: dict[int, EpisodeStats] = {}
    with torch.no_grad():
        for _ in range(env.max_episode_length):
            obs, _, terminated, time_out, _ = env.step(policy(obs))
            ended = (terminated | time_out).cpu() & ~done
            ful, s1, s2 = ref.fulfillment().cpu(), ref.stage1_success().cpu(), ref.stage2_success.cpu()
            for i in ended.nonzero(as_tuple=True)[0].tolist():
                out[i] = EpisodeStats(task, float(ful[i]), bool(s1[i]), bool(s2[i]))
            done |= ended
            if done.all():
                break
    ref.forced_task = None
    return [out[i] for i in sorted(out)]


def summarize(episodes: list[EpisodeStats]) -> dict[str, float]:
    n = len(episodes)
    ful = [e.fulfillment for e in episodes]
    fulfilled = sum(f >= FULFILLED for f in ful)
    s1, s2 = sum(e.stage1 for e in episodes), sum(e.stage2 for e in episodes)
    m, lo, hi = mean_ci(ful)
    row = {"episodes": n, "fulfilled": fulfilled / n if n else float("nan"), "mean_F": m, "mean_F_lo": lo,
           "mean_F_hi": hi, "stage1": s1 / n if n else float("nan"), "stage2": s2 / n if n else float("nan")}  # fmt: skip
    row["fulfilled_lo"], row["fulfilled_hi"] = wilson(fulfilled, n)
    row["stage1_lo"], row["stage1_hi"] = wilson(s1, n)
    row["stage2_lo"], row["stage2_hi"] = wilson(s2, n)
    return row
