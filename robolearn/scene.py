"""Scenes: named entities (robots, objects, markers) plus the project's own pieces (floor, terrain, sensors),
composed with MjSpec.

The main robot (`SceneCfg.robot`, the entity named `robot`) keeps its model's own names, so terms, contact
sensors, keyframes and exported policies name its joints and bodies as the robot does; every other entity
(`SceneCfg.entities`) is attached under the prefix `<name>/`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

from robolearn.assets import asset_path
from robolearn.entities import (
    EntityCfg,
    EntityLayout,
    copy_option,
    entity_kind,
    entity_spec,
    layout_of,
    set_pd,
)
from robolearn.robots import compile_spec, load_spec, robot_scene_spec, robot_spec, robot_xml
from robolearn.terrain import TerrainCfg, generate_heights, tile_origins

TERRAIN_PREFIX = "terrain/"
FLOOR_GEOM = "terrain/floor"

TerrainBuilder = Callable[[mujoco.MjSpec, TerrainCfg], "np.ndarray | None"]
"""Adds a terrain kind's geoms to the spec (the floor plane is already there); returns tile origins."""
TERRAIN_BUILDERS: dict[str, TerrainBuilder] = {}


def register_terrain(kind: str, builder: TerrainBuilder) -> None:
    """Let a task package add its own terrain kind (e.g. confined 3-D tunnels) without editing this module."""
    TERRAIN_BUILDERS[kind] = builder


@dataclass
class ContactSensorCfg:
    """Contact between robot geoms/bodies and the ground, through MuJoCo's `<contact>` sensor.

    One sensor per entry of `geoms` (or `bodies`), each reporting (found, net force xyz).
    """

    geoms: tuple[str, ...] = ()
    bodies: tuple[str, ...] = ()
    """Bodies (with their subtrees' geoms excluded): a contact of any geom of the body counts."""
    entity: str = ""
    """The entity whose geoms/bodies these are (its local names); empty: the main robot's."""
    against: str = ""
    """Count contacts with this entity's root body only (e.g. a hand touching `box`); empty: static geoms."""


@dataclass
class SceneCfg:
    robot: str = "go2"
    """The main robot (entity `robot`) from the registry; empty for a scene of `entities` only."""
    fast_model: bool = True
    """Use the menagerie `*_mjx` variant (primitive collisions, light solver) where one exists, else the
    full model with the training solver settings its RobotInfo names (e.g. a pyramidal cone)."""
    terrain: TerrainCfg = field(default_factory=TerrainCfg)
    contact_sensors: dict[str, ContactSensorCfg] = field(default_factory=dict)
    pd_gains: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Joint-name regex -> (kp, kd). Actuators of matching joints become PD position servos."""
    timestep: float = 0.004
    locked_joints: tuple[str, ...] = ()
    """Joint-name regexes removed from the model with their actuators: the child body is welded to its parent
    at the joint's zero (e.g. a G1 with its waist locked). Keyframes lose the joints' entries."""
    entities: dict[str, EntityCfg] = field(default_factory=dict)
    """Further named entities: robots, objects, markers (robolearn.entities), attached as `<name>/...`."""


MAIN_ENTITY = "robot"


@dataclass
class Scene:
    model: mujoco.MjModel
    spec_xml: str
    joint_names: list[str]
    """Actuated joints, in actuator order."""
    contact_slices: dict[str, slice]
    """Name -> slice of sensordata holding (num, 4) rows of (found, fx, fy, fz)."""
    terrain_origins: np.ndarray | None
    robot_source: str
    entities: dict[str, EntityLayout] = field(default_factory=dict)
    """Every entity's elements, the main robot (`robot`) first."""
    views: dict[str, Any] = field(default_factory=dict)
    """Batched views of each entity (robolearn.core.entity.Entity), set by the env that runs the scene."""

    def __getitem__(self, name: str) -> Any:
        try:
            return self.views[name]
        except KeyError:
            raise KeyError(
                f"no entity {name!r} in the scene; entities: {list(self.views or self.entities)}"
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.entities


def _lock_joints(spec: mujoco.MjSpec, patterns: tuple[str, ...]) -> None:
    import re

    locked = [j for j in spec.joints if any(re.fullmatch(p, j.name) for p in patterns)]
    missing = [p for p in patterns if not any(re.fullmatch(p, j.name) for j in locked)]
    if missing:
        raise ValueError(f"scene.locked_joints: {missing} match no joint of {[j.name for j in spec.joints]}")
    if any(j.type != mujoco.mjtJoint.mjJNT_HINGE and j.type != mujoco.mjtJoint.mjJNT_SLIDE for j in locked):
        raise ValueError("scene.locked_joints: only hinge and slide joints can be locked")
    model = spec.compile()
    names = {j.name for j in locked}
    keep_q = [i for i in range(model.nq) if not any(
        model.jnt_qposadr[model.joint(n).id] == i for n in names)]  # fmt: skip
    actuators = list(spec.actuators)
    keep_u = [i for i, a in enumerate(actuators) if a.target not in names]
    for key in spec.keys:
        if len(key.qpos) == model.nq:
            key.qpos = np.asarray(key.qpos)[keep_q]
        if len(key.ctrl) == model.nu:
            key.ctrl = np.asarray(key.ctrl)[keep_u]
    for a in actuators:
        if a.target in names:
            spec.delete(a)
    for j in locked:
        spec.delete(j)


def _add_terrain(spec: mujoco.MjSpec, cfg: TerrainCfg) -> np.ndarray | None:
    if cfg.kind == "none":
        return None  # an entity (a table) is the ground; a floor plane at z = 0 would double its contacts
    floor = load_spec(asset_path("floor.xml"))
    spec.attach(floor, frame=spec.worldbody.add_frame(), prefix=TERRAIN_PREFIX)
    if cfg.kind == "flat":
        return None
    if cfg.kind in TERRAIN_BUILDERS:
        return TERRAIN_BUILDERS[cfg.kind](spec, cfg)
    if cfg.kind != "rough":
        kinds = ", ".join(repr(k) for k in ("flat", "rough", "none", *TERRAIN_BUILDERS))
        raise ValueError(f"terrain.kind must be one of {kinds}, got {cfg.kind!r}")
    heights = generate_heights(cfg)
    spec.geom(FLOOR_GEOM).pos = [0, 0, -0.01]  # the plane stays under the hfield as a catch-all
    max_h = float(heights.max()) + 1e-3
    hf = spec.add_hfield(name="terrain_hfield", nrow=heights.shape[0], ncol=heights.shape[1],
                         size=[cfg.cols * cfg.tile_size / 2, cfg.rows * cfg.tile_size / 2, max_h, 0.1])  # fmt: skip
    hf.userdata = (heights / max_h).ravel().tolist()
    spec.worldbody.add_geom(name="terrain/hfield", type=mujoco.mjtGeom.mjGEOM_HFIELD, hfieldname="terrain_hfield",
                            material=TERRAIN_PREFIX + "groundplane", rgba=[0.45, 0.5, 0.55, 1])  # fmt: skip
    return tile_origins(cfg, heights)


def _copy_floor_pairs(spec: mujoco.MjSpec, scene_spec: mujoco.MjSpec) -> None:
    """Explicit robot-floor contact pairs of the menagerie scene, re-pointed at our ground geoms.

    Some training models (e.g. `g1_mjx`) disable default collisions and list the pairs that may
    touch the floor in their scene file; without them the robot falls through our floor.
    """
    grounds = [g.name for g in spec.geoms if g.name in (FLOOR_GEOM, "terrain/hfield")]
    for pair in scene_spec.pairs:
        robot_geom, other = (pair.geomname1, pair.geomname2)
        if other != "floor":
            robot_geom, other = other, robot_geom
        if other != "floor":
            continue
        for ground in grounds:
            spec.add_pair(name=f"{pair.name}/{ground}", geomname1=robot_geom, geomname2=ground, condim=pair.condim,
                          friction=pair.friction, solref=pair.solref, solimp=pair.solimp, margin=pair.margin,
                          gap=pair.gap)  # fmt: skip


def _sensor_names(cfg: ContactSensorCfg, group: str, entities: dict[str, EntityCfg]) -> list[tuple]:
    if cfg.entity and cfg.entity != MAIN_ENTITY and cfg.entity not in entities:
        raise ValueError(f"scene.contact_sensors[{group!r}].entity={cfg.entity!r} is not an entity of the scene; "
                         f"entities: {[MAIN_ENTITY, *entities]}")  # fmt: skip
    prefix = f"{cfg.entity}/" if cfg.entity and cfg.entity != MAIN_ENTITY else ""
    return [(mujoco.mjtObj.mjOBJ_GEOM, prefix + g) for g in cfg.geoms] + [
        (mujoco.mjtObj.mjOBJ_BODY, prefix + b) for b in cfg.bodies
    ]


def _add_contact_sensors(spec: mujoco.MjSpec, cfg: SceneCfg) -> dict[str, int]:
    # The default second object is the world body: all static geoms (the ground, terrain, tables).
    counts: dict[str, int] = {}
    for group, sensor in cfg.contact_sensors.items():
        items = _sensor_names(sensor, group, cfg.entities)
        ref = "world"
        if sensor.against:
            if sensor.against not in cfg.entities:
                raise ValueError(f"scene.contact_sensors[{group!r}].against={sensor.against!r} is not an entity; "
                                 f"entities: {list(cfg.entities)}")  # fmt: skip
            ref = next(b.name for b in spec.bodies if b.name.startswith(f"{sensor.against}/"))
        for i, (objtype, name) in enumerate(items):
            s = spec.add_sensor(name=f"contact/{group}/{i}", type=mujoco.mjtSensor.mjSENS_CONTACT,
                                objtype=objtype, objname=name, reftype=mujoco.mjtObj.mjOBJ_BODY, refname=ref)  # fmt: skip
            s.intprm[0] = (1 << int(mujoco.mjtConDataField.mjCONDATA_FOUND)) | (
                1 << int(mujoco.mjtConDataField.mjCONDATA_FORCE)
            )
            s.intprm[1] = 3  # reduce="netforce"
            s.intprm[2] = 1
        counts[group] = len(items)
    return counts


def _owned_bodies(spec: mujoco.MjSpec) -> set[str]:
    return {b.name for b in spec.bodies} - {"world"}


def _check_entity_names(cfg: SceneCfg) -> None:
    for name in cfg.entities:
        if not name or "/" in name:
            raise ValueError(f"scene.entities: entity name {name!r} must be non-empty and contain no '/'")
        if name == MAIN_ENTITY and cfg.robot:
            raise ValueError(f"scene.entities[{name!r}] clashes with the main robot (scene.robot={cfg.robot!r}), "
                             f"which is the entity {MAIN_ENTITY!r}; name it differently or set scene.robot=''")  # fmt: skip
        if TERRAIN_PREFIX.startswith(name + "/") or name in ("contact", "world"):
            raise ValueError(f"scene.entities[{name!r}]: the name is reserved (terrain, contact, world)")


def _base_spec(
    cfg: SceneCfg, first: mujoco.MjSpec | None
) -> tuple[mujoco.MjSpec, str, list[str], mujoco.MjSpec | None]:
    """The main robot's spec (or an empty one), its source, its actuated joints and its menagerie scene."""
    if not cfg.robot:
        spec = mujoco.MjSpec()
        if first is not None:
            copy_option(first, spec)  # the first entity's solver settings (integrator, cone)
        return spec, "", [], None
    spec = robot_spec(cfg.robot, cfg.fast_model)
    scene_spec = robot_scene_spec(cfg.robot, cfg.fast_model)
    if not spec.keys and scene_spec is not None:
        for key in scene_spec.keys:
            spec.add_key(name=key.name, qpos=key.qpos, ctrl=key.ctrl, time=key.time)
    if cfg.locked_joints:
        _lock_joints(spec, cfg.locked_joints)
    joint_names = set_pd(spec, cfg.pd_gains)
    return spec, str(robot_xml(cfg.robot, cfg.fast_model)), joint_names, scene_spec


def build_scene(cfg: SceneCfg) -> Scene:
    _check_entity_names(cfg)
    built = {name: entity_spec(name, ecfg) for name, ecfg in cfg.entities.items()}
    first = next(iter(built.values()))[0] if built else None
    spec, source, joint_names, scene_spec = _base_spec(cfg, first)
    spec.option.timestep = cfg.timestep
    owned = _owned_bodies(spec) if cfg.robot else None
    origins = _add_terrain(spec, cfg.terrain)
    if scene_spec is not None:
        _copy_floor_pairs(spec, scene_spec)
    defaults: dict[str, np.ndarray | None] = {}
    sources: dict[str, str] = {}
    for name, ecfg in cfg.entities.items():
        espec, sources[name], defaults[name] = built[name]
        copy_option(spec, espec)
        frame = spec.worldbody.add_frame(pos=list(ecfg.pos), quat=list(ecfg.quat))
        spec.attach(espec, frame=frame, prefix=f"{name}/")
    if cfg.entities and not spec.keys:
        spec.add_key(name="home")  # the scene's default state; filled in below
    counts = _add_contact_sensors(spec, cfg)
    spec.visual.quality.shadowsize = 0  # software GL here: shadows cost ~5x per frame
    spec.visual.global_.offwidth = max(spec.visual.global_.offwidth, 1280)
    spec.visual.global_.offheight = max(spec.visual.global_.offheight, 960)
    model = compile_spec(spec, source or "<scene of entities>")
    layouts: dict[str, EntityLayout] = {}
    if owned is not None:
        layouts[MAIN_ENTITY] = layout_of(model, MAIN_ENTITY, "robot", "", source, owned)
        layouts[MAIN_ENTITY].joints = list(joint_names) + [
            j for j in layouts[MAIN_ENTITY].joints if j not in joint_names
        ]
    for name, ecfg in cfg.entities.items():
        layouts[name] = layout_of(model, name, entity_kind(ecfg), f"{name}/", sources[name])
        _fill_keys(model, spec, layouts[name], defaults[name])
    slices = {}
    for group, n in counts.items():
        start = model.sensor(f"contact/{group}/0").adr[0] if n else 0
        slices[group] = slice(int(start), int(start) + 4 * n)
    return Scene(model, spec.to_xml(), joint_names, slices, origins, source, layouts)


def _fill_keys(
    model: mujoco.MjModel, spec: mujoco.MjSpec, layout: EntityLayout, default_q: np.ndarray | None
) -> None:
    """Write an entity's default state into every keyframe of the scene: attaching pads keyframes with zeros
    (a free object would start at the origin), so its placement (qpos0) and own keyframe are put back."""
    if not model.nkey:
        return
    for b in layout.bodies:
        mocap = model.body_mocapid[model.body(b).id]
        if mocap >= 0:
            model.key_mpos[:, 3 * mocap : 3 * mocap + 3] = model.body_pos[model.body(b).id]
            model.key_mquat[:, 4 * mocap : 4 * mocap + 4] = model.body_quat[model.body(b).id]
    joints = ([layout.free_joint] if layout.free_joint is not None else []) + [
        model.joint(n).id for n in layout.joints
    ]
    width = {int(mujoco.mjtJoint.mjJNT_FREE): 7, int(mujoco.mjtJoint.mjJNT_BALL): 4}
    idx = np.sort(np.concatenate([
        np.arange(model.jnt_qposadr[j], model.jnt_qposadr[j] + width.get(int(model.jnt_type[j]), 1)) for j in joints
    ])) if joints else np.zeros(0, dtype=int)  # fmt: skip
    q = model.qpos0[idx].copy()
    if default_q is not None:
        if len(default_q) != len(idx):
            raise ValueError(f"scene.entities[{layout.name!r}]: its keyframe has {len(default_q)} qpos entries, "
                             f"the entity has {len(idx)}")  # fmt: skip
        free = (
            7 if layout.free_joint is not None else 0
        )  # the placement, not the model's own keyframe, sets the root
        q[free:] = default_q[free:]
    for k in range(model.nkey):
        model.key_qpos[k, idx] = q
        key = spec.keys[k]
        key.qpos = model.key_qpos[k].copy()
        key.mpos = model.key_mpos[k].ravel().copy()
        key.mquat = model.key_mquat[k].ravel().copy()
