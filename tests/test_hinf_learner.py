"""H-infinity learner: reduces to PPO, dual-ascent sign, effort penalty, forces in the physics, bad input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from rsl_rl.algorithms import PPO

from robolearn.policies.cli import TrainArgs
from robolearn.policies.hinf import (
    CostFn,
    HInfLearner,
    HInfPPO,
    PidLagrangian,
    TrunkForce,
    check_env_for_hinf,
    fall_cost,
    gae,
    next_force_cap,
    squash_force,
)
from robolearn.policies.rsl_rl import RslRlVecEnv
from robolearn.policies.train import train
from robolearn.registry import get_task, make_env
from robolearn.rl import HInfCfg, PpoCfg

TASK = "A1-Velocity-HInf"
SMALL_NETS = dict(actor_hidden_dims=(32, 32), critic_hidden_dims=(32, 32), num_steps_per_env=8)


def small_env(num_envs: int, **env_overrides):
    cfg = dataclasses.replace(get_task(TASK).env_cfg(), num_envs=num_envs, **env_overrides)
    return make_env(TASK, cfg)


def test_lambda_zero_without_disturber_is_plain_ppo():
    """Same seed, same batch: one HInfPPO update leaves the actor and critic exactly where PPO's does."""
    env = small_env(8)
    vec = RslRlVecEnv(env)
    obs = vec.get_observations()
    ppo_cfg = PpoCfg(**SMALL_NETS)
    hinf_cfg = HInfCfg(**SMALL_NETS, disturber="off", constrained=False, lambda_init=0.0)
    torch.manual_seed(0)
    ppo = PPO.construct_algorithm(obs, vec, ppo_cfg.to_rsl_rl(), "cpu")
    torch.manual_seed(0)
    hinf = PPO.construct_algorithm(obs, vec, hinf_cfg.to_rsl_rl(), "cpu")
    assert isinstance(hinf, HInfPPO) and type(ppo) is PPO
    cost = CostFn(env, hinf_cfg.cost_terms)
    with torch.inference_mode():
        for t in range(ppo_cfg.num_steps_per_env):
            torch.manual_seed(100 + t)
            actions = ppo.act(obs)
            torch.manual_seed(100 + t)
            assert torch.equal(hinf.act(obs), actions)
            obs, reward, dones, extras = vec.step(actions)
            ppo.process_env_step(obs, reward, dones, extras)
            hinf.process_env_step(obs, reward, dones, {**extras, "cost": cost()})
        ppo.compute_returns(obs)
        hinf.compute_returns(obs)
    assert float(hinf.costs.abs().sum()) > 0  # the cost path ran, with lambda = 0 it must not matter
    torch.manual_seed(7)
    ppo.update()
    torch.manual_seed(7)
    losses = hinf.update()
    assert "cost_value" in losses
    for name, model in (("actor", "actor"), ("critic", "critic")):
        a, b = getattr(ppo, model).state_dict(), getattr(hinf, model).state_dict()
        for key in a:
            assert torch.equal(a[key], b[key]), f"{name}.{key} differs from plain PPO"
    assert hinf.learning_rate == ppo.learning_rate


def test_dual_update_sign():
    lag = PidLagrangian(lambda_init=0.5, ki=0.1)
    # Cost above the bound (constraint violated): lambda rises.
    assert lag.update(cost=2.0, bound=1.0) > 0.5
    high = lag.value
    # Cost below the bound: lambda falls, and never below zero.
    assert lag.update(cost=0.2, bound=1.0) < high
    for _ in range(50):
        lag.update(cost=0.0, bound=1.0)
    assert lag.value == 0.0
    # Disabled (unconstrained adversarial PPO): lambda stays put.
    frozen = PidLagrangian(lambda_init=0.0, enabled=False)
    assert frozen.update(cost=5.0, bound=0.0) == 0.0


def test_force_cap_rises_only_while_the_actor_tracks_and_stands():
    cfg = HInfCfg(force_max=12.0, force_step=1.0, curriculum_up=0.3, curriculum_down=1.0, curriculum_cost=0.35)
    assert next_force_cap(cfg, 10.0, falls_per_episode=0.1, cost_fraction=0.2) == 11.0
    assert next_force_cap(cfg, 12.0, falls_per_episode=0.1, cost_fraction=0.2) == 12.0  # capped at force_max
    # Standing without falling but not tracking: the cap waits (the actor must learn to walk first).
    assert next_force_cap(cfg, 10.0, falls_per_episode=0.0, cost_fraction=0.6) == 10.0
    assert next_force_cap(cfg, 10.0, falls_per_episode=1.5, cost_fraction=0.2) == 9.0
    assert next_force_cap(cfg, 0.5, falls_per_episode=1.5, cost_fraction=0.9) == 0.0


def test_falling_never_lowers_the_cost_to_go():
    """A robot that falls at step 3 must not look cheaper to the cost critic than one paying full cost forever."""
    gamma, max_cost, steps = 0.99, 0.045, 8
    zeros = torch.zeros(steps, 1, 1)
    standing = torch.full((steps, 1, 1), max_cost)
    tail = torch.tensor([[max_cost / (1 - gamma)]])  # bootstrap of a robot that keeps paying max cost
    falls = torch.full((steps, 1, 1), max_cost)
    falls[3] += fall_cost(max_cost, gamma)
    dones = torch.zeros(steps, 1, 1)
    dones[3] = 1.0
    # Discounted cost from step 0 (values 0, lam 1: plain discounted sums, bootstrapped at the end).
    standing_return = gae(standing, zeros, tail, torch.zeros_like(dones), gamma, 1.0)[0]
    falling_return = gae(falls, zeros, tail, dones, gamma, 1.0)[0]
    assert falling_return >= standing_return - 1e-6
    without_charge = gae(standing, zeros, tail, dones, gamma, 1.0)[0]
    assert without_charge < 0.5 * standing_return  # the failure mode the charge removes


def _expected_force_after_training(eta: float, iterations: int = 6) -> float:
    """Mean force magnitude (N) of the disturber's Gaussian policy on its last rollout's states."""
    env = small_env(32, seed=3)
    cfg = HInfCfg(
        num_envs=32, actor_hidden_dims=(32,), critic_hidden_dims=(32,), num_steps_per_env=8, hold_steps=2,
        eta=eta, force_start=60.0, force_max=60.0, disturber_hidden_dims=(32,), disturber_init_std=0.5,
        disturber_learning_rate=1e-2, disturber_schedule="fixed",
        # A short horizon: with a few iterations a long-horizon critic is still noise; the force's cost is immediate.
        disturber_gamma=0.5,
    )  # fmt: skip
    torch.manual_seed(0)
    learner = HInfLearner(env, cfg)
    for _ in range(iterations):
        stats, _ = learner.collect()
        learner.update(stats)
    assert learner.disturber is not None
    policy = learner.disturber.alg.get_policy()
    obs = learner.disturber.alg.storage.observations.flatten(0, 1)
    with torch.no_grad():
        policy(obs, stochastic_output=True)
        mean, std = policy.output_mean, policy.output_std
        # Monte Carlo over the policy's noise instead of one sample per state: a low-variance estimate.
        samples = mean + std * torch.randn(64, *mean.shape, generator=torch.Generator().manual_seed(0))
        return float(squash_force(samples, cfg.force_max).norm(dim=-1).mean())


def test_disturber_force_falls_as_eta_rises():
    cheap = _expected_force_after_training(eta=0.01)
    costly = _expected_force_after_training(eta=100.0)
    assert costly < 0.8 * cheap, (cheap, costly)


def test_force_reaches_the_trunk():
    """Twice the robot's weight upward on the trunk of world 0 lifts it; world 1 stays on the ground."""
    env = small_env(2)
    force = TrunkForce(env, env.cfg.base_body)
    up = torch.tensor([[0.0, 0.0, 2.0 * force.weight], [0.0, 0.0, 0.0]])
    force.set(up)
    zero_action = torch.zeros(2, env.num_actions)
    z0 = env.robot.root_pos_w[:, 2].clone()
    for _ in range(10):  # 0.2 s
        force.apply()
        env.step(zero_action)
    vz = env.sim.qvel[:, 2]
    # Net upward acceleration ~ g once the feet leave the ground: ~2 m/s after 0.2 s.
    assert vz[0] > 1.0 and abs(float(vz[1])) < 0.3, vz
    assert env.robot.root_pos_w[0, 2] > z0[0] + 0.1


@pytest.mark.parametrize(
    ("agent_kw", "env_kw", "message"),
    [
        ({"eta": 0.0}, {}, "eta must be > 0"),
        ({"eta": -1.0}, {}, "eta must be > 0"),
        ({"force_max": -5.0}, {}, "force caps must be >= 0"),
        ({}, {"base_body": ""}, "names no trunk body"),
        ({"trunk_body": "no_such_body"}, {}, "is not a body of a1"),
        ({"cost_terms": {"nope": 1.0}}, {}, "not reward terms"),
    ],
)
def test_bad_input_fails_before_training(tmp_path: Path, agent_kw, env_kw, message):
    env = dataclasses.replace(get_task(TASK).env_cfg(), **env_kw)
    agent = HInfCfg(**agent_kw)
    with pytest.raises(ValueError, match=message):
        check_env_for_hinf(agent, env)
    args = TrainArgs(task=TASK, algo="hinf", logdir=tmp_path, max_iterations=1, env=env, agent=agent)
    with pytest.raises(ValueError, match=message):
        train(args)
    assert not any(tmp_path.rglob("config.yaml")), "a run folder was created for a bad config"
