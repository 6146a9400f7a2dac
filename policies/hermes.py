"""HERMES learners: the state expert (PPO on rsl-rl-lib, residual on the retargeted reference or free), its
evaluation on held-out episodes, and the depth student distilled from it by DAgger, exported to ONNX.

The shared trainer (policies/train.py) exports a main robot's joint-position policy at every checkpoint;
two hands on wrists with residual targets are outside that contract, so the expert loop here is rsl-rl's
PPO driven directly (collect, compute returns, update) under a wall-clock budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tensordict import TensorDict

from robolearn.atomic import atomic_path
from robolearn.core import ManagerBasedRlEnv
from robolearn.envs.dexterous.hermes import hermes_cfg, object_errors, success
from robolearn.policies.rsl_rl import RslRlVecEnv
from robolearn.rl import PpoCfg

Policy = Callable[[dict[str, torch.Tensor]], torch.Tensor]


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a success rate k / n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass
class ExpertCfg:
    task: str = "bottle_scanner"
    mode: str = "residual"
    num_envs: int = 32
    iterations: int = 30
    steps_per_env: int = 24
    hidden: tuple[int, ...] = (128, 128)
    init_noise_std: float = 0.5
    """Residual actions are scaled by 0.1 (rad or m): std 0.5 explores +-5 cm / 0.05 rad around the
    reference, enough to correct a grasp, not so much that every episode drops the object."""
    learning_rate: float = 1e-3
    time_limit_s: float | None = None
    seed: int = 0


@dataclass
class ExpertResult:
    policy: Policy
    rows: list[dict] = field(default_factory=list)
    env_steps: int = 0
    wall_s: float = 0.0
    actor: torch.nn.Module | None = None


def _agent(cfg: ExpertCfg) -> PpoCfg:
    return PpoCfg(num_envs=cfg.num_envs, num_steps_per_env=cfg.steps_per_env, actor_hidden_dims=cfg.hidden,
                  critic_hidden_dims=cfg.hidden, init_noise_std=cfg.init_noise_std, learning_rate=cfg.learning_rate,
                  num_mini_batches=2, random_initial_episode_length=False)  # fmt: skip


def train_expert(cfg: ExpertCfg) -> ExpertResult:
    """PPO on the task; rows hold per iteration the mean step reward and the mean return of the episodes
    that ended in it."""
    from rsl_rl.algorithms import PPO

    torch.manual_seed(cfg.seed)
    env = ManagerBasedRlEnv(hermes_cfg(cfg.task, cfg.mode, num_envs=cfg.num_envs, seed=cfg.seed))
    env.reset(seed=cfg.seed)
    vec = RslRlVecEnv(env)
    alg = PPO.construct_algorithm(vec.get_observations(), vec, _agent(cfg).to_rsl_rl(), "cpu")
    obs = vec.get_observations()
    alg.train_mode()
    ret = torch.zeros(cfg.num_envs)
    out = ExpertResult(policy=lambda o: o["policy"])
    t0 = time.perf_counter()
    for it in range(cfg.iterations):
        finished: list[float] = []
        rewards = 0.0
        with torch.inference_mode():
            for _ in range(cfg.steps_per_env):
                actions = alg.act(obs)
                obs, reward, dones, extras = vec.step(actions)
                alg.process_env_step(obs, reward, dones, extras)
                ret += reward.cpu()
                rewards += float(reward.mean())
                done = dones.cpu().bool()
                finished += ret[done].tolist()
                ret[done] = 0.0
            alg.compute_returns(obs)
        alg.update()
        out.env_steps += cfg.num_envs * cfg.steps_per_env
        out.rows.append({"iteration": it + 1, "env_steps": out.env_steps, "wall_s": time.perf_counter() - t0,
                         "mean_step_reward": rewards / cfg.steps_per_env,
                         "mean_return": sum(finished) / len(finished) if finished else float("nan")})  # fmt: skip
        if cfg.time_limit_s is not None and time.perf_counter() - t0 > cfg.time_limit_s:
            break
    out.wall_s = time.perf_counter() - t0
    alg.eval_mode()
    actor = alg.get_policy()
    out.actor = actor

    def act(o: dict[str, torch.Tensor]) -> torch.Tensor:
        with torch.inference_mode():
            return actor(TensorDict(dict(o), batch_size=[o["policy"].shape[0]]))

    out.policy = act
    return out


@dataclass
class EvalResult:
    episodes: int
    successes: int
    tracking_error_m: float  # mean object position error over the steps each episode lasted
    final_error_m: float
    early_terminations: int

    @property
    def rate(self) -> float:
        return self.successes / max(self.episodes, 1)

    def row(self) -> dict:
        lo, hi = wilson(self.successes, self.episodes)
        return {"episodes": self.episodes, "successes": self.successes, "success": self.rate, "wilson_lo": lo, "wilson_hi": hi,
                "tracking_error_m": self.tracking_error_m, "final_error_m": self.final_error_m,
                "early_terminations": self.early_terminations}  # fmt: skip


def evaluate(task: str, mode: str, policy: Policy | None, episodes: int = 32, seed: int = 1000,
             obs_group: str = "policy") -> EvalResult:  # fmt: skip
    """Held-out episodes (their own seed: new object placements), all in parallel, one each; success is
    read at the last step of a full-length episode (an early termination fails)."""
    cfg = hermes_cfg(
        task, mode, num_envs=episodes, seed=seed, auto_reset=False, student=obs_group == "student"
    )
    env = ManagerBasedRlEnv(cfg)
    obs, _ = env.reset(seed=seed)
    alive = torch.ones(episodes, dtype=torch.bool)
    err_sum, steps = torch.zeros(episodes), torch.zeros(episodes)
    final = torch.zeros(episodes)
    for _ in range(int(env.max_episode_length)):
        a = torch.zeros(episodes, env.num_actions) if policy is None else policy(obs)
        obs, _, terminated, time_out, _ = env.step(a)
        p = object_errors(env)[0].cpu().float()
        err_sum += torch.where(alive, p, torch.zeros_like(p))
        steps += alive.float()
        final = torch.where(alive, p, final)
        ok = success(env).cpu()
        alive &= ~terminated.cpu()
        if bool(time_out.any()):
            break
    wins = alive & ok
    return EvalResult(episodes, int(wins.sum()), float((err_sum / steps.clamp(min=1)).mean()), float(final.mean()),
                      int((~alive).sum()))  # fmt: skip


# -- depth student ---------------------------------------------------------------------------------------


@dataclass
class StudentCfg:
    num_envs: int = 32
    iterations: int = 12
    steps_per_env: int = 48
    hidden: tuple[int, ...] = (256, 128)
    epochs: int = 20
    learning_rate: float = 1e-3
    seed: int = 0


class Student(torch.nn.Module):
    """MLP on (proprioception, goal, reference, last action, depth image), normalized by fixed statistics
    of the first batch (exported inside the ONNX graph)."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...]):
        super().__init__()
        layers: list[torch.nn.Module] = []
        last = obs_dim
        for h in hidden:
            layers += [torch.nn.Linear(last, h), torch.nn.ELU()]
            last = h
        layers.append(torch.nn.Linear(last, act_dim))
        self.net = torch.nn.Sequential(*layers)
        self.register_buffer("mean", torch.zeros(obs_dim))
        self.register_buffer("std", torch.ones(obs_dim))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net((obs - self.mean) / self.std)


@dataclass
class StudentResult:
    student: Student
    losses: list[float]  # MSE to the teacher on the aggregate after each iteration's refit
    env_steps: int
    wall_s: float
    initial_loss: float = float("nan")  # the untrained student on the teacher's own (iteration 0) states
    teacher_states_loss: float = float("nan")  # the final student on those states

    def policy(self) -> Policy:
        def act(o: dict[str, torch.Tensor]) -> torch.Tensor:
            with torch.inference_mode():
                return self.student(o["student"].float())

        return act


def train_student(task: str, teacher: Policy, cfg: StudentCfg, mode: str = "residual") -> StudentResult:
    """DAgger: iteration 0 rolls out the teacher, later ones the student (beta = 0.5 ** i of the steps take
    the teacher's action); every visited state is labelled with the teacher's action on the privileged
    observation and the student is refit on the aggregate. The env's per-episode rigid augmentation moves
    object and reference together (object-centric), and the depth camera adds noise and holes."""
    torch.manual_seed(cfg.seed)
    env = ManagerBasedRlEnv(hermes_cfg(task, mode, num_envs=cfg.num_envs, seed=cfg.seed, student=True))
    obs, _ = env.reset(seed=cfg.seed)
    student = Student(env.observation_dims()["student"], env.num_actions, cfg.hidden)
    opt = torch.optim.Adam(student.parameters(), lr=cfg.learning_rate)
    data_x: list[torch.Tensor] = []
    data_y: list[torch.Tensor] = []
    losses: list[float] = []
    t0 = time.perf_counter()
    steps = 0
    gen = torch.Generator().manual_seed(cfg.seed)
    for it in range(cfg.iterations):
        beta = 0.5**it
        for _ in range(cfg.steps_per_env):
            label = teacher(obs)
            x = obs["student"].float()
            data_x.append(x.clone())
            data_y.append(label.float().clone())
            with torch.inference_mode():
                own = student(x) if it > 0 else label
            use_teacher = (torch.rand(cfg.num_envs, 1, generator=gen) < beta).float()
            obs, *_ = env.step(use_teacher * label + (1 - use_teacher) * own)
            steps += cfg.num_envs
        X, Y = torch.cat(data_x), torch.cat(data_y)
        if it == 0:
            student.mean[:] = X.mean(0)
            student.std[:] = X.std(0).clamp(min=1e-3)
            X0, Y0 = X, Y  # the teacher's own states: a fixed set to measure imitation on
            with torch.no_grad():
                initial = float(torch.nn.functional.mse_loss(student(X0), Y0))
        for _ in range(cfg.epochs):
            perm = torch.randperm(len(X), generator=gen)
            for b in perm.split(512):
                loss = torch.nn.functional.mse_loss(student(X[b]), Y[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            losses.append(float(torch.nn.functional.mse_loss(student(X), Y)))
    student.eval()
    with torch.no_grad():
        final = float(torch.nn.functional.mse_loss(student(X0), Y0))
    return StudentResult(student, losses, steps, time.perf_counter() - t0, initial, final)


def export_student(student: Student, path: str | Path) -> Path:
    """ONNX (input `obs` [batch, D], output `actions`), written atomically and checked by onnxruntime
    against torch on random inputs."""
    import numpy as np
    import onnxruntime as ort

    path = Path(path)
    dim = int(student.mean.shape[0])
    with atomic_path(path) as tmp:
        torch.onnx.export(student, (torch.zeros(1, dim),), str(tmp), input_names=["obs"], output_names=["actions"],
                          dynamic_axes={"obs": {0: "batch"}, "actions": {0: "batch"}}, dynamo=False)  # fmt: skip
        x = torch.randn(4, dim) * student.std + student.mean
        got = ort.InferenceSession(str(tmp)).run(None, {"obs": x.numpy().astype(np.float32)})[0]
        with torch.no_grad():
            want = student(x).numpy()
        if not np.allclose(got, want, atol=1e-4):
            raise RuntimeError(
                f"ONNX export of the student disagrees with torch (max {abs(got - want).max():.2e})"
            )
    return path
