"""robolearn: robot learning on batched MuJoCo."""

import os as _os

__version__ = "0.1.0"


def _pick_gl_backend() -> None:
    """Choose MuJoCo's offscreen GL before mujoco is imported; MUJOCO_GL set by the user wins."""
    if "MUJOCO_GL" in _os.environ:
        return
    if _os.environ.get("DISPLAY") or _os.environ.get("WAYLAND_DISPLAY"):
        return  # glfw, mujoco's default
    _os.environ["MUJOCO_GL"] = "egl" if _os.path.exists("/dev/nvidia0") else "osmesa"
    _os.environ.setdefault("PYOPENGL_PLATFORM", _os.environ["MUJOCO_GL"])


_pick_gl_backend()
