"""`Go2-Tracking`: CrossLoco's manual-retargeting baseline. Human clips are mapped to the Go2 kinematically
(`robolearn retarget --robot go2`: the pelvis path and the limb phases, retarget/quadruped.py) and a policy
tracks the retargeted clip with the tracking task's recipe (envs/tracking), on the Go2.

Differences from the humanoid tracking tasks, for a 15 kg quadruped: the base is the anchor, every body is
tracked, the calves (knees) are the end effectors, the height terminations are tighter (0.15 m against
0.25 m), actions are residuals about the reference's joint positions at CrossLoco's scale (0.25), and the
randomization keeps friction and pushes (no CoM or calibration offsets: the Go2 has no torso link).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from robolearn.assets import ASSETS_DIR
from robolearn.core import (
    ActionTermCfg,
    CommandTermCfg,
    EventTerm,
    RewardTerm,
    SimCfg,
    TerminationTerm,
    ViewerCfg,
    mdp,
)
from robolearn.envs.locomotion.go2_velocity import go2_scene
from robolearn.envs.tracking import mdp as track
from robolearn.envs.tracking.actions import MotionJointPositionActionCfg
from robolearn.envs.tracking.commands import MotionCommandCfg
from robolearn.envs.tracking.tasks import (
    UNDESIRED_CONTACTS,
    TrackingCfg,
    tracking_rewards,
    tracking_terminations,
)
from robolearn.rl import PpoCfg
from robolearn.scene import SceneCfg

GO2_BODIES = ("base", "FL_hip", "FL_thigh", "FL_calf", "FR_hip", "FR_thigh", "FR_calf", "RL_hip", "RL_thigh",
              "RL_calf", "RR_hip", "RR_thigh", "RR_calf")  # fmt: skip
GO2_END_EFFECTORS = ("FL_calf", "FR_calf", "RL_calf", "RR_calf")
GO2_CLIP = ASSETS_DIR / "motions" / "cmu_131_01_walk_go2.npz"


def go2_tracking_terminations() -> dict[str, TerminationTerm]:
    terms = tracking_terminations()
    terms["anchor_height"].params["threshold"] = 0.15
    terms["end_effector"].params["threshold"] = 0.15
    return terms


def go2_tracking_rewards() -> dict[str, RewardTerm]:
    terms = tracking_rewards()
    # The Go2's feet are geoms of its calves, so the thighs are the bodies that must not touch (go2_scene's
    # sensor); a touching base ends the episode through the height termination.
    terms[UNDESIRED_CONTACTS].params["sensor"] = "thighs"
    return terms


def go2_tracking_events() -> dict[str, EventTerm]:
    return {
        "friction": EventTerm(mdp.randomize_friction, mode="startup", params={"friction_range": (0.6, 1.25)}),
        "push": EventTerm(mdp.push_by_setting_velocity, mode="interval", interval_range_s=(4.0, 8.0),
                          params={"velocity_range": {"x": (-0.3, 0.3), "y": (-0.3, 0.3)}}),
    }  # fmt: skip


@dataclass
class Go2TrackingCfg(TrackingCfg):
    scene: SceneCfg = field(default_factory=go2_scene)
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {track.MOTION: MotionCommandCfg(
        motion_file=str(GO2_CLIP), anchor_body="base", body_names=GO2_BODIES, end_effectors=GO2_END_EFFECTORS,
        rsi_pos_noise=0.02, rsi_yaw_noise=0.1, rsi_joint_noise=0.05, rsi_vel_noise=0.1)})  # fmt: skip
    rewards: dict[str, RewardTerm] = field(default_factory=go2_tracking_rewards)
    terminations: dict[str, TerminationTerm] = field(default_factory=go2_tracking_terminations)
    events: dict[str, EventTerm] = field(default_factory=go2_tracking_events)
    actions: dict[str, ActionTermCfg] = field(
        default_factory=lambda: {"joint_pos": MotionJointPositionActionCfg(scale=0.25, residual=True)}
    )
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.005))
    decimation: int = 4
    num_envs: int = 512
    episode_length_s: float = 10.0
    base_body: str = "base"
    keyframe: str | None = "home"
    viewer: ViewerCfg = field(default_factory=lambda: ViewerCfg(distance=2.0, elevation=-15.0, azimuth=90.0))


def go2_tracking_cpu_ppo() -> PpoCfg:
    """Go2-CrossLoco's PPO preset, so the two methods differ in their reference and rewards only."""
    return PpoCfg.cpu(init_noise_std=0.5, entropy_coef=0.005, num_learning_epochs=4, num_mini_batches=2,
                      torch_threads=1)  # fmt: skip
