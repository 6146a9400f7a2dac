"""Issue 7: dexterous legged locomotion in confined 3-D spaces (terrain, two-layer height map, planner, task)."""

from robolearn.envs.locomotion.confined3d import task  # noqa: F401  (registers the tasks)
