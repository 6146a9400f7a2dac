"""Isaac Lab run folders (params/env.yaml, params/agent.yaml, exported/policy.onnx) in deploy --sim2sim and eval.

A Go2 policy trained here for two PPO iterations is written as an Isaac Lab run (`robolearn export --isaaclab`) and
read back: the actions must match ours exactly, also after the action term's joints are shuffled (the network's
outputs follow whatever order the run declares) and through whole sim2sim episodes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from fuzzing import EXAMPLES, FUZZ, JSON_VALUES
from hypothesis import given, settings, strategies as st

from robolearn.policies.cli import EvalArgs, ExportArgs, eval_main, export_main
from robolearn.sim2real.cli import DeployArgs, main
from robolearn.sim2real.deploy import OnnxPolicy
from robolearn.sim2real.isaaclab_export import reorder_onnx
from robolearn.sim2real.isaaclab_run import load_isaaclab_run, observation_index, robot_joints
from robolearn.sim2real.isaaclab_yaml import IsaacLabRunError, load_params_yaml
from robolearn.sim2real.schema import ObsTermSpec, load_metadata
from robolearn.sim2real.sim2sim import Sim2SimCfg, run_sim2sim
from robolearn.sim2real.sim_robot import MotorModel

ISAACLAB_GO2_ORDER = [
    f"{leg}_{part}_joint" for part in ("hip", "thigh", "calf") for leg in ("FL", "FR", "RL", "RR")
]
"""Go2's joint order in Isaac Lab (Articulation.joint_names, as Isaac Lab prints it): PhysX lists joints breadth-first."""


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    from robolearn.policies.cli import TrainArgs
    from robolearn.policies.train import train

    result = train(TrainArgs(task="Go2-Velocity-Flat", num_envs=16, max_iterations=2,
                             logdir=tmp_path_factory.mktemp("runs")))  # fmt: skip
    return result.run


@pytest.fixture(scope="module")
def isaac(run, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("isaaclab") / "go2_flat"
    assert export_main(ExportArgs(run=run, isaaclab=out)) == 0
    return out


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _edit_env(folder: Path, edit) -> None:
    path = folder / "params" / "env.yaml"
    env = load_params_yaml(path)
    edit(env)
    from robolearn.sim2real.isaaclab_yaml import dump_params_yaml

    dump_params_yaml(path, env)


def test_written_folder_has_isaac_labs_format(run, isaac):
    text = (isaac / "params" / "env.yaml").read_text()
    assert "!!python/tuple" in text  # Isaac Lab's dump_yaml keeps tuples as python tuples
    env = load_params_yaml(isaac / "params" / "env.yaml")
    assert (
        env["actions"]["joint_pos"]["class_type"]
        == "isaaclab.envs.mdp.actions.joint_actions:JointPositionAction"
    )
    assert (
        env["observations"]["policy"]["joint_vel"]["func"] == "isaaclab.envs.mdp.observations:joint_vel_rel"
    )
    assert env["commands"]["base_velocity"]["ranges"]["lin_vel_x"] == load_metadata(run).commands[0].range
    assert (isaac / "params" / "agent.yaml").is_file()
    import onnxruntime as ort

    session = ort.InferenceSession(
        str(isaac / "exported" / "policy.onnx"), providers=["CPUExecutionProvider"]
    )
    assert [i.name for i in session.get_inputs()] == ["obs"] and [o.name for o in session.get_outputs()] == [
        "actions"
    ]


def test_go2_articulation_order_is_isaac_labs_breadth_first_order():
    actuated, base, articulation = robot_joints("go2")
    assert articulation == ISAACLAB_GO2_ORDER
    assert actuated[:3] == [
        "FL_hip_joint",
        "FL_thigh_joint",
        "FL_calf_joint",
    ]  # MuJoCo: depth-first, leg by leg
    assert base == "base"


def test_h1_articulation_order_is_isaac_labs():
    # H1's Articulation.joint_names in Isaac Lab (Isaac Sim's legged-robot rigging tutorial prints the same list).
    expected = ["left_hip_yaw", "right_hip_yaw", "torso", "left_hip_roll", "right_hip_roll", "left_shoulder_pitch",
                "right_shoulder_pitch", "left_hip_pitch", "right_hip_pitch", "left_shoulder_roll", "right_shoulder_roll",
                "left_knee", "right_knee", "left_shoulder_yaw", "right_shoulder_yaw", "left_ankle", "right_ankle",
                "left_elbow", "right_elbow"]  # fmt: skip
    actuated, base, articulation = robot_joints("h1")
    assert (
        articulation == expected
        and actuated[0] == "left_hip_yaw"
        and actuated != expected
        and base == "pelvis"
    )


def test_round_trip_gives_identical_actions(run, isaac):
    meta = load_metadata(run)
    ours = OnnxPolicy(run / "policy.onnx", meta)
    back = load_isaaclab_run(isaac)
    assert back.meta.joint_names == meta.joint_names
    for field in ("default_joint_pos", "action_offset", "action_scale", "action_clip", "kp", "kd", "control_period",
                  "sim_dt", "obs_dim", "history_length", "commands"):  # fmt: skip
        assert getattr(back.meta, field) == getattr(meta, field), field
    assert [(t.size, t.scale, t.clip, t.noise) for t in back.meta.observation_terms] == [
        (t.size, t.scale, t.clip, t.noise) for t in meta.observation_terms
    ]
    policy = back.policy()
    obs = np.random.default_rng(0).normal(size=(20, meta.obs_dim)).astype(np.float32)
    np.testing.assert_array_equal(np.stack([policy(o) for o in obs]), np.stack([ours(o) for o in obs]))
    # The network in the folder really takes Isaac Lab's order: fed our layout directly, it answers differently.
    assert not np.allclose(back.net(obs[:1])[0], ours(obs[0]))


def test_round_trip_runs_the_same_sim2sim_episode(run, isaac):
    cfg = Sim2SimCfg(episodes=1, duration_s=1.0, latency_ms=20.0, noise=1.0, command=(0.4, 0.0, 0.2))
    a, b = run_sim2sim(run, cfg), run_sim2sim(isaac, cfg)
    assert a["ticks"] == b["ticks"] == 50
    assert (a["error_vel_xy"], a["error_vel_yaw"]) == (b["error_vel_xy"], b["error_vel_yaw"])


def test_permuted_action_joints_map_by_name(run, isaac, tmp_path):
    """A run whose action term lists the joints in another order (preserve_order): the network's outputs and the
    last_action observation follow that order, joint_pos/joint_vel stay in the articulation's; read by name."""
    meta = load_metadata(run)
    shuffled = [str(j) for j in np.random.default_rng(3).permutation(ISAACLAB_GO2_ORDER)]
    folder = _copy(isaac, tmp_path / "permuted")
    _edit_env(
        folder, lambda env: env["actions"]["joint_pos"].update(joint_names=shuffled, preserve_order=True)
    )
    obs_index = observation_index(meta.observation_terms, 1, meta.joint_names, ISAACLAB_GO2_ORDER, shuffled)
    reorder_onnx(run / "policy.onnx", folder / "exported" / "policy.onnx", meta, np.argsort(obs_index),
                 [meta.joint_names.index(j) for j in shuffled])  # fmt: skip
    back = load_isaaclab_run(folder)
    assert back.action_joints == shuffled and back.articulation_joints == ISAACLAB_GO2_ORDER
    ours, policy = OnnxPolicy(run / "policy.onnx", meta), back.policy()
    obs = np.random.default_rng(1).normal(size=(10, meta.obs_dim)).astype(np.float32)
    np.testing.assert_array_equal(np.stack([policy(o) for o in obs]), np.stack([ours(o) for o in obs]))
    # The same network read with the unshuffled env.yaml drives the wrong joints: the test can fail.
    shutil.copy(isaac / "params" / "env.yaml", folder / "params" / "env.yaml")
    wrong = load_isaaclab_run(folder).policy()
    assert not np.allclose(wrong(obs[0]), ours(obs[0]))


def test_history_is_stacked_per_term_in_isaac_lab_and_per_frame_here():
    terms = [
        ObsTermSpec("a", 2, 1.0, func="x:base_ang_vel"),
        ObsTermSpec("q", 2, 1.0, func="x:joint_pos_rel"),
    ]
    # robolearn: [f0: a0 a1 q(J0) q(J1), f1: ...]; Isaac Lab: [a f0, a f1, q f0 (J1 J0), q f1 (J1 J0)].
    index = observation_index(terms, 2, ["J0", "J1"], ["J1", "J0"], ["J1", "J0"])
    assert index.tolist() == [0, 1, 4, 5, 3, 2, 7, 6]


def test_dc_motor_torque_speed_curve():
    motor = MotorModel(effort_limit=[23.5, 10.0], saturation_effort=[23.5, 0.0], velocity_limit=[30.0, 30.0])
    tau = np.array([100.0, 100.0])
    assert motor.clip(tau, np.zeros(2)).tolist() == [23.5, 10.0]
    assert motor.clip(tau, np.array([15.0, 15.0])).tolist() == [
        11.75,
        10.0,
    ]  # half speed: half the torque left
    assert motor.clip(-tau, np.array([15.0, 15.0])).tolist() == [-23.5, -10.0]


def _deploy(folder: Path, tmp_path: Path, capsys) -> tuple[int, str]:
    report = tmp_path / "report.json"
    rc = main(
        DeployArgs(policy=folder, sim2sim=True, duration=0.5, realtime=False, out=report, min_survival=0.0)
    )
    err = capsys.readouterr().err
    assert rc == 2 and not report.exists(), err  # refused before anything ran
    assert err.startswith("error: ") and "Traceback" not in err
    return rc, err


def test_missing_env_yaml_is_named(isaac, tmp_path, capsys):
    folder = _copy(isaac, tmp_path / "run")
    (folder / "params" / "env.yaml").unlink()
    _, err = _deploy(folder, tmp_path, capsys)
    assert "params/env.yaml: missing" in err


def test_missing_exported_policy_is_named(isaac, tmp_path, capsys):
    folder = _copy(isaac, tmp_path / "run")
    (folder / "exported" / "policy.onnx").unlink()
    _, err = _deploy(folder, tmp_path, capsys)
    assert "exported/policy.onnx: missing" in err


def test_joint_name_without_match_is_named(isaac, tmp_path, capsys):
    folder = _copy(isaac, tmp_path / "run")
    _edit_env(
        folder, lambda env: env["scene"]["robot"]["init_state"]["joint_pos"].update({"FL_hip_jnt": 0.1})
    )
    _, err = _deploy(folder, tmp_path, capsys)
    assert (
        "env.yaml" in err
        and "scene.robot.init_state.joint_pos" in err
        and "'FL_hip_jnt' matches no joint" in err
    )


def test_unknown_observation_term_and_actuator_model_are_listed_together(isaac, tmp_path, capsys):
    folder = _copy(isaac, tmp_path / "run")

    def edit(env: dict) -> None:
        env["observations"]["policy"]["height_scan"] = {"func": "isaaclab.envs.mdp.observations:height_scan",
                                                        "params": {}, "scale": 1.0}  # fmt: skip
        env["scene"]["robot"]["actuators"]["legs"]["class_type"] = (
            "isaaclab.actuators.actuator_net:ActuatorNetMLP"
        )
        env["actions"]["joint_pos"]["clip"] = {".*": (-1.0, 1.0)}

    _edit_env(folder, edit)
    _, err = _deploy(folder, tmp_path, capsys)
    assert "env.yaml" in err and "nothing was run" in err
    assert "observation term 'height_scan' (isaaclab.envs.mdp.observations:height_scan)" in err
    assert "actuator 'legs' is a ActuatorNetMLP" in err
    assert "action term 'joint_pos' clips joint targets" in err


def test_python_tags_other_than_tuple_and_slice_are_refused(tmp_path):
    path = tmp_path / "env.yaml"
    path.write_text("a: !!python/object/apply:builtins.slice [null, null, null]\n"
                    "b: !!python/object/apply:os.system ['echo hi']\n")  # fmt: skip
    with pytest.raises(IsaacLabRunError, match=r"env\.yaml.*python/object/apply:os\.system"):
        load_params_yaml(path)
    path.write_text(
        "ids: !!python/object/apply:builtins.slice [null, null, null]\nr: !!python/tuple [1, 2]\n"
    )
    assert load_params_yaml(path) == {"ids": slice(None), "r": (1, 2)}


def test_eval_and_deploy_run_an_isaaclab_folder(isaac, tmp_path, capsys):
    folder = _copy(isaac, tmp_path / "run")
    _edit_env(folder, lambda env: env.update(episode_length_s=1.0))
    assert eval_main(EvalArgs(run=folder, episodes=2)) == 0
    result = json.loads((folder / "eval.json").read_text())
    assert result["format"] == "isaaclab" and result["episodes"] == 2 and result["robot"] == "go2"
    assert 0.0 <= result["survival"] <= 1.0 and np.isfinite(result["error_vel_xy"])
    report = tmp_path / "report.json"
    rc = main(DeployArgs(policy=folder, sim2sim=True, duration=1.0, realtime=False, out=report, min_survival=0.0,
                         noise=1.0, latency_ms=20.0))  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    data = json.loads(report.read_text())
    assert data["sim2sim"]["ticks"] == 50 and "train_env" not in data  # no robolearn training env to compare
    assert yaml.safe_load(json.dumps(data))  # plain JSON


FIXTURE = Path(__file__).parent / "fixtures" / "isaaclab_go2_flat"
"""params/ of an Isaac Lab Go2 flat-terrain run in the form Isaac Lab's dump_yaml writes (UNITREE_GO2_CFG: DC motors,
regex default joint positions; slices, anchors, null terms); the network is made per test, as play.py exports it."""


def _isaaclab_actor(folder: Path, obs_dim: int = 48, n: int = 12) -> Path:
    """exported/policy.onnx and policy.pt shaped like isaaclab_rl's exporter output: an ELU MLP, input "obs",
    output "actions", opset 11, a static batch of 1."""
    import torch

    torch.manual_seed(0)
    actor = torch.nn.Sequential(torch.nn.Linear(obs_dim, 128), torch.nn.ELU(), torch.nn.Linear(128, 128),
                                torch.nn.ELU(), torch.nn.Linear(128, n))  # fmt: skip
    (folder / "exported").mkdir(parents=True)
    torch.onnx.export(actor, torch.zeros(1, obs_dim), str(folder / "exported" / "policy.onnx"), opset_version=11,
                      input_names=["obs"], output_names=["actions"], dynamic_axes={}, dynamo=False)  # fmt: skip
    torch.jit.script(actor).save(str(folder / "exported" / "policy.pt"))
    return folder


def test_an_isaac_lab_go2_run_maps_onto_the_menagerie_go2(tmp_path):
    folder = _isaaclab_actor(_copy(FIXTURE, tmp_path / "go2_flat"))
    run = load_isaaclab_run(folder)
    m = run.meta
    assert (m.robot, m.task, m.obs_dim, m.history_length) == ("go2", "unitree_go2_flat", 48, 1)
    assert m.control_period == pytest.approx(0.02) and m.sim_dt == 0.005
    q0 = dict(zip(m.joint_names, m.default_joint_pos, strict=True))
    assert (q0["FL_hip_joint"], q0["FR_hip_joint"], q0["RL_thigh_joint"], q0["FR_thigh_joint"], q0["RR_calf_joint"]) == (
        0.1, -0.1, 1.0, 0.8, -1.5)  # fmt: skip
    assert m.action_offset == m.default_joint_pos and m.action_scale == 0.25
    assert set(m.kp) == {25.0} and set(m.kd) == {0.5}
    assert (
        m.extra["motor"]["saturation_effort"] == [23.5] * 12
        and m.extra["motor"]["velocity_limit"] == [30.0] * 12
    )
    assert [c.range for c in m.commands] == [(-1.0, 1.0)] * 3
    assert [(t.name, t.noise) for t in m.observation_terms][:3] == [("base_lin_vel", 0.1), ("base_ang_vel", 0.2),
                                                                   ("projected_gravity", 0.05)]  # fmt: skip
    # Our observation, laid out as Isaac Lab's: joint_pos (elements 12-23) in the articulation's breadth-first order.
    isaac_obs = np.arange(48)[run.obs_index]
    assert isaac_obs[12:24].tolist() == [12 + m.joint_names.index(j) for j in ISAACLAB_GO2_ORDER]
    assert isaac_obs[:12].tolist() == list(range(12))
    # The network's output k is ISAACLAB_GO2_ORDER[k]'s target.
    out = np.arange(12, dtype=np.float32)[None]
    assert (out[0][run.act_index]).tolist() == [float(ISAACLAB_GO2_ORDER.index(j)) for j in m.joint_names]


def test_policy_pt_acts_as_the_onnx_export(tmp_path):
    folder = _isaaclab_actor(_copy(FIXTURE, tmp_path / "go2_flat"))
    onnx_policy = load_isaaclab_run(folder).policy()
    (folder / "exported" / "policy.onnx").unlink()
    back = load_isaaclab_run(folder)
    assert back.policy_file.name == "policy.pt"
    obs = np.random.default_rng(2).normal(size=(5, 48)).astype(np.float32)
    np.testing.assert_allclose(np.stack([back.policy()(o) for o in obs]), np.stack([onnx_policy(o) for o in obs]),
                               atol=1e-5)  # fmt: skip


def test_deploy_sim2sim_runs_an_isaac_lab_run_with_dc_motors(tmp_path, capsys):
    folder = _isaaclab_actor(_copy(FIXTURE, tmp_path / "go2_flat"))
    report = tmp_path / "report.json"
    rc = main(DeployArgs(policy=folder, sim2sim=True, duration=1.0, realtime=False, latency_ms=20.0, noise=1.0,
                         out=report, min_survival=0.0))  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    s = json.loads(report.read_text())["sim2sim"]
    assert s["ticks"] == 50 and np.isfinite(s["error_vel_xy"])


def test_a_network_of_the_wrong_size_is_refused_naming_both_sizes(tmp_path, capsys):
    folder = _isaaclab_actor(_copy(FIXTURE, tmp_path / "go2_flat"), obs_dim=45)
    _, err = _deploy(folder, tmp_path, capsys)
    assert "policy.onnx: the network maps 45 -> 12" in err and "sum to 48" in err


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@pytest.fixture(scope="module")
def go2_network(tmp_path_factory) -> Path:
    return _isaaclab_actor(tmp_path_factory.mktemp("net")) / "exported"


@settings(FUZZ, max_examples=max(EXAMPLES // 2, 1))  # each case maps a whole run: ~0.15 s
@given(data=st.data())
def test_any_damage_to_env_yaml_loads_or_raises_the_projects_error(go2_network, data):
    """Whatever env.yaml holds (a field of another type, removed, NaN, huge), the reader maps it or raises
    IsaacLabRunError naming params/env.yaml: never another exception."""
    env = load_params_yaml(FIXTURE / "params" / "env.yaml")
    paths = sorted(_paths({k: env[k] for k in ("sim", "decimation", "scene", "observations", "actions", "commands")}),
                   key=str)  # fmt: skip
    for path in data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3)):
        parent: Any = env
        for key in path[:-1]:  # an earlier edit may have replaced or removed part of the path
            ok = (isinstance(parent, dict) and key in parent) or (isinstance(parent, list) and isinstance(key, int)
                                                                  and key < len(parent))  # fmt: skip
            parent = parent[key] if ok else None
        if isinstance(parent, dict) and path[-1] in parent:
            if data.draw(st.integers(0, 4)) == 0:
                del parent[path[-1]]
            else:
                parent[path[-1]] = data.draw(JSON_VALUES)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copytree(go2_network, folder / "exported")
        from robolearn.sim2real.isaaclab_yaml import dump_params_yaml

        dump_params_yaml(folder / "params" / "env.yaml", env)
        try:
            load_isaaclab_run(folder)
        except IsaacLabRunError as exc:
            assert "env.yaml" in str(exc) or "policy.onnx" in str(exc), exc


def test_an_isaac_lab_run_exports_to_policy_json_for_the_robot(tmp_path, capsys):
    """`robolearn export <isaac lab run>`: policy.json + policy.onnx in our layout, which the deploy runtime loads
    (no YAML, MuJoCo or torch on the robot) and which acts and runs exactly as the folder does."""
    folder = _isaaclab_actor(_copy(FIXTURE, tmp_path / "go2_flat"))
    assert export_main(ExportArgs(run=folder, out=tmp_path / "converted")) == 0
    meta = load_metadata(tmp_path / "converted")
    run = load_isaaclab_run(folder)
    assert meta.joint_names == run.meta.joint_names and meta.obs_dim == 48
    obs = np.random.default_rng(4).normal(size=(10, 48)).astype(np.float32)
    converted, folder_policy = OnnxPolicy(tmp_path / "converted" / "policy.onnx", meta), run.policy()
    np.testing.assert_array_equal(
        np.stack([converted(o) for o in obs]), np.stack([folder_policy(o) for o in obs])
    )
    cfg = Sim2SimCfg(episodes=1, duration_s=0.5, latency_ms=20.0, command=(0.5, 0.0, 0.0))
    a, b = run_sim2sim(tmp_path / "converted", cfg), run_sim2sim(folder, cfg)
    assert (a["ticks"], a["error_vel_xy"]) == (b["ticks"], b["error_vel_xy"])
    # The real-robot path points there instead of failing on a missing policy.json.
    assert main(DeployArgs(policy=folder, robot="unitree-go2", interface="lo")) == 2
    assert f"robolearn export {folder}" in capsys.readouterr().err
