"""Dexterous legged locomotion in confined 3-D spaces (terrain, two-layer height map, planner, task).

The tasks register here, beside their tunnel evaluation suite and traversal video (evaluation.py imports
task.py, so task.py cannot register them itself).
"""

from robolearn.envs.locomotion.confined3d.evaluation import METHOD_OF_TASK, traversal_video, tunnel_suite
from robolearn.envs.locomotion.confined3d.task import (
    Go1Confined3DCfg,
    Go1Confined3DGoalOnlyCfg,
    Go1VelocityFlatCfg,
    confined_train_cfg,
)
from robolearn.registry import register_task

_TUNNELS = "confined3d"
for _name, _cfg, _text in (
    ("Go1-Confined3D", Go1Confined3DCfg,
     "Unitree Go1: reach a far goal through confined 3-D tunnels following A* waypoints (walk, crouch, turn)"),
    ("Go1-Confined3D-GoalOnly", Go1Confined3DGoalOnlyCfg,
     "Unitree Go1: confined 3-D tunnels, end-to-end baseline given only the far goal (no planner)"),
):  # fmt: skip
    register_task(_name, _cfg, _text, presets={"ppo": confined_train_cfg},
                  suites={_TUNNELS: tunnel_suite(METHOD_OF_TASK[_name])}, default_suite=_TUNNELS,
                  play=traversal_video(METHOD_OF_TASK[_name]))  # fmt: skip
# The velocity baseline is a flat-ground task: eval and play stay on flat ground unless asked for the tunnels.
register_task(
    "Go1-Velocity-Flat",
    Go1VelocityFlatCfg,
    "Unitree Go1: track (vx, vy, yaw rate) on flat ground (the confined-3D velocity baseline's low level)",
    presets={"ppo": confined_train_cfg},
    suites={_TUNNELS: tunnel_suite(METHOD_OF_TASK["Go1-Velocity-Flat"])},
)
