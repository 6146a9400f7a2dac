"""Ray is an optional extra: without it, every command that would use it says how to install it in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Runs robolearn's CLI in a fresh interpreter where importing ray fails, as it does where the extra is
# not installed (this test's own environment may have it).
BLOCK_RAY = """
import sys
class NoRay:
    def find_spec(self, name, path=None, target=None):
        if name == "ray" or name.startswith("ray."):
            raise ModuleNotFoundError("No module named 'ray'", name="ray")
sys.meta_path.insert(0, NoRay())
from robolearn.cli import main
raise SystemExit(main(sys.argv[1:]))
"""

CMU = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mocap" / "cmu"


@pytest.mark.parametrize("argv", [
    ["sweep", "Go2-Stand", "--seeds", "0", "1", "--logdir", "{tmp}"],
    ["retarget", "--batch", str(CMU), "--ray", "local", "--out", "{tmp}", "--stop", "5"],
    ["eval", "{tmp}", "--ray", "local"],
    ["demos", "Aloha-Reach", "--out", "{tmp}/ds", "--n", "1", "--ray", "local"],
])  # fmt: skip
def test_without_ray_a_command_asking_for_it_prints_one_line_hint(argv, tmp_path: Path):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    proc = subprocess.run([sys.executable, "-c", BLOCK_RAY, *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Ray is not installed" in lines[0] and "pip install 'robolearn[ray]'" in lines[0]
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.iterdir())  # nothing written
