"""The TrajBooster arms: the G1's 14 arm joints by differential IK (mink) to wrist targets relative to the pelvis.

One mink configuration per world on menagerie's `g1` model with the pelvis held at the origin: every joint but
the 14 arm joints is frozen (`mink.DofFreezingTask`), the waist at zero as the worker's model has it locked. Each
control step runs `iterations` IK steps from the previous solution (warm start) toward both wrists' targets
(position and orientation, in the pelvis frame) with a light posture task toward the default arm pose.

A target is reported unreachable when the solved wrist is still more than `tolerance` from it (position), or
when the QP has no solution; `stats` counts both and times every solve.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import mink
import mujoco
import numpy as np

from robolearn.robots import robot_model

WRISTS = ("left_wrist_yaw_link", "right_wrist_yaw_link")
ARM_PARTS = ("shoulder", "elbow", "wrist")


@dataclass
class IKStats:
    solves: int = 0
    seconds: float = 0.0
    unreachable: int = 0
    """Solves that ended with a wrist farther than the tolerance from its target."""
    failures: int = 0
    """Solves whose QP found no solution (the previous arm pose was kept)."""
    times: list[float] = field(default_factory=list)

    @property
    def mean_ms(self) -> float:
        return 1e3 * self.seconds / max(self.solves, 1)


@dataclass
class IKResult:
    q: np.ndarray
    """(14,) arm joint positions, in `ArmIK.joint_names` order."""
    pos_error: np.ndarray
    """(2,) wrist position errors (m)."""
    ori_error: np.ndarray
    """(2,) wrist orientation errors (rad)."""
    reachable: bool


class ArmIK:
    """Differential IK of both G1 arms for `num_worlds` independent worlds."""

    def __init__(self, num_worlds: int, default_arm: dict[str, float] | None = None, iterations: int = 3,
                 dt: float = 0.02, tolerance: float = 0.02, orientation_cost: float = 0.2):  # fmt: skip
        self.model = robot_model("g1")
        m = self.model
        names = [m.joint(j).name for j in range(m.njnt)]
        self.arm_joints = [j for j, n in enumerate(names) if any(p in n for p in ARM_PARTS)]
        self.joint_names = [names[j] for j in self.arm_joints]
        self.qadr = np.array([m.jnt_qposadr[j] for j in self.arm_joints])
        arm_dofs = {int(m.jnt_dofadr[j]) for j in self.arm_joints}
        frozen = [d for d in range(m.nv) if d not in arm_dofs]
        q0 = np.zeros(m.nq)
        q0[3] = 1.0  # pelvis at the origin, upright
        for name, value in (default_arm or {}).items():
            q0[m.jnt_qposadr[m.joint(name).id]] = value
        self.q0 = q0
        self.iterations, self.dt, self.tolerance = iterations, dt, tolerance
        self.configs = [mink.Configuration(m, q0.copy()) for _ in range(num_worlds)]
        self.tasks = [
            mink.FrameTask(w, "body", position_cost=1.0, orientation_cost=orientation_cost) for w in WRISTS
        ]
        self.posture = mink.PostureTask(m, cost=1e-3)
        self.posture.set_target(q0)
        self.freeze = [mink.DofFreezingTask(m, dof_indices=frozen)]
        self.limits = [mink.ConfigurationLimit(m)]
        self.stats = IKStats()

    def reset(self, world: int) -> None:
        self.configs[world].update(self.q0.copy())

    def wrist_poses(self, world: int) -> tuple[np.ndarray, np.ndarray]:
        """(2, 3) positions and (2, 4) quaternions (w, x, y, z) of the solved wrists, pelvis frame."""
        cfg = self.configs[world]
        pos, quat = np.zeros((2, 3)), np.zeros((2, 4))
        for k, w in enumerate(WRISTS):
            tf = cfg.get_transform_frame_to_world(w, "body")
            pos[k], quat[k] = tf.translation(), tf.rotation().wxyz
        return pos, quat

    def solve(self, world: int, pos: np.ndarray, quat: np.ndarray, iterations: int | None = None) -> IKResult:
        """Arm joints reaching wrist targets `pos` (2, 3) and `quat` (2, 4 wxyz) in the pelvis frame."""
        cfg = self.configs[world]
        for k, task in enumerate(self.tasks):
            so3 = mink.SO3(np.asarray(quat[k], dtype=np.float64))
            task.set_target(mink.SE3.from_rotation_and_translation(so3, np.asarray(pos[k], dtype=np.float64)))
        start = time.perf_counter()
        failed = False
        n = iterations or self.iterations
        for _ in range(n):
            try:
                vel = mink.solve_ik(cfg, [*self.tasks, self.posture], self.dt / n, "daqp", damping=1e-3,
                                    limits=self.limits, constraints=self.freeze)  # fmt: skip
            except mink.NoSolutionFound:
                failed = True
                break
            cfg.integrate_inplace(vel, self.dt / n)
        elapsed = time.perf_counter() - start
        got_pos, got_quat = self.wrist_poses(world)
        pos_err = np.linalg.norm(got_pos - pos, axis=-1)
        dots = np.abs(np.sum(got_quat * np.asarray(quat), axis=-1)).clip(0.0, 1.0)
        ori_err = 2 * np.arccos(dots)
        reachable = not failed and bool((pos_err <= self.tolerance).all())
        s = self.stats
        s.solves += 1
        s.seconds += elapsed
        s.unreachable += int(not reachable and not failed)
        s.failures += int(failed)
        return IKResult(cfg.q[self.qadr].copy(), pos_err, ori_err, reachable)


def frame_pose(model: mujoco.MjModel, q: np.ndarray, body: str) -> tuple[np.ndarray, np.ndarray]:
    """World position and quaternion of `body` at configuration `q` (forward kinematics)."""
    data = mujoco.MjData(model)
    data.qpos[:] = q
    mujoco.mj_kinematics(model, data)
    b = model.body(body).id
    return data.xpos[b].copy(), data.xquat[b].copy()
