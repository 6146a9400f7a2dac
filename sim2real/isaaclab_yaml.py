"""Isaac Lab's params/*.yaml, read and written without running any code from the file.

The python tags (`!!python/tuple`, builtins.slice) are read and written by robolearn.adapters.isaaclab_io,
the one Isaac Lab YAML dumper (the config adapter's env.yaml writer uses it too); other python tags are refused.

Also here: Isaac Lab's regex-keyed per-joint values (`{".*_hip_joint": 0.1, ...}`), resolved against joint names
the way isaaclab.utils.string.resolve_matching_names_values does (full matches; a key that matches no joint
is an error).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from robolearn.adapters.isaaclab_io import IsaacLabLoader, write_isaaclab_yaml
from robolearn.sim2real.schema import PolicySpecError


class IsaacLabRunError(PolicySpecError):
    """An Isaac Lab run folder robolearn cannot read or reproduce (names the file, the field and the term)."""


def load_params_yaml(path: Path) -> dict[str, Any]:
    """A params/*.yaml file as a dict; a missing, unreadable or non-mapping file raises IsaacLabRunError."""
    if not path.is_file():
        raise IsaacLabRunError(f"{path}: missing; an Isaac Lab run folder holds params/env.yaml and params/agent.yaml "
                               "(Isaac Lab's train.py writes them) and exported/policy.onnx (its play.py)")  # fmt: skip
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=IsaacLabLoader)  # noqa: S506 (a SafeLoader subclass)
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        raise IsaacLabRunError(
            f"{path}: not readable as Isaac Lab YAML ({' '.join(str(exc).split())})"
        ) from None
    if not isinstance(data, dict):
        raise IsaacLabRunError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def dump_params_yaml(path: Path, data: dict[str, Any]) -> None:
    """Write `data` as Isaac Lab's dump_yaml does (block style, keys in insertion order), whole or not at all."""
    write_isaaclab_yaml(path, data)


def dig(data: dict[str, Any], dotted: str, where: Path) -> Any:
    """data["a"]["b"]... for "a.b...", raising IsaacLabRunError naming the file and the missing field."""
    node: Any = data
    for i, key in enumerate(dotted.split(".")):
        if not isinstance(node, dict) or key not in node:
            raise IsaacLabRunError(f"{where}: field {'.'.join(dotted.split('.')[: i + 1])} is missing")
        node = node[key]
    return node


def match_joints(patterns: str | Sequence[str], joints: Sequence[str], where: str, preserve_order: bool = False
                 ) -> list[str]:  # fmt: skip
    """Joints whose names fully match one of `patterns`: in `joints` order, or in pattern order with
    preserve_order (Isaac Lab's resolve_matching_names). A pattern that matches nothing is an error."""
    pats = [patterns] if isinstance(patterns, str) else list(patterns)
    compiled = [_compile(p, where) for p in pats]
    for p, rx in zip(pats, compiled, strict=True):
        if not any(rx.fullmatch(j) for j in joints):
            raise IsaacLabRunError(
                f"{where}: {p!r} matches no joint of the robot (joints: {', '.join(joints)})"
            )
    if preserve_order:
        out: list[str] = []
        for rx in compiled:
            out += [j for j in joints if rx.fullmatch(j) and j not in out]
        return out
    return [j for j in joints if any(rx.fullmatch(j) for rx in compiled)]


def per_joint(
    value: Any, joints: Sequence[str], where: str, default: float | None = None
) -> dict[str, float]:
    """A number (every joint) or a {regex: number} dict resolved onto `joints`; joints no key matches get
    `default` (left out when it is None). A key that matches no joint, or two keys matching one joint, is an
    error naming the key."""
    if _is_number(value):
        return {j: float(value) for j in joints}
    if not isinstance(value, dict):
        raise IsaacLabRunError(
            f"{where}: expected a number or a {{joint regex: number}} mapping, got {value!r}"
        )
    out: dict[str, float] = {}
    for key, v in value.items():
        if not _is_number(v):
            raise IsaacLabRunError(f"{where}.{key}: expected a number, got {v!r}")
        rx = _compile(str(key), where)
        hits = [j for j in joints if rx.fullmatch(j)]
        if not hits:
            raise IsaacLabRunError(
                f"{where}: {key!r} matches no joint of the robot (joints: {', '.join(joints)})"
            )
        for j in hits:
            if j in out:
                raise IsaacLabRunError(
                    f"{where}: joint {j!r} is matched by more than one key (one is {key!r})"
                )
            out[j] = float(v)
    if default is not None:
        for j in joints:
            out.setdefault(j, default)
    return out


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise IsaacLabRunError(f"{where}: {pattern!r} is not a valid regular expression ({exc})") from None


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)
