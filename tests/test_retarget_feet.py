"""Contact-aware retargeting on real CMU clips: stance detection, foot locking, smoothing without lag,
velocity limits, self-collision avoidance, and the robots added with it (Booster T1, Go2)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

DATA = Path(os.environ.get("ROBOLEARN_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
os.environ.setdefault("MENAGERIE_ROOT", str(DATA.parent / "menagerie"))

from robolearn.retarget.api import retarget_motion  # noqa: E402
from robolearn.retarget.body import BodySolverConfig, HumanoidRetargeter  # noqa: E402
from robolearn.retarget.contacts import contact_phases, foot_contacts, point_speeds  # noqa: E402
from robolearn.retarget.metrics import joint_limit_violations  # noqa: E402
from robolearn.retarget.scaling import BodyScaler  # noqa: E402
from robolearn.retarget.skeleton import BODY_POINTS, body_points  # noqa: E402
from robolearn.retarget.smoothing import limit_velocity, zero_phase_lowpass  # noqa: E402
from robolearn.retarget.sources import load_bvh  # noqa: E402

WALK = DATA / "mocap" / "cmu" / "131_01.bvh"


@pytest.fixture(scope="module")
def walk():
    return load_bvh(WALK).slice(0, 480)  # 4 s: start, then about four steps


def test_contacts_find_alternating_stance_phases_on_a_cmu_walk(walk):
    human, _ = body_points(walk)
    targets = BodyScaler.fit(human, HumanoidRetargeter("g1").rest_points).apply(human)
    contacts = foot_contacts(targets, walk.fps)
    for side in ("left", "right"):
        heel = contacts[f"{side}_ankle"]
        phases = contact_phases(heel)
        assert len(phases) >= 2, (side, phases)
        assert all(e - s >= 0.1 * walk.fps for s, e in phases)
        assert 0.2 < heel.mean() < 0.9  # stance and swing both present
        k = BODY_POINTS.index(f"{side}_ankle")
        speed = point_speeds(targets[:, [k]], walk.fps, 1 / 30)[:, 0]
        assert np.median(speed[heel]) < 0.2 and np.median(speed[~heel]) > 0.4
    # A walk: some frames have one heel down and the other up, on each side.
    left, right = contacts["left_ankle"], contacts["right_ankle"]
    assert (left & ~right).any() and (right & ~left).any()


def test_locking_halves_stance_skating(walk):
    short = walk.slice(0, 240)
    off = BodySolverConfig(
        lock_feet=False, avoid_self_collision=False, smooth_cutoff_hz=0, ik_velocity_factor=1
    )
    on = BodySolverConfig(avoid_self_collision=False)
    before = retarget_motion(short, "g1", config=off, check_self_collision=False).metrics
    after = retarget_motion(short, "g1", config=on, check_self_collision=False).metrics
    assert before.stance_skating > 0.05  # the clip does skate without locking
    assert after.stance_skating <= 0.5 * before.stance_skating, (before.stance_skating, after.stance_skating)
    assert after.jitter < before.jitter  # and the zero-phase filter removes the solver's jitter
    assert after.keypoint_error_overall < 0.05


def test_self_collision_limit_keeps_hands_off_hips_and_torso(walk):
    """The CMU 131 actor's hands pass close to the hips: G1's wrists go into its hip links without the limit."""
    short = walk.slice(0, 120)
    cfg = dict(lock_feet=False, smooth_cutoff_hz=0)
    before = retarget_motion(short, "g1", config=BodySolverConfig(avoid_self_collision=False, **cfg)).metrics
    after = retarget_motion(short, "g1", config=BodySolverConfig(**cfg)).metrics
    assert before.self_collision_frames > 10
    assert after.self_collision_frames == 0
    assert after.keypoint_error_overall < 0.05


def test_velocity_limit_spreads_peaks_without_lag():
    fps = 100.0
    t = np.arange(200) / fps
    x = np.where(t > 1.0, 1.0, 0.0)[:, None] * np.array([1.0, -2.0])  # a step: infinite velocity
    y = limit_velocity(x, fps, vmax=5.0)
    assert np.abs(np.diff(y, axis=0)).max() * fps <= 5.0 + 1e-9
    assert y.min() >= x.min() - 1e-12 and y.max() <= x.max() + 1e-12  # inside the input's range
    # no lag: the ramp is centred on the step (half-way value at the step time)
    k = int(np.argmin(np.abs(y[:, 0] - 0.5)))
    assert abs(t[k] - 1.0) <= 0.02
    smooth = zero_phase_lowpass(np.sin(2 * np.pi * 1.0 * t)[:, None], fps, cutoff_hz=8.0)[:, 0]
    assert np.argmax(smooth[:100]) == np.argmax(np.sin(2 * np.pi * t[:100]))  # the peak does not move


def test_retargeted_velocity_peaks_stay_under_the_limit(walk):
    cfg = BodySolverConfig(joint_velocity_limit=8.0, avoid_self_collision=False)
    res = retarget_motion(walk.slice(0, 240), "g1", config=cfg, check_self_collision=False)
    assert res.metrics.joint_velocity_peak <= 8.0 + 1e-6
    assert res.metrics.limit_violations == 0


def test_t1_retargets_a_cmu_clip(walk):
    res = retarget_motion(walk.slice(0, 120), "t1", check_self_collision=False)
    clip = res.clip
    assert clip.robot == "t1" and clip.qpos.shape == (120, 30)
    assert np.isfinite(clip.qpos).all()
    from robolearn.robots import robot_model

    assert joint_limit_violations(robot_model("t1"), clip.qpos) == (0, 0.0)
    m = res.metrics
    assert m.keypoint_error_overall < 0.06 and m.penetration_mm <= 5.0
    assert {"left_toe", "left_wrist", "right_knee"} <= set(m.keypoint_error_mean)


def test_go2_turns_a_human_walk_into_a_trot():
    """Frames 540-780 of CMU 131_01: about 2 m of straight walking."""
    from robolearn.retarget.quadruped import QUADRUPED_MAPS, QuadrupedConfig, foot_heights, retarget_quadruped
    from robolearn.robots import robot_model

    motion = load_bvh(WALK).slice(540, 780)
    res = retarget_motion(motion, "go2")
    qpos, model = res.clip.qpos, robot_model("go2")
    assert res.clip.robot == "go2" and qpos.shape == (240, 19) and np.isfinite(qpos).all()
    assert joint_limit_violations(model, qpos) == (0, 0.0)
    assert res.metrics.penetration_mm <= 5.0
    # The base follows the pelvis path, scaled, facing where it goes.
    human, _ = body_points(motion)
    walked = human[-1, BODY_POINTS.index("pelvis"), :2] - human[0, BODY_POINTS.index("pelvis"), :2]
    moved = qpos[-1, :2] - qpos[0, :2]
    assert np.linalg.norm(walked) > 1.5
    assert moved @ walked / (np.linalg.norm(moved) * np.linalg.norm(walked)) > 0.95
    assert 0.2 < np.linalg.norm(moved) / np.linalg.norm(walked) < 0.6  # leg-length ratio, Go2 vs human
    w, x, y, z = qpos[len(qpos) // 2, 3:7]
    forward = np.array([1 - 2 * (y * y + z * z), 2 * (x * y + w * z)])
    assert forward @ moved / np.linalg.norm(moved) > 0.9
    # Trot: diagonal feet lift together, the feet on one side never both.
    lifted = foot_heights(model, qpos, QUADRUPED_MAPS["go2"].feet) > 0.01
    fl, fr, rl, rr = lifted.T
    assert fl.mean() > 0.1 and fr.mean() > 0.1
    assert (fl & rr).sum() >= 0.8 * fl.sum() and (fr & rl).sum() >= 0.8 * fr.sum()
    assert (fl & rl).mean() < 0.05 and (fr & rr).mean() < 0.05
    # Planted feet stay put: locking at least halves the stance skating of the plain solver.
    plain = retarget_quadruped(motion, config=QuadrupedConfig(lock_feet=False, smooth_cutoff_hz=0.0))
    assert res.metrics.stance_skating <= 0.5 * plain.metrics.stance_skating, (
        res.metrics.stance_skating,
        plain.metrics.stance_skating,
    )


def test_t1_toe_and_wrist_points_are_read_off_its_collision_geometry():
    """T1's map gives no numbers for its toe and wrist: they come from the MJCF's foot box and forearm
    cylinder (front of the sole, centred; far end of the forearm axis)."""
    from robolearn.retarget.humanoids import TIP, TOE, resolve_offset
    from robolearn.robots import robot_model

    model = robot_model("t1")
    foot = model.body("left_foot_link").id
    box = next(g for g in range(model.ngeom) if model.geom_bodyid[g] == foot and model.geom_contype[g])
    (cx, cy, cz), (hx, _, hz) = model.geom_pos[box], model.geom_size[box]
    np.testing.assert_allclose(
        resolve_offset(model, "left_foot_link", TOE), [cx + hx, cy, cz - hz], atol=1e-9
    )
    wrist = resolve_offset(model, "left_hand_link", TIP)
    solver = HumanoidRetargeter("t1")
    rest = solver.rest_points
    forearm = np.linalg.norm(rest[BODY_POINTS.index("left_wrist")] - rest[BODY_POINTS.index("left_elbow")])
    assert abs(forearm - np.linalg.norm(wrist)) < 1e-9 and 0.15 < forearm < 0.3
    with pytest.raises(ValueError, match="expected a 3-vector"):
        resolve_offset(model, "left_foot_link", "heel")


def test_go2_locked_feet_add_no_jitter_on_a_cmu_clip_that_drifts_from_planted_feet():
    """CMU 131_03: the pelvis path drifts up to 0.55 m from a planted foot over one stance. Unbounded locks,
    target steps at touchdown and a 0.15 s catch-up after lift-off made the Go2 legs swing between their
    joint limits: mean jerk 1637 rad/s^3 against 459 for the plain solver."""
    from robolearn.retarget.quadruped import QuadrupedConfig, retarget_quadruped

    motion = load_bvh(DATA / "mocap" / "cmu" / "131_03.bvh")
    plain = retarget_quadruped(motion, config=QuadrupedConfig(lock_feet=False, smooth_cutoff_hz=0.0)).metrics
    after = retarget_quadruped(motion).metrics
    assert after.jitter <= plain.jitter, (after.jitter, plain.jitter)
    assert after.stance_skating <= 0.5 * plain.stance_skating, (after.stance_skating, plain.stance_skating)
    assert after.limit_violations == 0 and max(after.keypoint_error_mean.values()) < 0.01


def test_t1_keeps_its_crossing_feet_apart_without_adding_jitter():
    """CMU 131_02 frames 740-800: a walk whose feet cross, so T1's box feet overlap on every frame without
    the limit. The solver used to leave overlaps (no collision rows in the orientation stage, a 4-step
    push-out) and its foot locks fought the box-to-box rows: 4 frames, mean jerk 5.9x the plain solver's
    here (whole clip: 29 frames, 2.6x; now 0 frames, 0.7x). Half a second includes the first-frame
    transient, hence the slack."""
    motion = load_bvh(DATA / "mocap" / "cmu" / "131_02.bvh").slice(740, 800)
    plain = BodySolverConfig(
        lock_feet=False, avoid_self_collision=False, smooth_cutoff_hz=0, ik_velocity_factor=1
    )
    before = retarget_motion(motion, "t1", config=plain).metrics
    after = retarget_motion(motion, "t1").metrics
    assert before.self_collision_frames == motion.num_frames  # the source's feet do cross
    assert after.self_collision_frames == 0
    assert after.jitter <= 1.5 * before.jitter, (after.jitter, before.jitter)
    assert after.limit_violations == 0 and after.keypoint_error_overall < 0.06
