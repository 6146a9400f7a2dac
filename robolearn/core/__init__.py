from robolearn.core.actions import (
    ActionTermCfg,
    DelayedJointPositionActionCfg,
    DifferentialIKActionCfg,
    FrozenPolicyActionCfg,
    GripperActionCfg,
    JointEffortActionCfg,
    JointPositionActionCfg,
    JointVelocityActionCfg,
)
from robolearn.core.cfg import (
    CurriculumTerm,
    EnvCfg,
    EventTerm,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    SimCfg,
    TerminationTerm,
    ViewerCfg,
)
from robolearn.core.commands import (
    CommandTermCfg,
    MotionClipCommandCfg,
    PoseCommandCfg,
    TrajectoryCommandCfg,
    VelocityCommandCfg,
)
from robolearn.core.entity import Entity, SceneEntityCfg
from robolearn.core.env import ManagerBasedRlEnv

__all__ = [
    "ActionTermCfg", "CommandTermCfg", "CurriculumTerm", "DelayedJointPositionActionCfg", "DifferentialIKActionCfg", "Entity", "EnvCfg",
    "EventTerm", "FrozenPolicyActionCfg", "GripperActionCfg", "JointEffortActionCfg",
    "JointPositionActionCfg", "JointVelocityActionCfg", "ManagerBasedRlEnv", "MotionClipCommandCfg",
    "ObsGroupCfg", "ObsTerm", "PoseCommandCfg", "RewardTerm", "SceneEntityCfg", "SimCfg", "TerminationTerm",
    "TrajectoryCommandCfg", "VelocityCommandCfg", "ViewerCfg",
]  # fmt: skip
