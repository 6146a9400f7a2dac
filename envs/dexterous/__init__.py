"""Dexterous manipulation tasks: hands and objects as scene entities (importing registers the tasks)."""

from robolearn.envs.dexterous import (  # noqa: F401
    bidex,
    hermes,  # HERMES: one human demo -> residual RL
    leap_bimanual,
)
