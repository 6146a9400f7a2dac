"""Action terms: how a policy's output becomes actuator controls (robolearn.core.actions.base has the manager)."""

from robolearn.core.actions.base import ActionManager, ActionTerm, ActionTermCfg
from robolearn.core.actions.delayed import DelayedJointPositionAction, DelayedJointPositionActionCfg
from robolearn.core.actions.frozen import FrozenPolicyAction, FrozenPolicyActionCfg
from robolearn.core.actions.ik import DifferentialIKAction, DifferentialIKActionCfg
from robolearn.core.actions.joint import (
    GripperAction,
    GripperActionCfg,
    JointEffortAction,
    JointEffortActionCfg,
    JointPositionAction,
    JointPositionActionCfg,
    JointVelocityAction,
    JointVelocityActionCfg,
)

__all__ = [
    "ActionManager", "ActionTerm", "ActionTermCfg", "DelayedJointPositionAction", "DelayedJointPositionActionCfg",
    "DifferentialIKAction", "DifferentialIKActionCfg",
    "FrozenPolicyAction", "FrozenPolicyActionCfg", "GripperAction", "GripperActionCfg", "JointEffortAction",
    "JointEffortActionCfg", "JointPositionAction", "JointPositionActionCfg", "JointVelocityAction",
    "JointVelocityActionCfg",
]  # fmt: skip
