"""Shared by the dataset tests: real demo datasets written by `robolearn demos`, a folder snapshot (to show a
refused command left nothing behind) and the CLI run the user does."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from robolearn.cli import main as cli

DEMOS = 2
"""Demos per fixture dataset: two episodes in two flushes (two data files) cover the multi-file paths."""


def write_demos(task: str, out: Path, n: int = DEMOS) -> None:
    assert cli(["demos", task, "--out", str(out), "--n", str(n), "--batch", "1"]) == 0


@pytest.fixture(scope="session")
def reach_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two scripted Aloha-Reach demos, as `robolearn demos Aloha-Reach` writes them (read-only: copy it)."""
    out = tmp_path_factory.mktemp("datasets") / "reach"
    write_demos("Aloha-Reach", out)
    return out


@pytest.fixture(scope="session")
def transfer_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two Aloha-CubeTransfer demos: the same features as Reach's, another task."""
    out = tmp_path_factory.mktemp("datasets") / "transfer"
    write_demos("Aloha-CubeTransfer", out)
    return out


def copy_dataset(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def snapshot(root: Path) -> dict[str, str]:
    """Every file under `root` (hidden temp files included) -> its content's hash."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """(exit code, stderr) of `robolearn <args>`, as the console script returns them."""
    capsys.readouterr()
    rc = cli(args)
    return rc, capsys.readouterr().err
