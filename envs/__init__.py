"""Tasks. Importing this package registers every task (and its gymnasium id robolearn/<Task>-v0)."""

from robolearn.envs import manipulation  # noqa: F401  (ALOHA imitation tasks; own registry, not EnvCfg)
from robolearn.envs.locomotion import (  # noqa: F401
    a1_hinf,  # noqa: F401  (H-infinity locomotion, issue 6)
    g1_velocity,
    go2_stand,  # noqa: F401
    go2_velocity,
)
from robolearn.envs.locomotion import confined3d  # noqa: F401,E402  (issue 7: Go1-Confined3D)
