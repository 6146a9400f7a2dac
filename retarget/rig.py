"""Which source joint is each canonical body point, for any humanoid rig.

Three passes, each filling only what the one before left open:
  1. names: every joint name is read into a side and a part class (retarget.rig_names); along each limb the
     class words are placed in order (the upper-arm joint is the nearest 'arm/shoulder' above the elbow, so
     a clavicle called 'LeftShoulder' is skipped; the thigh is the nearest 'hip/thigh' above the knee, so
     CMU's zero-length 'LHipJoint' is skipped);
  2. topology, when names say nothing: the hips are the first joint with three sizeable branches (two
     legs, the upper body), the shoulders hang off the first upper-body joint with three branches (two arms
     and the neck); along a limb the two longest consecutive bones are thigh + shin (upper arm + forearm),
     which skips hip helpers and clavicles; left is told from right by the motion itself (left = up x
     forward, up from feet to shoulders, forward from heel to toe);
  3. a --skeleton-map file (canonical point: joint name) overrides any point.
Works on positions in the file's own units and axes: nothing here depends on scale or orientation.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from .errors import RetargetInputError
from .rig_names import JointName, parse_joint_name
from .skeleton import ALIASES, BODY_PARENTS, BODY_POINTS, OPTIONAL_POINTS

_LEG = ("hip", "knee", "ankle", "toe")
_ARM = ("shoulder", "elbow", "wrist", "hand")


@dataclass
class BodyMap:
    joints: dict[str, int]
    """canonical point -> source joint index."""
    how: dict[str, str]
    """canonical point -> 'name', 'topology' or 'map' (the --skeleton-map file)."""

    def names(self, names: list[str]) -> dict[str, str]:
        return {p: names[j] for p, j in self.joints.items()}


class _Tree:
    def __init__(self, names: list[str], parents: list[int]):
        self.names, self.parents = names, parents
        self.children: list[list[int]] = [[] for _ in names]
        for j, p in enumerate(parents):
            if p >= 0:
                self.children[p].append(j)
        self.depth = [0] * len(names)
        self.size = [1] * len(names)
        for j, p in enumerate(parents):  # BVH order: parents come before children
            self.depth[j] = self.depth[p] + 1 if p >= 0 else 0
        for j in reversed(range(len(names))):
            if parents[j] >= 0:
                self.size[parents[j]] += self.size[j]
        self.end = [not self.children[j] and names[j].endswith("_end") for j in range(len(names))]

    def ancestors(self, j: int) -> list[int]:
        out = []
        while self.parents[j] >= 0:
            j = self.parents[j]
            out.append(j)
        return out

    def below(self, j: int, k: int) -> bool:
        """True if k lies below j."""
        return j in self.ancestors(k)

    def main_path(self, j: int) -> list[int]:
        """j, then down through the largest branch each time (file order breaks ties)."""
        path = [j]
        while self.children[path[-1]]:
            path.append(max(self.children[path[-1]], key=lambda c: self.size[c]))
        return path

    def branch(self, j: int) -> int | None:
        """First joint at or below j with at least three branches of two or more joints."""
        while True:
            big = [c for c in self.children[j] if self.size[c] >= 2]
            if len(big) >= 3:
                return j
            if len(big) != 1:
                return None
            j = big[0]


# --- pass 1: names ---------------------------------------------------------------------------------------
def _by_names(tree: _Tree, parsed: list[JointName]) -> dict[str, int]:
    out: dict[str, int] = {}

    def cls(side: str | None, part: str, within: list[int] | None = None) -> list[int]:
        js = [j for j, n in enumerate(parsed) if n.side == side and n.part == part and not tree.end[j]]
        return [j for j in js if within is None or j in within]

    def shallow(js: list[int]) -> int | None:
        return min(js, key=lambda j: tree.depth[j]) if js else None

    def deep(js: list[int]) -> int | None:
        return max(js, key=lambda j: tree.depth[j]) if js else None

    def under(j: int | None) -> list[int] | None:
        return None if j is None else [k for k in range(len(parsed)) if tree.below(j, k)]

    for side in ("left", "right"):
        knee = shallow(cls(side, "knee"))
        hip = deep(cls(side, "hip", None if knee is None else tree.ancestors(knee)))
        ankle = shallow(cls(side, "ankle", under(knee if knee is not None else hip)))
        toe = shallow(cls(side, "toe", under(ankle))) if ankle is not None else shallow(cls(side, "toe"))
        if toe is None and ankle is not None:  # SMPL: 'L_Ankle' then 'L_Foot' (the ball of the foot)
            toe = shallow(cls(side, "ankle", under(ankle)))
        elbow = shallow(cls(side, "elbow"))
        shoulder = deep(cls(side, "shoulder", None if elbow is None else tree.ancestors(elbow)))
        wrist = shallow(cls(side, "wrist", under(elbow if elbow is not None else shoulder)))
        # SMPL's 'L_Hand' and CMU-3dsMax's 'lhand' read as wrists: below the wrist they are the hand
        hands = (
            cls(side, "hand", under(wrist)) + cls(side, "wrist", under(wrist)) if wrist is not None else []
        )
        hand = max(hands, key=lambda j: (parsed[j].hand_rank, tree.depth[j]), default=None)
        for part, j in zip(_LEG + _ARM, (hip, knee, ankle, toe, shoulder, elbow, wrist, hand), strict=True):
            if j is not None:
                out[f"{side}_{part}"] = j
    hips = [out[p] for p in ("left_hip", "right_hip") if p in out]
    pelvis_cls = cls(None, "pelvis")
    above_hips = [j for j in pelvis_cls if all(tree.below(j, h) for h in hips)]
    pelvis = deep(above_hips) if hips and above_hips else shallow(pelvis_cls)
    if pelvis is not None:
        out["pelvis"] = pelvis
    shoulders = [out[p] for p in ("left_shoulder", "right_shoulder") if p in out]
    for part in ("spine", "chest"):
        js = [j for j in cls(None, part, under(pelvis)) if all(tree.below(j, s) for s in shoulders)]
        if js:
            out["spine"] = shallow(js)  # type: ignore[assignment]
            break
    return out


def _by_aliases(names: list[str], parsed: list[JointName]) -> dict[str, int]:
    """Keypoint files (no hierarchy): exact names first (COCO, SMPL, CMU), then the first joint whose
    side and part class fit."""
    low = {n.lower(): i for i, n in enumerate(names)}
    out: dict[str, int] = {}
    for point in BODY_POINTS:
        side, _, part = point.rpartition("_")
        exact = [low[a.lower()] for a in ALIASES[point] if a.lower() in low]
        fits = [j for j, n in enumerate(parsed) if n.part == part and n.side == (side or None)]
        idx = next((j for j in exact + fits if j not in out.values()), None)
        if idx is not None:
            out[point] = idx
    return out


# --- pass 2: topology ------------------------------------------------------------------------------------
def _limb_points(tree: _Tree, root: int, lengths: np.ndarray, parts: tuple[str, ...]) -> dict[str, int]:
    """Points of one limb chain: the two longest consecutive bones are the limb's upper and lower segment."""
    path = tree.main_path(root)
    if len(path) < 3:
        return {}
    bone = np.array([lengths[c] for c in path[1:]])  # bone k runs path[k] -> path[k + 1]
    k = int(np.argmax(bone[:-1] + bone[1:])) if len(bone) >= 2 else 0
    idx = [k, k + 1, k + 2]
    fork = next((i for i, j in enumerate(path) if len(tree.children[j]) >= 2), None)
    if parts[0] == "shoulder" and fork is not None:
        # The wrist is where the fingers fork off. Bone lengths alone cannot find it: CMU's clavicle +
        # upper arm (0.48 m) is as long as its upper arm + forearm (0.48 m) in 01_01.bvh.
        moving = [i for i in range(fork) if bone[i] > 1e-3 * bone.max()]
        if len(moving) >= 2:
            idx = [moving[-2], moving[-1], fork]
    out = dict(zip(parts[:3], [path[i] for i in idx], strict=True))
    k = idx[0]
    rest = [j for j in path[k + 3 :] if not tree.end[j]] or path[k + 3 : k + 4]
    if rest:
        # toe: the next joint (or the foot's end site); hand: the deepest joint before the finger tip
        out[parts[3]] = rest[0] if parts[3] == "toe" else rest[-1]
    return out


def _pair(tree: _Tree, big: list[int]) -> tuple[int, int] | None:
    """The two mirror branches among `big`: the largest pair of equal size, else the two largest."""
    by_size = sorted(big, key=lambda c: -tree.size[c])
    for a, b in zip(by_size, by_size[1:], strict=False):
        if tree.size[a] == tree.size[b]:
            return a, b
    return (by_size[0], by_size[1]) if len(by_size) >= 2 else None


def _side_by_names(tree: _Tree, parsed: list[JointName], a: int, b: int) -> int:
    """+1 if branch a is the left one by its joints' names, -1 if the right one, 0 if names say nothing."""
    votes = 0
    for sign, top in ((1, a), (-1, b)):
        for j in [top] + [k for k in range(len(parsed)) if tree.below(top, k)]:
            votes += sign * {"left": 1, "right": -1, None: 0}[parsed[j].side]
    return int(np.sign(votes))


def _by_topology(tree: _Tree, parsed: list[JointName], positions: np.ndarray, start: int) -> dict[str, int]:
    """Points from the hierarchy below `start` (and the motion, for sides)."""
    hips = tree.branch(start)
    if hips is None:
        return {}
    big = [c for c in tree.children[hips] if tree.size[c] >= 2]
    upper = max(big, key=lambda c: tree.size[c])
    legs = _pair(tree, [c for c in big if c != upper])
    shoulders = tree.branch(upper)
    lengths = _bone_lengths(tree, positions)
    out: dict[str, int] = {"pelvis": hips, "spine": upper}
    limbs = [(legs, _LEG)]
    if shoulders is not None:
        limbs.append((_pair(tree, [c for c in tree.children[shoulders] if tree.size[c] >= 2]), _ARM))
    chains: list[tuple[dict[str, int], dict[str, int], int]] = []
    for pair, parts in limbs:
        if pair is None:
            continue
        a, b = (_limb_points(tree, c, lengths, parts) for c in pair)
        chains.append((a, b, _side_by_names(tree, parsed, *pair)))
    if not chains:
        return out
    sides = _sides_by_motion(positions, chains, shoulders if shoulders is not None else upper)
    for (a, b, by_name), by_motion in zip(chains, sides, strict=True):
        left_first = (by_name or by_motion) > 0
        if (by_name or by_motion) == 0:
            continue  # sides unknown: leave the limb to the --skeleton-map
        for side, pts in (("left", a if left_first else b), ("right", b if left_first else a)):
            out.update({f"{side}_{p}": j for p, j in pts.items()})
    return out


def _bone_lengths(tree: _Tree, positions: np.ndarray) -> np.ndarray:
    """Median length over frames of each joint's bone from its parent (0 for roots)."""
    par = np.array([max(p, 0) for p in tree.parents])
    return np.median(np.linalg.norm(positions - positions[:, par], axis=-1), axis=0)


def _sides_by_motion(
    positions: np.ndarray, chains: list[tuple[dict[str, int], dict[str, int], int]], top: int
) -> list[int]:
    """For each (chain a, chain b): +1 if a is on the body's left, -1 if on its right, 0 if unclear."""
    legs_a, legs_b, _ = chains[0]
    if not all(k in c for c in (legs_a, legs_b) for k in ("ankle", "toe")):
        return [0] * len(chains)
    # Per frame (the subject may turn around): left = up x forward.
    ankles = (positions[:, legs_a["ankle"]] + positions[:, legs_b["ankle"]]) / 2
    up = positions[:, top] - ankles
    fwd = sum(positions[:, c["toe"]] - positions[:, c["ankle"]] for c in (legs_a, legs_b))
    left = np.cross(up, fwd)
    left /= np.maximum(np.linalg.norm(left, axis=-1, keepdims=True), 1e-12)
    out = []
    for a, b, _ in chains:
        both = [p for p in a if p in b]
        across = np.mean([positions[:, a[p]] - positions[:, b[p]] for p in both], axis=0)
        d = float(np.sum(across * left, axis=-1).mean())
        # less than a third of the limbs' distance apart along the body's left: too unclear to call
        out.append(0 if abs(d) < np.linalg.norm(across, axis=-1).mean() / 3 else int(np.sign(d)))
    return out


# --- pass 3 and the whole map ----------------------------------------------------------------------------
def load_skeleton_map(path: str | Path) -> dict[str, str]:
    """A --skeleton-map YAML file: one 'canonical_point: source joint name' per line."""
    path = Path(path)
    if not path.is_file():
        raise RetargetInputError(path, "file", "skeleton map not found")
    try:
        data = yaml.safe_load(path.read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RetargetInputError(path, "file", f"not valid YAML ({exc})") from None
    if not isinstance(data, dict) or not data:
        raise RetargetInputError(path, "file", "expected a mapping of 'canonical_point: joint name' lines")
    for point, joint in data.items():
        if point not in BODY_POINTS:
            raise RetargetInputError(
                path, str(point), f"unknown canonical point; expected one of {BODY_POINTS}"
            )
        if not isinstance(joint, str) or not joint:
            raise RetargetInputError(path, str(point), f"got {joint!r}; expected a joint name (a string)")
    return {str(k): str(v) for k, v in data.items()}


def _apply_map(names: list[str], overrides: dict[str, str], source: str) -> dict[str, int]:
    out = {}
    for point, joint in overrides.items():
        if point not in BODY_POINTS:
            raise RetargetInputError(source, point, f"unknown canonical point; expected one of {BODY_POINTS}")
        if joint not in names:
            close = difflib.get_close_matches(joint, names, n=3) or names[:8]
            raise RetargetInputError(
                source,
                point,
                f"skeleton map names joint {joint!r}, which is not in the file; closest: {close}",
            )
        out[point] = names.index(joint)
    return out


def map_skeleton(
    names: list[str],
    parents: list[int] | None,
    positions: np.ndarray,
    overrides: dict[str, str] | None = None,
    source: str = "<motion>",
) -> BodyMap:
    """Canonical point -> joint for any humanoid rig; raises naming the missing points and the
    --skeleton-map lines that would fix them. positions: [T, J, 3] in any units and axes."""
    parsed = [parse_joint_name(n) for n in names]
    joints: dict[str, int] = {}
    how: dict[str, str] = {}
    tree = None
    if parents is None:
        joints = _by_aliases(names, parsed)
        how = dict.fromkeys(joints, "name")
    else:
        tree = _Tree(names, parents)
        joints = _by_names(tree, parsed)
        how = dict.fromkeys(joints, "name")
        roots = [j for j, p in enumerate(parents) if p < 0]
        start = joints.get("pelvis", roots[0] if roots else 0)
        topo = _by_topology(tree, parsed, positions, start)
        if not topo and roots and start != roots[0]:  # a named 'pelvis' that is not where the legs branch
            topo = _by_topology(tree, parsed, positions, roots[0])
        for point, j in topo.items():
            if point not in joints and j not in joints.values():
                joints[point], how[point] = j, "topology"
    for point, j in _apply_map(names, overrides or {}, source).items():
        joints[point], how[point] = j, "map"
    missing = [p for p in BODY_POINTS if p not in joints and p not in OPTIONAL_POINTS]
    if missing:
        raise RetargetInputError(source, "joint names", _missing_message(missing, joints, names, tree))
    return BodyMap({p: joints[p] for p in BODY_POINTS if p in joints}, how)


def _missing_message(missing: list[str], joints: dict[str, int], names: list[str], tree: _Tree | None) -> str:
    lines = []
    for point in missing:
        guess = "<joint name>"
        parent = BODY_PARENTS[point]
        if tree is not None and parent in joints:
            kids = [c for c in tree.children[joints[parent]] if not tree.end[c]]
            if len(kids) == 1:
                guess = names[kids[0]]
        lines.append(f"  {point}: {guess}")
    unmapped = [n for j, n in enumerate(names) if j not in joints.values() and not n.endswith("_end")]
    return (
        f"no joint found for {missing} by name or by hierarchy; joints not mapped: {unmapped}. "
        "`robolearn retarget --inspect <file>` lists the hierarchy. Put the missing points in a YAML file "
        "and pass it with --skeleton-map, e.g.:\n" + "\n".join(lines)
    )


def motion_axes(positions: np.ndarray, bmap: BodyMap) -> tuple[np.ndarray, np.ndarray]:
    """(up, forward) unit vectors in the file's axes, from the motion: up from mid-ankles to mid-shoulders,
    forward from heels to toes, both averaged over all frames (a rest pose alone can lie about either)."""

    def mid(a: str, b: str) -> np.ndarray:
        return (positions[:, bmap.joints[a]] + positions[:, bmap.joints[b]]) / 2

    up = (mid("left_shoulder", "right_shoulder") - mid("left_ankle", "right_ankle")).mean(0)
    up /= max(float(np.linalg.norm(up)), 1e-12)
    fwd = (mid("left_toe", "right_toe") - mid("left_ankle", "right_ankle")).mean(0)
    fwd -= up * float(fwd @ up)
    return up, fwd / max(float(np.linalg.norm(fwd)), 1e-12)


def leg_length(positions: np.ndarray, bmap: BodyMap) -> float:
    """Thigh + shin (median over frames, mean of both legs) in the file's units."""

    def bone(a: str, b: str) -> float:
        d = positions[:, bmap.joints[a]] - positions[:, bmap.joints[b]]
        return float(np.median(np.linalg.norm(d, axis=-1)))

    return float(
        np.mean([bone(f"{s}_hip", f"{s}_knee") + bone(f"{s}_knee", f"{s}_ankle") for s in ("left", "right")])
    )


def is_mirrored(positions: np.ndarray, bmap: BodyMap) -> bool:
    """True if the joints named left sit on the body's right throughout, by the motion (left = up x
    forward, per frame): the file's axes are left-handed (some game-engine exports), so read as
    right-handed the body is a mirror image. Only asked of sides that came from names or the map."""
    if any(bmap.how.get(f"{s}_hip") == "topology" for s in ("left", "right")):
        return False  # topology took the sides from the motion: they agree with it by construction

    def p(name: str) -> np.ndarray:
        return positions[:, bmap.joints[name]]

    up = (p("left_shoulder") + p("right_shoulder") - p("left_ankle") - p("right_ankle")) / 2
    fwd = p("left_toe") - p("left_ankle") + p("right_toe") - p("right_ankle")
    left = np.cross(up, fwd)
    left /= np.maximum(np.linalg.norm(left, axis=-1, keepdims=True), 1e-12)
    across = (p("left_hip") - p("right_hip") + p("left_shoulder") - p("right_shoulder")) / 2
    d = float(np.sum(across * left, axis=-1).mean())
    return (
        d < -np.linalg.norm(across, axis=-1).mean() / 3
    )  # clearly on the wrong side, as in _sides_by_motion
