"""Every error type the project defines survives pickling: a worker process (retarget --batch, a process
pool in a user's script) hands its error to the parent that way, and an exception that cannot be rebuilt
there breaks the whole pool instead of reporting the one bad item."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pickle
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {"robolearn": "robolearn", "envs": "robolearn.envs", "policies": "robolearn.policies",
            "retarget": "robolearn.retarget", "sim2real": "robolearn.sim2real"}  # fmt: skip
"""Source folder -> module prefix (setup.py's PACKAGE_DIRS, reversed)."""


def _exception_classes_in_source() -> dict[str, set[str]]:
    """{module: class names} of classes whose base is a builtin exception or another such class (read
    with ast, so only modules that define one are imported: importing everything takes ~20 s)."""
    classes: dict[str, list[tuple[str, list[str]]]] = {}
    for folder, prefix in PACKAGES.items():
        for path in sorted((REPO / folder).rglob("*.py")):
            parts = path.relative_to(REPO / folder).with_suffix("").parts
            module = ".".join((prefix, *(parts[:-1] if parts[-1] == "__init__" else parts)))
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef):
                    bases = [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases]
                    classes.setdefault(module, []).append((node.name, bases))
    errors = {n for n in dir(builtins) if isinstance(getattr(builtins, n), type)
              and issubclass(getattr(builtins, n), BaseException)}  # fmt: skip
    while True:  # subclasses of subclasses, across modules
        more = {name for found in classes.values() for name, bases in found if set(bases) & errors} - errors
        if not more:
            break
        errors |= more
    return {m: {n for n, bases in found if set(bases) & errors} for m, found in classes.items()}


def project_error_types() -> list[type[BaseException]]:
    types = []
    for module, names in _exception_classes_in_source().items():
        for name in sorted(names):
            cls = getattr(importlib.import_module(module), name, None)
            if inspect.isclass(cls) and issubclass(cls, BaseException):  # a class nested in a function: skip
                types.append(cls)
    return types


def _instance(cls: type[BaseException]) -> BaseException:
    """An instance built the way the code raises it: one string per parameter of its __init__."""
    params = [p for p in inspect.signature(cls.__init__).parameters.values()
              if p.name != "self" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
              and p.default is p.empty]  # fmt: skip
    if cls.__init__ is BaseException.__init__ or any(
        p.kind == p.VAR_POSITIONAL for p in inspect.signature(cls.__init__).parameters.values()
    ):
        return cls("walk.bvh: field 'Frames': expected 10, got 3")
    return cls(*(f"value of {p.name}" for p in params))


ERRORS = project_error_types()


def test_the_error_types_are_found():
    names = {t.__name__ for t in ERRORS}
    assert {"RetargetInputError", "FlagError", "RunError", "DatasetError", "PolicySpecError",
            "UnknownRobotError", "UnknownTaskError"} <= names, names  # fmt: skip


@pytest.mark.parametrize("cls", ERRORS, ids=lambda t: t.__name__)
def test_error_round_trips_through_pickle(cls):
    exc = _instance(cls)
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is cls
    assert str(back) == str(exc) and back.args == exc.args
    assert vars(back) == vars(exc)  # the named parts (file, field, flag, ...) too
