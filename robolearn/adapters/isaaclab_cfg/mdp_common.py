"""What the Isaac Lab term modules share: the robot's default `asset_cfg`, the converted sensor reference and the
lookups of an asset, its joints, bodies and contact rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from robolearn.adapters.isaaclab_cfg.managers import SceneEntityCfg

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv as Env

ROBOT = SceneEntityCfg("robot")
"""Isaac Lab's default `asset_cfg=SceneEntityCfg("robot")`."""


@dataclass
class SensorRef:
    """A converted `sensor_cfg`: the Isaac Lab sensor's name, and what robolearn reads for it."""

    name: str
    group: str = ""
    """The contact-sensor group (robolearn.scene.ContactSensorCfg) holding the term's bodies."""
    size: tuple[float, float] = (1.6, 1.0)
    resolution: float = 0.1
    """A height scanner's grid (m)."""


def asset(env: Env, cfg: Any) -> Any:
    """The entity a term's `asset_cfg` names (the main robot's view is kept up to date by the env)."""
    if cfg is None or cfg.name == "robot":
        return env.robot
    entity = env.scene[cfg.name]
    entity.update()
    return entity


def joints(cfg: Any) -> Any:
    """The joint columns an `asset_cfg` selects (all when it names none or is Isaac Lab's unresolved default)."""
    return getattr(cfg, "joint_ids", slice(None))


def body_sel(cfg: Any) -> Any:
    """The entity-body indices an `asset_cfg` selects, as a slice or an index tensor."""
    ids = getattr(cfg, "body_ids", slice(None))
    return ids if isinstance(ids, slice) else torch.as_tensor(ids, dtype=torch.long)


def contacts(env: Env, sensor_cfg: SensorRef) -> torch.Tensor:
    """(N, bodies, 4) rows of (found, fx, fy, fz) of the term's contact group."""
    return env.sim.sensordata[:, env.scene.contact_slices[sensor_cfg.group]].reshape(env.num_envs, -1, 4)


def uniform(env: Env, lo: float, hi: float, shape: tuple[int, ...]) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(shape, device=env.device, generator=env.rng, dtype=torch.float64)
