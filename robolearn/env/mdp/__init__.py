"""Reusable MDP terms; a task config picks from these (or defines its own plain functions)."""

from robolearn.env.mdp.curricula import *  # noqa: F403
from robolearn.env.mdp.events import *  # noqa: F403
from robolearn.env.mdp.observations import *  # noqa: F403
from robolearn.env.mdp.rewards import *  # noqa: F403
from robolearn.env.mdp.terminations import *  # noqa: F403
