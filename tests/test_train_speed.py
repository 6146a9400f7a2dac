"""Training speed: the time shares a run records, the leaner symmetry update, the quickstart's walking loop."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest
import torch
from rsl_rl.algorithms import PPO

from robolearn.cli import main
from robolearn.policies import setup
from robolearn.policies.cli import TrainArgs
from robolearn.policies.presets import default_agent_cfg
from robolearn.policies.quickstart import train_until_walking
from robolearn.policies.rsl_rl import AugmentationOnlySymmetry, RslRlVecEnv, lean_symmetry
from robolearn.policies.runs import list_checkpoints, read_metrics
from robolearn.policies.throughput import SHARES, format_shares, raw_physics_rate, time_shares, torch_threads
from robolearn.policies.train import train
from robolearn.registry import get_task
from robolearn.rl import PpoCfg

SMALL = dict(num_envs=16, actor_hidden_dims=(32, 32), critic_hidden_dims=(32, 32))


def _fill_storage(alg: PPO, vec: RslRlVecEnv, steps: int) -> None:
    """One rollout of `steps` per world into the learner's storage, returns computed."""
    obs = vec.get_observations()
    with torch.inference_mode():
        for _ in range(steps):
            obs, reward, dones, extras = vec.step(alg.act(obs))
            alg.process_env_step(obs, reward, dones, extras)
        alg.compute_returns(obs)


def test_training_records_where_the_wall_time_went(tmp_path: Path):
    env = dataclasses.replace(get_task("Go2-Stand").env_cfg(), episode_length_s=1.0)
    agent = PpoCfg(**SMALL, max_iterations=3, save_interval=2, torch_threads=1, update_threads=2)
    run = train(TrainArgs(task="Go2-Stand", logdir=tmp_path, env=env, agent=agent)).run
    assert torch.get_num_threads() == 1, "the update's threads are given back for collection"
    rows = read_metrics(run)
    for row in rows:
        shares = {s: row[f"time/{s}"] for s in SHARES}
        assert all(v >= 0 for v in shares.values()), shares
        assert shares["physics"] > 0 and shares["update"] > 0
        # Physics, terms, inference and update are the iteration the loop timed as collect + learn.
        inner = shares["physics"] + shares["terms"] + shares["inference"] + shares["update"]
        assert inner == pytest.approx(row["collect_time"] + row["learn_time"], rel=0.05, abs=5e-3)
    assert rows[-1]["time/log"] > rows[0]["time/log"], "iteration 2's checkpoint and export are counted"
    totals = time_shares(rows)
    assert totals["physics"] == pytest.approx(sum(r["time/physics"] for r in rows))
    raw = raw_physics_rate(env, seconds=0.2)
    assert raw > 0
    table = "\n".join(format_shares(totals, rows[-1]["env_steps"], raw))
    assert "physics (mjbatch step)" in table and "ratio" in table


def test_leaner_symmetry_update_gives_the_same_networks():
    """Skipping rsl_rl's logging-only mirror loss changes no gradient: identical learners stay identical."""
    cfg = dataclasses.replace(default_agent_cfg("Go2-Velocity-Flat"), **SMALL, num_learning_epochs=2)
    assert cfg.symmetry
    env = setup.make_env(get_task("Go2-Velocity-Flat").env_cfg(), "cpu", num_envs=SMALL["num_envs"])
    vec = RslRlVecEnv(env)
    algs = []
    for _ in range(2):
        torch.manual_seed(0)
        algs.append(PPO.construct_algorithm(vec.get_observations(), vec, cfg.to_rsl_rl(), "cpu"))
    plain, lean = algs
    lean_symmetry(lean)
    assert (
        type(lean.symmetry) is AugmentationOnlySymmetry
        and type(plain.symmetry) is not AugmentationOnlySymmetry
    )
    _fill_storage(plain, vec, cfg.num_steps_per_env)
    lean.storage = plain.storage  # the same rollout; an update reads it and leaves its tensors as they are
    losses = []
    for alg in (plain, lean):
        torch.manual_seed(1)  # the minibatch permutation
        losses.append(alg.update())
    for key in ("surrogate", "value", "entropy"):
        assert losses[0][key] == losses[1][key], key
    assert math.isnan(losses[1]["symmetry"])
    for a, b in zip(plain.save().values(), lean.save().values(), strict=True):
        if isinstance(a, dict):
            for name in a:
                if isinstance(a[name], torch.Tensor):
                    assert torch.equal(a[name], b[name]), name


def test_torch_threads_restores_the_count():
    before = torch.get_num_threads()
    with torch_threads(1 if before > 1 else 2):
        assert torch.get_num_threads() != before
    assert torch.get_num_threads() == before


def test_quickstart_loop_stops_at_its_cap_and_keeps_a_resumable_run(tmp_path: Path):
    walk = train_until_walking(tmp_path, max_minutes=1e-3, check_every=1, num_envs=16, episodes=2)
    assert not walk.walked, "one iteration of 16 worlds does not walk"
    assert walk.checkpoint == list_checkpoints(walk.run)[-1] and walk.env_steps == 16 * 24
    assert 0 < walk.train_s < 60


def test_quickstart_loop_checks_between_chunks_that_continue_one_run(tmp_path: Path):
    walk = train_until_walking(tmp_path, max_minutes=10.0, check_every=1, num_envs=16, max_iterations=2)
    assert not walk.walked and walk.env_steps == 2 * 16 * 24
    rows = read_metrics(walk.run)
    assert [r["iteration"] for r in rows] == [0, 1], "the second chunk resumed the first, not a new run"
    assert [p.name for p in list_checkpoints(walk.run)] == ["model_000001.pt", "model_000002.pt"]


def test_quickstart_rejects_a_nonpositive_cap(tmp_path: Path, capsys):
    assert main(["quickstart", "--logdir", str(tmp_path), "--max-minutes", "0"]) == 2
    err = capsys.readouterr().err
    assert "max_minutes > 0" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir()), "nothing is written before the arguments are checked"


def test_bench_train_prints_the_time_shares_and_the_ratio_to_raw_physics(capsys):
    argv = [
        "bench",
        "Go2-Velocity-Flat",
        "--num-envs",
        "16",
        "--steps",
        "5",
        "--repeats",
        "1",
        "--train",
        "2",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 PPO iterations" in out and "PPO update" in out
    assert "training: 768 env steps" in out and "ratio" in out  # 16 worlds x 24 steps x 2 iterations


def test_bf16_update_moves_the_networks_as_float32_does_and_keeps_them_float32():
    """The bf16 autocast update: on the same rollout and minibatches, its losses and its parameter step
    stay close to float32's (bf16 keeps ~3 significant digits), and parameters and optimizer state stay
    float32. The trot preset takes it exactly where the learner's CPU multiplies bf16 natively, decided when
    the learner is built, and never on a GPU; a value that is none of true, false, "auto" is refused."""
    from robolearn.policies.plain_config import from_plain, to_plain
    from robolearn.rl import PpoCfg, cpu_has_native_bf16

    preset = default_agent_cfg("Go2-Velocity-Flat")
    assert preset.bf16_update == "auto"
    assert preset.to_rsl_rl("cpu")["algorithm"]["use_mixed_precision"] == cpu_has_native_bf16()
    assert preset.to_rsl_rl("cuda:0")["algorithm"]["use_mixed_precision"] is False
    assert from_plain(PpoCfg(), to_plain(preset)) == preset  # "auto" as config.yaml records it loads back
    with pytest.raises(ValueError, match="bf16_update: expected true, false or 'auto'"):
        dataclasses.replace(preset, bf16_update="yes").to_rsl_rl()  # type: ignore[arg-type]
    cfg = dataclasses.replace(default_agent_cfg("Go2-Velocity-Flat"), **SMALL, num_learning_epochs=1)
    env = setup.make_env(get_task("Go2-Velocity-Flat").env_cfg(), "cpu", num_envs=SMALL["num_envs"])
    vec = RslRlVecEnv(env)
    algs = []
    for bf16 in (False, True):
        torch.manual_seed(0)
        algs.append(PPO.construct_algorithm(vec.get_observations(), vec,
                                            dataclasses.replace(cfg, bf16_update=bf16).to_rsl_rl(), "cpu"))  # fmt: skip
    fp32, bf16 = algs
    assert bf16.use_mixed_precision and not fp32.use_mixed_precision
    _fill_storage(fp32, vec, cfg.num_steps_per_env)
    bf16.storage = fp32.storage
    start = {k: v.clone() for k, v in fp32.actor.state_dict().items()}
    losses = []
    for alg in (fp32, bf16):
        torch.manual_seed(1)
        losses.append(alg.update())
    assert losses[1]["surrogate"] == pytest.approx(losses[0]["surrogate"], abs=0.02)
    assert losses[1]["value"] == pytest.approx(losses[0]["value"], rel=0.05)
    for name, before in start.items():
        a, b = fp32.actor.state_dict()[name], bf16.actor.state_dict()[name]
        assert b.dtype == before.dtype, name
        if not before.is_floating_point():
            continue
        step_a, step_b = (a - before).flatten(), (b - before).flatten()
        if step_a.norm() > 0:
            cos = torch.nn.functional.cosine_similarity(step_a, step_b, dim=0)
            assert cos > 0.9, (name, float(cos))
    assert all(s.dtype == torch.float32 for g in bf16.optimizer.state.values() for s in g.values() if torch.is_tensor(s))
