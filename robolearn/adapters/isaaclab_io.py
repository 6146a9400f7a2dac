"""YAML as Isaac Lab's run folders hold it (`params/env.yaml`, `params/agent.yaml`): the one reader and writer
of its python tags, shared by the config adapter (robolearn.adapters.isaaclab_cfg.env_yaml) and the run-folder
export/import (robolearn.sim2real.isaaclab_yaml). Only PyYAML: sim2real imports it.

Isaac Lab dumps its configclasses with `yaml.dump(class_to_dict(cfg))` (isaaclab.utils.io.dump_yaml): functions
and classes become "module:name" strings, tuples carry the `!!python/tuple` tag and `slice(None)` index
fields (SceneEntityCfg.joint_ids and friends) carry `!!python/object/apply:builtins.slice`. `yaml.safe_load`
rejects both tags and `yaml.unsafe_load` would run whatever a file names, so `IsaacLabLoader` builds tuples and
slices and refuses every other python tag, naming it; `write_isaaclab_yaml` emits the same tags Isaac Lab does.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from robolearn.atomic import write_text

TUPLE_TAG = "tag:yaml.org,2002:python/tuple"
SLICE_TAG = "tag:yaml.org,2002:python/object/apply:builtins.slice"


class IsaacLabLoader(yaml.SafeLoader):
    """A SafeLoader that also reads Isaac Lab's tuple and slice tags (and no other python tag)."""


def _tuple(loader: yaml.SafeLoader, node: yaml.Node) -> tuple:
    assert isinstance(node, yaml.SequenceNode)
    return tuple(loader.construct_sequence(node, deep=True))


def _slice(loader: yaml.SafeLoader, node: yaml.Node) -> slice:
    args = loader.construct_sequence(node, deep=True) if isinstance(node, yaml.SequenceNode) else []
    if len(args) != 3 or not all(a is None or isinstance(a, int) for a in args):
        raise yaml.constructor.ConstructorError(None, None, f"a slice needs [start, stop, step], got {args}",
                                                node.start_mark)  # fmt: skip
    return slice(*args)


def _refuse(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    raise yaml.constructor.ConstructorError(
        None, None, f"the python tag !!python/{suffix} (only !!python/tuple and builtins.slice are read; "
        "nothing in a run folder is executed)", node.start_mark,
    )  # fmt: skip


IsaacLabLoader.add_constructor(TUPLE_TAG, _tuple)
IsaacLabLoader.add_constructor(SLICE_TAG, _slice)
IsaacLabLoader.add_multi_constructor("tag:yaml.org,2002:python/", _refuse)


class IsaacLabDumper(yaml.SafeDumper):
    """A SafeDumper that writes tuples and slices with Isaac Lab's tags."""


def _dump_tuple(dumper: yaml.SafeDumper, data: tuple) -> yaml.Node:
    return dumper.represent_sequence(TUPLE_TAG, list(data))


def _dump_slice(dumper: yaml.SafeDumper, data: slice) -> yaml.Node:
    return dumper.represent_sequence(SLICE_TAG, [data.start, data.stop, data.step])


IsaacLabDumper.add_representer(tuple, _dump_tuple)
IsaacLabDumper.add_representer(slice, _dump_slice)


def isaaclab_yaml_text(data: dict[str, Any]) -> str:
    """`data` as Isaac Lab's dump_yaml writes it: block style, keys in insertion order, tagged tuples/slices."""
    return yaml.dump(data, Dumper=IsaacLabDumper, default_flow_style=False, sort_keys=False)


def write_isaaclab_yaml(path: str | os.PathLike[str], data: dict[str, Any]) -> Path:
    """Write `isaaclab_yaml_text(data)` to `path`, whole or not at all (a temp file beside it, then renamed)."""
    text = isaaclab_yaml_text(data)  # before any file exists: a value YAML cannot represent leaves nothing
    return write_text(path, text)
