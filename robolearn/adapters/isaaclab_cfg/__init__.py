"""Isaac Lab's manager-based config surface on robolearn's CPU backend.

An Isaac Lab task file (e.g. the Go2 velocity config) runs here after its import lines change to this package::

    from robolearn.adapters.isaaclab_cfg import (ManagerBasedRLEnvCfg, ObservationGroupCfg as ObsGroup,
        ObservationTermCfg as ObsTerm, RewardTermCfg as RewTerm, SceneEntityCfg, configclass, mdp, sim_utils, ...)

`to_env_cfg(MyEnvCfg())` gives robolearn's EnvCfg, `register("My-Task", MyEnvCfg)` a task `robolearn train`
trains. docs/isaaclab.md lists the covered term functions and config fields.
"""

from robolearn.adapters.isaaclab_cfg import mdp, sim as sim_utils
from robolearn.adapters.isaaclab_cfg.configclass import MISSING, clone, configclass, replace, to_dict
from robolearn.adapters.isaaclab_cfg.convert import (
    Conversion,
    IsaacLabConfigError,
    convert,
    register,
    to_env_cfg,
)
from robolearn.adapters.isaaclab_cfg.managers import (
    AdditiveGaussianNoiseCfg,
    AdditiveUniformNoiseCfg,
    CurriculumTermCfg,
    EventTermCfg,
    GaussianNoiseCfg,
    ManagerBasedRLEnvCfg,
    ObservationGroupCfg,
    ObservationTermCfg,
    RewardTermCfg,
    SceneEntityCfg,
    TerminationTermCfg,
    UniformNoiseCfg,
    ViewerCfg,
)
from robolearn.adapters.isaaclab_cfg.robots import (
    H1_CFG,
    H1_MINIMAL_CFG,
    UNITREE_A1_CFG,
    UNITREE_GO1_CFG,
    UNITREE_GO2_CFG,
)
from robolearn.adapters.isaaclab_cfg.sim import (
    ISAAC_NUCLEUS_DIR,
    ISAACLAB_NUCLEUS_DIR,
    ROUGH_TERRAINS_CFG,
    ActuatorNetMLPCfg,
    ArticulationCfg,
    AssetBaseCfg,
    ContactSensorCfg,
    DCMotorCfg,
    ImplicitActuatorCfg,
    InteractiveSceneCfg,
    KaminoPADMMSolverCfg,
    MJWarpSolverCfg,
    NewtonCfg,
    NewtonCollisionPipelineCfg,
    NewtonShapeCfg,
    OvPhysxCfg,
    PhysxAutoCfg,
    PhysxCfg,
    PresetCfg,
    RayCasterCfg,
    SimulationCfg,
    TerrainGeneratorCfg,
    TerrainImporterCfg,
    patterns,
)

__all__ = [
    "H1_CFG", "H1_MINIMAL_CFG", "ISAACLAB_NUCLEUS_DIR", "ISAAC_NUCLEUS_DIR", "MISSING", "ROUGH_TERRAINS_CFG",
    "UNITREE_A1_CFG", "UNITREE_GO1_CFG", "UNITREE_GO2_CFG", "ActuatorNetMLPCfg", "AdditiveGaussianNoiseCfg",
    "AdditiveUniformNoiseCfg", "ArticulationCfg", "AssetBaseCfg", "ContactSensorCfg", "Conversion",
    "CurriculumTermCfg", "DCMotorCfg", "EventTermCfg", "GaussianNoiseCfg", "ImplicitActuatorCfg",
    "InteractiveSceneCfg", "IsaacLabConfigError", "KaminoPADMMSolverCfg", "MJWarpSolverCfg", "ManagerBasedRLEnvCfg",
    "NewtonCfg", "NewtonCollisionPipelineCfg", "NewtonShapeCfg", "ObservationGroupCfg", "ObservationTermCfg",
    "OvPhysxCfg", "PhysxAutoCfg", "PhysxCfg", "PresetCfg", "RayCasterCfg", "RewardTermCfg", "SceneEntityCfg",
    "SimulationCfg", "TerminationTermCfg", "TerrainGeneratorCfg", "TerrainImporterCfg", "UniformNoiseCfg",
    "ViewerCfg", "clone", "configclass", "convert", "mdp", "patterns", "register", "replace", "sim_utils",
    "to_dict", "to_env_cfg",
]  # fmt: skip
