"""The BiDex task family on real MuJoCo scenes: two LEAP hands, two items, the two-stage reward."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from robolearn.core import ManagerBasedRlEnv
from robolearn.envs.dexterous.bidex.generate import CATEGORIES, GRASP, generate_demo
from robolearn.envs.dexterous.bidex.reference import reference
from robolearn.envs.dexterous.bidex.schema import DemoFileError, load_demo, save_demo, split_tasks
from robolearn.envs.dexterous.bidex.task import bidex_env_cfg
from robolearn.envs.dexterous.bimanual import HANDS, palm_pos
from robolearn.registry import get_task


@pytest.fixture(scope="module")
def env() -> ManagerBasedRlEnv:
    cfg = bidex_env_cfg([generate_demo("stir", 0)], num_envs=2)
    e = ManagerBasedRlEnv(cfg)
    e.reset(seed=0)
    return e


def _hold(env: ManagerBasedRlEnv, target_palms: torch.Tensor, steps: int, grasp: bool = True) -> None:
    """Drive both wrists (slides only) so each palm centre goes to its target (N, 2, 3), fingers closed."""
    action = torch.zeros(env.num_envs, env.num_actions)
    dim = env.num_actions // 2
    for h in range(2):
        action[:, h * dim + 6 : (h + 1) * dim] = torch.as_tensor(GRASP).float() / 0.25 if grasp else 0.0
    for _ in range(steps):
        for h, side in enumerate(HANDS):
            err = target_palms[:, h] - palm_pos(env, side).float()
            q = env.scene[side].joint_pos[:, :3].float()
            action[:, h * dim : h * dim + 3] = (q + err) / 0.25
        env.step(action)


def _teleport_items(env: ManagerBasedRlEnv, pos: torch.Tensor, quat: torch.Tensor) -> None:
    ids = torch.arange(env.num_envs)
    for i, item in enumerate(("object", "tool")):
        env.scene[item].write_root_pose(ids, torch.cat([pos[:, i], quat[:, i]], -1).double())
        env.scene[item].write_root_velocity(ids, torch.zeros(env.num_envs, 6, dtype=torch.float64))
    env.sim.forward()


def test_scene_has_two_hands_and_two_items_at_rest(env):
    assert list(env.scene.entities) == ["left_hand", "right_hand", "table", "object", "tool"]
    ref = reference(env)
    start, _ = ref.item_pose()
    for _ in range(25):
        env.step(torch.zeros(2, env.num_actions))
    pos, _ = ref.item_pose()
    assert (pos - start).norm(dim=-1).max() < 0.01  # resting on the table, not falling or flying
    assert not ref.stage.any() and (ref.ref_idx == ref.tasks["ref"][0]).all()


def _grasp(env: ManagerBasedRlEnv) -> None:
    """Hands down over their items open, then closed: a top grasp of each item on the table."""
    ref = reference(env)
    for _ in range(30):  # following the items: a hand coming down nudges its item
        _hold(env, (ref.item_pose()[0] + torch.tensor([0.0, 0.0, 0.03])).float(), 1)
    assert ref.close().all(), ref.hand_distances()


def _grasp_and_teleport(env: ManagerBasedRlEnv, to_pos: torch.Tensor, to_quat: torch.Tensor) -> None:
    """Close both hands on their items on the table, then move hands and items together (a teleported grasp)."""
    ref = reference(env)
    _grasp(env)
    pos, _ = ref.item_pose()
    ids = torch.arange(env.num_envs)
    for h, side in enumerate(HANDS):
        q = env.scene[side].joint_pos.clone()
        q[:, :3] += (to_pos[:, h] - pos[:, h]).to(q)
        env.scene[side].write_joint_state(ids, q, torch.zeros_like(q))
    _teleport_items(env, to_pos.float(), to_quat.float())
    palms = torch.stack([palm_pos(env, side) for side in HANDS], 1)
    _hold(env, palms.float(), 1)


def test_teleported_grasp_switches_stage_and_reference_advances(env):
    env.reset(seed=1)
    ref = reference(env)
    reward_terms = env.reward_manager.step_values
    _grasp(env)
    assert not ref.stage.any()  # grasped on the table, far from the reference: no switch
    tgt_p, tgt_q = ref.ref_targets()
    _grasp_and_teleport(env, tgt_p, tgt_q)
    assert (ref.stage == 1).all(), (ref.hand_distances(), ref.item_pose()[0] - tgt_p)
    switched = ref.switch_step.clone()
    # the reference index moves one demo frame per two control steps from the switch
    for _ in range(6):
        palms = torch.stack([palm_pos(env, side) for side in HANDS], 1)
        _teleport_items(env, *[t.float() for t in ref.targets(ref.ref_idx)])
        _hold(env, palms.float(), 1)
        since = env.episode_length_buf.unsqueeze(-1) - switched
        assert (ref.ref_idx == ref.tasks["ref"][0] + since // 2).all()
    # item on its reference: tracking near its maximum, bonus paid (weights 2 and 1, times dt)
    dt = env.step_dt
    for side in ("left", "right"):
        track = reward_terms[f"{side}_stage2"] / (2.0 * dt)
        # max exp(0) + 0.2 = 1.2; within a step the item drops a little and the reference may move a frame
        assert (track > 0.9).all(), track
        assert (reward_terms[f"{side}_bonus"] / dt == 1.0).all()
        assert (reward_terms[f"{side}_stage1"] == 0).all()  # stage 1 is no longer paid
    assert ref.stage1_success().all() and ref.tracked.min() > 0


def test_stage1_alignment_is_paid_only_while_grasping(env):
    env.reset(seed=2)
    ref = reference(env)
    env.step(torch.zeros(2, env.num_actions))
    assert (env.reward_manager.step_values["left_stage1"] == 0).all()  # hands far: nothing
    assert (env.reward_manager.step_values["left_approach"] < 0).all()
    tgt_p, _ = ref.ref_targets()
    pos, quat = ref.item_pose()
    lifted = pos.clone()
    lifted[:, :, 2] += 0.2 * (tgt_p[:, :, 2] - pos[:, :, 2])  # a fifth of the way up to the reference
    _grasp_and_teleport(env, lifted, quat)
    assert ref.close().all()
    stage1 = env.reward_manager.step_values["left_stage1"] / env.step_dt
    assert (stage1 > 0.25).all() and (ref.stage == 0).all()  # 1 - d/d0 ~ 0.2, + 0.2 cos


def test_falling_item_ends_the_episode(env):
    env.reset(seed=3)
    ref = reference(env)
    pos, quat = ref.item_pose()
    pos[:, 1, 2] = ref.tasks["table"][0] - 0.2
    pos[:, 1, 1] = -0.8  # off the table's side
    _teleport_items(env, pos.float(), quat.float())
    _, _, terminated, _, _ = env.step(torch.zeros(2, env.num_actions))
    assert terminated.all()


def test_generated_categories_vary_and_round_trip(tmp_path):
    demos = [generate_demo(c, i) for c in CATEGORIES for i in range(2)]
    assert {d.name for d in demos} == {f"BiDex-{c}-{i}" for c in CATEGORIES for i in range(2)}
    a, b = demos[0], demos[1]
    assert a.table_height != b.table_height and not np.allclose(a.tool_pose[a.end], b.tool_pose[b.end])
    path = save_demo(a, tmp_path / "a.npz")
    back = load_demo(path)
    np.testing.assert_allclose(back.tool_pose, a.tool_pose)
    assert (back.init, back.ref, back.end) == (a.init, a.ref, a.end)
    trained, unseen = split_tasks([d.name for d in demos], 0.2, seed=0)
    assert len(unseen) == 2 and not set(trained) & set(unseen)
    assert split_tasks([d.name for d in demos], 0.2, seed=0) == (trained, unseen)


def test_malformed_task_file_names_the_file_and_field(tmp_path):
    d = generate_demo("cut", 0)
    d.end = d.num_frames + 3
    with pytest.raises(DemoFileError, match=r"field 'key_frames'.*T=75, got .*end=78"):
        save_demo(d, tmp_path / "bad.npz")
    assert not list(tmp_path.iterdir())  # nothing half-written
    d = generate_demo("cut", 0)
    d.tool_pose[5, :3, :3] *= 2.0
    with pytest.raises(DemoFileError, match=r"field 'tool_pose': frame 5 is not a rigid transform"):
        save_demo(d, tmp_path / "bad.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DemoFileError, match=r"junk.npz: field 'file'"):
        load_demo(tmp_path / "junk.npz")


def test_tasks_are_registered_per_demo_and_per_category():
    cfg = get_task("BiDex-pour-3").env_cfg()
    assert cfg.commands["reference"].tasks == ("generate:pour:3:0",)
    assert len(get_task("BiDex-brush").env_cfg().commands["reference"].tasks) == 5


def test_evaluation_counts_one_episode_per_world_with_intervals():
    import dataclasses

    from robolearn.envs.dexterous.bidex.evaluate import run_episodes, summarize, wilson

    demos = [generate_demo("pushpull", i) for i in range(2)]
    env = ManagerBasedRlEnv(dataclasses.replace(bidex_env_cfg(demos, num_envs=3), auto_reset=False))
    episodes = run_episodes(env, lambda obs: torch.zeros(3, env.num_actions), task=1)
    assert len(episodes) == 3 and all(e.task == 1 for e in episodes)
    assert (reference(env).task == 1).all()
    row = summarize(episodes)  # hands that never move: nothing is grasped, tracked or fulfilled
    assert row["fulfilled"] == row["stage1"] == row["stage2"] == row["mean_F"] == 0.0
    assert row["episodes"] == 3 and row["fulfilled_hi"] == pytest.approx(wilson(0, 3)[1]) and 0.4 < row["fulfilled_hi"] < 0.6
    lo, hi = wilson(8, 10)
    assert lo < 0.8 < hi and hi - lo < 0.5
