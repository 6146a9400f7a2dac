"""Mirror symmetry: the mirrored observation equals the observation of the physically mirrored state."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from tensordict import TensorDict

from robolearn.core import ManagerBasedRlEnv, ObsTerm, mdp
from robolearn.core.symmetry import Mirror, MirrorError, augment, mirrored_name
from robolearn.registry import get_task

GAIT_PERIOD_STEPS = 20
"""A clock period of an even number of control steps, so half a period is a whole number of steps."""


def make(task: str = "Go2-Velocity-Flat") -> ManagerBasedRlEnv:
    cfg = dataclasses.replace(get_task(task).env_cfg(), num_envs=2)
    for group in cfg.observations.values():
        group.enable_noise = False
        if "gait_phase" in group.terms:
            group.terms["gait_phase"].params["period"] = GAIT_PERIOD_STEPS * cfg.sim.dt * cfg.decimation
    cfg.sim.num_threads = 1
    return ManagerBasedRlEnv(cfg)


def mirror_world(env: ManagerBasedRlEnv, mirror: Mirror) -> None:
    """Reflect world 0's physical state about the x-z plane into world 1."""
    qpos, qvel = env.sim.qpos, env.sim.qvel
    q, v = qpos[0].clone(), qvel[0].clone()
    q[1] = -q[1]
    q[3:7] = q[3:7] * torch.tensor([1.0, -1.0, 1.0, -1.0], dtype=q.dtype)
    v[1] = -v[1]
    v[3:6] = v[3:6] * torch.tensor([-1.0, 1.0, -1.0], dtype=v.dtype)
    robot = env.robot
    q[robot._q] = (
        mirror.actions(qpos[0, robot._q].float() - robot.default_joint_pos.float()).to(q)
        + robot.default_joint_pos
    )
    v[robot._v] = mirror.actions(qvel[0, robot._v].float()).to(v)
    qpos[1], qvel[1] = q, v


def test_mirrored_names():
    assert mirrored_name("FL_hip_joint") == "FR_hip_joint" and mirrored_name("RR_calf") == "RL_calf"
    assert mirrored_name("left_knee_joint") == "right_knee_joint" and mirrored_name("torso") == "torso"


@pytest.mark.parametrize("task", ["Go2-Velocity-Flat", "G1-Velocity-Flat"])
def test_mirrored_observation_is_the_observation_of_the_mirrored_state(task):
    env = make(task)
    env.reset(seed=0)
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):  # a moving, tilted, non-default state with a non-trivial last action
        env.step(0.5 * torch.randn(2, env.num_actions, generator=gen))
    mirror = Mirror(env)
    mirror_world(env, mirror)
    env.sim.forward(torch.arange(2))
    env.robot.update()
    env.command_manager.get_command("base_velocity")[1] = env.command_manager.get_command("base_velocity")[0] * torch.tensor([1.0, -1.0, -1.0])
    env.action_manager.action[1] = mirror.actions(env.action_manager.action[0])
    # The mirror swaps the legs a trot runs half a period apart: the mirrored robot is half a period on.
    env.episode_length_buf[1] = env.episode_length_buf[0] + GAIT_PERIOD_STEPS // 2
    obs = env.observation_manager.compute(update_history=False)
    for group in ("policy", "critic"):
        mirrored = mirror.observations(group, obs[group][0])
        torch.testing.assert_close(mirrored, obs[group][1], atol=1e-4, rtol=1e-4, msg=group)
    # Mirroring twice is the identity.
    torch.testing.assert_close(
        mirror.observations("policy", mirror.observations("policy", obs["policy"])), obs["policy"]
    )


def test_augment_doubles_the_batch_with_mirrored_rows():
    env = make()
    obs, _ = env.reset(seed=0)
    td = TensorDict(obs, batch_size=[2])
    actions = torch.randn(2, 12)
    aug_obs, aug_act = augment(env, td, actions)
    assert aug_obs["policy"].shape == (4, 50) and aug_act.shape == (4, 12)
    torch.testing.assert_close(aug_act[2:], env._mirror.actions(actions))
    torch.testing.assert_close(aug_obs["critic"][:2], td["critic"])


def test_a_term_without_a_mirror_rule_is_named():
    cfg = dataclasses.replace(get_task("Go2-Velocity-Flat").env_cfg(), num_envs=2)
    cfg.observations["policy"].terms["time"] = ObsTerm(mdp.base_height)
    cfg.observations["policy"].terms["time"].func = lambda env: env.episode_length_buf.float().unsqueeze(-1)
    env = ManagerBasedRlEnv(cfg)
    with pytest.raises(MirrorError, match="'time'"):
        Mirror(env)


def test_scan_mirror_maps_each_grid_point_to_its_reflection():
    from robolearn.core.symmetry import grid_mirror
    from robolearn.envs.locomotion.confined3d.heightmap import scan_points

    shape = (21, 11)
    pts = scan_points((2.0, 1.0), shape, torch.device("cpu"))
    layer = torch.repeat_interleave(torch.tensor([0.0, 1.0], dtype=pts.dtype), len(pts))
    two_layers = torch.cat([pts, pts])
    perm = torch.as_tensor(grid_mirror(len(two_layers), shape))
    torch.testing.assert_close(layer[perm], layer)  # a reading stays in its layer
    torch.testing.assert_close(two_layers[perm], two_layers * torch.tensor([1.0, -1.0], dtype=pts.dtype))
    with pytest.raises(MirrorError, match="21 x 11"):
        grid_mirror(100, shape)


def test_confined_task_mirrors_its_waypoint_and_scan_terms():
    env = make("Go1-Confined3D")
    obs, _ = env.reset(seed=0)
    mirror = Mirror(env)
    dims = env.observation_manager.term_dims["policy"]
    names = list(dims)
    start = sum(dims[n] for n in names[: names.index("waypoint")])
    x = obs["policy"]
    m = mirror.observations("policy", x)
    # waypoint (dx, dy, dz, sin, cos, is_goal): lateral offset and relative yaw change sign
    torch.testing.assert_close(
        m[:, start : start + 6], x[:, start : start + 6] * torch.tensor([1.0, -1, 1, -1, 1, 1])
    )
    torch.testing.assert_close(mirror.observations("policy", m), x)


def test_rules_live_on_the_terms_of_every_task_that_trains_with_symmetry():
    from robolearn.policies.presets import default_agent_cfg
    from robolearn.registry import task_names

    symmetric = [t for t in task_names("rl") if getattr(default_agent_cfg(t), "symmetry", False)]
    assert {"Go2-Velocity-Flat", "A1-Velocity-HInf", "H1-Skill-Walk", "Go1-Confined3D"} <= set(symmetric)
    for task in symmetric:
        for group in get_task(task).env_cfg().observations.values():
            missing = [name for name, term in group.terms.items() if term.mirror is None]
            assert not missing, (task, missing)


def test_a_rule_of_the_wrong_size_is_refused():
    from robolearn.core.symmetry import Signs

    cfg = dataclasses.replace(get_task("Go2-Velocity-Flat").env_cfg(), num_envs=2)
    cfg.observations["policy"].terms["base_lin_vel"].mirror = Signs((1.0, -1.0))
    with pytest.raises(MirrorError, match="'base_lin_vel'.* 3 values"):
        Mirror(ManagerBasedRlEnv(cfg))


def test_height_scan_rule_maps_each_grid_point_to_its_reflection():
    from robolearn.core.mdp.sensors import grid_points
    from robolearn.core.symmetry import GridMirror

    term = get_task("Go2-Velocity-Rough").env_cfg().observations["policy"].terms["height_scan"]
    pts = grid_points((1.6, 1.0), 0.2, torch.device("cpu"))  # mdp.height_scan's defaults
    assert isinstance(term.mirror, GridMirror)
    perm, sign = term.mirror.maps(None, term, len(pts), (None, None))
    torch.testing.assert_close(pts[torch.as_tensor(perm)], pts * torch.tensor([1.0, -1.0], dtype=pts.dtype))
    assert (sign == 1).all()


def test_mirror_rules_survive_a_run_folders_config():
    from robolearn.policies.plain_config import from_plain, to_plain

    cfg = get_task("Go1-Confined3D").env_cfg()
    plain = to_plain(cfg)
    assert plain["observations"]["policy"]["terms"]["waypoint"]["mirror"] == {"signs": [1.0, -1.0, 1.0, -1.0, 1.0, 1.0]}
    back = from_plain(get_task("Go1-Confined3D").env_cfg(), plain)
    for name, term in cfg.observations["critic"].terms.items():
        assert back.observations["critic"].terms[name].mirror == term.mirror, name
