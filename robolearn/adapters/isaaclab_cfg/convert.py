"""An Isaac Lab `ManagerBasedRLEnvCfg` (written against this package's names) -> robolearn's `EnvCfg`.

`convert` maps the robot onto its menagerie model, the actuators onto PD gains, contact sensors and height
scanners onto robolearn's contact groups and height scan, and every term onto robolearn's managers with the
same function (robolearn.adapters.isaaclab_cfg.mdp) and parameters. What robolearn does not reproduce is
refused by name before anything is built (`IsaacLabConfigError`); what it approximates is listed in
`Conversion.notes`. `register` makes such a config a robolearn task, so `robolearn train <name>` trains it.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

from robolearn.adapters.isaaclab_cfg import mdp
from robolearn.adapters.isaaclab_cfg.commands import HeadingVelocityCommandCfg, UniformVelocityCommandCfg
from robolearn.adapters.isaaclab_cfg.managers import (
    EventTermCfg,
    ManagerBasedRLEnvCfg,
    ObservationGroupCfg,
    ObservationTermCfg,
    SceneEntityCfg,
    UniformNoiseCfg,
)
from robolearn.adapters.isaaclab_cfg.robots import FOOT_ALIASES, USD_ROBOTS
from robolearn.adapters.isaaclab_cfg.sim import (
    ActuatorNetMLPCfg,
    ArticulationCfg,
    ContactSensorCfg,
    RayCasterCfg,
)
from robolearn.adapters.isaaclab_cfg.terms import IsaacLabConfigError, UncoveredTerm
from robolearn.core import cfg as rl
from robolearn.core.actions import JointPositionActionCfg as CoreJointPositionActionCfg
from robolearn.core.entity import SceneEntityCfg as CoreSceneEntityCfg
from robolearn.robots import ROBOTS, robot_model
from robolearn.scene import ContactSensorCfg as CoreContactSensorCfg, SceneCfg
from robolearn.terrain import TerrainCfg

__all__ = ["Conversion", "IsaacLabConfigError", "convert", "register", "to_env_cfg"]

TERRAINS = {"plane": "flat", "generator": "rough"}
"""Isaac Lab terrain_type -> robolearn TerrainCfg.kind (robolearn's own procedural rough terrain)."""


@dataclasses.dataclass
class Conversion:
    env_cfg: rl.EnvCfg
    notes: list[str]
    """What robolearn approximates or leaves out, one line each, naming the config field."""


def _members(obj: Any) -> list[tuple[str, Any]]:
    """A config group's members in declaration order, then those a __post_init__ added (Isaac Lab's managers read
    the instance's attributes too); None (a removed term) left out."""
    return [(k, v) for k, v in vars(obj).items() if v is not None and not k.startswith("_")]


class _Converter:
    def __init__(self, cfg: ManagerBasedRLEnvCfg, where: str):
        self.cfg, self.where = cfg, where
        self.notes: list[str] = []
        self.contact_groups: dict[str, CoreContactSensorCfg] = {}
        self._group_of: dict[tuple[str, str], str] = {}
        scene = cfg.scene
        robot = getattr(scene, "robot", None)
        if not isinstance(robot, ArticulationCfg):
            raise IsaacLabConfigError(f"{where}: scene.robot must be an ArticulationCfg (e.g. UNITREE_GO2_CFG), "
                                      f"got {type(robot).__name__}")  # fmt: skip
        self.robot_cfg = robot
        self.robot = self._robot_name(robot)
        model = robot_model(self.robot, fast=True)
        self.joint_names = [model.joint(model.actuator(i).trnid[0]).name for i in range(model.nu)]
        self.body_names = [model.body(i).name for i in range(1, model.nbody)]
        free = [j for j in range(model.njnt) if model.jnt_type[j] == 0]  # mjJNT_FREE
        self.base_body = model.body(int(model.jnt_bodyid[free[0]])).name if free else self.body_names[0]
        self.sensors = {n: v for n, v in _members(scene) if isinstance(v, (ContactSensorCfg, RayCasterCfg))}

    # -- scene ------------------------------------------------------------------------------------------------
    def _robot_name(self, robot: ArticulationCfg) -> str:
        if robot.robolearn_robot:
            if robot.robolearn_robot not in ROBOTS:
                raise IsaacLabConfigError(f"{self.where}: scene.robot.robolearn_robot={robot.robolearn_robot!r} is "
                                          f"not a robolearn robot; robots: {sorted(ROBOTS)}")  # fmt: skip
            return robot.robolearn_robot
        usd = getattr(robot.spawn, "usd_path", None) or ""
        stem = PurePosixPath(str(usd)).stem.lower()
        if stem not in USD_ROBOTS:
            raise IsaacLabConfigError(
                f"{self.where}: scene.robot.spawn.usd_path={usd!r} is not a robot robolearn maps to a menagerie "
                f"model; known USD files: {sorted(f'{s}.usd' for s in USD_ROBOTS)} (or set "
                "scene.robot.robolearn_robot to a robolearn robot name)"
            )
        return USD_ROBOTS[stem]

    def pd_gains(self) -> dict[str, tuple[float, float]]:
        gains: dict[str, tuple[float, float]] = {}
        for name, act in self.robot_cfg.actuators.items():
            field = f"scene.robot.actuators[{name!r}]"
            if isinstance(act, ActuatorNetMLPCfg):
                raise IsaacLabConfigError(f"{self.where}: {field} is an ActuatorNetMLPCfg (a learned actuator "
                                          "network), which robolearn does not reproduce; use a DCMotorCfg or "
                                          "ImplicitActuatorCfg with stiffness and damping")  # fmt: skip
            for joint in self.joint_names:
                if not any(re.fullmatch(p, joint) for p in act.joint_names_expr) or joint in gains:
                    continue
                kp, kd = _per_joint(act.stiffness, joint), _per_joint(act.damping, joint)
                if kp is None or kd is None:
                    raise IsaacLabConfigError(
                        f"{self.where}: {field}: no stiffness/damping for joint {joint!r}"
                    )
                gains[re.escape(joint)] = (float(kp), float(kd))
        missing = [j for j in self.joint_names if re.escape(j) not in gains]
        if missing:
            self.notes.append(f"scene.robot.actuators: joints {missing} match no actuator; they keep the "
                              "menagerie model's own actuators")  # fmt: skip
        self.notes.append("scene.robot.actuators: effort and velocity limits are the menagerie model's own "
                          "(forcerange), not Isaac Lab's actuator_effort_limit / saturation_effort")  # fmt: skip
        self.notes.append("scene.robot.init_state: the default pose is the menagerie model's home keyframe "
                          "(qpos0 without one), not init_state.joint_pos")  # fmt: skip
        return gains

    def terrain(self) -> TerrainCfg:
        terrain = getattr(self.cfg.scene, "terrain", None)
        kind = getattr(terrain, "terrain_type", "plane")
        if kind not in TERRAINS:
            raise IsaacLabConfigError(f"{self.where}: scene.terrain.terrain_type={kind!r} is not supported; "
                                      f"supported: {sorted(TERRAINS)}")  # fmt: skip
        if kind == "generator":
            self.notes.append("scene.terrain.terrain_generator: robolearn's own rough-terrain tiles stand in for "
                              "Isaac Lab's sub-terrains (their settings are not read)")  # fmt: skip
        return TerrainCfg(kind=TERRAINS[kind])

    def contact_group(self, sensor: str, body_names: Any, field: str) -> str:
        patterns = [body_names] if isinstance(body_names, str) else list(body_names or [".*"])
        key = (sensor, "|".join(patterns))
        if key in self._group_of:
            return self._group_of[key]
        aliases = FOOT_ALIASES.get(self.robot, {})
        names = self.body_names + [a for a in aliases if a not in self.body_names]
        matched = [n for n in names if any(re.fullmatch(p, n) for p in patterns)]
        if not matched:
            raise IsaacLabConfigError(f"{self.where}: {field}: body_names {patterns} of sensor {sensor!r} match no "
                                      f"body of robot {self.robot!r}; bodies: {names}")  # fmt: skip
        geoms = tuple(aliases[n][1] for n in matched if n in aliases and aliases[n][0] == "geom")
        bodies = tuple(
            aliases[n][1] if n in aliases else n for n in matched if aliases.get(n, ("body",))[0] == "body"
        )
        group = f"{sensor}_{len(self._group_of)}"
        self.contact_groups[group] = CoreContactSensorCfg(geoms=geoms, bodies=bodies)
        self._group_of[key] = group
        return group

    # -- terms ------------------------------------------------------------------------------------------------
    def func(self, term: Any, field: str) -> Callable[..., Any]:
        fn = getattr(term, "func", None)
        if fn is None:
            raise IsaacLabConfigError(
                f"{self.where}: {field} is not a term config with a func (got {term!r})"
            )
        if isinstance(fn, UncoveredTerm):
            raise IsaacLabConfigError(
                f"{self.where}: {field}.func is Isaac Lab's mdp.{fn.name}, which robolearn does not cover; covered "
                f"functions: {', '.join(mdp.COVERED)}"
            )
        if not callable(fn):
            raise IsaacLabConfigError(f"{self.where}: {field}.func must be a term function, got {fn!r}")
        return fn

    def params(self, params: Mapping[str, Any], field: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in params.items():
            where = f"{field}.params[{key!r}]"
            if isinstance(value, SceneEntityCfg):
                out[key] = self.entity(value, where)
            else:
                out[key] = value
        return out

    def entity(self, value: SceneEntityCfg, field: str) -> Any:
        if value.name in self.sensors:
            sensor = self.sensors[value.name]
            if isinstance(sensor, RayCasterCfg):
                grid = sensor.pattern_cfg
                return mdp.SensorRef(value.name, size=tuple(grid.size), resolution=float(grid.resolution))
            return mdp.SensorRef(value.name, group=self.contact_group(value.name, value.body_names, field))
        if value.name != "robot":
            raise IsaacLabConfigError(f"{self.where}: {field}: {value.name!r} is not the robot or a sensor of the "
                                      f"scene; sensors: {sorted(self.sensors)}")  # fmt: skip
        bodies = value.body_names
        return CoreSceneEntityCfg("robot", joint_names=_regex(value.joint_names),
                                  body_names=tuple(bodies) if isinstance(bodies, list) else bodies)  # fmt: skip

    def observations(self) -> dict[str, rl.ObsGroupCfg]:
        groups: dict[str, rl.ObsGroupCfg] = {}
        for gname, group in _members(self.cfg.observations):
            if not isinstance(group, ObservationGroupCfg):
                continue
            if not group.concatenate_terms:
                raise IsaacLabConfigError(f"{self.where}: observations.{gname}.concatenate_terms=False is not "
                                          "supported (robolearn concatenates a group's terms)")  # fmt: skip
            terms = {}
            for tname, term in _members(group):
                if isinstance(term, ObservationTermCfg):
                    terms[tname] = self.obs_term(term, f"observations.{gname}.{tname}")
            history = group.history_length or 1
            if history > 1:
                self.notes.append(f"observations.{gname}.history_length: robolearn stacks whole frames (oldest "
                                  "first), Isaac Lab stacks each term's history in turn")  # fmt: skip
            groups[gname] = rl.ObsGroupCfg(terms=terms, enable_noise=bool(group.enable_corruption),
                                           history_length=history)  # fmt: skip
        return groups

    def obs_term(self, term: ObservationTermCfg, field: str) -> rl.ObsTerm:
        noise = 0.0
        if term.noise is not None:
            n = term.noise
            if (
                not isinstance(n, UniformNoiseCfg)
                or n.operation != "add"
                or not math.isclose(n.n_min, -n.n_max)
            ):
                raise IsaacLabConfigError(f"{self.where}: {field}.noise={n!r}: robolearn adds symmetric uniform "
                                          "noise only (UniformNoiseCfg(n_min=-a, n_max=a))")  # fmt: skip
            noise = float(n.n_max)
        clip = None
        if term.clip is not None:
            lo, hi = term.clip
            if not math.isclose(lo, -hi):
                raise IsaacLabConfigError(
                    f"{self.where}: {field}.clip={term.clip}: only symmetric clips (-a, a)"
                )
            clip = float(hi)
        if term.scale is not None and not isinstance(term.scale, (int, float)):
            raise IsaacLabConfigError(f"{self.where}: {field}.scale={term.scale}: only one scale per term")
        if term.modifiers or term.history_length:
            raise IsaacLabConfigError(f"{self.where}: {field}: modifiers and per-term history_length are not "
                                      "supported (set the group's history_length)")  # fmt: skip
        return rl.ObsTerm(self.func(term, field), params=self.params(term.params, field), noise=noise,
                          scale=1.0 if term.scale is None else float(term.scale), clip=clip)  # fmt: skip

    def rewards(self) -> dict[str, rl.RewardTerm]:
        return {
            name: rl.RewardTerm(
                self.func(t, f"rewards.{name}"),
                weight=float(t.weight),
                params=self.params(t.params, f"rewards.{name}"),
            )  # fmt: skip
            for name, t in _members(self.cfg.rewards)
        }

    def terminations(self) -> dict[str, rl.TerminationTerm]:
        return {
            name: rl.TerminationTerm(
                self.func(t, f"terminations.{name}"),
                params=self.params(t.params, f"terminations.{name}"),
                time_out=t.time_out,
            )  # fmt: skip
            for name, t in _members(self.cfg.terminations)
        }

    def events(self) -> dict[str, rl.EventTerm]:
        out = {}
        for name, t in _members(self.cfg.events) if self.cfg.events is not None else []:
            field = f"events.{name}"
            if not isinstance(t, EventTermCfg):
                continue
            mode = {"prestartup": "startup"}.get(t.mode, t.mode)
            if mode not in ("startup", "reset", "interval"):
                raise IsaacLabConfigError(f"{self.where}: {field}.mode={t.mode!r}: robolearn runs startup, reset "
                                          "and interval events")  # fmt: skip
            if t.is_global_time or t.min_step_count_between_reset:
                self.notes.append(f"{field}: is_global_time / min_step_count_between_reset are not applied")
            term = rl.EventTerm(self.func(t, field), mode=mode, params=self.params(t.params, field))  # type: ignore[arg-type]
            if t.interval_range_s:
                term.interval_range_s = _pair(t.interval_range_s)
            out[name] = term
        return out

    def curriculum(self) -> dict[str, rl.CurriculumTerm]:
        if self.cfg.curriculum is None:
            return {}
        return {
            name: rl.CurriculumTerm(
                self.func(t, f"curriculum.{name}"), params=self.params(t.params, f"curriculum.{name}")
            )
            for name, t in _members(self.cfg.curriculum)
        }

    def commands(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, c in _members(self.cfg.commands) if self.cfg.commands is not None else []:
            if not isinstance(c, UniformVelocityCommandCfg):
                raise IsaacLabConfigError(f"{self.where}: commands.{name} is a {type(c).__name__}; robolearn's "
                                          "Isaac Lab surface runs UniformVelocityCommandCfg")  # fmt: skip
            r = c.ranges
            out[name] = HeadingVelocityCommandCfg(
                lin_vel_x=_pair(r.lin_vel_x), lin_vel_y=_pair(r.lin_vel_y), ang_vel_z=_pair(r.ang_vel_z),
                resampling_time_s=_pair(c.resampling_time_range), standing_fraction=float(c.rel_standing_envs),
                heading=_pair(r.heading or (-math.pi, math.pi)), entity=c.asset_name or "robot",
                heading_fraction=float(c.rel_heading_envs) if c.heading_command else 0.0,
                heading_stiffness=float(c.heading_control_stiffness),
            )  # fmt: skip
        return out

    def actions(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, a in _members(self.cfg.actions):
            field = f"actions.{name}"
            if not isinstance(a, mdp.JointPositionActionCfg):
                raise IsaacLabConfigError(f"{self.where}: {field} is a {type(a).__name__}; robolearn's Isaac Lab "
                                          "surface runs JointPositionActionCfg")  # fmt: skip
            if not isinstance(a.scale, (int, float)) or a.offset not in (0, 0.0):
                raise IsaacLabConfigError(f"{self.where}: {field}: one scale for all joints and offset 0 only "
                                          f"(got scale={a.scale!r}, offset={a.offset!r})")  # fmt: skip
            clip = 100.0
            if a.clip:
                bounds = {tuple(v) for v in a.clip.values()}
                if len(bounds) != 1 or not math.isclose(next(iter(bounds))[0], -next(iter(bounds))[1]):
                    raise IsaacLabConfigError(f"{self.where}: {field}.clip={a.clip}: one symmetric clip only")
                clip = float(next(iter(bounds))[1])
            out[name] = CoreJointPositionActionCfg(entity=a.asset_name, joint_names=_regex(a.joint_names) or ".*",
                                                   scale=float(a.scale), clip=clip,
                                                   use_default_offset=a.use_default_offset)  # fmt: skip
        return out

    def env_cfg(self) -> rl.EnvCfg:
        pd = self.pd_gains()
        terrain = self.terrain()
        # Terms first: their sensor parameters create the contact groups the scene needs.
        obs, rewards, dones = self.observations(), self.rewards(), self.terminations()
        events, curriculum = self.events(), self.curriculum()
        scene = SceneCfg(robot=self.robot, fast_model=True, terrain=terrain, contact_sensors=dict(self.contact_groups),
                         pd_gains=pd, timestep=float(self.cfg.sim.dt))  # fmt: skip
        if getattr(self.cfg.sim, "physics", None) is not None or getattr(self.cfg.sim, "newton_cfg", None):
            self.notes.append("sim.physics: Isaac Lab's PhysX / Newton settings are not read; robolearn steps the "
                              "menagerie model with MuJoCo (its training solver settings)")  # fmt: skip
        return rl.EnvCfg(
            scene=scene, observations=obs, rewards=rewards, terminations=dones, actions=self.actions(),
            commands=self.commands(), events=events, curriculum=curriculum,
            sim=rl.SimCfg(dt=float(self.cfg.sim.dt)), num_envs=int(self.cfg.scene.num_envs),
            decimation=int(self.cfg.decimation), episode_length_s=float(self.cfg.episode_length_s),
            seed=int(self.cfg.seed or 0), base_body=self.base_body,
        )  # fmt: skip


def _pair(value: Any) -> tuple[float, float]:
    lo, hi = value
    return float(lo), float(hi)


def _per_joint(value: Any, joint: str) -> float | None:
    if isinstance(value, Mapping):
        return next((v for p, v in value.items() if re.fullmatch(p, joint)), None)
    return value


def _regex(names: Any) -> Any:
    """Isaac Lab's list of joint-name regexes as robolearn's one regex (None stays None)."""
    if names is None or isinstance(names, str):
        return names
    names = list(names)
    return names[0] if len(names) == 1 else "|".join(f"(?:{n})" for n in names)


def convert(cfg: ManagerBasedRLEnvCfg, where: str | None = None) -> Conversion:
    """Convert an Isaac Lab env config instance; errors name `where` (default: the config's class)."""
    where = where or type(cfg).__name__
    if not isinstance(cfg, ManagerBasedRLEnvCfg):
        raise IsaacLabConfigError(f"{where}: not a ManagerBasedRLEnvCfg (got {type(cfg).__name__})")
    conv = _Converter(cfg, where)
    env_cfg = conv.env_cfg()
    return Conversion(env_cfg, conv.notes)


def to_env_cfg(cfg: ManagerBasedRLEnvCfg) -> rl.EnvCfg:
    return convert(cfg).env_cfg


def register(task_id: str, cfg_class: type[ManagerBasedRLEnvCfg], description: str = "",
             presets: Mapping[str, Callable[[], Any]] | None = None) -> Any:  # fmt: skip
    """Register an Isaac Lab env config class as robolearn task `task_id` (trained by `robolearn train`). The
    config is converted once here, so a config robolearn cannot run fails at registration, naming the field.
    Without `presets`, PPO trains with `PpoCfg.cpu()` (the critic sees the policy group unless a critic group
    exists)."""
    from robolearn.registry import register_task
    from robolearn.rl import PpoCfg

    groups = convert(cfg_class()).env_cfg.observations
    if presets is None:
        # Isaac Lab's rsl_rl runner feeds the critic the policy group when a task has no "critic" group.
        critic = ("critic",) if "critic" in groups else ("policy",)
        presets = {"ppo": lambda: PpoCfg.cpu(critic_obs_groups=critic)}
    return register_task(task_id, lambda: to_env_cfg(cfg_class()),
                         description or f"Isaac Lab config {cfg_class.__qualname__} on robolearn's CPU backend",
                         presets=presets)  # fmt: skip
