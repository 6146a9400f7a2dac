"""`robolearn retarget --inspect`: what the reader makes of a motion file before anything is retargeted.

Prints the hierarchy (channels per joint), the frame rate, the units, up axis and facing read off the
motion, and the body map with where each point came from (name, topology, --skeleton-map), so a rig that
fails to map can be fixed with a --skeleton-map file written from this listing.
"""

from __future__ import annotations

from pathlib import Path

from .errors import RetargetInputError
from .skeleton import BODY_POINTS


def _hierarchy_lines(path: Path) -> list[str]:
    from .sources.bvh import read_bvh

    bvh = read_bvh(path)
    depth: list[int] = []
    lines = []
    for joint in bvh.joints:
        depth.append(depth[joint.parent] + 1 if joint.parent >= 0 else 0)
        if joint.end_site:
            continue
        chans = " ".join(c[:1] + ("pos" if c.lower().endswith("position") else "rot") for c in joint.channels)
        lines.append(f"  {'  ' * depth[-1]}{joint.name}  [{chans}]")
    return lines


def inspect_source(
    path: str | Path, skeleton_map: dict[str, str] | None = None, units: str = "auto", up: str = "auto"
) -> tuple[str, str | None]:
    """(listing, error): the listing always has what could be read; error says why the body map failed."""
    from .sources import load_motion

    path = Path(path)
    lines = [f"{path}"]
    if path.suffix.lower() == ".bvh":
        lines += ["hierarchy (channels: position/rotation, in file order):", *_hierarchy_lines(path)]
    try:
        motion = load_motion(path, skeleton_map, units, up)
    except RetargetInputError as exc:
        return "\n".join(lines), str(exc)
    meta = motion.meta
    joints = meta.get("num_joints", len(motion.names))
    lines.insert(
        1,
        f"{joints} joints, {motion.num_frames} frames at {motion.fps:g} fps ({motion.num_frames / motion.fps:.1f} s)",
    )
    if meta.get("format") == "bvh":
        lines.insert(
            2,
            f"units: {meta['units']}{' (given)' if units != 'auto' else ''}, "
            f"up axis: {meta['up_axis']}{' (given)' if up != 'auto' else ''}, facing: {meta['facing']} "
            f"(file axes; auto ones read off the {meta.get('units_up_from', 'motion')})",
        )
    if meta.get("mirrored_axis"):
        lines.insert(
            3,
            f"mirrored across {meta['mirrored_axis']}: the joints named left were on the body's right "
            "(left-handed axes)",
        )
    body_map = meta.get("body_map")
    how = meta.get("body_map_how", {})
    if body_map is None:
        from .rig import map_skeleton

        try:
            bmap = map_skeleton(motion.names, motion.parents, motion.positions, skeleton_map, str(path))
        except RetargetInputError as exc:
            return "\n".join(lines), str(exc)
        body_map, how = bmap.names(motion.names), bmap.how
    lines.append("body map (point: joint  # found by; --skeleton-map takes these lines):")
    for point in BODY_POINTS:
        if point in body_map:
            lines.append(f"  {point}: {body_map[point]}  # {how.get(point, 'name')}")
        else:
            lines.append(f"  # {point}: (none; optional)")
    return "\n".join(lines), None
