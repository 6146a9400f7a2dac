"""BiDex env configs: a category's demonstrations -> one multi-task env on the two-LEAP-hand scene.

`bidex_env_cfg(demos)` builds the env for any list of demonstrations sharing a category (their item shapes
must agree; scales and table heights may differ per task, they are written per world). Observation groups:
  policy   the teacher's privileged state (joints, fingertips, palms, both items' poses and velocities,
           palm-item offsets, previous action, references, stages, task embedding)
  critic   the same, without noise
  student  what a deployed policy has: proprioception (joints, previous action), references, stages,
           task embedding, and a point cloud of items and hands from ray-cast depth cameras
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from robolearn.core import (
    ActionTermCfg,
    CommandTermCfg,
    EnvCfg,
    JointPositionActionCfg,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    SceneEntityCfg,
    SimCfg,
    TerminationTerm,
    ViewerCfg,
    mdp,
)
from robolearn.core.mdp.raycam import RayCameraCfg, point_cloud
from robolearn.envs.dexterous.bidex import terms
from robolearn.envs.dexterous.bidex.reference import ReferenceCfg, StageCfg
from robolearn.envs.dexterous.bidex.schema import ITEMS, BimanualDemo, demo_spec
from robolearn.envs.dexterous.bimanual import HANDS, BimanualSceneCfg, bimanual_scene
from robolearn.scene import SceneCfg

CONTROL_DT = 0.02
"""dt 5 ms x decimation 4: two control steps per 25 fps demo frame."""
CAMERAS = (
    RayCameraCfg(pos=(0.55, 0.3, 0.7), lookat=(0.0, 0.0, 0.3), width=24, height=18, fovy=45.0, noise_std=0.002,
                 noise_mult=0.005, dropout=0.05, max_range=1.5),
    RayCameraCfg(pos=(0.55, -0.3, 0.7), lookat=(0.0, 0.0, 0.3), width=24, height=18, fovy=45.0, noise_std=0.002,
                 noise_mult=0.005, dropout=0.05, max_range=1.5),
)  # fmt: skip
"""Two fixed depth cameras in front of the table, left and right of centre (as a real rig's two sensors).
24 x 18 rays each: mj_ray costs ~6 us a ray here, so 864 rays are ~5 ms per world and step."""
CLOUD_ENTITIES = ("object", "tool", "left_hand", "right_hand")
NUM_POINTS = 128


def _check_category(demos: list[BimanualDemo]) -> None:
    if not demos:
        raise ValueError("BiDex env: no demonstrations given")
    first = demos[0]
    for d in demos[1:]:
        for item in ITEMS:
            if d.shapes[item].parts != first.shapes[item].parts:
                raise ValueError(f"BiDex env: {d.name}'s {item} shape differs from {first.name}'s; one env holds "
                                 "one category's tasks (same shapes, any scale)")  # fmt: skip


def bidex_scene(demos: list[BimanualDemo]) -> tuple[SceneCfg, float]:
    """The scene and its table height: one demonstration's own items and table, or a category's mean scale
    per item and mean table height (one model for every world)."""
    _check_category(demos)
    table = float(np.mean([d.table_height for d in demos]))
    items = {}
    for item in ITEMS:
        scale = float(np.mean([d.shapes[item].scale for d in demos]))
        shape = dataclasses.replace(demos[0].shapes[item], scale=scale)
        y = 0.15 if item == "object" else -0.15
        items[item] = shape.entity((0.0, y, table + shape.half_height * scale + 1e-3), (1.0, 0.0, 0.0, 0.0))
    return bimanual_scene(BimanualSceneCfg(table_height=table, items=items)), table


def teacher_obs(noise: bool) -> ObsGroupCfg:
    hands = {}
    for side in ("left", "right"):
        e = SceneEntityCfg(f"{side}_hand")
        hands[f"{side}_joint_pos"] = ObsTerm(mdp.joint_pos_rel, params={"asset_cfg": e}, noise=0.01)
        hands[f"{side}_joint_vel"] = ObsTerm(mdp.joint_vel, params={"asset_cfg": e}, noise=0.05, scale=0.05)
    return ObsGroupCfg(
        terms={
            **hands,
            "hands": ObsTerm(terms.hands_state),
            "items": ObsTerm(terms.items_state, noise=0.002),
            "palm_item": ObsTerm(terms.palm_item_offsets),
            "last_action": ObsTerm(mdp.last_action),
            "reference": ObsTerm(terms.reference_poses),
            "stage": ObsTerm(terms.stage_flags),
            "task": ObsTerm(terms.task_embedding),
        },
        enable_noise=noise,
    )


def student_obs(cameras: tuple[RayCameraCfg, ...] = CAMERAS, num_points: int = NUM_POINTS) -> ObsGroupCfg:
    """Proprioception + goal + a point cloud (its `cloud` term is (P*3,), the last term)."""
    hands = {f"{side}_joint_pos": ObsTerm(mdp.joint_pos_rel, params={"asset_cfg": SceneEntityCfg(f"{side}_hand")},
                                          noise=0.01)
             for side in ("left", "right")}  # fmt: skip
    return ObsGroupCfg(
        terms={
            **hands,
            "last_action": ObsTerm(mdp.last_action),
            "reference": ObsTerm(terms.reference_poses),
            "stage": ObsTerm(terms.stage_flags),
            "task": ObsTerm(terms.task_embedding),
            "cloud": ObsTerm(point_cloud, params={"cams": cameras, "num_points": num_points,
                                                  "entities": CLOUD_ENTITIES}),  # fmt: skip
        },
        enable_noise=True,
    )


STUDENT_CLOUD_TERM = "cloud"


def rewards(weights: dict[str, float] | None = None) -> dict[str, RewardTerm]:
    w = {"approach": 0.5, "stage1": 1.0, "stage2": 2.0, "bonus": 1.0, "action_rate": -0.005, **(weights or {})}
    out = {}
    for side in ("left", "right"):
        p = {"side": side}
        out[f"{side}_approach"] = RewardTerm(terms.approach, weight=w["approach"], params=p)
        out[f"{side}_stage1"] = RewardTerm(terms.stage1_alignment, weight=w["stage1"], params=p)
        out[f"{side}_stage2"] = RewardTerm(terms.stage2_tracking, weight=w["stage2"], params=p)
        out[f"{side}_bonus"] = RewardTerm(terms.tracking_bonus, weight=w["bonus"], params=p)
        out[f"{side}_action_rate"] = RewardTerm(terms.action_rate, weight=w["action_rate"], params=p)
    return out


@dataclass
class BidexEnvCfg(EnvCfg):
    scene: SceneCfg = field(default_factory=lambda: bimanual_scene())
    observations: dict[str, ObsGroupCfg] = field(default_factory=dict)
    rewards: dict[str, RewardTerm] = field(default_factory=rewards)
    terminations: dict[str, TerminationTerm] = field(
        default_factory=lambda: {
            "time_out": TerminationTerm(mdp.time_out, time_out=True),
            "item_fell": TerminationTerm(terms.item_fell),
        }
    )
    actions: dict[str, ActionTermCfg] = field(
        default_factory=lambda: {h: JointPositionActionCfg(entity=h, scale=0.25) for h in HANDS}
    )
    commands: dict[str, CommandTermCfg] = field(default_factory=dict)
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.005))
    num_envs: int = 64
    decimation: int = 4
    episode_length_s: float = 4.0
    base_body: str = ""
    viewer: ViewerCfg = field(default_factory=lambda: ViewerCfg(distance=1.0, elevation=-35.0, azimuth=180.0))


def bidex_env_cfg(demos: list[BimanualDemo], student: bool = False, stage: StageCfg | None = None,
                  num_envs: int = 64, seed: int = 0) -> BidexEnvCfg:  # fmt: skip
    """The env playing `demos` (one category); `student` adds the point-cloud group (ray casts every step)."""
    scene, table = bidex_scene(demos)
    stage = stage or StageCfg()
    post = max(d.end - d.ref for d in demos) * stage.steps_per_frame
    obs = {"policy": teacher_obs(noise=True), "critic": teacher_obs(noise=False)}
    if student:
        obs["student"] = student_obs()
    return BidexEnvCfg(
        scene=scene,
        observations=obs,
        commands={"reference": ReferenceCfg(tasks=tuple(demo_spec(d) for d in demos), stage=stage,
                                            table_height=table)},  # fmt: skip
        num_envs=num_envs,
        seed=seed,
        episode_length_s=(stage.stage1_budget_steps + post) * CONTROL_DT,
    )
