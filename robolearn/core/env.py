"""The batched, auto-resetting, manager-based RL env.

One env holds `num_envs` independent MuJoCo worlds on a sim backend. `step` applies
actions, advances `decimation` physics substeps in one backend call, then computes
rewards, terminations, resets and observations on batched torch tensors.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from typing import Any

import mujoco
import torch

from robolearn.core.actions import ActionManager
from robolearn.core.cfg import EnvCfg
from robolearn.core.commands import CommandManager
from robolearn.core.entity import Entity
from robolearn.core.managers import (
    CurriculumManager,
    EventManager,
    ObservationManager,
    RewardManager,
    TerminationManager,
)
from robolearn.scene import MAIN_ENTITY, build_scene
from robolearn.sim import make_backend

log = logging.getLogger(__name__)

RobotData = Entity
"""The main robot's views (the name terms and learners have always imported)."""


class ManagerBasedRlEnv:
    """Batched RL env; `step` and `reset` return dicts of observation groups as float32 tensors."""

    def __init__(self, cfg: EnvCfg, device: str | None = None, num_envs: int | None = None):
        if num_envs is not None:
            cfg = dataclasses.replace(cfg, num_envs=num_envs)
        if cfg.num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {cfg.num_envs}")
        self.cfg = cfg
        self.num_envs = cfg.num_envs
        scene_cfg = dataclasses.replace(cfg.scene, timestep=cfg.sim.dt)
        self.scene = build_scene(scene_cfg)
        self.sim = make_backend(cfg.sim.backend, self.scene.model, cfg.num_envs, cfg.sim.num_threads)
        self.device = torch.device(device or cfg.sim.device or self.sim.device)
        self.step_dt = cfg.sim.dt * cfg.decimation
        self.max_episode_length = math.ceil(cfg.episode_length_s / self.step_dt)
        self.rng = torch.Generator(device=self.device)
        self.rng.manual_seed(cfg.seed)
        key_id = (
            mujoco.mj_name2id(self.scene.model, mujoco.mjtObj.mjOBJ_KEY, cfg.keyframe) if cfg.keyframe else -1
        )
        self.keyframe: int | None = int(key_id) if key_id >= 0 else None
        """The scene keyframe worlds reset to (default state of every entity); qpos0 when None."""
        for name, layout in self.scene.entities.items():
            base = (cfg.base_body or None) if name == MAIN_ENTITY else None
            self.scene.views[name] = Entity(layout, self.scene.model, self.sim, self.keyframe, base)
        self.robot: Entity = self.scene.views.get(MAIN_ENTITY)  # type: ignore[assignment]
        """The main robot (entity `robot`); None in a scene without one (then name entities explicitly)."""
        self._moving = [e for e in self.scene.views.values() if not e.fixed_base and e is not self.robot]
        self._placed = [e for e in self.scene.views.values() if not e.fixed_base or e._mocap >= 0]
        self.episode_length_buf = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        self.common_step_counter = 0
        self.nan_resets = 0
        self.physics_time = 0.0
        """Seconds spent in the physics backend's step (training's time shares read it)."""
        self.extras: dict[str, Any] = {"log": {}}
        self.keep_terminal_obs = False
        """When True, `extras["terminal_obs"]` holds every group's observation before auto-reset."""
        self.term_state: dict[str, Any] = {}
        """Buffers of stateful terms (e.g. feet air time), keyed by term."""
        # Terrain curriculum state (rough terrain only): each world's tile row (level) and column.
        origins = self.scene.terrain_origins
        self.terrain_origins = None if origins is None else torch.as_tensor(origins, device=self.device)
        self.terrain_levels = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        self.terrain_types = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        if origins is not None:
            self.terrain_types = torch.arange(self.num_envs, device=self.device) % origins.shape[1]
        self.env_origins = torch.zeros(self.num_envs, 3, dtype=torch.float64, device=self.device)
        self._update_env_origins(torch.arange(self.num_envs, device=self.device))

        # Commands first: a frozen-policy action term reads its entity and commands when it is built.
        self.command_manager = CommandManager(cfg.commands, self)
        self.event_manager = EventManager(cfg.events, self)
        self.reward_manager = RewardManager(cfg.rewards, self)
        self.termination_manager = TerminationManager(cfg.terminations, self)
        self.curriculum_manager = CurriculumManager(cfg.curriculum, self)
        all_ids = torch.arange(self.num_envs, device=self.device)
        self.event_manager.apply("startup", all_ids)
        # Action terms after the startup randomization: they see the randomized model, and a term that draws
        # from env.rng when built (action latency) draws after the startup events, as a startup event would.
        self.action_manager = ActionManager(cfg.actions, self)
        self._reset_idx(all_ids)
        self.observation_manager = ObservationManager(cfg.observations, self)
        self.obs_buf = self.observation_manager.compute()

    # -- properties used by adapters and learners --------------------------------------------
    @property
    def num_actions(self) -> int:
        return self.action_manager.dim

    @property
    def camera_body(self) -> int:
        """The body videos follow: the main robot's base, else the first entity's root."""
        entity = self.robot if self.robot is not None else next(iter(self.scene.views.values()), None)
        return entity.base_id if entity is not None else 0

    def observation_dims(self) -> dict[str, int]:
        return {g: self.observation_manager.group_dim(g) for g in self.cfg.observations}

    # -- the loop ------------------------------------------------------------------------------
    def seed(self, seed: int) -> None:
        self.rng.manual_seed(seed)

    def reset(self, seed: int | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        if seed is not None:
            self.seed(seed)
        all_ids = torch.arange(self.num_envs, device=self.device)
        self._reset_idx(all_ids)
        self.obs_buf = self.observation_manager.compute()
        return self.obs_buf, self.extras

    def step(
        self, action: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor, dict]:
        self.action_manager.process(action)
        t_physics = time.perf_counter()
        self.sim.step(self.cfg.decimation)
        self.physics_time += time.perf_counter() - t_physics
        self.episode_length_buf += 1
        self.common_step_counter += 1

        # Worlds whose state went NaN/inf (or whose controls did) and worlds the policy sent a NaN/inf action
        # (the action manager already replaced it by zeros): reset and counted, their last step's reward is 0.
        bad = self.sim.diverged().to(self.device)
        if self.action_manager.any_nonfinite:
            bad = bad | self.action_manager.nonfinite
        any_bad = bool(bad.any())
        if any_bad:
            bad_ids = bad.nonzero(as_tuple=True)[0]
            self.nan_resets += len(bad_ids)
            self._log_nan_resets(bad_ids)
            self.sim.reset(bad_ids.to(self.sim.device), self.keyframe)
        self._update_entities()
        self.command_manager.compute(self.step_dt)

        terminated, time_out = self.termination_manager.compute()
        reward = self.reward_manager.compute(self.step_dt, bad if any_bad else None)
        if any_bad:  # rare: skip two full-batch ops on the usual step
            terminated |= bad
            time_out &= ~bad
            reward = torch.where(bad, torch.zeros_like(reward), reward)

        self.extras = {"log": {}, "time_outs": time_out}
        reset_ids = (terminated | time_out).nonzero(as_tuple=True)[0]
        if not self.cfg.auto_reset:
            reset_ids = reset_ids[:0]  # the caller resets (EnvCfg.auto_reset)
        if self.keep_terminal_obs and len(reset_ids):
            # Adapters that bootstrap on truncation (SB3, gymnasium) need the last observation of an episode.
            self.extras["terminal_obs"] = self.observation_manager.compute(update_history=False)
        if len(reset_ids):
            self._reset_idx(reset_ids)
        self.command_manager.compute_after_resets(self.step_dt)
        self.event_manager.apply("interval", reset_ids, self.step_dt)
        self.obs_buf = self.observation_manager.compute()
        self.extras["log"]["Sim/nan_resets"] = float(self.nan_resets)
        return self.obs_buf, reward, terminated, time_out, self.extras

    def _log_nan_resets(self, bad_ids: torch.Tensor) -> None:
        actions = self.action_manager.nonfinite[bad_ids]
        shown = bad_ids[:8].tolist()
        more = f" and {len(bad_ids) - 8} more" if len(bad_ids) > 8 else ""
        log.warning(
            "step %d: reset %d world(s) %s%s (%d for a NaN/inf action, %d for a NaN/inf or diverged state); "
            "Sim/nan_resets = %d",
            self.common_step_counter, len(bad_ids), shown, more, int(actions.sum()), int((~actions).sum()),
            self.nan_resets,
        )  # fmt: skip

    def _update_entities(self) -> None:
        if self.robot is not None:
            self.robot.update()
        for entity in self._moving:
            entity.update()

    def _update_env_origins(self, env_ids: torch.Tensor) -> None:
        if self.terrain_origins is None:
            return  # each world is its own simulation: on flat ground every robot can start at the origin
        self.env_origins[env_ids] = self.terrain_origins[
            self.terrain_levels[env_ids], self.terrain_types[env_ids]
        ].to(self.env_origins.dtype)

    def _reset_idx(self, env_ids: torch.Tensor) -> None:
        log: dict[str, float] = {}
        log.update(self.curriculum_manager.update(env_ids))
        self._update_env_origins(env_ids)
        if hasattr(self, "reward_manager"):
            log.update(self.reward_manager.reset(env_ids, self.cfg.episode_length_s))
            log.update(self.termination_manager.reset(env_ids))
        log.update(self.command_manager.reset(env_ids))
        sim_ids = env_ids.to(self.sim.device)
        self.sim.reset(sim_ids, self.keyframe)
        if self.terrain_origins is not None:
            for entity in self._placed:
                root = entity.root_pose_w[sim_ids]
                root[:, :3] += self.env_origins[env_ids].to(root.dtype)
                entity.write_root_pose(env_ids, root)
        self.event_manager.apply("reset", env_ids)
        log.update(self.command_manager.reset_after_events(env_ids))
        self.command_manager.after_sim_reset(env_ids)
        self.event_manager.reset(env_ids)
        self.sim.forward(sim_ids)
        self.action_manager.reset(env_ids)
        self.episode_length_buf[env_ids] = 0
        if hasattr(self, "observation_manager"):
            self.observation_manager.reset(env_ids)
        self._update_entities()
        self.extras.setdefault("log", {}).update(log)

    def close(self) -> None:
        pass
