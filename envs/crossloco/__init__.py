"""CrossLoco: `Go2-CrossLoco` (cycle-consistency reward) and `Go2-CrossLoco-NoCycle` (root tracking only),
and the manual-retargeting baseline `Go2-Tracking`."""

from robolearn.envs.crossloco.evaluation import crossloco_suite
from robolearn.envs.crossloco.play import crossloco_play
from robolearn.envs.crossloco.tasks import (
    Go2CrossLocoCfg,
    Go2CrossLocoNoCycleCfg,
    crossloco_cpu_ppo,
    fit_mappers,
)
from robolearn.envs.crossloco.tracking_baseline import Go2TrackingCfg, go2_tracking_cpu_ppo
from robolearn.envs.tracking import TRACKING_SUITE, tracking_suite
from robolearn.registry import register_task

register_task("Go2-CrossLoco", Go2CrossLocoCfg,
              "Unitree Go2 moves like a human clip: root tracking + a cycle-consistency reward from learned "
              "human<->robot mappers (CrossLoco)", presets={"ppo": crossloco_cpu_ppo}, iteration_hook=fit_mappers,
              suites={"crossloco": crossloco_suite}, default_suite="crossloco", play=crossloco_play)  # fmt: skip
register_task("Go2-CrossLoco-NoCycle", Go2CrossLocoNoCycleCfg,
              "CrossLoco's unsupervised baseline: Go2-CrossLoco without the cycle term (root tracking only)",
              presets={"ppo": crossloco_cpu_ppo}, iteration_hook=fit_mappers,
              suites={"crossloco": crossloco_suite}, default_suite="crossloco", play=crossloco_play)  # fmt: skip
register_task("Go2-Tracking", Go2TrackingCfg,
              "Unitree Go2 tracks a human clip retargeted kinematically (retarget/quadruped.py): CrossLoco's "
              "manual-retargeting baseline", presets={"ppo": go2_tracking_cpu_ppo},
              suites={TRACKING_SUITE: tracking_suite}, default_suite=TRACKING_SUITE)  # fmt: skip
