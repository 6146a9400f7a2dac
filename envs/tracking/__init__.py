"""Motion tracking: `G1-Tracking` and `H1-Tracking` track retargeted human motion clips (tasks.py)."""

from robolearn.envs.tracking.evaluation import tracking_suite
from robolearn.envs.tracking.tasks import G1TrackingCfg, H1TrackingCfg, tracking_cpu_ppo
from robolearn.registry import register_task

TRACKING_SUITE = "tracking"
TRACKING_TASKS = {"g1": "G1-Tracking", "h1": "H1-Tracking"}
"""The tracking task of each robot that has one (robolearn.robots names)."""

register_task("G1-Tracking", G1TrackingCfg, "Unitree G1 tracks a retargeted motion clip (BeyondMimic recipe)",
              presets={"ppo": tracking_cpu_ppo}, suites={TRACKING_SUITE: tracking_suite},
              default_suite=TRACKING_SUITE)  # fmt: skip
register_task("H1-Tracking", H1TrackingCfg, "Unitree H1 tracks a retargeted motion clip (BeyondMimic recipe)",
              presets={"ppo": tracking_cpu_ppo}, suites={TRACKING_SUITE: tracking_suite},
              default_suite=TRACKING_SUITE)  # fmt: skip
