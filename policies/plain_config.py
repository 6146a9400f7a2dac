"""Plain configs: dataclass configs as YAML-safe data (config.yaml) and back, laid over a default and checked
against its types, so a run folder's config names the field that is wrong (`RunError`)."""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib
import typing
from collections.abc import Callable
from pathlib import Path
from types import UnionType
from typing import Any

from robolearn.policies.runs import RunError


def callable_name(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


MOVED_MODULES = {"robolearn.env.": "robolearn.core.", "robolearn.tasks": "robolearn.registry"}
"""Modules renamed since older run folders were written: their config.yaml still names the old paths."""


def resolve_name(name: str) -> Any:
    for old, new in MOVED_MODULES.items():
        if name.startswith(old):
            name = new + name[len(old) :]
    module, _, qualname = name.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def to_plain(obj: Any) -> Any:
    """Dataclasses -> dicts, functions -> 'module:qualname' strings, tuples -> lists (YAML-safe)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if callable(obj):
        return callable_name(obj)
    return obj


def from_plain(default: Any, data: Any, where: str = "") -> Any:
    """Rebuild a config by laying plain `data` (from config.yaml) over a `default` of the same shape."""
    if dataclasses.is_dataclass(default) and not isinstance(default, type):
        if not isinstance(data, dict):
            raise RunError(f"{where or 'config'}: expected a mapping, got {data!r}")
        # Fields are set on a copy instead of calling __init__ so __post_init__ edits are not applied twice.
        obj = copy.copy(default)
        names = {f.name for f in dataclasses.fields(default)}
        for key, value in data.items():
            if key not in names:
                raise RunError(f"{where}.{key}: not a field of {type(default).__name__}")
            if _union_leaf(type(default), key, value, f"{where}.{key}"):
                setattr(obj, key, value)  # a union field's other member (bool_field | Literal["auto"])
                continue
            setattr(obj, key, from_plain(getattr(default, key), value, f"{where}.{key}"))
        return obj
    if isinstance(default, dict) and not isinstance(data, dict):
        raise RunError(f"{where}: expected a mapping, got {data!r}")
    if isinstance(default, dict) and isinstance(data, dict):
        out = {}
        template = next(iter(default.values()), None)
        for key, value in data.items():
            if key in default:
                out[key] = from_plain(default[key], value, f"{where}.{key}")
            elif dataclasses.is_dataclass(template):
                # A term the task has since dropped or renamed: config.yaml records all of its fields (the
                # function by name), so it is rebuilt on a sibling term's shape and the run still loads.
                if not isinstance(value, dict) or "func" not in value:
                    raise RunError(f"{where}.{key}: a term needs its fields (func, ...), got {value!r}")
                out[key] = from_plain(copy.deepcopy(template), value, f"{where}.{key}")
            else:
                out[key] = value
        return out
    if isinstance(default, tuple) and isinstance(data, list):
        return tuple(data)
    if callable(default):
        if not isinstance(data, str):
            raise RunError(f"{where}: expected a function name 'module:qualname', got {data!r}")
        try:
            fn = resolve_name(data)
        except (ImportError, AttributeError, ValueError, TypeError) as exc:
            raise RunError(f"{where}: cannot import {data!r}: {exc}") from None
        if not callable(fn):
            raise RunError(f"{where}: {data!r} is not a function")
        return fn
    _check_leaf(default, data, where)
    return data


@functools.cache
def _union_members(cls: type, name: str) -> tuple[tuple[Any, ...], bool] | None:
    """The members of a field annotated as a union of scalars and literals (`bool | Literal["auto"]`,
    `int | None`): scalar types and literal values, and whether they are all there is to it (a union with a
    tuple or a dataclass member is not checked here); None for any other field."""
    try:
        hint = typing.get_type_hints(cls).get(name)
    except (NameError, TypeError):  # an annotation that does not resolve: the default's type decides
        return None
    if typing.get_origin(hint) not in (typing.Union, UnionType):
        return None
    members: list[Any] = []
    closed = True
    for m in typing.get_args(hint):
        if m in (bool, int, float, str, type(None)):
            members.append(m)
        elif typing.get_origin(m) is typing.Literal:
            members.extend(typing.get_args(m))
        else:
            closed = False
    return tuple(members), closed


def _union_leaf(cls: type, name: str, value: Any, where: str) -> bool:
    """Whether `value` is a member of the union-typed field `name` (set as is); a value that no member of a
    closed union takes is refused naming the field and what it takes."""
    union = _union_members(cls, name)
    if union is None:
        return False
    members, closed = union
    for m in members:
        if isinstance(m, type):
            if type(value) is m or (m is float and type(value) is int):
                return True
        elif type(value) is type(m) and value == m:
            return True
    if closed:
        names = " or ".join(m.__name__ if isinstance(m, type) else repr(m) for m in members)
        raise RunError(f"{where}: expected {names.replace('NoneType', 'null')}, got {value!r}")
    return False


def _check_leaf(default: Any, data: Any, where: str) -> None:
    """A scalar or list from config.yaml must have its default's type. None is taken anywhere (fields may be
    optional) and a number for any number (a float field may default to an int)."""
    expected: tuple[type, ...] | None = None
    if data is None:
        return
    if isinstance(default, bool):
        expected = (bool,)
    elif isinstance(default, (int, float)):
        expected = (int, float)
    elif isinstance(default, str):
        expected = (str,)
    elif isinstance(default, (list, tuple)):
        expected = (list, tuple)
    if expected is None:
        return
    if not isinstance(data, expected) or (isinstance(data, bool) and bool not in expected):
        names = " or ".join(t.__name__ for t in expected)
        raise RunError(f"{where}: expected {names} like the default {default!r}, got {data!r}")


def diff_plain(a: Any, b: Any, where: str = "") -> list[str]:
    """Human-readable differences between two plain configs (a: the run's, b: the requested one)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            sub = f"{where}.{key}" if where else str(key)
            if key not in a:
                out.append(f"{sub}: absent in the run, {b[key]!r} requested")
            elif key not in b:
                out.append(f"{sub}: {a[key]!r} in the run, absent in the request")
            else:
                out.extend(diff_plain(a[key], b[key], sub))
        return out
    return [] if a == b else [f"{where}: {a!r} in the run, {b!r} requested"]
