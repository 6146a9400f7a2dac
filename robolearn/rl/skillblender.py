"""SkillBlender's learner config (robolearn.policies.skillblender is the learner), below the tasks so a task can
name it as its training preset."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from robolearn.rl.ppo import PpoCfg, ppo_fields


@dataclass
class SkillBlenderCfg(PpoCfg):
    """PPO whose actor is the skill blender; the critic is PPO's usual MLP on the critic groups."""

    skills: tuple[str, ...] = ()
    """Run folders (or checkpoint files inside them) of the frozen skills, e.g. runs/H1-Skill-Reach/<stamp>."""
    per_joint_weights: bool = True
    """One blend weight per skill and joint (SkillBlender); False: one weight per skill (the baseline)."""
    goals_from_zero: bool = False
    """Start every skill's goal at zero (the goal rows of the output layer zeroed): each skill holds still,
    and a walking skill that can stand starts standing. False: the usual random initialisation."""

    @classmethod
    def cpu(cls, **overrides: Any) -> SkillBlenderCfg:  # type: ignore[override]
        base = PpoCfg.cpu()
        return dataclasses.replace(cls(**ppo_fields(base)), **overrides)

    def to_rsl_rl(self, device: str = "cpu") -> dict[str, Any]:
        if not self.skills:
            raise ValueError("skillblender: name the skill runs to blend (SkillBlenderCfg.skills)")
        cfg = super().to_rsl_rl(device)
        # rsl_rl resolves the actor by name: the learner stays out of the core's imports.
        cfg["actor"]["class_name"] = "robolearn.policies.skillblender:SkillBlenderModel"
        cfg["actor"]["skills"] = [str(s) for s in self.skills]
        cfg["actor"]["per_joint_weights"] = self.per_joint_weights
        cfg["actor"]["goals_from_zero"] = self.goals_from_zero
        return cfg
