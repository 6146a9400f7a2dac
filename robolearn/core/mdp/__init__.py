"""Reusable MDP terms; a task config picks from these (or defines its own plain functions)."""

from robolearn.core.mdp.curricula import *  # noqa: F403
from robolearn.core.mdp.events import *  # noqa: F403
from robolearn.core.mdp.observations import *  # noqa: F403
from robolearn.core.mdp.rewards import *  # noqa: F403
from robolearn.core.mdp.terminations import *  # noqa: F403
