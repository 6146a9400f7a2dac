"""robolearn: robot learning on batched MuJoCo.

Importing it sets one thing, OpenMP's wait policy, and only if the environment has not: MuJoCo's offscreen
GL is chosen when rendering starts (robolearn.gl).
"""

import os

# Torch's OpenMP threads sleep at barriers instead of spinning. The PPO update runs on both cores
# (PpoCfg.update_threads) while the physics threads idle; with spinning threads a 2-thread update on a
# loaded 2-core machine took 4.1x the CPU seconds of a 1-thread one, sleeping 1.04x
# (benchmarks/train_levers.py). It must be set before torch loads libgomp, hence here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
