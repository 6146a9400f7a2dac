"""Typed configs of a manager-based task (Isaac Lab / mjlab vocabulary).

A term is a plain function of the env returning a batched tensor; a config names the
function, its parameters and, for rewards, a weight. Every field can be overridden from
the command line (tyro), e.g. `--env.rewards.track-lin-vel-xy.weight 2.0`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from robolearn.core.actions import ActionTermCfg, JointPositionActionCfg
from robolearn.core.commands import CommandTermCfg, VelocityCommandCfg
from robolearn.scene import SceneCfg

__all__ = [
    "ActionTermCfg", "CommandTermCfg", "CurriculumTerm", "EnvCfg", "EventTerm", "JointPositionActionCfg",
    "ObsGroupCfg", "ObsTerm", "RewardTerm", "SimCfg", "TerminationTerm", "VelocityCommandCfg", "ViewerCfg",
]  # fmt: skip


@dataclass
class ObsTerm:
    func: Callable[..., Any]
    params: dict[str, Any] = field(default_factory=dict)
    noise: float = 0.0
    """Half-width of uniform noise added when the group's noise is enabled."""
    scale: float = 1.0
    clip: float | None = None
    mirror: Any = None
    """How the values map under the robot's left-right mirror: a robolearn.core.symmetry rule (Signs,
    JointMirror, Invariant, GridMirror, ContactMirror). PPO's symmetry augmentation refuses a term without one."""


@dataclass
class ObsGroupCfg:
    terms: dict[str, ObsTerm]
    enable_noise: bool = True
    history_length: int = 1
    """Number of stacked frames (oldest first); 1 means no history."""


@dataclass
class RewardTerm:
    func: Callable[..., Any]
    weight: float
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class TerminationTerm:
    func: Callable[..., Any]
    params: dict[str, Any] = field(default_factory=dict)
    time_out: bool = False
    """Time-outs truncate (bootstrapped by the learner); others are failures."""


@dataclass
class EventTerm:
    func: Callable[..., Any]
    mode: Literal["startup", "reset", "interval"]
    params: dict[str, Any] = field(default_factory=dict)
    interval_range_s: tuple[float, float] = (10.0, 15.0)
    """For `interval` events: seconds between firings, drawn per world."""


@dataclass
class CurriculumTerm:
    func: Callable[..., Any]
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class SimCfg:
    dt: float = 0.004
    """Physics timestep (s)."""
    backend: str = "cpu"
    """'cpu' (mjbatch) or 'warp' (mujoco-warp, GPU)."""
    num_threads: int = 0
    """Physics threads; 0 uses every core."""
    device: str | None = None
    """Torch device of observations and actions; the backend's device when None."""


@dataclass
class ViewerCfg:
    """Where videos look from: a camera following the base body at `distance` (m), `elevation` and
    `azimuth` (degrees, MuJoCo's free-camera convention: the direction the camera looks)."""

    distance: float = 1.6
    elevation: float = -20.0
    azimuth: float = 135.0
    heading_relative: bool = False
    """Azimuth measured from the base's heading instead of the world x axis: the camera turns with the
    robot, so scenery in front of it (a wall, a table) stays out of the line of sight."""


@dataclass
class EnvCfg:
    scene: SceneCfg
    observations: dict[str, ObsGroupCfg]
    rewards: dict[str, RewardTerm]
    terminations: dict[str, TerminationTerm]
    actions: dict[str, ActionTermCfg] = field(default_factory=lambda: {"joint_pos": JointPositionActionCfg()})
    """Named action terms; the policy's action is their concatenation, in this order."""
    commands: dict[str, CommandTermCfg] = field(default_factory=dict)
    """Named command terms (e.g. `base_velocity`), read by terms through env.command_manager.get_command."""
    events: dict[str, EventTerm] = field(default_factory=dict)
    curriculum: dict[str, CurriculumTerm] = field(default_factory=dict)
    sim: SimCfg = field(default_factory=SimCfg)
    num_envs: int = 512
    decimation: int = 5
    """Physics substeps per policy step."""
    episode_length_s: float = 20.0
    seed: int = 0
    base_body: str = "base"
    """The main robot's trunk body (velocities, orientation, pushes); its root body when empty."""
    auto_reset: bool = True
    """Reset worlds whose episode ended inside `step` (RL). False: `step` still reports terminations and
    time-outs but leaves the worlds as they are until the caller resets (demo generation, evaluation)."""
    keyframe: str | None = "home"
    """Keyframe of the scene giving the default state; qpos0 when None or absent."""
    viewer: ViewerCfg = field(default_factory=ViewerCfg)
