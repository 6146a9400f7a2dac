"""Learner configs: plain dataclasses that tasks name in their training presets.

They sit in the core, below the tasks (as mjlab keeps `rl` configs in its core), so a task declares how it
trains without importing a learner; the learners (robolearn.policies) import them from here. A config
names its learner classes by string (rsl_rl's `class_name`), never by import.
"""

from robolearn.rl.distill import STUDENT_GROUP, DistillCfg
from robolearn.rl.hinf import DEFAULT_COST_TERMS, HInfCfg
from robolearn.rl.ppo import PpoCfg, cpu_has_native_bf16, ppo_fields
from robolearn.rl.sb3 import Sb3Cfg
from robolearn.rl.skillblender import SkillBlenderCfg

__all__ = [
    "DEFAULT_COST_TERMS",
    "STUDENT_GROUP",
    "DistillCfg",
    "HInfCfg",
    "PpoCfg",
    "Sb3Cfg",
    "SkillBlenderCfg",
    "cpu_has_native_bf16",
    "ppo_fields",
]
