"""Isaac Lab's simulation, spawn, asset, actuator, sensor and terrain configs (`isaaclab.sim` as `sim_utils`,
`isaaclab.assets`, `isaaclab.actuators`, `isaaclab.sensors`, `isaaclab.terrains`, `isaaclab.scene`).

robolearn runs MuJoCo models from mujoco-menagerie, so what these describe about USD files, materials, lights
and PhysX/Newton solver settings is kept only to be reported; what it describes about the robot (which one,
PD gains, effort limits), the contact sensors, the height scanner and the terrain type is converted.
"""

from __future__ import annotations

from typing import Any

from robolearn.adapters.isaaclab_cfg.configclass import MISSING, configclass


class RecordedCfg:
    """A config robolearn keeps but does not use (a light, a PhysX or Newton solver preset): any fields."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


# -- sim_utils ---------------------------------------------------------------------------------------------------


class RigidBodyMaterialCfg(RecordedCfg):
    pass


class MdlFileCfg(RecordedCfg):
    pass


class PreviewSurfaceCfg(RecordedCfg):
    pass


class DomeLightCfg(RecordedCfg):
    pass


class DistantLightCfg(RecordedCfg):
    pass


class RigidBodyPropertiesCfg(RecordedCfg):
    pass


class ArticulationRootPropertiesCfg(RecordedCfg):
    pass


@configclass
class UsdFileCfg:
    """A robot's USD file: robolearn resolves the robot by this file's name (go2.usd -> menagerie Go2)."""

    usd_path: str = MISSING
    activate_contact_sensors: bool = False
    rigid_props: Any = None
    articulation_props: Any = None


@configclass
class SimulationCfg:
    dt: float = 1.0 / 60.0
    render_interval: int = 1
    gravity: tuple[float, float, float] = (0.0, 0.0, -9.81)
    device: str = "cuda:0"
    physics_material: Any = None
    physics: Any = None
    newton_cfg: Any = None
    use_newton_actuators: bool = False


# Backend presets (isaaclab_newton.physics, isaaclab_physx.physics, isaaclab_tasks.utils): recorded only.
class PresetCfg(RecordedCfg):
    pass


class NewtonCfg(RecordedCfg):
    pass


class MJWarpSolverCfg(RecordedCfg):
    pass


class KaminoPADMMSolverCfg(RecordedCfg):
    pass


class NewtonCollisionPipelineCfg(RecordedCfg):
    pass


class NewtonShapeCfg(RecordedCfg):
    pass


class PhysxCfg(RecordedCfg):
    pass


class OvPhysxCfg(RecordedCfg):
    pass


class PhysxAutoCfg(RecordedCfg):
    pass


# -- assets and actuators -------------------------------------------------------------------------------------


@configclass
class AssetBaseCfg:
    prim_path: str = MISSING
    spawn: Any = None
    init_state: Any = None
    collision_group: int = 0
    debug_vis: bool = False


@configclass
class ActuatorBaseCfg:
    joint_names_expr: list[str] = MISSING
    joint_effort_limit: float | dict[str, float] | None = None
    effort_limit: float | dict[str, float] | None = None
    actuator_effort_limit: float | dict[str, float] | None = None
    velocity_limit: float | dict[str, float] | None = None
    actuator_velocity_limit: float | dict[str, float] | None = None
    stiffness: float | dict[str, float] | None = None
    damping: float | dict[str, float] | None = None
    armature: float | dict[str, float] | None = None
    friction: float | dict[str, float] | None = None


@configclass
class ImplicitActuatorCfg(ActuatorBaseCfg):
    pass


@configclass
class IdealPDActuatorCfg(ActuatorBaseCfg):
    pass


@configclass
class DCMotorCfg(IdealPDActuatorCfg):
    saturation_effort: float | dict[str, float] | None = None


@configclass
class ActuatorNetMLPCfg(DCMotorCfg):
    """A learned actuator network: robolearn has none, so the conversion refuses it by name."""

    network_file: str = MISSING
    pos_scale: float = 1.0
    vel_scale: float = 1.0
    torque_scale: float = 1.0
    input_order: str = "pos_vel"
    input_idx: list[int] = [0]


@configclass
class ArticulationCfg(AssetBaseCfg):
    @configclass
    class InitialStateCfg:
        pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
        rot: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
        lin_vel: tuple[float, float, float] = (0.0, 0.0, 0.0)
        ang_vel: tuple[float, float, float] = (0.0, 0.0, 0.0)
        joint_pos: dict[str, float] = {".*": 0.0}
        joint_vel: dict[str, float] = {".*": 0.0}

    soft_joint_pos_limit_factor: float = 1.0
    actuators: dict[str, Any] = {}
    robolearn_robot: str | None = None
    """robolearn's robot name (robolearn.robots); None: resolved from the spawn's USD file name."""


# -- sensors ----------------------------------------------------------------------------------------------------


@configclass
class ContactSensorCfg:
    prim_path: str = MISSING
    update_period: float = 0.0
    history_length: int = 0
    track_air_time: bool = False
    force_threshold: float = 1.0
    filter_prim_paths_expr: list[str] = []
    filter_shape_paths_expr: Any = None
    debug_vis: bool = False


class _Patterns:
    """`isaaclab.sensors.patterns`."""

    @configclass
    class GridPatternCfg:
        resolution: float = MISSING
        size: tuple[float, float] = MISSING
        direction: tuple[float, float, float] = (0.0, 0.0, -1.0)
        ordering: str = "xy"


patterns = _Patterns()


@configclass
class RayCasterCfg:
    @configclass
    class OffsetCfg:
        pos: tuple[float, float, float] = (0.0, 0.0, 0.0)
        rot: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)

    prim_path: str = MISSING
    offset: Any = OffsetCfg()
    attach_yaw_only: bool | None = None
    ray_alignment: str = "base"
    pattern_cfg: Any = MISSING
    mesh_prim_paths: list[str] = []
    max_distance: float = 1e6
    update_period: float = 0.0
    debug_vis: bool = False
    global_world_only: bool = False


# -- terrain and scene ----------------------------------------------------------------------------------------


class SubTerrainCfg(RecordedCfg):
    """One sub-terrain of a generator (boxes, stairs, ...): its fields are kept, the kinds are robolearn's own."""


@configclass
class TerrainGeneratorCfg:
    size: tuple[float, float] = (8.0, 8.0)
    border_width: float = 20.0
    num_rows: int = 10
    num_cols: int = 20
    horizontal_scale: float = 0.1
    vertical_scale: float = 0.005
    slope_threshold: float | None = 0.75
    curriculum: bool = False
    sub_terrains: dict[str, Any] = {}


ROUGH_TERRAINS_CFG = TerrainGeneratorCfg(
    sub_terrains={
        name: SubTerrainCfg(proportion=p)
        for name, p in (("pyramid_stairs", 0.2), ("pyramid_stairs_inv", 0.2), ("boxes", 0.2),
                        ("random_rough", 0.2), ("hf_pyramid_slope", 0.1), ("hf_pyramid_slope_inv", 0.1))
    }
)  # fmt: skip
"""The generator Isaac Lab's rough velocity tasks use (same sub-terrain names, so task files can edit them)."""


@configclass
class TerrainImporterCfg:
    prim_path: str = MISSING
    terrain_type: str = "generator"
    terrain_generator: Any = None
    max_init_terrain_level: int | None = None
    collision_group: int = -1
    physics_material: Any = None
    visual_material: Any = None
    env_spacing: float | None = None
    num_envs: int = 1
    debug_vis: bool = False


@configclass
class InteractiveSceneCfg:
    """The scene: its other members (robot, terrain, sensors, lights) are the task file's own fields."""

    num_envs: int = MISSING
    env_spacing: float = MISSING
    lazy_sensor_update: bool = True
    replicate_physics: bool = True
    filter_collisions: bool = True


ISAAC_NUCLEUS_DIR = "omniverse://isaac/Isaac"
ISAACLAB_NUCLEUS_DIR = "omniverse://isaac/IsaacLab"
"""Stand-ins for Isaac Lab's asset roots: paths built on them only name files robolearn resolves by name."""
