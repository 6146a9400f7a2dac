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

import functools
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from robolearn.sim2real.isaaclab_terms import action_map, actuator_gains, observation_terms
from robolearn.sim2real.isaaclab_yaml import IsaacLabRunError, dig, load_params_yaml, per_joint
from robolearn.sim2real.schema import EXPORT_VERSION, ObsTermSpec, PolicyMetadata, PolicySpecError

CHECKED_ORDER = ("go2", "h1")
"""Robots whose breadth-first menagerie order equals the order Isaac Lab reports for its asset
(Articulation.joint_names as Isaac Lab and Isaac Sim's rigging tutorial print them; see the tests)."""
ROBOT_FILES = re.compile(r"(?<![a-z0-9])(go2|go1|a1|h1|g1)(?![0-9])", re.IGNORECASE)
"""Menagerie robots an articulation's usd_path/asset_path resolves to, by the robot's file stem."""


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
    return (
        p.is_dir()
        and not (p / "policy.json").is_file()
        and ((p / "params").is_dir() or (p / "exported").is_dir())
    )


def policy_file(folder: Path) -> Path:
    for name in ("policy.onnx", "policy.pt"):
        if (folder / "exported" / name).is_file():
            return folder / "exported" / name
    raise IsaacLabRunError(f"{folder / 'exported' / 'policy.onnx'}: missing (nor exported/policy.pt); Isaac Lab's "
                           "scripts/reinforcement_learning/rsl_rl/play.py writes it next to the checkpoint")  # fmt: skip


def load_isaaclab_run(folder: str | Path) -> IsaacLabRun:
    """Read, map and check the whole run (files, robot, joints, terms, network shape); raises IsaacLabRunError."""
    folder = Path(folder)
    env_yaml = folder / "params" / "env.yaml"
    env = load_params_yaml(env_yaml)
    pfile = policy_file(folder)
    agent_yaml = folder / "params" / "agent.yaml"
    agent = load_params_yaml(agent_yaml) if agent_yaml.is_file() else {}
    try:
        return _map_run(folder, env_yaml, env, agent, pfile)
    except PolicySpecError:
        raise
    except (AttributeError, TypeError, KeyError, IndexError, ValueError, OverflowError) as exc:
        # A field of the wrong type or shape somewhere the mapping did not check by name (a list for a mapping,
        # text for a number): still one error naming the files, not a traceback.
        raise IsaacLabRunError(f"{env_yaml} / {agent_yaml}: a field has an unexpected type or shape "
                               f"({type(exc).__name__}: {exc})") from None  # fmt: skip


def _map_run(
    folder: Path, env_yaml: Path, env: dict[str, Any], agent: dict[str, Any], pfile: Path
) -> IsaacLabRun:
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
    default_vel = per_joint(robot_cfg.get("init_state", {}).get("joint_vel", {}), articulation,
                            f"{w}: scene.robot.init_state.joint_vel", default=0.0)  # fmt: skip
    if any(default_vel.values()):  # joint_vel_rel observes the velocity minus these
        problems.append(f"scene.robot.init_state.joint_vel is not zero ({default_vel})")
    gains = actuator_gains(robot_cfg.get("actuators") or {}, articulation, w, problems)
    action_joints, scale, offset, clip = action_map(env, agent, articulation, defaults, w, problems)
    terms, history, commands = observation_terms(env, len(articulation), w, problems)
    if problems:
        raise IsaacLabRunError(f"{w}: this run uses what robolearn cannot reproduce (nothing was run): "
                               + "; ".join(problems))  # fmt: skip

    dt, decimation = float(dig(env, "sim.dt", env_yaml)), int(dig(env, "decimation", env_yaml))
    frame = sum(t.size for t in terms)
    motor = {
        k: [gains[k][j] for j in mj_joints] for k in ("effort_limit", "saturation_effort", "velocity_limit")
    }
    meta = PolicyMetadata(
        version=EXPORT_VERSION, task=str(agent.get("experiment_name") or "isaaclab"), robot=robot,
        joint_names=list(mj_joints), default_joint_pos=[defaults[j] for j in mj_joints], action_scale=scale,
        action_offset=[offset[j] for j in mj_joints], action_clip=clip, kp=[gains["kp"][j] for j in mj_joints],
        kd=[gains["kd"][j] for j in mj_joints], control_period=dt * decimation, sim_dt=dt, obs_dim=frame * history,
        observation_terms=terms, history_length=history, commands=commands, model_file=str(pfile),
        model_file_sha256=hashlib.sha256(pfile.read_bytes()).hexdigest(), scene_xml_sha256="", base_body=base_body,
        extra={"motor": motor, "isaaclab": {"folder": str(folder), "joint_order": joint_order_note(robot, meta_joints)}},
    )  # fmt: skip
    meta.validate(w)
    net = load_network(pfile, meta.obs_dim, meta.num_joints)  # before the index: its size is checked there
    obs_index = observation_index(terms, history, mj_joints, articulation, action_joints)
    act_index = np.array([action_joints.index(j) for j in mj_joints])
    episode = float(env.get("episode_length_s") or 20.0)
    return IsaacLabRun(folder, env_yaml, pfile, meta, list(articulation), action_joints, obs_index, act_index, net,
                       episode)  # fmt: skip


def joint_order_note(robot: str, from_onnx: list[str] | None) -> str:
    """Where the articulation's joint order came from; deploy prints it when it is not a checked one."""
    if from_onnx is not None:
        return "the ONNX file's joint_names metadata"
    if robot in CHECKED_ORDER:
        return "breadth-first over the model's tree (Isaac Lab's order for this robot)"
    return (f"breadth-first over the menagerie {robot} tree, not checked against Isaac Lab's {robot} asset: if its "
            "sibling order differs, name the order (ONNX metadata joint_names, or the action's joint_names with "
            "preserve_order)")  # fmt: skip


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
    actuated, root, order = _robot_joints(robot)
    return list(actuated), root, list(order)


@functools.lru_cache(maxsize=8)
def _robot_joints(robot: str) -> tuple[tuple[str, ...], str, tuple[str, ...]]:
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
    return tuple(actuated), model.body(root).name, tuple(order)


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
        per = (
            [list(mj_joints).index(j) for j in order]
            if key in ("joint_pos_rel", "joint_vel", "last_action")
            else None
        )
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
            raise IsaacLabRunError(
                f"{path}: maps ({obs_dim},) to {got[1:]}, env.yaml says {n_actions} actions"
            )
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
