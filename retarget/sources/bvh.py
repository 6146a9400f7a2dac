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
            # the name is the rest of the line: 3ds Max Biped exports name joints 'Bip01 L Thigh'
            words = expect(1, f"{tok} name")
            while i < len(toks) and toks[i][0] == line_no and toks[i][1] != "{":
                words += expect(1, f"{tok} name")
            name = " ".join(words)
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


def _snap_axis(v: np.ndarray) -> str:
    """The signed principal axis nearest to a direction: '+y', '-z', ..."""
    axis = int(np.argmax(np.abs(v)))
    return ("+" if v[axis] >= 0 else "-") + "xyz"[axis]


def _detect_units(leg: float) -> str:
    """Unit whose scale puts thigh + shin in a human range (0.45-1.1 m: a small child to a tall adult)."""
    for unit in ("m", "cmu", "inch", "cm", "mm"):
        if 0.45 <= leg * UNIT_SCALES[unit] <= 1.1:
            return unit
    raise ValueError(f"thigh + shin is {leg:.3g} units, which matches none of m, CMU units, inch, cm or mm")


def _rest_pose(joints: list[BvhJoint]) -> np.ndarray:
    rest = np.zeros((len(joints), 3))
    for j, joint in enumerate(joints):
        rest[j] = joint.offset + (rest[joint.parent] if joint.parent >= 0 else 0)
    return rest


def _rest_up(names: list[str], rest: np.ndarray) -> str:
    """Fallback for files the body map cannot read: the dominant axis of feet-to-head in the rest pose."""
    low = [n.lower() for n in names]
    head = [i for i, n in enumerate(low) if "head" in n]
    feet = [i for i, n in enumerate(low) if any(k in n for k in ("foot", "ankle", "toe"))]
    if not head or not feet:
        return "+y"  # the BVH convention
    return _snap_axis(rest[head].mean(0) - rest[feet].mean(0))


def _rest_units(height: float) -> str:
    """Fallback: the unit whose scale puts the rest-pose height in a human range (1.0-2.3 m)."""
    for unit in ("m", "cmu", "inch", "cm", "mm"):
        if 0.9 <= height * UNIT_SCALES[unit] <= 2.3:
            return unit
    raise ValueError(f"rest-pose height {height:.3g} units does not match m, CMU units, inch, cm or mm")


@dataclass
class BvhData:
    """A BVH file read as is: joints (end sites included), frame time, global positions [T, J, 3] and
    rotations [T, J, 3, 3] in the file's own units and axes."""

    joints: list[BvhJoint]
    dt: float
    positions: np.ndarray
    rotations: np.ndarray

    @property
    def names(self) -> list[str]:
        return [j.name for j in self.joints]

    @property
    def parents(self) -> list[int]:
        return [j.parent for j in self.joints]


def read_bvh(path: str | Path) -> BvhData:
    """Parse a BVH file and run forward kinematics in its own units and axes.

    Rotation channels compose left to right in any order (intrinsic); position channels, on any joint,
    replace that joint's OFFSET along their axis (six-channel studio exports) rather than add to it.
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
        for k, c in enumerate(joint.channels):
            if c.lower().endswith("position"):
                local_t[:, "xyz".index(c[0].lower())] = vals[:, k]
        local_r = _local_rotations(joint.channels, vals)
        if joint.parent < 0:
            rot[:, j], pos[:, j] = local_r, local_t
        else:
            rot[:, j] = rot[:, joint.parent] @ local_r
            pos[:, j] = pos[:, joint.parent] + np.einsum("tij,tj->ti", rot[:, joint.parent], local_t)
    # Finite offsets and channels can still overflow when summed, and values near float's limit overflow
    # later (the body map's axes); 1e12 units is far beyond any capture (a million km in mm).
    if not (np.abs(pos) < 1e12).all():
        raise RetargetInputError(
            path,
            "OFFSET",
            "joint positions beyond 1e12 file units (or overflowing); expected offsets and "
            "positions in a human range",
        )
    return BvhData(joints, dt, pos, rot)


def load_bvh(
    path: str | Path, units: str = "auto", up: str = "auto", skeleton_map: dict[str, str] | None = None
) -> HumanMotion:
    """Read a BVH file into global joint positions/rotations in metres, z up.

    `units`: 'auto' or one of UNIT_SCALES; `up`: 'auto' or a signed axis ('y', '+y', '-z', ...). Auto
    reads both off the motion, never off the rest pose alone (rigs whose bones lie along a local axis in
    rest are not standing in it): up points from the ankles to the shoulders, averaged over all frames,
    and the unit puts thigh + shin in a human range. `skeleton_map` (canonical point -> joint name)
    overrides the body map found by name and hierarchy (retarget.rig), kept in meta['body_map']. A file
    with no body map (not a humanoid, or limbs not found) still loads, units and up read off its rest
    pose as before (meta['units_up_from']); retargeting it as a body then says which points are missing.
    End sites are kept as joints named '<parent>_end' (they carry toe/head/finger tips).
    """
    from ..rig import is_mirrored, leg_length, map_skeleton, motion_axes

    path = Path(path)
    bvh = read_bvh(path)
    names, pos = bvh.names, bvh.positions
    up_key = up if up == "auto" or up[:1] in ("+", "-") else "+" + up
    if up_key not in ("auto", *UP_TO_Z) or (units != "auto" and units not in UNIT_SCALES):
        raise RetargetInputError(
            path, "units", f"got units={units!r}, up={up!r}; expected {list(UNIT_SCALES)}, x/y/z or +-x/y/z"
        )
    try:
        bmap = map_skeleton(names, bvh.parents, pos, skeleton_map, str(path))
    except RetargetInputError:
        if skeleton_map:
            raise  # the user's map is wrong or incomplete: say so now
        bmap = None  # not a body we can map (a hand, a prop): read it the old way; body_points will say why
    facing, found_from, mirror = "?", "motion", None
    rot = bvh.rotations
    try:
        if bmap is not None:
            up_vec, fwd = motion_axes(pos, bmap)
            if is_mirrored(pos, bmap):
                # Left-handed axes: flip the lateral one so the joints named left are on the body's left.
                mirror = _snap_axis(np.cross(up_vec, fwd))[1]
                flip = np.diag([-1.0 if a == mirror else 1.0 for a in "xyz"])
                pos, rot = pos @ flip, flip @ rot @ flip
            up_key = _snap_axis(up_vec) if up_key == "auto" else up_key
            facing = _snap_axis(fwd)
            units = _detect_units(leg_length(pos, bmap)) if units == "auto" else units
        else:
            found_from = "rest pose"
            rest = _rest_pose(bvh.joints)
            up_key = _rest_up(names, rest) if up_key == "auto" else up_key
            height = float(np.ptp(UP_TO_Z[up_key] @ rest.T, axis=1)[2])
            units = _rest_units(height) if units == "auto" else units
    except ValueError as exc:
        raise RetargetInputError(
            path, "HIERARCHY", f"cannot infer units/up axis ({exc}); pass units= and up="
        ) from None
    to_z = UP_TO_Z[up_key]
    return HumanMotion(
        names=names,
        positions=np.einsum("ij,tkj->tki", to_z, pos) * UNIT_SCALES[units],
        rotations=np.einsum("ij,tkjl->tkil", to_z, rot),
        fps=1.0 / bvh.dt,
        source=str(path),
        parents=bvh.parents,
        meta={
            "format": "bvh",
            "units": units,
            "up_axis": up_key.lstrip("+"),
            "facing": facing,
            "units_up_from": found_from,
            "mirrored_axis": mirror,
            "num_channels": sum(len(j.channels) for j in bvh.joints),
            "num_joints": sum(not j.end_site for j in bvh.joints),
            **({"body_map": bmap.names(names), "body_map_how": bmap.how} if bmap is not None else {}),
        },
    )
