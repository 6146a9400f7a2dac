"""Shared test setup: robot models and human data come from the repo's sibling shared/ folder."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

os.environ.setdefault("MENAGERIE_ROOT", str(SHARED / "menagerie"))
os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("ROBOLEARN_DATA", str(SHARED / "data"))

import torch  # noqa: E402

torch.set_num_threads(1)
