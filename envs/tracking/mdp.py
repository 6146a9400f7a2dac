"""Terms of the tracking tasks: BeyondMimic's exp-kernel rewards, observations, terminations, and the two
randomizations the core has no term for (centre-of-mass offsets and joint calibration offsets).

Every term reads the motion command by name (`command_name`, default "motion").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from robolearn.envs.tracking.commands import MotionCommand, _conj
from robolearn.math import quat_mul, quat_rotate_inverse

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

MOTION = "motion"


def motion(env: ManagerBasedRlEnv, command_name: str = MOTION) -> MotionCommand:
    return env.command_manager.get_term(command_name)


def quat_error_angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(...,) rotation angle (rad) between unit quaternions a and b."""
    d = quat_mul(a, _conj(b))
    return 2.0 * torch.atan2(torch.linalg.norm(d[..., 1:], dim=-1), d[..., 0].abs())


def rotation_vector(q: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis * angle of unit quaternions (the short way round)."""
    q = torch.where(q[..., :1] < 0, -q, q)
    s = torch.linalg.norm(q[..., 1:], dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(s, q[..., :1])
    return q[..., 1:] / s.clamp(min=1e-9) * angle


# -- rewards (each 1 on a perfect replay, falling with the error) ------------------------------------------


def anchor_pos_exp(env: ManagerBasedRlEnv, std: float = 0.3, command_name: str = MOTION) -> torch.Tensor:
    cmd = motion(env, command_name)
    err = torch.sum(torch.square(cmd.ref_body_pos_w[:, cmd.anchor] - cmd.body_pos_w[:, cmd.anchor]), dim=-1)
    return torch.exp(-err / std**2)


def anchor_ori_exp(env: ManagerBasedRlEnv, std: float = 0.4, command_name: str = MOTION) -> torch.Tensor:
    cmd = motion(env, command_name)
    err = quat_error_angle(cmd.ref_body_quat_w[:, cmd.anchor], cmd.body_quat_w[:, cmd.anchor])
    return torch.exp(-torch.square(err) / std**2)


def body_pos_exp(env: ManagerBasedRlEnv, std: float = 0.3, command_name: str = MOTION) -> torch.Tensor:
    cmd = motion(env, command_name)
    ref, _ = cmd.ref_body_pose_relative()
    err = torch.sum(torch.square(ref - cmd.body_pos_w), dim=-1).mean(-1)
    return torch.exp(-err / std**2)


def body_ori_exp(env: ManagerBasedRlEnv, std: float = 0.4, command_name: str = MOTION) -> torch.Tensor:
    cmd = motion(env, command_name)
    _, ref = cmd.ref_body_pose_relative()
    err = torch.square(quat_error_angle(ref, cmd.body_quat_w)).mean(-1)
    return torch.exp(-err / std**2)


def body_lin_vel_exp(env: ManagerBasedRlEnv, std: float = 1.0, command_name: str = MOTION) -> torch.Tensor:
    cmd = motion(env, command_name)
    lin, _ = cmd.body_vel_w()
    err = torch.sum(torch.square(cmd.ref_body_lin_vel_w - lin), dim=-1).mean(-1)
    return torch.exp(-err / std**2)


def body_ang_vel_exp(env: ManagerBasedRlEnv, std: float = 3.14, command_name: str = MOTION) -> torch.Tensor:
    cmd = motion(env, command_name)
    _, ang = cmd.body_vel_w()
    err = torch.sum(torch.square(cmd.ref_body_ang_vel_w - ang), dim=-1).mean(-1)
    return torch.exp(-err / std**2)


# -- terminations ------------------------------------------------------------------------------------------


def motion_end(env: ManagerBasedRlEnv, command_name: str = MOTION) -> torch.Tensor:
    """The reference clip has ended (a time-out: the episode is complete, not failed)."""
    return motion(env, command_name).at_end


def anchor_height_deviation(
    env: ManagerBasedRlEnv, threshold: float = 0.25, command_name: str = MOTION
) -> torch.Tensor:
    cmd = motion(env, command_name)
    return (cmd.ref_body_pos_w[:, cmd.anchor, 2] - cmd.body_pos_w[:, cmd.anchor, 2]).abs() > threshold


def _gravity_z(quat: torch.Tensor) -> torch.Tensor:
    g = torch.zeros(quat.shape[:-1] + (3,), dtype=quat.dtype, device=quat.device)
    g[..., 2] = -1.0
    return quat_rotate_inverse(quat, g)[..., 2]


def anchor_orientation_deviation(env: ManagerBasedRlEnv, threshold: float = 0.8,
                                 command_name: str = MOTION) -> torch.Tensor:  # fmt: skip
    """The anchor's tilt differs from the reference's: gravity's z component in the anchor frame differs by
    more than `threshold` (yaw does not count, so a turned but upright robot goes on)."""
    cmd = motion(env, command_name)
    a = cmd.anchor
    return (_gravity_z(cmd.ref_body_quat_w[:, a]) - _gravity_z(cmd.body_quat_w[:, a])).abs() > threshold


def end_effector_deviation(
    env: ManagerBasedRlEnv, threshold: float = 0.25, command_name: str = MOTION
) -> torch.Tensor:
    """An end effector's height is off its reference (moved onto the robot) by more than `threshold` (m)."""
    cmd = motion(env, command_name)
    if not len(cmd.end_effectors):
        return torch.zeros(env.num_envs, dtype=torch.bool, device=env.device)
    ref, _ = cmd.ref_body_pose_relative()
    dz = (ref[:, cmd.end_effectors, 2] - cmd.body_pos_w[:, cmd.end_effectors, 2]).abs()
    return (dz > threshold).any(dim=-1)


# -- observations ------------------------------------------------------------------------------------------


def anchor_pos_error_b(env: ManagerBasedRlEnv, command_name: str = MOTION) -> torch.Tensor:
    """(N, 3) the reference anchor's position in the robot anchor's frame."""
    cmd = motion(env, command_name)
    a = cmd.anchor
    return quat_rotate_inverse(cmd.body_quat_w[:, a], cmd.ref_body_pos_w[:, a] - cmd.body_pos_w[:, a])


def anchor_ori_error_b(env: ManagerBasedRlEnv, command_name: str = MOTION) -> torch.Tensor:
    """(N, 6) the reference anchor's orientation in the robot anchor's frame, as the first two columns of its
    rotation matrix (continuous, unlike a quaternion's sign or Euler angles)."""
    cmd = motion(env, command_name)
    a = cmd.anchor
    rel = quat_mul(_conj(cmd.body_quat_w[:, a]), cmd.ref_body_quat_w[:, a])
    return _two_columns(rel)


def _two_columns(q: torch.Tensor) -> torch.Tensor:
    w, x, y, z = q.unbind(-1)
    col0 = torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)], dim=-1)
    col1 = torch.stack([2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)], dim=-1)
    return torch.cat([col0, col1], dim=-1)


def body_pos_b(env: ManagerBasedRlEnv, command_name: str = MOTION) -> torch.Tensor:
    """(N, 3B) the tracked bodies' positions in the robot anchor's frame (privileged)."""
    cmd = motion(env, command_name)
    a = cmd.anchor
    pos, quat = cmd.body_pos_w, cmd.body_quat_w[:, a : a + 1].expand(-1, cmd.body_pos_w.shape[1], 4)
    return quat_rotate_inverse(quat, pos - pos[:, a : a + 1]).reshape(env.num_envs, -1)


def body_pos_error_b(env: ManagerBasedRlEnv, command_name: str = MOTION) -> torch.Tensor:
    """(N, 3B) each tracked body's reference (moved onto the robot) minus its position, anchor frame."""
    cmd = motion(env, command_name)
    ref, _ = cmd.ref_body_pose_relative()
    b = ref.shape[1]
    quat = cmd.body_quat_w[:, cmd.anchor : cmd.anchor + 1].expand(-1, b, 4)
    return quat_rotate_inverse(quat, ref - cmd.body_pos_w).reshape(env.num_envs, -1)


def body_ori_error(env: ManagerBasedRlEnv, command_name: str = MOTION) -> torch.Tensor:
    """(N, 3B) each tracked body's orientation error to its reference, as a rotation vector (privileged)."""
    cmd = motion(env, command_name)
    _, ref = cmd.ref_body_pose_relative()
    return rotation_vector(quat_mul(ref, _conj(cmd.body_quat_w))).reshape(env.num_envs, -1)


def last_action(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, A) the last action times each term's per-joint gain (`output_gain`: the effort-based scales), i.e.
    exactly what the exported network emits and the deploy runtime feeds back as its last action."""
    parts = []
    for name, term in env.action_manager.terms.items():
        a = env.action_manager.term_action(name)
        gain = getattr(term, "gain", None)
        parts.append(a * gain if gain is not None else a)
    return torch.cat(parts, dim=-1)


def motion_phase(env: ManagerBasedRlEnv, command_name: str = MOTION) -> torch.Tensor:
    """(N, 1) how far through its clip each world's reference is, 0..1 (privileged: the critic's time left)."""
    cmd = motion(env, command_name)
    m = cmd.motion
    start, end = m.starts[cmd.clip], m.ends[cmd.clip]
    return ((cmd.frame - start).float() / (end - start).clamp(min=1).float()).unsqueeze(-1)


# -- events --------------------------------------------------------------------------------------------------


def _uniform(env: ManagerBasedRlEnv, lo: float, hi: float, shape: tuple[int, ...]) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(shape, device=env.device, generator=env.rng, dtype=torch.float64)


def randomize_com(env: ManagerBasedRlEnv, env_ids: torch.Tensor, body: str = "torso_link",
                  offset: tuple[float, float] = (-0.025, 0.025)) -> None:  # fmt: skip
    """Shift one body's centre of mass by a uniform offset per axis (a payload or a model error)."""
    ipos = env.sim.model_field("body_ipos")
    bid = env.robot.body_ids[env.robot.body_names.index(body)]
    ids = env_ids.to(ipos.device)
    base = torch.as_tensor(env.scene.model.body_ipos[bid], device=ipos.device)
    ipos[ids, bid] = (base + _uniform(env, *offset, (len(env_ids), 3)).to(ipos.device)).to(ipos.dtype)
    env.sim.set_const(ids)


def randomize_joint_offsets(env: ManagerBasedRlEnv, env_ids: torch.Tensor,
                            offset: tuple[float, float] = (-0.01, 0.01)) -> None:  # fmt: skip
    """Per-world joint calibration errors: each position servo holds `offset` rad away from its target, as a
    miscalibrated encoder would (the servo's bias term gains kp * offset)."""
    bias = env.sim.model_field("actuator_biasprm")
    model = env.scene.model
    ids = env_ids.to(bias.device)
    acts = torch.as_tensor(env.robot.actuator_ids, device=bias.device)
    kp = -torch.as_tensor(model.actuator_biasprm[env.robot.actuator_ids, 1], device=bias.device)
    draw = _uniform(env, *offset, (len(env_ids), len(acts))).to(bias.device)
    rows = bias[ids]
    rows[:, acts, 0] = (kp * draw).to(bias.dtype)
    bias[ids] = rows
