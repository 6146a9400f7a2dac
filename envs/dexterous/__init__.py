"""Dexterous manipulation tasks: hands and objects as scene entities (importing registers the tasks)."""

from robolearn.envs.dexterous import bidex, hermes, leap_bimanual  # noqa: F401
