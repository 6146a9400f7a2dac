"""Moved: the learner configs live in robolearn.rl (below the tasks, which name them in their presets).

Kept only while policies/cli.py and policies/setup.py still import PpoCfg from here; import robolearn.rl.
"""

from robolearn.rl import PpoCfg, ppo_fields

__all__ = ["PpoCfg", "ppo_fields"]
