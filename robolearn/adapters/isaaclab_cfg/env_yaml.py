"""An Isaac Lab-shaped config as Isaac Lab's run folders hold it (`params/env.yaml`), and the signatures of the
term functions, for checks against the real `isaaclab` package (benchmarks/isaaclab_real.py).

Term functions are written under Isaac Lab's own import paths (`isaaclab.envs.mdp:<name>`, or the velocity
task's mdp package for its terms), so Isaac Lab's `update_class_from_dict` resolves them to its functions.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from robolearn.adapters.isaaclab_cfg import mdp
from robolearn.adapters.isaaclab_cfg.configclass import to_dict
from robolearn.adapters.isaaclab_cfg.managers import ManagerBasedRLEnvCfg
from robolearn.adapters.isaaclab_cfg.terms import UncoveredTerm
from robolearn.adapters.isaaclab_io import write_isaaclab_yaml

ISAACLAB_MDP = "isaaclab.envs.mdp"
VELOCITY_MDP = "isaaclab_tasks.core.velocity.mdp"
VELOCITY_TERMS = {
    "feet_air_time", "feet_air_time_positive_biped", "feet_air_time_variance", "feet_slide",
    "stand_still_joint_deviation_l1", "terrain_levels_vel", "terrain_out_of_bounds", "track_ang_vel_z_world_exp",
    "track_lin_vel_xy_yaw_frame_exp",
}  # fmt: skip
"""Terms of Isaac Lab's velocity task package (isaaclab_tasks), not of isaaclab.envs.mdp."""

MDP_GROUPS = ("observations", "actions", "commands", "rewards", "terminations", "events", "curriculum")


def isaaclab_path(fn: Any) -> str:
    """Where Isaac Lab defines the term function `fn` of this package's mdp ('module:name')."""
    name = fn.name if isinstance(fn, UncoveredTerm) else fn.__name__
    return f"{VELOCITY_MDP if name in VELOCITY_TERMS else ISAACLAB_MDP}:{name}"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, tuple):  # stays a tuple: written with Isaac Lab's !!python/tuple tag, as its dump is
        return tuple(_plain(v) for v in value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if (
        isinstance(value, str) and value.startswith(mdp.__name__) and ":" in value
    ):  # mdp, mdp_events, mdp_feet
        return isaaclab_path(getattr(mdp, value.split(":", 1)[1]))
    return value


def env_dict(cfg: ManagerBasedRLEnvCfg) -> dict[str, Any]:
    """The MDP part of `params/env.yaml` for `cfg`: timing, scene size and every term group (None entries,
    the terms a task removed, are left out)."""
    out: dict[str, Any] = {
        "decimation": cfg.decimation,
        "episode_length_s": cfg.episode_length_s,
        "sim": {"dt": cfg.sim.dt, "render_interval": cfg.sim.render_interval},
        "scene": {"num_envs": cfg.scene.num_envs, "env_spacing": cfg.scene.env_spacing},
    }
    for group in MDP_GROUPS:
        value = getattr(cfg, group, None)
        if value is not None:
            out[group] = _plain(to_dict(value))
    return out


def write_env_yaml(cfg: ManagerBasedRLEnvCfg, path: str | os.PathLike[str]) -> Path:
    """Write `env_dict(cfg)` to `path` with Isaac Lab's tags, whole or not at all (robolearn.adapters.isaaclab_io,
    the writer `robolearn export <run> --isaaclab` uses too)."""
    return write_isaaclab_yaml(path, env_dict(cfg))


def signatures() -> dict[str, list[list[Any]]]:
    """Each covered term function's parameters: [name, has a default], in order."""
    out = {}
    for name in mdp.COVERED:
        params = inspect.signature(getattr(mdp, name)).parameters.values()
        out[name] = [[p.name, p.default is not inspect.Parameter.empty] for p in params]
    return out
