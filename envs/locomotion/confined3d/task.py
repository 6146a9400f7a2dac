"""Go1-Confined3D: goal reaching through confined 3-D tunnels with planner waypoints (Xu et al., ICRA 2024).

A classical planner (planner.py) plans (x, y, z, yaw) waypoints through each tile of the confined
terrain (terrain.py); the policy sees proprioception, its last action, the current waypoint relative
to its base and a two-layer height scan (heightmap.py), and is rewarded for reaching the goal and
standing still there. Exploration shaping toward the waypoint (speed and yaw alignment) gets the
policy moving early and is decayed linearly to zero by a curriculum term, so the final policy
optimizes the task reward only, as in the paper.

Variants registered here, all on the same scene so they can be compared episode for episode:
- `Go1-Confined3D`: the hierarchical policy (waypoints from the planner).
- `Go1-Confined3D-GoalOnly`: baseline, the same policy given only the far goal (no planner).
- `Go1-Velocity-Flat`: baseline, Go1 on the shared velocity recipe; evaluation drives it through the
  tunnels with the planner's path and a pure-pursuit tracker (evaluation.py).

The planner's waypoints are a command term (`commands["waypoints"]`, waypoints.py) that terms read through
the command manager; action latency is a declared action term (DelayedJointPositionActionCfg).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from robolearn.core import (
    ActionTermCfg,
    CommandTermCfg,
    CurriculumTerm,
    DelayedJointPositionActionCfg,
    EnvCfg,
    EventTerm,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    SimCfg,
    TerminationTerm,
    VelocityCommandCfg,
    mdp,
)
from robolearn.core.symmetry import (
    HALF_PERIOD,
    PSEUDO_VECTOR,
    VECTOR,
    ContactMirror,
    GridMirror,
    Invariant,
    JointMirror,
    Signs,
)
from robolearn.envs.locomotion.confined3d.heightmap import two_layer_height_scan
from robolearn.envs.locomotion.confined3d.terrain import TERRAIN_KIND
from robolearn.envs.locomotion.confined3d.waypoints import (
    WAYPOINTS,
    WaypointCommand,
    WaypointCommandCfg,
    body_contacts,
    waypoints,
)
from robolearn.envs.locomotion.velocity import (
    TROT_CPU_PPO,
    TROT_PERIOD,
    TROT_TORQUE_WEIGHT,
    LeggedVelocityCfg,
    command_curriculum,
    trot_observations,
    trot_rewards,
    velocity_events,
)
from robolearn.math import yaw_from_quat
from robolearn.rl import PpoCfg
from robolearn.scene import ContactSensorCfg, SceneCfg
from robolearn.terrain import TerrainCfg

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

LEGS = ("FR", "FL", "RR", "RL")
GO1_KP, GO1_KD = 35.0, 0.5
TRAIN_ITERATIONS = 500
"""CPU preset: 500 x 24 steps x 512 worlds = 6.1M env steps, the same budget for the three methods."""
EXPLORATION_ITERATIONS = 375
"""Exploration shaping reaches zero at 75% of the preset; the last quarter optimizes the task reward."""
SCAN_METHOD = "map"
"""Training reads the height scan from the terrain raster: ray casts cost more than the physics here
(heightmap.py); set the term's `method` to "rays" for the ray-cast sensor."""


def go1_scene(terrain: TerrainCfg | None = None) -> SceneCfg:
    """Go1 with contact sensors for feet and for every part that must not touch the terrain.

    Calf bodies carry the foot geom, so a calf's own contact is its calf sensor minus its foot sensor.
    """
    return SceneCfg(
        robot="go1",
        fast_model=True,  # go1 collides with primitives already; fast = its pyramidal cone (robots.py)
        terrain=terrain or TerrainCfg(),
        contact_sensors={
            "feet": ContactSensorCfg(geoms=LEGS),
            "base": ContactSensorCfg(bodies=("trunk",)),
            "hips": ContactSensorCfg(bodies=tuple(f"{leg}_hip" for leg in LEGS)),
            "thighs": ContactSensorCfg(bodies=tuple(f"{leg}_thigh" for leg in LEGS)),
            "calves": ContactSensorCfg(bodies=tuple(f"{leg}_calf" for leg in LEGS)),
        },
        pd_gains={".*": (GO1_KP, GO1_KD)},
    )


def confined_terrain(rows: int = 4, cols: int = 6, seed: int = 0, length: float = 4.0) -> TerrainCfg:
    """Row r has difficulty (r + 1) / rows; columns are other layouts; `seed` picks the whole set."""
    return TerrainCfg(kind=TERRAIN_KIND, rows=rows, cols=cols, tile_size=length, seed=seed)


# -- events ------------------------------------------------------------------------------------------


def randomize_motor_strength(
    env: ManagerBasedRlEnv, env_ids: torch.Tensor, strength_range: tuple[float, float]
) -> None:
    """Scale each world's PD servos (kp, kd) and torque limits by one factor: a stronger or weaker motor."""
    gain, bias = env.sim.model_field("actuator_gainprm"), env.sim.model_field("actuator_biasprm")
    force = env.sim.model_field("actuator_forcerange")
    model = env.scene.model
    ids = env_ids.to(gain.device)
    lo, hi = strength_range
    scale = lo + (hi - lo) * torch.rand(
        len(env_ids), 1, device=gain.device, generator=env.rng, dtype=torch.float64
    )
    g, b, f = gain[ids], bias[ids], force[ids]
    g[:, :, 0] = torch.as_tensor(model.actuator_gainprm[:, 0], device=gain.device) * scale
    b[:, :, 1] = torch.as_tensor(model.actuator_biasprm[:, 1], device=gain.device) * scale
    b[:, :, 2] = torch.as_tensor(model.actuator_biasprm[:, 2], device=gain.device) * scale
    f[:] = torch.as_tensor(model.actuator_forcerange, device=gain.device) * scale.unsqueeze(-1)
    gain[ids], bias[ids], force[ids] = g, b, f


# -- observations ------------------------------------------------------------------------------------


def waypoint_in_base(env: ManagerBasedRlEnv, command: str = WAYPOINTS) -> torch.Tensor:
    """(dx, dy, dz) of the current waypoint in the base's yaw frame (clipped to 2 m), sin/cos of its yaw
    relative to the base, and 1 when it is the goal: (N, 6)."""
    s = waypoints(env, command)
    wp = env.command_manager.get_command(command)
    root = env.robot.root_pos_w.to(env.device)
    yaw = yaw_from_quat(env.robot.root_quat_w).to(env.device)
    d = wp[:, :3] - root
    c, si = torch.cos(yaw), torch.sin(yaw)
    local = torch.stack([c * d[:, 0] + si * d[:, 1], -si * d[:, 0] + c * d[:, 1], d[:, 2]], dim=-1).clamp(
        -2.0, 2.0
    )
    dyaw = wp[:, 3] - yaw
    last = s.is_last.double()
    return torch.cat(
        [local, torch.sin(dyaw)[:, None], torch.cos(dyaw)[:, None], last[:, None]], dim=-1
    ).float()


def body_contact_obs(env: ManagerBasedRlEnv) -> torch.Tensor:
    return body_contacts(env).unsqueeze(-1)


# -- rewards -----------------------------------------------------------------------------------------


def goal_reached(env: ManagerBasedRlEnv, command: str = WAYPOINTS) -> torch.Tensor:
    return waypoints(env, command).at_goal.float()


def still_at_goal(env: ManagerBasedRlEnv, std: float = 0.2, command: str = WAYPOINTS) -> torch.Tensor:
    """At the goal, reward standing still (linear and yaw velocity near zero)."""
    s = waypoints(env, command)
    v = env.robot.root_lin_vel_b[:, :2].to(env.device)
    w = env.robot.root_ang_vel_b[:, 2].to(env.device)
    still = torch.exp(-(torch.sum(v * v, -1) + 0.25 * w * w) / std**2)
    return (s.at_goal.double() * still).float()


def exploration(env: ManagerBasedRlEnv, speed: float = 0.25, yaw_weight: float = 0.5,
                command: str = WAYPOINTS) -> torch.Tensor:  # fmt: skip
    """Velocity toward the current waypoint, capped at `speed` (normalized), plus heading alignment with
    the waypoint's yaw. Scaled to zero over training by the `exploration_decay` curriculum."""
    s = waypoints(env, command)
    wp = env.command_manager.get_command(command)
    d = wp[:, :2] - env.robot.root_pos_w[:, :2].to(env.device)
    dist = torch.linalg.norm(d, dim=-1, keepdim=True).clamp(min=1e-6)
    v_w = env.sim.qvel[:, 0:2].to(env.device)
    toward = (v_w * d / dist).sum(-1)
    yaw = yaw_from_quat(env.robot.root_quat_w).to(env.device)
    align = torch.cos(wp[:, 3] - yaw)
    move = torch.where(s.at_goal, torch.ones_like(toward), toward.clamp(max=speed) / speed)
    return (move + yaw_weight * align).float()


def trot_until_goal(env: ManagerBasedRlEnv, sensor: str = "feet", period: float = TROT_PERIOD,
                    command: str = WAYPOINTS) -> torch.Tensor:  # fmt: skip
    """The trot recipe's contact timing (velocity.py) while the goal is not reached; all feet down at it."""
    return mdp.gait_contact_match(env, ~waypoints(env, command).at_goal, sensor, period)


def waypoint_height_l2(env: ManagerBasedRlEnv, command: str = WAYPOINTS) -> torch.Tensor:
    """Squared gap between the base height and the current waypoint's (the planner asks for crouches)."""
    waypoints(env, command)
    wp = env.command_manager.get_command(command)
    return torch.square(env.robot.root_pos_w[:, 2].to(env.device) - wp[:, 2]).float()


def body_collisions(env: ManagerBasedRlEnv) -> torch.Tensor:
    return body_contacts(env)


# -- curricula ---------------------------------------------------------------------------------------


def exploration_scale(step: int, decay_steps: int) -> float:
    """1 at step 0, linearly down to 0 at `decay_steps` (policy steps per world), 0 after."""
    if decay_steps <= 0:
        return 0.0
    return max(0.0, 1.0 - step / decay_steps)


def exploration_decay(env: ManagerBasedRlEnv, env_ids: torch.Tensor, term: str = "exploration",
                      decay_steps: int = 24 * 1000) -> float | None:  # fmt: skip
    """Set the exploration reward's weight to its configured value times `exploration_scale`."""
    del env_ids
    terms = env.reward_manager.terms
    if term not in terms:
        return None
    initial = env.term_state.setdefault("exploration_weight", terms[term].weight)
    terms[term].weight = initial * exploration_scale(env.common_step_counter, decay_steps)
    return terms[term].weight


def confined_levels(env: ManagerBasedRlEnv, env_ids: torch.Tensor, command: str = WAYPOINTS) -> float | None:
    """Difficulty curriculum: a world that reached its goal moves one row harder, one that covered less
    than a quarter of the way moves one row easier; worlds past the hardest row restart at random."""
    if env.terrain_origins is None or command not in env.command_manager:
        return None
    state: WaypointCommand = env.command_manager.get_term(command)
    if env.common_step_counter == 0:
        return float(env.terrain_levels.float().mean())
    rows = env.terrain_origins.shape[0]
    pos = env.robot.root_pos_w[env_ids, :2].to(env.device)
    left = torch.linalg.norm(state.goal[env_ids] - pos, dim=-1).float()
    up = state.reached[env_ids]
    down = (left > 0.75 * state.path_length[env_ids]) & ~up
    levels = env.terrain_levels[env_ids] + up.long() - down.long()
    past = levels >= rows
    levels[past] = torch.randint(0, rows, (int(past.sum()),), device=env.device, generator=env.rng)
    env.terrain_levels[env_ids] = levels.clamp(0, rows - 1)
    return float(env.terrain_levels.float().mean())


# -- configs -----------------------------------------------------------------------------------------


def _proprio(noise: bool) -> dict[str, ObsTerm]:
    """The velocity policy's proprioception (base velocity as a state estimate, with its noise) and the
    trot clock: the same inputs the velocity baseline gets, so the methods differ in what they are told."""
    n = 1.0 if noise else 0.0
    return {
        "base_lin_vel": ObsTerm(mdp.base_lin_vel, noise=0.1 * n, mirror=Signs(VECTOR)),
        "base_ang_vel": ObsTerm(mdp.base_ang_vel, noise=0.2 * n, scale=0.25, mirror=Signs(PSEUDO_VECTOR)),
        "projected_gravity": ObsTerm(mdp.projected_gravity, noise=0.05 * n, mirror=Signs(VECTOR)),
        "joint_pos": ObsTerm(mdp.joint_pos_rel, noise=0.01 * n, mirror=JointMirror()),
        "joint_vel": ObsTerm(mdp.joint_vel, noise=1.5 * n, scale=0.05, mirror=JointMirror()),
        "last_action": ObsTerm(mdp.last_action, mirror=JointMirror()),
        "gait_phase": ObsTerm(mdp.gait_phase, params={"period": TROT_PERIOD}, mirror=Signs(HALF_PERIOD)),
    }


WAYPOINT_MIRROR = (1.0, -1.0, 1.0, -1.0, 1.0, 1.0)
"""Signs of `waypoint_in_base` under the mirror: the lateral offset and the relative yaw's sine flip."""


def confined_policy_obs() -> ObsGroupCfg:
    terms = _proprio(noise=True)
    terms["waypoint"] = ObsTerm(waypoint_in_base, mirror=Signs(WAYPOINT_MIRROR))
    terms["height_scan"] = ObsTerm(
        two_layer_height_scan, params={"dropout": 0.02, "method": SCAN_METHOD}, noise=0.03, mirror=GridMirror()
    )
    return ObsGroupCfg(terms=terms)


def confined_critic_obs() -> ObsGroupCfg:
    """Privileged: noise-free, plus base velocity and height, foot contacts and body contacts."""
    terms = _proprio(noise=False)
    terms["waypoint"] = ObsTerm(waypoint_in_base, mirror=Signs(WAYPOINT_MIRROR))
    terms["height_scan"] = ObsTerm(two_layer_height_scan, params={"method": SCAN_METHOD}, mirror=GridMirror())
    terms["base_height"] = ObsTerm(mdp.base_height, mirror=Invariant())
    terms["feet_contact"] = ObsTerm(mdp.contact_found, params={"sensor": "feet"}, mirror=ContactMirror())
    terms["body_contacts"] = ObsTerm(body_contact_obs, mirror=Invariant())  # a count: the same on both sides
    return ObsGroupCfg(terms=terms, enable_noise=False)


def confined_rewards() -> dict[str, RewardTerm]:
    return {
        "goal_reached": RewardTerm(goal_reached, weight=10.0),
        "still_at_goal": RewardTerm(still_at_goal, weight=5.0),
        "exploration": RewardTerm(exploration, weight=2.0, params={"speed": 0.25, "yaw_weight": 0.5}),
        "waypoint_height": RewardTerm(waypoint_height_l2, weight=-20.0),
        "body_collisions": RewardTerm(body_collisions, weight=-1.0),
        "joint_pos_limits": RewardTerm(mdp.joint_pos_limits, weight=-10.0),
        "gait_contact": RewardTerm(trot_until_goal, weight=0.5),
        "joint_torques": RewardTerm(mdp.joint_torques_l2, weight=TROT_TORQUE_WEIGHT),
        "action_rate": RewardTerm(mdp.action_rate_l2, weight=-0.01),
        "lin_vel_z": RewardTerm(mdp.lin_vel_z_l2, weight=-1.0),
        "ang_vel_xy": RewardTerm(mdp.ang_vel_xy_l2, weight=-0.05),
        "flat_orientation": RewardTerm(mdp.flat_orientation_l2, weight=-1.0),
    }


def confined_events() -> dict[str, EventTerm]:
    return {
        "friction": EventTerm(mdp.randomize_friction, mode="startup", params={"friction_range": (0.6, 1.25)}),
        "base_mass": EventTerm(mdp.add_base_mass, mode="startup", params={"mass_range": (-0.5, 1.5)}),
        "motor_strength": EventTerm(randomize_motor_strength, mode="startup", params={"strength_range": (0.85, 1.15)}),
        "reset_base": EventTerm(
            mdp.reset_root_state,
            mode="reset",
            params={
                "pose_range": {"x": (-0.1, 0.1), "y": (-0.1, 0.1), "yaw": (-0.3, 0.3)},
                "velocity_range": {k: (-0.1, 0.1) for k in ("x", "y", "yaw")},
            },
        ),
        "reset_joints": EventTerm(mdp.reset_joints_by_scale, mode="reset", params={"position_range": (0.9, 1.1)}),
    }  # fmt: skip


@dataclass
class Go1Confined3DCfg(EnvCfg):
    scene: SceneCfg = field(default_factory=lambda: go1_scene(confined_terrain()))
    observations: dict[str, ObsGroupCfg] = field(
        default_factory=lambda: {"policy": confined_policy_obs(), "critic": confined_critic_obs()}
    )
    rewards: dict[str, RewardTerm] = field(default_factory=confined_rewards)
    terminations: dict[str, TerminationTerm] = field(
        default_factory=lambda: {
            "time_out": TerminationTerm(mdp.time_out, time_out=True),
            "bad_orientation": TerminationTerm(mdp.bad_orientation, params={"limit_angle": 1.0}),
            "fell": TerminationTerm(mdp.base_height_below, params={"min_height": 0.06}),
        }
    )
    actions: dict[str, ActionTermCfg] = field(
        # Latency (0 or 20 ms per world) is part of the action term: 0-1 policy steps late.
        default_factory=lambda: {"joint_pos": DelayedJointPositionActionCfg(scale=0.25, delay_steps=(0, 1))}
    )
    commands: dict[str, CommandTermCfg] = field(default_factory=lambda: {WAYPOINTS: WaypointCommandCfg()})
    events: dict[str, EventTerm] = field(default_factory=confined_events)
    curriculum: dict[str, CurriculumTerm] = field(
        default_factory=lambda: {
            "exploration_decay": CurriculumTerm(
                exploration_decay, params={"decay_steps": 24 * EXPLORATION_ITERATIONS}
            ),
            "terrain_levels": CurriculumTerm(confined_levels),
        }
    )
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.004))
    num_envs: int = 512
    decimation: int = 5
    episode_length_s: float = 20.0
    base_body: str = "trunk"


@dataclass
class Go1Confined3DGoalOnlyCfg(Go1Confined3DCfg):
    """Baseline: the same policy and rewards, but its only waypoint is the far goal."""

    commands: dict[str, CommandTermCfg] = field(
        default_factory=lambda: {WAYPOINTS: WaypointCommandCfg(use_planner=False)}
    )


def go1_velocity_events() -> dict[str, EventTerm]:
    """The velocity events with the Go1's lighter payload range."""
    events = velocity_events()
    events["base_mass"].params["mass_range"] = (-0.5, 1.5)
    return events


@dataclass
class Go1VelocityFlatCfg(LeggedVelocityCfg):
    """Baseline low level: Go1 on the shared velocity and trot recipe (flat ground, as Go2-Velocity-Flat),
    driven through the tunnels by pure pursuit in evaluation. Physics timing matches the confined tasks."""

    scene: SceneCfg = field(default_factory=go1_scene)
    observations: dict[str, ObsGroupCfg] = field(default_factory=trot_observations)
    commands: dict[str, CommandTermCfg] = field(
        default_factory=lambda: {"base_velocity": VelocityCommandCfg(
            lin_vel_x=(-0.5, 0.8), lin_vel_y=(-0.4, 0.4), ang_vel_z=(-1.0, 1.0)
        )}
    )
    curriculum: dict[str, CurriculumTerm] = field(
        default_factory=lambda: {"command_levels": command_curriculum()}
    )
    sim: SimCfg = field(default_factory=lambda: SimCfg(dt=0.004))
    num_envs: int = 512
    decimation: int = 5
    episode_length_s: float = 20.0
    base_body: str = "trunk"
    rewards: dict[str, RewardTerm] = field(default_factory=trot_rewards)
    events: dict[str, EventTerm] = field(default_factory=go1_velocity_events)


def confined_train_cfg() -> PpoCfg:
    """CPU preset, the same for the three methods: 512 worlds x TRAIN_ITERATIONS with the trot recipe's
    PPO settings (init std 0.5, entropy 0.005, 4 x 2 minibatches, one torch thread, mirror symmetry)."""
    return PpoCfg.cpu(max_iterations=TRAIN_ITERATIONS, **TROT_CPU_PPO)


__all__ = ["Go1Confined3DCfg", "Go1Confined3DGoalOnlyCfg", "Go1VelocityFlatCfg", "WaypointCommandCfg"]
