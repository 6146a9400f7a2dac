"""HERMES learners: a tiny residual PPO run raises the return; the depth student distils and exports."""

from __future__ import annotations

import math

import numpy as np
import onnxruntime as ort
import pytest

from robolearn.policies.hermes import (
    ExpertCfg,
    StudentCfg,
    evaluate,
    export_student,
    train_expert,
    train_student,
    wilson,
)


@pytest.fixture(scope="module")
def expert():
    cfg = ExpertCfg(task="pour", mode="residual", num_envs=16, iterations=19, steps_per_env=24, hidden=(64, 64),
                    init_noise_std=1.0, seed=0)  # fmt: skip
    return train_expert(cfg)


def test_tiny_residual_rl_run_raises_the_return(expert):
    """The return of the episodes that ended (a time-out or a dropped object), first ones against last ones:
    the per-iteration step reward would not do, since each iteration sits at another phase of the episode."""
    returns = [r["mean_return"] for r in expert.rows if np.isfinite(r["mean_return"])]
    assert len(returns) >= 8
    assert np.mean(returns[-3:]) > np.mean(returns[:3]) + 0.5, returns
    assert expert.env_steps == 19 * 16 * 24


def test_evaluation_counts_episodes_and_wilson_interval(expert):
    res = evaluate("pour", "residual", expert.policy, episodes=4, seed=7)
    assert res.episodes == 4 and 0 <= res.successes <= 4 and math.isfinite(res.tracking_error_m)
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and 0.25 < hi < 0.35  # the textbook 95 % Wilson bound for 0 of 10 is 0.278
    lo, hi = wilson(5, 10)
    assert lo < 0.5 < hi


def test_depth_student_distils_by_dagger_and_exports_to_onnx(expert, tmp_path):
    res = train_student(
        "pour", expert.policy, StudentCfg(num_envs=8, iterations=3, steps_per_env=12, epochs=10)
    )
    # the aggregate grows with the student's own (harder) states, so its loss need not fall every iteration;
    # on the teacher's own states the final student must imitate far better than the untrained one
    assert len(res.losses) == 3 and res.teacher_states_loss < 0.5 * res.initial_loss
    path = export_student(res.student, tmp_path / "student.onnx")
    sess = ort.InferenceSession(str(path))
    (inp,) = sess.get_inputs()
    assert inp.name == "obs" and inp.shape[1] == res.student.mean.shape[0]
    out = sess.run(None, {"obs": np.zeros((2, inp.shape[1]), np.float32)})[0]
    assert out.shape == (2, 44) and np.isfinite(out).all()
