"""Humanoid tasks: SkillBlender's goal-conditioned primitive skills (H1, G1) and SkillBench scenes."""

from robolearn.envs.humanoid import g1_skills, h1_skillbench, h1_skillbench_objects, h1_skills  # noqa: F401
