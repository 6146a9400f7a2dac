"""Managers: each owns one kind of term (observations, rewards, terminations, events, curricula).

They are deliberately thin: a manager calls its term functions on the batched env and combines
the results; all logic specific to a task lives in the terms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from robolearn.core.cfg import CurriculumTerm, EventTerm, ObsGroupCfg, RewardTerm, TerminationTerm
from robolearn.core.entity import resolve_params

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


class ObservationManager:
    def __init__(self, groups: dict[str, ObsGroupCfg], env: ManagerBasedRlEnv):
        self.groups = groups
        self.env = env
        self.term_dims: dict[str, dict[str, int]] = {}
        self._history: dict[str, torch.Tensor] = {}
        for name, group in groups.items():
            for term in group.terms.values():
                resolve_params(term.params, env.scene)
            dims = {
                t: int(term.func(env, **term.params).reshape(env.num_envs, -1).shape[1])
                for t, term in group.terms.items()
            }
            self.term_dims[name] = dims
            if group.history_length > 1:
                width = sum(dims.values())
                self._history[name] = torch.zeros(
                    env.num_envs, group.history_length, width, device=env.device
                )
        self._fresh = torch.ones(env.num_envs, dtype=torch.bool, device=env.device)

    def group_dim(self, name: str) -> int:
        return sum(self.term_dims[name].values()) * max(self.groups[name].history_length, 1)

    def reset(self, env_ids: torch.Tensor) -> None:
        self._fresh[env_ids] = True

    def compute_group(self, name: str, update_history: bool = True) -> torch.Tensor:
        group = self.groups[name]
        env, n = self.env, self.env.num_envs
        parts = []
        # Called twice per step per group: every skipped no-op call (.to of a float32 term, a temporary for the
        # noise) counts, ~18 terms a step on the velocity tasks. Same operations in the same order: same values.
        for term in group.terms.values():
            x = term.func(env, **term.params)
            if x.dim() != 2 or x.shape[0] != n:
                x = x.reshape(n, -1)
            if x.dtype != torch.float32:
                x = x.to(torch.float32)
            if group.enable_noise and term.noise > 0:
                u = torch.rand(x.shape, device=x.device, generator=env.rng)
                x = x + u.mul_(2).sub_(1).mul_(term.noise)
            if term.clip is not None:
                x = x.clamp(-term.clip, term.clip)
            if term.scale != 1.0:
                x = x * term.scale
            parts.append(x)
        obs = torch.cat(parts, dim=-1)
        if name in self._history and not update_history:
            # A terminal observation: what the next frame would be, without touching the buffer.
            return torch.cat([self._history[name][:, 1:], obs.unsqueeze(1)], dim=1).reshape(
                self.env.num_envs, -1
            )
        if name in self._history:
            hist = self._history[name]
            hist[:] = torch.roll(hist, shifts=-1, dims=1)
            hist[:, -1] = obs
            fresh = self._fresh.nonzero(as_tuple=True)[0]
            if len(fresh):
                hist[fresh] = obs[fresh].unsqueeze(1)  # a new episode starts with its first frame repeated
            obs = hist.reshape(self.env.num_envs, -1)
        return obs

    def compute(self, update_history: bool = True) -> dict[str, torch.Tensor]:
        out = {name: self.compute_group(name, update_history) for name in self.groups}
        if update_history:
            self._fresh[:] = False
        return out


class RewardManager:
    def __init__(self, terms: dict[str, RewardTerm], env: ManagerBasedRlEnv):
        self.terms = {k: t for k, t in terms.items() if t.weight != 0.0}
        self.env = env
        for t in self.terms.values():
            resolve_params(t.params, env.scene)
        n = env.num_envs
        # One row per term; the dicts hold row views. Episode sums then take one add per step instead of one
        # per term: each torch op costs ~10 us on a step after the physics (cold caches), 13 terms on Go2.
        self._values = torch.zeros(len(self.terms), n, device=env.device)
        self._sums = torch.zeros_like(self._values)
        self.step_values = {k: self._values[i] for i, k in enumerate(self.terms)}
        """This step's weighted values (rows overwritten every step; a term may read earlier terms' rows)."""
        self.episode_sums = {k: self._sums[i] for i, k in enumerate(self.terms)}

    def compute(self, dt: float, discard: torch.Tensor | None = None) -> torch.Tensor:
        """This step's total reward; `discard` (N,) bool marks worlds whose step does not count (reset for a
        NaN/inf action or state): their term values are 0, so the episode sums stay finite."""
        env = self.env
        total = torch.zeros(env.num_envs, device=env.device)
        for row, term in zip(self._values, self.terms.values(), strict=True):
            value = term.func(env, **term.params)
            if value.dtype != torch.float32:
                value = value.to(torch.float32)
            torch.mul(value, term.weight * dt, out=row)
            if discard is not None:
                row.masked_fill_(discard, 0.0)
            total += row
        self._sums += self._values
        return total

    def reset(self, env_ids: torch.Tensor, episode_length_s: float) -> dict[str, float]:
        log = {}
        for name, sums in self.episode_sums.items():
            log[f"Episode_Reward/{name}"] = float(sums[env_ids].mean()) / episode_length_s
            sums[env_ids] = 0.0
        return log


class TerminationManager:
    def __init__(self, terms: dict[str, TerminationTerm], env: ManagerBasedRlEnv):
        self.terms = terms
        self.env = env
        for t in terms.values():
            resolve_params(t.params, env.scene)
        self.term_dones = {k: torch.zeros(env.num_envs, dtype=torch.bool, device=env.device) for k in terms}

    def compute(self) -> tuple[torch.Tensor, torch.Tensor]:
        n = self.env.num_envs
        terminated = torch.zeros(n, dtype=torch.bool, device=self.env.device)
        time_out = torch.zeros_like(terminated)
        for name, term in self.terms.items():
            done = term.func(self.env, **term.params)
            self.term_dones[name] = done
            if term.time_out:
                time_out |= done
            else:
                terminated |= done
        return terminated, time_out & ~terminated

    def reset(self, env_ids: torch.Tensor) -> dict[str, float]:
        return {f"Episode_Termination/{k}": float(d[env_ids].sum()) for k, d in self.term_dones.items()}


class EventManager:
    def __init__(self, terms: dict[str, EventTerm], env: ManagerBasedRlEnv):
        self.terms = terms
        self.env = env
        for t in terms.values():
            resolve_params(t.params, env.scene)
        self._next_fire = {
            k: self._draw_interval(t, env.num_envs) for k, t in terms.items() if t.mode == "interval"
        }
        self._by_mode: dict[str, list[tuple[str, EventTerm]]] = {}
        for k, t in terms.items():
            self._by_mode.setdefault(t.mode, []).append((k, t))

    def _draw_interval(self, term: EventTerm, n: int) -> torch.Tensor:
        lo, hi = term.interval_range_s
        return lo + (hi - lo) * torch.rand(n, device=self.env.device, generator=self.env.rng)

    def reset(self, env_ids: torch.Tensor) -> None:
        for name, timer in self._next_fire.items():
            timer[env_ids] = self._draw_interval(self.terms[name], len(env_ids))

    def apply(self, mode: str, env_ids: torch.Tensor, dt: float = 0.0) -> None:
        for name, term in self._by_mode.get(mode, ()):
            if mode == "interval":
                timer = self._next_fire[name]
                timer -= dt
                due = (timer <= 0).nonzero(as_tuple=True)[0]
                if len(due):
                    timer[due] = self._draw_interval(term, len(due))
                    term.func(self.env, due, **term.params)
            else:
                term.func(self.env, env_ids, **term.params)


class CurriculumManager:
    def __init__(self, terms: dict[str, CurriculumTerm], env: ManagerBasedRlEnv):
        self.terms = terms
        self.env = env
        for t in terms.values():
            resolve_params(t.params, env.scene)

    def update(self, env_ids: torch.Tensor) -> dict[str, float]:
        log = {}
        for name, term in self.terms.items():
            value = term.func(self.env, env_ids, **term.params)
            if value is not None:
                log[f"Curriculum/{name}"] = float(value)
        return log
