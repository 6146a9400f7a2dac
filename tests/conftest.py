"""Shared test setup: robot models and human data come from the repo's sibling shared/ folder."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

os.environ.setdefault("MENAGERIE_ROOT", str(SHARED / "menagerie"))
os.environ.setdefault("ROBOLEARN_DATA", str(SHARED / "data"))

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def gl_backend() -> str:
    """The offscreen GL backend (robolearn.gl); a test that renders is skipped, with what to install,
    on a machine that has none. CI installs OSMesa, so there these tests always run."""
    from robolearn.gl import RenderUnavailable, ensure_gl

    try:
        return ensure_gl()
    except RenderUnavailable as exc:
        pytest.skip(str(exc))
