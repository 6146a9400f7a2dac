"""Command-line overrides of configs: short flags as aliases of one config field, and removal of dict entries.

A value has one owner. `--num-envs` is another name of `--env.num-envs` (tyro parses both into the one
field), never a second field copied over the first, so whatever the user types is what the run records.

    --num-envs N        = --env.num-envs N          (the env owns the number of worlds)
    --seed S            = --env.seed S              (it also seeds the learner)
    --backend B         = --env.sim.backend B
    --max-iterations I  = --agent.max-iterations I
    --data, --steps, ... = --agent.data, --agent.steps, ...   (imitation learners)

`--remove env.rewards.stand-still env.events.push` deletes entries of the config's dicts (reward,
observation, event, termination, curriculum terms, ...): a term cannot be unset by a value flag.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Annotated, Any

import tyro
from tyro.constructors import ConstructorRegistry, StructConstructorSpec, StructTypeInfo

ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "EnvCfg": {"num_envs": ("--num-envs",), "seed": ("--seed",)},
    "SimCfg": {"backend": ("--backend",)},
    "PpoCfg": {"max_iterations": ("--max-iterations",)},
    "Sb3Cfg": {"max_iterations": ("--max-iterations",)},
    "ImitationCfg": {
        "data": ("--data",), "steps": ("--steps",), "num_demos": ("--num-demos",), "seed": ("--seed",),
        "batch_size": ("--batch-size",), "torch_threads": ("--torch-threads",), "cameras": ("--cameras",),
    },
}  # fmt: skip
"""Short flags, by the config class (or a base class: PpoCfg covers H-infinity, distillation and the blender)
whose field they name."""

HIDDEN: dict[str, tuple[str, ...]] = {
    # The env owns the number of worlds: a learner preset's `num_envs` is folded into the env's default
    # (policies.setup.fold_num_envs), so a second flag for it would be a second owner.
    "PpoCfg": ("num_envs",),
    "Sb3Cfg": ("num_envs",),
    # The verb's positional task and its --algo say these.
    "ImitationCfg": ("task", "algo"),
}


def _rule(info: StructTypeInfo) -> StructConstructorSpec | None:
    from tyro.constructors._struct_spec_dataclass import dataclass_rule

    cls = info.type
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        return None
    keys = [base.__name__ for base in cls.__mro__]
    aliases = {name: flags for key in keys for name, flags in ALIASES.get(key, {}).items()}
    hidden = {name for key in keys for name in HIDDEN.get(key, ())}
    if not aliases and not hidden:
        return None
    spec = dataclass_rule(info)
    if spec is None:
        return None
    fields = []
    for f in spec.fields:
        # Annotated[...] built at run time: the markers tyro reads from a field's type.
        if f.name in hidden:
            f = dataclasses.replace(f, type=Annotated[f.type, tyro.conf.Suppress])  # type: ignore[arg-type]
        elif f.name in aliases:
            marker = tyro.conf.arg(aliases=aliases[f.name])
            f = dataclasses.replace(f, type=Annotated[f.type, marker])  # type: ignore[arg-type]
        fields.append(f)
    return dataclasses.replace(spec, fields=tuple(fields))


def alias_registry() -> ConstructorRegistry:
    """A tyro registry that names the short flags of ALIASES and hides HIDDEN fields."""
    registry = ConstructorRegistry()
    registry.struct_rule(_rule)
    return registry


def _same(key: str, name: str) -> bool:
    # Flags spell dict keys with dashes (tyro's convention); the configs use underscores.
    return key.replace("_", "-") == name.replace("_", "-")


def remove_entries(roots: dict[str, Any], paths: Iterable[str], flag: str = "--remove") -> None:
    """Delete dict entries named by dotted paths (`env.rewards.stand-still`) from the configs in `roots`
    ({"env": env_cfg, "agent": agent_cfg}), in place. A path that names no dict entry is an error that
    lists what could be removed there."""
    for path in paths:
        head, *rest = path.split(".")
        if head not in roots or roots[head] is None or not rest:
            raise ValueError(f"{flag} {path}: expected <{'|'.join(sorted(roots))}>.<field>...<entry>, "
                             f"e.g. env.rewards.stand-still")  # fmt: skip
        node: Any = roots[head]
        for i, name in enumerate(rest):
            where = ".".join([head, *rest[:i]])
            last = i == len(rest) - 1
            if isinstance(node, dict):
                key = next((k for k in node if _same(str(k), name)), None)
                if key is None:
                    raise ValueError(f"{flag} {path}: {where} has no entry {name!r}; its entries: "
                                     f"{', '.join(str(k).replace('_', '-') for k in node)}")  # fmt: skip
                if last:
                    del node[key]
                else:
                    node = node[key]
            elif dataclasses.is_dataclass(node) and not last:
                field = next((f.name for f in dataclasses.fields(node) if _same(f.name, name)), None)
                if field is None:
                    raise ValueError(f"{flag} {path}: {where} has no field {name!r}")
                node = getattr(node, field)
            else:
                raise ValueError(f"{flag} {path}: {where}.{name} is not an entry of a dict; only dict entries "
                                 "(terms) can be removed; set a field with its own flag")  # fmt: skip


class UnknownFlagError(ValueError):
    """A flag the verb does not have; the message names it and, where one is close, the flag meant."""


def flag_names(config: Any, prefix: str = "--") -> list[str]:
    """The flags of a config (a dataclass, or one's class), spelled as tyro spells them: `--env.rewards.
    stand-still.weight` for every field, dict terms by key, and the short aliases of ALIASES. Only for
    suggestions after a typo: the parser itself is tyro's."""
    out: list[str] = []
    cls = config if isinstance(config, type) else type(config)
    keys = [base.__name__ for base in cls.__mro__]
    hidden = {name for key in keys for name in HIDDEN.get(key, ())}
    for key in keys:
        for flags in ALIASES.get(key, {}).values():
            out += flags
    for f in dataclasses.fields(config):
        if f.name in hidden:
            continue
        name = prefix + f.name.replace("_", "-")
        value = None if isinstance(config, type) else getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            out += flag_names(value, name + ".")
        elif isinstance(value, dict) and value and all(dataclasses.is_dataclass(v) for v in value.values()):
            for key, term in value.items():
                out += flag_names(term, f"{name}.{str(key).replace('_', '-')}.")
        else:
            out.append(name)
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def unknown_flags_message(verb: str, unknown: list[str], known: list[str], hints: dict[str, str]) -> str:
    """`<verb>: unknown flag --x (did you mean --y?)`, with the verb's own hint for a flag that
    users bring from another verb (train has no --checkpoint: --resume takes the checkpoint file)."""
    import difflib

    flags = [a.split("=", 1)[0] for a in unknown if a.startswith("-") and not _is_number(a)]
    if not flags:
        return f"{verb}: unexpected argument(s) {' '.join(unknown)}"
    said = []
    for flag in dict.fromkeys(flags):
        close = difflib.get_close_matches(flag, known, n=1, cutoff=0.75)
        if flag in hints:
            said.append(f"{flag} ({hints[flag]})")
        elif close:
            said.append(f"{flag} (did you mean {close[0]}?)")
        else:
            said.append(flag)
    plural = "s" if len(said) > 1 else ""
    return (f"{verb}: unknown flag{plural} {', '.join(said)}; "
            f"`robolearn {verb} --help` lists its flags")  # fmt: skip
