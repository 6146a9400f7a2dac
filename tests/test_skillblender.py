"""SkillBlender: H1 skill tasks, their goal samplers, and the per-joint skill blender on PPO."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import mujoco
import pytest
import torch
from rsl_rl.algorithms import PPO
from rsl_rl.models import MLPModel
from tensordict import TensorDict

from robolearn.envs.humanoid import biped_gait, h1_skillbench, h1_skills
from robolearn.envs.humanoid.h1_skills import SKILL_GOALS
from robolearn.math import yaw_from_quat, yaw_quat
from robolearn.policies.rsl_rl import RslRlVecEnv
from robolearn.policies.runs import atomic_torch_save, new_run_dir, write_yaml
from robolearn.policies.setup import RunSpec, build_actor
from robolearn.policies.skillblender import (
    BlendHead,
    FrozenSkill,
    SelfContact,
    SkillBenchMeter,
    SkillBlenderModel,
    bench_accuracy,
    check_blender_task,
    load_skill,
)
from robolearn.registry import get_task, make_env
from robolearn.rl import PpoCfg, SkillBlenderCfg

SKILLS = ("H1-Skill-Squat", "H1-Skill-Reach", "H1-Skill-Step", "H1-Skill-Walk")
PROPRIO = 19 * 3 + 3 + 3  # joint pos, joint vel, last action, base angular velocity, projected gravity
CLOCK = 2  # the walking skill's gait clock (sin, cos), read between its goal and the shared tail


def _inputs(task: str) -> int:
    return PROPRIO + (CLOCK if task == "H1-Skill-Walk" else 0)


# -- skill tasks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", SKILLS)
def test_skill_env_builds_steps_and_rewards_are_finite_and_floored(task):
    env = make_env(task, num_envs=2)
    goal = SKILL_GOALS[task]
    # Goal slot first, then the tail every skill shares (what the blender hands to each skill); walking
    # reads its gait clock just before that tail.
    assert env.observation_dims()["policy"] == goal.dim + _inputs(task)
    terms = list(env.cfg.observations["policy"].terms)
    assert terms[-5:] == list(h1_skills.proprio_terms())
    assert ("gait_phase" in terms) == (task == "H1-Skill-Walk")
    assert env.num_actions == 19
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        obs, reward, terminated, time_out, _ = env.step(0.3 * torch.randn(2, 19, generator=gen))
        assert all(torch.isfinite(v).all() for v in obs.values())
        assert torch.isfinite(reward).all()
        if "floor_total_at_zero" in env.reward_manager.terms:
            assert (reward >= -1e-6).all(), reward  # the authors clip the total reward at >= 0


def test_total_reward_is_floored_at_zero_not_beyond():
    cfg = get_task("H1-Skill-Squat").env_cfg()
    cfg.rewards["joint_torques"].weight = -1.0  # torques now outweigh every positive term
    env = make_env("H1-Skill-Squat", cfg=cfg, num_envs=2)
    _, reward, *_ = env.step(torch.zeros(2, 19))
    values = env.reward_manager.step_values
    raw = sum(v for k, v in values.items() if k != "floor_total_at_zero")
    assert (raw < 0).all()  # the floor has work to do ...
    assert torch.allclose(reward, torch.zeros(2), atol=1e-6)  # ... and lifts the total exactly to 0
    assert torch.allclose(values["floor_total_at_zero"], -raw, atol=1e-6)


def test_pd_gains_and_default_pose_are_the_authors():
    env = make_env("H1-Skill-Squat", num_envs=2)
    model = env.scene.model
    kp = {env.robot.joint_names[i]: float(model.actuator_gainprm[i, 0]) for i in range(model.nu)}
    kd = {env.robot.joint_names[i]: -float(model.actuator_biasprm[i, 2]) for i in range(model.nu)}
    assert (kp["left_hip_pitch"], kd["left_hip_pitch"]) == (200.0, 5.0)
    assert (kp["right_knee"], kd["right_knee"]) == (300.0, 6.0)
    assert (kp["left_ankle"], kd["left_ankle"]) == (40.0, 2.0)
    assert (kp["torso"], kd["torso"]) == (300.0, 6.0)
    assert (kp["right_elbow"], kd["right_shoulder_roll"]) == (100.0, 2.0)
    default = dict(zip(env.robot.joint_names, env.robot.default_joint_pos.tolist(), strict=True))
    assert default["left_hip_pitch"] == pytest.approx(-0.4)
    assert default["right_knee"] == pytest.approx(0.8)
    assert default["left_ankle"] == pytest.approx(-0.4)
    assert env.action_manager.get_term("joint_pos").cfg.scale == 0.25


def test_goal_commands_respect_their_ranges():
    n = 256
    ids = torch.arange(n)
    env = make_env("H1-Skill-Squat", num_envs=n)
    env.command_manager.get_term("pelvis_height").resample(ids)
    height = env.command_manager.get_command("pelvis_height")[:, 0]
    lo, hi = h1_skills.SQUAT_HEIGHT_RANGE
    assert height.min() >= lo and height.max() <= hi and height.max() - height.min() > 0.8 * (hi - lo)

    env = make_env("H1-Skill-Reach", num_envs=n)
    env.command_manager.get_term("wrist_targets").resample(ids)
    wrists_h = env.command_manager.get_command("wrist_targets").reshape(n, 2, 3)
    offsets = wrists_h - h1_skills.default_points_h(env)["wrists"]
    dist = offsets.norm(dim=-1)
    assert dist.max() <= h1_skills.REACH_RADIUS + 1e-9 and dist.max() > 0.9 * h1_skills.REACH_RADIUS

    env = make_env("H1-Skill-Step", num_envs=n)
    # Targets are placed around the pelvis with its yaw: turn every robot and move it before sampling.
    yaw = torch.linspace(-3.0, 3.0, n, dtype=torch.float64)
    env.sim.qpos[:, 3:7] = yaw_quat(yaw).to(env.sim.qpos)
    env.sim.qpos[:, 0] += 2.0
    steps = env.command_manager.get_term("foot_targets")
    steps.radius = steps.cfg.radius  # the full range, as evaluation (no curricula) draws it
    assert steps.radius == h1_skills.STEP_RADIUS
    steps.resample(ids)
    target_w = h1_skills.foot_targets_w(env)
    root = env.robot.root_pos_w[:, :2].double()
    c, s = torch.cos(yaw).unsqueeze(-1), torch.sin(yaw).unsqueeze(-1)
    rel = target_w - root.unsqueeze(1)
    rel_h = torch.stack([c * rel[..., 0] + s * rel[..., 1], -s * rel[..., 0] + c * rel[..., 1]], dim=-1)
    offsets = rel_h - h1_skills.default_points_h(env)["feet"][:, :2]
    dist = offsets.norm(dim=-1)
    assert dist.max() <= h1_skills.STEP_RADIUS + 1e-9 and dist.max() > 0.9 * h1_skills.STEP_RADIUS

    env = make_env("H1-Skill-Walk", num_envs=n)
    cmd = env.command_manager.get_command("base_velocity")
    goal = SKILL_GOALS["H1-Skill-Walk"]
    assert (cmd >= torch.tensor(goal.low)).all() and (cmd <= torch.tensor(goal.high)).all()


def test_foot_targets_are_drawn_around_the_pelvis_pose_the_reset_gives():
    # An after-events command: drawn once reset_base has turned the robot, so targets sit around its stance.
    env = make_env("H1-Skill-Step", num_envs=64)
    assert env.command_manager.get_term("foot_targets").after_events
    env.reset(seed=3)
    rel = h1_skills.foot_targets_w(env) - env.robot.root_pos_w[:, None, :2].double()
    offsets = h1_skills._to_heading(env, rel) - h1_skills.default_points_h(env)["feet"][:, :2]
    radius = env.command_manager.get_term("foot_targets").radius
    assert offsets.norm(dim=-1).max() <= radius + 1e-6


def test_step_targets_grow_with_the_curriculum_and_progress_pays_for_closing_in():
    env = make_env("H1-Skill-Step", num_envs=64)
    ids = torch.arange(64)
    ramp = 24 * h1_skills.STEP_RAMP_ITERATIONS
    for counter, radius in (
        (0, h1_skills.STEP_RADIUS_START),
        (ramp // 2, 0.15),
        (2 * ramp, h1_skills.STEP_RADIUS),
    ):
        env.common_step_counter = counter
        assert h1_skills.step_radius_levels(env, ids) == pytest.approx(radius)
        env.command_manager.get_term("foot_targets").resample(ids)
        rel = h1_skills.foot_targets_w(env) - env.robot.root_pos_w[:, None, :2].double()
        offsets = h1_skills._to_heading(env, rel) - h1_skills.default_points_h(env)["feet"][:, :2]
        assert offsets.norm(dim=-1).max() <= radius + 1e-6 and offsets.norm(dim=-1).max() > 0.8 * radius
    # Progress: 0 on the step a target is drawn, then the rate (m/s) at which the mean foot distance drops.
    assert (h1_skills.step_progress(env) == 0).all()
    target = h1_skills.foot_targets_w(env)  # a view of the command: writing it moves the targets
    feet = h1_skills.feet_pos_w(env)[..., :2]
    before = (target - feet).norm(dim=-1).mean(-1)
    target[:] = feet + (target - feet) * 0.99  # every target 1% closer: as if both feet moved toward them
    expected = (0.01 * before / env.step_dt).clamp(max=1.0)
    torch.testing.assert_close(h1_skills.step_progress(env), expected.float(), atol=1e-5, rtol=1e-4)


def test_goal_is_the_error_in_the_heading_frame_and_tracking_peaks_on_target():
    env = make_env("H1-Skill-Step", num_envs=2)
    # Robot 0 faces +x, robot 1 faces +y: a target 0.1 m along world +x is 0.1 m to robot 1's right.
    env.sim.qpos[:, 3:7] = yaw_quat(torch.tensor([0.0, math.pi / 2], dtype=torch.float64)).to(env.sim.qpos)
    env.sim.forward()
    env.robot.update()
    feet = h1_skills.feet_pos_w(env)[..., :2]
    h1_skills.foot_targets_w(env)[:] = feet
    h1_skills.foot_targets_w(env)[:, 0, 0] += 0.1
    err = h1_skills.step_goal(env).reshape(2, 2, 2)
    assert torch.allclose(err[0, 0], torch.tensor([0.1, 0.0]), atol=1e-6)
    assert torch.allclose(err[1, 0], torch.tensor([0.0, -0.1]), atol=1e-6)
    assert torch.allclose(err[:, 1], torch.zeros(2, 2), atol=1e-6)
    expected = math.exp(-4 * 0.1 / 4)  # mean |error| over the 4 goal entries
    assert torch.allclose(
        h1_skills.goal_tracking(env, h1_skills.step_goal), torch.tensor(expected), atol=1e-6
    )

    env = make_env("H1-Skill-Reach", num_envs=2)
    env.command_manager.get_command("wrist_targets")[:] = h1_skills.wrist_pos_h(env).reshape(2, 6)
    assert torch.allclose(h1_skills.reach_goal(env), torch.zeros(2, 6), atol=1e-6)
    assert torch.allclose(h1_skills.goal_tracking(env, h1_skills.reach_goal), torch.ones(2), atol=1e-6)


# -- the blender ------------------------------------------------------------------------------------


def _skill(task: str, seed: int) -> FrozenSkill:
    torch.manual_seed(seed)
    goal = SKILL_GOALS[task]
    obs_dim = goal.dim + _inputs(task)
    actor = MLPModel(TensorDict({"policy": torch.zeros(1, obs_dim)}, batch_size=[1]), {"actor": ["policy"]},
                     "actor", 19, hidden_dims=[32, 32])  # fmt: skip
    net = actor.mlp
    inputs = list(get_task(task).env_cfg().observations["policy"].terms.items())[1:]
    return FrozenSkill(task, net, torch.tensor(goal.low), torch.tensor(goal.high), obs_dim,
                       {name: dict(term.params) for name, term in inputs})  # fmt: skip


def _head(per_joint: bool = True, obs_dim: int = 5 + CLOCK + PROPRIO) -> BlendHead:
    skills = [_skill("H1-Skill-Squat", 1), _skill("H1-Skill-Reach", 2), _skill("H1-Skill-Walk", 3)]
    return BlendHead(obs_dim, 19, skills, [32], obs_normalization=False, per_joint_weights=per_joint)


def _set_output_bias(head: BlendHead, bias: torch.Tensor) -> None:
    last = head.net[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(bias)


def test_weights_are_a_softmax_over_skills_per_joint():
    head = _head()
    obs = torch.randn(4, head.net[0].in_features)
    n_goals = sum(head.goal_dims)
    bias = torch.zeros(n_goals + 3 * 19)
    logits = torch.randn(3, 19)
    bias[n_goals:] = logits.flatten()
    _set_output_bias(head, bias)
    _, weights, _ = head.parts(obs)
    assert weights.shape == (4, 3, 19)
    assert torch.allclose(weights.sum(dim=1), torch.ones(4, 19), atol=1e-6)
    assert torch.allclose(weights[0], torch.softmax(logits, dim=0), atol=1e-6)  # over skills, not joints
    assert not torch.allclose(weights[0, :, 0], weights[0, :, 1])  # each joint has its own blend

    single = _head(per_joint=False)
    _, weights, _ = single.parts(obs)
    assert weights.shape == (4, 3, 19)
    assert torch.allclose(weights, weights[:, :, :1].expand_as(weights))  # one weight per skill


def test_logits_favouring_one_skill_give_that_skills_action_with_the_blenders_goal():
    head = _head()
    obs = torch.randn(4, head.net[0].in_features)
    n_goals = sum(head.goal_dims)
    bias = torch.zeros(n_goals + 3 * 19)
    goals = torch.tensor([0.1, 0.05, -0.05, 0.1, 0.0, 0.2, -0.2, 0.3, -0.1, 0.2])  # squat 1, reach 6, walk 3
    bias[:n_goals] = goals
    logits = torch.full((3, 19), -30.0)
    logits[1] = 30.0  # every joint follows the reaching skill
    bias[n_goals:] = logits.flatten()
    _set_output_bias(head, bias)
    action = head(obs)
    reach_obs = torch.cat([goals[1:7].expand(4, 6), obs[:, -PROPRIO:]], dim=-1)
    assert torch.allclose(action, head.skills[1](reach_obs), atol=1e-5)
    assert not torch.allclose(
        action, head.skills[0](torch.cat([goals[:1].expand(4, 1), obs[:, -PROPRIO:]], -1))
    )
    # The walking skill reads its clock too: the suffix two entries longer.
    logits[1], logits[2] = -30.0, 30.0
    bias[n_goals:] = logits.flatten()
    _set_output_bias(head, bias)
    walk_obs = torch.cat([goals[7:].expand(4, 3), obs[:, -(CLOCK + PROPRIO) :]], dim=-1)
    assert torch.allclose(head(obs), head.skills[2](walk_obs), atol=1e-5)


def test_blender_task_must_end_with_what_each_skill_reads():
    walk, reach = _skill("H1-Skill-Walk", 0), _skill("H1-Skill-Reach", 1)
    button = get_task("H1-SkillBench-ButtonPress").env_cfg()
    check_blender_task(button, [walk, reach])  # task terms, then the clock, then the shared tail
    squat_task = get_task("H1-Skill-Squat").env_cfg()  # no clock in its observation
    check_blender_task(squat_task, [reach])
    with pytest.raises(ValueError, match="gait_phase"):
        check_blender_task(squat_task, [walk])
    button.observations["policy"].terms["gait_phase"].params = {"period": 0.5}
    with pytest.raises(ValueError, match="period"):
        check_blender_task(button, [walk])  # a clock ticking at another rate than the skill learnt


def test_goals_are_clamped_to_each_skills_range():
    head = _head()
    obs = torch.randn(2, head.net[0].in_features)
    n_goals = sum(head.goal_dims)
    for sign, bound in ((1.0, head.goal_high), (-1.0, head.goal_low)):
        bias = torch.zeros(n_goals + 3 * 19)
        bias[:n_goals] = sign * 100.0
        _set_output_bias(head, bias)
        goals, _, _ = head.parts(obs)
        assert torch.equal(goals, bound.expand(2, -1))
    walk = SKILL_GOALS["H1-Skill-Walk"]
    assert head.goal_high[-3:].tolist() == pytest.approx(list(walk.high))


def test_goals_can_start_at_zero_so_every_skill_holds_still():
    skills = [_skill("H1-Skill-Squat", 1), _skill("H1-Skill-Reach", 2), _skill("H1-Skill-Walk", 3)]
    obs = torch.randn(4, 5 + CLOCK + PROPRIO)
    head = BlendHead(obs.shape[1], 19, skills, [32], obs_normalization=False, goals_from_zero=True)
    goals, weights, _ = head.parts(obs)
    assert torch.equal(goals, torch.zeros_like(goals))
    assert not torch.allclose(weights, torch.full_like(weights, 1 / 3))  # the blend weights start random
    goals, _, _ = BlendHead(obs.shape[1], 19, skills, [32], obs_normalization=False).parts(obs)
    assert goals.abs().amax() > 1e-3


def test_gradients_reach_goals_and_weights_but_not_the_frozen_skills():
    head = _head()
    obs = torch.randn(8, head.net[0].in_features)
    head(obs).square().sum().backward()
    last = head.net[-1]
    n_goals = sum(head.goal_dims)
    assert last.bias.grad is not None
    assert last.bias.grad[:n_goals].abs().sum() > 0  # through the skills into the goals
    assert last.bias.grad[n_goals:].abs().sum() > 0  # into the blend logits
    assert all(p.grad is None and not p.requires_grad for p in head.skills.parameters())


def _write_skill_run(tmp_path: Path, task: str, seed: int, edit_env: Any = None) -> Path:
    """A run folder in the project's format (config.yaml + a checkpoint) holding an untrained skill actor."""
    torch.manual_seed(seed)
    agent = PpoCfg.cpu(actor_hidden_dims=(32, 32), critic_hidden_dims=(32, 32))
    env_cfg = get_task(task).env_cfg()
    if edit_env is not None:
        env_cfg = edit_env(env_cfg)
    env = make_env(task, env_cfg, num_envs=2)
    actor = build_actor(RslRlVecEnv(env), agent, "cpu")
    run = new_run_dir(tmp_path, task)
    write_yaml(run / "config.yaml", RunSpec(task, "ppo", env_cfg, agent, seed, "cpu").plain())
    atomic_torch_save(
        {"actor_state_dict": actor.state_dict(), "iteration": 0}, run / "checkpoints" / "model_000000.pt"
    )
    return run


def test_a_slow_walking_goal_stops_the_clock_the_blender_hands_the_walking_skill(tmp_path):
    assert load_skill(_write_skill_run(tmp_path, "H1-Skill-Walk", 0)).stand_below is None  # the preset steps
    walk = load_skill(_write_skill_run(tmp_path, "H1-Skill-Walk", 0, h1_skills.with_standing))
    assert walk.stand_below == biped_gait.STAND_COMMAND  # its env stopped the clock under a stand command
    assert load_skill(_write_skill_run(tmp_path, "H1-Skill-Reach", 1)).stand_below is None
    head = BlendHead(3 + CLOCK + PROPRIO, 19, [walk], [32], obs_normalization=False, per_joint_weights=False)
    obs = torch.randn(2, 3 + CLOCK + PROPRIO)
    stopped = torch.tensor(biped_gait.STOPPED_CLOCK).expand(2, CLOCK)
    for goal, clock in (((0.05, 0.0, 0.05), stopped), ((0.5, 0.0, 0.0), obs[:, 3:5])):
        _set_output_bias(head, torch.tensor([*goal, 0.0]))  # one skill: its weight is 1 whatever the logit
        walk_obs = torch.cat([torch.tensor(goal).expand(2, 3), clock, obs[:, -PROPRIO:]], dim=-1)
        assert torch.allclose(head(obs), walk.actor(walk_obs), atol=1e-6)


def test_blender_loads_skill_runs_and_trains_with_rsl_rl_ppo(tmp_path):
    runs = [_write_skill_run(tmp_path, "H1-Skill-Squat", 0), _write_skill_run(tmp_path, "H1-Skill-Reach", 1)]
    skill = load_skill(runs[1])
    assert skill.task == "H1-Skill-Reach" and skill.goal_dim == 6 and skill.obs_dim == 6 + PROPRIO

    # The high-level task here is the walking env: its policy group ends with the skills' proprioception.
    env = make_env("H1-Skill-Walk", num_envs=2)
    vec = RslRlVecEnv(env)
    agent = SkillBlenderCfg.cpu(skills=tuple(str(r) for r in runs), actor_hidden_dims=(32,),
                                critic_hidden_dims=(32,), num_steps_per_env=4, num_mini_batches=1)  # fmt: skip
    cfg = agent.to_rsl_rl()
    obs = vec.get_observations()
    alg = PPO.construct_algorithm(obs, vec, cfg, "cpu")
    assert isinstance(alg.actor, SkillBlenderModel) and alg.actor.skill_tasks == [
        "H1-Skill-Squat",
        "H1-Skill-Reach",
    ]
    head = alg.actor.head
    frozen_before = [p.clone() for p in head.skills.parameters()]
    net_before = [p.clone() for p in head.net.parameters()]
    for _ in range(agent.num_steps_per_env):
        actions = alg.act(obs)
        assert actions.shape == (2, 19)
        obs, reward, dones, extras = vec.step(actions)
        alg.process_env_step(obs, reward, dones, extras)
    alg.compute_returns(obs)
    alg.update()
    assert all(torch.equal(a, b) for a, b in zip(frozen_before, head.skills.parameters(), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(net_before, head.net.parameters(), strict=True))
    # Deterministic output of the rsl_rl model is the blend itself ...
    with torch.no_grad():
        blended = head(obs["policy"])
        assert torch.allclose(alg.actor(obs), blended, atol=1e-6)
    # ... and so is the exported policy.onnx (the export reads the actor's normalizer and mlp).
    import onnxruntime as ort

    from robolearn.sim2real.export import export_policy, policy_metadata

    paths = export_policy(alg.actor, policy_metadata(env, "H1-Skill-Walk"), tmp_path / "export")
    session = ort.InferenceSession(str(paths.onnx))
    onnx_actions = session.run(None, {"obs": obs["policy"].numpy()})[0]
    assert torch.allclose(torch.from_numpy(onnx_actions), blended, atol=1e-4)


def test_robolearn_train_runs_the_blender_and_its_run_loads_for_eval(tmp_path):
    from robolearn.policies.cli import TrainArgs
    from robolearn.policies.evaluate import load_run_policy
    from robolearn.policies.runs import RunError
    from robolearn.policies.train import train

    runs = [_write_skill_run(tmp_path, "H1-Skill-Squat", 0), _write_skill_run(tmp_path, "H1-Skill-Reach", 1)]
    agent = SkillBlenderCfg.cpu(actor_hidden_dims=(16,), critic_hidden_dims=(16,), num_envs=2,
                                num_steps_per_env=4, num_mini_batches=1, max_iterations=1)  # fmt: skip
    with pytest.raises(RunError, match="--skills"):
        train(TrainArgs(task="H1-Skill-Walk", algo="skillblender", logdir=tmp_path / "out", agent=agent))
    result = train(TrainArgs(task="H1-Skill-Walk", algo="skillblender", skills=tuple(runs),
                             logdir=tmp_path / "out", agent=agent))  # fmt: skip
    pol = load_run_policy(result.run, num_envs=2)
    assert isinstance(pol.actor, SkillBlenderModel) and pol.actor.skill_tasks == [
        "H1-Skill-Squat",
        "H1-Skill-Reach",
    ]
    obs, _ = pol.env.reset(seed=0)
    assert pol.act(obs).shape == (2, 19)


def test_eval_of_a_skillbench_run_reports_accuracy_and_feasibility(tmp_path):
    from robolearn.policies.cli import TrainArgs
    from robolearn.policies.evaluate import eval_run
    from robolearn.policies.train import train

    runs = [_write_skill_run(tmp_path, "H1-Skill-Reach", 0), _write_skill_run(tmp_path, "H1-Skill-Squat", 1)]
    agent = SkillBlenderCfg.cpu(actor_hidden_dims=(16,), critic_hidden_dims=(16,), num_envs=2,
                                num_steps_per_env=4, num_mini_batches=1, max_iterations=1)  # fmt: skip
    result = train(TrainArgs(task="H1-SkillBench-Reach", algo="skillblender", skills=tuple(runs),
                             logdir=tmp_path / "out", agent=agent, single_weight=True))  # fmt: skip
    assert "per_joint_weights: false" in (result.run / "config.yaml").read_text()  # --single-weight
    ev = eval_run(result.run, episodes=2, quiet=True)
    for key in ("accuracy_m", "jerk", "power_w", "foot_slip"):
        assert math.isfinite(ev[key]["mean"]) and ev[key]["mean"] >= 0.0, (key, ev[key])
    assert ev["accuracy_m"]["mean"] < 2.0 and ev["power_w"]["mean"] > 0.0
    assert (result.run / "eval.json").is_file()


# -- SkillBench -------------------------------------------------------------------------------------


def test_button_press_scene_builds_steps_and_places_buttons_in_range():
    env = make_env("H1-SkillBench-ButtonPress", num_envs=2)
    model = env.scene.model
    assert model.geom(h1_skillbench.WALL_GEOM).contype != 0  # the wall is solid ...
    assert model.geom(h1_skillbench.BUTTON_GEOM).contype == 0  # ... the button is a marker on it
    # the walking clock and the skills' tail come last
    assert env.observation_dims()["policy"] == 9 + CLOCK + PROPRIO
    for _ in range(3):
        obs, reward, *_ = env.step(torch.zeros(2, 19))
        assert torch.isfinite(obs["policy"]).all() and torch.isfinite(reward).all()
    pos = h1_skillbench.button_pos_w(env)
    lo_y, hi_y = h1_skillbench.BUTTON_Y_RANGE
    lo_z, hi_z = h1_skillbench.BUTTON_Z_RANGE
    assert ((pos[:, 1] >= lo_y) & (pos[:, 1] <= hi_y) & (pos[:, 2] >= lo_z) & (pos[:, 2] <= hi_z)).all()
    assert not torch.allclose(pos[0], pos[1])  # drawn per world
    # The button geom sits on each world's drawn button (a per-world model field).
    gid = model.geom(h1_skillbench.BUTTON_GEOM).id
    torch.testing.assert_close(env.sim.model_field("geom_pos")[:, gid].double(), pos - env.env_origins)


def test_button_press_videos_draw_each_worlds_button(gl_backend):
    # Videos draw each world's own button, not the compiled one, and leave the env's model alone.
    from robolearn.render import WorldRenderer, _world_geometry

    env = make_env("H1-SkillBench-ButtonPress", num_envs=2)
    env.step(torch.zeros(2, 19))
    model = env.scene.model
    button = model.geom(h1_skillbench.BUTTON_GEOM).id
    compiled = model.geom_pos[button].copy()
    renderer = WorldRenderer(model, 64, 48, env.cfg.viewer)
    qpos = env.sim.qpos.cpu().numpy()
    for world in range(2):
        frame = renderer.render_state(qpos[world], geometry=_world_geometry(env, world))
        assert frame.shape == (48, 64, 3)
        drawn = renderer.model.geom_pos[button]
        assert drawn == pytest.approx(env.sim.model_field("geom_pos")[world, button].numpy())
        # The camera turns with the robot (the wall in front stays out of its line of sight).
        heading = math.degrees(float(yaw_from_quat(torch.as_tensor(qpos[world, 3:7]).unsqueeze(0))[0]))
        assert renderer.camera.azimuth == pytest.approx(heading + env.cfg.viewer.azimuth, abs=1e-3)
    renderer.close()
    assert model.geom_pos[button] == pytest.approx(compiled)


def test_button_accuracy_on_scripted_states():
    env = make_env("H1-SkillBench-ButtonPress", num_envs=3)
    wrists = h1_skills.wrist_pos_w(env)  # (3, 2, 3): left, right
    button = env.command_manager.get_command("button")
    # World 0: the button sits on the right wrist; world 1: 0.3 m beyond it, away from the left wrist;
    # world 2: on the left wrist (either hand may press).
    button[0] = wrists[0, 1]
    button[1] = wrists[1, 1] + torch.tensor([0.0, -0.3, 0.0], dtype=torch.float64)
    button[2] = wrists[2, 0]
    err = h1_skillbench.button_error(env)
    assert torch.allclose(err, torch.tensor([0.0, 0.3, 0.0], dtype=err.dtype), atol=1e-6), err
    assert h1_skillbench.button_pressed(env).tolist() == [True, False, True]
    assert torch.allclose(h1_skillbench.button_reach(env)[1], torch.tensor(math.exp(-4 * 0.3)), atol=1e-5)
    # The observation is the same vector in the pelvis heading frame: world 1's right-wrist entry has length 0.3.
    rel = h1_skillbench.button_from_wrists(env).reshape(3, 2, 3)
    assert rel[1, 1].norm() == pytest.approx(0.3, abs=1e-5)


def test_reach_waypoints_in_range_need_squatting_and_accuracy_on_scripted_states():
    env = make_env("H1-SkillBench-Reach", num_envs=64)
    assert env.observation_dims()["policy"] == 12 + CLOCK + PROPRIO
    env.step(torch.zeros(64, 19))
    targets = h1_skillbench._reach_targets(env)  # a view of the `waypoints` command
    wrists0 = h1_skills.default_points_h(env)["wrists"]
    # Both wrists share one offset from their default points; heights span knee to chest.
    dz = targets[:, :, 2] - (env.env_origins[:, 2:3] + h1_skills.WALK_BASE_HEIGHT + wrists0[:, 2])
    assert torch.allclose(dz[:, 0], dz[:, 1], atol=1e-9)
    lo, hi = h1_skillbench.REACH_OFFSET_Z
    assert (dz >= lo - 1e-9).all() and (dz <= hi + 1e-9).all()
    assert (dz[:, 0] < -h1_skills.REACH_RADIUS).any()  # some are beyond the reaching skill alone
    # Accuracy: scripted waypoints on the wrists (world 0) and 0.2 m below them (world 1).
    wrists = h1_skills.wrist_pos_w(env)
    targets[0] = wrists[0]
    targets[1] = wrists[1] - torch.tensor([0.0, 0.0, 0.2], dtype=torch.float64)
    err = h1_skillbench.reach_error(env)
    assert err[0].item() == pytest.approx(0.0, abs=1e-6) and err[1].item() == pytest.approx(0.2, abs=1e-6)
    assert h1_skillbench.waypoint_reach(env)[1].item() == pytest.approx(math.exp(-0.8), abs=1e-5)
    assert h1_skillbench.targets_from_wrists(env)[1].reshape(2, 3)[:, 2].tolist() == pytest.approx(
        [-0.2, -0.2], abs=1e-5
    )


def test_box_push_scene_builds_with_the_box_after_the_robot():
    env = make_env("H1-SkillBench-BoxPush", num_envs=2)
    # The robot's joints and default pose are untouched by the extra free body ...
    assert env.num_actions == 19 and env.robot.default_joint_pos[3] == pytest.approx(0.8)
    assert env.observation_dims()["policy"] == 11 + CLOCK + PROPRIO
    # ... and the box starts at rest on the floor inside its jitter box, its goal ahead of it.
    pos, quat = h1_skillbench.box_pose_w(env)
    assert torch.allclose(pos[:, 2], torch.full((2,), h1_skillbench.BOX_HALF_SIZE[2], dtype=pos.dtype))
    assert ((pos[:, 0] - h1_skillbench.BOX_START_X).abs() <= h1_skillbench.BOX_START_JITTER[0]).all()
    ahead = h1_skillbench.box_goal_xy_w(env)[:, 0] - pos[:, 0]
    lo, hi = h1_skillbench.BOX_GOAL_OFFSET_X
    assert ((ahead >= lo - 1e-6) & (ahead <= hi + 1e-6)).all()
    for _ in range(3):
        obs, reward, *_ = env.step(torch.zeros(2, 19))
        assert torch.isfinite(obs["policy"]).all() and torch.isfinite(reward).all()


def test_box_push_accuracy_and_hand_distance_on_scripted_states():
    env = make_env("H1-SkillBench-BoxPush", num_envs=2)
    box = env.scene[h1_skillbench.BOX]  # the box entity
    ids = torch.arange(2)
    goal = h1_skillbench.box_goal_xy_w(env)
    # World 0: the box on its goal; world 1: 0.3 m to the side of it.
    pose = box.root_pose_w.clone()
    pose[:, :2] = goal + torch.tensor([[0.0, 0.0], [0.0, 0.3]], dtype=goal.dtype)
    box.write_root_pose(ids, pose)
    err = h1_skillbench.box_error(env)
    assert torch.allclose(err, torch.tensor([0.0, 0.3], dtype=err.dtype), atol=1e-6), err
    assert get_task("H1-SkillBench-BoxPush").accuracy is h1_skillbench.box_error
    # Hands: box centre on world 0's right wrist (inside: 0); 0.1 m beyond its near face from world 1's.
    wrists = h1_skills.wrist_pos_w(env)
    half_x = h1_skillbench.BOX_HALF_SIZE[0]
    pose[:, :3] = wrists[:, 1] + torch.tensor([[0.0, 0.0, 0.0], [half_x + 0.1, 0.0, 0.0]], dtype=wrists.dtype)
    pose[:, 3:] = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=pose.dtype)
    box.write_root_pose(ids, pose)
    dist = h1_skillbench.wrists_to_box_surface(env)
    assert dist[0, 1] == pytest.approx(0.0, abs=1e-9) and dist[1, 1] == pytest.approx(0.1, abs=1e-6)


def test_skillbench_meter_on_scripted_steps():
    dt, c = 0.1, 0.01
    meter = SkillBenchMeter(num_envs=2, dt=dt)
    contact = torch.ones(2, 2, dtype=torch.bool)
    for t in range(5):
        vel = torch.full((2, 1), c * t * t)  # second difference 2c per step: jerk 2c / dt^2 = 2 rad/s^3
        feet = torch.zeros(2, 2, 2)
        feet[:, 0, 0] = 0.01 * t  # the left foot slides 0.1 m/s while planted; the right one holds
        done = torch.tensor([t == 4, False])
        touching = torch.tensor([t in (1, 2), False])  # world 0 touches itself on 2 of its 4 steps
        strained = torch.tensor([t == 3, True])
        meter.update(vel, torch.full((2, 1), 3.0), feet, contact, touching, strained, torch.full((2,), 0.1 * t),
                     done, done)  # fmt: skip
    m = meter.episodes
    assert len(m.accuracy) == 1  # world 1's episode is still running
    assert m.failed == [True]
    assert m.accuracy[0] == pytest.approx(0.3)  # the last state before the episode ended
    assert m.jerk[0] == pytest.approx(2.0)
    assert m.power[0] == pytest.approx(3 * c * (0 + 1 + 4 + 9) / 4)
    assert m.foot_slip[0] == pytest.approx(0.05)  # mean over both planted feet
    assert m.self_collision[0] == pytest.approx(0.5) and m.near_limit[0] == pytest.approx(0.25)


@pytest.mark.parametrize(
    "task, arm_in, legs_crossed",
    [
        # H1: the left arm swung in across the torso; the legs crossed at the knees
        ("H1-SkillBench-ButtonPress", {"left_shoulder_roll": -0.34, "left_elbow": -1.2},
         {"left_hip_roll": -0.43, "right_hip_roll": 0.43}),
        # G1 (collides through floor pairs only, so its own filter would hide these)
        ("G1-Skill-Reach", {"left_shoulder_roll_joint": -0.34},
         {"left_hip_roll_joint": -0.2, "right_hip_roll_joint": 0.2}),
    ],
)  # fmt: skip
def test_self_contact_finds_limbs_touching_and_nothing_in_the_default_pose(task, arm_in, legs_crossed):
    env = make_env(task, num_envs=3)
    model = env.scene.model
    default = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, default, env.robot.keyframe)
    q = torch.tensor(default.qpos).repeat(3, 1)
    for world, pose in ((1, arm_in), (2, legs_crossed)):
        for name, value in pose.items():
            q[world, model.joint(name).qposadr[0]] = value
    found = SelfContact(model, env.robot.base_id, default.qpos)(q)
    assert found.tolist() == [False, True, True]


def test_g1_reach_waypoints_hang_from_the_g1_and_blend_its_skills():
    from robolearn.envs.humanoid.g1_skills import G1, G1_TRUNK

    env = make_env("G1-SkillBench-Reach", num_envs=32)
    assert env.num_actions == 21
    env.step(torch.zeros(32, 21))
    targets = h1_skillbench._reach_targets(env)  # a view of the `waypoints` command
    wrists0 = h1_skills.default_points_h(env)["wrists"]
    dz = targets[:, :, 2] - (env.env_origins[:, 2:3] + G1.standing_height + wrists0[:, 2])
    lo, hi = h1_skillbench.REACH_OFFSET_Z
    assert (dz >= lo - 1e-9).all() and (dz <= hi + 1e-9).all()
    assert (
        targets[:, :, 2] - env.env_origins[:, 2:3]
    ).min() > 0.1  # knee height of a 1.3 m robot, not the floor
    assert env.cfg.scene.contact_sensors["trunk"].bodies == G1_TRUNK  # built: the G1 has these bodies
    assert h1_skillbench.BENCH_SKILLS["G1-SkillBench-Reach"] == ("G1-Skill-Reach", "G1-Skill-Squat")
    assert bench_accuracy("G1-SkillBench-Reach") is h1_skillbench.reach_error


def test_skillbench_meter_on_a_falling_robot():
    env = make_env("H1-SkillBench-ButtonPress", num_envs=2)
    meter = SkillBenchMeter(env.num_envs, env.step_dt, env.device)
    for _ in range(200):  # with zero actions the H1 falls within a few seconds
        _, _, terminated, time_out, _ = env.step(torch.zeros(2, 19))
        meter.update_from_env(env, h1_skillbench.button_error, terminated | time_out, terminated)
        if len(meter.episodes.accuracy) >= 2:
            break
    m = meter.episodes
    assert len(m.accuracy) >= 2 and all(m.failed)
    assert all(0.2 < a < 3.0 for a in m.accuracy)  # nowhere near the button, 1.2 m ahead
    assert all(math.isfinite(x) and x > 0 for x in m.jerk + m.power)


def test_blender_preset_is_the_tasks_ppo_preset():
    from robolearn.policies.presets import default_agent_cfg

    blender = default_agent_cfg("H1-SkillBench-Reach", "skillblender")
    flat = default_agent_cfg("H1-SkillBench-Reach", "ppo")
    assert isinstance(blender, SkillBlenderCfg) and blender.per_joint_weights
    for name in PpoCfg.__dataclass_fields__:  # same worlds, nets, noise and optimizer as the flat baseline
        assert getattr(blender, name) == getattr(flat, name), name
