"""Isaac Lab's gait terms of its humanoid velocity tasks (H1, G1) and the termination penalty, on robolearn's env.

Isaac Lab's contact sensor keeps, per body, the current and the last completed air and contact times; a body
is in contact while its net contact force exceeds 1 N (`ContactSensorCfg.force_threshold`). `contact_timers`
keeps the same four times from robolearn's contact groups, advanced once per env step (Isaac Lab's velocity
tasks update the sensor every physics substep; the times then differ by less than one env step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from robolearn.adapters.isaaclab_cfg.managers import SceneEntityCfg
from robolearn.adapters.isaaclab_cfg.mdp_common import ROBOT, SensorRef, asset, body_sel, contacts

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv as Env

FORCE_THRESHOLD = 1.0
"""N: Isaac Lab's contact sensor default."""


def in_contact(env: Env, sensor_cfg: SensorRef) -> torch.Tensor:
    """(N, bodies) bool: the group's bodies pressing on the ground harder than FORCE_THRESHOLD."""
    return torch.linalg.norm(contacts(env, sensor_cfg)[..., 1:4], dim=-1) > FORCE_THRESHOLD


def contact_timers(env: Env, sensor_cfg: SensorRef) -> dict[str, torch.Tensor]:
    """Per body (N, bodies): `air`, `contact` (current times) and `last_air`, `last_contact` (the last completed
    swing and stance), advanced once per env step however many terms read them."""
    state = env.term_state.setdefault(f"isaaclab_contact_timers/{sensor_cfg.group}", {})
    if state.get("step") == env.common_step_counter:
        return state
    touching = in_contact(env, sensor_cfg)
    if "air" not in state:
        state.update(
            {
                k: torch.zeros(touching.shape, device=env.device)
                for k in ("air", "contact", "last_air", "last_contact")
            }
        )
    new_episode = (env.episode_length_buf <= 1).unsqueeze(-1)
    for key in ("air", "contact", "last_air", "last_contact"):
        state[key].masked_fill_(new_episode, 0.0)
    dt = env.step_dt
    air, contact = state["air"], state["contact"]
    state["last_air"] = torch.where((air > 0) & touching, air + dt, state["last_air"])
    state["last_contact"] = torch.where((contact > 0) & ~touching, contact + dt, state["last_contact"])
    state["air"] = torch.where(touching, torch.zeros_like(air), air + dt)
    state["contact"] = torch.where(touching, contact + dt, torch.zeros_like(contact))
    state["step"] = env.common_step_counter
    return state


def feet_air_time_positive_biped(
    env: Env, command_name: str, threshold: float, sensor_cfg: SensorRef
) -> torch.Tensor:
    """In single stance, the shorter of the feet's current swing/stance times, up to `threshold` seconds; zero
    when commanded to stand."""
    t = contact_timers(env, sensor_cfg)
    touching = t["contact"] > 0
    in_mode = torch.where(touching, t["contact"], t["air"])
    single_stance = torch.sum(touching.int(), dim=1) == 1
    reward = torch.min(torch.where(single_stance.unsqueeze(-1), in_mode, 0.0), dim=1)[0].clamp(max=threshold)
    return reward * (torch.linalg.norm(env.command_manager.get_command(command_name)[:, :2], dim=1) > 0.1)


def feet_air_time_variance(
    env: Env, command_name: str, sensor_cfg: SensorRef, max_time: float = 0.5
) -> torch.Tensor:
    """Variance across feet of the last swing and stance times (each clipped at `max_time`)."""
    t = contact_timers(env, sensor_cfg)
    if t["last_air"].shape[1] < 2:
        raise ValueError(f"feet_air_time_variance: contact group {sensor_cfg.group!r} of sensor {sensor_cfg.name!r} "
                         "has fewer than two bodies")  # fmt: skip
    penalty = torch.var(t["last_air"].clamp(max=max_time), dim=1) + torch.var(
        t["last_contact"].clamp(max=max_time), dim=1
    )
    return penalty * (torch.linalg.norm(env.command_manager.get_command(command_name)[:, :2], dim=1) > 0.1)


def feet_slide(env: Env, sensor_cfg: SensorRef, asset_cfg: SceneEntityCfg = ROBOT) -> torch.Tensor:
    """Horizontal speed of the asset's bodies (its `body_names`) while their contact group touches the ground."""
    a = asset(env, asset_cfg)
    ids = torch.as_tensor(a.body_ids, dtype=torch.long)[body_sel(asset_cfg)]
    roots = torch.as_tensor(env.scene.model.body_rootid, dtype=torch.long)[ids]
    dev = env.sim.cvel.device
    cvel = env.sim.cvel[:, ids.to(dev)]
    # MuJoCo's cvel is the spatial velocity at the tree's centre of mass: move it to each body's origin.
    offset = env.sim.xpos[:, ids.to(dev)] - env.sim.subtree_com[:, roots.to(dev)]
    velocity = cvel[..., 3:] + torch.cross(cvel[..., :3], offset, dim=-1)
    speed = torch.linalg.norm(velocity[..., :2], dim=-1).to(env.device, torch.float32)
    return torch.sum(speed * in_contact(env, sensor_cfg), dim=1)


def is_terminated(env: Env) -> torch.Tensor:
    """1 where the episode ends this step for a reason other than its time limit."""
    manager = env.termination_manager
    done = torch.zeros(env.num_envs, dtype=torch.bool, device=env.device)
    for name, term in manager.terms.items():
        if not term.time_out:
            done |= manager.term_dones[name]
    return done.float()
