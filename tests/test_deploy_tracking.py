"""The deploy runtime runs an exported tracking policy: the reference motion shipped beside policy.json
advances one frame per control period, the runtime's reference terms equal the training env's, and
`robolearn deploy --sim2sim` plays the clip on the full G1 model."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from robolearn.envs.tracking.tasks import MOTIONS_DIR
from robolearn.retarget.clip import MotionClip

FRAMES = 40
"""0.8 s of the shipped CMU walk at 50 Hz: a whole sim2sim episode in about a second."""


def _export(tmp_path_factory: pytest.TempPathFactory, residual: bool) -> tuple[Path, Path]:
    from robolearn.policies.cli import TrainArgs
    from robolearn.policies.evaluate import export_run
    from robolearn.policies.train import train
    from robolearn.registry import get_task

    tmp = tmp_path_factory.mktemp("deploy_tracking")
    clip = MotionClip.load(MOTIONS_DIR / "cmu_131_02_walk_g1.npz")
    short = dataclasses.replace(clip, qpos=clip.qpos[:FRAMES], body_pos=clip.body_pos[:FRAMES])
    short.save(tmp / "clips" / "walk.npz")
    env = get_task("G1-Tracking").env_cfg()
    env.commands["motion"] = dataclasses.replace(env.commands["motion"], motion_file=str(tmp / "clips"))
    env.actions["joint_pos"] = dataclasses.replace(env.actions["joint_pos"], residual=residual)
    result = train(TrainArgs(task="G1-Tracking", env=env, logdir=tmp / "runs", num_envs=4, max_iterations=1))
    export_run(result.run, out=tmp / "export")
    return result.run, tmp / "export"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(train run, export folder) of a one-iteration G1-Tracking policy on a 40-frame clip (the task's default
    action: targets around the default pose)."""
    return _export(tmp_path_factory, residual=False)


@pytest.fixture(scope="module")
def exported_residual(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same with the residual action (targets around the reference's next pose)."""
    return _export(tmp_path_factory, residual=True)


def test_export_ships_the_reference(exported: tuple[Path, Path]) -> None:
    _, folder = exported
    meta = json.loads((folder / "policy.json").read_text())
    motion = meta["extra"]["motion"]
    assert motion["clips"] == ["walk"] and motion["anchor_body"] == "torso_link"
    # pelvis (the IMU body) -> waist yaw, roll, pitch links -> torso: the runtime's anchor chain.
    assert [link["joint"] for link in motion["anchor_chain"]] == ["waist_yaw_joint", "waist_roll_joint",
                                                                  "waist_pitch_joint"]  # fmt: skip
    with np.load(folder / "motion.npz") as d:
        assert d["joint_pos"].shape == (FRAMES, len(meta["joint_names"]))
        assert list(d["joint_names"]) == meta["joint_names"]


@pytest.mark.parametrize("residual", [False, True], ids=["default_action", "residual_action"])
def test_runtime_observation_and_targets_equal_the_training_env(residual: bool, request: pytest.FixtureRequest
                                                                 ) -> None:  # fmt: skip
    """Robot state read off the training env, fed to the deploy controller: every observation term matches,
    the reference terms (command, anchor position and orientation errors through the waist chain) included,
    and so do the joint targets, for both actions (around the default pose; residual: offsets from the
    reference's next pose)."""
    from robolearn.core import ManagerBasedRlEnv
    from robolearn.policies.evaluate import run_env_cfg
    from robolearn.sim2real.deploy import Controller
    from robolearn.sim2real.motion_reference import load_reference
    from robolearn.sim2real.robot import RobotState
    from robolearn.sim2real.safety import SafetyLayer
    from robolearn.sim2real.schema import load_metadata
    from robolearn.sim2real.unitree_g1 import g1_limits

    run, folder = request.getfixturevalue("exported_residual" if residual else "exported")
    cfg = run_env_cfg(run)
    cfg.commands["motion"] = dataclasses.replace(cfg.commands["motion"], start="first", rsi_pos_noise=0.0,
                                                 rsi_yaw_noise=0.0, rsi_joint_noise=0.0, rsi_vel_noise=0.0)  # fmt: skip
    cfg = dataclasses.replace(cfg, num_envs=1, events={})
    cfg.observations["policy"].enable_noise = False
    env = ManagerBasedRlEnv(cfg)
    obs, _ = env.reset(seed=0)
    meta = load_metadata(folder)
    assert meta.extra["motion"]["residual_action"] == residual
    rng = np.random.default_rng(0)
    # policy.onnx emits gain * (the network's action): the per-joint effort scales folded in at export.
    gain = np.asarray(meta.extra["action_gain"], dtype=np.float32)
    assert gain.max() == 1.0 and gain.min() < 0.2  # the wrists' 5 N m motors move least per unit of action
    action = np.zeros(meta.num_joints, dtype=np.float32)
    controller = Controller(meta, lambda o: gain * action, SafetyLayer(meta, g1_limits(meta.joint_names)),
                            load_reference(meta, folder, "policy.json"))  # fmt: skip
    robot, term = env.robot, env.action_manager.terms["joint_pos"]
    for _ in range(6):
        state = RobotState(q=robot.joint_pos[0].double().numpy(), dq=robot.joint_vel[0].double().numpy(),
                           quat=robot.root_quat_w[0].double().numpy(), gyro=robot.root_ang_vel_b[0].double().numpy(),
                           lin_vel=robot.root_lin_vel_b[0].double().numpy(), pos=robot.root_pos_w[0].double().numpy())  # fmt: skip
        action = rng.uniform(-0.3, 0.3, meta.num_joints).astype(np.float32)
        controller.step(state, np.zeros(0, dtype=np.float32))
        np.testing.assert_allclose(controller.builder.history[-1], obs["policy"][0].numpy(), atol=1e-5)
        obs, *_ = env.step(torch.as_tensor(action)[None])
        deployed_target = controller.safety.offset + meta.action_scale * gain * action
        np.testing.assert_allclose(deployed_target, term.target[0].double().numpy(), atol=1e-5)


def test_the_exported_network_emits_the_per_joint_scaled_action(exported: tuple[Path, Path]) -> None:
    """policy.onnx = the trained actor's deterministic action times extra.action_gain, so the deploy side's
    one action_scale gives every joint its own BeyondMimic scale (0.25 x torque limit / kp)."""
    import onnxruntime as ort

    from robolearn.policies.evaluate import load_run_policy
    from robolearn.sim2real.schema import load_metadata

    run, folder = exported
    meta = load_metadata(folder)
    pol = load_run_policy(run)
    obs, _ = pol.env.reset(seed=0)
    want = pol.act(obs)[0].numpy() * np.asarray(meta.extra["action_gain"])
    session = ort.InferenceSession(str(folder / "policy.onnx"))
    got = session.run(None, {session.get_inputs()[0].name: obs["policy"][:1].numpy()})[0][0]
    np.testing.assert_allclose(got, want, atol=1e-5)
    term = pol.env.action_manager.terms["joint_pos"]
    np.testing.assert_allclose(meta.action_scale * np.asarray(meta.extra["action_gain"]),
                               term.joint_scale.numpy(), rtol=1e-6)  # fmt: skip


def test_reference_advances_one_frame_per_control_period(exported: tuple[Path, Path]) -> None:
    from robolearn.sim2real.deploy import DeployLoop, make_controller
    from robolearn.sim2real.robot import VirtualClock
    from robolearn.sim2real.sim2sim import Sim2SimCfg, make_sim_robot
    from robolearn.sim2real.tracking_sim2sim import start_state

    _, folder = exported
    from robolearn.sim2real.schema import load_metadata

    meta = load_metadata(folder)
    clock = VirtualClock()
    robot, sim = make_sim_robot(meta, Sim2SimCfg(), clock, seed=0)
    controller = make_controller(folder, robot)
    ref = controller.reference
    assert ref is not None and ref.num_frames == FRAMES
    sim.reset(*start_state(sim, ref))
    commands: list[np.ndarray] = []
    j = meta.num_joints

    def record(loop: DeployLoop) -> bool:
        commands.append(loop.controller.builder.history[-1][:j].copy())
        return True

    DeployLoop(robot, controller, clock, lambda t: np.zeros(0, dtype=np.float32)).run(ref.duration_s, record)
    assert len(commands) == FRAMES - 1
    for k, cmd in enumerate(commands):  # at tick k the command is the reference's frame k + 1
        np.testing.assert_allclose(cmd, ref.joint_pos[k + 1].astype(np.float32), atol=1e-6)


def test_deploy_sim2sim_plays_the_clip_on_the_full_model(exported: tuple[Path, Path], tmp_path: Path) -> None:
    from robolearn.cli import main

    _, folder = exported
    out = tmp_path / "report.json"
    code = main(["deploy", str(folder), "--sim2sim", "--no-realtime", "--episodes", "2", "--min-survival", "0",
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    s = json.loads(out.read_text())["sim2sim"]
    assert s["episodes"] == 2 and set(s["per_clip"]) == {"walk"}
    assert all(np.isfinite(s[k]) for k in ("mpjpe_mm", "root_mpjpe_mm", "anchor_pos_m"))
    for ep in s["episodes_detail"]:  # a run that did not fail lasted the whole clip
        assert ep["failure"] or ep["time_s"] == pytest.approx((FRAMES - 1) * 0.02)


def test_missing_motion_file_is_refused_naming_it(exported: tuple[Path, Path], tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from robolearn.cli import main

    _, folder = exported
    copy = tmp_path / "export"
    shutil.copytree(folder, copy)
    (copy / "motion.npz").unlink()
    assert main(["deploy", str(copy), "--sim2sim", "--no-realtime"]) == 2
    err = capsys.readouterr().err
    assert "motion.npz" in err and "extra.motion.file" in err


def test_g1_wire_mapping_is_lossless_in_sim2sim(exported: tuple[Path, Path]) -> None:
    """The same episode through the G1's LowCmd/LowState mapping (35 motor slots) equals the plain simulated
    robot's: no joint is dropped or swapped on the way. (Not to the last digit: the adapter's safety limits are
    Unitree's table, rounded to 1e-4 rad, where the simulated robot reports the model's own; measured 5e-7 mm.)"""
    from robolearn.sim2real.sim2sim import Sim2SimCfg
    from robolearn.sim2real.tracking_sim2sim import run_tracking_sim2sim

    _, folder = exported
    plain = run_tracking_sim2sim(folder, Sim2SimCfg(episodes=1))
    wire = run_tracking_sim2sim(folder, Sim2SimCfg(episodes=1, robot="unitree-g1"))
    for key in ("mpjpe_mm", "root_mpjpe_mm", "mean_time_s"):
        assert wire[key] == pytest.approx(plain[key], rel=1e-6), key


def test_preflight_refuses_a_robot_without_position_estimate(exported: tuple[Path, Path]) -> None:
    """The tracking policy observes the anchor's position error: a robot whose state has no position estimate
    (a real G1 without a state estimator) is refused before any motor moves, naming what is missing."""
    from robolearn.sim2real.deploy import make_controller
    from robolearn.sim2real.robot import VirtualClock
    from robolearn.sim2real.schema import PolicySpecError, load_metadata
    from robolearn.sim2real.sim2sim import Sim2SimCfg, make_sim_robot

    _, folder = exported
    meta = load_metadata(folder)
    robot, _ = make_sim_robot(meta, Sim2SimCfg(robot="unitree-g1"), VirtualClock(), seed=0)
    controller = make_controller(folder, robot)
    state = robot.read()
    controller.preflight(state, np.zeros(0, dtype=np.float32))  # the simulated robot carries one
    state.pos = None
    with pytest.raises(PolicySpecError, match="no position estimate"):
        controller.preflight(state, np.zeros(0, dtype=np.float32))


def test_real_g1_path_runs_the_clip_through_the_g1_wire(exported: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """`robolearn deploy --robot unitree-g1` end to end, the DDS transport replaced by the simulated G1 behind
    the same 35-slot LowCmd/LowState messages, in real time: preflight, stand up to the reference's first
    pose, then the clip with the reference advancing, through the one safety layer."""
    import robolearn.sim2real.unitree_g1 as unitree_g1
    from robolearn.sim2real.cli import DeployArgs, main
    from robolearn.sim2real.robot import WallClock
    from robolearn.sim2real.sim_robot import SimRobotCfg, SimulatedRobot
    from robolearn.sim2real.unitree import SimTransport

    clock = WallClock()
    made: list[SimTransport] = []

    class FakeG1Dds(SimTransport):
        def __init__(self, interface: str):
            assert interface == "sim0"
            sim = SimulatedRobot(SimRobotCfg(robot="g1", base_body="pelvis", latency_s=0.005), clock)
            super().__init__(sim, unitree_g1.G1_MOTOR_JOINTS, unitree_g1.g1_low_state)
            made.append(self)

        def gamepad(self) -> None:
            return None  # no remote paired: no operator e-stop, zero commands

    monkeypatch.setattr(unitree_g1, "G1Sdk2Transport", FakeG1Dds)
    _, folder = exported
    code = main(DeployArgs(policy=folder, robot="unitree-g1", interface="sim0", stand_s=0.2))
    out = capsys.readouterr()
    summary = json.loads(out.out[out.out.index("{") :])
    stand_ticks = 10  # 0.2 s at 50 Hz
    assert made and made[0].sent >= stand_ticks + summary["ticks"]
    if code == 0:  # the whole clip ran (a one-iteration policy may also tip over: the safety e-stop, code 1)
        assert summary["ticks"] == FRAMES - 1
    else:
        assert code == 1 and "e-stop" in out.err
