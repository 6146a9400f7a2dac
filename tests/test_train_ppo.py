"""PPO training on rsl-rl through our run folders: learning, resume, export parity, eval, bad inputs."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from robolearn.cli import main
from robolearn.policies import setup
from robolearn.policies.cli import TrainArgs
from robolearn.policies.evaluate import eval_run, export_run, load_run_policy
from robolearn.policies.plots import plot_runs
from robolearn.policies.runs import RunError, list_checkpoints, load_checkpoint, read_metrics
from robolearn.policies.train import train
from robolearn.registry import get_task
from robolearn.rl import PpoCfg

TASK = "Go2-Stand"
ITERATIONS = 8
TINY = dict(num_envs=32, actor_hidden_dims=(32, 32), critic_hidden_dims=(32, 32), save_interval=4)


def tiny_args(logdir: Path, **kw) -> TrainArgs:
    env = dataclasses.replace(get_task(TASK).env_cfg(), episode_length_s=1.0)  # episodes end inside the test
    kw = {"max_iterations": ITERATIONS, "agent": PpoCfg(**TINY), **kw}
    return TrainArgs(task=TASK, logdir=logdir, env=env, **kw)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    return train(tiny_args(tmp_path_factory.mktemp("runs"))).run


def test_short_training_raises_return_and_fills_the_run_folder(trained: Path):
    rows = read_metrics(trained)
    assert [r["iteration"] for r in rows] == list(range(ITERATIONS))
    for key in (
        "env_steps",
        "wall_time",
        "mean_return",
        "mean_episode_length",
        "fps",
        "Episode_Reward/height",
    ):
        assert key in rows[-1], key
    # Random actions topple the robot within ~15 steps; standing is learnt within a few iterations.
    assert rows[-1]["mean_return"] > rows[0]["mean_return"] + 0.1
    assert rows[-1]["mean_episode_length"] > rows[0]["mean_episode_length"]
    assert [p.name for p in list_checkpoints(trained)] == ["model_000004.pt", "model_000008.pt"]
    for name in ("config.yaml", "policy.onnx", "policy.json", "policy.pt"):
        assert (trained / name).is_file(), name
    assert list(trained.glob("events.out.tfevents.*"))
    assert not (trained / "videos").exists()  # made by the first video written, not for every run
    assert not [p for p in trained.rglob("*") if p.is_dir() and not any(p.iterdir())]  # no empty folders
    assert "base_height_error" in (trained / "config.yaml").read_text()  # functions as module:qualname


def test_resume_restores_optimizer_and_normalizer_state(trained: Path, tmp_path: Path):
    run = tmp_path / trained.name
    shutil.copytree(trained, run)
    ckpt, state = load_checkpoint(run)
    spec = setup.spec_from_run(run)
    env = setup.make_env(spec.env, spec.device)
    from rsl_rl.algorithms import PPO

    from robolearn.policies.rsl_rl import RslRlVecEnv

    vec = RslRlVecEnv(env)
    alg = PPO.construct_algorithm(vec.get_observations(), vec, spec.agent.to_rsl_rl(), "cpu")
    alg.load(state, None, strict=True)
    saved = alg.save()
    norm = saved["actor_state_dict"]
    assert int(norm["obs_normalizer.count"]) > 0
    for key, value in state["actor_state_dict"].items():
        torch.testing.assert_close(saved["actor_state_dict"][key], value, rtol=0, atol=0)
    opt_a, opt_b = saved["optimizer_state_dict"], state["optimizer_state_dict"]
    assert opt_a["param_groups"][0]["lr"] == opt_b["param_groups"][0]["lr"] == state["learning_rate"]
    for k, s in opt_b["state"].items():
        torch.testing.assert_close(opt_a["state"][k]["exp_avg_sq"], s["exp_avg_sq"], rtol=0, atol=0)

    # End to end: two more iterations continue the numbering and the metrics file.
    result = train(TrainArgs(resume=run, max_iterations=ITERATIONS + 2))
    assert result.iterations == ITERATIONS + 2
    assert [r["iteration"] for r in read_metrics(run)] == list(range(ITERATIONS + 2))
    assert list_checkpoints(run)[-1].name == f"model_{ITERATIONS + 2:06d}.pt"
    assert read_metrics(run)[-1]["env_steps"] == (ITERATIONS + 2) * 32 * 24


def test_export_parity_onnx_torchscript_torch(trained: Path):
    import onnxruntime as ort

    paths = export_run(trained)
    pol = load_run_policy(trained)
    meta = json.loads(paths.json.read_text())
    assert meta["obs_dim"] == pol.env.observation_dims()["policy"]
    assert meta["joint_names"] == pol.env.action_manager.joint_names
    assert [t["name"] for t in meta["observation_terms"]][:2] == ["base_ang_vel", "projected_gravity"]
    assert sum(t["size"] for t in meta["observation_terms"]) * meta["history_length"] == meta["obs_dim"]
    assert meta["kp"] == [35.0] * 12 and meta["control_period"] == pytest.approx(0.02)
    assert len(meta["scene_xml_sha256"]) == 64
    obs = torch.randn(64, meta["obs_dim"], generator=torch.Generator().manual_seed(0)) * 3
    from tensordict import TensorDict

    with torch.no_grad():
        ref = pol.actor(TensorDict({"policy": obs}, batch_size=[64])).numpy()
        jit = torch.jit.load(str(paths.torchscript))(obs).numpy()
    onnx_out = ort.InferenceSession(str(paths.onnx)).run(None, {"obs": obs.numpy()})[0]
    np.testing.assert_allclose(onnx_out, ref, atol=1e-5, rtol=0)
    np.testing.assert_allclose(jit, ref, atol=1e-5, rtol=0)
    # The normalizer is inside the graph: raw and normalized inputs give different actions.
    assert not np.allclose(pol.actor.mlp(obs).detach().numpy()[:, :12], ref, atol=1e-3)


def test_eval_is_deterministic_under_a_seed(trained: Path, tmp_path: Path):
    a = eval_run(trained, episodes=6, seed=123, out=tmp_path / "a.json", quiet=True)
    b = eval_run(trained, episodes=6, seed=123, out=tmp_path / "b.json", quiet=True)
    assert a == b
    assert json.loads((tmp_path / "a.json").read_text()) == json.loads((tmp_path / "b.json").read_text())
    assert a["episodes"] == 6 and 0.0 <= a["failure_rate"]["mean"] <= 1.0
    c = eval_run(trained, episodes=6, seed=124, out=tmp_path / "c.json", quiet=True)
    assert c["return"]["mean"] != a["return"]["mean"]


def test_resume_rejects_another_task_and_a_changed_config(trained: Path):
    with pytest.raises(RunError, match="trained on task 'Go2-Stand'.*Go2-Velocity-Flat"):
        train(TrainArgs(task="Go2-Velocity-Flat", resume=trained))
    agent = PpoCfg(**{**TINY, "learning_rate": 3e-4})
    with pytest.raises(RunError, match=r"agent.learning_rate: 0.001 in the run, 0.0003 requested"):
        train(TrainArgs(resume=trained, agent=agent))
    env = dataclasses.replace(get_task(TASK).env_cfg(), episode_length_s=2.0)
    with pytest.raises(RunError, match=r"env.episode_length_s: 1.0 in the run, 2.0 requested"):
        train(TrainArgs(resume=trained, env=env))


def test_corrupt_checkpoint_names_the_file_and_the_previous_good_one(trained: Path, tmp_path: Path):
    folder = tmp_path / "run"
    shutil.copytree(trained, folder)
    latest = list_checkpoints(folder)[-1]
    latest.write_bytes(latest.read_bytes()[:100])  # a truncated file, as a full disk would leave
    with pytest.raises(RunError) as err:
        load_checkpoint(folder)
    assert str(latest) in str(err.value) and "model_000004.pt" in str(err.value)


def test_cli_reports_bad_runs_with_exit_status_2(trained: Path, tmp_path: Path, capsys):
    empty = tmp_path / "empty"
    shutil.copytree(trained, empty)
    shutil.rmtree(empty / "checkpoints")
    assert main(["export", str(empty)]) == 2
    assert "has no checkpoints" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "nowhere")]) == 2
    assert "neither a run folder nor a checkpoint" in capsys.readouterr().err
    assert main(["eval", str(trained), "--episodes", "2", "--out", str(tmp_path / "e.json")]) == 0
    assert json.loads((tmp_path / "e.json").read_text())["episodes"] == 2


def test_plot_runs_overlays_runs(trained: Path, tmp_path: Path):
    out = plot_runs([trained.parent], tmp_path / "curves.png")
    assert out.stat().st_size > 10_000
    with pytest.raises(RunError, match="no run folders"):
        plot_runs([tmp_path], tmp_path / "x.png")


def test_a_run_config_with_a_term_the_task_has_since_renamed_still_loads():
    from robolearn.envs.humanoid.h1_skills import H1WalkCfg, joint_pose
    from robolearn.policies.plain_config import from_plain, to_plain
    from robolearn.policies.runs import RunError

    default = H1WalkCfg()
    plain = to_plain(default)
    plain["rewards"]["old_hip_pose"] = plain["rewards"].pop("hip_yaw_roll_pose")
    plain["rewards"]["old_hip_pose"]["weight"] = 0.25
    rebuilt = from_plain(H1WalkCfg(), plain, "config.yaml: env")
    term = rebuilt.rewards["old_hip_pose"]
    assert term.func is joint_pose and term.weight == 0.25
    assert list(term.params["joints"]) == list(default.rewards["hip_yaw_roll_pose"].params["joints"])
    plain["rewards"]["old_hip_pose"]["func"] = "robolearn.nowhere:gone"
    with pytest.raises(RunError, match=r"config.yaml: env.rewards.old_hip_pose.func: cannot import"):
        from_plain(H1WalkCfg(), plain, "config.yaml: env")


def test_init_from_starts_a_fresh_run_from_a_trained_policy(trained: Path, tmp_path: Path):
    tuned = train(tiny_args(tmp_path / "tuned", init_from=trained, max_iterations=1)).run
    fresh = train(tiny_args(tmp_path / "fresh", max_iterations=1)).run

    def actor(run: Path) -> torch.Tensor:
        weights = load_checkpoint(run)[1]["actor_state_dict"]
        return torch.cat([v.flatten() for k, v in sorted(weights.items()) if "normalizer" not in k])

    # One update after the initialisation the actor is still near the trained one; a fresh network (same
    # seed: the trained run's starting point, one update on) is as far away as training moved it.
    source = actor(trained)
    assert (actor(tuned) - source).norm() < 0.5 * (actor(fresh) - source).norm()
    assert [p.name for p in list_checkpoints(tuned)] == ["model_000001.pt"]
    assert f"init_from: {trained}" in (tuned / "config.yaml").read_text()
    other = dataclasses.replace(
        tiny_args(tmp_path, init_from=trained), agent=PpoCfg(**{**TINY, "actor_hidden_dims": (16, 16)})
    )
    with pytest.raises(RunError, match="--init-from .*model_000008.pt: its networks do not fit"):
        train(other)
    assert list((tmp_path / TASK).iterdir()) == []  # the refused run left no folder behind
    with pytest.raises(RunError, match="does not combine with --resume"):
        train(TrainArgs(resume=trained, init_from=trained))


def _same(a, b, where: str = "checkpoint") -> list[str]:
    """Paths where two checkpoint trees differ (tensors and arrays compared bit for bit)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a for d in _same(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _same(x, y, f"{where}[{i}]")]
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return [] if a.dtype == b.dtype and torch.equal(a, b) else [where]
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return [] if np.array_equal(a, b) else [where]
    return [] if a == b or (a != a and b != b) else [f"{where}: {a!r} != {b!r}"]


def checkpoint_differences(a: Path, b: Path) -> list[str]:
    """Everything two checkpoints hold but the wall-clock time must be identical."""
    sa, sb = (torch.load(p, map_location="cpu", weights_only=False) for p in (a, b))
    sa.pop("wall_time"), sb.pop("wall_time")
    return _same(sa, sb)


def test_resumed_run_continues_bit_for_bit_and_old_checkpoints_are_pruned(tmp_path: Path):
    agent = PpoCfg(**{**TINY, "save_interval": 1, "keep_checkpoints": 2, "torch_threads": 1})
    straight = train(tiny_args(tmp_path / "a", max_iterations=5, agent=agent)).run
    stopped = train(tiny_args(tmp_path / "b", max_iterations=2, agent=agent)).run
    state = load_checkpoint(stopped)[1]
    assert state["episodes"]["returns"], "the return window travels with the checkpoint"
    resumed = train(TrainArgs(resume=stopped, max_iterations=5)).run

    # The same networks, optimizer, normalizer, env state and generators as the uninterrupted run.
    assert checkpoint_differences(list_checkpoints(straight)[-1], list_checkpoints(resumed)[-1]) == []
    # The curves continue: the first resumed iteration averages the episodes that ended before the stop too.
    rows_a, rows_b = read_metrics(straight), read_metrics(resumed)
    assert [r["mean_return"] for r in rows_a] == [r["mean_return"] for r in rows_b]
    assert [r["Loss/surrogate"] for r in rows_a] == [r["Loss/surrogate"] for r in rows_b]

    # keep_checkpoints=2: the two newest plus the best (highest mean_return at its iteration) stay.
    best = 1 + max(range(5), key=lambda i: (rows_a[i]["mean_return"], i))
    kept = {int(p.stem.split("_")[1]) for p in list_checkpoints(straight)}
    assert kept == {4, 5, best}
    meta = json.loads((straight / "policy.json").read_text())
    assert meta["checkpoint"] == "checkpoints/model_000005.pt"


def test_an_abort_re_exports_the_newest_checkpoint_when_the_export_is_older(trained: Path, tmp_path: Path):
    import onnxruntime as ort
    from rsl_rl.algorithms import PPO

    from robolearn.policies.lifecycle import abort_to_newest_checkpoint
    from robolearn.policies.rsl_rl import RslRlVecEnv

    run = tmp_path / trained.name
    shutil.copytree(trained, run)
    export_run(
        run, checkpoint=run / "checkpoints" / "model_000004.pt"
    )  # what a kill before the export leaves
    spec = setup.spec_from_run(run)
    env = setup.make_env(spec.env, spec.device)
    vec = RslRlVecEnv(env)
    alg = PPO.construct_algorithm(
        vec.get_observations(), vec, spec.agent.to_rsl_rl(), "cpu"
    )  # untrained weights

    result = abort_to_newest_checkpoint(run, spec, env, alg)
    assert result.interrupted and result.iterations == ITERATIONS
    assert json.loads((run / "policy.json").read_text())["checkpoint"] == "checkpoints/model_000008.pt"
    obs = torch.randn(8, json.loads((run / "policy.json").read_text())["obs_dim"])
    onnx_out = ort.InferenceSession(str(run / "policy.onnx")).run(None, {"obs": obs.numpy()})[0]
    ref = ort.InferenceSession(str(trained / "policy.onnx")).run(None, {"obs": obs.numpy()})[0]
    np.testing.assert_array_equal(onnx_out, ref)  # the newest checkpoint's policy, not model_4's


def test_a_checkpoint_written_before_env_state_was_saved_still_resumes(trained: Path, tmp_path: Path, capsys):
    run = tmp_path / trained.name
    shutil.copytree(trained, run)
    latest = list_checkpoints(run)[-1]
    old = torch.load(latest, weights_only=False)
    for key in ("env_state", "episodes", "rng"):  # what robolearn wrote before resumes continued the worlds
        del old[key]
    torch.save(old, latest)
    result = train(TrainArgs(resume=run, max_iterations=ITERATIONS + 1))
    assert result.iterations == ITERATIONS + 1 and not result.interrupted
    assert "holds no env state" in " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "env_state" in load_checkpoint(run)[1]  # the new checkpoint carries it
