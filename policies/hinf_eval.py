"""Disturbances for evaluating locomotion policies: random forces, impulses, a trained disturber.

Each is applied to the trunk through `xfrc_applied` around `env.step`, by `evaluate(..., disturbance=)`
and by `robolearn eval <run> --disturbance SPEC`, where SPEC is one of
  none | random:<max N> | impulse:<N> | disturber:<run folder or checkpoint>
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from tensordict import TensorDict

from robolearn.policies.hinf import FORCE_DIM, TrunkForce, load_disturber, squash_force
from robolearn.rl import HInfCfg

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

RANDOM_HOLD_S = 0.5
"""Random continuous forces are redrawn this often (s)."""
IMPULSE_AT_S = 2.0
"""Impulses hit this long after an episode starts (s), once the gait has settled."""
IMPULSE_DURATION_S = 0.1


def _horizontal_directions(n: int, gen: torch.Generator, device: torch.device) -> torch.Tensor:
    angle = 2 * math.pi * torch.rand(n, generator=gen, device=device)
    return torch.stack([torch.cos(angle), torch.sin(angle), torch.zeros_like(angle)], dim=-1)


class Disturbance:
    """Base: a force buffer on the trunk; subclasses decide the force before each step."""

    name = "none"

    def reset(self, env: ManagerBasedRlEnv, seed: int) -> None:
        self.force = TrunkForce(env, env.cfg.base_body)
        self.gen = torch.Generator(device=env.device)
        self.gen.manual_seed(seed)

    def before_step(self, env: ManagerBasedRlEnv, obs: dict[str, torch.Tensor]) -> None:
        self.force.apply()

    def after_step(self, env: ManagerBasedRlEnv, done: torch.Tensor) -> None:
        self.force.clear(done.nonzero(as_tuple=True)[0])


class RandomForces(Disturbance):
    """Horizontal forces of uniform magnitude in [0, max_n], random direction, redrawn every RANDOM_HOLD_S."""

    def __init__(self, max_n: float):
        self.max_n = max_n
        self.name = f"random:{max_n:g}"

    def before_step(self, env: ManagerBasedRlEnv, obs: dict[str, torch.Tensor]) -> None:
        hold = max(round(RANDOM_HOLD_S / env.step_dt), 1)
        redraw = (env.episode_length_buf % hold) == 0
        ids = redraw.nonzero(as_tuple=True)[0]
        if len(ids):
            mag = self.max_n * torch.rand(len(ids), 1, generator=self.gen, device=env.device)
            self.force.set(mag * _horizontal_directions(len(ids), self.gen, env.device), ids)
        super().before_step(env, obs)


class Impulse(Disturbance):
    """A horizontal push of `newtons` for IMPULSE_DURATION_S at IMPULSE_AT_S into each episode."""

    def __init__(self, newtons: float):
        self.newtons = newtons
        self.name = f"impulse:{newtons:g}"

    def before_step(self, env: ManagerBasedRlEnv, obs: dict[str, torch.Tensor]) -> None:
        start = round(IMPULSE_AT_S / env.step_dt)
        stop = start + max(round(IMPULSE_DURATION_S / env.step_dt), 1)
        t = env.episode_length_buf
        on = (t >= start) & (t < stop)
        begin = (t == start).nonzero(as_tuple=True)[0]
        if len(begin):
            self.force.set(self.newtons * _horizontal_directions(len(begin), self.gen, env.device), begin)
        self.force.clear((~on).nonzero(as_tuple=True)[0])
        super().before_step(env, obs)


class TrainedDisturber(Disturbance):
    """The deterministic disturber of an H-infinity/adversarial run, capped at `cap` N (default: its force_max)."""

    def __init__(self, run: Path, cap: float | None = None):
        from robolearn.policies.runs import load_checkpoint, resolve_run
        from robolearn.policies.setup import spec_from_run

        run, ckpt = resolve_run(Path(run))
        self.path, self.state = load_checkpoint(run, ckpt, pick="--disturbance disturber:{}")
        spec = spec_from_run(run)
        if not isinstance(spec.agent, HInfCfg):
            raise ValueError(f"{run} is not an H-infinity run (algo {spec.algo!r}); it has no disturber")
        self.cfg: HInfCfg = spec.agent
        self.cap = self.cfg.force_max if cap is None else cap
        self.name = f"disturber:{run.name}"
        self._model: Any = None

    def reset(self, env: ManagerBasedRlEnv, seed: int) -> None:
        super().reset(env, seed)
        obs = TensorDict(env.obs_buf, batch_size=[env.num_envs], device=env.device)
        self._model = load_disturber(self.state, self.cfg, obs, env.num_envs, str(env.device))

    @torch.no_grad()
    def before_step(self, env: ManagerBasedRlEnv, obs: dict[str, torch.Tensor]) -> None:
        ids = ((env.episode_length_buf % self.cfg.hold_steps) == 0).nonzero(as_tuple=True)[0]
        if len(ids):
            raw = self._model.act_deterministic(TensorDict(obs, batch_size=[env.num_envs], device=env.device))
            self.force.set(squash_force(raw.reshape(-1, FORCE_DIM)[ids], self.cap), ids)
        super().before_step(env, obs)


def parse_disturbance(spec: str) -> Disturbance | None:
    """'none' | 'random:<max N>' | 'impulse:<N>' | 'disturber:<run>' -> a Disturbance (None for 'none')."""
    kind, _, arg = spec.partition(":")
    if kind == "none" and not arg:
        return None
    try:
        if kind == "random":
            return RandomForces(float(arg))
        if kind == "impulse":
            return Impulse(float(arg))
    except ValueError:
        raise ValueError(f"--disturbance {spec!r}: {kind} needs a force in newtons, e.g. {kind}:50") from None
    if kind == "disturber" and arg:
        return TrainedDisturber(Path(arg))
    raise ValueError(
        f"--disturbance {spec!r}: expected none, random:<max N>, impulse:<N> or disturber:<run folder>"
    )
