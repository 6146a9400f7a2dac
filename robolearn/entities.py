"""Scene entities: robots, articulated and rigid objects, and markers, each built as its own MjSpec.

`robolearn.scene.build_scene` attaches every entity to the scene under the prefix `<name>/`, so two LEAP
hands (the same MJCF twice) compose without name clashes, and records which joints, bodies, sites, geoms
and actuators each entity owns. The env turns that record into batched views (`robolearn.core.entity`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import mujoco
import numpy as np

from robolearn.robots import load_spec, robot_spec, robot_xml


@dataclass
class MountJointCfg:
    """A joint added between the world and an entity's root body, driven by a position servo.

    Two LEAP hands on three slides and a hinge each make an actuated "wrist" without an arm model.
    """

    type: Literal["slide", "hinge"] = "slide"
    axis: tuple[float, float, float] = (0.0, 0.0, 1.0)
    range: tuple[float, float] = (-0.3, 0.3)
    kp: float = 300.0
    damping: float = 20.0
    """Joint damping (N s/m or N m s/rad): the servo's kd, implicit in the integrator, so stiff mounts stay stable."""
    armature: float = 0.01
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    """A hinge's anchor in the entity's frame (a wrist turns about a point near the palm, not the frame origin)."""


@dataclass
class AttachCfg:
    """A registry robot attached to a body of another robot (a hand on an arm's flange): one entity, one
    kinematic tree, the attached robot's elements named `<prefix><own name>`."""

    robot: str
    body: str
    """The parent robot's body that carries it (e.g. the Panda's `attachment`)."""
    prefix: str = "hand/"
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    quat: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)


@dataclass
class EntityCfg:
    """Where an entity is placed: its frame in the world (its free joint starts here, if it has one)."""

    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    quat: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)


@dataclass
class RobotEntityCfg(EntityCfg):
    """A robot from the registry (`robot`) or an MJCF file (`mjcf`); floating or fixed base as its model says."""

    robot: str = ""
    mjcf: str = ""
    """An MJCF file (absolute, or relative to the project's assets/) used when `robot` is empty."""
    fast_model: bool = False
    pd_gains: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Joint-name regex (the robot's own names) -> (kp, kd); matching actuators become PD position servos."""
    velocity_gains: dict[str, float] = field(default_factory=dict)
    """Joint-name regex -> kv: matching actuators become velocity servos (for JointVelocityActionCfg)."""
    motor_joints: tuple[str, ...] = ()
    """Joint-name regexes whose actuators become torque motors, ctrl range = force range (JointEffortActionCfg)."""
    keyframe: str = ""
    """A keyframe of the robot's own model giving its default joint positions; qpos0 when empty."""
    mount: dict[str, MountJointCfg] = field(default_factory=dict)
    """Joints (name -> config) added above the root body (a fixed-base robot becomes movable, e.g. a hand on a wrist)."""
    mount_quat: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    """The robot's orientation on its mount (w, x, y, z): turns the hand, not the mount joints' axes."""
    gravity_compensation: bool = False
    """Cancel gravity on the entity's bodies (a hand on a mount is held by an arm that is not modelled)."""
    attach: tuple[AttachCfg, ...] = ()
    """Robots attached to bodies of this one before gains are set (`pd_gains` see their prefixed names)."""


@dataclass
class ObjectEntityCfg(EntityCfg):
    """An articulated or rigid object from an MJCF file (a cabinet, a drawer, a tool)."""

    mjcf: str = ""
    free: bool = False
    """Give the object's root body a free joint (a loose tool) if its MJCF has none."""


@dataclass
class BoxEntityCfg(EntityCfg):
    """A box: a free rigid object by default, or static (`free=False`, e.g. a table)."""

    half_size: tuple[float, float, float] = (0.03, 0.03, 0.03)
    mass: float = 0.1
    free: bool = True
    friction: tuple[float, float, float] = (1.0, 0.005, 0.0001)
    rgba: tuple[float, float, float, float] = (0.8, 0.4, 0.2, 1.0)


@dataclass
class ShapePartCfg:
    """One collision geom of a shape entity: a primitive (MuJoCo `size` conventions) or a mesh file."""

    type: Literal["box", "cylinder", "capsule", "sphere", "mesh"] = "box"
    size: tuple[float, float, float] = (0.03, 0.03, 0.03)
    """box: half sizes; cylinder/capsule: (radius, half length, -); sphere: (radius, -, -); mesh: unused."""
    pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
    quat: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    mesh: str = ""
    """An .obj/.stl file (absolute or relative to assets/); MuJoCo collides with its convex hull."""
    rgba: tuple[float, float, float, float] = (0.8, 0.4, 0.2, 1.0)


@dataclass
class ShapeEntityCfg(EntityCfg):
    """A rigid object made of primitive or convex-mesh parts, scaled uniformly (a demonstration's mesh scale).

    `mass` is the whole object's: parts share it by volume (their density is set so the compiled mass matches).
    """

    parts: tuple[ShapePartCfg, ...] = (ShapePartCfg(),)
    scale: float = 1.0
    mass: float = 0.1
    free: bool = True
    friction: tuple[float, float, float] = (1.0, 0.005, 0.0001)


@dataclass
class MarkerEntityCfg(EntityCfg):
    """A mocap body with a non-colliding sphere: a goal or target shown in videos, moved per world."""

    radius: float = 0.02
    rgba: tuple[float, float, float, float] = (0.2, 0.8, 0.2, 0.5)


ENTITY_KINDS = {
    RobotEntityCfg: "robot",
    ObjectEntityCfg: "object",
    BoxEntityCfg: "object",
    ShapeEntityCfg: "object",
    MarkerEntityCfg: "marker",
}


def entity_kind(cfg: EntityCfg) -> str:
    return ENTITY_KINDS.get(type(cfg), "object")


def _mjcf_path(path: str, where: str) -> Path:
    from robolearn.assets import ASSETS_DIR

    if not path:
        raise ValueError(f"{where}: give a registry robot or an MJCF file path, got neither")
    p = Path(path)
    return p if p.is_absolute() else ASSETS_DIR / p


def set_pd(spec: mujoco.MjSpec, gains: dict[str, tuple[float, float]]) -> list[str]:
    """Turn actuators of joints matching `gains` into PD position servos; returns the actuated joints, in order."""
    names = []
    for act in spec.actuators:
        joint = spec.joint(act.target)
        names.append(joint.name)
        kp_kd = next((g for pat, g in gains.items() if re.fullmatch(pat, joint.name)), None)
        if kp_kd is None:
            continue
        kp, kd = kp_kd
        was_motor = act.biastype == mujoco.mjtBias.mjBIAS_NONE
        if was_motor and act.ctrllimited:
            # A torque motor's control range is its torque limit; keep it as the servo's force limit.
            act.forcerange = np.abs(act.ctrlrange).max() * np.array([-1.0, 1.0])
            act.forcelimited = 1
        act.gaintype = mujoco.mjtGain.mjGAIN_FIXED
        act.biastype = mujoco.mjtBias.mjBIAS_AFFINE
        act.gainprm[:3] = [kp, 0, 0]
        act.biasprm[:3] = [0, -kp, -kd]
        act.ctrlrange = joint.range
        act.ctrllimited = 1
    return names


def set_velocity_and_motors(spec: mujoco.MjSpec, kv: dict[str, float], motors: tuple[str, ...]) -> None:
    for act in spec.actuators:
        joint = spec.joint(act.target)
        gain = next((g for pat, g in kv.items() if re.fullmatch(pat, joint.name)), None)
        limit = float(np.abs(act.forcerange).max()) if act.forcelimited else 0.0
        if gain is not None:
            act.set_to_velocity(kv=gain)
            act.ctrllimited = 0
        elif any(re.fullmatch(p, joint.name) for p in motors):
            act.set_to_motor()
            act.ctrllimited = 1 if limit else 0
            act.ctrlrange = [-limit, limit] if limit else [0.0, 0.0]
        else:
            continue
        if limit:
            act.forcerange, act.forcelimited = [-limit, limit], 1


OPTION_FIELDS = ("timestep", "integrator", "cone", "impratio", "jacobian", "solver", "iterations",
                 "ls_iterations", "noslip_iterations", "tolerance")  # fmt: skip


def copy_option(src: mujoco.MjSpec, dst: mujoco.MjSpec) -> None:
    """Give `dst` the solver options of `src`: attaching specs whose options differ warns and keeps the parent's."""
    for name in OPTION_FIELDS:
        setattr(dst.option, name, getattr(src.option, name))


def _mounted(spec: mujoco.MjSpec, mounts: dict[str, MountJointCfg],
             quat: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)) -> mujoco.MjSpec:  # fmt: skip
    """The robot under a new `mount` body carrying the mount joints, whose axes are in the entity's frame (the
    root body's own frame may be turned: LEAP's palm is upside down)."""
    types = {"slide": mujoco.mjtJoint.mjJNT_SLIDE, "hinge": mujoco.mjtJoint.mjJNT_HINGE}
    outer = mujoco.MjSpec()
    # Hinge ranges are in radians, as MountJointCfg says (a new MjSpec reads angles in degrees).
    outer.compiler.degree = False
    copy_option(spec, outer)
    # A light body of its own: MuJoCo needs mass on a body with joints; 10 g is negligible next to a hand.
    body = outer.worldbody.add_body(name="mount", mass=0.01, inertia=[1e-5, 1e-5, 1e-5])
    for name, m in mounts.items():
        if m.type not in types:
            raise ValueError(f"mount joint {name!r}: type must be 'slide' or 'hinge', got {m.type!r}")
        body.add_joint(name=name, type=types[m.type], axis=list(m.axis), range=list(m.range), limited=1,
                       damping=m.damping, armature=m.armature, pos=list(m.pos))  # fmt: skip
        act = outer.add_actuator(name=f"{name}_act", target=name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        act.set_to_position(kp=m.kp)
        act.ctrlrange = list(m.range)
        act.ctrllimited = 1
    outer.attach(spec, frame=body.add_frame(quat=list(quat)), prefix="")
    return outer


GEOM_TYPES = {
    "box": mujoco.mjtGeom.mjGEOM_BOX,
    "cylinder": mujoco.mjtGeom.mjGEOM_CYLINDER,
    "capsule": mujoco.mjtGeom.mjGEOM_CAPSULE,
    "sphere": mujoco.mjtGeom.mjGEOM_SPHERE,
    "mesh": mujoco.mjtGeom.mjGEOM_MESH,
}


def _shape_geoms(cfg: ShapeEntityCfg, where: str, density: float) -> mujoco.MjSpec:
    spec = mujoco.MjSpec()
    body = spec.worldbody.add_body(name="body")
    if cfg.free:
        body.add_freejoint(name="free")
    if not cfg.parts:
        raise ValueError(f"{where}.parts: a shape needs at least one part")
    if cfg.scale <= 0:
        raise ValueError(f"{where}.scale: must be > 0, got {cfg.scale}")
    for i, part in enumerate(cfg.parts):
        if part.type not in GEOM_TYPES:
            raise ValueError(f"{where}.parts[{i}].type: must be one of {sorted(GEOM_TYPES)}, got {part.type!r}")
        geom = body.add_geom(name=f"geom{i}" if i else "geom", type=GEOM_TYPES[part.type],
                             size=[cfg.scale * v for v in part.size], pos=[cfg.scale * v for v in part.pos],
                             quat=list(part.quat), density=density, friction=list(cfg.friction),
                             rgba=list(part.rgba))  # fmt: skip
        if part.type == "mesh":
            path = _mjcf_path(part.mesh, f"{where}.parts[{i}].mesh")
            if not path.is_file():
                raise ValueError(f"{where}.parts[{i}].mesh: no file {path}")
            spec.add_mesh(name=f"mesh{i}", file=str(path), scale=[cfg.scale] * 3)
            geom.meshname = f"mesh{i}"
    return spec


def shape_spec(cfg: ShapeEntityCfg, where: str = "shape") -> mujoco.MjSpec:
    """The spec of a shape entity whose parts' density gives the configured total mass."""
    if cfg.mass <= 0:
        raise ValueError(f"{where}.mass: must be > 0, got {cfg.mass}")
    probe = _shape_geoms(cfg, where, 1000.0).compile()
    # Mass is linear in density for a fixed geometry: one compile at a known density gives the volume.
    return _shape_geoms(cfg, where, 1000.0 * cfg.mass / float(probe.body_mass[1]))


def _attach(spec: mujoco.MjSpec, att: AttachCfg, where: str) -> np.ndarray:
    """Attach `att.robot` to the spec in place; returns the attached robot's qpos0."""
    parent = spec.body(att.body)
    if parent is None:
        raise ValueError(f"{where}.attach: the robot has no body {att.body!r}; bodies: "
                         f"{[b.name for b in spec.bodies if b.name]}")  # fmt: skip
    child = robot_spec(att.robot, False)
    for key in list(child.keys):
        child.delete(key)
    copy_option(spec, child)
    q0 = child.compile().qpos0.copy()
    spec.attach(child, frame=parent.add_frame(pos=list(att.pos), quat=list(att.quat)), prefix=att.prefix)
    return q0


def entity_spec(name: str, cfg: EntityCfg) -> tuple[mujoco.MjSpec, str, np.ndarray | None]:
    """(spec, source, default joint positions of its own qpos layout or None) of one entity."""
    where = f"scene.entities[{name!r}]"
    default_q = None
    if isinstance(cfg, RobotEntityCfg):
        if cfg.robot:
            spec, source = robot_spec(cfg.robot, cfg.fast_model), str(robot_xml(cfg.robot, cfg.fast_model))
        else:
            path = _mjcf_path(cfg.mjcf, where)
            spec, source = load_spec(path), str(path)
        if cfg.keyframe:
            keys = {k.name: k for k in spec.keys}
            if cfg.keyframe not in keys:
                raise ValueError(f"{where}.keyframe={cfg.keyframe!r}: the model has keyframes {sorted(keys)}")
            default_q = np.asarray(keys[cfg.keyframe].qpos, dtype=float)
        for key in list(spec.keys):
            spec.delete(key)
        for att in cfg.attach:
            child_q0 = _attach(spec, att, where)
            if default_q is not None:  # the attached robot's joints follow the parent's in qpos (its subtree is last)
                default_q = np.concatenate([default_q, child_q0])
        set_pd(spec, cfg.pd_gains)
        set_velocity_and_motors(spec, cfg.velocity_gains, cfg.motor_joints)
        if cfg.mount:
            spec = _mounted(spec, cfg.mount, cfg.mount_quat)
            if default_q is not None:
                default_q = np.concatenate([np.zeros(len(cfg.mount)), default_q])
        if cfg.gravity_compensation:
            for body in spec.bodies:
                if body.name != "world":
                    body.gravcomp = 1.0
    elif isinstance(cfg, ObjectEntityCfg):
        path = _mjcf_path(cfg.mjcf, where)
        spec, source = load_spec(path), str(path)
        root = spec.worldbody.first_body()
        if cfg.free and not any(j.type == mujoco.mjtJoint.mjJNT_FREE for j in root.joints):
            root.add_freejoint(name="free")
    elif isinstance(cfg, BoxEntityCfg):
        spec, source = mujoco.MjSpec(), "<box>"
        body = spec.worldbody.add_body(name="body")
        if cfg.free:
            body.add_freejoint(name="free")
        body.add_geom(name="geom", type=mujoco.mjtGeom.mjGEOM_BOX, size=list(cfg.half_size), mass=cfg.mass,
                      friction=list(cfg.friction), rgba=list(cfg.rgba))  # fmt: skip
    elif isinstance(cfg, ShapeEntityCfg):
        spec, source = shape_spec(cfg, where), "<shape>"
    elif isinstance(cfg, MarkerEntityCfg):
        spec, source = mujoco.MjSpec(), "<marker>"
        body = spec.worldbody.add_body(name="body", mocap=True)
        body.add_geom(name="geom", type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[cfg.radius, 0, 0], rgba=list(cfg.rgba),
                      contype=0, conaffinity=0, group=2)  # fmt: skip
    else:
        raise TypeError(f"{where}: unknown entity config type {type(cfg).__name__}")
    for key in list(spec.keys):
        # The composed scene gets keyframes of its own size; an entity's keys would be padded with zeros.
        spec.delete(key)
    return spec, source, default_q


@dataclass
class EntityLayout:
    """Which elements of the compiled scene an entity owns (full names, in model order)."""

    name: str
    kind: str
    prefix: str
    joints: list[str]
    """Hinge and slide joints: actuated ones in actuator order, then the others in model order."""
    actuators: list[str]
    """Actuators of the actuated joints, aligned with the first len(actuators) joints."""
    free_joint: int | None
    """Id of the root's free joint (it may be unnamed, as menagerie's floating bases are)."""
    bodies: list[str]
    sites: list[str]
    geoms: list[str]
    source: str
    mocap: bool = False

    @property
    def fixed_base(self) -> bool:
        return self.free_joint is None

    def local(self, full: str) -> str:
        return full[len(self.prefix) :] if self.prefix and full.startswith(self.prefix) else full


def layout_of(model: mujoco.MjModel, name: str, kind: str, prefix: str, source: str,
              bodies: set[str] | None = None) -> EntityLayout:  # fmt: skip
    """The elements of `model` an entity owns: its bodies are those named under `prefix` (or in `bodies`,
    for the unprefixed main robot); its joints, sites, geoms and actuators are those on its bodies."""
    obj = mujoco.mjtObj

    def nm(t: mujoco.mjtObj, i: int) -> str:
        return mujoco.mj_id2name(model, t, i) or ""

    names = [nm(obj.mjOBJ_BODY, i) for i in range(model.nbody)]
    body_ids = [
        i
        for i in range(1, model.nbody)
        if (names[i] in bodies if bodies is not None else names[i].startswith(prefix))
    ]
    mine = set(body_ids)
    jids = [j for j in range(model.njnt) if int(model.jnt_bodyid[j]) in mine]
    free = [j for j in jids if int(model.jnt_type[j]) == int(mujoco.mjtJoint.mjJNT_FREE)]
    hinge = [
        j
        for j in jids
        if int(model.jnt_type[j]) in (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
    ]
    by_joint = [
        a for a in range(model.nu) if int(model.actuator_trntype[a]) == int(mujoco.mjtTrn.mjTRN_JOINT)
    ]
    acts = [a for a in by_joint if int(model.actuator_trnid[a, 0]) in hinge]
    act_joints = [int(model.actuator_trnid[a, 0]) for a in acts]
    ordered = act_joints + [j for j in hinge if j not in act_joints]
    return EntityLayout(
        name=name, kind=kind, prefix=prefix, joints=[nm(obj.mjOBJ_JOINT, j) for j in ordered],
        actuators=[nm(obj.mjOBJ_ACTUATOR, a) for a in acts], free_joint=free[0] if free else None,
        bodies=[nm(obj.mjOBJ_BODY, b) for b in body_ids],
        sites=[nm(obj.mjOBJ_SITE, i) for i in range(model.nsite) if int(model.site_bodyid[i]) in mine],
        geoms=[nm(obj.mjOBJ_GEOM, i) for i in range(model.ngeom) if int(model.geom_bodyid[i]) in mine],
        source=source, mocap=any(model.body_mocapid[b] >= 0 for b in body_ids),
    )  # fmt: skip
