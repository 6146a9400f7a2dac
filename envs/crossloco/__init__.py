"""CrossLoco: `Go2-CrossLoco` (cycle-consistency reward) and `Go2-CrossLoco-NoCycle` (root tracking only)."""

from robolearn.envs.crossloco.tasks import Go2CrossLocoCfg, Go2CrossLocoNoCycleCfg, crossloco_cpu_ppo, fit_mappers
from robolearn.registry import register_task

register_task("Go2-CrossLoco", Go2CrossLocoCfg,
              "Unitree Go2 moves like a human clip: root tracking + a cycle-consistency reward from learned "
              "human<->robot mappers (CrossLoco)", presets={"ppo": crossloco_cpu_ppo}, iteration_hook=fit_mappers)  # fmt: skip
register_task("Go2-CrossLoco-NoCycle", Go2CrossLocoNoCycleCfg,
              "CrossLoco's unsupervised baseline: Go2-CrossLoco without the cycle term (root tracking only)",
              presets={"ppo": crossloco_cpu_ppo}, iteration_hook=fit_mappers)  # fmt: skip
