"""The sections of an Isaac Lab env.yaml mapped onto robolearn's deploy contract: actuators (PD gains, effort and
velocity limits, DC motor saturation), the action term (joint order, scale, offset, clip), the policy observation
group (terms, scale, clip, noise, history) and the velocity command. Each function appends what robolearn cannot
reproduce to `problems` (the reader raises them together) instead of stopping at the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from robolearn.sim2real.isaaclab_yaml import dig, match_joints, per_joint
from robolearn.sim2real.schema import CommandSpec, ObsTermSpec

OBS_TERMS = {
    "base_lin_vel": ("base_lin_vel", 3),
    "base_ang_vel": ("base_ang_vel", 3),
    "projected_gravity": ("projected_gravity", 3),
    "generated_commands": ("velocity_command", 3),
    "joint_pos_rel": ("joint_pos_rel", 0),
    "joint_vel_rel": ("joint_vel", 0),
    "last_action": ("last_action", 0),
}
"""Isaac Lab observation function (isaaclab.envs.mdp.observations) -> (robolearn deploy term, size; 0: one per
joint). Joint terms follow the articulation's order, last_action the action term's order."""
OBS_MODULE = "isaaclab.envs.mdp"
ROBOLEARN_TERMS = {"gait_phase": 2}
"""robolearn's own deployable terms with no Isaac Lab counterpart, read under their robolearn function name
(robolearn.core.mdp.observations:<name>, as our writer puts them) with their params (e.g. a gait clock's period)."""
ACTUATORS = ("ImplicitActuator", "IdealPDActuator", "DCMotor")
"""Actuator models the simulated robot reproduces: PD with an effort clip, and the DC motor's torque-speed
curve. Actuator networks (ActuatorNetMLP/LSTM), DelayedPDActuator and RemotizedPDActuator are refused."""
UNCLIPPED = 1.0e6
"""action_clip of a run with no action clip (PolicyMetadata needs a positive number; no network reaches it)."""


def actuator_gains(actuators: dict[str, Any], joints: Sequence[str], w: str, problems: list[str]
                   ) -> dict[str, dict[str, float]]:  # fmt: skip
    out: dict[str, dict[str, float]] = {k: {} for k in ("kp", "kd", "effort_limit", "saturation_effort",
                                                         "velocity_limit")}  # fmt: skip
    for name, a in actuators.items():
        where = f"{w}: scene.robot.actuators.{name}"
        kind = str(a.get("class_type", "")).rsplit(":", 1)[-1]
        if kind not in ACTUATORS:
            problems.append(f"actuator {name!r} is a {kind or 'model without class_type'} (robolearn reproduces "
                            f"{', '.join(ACTUATORS)})")  # fmt: skip
            continue
        group = match_joints(a.get("joint_names_expr") or [], joints, f"{where}.joint_names_expr")
        for key, src in (("kp", "stiffness"), ("kd", "damping")):
            if a.get(src) is None:
                problems.append(f"actuator {name!r} has no {src} (it would come from the USD file)")
                continue
            out[key].update(per_joint(a[src], group, f"{where}.{src}"))
        sim = kind == "ImplicitActuator"
        effort = (
            a.get("effort_limit_sim")
            if sim and a.get("effort_limit_sim") is not None
            else a.get("effort_limit")
        )
        vel = (
            a.get("velocity_limit_sim")
            if sim and a.get("velocity_limit_sim") is not None
            else a.get("velocity_limit")
        )
        out["effort_limit"].update(
            per_joint(effort if effort is not None else 1e9, group, f"{where}.effort_limit")
        )
        out["velocity_limit"].update(
            per_joint(vel if vel is not None else 1e9, group, f"{where}.velocity_limit")
        )
        sat = a.get("saturation_effort") if kind == "DCMotor" else 0.0
        out["saturation_effort"].update(
            per_joint(sat if sat is not None else 0.0, group, f"{where}.saturation_effort")
        )
    uncovered = [j for j in joints if j not in out["kp"] and j not in out["kd"]]
    if uncovered and not problems:
        problems.append(f"joints {uncovered} have no actuator in scene.robot.actuators")
    for k in out:
        for j in joints:
            out[k].setdefault(j, 0.0)
    return out


def action_map(env: dict[str, Any], agent: dict[str, Any], joints: Sequence[str], defaults: dict[str, float],
               w: str, problems: list[str]) -> tuple[list[str], float, dict[str, float], float]:  # fmt: skip
    """(action joint order, scale, per-joint offset, clip) of the run's one JointPositionAction term."""
    actions = {k: v for k, v in (env.get("actions") or {}).items() if isinstance(v, dict)}
    if len(actions) != 1:
        problems.append(f"actions has terms {list(actions)} (robolearn runs exactly one JointPositionAction)")
        return list(joints), 1.0, dict.fromkeys(joints, 0.0), UNCLIPPED
    name, a = next(iter(actions.items()))
    where = f"{w}: actions.{name}"
    kind = str(a.get("class_type", "")).rsplit(":", 1)[-1]
    if kind != "JointPositionAction":
        problems.append(f"action term {name!r} is a {kind or 'term without class_type'} (robolearn runs "
                        "JointPositionAction)")  # fmt: skip
    order = match_joints(
        a.get("joint_names") or [], joints, f"{where}.joint_names", bool(a.get("preserve_order"))
    )
    if len(order) != len(joints):
        problems.append(f"action term {name!r} drives {len(order)} of the robot's {len(joints)} joints (robolearn "
                        "drives them all)")  # fmt: skip
    if not order:
        problems.append(f"action term {name!r} names no joints (joint_names is empty)")
        return list(joints), 1.0, dict.fromkeys(joints, 0.0), UNCLIPPED
    scales = set(per_joint(a.get("scale", 1.0), order, f"{where}.scale").values())
    if len(scales) != 1:
        problems.append(f"action term {name!r} has per-joint scales {sorted(scales)} (robolearn: one scale)")
    if a.get("use_default_offset"):
        offset = {j: defaults[j] for j in joints}
    else:
        offset = per_joint(a.get("offset", 0.0), joints, f"{where}.offset", default=0.0)
    if a.get("clip"):  # JointAction clamps the processed action, i.e. the joint targets, joint by joint
        problems.append(f"action term {name!r} clips joint targets to {a['clip']} (robolearn bounds targets by the "
                        "joint limits only)")  # fmt: skip
    clip = UNCLIPPED
    if agent.get("clip_actions"):  # the rsl_rl wrapper clamps actions before the env sees them
        clip = min(clip, float(agent["clip_actions"]))
    return order, float(next(iter(scales))), offset, clip


def observation_terms(env: dict[str, Any], n_joints: int, w: str, problems: list[str]
                      ) -> tuple[list[ObsTermSpec], int, list[CommandSpec]]:  # fmt: skip
    group = dig(env, "observations.policy", Path(w))
    if group.get("concatenate_terms") is False or group.get("flatten_history_dim") is False:
        problems.append(
            "observations.policy is not one flat vector (concatenate_terms / flatten_history_dim)"
        )
    specs, histories, commands = [], set(), []
    for name, t in group.items():
        if not isinstance(t, dict) or "func" not in t:
            continue
        where = f"observations.policy.{name}"
        module, _, fn = str(t["func"]).rpartition(":")
        params = t.get("params") or {}
        if module.startswith("robolearn.") and fn in ROBOLEARN_TERMS:
            key, size = fn, ROBOLEARN_TERMS[fn]
        elif module.startswith(OBS_MODULE) and fn in OBS_TERMS:
            key, size = OBS_TERMS[fn]
        else:
            problems.append(f"observation term {name!r} ({t['func']}) is not one robolearn computes (it computes "
                            f"{', '.join(OBS_TERMS)} of {OBS_MODULE}, and its own {', '.join(ROBOLEARN_TERMS)})")  # fmt: skip
            continue
        asset = params.get("asset_cfg") or {}
        if asset.get("joint_names") not in (None, [".*"], (".*",)):
            problems.append(f"{where} observes joints {asset['joint_names']} (robolearn: all joints)")
        if fn == "last_action" and params.get("action_name") is not None:
            problems.append(
                f"{where} reads action term {params['action_name']!r} (robolearn: the whole action)"
            )
        if fn == "generated_commands":
            commands = velocity_command(env, str(params.get("command_name")), w, problems)
        if t.get("modifiers"):
            problems.append(f"{where} has modifiers {t['modifiers']}")
        scale = t.get("scale")
        if scale is not None and not isinstance(scale, (int, float)):
            problems.append(f"{where} has a per-element scale {scale} (robolearn: one number)")
            scale = 1.0
        clip = t.get("clip")
        if clip is not None and (len(clip) != 2 or clip[0] != -clip[1]):
            problems.append(f"{where} clips to {clip} (robolearn: a symmetric clip)")
        noise = obs_noise(t.get("noise"), where, problems)
        h = (
            group.get("history_length")
            if group.get("history_length") is not None
            else t.get("history_length", 0)
        )
        histories.add(max(int(h or 0), 1))
        specs.append(ObsTermSpec(name=str(name), size=size or n_joints, scale=float(1.0 if scale is None else scale),
                                 clip=None if clip is None else float(clip[1]), func=f"robolearn.sim2real.observation:{key}",
                                 noise=noise, params={**_plain(params), "isaaclab_func": str(t["func"])}))  # fmt: skip
    if len(histories) > 1:
        problems.append(
            f"observation terms have different history lengths {sorted(histories)} (robolearn: one)"
        )
    if not specs and not problems:
        problems.append("observations.policy has no terms")
    return specs, max(histories or {1}), commands


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    """The term's numeric and string parameters (what a deploy twin may take; asset_cfg and friends are not)."""
    return {k: v for k, v in params.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}


def obs_noise(noise: Any, where: str, problems: list[str]) -> float:
    if not noise:
        return 0.0
    fn = str(noise.get("func", "")).rsplit(":", 1)[-1]
    lo, hi = noise.get("n_min"), noise.get("n_max")
    if fn != "uniform_noise" or noise.get("operation", "add") != "add" or lo is None or lo != -hi:
        problems.append(
            f"{where} has noise {fn or noise} (robolearn replays additive uniform noise, n_min = -n_max)"
        )
        return 0.0
    return float(hi)


def velocity_command(env: dict[str, Any], name: str, w: str, problems: list[str]) -> list[CommandSpec]:
    cmd = (env.get("commands") or {}).get(name)
    if not isinstance(cmd, dict):
        problems.append(f"commands.{name} (read by generated_commands) is missing")
        return []
    kind = str(cmd.get("class_type", "")).rsplit(":", 1)[-1]
    if kind not in ("UniformVelocityCommand", "NormalVelocityCommand"):
        problems.append(f"commands.{name} is a {kind} (robolearn commands base velocities)")
        return []
    ranges = cmd.get("ranges") or {}
    return [CommandSpec(k, (float(ranges[k][0]), float(ranges[k][1]))) if ranges.get(k) else CommandSpec(k, (0.0, 0.0))
            for k in ("lin_vel_x", "lin_vel_y", "ang_vel_z")]  # fmt: skip
