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

Per-world waypoint state lives in `env.term_state["confined3d"]`, created by a startup event, filled by
a reset event and advanced lazily once per step by the first term that reads it, so terms do not
depend on the order the managers call them in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from robolearn.core import (
    ActionTermCfg,
    CommandTermCfg,
    CurriculumTerm,
    EnvCfg,
    EventTerm,
    JointPositionActionCfg,
    ObsGroupCfg,
    ObsTerm,
    RewardTerm,
    SimCfg,
    TerminationTerm,
    VelocityCommandCfg,
    mdp,
)
from robolearn.core.actions import JointPositionAction
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
from robolearn.envs.locomotion.confined3d.planner import GridAStarPlanner, PlannerCfg, PlanResult, RobotBox
from robolearn.envs.locomotion.confined3d.terrain import TERRAIN_KIND, grid_from_cfg
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
STAND_HEIGHT = 0.27
STATE_KEY = "confined3d"
MAX_WAYPOINTS = 64
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


# -- waypoint state ----------------------------------------------------------------------------------


@dataclass
class WaypointCfg:
    use_planner: bool = True
    """False: the only waypoint is the far goal (the end-to-end baseline)."""
    switch_radius: float = 0.25
    """A waypoint within this distance (xy) is passed and the next one becomes current."""
    goal_radius: float = 0.3
    replan: bool = False
    """Replan from the robot's pose when it drifts `replan_distance` off its path (evaluation)."""
    replan_distance: float = 0.4


class WaypointState:
    """Per-world paths (world frame), current index, goal bookkeeping and collision counts."""

    def __init__(self, env: ManagerBasedRlEnv, cfg: WaypointCfg):
        terrain = env.cfg.scene.terrain
        if terrain.kind != TERRAIN_KIND:
            raise ValueError(f"waypoint terms need terrain.kind={TERRAIN_KIND!r}, got {terrain.kind!r}")
        self.cfg = cfg
        self.grid = grid_from_cfg(terrain)
        dev, n = env.device, env.num_envs
        rows, cols = self.grid.rows, self.grid.cols
        self.planners: dict[tuple[int, int], GridAStarPlanner] = {}
        self.tile_paths = torch.zeros(rows, cols, MAX_WAYPOINTS, 4, dtype=torch.float64, device=dev)
        self.tile_counts = torch.ones(rows, cols, dtype=torch.long, device=dev)
        self.tile_solvable = torch.ones(rows, cols, dtype=torch.bool, device=dev)
        self.tile_goals = torch.as_tensor(self.grid.goal_w(), device=dev)
        for r in range(rows):
            for c in range(cols):
                self.plan_tile(r, c)
        self.paths = torch.zeros(n, MAX_WAYPOINTS, 4, dtype=torch.float64, device=dev)
        self.count = torch.ones(n, dtype=torch.long, device=dev)
        self.index = torch.zeros(n, dtype=torch.long, device=dev)
        self.goal = torch.zeros(n, 2, dtype=torch.float64, device=dev)
        self.solvable = torch.ones(n, dtype=torch.bool, device=dev)
        self.at_goal = torch.zeros(n, dtype=torch.bool, device=dev)
        self.reached = torch.zeros(n, dtype=torch.bool, device=dev)
        self.time_to_goal = torch.full((n,), -1.0, device=dev)
        self.collisions = torch.zeros(n, device=dev)
        self.touching = torch.zeros(n, dtype=torch.bool, device=dev)
        self.path_length = torch.ones(n, device=dev)
        self.replans = torch.zeros(n, dtype=torch.long, device=dev)
        self.step = -1

    def plan_tile(self, r: int, c: int, goal: np.ndarray | None = None) -> PlanResult:
        """Plan tile (r, c) from its entrance to `goal` (tile frame; default: the layout's goal).

        Worlds on the tile take the result at their next reset. Without the planner (goal-only) the
        single waypoint is the goal. A goal the planner cannot reach marks the tile unsolvable: its
        episodes still run (toward the goal) but evaluation leaves them out instead of counting failures.
        """
        layout, offset = self.grid.layouts[r][c], self.grid.offsets[r, c]
        goal = layout.goal if goal is None else np.asarray(goal, dtype=float)
        if (r, c) not in self.planners:
            self.planners[(r, c)] = GridAStarPlanner(layout.maps(), RobotBox(), PlannerCfg())
        result = self.planners[(r, c)].plan(np.array([*layout.start, 0.0]), goal)
        if self.cfg.use_planner and result.solved:
            wp = result.waypoints[:MAX_WAYPOINTS].copy()
        else:
            wp = np.array([[*goal, STAND_HEIGHT, 0.0]])
        wp[:, :2] += offset
        self.tile_paths[r, c] = 0.0
        self.tile_paths[r, c, : len(wp)] = torch.as_tensor(wp, device=self.tile_paths.device)
        self.tile_counts[r, c] = len(wp)
        self.tile_solvable[r, c] = result.solved
        self.tile_goals[r, c] = torch.as_tensor(goal + offset, device=self.tile_goals.device)
        return result

    def reset(self, env: ManagerBasedRlEnv, env_ids: torch.Tensor) -> None:
        lv, ty = env.terrain_levels[env_ids], env.terrain_types[env_ids]
        self.paths[env_ids] = self.tile_paths[lv, ty]
        self.count[env_ids] = self.tile_counts[lv, ty]
        self.solvable[env_ids] = self.tile_solvable[lv, ty]
        self.goal[env_ids] = self.tile_goals[lv, ty]
        self.index[env_ids] = 0
        self.at_goal[env_ids] = False
        self.reached[env_ids] = False
        self.time_to_goal[env_ids] = -1.0
        self.collisions[env_ids] = 0.0
        self.touching[env_ids] = False
        self.replans[env_ids] = 0
        start = env.robot.root_pos_w[env_ids, :2].to(env.device)
        self.path_length[env_ids] = (
            torch.linalg.norm(self.goal[env_ids] - start, dim=-1).float().clamp(min=0.1)
        )

    def update(self, env: ManagerBasedRlEnv) -> None:
        """Advance waypoints and goal/collision bookkeeping once per env step."""
        if self.step == env.common_step_counter:
            return
        self.step = env.common_step_counter
        pos = env.robot.root_pos_w[:, :2].to(env.device)
        ar = torch.arange(env.num_envs, device=env.device)
        wp = self.paths[ar, self.index]
        near = torch.linalg.norm(wp[:, :2] - pos, dim=-1) < self.cfg.switch_radius
        self.index = torch.where(near & (self.index < self.count - 1), self.index + 1, self.index)
        self.at_goal = torch.linalg.norm(self.goal - pos, dim=-1) < self.cfg.goal_radius
        first = self.at_goal & ~self.reached
        self.time_to_goal = torch.where(
            first, env.episode_length_buf.float() * env.step_dt, self.time_to_goal
        )
        self.reached |= self.at_goal
        touching = body_contacts(env) > 0
        self.collisions += (touching & ~self.touching).float()  # count contact events, not contact steps
        self.touching = touching
        if self.cfg.replan and self.cfg.use_planner:
            self._replan_drifted(env, pos)

    def _replan_drifted(self, env: ManagerBasedRlEnv, pos: torch.Tensor) -> None:
        ar = torch.arange(env.num_envs, device=env.device)
        a = self.paths[ar, (self.index - 1).clamp(min=0)][:, :2]
        b = self.paths[ar, self.index][:, :2]
        ab = b - a
        t = ((pos - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp(min=1e-9)
        off = torch.linalg.norm(a + t.clamp(0, 1).unsqueeze(-1) * ab - pos, dim=-1)
        drifted = (off > self.cfg.replan_distance) & ~self.at_goal & self.solvable
        yaw = yaw_from_quat(env.robot.root_quat_w).to(env.device)
        for i in drifted.nonzero(as_tuple=True)[0].tolist():
            r, c = int(env.terrain_levels[i]), int(env.terrain_types[i])
            offset = self.grid.offsets[r, c]
            start = np.array([*(pos[i].cpu().numpy() - offset), float(yaw[i])])
            result = self.planners[(r, c)].plan(start, self.grid.layouts[r][c].goal)
            if not result.solved:
                continue  # keep the old path; a robot wedged in a wall has no new one to follow
            wp = result.waypoints[:MAX_WAYPOINTS].copy()
            wp[:, :2] += offset
            self.paths[i, : len(wp)] = torch.as_tensor(wp, device=env.device)
            self.count[i] = len(wp)
            self.index[i] = 0
            self.replans[i] += 1


def waypoint_state(env: ManagerBasedRlEnv) -> WaypointState:
    state = env.term_state.get(STATE_KEY)
    if state is None:
        raise RuntimeError("confined3d terms need the 'init_waypoints' startup event in the task's events")
    state.update(env)
    return state


def body_contacts(env: ManagerBasedRlEnv) -> torch.Tensor:
    """Number of robot parts other than feet touching the terrain: trunk, hips, thighs, calf shanks."""

    def rows(name: str) -> torch.Tensor:
        return env.sim.sensordata[:, env.scene.contact_slices[name]].reshape(env.num_envs, -1, 4)[..., 0]

    found = (rows("base") > 0).sum(-1) + (rows("hips") > 0).sum(-1) + (rows("thighs") > 0).sum(-1)
    # "found" counts contacts: a calf with more contacts than its foot has one on the shank.
    shank = (rows("calves") - rows("feet")) > 0
    return (found + shank.sum(-1)).to(env.device).float()


# -- events ------------------------------------------------------------------------------------------


def init_waypoints(env: ManagerBasedRlEnv, env_ids: torch.Tensor, cfg: WaypointCfg) -> None:
    """Startup: plan every tile once (worlds on one tile share its plan until they replan)."""
    del env_ids
    env.term_state[STATE_KEY] = WaypointState(env, cfg)


def reset_waypoints(env: ManagerBasedRlEnv, env_ids: torch.Tensor) -> None:
    """Reset: a world takes its tile's path. Must come after the events that move the base."""
    env.term_state[STATE_KEY].reset(env, env_ids)


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


class DelayedJointPositionAction(JointPositionAction):
    """Joint targets applied `delay` policy steps late, per world: actuation and communication latency."""

    def __init__(self, base: JointPositionAction, delay: torch.Tensor):
        self.__dict__.update(base.__dict__)
        self.delay = delay
        self._queue = torch.zeros(int(delay.max()) + 1, *base.action.shape, device=base.action.device)

    def process(self, action: torch.Tensor) -> torch.Tensor:
        self._queue = torch.roll(self._queue, 1, dims=0)
        self._queue[0] = action.to(self._queue.device)
        ar = torch.arange(self.env.num_envs, device=self._queue.device)
        super().process(self._queue[self.delay, ar])
        # The policy's own last action (an observation) is what it sent, not what the motors got yet.
        self.action[:] = self._queue[0].clamp(-self.cfg.clip, self.cfg.clip)
        return self.action

    def reset(self, env_ids: torch.Tensor) -> None:
        super().reset(env_ids)
        self._queue[:, env_ids] = 0.0


def action_latency(env: ManagerBasedRlEnv, env_ids: torch.Tensor, delay_steps: tuple[int, int],
                   term: str = "joint_pos") -> None:  # fmt: skip
    """Startup: each world's actions arrive U{delay_steps} policy steps late (0-20 ms at 50 Hz for (0, 1)).

    The env builds a plain JointPositionAction term; this event swaps in the delayed one, keeping its state.
    """
    lo, hi = delay_steps
    delay = torch.randint(lo, hi + 1, (env.num_envs,), device=env.device, generator=env.rng)
    base = env.action_manager.get_term(term)
    if not isinstance(base, JointPositionAction):
        raise ValueError(f"action_latency: actions[{term!r}] is a {type(base).__name__}, not a joint-position term")
    env.action_manager.terms[term] = DelayedJointPositionAction(base, delay)


# -- observations ------------------------------------------------------------------------------------


def waypoint_in_base(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(dx, dy, dz) of the current waypoint in the base's yaw frame (clipped to 2 m), sin/cos of its yaw
    relative to the base, and 1 when it is the goal: (N, 6)."""
    s = waypoint_state(env)
    ar = torch.arange(env.num_envs, device=env.device)
    wp = s.paths[ar, s.index]
    root = env.robot.root_pos_w.to(env.device)
    yaw = yaw_from_quat(env.robot.root_quat_w).to(env.device)
    d = wp[:, :3] - root
    c, si = torch.cos(yaw), torch.sin(yaw)
    local = torch.stack([c * d[:, 0] + si * d[:, 1], -si * d[:, 0] + c * d[:, 1], d[:, 2]], dim=-1).clamp(
        -2.0, 2.0
    )
    dyaw = wp[:, 3] - yaw
    last = (s.index == s.count - 1).double()
    return torch.cat(
        [local, torch.sin(dyaw)[:, None], torch.cos(dyaw)[:, None], last[:, None]], dim=-1
    ).float()


def body_contact_obs(env: ManagerBasedRlEnv) -> torch.Tensor:
    return body_contacts(env).unsqueeze(-1)


# -- rewards -----------------------------------------------------------------------------------------


def goal_reached(env: ManagerBasedRlEnv) -> torch.Tensor:
    return waypoint_state(env).at_goal.float()


def still_at_goal(env: ManagerBasedRlEnv, std: float = 0.2) -> torch.Tensor:
    """At the goal, reward standing still (linear and yaw velocity near zero)."""
    s = waypoint_state(env)
    v = env.robot.root_lin_vel_b[:, :2].to(env.device)
    w = env.robot.root_ang_vel_b[:, 2].to(env.device)
    still = torch.exp(-(torch.sum(v * v, -1) + 0.25 * w * w) / std**2)
    return (s.at_goal.double() * still).float()


def exploration(env: ManagerBasedRlEnv, speed: float = 0.25, yaw_weight: float = 0.5) -> torch.Tensor:
    """Velocity toward the current waypoint, capped at `speed` (normalized), plus heading alignment with
    the waypoint's yaw. Scaled to zero over training by the `exploration_decay` curriculum."""
    s = waypoint_state(env)
    ar = torch.arange(env.num_envs, device=env.device)
    wp = s.paths[ar, s.index]
    d = wp[:, :2] - env.robot.root_pos_w[:, :2].to(env.device)
    dist = torch.linalg.norm(d, dim=-1, keepdim=True).clamp(min=1e-6)
    v_w = env.sim.qvel[:, 0:2].to(env.device)
    toward = (v_w * d / dist).sum(-1)
    yaw = yaw_from_quat(env.robot.root_quat_w).to(env.device)
    align = torch.cos(wp[:, 3] - yaw)
    move = torch.where(s.at_goal, torch.ones_like(toward), toward.clamp(max=speed) / speed)
    return (move + yaw_weight * align).float()


def trot_until_goal(
    env: ManagerBasedRlEnv, sensor: str = "feet", period: float = TROT_PERIOD
) -> torch.Tensor:
    """The trot recipe's contact timing (velocity.py) while the goal is not reached; all feet down at it."""
    return mdp.gait_contact_match(env, ~waypoint_state(env).at_goal, sensor, period)


def waypoint_height_l2(env: ManagerBasedRlEnv) -> torch.Tensor:
    """Squared gap between the base height and the current waypoint's (the planner asks for crouches)."""
    s = waypoint_state(env)
    ar = torch.arange(env.num_envs, device=env.device)
    return torch.square(env.robot.root_pos_w[:, 2].to(env.device) - s.paths[ar, s.index, 2]).float()


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


def confined_levels(env: ManagerBasedRlEnv, env_ids: torch.Tensor) -> float | None:
    """Difficulty curriculum: a world that reached its goal moves one row harder, one that covered less
    than a quarter of the way moves one row easier; worlds past the hardest row restart at random."""
    state = env.term_state.get(STATE_KEY)
    if env.terrain_origins is None or state is None:
        return None
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


def confined_events(use_planner: bool = True) -> dict[str, EventTerm]:
    return {
        "init_waypoints": EventTerm(init_waypoints, mode="startup", params={"cfg": WaypointCfg(use_planner=use_planner)}),
        "friction": EventTerm(mdp.randomize_friction, mode="startup", params={"friction_range": (0.6, 1.25)}),
        "base_mass": EventTerm(mdp.add_base_mass, mode="startup", params={"mass_range": (-0.5, 1.5)}),
        "motor_strength": EventTerm(randomize_motor_strength, mode="startup", params={"strength_range": (0.85, 1.15)}),
        "latency": EventTerm(action_latency, mode="startup", params={"delay_steps": (0, 1)}),
        "reset_base": EventTerm(
            mdp.reset_root_state,
            mode="reset",
            params={
                "pose_range": {"x": (-0.1, 0.1), "y": (-0.1, 0.1), "yaw": (-0.3, 0.3)},
                "velocity_range": {k: (-0.1, 0.1) for k in ("x", "y", "yaw")},
            },
        ),
        "reset_joints": EventTerm(mdp.reset_joints_by_scale, mode="reset", params={"position_range": (0.9, 1.1)}),
        "reset_waypoints": EventTerm(reset_waypoints, mode="reset"),
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
        default_factory=lambda: {"joint_pos": JointPositionActionCfg(scale=0.25)}
    )
    commands: dict[str, CommandTermCfg] = field(default_factory=dict)
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

    events: dict[str, EventTerm] = field(default_factory=lambda: confined_events(use_planner=False))


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


__all__ = ["Go1Confined3DCfg", "Go1Confined3DGoalOnlyCfg", "Go1VelocityFlatCfg", "WaypointCfg"]
