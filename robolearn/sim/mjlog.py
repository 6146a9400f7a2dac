"""Where MuJoCo's warnings go: not into a MUJOCO_LOG.TXT in the user's working directory.

MuJoCo's default log handler prints a warning (a NaN in the state or the controls, a full contact
buffer) to the console and also appends it to MUJOCO_LOG.TXT in the current directory, so a training
run whose policy sent one NaN left that file wherever the user happened to start it. The handler
itself must stay: mjbatch installs its own at import (it turns MuJoCo errors on worker threads into
RuntimeError) and forwards warnings to the default one; installing another handler would disable
mjbatch's. So only the default handler's configuration changes: console output stays, the file goes,
or is moved into a folder the caller owns (a run folder). The env reports the worlds it reset for
NaN/inf through Python logging (`robolearn.core.env`).

The Python bindings do not expose mju_getLogConfig/mju_setLogConfig (MuJoCo >= 3.4's logging API),
so they are called through ctypes on the libmujoco the bindings (and mjbatch) load.
"""

from __future__ import annotations

import ctypes
import logging
from functools import cache
from pathlib import Path

import mujoco

log = logging.getLogger(__name__)

_LOGFILE_BYTES = 1024


class _LogConfig(ctypes.Structure):
    """mjLogConfig (mjtype.h): mjtBool is an unsigned char."""

    _fields_ = [
        ("logto_console", ctypes.c_ubyte),
        ("logto_file", ctypes.c_ubyte),
        ("logfile", ctypes.c_char * _LOGFILE_BYTES),
        ("topics", ctypes.c_int),
    ]


@cache
def _libmujoco() -> ctypes.CDLL | None:
    """The libmujoco the bindings loaded (same file, so the same process-wide log configuration)."""
    folder = Path(mujoco.__file__).parent
    candidates = sorted(folder.glob("libmujoco.so*")) + sorted(folder.glob("libmujoco*.dylib"))
    candidates += sorted(folder.glob("mujoco.dll"))
    for path in candidates:
        try:
            lib = ctypes.CDLL(str(path))
        except OSError:
            continue
        if hasattr(lib, "mju_setLogConfig") and hasattr(lib, "mju_getLogConfig"):
            lib.mju_getLogConfig.restype = _LogConfig
            lib.mju_getLogConfig.argtypes = []
            lib.mju_setLogConfig.restype = None
            lib.mju_setLogConfig.argtypes = [_LogConfig]
            return lib
    return None


def set_mujoco_log_file(path: str | Path | None) -> bool:
    """Send MuJoCo's log file to `path` (None: no file; warnings still print to the console).

    Process-wide, like MuJoCo's own setting. Returns False when this MuJoCo has no log configuration
    to change (older than the logging API); then MuJoCo keeps its default.
    """
    lib = _libmujoco()
    if lib is None:
        log.debug("libmujoco has no mju_setLogConfig; MuJoCo's log file setting is unchanged")
        return False
    cfg = lib.mju_getLogConfig()
    if path is None:
        cfg.logto_file = 0
    else:
        encoded = str(Path(path).absolute()).encode()
        if len(encoded) >= _LOGFILE_BYTES:
            raise ValueError(f"MuJoCo log file path is longer than {_LOGFILE_BYTES - 1} bytes: {path}")
        cfg.logto_file = 1
        cfg.logfile = encoded
    lib.mju_setLogConfig(cfg)
    return True


def mujoco_log_file() -> Path | None:
    """Where MuJoCo writes its log now (None: nowhere, or unknown)."""
    lib = _libmujoco()
    if lib is None:
        return None
    cfg = lib.mju_getLogConfig()
    return Path(cfg.logfile.decode()) if cfg.logto_file else None


@cache
def keep_mujoco_log_out_of_cwd() -> None:
    """Once per process, before the first simulation: no MUJOCO_LOG.TXT in the working directory,
    unless the caller has already pointed the log somewhere (`set_mujoco_log_file`)."""
    current = mujoco_log_file()
    if current is None or not current.is_absolute():
        set_mujoco_log_file(None)
