"""Scenes: a menagerie robot plus the project's own pieces (floor, terrain, sensors), built with MjSpec."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import mujoco
import numpy as np

from robolearn.assets import asset_path
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


@dataclass
class SceneCfg:
    robot: str = "go2"
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


def _set_pd(spec: mujoco.MjSpec, gains: dict[str, tuple[float, float]]) -> list[str]:
    import re

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
    floor = load_spec(asset_path("floor.xml"))
    spec.attach(floor, frame=spec.worldbody.add_frame(), prefix=TERRAIN_PREFIX)
    if cfg.kind == "flat":
        return None
    if cfg.kind in TERRAIN_BUILDERS:
        return TERRAIN_BUILDERS[cfg.kind](spec, cfg)
    if cfg.kind != "rough":
        kinds = ", ".join(repr(k) for k in ("flat", "rough", *TERRAIN_BUILDERS))
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


def _add_contact_sensors(
    spec: mujoco.MjSpec, sensors: dict[str, ContactSensorCfg], ground: list[str]
) -> dict:
    # Ground geoms as one body: the contact sensor's second object is the world body (all static geoms).
    del ground
    slices_count: dict[str, int] = {}
    for group, cfg in sensors.items():
        items = [(mujoco.mjtObj.mjOBJ_GEOM, g) for g in cfg.geoms] + [
            (mujoco.mjtObj.mjOBJ_BODY, b) for b in cfg.bodies
        ]
        for i, (objtype, name) in enumerate(items):
            s = spec.add_sensor(name=f"contact/{group}/{i}", type=mujoco.mjtSensor.mjSENS_CONTACT,
                                objtype=objtype, objname=name, reftype=mujoco.mjtObj.mjOBJ_BODY, refname="world")  # fmt: skip
            s.intprm[0] = (1 << int(mujoco.mjtConDataField.mjCONDATA_FOUND)) | (
                1 << int(mujoco.mjtConDataField.mjCONDATA_FORCE)
            )
            s.intprm[1] = 3  # reduce="netforce"
            s.intprm[2] = 1
        slices_count[group] = len(items)
    return slices_count


def build_scene(cfg: SceneCfg) -> Scene:
    spec = robot_spec(cfg.robot, cfg.fast_model)
    source = str(robot_xml(cfg.robot, cfg.fast_model))
    spec.option.timestep = cfg.timestep
    scene_spec = robot_scene_spec(cfg.robot, cfg.fast_model)
    if not spec.keys and scene_spec is not None:
        for key in scene_spec.keys:
            spec.add_key(name=key.name, qpos=key.qpos, ctrl=key.ctrl, time=key.time)
    if cfg.locked_joints:
        _lock_joints(spec, cfg.locked_joints)
    joint_names = _set_pd(spec, cfg.pd_gains)
    origins = _add_terrain(spec, cfg.terrain)
    if scene_spec is not None:
        _copy_floor_pairs(spec, scene_spec)
    counts = _add_contact_sensors(spec, cfg.contact_sensors, [FLOOR_GEOM])
    spec.visual.quality.shadowsize = 0  # software GL here: shadows cost ~5x per frame
    spec.visual.global_.offwidth = max(spec.visual.global_.offwidth, 1280)
    spec.visual.global_.offheight = max(spec.visual.global_.offheight, 960)
    model = compile_spec(spec, source)
    slices = {}
    for group, n in counts.items():
        start = model.sensor(f"contact/{group}/0").adr[0] if n else 0
        slices[group] = slice(int(start), int(start) + 4 * n)
    return Scene(model, spec.to_xml(), joint_names, slices, origins, source)
