"""BVH reader: any skeleton, any channel order, units and up axis detected (or given), vectorised FK."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import RetargetInputError, check_finite
from ..rotations import axis_rotation
from .motion import UP_TO_Z, HumanMotion

# Metres per file unit. CMU's converter keeps the ASF length unit: 1 unit = 1 inch / 0.45.
UNIT_SCALES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu": 0.0254 / 0.45}


@dataclass
class BvhJoint:
    name: str
    parent: int
    offset: np.ndarray
    channels: list[str]
    end_site: bool = False


def _tokens(text: str):
    for line_no, line in enumerate(text.splitlines(), 1):
        for tok in line.split():
            yield line_no, tok


def _parse_hierarchy(path: Path, text: str) -> tuple[list[BvhJoint], int]:
    """Joints (end sites included, with no channels) and the character offset where MOTION starts."""
    head, sep, _ = text.partition("MOTION")
    if not sep:
        raise RetargetInputError(
            path, "MOTION", "section missing; expected 'MOTION' after the HIERARCHY block"
        )
    toks = list(_tokens(head))
    if not toks or toks[0][1] != "HIERARCHY":
        raise RetargetInputError(path, "HIERARCHY", "file must start with 'HIERARCHY'")
    joints: list[BvhJoint] = []
    stack: list[int] = []
    i = 1

    def expect(n: int, what: str) -> list[str]:
        nonlocal i
        if i + n > len(toks):
            raise RetargetInputError(path, "HIERARCHY", f"ended early while reading {what}")
        vals = [t for _, t in toks[i : i + n]]
        i += n
        return vals

    while i < len(toks):
        line_no, tok = toks[i]
        i += 1
        if tok in ("ROOT", "JOINT"):
            (name,) = expect(1, f"{tok} name")
            joints.append(BvhJoint(name, stack[-1] if stack else -1, np.zeros(3), []))
            if tok == "ROOT" and stack:
                raise RetargetInputError(path, "HIERARCHY", f"nested ROOT at line {line_no}")
        elif tok in ("End", "OFFSET", "CHANNELS") and not stack:
            raise RetargetInputError(path, "HIERARCHY", f"{tok!r} outside a joint's braces at line {line_no}")
        elif tok == "End":
            expect(1, "End Site")
            parent = stack[-1]
            joints.append(BvhJoint(f"{joints[parent].name}_end", parent, np.zeros(3), [], end_site=True))
        elif tok == "{":
            if not joints:
                raise RetargetInputError(path, "HIERARCHY", f"'{{' before any joint at line {line_no}")
            stack.append(len(joints) - 1)
        elif tok == "}":
            if not stack:
                raise RetargetInputError(path, "HIERARCHY", f"unbalanced '}}' at line {line_no}")
            stack.pop()
        elif tok == "OFFSET":
            try:
                joints[stack[-1]].offset = np.array([float(v) for v in expect(3, "OFFSET")])
            except ValueError:
                raise RetargetInputError(path, "OFFSET", f"non-numeric offset at line {line_no}") from None
        elif tok == "CHANNELS":
            try:
                n = int(expect(1, "CHANNELS count")[0])
            except ValueError:
                raise RetargetInputError(path, "CHANNELS", f"bad channel count at line {line_no}") from None
            if n < 0:
                raise RetargetInputError(path, "CHANNELS", f"negative channel count {n} at line {line_no}")
            chans = expect(n, "CHANNELS")
            for c in chans:
                if c[0].lower() not in "xyz" or c[1:].lower() not in ("position", "rotation"):
                    raise RetargetInputError(
                        path,
                        "CHANNELS",
                        f"unknown channel {c!r} at line {line_no}; expected X/Y/Z position/rotation",
                    )
            joints[stack[-1]].channels = chans
        else:
            raise RetargetInputError(path, "HIERARCHY", f"unexpected token {tok!r} at line {line_no}")
    if stack:
        raise RetargetInputError(path, "HIERARCHY", f"{len(stack)} unclosed '{{' (file truncated?)")
    if not joints:
        raise RetargetInputError(path, "HIERARCHY", "no joints")
    return joints, len(head) + len(sep)


def _parse_motion(path: Path, text: str, num_channels: int) -> tuple[np.ndarray, float]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2 or not lines[0].startswith("Frames:") or not lines[1].startswith("Frame Time:"):
        raise RetargetInputError(path, "MOTION", "expected 'Frames: N' and 'Frame Time: dt' lines")
    try:
        n_frames = int(lines[0].split(":")[1])
        dt = float(lines[1].split(":")[1])
    except ValueError:
        raise RetargetInputError(path, "MOTION", "unreadable 'Frames' or 'Frame Time' value") from None
    if n_frames < 1 or not 1e-9 <= dt < np.inf:  # NaN fails the comparison too
        raise RetargetInputError(
            path, "Frame Time", f"got {n_frames} frames at dt={dt}; expected >= 1 and a finite dt >= 1e-9 s"
        )
    rows = lines[2:]
    if len(rows) != n_frames:
        raise RetargetInputError(
            path,
            "Frames",
            f"header says {n_frames} frames but {len(rows)} motion lines follow (truncated file?)",
        )
    try:
        data = np.array([np.array(r.split(), dtype=float) for r in rows], dtype=object)
    except ValueError:
        raise RetargetInputError(path, "MOTION", "non-numeric value in motion data") from None
    lengths = np.array([len(r) for r in data])
    bad = np.flatnonzero(lengths != num_channels)
    if bad.size:
        raise RetargetInputError(
            path,
            "MOTION",
            f"frame {int(bad[0])} has {int(lengths[bad[0]])} values; expected {num_channels} (one per channel)",
        )
    values = np.stack(list(data)).astype(float)
    check_finite(values, path, "MOTION")
    return values, dt


def _local_rotations(channels: list[str], values: np.ndarray) -> np.ndarray:
    """Rotation matrices [T, 3, 3] for one joint: channels compose left-to-right (intrinsic order)."""
    rot = np.broadcast_to(np.eye(3), (values.shape[0], 3, 3))
    for k, ch in enumerate(channels):
        if ch.lower().endswith("rotation"):
            rot = rot @ axis_rotation(ch[0].lower(), np.deg2rad(values[:, k]))
    return rot


def _detect_up(names: list[str], rest: np.ndarray) -> str:
    """Up axis from the rest pose: the dominant axis of feet-to-head, if those joints can be named."""
    low = [n.lower() for n in names]
    head = [i for i, n in enumerate(low) if "head" in n]
    feet = [i for i, n in enumerate(low) if any(k in n for k in ("foot", "ankle", "toe"))]
    if not head or not feet:
        return "y"  # the BVH convention
    v = rest[head].mean(0) - rest[feet].mean(0)
    axis = int(np.argmax(np.abs(v)))
    if v[axis] < 0:
        raise ValueError("head below feet in rest pose")
    return "xyz"[axis]


def _detect_units(height: float) -> str:
    """Unit whose scale puts the rest-pose height in a human range (1.0-2.3 m)."""
    for unit in ("m", "cmu", "inch", "cm", "mm"):
        if 0.9 <= height * UNIT_SCALES[unit] <= 2.3:
            return unit
    raise ValueError(f"rest-pose height {height:.3g} units does not match m, CMU units, inch, cm or mm")


def load_bvh(path: str | Path, units: str = "auto", up: str = "auto") -> HumanMotion:
    """Read a BVH file into global joint positions/rotations in metres, z up.

    `units`: 'auto' (from the skeleton's height) or one of UNIT_SCALES; `up`: 'auto', 'x', 'y' or 'z'.
    End sites are kept as joints named '<parent>_end' (they carry toe/head/finger tips).
    """
    path = Path(path)
    if not path.is_file():
        raise RetargetInputError(path, "file", "not found")
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise RetargetInputError(path, "file", "not a text BVH file") from None
    joints, motion_at = _parse_hierarchy(path, text)
    num_channels = sum(len(j.channels) for j in joints)
    values, dt = _parse_motion(path, text[motion_at:], num_channels)
    T, J = values.shape[0], len(joints)

    rot = np.zeros((T, J, 3, 3))
    pos = np.zeros((T, J, 3))
    col = 0
    for j, joint in enumerate(joints):
        vals = values[:, col : col + len(joint.channels)]
        col += len(joint.channels)
        local_t = np.broadcast_to(joint.offset, (T, 3)).copy()
        pos_ch = [k for k, c in enumerate(joint.channels) if c.lower().endswith("position")]
        for k in pos_ch:  # position channels replace the offset along their axis
            local_t[:, "xyz".index(joint.channels[k][0].lower())] = vals[:, k]
        local_r = _local_rotations(joint.channels, vals)
        if joint.parent < 0:
            rot[:, j], pos[:, j] = local_r, local_t
        else:
            rot[:, j] = rot[:, joint.parent] @ local_r
            pos[:, j] = pos[:, joint.parent] + np.einsum("tij,tj->ti", rot[:, joint.parent], local_t)

    # Rest pose (all rotations zero) from offsets alone: used for units and up axis.
    rest = np.zeros((J, 3))
    for j, joint in enumerate(joints):
        rest[j] = joint.offset + (rest[joint.parent] if joint.parent >= 0 else 0)
    names = [j.name for j in joints]
    try:
        up_axis = _detect_up(names, rest) if up == "auto" else up
        height = float(np.ptp(rest[:, "xyz".index(up_axis)]))
        unit = _detect_units(height) if units == "auto" else units
    except ValueError as exc:
        raise RetargetInputError(
            path, "HIERARCHY", f"cannot infer units/up axis ({exc}); pass units= and up="
        ) from None
    if unit not in UNIT_SCALES or up_axis not in UP_TO_Z:
        raise RetargetInputError(
            path, "units", f"got units={unit!r}, up={up_axis!r}; expected {list(UNIT_SCALES)}, x/y/z"
        )
    to_z = UP_TO_Z[up_axis]
    positions = np.einsum("ij,tkj->tki", to_z, pos) * UNIT_SCALES[unit]
    if not np.isfinite(positions).all():  # finite offsets and channels can still overflow when summed
        raise RetargetInputError(path, "OFFSET", "joint positions overflow; expected offsets and positions "
                                 "in a human range")  # fmt: skip
    return HumanMotion(
        names=names,
        positions=positions,
        rotations=np.einsum("ij,tkjl->tkil", to_z, rot),
        fps=1.0 / dt,
        source=str(path),
        parents=[j.parent for j in joints],
        meta={
            "format": "bvh",
            "units": unit,
            "up_axis": up_axis,
            "num_channels": num_channels,
            "num_joints": sum(not j.end_site for j in joints),
        },
    )
