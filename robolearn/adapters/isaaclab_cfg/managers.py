"""Isaac Lab's manager term configs, env config and noise configs, under Isaac Lab's names and fields.

Field names and defaults follow `isaaclab.managers.manager_term_cfg`, `isaaclab.envs.manager_based_rl_env_cfg`
and `isaaclab.utils.noise` (3.0); `robolearn.adapters.isaaclab_cfg.convert` turns them into robolearn's own
`EnvCfg`. Fields robolearn does not reproduce are kept (a task file may set them) and reported by the
conversion when they differ from their defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from robolearn.adapters.isaaclab_cfg.configclass import MISSING, configclass

__all__ = [
    "ActionTermCfg", "AdditiveGaussianNoiseCfg", "AdditiveUniformNoiseCfg", "CommandTermCfg", "ConstantNoiseCfg",
    "CurriculumTermCfg", "EventTermCfg", "GaussianNoiseCfg", "ManagerBasedRLEnvCfg", "ManagerTermBaseCfg",
    "NoiseCfg", "ObservationGroupCfg", "ObservationTermCfg", "RewardTermCfg", "SceneEntityCfg",
    "TerminationTermCfg", "UniformNoiseCfg", "ViewerCfg",
]  # fmt: skip


@configclass
class SceneEntityCfg:
    """A scene entity (the robot) or a sensor (`contact_forces`, `height_scanner`) and a subset of its joints
    or bodies by regex, as a term parameter."""

    name: str = MISSING
    joint_names: str | list[str] | None = None
    body_names: str | list[str] | None = None
    preserve_order: bool = False


# -- noise -----------------------------------------------------------------------------------------------------


@configclass
class NoiseCfg:
    operation: str = "add"


@configclass
class UniformNoiseCfg(NoiseCfg):
    n_min: float = -1.0
    n_max: float = 1.0


@configclass
class GaussianNoiseCfg(NoiseCfg):
    mean: float = 0.0
    std: float = 1.0


@configclass
class ConstantNoiseCfg(NoiseCfg):
    bias: float = 0.0


AdditiveUniformNoiseCfg = UniformNoiseCfg
"""The name Isaac Lab 1.x/2.x task files import (`AdditiveUniformNoiseCfg as Unoise`)."""
AdditiveGaussianNoiseCfg = GaussianNoiseCfg


# -- terms -----------------------------------------------------------------------------------------------------


@configclass
class ManagerTermBaseCfg:
    func: Callable[..., Any] | None = None
    params: dict[str, Any] = {}


@configclass
class ObservationTermCfg(ManagerTermBaseCfg):
    modifiers: list[Any] | None = None
    noise: NoiseCfg | None = None
    clip: tuple[float, float] | None = None
    scale: float | tuple[float, ...] | None = None
    history_length: int = 0
    flatten_history_dim: bool = True


@configclass
class ObservationGroupCfg:
    """A group's terms are its other members, in declaration order (Isaac Lab's `ObsGroup` subclasses)."""

    concatenate_terms: bool = True
    concatenate_dim: int = -1
    enable_corruption: bool = False
    history_length: int | None = None
    flatten_history_dim: bool = True


@configclass
class RewardTermCfg(ManagerTermBaseCfg):
    weight: float = 0.0


@configclass
class TerminationTermCfg(ManagerTermBaseCfg):
    time_out: bool = False


@configclass
class EventTermCfg(ManagerTermBaseCfg):
    mode: str = "reset"
    interval_range_s: tuple[float, float] | None = None
    is_global_time: bool = False
    min_step_count_between_reset: int = 0


@configclass
class CurriculumTermCfg(ManagerTermBaseCfg):
    pass


@configclass
class CommandTermCfg:
    resampling_time_range: tuple[float, float] = (10.0, 10.0)
    debug_vis: bool = False


@configclass
class ActionTermCfg:
    asset_name: str = "robot"
    debug_vis: bool = False
    clip: dict[str, tuple[float, float]] | None = None


# -- the env ---------------------------------------------------------------------------------------------------


@configclass
class ViewerCfg:
    eye: tuple[float, float, float] = (7.5, 7.5, 7.5)
    lookat: tuple[float, float, float] = (0.0, 0.0, 0.0)
    origin_type: str = "world"
    env_index: int = 0
    asset_name: str | None = None


@configclass
class ManagerBasedRLEnvCfg:
    """Isaac Lab's `ManagerBasedRLEnvCfg`: a task file's subclass sets the groups and edits them in
    `__post_init__` (which robolearn runs, as Isaac Lab does, when the config is built)."""

    viewer: ViewerCfg = ViewerCfg()
    sim: Any = None
    seed: int | None = None
    decimation: int = MISSING
    scene: Any = MISSING
    observations: Any = MISSING
    actions: Any = MISSING
    events: Any = None
    recorders: Any = None
    rerender_on_reset: bool = False
    wait_for_textures: bool = True
    is_finite_horizon: bool = False
    episode_length_s: float = MISSING
    rewards: Any = MISSING
    terminations: Any = MISSING
    curriculum: Any = None
    commands: Any = None

    def __post_init__(self) -> None:
        # Subclasses call super().__post_init__() first, as Isaac Lab's task files do; a default simulation
        # config gives their `self.sim.dt = ...` something to set.
        if self.sim is None:
            from robolearn.adapters.isaaclab_cfg.sim import SimulationCfg

            self.sim = SimulationCfg()

    def play_mode(self) -> None:
        """Isaac Lab's defaults for playing a policy: at most 50 worlds, no observation noise."""
        self.scene.num_envs = min(self.scene.num_envs, 50)
        for group in vars(self.observations).values():
            if hasattr(group, "enable_corruption"):
                group.enable_corruption = False
