"""One lockstep batch of the TrajBooster hierarchy (policies/trajbooster.py's `Hierarchy.run`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from robolearn.envs.humanoid import trajbooster as tb
from robolearn.policies.trajbooster_manager import Manager, manager_obs

if TYPE_CHECKING:
    from robolearn.policies.trajbooster import Batch, Hierarchy
    from robolearn.retarget.ee_traj import EETrajectory


def _padded(full: list[EETrajectory], n_worlds: int, extra: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, Tmax + extra, ...) positions, quaternions and roots, each episode's last frame held to the end."""
    t_max = max(f.num_frames for f in full) + extra
    pos, quat, root = (
        np.zeros((n_worlds, t_max, 2, 3)),
        np.zeros((n_worlds, t_max, 2, 4)),
        np.zeros((n_worlds, t_max, 3)),
    )
    for i in range(n_worlds):
        f = full[min(i, len(full) - 1)]
        T = f.num_frames
        assert f.root is not None
        pos[i, :T], quat[i, :T], root[i, :T] = f.pos, f.quat, f.root
        pos[i, T:], quat[i, T:], root[i, T:] = f.pos[-1], f.quat[-1], f.root[-1]
    return pos, quat, root


STAND_HEIGHT = tb.COMMAND_RANGES[3][1]


def fixed_base_wrists(h: Hierarchy, origins: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """World wrist poses of the IK solutions with the pelvis fixed at the standing pose."""
    poses = [h.ik.wrist_poses(i) for i in range(h.env.num_envs)]
    pos = torch.as_tensor(np.stack([p for p, _ in poses])) + origins[:, None, :]
    pos[..., 2] += STAND_HEIGHT
    return pos, torch.as_tensor(np.stack([q for _, q in poses]))


HEAD_IMAGE = (96, 128)
"""(height, width) of the recorded camera frames: software rendering costs ~0.1 s a frame at 320 x 240."""


def render_overhead(h: Hierarchy, world: int) -> np.ndarray:
    """The `overhead` camera: 0.85 m above and 0.3 m behind the pelvis, looking down at the torso, arms and the
    ground in front; it turns with the robot's heading. The G1 model has no head or wrist camera."""
    from robolearn.core.cfg import ViewerCfg
    from robolearn.render import WorldRenderer

    env = h.env
    if getattr(h, "renderer", None) is None:
        viewer = ViewerCfg(distance=0.9, elevation=-70.0, azimuth=0.0, heading_relative=True)
        h.renderer = WorldRenderer(env.scene.model, HEAD_IMAGE[1], HEAD_IMAGE[0], viewer)
        h.pelvis_body = env.scene.model.body("pelvis").id
    return h.renderer.render_state(env.sim.qpos[world].cpu().numpy(), track_body=h.pelvis_body)


def _quat_error(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 2 * torch.arccos(torch.sum(a * b, dim=-1).abs().clamp(max=1.0))


def run_batch(h: Hierarchy, trajs: list[EETrajectory], manager: Manager | None, beta: float, collect: bool,
              record: bool, cameras: tuple[str, ...], rng: np.random.Generator) -> Batch:  # fmt: skip
    from robolearn.policies.trajbooster import FAR_X, LOW_Z, REACH_RADIUS, Batch, EpisodeResult, Recording

    env = h.env
    N = env.num_envs
    n = len(trajs)
    if not 1 <= n <= N:
        raise ValueError(f"a batch takes 1..{N} episodes, got {n}")
    if h.controller == "manager" and manager is None and beta < 1.0:
        raise ValueError("the manager controller needs a Manager (or beta=1: heuristic labels only)")
    env.reset()
    for i in range(N):
        h.ik.reset(i)
    full, prefixes = h._start(trajs)
    H = max(tb.HORIZONS)
    pos_np, quat_np, root_np = _padded(full, N, H + 1)
    lengths = [f.num_frames for f in full] + [0] * (N - n)
    origins = env.env_origins.double()
    pos_w = torch.as_tensor(pos_np) + origins[:, None, None, :]
    quat_w = torch.as_tensor(quat_np)
    root_t = torch.as_tensor(root_np)
    active = np.array([i < n for i in range(N)])
    fell, lost = np.zeros(N, bool), np.zeros(N, bool)
    steps = np.zeros(N, int)
    sums = {k: np.zeros(N) for k in ("pos", "ori", "reached", "count", "low", "low_n", "far", "far_n", "ik")}
    recs = [Recording() for _ in range(n)] if record else []
    obs_out: list[np.ndarray] = []
    lab_out: list[np.ndarray] = []
    arms_only = h.controller == "arms_only"
    cmd = torch.tensor([[0.0, 0.0, 0.0, tb.COMMAND_RANGES[3][1]]], dtype=torch.float64).repeat(N, 1)
    arm_q = np.zeros((N, 14))
    ik_err = np.zeros(N)
    env_steps = 0
    t_max = max(lengths)
    for t in range(t_max):
        if not arms_only and t % tb.MANAGER_PERIOD == 0:
            idx = [t + k for k in (0, *tb.HORIZONS)]
            root_xy = env.robot.root_pos_w[:, :2].double() - origins[:, :2]
            label = tb.heuristic_labels(root_t[:, idx], root_xy, tb.heading(env).double(), h.dt)
            if h.controller == "heuristic" or manager is None:
                cmd = label
            else:
                obs = manager_obs(env, h.wrists_w()[0], pos_w[:, idx[1:]])
                use_label = torch.as_tensor(rng.random(N) < beta)[:, None]
                cmd = torch.where(use_label, label, manager.command(obs).double())
                if collect:
                    obs_out += list(obs[torch.as_tensor(active)].numpy())
                    lab_out += list(label[torch.as_tensor(active)].float().numpy())
        if arms_only:
            # A fixed base: the pelvis stays at its standing pose, the IK's own wrists are the result.
            targets_p = (
                pos_w[:, t]
                - origins[:, None, :]
                - torch.tensor([0.0, 0.0, STAND_HEIGHT], dtype=torch.float64)
            )
            quats_p = quat_w[:, t]
        else:
            targets_p = tb.pelvis_frame(env, pos_w[:, t])
            quats_p = tb.pelvis_frame_quat(env, quat_w[:, t])
        for i in map(int, np.nonzero(active)[0]):
            res = h.ik.solve(i, targets_p[i].numpy(), quats_p[i].numpy())
            arm_q[i] = res.q[h.arm_cols]
            ik_err[i] = res.pos_error.mean()
        if arms_only:
            wp, wq = fixed_base_wrists(h, origins)
            term = np.zeros(N, bool)
        else:
            action = torch.cat(
                [tb.normalize_command(cmd).float(), torch.as_tensor(arm_q, dtype=torch.float32)], -1
            )
            _, _, terminated, _, _ = env.step(action)
            env_steps += int(active.sum())
            wp, wq = h.wrists_w()
            term = terminated.cpu().numpy()
        err = torch.linalg.norm(wp - pos_w[:, t], dim=-1).numpy()
        ori = _quat_error(wq, quat_w[:, t]).numpy()
        for i in map(int, np.nonzero(active)[0]):
            if t >= prefixes[i]:
                steps[i] += 1
                ok = err[i] < REACH_RADIUS
                sums["pos"][i] += err[i].mean()
                sums["ik"][i] += ik_err[i]
                sums["ori"][i] += ori[i].mean()
                sums["reached"][i] += ok.sum()
                sums["count"][i] += 2
                low = pos_np[i, t, :, 2] < LOW_Z
                far = pos_np[i, t, :, 0] > FAR_X
                sums["low"][i] += (ok & low).sum()
                sums["low_n"][i] += low.sum()
                sums["far"][i] += (ok & far).sum()
                sums["far_n"][i] += far.sum()
                if record:
                    r = recs[i]
                    for cam in cameras:
                        r.images.setdefault(cam, []).append(render_overhead(h, i))
                    r.joint_pos.append(env.robot.joint_pos[i].float().numpy().copy())
                    r.arm_targets.append(arm_q[i].astype(np.float32).copy())
                    r.command.append(cmd[i].float().numpy().copy())
                    r.wrist_targets.append(
                        np.concatenate([pos_np[i, t].ravel(), quat_np[i, t].ravel()]).astype(np.float32)
                    )
            if term[i]:
                fell[i], active[i] = True, False
            elif err[i].max() > tb.HAND_ERROR_LIMIT and t >= prefixes[i]:
                lost[i], active[i] = True, False
            elif t + 1 >= lengths[i]:
                active[i] = False
        if not active.any():
            break
    results = []
    for i in range(n):
        c = max(sums["count"][i], 1)
        results.append(EpisodeResult(
            trajs[i].source, int(steps[i]), lengths[i] - prefixes[i], sums["pos"][i] / max(steps[i], 1),
            sums["ori"][i] / max(steps[i], 1), sums["reached"][i] / c, bool(fell[i]), bool(lost[i]),
            sums["low"][i] / sums["low_n"][i] if sums["low_n"][i] else float("nan"),
            sums["far"][i] / sums["far_n"][i] if sums["far_n"][i] else float("nan"),
            sums["ik"][i] / max(steps[i], 1),
        ))  # fmt: skip
    h.env_steps += env_steps
    return Batch(results, obs_out, lab_out, recs, env_steps)
