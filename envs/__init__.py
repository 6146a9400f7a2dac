"""Tasks. Importing this package registers every task (and its gymnasium id robolearn/<Task>-v0)."""

from robolearn.envs import (
    crossloco,  # noqa: F401  (CrossLoco: Go2 moves like a human clip, cycle-consistency reward)
    dexterous,  # noqa: F401  (LEAP hands and objects as scene entities)
    humanoid,  # noqa: F401  (SkillBlender H1 and G1 skills, SkillBench)
    manipulation,  # noqa: F401  (ALOHA imitation tasks, kind "imitation")
    panda,  # noqa: F401  (Panda + LEAP tabletop tasks, MotionTrans)
    tracking,  # noqa: F401  (motion tracking of retargeted clips)
)
from robolearn.envs.locomotion import (  # noqa: F401
    a1_hinf,  # noqa: F401  (H-infinity locomotion)
    confined3d,  # noqa: F401  (confined 3-D locomotion)
    g1_velocity,
    g1_velocity_height,  # noqa: F401  (TrajBooster worker)
    go2_stand,  # noqa: F401
    go2_velocity,
)
