"""Dexterous manipulation tasks: hands and objects as scene entities (importing registers the tasks)."""

from robolearn.envs.dexterous import (
    hermes,  # noqa: F401  (HERMES: one human demo -> residual RL)
    leap_bimanual,  # noqa: F401
)
