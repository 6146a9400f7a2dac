"""A differential-IK end-effector action term: the action moves a site of an entity (relative: a twist per
step; absolute: a goal pose), mink solves one IK step per world on the MuJoCo model, and the result goes to
the entity's joint servos as position targets.

Batched by a loop over worlds (correct first): one mink step of ALOHA's 6-DoF left arm (16-DoF model, daqp)
costs 0.36 ms per world here (16 worlds, measured), so this term suits tens of worlds, not thousands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import mujoco
import numpy as np
import torch

from robolearn.core.actions.base import ActionTerm, ActionTermCfg
from robolearn.core.actions.joint import _check_actuators

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


@dataclass
class DifferentialIKActionCfg(ActionTermCfg):
    """End-effector control of `site` (the entity's own site name) through the joints `joint_names`.

    relative: action = (dx, dy, dz[, rx, ry, rz]) * scale, a world-frame displacement (m) and rotation
    vector (rad) added to the goal, which starts at the site's pose at reset;
    absolute: action = (x, y, z[, qw, qx, qy, qz]), a goal pose relative to the world's origin.
    """

    site: str = ""
    mode: Literal["relative", "absolute"] = "relative"
    use_orientation: bool = True
    scale: float = 0.05
    position_cost: float = 1.0
    orientation_cost: float = 0.5
    damping: float = 1e-3
    """Levenberg-Marquardt damping of the IK step (keeps it finite near singularities)."""
    solve_dt: float = 1.0
    """The step integrates the IK velocity over this time; 1 takes the full Gauss-Newton step."""

    def build(self, name: str, env: ManagerBasedRlEnv) -> DifferentialIKAction:
        return DifferentialIKAction(name, self, env)


class DifferentialIKAction(ActionTerm):
    cfg: DifferentialIKActionCfg

    def __init__(self, name: str, cfg: DifferentialIKActionCfg, env: ManagerBasedRlEnv):
        import mink  # the IK solver is only needed by tasks that use this term

        super().__init__(name, cfg, env)
        _check_actuators(self, "position")
        if cfg.mode not in ("relative", "absolute"):
            raise ValueError(f"actions[{name!r}].mode must be 'relative' or 'absolute', got {cfg.mode!r}")
        e = self.entity
        if cfg.site not in e.site_names:
            raise ValueError(f"actions[{name!r}].site={cfg.site!r} is not a site of entity {e.name!r}; "
                             f"sites: {e.site_names}")  # fmt: skip
        model = env.scene.model
        self.site_id = e.site_ids[e.site_names.index(cfg.site)]
        self.dim = (
            (3 if not cfg.use_orientation else 6)
            if cfg.mode == "relative"
            else (3 if not cfg.use_orientation else 7)
        )
        jids = [e.joint_ids_model[i] for i in self.joint_ids]
        self.qadr = np.array([model.jnt_qposadr[j] for j in jids])
        dofs = {int(model.jnt_dofadr[j]) for j in jids}
        self._mink = mink
        self.configuration = mink.Configuration(model)
        self.task = mink.FrameTask(model.site(self.site_id).name, "site", position_cost=cfg.position_cost,
                                   orientation_cost=cfg.orientation_cost if cfg.use_orientation else 0.0,
                                   lm_damping=cfg.damping)  # fmt: skip
        frozen = [d for d in range(model.nv) if d not in dofs]
        # Every other dof (the box's free joint, the other hand) is held exactly: the step uses these joints only.
        self.constraints = [mink.DofFreezingTask(model, frozen)] if frozen else []
        self.target = (
            e.default_joint_pos[self.joint_ids].to(env.device).clone().expand(env.num_envs, -1).clone()
        )
        self.goal_pos = torch.zeros(env.num_envs, 3, dtype=torch.float64)
        self.goal_quat = torch.zeros(env.num_envs, 4, dtype=torch.float64)

    def _site_pose(self, ids: torch.Tensor | slice) -> tuple[torch.Tensor, torch.Tensor]:
        sim = self.env.sim
        pos = sim.site_xpos[ids, self.site_id].detach().cpu().double()
        mat = sim.site_xmat[ids, self.site_id].detach().cpu().double().reshape(-1, 3, 3)
        return pos, torch.as_tensor(np.stack([_mat2quat(m) for m in mat.numpy()]))

    def process(self, action: torch.Tensor) -> torch.Tensor:
        a = action.detach().cpu().double()
        if self.cfg.mode == "relative":
            # Steps add to the last goal, not to the measured pose: a servo's steady error under gravity
            # would otherwise be re-added every step and the end effector would drift.
            a = a * self.cfg.scale
            self.goal_pos += a[:, :3]
            if self.cfg.use_orientation:
                rot = zip(a[:, 3:6].numpy(), self.goal_quat.numpy(), strict=True)
                self.goal_quat[:] = torch.as_tensor(np.stack([_rotvec_mul(r, q) for r, q in rot]))
        else:
            self.goal_pos[:] = a[:, :3] + self.env.env_origins.cpu().double()
            if self.cfg.use_orientation:
                q = a[:, 3:7]
                self.goal_quat[:] = q / q.norm(dim=-1, keepdim=True).clamp(min=1e-9)
        return action

    def apply(self) -> None:
        mink = self._mink
        qpos = self.env.sim.qpos.detach().cpu().numpy()
        last = self.target.detach().cpu().double().numpy()
        out = np.empty((self.env.num_envs, len(self.qadr)))
        for w in range(self.env.num_envs):
            # Solved from the last joint targets, so the targets are a function of the goal alone and the
            # servos' tracking error does not feed back into them.
            q = qpos[w].copy()
            q[self.qadr] = last[w]
            self.configuration.update(q)
            goal = mink.SE3.from_rotation_and_translation(
                mink.SO3(self.goal_quat[w].numpy()), self.goal_pos[w].numpy()
            )
            self.task.set_target(goal)
            try:
                vel = mink.solve_ik(self.configuration, [self.task], self.cfg.solve_dt, "daqp",
                                    damping=self.cfg.damping, constraints=self.constraints)  # fmt: skip
            except mink.NoSolutionFound:
                # daqp rarely fails on the equality-constrained step (seen once in ~100 Panda episodes, the
                # hand pressing on a box): hold the last targets for this step instead of ending the batch.
                out[w] = last[w]
                continue
            self.configuration.integrate_inplace(vel, self.cfg.solve_dt)
            out[w] = self.configuration.q[self.qadr]
        lim = self.entity.soft_joint_limits[self.joint_ids].cpu().numpy()
        out = np.clip(out, lim[:, 0], lim[:, 1])
        self.target[:] = torch.as_tensor(out, dtype=self.target.dtype, device=self.target.device)
        self.write_ctrl(self.target)

    def reset(self, env_ids: torch.Tensor) -> None:
        default = self.entity.default_joint_pos[self.joint_ids].to(self.target)
        self.target[env_ids] = default
        self.write_ctrl(self.target[env_ids], env_ids)
        # The goal starts at the site's pose (the env calls this after the reset state is forwarded).
        ids = env_ids.to(self.env.sim.device)
        self.goal_pos[env_ids.cpu()], self.goal_quat[env_ids.cpu()] = self._site_pose(ids)


def _mat2quat(mat: np.ndarray) -> np.ndarray:
    q = np.empty(4)
    mujoco.mju_mat2Quat(q, np.ascontiguousarray(mat).ravel())
    return q


def _rotvec_mul(rotvec: np.ndarray, quat: np.ndarray) -> np.ndarray:
    """exp(rotvec) * quat: a world-frame rotation applied to an orientation."""
    dq = np.empty(4)
    angle = float(np.linalg.norm(rotvec))
    mujoco.mju_axisAngle2Quat(dq, rotvec / angle if angle > 0 else np.array([1.0, 0.0, 0.0]), angle)
    out = np.empty(4)
    mujoco.mju_mulQuat(out, dq, quat)
    return out
