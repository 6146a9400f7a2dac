"""The stage runner of `robolearn imitate`: each stage's inputs hashed into the run folder's manifest.json.

A stage is skipped when the manifest holds an entry for it whose input hash equals the one computed now and
whose outputs still exist with the hashes recorded when it finished; otherwise it runs and its entry is
rewritten. Inputs are plain values and files (hashed by content), among them the outputs of the stages before
it, so a change anywhere upstream reruns everything below it and nothing above. The manifest is written
through a temp file after every stage: a kill between stages leaves every finished stage recorded and the
interrupted one absent, which is what a rerun (or `--resume`) picks up from.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from robolearn.policies.runs import RunError, atomic_write_text

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_sha256(path: Path) -> str:
    """A file's content hash, or a folder's over its files' relative names and contents (sorted)."""
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    if not path.is_dir():
        raise RunError(f"{path}: no such file or folder")
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(file_sha256(f).encode())
    return h.hexdigest()


def inputs_sha256(inputs: dict[str, Any]) -> str:
    """One hash of a stage's inputs: values as JSON, Paths replaced by their content hashes."""

    def plain(x: Any) -> Any:
        if isinstance(x, Path):
            return {"sha256": tree_sha256(x)}
        if isinstance(x, dict):
            return {str(k): plain(v) for k, v in sorted(x.items())}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        return x

    return hashlib.sha256(json.dumps(plain(inputs), sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class StageResult:
    outputs: list[str]
    """Files or folders the stage wrote, relative to the run folder (hashed into the manifest)."""
    info: dict[str, Any] = field(default_factory=dict)
    """Plain values later stages read (e.g. the training run's folder)."""
    done: bool = True
    """False: the stage could not do its job here (no renderer for a video): not recorded, so a later run
    on a machine that can tries again."""


@dataclass
class StageRecord:
    name: str
    ran: bool
    seconds: float
    result: StageResult


class Manifest:
    """manifest.json of one run folder: per stage its input hash, output hashes, info, time and duration."""

    def __init__(self, run: Path):
        self.run = Path(run)
        self.path = self.run / MANIFEST
        self.stages: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise RunError(
                    f"{self.path}: not valid JSON ({exc}); delete it to rerun every stage"
                ) from None
            if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
                raise RunError(f"{self.path}: field 'version' is {data.get('version') if isinstance(data, dict) else data!r},"
                               f" expected {MANIFEST_VERSION}; delete it to rerun every stage")  # fmt: skip
            self.stages = data.get("stages", {})

    def fresh(self, name: str, inputs_hash: str) -> StageResult | None:
        """The recorded result when stage `name` finished with these inputs and its outputs are unchanged."""
        entry = self.stages.get(name)
        if entry is None or entry.get("inputs_sha256") != inputs_hash:
            return None
        for rel, digest in entry.get("outputs", {}).items():
            path = self.run / rel
            if not path.exists() or tree_sha256(path) != digest:
                return None
        return StageResult(list(entry.get("outputs", {})), entry.get("info", {}))

    def record(self, name: str, inputs_hash: str, result: StageResult, seconds: float) -> None:
        self.stages[name] = {
            "inputs_sha256": inputs_hash,
            "outputs": {rel: tree_sha256(self.run / rel) for rel in result.outputs},
            "info": result.info,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": round(seconds, 3),
        }
        self.save()

    def forget(self, name: str) -> None:
        if self.stages.pop(name, None) is not None:
            self.save()

    def save(self) -> None:
        self.run.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            self.path, json.dumps({"version": MANIFEST_VERSION, "stages": self.stages}, indent=2)
        )


class StageRunner:
    """Runs stages in order into one run folder, skipping those the manifest shows done with the same inputs."""

    def __init__(self, run: Path, announce: Callable[[int, int, str, bool], None] | None = None,
                 total: int = 0):  # fmt: skip
        self.run = Path(run)
        self.manifest = Manifest(self.run)
        self.records: list[StageRecord] = []
        self.announce = announce
        self.total = total

    def stage(self, name: str, inputs: dict[str, Any], fn: Callable[[], StageResult]) -> StageResult:
        digest = inputs_sha256(inputs)
        done = self.manifest.fresh(name, digest)
        if self.announce is not None:
            self.announce(len(self.records) + 1, self.total, name, done is not None)
        if done is not None:
            self.records.append(StageRecord(name, False, 0.0, done))
            return done
        # The stale entry goes first: a kill inside `fn` must not leave it looking finished.
        self.manifest.forget(name)
        t0 = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - t0
        if result.done:
            self.manifest.record(name, digest, result, seconds)
        self.records.append(StageRecord(name, True, seconds, result))
        return result
