"""SkillBlender (Kuang et al. 2025, "Towards Versatile Humanoid Whole-Body Loco-Manipulation via Skill
Blending"): a high-level policy that drives K frozen, goal-conditioned skills and blends their
actions per joint.

For an observation o whose tail is the skills' shared proprioception p (envs/humanoid/h1_skills.py), the
high-level network outputs, for every skill i, a goal g_i (clamped to that skill's goal range) and logits
l_i (one per joint, or one per skill with `per_joint_weights=False`); then

    W = softmax_i(l)          (over the skill axis, separately for each joint)
    a = sum_i W_i * pi_i([g_i, p])

where pi_i is skill i's deterministic actor. PPO explores around `a` with its usual Gaussian; gradients
of the PPO loss flow through the frozen skills into the goals and the weights.

How it composes with PPO, without a fork: `SkillBlenderModel` is an rsl_rl `MLPModel` whose `mlp` is the
whole blend (`BlendHead`: its own input normalizer, the high-level network, the frozen skills) and whose
own normalizer is the identity. rsl_rl's PPO, storage, checkpointing and our ONNX export (which reads
`actor.obs_normalizer` and `actor.mlp`) therefore work unchanged; `SkillBlenderCfg.to_rsl_rl()` only
names this class as the actor. Skills load from run folders (their config.yaml and latest checkpoint), or
by name from the pretrained skills shipped in robolearn/assets/skills (`robolearn export <run> --pack`).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mujoco
import numpy as np
import torch
import torch.nn as nn
from rsl_rl.models import MLPModel
from rsl_rl.modules import MLP, EmpiricalNormalization
from rsl_rl.utils import resolve_class
from tensordict import TensorDict

from robolearn.assets import ASSETS_DIR
from robolearn.policies.runs import RunError, load_checkpoint, resolve_run

CLOCK_DIM = 2
"""A walking skill's gait clock: (sin, cos)."""


PRETRAINED_SKILLS = ASSETS_DIR / "skills"


@dataclass
class FrozenSkill:
    """A trained skill: its deterministic actor and where its goal slot is and may range."""

    task: str
    actor: nn.Module
    """Raw observation (goal slot first) -> mean action."""
    goal_low: torch.Tensor
    goal_high: torch.Tensor
    obs_dim: int
    inputs: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    """Its policy observation's terms after the goal slot, with their params: the suffix of the blender
    task's observation it reads."""
    stand_below: float | None = None
    """For a walking skill whose clock stops under a stand command (`biped_gait.gait_clock`): the goal norm
    below which the blender stops the clock it hands the skill, as the skill's training env did. The clock is
    then the first input after the goal."""
    stopped_clock: tuple[float, float] = (0.0, 1.0)
    """The (sin, cos) that clock holds while stopped."""

    @property
    def goal_dim(self) -> int:
        return int(self.goal_low.numel())

    @property
    def tail_dim(self) -> int:
        return self.obs_dim - self.goal_dim


def pretrained_skills() -> list[str]:
    """The names of the skills shipped in robolearn/assets/skills (`--skills h1-walk ...`)."""
    return sorted(p.name for p in PRETRAINED_SKILLS.glob("*/") if p.is_dir())


def skill_run(name: str | Path) -> Path:
    """A skill's run folder: a path, or the name of a pretrained skill shipped in robolearn/assets/skills."""
    path = Path(name)
    if path.exists() or len(path.parts) > 1:
        return path
    if (PRETRAINED_SKILLS / path).is_dir():
        return PRETRAINED_SKILLS / path
    raise RunError(
        f"skill {str(name)!r} is neither a run folder nor a pretrained skill "
        f"(have: {', '.join(pretrained_skills())})"
    )


def load_skill(path: str | Path) -> FrozenSkill:
    """A skill from its run folder (or a pretrained skill's name): its goal slot, read from the run's config
    (the command its goal observation reads, `h1_skills.goal_slot`), and the actor's weights."""
    from robolearn.envs.humanoid import biped_gait
    from robolearn.envs.humanoid.h1_skills import goal_slot
    from robolearn.policies.setup import spec_from_run
    from robolearn.sim2real.export import ExportedPolicy

    run, ckpt = resolve_run(skill_run(path))
    spec = spec_from_run(run)
    goal = goal_slot(spec.env)
    if goal is None:
        raise RunError(
            f"{run}: task {spec.task!r} is not a goal-conditioned skill: the first term of its policy "
            "observation reads no goal command"
        )
    if len(spec.agent.actor_obs_groups) != 1:
        raise RunError(
            f"{run}: a skill's actor must read one observation group, got {spec.agent.actor_obs_groups}"
        )
    ckpt, state = load_checkpoint(run, ckpt, pick="--skills {}")
    weights = state["actor_state_dict"]
    layers = sorted(
        (k for k in weights if k.startswith("mlp.") and k.endswith(".weight")),
        key=lambda k: int(k.split(".")[1]),
    )
    obs_dim, num_actions = int(weights[layers[0]].shape[1]), int(weights[layers[-1]].shape[0])
    group = spec.agent.actor_obs_groups[0]
    obs = TensorDict({group: torch.zeros(1, obs_dim)}, batch_size=[1])
    cls, kwargs = resolve_class(spec.agent.to_rsl_rl()["actor"])
    actor = cls(obs, {"actor": [group]}, "actor", num_actions, **kwargs)
    try:
        actor.load_state_dict(weights)
    except RuntimeError as exc:
        raise RunError(f"{ckpt} does not fit the run's actor config: {exc}") from None
    inputs = list(spec.env.observations[group].terms.values())[1:]
    stops_clock = (
        bool(inputs) and inputs[0].func is biped_gait.gait_clock and biped_gait.asks_standing(spec.env)
    )
    return FrozenSkill(
        spec.task,
        ExportedPolicy(actor),
        torch.tensor(goal.low, dtype=torch.float32),
        torch.tensor(goal.high, dtype=torch.float32),
        obs_dim,
        {name: dict(term.params) for name, term in list(spec.env.observations[group].terms.items())[1:]},
        biped_gait.STAND_COMMAND if stops_clock else None,
        biped_gait.STOPPED_CLOCK,
    )


class BlendHead(nn.Module):
    """Raw observation -> blended mean action, through the high-level network and the frozen skills."""

    goal_low: torch.Tensor
    goal_high: torch.Tensor
    stopped_clocks: torch.Tensor

    def __init__(self, obs_dim: int, num_actions: int, skills: list[FrozenSkill], hidden_dims: tuple[int, ...] | list[int],
                 activation: str = "elu", obs_normalization: bool = True, per_joint_weights: bool = True,
                 goals_from_zero: bool = False):  # fmt: skip
        super().__init__()
        if not skills:
            raise ValueError("skillblender: at least one skill is needed")
        # Each skill reads its goal (from the high level) and a suffix of the task's observation: the shared
        # proprioception, preceded by the gait clock for walking (`check_blender_task` matches the terms).
        self.tail_dims = [s.tail_dim for s in skills]
        if max(self.tail_dims) > obs_dim:
            raise ValueError(
                f"skillblender: the skills read up to {max(self.tail_dims)} observation values after their goal, "
                f"the blender's observation has only {obs_dim}; its policy group must end with the skills' inputs"
            )
        self.num_skills = len(skills)
        self.num_actions = num_actions
        self.per_joint_weights = per_joint_weights
        self.goal_dims = [s.goal_dim for s in skills]
        self.stand_below = [s.stand_below for s in skills]
        # Not saved: it comes with the skills, and checkpoints from before it existed still load.
        self.register_buffer(
            "stopped_clocks",
            torch.tensor([s.stopped_clock for s in skills], dtype=torch.float32),
            persistent=False,
        )
        self.skills = nn.ModuleList([s.actor for s in skills])
        for p in self.skills.parameters():
            p.requires_grad_(False)
        self.register_buffer("goal_low", torch.cat([s.goal_low for s in skills]))
        self.register_buffer("goal_high", torch.cat([s.goal_high for s in skills]))
        self.normalizer: nn.Module = EmpiricalNormalization(obs_dim) if obs_normalization else nn.Identity()
        weights_per_skill = num_actions if per_joint_weights else 1
        self.net = MLP(
            obs_dim, sum(self.goal_dims) + self.num_skills * weights_per_skill, hidden_dims, activation
        )
        self.skills.eval()
        if goals_from_zero:
            last = self.net[-1]
            with torch.no_grad():
                last.weight[: sum(self.goal_dims)].zero_()
                last.bias[: sum(self.goal_dims)].zero_()

    def train(self, mode: bool = True) -> BlendHead:
        super().train(mode)
        self.skills.eval()  # frozen: their normalizers never update
        return self

    def parts(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(goals (N, sum goal dims), weights (N, K, J), skill actions (N, K, J)) for raw observations."""
        out = self.net(self.normalizer(obs))
        n_goals = sum(self.goal_dims)
        # Clamped, as the authors do: a goal outside a skill's training range has no meaning to it.
        goals = torch.maximum(torch.minimum(out[:, :n_goals], self.goal_high), self.goal_low)
        logits = out[:, n_goals:].reshape(obs.shape[0], self.num_skills, -1)
        weights = torch.softmax(logits, dim=1).expand(-1, -1, self.num_actions)
        actions = []
        for k, (skill, goal, tail, stand_below) in enumerate(zip(self.skills, torch.split(goals, self.goal_dims, -1),
                                                                 self.tail_dims, self.stand_below, strict=True)):  # fmt: skip
            inputs = obs[:, obs.shape[1] - tail :]
            if stand_below is not None:
                # The high level drives the walking clock through the command it gives: a slow one stops it,
                # which is how that skill was taught to stand.
                moving = torch.linalg.norm(goal, dim=-1, keepdim=True) > stand_below
                clock = torch.where(moving, inputs[:, :CLOCK_DIM], self.stopped_clocks[k])
                inputs = torch.cat([clock, inputs[:, CLOCK_DIM:]], dim=-1)
            actions.append(skill(torch.cat([goal, inputs], dim=-1)))
        return goals, weights, torch.stack(actions, dim=1)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        _, weights, actions = self.parts(obs)
        return (weights * actions).sum(dim=1)


class SkillBlenderModel(MLPModel):
    """rsl_rl actor whose `mlp` is a `BlendHead`; PPO, its storage and the ONNX export see an ordinary MLPModel."""

    def __init__(self, obs: TensorDict, obs_groups: dict[str, list[str]], obs_set: str, output_dim: int,
                 skills: list[str] | None = None, per_joint_weights: bool = True, goals_from_zero: bool = False,
                 hidden_dims: tuple[int, ...] | list[int] = (256, 256, 256), activation: str = "elu",
                 obs_normalization: bool = False, distribution_cfg: dict | None = None,
                 frozen_skills: list[FrozenSkill] | None = None) -> None:  # fmt: skip
        # The parent's normalizer stays the identity: normalization happens inside the head, because the
        # skills need the raw proprioception.
        super().__init__(
            obs, obs_groups, obs_set, output_dim, hidden_dims, activation, False, distribution_cfg
        )
        if self.distribution is not None and self.distribution.input_dim != output_dim:
            raise ValueError(
                "skillblender: the action distribution must take the mean only (GaussianDistribution)"
            )
        loaded = frozen_skills if frozen_skills is not None else [load_skill(s) for s in skills or []]
        self.mlp = BlendHead(  # type: ignore[assignment]
            self.obs_dim,
            output_dim,
            loaded,
            hidden_dims,
            activation,
            obs_normalization,
            per_joint_weights,
            goals_from_zero,
        )
        self.skill_tasks = [s.task for s in loaded]

    @property
    def head(self) -> BlendHead:
        assert isinstance(self.mlp, BlendHead)
        return self.mlp

    def update_normalization(self, obs: TensorDict) -> None:
        normalizer = self.head.normalizer
        if isinstance(normalizer, EmpiricalNormalization):
            normalizer.update(torch.cat([obs[g] for g in self.obs_groups], dim=-1))


# -- evaluation: SkillBench accuracy and feasibility ----------------------------------------------------


@dataclass
class EpisodeMeasures:
    """One entry per finished episode."""

    accuracy: list[float] = dataclasses.field(default_factory=list)
    """The task's error (m) at the episode's last recorded state (one control step before it ended)."""
    failed: list[bool] = dataclasses.field(default_factory=list)
    jerk: list[float] = dataclasses.field(default_factory=list)
    """Mean |joint jerk| (rad/s^3), from second differences of joint velocities."""
    power: list[float] = dataclasses.field(default_factory=list)
    """Mean mechanical power sum_j |tau_j * qdot_j| (W)."""
    foot_slip: list[float] = dataclasses.field(default_factory=list)
    """Mean xy speed (m/s) of feet touching the ground on two consecutive steps; 0 if none did."""
    self_collision: list[float] = dataclasses.field(default_factory=list)
    """Share of steps with two of the robot's own geoms in contact."""
    near_limit: list[float] = dataclasses.field(default_factory=list)
    """Share of steps with a joint in the outer 5% of its range at either end (a strained pose)."""


class SkillBenchMeter:
    """Accuracy and feasibility of every episode of a batched SkillBench rollout, fed one step at a time.

    Feasibility is what the paper balances against accuracy: a policy that reaches the goal by jerky,
    power-hungry or slipping motion, with limbs hitting each other or joints pushed against their limits,
    is what flat PPO tends to learn (reward hacking).
    """

    def __init__(self, num_envs: int, dt: float, device: torch.device | str = "cpu"):
        self.dt = dt
        self.episodes = EpisodeMeasures()
        z = lambda *shape: torch.zeros(num_envs, *shape, dtype=torch.float64, device=device)  # noqa: E731
        self._steps, self._jerk_sum, self._jerk_n = z(), z(), z()
        self._power_sum, self._slip_sum, self._slip_n = z(), z(), z()
        self._self_sum, self._limit_sum = z(), z()
        self._accuracy = z()
        self._vel: list[torch.Tensor] = []  # the last two joint-velocity samples
        self._feet: torch.Tensor | None = None
        self._contact: torch.Tensor | None = None
        self._count = 0  # samples seen
        self._start = torch.zeros(
            num_envs, dtype=torch.long, device=device
        )  # sample index each episode began at
        self._self_contact: SelfContact | None = None

    def update(self, joint_vel: torch.Tensor, torque: torch.Tensor, feet_xy: torch.Tensor, feet_contact: torch.Tensor,
               self_contact: torch.Tensor, near_limit: torch.Tensor, accuracy: torch.Tensor, done: torch.Tensor,
               terminated: torch.Tensor) -> None:  # fmt: skip
        """The state after one env step. Worlds with `done` have already been reset by the env: their
        episode is closed with what was recorded before, and this step's state starts their next one.
        `self_contact` and `near_limit` are (N,) bools."""
        vel = joint_vel.double()
        live = ~done
        if len(self._vel) == 2:
            jerk = (vel - 2 * self._vel[1] + self._vel[0]).abs().mean(dim=-1) / self.dt**2
            ok = live & self._has_history(2)
            self._jerk_sum += torch.where(ok, jerk, 0.0)
            self._jerk_n += ok.double()
        if self._feet is not None and self._contact is not None:
            planted = feet_contact & self._contact  # (N, feet)
            speed = torch.linalg.norm(feet_xy.double() - self._feet, dim=-1) / self.dt
            ok = live.unsqueeze(-1) & planted & self._has_history(1).unsqueeze(-1)
            self._slip_sum += torch.where(ok, speed, 0.0).sum(dim=-1)
            self._slip_n += ok.double().sum(dim=-1)
        power = (torque.double() * vel).abs().sum(dim=-1)
        self._power_sum += torch.where(live, power, 0.0)
        self._self_sum += (live & self_contact.to(live.device)).double()
        self._limit_sum += (live & near_limit.to(live.device)).double()
        self._steps += live.double()
        self._accuracy = torch.where(live, accuracy.double(), self._accuracy)
        for i in done.nonzero(as_tuple=True)[0].tolist():
            self._close(i, bool(terminated[i]))
        self._accuracy = torch.where(
            done, accuracy.double(), self._accuracy
        )  # the next episode's first state
        self._vel = [*self._vel[-1:], vel.clone()]
        self._feet, self._contact = feet_xy.double().clone(), feet_contact.clone()
        self._start[done] = self._count
        self._count += 1

    def _has_history(self, k: int) -> torch.Tensor:
        """Worlds whose current episode has at least k earlier samples."""
        return self._count - self._start >= k

    def _close(self, i: int, failed: bool) -> None:
        steps = max(float(self._steps[i]), 1.0)
        m = self.episodes
        m.accuracy.append(float(self._accuracy[i]))
        m.failed.append(failed)
        m.jerk.append(float(self._jerk_sum[i] / self._jerk_n[i].clamp(min=1.0)))
        m.power.append(float(self._power_sum[i]) / steps)
        m.foot_slip.append(float(self._slip_sum[i] / self._slip_n[i].clamp(min=1.0)))
        m.self_collision.append(float(self._self_sum[i]) / steps)
        m.near_limit.append(float(self._limit_sum[i]) / steps)
        for buf in (self._steps, self._jerk_sum, self._jerk_n, self._power_sum, self._slip_sum, self._slip_n,
                    self._self_sum, self._limit_sum):  # fmt: skip
            buf[i] = 0.0

    def update_from_env(self, env: Any, accuracy: Any, done: torch.Tensor, terminated: torch.Tensor) -> None:
        """`update` from an H1 SkillBench env after its step; `accuracy` is the task's function (TaskSpec.accuracy)."""
        from robolearn.core import mdp
        from robolearn.envs.humanoid.h1_skills import default_pose_data, feet_pos_w

        if self._self_contact is None:
            default = default_pose_data(env).qpos
            self._self_contact = SelfContact(env.scene.model, env.robot.base_id, default)
        lim = env.robot.soft_joint_limits
        margin = NEAR_LIMIT * (lim[:, 1] - lim[:, 0])
        q = env.robot.joint_pos
        near = ((q < lim[:, 0] + margin) | (q > lim[:, 1] - margin)).any(dim=-1)
        self.update(env.robot.joint_vel, env.sim.actuator_force.to(env.device), feet_pos_w(env)[..., :2],
                    mdp.contact_found(env, "feet") > 0, self._self_contact(env.sim.qpos), near, accuracy(env),
                    done, terminated)  # fmt: skip


NEAR_LIMIT = 0.05
"""Share of a joint's range, at each end, that counts as pushed against its limit."""


class SelfContact:
    """Which worlds have two of the robot's collision geoms touching.

    Every two collision geoms of the robot are tested, whatever the model's collision filter says:
    menagerie's G1 collides through floor pairs only, so its own filter would hide every self-contact.
    A collision geom is one that collides by contype/conaffinity or appears in a contact pair. Pairs
    already touching in the default pose (`default_qpos`) are adjacent shapes by design and not counted;
    MuJoCo skips parent-child pairs.

    Found on a host MjData, one world at a time (kinematics and collision only, ~50 us per world): the
    batched backends expose contact sensors, not the contact list. For evaluation, not for training.
    """

    def __init__(self, model: mujoco.MjModel, base_body: int, default_qpos: np.ndarray | None = None):
        self.model = copy.deepcopy(model)
        self.data = mujoco.MjData(self.model)
        m = self.model
        robot = m.body_rootid[m.geom_bodyid] == m.body_rootid[base_body]
        in_pair = np.zeros(m.ngeom, dtype=bool)
        in_pair[m.pair_geom1] = in_pair[m.pair_geom2] = True
        shapes = robot & (((m.geom_contype | m.geom_conaffinity) > 0) | in_pair)
        m.geom_contype[:] = m.geom_conaffinity[:] = 0
        m.geom_contype[shapes] = m.geom_conaffinity[shapes] = 1
        # The broad phase reads the per-body OR of its geoms' bits, set when the model was compiled.
        m.body_contype[:] = m.body_conaffinity[:] = 0
        m.body_contype[np.unique(m.geom_bodyid[shapes])] = 1
        m.body_conaffinity[np.unique(m.geom_bodyid[shapes])] = 1
        self.shapes = shapes
        self.allowed = np.zeros(0, dtype=np.int64)
        if default_qpos is not None:
            self.allowed = self._touching(np.asarray(default_qpos))

    def _touching(self, qpos: np.ndarray) -> np.ndarray:
        """Codes (g1 * ngeom + g2, g1 < g2) of the robot-geom pairs touching at `qpos`."""
        self.data.qpos[:] = qpos
        mujoco.mj_kinematics(self.model, self.data)
        mujoco.mj_collision(self.model, self.data)
        c = self.data.contact
        geoms = c.geom[: self.data.ncon][c.dist[: self.data.ncon] <= 0.0]
        geoms = geoms[self.shapes[geoms[:, 0]] & self.shapes[geoms[:, 1]]]
        return geoms.min(axis=1).astype(np.int64) * self.model.ngeom + geoms.max(axis=1)

    def __call__(self, qpos: torch.Tensor) -> torch.Tensor:
        """(N,) bool from the worlds' (N, nq) positions."""
        rows = qpos.detach().cpu().numpy()
        found = torch.zeros(len(rows), dtype=torch.bool)
        for w, q in enumerate(rows):
            found[w] = bool((~np.isin(self._touching(q), self.allowed)).any())
        return found.to(qpos.device)


def bench_accuracy(task: str) -> Any | None:
    """The accuracy function a task declares (TaskSpec.accuracy: the SkillBench tasks), else None."""
    from robolearn.registry import get_task

    return get_task(task).accuracy


# -- training: the project's PPO loop with the blender as the actor -----------------------------------


def check_blender_task(env_cfg: Any, skills: list[FrozenSkill]) -> None:
    """The high-level task's policy group must end with what each skill reads after its goal, term for
    term and with the same parameters (a walking skill's clock must tick with the period it was trained on)."""
    terms = env_cfg.observations["policy"].terms
    names = list(terms)
    for skill in skills:
        wanted = list(skill.inputs)
        if names[len(names) - len(wanted) :] != wanted:
            raise ValueError(
                f"skillblender: {skill.task} reads the observation terms {wanted} after its goal; the task's "
                f"policy observation must end with them, it has {names}"
            )
        for name, params in skill.inputs.items():
            if dict(terms[name].params) != params:
                raise ValueError(
                    f"skillblender: observation term {name!r} has params {dict(terms[name].params)}, "
                    f"{skill.task} was trained with {params}"
                )
