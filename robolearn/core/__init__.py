from robolearn.core.cfg import (
    CurriculumTerm,
    EnvCfg,
    EventTerm,
    JointPositionActionCfg,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    SimCfg,
    TerminationTerm,
    VelocityCommandCfg,
    ViewerCfg,
)
from robolearn.core.env import ManagerBasedRlEnv

__all__ = [
    "CurriculumTerm", "EnvCfg", "EventTerm", "JointPositionActionCfg", "ManagerBasedRlEnv", "ObsGroupCfg",
    "ObsTerm", "RewardTerm", "SimCfg", "TerminationTerm", "VelocityCommandCfg", "ViewerCfg",
]  # fmt: skip
