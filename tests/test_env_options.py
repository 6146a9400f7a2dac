"""Env options for scenes and loops other than RL locomotion: no floor (an entity is the ground) and no auto-reset."""

from __future__ import annotations

import pytest
import torch

from robolearn.core import (
    EnvCfg,
    ManagerBasedRlEnv,
    ObsGroupCfg,
    ObsTerm,
    SceneEntityCfg,
    TerminationTerm,
    mdp,
)
from robolearn.entities import BoxEntityCfg
from robolearn.scene import SceneCfg, build_scene
from robolearn.terrain import TerrainCfg


def _box_on_table(auto_reset: bool, terrain: str = "none") -> EnvCfg:
    scene = SceneCfg(robot="", terrain=TerrainCfg(kind=terrain), entities={
        "table": BoxEntityCfg(half_size=(0.3, 0.3, 0.02), pos=(0.0, 0.0, -0.02), free=False),
        "box": BoxEntityCfg(half_size=(0.02, 0.02, 0.02), pos=(0.0, 0.0, 0.1)),
    })  # fmt: skip
    box = SceneEntityCfg("box")
    return EnvCfg(scene=scene, observations={"policy": ObsGroupCfg({"z": ObsTerm(mdp.root_pos, params={"asset_cfg": box})})},
                  rewards={}, terminations={"time_out": TerminationTerm(mdp.time_out, time_out=True)}, actions={},
                  num_envs=2, decimation=10, episode_length_s=0.4, base_body="", auto_reset=auto_reset)  # fmt: skip


def test_no_floor_terrain_leaves_the_ground_to_an_entity():
    with_floor = build_scene(_box_on_table(True, "flat").scene).model
    without = build_scene(_box_on_table(True, "none").scene).model
    assert with_floor.ngeom == without.ngeom + 1
    assert not any((without.geom(i).name or "").startswith("terrain/") for i in range(without.ngeom))
    env = ManagerBasedRlEnv(_box_on_table(True))
    for _ in range(8):  # of 10 steps per episode: the 8 cm fall takes ~3
        env.step(torch.zeros(2, 0))
    assert env.scene["box"].root_pos_w[:, 2].sub(0.02).abs().max() < 2e-3  # it fell onto the table top, z = 0
    with pytest.raises(ValueError, match="terrain.kind must be one of 'flat', 'rough', 'none'"):
        build_scene(_box_on_table(True, "lava").scene)


def test_without_auto_reset_step_reports_the_end_and_keeps_the_world():
    env = ManagerBasedRlEnv(_box_on_table(False))
    steps = env.max_episode_length
    for _ in range(steps):
        _, _, _, time_out, _ = env.step(torch.zeros(2, 0))
    assert time_out.all() and (env.episode_length_buf == steps).all()
    assert env.scene["box"].root_pos_w[:, 2].max() < 0.05  # fallen, not put back at 0.1
    env.reset()
    assert (env.episode_length_buf == 0).all() and env.scene["box"].root_pos_w[:, 2].min() > 0.09
    rl = ManagerBasedRlEnv(_box_on_table(True))
    for _ in range(steps):
        _, _, _, time_out, _ = rl.step(torch.zeros(2, 0))
    assert time_out.all() and (rl.episode_length_buf == 0).all()  # the default: reset inside step
