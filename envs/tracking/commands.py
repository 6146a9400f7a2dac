"""The motion command: which clip frame each world tracks, reference state initialization (RSI) and adaptive
sampling of clip segments by failure rate (BeyondMimic's recipe, Liao et al. 2025).

Each world plays one clip from a start frame, one frame per policy step (clips are resampled to the policy
rate when loaded). At reset the start is drawn and, once the sim reset and reset events are done, the robot is
written onto the reference at that frame (root pose and velocity, joint positions and velocities, plus the
configured noise). The command the policy sees is the reference's next joint positions and velocities.

Adaptive sampling splits every clip into `bin_s`-second segments and keeps an exponential average of how
often episodes fail in each; starts are drawn from a mix of uniform and failure-weighted segments, the
failure weights smeared a little backwards in time (a fall is usually caused a moment before it happens).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from robolearn.core import CommandTermCfg
from robolearn.core.commands import CommandTerm
from robolearn.envs.tracking.motion import ReferenceMotion, RobotKinematics, load_reference
from robolearn.math import quat_mul, quat_rotate, quat_rotate_inverse, yaw_quat

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


@dataclass
class MotionCommandCfg(CommandTermCfg):
    """A reference clip (or a folder of clips) to track, written by `robolearn retarget`."""

    motion_file: str = ""
    """A retarget clip (.npz) for the task's robot, or a folder of them."""
    entity: str = "robot"
    anchor_body: str = "torso_link"
    body_names: tuple[str, ...] = ()
    """Tracked bodies (rewards, metrics); the anchor must be one of them."""
    end_effectors: tuple[str, ...] = ()
    """Tracked bodies whose height deviation ends an episode (feet, hands)."""
    ground: bool = True
    """Set the clip on the floor when preprocessing it (motion.ground); False keeps the retarget's heights."""
    start: Literal["adaptive", "uniform", "first"] = "adaptive"
    """Where episodes start: adaptive (segments by failure rate), uniform (any frame), first (each clip's
    first frame, clips dealt to worlds in turn: evaluation)."""
    bin_s: float = 1.0
    """Adaptive sampling segment length (s)."""
    uniform_ratio: float = 0.1
    """Share of uniform sampling mixed into the failure-weighted draw."""
    failure_alpha: float = 0.01
    """Weight of a new reset batch in each segment's failure average."""
    kernel_bins: int = 3
    """Failure weights spread over this many segments before the failing one (decaying by half each)."""
    rsi_pos_noise: float = 0.05
    """RSI noise: root x, y offsets (m), uniform +-."""
    rsi_yaw_noise: float = 0.2
    """RSI noise: root yaw (rad), uniform +-."""
    rsi_joint_noise: float = 0.1
    """RSI noise: joint positions (rad), uniform +-, clipped to the limits."""
    rsi_vel_noise: float = 0.2
    """RSI noise: root linear and angular velocity (m/s, rad/s), uniform +-."""
    resampling_time_s: tuple[float, float] = (1e9, 1e9)
    """Unused: a world's clip ends its episode (the `motion_end` time-out) rather than being resampled."""

    def build(self, name: str, env: ManagerBasedRlEnv) -> MotionCommand:
        return MotionCommand(name, self, env)


def robot_kinematics(env: ManagerBasedRlEnv, entity_name: str) -> RobotKinematics:
    entity = env.scene[entity_name]
    model = env.scene.model
    if entity.layout.free_joint is None:
        raise ValueError(
            f"commands: motion tracking needs a floating-base robot; entity {entity_name!r} has none"
        )
    return RobotKinematics(
        model=model,
        robot=env.cfg.scene.robot if entity_name == "robot" else entity.layout.source,
        joint_names=list(entity.joint_names),
        joint_qadr=np.asarray(model.jnt_qposadr[entity.joint_ids_model]),
        root_qadr=int(model.jnt_qposadr[entity.layout.free_joint]),
        body_ids=list(entity.body_ids),
    )


class MotionCommand(CommandTerm):
    """command = the reference's next joint positions and velocities (2J)."""

    cfg: MotionCommandCfg

    def __init__(self, name: str, cfg: MotionCommandCfg, env: ManagerBasedRlEnv):
        self.entity = env.scene[cfg.entity]
        self.motion: ReferenceMotion = load_reference(cfg.motion_file, robot_kinematics(env, cfg.entity),
                                                      1.0 / env.step_dt, env.device, cfg.ground)  # fmt: skip
        super().__init__(name, cfg, env, 2 * len(self.entity.joint_names))
        bodies = list(self.entity.body_names)
        if not cfg.body_names:
            raise ValueError(f"commands[{name!r}].body_names: empty; name the bodies to track")
        for field, names in (("body_names", cfg.body_names), ("end_effectors", cfg.end_effectors),
                             ("anchor_body", (cfg.anchor_body,))):  # fmt: skip
            unknown = [b for b in names if b not in bodies]
            if unknown:
                raise ValueError(f"commands[{name!r}].{field}: {unknown} are not bodies of entity "
                                 f"{cfg.entity!r}; its bodies: {bodies}")  # fmt: skip
        if cfg.anchor_body not in cfg.body_names:
            raise ValueError(f"commands[{name!r}].anchor_body {cfg.anchor_body!r} must be one of body_names")
        self.body_index = torch.tensor([bodies.index(b) for b in cfg.body_names], device=env.device)
        """Tracked bodies' columns in the entity's (and the reference's) bodies."""
        self.anchor = list(cfg.body_names).index(cfg.anchor_body)
        """The anchor's position among the tracked bodies."""
        self.end_effectors = torch.tensor([list(cfg.body_names).index(b) for b in cfg.end_effectors],
                                          dtype=torch.long, device=env.device)  # fmt: skip
        free_body = int(env.scene.model.jnt_bodyid[self.entity.layout.free_joint])
        self.root_body = self.entity.body_ids.index(free_body)
        """The free joint's body among the entity's bodies (its reference velocity sets the root's at RSI)."""
        self.frame = torch.zeros(env.num_envs, dtype=torch.long, device=env.device)
        self.clip = torch.zeros(env.num_envs, dtype=torch.long, device=env.device)
        self.start_frame = torch.zeros(env.num_envs, dtype=torch.long, device=env.device)
        self._dealt = 0
        self._init_bins()
        self._version = 0
        self._memo = _Memo()

    # -- adaptive sampling ------------------------------------------------------------------------------------
    def _init_bins(self) -> None:
        m, dev = self.motion, self.env.device
        per_bin = max(1, round(self.cfg.bin_s * m.rate))
        local = torch.arange(m.num_frames, device=dev) - m.starts[m.clip_of_frame]
        bins_per_clip = torch.div(m.ends - m.starts, per_bin, rounding_mode="floor") + 1
        first_bin = torch.cumsum(bins_per_clip, 0) - bins_per_clip
        self.bin_of_frame = first_bin[m.clip_of_frame] + torch.div(local, per_bin, rounding_mode="floor")
        self.num_bins = int(bins_per_clip.sum())
        self.bin_first_frame = torch.zeros(self.num_bins, dtype=torch.long, device=dev)
        self.bin_first_frame.scatter_reduce_(0, self.bin_of_frame, torch.arange(m.num_frames, device=dev),
                                             reduce="amin", include_self=False)  # fmt: skip
        self.bin_frames = torch.bincount(self.bin_of_frame, minlength=self.num_bins)
        self.bin_failed = torch.zeros(self.num_bins, device=dev)
        """Exponential average of each segment's share of the failures."""

    def sampling_probabilities(self) -> torch.Tensor:
        """(num_bins,) probability that an episode starts in each segment."""
        fail = self.bin_failed
        smeared = fail.clone()
        for k in range(1, self.cfg.kernel_bins + 1):
            # A failure in segment b also raises segments b-1, b-2, ... (half as much per step back).
            smeared[:-k] += fail[k:] * 0.5**k
        total = float(smeared.sum())
        uniform = torch.full_like(fail, 1.0 / self.num_bins)
        if total <= 0:
            return uniform
        u = self.cfg.uniform_ratio
        return u * uniform + (1 - u) * smeared / total

    def _record_failures(self, env_ids: torch.Tensor) -> None:
        tm = getattr(self.env, "termination_manager", None)
        if tm is None or self.cfg.start != "adaptive":
            return
        failed = torch.zeros(len(env_ids), dtype=torch.bool, device=self.env.device)
        for key, term in tm.terms.items():
            if not term.time_out:
                failed |= tm.term_dones[key][env_ids]
        counts = torch.bincount(
            self.bin_of_frame[self.frame[env_ids][failed]], minlength=self.num_bins
        ).float()
        share = counts / max(len(env_ids), 1)
        a = self.cfg.failure_alpha
        self.bin_failed.mul_(1 - a).add_(a * share)

    def reset(self, env_ids: torch.Tensor) -> dict[str, float]:
        self._record_failures(env_ids)
        self.resample(env_ids)
        probs = self.sampling_probabilities()
        entropy = float(-(probs * probs.clamp(min=1e-12).log()).sum()) / math.log(max(self.num_bins, 2))
        return {"Metrics/motion_sampling_entropy": entropy, "Metrics/motion_sampling_max": float(probs.max())}

    def _resample(self, env_ids: torch.Tensor) -> None:
        m, n, dev = self.motion, len(env_ids), self.env.device
        if self.cfg.start == "first":
            clips = (torch.arange(n, device=dev) + self._dealt) % m.num_clips
            self._dealt += n
            frames = m.starts[clips]
        else:
            if self.cfg.start == "adaptive":
                bins = torch.multinomial(
                    self.sampling_probabilities(), n, replacement=True, generator=self.env.rng
                )
            else:
                bins = torch.multinomial(self.bin_frames.float(), n, replacement=True, generator=self.env.rng)
            offset = torch.rand(n, device=dev, generator=self.env.rng) * self.bin_frames[bins]
            frames = self.bin_first_frame[bins] + offset.long().clamp(max=self.bin_frames[bins] - 1)
            clips = m.clip_of_frame[frames]
            # Never start on a clip's last frame: it would end before the first step.
            frames = torch.minimum(frames, m.ends[clips] - 1).clamp(min=m.starts[clips])
        self.clip[env_ids] = clips
        self.frame[env_ids] = frames
        self.start_frame[env_ids] = frames
        self._update_command()

    # -- reference state initialization -----------------------------------------------------------------------
    def _noise(self, shape: tuple[int, ...], half: float) -> torch.Tensor:
        return (2 * torch.rand(shape, device=self.env.device, generator=self.env.rng) - 1) * half

    def after_sim_reset(self, env_ids: torch.Tensor) -> None:
        m, c, n = self.motion, self.cfg, len(env_ids)
        f = self.frame[env_ids]
        pos = m.root_pos[f].clone()
        pos[:, :2] += self._noise((n, 2), c.rsi_pos_noise)
        quat = quat_mul(yaw_quat(self._noise((n,), c.rsi_yaw_noise)), m.root_quat[f])
        root = self.root_body
        lin = m.body_lin_vel[f, root] + self._noise((n, 3), c.rsi_vel_noise)
        ang_w = m.body_ang_vel[f, root] + self._noise((n, 3), c.rsi_vel_noise)
        # MuJoCo's free joint: linear velocity in the world frame, angular velocity in the body frame.
        ang_b = quat_rotate_inverse(quat, ang_w)
        self.entity.write_root_pose(env_ids, torch.cat([pos, quat], dim=-1))
        self.entity.write_root_velocity(env_ids, torch.cat([lin, ang_b], dim=-1))
        q = m.joint_pos[f] + self._noise(tuple(m.joint_pos[f].shape), c.rsi_joint_noise)
        lim = self.entity.soft_joint_limits.to(q)
        q = torch.clamp(q, lim[:, 0], lim[:, 1])
        self.entity.write_joint_state(env_ids, q, m.joint_vel[f])
        self._version += 1

    # -- per step ----------------------------------------------------------------------------------------------
    def _update_command(self) -> None:
        m = self.motion
        nxt = torch.minimum(self.frame + 1, m.ends[self.clip])
        self.command[:] = torch.cat([m.joint_pos[nxt], m.joint_vel[nxt]], dim=-1)
        self._version += 1

    def compute(self, dt: float) -> None:
        self.frame[:] = torch.minimum(self.frame + 1, self.motion.ends[self.clip])
        self._update_command()

    @property
    def at_end(self) -> torch.Tensor:
        """(N,) bool: the world's reference has reached its clip's last frame."""
        return self.frame >= self.motion.ends[self.clip]

    # -- export ---------------------------------------------------------------------------------------------------
    def deploy_reference(self) -> dict:
        """The reference as this term preprocessed it, for the exporter to ship beside policy.json (motion.npz):
        the deploy runtime computes the command and anchor terms from it (sim2real/motion_reference.py)."""
        m = self.motion
        idx = self.body_index.cpu()
        cpu = lambda t: t.detach().cpu().double().numpy()  # noqa: E731
        return {
            "fps": float(m.rate), "clip_names": [f.stem for f in m.files],
            "clip_starts": [*m.starts.cpu().tolist(), int(m.ends[-1]) + 1],
            "joint_names": list(self.entity.joint_names), "joint_pos": cpu(m.joint_pos),
            "joint_vel": cpu(m.joint_vel), "root_pos": cpu(m.root_pos), "root_quat": cpu(m.root_quat),
            "body_names": list(self.cfg.body_names), "body_pos": cpu(m.body_pos[:, idx]),
            "body_quat": cpu(m.body_quat[:, idx]), "anchor_body": self.cfg.anchor_body,
        }  # fmt: skip

    # -- reference and robot quantities the terms read ----------------------------------------------------------
    def _cached(self, key: str, make: Callable[[], torch.Tensor]) -> torch.Tensor:
        """`make()`, computed once per reference frame and robot state (terms read these several times)."""
        hit = self._memo.values.get(key)
        if hit is not None and hit[0] == self._version:
            return hit[1]
        value = make()
        self._memo.values[key] = (self._version, value)
        return value

    @property
    def ref_body_pos_w(self) -> torch.Tensor:
        """(N, B, 3) tracked bodies' reference world positions at the current frame."""
        return self.motion.body_pos[self.frame][:, self.body_index]

    @property
    def ref_body_quat_w(self) -> torch.Tensor:
        return self.motion.body_quat[self.frame][:, self.body_index]

    @property
    def ref_body_lin_vel_w(self) -> torch.Tensor:
        return self.motion.body_lin_vel[self.frame][:, self.body_index]

    @property
    def ref_body_ang_vel_w(self) -> torch.Tensor:
        return self.motion.body_ang_vel[self.frame][:, self.body_index]

    @property
    def ref_joint_pos(self) -> torch.Tensor:
        return self.motion.joint_pos[self.frame]

    @property
    def ref_joint_vel(self) -> torch.Tensor:
        return self.motion.joint_vel[self.frame]

    @property
    def body_pos_w(self) -> torch.Tensor:
        """(N, B, 3) tracked bodies' world positions (float32)."""
        return self.entity.body_pos_w[:, self.body_index.to(self.entity.sim.device)].float()

    @property
    def body_quat_w(self) -> torch.Tensor:
        return self.entity.body_quat_w[:, self.body_index.to(self.entity.sim.device)].float()

    def body_vel_w(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(linear, angular) world velocities (N, B, 3) of the tracked bodies' origins, from MuJoCo's cvel
        (spatial velocity about the subtree centre of mass of the robot's root, world-aligned axes)."""

        def make() -> torch.Tensor:
            sim, e = self.env.sim, self.entity
            ids = torch.as_tensor(e.body_ids, device=sim.device)[self.body_index.to(sim.device)]
            cvel = sim.cvel[:, ids]
            root = int(e.model.body_rootid[e.body_ids[0]])
            offset = sim.xpos[:, ids] - sim.subtree_com[:, root].unsqueeze(1)
            ang, lin = cvel[..., :3], cvel[..., 3:]
            return torch.cat([lin + torch.cross(ang, offset, dim=-1), ang], dim=-1).float()

        both = self._cached("body_vel", make)
        return both[..., :3], both[..., 3:]

    def ref_body_pose_relative(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The reference's tracked bodies moved onto the robot: positions and orientations relative to the
        reference anchor, placed at the robot anchor's xy (reference height) and turned by the yaw between
        the two anchors. Body rewards compare the robot to these, so a drift of the whole body does not count
        twice (the anchor terms measure it)."""

        def make() -> torch.Tensor:
            ref_pos, ref_quat = self.ref_body_pos_w, self.ref_body_quat_w
            a = self.anchor
            ref_anchor_pos, ref_anchor_quat = ref_pos[:, a], ref_quat[:, a]
            robot_anchor_pos, robot_anchor_quat = self.body_pos_w[:, a], self.body_quat_w[:, a]
            delta_pos = robot_anchor_pos.clone()
            delta_pos[:, 2] = ref_anchor_pos[:, 2]
            delta_yaw = _yaw_only(quat_mul(robot_anchor_quat, _conj(ref_anchor_quat)))
            b = ref_pos.shape[1]
            yaw_b = delta_yaw.unsqueeze(1).expand(-1, b, 4)
            pos = delta_pos.unsqueeze(1) + quat_rotate(yaw_b, ref_pos - ref_anchor_pos.unsqueeze(1))
            quat = quat_mul(yaw_b, ref_quat)
            return torch.cat([pos, quat], dim=-1)

        both = self._cached("relative", make)
        return both[..., :3], both[..., 3:]


class _Memo:
    """Values derived from the state, kept in a plain object: env snapshots save a term's tensors and dicts,
    and these are not state."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[int, torch.Tensor]] = {}


def _conj(q: torch.Tensor) -> torch.Tensor:
    return q * torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=q.dtype, device=q.device)


def _yaw_only(q: torch.Tensor) -> torch.Tensor:
    w, x, y, z = q.unbind(-1)
    yaw = torch.atan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z))
    return yaw_quat(yaw)
