"""The whole mutable state of a ManagerBasedRlEnv, saved and restored, so a resumed training run continues
the worlds where the checkpoint left them: the same physics, episodes, commands and curricula.

What is state (found by walking the env rather than listed per term, so a new term's buffers travel too):
- the physics: every world's integration state (`SimBackend.get_state`) and the model fields randomized
  per world;
- the env: episode lengths, step counter, terrain levels and origins, the observation buffers, `term_state`
  (curriculum bookkeeping such as the command levels' decision window), the env's random generator;
- every manager's and term's own tensors and plain numbers (command timers and values, a curriculum-scaled
  command range, observation history, episode reward sums, event timers, action queues), and the reward
  weights a curriculum may rescale.

Objects that are caches or constants rebuilt with the env (a terrain raster, a frozen policy network) are not
state; tensors are restored in place, so views between them (episode sums over one buffer, an observation
over its history) stay views.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

SNAPSHOT_VERSION = 1
ENV_FIELDS = ("episode_length_buf", "common_step_counter", "nan_resets", "terrain_levels", "terrain_types",
              "env_origins", "obs_buf")  # fmt: skip
SKIPPED_ATTRS = {"env", "cfg", "entity", "marker", "sim", "scene", "model", "terms"}
"""Attributes of a term or manager that are references to other objects, not its own state."""
# Constant attributes of several MB on some terms (motion clip frames) would only be copied back.
PLAIN = (bool, int, float, str)


class SnapshotError(ValueError):
    """A saved env state that does not fit this env (another task layout, number of worlds or backend)."""


def _stateful(env: ManagerBasedRlEnv) -> dict[str, Any]:
    objects: dict[str, Any] = {
        "observations": env.observation_manager,
        "rewards": env.reward_manager,
        "terminations": env.termination_manager,
        "events": env.event_manager,
        "actions": env.action_manager,
    }
    objects.update({f"commands.{k}": t for k, t in env.command_manager.terms.items()})
    objects.update({f"actions.{k}": t for k, t in env.action_manager.terms.items()})
    return objects


def _capture(value: Any) -> Any:
    """A detached copy of a tensor, plain value, or dict/list of them; None for anything else."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, PLAIN) or value is None:
        return value
    if isinstance(value, dict):
        return {k: _capture(v) for k, v in value.items() if _is_state(v)}
    if isinstance(value, (list, tuple)) and all(_is_state(v) for v in value):
        return type(value)(_capture(v) for v in value)
    return None


def _is_state(value: Any) -> bool:
    if isinstance(value, (torch.Tensor, *PLAIN)) or value is None:
        return True
    if isinstance(value, dict):
        return all(isinstance(k, str) for k in value)
    if isinstance(value, (list, tuple)):
        return all(_is_state(v) for v in value)
    return False


def object_state(obj: Any) -> dict[str, Any]:
    """An object's own state: its attributes that are tensors, plain values, or containers of them."""
    return {k: _capture(v) for k, v in vars(obj).items() if k not in SKIPPED_ATTRS and _is_state(v)}


def env_state(env: ManagerBasedRlEnv) -> dict[str, Any]:
    """Everything `load_env_state` needs to put a freshly built env of the same config where `env` is."""
    return {
        "version": SNAPSHOT_VERSION,
        "num_envs": env.num_envs,
        "backend": env.sim.name,
        "sim": env.sim.get_state(),
        "model": {k: v.clone() for k, v in env.sim.per_world_fields().items()},
        "rng": env.rng.get_state(),
        "env": {k: _capture(getattr(env, k)) for k in ENV_FIELDS},
        "term_state": _capture(env.term_state),
        "objects": {path: object_state(obj) for path, obj in _stateful(env).items()},
        "reward_weights": {k: t.weight for k, t in env.reward_manager.terms.items()},
    }


def load_env_state(env: ManagerBasedRlEnv, state: dict[str, Any]) -> None:
    """Restore an `env_state` into `env` (built from the same config); a mismatch raises SnapshotError
    naming the first field that does not fit, before the physics is touched."""
    if state.get("version") != SNAPSHOT_VERSION:
        raise SnapshotError(f"env state version {state.get('version')!r}, expected {SNAPSHOT_VERSION}")
    if state["num_envs"] != env.num_envs or state["backend"] != env.sim.name:
        raise SnapshotError(f"env state of {state['num_envs']} worlds on the {state['backend']!r} backend; "
                            f"this env has {env.num_envs} on {env.sim.name!r}")  # fmt: skip
    objects = _stateful(env)
    if set(state["objects"]) != set(objects):
        raise SnapshotError(f"env state terms {sorted(state['objects'])}, this env's {sorted(objects)}")
    if set(state["reward_weights"]) != set(env.reward_manager.terms):
        raise SnapshotError(f"env state rewards {sorted(state['reward_weights'])}, "
                            f"this env's {sorted(env.reward_manager.terms)}")  # fmt: skip
    # Check every tensor's shape first, so a mismatch leaves the env as it was.
    for path, saved in state["objects"].items():
        _check(vars(objects[path]), saved, path)
    _check({k: getattr(env, k) for k in ENV_FIELDS}, state["env"], "env")
    env.sim.set_state(state["sim"])
    changed = False
    for name, values in state["model"].items():
        field = env.sim.model_field(name)
        changed |= not torch.equal(field, values.to(field.device))
        field.copy_(values)
    if changed:  # fields randomized after startup (a fresh env redraws the startup ones identically)
        env.sim.set_const()  # derived constants (subtree masses, inertia-dependent terms) follow the fields
    env.rng.set_state(state["rng"])
    for path, saved in state["objects"].items():
        _restore(vars(objects[path]), saved)
    _restore(env.__dict__, state["env"])
    env.term_state.clear()
    env.term_state.update(_capture(state["term_state"]))
    for k, weight in state["reward_weights"].items():
        env.reward_manager.terms[k].weight = weight
    env._update_entities()


def _check(live: dict[str, Any], saved: dict[str, Any], where: str) -> None:
    for key, value in saved.items():
        current = live.get(key)
        if isinstance(value, torch.Tensor):
            if not isinstance(current, torch.Tensor) or current.shape != value.shape:
                shape = tuple(current.shape) if isinstance(current, torch.Tensor) else type(current).__name__
                raise SnapshotError(
                    f"env state {where}.{key}: saved {tuple(value.shape)}, this env has {shape}"
                )
        elif isinstance(value, dict) and isinstance(current, dict):
            _check(current, value, f"{where}.{key}")


def _restore(live: dict[str, Any], saved: dict[str, Any]) -> None:
    for key, value in saved.items():
        current = live.get(key)
        if isinstance(value, torch.Tensor) and isinstance(current, torch.Tensor):
            current.copy_(value)  # in place: other tensors may be views of this one
        elif isinstance(value, dict) and isinstance(current, dict):
            _restore(current, value)
        else:
            live[key] = _capture(value)
