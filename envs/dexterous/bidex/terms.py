"""BiDex observation, reward and termination terms (per hand: `side` is "left" or "right").

The two-stage reward, per hand h with item i (left: object, right: tool):
  approach  = -(mean fingertip distance + palm distance to the item)
  stage 1   = grasping * [ (1 - d_ref / d_0) + 0.2 cos(rotation error to the ref pose) ]
              (d_ref: distance to the item's pose at the demo's `ref` frame, d_0 its initial value;
               grasping: the hand is close, see reference.StageCfg)
  stage 2   = exp(-15 d_track) + 0.2 cos(rotation error to the moving reference)
  bonus     = 1 while in stage 2 and within `switch_dist` of the moving reference
Stage 1 and 2 terms are paid only in their stage; a falling item ends the episode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from robolearn.envs.dexterous.bidex.reference import quat_cos, reference
from robolearn.envs.dexterous.bimanual import fingertip_pos, palm_pos

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

SIDE = {"left": 0, "right": 1}
DROP_BELOW = 0.05
"""An item this far below the table top has fallen off: the episode fails."""


def _i(side: str) -> int:
    return SIDE[side]


# -- rewards ----------------------------------------------------------------------------------------------


def approach(env: ManagerBasedRlEnv, side: str) -> torch.Tensor:
    palm, tips = reference(env).hand_distances()
    return -(palm[:, _i(side)] + tips[:, _i(side)]).float()


def stage1_alignment(env: ManagerBasedRlEnv, side: str) -> torch.Tensor:
    ref = reference(env)
    i = _i(side)
    pos, quat = ref.item_pose()
    tgt_p, tgt_q = ref.ref_targets()
    d = (pos[:, i] - tgt_p[:, i]).norm(dim=-1)
    align = (1.0 - d / ref.init_dist[:, i]).clamp(-1.0, 1.0) + 0.2 * quat_cos(quat[:, i], tgt_q[:, i])
    grasping = ref.close()[:, i]
    return torch.where((ref.stage[:, i] == 0) & grasping, align, torch.zeros_like(align)).float()


def _track_error(env: ManagerBasedRlEnv, i: int) -> tuple[torch.Tensor, torch.Tensor]:
    ref = reference(env)
    pos, quat = ref.item_pose()
    tgt_p, tgt_q = ref.targets(ref.ref_idx)
    return (pos[:, i] - tgt_p[:, i]).norm(dim=-1), quat_cos(quat[:, i], tgt_q[:, i])


def stage2_tracking(env: ManagerBasedRlEnv, side: str) -> torch.Tensor:
    i = _i(side)
    d, cos = _track_error(env, i)
    r = torch.exp(-15.0 * d) + 0.2 * cos
    return torch.where(reference(env).stage[:, i] == 1, r, torch.zeros_like(r)).float()


def tracking_bonus(env: ManagerBasedRlEnv, side: str) -> torch.Tensor:
    ref = reference(env)
    i = _i(side)
    d, _ = _track_error(env, i)
    return ((ref.stage[:, i] == 1) & (d < ref.cfg.stage.switch_dist)).float()


def action_rate(env: ManagerBasedRlEnv, side: str) -> torch.Tensor:
    am = env.action_manager
    cols = am._slices[f"{side}_hand"]
    return (am.action[:, cols] - am.prev_action[:, cols]).square().sum(-1)


# -- terminations -----------------------------------------------------------------------------------------


def item_fell(env: ManagerBasedRlEnv) -> torch.Tensor:
    ref = reference(env)
    pos, _ = ref.item_pose()
    table = ref.tasks["table"][ref.task].unsqueeze(-1)
    return (pos[..., 2] < table - DROP_BELOW).any(-1)


# -- observations -----------------------------------------------------------------------------------------


def items_state(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 2*13) per item: position, orientation (w >= 0), linear and angular velocity (privileged)."""
    ref = reference(env)
    pos, quat = ref.item_pose()
    quat = torch.where(quat[..., :1] < 0, -quat, quat)
    vel = [env.sim.qvel[:, env.scene[k]._free_v : env.scene[k]._free_v + 6] for k in ("object", "tool")]
    v = torch.stack(vel, 1).to(pos)
    return torch.cat([pos, quat, v.clamp(-5.0, 5.0)], dim=-1).reshape(env.num_envs, -1)


def hands_state(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 2*(3+4+12)) per hand: palm centre, palm orientation, fingertips (privileged frames)."""
    origin = env.env_origins.to(env.sim.xpos.dtype).unsqueeze(1)
    out = []
    for side in ("left_hand", "right_hand"):
        p = palm_pos(env, side).unsqueeze(1) - origin
        q = env.sim.xquat[:, env.scene[side].body_ids[env.scene[side].find_bodies("palm")[0]]]
        tips = fingertip_pos(env, side) - origin
        out += [p.reshape(env.num_envs, -1), q, tips.reshape(env.num_envs, -1)]
    return torch.cat(out, dim=-1)


def palm_item_offsets(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 2*3) each item's position minus its hand's palm centre."""
    ref = reference(env)
    pos, _ = ref.item_pose()
    origin = env.env_origins.to(pos)
    palms = torch.stack([palm_pos(env, h).to(pos) - origin for h in ("left_hand", "right_hand")], 1)
    return (pos - palms).reshape(env.num_envs, -1)


def reference_poses(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 2*7) both items' current reference poses (the task's goal: not privileged)."""
    return reference(env).command


def stage_flags(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 3) per hand's stage, and the reference's progress through the post-ref frames."""
    ref = reference(env)
    r, e = ref.tasks["ref"][ref.task], ref.tasks["end"][ref.task]
    progress = (ref.ref_idx.float().mean(-1) - r) / (e - r).clamp_min(1)
    return torch.cat([ref.stage.float(), progress.unsqueeze(-1).float()], dim=-1)


def task_embedding(env: ManagerBasedRlEnv, size: int = 8) -> torch.Tensor:
    """(N, size) one-hot of the world's task index within its env (wrapping past `size`)."""
    ref = reference(env)
    return torch.nn.functional.one_hot(ref.task % size, size).float()
