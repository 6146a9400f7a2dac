"""The shared two-LEAP-hand scene builder and the ray-cast depth camera, on real MuJoCo scenes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from robolearn.core import (
    EnvCfg,
    JointPositionActionCfg,
    ManagerBasedRlEnv,
    ObsGroupCfg,
    ObsTerm,
    SimCfg,
    TerminationTerm,
    mdp,
)
from robolearn.core.mdp.raycam import RayCameraCfg, depth_image, point_cloud, ray_camera, segmented_points
from robolearn.entities import ShapeEntityCfg, ShapePartCfg
from robolearn.envs.dexterous.bimanual import (
    HANDS,
    WRIST_JOINTS,
    BimanualSceneCfg,
    bimanual_scene,
    fingertip_pos,
    palm_pos,
)
from robolearn.scene import build_scene

TABLE = 0.2
BOX = (0.04, 0.03, 0.025)
BALL = 0.03
BOX_XY = (0.25, 0.1)
BALL_XY = (0.25, -0.1)


def _items() -> dict:
    return {
        "box": ShapeEntityCfg(
            parts=(ShapePartCfg("box", BOX),), pos=(*BOX_XY, TABLE + BOX[2] + 1e-3), mass=0.2
        ),
        "ball": ShapeEntityCfg(
            parts=(ShapePartCfg("sphere", (BALL, 0, 0)),), pos=(*BALL_XY, TABLE + BALL + 1e-3)
        ),
    }


def _env(cams: tuple[RayCameraCfg, ...] = (), num_envs: int = 2) -> ManagerBasedRlEnv:
    terms = (
        {"cloud": ObsTerm(point_cloud, params={"cams": cams, "num_points": 64, "entities": ("box",)})}
        if cams
        else {}
    )
    terms["last_action"] = ObsTerm(mdp.last_action)
    cfg = EnvCfg(
        scene=bimanual_scene(BimanualSceneCfg(table_height=TABLE, items=_items())),
        observations={"policy": ObsGroupCfg(terms=terms, enable_noise=False)},
        actions={h: JointPositionActionCfg(entity=h, scale=0.1) for h in HANDS},
        rewards={},
        terminations={"time_out": TerminationTerm(mdp.time_out, time_out=True)},
        sim=SimCfg(dt=0.005),
        decimation=4,
        episode_length_s=5.0,
        base_body="",
        num_envs=num_envs,
    )
    env = ManagerBasedRlEnv(cfg)
    env.reset(seed=0)
    return env


@pytest.fixture(scope="module")
def env() -> ManagerBasedRlEnv:
    return _env()


def test_two_hands_on_six_dof_wrists_and_two_items_rest(env):
    assert list(env.scene.entities) == ["left_hand", "right_hand", "table", "box", "ball"]
    assert env.num_actions == 2 * (6 + 16)
    start = {k: env.scene[k].root_pos_w.clone() for k in ("box", "ball")}
    palms = {h: palm_pos(env, h).clone() for h in HANDS}
    for _ in range(50):
        env.step(torch.zeros(2, env.num_actions))
    for k, p in start.items():  # items settle on the table, not through it
        assert (env.scene[k].root_pos_w - p).abs().max() < 3e-3, k
    for h in HANDS:
        assert env.scene[h].joint_names[:6] == list(WRIST_JOINTS)
        # gravity-compensated: the hand hangs where it was placed, 15 cm above the table
        assert (palm_pos(env, h) - palms[h]).abs().max() < 1e-3
        assert palms[h][0, 2].item() == pytest.approx(TABLE + 0.15, abs=1e-6)
        tips = fingertip_pos(env, h)
        assert (
            tips.shape == (2, 4, 3) and (tips[:, :3, 0] > palms[h][:, None, 0] + 0.1).all()
        )  # fingers point to +x
    assert palms["left_hand"][0, 1] > 0.1 and palms["right_hand"][0, 1] < -0.1


def test_wrist_hinges_turn_the_hand_about_the_palm(env):
    env.reset(seed=0)
    action = torch.zeros(2, env.num_actions)
    action[:, 5] = 3.0  # left wrist yaw: 0.3 rad
    before = fingertip_pos(env, "left_hand")[0, 0].clone()
    palm0 = palm_pos(env, "left_hand")[0].clone()
    for _ in range(40):
        env.step(action)
    yaw = env.scene["left_hand"].joint_pos[0, 5].item()
    assert yaw == pytest.approx(0.3, abs=0.02)
    assert (palm_pos(env, "left_hand")[0] - palm0).norm() < 5e-3  # the pivot is the palm centre
    assert (fingertip_pos(env, "left_hand")[0, 0] - before).norm() > 0.02


def test_shape_items_have_their_mass_and_scale():
    mesh = Path(os.environ["MENAGERIE_ROOT"]) / "leap_hand" / "assets" / "tip.obj"
    scene = build_scene(
        bimanual_scene(BimanualSceneCfg(items={
            "pan": ShapeEntityCfg(parts=(ShapePartCfg("cylinder", (0.08, 0.01, 0)),
                                         ShapePartCfg("capsule", (0.01, 0.06, 0), pos=(0.14, 0, 0),
                                                      quat=(0.7071068, 0, 0.7071068, 0))),
                                  mass=0.4, scale=1.5, pos=(0.2, 0, 0.3)),
            "tip": ShapeEntityCfg(parts=(ShapePartCfg("mesh", mesh=str(mesh)),), mass=0.05, scale=2.0,
                                  pos=(0.2, 0.2, 0.3)),
        }))
    )  # fmt: skip
    model = scene.model
    assert model.body("pan/body").mass[0] == pytest.approx(0.4)
    assert model.body("tip/body").mass[0] == pytest.approx(0.05)
    assert model.geom("pan/geom").size[0] == pytest.approx(0.12)  # radius 8 cm scaled by 1.5
    assert model.geom("pan/geom1").pos[0] == pytest.approx(0.21)


def test_bad_shape_and_reserved_names_are_refused():
    with pytest.raises(ValueError, match=r"scene.entities\['x'\].parts\[0\].type: must be one of"):
        build_scene(
            bimanual_scene(BimanualSceneCfg(items={"x": ShapeEntityCfg(parts=(ShapePartCfg("cone"),))}))
        )  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"parts\[0\].mesh: no file"):
        build_scene(
            bimanual_scene(
                BimanualSceneCfg(items={"x": ShapeEntityCfg(parts=(ShapePartCfg("mesh", mesh="/no.obj"),))})
            )
        )
    with pytest.raises(ValueError, match="reserved"):
        bimanual_scene(BimanualSceneCfg(items={"table": ShapeEntityCfg()}))


# -- ray camera -------------------------------------------------------------------------------------------

DOWN = RayCameraCfg(pos=(0.25, 0.0, 0.8), lookat=(0.25, 0.0, 0.0), width=48, height=48, fovy=40.0)


def test_depth_points_hit_the_items_where_the_geometry_says(env):
    env.reset(seed=0)
    shot = ray_camera(env, (DOWN,)).capture(env, noise=False)
    cam = ray_camera(env, (DOWN,))
    box_top = env.scene["box"].root_pos_w[0, 2].item() + BOX[2]
    ball_c = env.scene["ball"].root_pos_w[0]
    on_box = shot.entity[0] == cam.entity_names.index("box")
    on_ball = shot.entity[0] == cam.entity_names.index("ball")
    assert on_box.sum() > 20 and on_ball.sum() > 10
    p = shot.points_w[0, on_box]
    # looking straight down, every box point is on its top face, inside its footprint
    torch.testing.assert_close(p[:, 2], torch.full_like(p[:, 2], box_top), atol=1e-6, rtol=0)
    assert ((p[:, 0] - BOX_XY[0]).abs() <= BOX[0] + 1e-6).all() and (
        (p[:, 1] - BOX_XY[1]).abs() <= BOX[1] + 1e-6
    ).all()
    q = shot.points_w[0, on_ball]
    torch.testing.assert_close(
        (q - ball_c).norm(dim=-1), torch.full((len(q),), BALL, dtype=q.dtype), atol=1e-6, rtol=0
    )
    # the depth image agrees: the centre pixel sees the table (between the items) 0.6 m below the camera
    centre = shot.depth[0, 0, 24, 24].item()
    assert centre == pytest.approx(0.8 - TABLE, abs=1e-6)
    # segmentation: a point cloud of the box only lies on the box
    pts, real = segmented_points(env, (DOWN,), 64, ("box",), noise=False)
    assert real.all() and ((pts[..., 2] - box_top).abs() < 1e-6).all()


def test_depth_noise_dropout_and_range():
    noisy = RayCameraCfg(pos=DOWN.pos, lookat=DOWN.lookat, width=48, height=48, fovy=40.0, noise_std=0.002,
                         noise_mult=0.01, dropout=0.2, max_range=0.7)  # fmt: skip
    env = _env((noisy,))
    clean = ray_camera(env, (DOWN,)).capture(env, noise=False)
    shot = ray_camera(env, (noisy,)).capture(env)
    # the view also covers the floorless space beyond the table's edge: count holes among real hits only
    drop = 1 - (shot.valid & clean.valid).sum().item() / clean.valid.sum().item()
    assert drop == pytest.approx(0.2, abs=0.03)
    both = shot.valid & clean.valid
    err = (shot.depth - clean.depth).reshape(2, -1)[both]
    assert 0.003 < err.std().item() < 0.012  # sqrt(0.002^2 + (0.01*0.6)^2) = 0.0063
    far = RayCameraCfg(pos=DOWN.pos, lookat=DOWN.lookat, width=48, height=48, fovy=40.0, max_range=0.58)
    cut = ray_camera(env, (far,)).capture(env, noise=False)
    assert not cut.valid[0, cut.entity[0] == ray_camera(env, (far,)).entity_names.index("table")].any()
    assert (cut.depth <= 0.58 + 1e-9).all()
    # as an observation term: 64 box points per world, flattened
    assert env.obs_buf["policy"].shape == (2, 64 * 3 + env.num_actions)
    assert depth_image(env, (DOWN,)).shape == (2, 48 * 48)


def test_camera_frame_points_are_depth_along_the_optical_axis(env):
    env.reset(seed=0)
    pts, real = segmented_points(env, (DOWN,), 32, ("box",), frame="camera", noise=False)
    box_top = env.scene["box"].root_pos_w[0, 2].item() + BOX[2]
    # the camera looks down (-z of its frame) from 0.8 m: the box top is 0.8 - top in front of it
    assert real.all()
    torch.testing.assert_close(-pts[..., 2], torch.full_like(pts[..., 2], 0.8 - box_top), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="frame must be 'world' or 'camera'"):
        segmented_points(env, (DOWN,), 8, frame="base")
