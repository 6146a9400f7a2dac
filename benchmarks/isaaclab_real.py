"""Check robolearn's Isaac Lab surface against the real `isaaclab` package, in Isaac Lab's own Python 3.12 venv.

    <isaaclab venv>/bin/python benchmarks/isaaclab_real.py manifest.json [--out report.json]

The manifest is written on robolearn's side (tests/test_isaaclab_real.py builds it): the signatures of
robolearn.adapters.isaaclab_cfg.mdp's functions, the names of Isaac Lab's term functions robolearn records,
and an Isaac Lab-shaped `params/env.yaml` with the Isaac Lab class it describes. This script imports only
Isaac Lab (robolearn needs Python 3.11) and checks:

(a) the env.yaml loads onto Isaac Lab's own config class (`cfg.from_dict`: a field name Isaac Lab does not
    have is a KeyError) and the loaded config has the file's term functions, weights and timing;
(c) a run folder `robolearn export <run> --isaaclab` wrote loads onto Isaac Lab's own config class (load-only:
    our task's terms are not Isaac Lab's, so weights are not compared): every field the file names exists on
    the class, and every "func" / "class_type" path resolves to a callable of the installed isaaclab;
(b) every covered function exists in `isaaclab.envs.mdp` (or the velocity task's mdp) with the same
    parameter names in the same order and the same ones optional; Isaac Lab 3.0's `ManagerTermBase` terms
    (classes) are compared through `__call__`.
It prints one JSON report; the exit status is 1 when any check fails.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
import time
from pathlib import Path
from typing import Any

MDP_MODULES = ("isaaclab.envs.mdp", "isaaclab_tasks.core.velocity.mdp")


def _resolve(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _params(obj: Any) -> list[list[Any]]:
    fn = obj.__call__ if inspect.isclass(obj) else obj
    params = list(inspect.signature(fn).parameters.values())
    if inspect.isclass(obj):
        params = params[1:]  # self
    return [[p.name, p.default is not inspect.Parameter.empty] for p in params]


def check_signatures(ours: dict[str, list[list[Any]]]) -> dict[str, Any]:
    modules = [importlib.import_module(m) for m in MDP_MODULES]
    mismatched, missing = {}, []
    for name, params in ours.items():
        theirs = next((getattr(m, name) for m in reversed(modules) if hasattr(m, name)), None)
        if theirs is None:
            missing.append(name)
            continue
        if _params(theirs) != params:
            mismatched[name] = {"robolearn": params, "isaaclab": _params(theirs)}
    return {"checked": len(ours), "missing_in_isaaclab": missing, "mismatched": mismatched,
            "ok": not missing and not mismatched}  # fmt: skip


def check_names(recorded: list[str]) -> dict[str, Any]:
    installed = set()
    for m in MDP_MODULES:
        module = importlib.import_module(m)
        installed |= {
            n
            for n in getattr(module, "__all__", dir(module))
            if n[:1].islower() and callable(getattr(module, n))
        }
    velocity_only = set(dir(importlib.import_module(MDP_MODULES[1]))) - set(
        dir(importlib.import_module(MDP_MODULES[0]))
    )
    installed = {n for n in installed if not n.startswith("_")}
    return {"recorded_not_installed": sorted(set(recorded) - installed),
            "installed_not_recorded": sorted((installed - set(recorded)) - {"MISSING"}),
            "velocity_mdp_only": sorted(n for n in velocity_only if n[:1].islower() and not n.startswith("_")),
            "ok": not (set(recorded) - installed)}  # fmt: skip


def check_env_yaml(path: str, cls_path: str) -> dict[str, Any]:
    from isaaclab.utils.io import load_yaml

    data = load_yaml(path)
    cfg = _resolve(cls_path)()
    # Before loading: does the file describe Isaac Lab's own task (same terms, functions and weights)?
    fresh = _summary(cfg)
    try:
        cfg.from_dict(data)
    except (KeyError, ValueError, TypeError) as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    problems = []
    if cfg.decimation != data["decimation"] or abs(cfg.sim.dt - data["sim"]["dt"]) > 1e-12:
        problems.append("timing")
    for group in ("rewards", "terminations", "events"):
        for name, term in data.get(group, {}).items():
            loaded = getattr(getattr(cfg, group), name, None)
            if loaded is None:
                problems.append(f"{group}.{name}: absent after loading")
                continue
            # Isaac Lab keeps a loaded function name as a lazily resolved string (ResolvableString).
            func = _resolve(str(loaded.func)) if isinstance(loaded.func, str) else loaded.func
            if func is not _resolve(term["func"]):
                problems.append(f"{group}.{name}.func: {loaded.func!r} is not {term['func']}")
            if group == "rewards" and loaded.weight != term["weight"]:
                problems.append(f"rewards.{name}.weight: {loaded.weight} != {term['weight']}")
    for gname, group in data.get("observations", {}).items():
        ours = [k for k, v in group.items() if isinstance(v, dict) and "func" in v]
        theirs = [k for k, v in vars(getattr(cfg.observations, gname)).items()
                  if v is not None and hasattr(v, "func")]  # fmt: skip
        if ours != theirs:
            problems.append(f"observations.{gname}: terms {ours} loaded as {theirs}")
    differs = sorted(set(fresh.items()) ^ set(_summary(cfg).items()))
    return {"ok": not problems and not differs, "problems": problems, "differs_from_class_defaults": differs,
            "class": cls_path}  # fmt: skip


def _unknown_fields(obj: Any, data: Any, ns: str = "") -> list[str]:
    """Keys of `data` that `obj` lacks, all of them (Isaac Lab's update_class_from_dict stops at the first)."""
    out = []
    for key, value in data.items():
        has = key in obj if isinstance(obj, dict) else hasattr(obj, key)
        if not has:
            out.append(f"{ns}{key}")
            continue
        member = obj[key] if isinstance(obj, dict) else getattr(obj, key)
        if isinstance(value, dict) and member is not None and not isinstance(member, str):
            out += _unknown_fields(member, value, f"{ns}{key}.")
    return out


def _function_paths(data: Any, ns: str = "") -> dict[str, str]:
    """Every "func" / "class_type" string of the file, by its dotted field name."""
    out: dict[str, str] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("func", "class_type") and isinstance(value, str) and ":" in value:
                out[f"{ns}{key}"] = value
            else:
                out |= _function_paths(value, f"{ns}{key}.")
    elif isinstance(data, (list, tuple)):
        for i, value in enumerate(data):
            out |= _function_paths(value, f"{ns}{i}.")
    return out


def check_run_folder(folder: str, cls_path: str) -> dict[str, Any]:
    from isaaclab.utils.io import load_yaml

    data = load_yaml(str(Path(folder) / "params" / "env.yaml"))
    unknown = _unknown_fields(_resolve(cls_path)(), data)
    unresolved, not_isaaclab = {}, {}
    for field, path in _function_paths(data).items():
        try:
            fn = _resolve(path)
        except (ImportError, AttributeError) as exc:
            unresolved[field] = f"{path} ({type(exc).__name__}: {exc})"
            continue
        if not callable(fn):
            unresolved[field] = f"{path} (not callable)"
        elif not path.startswith("isaaclab"):
            not_isaaclab[field] = path
    cfg = _resolve(cls_path)()
    try:
        cfg.from_dict(data)
        load_error = None
    except (KeyError, ValueError, TypeError) as exc:
        load_error = f"{type(exc).__name__}: {exc}"
    return {"ok": not unknown and not unresolved and not not_isaaclab and load_error is None, "class": cls_path,
            "functions": len(_function_paths(data)), "unknown_fields": unknown, "unresolved": unresolved,
            "not_isaaclab": not_isaaclab, "load_error": load_error}  # fmt: skip


def _fname(func: Any) -> str:
    """A term function's name, whether a function, a term class or a 'module:name' string."""
    return str(func).split(":")[-1] if isinstance(func, str) else getattr(func, "__name__", str(func))


def _summary(cfg: Any) -> dict[str, str]:
    """Term name -> (function, weight) of every term group, plus the timing: what a task's MDP is."""
    out = {"timing": f"{cfg.decimation} x {cfg.sim.dt}, {cfg.episode_length_s} s"}
    for group in ("observations", "rewards", "terminations", "events", "curriculum", "actions"):
        holder = getattr(cfg, group, None)
        for name, term in vars(holder).items() if holder is not None else ():
            if group == "observations" and term is not None:
                out.update({f"observations.{name}.{k}": _fname(v.func)
                            for k, v in vars(term).items() if v is not None and hasattr(v, "func")})  # fmt: skip
            elif term is not None and hasattr(term, "func"):
                out[f"{group}.{name}"] = f"{_fname(term.func)} {getattr(term, 'weight', '')}".strip()
            elif term is not None and group == "actions":
                out[f"actions.{name}"] = f"scale {getattr(term, 'scale', None)}"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    manifest = json.loads(args.manifest.read_text())
    t0 = time.perf_counter()
    import isaaclab

    report: dict[str, Any] = {"isaaclab": getattr(isaaclab, "__version__", "?"), "python": sys.version.split()[0],
                              "import_s": round(time.perf_counter() - t0, 2)}  # fmt: skip
    report["signatures"] = check_signatures(manifest.get("signatures", {}))
    report["names"] = check_names(manifest.get("recorded_names", []))
    report["env_yaml"] = [check_env_yaml(e["path"], e["class"]) for e in manifest.get("env_yaml", [])]
    report["run_folders"] = [check_run_folder(e["path"], e["class"]) for e in manifest.get("run_folders", [])]
    report["seconds"] = round(time.perf_counter() - t0, 2)
    ok = (
        report["signatures"]["ok"]
        and report["names"]["ok"]
        and all(e["ok"] for e in report["env_yaml"] + report["run_folders"])
    )
    report["ok"] = ok
    text = json.dumps(report, indent=1)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
