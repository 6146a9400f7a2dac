"""Read an Isaac Lab run folder (as Isaac Lab's rsl_rl train.py and play.py write it) into the deploy contract.

    <run>/params/env.yaml        the ManagerBasedRLEnvCfg, dumped by isaaclab.utils.io.dump_yaml
    <run>/params/agent.yaml      the RslRlOnPolicyRunnerCfg (clip_actions, experiment_name)
    <run>/exported/policy.onnx   play.py's export (input "obs", output "actions", normalizer inside), or policy.pt

The result is a `PolicyMetadata` in the menagerie robot's joint order plus a policy callable that takes the
observation robolearn's builder makes and returns actions in that order: joints are mapped by name, because
Isaac Lab's articulation order (PhysX, breadth-first over the kinematic tree: all four Go2 hips, then the
thighs, then the calves) is not MuJoCo's depth-first one, and Isaac Lab stacks history per term (term 1's
frames, then term 2's) where robolearn stacks whole frames. Everything the run uses that robolearn cannot
reproduce is collected first and raised as one IsaacLabRunError, before any robot moves.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robolearn.sim2real.isaaclab_yaml import IsaacLabRunError, dig, load_params_yaml, match_joints, per_joint
from robolearn.sim2real.schema import EXPORT_VERSION, CommandSpec, ObsTermSpec, PolicyMetadata

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
ROBOT_FILES = re.compile(r"(?<![a-z0-9])(go2|go1|a1|h1|g1)(?![0-9])", re.IGNORECASE)
"""Menagerie robots an articulation's usd_path/asset_path resolves to, by the robot's file stem."""
UNCLIPPED = 1.0e6
"""action_clip of a run with no action clip (PolicyMetadata needs a positive number; no network reaches it)."""


@dataclass
class IsaacLabRun:
    folder: Path
    env_yaml: Path
    policy_file: Path
    meta: PolicyMetadata
    """In the menagerie robot's joint order; the observation layout robolearn's builder makes."""
    articulation_joints: list[str]
    """Isaac Lab's joint order (joint_pos_rel, joint_vel_rel)."""
    action_joints: list[str]
    """The action term's joint order (the network's outputs, last_action)."""
    obs_index: np.ndarray = field(repr=False)
    """Isaac Lab's observation = robolearn's observation[obs_index]."""
    act_index: np.ndarray = field(repr=False)
    """robolearn's action = network output[act_index]."""
    net: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    """The exported network, (1, obs_dim) in Isaac Lab's layout -> (1, actions) in the action term's order."""
    episode_length_s: float = 20.0

    def policy(self) -> Callable[[np.ndarray], np.ndarray]:
        """Observation in robolearn's layout -> actions in the robot's joint order."""
        net, obs_index, act_index = self.net, self.obs_index, self.act_index
        feed = np.zeros((1, self.meta.obs_dim), dtype=np.float32)

        def act(obs: np.ndarray) -> np.ndarray:
            feed[0] = np.asarray(obs, dtype=np.float32)[obs_index]
            return net(feed)[0][act_index]

        return act


def is_isaaclab_run(path: str | Path) -> bool:
    """A folder without policy.json that has Isaac Lab's params/ or exported/ subfolder."""
    p = Path(path)
    return p.is_dir() and not (p / "policy.json").is_file() and ((p / "params").is_dir() or (p / "exported").is_dir())


def policy_file(folder: Path) -> Path:
    for name in ("policy.onnx", "policy.pt"):
        if (folder / "exported" / name).is_file():
            return folder / "exported" / name
    raise IsaacLabRunError(f"{folder / 'exported' / 'policy.onnx'}: missing (nor exported/policy.pt); Isaac Lab's "
                           "scripts/reinforcement_learning/rsl_rl/play.py writes it next to the checkpoint")  # fmt: skip


def load_isaaclab_run(folder: str | Path) -> IsaacLabRun:
    folder = Path(folder)
    env_yaml = folder / "params" / "env.yaml"
    env = load_params_yaml(env_yaml)
    pfile = policy_file(folder)
    agent_yaml = folder / "params" / "agent.yaml"
    agent = load_params_yaml(agent_yaml) if agent_yaml.is_file() else {}
    w = str(env_yaml)
    problems: list[str] = []

    robot_cfg = dig(env, "scene.robot", env_yaml)
    robot = resolve_robot(robot_cfg, w)
    mj_joints, base_body, bfs = robot_joints(robot)
    meta_joints = onnx_joint_names(pfile)
    if meta_joints is not None:
        missing = [j for j in meta_joints if j not in mj_joints]
        if missing or sorted(meta_joints) != sorted(mj_joints):
            raise IsaacLabRunError(f"{pfile}: metadata joint_names {missing or meta_joints} do not match the "
                                   f"{robot} joints ({', '.join(mj_joints)})")  # fmt: skip
    articulation = meta_joints or bfs

    defaults = per_joint(robot_cfg.get("init_state", {}).get("joint_pos", {}), articulation,
                         f"{w}: scene.robot.init_state.joint_pos", default=0.0)  # fmt: skip
    gains = actuator_gains(robot_cfg.get("actuators") or {}, articulation, w, problems)
    action_joints, scale, offset, clip = action_map(env, agent, articulation, defaults, w, problems)
    terms, history, commands = observation_terms(env, len(articulation), w, problems)
    if problems:
        raise IsaacLabRunError(f"{w}: this run uses what robolearn cannot reproduce (nothing was run): "
                               + "; ".join(problems))  # fmt: skip

    dt, decimation = float(dig(env, "sim.dt", env_yaml)), int(dig(env, "decimation", env_yaml))
    frame = sum(t.size for t in terms)
    motor = {k: [gains[k][j] for j in mj_joints] for k in ("effort_limit", "saturation_effort", "velocity_limit")}
    meta = PolicyMetadata(
        version=EXPORT_VERSION, task=str(agent.get("experiment_name") or "isaaclab"), robot=robot,
        joint_names=list(mj_joints), default_joint_pos=[defaults[j] for j in mj_joints], action_scale=scale,
        action_offset=[offset[j] for j in mj_joints], action_clip=clip, kp=[gains["kp"][j] for j in mj_joints],
        kd=[gains["kd"][j] for j in mj_joints], control_period=dt * decimation, sim_dt=dt, obs_dim=frame * history,
        observation_terms=terms, history_length=history, commands=commands, model_file=str(pfile),
        model_file_sha256=hashlib.sha256(pfile.read_bytes()).hexdigest(), scene_xml_sha256="", base_body=base_body,
        extra={"motor": motor, "isaaclab": {"folder": str(folder), "joint_order": "onnx metadata" if meta_joints
                                            else "breadth-first over the robot's kinematic tree"}},
    )  # fmt: skip
    meta.validate(w)
    obs_index = observation_index(terms, history, mj_joints, articulation, action_joints)
    act_index = np.array([action_joints.index(j) for j in mj_joints])
    net = load_network(pfile, meta.obs_dim, meta.num_joints)
    episode = float(env.get("episode_length_s") or 20.0)
    return IsaacLabRun(folder, env_yaml, pfile, meta, list(articulation), action_joints, obs_index, act_index, net,
                       episode)  # fmt: skip


def resolve_robot(robot_cfg: dict[str, Any], where: str) -> str:
    spawn = robot_cfg.get("spawn") or {}
    for key in ("usd_path", "asset_path", "mjcf_path"):
        path = spawn.get(key)
        if isinstance(path, str) and (m := ROBOT_FILES.search(Path(path).stem)):
            return m.group(1).lower()
    raise IsaacLabRunError(f"{where}: scene.robot.spawn names no robot robolearn has (usd_path "
                           f"{spawn.get('usd_path')!r}); supported: Go2, Go1, A1, H1, G1 (menagerie models)")  # fmt: skip


def robot_joints(robot: str) -> tuple[list[str], str, list[str]]:
    """(actuated joints in the menagerie model's actuator order, root body, the same joints breadth-first)."""
    import mujoco

    from robolearn.robots import robot_xml

    model = mujoco.MjModel.from_xml_path(str(robot_xml(robot)))
    actuated = [model.joint(int(model.actuator_trnid[i, 0])).name for i in range(model.nu)]
    children: dict[int, list[int]] = {}
    for b in range(1, model.nbody):
        children.setdefault(int(model.body_parentid[b]), []).append(b)
    order: list[str] = []
    queue = list(children.get(0, []))
    root = queue[0]
    while queue:
        b = queue.pop(0)
        adr, num = int(model.body_jntadr[b]), int(model.body_jntnum[b])
        order += [model.joint(j).name for j in range(adr, adr + num) if model.joint(j).name in actuated]
        queue += children.get(b, [])
    return actuated, model.body(root).name, order


def onnx_joint_names(path: Path) -> list[str] | None:
    """joint_names an exporter attached to the ONNX metadata (a JSON list or comma-separated), if any."""
    if path.suffix != ".onnx":
        return None
    import onnx

    try:
        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    except Exception as exc:  # protobuf's DecodeError and friends share no useful base
        raise IsaacLabRunError(f"{path}: not a readable ONNX file ({type(exc).__name__}: {exc})") from None
    raw = props.get("joint_names")
    if raw is None:
        return None
    names = json.loads(raw) if raw.lstrip().startswith("[") else [n.strip() for n in raw.split(",")]
    return [str(n) for n in names]


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
        effort = a.get("effort_limit_sim") if sim and a.get("effort_limit_sim") is not None else a.get("effort_limit")
        vel = a.get("velocity_limit_sim") if sim and a.get("velocity_limit_sim") is not None else a.get("velocity_limit")
        out["effort_limit"].update(per_joint(effort if effort is not None else 1e9, group, f"{where}.effort_limit"))
        out["velocity_limit"].update(per_joint(vel if vel is not None else 1e9, group, f"{where}.velocity_limit"))
        sat = a.get("saturation_effort") if kind == "DCMotor" else 0.0
        out["saturation_effort"].update(per_joint(sat if sat is not None else 0.0, group, f"{where}.saturation_effort"))
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
    order = match_joints(a.get("joint_names") or [], joints, f"{where}.joint_names", bool(a.get("preserve_order")))
    if len(order) != len(joints):
        problems.append(f"action term {name!r} drives {len(order)} of the robot's {len(joints)} joints (robolearn "
                        "drives them all)")  # fmt: skip
    scales = set(per_joint(a.get("scale", 1.0), order, f"{where}.scale").values())
    if len(scales) != 1:
        problems.append(f"action term {name!r} has per-joint scales {sorted(scales)} (robolearn: one scale)")
    if a.get("use_default_offset"):
        offset = {j: defaults[j] for j in joints}
    else:
        offset = per_joint(a.get("offset", 0.0), joints, f"{where}.offset", default=0.0)
    clip = UNCLIPPED
    if a.get("clip"):
        bounds = {tuple(v) for v in a["clip"].values()} if isinstance(a["clip"], dict) else set()
        if len(bounds) != 1 or next(iter(bounds))[0] != -next(iter(bounds))[1]:
            problems.append(f"action term {name!r} clips to {a['clip']} (robolearn: one symmetric clip)")
        else:
            clip = float(next(iter(bounds))[1])
    if agent.get("clip_actions"):  # the rsl_rl wrapper clamps actions before the env sees them
        clip = min(clip, float(agent["clip_actions"]))
    return order, float(next(iter(scales))), offset, clip


def observation_terms(env: dict[str, Any], n_joints: int, w: str, problems: list[str]
                      ) -> tuple[list[ObsTermSpec], int, list[CommandSpec]]:  # fmt: skip
    group = dig(env, "observations.policy", Path(w))
    if group.get("concatenate_terms") is False or group.get("flatten_history_dim") is False:
        problems.append("observations.policy is not one flat vector (concatenate_terms / flatten_history_dim)")
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
            problems.append(f"{where} reads action term {params['action_name']!r} (robolearn: the whole action)")
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
        h = group.get("history_length") if group.get("history_length") is not None else t.get("history_length", 0)
        histories.add(max(int(h or 0), 1))
        specs.append(ObsTermSpec(name=str(name), size=size or n_joints, scale=float(1.0 if scale is None else scale),
                                 clip=None if clip is None else float(clip[1]), func=f"robolearn.sim2real.observation:{key}",
                                 noise=noise, params={**_plain(params), "isaaclab_func": str(t["func"])}))  # fmt: skip
    if len(histories) > 1:
        problems.append(f"observation terms have different history lengths {sorted(histories)} (robolearn: one)")
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
        problems.append(f"{where} has noise {fn or noise} (robolearn replays additive uniform noise, n_min = -n_max)")
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


def observation_index(terms: Sequence[ObsTermSpec], history: int, mj_joints: Sequence[str],
                      articulation: Sequence[str], action_joints: Sequence[str]) -> np.ndarray:  # fmt: skip
    """For each element of Isaac Lab's observation (term by term, each term's frames oldest first, joints in
    articulation or action order) the position of the same value in robolearn's (frame by frame, each frame
    term by term, joints in MuJoCo order)."""
    frame = sum(t.size for t in terms)
    starts = np.cumsum([0] + [t.size for t in terms])
    index = []
    for t, start in zip(terms, starts, strict=False):
        key = t.func.rsplit(":", 1)[-1]
        order = action_joints if key == "last_action" else articulation
        per = [list(mj_joints).index(j) for j in order] if key in ("joint_pos_rel", "joint_vel", "last_action") else None
        for f in range(history):
            index += [f * frame + start + (per[i] if per else i) for i in range(t.size)]
    return np.asarray(index, dtype=np.int64)


def load_network(path: Path, obs_dim: int, n_actions: int) -> Callable[[np.ndarray], np.ndarray]:
    """The exported network as (1, obs_dim) float32 -> (1, n_actions); shapes checked against env.yaml."""
    if path.suffix == ".pt":
        import torch

        try:
            module = torch.jit.load(str(path), map_location="cpu").eval()
        except Exception as exc:  # TorchScript raises RuntimeError and friends
            raise IsaacLabRunError(f"{path}: not a TorchScript policy ({type(exc).__name__})") from None

        def net(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return module(torch.from_numpy(x)).numpy()

        got = net(np.zeros((1, obs_dim), dtype=np.float32)).shape
        if got != (1, n_actions):
            raise IsaacLabRunError(f"{path}: maps ({obs_dim},) to {got[1:]}, env.yaml says {n_actions} actions")
        return net
    from robolearn.sim2real.deploy import onnx_session

    session = onnx_session(path)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        raise IsaacLabRunError(f"{path}: inputs {[i.name for i in inputs]}: a recurrent policy (h_in, c_in), which "
                               "robolearn's deploy loop does not run")  # fmt: skip
    in_dim, out_dim = inputs[0].shape[-1], outputs[0].shape[-1]
    if in_dim != obs_dim or out_dim != n_actions:
        raise IsaacLabRunError(f"{path}: the network maps {in_dim} -> {out_dim}, but params/env.yaml's policy "
                               f"observations sum to {obs_dim} and its action drives {n_actions} joints")  # fmt: skip
    iname, oname = inputs[0].name, outputs[0].name
    return lambda x: session.run([oname], {iname: x})[0]
