"""Domain-randomization presets for any task config: none / light / legged-standard / heavy.

`apply_preset(env_cfg, name)` rewrites the EnvCfg's randomization events and observation noise
(and, for `heavy`, the roughness of a rough-terrain scene). Event terms it installs are plain
functions of (env, env_ids, **params) defined here, so any task can use them:

    cfg = get_task("Go2-Velocity-Flat").env_cfg()
    apply_preset(cfg, "legged-standard")

The ranges follow the legged_gym / Isaac Lab / Walk-These-Ways practice for 10-50 kg quadrupeds and
humanoids. Latency cannot be an env event (actions reach the servos in the same step); a preset's
`latency_ms` is applied by sim2sim (`Sim2SimCfg.latency_ms`) and is recorded for a training-side
action delay.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from robolearn.core.cfg import EnvCfg, EventTerm
from robolearn.core.mdp import events as mdp_events

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

Range = tuple[float, float]


@dataclass(frozen=True)
class RandomizationPreset:
    name: str
    friction: Range | None = None
    """Scale of every geom's sliding friction, per world."""
    added_base_mass: Range | None = None
    """kg added to the base body."""
    com_offset: float | None = None
    """Half-width (m) of a uniform shift of the base's centre of mass along each axis."""
    motor_strength: Range | None = None
    """Scale of every actuator's force limit (weaker or stronger motors)."""
    kp_scale: Range | None = None
    kd_scale: Range | None = None
    """Scales of the PD servos' stiffness and damping (per world, all joints alike)."""
    obs_noise_scale: float = 1.0
    """Multiplier of each policy observation term's noise (0 disables noise)."""
    push_velocity: float | None = None
    """Half-width (m/s) of base velocity pushes in x and y."""
    push_interval_s: Range = (10.0, 15.0)
    terrain_scale: float | None = None
    """Multiplier of a rough terrain's roughness, slope and step height (flat scenes stay flat)."""
    latency_ms: Range = (0.0, 0.0)
    """Action latency a deploy-side test of this preset should use (sim2sim applies it)."""


PRESETS: dict[str, RandomizationPreset] = {
    p.name: p
    for p in (
        RandomizationPreset("none", obs_noise_scale=0.0),
        RandomizationPreset(
            "light",
            friction=(0.8, 1.1),
            added_base_mass=(-0.5, 1.0),
            obs_noise_scale=0.5,
            push_velocity=0.3,
            push_interval_s=(10.0, 15.0),
            latency_ms=(0.0, 10.0),
        ),
        RandomizationPreset(
            "legged-standard",
            friction=(0.6, 1.25),
            added_base_mass=(-1.0, 2.0),
            com_offset=0.02,
            motor_strength=(0.9, 1.1),
            kp_scale=(0.9, 1.1),
            kd_scale=(0.9, 1.1),
            obs_noise_scale=1.0,
            push_velocity=0.5,
            push_interval_s=(8.0, 12.0),
            latency_ms=(0.0, 20.0),
        ),
        RandomizationPreset(
            "heavy",
            friction=(0.3, 1.5),
            added_base_mass=(-1.0, 4.0),
            com_offset=0.05,
            motor_strength=(0.8, 1.2),
            kp_scale=(0.8, 1.2),
            kd_scale=(0.7, 1.3),
            obs_noise_scale=1.5,
            push_velocity=1.0,
            push_interval_s=(5.0, 8.0),
            terrain_scale=1.25,
            latency_ms=(0.0, 40.0),
        ),
    )  # fmt: skip
}

# Event names this module owns; applying a preset replaces them (and the tasks' same-named ones).
RANDOMIZATION_EVENTS = ("friction", "base_mass", "com", "motor_strength", "pd_gains", "push")


def _uniform(env: ManagerBasedRlEnv, rng: Range, shape: tuple[int, ...]) -> torch.Tensor:
    lo, hi = rng
    return lo + (hi - lo) * torch.rand(shape, device=env.device, generator=env.rng, dtype=torch.float64)


def randomize_com(env: ManagerBasedRlEnv, env_ids: torch.Tensor, offset: float) -> None:
    """Shift the base's centre of mass by U(-offset, offset) on each axis (from the nominal model)."""
    ipos = env.sim.model_field("body_ipos")
    base = torch.as_tensor(env.scene.model.body_ipos[env.robot.base_id], device=ipos.device)
    ids = env_ids.to(ipos.device)
    ipos[ids, env.robot.base_id] = base + _uniform(env, (-offset, offset), (len(env_ids), 3)).to(ipos.device)
    env.sim.set_const(ids)


def randomize_motor_strength(env: ManagerBasedRlEnv, env_ids: torch.Tensor, strength_range: Range) -> None:
    """Scale every actuator's force limit by one factor per world."""
    force = env.sim.model_field("actuator_forcerange")
    base = torch.as_tensor(env.scene.model.actuator_forcerange, device=force.device)
    scale = _uniform(env, strength_range, (len(env_ids), 1, 1)).to(force.device)
    force[env_ids.to(force.device)] = base * scale


def randomize_pd_gains(
    env: ManagerBasedRlEnv, env_ids: torch.Tensor, kp_range: Range, kd_range: Range
) -> None:
    """Scale the PD servos' kp and kd (force = kp ctrl - kp q - kd qd, MuJoCo's affine bias)."""
    gain, bias = env.sim.model_field("actuator_gainprm"), env.sim.model_field("actuator_biasprm")
    model = env.scene.model
    ids = env_ids.to(gain.device)
    kp = torch.as_tensor(model.actuator_gainprm[:, 0], device=gain.device)
    kd = torch.as_tensor(-model.actuator_biasprm[:, 2], device=gain.device)
    s_kp = _uniform(env, kp_range, (len(env_ids), 1)).to(gain.device)
    s_kd = _uniform(env, kd_range, (len(env_ids), 1)).to(gain.device)
    g, b = gain[ids], bias[ids]
    g[:, :, 0] = kp * s_kp
    b[:, :, 1] = -kp * s_kp
    b[:, :, 2] = -kd * s_kd
    gain[ids], bias[ids] = g, b


def preset(name: str) -> RandomizationPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown randomization preset {name!r}; presets: {', '.join(PRESETS)}") from None


def apply_preset(env_cfg: EnvCfg, name: str) -> EnvCfg:
    """Set the EnvCfg's randomization to preset `name` (edits it in place and returns it)."""
    p = preset(name)
    events = {k: e for k, e in env_cfg.events.items() if k not in RANDOMIZATION_EVENTS}
    if p.friction:
        events["friction"] = EventTerm(
            mdp_events.randomize_friction, "startup", {"friction_range": p.friction}
        )
    if p.added_base_mass:
        events["base_mass"] = EventTerm(
            mdp_events.add_base_mass, "startup", {"mass_range": p.added_base_mass}
        )
    if p.com_offset:
        events["com"] = EventTerm(randomize_com, "startup", {"offset": p.com_offset})
    if p.motor_strength:
        events["motor_strength"] = EventTerm(
            randomize_motor_strength, "startup", {"strength_range": p.motor_strength}
        )
    if p.kp_scale or p.kd_scale:
        events["pd_gains"] = EventTerm(
            randomize_pd_gains, "startup", {"kp_range": p.kp_scale or (1.0, 1.0), "kd_range": p.kd_scale or (1.0, 1.0)}
        )  # fmt: skip
    if p.push_velocity:
        v = (-p.push_velocity, p.push_velocity)
        events["push"] = EventTerm(mdp_events.push_by_setting_velocity, "interval",
                                   {"velocity_range": {"x": v, "y": v}}, interval_range_s=p.push_interval_s)  # fmt: skip
    env_cfg.events = events
    policy = env_cfg.observations.get("policy")
    if policy is not None:
        policy.enable_noise = p.obs_noise_scale > 0
        nominal = _nominal_noise(env_cfg)
        for key, term in policy.terms.items():
            term.noise = nominal.get(key, term.noise) * p.obs_noise_scale
    terrain = env_cfg.scene.terrain
    if p.terrain_scale and terrain.kind == "rough":
        env_cfg.scene.terrain = dataclasses.replace(
            terrain, max_rough=terrain.max_rough * p.terrain_scale, max_slope=terrain.max_slope * p.terrain_scale,
            max_step=terrain.max_step * p.terrain_scale,
        )  # fmt: skip
    return env_cfg


def _nominal_noise(env_cfg: EnvCfg) -> dict[str, float]:
    """The task's own noise per term, remembered on first application, so presets do not compound."""
    store: dict[str, float] | None = getattr(env_cfg, "_nominal_obs_noise", None)
    if store is None:
        store = {k: t.noise for k, t in env_cfg.observations["policy"].terms.items()}
        object.__setattr__(env_cfg, "_nominal_obs_noise", store)
    return store
