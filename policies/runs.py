"""Run folders: `runs/<task>/<YYYYmmdd-HHMMSS>[-name]/` with config.yaml, checkpoints/, metrics.jsonl.

Everything here is written atomically (temp file in the same folder, fsync, os.replace), so a run killed at
any instant (SIGKILL included) leaves only whole files behind and can be resumed from its folder alone.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import yaml

from robolearn.atomic import atomic_file, write_text
from robolearn.policies.run_upgrades import upgrade_env_config as upgrade_env_config

CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_RE = re.compile(r"^model_(\d+)\.pt$")
PACKED_KEYS = ("actor_state_dict", "iteration", "env_steps", "wall_time", "task", "algo")
"""What a packed run's checkpoint keeps (`pack_run`)."""


class RunError(Exception):
    """A run folder or checkpoint that cannot be used; the message says which file and why."""


# -- atomic files --------------------------------------------------------------------------------


def atomic_write_text(path: Path, text: str) -> None:
    write_text(path, text)


def atomic_torch_save(obj: Any, path: Path) -> None:
    with atomic_file(path) as f:
        torch.save(obj, f)


def write_yaml(path: Path, data: Any) -> None:
    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False, default_flow_style=None))


def read_config(run: Path) -> dict[str, Any]:
    path = run / CONFIG_FILE
    if not path.is_file():
        raise RunError(f"{run} is not a run folder: {path} is missing")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        raise RunError(f"{path}: not valid YAML: {exc}") from None
    for key in ("task", "env", "agent"):
        if not isinstance(data, dict) or key not in data:
            raise RunError(f"{path}: missing the '{key}' entry")
    for key, types in (("task", (str,)), ("env", (dict,)), ("agent", (dict,)), ("algo", (str,)),
                       ("seed", (int,)), ("device", (str,))):  # fmt: skip
        if key in data and (not isinstance(data[key], types) or isinstance(data[key], bool)):
            raise RunError(f"{path}: '{key}' must be a {types[0].__name__}, got {data[key]!r}")
    try:
        data["env"] = upgrade_env_config(data["env"])
    except RunError as exc:
        raise RunError(f"{path}: env.{exc}") from None
    return data


def new_run_dir(logdir: Path, task: str, name: str | None = None) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(logdir) / task / (f"{stamp}-{name}" if name else stamp)
    run, i = base, 1
    while run.exists():  # two runs started in the same second
        i += 1
        run = base.with_name(f"{base.name}_{i}")
    # No empty subfolders: checkpoints/ and videos/ are made by the first file written into them.
    run.mkdir(parents=True)
    return run


def checkpoint_path(run: Path, iteration: int) -> Path:
    return run / CHECKPOINT_DIR / f"model_{iteration:06d}.pt"


def list_checkpoints(run: Path) -> list[Path]:
    """Checkpoints oldest first (temp files from an interrupted write are not checkpoints)."""
    folder = run / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := CHECKPOINT_RE.match(p.name))]
    return [p for _, p in sorted(found)]


def checkpoint_iteration(path: Path) -> int:
    match = CHECKPOINT_RE.match(Path(path).name)
    if match is None:
        raise RunError(f"{path} is not a checkpoint file (model_<iteration>.pt)")
    return int(match.group(1))


def best_checkpoint(run: Path, ckpts: list[Path] | None = None) -> Path | None:
    """The checkpoint with the highest mean_return: the training return averaged over the last completed
    episodes (train.RETURN_WINDOW), as logged for the iteration that wrote it; the newest wins a tie."""
    ckpts = list_checkpoints(run) if ckpts is None else ckpts
    scores = {r["iteration"] + 1: r["mean_return"] for r in read_metrics(run)
              if isinstance(r.get("mean_return"), (int, float)) and isinstance(r.get("iteration"), int)}  # fmt: skip
    scored = [(scores[k], k, p) for p in ckpts if (k := checkpoint_iteration(p)) in scores]
    return max(scored)[2] if scored else None


def prune_checkpoints(run: Path, keep_last: int) -> list[Path]:
    """Delete all but the newest `keep_last` checkpoints and the best one (`best_checkpoint`); 0 keeps all.
    Returns the deleted files."""
    ckpts = list_checkpoints(run)
    if keep_last <= 0 or len(ckpts) <= keep_last:
        return []
    keep = set(ckpts[-keep_last:])
    best = best_checkpoint(run, ckpts)
    if best is not None:
        keep.add(best)
    gone = [p for p in ckpts if p not in keep]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone


def clean_temp_files(run: Path) -> None:
    for folder in (run, run / CHECKPOINT_DIR):
        if folder.is_dir():
            for p in folder.glob(".*.tmp*"):
                p.unlink(missing_ok=True)


def pick_checkpoint(run: Path, checkpoint: Path | None = None) -> Path:
    """`checkpoint` (default: the run's latest), checked to exist but not loaded."""
    if checkpoint is None:
        ckpts = list_checkpoints(run)
        if not ckpts:
            raise RunError(f"{run} has no checkpoints (looked for {run / CHECKPOINT_DIR}/model_*.pt)")
        checkpoint = ckpts[-1]
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise RunError(f"checkpoint {checkpoint} does not exist")
    return checkpoint


def load_checkpoint(
    run: Path, checkpoint: Path | None = None, pick: str | None = "--checkpoint {}"
) -> tuple[Path, dict[str, Any]]:
    """Load `checkpoint` (default: the run's latest). A corrupt file is named with the previous good one and
    `pick`, the caller's flag that picks a checkpoint ({} is the file): train's "--resume {}",
    play/eval/export's "--checkpoint {}"; None where no flag picks one."""
    checkpoint = pick_checkpoint(run, checkpoint)
    try:
        data = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if not isinstance(data, dict) or not ({"actor_state_dict", "student_state_dict"} & data.keys()):
            raise ValueError("not a robolearn checkpoint (no actor_state_dict or student_state_dict)")
        weights = data.get("student_state_dict") or data.get("actor_state_dict")
        if not isinstance(weights, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items()
        ):
            raise ValueError("its network weights are not a state dict (names to tensors)")
    except Exception as exc:
        msg = f"checkpoint {checkpoint} is corrupt or unreadable ({type(exc).__name__}: {exc})"
        older = [p for p in list_checkpoints(checkpoint.parent.parent) if p.name < checkpoint.name]
        good = next((p for p in reversed(older) if _loads(p)), None)
        if good is not None:
            use = f"pass it with {pick.format(good)}" if pick else "move the corrupt file aside to use it"
            msg += f"; the previous good checkpoint is {good} ({use})"
        else:
            msg += "; no earlier good checkpoint in this run"
        raise RunError(msg) from None
    return checkpoint, data


def _loads(path: Path) -> bool:
    try:
        torch.load(path, map_location="cpu", weights_only=False)
        return True
    except Exception:
        return False


def resolve_run(path: Path) -> tuple[Path, Path | None]:
    """A run folder or a checkpoint file inside one -> (run folder, checkpoint or None)."""
    path = Path(path)
    if path.is_file() and path.parent.name == CHECKPOINT_DIR:
        return path.parent.parent, path
    if not path.is_dir():
        raise RunError(f"{path} is neither a run folder nor a checkpoint file")
    read_config(path)
    return path, None


def check_trainable(checkpoint: Path, state: dict[str, Any]) -> None:
    """A packed checkpoint has no critic or optimizer state: it plays, evaluates and blends, but does not train on."""
    if "packed_from" in state:
        raise RunError(
            f"{checkpoint} is a packed run (actor weights only, packed from {state['packed_from']}): it plays, "
            "evaluates and blends, but cannot be resumed or fine-tuned; use the run it was packed from"
        )


def pack_run(run: Path, out: Path, checkpoint: Path | None = None) -> Path:
    """A small copy of a run that `play`, `eval` and `--skills` load like the run itself: its config, one
    checkpoint holding only the actor's weights (no critic or optimizer state: ~1/6 of the size), and the
    checkpoint's metrics row (its last rewards). Built beside `out`, then renamed into place,
    so `out` is never half-written; an existing `out` is replaced."""
    run, in_path = resolve_run(run)
    ckpt, state = load_checkpoint(run, checkpoint or in_path)
    if "actor_state_dict" not in state:
        raise RunError(
            f"{ckpt}: no actor_state_dict to pack (a distillation student is exported, not packed)"
        )
    kept = {k: state[k] for k in PACKED_KEYS if k in state}
    rows = [r for r in read_metrics(run) if r.get("iteration", 0) <= kept.get("iteration", math.inf)][-1:]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        atomic_write_text(tmp / CONFIG_FILE, (run / CONFIG_FILE).read_text())
        atomic_torch_save(
            {**kept, "packed_from": f"{run.name}/{CHECKPOINT_DIR}/{ckpt.name}"},
            tmp / CHECKPOINT_DIR / ckpt.name,
        )
        atomic_write_text(tmp / METRICS_FILE, "".join(json.dumps(r) + "\n" for r in rows))
        os.chmod(tmp, 0o755)
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


# -- metrics ---------------------------------------------------------------------------------------


def read_metrics(run: Path) -> list[dict[str, Any]]:
    """metrics.jsonl rows; a line cut short by a kill is skipped."""
    path = Path(run) / METRICS_FILE
    rows = []
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


class MetricsLog:
    """Appends one JSON object per iteration; on resume keeps only rows up to the checkpoint."""

    def __init__(self, run: Path, keep_until: int | None = None):
        self.path = Path(run) / METRICS_FILE
        if keep_until is not None:
            rows = [r for r in read_metrics(run) if r.get("iteration", 0) < keep_until]
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in rows))
        self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())

    def write(self, row: dict[str, Any]) -> None:
        # NaN (e.g. no episode finished yet) is not JSON; write null instead.
        row = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        self._f.write(json.dumps(row) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def iter_runs(paths: list[Path]) -> Iterator[Path]:
    """Run folders named directly or found below the given folders (e.g. runs/Go2-Velocity-Flat)."""
    for p in paths:
        p = Path(p)
        if (p / CONFIG_FILE).is_file():
            yield p
        elif p.is_dir():
            yield from sorted(c.parent for c in p.rglob(CONFIG_FILE))
        else:
            raise RunError(f"{p} is not a run folder")
