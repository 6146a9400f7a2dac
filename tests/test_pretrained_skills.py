"""The pretrained H1 skills shipped in robolearn/assets/skills, and `pack_run`, which makes them."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from typing import Any

import pytest
import torch
import yaml
from test_skillblender import _write_skill_run

from robolearn.envs.humanoid.h1_skills import SKILL_GOALS
from robolearn.policies.evaluate import load_run_policy
from robolearn.policies.runs import CHECKPOINT_DIR, RunError, list_checkpoints, pack_run
from robolearn.policies.skillblender import load_skill, pretrained_skills, skill_run

SHIPPED = pretrained_skills()


def test_the_four_h1_skills_are_shipped():
    assert {"h1-walk", "h1-reach", "h1-squat", "h1-step"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_skill_loads_by_name_and_holds_only_its_actor(name):
    skill = load_skill(name)
    assert skill.task in SKILL_GOALS and skill.task.startswith(name.split("-")[0].upper())
    # The goal slot comes from the command the run's config declares, and matches the task's.
    goal = SKILL_GOALS[skill.task]
    assert skill.goal_low.tolist() == pytest.approx(goal.low) and skill.goal_high.tolist() == pytest.approx(goal.high)
    (ckpt,) = list_checkpoints(skill_run(name))
    state = torch.load(ckpt, weights_only=False)
    assert "critic_state_dict" not in state and "optimizer_state_dict" not in state
    assert ckpt.stat().st_size < 400_000  # small enough to ship in the package


def test_an_unknown_skill_name_lists_the_shipped_ones():
    with pytest.raises(RunError, match="h1-walk"):
        skill_run("h1-fly")


def test_a_packed_run_acts_like_its_run_and_replaces_an_old_pack(tmp_path):
    run = _write_skill_run(tmp_path, "H1-Skill-Reach", 0)
    ckpt = list_checkpoints(run)[0]
    state = torch.load(ckpt, weights_only=False)
    state["critic_state_dict"] = {"w": torch.zeros(1000, 100)}  # what packing drops
    torch.save(state, ckpt)
    out = tmp_path / "packs" / "reach"
    (out / "stale").mkdir(parents=True)  # a previous pack at the same place
    assert pack_run(run, out) == out
    assert not (out / "stale").exists() and sorted(p.name for p in out.parent.iterdir()) == ["reach"]
    assert ckpt.stat().st_size > 5 * (out / CHECKPOINT_DIR / ckpt.name).stat().st_size
    obs = torch.randn(3, load_skill(run).obs_dim)
    assert torch.equal(load_skill(out).actor(obs), load_skill(run).actor(obs))


def test_packing_a_folder_that_is_no_run_names_it_and_writes_nothing(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="config.yaml is missing"):
        pack_run(tmp_path / "empty", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# -- the shipped skills do what their goals say -------------------------------------------------------


def _rollout(name: str, edit: Any, seconds: float, worlds: int = 4) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):  # rsl_rl prints the model
        pol = load_run_policy(skill_run(name), num_envs=worlds, seed=10_000, edit_env=edit)
    env = pol.env
    obs, _ = env.reset(seed=10_000)
    fell = torch.zeros(worlds, dtype=torch.bool)
    vx = []
    with torch.no_grad():
        for i in range(int(seconds / env.step_dt)):
            obs, _, terminated, _, _ = env.step(pol.act(obs))
            fell |= terminated.cpu()
            if i * env.step_dt > seconds / 2:
                vx.append(env.robot.root_lin_vel_b[:, 0].cpu().float())
    height = env.robot.root_pos_w[:, 2].cpu().float() - env.env_origins[:, 2].cpu().float()
    return fell, torch.stack(vx).mean(), height


@pytest.mark.parametrize("target", [0.7, 1.0])
def test_the_shipped_squat_skill_holds_the_pelvis_at_its_goal(target):
    def fixed(cfg: Any) -> Any:
        height = dataclasses.replace(cfg.commands["pelvis_height"], height_range=(target, target))
        return dataclasses.replace(cfg, commands={**cfg.commands, "pelvis_height": height})

    fell, _, height = _rollout("h1-squat", fixed, seconds=3.0)
    assert not fell.any()
    assert (height - target).abs().max() < 0.1


def test_the_shipped_walking_skill_walks_forward_and_not_when_told_to_stand():
    def hold(vx: float) -> Any:
        def edit(cfg: Any) -> Any:
            return dataclasses.replace(cfg, commands={"base_velocity": cfg.commands["base_velocity"].held(vx, 0.0, 0.0)})

        return edit

    fell, forward, _ = _rollout("h1-walk", hold(0.8), seconds=4.0)
    assert not fell.any() and forward > 0.3
    fell, still, _ = _rollout("h1-walk", hold(0.0), seconds=4.0)
    assert not fell.any() and abs(still) < 0.15


def test_a_shipped_skill_cannot_be_resumed_and_says_why():
    from robolearn.policies.cli import TrainArgs
    from robolearn.policies.train import train

    with pytest.raises(RunError, match="packed run"):
        train(TrainArgs(resume=skill_run("h1-squat")))


# -- old configs: the goals were event terms ------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_skill_config_with_goal_events_loads_with_goal_commands(name):
    from robolearn.policies.runs import read_config
    from robolearn.policies.setup import spec_from_run

    raw = yaml.safe_load((skill_run(name) / "config.yaml").read_text())["env"]
    old_goal_events = [k for k, e in raw["events"].items() if e["func"].endswith("_goal")]
    spec = spec_from_run(skill_run(name))
    assert not any(e.func.__name__.startswith("sample_") for e in spec.env.events.values())
    goal_commands = set(spec.env.commands) - {"base_velocity"}
    assert len(goal_commands) == (1 if old_goal_events else 0)
    if old_goal_events:  # the interval event's interval is the command's
        (command,) = goal_commands
        assert spec.env.commands[command].resampling_time_s == (4.0, 6.0)
        assert read_config(skill_run(name))["env"]["commands"] == {command: {"resampling_time_s": [4.0, 6.0]}}


def test_old_goal_event_params_move_to_the_command_or_fail_clearly():
    from robolearn.policies.runs import upgrade_env_config

    func = "robolearn.envs.humanoid.h1_skills:sample_squat_goal"
    old = {
        "commands": {},
        "events": {
            "reset_base": {"func": "robolearn.core.mdp.events:reset_root_state", "mode": "reset"},
            "goal_reset": {"func": func, "params": {"height_range": [0.7, 0.8]}, "mode": "reset",
                           "interval_range_s": [10.0, 15.0]},
            "goal_resample": {"func": func, "params": {"height_range": [0.7, 0.8]}, "mode": "interval",
                              "interval_range_s": [3.0, 5.0]},
        },
    }  # fmt: skip
    new = upgrade_env_config(old)
    assert list(new["events"]) == ["reset_base"]
    assert new["commands"] == {"pelvis_height": {"height_range": [0.7, 0.8], "resampling_time_s": [3.0, 5.0]}}
    assert upgrade_env_config(new) == new  # the new shape passes through
    old["events"]["goal_reset"]["params"] = {"bogus": 1}
    with pytest.raises(RunError, match="bogus"):
        upgrade_env_config(old)
