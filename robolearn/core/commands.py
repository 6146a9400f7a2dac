"""Command terms: goals the policy is asked to track, resampled during an episode, looked up by name.

`EnvCfg.commands` is a dict of named command terms; a term reads one with
`env.command_manager.get_command("base_velocity")`. Each term resamples on its own timer, resets with the
episode, and has a `visualize` hook returning the poses a viewer would draw (and moving a marker entity).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


@dataclass
class CommandTermCfg:
    resampling_time_s: tuple[float, float] = (5.0, 10.0)
    """Seconds between resamples, drawn per world."""

    def build(self, name: str, env: ManagerBasedRlEnv) -> CommandTerm:
        raise NotImplementedError(f"{type(self).__name__} builds no command term")


class CommandTerm:
    """A (num_envs, dim) command, resampled when each world's timer runs out and at reset."""

    names: tuple[str, ...] = ()
    after_events: bool = False
    """False: drawn at reset before the sim reset, resampled before rewards. True: drawn after the reset
    events (a target placed around the pose they give the robot, e.g. foot targets around a pelvis whose
    yaw a reset event draws) and resampled where interval events run, after the step's resets."""

    def __init__(self, name: str, cfg: CommandTermCfg, env: ManagerBasedRlEnv, dim: int):
        self.name = name
        self.cfg = cfg
        self.env = env
        self.command = torch.zeros(env.num_envs, dim, device=env.device)
        self._time_left = torch.zeros(env.num_envs, device=env.device)

    def _uniform(self, n: int, lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, device=self.env.device, generator=self.env.rng)

    def resample(self, env_ids: torch.Tensor) -> None:
        self._resample(env_ids)
        self._time_left[env_ids] = self._uniform(len(env_ids), *self.cfg.resampling_time_s)

    def _resample(self, env_ids: torch.Tensor) -> None:
        raise NotImplementedError

    def compute(self, dt: float) -> None:
        self._update_metrics()
        self._time_left -= dt
        due = (self._time_left <= 0).nonzero(as_tuple=True)[0]
        if len(due):
            self.resample(due)

    def _update_metrics(self) -> None:
        pass

    def reset(self, env_ids: torch.Tensor) -> dict[str, float]:
        self.resample(env_ids)
        return {}

    def visualize(self) -> dict[str, torch.Tensor]:
        """Marker poses to draw, name -> (N, 7); a no-op hook for commands with nothing to show."""
        return {}

    def after_sim_reset(self, env_ids: torch.Tensor) -> None:
        """Called once the reset worlds' state is written: sim reset, terrain placement and the reset events
        (a marker entity is moved here, not at resample, because the sim reset that follows a command reset
        would put it back; a command that depends on where a world starts reads its start here)."""


class CommandManager:
    """The task's named command terms."""

    def __init__(self, cfgs: dict[str, CommandTermCfg] | None, env: ManagerBasedRlEnv):
        if cfgs is not None and not isinstance(cfgs, dict):
            raise TypeError(
                "EnvCfg.commands must be a dict of named command terms, e.g. {'base_velocity': VelocityCommandCfg()}, "
                f"got {type(cfgs).__name__}"
            )
        self.env = env
        self.terms: dict[str, CommandTerm] = {n: c.build(n, env) for n, c in (cfgs or {}).items()}

    def __contains__(self, name: object) -> bool:
        return name in self.terms

    def __len__(self) -> int:
        return len(self.terms)

    def get_term(self, name: str) -> Any:
        try:
            return self.terms[name]
        except KeyError:
            raise KeyError(f"the task has no command {name!r}; its commands: {list(self.terms)}") from None

    def get_command(self, name: str) -> torch.Tensor:
        return self.get_term(name).command

    def compute(self, dt: float) -> None:
        for term in self._phase(False):
            term.compute(dt)

    def _phase(self, after_events: bool) -> list[CommandTerm]:
        return [t for t in self.terms.values() if t.after_events == after_events]

    def compute_after_resets(self, dt: float) -> None:
        """The step's resampling of the terms drawn after events (see `CommandTerm.after_events`)."""
        for term in self._phase(True):
            term.compute(dt)

    def reset(self, env_ids: torch.Tensor) -> dict[str, float]:
        log: dict[str, float] = {}
        for term in self._phase(False):
            log.update(term.reset(env_ids))
        return log

    def reset_after_events(self, env_ids: torch.Tensor) -> dict[str, float]:
        log: dict[str, float] = {}
        for term in self._phase(True):
            log.update(term.reset(env_ids))
        return log

    def after_sim_reset(self, env_ids: torch.Tensor) -> None:
        for term in self.terms.values():
            term.after_sim_reset(env_ids)

    def visualize(self) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for name, term in self.terms.items():
            out.update({f"{name}/{k}": v for k, v in term.visualize().items()})
        return out


# -- velocity -----------------------------------------------------------------------------------------------


@dataclass
class VelocityCommandCfg(CommandTermCfg):
    """Uniformly sampled body-frame velocity commands (vx, vy, yaw rate) for entity `entity`."""

    lin_vel_x: tuple[float, float] = (-1.0, 1.0)
    lin_vel_y: tuple[float, float] = (-1.0, 1.0)
    ang_vel_z: tuple[float, float] = (-1.0, 1.0)
    resampling_time_s: tuple[float, float] = (5.0, 10.0)
    standing_fraction: float = 0.05
    """Fraction of commands that are zero (stand still)."""
    entity: str = "robot"

    def held(self, vx: float, vy: float, wz: float) -> VelocityCommandCfg:
        """This command term with one command held for the whole episode (benchmarks, checks of a walker)."""
        return dataclasses.replace(self, lin_vel_x=(vx, vx), lin_vel_y=(vy, vy), ang_vel_z=(wz, wz),
                                   standing_fraction=0.0, resampling_time_s=(1e6, 1e6))  # fmt: skip

    def build(self, name: str, env: ManagerBasedRlEnv) -> VelocityCommand:
        return VelocityCommand(name, self, env)


class VelocityCommand(CommandTerm):
    """Body-frame (vx, vy, yaw rate) commands drawn uniformly, with a fraction of standing commands."""

    names = ("lin_vel_x", "lin_vel_y", "ang_vel_z")
    cfg: VelocityCommandCfg

    def __init__(self, name: str, cfg: VelocityCommandCfg, env: ManagerBasedRlEnv):
        super().__init__(name, cfg, env, 3)
        self.entity = env.scene[cfg.entity]
        self.error_sum = torch.zeros(env.num_envs, 2, device=env.device)
        # Counted here, not read from the episode length: a learner may start episodes part-way.
        self.error_steps = torch.zeros(env.num_envs, device=env.device)
        self.lin_vel_scale = 1.0
        """Fraction of the configured (vx, vy) ranges drawn from; a curriculum may grow it to 1."""
        self._bounds_key: list[tuple[float, float]] | None = None
        self._bounds_value: tuple[torch.Tensor, torch.Tensor] = (self.command[0], self.command[0])

    @property
    def ranges(self) -> list[tuple[float, float]]:
        k = self.lin_vel_scale
        (x0, x1), (y0, y1) = self.cfg.lin_vel_x, self.cfg.lin_vel_y
        return [(k * x0, k * x1), (k * y0, k * y1), self.cfg.ang_vel_z]

    def _bounds(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(low, high) tensors of the ranges, rebuilt only when they change (resampling runs most steps)."""
        ranges = self.ranges
        if ranges != self._bounds_key:
            self._bounds_key = ranges
            self._bounds_value = (torch.tensor([r[0] for r in ranges], device=self.env.device),
                                  torch.tensor([r[1] for r in ranges], device=self.env.device))  # fmt: skip
        return self._bounds_value

    def resample(self, env_ids: torch.Tensor) -> None:
        # One draw order (command, standing, timer) keeps runs reproducible across versions.
        rng = self.env.rng
        n = len(env_ids)
        u = torch.rand(n, 3, device=self.env.device, generator=rng)
        lo, hi = self._bounds()
        cmd = lo + (hi - lo) * u
        standing = torch.rand(n, device=self.env.device, generator=rng) < self.cfg.standing_fraction
        cmd[standing] = 0.0
        self.command[env_ids] = cmd
        t_lo, t_hi = self.cfg.resampling_time_s
        self._time_left[env_ids] = t_lo + (t_hi - t_lo) * torch.rand(n, device=self.env.device, generator=rng)

    def _update_metrics(self) -> None:
        robot = self.entity
        err_lin = torch.linalg.norm(self.command[:, :2] - robot.root_lin_vel_b[:, :2], dim=-1)
        err_ang = torch.abs(self.command[:, 2] - robot.root_ang_vel_b[:, 2])
        self.error_sum += torch.stack([err_lin, err_ang], dim=-1).float()
        self.error_steps += 1

    def reset(self, env_ids: torch.Tensor) -> dict[str, float]:
        steps = self.error_steps[env_ids].clamp(min=1)
        err = self.error_sum[env_ids] / steps.unsqueeze(-1)
        self.error_sum[env_ids] = 0.0
        self.error_steps[env_ids] = 0.0
        self.resample(env_ids)
        return {
            "Metrics/error_vel_xy": float(err[:, 0].mean()),
            "Metrics/error_vel_yaw": float(err[:, 1].mean()),
        }


# -- goal pose ------------------------------------------------------------------------------------------------


@dataclass
class PoseCommandCfg(CommandTermCfg):
    """A goal position (world frame, relative to each world's origin) drawn in a box, with a fixed orientation;
    command = (x, y, z, qw, qx, qy, qz). `marker` names a marker entity that shows it."""

    pos_x: tuple[float, float] = (0.3, 0.5)
    pos_y: tuple[float, float] = (-0.2, 0.2)
    pos_z: tuple[float, float] = (0.2, 0.4)
    quat: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)
    marker: str = ""

    def build(self, name: str, env: ManagerBasedRlEnv) -> PoseCommand:
        return PoseCommand(name, self, env)


class PoseCommand(CommandTerm):
    names = ("x", "y", "z", "qw", "qx", "qy", "qz")
    cfg: PoseCommandCfg

    def __init__(self, name: str, cfg: PoseCommandCfg, env: ManagerBasedRlEnv):
        super().__init__(name, cfg, env, 7)
        self.marker = env.scene[cfg.marker] if cfg.marker else None

    def _resample(self, env_ids: torch.Tensor) -> None:
        n, c = len(env_ids), self.cfg
        pos = torch.stack(
            [self._uniform(n, *c.pos_x), self._uniform(n, *c.pos_y), self._uniform(n, *c.pos_z)], -1
        )
        pos = pos + self.env.env_origins[env_ids].to(pos)
        quat = torch.tensor(c.quat, device=pos.device, dtype=pos.dtype).expand(n, 4)
        self.command[env_ids] = torch.cat([pos, quat], dim=-1)
        if self.marker is not None:
            self.marker.write_root_pose(env_ids, self.command[env_ids])

    def after_sim_reset(self, env_ids: torch.Tensor) -> None:
        if self.marker is not None:
            self.marker.write_root_pose(env_ids, self.command[env_ids])

    def visualize(self) -> dict[str, torch.Tensor]:
        return {"goal": self.command}


# -- per-world target trajectories ---------------------------------------------------------------------------


@dataclass
class TrajectoryCommandCfg(CommandTermCfg):
    """Per-world target trajectories: at each resample a world draws one of `waypoints` (K, T, D) and follows
    it at `period_s` per waypoint, linearly interpolated, holding the last; command = the current target (D)."""

    waypoints: tuple[tuple[tuple[float, ...], ...], ...] = (((0.0,), (1.0,)),)
    period_s: float = 0.5
    resampling_time_s: tuple[float, float] = (1e9, 1e9)
    """Trajectories are drawn at reset only, by default."""

    def build(self, name: str, env: ManagerBasedRlEnv) -> TrajectoryCommand:
        return TrajectoryCommand(name, self, env)


class TrajectoryCommand(CommandTerm):
    cfg: TrajectoryCommandCfg

    def __init__(self, name: str, cfg: TrajectoryCommandCfg, env: ManagerBasedRlEnv):
        table = torch.as_tensor(np.asarray(cfg.waypoints, dtype=np.float32), device=env.device)
        if table.ndim != 3:
            raise ValueError(
                f"commands[{name!r}].waypoints: expected shape (K trajectories, T points, D), got {tuple(table.shape)}"
            )
        super().__init__(name, cfg, env, table.shape[2])
        self.table = table
        self.which = torch.zeros(env.num_envs, dtype=torch.long, device=env.device)
        self.t = torch.zeros(env.num_envs, device=env.device)

    def _resample(self, env_ids: torch.Tensor) -> None:
        k = self.table.shape[0]
        self.which[env_ids] = torch.randint(
            0, k, (len(env_ids),), device=self.env.device, generator=self.env.rng
        )
        self.t[env_ids] = 0.0
        self._update(env_ids)

    def _update(self, env_ids: torch.Tensor | slice) -> None:
        steps = self.table.shape[1] - 1
        s = (self.t[env_ids] / self.cfg.period_s).clamp(0, steps)
        i0 = s.floor().long().clamp(max=max(steps - 1, 0))
        frac = (s - i0).unsqueeze(-1) if steps else torch.zeros_like(s).unsqueeze(-1)
        tab = self.table[self.which[env_ids]]
        a = tab.gather(1, i0.view(-1, 1, 1).expand(-1, 1, tab.shape[2])).squeeze(1)
        b = tab.gather(1, (i0 + min(steps, 1)).view(-1, 1, 1).expand(-1, 1, tab.shape[2])).squeeze(1)
        self.command[env_ids] = a + frac * (b - a)

    def compute(self, dt: float) -> None:
        self.t += dt
        self._update(slice(None))
        super().compute(dt)


# -- motion-clip reference -----------------------------------------------------------------------------------


@dataclass
class MotionClipCommandCfg(CommandTermCfg):
    """The reference joint positions of a motion clip (`retarget` output: .npz with fps, joint_names, qpos) at
    each world's clip time; worlds start at a random frame. command = the entity's joints' reference (J)."""

    clip: str = ""
    entity: str = "robot"
    loop: bool = True
    resampling_time_s: tuple[float, float] = (1e9, 1e9)

    def build(self, name: str, env: ManagerBasedRlEnv) -> MotionClipCommand:
        return MotionClipCommand(name, self, env)


class MotionClipCommand(CommandTerm):
    cfg: MotionClipCommandCfg

    def __init__(self, name: str, cfg: MotionClipCommandCfg, env: ManagerBasedRlEnv):
        entity = env.scene[cfg.entity]
        try:
            data = np.load(cfg.clip)
            fps, names, qpos = (
                float(data["fps"]),
                [str(n) for n in data["joint_names"]],
                np.asarray(data["qpos"]),
            )
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"commands[{name!r}].clip={cfg.clip!r}: not a motion clip (.npz with fps, "
                             f"joint_names, qpos): {exc}") from None  # fmt: skip
        missing = [j for j in entity.joint_names if j not in names]
        if missing:
            raise ValueError(f"commands[{name!r}].clip: joints {missing} of entity {cfg.entity!r} are not in the "
                             f"clip; it has {names}")  # fmt: skip
        joints = qpos[:, qpos.shape[1] - len(names) :]  # root pos + quat first when the clip has a root
        cols = [names.index(j) for j in entity.joint_names]
        super().__init__(name, cfg, env, len(cols))
        self.frames = torch.as_tensor(joints[:, cols], dtype=torch.float32, device=env.device)
        self.fps = fps
        self.t = torch.zeros(env.num_envs, device=env.device)

    def _resample(self, env_ids: torch.Tensor) -> None:
        duration = (self.frames.shape[0] - 1) / self.fps
        self.t[env_ids] = self._uniform(len(env_ids), 0.0, duration)
        self._update()

    def _update(self) -> None:
        n = self.frames.shape[0]
        f = self.t * self.fps
        f = torch.remainder(f, n - 1) if self.cfg.loop and n > 1 else f.clamp(0, n - 1)
        i0 = f.floor().long().clamp(0, max(n - 2, 0))
        frac = (f - i0).unsqueeze(-1)
        self.command[:] = self.frames[i0] + frac * (self.frames[(i0 + 1).clamp(max=n - 1)] - self.frames[i0])

    def compute(self, dt: float) -> None:
        self.t += dt
        self._update()
        super().compute(dt)
