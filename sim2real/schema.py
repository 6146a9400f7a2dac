"""policy.json: the export contract between training and the deploy runtime, typed and validated.

This module needs only the standard library (and numpy nowhere), so a robot's computer can load
and check a policy without torch or MuJoCo. `export.py` writes this schema; `deploy.py` reads it.

Validation happens twice: `PolicyMetadata.from_json` checks the file on its own (types, lengths,
ranges, observation size), and `check_joints` checks it against a robot's joint list, because a
policy whose joints are missing or reordered would drive the wrong motors.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXPORT_VERSION = 1
ONNX_INPUT, ONNX_OUTPUT = "obs", "actions"
MAX_ACTION_SCALE = 2 * math.pi
"""Largest action_scale (joint-target radians, or metres, per unit of action) a policy.json may carry. Past the
widest joint range of any robot we ship, one unit of action already spans the whole range, so every action
beyond +-1 only slams targets into the joint stops: such a scale is a typo (1e6) or a unit mix-up, not a
policy. Widest ranges in the menagerie models: ALOHA's wrist_rotate 2 pi, G1 5.76, H1 5.75, A1 5.24,
Go2 5.06 rad; hands 1.9-3.2 rad. Trained policies use 0.05-1.0. The safety layer also checks the scale
against the robot's own joint ranges."""


class PolicySpecError(ValueError):
    """A policy.json that does not fit the schema, the network or the robot (names the field)."""


class OnnxModelError(PolicySpecError):
    """An ONNX file onnxruntime cannot load (empty, truncated, not ONNX, an unsupported graph); names the file."""


@dataclass
class ObsTermSpec:
    name: str
    size: int
    scale: float
    clip: float | None = None
    func: str = ""
    """Qualified name of the env's term function (e.g. robolearn.core.mdp.observations:joint_pos_rel);
    empty in files written before it existed, where the deploy side falls back to `name`."""
    noise: float = 0.0
    """Half-width of the uniform noise training added (sim2sim can replay it; deploy adds none)."""
    params: dict[str, Any] = field(default_factory=dict)
    """The term function's parameters that the deploy side needs (e.g. a gait clock's period)."""


@dataclass
class CommandSpec:
    name: str
    range: tuple[float, float]


@dataclass
class PolicyMetadata:
    """Schema of policy.json (bump EXPORT_VERSION on any incompatible change)."""

    version: int
    task: str
    robot: str
    joint_names: list[str]
    """Actuated joints, in actuator order (the order of action, kp, kd, default positions)."""
    default_joint_pos: list[float]
    action_scale: float
    action_offset: list[float]
    action_clip: float
    kp: list[float]
    kd: list[float]
    control_period: float
    """Seconds between policy steps (sim dt x decimation)."""
    sim_dt: float
    obs_dim: int
    observation_terms: list[ObsTermSpec]
    """Terms of one frame, in order; `scale` multiplies the raw quantity (after `clip`)."""
    history_length: int
    """Frames stacked oldest first; the ONNX input is history_length x sum(term sizes)."""
    commands: list[CommandSpec]
    model_file: str
    model_file_sha256: str
    scene_xml_sha256: str
    """sha256 of the compiled training scene's XML (robot + floor + sensors + PD gains)."""
    onnx_input: str = ONNX_INPUT
    onnx_output: str = ONNX_OUTPUT
    checkpoint: str = ""
    base_body: str = "base"
    """The trunk body whose frame the base terms use (the IMU's frame on the robot; gyro and
    orientation are read there)."""
    obs_group: str = "policy"
    """The training env's observation group the network reads ('student' for a distilled policy);
    sim2sim's training-env side feeds it."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def frame_dim(self) -> int:
        return sum(t.size for t in self.observation_terms)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str, where: str = "policy.json") -> PolicyMetadata:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise PolicySpecError(f"{where}: not valid JSON ({exc})") from None
        return cls.from_dict(data, where)

    @classmethod
    def from_dict(cls, data: Any, where: str = "policy.json") -> PolicyMetadata:
        if not isinstance(data, dict):
            raise PolicySpecError(f"{where}: expected a JSON object, got {type(data).__name__}")
        version = data.get("version")
        if version != EXPORT_VERSION:
            raise PolicySpecError(
                f"{where}: export version {version!r}, this robolearn reads version {EXPORT_VERSION}"
            )
        names = {f.name for f in dataclasses.fields(cls)}
        optional = {f.name for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING}
        optional |= {"extra"}
        missing = names - set(data) - optional
        if missing:
            raise PolicySpecError(f"{where}: missing fields {sorted(missing)}")
        terms = _list(data, "observation_terms", where, dict)
        term_fields = {f.name for f in dataclasses.fields(ObsTermSpec)}
        parsed_terms = []
        for i, t in enumerate(terms):
            for key in ("name", "size", "scale"):
                if key not in t:
                    raise PolicySpecError(f"{where}: observation_terms[{i}] lacks {key!r}")
            if not isinstance(t.get("params", {}), dict):
                raise PolicySpecError(f"{where}: observation_terms[{i}].params must be a mapping")
            if not isinstance(t["name"], str) or not t["name"] or not isinstance(t.get("func", ""), str):
                raise PolicySpecError(f"{where}: observation_terms[{i}].name and .func must be strings")
            parsed_terms.append(ObsTermSpec(**{k: v for k, v in t.items() if k in term_fields}))
        commands = []
        for i, c in enumerate(_list(data, "commands", where, dict)):
            rng = c.get("range")
            if not isinstance(rng, (list, tuple)) or len(rng) != 2 or not all(_is_finite(v) for v in rng):
                raise PolicySpecError(
                    f"{where}: commands[{i}].range must be [low, high] (finite numbers), got {rng!r}"
                )
            commands.append(CommandSpec(str(c.get("name", "")), (float(rng[0]), float(rng[1]))))
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["observation_terms"] = parsed_terms
        kwargs["commands"] = commands
        meta = cls(**kwargs)
        meta.validate(where)
        return meta

    def validate(self, where: str = "policy.json") -> None:
        """Check types, per-joint lengths, ranges and the observation size; raise PolicySpecError."""
        _check_str_list(self.joint_names, "joint_names", where)
        dupes = sorted({n for n in self.joint_names if self.joint_names.count(n) > 1})
        if dupes:
            raise PolicySpecError(f"{where}: joint_names lists {dupes} more than once")
        n = self.num_joints
        if n == 0:
            raise PolicySpecError(f"{where}: joint_names is empty")
        for name in ("default_joint_pos", "action_offset", "kp", "kd"):
            values = getattr(self, name)
            _check_float_list(values, name, where)
            if len(values) != n:
                raise PolicySpecError(
                    f"{where}: {name} has {len(values)} values, expected {n} (one per joint in joint_names)"
                )
        if any(v < 0 for v in self.kp + self.kd):  # finite numbers, checked above
            raise PolicySpecError(f"{where}: kp and kd must be >= 0")
        for name in ("action_scale", "action_clip", "control_period", "sim_dt"):
            value = getattr(self, name)
            if not _is_finite(value) or value <= 0:
                raise PolicySpecError(f"{where}: {name} must be a positive number, got {value!r}")
        if self.action_scale > MAX_ACTION_SCALE:
            raise PolicySpecError(
                f"{where}: action_scale is {self.action_scale:g}, expected at most {MAX_ACTION_SCALE:.4g} (2 pi: "
                "one unit of action spanning more than any robot's widest joint range only drives joints into "
                "their stops); trained policies use 0.05-1.0"
            )
        for name in ("obs_dim", "history_length"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise PolicySpecError(f"{where}: {name} must be a positive integer, got {value!r}")
        if not self.observation_terms:
            raise PolicySpecError(f"{where}: observation_terms is empty")
        for i, t in enumerate(self.observation_terms):
            if not isinstance(t.size, int) or isinstance(t.size, bool) or t.size < 1:
                raise PolicySpecError(f"{where}: observation_terms[{i}] ({t.name}) has size {t.size!r}")
            if not _is_finite(t.scale) or (t.clip is not None and (not _is_finite(t.clip) or t.clip <= 0)):
                raise PolicySpecError(f"{where}: observation_terms[{i}] ({t.name}) has a bad scale or clip")
            if not _is_finite(t.noise) or t.noise < 0:
                raise PolicySpecError(f"{where}: observation_terms[{i}] ({t.name}) has noise {t.noise!r}")
        expected = self.frame_dim * self.history_length
        if self.obs_dim != expected:
            raise PolicySpecError(
                f"{where}: obs_dim is {self.obs_dim} but the terms sum to {self.frame_dim} per frame "
                f"x history {self.history_length} = {expected}"
            )
        for c in self.commands:
            lo, hi = c.range
            if not lo <= hi:
                raise PolicySpecError(f"{where}: command {c.name!r} has range {c.range} with low > high")
        for name in ("onnx_input", "onnx_output", "task", "robot", "base_body", "obs_group"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise PolicySpecError(f"{where}: {name} must be a non-empty string")
        for name in ("model_file", "model_file_sha256", "scene_xml_sha256", "checkpoint"):
            if not isinstance(getattr(self, name), str):
                raise PolicySpecError(f"{where}: {name} must be a string")
        if not isinstance(self.extra, dict):
            raise PolicySpecError(f"{where}: extra must be a mapping")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _is_finite(x: Any) -> bool:
    # JSON integers have no size limit: math.isfinite(10**400) raises OverflowError instead of saying False.
    return _is_number(x) and (isinstance(x, int) or math.isfinite(x)) and abs(x) < 1e300


def _list(data: dict, key: str, where: str, item_type: type) -> list:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, item_type) for v in value):
        raise PolicySpecError(f"{where}: {key} must be a list of {item_type.__name__}")
    return value


def _check_str_list(values: Any, name: str, where: str) -> None:
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise PolicySpecError(f"{where}: {name} must be a list of non-empty strings")


def _check_float_list(values: Any, name: str, where: str) -> None:
    if not isinstance(values, list) or not all(_is_finite(v) for v in values):
        raise PolicySpecError(f"{where}: {name} must be a list of finite numbers")


def check_joints(
    policy_joints: Sequence[str], robot_joints: Sequence[str], where: str = "policy.json"
) -> None:
    """The policy's joints must be exactly the robot's, in the robot's (training model's) order.

    The network's outputs follow the actuator order of the model it was trained on, so a missing
    joint would leave a motor unpowered and a reordered list would send one joint's target to
    another. Both are rejected, naming the first joint at fault.
    """
    policy, robot = list(policy_joints), list(robot_joints)
    for name in robot:
        if name not in policy:
            raise PolicySpecError(f"{where}: joint {name!r} of the robot is missing from joint_names")
    for name in policy:
        if name not in robot:
            raise PolicySpecError(
                f"{where}: joint {name!r} is not a joint of the robot (robot joints: {', '.join(robot)})"
            )
    for i, (p, r) in enumerate(zip(policy, robot, strict=True)):
        if p != r:
            raise PolicySpecError(
                f"{where}: joint {p!r} is listed at index {i} but the robot has it at index "
                f"{robot.index(p)} (expected {r!r} there): joint_names is reordered; it must follow the "
                "actuator order of the training model"
            )


def load_metadata(path: str | Path) -> PolicyMetadata:
    """Read and validate policy.json (a run folder is accepted and its policy.json read)."""
    path = Path(path)
    if path.is_dir():
        path = path / "policy.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no policy.json (export the run first: robolearn export <run>)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PolicySpecError(f"{path}: not a UTF-8 text file ({exc})") from None
    return PolicyMetadata.from_json(text, str(path))
