"""A periodic biped gait for humanoid walking (humanoid-gym's recipe, written for this project's terms).

A clock of `period` seconds, started with the episode and observed by the policy (`mdp.gait_phase`),
says which leg swings: the left while sin(2 pi t / period) > 0, the right while it is < 0, both feet down
near the zero crossings. Three rewards turn that timing into a walking pattern PPO can improve on from
its first iteration, instead of waiting for random joint noise to lift a foot (the H1 walking skill
trained without them only learnt to stand):
- `gait_reference_pose`: joints near the default pose with the swing leg folded (hip and ankle pitch by
  -a, knee by +2a, a = amplitude * the swing signal), which lifts that foot straight up;
- `biped_contact`: each foot on the ground exactly when the clock says stance;
- `swing_foot_clearance`: the swinging foot at least `height` above where it stands.

In a task that asks for standing (`asks_standing`), a command slower than `STAND_COMMAND` asks the gait to stand: no leg swings, the reference is the default
pose, both feet should stay down, and the clock the policy sees stops at the start of the cycle, a double
support instant (`gait_clock`). humanoid-gym's gait steps in place forever, which the SkillBench blends
inherited; rewarding standing while the observed clock kept ticking did not stop the stepping
(docs/skillblender.md).
The `stand_from_step` curriculum holds standing off until the gait is found: allowed from the start, the H1
learnt to stand under every command.

The left-right mirror swaps the legs, i.e. moves the clock by half a period: (sin, cos) changes sign
(`robolearn.core.symmetry.HALF_PERIOD`, set on the clock's observation term).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import torch

from robolearn.core import mdp

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

WALK_PERIOD = 0.64
"""s: humanoid-gym's gait cycle (one step per leg)."""
DOUBLE_SUPPORT = 0.05
"""Share of the cycle, around each zero crossing of the clock, with both feet meant to be down."""
SWING_AMPLITUDE = 0.17
"""rad: hip and ankle pitch fold of the swing leg at mid-swing (the knee folds twice as much): with the H1's
0.4 m thigh and shin this lifts the foot ~6 cm, the clearance asked for."""
SWING_HEIGHT = 0.06
"""m: foot clearance asked of the swinging foot (humanoid-gym's target)."""
STAND_COMMAND = 0.1
"""Norm of the (vx, vy, yaw rate) command below which the gait stands (`mdp.stand_still`'s threshold)."""


def asks_standing(env_cfg: Any) -> bool:
    """Whether a walking task asks its gait to stand under slow commands: its rewards pay for standing still
    (`stand_still` below). The walking preset does not; the stand fine-tune (`h1_skills.with_standing`) does."""
    return any(term.func is stand_still for term in env_cfg.rewards.values())


def standing_enabled(env: ManagerBasedRlEnv) -> bool:
    """Whether the gait stands under slow commands: in a task that asks it to (`asks_standing`), unless a
    `stand_from_step` curriculum still holds it off (evaluation drops curricula, so it stands there)."""
    state = env.term_state.setdefault("biped_gait", {})
    if "asks_standing" not in state:
        state["asks_standing"] = asks_standing(env.cfg)
    return bool(state["asks_standing"] and state.get("stand_at_zero_command", True))


def stepping(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(N,) bool: the worlds whose command asks the robot to move; all of them in a task without commands
    or while `stand_from_step` holds standing off."""
    if "base_velocity" not in env.command_manager or not standing_enabled(env):
        return torch.ones(env.num_envs, dtype=torch.bool, device=env.device)
    return torch.linalg.norm(env.command_manager.get_command("base_velocity"), dim=-1).to(env.device) > STAND_COMMAND


def stand_from_step(env: ManagerBasedRlEnv, env_ids: torch.Tensor, step: int) -> float:
    """Curriculum: the gait steps in every world, whatever its command, until `step` env steps per world,
    and stands under slow commands from then on. Stepping everywhere first is how the gait is found: with
    standing allowed from the start, the H1 learnt to stand under every command (single support 0)."""
    del env_ids
    on = env.common_step_counter >= step
    env.term_state.setdefault("biped_gait", {})["stand_at_zero_command"] = on
    return float(on)


def stand_still(env: ManagerBasedRlEnv) -> torch.Tensor:
    """`mdp.stand_still` (joint deviation from the default pose under a slow command) once the gait stands."""
    return mdp.stand_still(env) * float(standing_enabled(env))


STOPPED_CLOCK = (0.0, 1.0)
"""(sin, cos) of phase 0, where `gait_clock` holds in worlds told to stand: on the circle the running clock
draws, so a clock-driven gait sees an instant it knows, with both feet down. (0, 0) was tried first; that
fine-tune lost its gait, but so did one at (0, 1) with the same heavy stand_still weight (docs/skillblender.md)."""


def gait_clock(env: ManagerBasedRlEnv, period: float = WALK_PERIOD) -> torch.Tensor:
    """`mdp.gait_phase`, held at the double-support instant `STOPPED_CLOCK` in the worlds told to stand
    (`stepping`): a clock-driven gait then sees a moment with both feet down that never moves on."""
    clock = mdp.gait_phase(env, period)
    stopped = torch.tensor(STOPPED_CLOCK, dtype=clock.dtype, device=clock.device)
    return torch.where(stepping(env).to(clock.device).unsqueeze(-1), clock, stopped)


def swing_signal(env: ManagerBasedRlEnv, period: float = WALK_PERIOD) -> torch.Tensor:
    """(N, 2) how far into swing each foot (left, right) is, in [0, 1]; 0 in stance, in double support and
    in worlds commanded to stand."""
    t = env.episode_length_buf.to(torch.float32) * env.step_dt
    s = torch.sin(2.0 * torch.pi * t / period)
    deadband = math.sin(math.pi * DOUBLE_SUPPORT)
    swing = torch.stack([s, -s], dim=-1)
    swing = swing * stepping(env).to(swing.device).unsqueeze(-1)
    return torch.where(swing > deadband, swing, torch.zeros_like(swing))


def _leg_joint_ids(env: ManagerBasedRlEnv) -> torch.Tensor:
    """(2, 3) joint indices of (hip pitch, knee, ankle) for the left and right legs, looked up once."""
    cache = env.term_state.setdefault("biped_gait", {})
    if "leg_ids" not in cache:
        names = list(env.robot.joint_names)

        def find(side: str, part: str) -> int:
            hits = [i for i, n in enumerate(names) if re.fullmatch(f"{side}_{part}(_joint)?", n)]
            if not hits and part == "ankle":  # a two-axis ankle (G1): its pitch joint
                hits = [i for i, n in enumerate(names) if re.fullmatch(f"{side}_ankle_pitch(_joint)?", n)]
            if len(hits) != 1:
                raise ValueError(f"biped gait: expected one joint named {side}_{part} among {names}")
            return hits[0]

        cache["leg_ids"] = torch.tensor(
            [[find(side, p) for p in ("hip_pitch", "knee", "ankle")] for side in ("left", "right")]
        )
    return cache["leg_ids"]


def reference_joint_pos(env: ManagerBasedRlEnv, period: float = WALK_PERIOD,
                        amplitude: float = SWING_AMPLITUDE) -> torch.Tensor:  # fmt: skip
    """(N, J) the gait's reference joint positions at the current clock."""
    ids = _leg_joint_ids(env).to(env.robot.joint_pos.device)
    fold = amplitude * swing_signal(env, period).to(env.robot.joint_pos.device)  # (N, 2)
    ref = env.robot.default_joint_pos.expand(env.num_envs, -1).clone()
    pattern = torch.tensor([-1.0, 2.0, -1.0], device=ref.device)  # hip, knee, ankle pitch
    for leg in range(2):
        ref[:, ids[leg]] += fold[:, leg : leg + 1] * pattern
    return ref


def gait_reference_pose(env: ManagerBasedRlEnv, period: float = WALK_PERIOD,
                        amplitude: float = SWING_AMPLITUDE) -> torch.Tensor:  # fmt: skip
    """exp(-2 |q - q_ref|) - 0.2 min(|q - q_ref|, 0.5) over all joints (humanoid-gym's kernel and margin)."""
    diff = torch.linalg.norm(env.robot.joint_pos - reference_joint_pos(env, period, amplitude), dim=-1)
    return (torch.exp(-2.0 * diff) - 0.2 * diff.clamp(max=0.5)).float()


def biped_contact(env: ManagerBasedRlEnv, sensor: str = "feet", period: float = WALK_PERIOD) -> torch.Tensor:
    """Fraction of the two feet (left, right in the sensor) whose ground contact matches the clock; both
    feet down in worlds commanded to stand."""
    # Left stance for (phase + 0.5 + d/2) mod 1 < 0.5 + d: stance over the second half of the cycle,
    # widened by d/2 at both ends; the right foot half a period later.
    half = 0.5 * DOUBLE_SUPPORT
    return mdp.gait_contact_match(
        env, stepping(env), sensor, period, (0.5 + half, half), 0.5 + DOUBLE_SUPPORT
    )


def _feet(env: ManagerBasedRlEnv, sensor: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(body ids (2,), heights above the ground in the default pose (2,)) of the foot bodies of contact
    sensor `sensor`, looked up once."""
    cache = env.term_state.setdefault("biped_gait", {})
    if "foot_ids" not in cache:
        from robolearn.envs.humanoid.h1_skills import default_pose_data  # it imports this module

        bodies = env.cfg.scene.contact_sensors[sensor].bodies
        model = env.scene.model
        data = default_pose_data(env)
        cache["foot_ids"] = torch.tensor([model.body(b).id for b in bodies])
        cache["stance_height"] = torch.tensor([data.xpos[model.body(b).id][2] for b in bodies])
    return cache["foot_ids"], cache["stance_height"]


def swing_foot_clearance(env: ManagerBasedRlEnv, sensor: str = "feet", period: float = WALK_PERIOD,
                         height: float = SWING_HEIGHT) -> torch.Tensor:  # fmt: skip
    """Mean over the feet the clock has swinging of min(lift / height, 1); 0 while both should stand.
    The lift is the foot body's height above its height in the default pose (flat ground); the feet are the
    bodies of contact sensor `sensor`, left then right."""
    ids, stance = _feet(env, sensor)
    z = env.sim.xpos[:, ids, 2].to(env.device) - env.env_origins[:, 2:3].to(env.device)
    lift = ((z - stance.to(z.device)) / height).clamp(0.0, 1.0)
    swinging = (swing_signal(env, period).to(z.device) > 0).float()
    return ((lift * swinging).sum(dim=-1) / swinging.sum(dim=-1).clamp(min=1.0)).float()


def feet_slip(env: ManagerBasedRlEnv, sensor: str = "feet") -> torch.Tensor:
    """Summed xy speed (m/s) of the feet that touch the ground on this step and the last one."""
    ids, _ = _feet(env, sensor)
    state = env.term_state["biped_gait"]
    xy = env.sim.xpos[:, ids, :2].to(env.device)
    rows = env.sim.sensordata[:, env.scene.contact_slices[sensor]].reshape(env.num_envs, -1, 4)
    contact = (rows[..., 0] > 0).to(env.device)
    if "slip_xy" not in state:
        state["slip_xy"], state["slip_contact"] = xy.clone(), contact.clone()
    planted = contact & state["slip_contact"] & (env.episode_length_buf > 1).to(env.device).unsqueeze(-1)
    speed = torch.linalg.norm(xy - state["slip_xy"], dim=-1) / env.step_dt
    state["slip_xy"], state["slip_contact"] = xy.clone(), contact.clone()
    return (speed * planted).sum(dim=-1).float()
