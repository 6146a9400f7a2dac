"""HERMES tasks: two LEAP hands on 6-DoF wrists (bidex's bimanual scene) make an object follow one human
demonstration, retargeted (assets/hermes/<task>.npz, from retarget.scripted_references + DexPilot).

One object-centric, goal-conditioned reward for every task (the goal is the reference object pose at the
current frame, after the episode's rigid augmentation):
    w_p exp(-|p - p*| / 0.04) + w_r exp(-angle(q, q*) / 0.4)          object tracking (exp kernels)
  + w_f exp(-d_tips / 0.05)                                           nearest hand's fingertips to the object
  + w_w exp(-|palm - palm*|^2 / 0.05^2)                               wrist reference (small; 0 without one)
  - action rate - joint limits
and the episode ends early once the object is more than DEVIATION m from its goal.

Modes (`HermesCfg.mode`): "residual" (HERMES: the action is a residual on the retargeted joints), "replay"
(kinematic replay: the reference goes to the servos, the action is ignored) and "free" (RL without the
reference: joint targets around the default pose, the same object goal and reward, no wrist term).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from robolearn.assets import ASSETS_DIR
from robolearn.core import (
    ActionTermCfg,
    CommandTermCfg,
    EnvCfg,
    EventTerm,
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
from robolearn.core.mdp.raycam import RayCameraCfg, depth_image
from robolearn.entities import EntityCfg, ShapeEntityCfg, ShapePartCfg
from robolearn.registry import register_task
from robolearn.scene import SceneCfg

from .bimanual import HANDS, BimanualSceneCfg, bimanual_scene, fingertip_pos, palm_pos
from .hermes_reference import HermesReferenceCfg, ReferenceResidualActionCfg, angle_between

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

TABLE_TOP = 0.2
"""Must match retarget.scripted_references.TABLE_TOP (the references are authored over this table)."""
DEVIATION = 0.12
SUCCESS_POS = 0.04
SUCCESS_ROT = 0.5
REFERENCE_DIR = ASSETS_DIR / "hermes"
STATIC = dict(free=False)
_W = (0.9, 0.9, 0.9, 1.0)
_R = (0.8, 0.3, 0.2, 1.0)


def _part(kind: str, size: tuple[float, float, float], pos=(0.0, 0.0, 0.0), quat=(1.0, 0.0, 0.0, 0.0),
          rgba=_R) -> ShapePartCfg:  # fmt: skip
    return ShapePartCfg(kind, size, pos, quat, rgba=rgba)  # type: ignore[arg-type]


def _vase(x: float, y: float) -> dict[str, EntityCfg]:
    """Four walls, 8 cm tall, around a 6 cm opening: the stem goes in, a wall stops a stem that misses."""
    z = TABLE_TOP + 0.04
    walls = [((0.0, 0.035, 0.0), (0.04, 0.005, 0.04)), ((0.0, -0.035, 0.0), (0.04, 0.005, 0.04)),
             ((0.035, 0.0, 0.0), (0.005, 0.03, 0.04)), ((-0.035, 0.0, 0.0), (0.005, 0.03, 0.04))]  # fmt: skip
    parts = tuple(_part("box", s, p, rgba=(0.3, 0.4, 0.8, 1.0)) for p, s in walls)
    return {"vase": ShapeEntityCfg(parts=parts, pos=(x, y, z), free=False)}


# Object and props per task; object start poses come from the reference file (its first frame).
TASK_ITEMS: dict[str, dict[str, EntityCfg]] = {
    "pour": {
        "object": ShapeEntityCfg(parts=(_part("box", (0.05, 0.035, 0.04)), _part("capsule", (0.008, 0.03, 0),
                                 (0.06, 0.0, 0.02), (0.92388, 0.0, 0.38268, 0.0)),), mass=0.15,
                                 pos=(0.05, -0.08, TABLE_TOP + 0.04)),
        "cup": ShapeEntityCfg(parts=(_part("cylinder", (0.03, 0.03, 0), rgba=_W),), pos=(0.05, 0.12, TABLE_TOP + 0.03),
                              free=False),
    },
    "bottle_scanner": {
        "object": ShapeEntityCfg(parts=(_part("cylinder", (0.03, 0.08, 0), rgba=(0.2, 0.6, 0.3, 1.0)),), mass=0.12,
                                 pos=(0.05, -0.1, TABLE_TOP + 0.08)),
        "scanner": ShapeEntityCfg(parts=(_part("box", (0.06, 0.06, 0.01), rgba=(0.2, 0.2, 0.2, 1.0)),),
                                  pos=(0.05, 0.08, TABLE_TOP + 0.01), free=False),
    },
    "flower_vase": {
        # stem along y (the reference stands it up by a roll of 1.5 rad), head at +y
        "object": ShapeEntityCfg(parts=(_part("capsule", (0.012, 0.06, 0), quat=(0.70711, 0.70711, 0.0, 0.0),
                                               rgba=(0.2, 0.6, 0.2, 1.0)),
                                         _part("sphere", (0.02, 0, 0), (0.0, 0.07, 0.0), rgba=(0.9, 0.3, 0.6, 1.0))),
                                 mass=0.05, pos=(0.05, 0.06, TABLE_TOP + 0.015)),
        **_vase(0.05, -0.06),
    },
    "clean_plate": {
        "object": ShapeEntityCfg(parts=(_part("cylinder", (0.08, 0.0075, 0), rgba=_W),), mass=0.2,
                                 pos=(0.05, 0.02, TABLE_TOP + 0.0075)),
    },
}  # fmt: skip
TASK_NAMES = {"pour": "Pour", "bottle_scanner": "BottleScanner", "flower_vase": "FlowerVase",
              "clean_plate": "CleanPlate"}  # fmt: skip


def hermes_scene(task: str) -> SceneCfg:
    return bimanual_scene(BimanualSceneCfg(table_height=TABLE_TOP, items=dict(TASK_ITEMS[task])))


# -- terms ----------------------------------------------------------------------------------------------


def _reference(env: ManagerBasedRlEnv):
    return env.command_manager.get_term("reference")


def object_errors(env: ManagerBasedRlEnv) -> tuple[torch.Tensor, torch.Tensor]:
    """(N,) position (m) and orientation (rad) error of the object to its goal now."""
    goal_p, goal_q = _reference(env).object_goal()
    obj = env.scene["object"]
    pos = obj.root_pos_w - env.env_origins.to(obj.root_pos_w)
    return (pos - goal_p.to(pos)).norm(dim=-1), angle_between(obj.root_quat_w, goal_q.to(pos))


def object_position_tracking(env: ManagerBasedRlEnv, std: float = 0.04) -> torch.Tensor:
    return torch.exp(-object_errors(env)[0] / std).float()


def object_orientation_tracking(env: ManagerBasedRlEnv, std: float = 0.4) -> torch.Tensor:
    return torch.exp(-object_errors(env)[1] / std).float()


def fingertip_proximity(env: ManagerBasedRlEnv, std: float = 0.05) -> torch.Tensor:
    """exp(-d / std), d the nearer hand's mean fingertip distance to the object's centre."""
    obj = env.scene["object"].root_pos_w
    d = torch.stack([(fingertip_pos(env, h) - obj.unsqueeze(1).to(env.sim.xpos)).norm(dim=-1).mean(-1)
                     for h in HANDS], -1).min(-1).values  # fmt: skip
    return torch.exp(-d / std).float()


def wrist_reference(env: ManagerBasedRlEnv, std: float = 0.05) -> torch.Tensor:
    """exp(-e^2 / std^2), e the mean distance of the palms to where the reference's wrist targets put them
    (palm positions are read after the servos moved, so this rewards following the reference's wrist)."""
    ref = _reference(env)
    err = []
    for h in HANDS:
        target = ref.joint_targets(h)[:, :3]
        hand = env.scene[h]
        err.append((hand.joint_pos[:, :3] - target.to(hand.joint_pos)).norm(dim=-1))
    e = torch.stack(err, -1).mean(-1)
    return torch.exp(-(e**2) / std**2).float()


def hands_joint_limits(env: ManagerBasedRlEnv, soft_ratio: float = 0.95) -> torch.Tensor:
    total = torch.zeros(env.num_envs, device=env.device)
    for h in HANDS:
        e = env.scene[h]
        lim = e.soft_joint_limits
        mid, half = lim.mean(-1), 0.5 * (lim[:, 1] - lim[:, 0]) * soft_ratio
        q = e.joint_pos
        total += ((q - (mid + half)).clamp(min=0) + ((mid - half) - q).clamp(min=0)).sum(-1).to(total)
    return total


def object_deviated(env: ManagerBasedRlEnv, limit: float = DEVIATION) -> torch.Tensor:
    return object_errors(env)[0] > limit


def object_goal_obs(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 8) goal position (env frame), goal quaternion, phase."""
    return _reference(env).command


def object_pose_obs(env: ManagerBasedRlEnv) -> torch.Tensor:
    obj = env.scene["object"]
    return torch.cat([obj.root_pos_w - env.env_origins.to(obj.root_pos_w), obj.root_quat_w], -1).float()


def reference_joints_obs(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N, 2 x 22) the reference's next joint targets (zeros in "free" mode: no reference for the policy)."""
    ref = _reference(env)
    out = torch.cat([ref.joint_targets(h, ref.frame + 1) for h in HANDS], -1).float()
    return out if env.cfg.mode != "free" else torch.zeros_like(out)  # type: ignore[attr-defined]


def palms_obs(env: ManagerBasedRlEnv) -> torch.Tensor:
    origin = env.env_origins.to(env.sim.xpos)
    return torch.cat([palm_pos(env, h) - origin for h in HANDS], -1).float()


def observations(noise: bool) -> ObsGroupCfg:
    joints = {f"{h}_pos": ObsTerm(mdp.joint_pos_rel, params={"asset_cfg": SceneEntityCfg(h)}, noise=0.01)
              for h in HANDS}  # fmt: skip
    vels = {f"{h}_vel": ObsTerm(mdp.joint_vel, params={"asset_cfg": SceneEntityCfg(h)}, noise=0.1, scale=0.05)
            for h in HANDS}  # fmt: skip
    return ObsGroupCfg(
        terms={**joints, **vels, "palms": ObsTerm(palms_obs), "object": ObsTerm(object_pose_obs, noise=0.005),
               "goal": ObsTerm(object_goal_obs), "reference": ObsTerm(reference_joints_obs),
               "last_action": ObsTerm(mdp.last_action)},
        enable_noise=noise,
    )  # fmt: skip


DEPTH_CAMERA = RayCameraCfg(
    pos=(0.55, 0.0, 0.62),
    lookat=(0.05, 0.0, 0.25),
    width=24,
    height=18,
    fovy=60.0,
    max_range=1.2,
    noise_std=0.004,
    noise_mult=0.01,
    dropout=0.02,
)
"""The student's camera: 24 x 18 rays (432 per world) over the table from the front, a structured-light
camera's noise (4 mm + 1 % of depth, 2 % holes)."""


def scaled_depth(env: ManagerBasedRlEnv, noise: bool = True) -> torch.Tensor:
    """(N, H*W) depth image / max range, in [0, 1]."""
    return depth_image(env, (DEPTH_CAMERA,), noise=noise) / DEPTH_CAMERA.max_range


def student_observations() -> ObsGroupCfg:
    """What a deployed student has: proprioception, the goal and the reference (both known at run time), its
    last action and a noisy low-resolution depth image; not the object's pose."""
    group = observations(noise=True)
    group.terms.pop("object")
    group.terms["depth"] = ObsTerm(scaled_depth)
    return group


def _actions(mode: str) -> dict[str, ActionTermCfg]:
    if mode == "free":
        return {h: JointPositionActionCfg(entity=h, scale=0.1) for h in HANDS}
    scale = 0.0 if mode == "replay" else 0.1
    return {h: ReferenceResidualActionCfg(entity=h, scale=scale) for h in HANDS}


@dataclass
class HermesCfg(EnvCfg):
    task: str = "pour"
    mode: str = "residual"
    """'residual' (HERMES), 'replay' (kinematic replay of the reference) or 'free' (RL without reference)."""
    reference: str = ""
    """Robot reference .npz; empty: assets/hermes/<task>.npz."""
    scene: SceneCfg = field(default_factory=lambda: hermes_scene("pour"))
    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: {"policy": observations(noise=True), "critic": observations(noise=False)}
    )
    actions: dict[str, ActionTermCfg] = field(default_factory=lambda: _actions("residual"))
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {"reference": HermesReferenceCfg()})
    rewards: dict[str, RewardTerm] = field(
        default_factory=lambda: {
            "object_pos": RewardTerm(object_position_tracking, weight=4.0),
            "object_rot": RewardTerm(object_orientation_tracking, weight=2.0),
            "fingertips": RewardTerm(fingertip_proximity, weight=1.0),
            "wrist_ref": RewardTerm(wrist_reference, weight=0.5),
            "action_rate": RewardTerm(mdp.action_rate_l2, weight=-0.01),
            "joint_limits": RewardTerm(hands_joint_limits, weight=-0.5),
        }
    )
    terminations: dict[str, TerminationTerm] = field(
        default_factory=lambda: {
            "time_out": TerminationTerm(mdp.time_out, time_out=True),
            "object_deviated": TerminationTerm(object_deviated),
        }
    )
    events: dict[str, EventTerm] = field(default_factory=dict)
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.005))
    num_envs: int = 64
    decimation: int = 4
    episode_length_s: float = 2.96
    """The references are 3 s at 50 Hz (150 frames): 148 steps keep every step on a reference frame."""
    base_body: str = ""
    viewer: ViewerCfg = field(default_factory=lambda: ViewerCfg(distance=0.9, elevation=-30.0, azimuth=90.0))

    def __post_init__(self) -> None:
        if self.mode not in ("residual", "replay", "free"):
            raise ValueError(f"HermesCfg.mode: expected 'residual', 'replay' or 'free', got {self.mode!r}")
        if self.task not in TASK_ITEMS:
            raise ValueError(f"HermesCfg.task: expected one of {sorted(TASK_ITEMS)}, got {self.task!r}")
        # The mode decides the action terms and whether the wrist term exists (--env.mode on the command line
        # switches a registered task to a baseline).
        self.actions = _actions(self.mode)
        if self.mode == "free":
            self.rewards.pop("wrist_ref", None)
        self.reference = self.reference or str(REFERENCE_DIR / f"{self.task}.npz")
        ref = self.commands.get("reference")
        if isinstance(ref, HermesReferenceCfg) and not ref.path:
            ref.path = self.reference


def hermes_cfg(
    task: str, mode: str = "residual", reference: str = "", student: bool = False, **kw
) -> HermesCfg:
    """The config of one task in one mode (what the registered tasks and the benchmark build); `student`
    adds the depth student's observation group."""
    cfg = HermesCfg(task=task, mode=mode, reference=reference, scene=hermes_scene(task), **kw)
    if student:
        cfg.observations["student"] = student_observations()
    return cfg


def success(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N,) bool: the object is within SUCCESS_POS / SUCCESS_ROT of its goal (read at the episode's end)."""
    p, r = object_errors(env)
    return (p < SUCCESS_POS) & (r < SUCCESS_ROT)


def _register(which: str) -> None:
    @dataclass
    class _Cfg(HermesCfg):
        task: str = which
        scene: SceneCfg = field(default_factory=lambda: hermes_scene(which))

    _Cfg.__name__ = _Cfg.__qualname__ = f"Hermes{TASK_NAMES[which]}Cfg"
    register_task(f"HERMES-{TASK_NAMES[which]}", _Cfg, f"HERMES {which}: two LEAP hands track one retargeted "
                  "human demonstration (residual RL on the reference; --env.mode replay|free: the baselines)")  # fmt: skip


for _task in TASK_ITEMS:
    _register(_task)
