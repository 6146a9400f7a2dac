"""MuJoCo's offscreen GL, chosen when rendering starts rather than at import.

`import robolearn` must work on every machine, a headless one without OSMesa included: setting
`MUJOCO_GL=osmesa` before mujoco is imported (as robolearn once did) makes `import mujoco` die with an
OpenGL traceback there. So nothing is set at import; the first renderer asks `ensure_gl()`, which
probes, in a child process (a failed GL initialisation can leave the process unable to try another),
a display (glfw), OSMesa and EGL, in that order, and installs the first that creates a context. Without
any, `RenderUnavailable` says what to install and everything but video goes on working.

`MUJOCO_GL` set by the user wins: `glfw`, `egl` or `osmesa` is used as is, and `MUJOCO_GL=disable`
turns rendering off (commands then skip their videos with the one-line notice).
"""

from __future__ import annotations

import os
import subprocess
import sys

INSTALL_HINT = (
    "no OpenGL for offscreen rendering (videos): install OSMesa (`apt-get install libosmesa6`) or "
    "EGL (`apt-get install libegl1`, Mesa's works without a GPU), or run with a display"
)
DISABLED = ("disable", "disabled", "off", "false", "0")

_chosen: str | None = None
_failure: str | None = None


class RenderUnavailable(RuntimeError):
    """No GL backend can create an offscreen context on this machine; the message says what to install."""


_PROBE = """
import os, sys
backend = sys.argv[1]
os.environ["MUJOCO_GL"] = backend
if backend != "glfw":
    os.environ["PYOPENGL_PLATFORM"] = backend
import mujoco
model = mujoco.MjModel.from_xml_string("<mujoco><worldbody><geom size='1'/></worldbody></mujoco>")
with mujoco.Renderer(model, 8, 8) as renderer:
    renderer.update_scene(mujoco.MjData(model))
    renderer.render()
"""


def _works(backend: str) -> bool:
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM")}
    try:
        out = subprocess.run([sys.executable, "-c", _PROBE, backend], env=env, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0


def _candidates() -> list[str]:
    found = []
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        found.append("glfw")
    found += ["osmesa", "egl"]
    return found


def _install(backend: str) -> None:
    """Make mujoco.Renderer create `backend` contexts in this process (mujoco chose one at its import)."""
    from mujoco.rendering.classic import gl_context

    if backend == "glfw":
        from mujoco.glfw import GLContext
    else:
        os.environ.setdefault("PYOPENGL_PLATFORM", backend)
        if backend == "osmesa":
            from mujoco.osmesa import GLContext  # type: ignore[no-redef]
        else:
            from mujoco.egl import GLContext  # type: ignore[no-redef]
    gl_context.GLContext = GLContext
    os.environ["MUJOCO_GL"] = backend  # child processes (video writers, probes) agree


def ensure_gl() -> str:
    """The GL backend renderers use, chosen and installed on first call; raises RenderUnavailable."""
    global _chosen, _failure
    if _chosen is not None:
        return _chosen
    if _failure is not None:
        raise RenderUnavailable(_failure)
    user = os.environ.get("MUJOCO_GL", "").strip().lower()
    if user in DISABLED:
        _failure = f"rendering is off (MUJOCO_GL={user})"
        raise RenderUnavailable(_failure)
    if user:
        _chosen = user  # mujoco read it at import; the user's choice is not second-guessed
        return _chosen
    for backend in _candidates():
        if _works(backend):
            _install(backend)
            _chosen = backend
            return backend
    _failure = INSTALL_HINT
    raise RenderUnavailable(_failure)


def render_skipped(what: str, exc: RenderUnavailable) -> None:
    """The one line a command prints when it skips a video."""
    print(f"skipped {what}: {exc}", file=sys.stderr)
