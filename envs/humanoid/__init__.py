"""Humanoid tasks: SkillBlender's goal-conditioned H1 primitive skills and SkillBench scenes (issue 8)."""

from robolearn.envs.humanoid import h1_skillbench, h1_skillbench_objects, h1_skills  # noqa: F401
