"""The per-world task state of a BiDex env: which demonstration a world plays, its stage and reference index.

A BiDex env holds a category's tasks (one demonstration each) and assigns one to every world at reset, so
a multi-task teacher trains on all of them in one batch. The items are the category's shapes at one scale
and the table at one height (a single-task env: the demonstration's own); each demonstration is shifted
vertically onto that table. Per-world geometry was tried and dropped: with sizes or positions of static
geoms changed per world (mjbatch's expanded `geom_size`/`geom_pos`), a box table under a cylinder kept
colliding at its compiled size (measured: a 1 cm lower table top left the item resting 1 cm above it).

Stages, per hand (the paper's two-stage scheme): stage 1 until the hand's item is within `switch_dist` of
its reference pose at `ref` while the hand is close to it; then stage 2, where the item's reference
advances one demo frame every `steps_per_frame` control steps from the switch, up to `end`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from robolearn.core.commands import CommandTerm, CommandTermCfg
from robolearn.envs.dexterous.bidex.schema import ITEMS, BimanualDemo, resolve_spec
from robolearn.envs.dexterous.bimanual import HANDS, fingertip_pos, palm_pos

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


@dataclass
class StageCfg:
    switch_dist: float = 0.05
    """Stage 1 -> 2 (and success): the item within 5 cm of its reference, as the paper's code."""
    close_palm: float = 0.13
    """"The hand is close": palm centre within this distance of its item's origin (m). Measured with a
    scripted top grasp (fingers closed, palm pressed on the item): 8 cm on the stir bowl, 11 cm on the
    spoon (the palm rests on the fingers wrapped around it)."""
    close_tips: float = 0.10
    """... and the fingertips' mean distance to the item's origin below this (m): 5-8 cm in that grasp,
    15 cm with the hand open above the item."""
    steps_per_frame: int = 2
    track_tol: float = 0.05
    """Fulfillment counts a step as tracked when both items are within this of their references."""
    stage1_budget_steps: int = 100
    """Control steps an episode allows for stage 1 (the episode length adds the post-ref steps)."""


@dataclass
class ReferenceCfg(CommandTermCfg):
    """The demonstrations this env plays (a category's tasks) and the stage rule."""

    tasks: tuple[str, ...] = ()
    """The demonstrations, as schema.demo_spec strings (generated, a task file, or held in memory)."""
    stage: StageCfg = field(default_factory=StageCfg)
    table_height: float = 0.2
    """The scene's table height: each demonstration is shifted vertically onto it."""
    init_noise: float = 0.01
    """Uniform noise (m) on the items' initial x, y."""
    resampling_time_s: tuple[float, float] = (1e9, 1e9)

    def build(self, name: str, env: ManagerBasedRlEnv) -> Reference:
        return Reference(name, self, env)


def _stack(demos: list[BimanualDemo], table: float, device: torch.device) -> dict[str, torch.Tensor]:
    """Per-task arrays, trajectories padded with their last frame to the longest demo and shifted
    vertically so each demonstration's table top is the scene's."""
    frames = max(d.num_frames for d in demos)
    pos = np.zeros((len(demos), frames, 2, 3))
    quat = np.zeros((len(demos), frames, 2, 4))
    from scipy.spatial.transform import Rotation

    for k, d in enumerate(demos):
        for i, item in enumerate(ITEMS):
            traj = d.item_pose(item)
            traj = np.concatenate([traj, np.repeat(traj[-1:], frames - len(traj), axis=0)])
            pos[k, :, i] = traj[:, :3, 3] + [0.0, 0.0, table - d.table_height]
            x, y, z, w = Rotation.from_matrix(traj[:, :3, :3]).as_quat().T
            quat[k, :, i] = np.stack([w, x, y, z], axis=-1)
    t = lambda a, dt=torch.float64: torch.as_tensor(np.asarray(a), dtype=dt, device=device)  # noqa: E731
    return {
        "pos": t(pos), "quat": t(quat),
        "init": t([d.init for d in demos], torch.long), "ref": t([d.ref for d in demos], torch.long),
        "end": t([d.end for d in demos], torch.long), "table": t([table for _ in demos]),
        "scale": t([[d.shapes[i].scale for i in ITEMS] for d in demos]),
    }  # fmt: skip


def quat_cos(q1: torch.Tensor, q2: torch.Tensor) -> torch.Tensor:
    """cos of the rotation angle between two (..., 4) unit quaternions: 2 <q1, q2>^2 - 1."""
    return 2.0 * (q1 * q2).sum(-1).square() - 1.0


class Reference(CommandTerm):
    """command: (N, 2*7) the two items' current reference poses (position in the world's frame, quat)."""

    cfg: ReferenceCfg

    def __init__(self, name: str, cfg: ReferenceCfg, env: ManagerBasedRlEnv):
        if not cfg.tasks:
            raise ValueError("BiDex reference: the env holds no demonstrations")
        self.demos = [resolve_spec(t) for t in cfg.tasks]
        super().__init__(name, cfg, env, 14)
        n, dev = env.num_envs, env.device
        self.tasks = _stack(self.demos, cfg.table_height, dev)
        self.num_tasks = len(self.demos)
        self.task = torch.zeros(n, dtype=torch.long, device=dev)
        self.stage = torch.zeros(n, 2, dtype=torch.long, device=dev)
        self.switch_step = torch.zeros(n, 2, dtype=torch.long, device=dev)
        self.ref_idx = torch.zeros(n, 2, dtype=torch.long, device=dev)
        self.init_dist = torch.ones(n, 2, dtype=torch.float64, device=dev)
        self.tracked = torch.zeros(n, dtype=torch.long, device=dev)
        self.both_switched_at = torch.full((n,), -1, dtype=torch.long, device=dev)
        self.stage2_success = torch.zeros(n, dtype=torch.bool, device=dev)
        self._dist: tuple[torch.Tensor, torch.Tensor] | None = None
        self._dist_key: tuple[int, float] | None = None
        self.forced_task: int | None = None
        """Evaluation: every reset world plays this task (None: a uniform draw)."""
        self.update_state()

    # -- command interface ----------------------------------------------------------------------------
    def _resample(self, env_ids: torch.Tensor) -> None:
        if self.forced_task is not None:
            self.task[env_ids] = self.forced_task
        else:
            self.task[env_ids] = torch.randint(0, self.num_tasks, (len(env_ids),), device=self.env.device,
                                               generator=self.env.rng)  # fmt: skip

    def after_sim_reset(self, env_ids: torch.Tensor) -> None:
        if len(env_ids) == 0:
            return
        task = self.task[env_ids]
        init = self.tasks["init"][task]
        for i, item in enumerate(ITEMS):
            ent = self.env.scene[item]
            p = self.tasks["pos"][task, init, i].clone()
            noise = torch.rand(len(env_ids), 2, device=p.device, generator=self.env.rng).to(p) * 2 - 1
            p[:, :2] += self.cfg.init_noise * noise
            p += self.env.env_origins[env_ids].to(p)
            ent.write_root_pose(env_ids, torch.cat([p, self.tasks["quat"][task, init, i]], dim=-1))
            ent.write_root_velocity(env_ids, torch.zeros(len(env_ids), 6, dtype=p.dtype, device=p.device))
        self.env.sim.forward(env_ids.to(self.env.sim.device))
        self.stage[env_ids] = 0
        self.switch_step[env_ids] = 0
        self.ref_idx[env_ids] = self.tasks["ref"][task].unsqueeze(-1).expand(-1, 2)
        self.tracked[env_ids] = 0
        self.both_switched_at[env_ids] = -1
        self.stage2_success[env_ids] = False
        ref_pos = self.tasks["pos"][task, self.tasks["ref"][task]]
        start = torch.stack([self.env.scene[k].root_pos_w[env_ids.to(self.env.sim.device)] for k in ITEMS], 1)
        start = start.to(ref_pos) - self.env.env_origins[env_ids].to(ref_pos).unsqueeze(1)
        self.init_dist[env_ids] = (start - ref_pos).norm(dim=-1).clamp_min(0.02)
        self.update_state(env_ids)

    def compute(self, dt: float) -> None:
        self.advance()

    # -- the stage machine ----------------------------------------------------------------------------
    def item_pose(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 2, 3) item positions in each world's frame and (N, 2, 4) orientations."""
        origin = self.env.env_origins.to(self.env.device, torch.float64).unsqueeze(1)
        pos = torch.stack([self.env.scene[k].root_pos_w for k in ITEMS], 1).to(self.env.device, torch.float64)
        quat = torch.stack([self.env.scene[k].root_quat_w for k in ITEMS], 1).to(self.env.device, torch.float64)
        return pos - origin, quat

    def hand_distances(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 2) palm-item distance and (N, 2) mean fingertip-item distance, per hand (cached per sim state:
        the reward, stage and observation terms ask for them six times a step)."""
        key = (self.env.common_step_counter, float(self.env.sim.qpos.sum()))
        if self._dist is not None and self._dist_key == key:
            return self._dist
        self._dist = self._hand_distances()
        self._dist_key = key
        return self._dist

    def _hand_distances(self) -> tuple[torch.Tensor, torch.Tensor]:
        pos, _ = self.item_pose()
        origin = self.env.env_origins.to(pos).unsqueeze(1)
        palms = torch.stack([palm_pos(self.env, h).to(pos) for h in HANDS], 1) - origin
        tips = torch.stack([fingertip_pos(self.env, h).to(pos) for h in HANDS], 1) - origin.unsqueeze(2)
        return (palms - pos).norm(dim=-1), (tips - pos.unsqueeze(2)).norm(dim=-1).mean(-1)

    def close(self) -> torch.Tensor:
        palm, tips = self.hand_distances()
        return (palm < self.cfg.stage.close_palm) & (tips < self.cfg.stage.close_tips)

    def targets(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 2, 3) and (N, 2, 4): both items' reference poses at per-hand frame indices idx (N, 2)."""
        items = torch.arange(2, device=idx.device).expand_as(idx)
        task = self.task.unsqueeze(-1).expand_as(idx)
        return self.tasks["pos"][task, idx, items], self.tasks["quat"][task, idx, items]

    def ref_targets(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Both items' reference poses at the `ref` frame (stage 1's goal)."""
        return self.targets(self.tasks["ref"][self.task].unsqueeze(-1).expand(-1, 2))

    def advance(self) -> None:
        """Switch stages, move the reference on, count tracked post-ref steps (once per control step)."""
        s = self.cfg.stage
        step = self.env.episode_length_buf.unsqueeze(-1).expand(-1, 2)
        pos, _ = self.item_pose()
        ref_pos, _ = self.ref_targets()
        switch = (self.stage == 0) & ((pos - ref_pos).norm(dim=-1) < s.switch_dist) & self.close()
        self.switch_step.copy_(torch.where(switch, step, self.switch_step))
        self.stage.copy_(torch.where(switch, torch.ones_like(self.stage), self.stage))
        self.update_state()
        both = (self.stage == 1).all(-1)
        newly = both & (self.both_switched_at < 0)
        self.both_switched_at.copy_(torch.where(newly, self.env.episode_length_buf, self.both_switched_at))
        tgt, _ = self.targets(self.ref_idx)
        ok = ((pos - tgt).norm(dim=-1) < s.track_tol).all(-1) & both
        window = self.post_ref_steps()
        inside = both & (self.env.episode_length_buf - self.both_switched_at < window)
        self.tracked += (ok & inside).long()
        at_end = (self.ref_idx == self.tasks["end"][self.task].unsqueeze(-1)).all(-1)
        self.stage2_success |= ok & at_end & self.close().all(-1)

    def update_state(self, ids: torch.Tensor | None = None) -> None:
        ids = torch.arange(self.env.num_envs, device=self.env.device) if ids is None else ids
        s = self.cfg.stage
        task = self.task[ids]
        ref = self.tasks["ref"][task].unsqueeze(-1)
        since = (self.env.episode_length_buf[ids].unsqueeze(-1) - self.switch_step[ids]).clamp_min(0)
        moving = torch.minimum(ref + since // s.steps_per_frame, self.tasks["end"][task].unsqueeze(-1))
        self.ref_idx[ids] = torch.where(self.stage[ids] == 1, moving, ref.expand(-1, 2))
        p, q = self.targets(self.ref_idx)
        self.command[ids] = torch.cat([p[ids], q[ids]], dim=-1).reshape(len(ids), -1).float()

    # -- evaluation measures --------------------------------------------------------------------------
    def post_ref_steps(self) -> torch.Tensor:
        """(N,) the control steps after `ref` each world's demonstration asks to track: 2 per demo frame."""
        return (self.tasks["end"] - self.tasks["ref"])[self.task] * self.cfg.stage.steps_per_frame

    def fulfillment(self) -> torch.Tensor:
        """(N,) tracked post-ref steps / post-ref steps of the demonstration, in [0, 1]."""
        return (self.tracked.float() / self.post_ref_steps().float()).clamp(0.0, 1.0)

    def stage1_success(self) -> torch.Tensor:
        return (self.stage == 1).all(-1)

    def success_now(self) -> torch.Tensor:
        """The paper's logged success: both items within 5 cm of their references, both hands close."""
        pos, _ = self.item_pose()
        tgt, _ = self.targets(self.ref_idx)
        return ((pos - tgt).norm(dim=-1) < self.cfg.stage.switch_dist).all(-1) & self.close().all(-1)


def reference(env: ManagerBasedRlEnv) -> Reference:
    return env.command_manager.get_term("reference")
