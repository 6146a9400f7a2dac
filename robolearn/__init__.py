"""robolearn: robot learning on batched MuJoCo.

Importing it sets one thing, OpenMP's wait policy, and only if the environment has not: MuJoCo's offscreen
GL is chosen when rendering starts (robolearn.gl).
"""

import os
import sys

# Torch's OpenMP threads sleep at barriers instead of spinning. The PPO update runs on every core
# (PpoCfg.update_threads) while the physics threads idle; with spinning threads a 2-thread update on a
# loaded 2-core machine took 4.1x the CPU seconds of a 1-thread one (sleeping: 1.04x), and in whole
# iterations 5.3x the update wall time (benchmarks/train_levers.py). libgomp reads it when torch loads it.
_policy = os.environ.get("OMP_WAIT_POLICY")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
OPENMP_THREADS_SLEEP = (_policy or "passive").lower() == "passive" and (
    _policy is not None or "torch" not in sys.modules
)
"""Whether torch's OpenMP threads sleep at barriers; False when torch was imported before robolearn
without OMP_WAIT_POLICY=PASSIVE (then the PPO update keeps `torch_threads`)."""

__version__ = "0.1.0"
