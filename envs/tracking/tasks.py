"""`G1-Tracking` and `H1-Tracking`: a humanoid tracks a retargeted human motion clip in physics.

The recipe is BeyondMimic's (Liao et al. 2025, mjlab's tracking task): reference state initialization at a
random clip phase with adaptive sampling of segments by failure rate, an anchor body (the torso) tracked in
the world, the other bodies tracked relative to it, exp-kernel rewards on anchor position and orientation and
on the bodies' relative positions, orientations, linear and angular velocities, action-rate and joint-limit
penalties, an undesired-contacts penalty (a body other than the feet and hands on the ground), and terminations
when the anchor's height or tilt or an end effector's height leaves the reference. Randomization: friction,
trunk mass and centre of mass, joint calibration offsets, pushes, observation noise. The servos are
BeyondMimic's: stiffness and damping from each joint's armature (10 Hz, damping ratio 2, envs/tracking/robots.py)
and a per-joint action scale of 0.25 x torque limit / stiffness. The action is residual: joint targets around
the reference's next joint positions (BeyondMimic's are around the default pose; see `tracking_action`).

The policy sees proprioception, the reference's next joint positions and velocities (the command) and the
anchor error (reference anchor position and orientation in the robot anchor's frame); the critic also sees
every tracked body's position and its errors (privileged). The clip is `commands.motion.motion_file`
(`--env.commands.motion.motion-file PATH`: one clip or a folder); by default a CMU walk (subject 131,
trial 2, 10.4 s, a slow walk) retargeted for the robot and shipped in assets/motions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from robolearn.assets import ASSETS_DIR
from robolearn.core import (
    ActionTermCfg,
    CommandTermCfg,
    EnvCfg,
    EventTerm,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    SimCfg,
    TerminationTerm,
    ViewerCfg,
    mdp,
)
from robolearn.envs.humanoid.skill_mdp import H1_PD_GAINS
from robolearn.envs.tracking import mdp as track
from robolearn.envs.tracking.actions import MotionJointPositionActionCfg
from robolearn.envs.tracking.commands import MotionCommandCfg
from robolearn.envs.tracking.robots import EFFORT_FRACTION, armature_pd_gains
from robolearn.rl import PpoCfg
from robolearn.scene import ContactSensorCfg, SceneCfg

MOTIONS_DIR = ASSETS_DIR / "motions"

G1_BODIES = (
    "pelvis", "left_hip_roll_link", "left_knee_link", "left_ankle_roll_link", "right_hip_roll_link",
    "right_knee_link", "right_ankle_roll_link", "torso_link", "left_shoulder_roll_link", "left_elbow_link",
    "left_wrist_yaw_link", "right_shoulder_roll_link", "right_elbow_link", "right_wrist_yaw_link",
)  # fmt: skip
"""BeyondMimic's 14 tracked G1 bodies: pelvis, hips, knees, feet, torso, shoulders, elbows, hands."""
G1_END_EFFECTORS = (
    "left_ankle_roll_link",
    "right_ankle_roll_link",
    "left_wrist_yaw_link",
    "right_wrist_yaw_link",
)

H1_BODIES = (
    "pelvis", "left_hip_roll_link", "left_knee_link", "left_ankle_link", "right_hip_roll_link",
    "right_knee_link", "right_ankle_link", "torso_link", "left_shoulder_roll_link", "left_elbow_link",
    "right_shoulder_roll_link", "right_elbow_link",
)  # fmt: skip
"""The same set on the H1 (no wrists: its forearm ends in the elbow link)."""
H1_END_EFFECTORS = ("left_ankle_link", "right_ankle_link", "left_elbow_link", "right_elbow_link")

UNDESIRED_CONTACTS = "undesired_contacts"
"""The contact sensor of every body but the feet and hands (BeyondMimic's undesired-contacts penalty)."""
MENAGERIE_GAINS: dict[str, dict[str, tuple[float, float]]] = {"g1": {}, "h1": dict(H1_PD_GAINS)}
"""The gains before BeyondMimic's: the menagerie G1's own position servos (kp 75, ankles and wrists 20,
kv 2), the H1 skills' gains (the H1 ships torque motors)."""


def tracking_scene(robot: str, fast_model: bool, allowed_contacts: tuple[str, ...]) -> SceneCfg:
    """The robot with BeyondMimic's armature-derived servo gains and a contact sensor on every body except
    `allowed_contacts` (feet, hands)."""
    from robolearn.robots import robot_model

    model = robot_model(robot, fast_model)
    bodies = tuple(model.body(i).name for i in range(1, model.nbody) if model.body(i).name not in allowed_contacts)
    return SceneCfg(robot=robot, fast_model=fast_model, pd_gains=armature_pd_gains(robot, fast_model),
                    contact_sensors={UNDESIRED_CONTACTS: ContactSensorCfg(bodies=bodies)})  # fmt: skip


def tracking_action() -> MotionJointPositionActionCfg:
    """Targets around the reference's next joint positions (`residual`), BeyondMimic's per-joint scale
    (0.25 x torque limit / kp). The residual action, not BeyondMimic's default-pose one: it is the one measured
    to learn on a CPU budget (on the CMU walk 42% of randomized whole-clip episodes at 13.5M env steps, root-
    relative MPJPE 55 mm; on the earlier clip 1.4x the default-pose action's return at 2.46M steps;
    benchmarks/tracking.py, docs/tracking.md)."""
    return MotionJointPositionActionCfg(effort_fraction=EFFORT_FRACTION, residual=True)


def motion_command(
    motion_file: str, bodies: tuple[str, ...], end_effectors: tuple[str, ...]
) -> MotionCommandCfg:
    return MotionCommandCfg(motion_file=motion_file, anchor_body="torso_link", body_names=bodies,
                            end_effectors=end_effectors)  # fmt: skip


def policy_obs() -> ObsGroupCfg:
    """Proprioception, the reference's next joint state and the anchor error; noise on what a robot measures."""
    return ObsGroupCfg(
        terms={
            "command": ObsTerm(mdp.generated_commands, params={"command_name": track.MOTION}),
            "anchor_pos_error": ObsTerm(track.anchor_pos_error_b, noise=0.25),
            "anchor_ori_error": ObsTerm(track.anchor_ori_error_b, noise=0.05),
            "base_lin_vel": ObsTerm(mdp.base_lin_vel, noise=0.5),
            "base_ang_vel": ObsTerm(mdp.base_ang_vel, noise=0.2),
            "joint_pos": ObsTerm(mdp.joint_pos_rel, noise=0.01),
            "joint_vel": ObsTerm(mdp.joint_vel, noise=0.5),
            "last_action": ObsTerm(track.last_action),
        }
    )


def critic_obs() -> ObsGroupCfg:
    """The policy's observation without noise, plus the tracked bodies' positions and errors and the clip
    phase (privileged)."""
    terms = dict(policy_obs().terms)
    terms.update({
        "body_pos": ObsTerm(track.body_pos_b),
        "body_pos_error": ObsTerm(track.body_pos_error_b),
        "body_ori_error": ObsTerm(track.body_ori_error),
        "motion_phase": ObsTerm(track.motion_phase),
    })  # fmt: skip
    return ObsGroupCfg(terms=terms, enable_noise=False)


def tracking_rewards() -> dict[str, RewardTerm]:
    """BeyondMimic's weights and kernel widths (std: m, rad, m/s, rad/s)."""
    return {
        "anchor_pos": RewardTerm(track.anchor_pos_exp, weight=0.5, params={"std": 0.3}),
        "anchor_ori": RewardTerm(track.anchor_ori_exp, weight=0.5, params={"std": 0.4}),
        "body_pos": RewardTerm(track.body_pos_exp, weight=1.0, params={"std": 0.3}),
        "body_ori": RewardTerm(track.body_ori_exp, weight=1.0, params={"std": 0.4}),
        "body_lin_vel": RewardTerm(track.body_lin_vel_exp, weight=1.0, params={"std": 1.0}),
        "body_ang_vel": RewardTerm(track.body_ang_vel_exp, weight=1.0, params={"std": 3.14}),
        "action_rate": RewardTerm(mdp.action_rate_l2, weight=-0.1),
        # At the hard limits, not BeyondMimic's 90% band: the retargeted CMU walk keeps G1 joints past that
        # band in 90% of its frames (0.45 rad summed over joints per frame, mostly the right shoulder), a
        # penalty (-4.5/s) that cancelled the whole tracking reward (at most 5/s).
        "joint_limits": RewardTerm(mdp.joint_pos_limits, weight=-10.0, params={"soft_ratio": 1.0}),
        # BeyondMimic's: -0.1 per body (not a foot or hand) touching the ground.
        UNDESIRED_CONTACTS: RewardTerm(mdp.undesired_contacts, weight=-0.1, params={"sensor": UNDESIRED_CONTACTS}),
    }


def tracking_terminations() -> dict[str, TerminationTerm]:
    return {
        "time_out": TerminationTerm(mdp.time_out, time_out=True),
        "motion_end": TerminationTerm(track.motion_end, time_out=True),
        "anchor_height": TerminationTerm(track.anchor_height_deviation, params={"threshold": 0.25}),
        "anchor_orientation": TerminationTerm(track.anchor_orientation_deviation, params={"threshold": 0.8}),
        "end_effector": TerminationTerm(track.end_effector_deviation, params={"threshold": 0.25}),
    }


def tracking_events() -> dict[str, EventTerm]:
    """BeyondMimic's randomization ranges (startup: friction, trunk mass and CoM, joint offsets; pushes)."""
    return {
        "friction": EventTerm(mdp.randomize_friction, mode="startup", params={"friction_range": (0.3, 1.6)}),
        "base_mass": EventTerm(mdp.add_base_mass, mode="startup", params={"mass_range": (-1.0, 2.0)}),
        "com": EventTerm(track.randomize_com, mode="startup", params={"body": "torso_link",
                                                                       "offset": (-0.025, 0.025)}),
        "joint_offsets": EventTerm(track.randomize_joint_offsets, mode="startup", params={"offset": (-0.01, 0.01)}),
        "push": EventTerm(mdp.push_by_setting_velocity, mode="interval", interval_range_s=(1.0, 3.0),
                          params={"velocity_range": {"x": (-0.5, 0.5), "y": (-0.5, 0.5), "z": (-0.2, 0.2)}}),
    }  # fmt: skip


@dataclass
class TrackingCfg(EnvCfg):
    """The shared tracking recipe; a robot's task sets the scene, the command's bodies and the clip."""

    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: {"policy": policy_obs(), "critic": critic_obs()}
    )
    rewards: dict[str, RewardTerm] = field(default_factory=tracking_rewards)
    terminations: dict[str, TerminationTerm] = field(default_factory=tracking_terminations)
    events: dict[str, EventTerm] = field(default_factory=tracking_events)
    actions: dict[str, ActionTermCfg] = field(
        default_factory=lambda: {"joint_pos": tracking_action()}
    )
    # BeyondMimic's 5 ms x 4: 1.21x the physics rate of 4 ms x 5 on the G1 (8.4k against 7.0k env-steps/s,
    # 256 worlds on 2 cores, policies.throughput.raw_physics_rate; docs/tracking.md).
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.005))
    num_envs: int = 256
    decimation: int = 4
    """50 Hz policy: clips are resampled to this rate, one reference frame per step."""
    episode_length_s: float = 20.0
    """Longer than a short clip: an episode normally ends at the clip's end (`motion_end`)."""
    base_body: str = "pelvis"
    viewer: ViewerCfg = field(default_factory=lambda: ViewerCfg(distance=3.0, elevation=-15.0, azimuth=90.0))


@dataclass
class G1TrackingCfg(TrackingCfg):
    scene: SceneCfg = field(default_factory=lambda: tracking_scene("g1", True, G1_END_EFFECTORS))
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {track.MOTION: motion_command(
        str(MOTIONS_DIR / "cmu_131_02_walk_g1.npz"), G1_BODIES, G1_END_EFFECTORS)})  # fmt: skip
    keyframe: str | None = "knees_bent"


@dataclass
class H1TrackingCfg(TrackingCfg):
    scene: SceneCfg = field(default_factory=lambda: tracking_scene("h1", False, H1_END_EFFECTORS))
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {track.MOTION: motion_command(
        str(MOTIONS_DIR / "cmu_131_02_walk_h1.npz"), H1_BODIES, H1_END_EFFECTORS)})  # fmt: skip
    keyframe: str | None = "home"


def tracking_cpu_ppo() -> PpoCfg:
    """PPO on 2 CPU cores: 256 worlds, BeyondMimic's entropy (0.005) and a smaller initial action noise
    (std 0.5 x scale 0.5 = 0.25 rad of joint-target noise, the H1 skills' choice for a top-heavy humanoid).
    The bf16 update where the CPU has it: 1.09x the env-steps/s of the float32 update on G1-Tracking
    (benchmarks/train_levers.py --presets G1-Tracking; physics dominates the loop here)."""
    return PpoCfg.cpu(num_envs=256, init_noise_std=0.5, entropy_coef=0.005, torch_threads=1,
                      bf16_update="auto",
                      actor_hidden_dims=(256, 128, 128), critic_hidden_dims=(256, 128, 128))  # fmt: skip
