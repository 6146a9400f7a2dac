"""Offscreen GL is chosen when rendering starts: importing robolearn works on a machine without OSMesa,
and a command that renders without any GL says what to install instead of dying with a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM")}
    env.update(extra)
    return env


def test_import_sets_no_gl_backend_and_lists_tasks():
    # Importing the package (and mujoco, and every task) must not pick a GL backend: on a headless machine
    # without OSMesa, MUJOCO_GL=osmesa makes `import mujoco` die.
    code = "import os, robolearn.registry as r, mujoco; r.load_tasks(); print(os.environ.get('MUJOCO_GL'))"
    out = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "None"


def test_rendering_without_gl_is_one_line_saying_what_to_do(tmp_path: Path):
    video = tmp_path / "play.mp4"
    argv = ["play", "Go2-Stand", "--random", "--video", str(video), "--steps", "2", "--num-envs", "1"]
    out = subprocess.run([sys.executable, "-m", "robolearn.cli", *argv], env=_env(MUJOCO_GL="disable"),
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "rendering is off (MUJOCO_GL=disable)" in lines[0], out.stderr
    assert not video.exists() and not list(tmp_path.iterdir()), "nothing half-written"


def test_the_probe_installs_a_backend_that_renders(gl_backend: str):
    import mujoco

    model = mujoco.MjModel.from_xml_string("<mujoco><worldbody><light pos='0 0 2'/><geom size='.2'/></worldbody></mujoco>")
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    with mujoco.Renderer(model, 32, 32) as renderer:
        renderer.update_scene(data)
        frame = renderer.render()
    assert gl_backend in ("glfw", "egl", "osmesa")
    assert frame.shape == (32, 32, 3) and frame.max() > 0, "a lit sphere renders non-black pixels"
