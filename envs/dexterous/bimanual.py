"""A shared scene builder for two LEAP hands on actuated 6-DoF wrists over a table, with free items.

Both hands hang palm down with their fingers along +x: the left hand at +y, the right at -y. Each wrist is
three slides (world x, y, z) and three hinges (roll, pitch, yaw about the palm), PD position servos through
`RobotEntityCfg.mount`, with gravity compensation standing in for the arm that is not modelled (the paper's
RM65 arms are not in menagerie). Items are free rigid bodies of primitive or convex-mesh parts
(`robolearn.entities.ShapeEntityCfg`), each with its own scale.

Entity names: `left_hand`, `right_hand`, `table`, then the items by their keys. Per hand, `palm_pos` and
`fingertip_pos` give the points the approach reward and the grasp test use.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mujoco
import numpy as np
import torch

from robolearn.entities import BoxEntityCfg, EntityCfg, MountJointCfg, RobotEntityCfg
from robolearn.math import quat_rotate
from robolearn.robots import robot_spec
from robolearn.scene import SceneCfg
from robolearn.terrain import TerrainCfg

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

HANDS = ("left_hand", "right_hand")
HAND_ROBOTS = {"left_hand": "leap_hand_left", "right_hand": "leap_hand"}
PALM_DOWN = (0.0, 1.0, 0.0, 0.0)
"""Both menagerie models point their fingers along +x with the palm facing +z (flexing lifts the tips);
half a turn about x puts the palm down, the left thumb then points to -y and the right thumb to +y."""
KNUCKLES = ("if_bs", "mf_bs", "rf_bs", "th_mp")
"""The palm centre is the centroid of the four finger-base bodies: the models' `palm` body origins sit
9 cm apart relative to their knuckles (left vs right), so they are no common reference."""
WRIST_JOINTS = ("wrist_x", "wrist_y", "wrist_z", "wrist_roll", "wrist_pitch", "wrist_yaw")
FINGERTIPS = ("if_tip", "mf_tip", "rf_tip", "th_tip")
"""The LEAP model's fingertip geoms (it has no fingertip sites)."""
FINGER_JOINTS = r"(?!wrist_).*"


@functools.lru_cache(maxsize=2)
def palm_centre_on_mount(robot: str) -> tuple[float, float, float]:
    """The palm centre in the mount frame of a palm-down hand (its model frame turned by PALM_DOWN)."""
    model = robot_spec(robot).compile()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    c = np.mean([data.xpos[model.body(b).id] for b in KNUCKLES], axis=0)
    return (float(c[0]), float(-c[1]), float(-c[2]))  # half a turn about x


@dataclass
class WristCfg:
    """Ranges and PD gains of a 6-DoF wrist: slides in metres around the placement, hinges in radians."""

    slide_range: tuple[tuple[float, float], tuple[float, float], tuple[float, float]] = (
        (-0.25, 0.25),
        (-0.25, 0.25),
        (-0.1, 0.35),
    )
    hinge_range: tuple[float, float] = (-1.6, 1.6)
    slide_kp: float = 400.0
    slide_damping: float = 20.0
    hinge_kp: float = 30.0
    hinge_damping: float = 2.0
    """The LEAP hand is ~0.6 kg with ~2e-3 kg m^2 about the palm: kp 30 / kd 2 settles a 0.5 rad step in ~0.1 s."""


def wrist_mount(cfg: WristCfg | None = None, pivot: tuple[float, float, float] = (0.0, 0.0, 0.0)
                ) -> dict[str, MountJointCfg]:  # fmt: skip
    """Three world-axis slides, then roll/pitch/yaw hinges about `pivot` (the palm centre, mount frame)."""
    w = cfg or WristCfg()
    axes = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    mount = {
        name: MountJointCfg("slide", axis, rng, kp=w.slide_kp, damping=w.slide_damping)
        for name, axis, rng in zip(WRIST_JOINTS[:3], axes, w.slide_range, strict=True)
    }
    for name, axis in zip(WRIST_JOINTS[3:], axes, strict=True):
        mount[name] = MountJointCfg("hinge", axis, w.hinge_range, kp=w.hinge_kp, damping=w.hinge_damping,
                                    armature=0.002, pos=pivot)  # fmt: skip
    return mount


@dataclass
class BimanualSceneCfg:
    """Two LEAP hands over a table; `items` are extra entities (free shapes) keyed by entity name."""

    table_height: float = 0.2
    table_half_size: tuple[float, float] = (0.35, 0.45)
    palm_height: float = 0.15
    """The palm centres' resting height above the table top (m)."""
    hand_y: float = 0.18
    """Each palm's distance from the table's centre line (left at +hand_y, right at -hand_y)."""
    hand_x: float = -0.05
    wrist: WristCfg = field(default_factory=WristCfg)
    items: dict[str, EntityCfg] = field(default_factory=dict)
    timestep: float = 0.005


def hand_entity(side: str, cfg: BimanualSceneCfg) -> RobotEntityCfg:
    """A palm-down hand whose palm centre rests at (hand_x, +-hand_y, table + palm_height)."""
    y = cfg.hand_y if side == "left_hand" else -cfg.hand_y
    c = palm_centre_on_mount(HAND_ROBOTS[side])
    pos = (cfg.hand_x - c[0], y - c[1], cfg.table_height + cfg.palm_height - c[2])
    return RobotEntityCfg(robot=HAND_ROBOTS[side], pos=pos, mount=wrist_mount(cfg.wrist, c), mount_quat=PALM_DOWN,
                          gravity_compensation=True)  # fmt: skip


def table_entity(cfg: BimanualSceneCfg) -> BoxEntityCfg:
    hx, hy = cfg.table_half_size
    h = cfg.table_height / 2
    return BoxEntityCfg(half_size=(hx, hy, h), pos=(0.0, 0.0, h), free=False, rgba=(0.55, 0.5, 0.45, 1.0))


def bimanual_scene(cfg: BimanualSceneCfg | None = None) -> SceneCfg:
    """The SceneCfg: `left_hand`, `right_hand`, `table`, then `cfg.items` (no main robot, no floor)."""
    c = cfg or BimanualSceneCfg()
    reserved = {*HANDS, "table"} & set(c.items)
    if reserved:
        raise ValueError(f"bimanual scene items: {sorted(reserved)} are reserved entity names")
    entities: dict[str, EntityCfg] = {side: hand_entity(side, c) for side in HANDS}
    entities["table"] = table_entity(c)
    entities.update(c.items)
    return SceneCfg(robot="", entities=entities, terrain=TerrainCfg(kind="none"), timestep=c.timestep)


# -- points on the hands ----------------------------------------------------------------------------------


class HandPoints:
    """Model indices of a hand's palm body and fingertip geoms, resolved once per env."""

    def __init__(self, env: ManagerBasedRlEnv, side: str):
        model = env.scene.model
        hand = env.scene[side]
        self.palm = hand.body_ids[hand.find_bodies("palm")[0]]
        self.knuckles = torch.as_tensor([hand.body_ids[hand.find_bodies(b)[0]] for b in KNUCKLES],
                                        device=env.sim.device)  # fmt: skip
        geoms = [model.geom(f"{side}/{g}").id for g in FINGERTIPS]
        dev = env.sim.device
        self.tip_body = torch.as_tensor([int(model.geom_bodyid[g]) for g in geoms], device=dev)
        self.tip_offset = torch.as_tensor(model.geom_pos[geoms], dtype=env.sim.xpos.dtype, device=dev)

    def palm_pos(self, env: ManagerBasedRlEnv) -> torch.Tensor:
        """(N, 3) the palm centre (centroid of the knuckle bodies)."""
        return env.sim.xpos[:, self.knuckles].mean(dim=1)

    def palm_quat(self, env: ManagerBasedRlEnv) -> torch.Tensor:
        return env.sim.xquat[:, self.palm]

    def fingertip_pos(self, env: ManagerBasedRlEnv) -> torch.Tensor:
        """(N, 4, 3): the centres of the four fingertip geoms in the world frame."""
        body_pos = env.sim.xpos[:, self.tip_body]
        body_quat = env.sim.xquat[:, self.tip_body]
        return body_pos + quat_rotate(body_quat, self.tip_offset.expand_as(body_pos))


def hand_points(env: ManagerBasedRlEnv, side: str) -> HandPoints:
    """The (cached) palm and fingertip indices of `side` in this env."""
    cache: dict[str, HandPoints] = env.__dict__.setdefault("_bimanual_hand_points", {})
    if side not in cache:
        cache[side] = HandPoints(env, side)
    return cache[side]


def palm_pos(env: ManagerBasedRlEnv, side: str) -> torch.Tensor:
    """(N, 3) the palm centre's world position."""
    return hand_points(env, side).palm_pos(env)


def fingertip_pos(env: ManagerBasedRlEnv, side: str) -> torch.Tensor:
    """(N, 4, 3) fingertip centres (index, middle, ring, thumb)."""
    return hand_points(env, side).fingertip_pos(env)
