"""Isaac Lab's robot configs (`isaaclab_assets.robots.unitree`) by name, resolved to menagerie models.

The values (initial pose, actuator gains and limits) are Isaac Lab's published ones for each robot; the
USD file's name picks robolearn's model (`USD_ROBOTS`). Isaac Lab's articulations have a body per foot where
the menagerie models have a foot geom (Go2, Go1) or only the calf (A1): `FOOT_ALIASES` says which, so a
contact sensor over `.*_foot` counts the same contacts.
"""

from __future__ import annotations

from robolearn.adapters.isaaclab_cfg.configclass import clone
from robolearn.adapters.isaaclab_cfg.sim import (
    ISAACLAB_NUCLEUS_DIR,
    ActuatorNetMLPCfg,
    ArticulationCfg,
    DCMotorCfg,
    ImplicitActuatorCfg,
    UsdFileCfg,
)

__all__ = [
    "FOOT_ALIASES", "H1_CFG", "H1_MINIMAL_CFG", "UNITREE_A1_CFG", "UNITREE_GO1_CFG", "UNITREE_GO2_CFG",
    "USD_ROBOTS",
]  # fmt: skip

USD_ROBOTS = {"go2": "go2", "go1": "go1", "a1": "a1", "h1": "h1", "h1_minimal": "h1"}
"""USD file stem -> robolearn robot name (robolearn.robots.ROBOTS)."""

_LEGS = ("FL", "FR", "RL", "RR")
FOOT_ALIASES: dict[str, dict[str, tuple[str, str]]] = {
    "go2": {f"{leg}_foot": ("geom", leg) for leg in _LEGS},
    "go1": {f"{leg}_foot": ("geom", leg) for leg in _LEGS},
    # The menagerie A1's foot spheres are unnamed geoms of the calf bodies.
    "a1": {f"{leg}_foot": ("body", f"{leg}_calf") for leg in _LEGS},
}
"""Per robot: Isaac Lab body name -> ("geom" | "body", the menagerie model's name) counting its contacts."""

_QUADRUPED_POSE = {
    ".*L_hip_joint": 0.1,
    ".*R_hip_joint": -0.1,
    "F[L,R]_thigh_joint": 0.8,
    "R[L,R]_thigh_joint": 1.0,
    ".*_calf_joint": -1.5,
}
_LEG_JOINTS = [".*_hip_joint", ".*_thigh_joint", ".*_calf_joint"]


def _usd(path: str) -> UsdFileCfg:
    return UsdFileCfg(usd_path=f"{ISAACLAB_NUCLEUS_DIR}/Robots/Unitree/{path}")


UNITREE_GO2_CFG = ArticulationCfg(
    spawn=_usd("Go2/go2.usd"),
    init_state=ArticulationCfg.InitialStateCfg(pos=(0.0, 0.0, 0.4), joint_pos=dict(_QUADRUPED_POSE)),
    soft_joint_pos_limit_factor=0.9,
    actuators={
        "base_legs": DCMotorCfg(
            joint_names_expr=list(_LEG_JOINTS),
            actuator_effort_limit={".*_hip_joint": 23.7, ".*_thigh_joint": 23.7, ".*_calf_joint": 45.43},
            saturation_effort={".*_hip_joint": 23.7, ".*_thigh_joint": 23.7, ".*_calf_joint": 45.43},
            actuator_velocity_limit={".*_hip_joint": 30.1, ".*_thigh_joint": 30.1, ".*_calf_joint": 15.70},
            stiffness=25.0,
            damping=0.5,
            friction=0.0,
        )
    },
)

UNITREE_A1_CFG = ArticulationCfg(
    spawn=_usd("A1/a1.usd"),
    init_state=ArticulationCfg.InitialStateCfg(pos=(0.0, 0.0, 0.42), joint_pos=dict(_QUADRUPED_POSE)),
    soft_joint_pos_limit_factor=0.9,
    actuators={
        "base_legs": DCMotorCfg(
            joint_names_expr=list(_LEG_JOINTS),
            actuator_effort_limit=33.5,
            saturation_effort=33.5,
            actuator_velocity_limit=21.0,
            stiffness=25.0,
            damping=0.5,
            friction=0.0,
        )
    },
)

UNITREE_GO1_CFG = ArticulationCfg(
    spawn=_usd("Go1/go1.usd"),
    init_state=ArticulationCfg.InitialStateCfg(pos=(0.0, 0.0, 0.4), joint_pos=dict(_QUADRUPED_POSE)),
    soft_joint_pos_limit_factor=0.9,
    # Isaac Lab drives the Go1 through a learned actuator network, which robolearn does not reproduce: a
    # config using it is refused by name (swap in a DCMotorCfg to train it here).
    actuators={
        "base_legs": ActuatorNetMLPCfg(
            joint_names_expr=list(_LEG_JOINTS),
            network_file=f"{ISAACLAB_NUCLEUS_DIR}/ActuatorNets/Unitree/unitree_go1.pt",
            pos_scale=-1.0,
            input_idx=[0, 1, 2],
            actuator_effort_limit={".*_hip_joint": 23.7, ".*_thigh_joint": 23.7, ".*_calf_joint": 35.55},
            saturation_effort={".*_hip_joint": 23.7, ".*_thigh_joint": 23.7, ".*_calf_joint": 35.55},
        )
    },
)

H1_CFG = ArticulationCfg(
    spawn=_usd("H1/h1.usd"),
    init_state=ArticulationCfg.InitialStateCfg(
        pos=(0.0, 0.0, 1.05),
        joint_pos={
            ".*_hip_yaw": 0.0,
            ".*_hip_roll": 0.0,
            ".*_hip_pitch": -0.28,
            ".*_knee": 0.79,
            ".*_ankle": -0.52,
            "torso": 0.0,
            ".*_shoulder_pitch": 0.28,
            ".*_shoulder_roll": 0.0,
            ".*_shoulder_yaw": 0.0,
            ".*_elbow": 0.52,
        },  # fmt: skip
    ),
    soft_joint_pos_limit_factor=0.9,
    actuators={
        "legs": ImplicitActuatorCfg(
            joint_names_expr=[".*_hip_yaw", ".*_hip_roll", ".*_hip_pitch", ".*_knee", "torso"],
            effort_limit=300.0,
            stiffness={
                ".*_hip_yaw": 150.0,
                ".*_hip_roll": 150.0,
                ".*_hip_pitch": 200.0,
                ".*_knee": 200.0,
                "torso": 200.0,
            },  # fmt: skip
            damping=5.0,
        ),
        "feet": ImplicitActuatorCfg(
            joint_names_expr=[".*_ankle"], effort_limit=100.0, stiffness=20.0, damping=4.0
        ),
        "arms": ImplicitActuatorCfg(
            joint_names_expr=[".*_shoulder_pitch", ".*_shoulder_roll", ".*_shoulder_yaw", ".*_elbow"],
            effort_limit=300.0,
            stiffness=40.0,
            damping=10.0,
        ),
    },
)

H1_MINIMAL_CFG = clone(H1_CFG)
H1_MINIMAL_CFG.spawn.usd_path = f"{ISAACLAB_NUCLEUS_DIR}/Robots/Unitree/H1/h1_minimal.usd"
