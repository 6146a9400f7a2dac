"""Tasks. Importing this package registers every task (and its gymnasium id robolearn/<Task>-v0)."""

from robolearn.envs.locomotion import g1_velocity, go2_velocity  # noqa: F401
from robolearn.envs.locomotion import go2_stand  # noqa: F401
