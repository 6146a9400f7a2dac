"""The human command of Go2-CrossLoco: which frame of which human clip each world follows.

Each world plays one clip segment from a start frame, one frame per policy step. At reset the start is
drawn (training frames or held-out segments), and once the sim reset is done the robot is placed on the
reference root: the clip's root position on the floor and its heading (reset to the reference root), in the
standing pose. The command the policy sees is the standardized human pose features and the root's velocity
in its heading frame. Every step the (h, r) pair (human pose, robot joints) is handed to the mappers'
buffer, which the task's iteration hook fits once per PPO iteration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import torch

from robolearn.assets import ASSETS_DIR
from robolearn.core import CommandTermCfg
from robolearn.core.commands import CommandTerm
from robolearn.envs.crossloco.mappers import ROBOT_SCALE, CycleMappers, MapperCfg
from robolearn.envs.crossloco.reference import HumanReference, load_human_reference
from robolearn.math import yaw_quat

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

HUMAN = "human"
"""The command's name in Go2-CrossLoco's config."""
DEFAULT_FEATURES = ASSETS_DIR / "motions" / "cmu_crossloco_features.npz"
"""CMU clips 01_01 (jumps, turn), 131_01 and 131_02 (walks), 131_03 (hops) and their mirrors at 50 Hz."""


@dataclass
class HumanCommandCfg(CommandTermCfg):
    features_file: str = str(DEFAULT_FEATURES)
    """A human-features .npz (robolearn.retarget.human_features.save_features) at the policy rate."""
    split: Literal["train", "held_out", "all"] = "train"
    """Frames episodes are drawn from: each clip's first part, its last `held_out_fraction`, or all."""
    held_out_fraction: float = 0.25
    start: Literal["random", "first"] = "random"
    """random: a uniform frame of the split (at least `min_frames` before its end); first: each segment's
    first frame, clips dealt to worlds in turn (evaluation)."""
    min_frames: int = 50
    mappers: MapperCfg = field(default_factory=MapperCfg)
    resampling_time_s: tuple[float, float] = (1e9, 1e9)
    """Unused: a world's segment ends its episode (the `reference_end` time-out)."""

    def build(self, name: str, env: ManagerBasedRlEnv) -> HumanCommand:
        return HumanCommand(name, self, env)


class HumanCommand(CommandTerm):
    """command = standardized human pose features (D) and the root velocity in its heading frame (3)."""

    cfg: HumanCommandCfg

    def __init__(self, name: str, cfg: HumanCommandCfg, env: ManagerBasedRlEnv):
        self.ref: HumanReference = load_human_reference(cfg.features_file, 1.0 / env.step_dt,
                                                        cfg.held_out_fraction, env.device)  # fmt: skip
        super().__init__(name, cfg, env, self.ref.pose_dim + 3)
        self.entity = env.robot
        self.frame = torch.zeros(env.num_envs, dtype=torch.long, device=env.device)
        self.clip = torch.zeros(env.num_envs, dtype=torch.long, device=env.device)
        self.seg_end = torch.zeros(env.num_envs, dtype=torch.long, device=env.device)
        self._dealt = 0
        self.mappers = CycleMappers(self.ref.pose_dim, len(self.entity.joint_names), cfg.mappers, env.device,
                                    seed=env.cfg.seed)  # fmt: skip
        self.recording = True
        """Hand every step's (h, r) pair to the mappers' buffer (training); evaluation turns it off."""

    def _bounds(self, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[first, last] frames of the split's segment of each clip."""
        ref = self.ref
        if self.cfg.split == "train":
            return ref.starts[clips], ref.split[clips] - 1
        if self.cfg.split == "held_out":
            return torch.minimum(ref.split[clips], ref.ends[clips] - 1), ref.ends[clips]
        return ref.starts[clips], ref.ends[clips]

    def _resample(self, env_ids: torch.Tensor) -> None:
        n, dev, ref = len(env_ids), self.env.device, self.ref
        if self.cfg.start == "first":
            clips = (torch.arange(n, device=dev) + self._dealt) % ref.num_clips
            self._dealt += n
            lo, hi = self._bounds(clips)
            frames = lo
        else:
            clips = torch.randint(0, ref.num_clips, (n,), device=dev, generator=self.env.rng)
            lo, hi = self._bounds(clips)
            last_start = torch.maximum(lo, hi - self.cfg.min_frames)
            u = torch.rand(n, device=dev, generator=self.env.rng)
            frames = lo + (u * (last_start - lo + 1).float()).long().clamp(max=(last_start - lo))
        self.clip[env_ids], self.frame[env_ids], self.seg_end[env_ids] = clips, frames, hi
        self._update_command()

    def after_sim_reset(self, env_ids: torch.Tensor) -> None:
        f = self.frame[env_ids]
        e = self.entity
        pos = e.default_root_pos.expand(len(env_ids), 3).clone()
        pos[:, :2] = self.ref.root_xy[f].to(pos.dtype)
        quat = yaw_quat(self.ref.heading[f]).to(pos.dtype)
        e.write_root_pose(env_ids, torch.cat([pos, quat], dim=-1))

    def _update_command(self) -> None:
        f = self.frame
        self.command[:] = torch.cat([self.ref.h(f), self.ref.root_vel[f]], dim=-1)

    def compute(self, dt: float) -> None:
        self.frame[:] = torch.minimum(self.frame + 1, self.seg_end)
        self._update_command()
        if self.recording:
            self.mappers.record(self.h, self.r)

    # -- what the terms read ------------------------------------------------------------------------------------
    @property
    def at_end(self) -> torch.Tensor:
        return self.frame >= self.seg_end

    @property
    def h(self) -> torch.Tensor:
        """(N, D) standardized human pose features of the current frame."""
        return self.ref.h(self.frame)

    @property
    def r(self) -> torch.Tensor:
        """(N, J) robot joint positions about the standing pose, / ROBOT_SCALE."""
        e = self.entity
        return ((e.joint_pos - e.default_joint_pos) / ROBOT_SCALE).float().to(self.env.device)

    @property
    def ref_pos_w(self) -> torch.Tensor:
        """(N, 3) the reference root: the clip's floor path and its pelvis bob on the standing height."""
        f = self.frame
        z = self.entity.default_root_pos[2].float() + self.ref.root_z[f]
        return torch.cat([self.ref.root_xy[f], z.unsqueeze(-1)], dim=-1)

    @property
    def ref_heading(self) -> torch.Tensor:
        return self.ref.heading[self.frame]
