"""stable-baselines3 PPO / SAC on our envs, writing the same run folder as the rsl_rl path.

An "iteration" is `steps_per_iteration` steps of every world, so metrics rows, checkpoints and
`max_iterations` mean the same thing as for rsl_rl PPO. A checkpoint is a torch file holding the SB3
model zip (optimizer and replay-free state) plus our bookkeeping, written atomically.

A checkpoint also carries the env's whole state, the generators and the return window (as the rsl_rl loops'
do), and the observation SB3 acts on next, so a resumed run continues the same worlds. It does not continue
the same training bit for bit: SB3 checkpoints at the last step of a rollout, before that rollout's update
(PPO) or gradient step (SAC), and keeps no replay buffer in the zip, so a resume drops that rollout and SAC's
replay memory.
"""

from __future__ import annotations

import io
import math
import statistics
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import numpy as np
import torch

from robolearn.policies.runs import MetricsLog, atomic_torch_save, checkpoint_path, clean_temp_files
from robolearn.rl import Sb3Cfg

RETURN_WINDOW = 200


def _make_model(cfg: Sb3Cfg, vec: Any, device: str, seed: int) -> Any:
    from stable_baselines3 import PPO, SAC

    policy_kwargs = {"net_arch": list(cfg.hidden_dims)}
    if cfg.algo == "ppo":
        return PPO("MlpPolicy", vec, n_steps=cfg.steps_per_iteration, batch_size=cfg.batch_size,
                   learning_rate=cfg.learning_rate, gamma=cfg.gamma, policy_kwargs=policy_kwargs,
                   device=device, seed=seed, verbose=0)  # fmt: skip
    return SAC("MlpPolicy", vec, learning_rate=cfg.learning_rate, batch_size=cfg.batch_size, gamma=cfg.gamma,
               policy_kwargs=policy_kwargs, device=device, seed=seed, verbose=0, learning_starts=cfg.batch_size,
               train_freq=1, gradient_steps=1)  # fmt: skip


def _model_bytes(model: Any) -> bytes:
    buf = io.BytesIO()
    model.save(buf)
    return buf.getvalue()


def _load_model(cfg: Sb3Cfg, data: bytes, vec: Any, device: str) -> Any:
    from stable_baselines3 import PPO, SAC

    cls = PPO if cfg.algo == "ppo" else SAC
    return cls.load(io.BytesIO(data), env=vec, device=device)


def train_sb3(spec: Any, run: Path, state: dict | None, ckpt: Path | None):
    from stable_baselines3.common.callbacks import BaseCallback
    from torch.utils.tensorboard import SummaryWriter

    from robolearn.adapters.sb3 import Sb3VecEnv
    from robolearn.policies import setup
    from robolearn.policies.lifecycle import restore_training_state, training_state
    from robolearn.policies.train import TrainResult, _Interrupt, console

    cfg: Sb3Cfg = spec.agent
    setup.set_threads(cfg.torch_threads)
    clean_temp_files(run)
    env = setup.make_env(spec.env, spec.device)
    vec = Sb3VecEnv(env, action_bound=cfg.action_bound)
    start_it, env_steps, wall_before = 0, 0, 0.0
    if state is not None:
        model = _load_model(cfg, state["sb3_zip"], vec, spec.device)
        start_it, env_steps, wall_before = state["iteration"], state["env_steps"], state["wall_time"]
        restore_training_state(env, None, state, ckpt)
        _restore_rollout_state(model, vec, state)
        console.print(f"resumed {run} from {ckpt} (iteration {start_it})")
    else:
        model = _make_model(cfg, vec, spec.device, spec.seed)
    writer = SummaryWriter(log_dir=str(run), flush_secs=10)
    metrics = MetricsLog(run, keep_until=start_it)
    per_it = env.num_envs * cfg.steps_per_iteration
    t_start = time.perf_counter()

    class Logger(BaseCallback):
        def __init__(self, interrupt: _Interrupt):
            super().__init__()
            self.interrupt = interrupt
            self.it, self.steps, self.last = start_it, 0, time.perf_counter()
            self.returns: deque[float] = deque(state["episodes"]["returns"] if state and "episodes" in state else (),
                                               maxlen=RETURN_WINDOW)  # fmt: skip
            self.lengths: deque[float] = deque(state["episodes"]["lengths"] if state and "episodes" in state else (),
                                               maxlen=RETURN_WINDOW)  # fmt: skip
            self.logs: dict[str, list[float]] = defaultdict(list)
            self.last_ckpt: Path | None = None

        def save(self) -> Path:
            data = {"actor_state_dict": self.model.policy.state_dict(), "sb3_zip": _model_bytes(self.model),
                    "iteration": self.it, "env_steps": env_steps + (self.it - start_it) * per_it,
                    "wall_time": wall_before + time.perf_counter() - t_start, "task": spec.task,
                    "algo": spec.algo, **training_state(env, None),
                    "episodes": {"returns": list(self.returns), "lengths": list(self.lengths)},
                    "sb3_rollout": _rollout_state(vec, self.locals)}  # fmt: skip
            path = checkpoint_path(run, self.it)
            atomic_torch_save(data, path)
            self.last_ckpt = path
            return path

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.returns.append(info["episode"]["r"])
                    self.lengths.append(info["episode"]["l"])
            for key, value in env.extras.get("log", {}).items():
                self.logs[key].append(float(value))
            self.steps += 1
            if self.steps % cfg.steps_per_iteration:
                return True
            now = time.perf_counter()
            row = {"iteration": self.it, "env_steps": env_steps + (self.it + 1 - start_it) * per_it,
                   "wall_time": round(wall_before + now - t_start, 3),
                   "mean_return": statistics.fmean(self.returns) if self.returns else math.nan,
                   "mean_episode_length": statistics.fmean(self.lengths) if self.lengths else math.nan,
                   "fps": per_it / (now - self.last), **{k: statistics.fmean(v) for k, v in self.logs.items()}}  # fmt: skip
            self.last = now
            self.logs.clear()
            metrics.write(row)
            for key, value in row.items():
                if key != "iteration" and isinstance(value, float) and math.isfinite(value):
                    writer.add_scalar(key if "/" in key else f"Train/{key}", value, row["env_steps"])
            self.it += 1
            if self.it % cfg.save_interval == 0 or self.interrupt.requested:
                self.save()
            return not self.interrupt.requested and self.it < cfg.max_iterations

    remaining = max(cfg.max_iterations - start_it, 0) * per_it
    with _Interrupt() as interrupt, writer:
        cb = Logger(interrupt)
        if remaining:
            model.learn(total_timesteps=remaining, callback=cb, reset_num_timesteps=state is None)
        if cb.last_ckpt is None or cb.last_ckpt != checkpoint_path(run, cb.it):
            cb.save()
    metrics.close()
    assert cb.last_ckpt is not None, "a checkpoint is always saved at the end"
    console.print(f"run folder: {run}  (checkpoint {cb.last_ckpt.name})")
    return TrainResult(run, cb.it, interrupt.requested, cb.last_ckpt)


def _rollout_state(vec: Any, step_locals: dict[str, Any]) -> dict[str, Any]:
    """What SB3 and the VecEnv hold between steps: each world's running episode return and length, and
    whether the next step starts an episode (SB3's `_last_episode_starts`, from the step just taken)."""
    dones = step_locals.get("dones")
    starts = np.asarray(dones, dtype=bool).copy() if dones is not None else np.zeros(vec.num_envs, dtype=bool)
    return {"returns": vec._returns.copy(), "lengths": vec._lengths.copy(), "episode_starts": starts}


def _restore_rollout_state(model: Any, vec: Any, state: dict[str, Any]) -> None:
    """Point SB3 at the restored worlds: without `_last_obs` it resets every world before learning."""
    if "sb3_rollout" not in state:
        return  # an older checkpoint: SB3 resets the worlds, as it always did
    rollout = state["sb3_rollout"]
    vec._returns[:] = rollout["returns"]
    vec._lengths[:] = rollout["lengths"]
    model._last_obs = vec.env.obs_buf[vec.group].cpu().numpy().copy()
    model._last_episode_starts = rollout["episode_starts"].copy()


def load_sb3_policy(spec: Any, ckpt: Path, env: Any) -> tuple[Any, Any]:
    """(SB3 model, act) where act(obs dict) -> deterministic actions as a tensor on the env's device."""
    from robolearn.adapters.sb3 import Sb3VecEnv
    from robolearn.policies.runs import load_checkpoint

    _, state = load_checkpoint(ckpt.parent.parent, ckpt)
    model = _load_model(
        spec.agent, state["sb3_zip"], Sb3VecEnv(env, action_bound=spec.agent.action_bound), "cpu"
    )

    def act(obs: dict[str, torch.Tensor]) -> torch.Tensor:
        actions, _ = model.predict(obs["policy"].cpu().numpy(), deterministic=True)
        return torch.as_tensor(np.asarray(actions), dtype=torch.float32, device=env.device)

    return model, act
