"""Write one of our exported runs (policy.json + policy.onnx) as an Isaac Lab run folder.

    robolearn export runs/Go2-Velocity-Flat/<run> --isaaclab out/go2_isaaclab

gives out/go2_isaaclab/params/env.yaml and params/agent.yaml in the shape isaaclab.utils.io.dump_yaml writes
(field names of ManagerBasedRLEnvCfg, functions as "module:name", !!python/tuple ranges) and
exported/policy.onnx as Isaac Lab's exporter names it (input "obs", output "actions"), with the network's
inputs and outputs put into Isaac Lab's order: joints breadth-first as PhysX's articulation lists them, history
stacked per term. `load_isaaclab_run` reads the folder back; the round-trip test checks the actions match.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from robolearn.sim2real.isaaclab_run import observation_index, robot_joints
from robolearn.sim2real.isaaclab_terms import OBS_TERMS, ROBOLEARN_TERMS
from robolearn.sim2real.isaaclab_yaml import IsaacLabRunError, dump_params_yaml
from robolearn.sim2real.observation import resolve_term
from robolearn.sim2real.schema import PolicyMetadata, load_metadata

NUCLEUS = "http://omniverse-content-production.s3-us-west-2.amazonaws.com/Assets/Isaac/5.1/Isaac/IsaacLab"
USD = {"go2": "Unitree/Go2/go2.usd", "go1": "Unitree/Go1/go1.usd", "a1": "Unitree/A1/a1.usd",
       "h1": "Unitree/H1/h1.usd", "g1": "Unitree/G1/g1.usd"}  # fmt: skip
"""Isaac Lab's assets for the robots both sides have (isaaclab_assets.robots.unitree)."""
OBS_FUNCS = {key: f"isaaclab.envs.mdp.observations:{fn}" for fn, (key, _) in OBS_TERMS.items()}
OBS_FUNCS |= {key: f"robolearn.core.mdp.observations:{key}" for key in ROBOLEARN_TERMS}
"""Our terms under Isaac Lab's function names; those Isaac Lab lacks (the gait clock) under ours, as a custom
mdp function in an Isaac Lab config is written."""


def export_isaaclab_run(run: str | Path, out: str | Path) -> Path:
    """Write `out` (which must not exist or be empty) whole, or nothing: it is built beside and renamed."""
    run, out = Path(run), Path(out)
    json_path = run / "policy.json" if run.is_dir() else run
    meta = load_metadata(json_path)
    onnx_path = json_path.with_name("policy.onnx")
    if not onnx_path.is_file():
        raise FileNotFoundError(f"{onnx_path}: missing (export the run first: robolearn export {run})")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out}: exists and is not an empty folder; pick a new output folder")
    if meta.robot not in USD:
        raise IsaacLabRunError(
            f"{json_path}: robot {meta.robot!r} has no Isaac Lab asset here (have {list(USD)})"
        )
    mj_joints, _, articulation = robot_joints(meta.robot)
    if list(meta.joint_names) != mj_joints:
        raise IsaacLabRunError(f"{json_path}: joint_names are not the {meta.robot} model's actuator order")
    keys = [resolve_term(t) for t in meta.observation_terms]
    unmapped = [
        f"{t.name} ({k})" for t, k in zip(meta.observation_terms, keys, strict=True) if k not in OBS_FUNCS
    ]
    if unmapped:
        raise IsaacLabRunError(f"{json_path}: observation terms {unmapped} have no Isaac Lab mdp function "
                               f"(mapped: {', '.join(OBS_FUNCS)})")  # fmt: skip

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        dump_params_yaml(tmp / "params" / "env.yaml", env_yaml(meta, keys, articulation))
        dump_params_yaml(tmp / "params" / "agent.yaml", agent_yaml(meta))
        obs_index = observation_index(meta.observation_terms, meta.history_length, mj_joints, articulation,
                                      articulation)  # fmt: skip
        act_index = [mj_joints.index(j) for j in articulation]
        reorder_onnx(onnx_path, tmp / "exported" / "policy.onnx", meta, np.argsort(obs_index), act_index)
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out


def env_yaml(meta: PolicyMetadata, keys: list[str], articulation: list[str]) -> dict[str, Any]:
    import mujoco

    from robolearn.robots import robot_xml

    model = mujoco.MjModel.from_xml_path(str(robot_xml(meta.robot)))
    j = {name: i for i, name in enumerate(meta.joint_names)}
    effort = {
        n: float(abs(model.actuator_ctrlrange[model.actuator(i).id]).max())
        for i, n in enumerate(meta.joint_names)
    }
    decimation = round(meta.control_period / meta.sim_dt)
    default_offset = np.allclose(meta.action_offset, meta.default_joint_pos)
    terms: dict[str, Any] = {}
    for t, key in zip(meta.observation_terms, keys, strict=True):
        params = {"command_name": "base_velocity"} if key == "velocity_command" else dict(t.params)
        noise = None if not t.noise else {"func": "isaaclab.utils.noise.noise_model:uniform_noise",
                                          "operation": "add", "n_min": -t.noise, "n_max": t.noise}  # fmt: skip
        terms[t.name] = {"func": OBS_FUNCS[key], "params": params, "modifiers": None, "noise": noise,
                         "clip": None if t.clip is None else (-t.clip, t.clip), "scale": t.scale,
                         "history_length": 0, "flatten_history_dim": True}  # fmt: skip
    ranges = {c.name: tuple(c.range) for c in meta.commands}
    return {
        "viewer": {"eye": (7.5, 7.5, 7.5), "lookat": (0.0, 0.0, 0.0)},
        "sim": {"dt": meta.sim_dt, "render_interval": decimation, "gravity": (0.0, 0.0, -9.81), "device": "cpu"},
        "seed": 42,
        "decimation": decimation,
        "scene": {
            "num_envs": 1, "env_spacing": 2.5, "replicate_physics": True,
            "robot": {
                "class_type": "isaaclab.assets.articulation.articulation:Articulation",
                "prim_path": "/World/envs/env_.*/Robot",
                "spawn": {"func": "isaaclab.sim.spawners.from_files.from_files:spawn_from_usd",
                          "usd_path": f"{NUCLEUS}/Robots/{USD[meta.robot]}", "activate_contact_sensors": True},
                "init_state": {"pos": (0.0, 0.0, 0.4), "rot": (1.0, 0.0, 0.0, 0.0), "lin_vel": (0.0, 0.0, 0.0),
                               "ang_vel": (0.0, 0.0, 0.0),
                               "joint_pos": {n: meta.default_joint_pos[j[n]] for n in articulation},
                               "joint_vel": {".*": 0.0}},
                "soft_joint_pos_limit_factor": 0.9,
                "actuators": {"legs": {
                    "class_type": "isaaclab.actuators.actuator_pd:ImplicitActuator",
                    "joint_names_expr": [".*"], "effort_limit": None, "velocity_limit": None,
                    "effort_limit_sim": {n: effort[n] for n in articulation}, "velocity_limit_sim": None,
                    "stiffness": {n: meta.kp[j[n]] for n in articulation},
                    "damping": {n: meta.kd[j[n]] for n in articulation}, "armature": None, "friction": None}},
            },
        },
        "observations": {"policy": {"concatenate_terms": True, "concatenate_dim": -1, "enable_corruption": True,
                                    "history_length": meta.history_length if meta.history_length > 1 else None,
                                    "flatten_history_dim": True, **terms}},
        "actions": {"joint_pos": {
            "class_type": "isaaclab.envs.mdp.actions.joint_actions:JointPositionAction", "asset_name": "robot",
            "debug_vis": False, "clip": None, "joint_names": [".*"],
            "scale": meta.action_scale,
            "offset": 0.0 if default_offset else {n: meta.action_offset[j[n]] for n in articulation},
            "preserve_order": False, "use_default_offset": bool(default_offset)}},
        "commands": {"base_velocity": {
            "class_type": "isaaclab.envs.mdp.commands.velocity_command:UniformVelocityCommand",
            "resampling_time_range": (10.0, 10.0), "debug_vis": False, "asset_name": "robot", "heading_command": False,
            "heading_control_stiffness": 1.0, "rel_standing_envs": 0.0, "rel_heading_envs": 0.0,
            "ranges": {"lin_vel_x": ranges.get("lin_vel_x"), "lin_vel_y": ranges.get("lin_vel_y"),
                       "ang_vel_z": ranges.get("ang_vel_z"), "heading": None}}},
        "episode_length_s": 20.0,
        "is_finite_horizon": False,
    }  # fmt: skip


def agent_yaml(meta: PolicyMetadata) -> dict[str, Any]:
    """The RslRlOnPolicyRunnerCfg fields a player reads (the training hyperparameters stay in the robolearn run).
    Our action_clip bounds the raw action, as the rsl_rl wrapper's clip_actions does (the action term's own clip
    would bound joint targets instead)."""
    return {"seed": 42, "device": "cpu", "num_steps_per_env": 24, "max_iterations": 0,
            "empirical_normalization": False, "clip_actions": meta.action_clip, "save_interval": 50,
            "experiment_name": meta.task, "run_name": "robolearn", "logger": "tensorboard", "resume": False}  # fmt: skip


def reorder_onnx(
    src: Path, dst: Path, meta: PolicyMetadata, in_index: np.ndarray, out_index: list[int]
) -> None:
    """The network with Gather nodes in front (Isaac Lab's observation layout -> ours) and behind (our joint
    order -> Isaac Lab's); input "obs" and output "actions", as isaaclab_rl's exporter names them."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    g = model.graph
    old_in, old_out = meta.onnx_input, meta.onnx_output
    for node in g.node:
        node.input[:] = ["_robolearn_obs" if n == old_in else n for n in node.input]
        node.output[:] = ["_robolearn_actions" if n == old_out else n for n in node.output]
    g.initializer.extend([numpy_helper.from_array(np.asarray(in_index, dtype=np.int64), "_obs_order"),
                          numpy_helper.from_array(np.asarray(out_index, dtype=np.int64), "_action_order")])  # fmt: skip
    g.node.insert(0, helper.make_node("Gather", ["obs", "_obs_order"], ["_robolearn_obs"], axis=1))
    g.node.append(helper.make_node("Gather", ["_robolearn_actions", "_action_order"], ["actions"], axis=1))
    g.input[0].name, g.output[0].name = "obs", "actions"
    onnx.checker.check_model(model)
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst))


def import_isaaclab_run(folder: str | Path, out: str | Path) -> Path:
    """The other direction: an Isaac Lab run folder as our policy.json + policy.onnx (inputs and outputs put into
    robolearn's layout and the robot's joint order), which the deploy runtime runs on a robot's computer without
    YAML, MuJoCo or torch. Returns the policy.json path; both files are written whole or not at all."""
    import dataclasses
    import hashlib

    from robolearn.sim2real.isaaclab_run import load_isaaclab_run

    run = load_isaaclab_run(folder)
    if run.policy_file.suffix != ".onnx":
        raise IsaacLabRunError(
            f"{run.policy_file}: only an ONNX export converts (play.py writes policy.onnx too)"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    onnx_path, json_path = out / "policy.onnx", out / "policy.json"
    tmp_onnx, tmp_json = out / ".policy.onnx.tmp", out / ".policy.json.tmp"
    try:
        names = _io_names(run.policy_file)
        src = dataclasses.replace(run.meta, onnx_input=names[0], onnx_output=names[1])
        reorder_onnx(run.policy_file, tmp_onnx, src, run.obs_index, list(run.act_index))
        meta = dataclasses.replace(run.meta, model_file=str(run.policy_file), checkpoint=str(run.policy_file),
                                   model_file_sha256=hashlib.sha256(run.policy_file.read_bytes()).hexdigest())  # fmt: skip
        tmp_json.write_text(meta.to_json(), encoding="utf-8")
        os.replace(tmp_onnx, onnx_path)
        os.replace(tmp_json, json_path)
    finally:
        tmp_onnx.unlink(missing_ok=True)
        tmp_json.unlink(missing_ok=True)
    return json_path


def _io_names(path: Path) -> tuple[str, str]:
    import onnx

    graph = onnx.load(str(path)).graph
    return graph.input[0].name, graph.output[0].name
