"""Robot/task registries and the errors a user sees for bad names and files."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from robolearn.registry import UnknownTaskError, get_task
from robolearn.robots import ROBOTS, UnknownRobotError, load_spec, robot_info, robot_model


def test_every_registered_robot_compiles_from_menagerie():
    for name in ("go2", "g1", "h1", "aloha"):
        model = robot_model(name)
        assert model.nu > 0
    assert robot_model("go2", fast=True).nu == 12


def test_unknown_robot_lists_valid_ones():
    with pytest.raises(UnknownRobotError, match="valid robots: .*go2"):
        robot_info("go3")
    assert "g1" in ROBOTS


def test_unknown_task_lists_valid_ones():
    with pytest.raises(UnknownTaskError, match="valid tasks: .*Go2-Velocity-Flat"):
        get_task("Go2-Velocity-Flatt")


def test_missing_robot_says_where_it_looked(tmp_path):
    code = "from robolearn.robots import robot_xml; robot_xml('go2')"
    env = {**os.environ, "MENAGERIE_ROOT": str(tmp_path), "MENAGERIE_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode != 0
    assert f"MENAGERIE_ROOT={tmp_path}" in out.stderr and "set MENAGERIE_ROOT" in out.stderr


def test_malformed_mjcf_names_the_file(tmp_path):
    bad = tmp_path / "robot.xml"
    bad.write_text("<mujoco><worldbody><body><geom type='sphere' size='oops'/></body></worldbody></mujoco>")
    with pytest.raises(ValueError, match=r"malformed MJCF .*robot\.xml"):
        load_spec(bad)


def test_a_task_declares_its_default_algo_and_presets():
    from robolearn.policies.presets import default_agent_cfg
    from robolearn.registry import resolve_algo
    from robolearn.rl import HInfCfg, PpoCfg

    assert resolve_algo("A1-Velocity-HInf", None) == "hinf"
    assert resolve_algo("A1-Velocity-HInf", "ppo") == "ppo"
    assert resolve_algo("Go2-Velocity-Flat", None) == "ppo"
    hinf = default_agent_cfg("A1-Velocity-HInf", "hinf")
    ppo = default_agent_cfg("A1-Velocity-HInf", "ppo")
    assert isinstance(hinf, HInfCfg) and type(ppo) is PpoCfg
    assert ppo.init_noise_std == hinf.init_noise_std  # the PPO baseline keeps the actor's settings
    # A learner the task has no preset for uses the learner's own CPU default.
    assert isinstance(default_agent_cfg("Go2-Velocity-Rough", "hinf"), HInfCfg)


def test_an_unknown_algo_lists_the_tasks_presets():
    from robolearn.policies.presets import default_agent_cfg

    with pytest.raises(ValueError, match=r"unknown algo 'hnif' for A1-Velocity-HInf; its presets: \['hinf', 'ppo'\]"):
        default_agent_cfg("A1-Velocity-HInf", "hnif")


def test_imitation_tasks_share_the_registry_but_not_gymnasium():
    import gymnasium as gym

    from robolearn.registry import make_env, task_names

    assert "Aloha-CubeTransfer" in task_names("imitation") and "Aloha-CubeTransfer" not in task_names("rl")
    spec = get_task("Aloha-CubeTransfer")
    assert spec.default_algo == "diffusion" and spec.demos is not None
    assert "robolearn/Aloha-CubeTransfer-v0" not in gym.registry
    assert make_env("Aloha-CubeTransfer", num_envs=1).num_actions == 14  # on the manager-based env
    with pytest.raises(ValueError, match="imitation task, not a manager-based env"):
        make_env("Aloha-CubeTransfer", cfg=object())  # an imitation task's config of its own
