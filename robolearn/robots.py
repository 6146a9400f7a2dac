"""Robot registry: our short robot names mapped to mujoco-menagerie models.

Models come from the `mujoco-menagerie` package, which downloads and caches a robot on
first use, or reads a local copy named by the MENAGERIE_ROOT environment variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import mujoco


@dataclass(frozen=True)
class RobotInfo:
    name: str
    menagerie: str
    model: str
    """Entry point of the full model (used for sim2sim and retargeting)."""
    fast_model: str | None
    """Entry point with primitive collision geometry and a light solver, used for training."""
    category: str
    description: str
    scene: str | None = "scene"
    """Menagerie scene entry of the full model (its keyframes give default poses)."""
    fast_scene: str | None = None
    pyramidal_when_fast: bool = False
    """No menagerie fast variant, so training uses the full model with the mjx variants' pyramidal friction
    cone instead of its elliptic one (impratio 100): 3.8x more A1 env steps/s at 512 worlds, measured."""


ROBOTS: dict[str, RobotInfo] = {
    r.name: r
    for r in [
        RobotInfo(
            "go2", "unitree_go2", "go2", "go2_mjx", "quadruped", "Unitree Go2, 12 DoF", fast_scene="scene_mjx"
        ),
        RobotInfo("go1", "unitree_go1", "go1", None, "quadruped", "Unitree Go1, 12 DoF", pyramidal_when_fast=True),
        RobotInfo("a1", "unitree_a1", "a1", None, "quadruped", "Unitree A1, 12 DoF", pyramidal_when_fast=True),
        RobotInfo(
            "g1", "unitree_g1", "g1", "g1_mjx", "humanoid", "Unitree G1, 29 DoF", fast_scene="scene_mjx"
        ),
        RobotInfo(
            "g1_with_hands",
            "unitree_g1",
            "g1_with_hands",
            None,
            "humanoid",
            "Unitree G1 with Dex3 hands",
            scene="scene_with_hands",
        ),
        RobotInfo("h1", "unitree_h1", "h1", None, "humanoid", "Unitree H1, 19 DoF"),
        RobotInfo("t1", "booster_t1", "t1", None, "humanoid", "Booster T1, 23 DoF"),
        RobotInfo("shadow_hand", "shadow_hand", "right_hand", None, "hand", "Shadow Dexterous Hand (right)"),
        RobotInfo(
            "shadow_hand_left", "shadow_hand", "left_hand", None, "hand", "Shadow Dexterous Hand (left)"
        ),
        RobotInfo("allegro", "wonik_allegro", "right_hand", None, "hand", "Wonik Allegro hand (right)"),
        RobotInfo("allegro_left", "wonik_allegro", "left_hand", None, "hand", "Wonik Allegro hand (left)"),
        RobotInfo("leap_hand", "leap_hand", "right_hand", None, "hand", "LEAP hand (right)"),
        RobotInfo("leap_hand_left", "leap_hand", "left_hand", None, "hand", "LEAP hand (left)"),
        RobotInfo("aloha", "aloha", "aloha", None, "bimanual", "ALOHA 2, two 6-DoF arms with grippers"),
        RobotInfo("panda", "franka_emika_panda", "panda_nohand", None, "arm", "Franka Emika Panda, 7 DoF, no gripper"),
    ]
}


class UnknownRobotError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0])


class RobotNotFoundError(FileNotFoundError):
    pass


def robot_info(name: str) -> RobotInfo:
    try:
        return ROBOTS[name]
    except KeyError:
        raise UnknownRobotError(
            f"unknown robot {name!r}; valid robots: {', '.join(sorted(ROBOTS))}"
        ) from None


def robot_xml(name: str, fast: bool = False) -> Path:
    """Path to the robot's MJCF (the `fast_model` variant when `fast` and one exists)."""
    import mujoco_menagerie

    info = robot_info(name)
    entry = info.fast_model if fast and info.fast_model else info.model
    try:
        return Path(mujoco_menagerie.get(info.menagerie).xml(entry))
    except Exception as exc:  # the package raises several error types for a missing/unreachable model
        root = os.environ.get("MENAGERIE_ROOT")
        where = f"MENAGERIE_ROOT={root}" if root else "the mujoco-menagerie cache (MENAGERIE_ROOT is not set)"
        raise RobotNotFoundError(
            f"robot {name!r} (menagerie {info.menagerie!r}, entry {entry!r}) could not be loaded from {where}: "
            f"{exc}. On a machine without network, set MENAGERIE_ROOT to a local mujoco_menagerie checkout "
            f"(one folder per robot, e.g. {info.menagerie}/)."
        ) from exc


def robot_scene_spec(name: str, fast: bool = False) -> mujoco.MjSpec | None:
    """The robot's menagerie scene (keyframes and robot-floor contact pairs often live there)."""
    import mujoco_menagerie

    info = robot_info(name)
    entry = info.fast_scene if fast and info.fast_scene and info.fast_model else info.scene
    if entry is None:
        return None
    return load_spec(mujoco_menagerie.get(info.menagerie).xml(entry))


def load_spec(path: str | os.PathLike[str]) -> mujoco.MjSpec:
    """Parse an MJCF file into an MjSpec, naming the file in any MuJoCo error."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MJCF file not found: {path}")
    try:
        return mujoco.MjSpec.from_file(str(path))
    except Exception as exc:
        raise ValueError(f"malformed MJCF {path}: {exc}") from exc


def robot_spec(name: str, fast: bool = False) -> mujoco.MjSpec:
    """The robot's model as an editable MjSpec (no floor or lights; add a scene with robolearn.scene)."""
    spec = load_spec(robot_xml(name, fast))
    if fast and robot_info(name).pyramidal_when_fast:
        spec.option.cone = mujoco.mjtCone.mjCONE_PYRAMIDAL
    return spec


def robot_model(name: str, fast: bool = False) -> mujoco.MjModel:
    return compile_spec(robot_spec(name, fast), source=str(robot_xml(name, fast)))


def compile_spec(spec: mujoco.MjSpec, source: str = "<spec>") -> mujoco.MjModel:
    try:
        return spec.compile()
    except Exception as exc:
        raise ValueError(f"MuJoCo could not compile {source}: {exc}") from exc
