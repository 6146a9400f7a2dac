"""The deploy loop on a policy trained in the test (a few PPO iterations) and exported by training.

The policy does not walk after two iterations; these tests are about the loop, the ONNX contract,
the Unitree mapping end to end and the CLI, not about locomotion.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from robolearn.sim2real.cli import DeployArgs, main
from robolearn.sim2real.deploy import DeployLoop, OnnxPolicy, constant_command, make_controller
from robolearn.sim2real.robot import VirtualClock
from robolearn.sim2real.schema import OnnxModelError, PolicySpecError, load_metadata
from robolearn.sim2real.sim2sim import Sim2SimCfg, run_sim2sim
from robolearn.sim2real.sim_robot import SimRobotCfg, SimulatedRobot
from robolearn.sim2real.unitree import SimTransport, UnitreeRobot

TASK = "Go2-Velocity-Flat"


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    from robolearn.policies.cli import TrainArgs
    from robolearn.policies.train import train

    logdir = tmp_path_factory.mktemp("runs")
    result = train(TrainArgs(task=TASK, num_envs=16, max_iterations=2, logdir=logdir))
    assert (result.run / "policy.onnx").is_file() and (result.run / "policy.json").is_file()
    return result.run


def test_onnx_matches_the_exported_torchscript(run):
    import torch

    meta = load_metadata(run)
    onnx = OnnxPolicy(run / "policy.onnx", meta)
    ts = torch.jit.load(str(run / "policy.pt"))
    obs = np.random.default_rng(0).normal(size=(5, meta.obs_dim)).astype(np.float32)
    expected = ts(torch.from_numpy(obs)).detach().numpy()
    got = np.stack([onnx(o) for o in obs])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_deploy_loop_runs_two_seconds_of_sim2sim(run):
    clock = VirtualClock()
    robot = SimulatedRobot(SimRobotCfg(latency_s=0.02), clock)
    controller = make_controller(run / "policy.json", robot)
    loop = DeployLoop(robot, controller, clock, constant_command([0.5, 0.0, 0.0]))
    actions: list[np.ndarray] = []
    stats = loop.run(2.0, lambda lp: actions.append(lp.controller.last_action.copy()) is None)
    assert stats.ticks == 100 and stats.overruns == 0
    assert clock.now() == pytest.approx(2.0)
    assert robot.time == pytest.approx(1.98, abs=1e-9)  # physics stepped to the last tick's read
    robot.read()
    assert robot.time == pytest.approx(2.0, abs=1e-9)
    assert len(stats.work_s) == 100 and all(w > 0 for w in stats.work_s)
    assert np.isfinite(np.array(actions)).all() and np.abs(np.array(actions)).sum() > 0
    assert np.isfinite(robot.data.qpos).all()
    t = controller.times
    assert t.obs_ns > 0 and t.infer_ns > 0 and t.safety_ns > 0


def test_unitree_adapter_runs_the_same_episode_through_lowcmd_lowstate(run):
    cfg = Sim2SimCfg(episodes=1, duration_s=2.0, latency_ms=20.0, noise=1.0, command=(0.5, 0.0, 0.2))
    direct = run_sim2sim(run, cfg)
    cfg.robot = "unitree-go2"
    via_unitree = run_sim2sim(run, cfg)
    # Same physics, noise seed and policy: any mapping error (a swapped motor) would change the rollout.
    assert via_unitree["ticks"] == direct["ticks"] == 100
    assert via_unitree["error_vel_xy"] == direct["error_vel_xy"]
    assert via_unitree["error_vel_yaw"] == direct["error_vel_yaw"]
    # ... and the adapter really went through motor slots.
    clock = VirtualClock()
    sim = SimulatedRobot(SimRobotCfg(), clock)
    transport = SimTransport(sim)
    robot = UnitreeRobot(transport, load_metadata(run).joint_names)
    DeployLoop(robot, make_controller(run, robot), clock).run(0.2)
    assert transport.sent == 10


def test_mismatched_network_is_rejected(run, tmp_path):
    shutil.copy(run / "policy.onnx", tmp_path / "policy.onnx")
    data = json.loads((run / "policy.json").read_text())
    data["history_length"] = 2
    data["obs_dim"] *= 2
    (tmp_path / "policy.json").write_text(json.dumps(data))
    robot = SimulatedRobot(SimRobotCfg())
    with pytest.raises(PolicySpecError, match=r"the network maps 50 -> 12 but policy.json says obs_dim 100"):
        make_controller(tmp_path / "policy.json", robot)


def test_cli_sim2sim_report(run, tmp_path, capsys):
    out = tmp_path / "report.json"
    args = DeployArgs(policy=run, sim2sim=True, duration=1.0, realtime=False, out=out, command=(0.3, 0.0, 0.0),
                      ladder=True)  # fmt: skip
    assert main(args) == 0
    report = json.loads(out.read_text())
    s, t = report["sim2sim"], report["train_env"]
    assert s["ticks"] == 50 and s["episodes"] == t["episodes"] == 1
    for key in ("survival", "error_vel_xy", "error_vel_yaw"):
        assert np.isfinite(s[key]) and np.isfinite(t[key])
    ladder = list(report["ladder"].values())
    assert len(ladder) == 4 and ladder[-1]["error_vel_xy"] == s["error_vel_xy"]  # the last rung is sim2sim
    # The first rung (training scene on plain MuJoCo) is the training env (mjbatch): zero gap.
    assert ladder[0]["error_vel_xy"] == pytest.approx(t["error_vel_xy"], abs=1e-6)
    assert ladder[0]["error_vel_yaw"] == pytest.approx(t["error_vel_yaw"], abs=1e-6)
    assert "sim2sim gap, one difference at a time" in capsys.readouterr().out


def test_cli_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "policy.json").write_text("{}")
    assert main(DeployArgs(policy=tmp_path, sim2sim=True)) == 2
    assert "export version None" in capsys.readouterr().err
    assert main(DeployArgs(policy=tmp_path, robot="unitree-go2")) == 2
    assert "--interface" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["truncated", "empty", "not onnx"])
def test_a_damaged_policy_onnx_is_one_named_error_and_exit_2(run, tmp_path, capsys, damage):
    shutil.copy(run / "policy.json", tmp_path / "policy.json")
    data = (run / "policy.onnx").read_bytes()
    damaged = {"truncated": data[: len(data) // 2], "empty": b"", "not onnx": b"version https://git-lfs\n"}[damage]
    onnx = tmp_path / "policy.onnx"
    onnx.write_bytes(damaged)
    with pytest.raises(OnnxModelError, match=re.escape(str(onnx))):
        OnnxPolicy(onnx, load_metadata(tmp_path))
    assert main(DeployArgs(policy=tmp_path, sim2sim=True, duration=0.1, realtime=False, compare=False)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {onnx}: ") and err.count("\n") == 1 and "Traceback" not in err


def test_sim2sim_where_the_robot_falls_exits_1_and_says_which_check_failed(run, tmp_path, capsys):
    """Zero position gains in policy.json: the motors only damp, the Go2 sags until its trunk touches the floor."""
    shutil.copy(run / "policy.onnx", tmp_path / "policy.onnx")
    data = json.loads((run / "policy.json").read_text())
    data["kp"] = [0.0] * len(data["kp"])
    (tmp_path / "policy.json").write_text(json.dumps(data))
    out = tmp_path / "report.json"
    args = DeployArgs(policy=tmp_path, sim2sim=True, duration=2.0, realtime=False, compare=False, out=out,
                      command=(0.0, 0.0, 0.0))  # fmt: skip
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "sim2sim failed its checks: survival 0% of 1 episode(s) is below the required 100% (fell)" in err
    checks = json.loads(out.read_text())["checks"]
    assert checks["passed"] is False and checks["min_survival"] == 1.0
    # A threshold the run meets passes; a threshold outside [0, 1] is a usage error before any simulation.
    args.min_survival = 0.0
    assert main(args) == 0 and json.loads(out.read_text())["checks"]["passed"] is True
    args.min_survival = 1.5
    assert main(args) == 2 and "--min-survival must be a fraction in [0, 1], got 1.5" in capsys.readouterr().err


def test_absurd_action_scale_is_refused_naming_the_field(run, tmp_path, capsys):
    shutil.copy(run / "policy.onnx", tmp_path / "policy.onnx")
    data = json.loads((run / "policy.json").read_text())
    data["action_scale"] = 1e6
    (tmp_path / "policy.json").write_text(json.dumps(data))
    assert main(DeployArgs(policy=tmp_path, sim2sim=True, duration=0.1, realtime=False, compare=False)) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'policy.json'}: action_scale is 1e+06, expected at most 6.283" in err
    # Below the schema's bound but wider than any Go2 joint (the thigh spans 5.06 rad): the robot's check.
    data["action_scale"] = 6.0
    (tmp_path / "policy.json").write_text(json.dumps(data))
    with pytest.raises(PolicySpecError, match=r"action_scale is 6, expected at most 5\.06\d, the widest joint range"):
        make_controller(tmp_path / "policy.json", SimulatedRobot(SimRobotCfg()))
    assert main(DeployArgs(policy=tmp_path, sim2sim=True, duration=0.1, realtime=False, compare=False)) == 2
    assert "the widest joint range of this robot" in capsys.readouterr().err


def test_stand_up_ramps_through_the_safety_layer(run):
    """The real-robot start: from a crouch to the default pose over 1 s, through the Unitree mapping."""
    from robolearn.sim2real.deploy import stand_up
    from robolearn.sim2real.robot import JointCommand

    clock = VirtualClock()
    sim = SimulatedRobot(SimRobotCfg(latency_s=0.0), clock)
    crouch = np.array([0.0, 1.3, -2.6] * 4)
    sim.data.qpos[sim._qadr] = crouch
    sim.data.qpos[2] = 0.15
    sim._cmd = JointCommand.damping(12, 1.0)  # motors limp until the runtime takes over
    transport = SimTransport(sim)
    robot = UnitreeRobot(transport, load_metadata(run).joint_names)
    controller = make_controller(run, robot)
    sent: list[np.ndarray] = []
    original = transport.send
    transport.send = lambda msg: (sent.append(transport.map.decode_cmd(msg).q), original(msg))  # type: ignore[method-assign]
    assert stand_up(robot, controller, clock, 1.0)
    clock.advance(0.5)
    q = robot.read().q
    default = np.asarray(controller.meta.default_joint_pos)
    assert np.abs(q - default).max() < 0.3, q - default  # kp 35 sags ~0.25 rad at the calves under load
    steps = np.abs(np.diff(np.array(sent), axis=0))
    assert len(sent) == 50 and steps.max() <= controller.safety.cfg.max_target_step + 1e-9
    assert sim.data.qpos[2] > 0.22  # it stood up


def test_deploy_loop_on_the_training_model_reproduces_the_training_env(run):
    """With the training scene, its integrator and timestep and no latency or noise, the deploy loop
    (robot read -> observation builder -> ONNX -> safety -> robot write, on plain MuJoCo) must follow
    the training env's trajectory: same observation timing, action semantics and PD."""
    import dataclasses

    import torch

    from robolearn.core import ManagerBasedRlEnv
    from robolearn.registry import get_task
    from robolearn.sim2real.safety import SafetyCfg

    meta = load_metadata(run)
    command = np.array([0.5, 0.0, 0.3], dtype=np.float32)
    cfg = get_task(TASK).env_cfg()
    cfg.observations["policy"].enable_noise = False
    cfg.events = {}  # no randomization: both sides start from the keyframe
    cfg.commands = {"base_velocity": dataclasses.replace(cfg.commands["base_velocity"], resampling_time_s=(1e9, 1e9))}
    cfg = dataclasses.replace(cfg, num_envs=1)
    cfg.sim.num_threads = 1
    env = ManagerBasedRlEnv(cfg)
    env.reset(seed=0)
    env.command_manager.get_command("base_velocity")[:] = torch.from_numpy(command)
    obs = env.observation_manager.compute()["policy"]
    onnx = OnnxPolicy(run / "policy.onnx", meta)

    clock = VirtualClock()
    robot = SimulatedRobot(SimRobotCfg(model="training", integrator="euler", timestep=meta.sim_dt, latency_s=0.0,
                                       hold_kp=meta.kp[0], hold_kd=meta.kd[0]), clock)  # fmt: skip
    # Safety limits wide open: this test is about equivalence, not about clamping.
    controller = make_controller(run, robot, SafetyCfg(max_target_step=10.0, joint_limit_margin=0.0))
    controller.safety.tau_max = np.full(12, 1e9)
    loop = DeployLoop(robot, controller, clock, constant_command(command))
    qpos_env, obs_env, obs_dep = [], [], []

    def on_tick(lp: DeployLoop) -> bool:
        nonlocal obs
        obs_dep.append(lp.controller.builder.history[-1].copy())
        obs_env.append(obs[0].numpy().copy())
        out, *_ = env.step(torch.from_numpy(onnx(obs[0].numpy())).unsqueeze(0))
        obs = out["policy"]
        qpos_env.append(env.sim.qpos[0].numpy().copy())
        return True

    loop.run(0.5, on_tick)
    robot.read()  # physics up to the end of the last tick
    # Measured: 7e-8 (observations) and 6e-9 (qpos); one physics step of latency gives 4e-2.
    np.testing.assert_allclose(np.array(obs_dep), np.array(obs_env), atol=1e-5)
    np.testing.assert_allclose(robot.data.qpos, qpos_env[-1], atol=1e-6)
    assert np.abs(qpos_env[-1][7:] - qpos_env[0][7:]).max() > 0.01  # the joints did move


def test_real_robot_path_with_remote_estop(run, monkeypatch, capsys):
    """`robolearn deploy --robot unitree-go2` end to end, with the DDS transport replaced by the simulated
    robot behind the same LowCmd/LowState messages, in real time: stand up, walk on the remote's
    command, stop on the remote's L2+B."""
    import robolearn.sim2real.unitree as unitree
    from robolearn.sim2real.robot import WallClock
    from robolearn.sim2real.unitree import KEY_BITS, Gamepad

    clock = WallClock()

    class FakeDds(SimTransport):
        def __init__(self, interface: str):
            assert interface == "sim0"
            super().__init__(SimulatedRobot(SimRobotCfg(latency_s=0.005), clock))

            self.reads = 0

        def gamepad(self) -> Gamepad:
            # Forward on the left stick; the runtime reads the remote twice a tick (command, then e-stop
            # check), and from the 21st tick on the operator holds L2+B.
            self.reads += 1
            keys = (1 << KEY_BITS["L2"] | 1 << KEY_BITS["B"]) if self.reads > 40 else 0
            return Gamepad(ly=0.5, keys=keys)

    monkeypatch.setattr(unitree, "Sdk2Transport", FakeDds)
    args = DeployArgs(
        policy=run / "policy.json", robot="unitree-go2", interface="sim0", duration=2.0, stand_s=0.3
    )
    assert main(args) == 1  # stopped by the operator
    captured = capsys.readouterr()
    assert "operator e-stop (L2+B on the remote)" in captured.err
    summary = json.loads(captured.out[captured.out.index("{") :])
    assert summary["ticks"] == 20  # 20 full ticks, then the e-stop, long before the 2 s (100 ticks) ran out
