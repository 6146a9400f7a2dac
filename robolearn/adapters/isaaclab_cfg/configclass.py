"""`configclass`: Isaac Lab's config decorator, as its task files use it.

Isaac Lab's config classes are dataclasses whose members need no annotation and may hold mutable defaults
(a term config, a dict, a nested group instance): every instance gets its own deep copy of each default.
Nested config classes (a `PolicyCfg` defined inside `ObservationsCfg`) are types, not fields.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:  # only type checkers read it: no runtime dependency on typing_extensions

    def dataclass_transform(**_: Any) -> Any:
        return lambda f: f


T = TypeVar("T")

MISSING: Any = dataclasses.MISSING
"""Isaac Lab's marker of a field a task file must set (typed Any so `robot: ArticulationCfg = MISSING` checks)."""

__all__ = ["MISSING", "clone", "configclass", "replace", "to_dict"]


def _is_member_field(name: str, value: Any) -> bool:
    """A class attribute that becomes a field: not private, not a method, property or nested class."""
    if name.startswith("__") or isinstance(value, (staticmethod, classmethod, property)):
        return False
    return not (inspect.isfunction(value) or inspect.isclass(value))


def _default_factory(value: Any) -> Callable[[], Any]:
    # Functions (a term's `func`) and types are shared, not copied; everything else is per instance.
    if callable(value) and (inspect.isfunction(value) or inspect.isclass(value)):
        return lambda: value
    return lambda: copy.deepcopy(value)


@dataclass_transform()
def configclass(cls: type[T]) -> type[T]:
    """Turn `cls` into a dataclass the way Isaac Lab's `configclass` does (see the module docstring)."""
    annotations = dict(cls.__dict__.get("__annotations__", {}))
    inherited: dict[str, Any] = {}
    for base in reversed(cls.__mro__[1:]):
        if dataclasses.is_dataclass(base):
            inherited.update({f.name: f.type for f in dataclasses.fields(base)})
    for name, value in list(cls.__dict__.items()):
        if not _is_member_field(name, value):
            continue
        if isinstance(value, dataclasses.Field):
            annotations.setdefault(name, inherited.get(name, "Any"))
            continue
        annotations.setdefault(name, inherited.get(name, "Any"))
        if value is MISSING:
            setattr(cls, name, dataclasses.field(default=None))
        else:
            setattr(cls, name, dataclasses.field(default_factory=_default_factory(value)))
    # Annotated members without a value (`robot: ArticulationCfg = MISSING` is handled above) are optional.
    for name in annotations:
        if name not in cls.__dict__ and name not in inherited:
            setattr(cls, name, dataclasses.field(default=None))
    cls.__annotations__ = annotations
    out = dataclasses.dataclass(cls)
    out.replace = lambda self, **changes: replace(self, **changes)  # type: ignore[attr-defined]
    out.copy = lambda self: clone(self)  # type: ignore[attr-defined]
    out.to_dict = lambda self: to_dict(self)  # type: ignore[attr-defined]
    return out


def replace(cfg: T, /, **changes: Any) -> T:
    """A deep copy of `cfg` with `changes` applied (Isaac Lab's `replace` and `cfg.replace(...)`)."""
    out = copy.deepcopy(cfg)
    for key, value in changes.items():
        if dataclasses.is_dataclass(out) and key not in {f.name for f in dataclasses.fields(out)}:
            raise AttributeError(f"{type(cfg).__name__} has no field {key!r}")
        setattr(out, key, value)
    return out


def clone(cfg: T) -> T:
    return copy.deepcopy(cfg)


def to_dict(cfg: Any) -> Any:
    """Plain dicts of a config (functions by their module:qualname), as Isaac Lab's params/env.yaml holds."""
    if dataclasses.is_dataclass(cfg) and not isinstance(cfg, type):
        # The instance's attributes, not only its fields: a __post_init__ may add a term (Isaac Lab reads them too).
        return {k: to_dict(v) for k, v in vars(cfg).items() if not k.startswith("_")}
    if isinstance(cfg, dict):
        return {k: to_dict(v) for k, v in cfg.items()}
    if isinstance(cfg, (list, tuple)):
        return [to_dict(v) for v in cfg]
    if callable(cfg):
        return f"{cfg.__module__}:{getattr(cfg, '__qualname__', type(cfg).__name__)}"
    return cfg
