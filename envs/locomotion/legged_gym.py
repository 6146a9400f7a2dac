"""legged_gym configs -> robolearn velocity tasks.

legged_gym (and its forks: H-infinity locomotion, confined-3D, SkillBlender's first release) describes a robot
with one nested config class: `env`, `terrain`, `commands`, `init_state`, `control`, `asset`, `domain_rand`,
`rewards` (with `scales`), `normalization`, `noise`, `sim`. `from_legged_gym` reads such a class (or an
instance) into robolearn's EnvCfg for the same velocity task: the observation legged_gym builds (same terms,
order, scales, noise and clip), its reward scales on robolearn's terms of the same meaning, its contacts,
domain randomization, PD gains and timing. Reward scales with no robolearn term are returned by name
(`unknown_rewards`), never dropped silently; what is approximated is listed in `notes`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import torch

from robolearn.adapters.isaaclab_cfg import mdp as il_mdp
from robolearn.adapters.isaaclab_cfg.commands import HeadingVelocityCommandCfg
from robolearn.adapters.isaaclab_cfg.robots import FOOT_ALIASES
from robolearn.core import (
    CurriculumTerm,
    EnvCfg,
    EventTerm,
    JointPositionActionCfg,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    SimCfg,
    TerminationTerm,
    mdp,
)
from robolearn.robots import ROBOTS, robot_model
from robolearn.scene import ContactSensorCfg, SceneCfg
from robolearn.terrain import TerrainCfg

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

__all__ = [
    "LeggedGymConfigError",
    "LeggedGymConversion",
    "REWARD_TERMS",
    "from_legged_gym",
    "register_legged_gym",
]


class LeggedGymConfigError(ValueError):
    """A legged_gym config robolearn cannot read: the message names the config field."""


@dataclass
class LeggedGymConversion:
    env_cfg: EnvCfg
    unknown_rewards: list[str] = field(default_factory=list)
    """Non-zero `rewards.scales` entries with no robolearn term of the same meaning (left out of the task)."""
    notes: list[str] = field(default_factory=list)


def scaled_velocity_command(env: ManagerBasedRlEnv, lin_scale: float, ang_scale: float,
                            command_name: str = "base_velocity") -> torch.Tensor:  # fmt: skip
    """legged_gym's `commands[:, :3] * commands_scale`: (vx, vy) by the lin_vel scale, the yaw rate by ang_vel's."""
    cmd = env.command_manager.get_command(command_name)
    return cmd * torch.tensor([lin_scale, lin_scale, ang_scale], device=cmd.device)


REWARD_TERMS: dict[str, str] = {
    "tracking_lin_vel": "track_lin_vel_xy", "tracking_ang_vel": "track_ang_vel_z", "lin_vel_z": "lin_vel_z_l2",
    "ang_vel_xy": "ang_vel_xy_l2", "orientation": "flat_orientation_l2", "torques": "joint_torques_l2",
    "dof_vel": "joint_vel_l2", "dof_acc": "joint_acc_l2", "base_height": "base_height_l2",
    "feet_air_time": "feet_air_time", "collision": "undesired_contacts", "action_rate": "action_rate_l2",
    "stand_still": "stand_still", "dof_pos_limits": "joint_pos_limits",
}  # fmt: skip
"""legged_gym reward name (`_reward_<name>`) -> the robolearn term computing the same quantity."""


def _get(cfg: Any, path: str, default: Any = ...) -> Any:
    obj = cfg
    for part in path.split("."):
        if not hasattr(obj, part):
            if default is ...:
                raise LeggedGymConfigError(f"{_name(cfg)}: missing {path} (a legged_gym config needs it)")
            return default
        obj = getattr(obj, part)
    return obj


def _name(cfg: Any) -> str:
    return cfg.__name__ if isinstance(cfg, type) else type(cfg).__name__


def _entries(obj: Any) -> dict[str, Any]:
    """A legged_gym config class's settings (its public attributes), in definition order along the MRO."""
    cls = obj if isinstance(obj, type) else type(obj)
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        out.update(
            {
                k: getattr(obj, k)
                for k in vars(klass)
                if not k.startswith("_") and not callable(getattr(obj, k))
            }
        )
    return out


class _Reader:
    def __init__(self, cfg: Any):
        self.cfg, self.where = cfg, _name(cfg)
        self.notes: list[str] = []
        self.robot = self._robot()
        model = robot_model(self.robot, fast=True)
        self.joints = [model.joint(model.actuator(i).trnid[0]).name for i in range(model.nu)]
        self.bodies = [model.body(i).name for i in range(1, model.nbody)]
        free = [j for j in range(model.njnt) if model.jnt_type[j] == 0]
        self.root = model.body(int(model.jnt_bodyid[free[0]])).name if free else self.bodies[0]

    def _robot(self) -> str:
        file = str(_get(self.cfg, "asset.file"))
        name = str(_get(self.cfg, "asset.name", "")) or PurePosixPath(file).stem
        for candidate in (PurePosixPath(file).stem.lower(), name.lower()):
            if candidate in ROBOTS:
                return candidate
        raise LeggedGymConfigError(f"{self.where}: asset.file={file!r} (asset.name={name!r}) is not a robot robolearn "
                                   f"has a menagerie model of; robots: {sorted(ROBOTS)}")  # fmt: skip

    def contacts(self, parts: list[str] | str, field_: str) -> ContactSensorCfg:
        """Bodies whose name contains any of `parts` (legged_gym's rule); feet through FOOT_ALIASES."""
        parts = [parts] if isinstance(parts, str) else list(parts)
        aliases = FOOT_ALIASES.get(self.robot, {})
        geoms: list[str] = []
        bodies: list[str] = []
        for name in self.bodies + [a for a in aliases if a not in self.bodies]:
            if not any(p in name for p in parts):
                continue
            kind, target = aliases.get(name, ("body", name))
            (geoms if kind == "geom" else bodies).append(target)
        if not geoms and not bodies and "base" in parts:
            bodies.append(self.root)  # legged_gym's "base" is the root link, "trunk" in some menagerie models
        if not geoms and not bodies:
            raise LeggedGymConfigError(f"{self.where}: {field_}={parts} names no body of robot {self.robot!r}; "
                                       f"bodies: {self.bodies}")  # fmt: skip
        return ContactSensorCfg(geoms=tuple(geoms), bodies=tuple(dict.fromkeys(bodies)))

    def pd_gains(self) -> dict[str, tuple[float, float]]:
        if _get(self.cfg, "control.control_type", "P") != "P":
            raise LeggedGymConfigError(f"{self.where}: control.control_type="
                                       f"{_get(self.cfg, 'control.control_type')!r}: robolearn runs 'P' (position targets)")  # fmt: skip
        stiffness, damping = (
            dict(_get(self.cfg, "control.stiffness")),
            dict(_get(self.cfg, "control.damping")),
        )
        gains = {}
        for joint in self.joints:
            # legged_gym: the first key contained in the joint's name gives its gains.
            key = next((k for k in stiffness if k in joint), None)
            if key is None:
                raise LeggedGymConfigError(
                    f"{self.where}: control.stiffness has no key contained in joint {joint!r}"
                )
            gains[re.escape(joint)] = (float(stiffness[key]), float(damping.get(key, 0.0)))
        return gains

    def observations(self, heights: bool) -> dict[str, ObsGroupCfg]:
        s = _entries(_get(self.cfg, "normalization.obs_scales"))
        level = float(_get(self.cfg, "noise.noise_level", 1.0))
        n = {k: float(v) * level for k, v in _entries(_get(self.cfg, "noise.noise_scales", object())).items()}
        clip = float(_get(self.cfg, "normalization.clip_observations", 100.0))

        def term(func: Any, scale_key: str | None, noise_key: str | None, **params: Any) -> ObsTerm:
            return ObsTerm(func, params=params, scale=float(s.get(scale_key, 1.0)) if scale_key else 1.0,
                           noise=n.get(noise_key, 0.0) if noise_key else 0.0, clip=clip)  # fmt: skip

        terms = {
            "base_lin_vel": term(mdp.base_lin_vel, "lin_vel", "lin_vel"),
            "base_ang_vel": term(mdp.base_ang_vel, "ang_vel", "ang_vel"),
            "projected_gravity": term(mdp.projected_gravity, None, "gravity"),
            "commands": term(
                scaled_velocity_command,
                None,
                None,
                lin_scale=float(s.get("lin_vel", 1.0)),
                ang_scale=float(s.get("ang_vel", 1.0)),
            ),  # fmt: skip
            "dof_pos": term(mdp.joint_pos_rel, "dof_pos", "dof_pos"),
            "dof_vel": term(mdp.joint_vel, "dof_vel", "dof_vel"),
            "actions": term(mdp.last_action, None, None),
        }
        if heights:
            # legged_gym: clip(base z - 0.5 - ground, -1, 1) over a 17 x 11 grid at 0.1 m, the same as height_scan.
            terms["heights"] = term(mdp.height_scan, "height_measurements", "height_measurements",
                                    size=(1.6, 1.0), resolution=0.1, offset=0.5)  # fmt: skip
        return {
            "policy": ObsGroupCfg(terms=terms, enable_noise=bool(_get(self.cfg, "noise.add_noise", True)))
        }

    def rewards(self, feet: str, penalized: str | None) -> tuple[dict[str, RewardTerm], list[str]]:
        scales = _entries(_get(self.cfg, "rewards.scales"))
        sigma = float(_get(self.cfg, "rewards.tracking_sigma", 0.25))
        params: dict[str, dict[str, Any]] = {
            "tracking_lin_vel": {"std": math.sqrt(sigma)}, "tracking_ang_vel": {"std": math.sqrt(sigma)},
            "feet_air_time": {"sensor": feet, "threshold": 0.5},
            "base_height": {"target_height": float(_get(self.cfg, "rewards.base_height_target", 0.3))},
            "dof_pos_limits": {"soft_ratio": float(_get(self.cfg, "rewards.soft_dof_pos_limit", 1.0))},
        }  # fmt: skip
        if penalized:
            params["collision"] = {"sensor": penalized}
        funcs = {
            name: getattr(mdp, term, None) or getattr(il_mdp, term) for name, term in REWARD_TERMS.items()
        }
        out, unknown = {}, []
        for name, scale in scales.items():
            if not scale:
                continue  # legged_gym drops zero scales too
            if name not in funcs or (name == "collision" and not penalized):
                unknown.append(name)
                continue
            out[name] = RewardTerm(funcs[name], weight=float(scale), params=params.get(name, {}))
        if _get(self.cfg, "rewards.only_positive_rewards", False):
            self.notes.append(
                "rewards.only_positive_rewards: robolearn does not clip the total reward at zero"
            )
        return out, unknown

    def events(self) -> dict[str, EventTerm]:
        dr = lambda key, default=None: _get(self.cfg, f"domain_rand.{key}", default)  # noqa: E731
        events = {
            "reset_base": EventTerm(mdp.reset_root_state, mode="reset", params={
                "pose_range": {"x": (-1.0, 1.0), "y": (-1.0, 1.0), "yaw": (-math.pi, math.pi)},
                "velocity_range": {k: (-0.5, 0.5) for k in ("x", "y", "z", "roll", "pitch", "yaw")}}),
            "reset_joints": EventTerm(mdp.reset_joints_by_scale, mode="reset", params={"position_range": (0.5, 1.5)}),
        }  # fmt: skip
        if dr("randomize_friction", False):
            events["friction"] = EventTerm(mdp.randomize_friction, mode="startup",
                                           params={"friction_range": tuple(dr("friction_range"))})  # fmt: skip
        if dr("randomize_base_mass", False):
            events["base_mass"] = EventTerm(mdp.add_base_mass, mode="startup",
                                            params={"mass_range": tuple(dr("added_mass_range"))})  # fmt: skip
        if dr("push_robots", False):
            v, t = float(dr("max_push_vel_xy", 1.0)), float(dr("push_interval_s", 15.0))
            events["push"] = EventTerm(mdp.push_by_setting_velocity, mode="interval", interval_range_s=(t, t),
                                       params={"velocity_range": {"x": (-v, v), "y": (-v, v)}})  # fmt: skip
        return events

    def commands(self) -> dict[str, Any]:
        r = _entries(_get(self.cfg, "commands.ranges"))
        heading = bool(_get(self.cfg, "commands.heading_command", False))
        t = float(_get(self.cfg, "commands.resampling_time", 10.0))
        return {"base_velocity": HeadingVelocityCommandCfg(
            lin_vel_x=tuple(r["lin_vel_x"]), lin_vel_y=tuple(r["lin_vel_y"]), ang_vel_z=tuple(r["ang_vel_yaw"]),
            heading=tuple(r.get("heading", (-math.pi, math.pi))), heading_fraction=1.0 if heading else 0.0,
            heading_stiffness=0.5, resampling_time_s=(t, t), standing_fraction=0.0)}  # fmt: skip

    def env_cfg(self) -> tuple[EnvCfg, list[str]]:
        mesh = str(_get(self.cfg, "terrain.mesh_type", "plane"))
        if mesh not in ("plane", "heightfield", "trimesh"):
            raise LeggedGymConfigError(
                f"{self.where}: terrain.mesh_type={mesh!r}: plane, heightfield or trimesh"
            )
        rough = mesh != "plane"
        heights = rough and bool(_get(self.cfg, "terrain.measure_heights", False))
        sensors = {"feet": self.contacts(_get(self.cfg, "asset.foot_name"), "asset.foot_name"),
                   "terminate": self.contacts(_get(self.cfg, "asset.terminate_after_contacts_on"),
                                              "asset.terminate_after_contacts_on")}  # fmt: skip
        penalized = _get(self.cfg, "asset.penalize_contacts_on", [])
        if penalized:
            sensors["penalized"] = self.contacts(penalized, "asset.penalize_contacts_on")
        rewards, unknown = self.rewards("feet", "penalized" if penalized else None)
        dt = float(_get(self.cfg, "sim.dt", 0.005))
        curriculum = {}
        if rough and _get(self.cfg, "terrain.curriculum", False):
            curriculum["terrain_levels"] = CurriculumTerm(mdp.terrain_levels)
        if _get(self.cfg, "commands.curriculum", False):
            curriculum["command_levels"] = CurriculumTerm(
                mdp.command_levels, params={"reward": "tracking_lin_vel"}
            )
            self.notes.append("commands.curriculum: robolearn's command_levels grows the ranges from half size "
                              "instead of legged_gym's max_curriculum schedule")  # fmt: skip
        self.notes.append(
            "init_state.default_joint_angles: the default pose is the menagerie model's home keyframe"
        )
        clip_actions = float(_get(self.cfg, "normalization.clip_actions", 100.0))
        env = EnvCfg(
            scene=SceneCfg(robot=self.robot, terrain=TerrainCfg(kind="rough" if rough else "flat"),
                           contact_sensors=sensors, pd_gains=self.pd_gains(), timestep=dt),
            observations=self.observations(heights), rewards=rewards,
            terminations={"time_out": TerminationTerm(mdp.time_out, time_out=True),
                          "contact": TerminationTerm(mdp.illegal_contact, params={"sensor": "terminate"})},
            actions={"joint_pos": JointPositionActionCfg(scale=float(_get(self.cfg, "control.action_scale")),
                                                         clip=clip_actions)},
            commands=self.commands(), events=self.events(), curriculum=curriculum, sim=SimCfg(dt=dt),
            num_envs=int(_get(self.cfg, "env.num_envs", 4096)),
            decimation=int(_get(self.cfg, "control.decimation", 4)),
            episode_length_s=float(_get(self.cfg, "env.episode_length_s", 20.0)), base_body=self.root,
        )  # fmt: skip
        return env, unknown


def from_legged_gym(cfg: Any) -> LeggedGymConversion:
    """Read a legged_gym config class (or instance) into a robolearn velocity task config."""
    reader = _Reader(cfg)
    env, unknown = reader.env_cfg()
    return LeggedGymConversion(env, unknown, reader.notes)


def register_legged_gym(task_id: str, cfg: Any, description: str = "") -> Any:
    """Register a legged_gym config as robolearn task `task_id` (trained by `robolearn train`). The config is read
    once here, so one robolearn cannot read fails at registration; unknown rewards are printed by name."""
    from robolearn.registry import register_task
    from robolearn.rl import PpoCfg

    conv = from_legged_gym(cfg)
    if conv.unknown_rewards:
        print(
            f"{task_id}: rewards.scales without a robolearn term, left out: {', '.join(conv.unknown_rewards)}"
        )
    # legged_gym's actor and critic see the same observation unless a config adds privileged ones.
    return register_task(task_id, lambda: from_legged_gym(cfg).env_cfg,
                         description or f"legged_gym config {_name(cfg)} on robolearn's CPU backend",
                         presets={"ppo": lambda: PpoCfg.cpu(critic_obs_groups=("policy",))})  # fmt: skip
