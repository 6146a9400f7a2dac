"""Reading a body part and a side out of a rig's joint name, whatever the studio's naming style.

`mixamorig:LeftUpLeg`, `thigh.L`, `Bip01 L Thigh`, `L_Thigh`, `lShin`, `Knee_R`, `leftupleg` and `LHipJoint`
all come apart into a side and a few words: the namespace is dropped, camelCase, digits and separators
split words, and glued words (`lhand`, `upperarm`, `toebase`) are split against a small vocabulary. The
words then name a part class; which joint of a class becomes a canonical point is decided along the
limb's chain (retarget.rig), because one word means different joints in different rigs ('shoulder' is
the clavicle in Mixamo rigs and the upper arm in CMU's 3dsMax rig, 'hand' the wrist or the palm).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

_WORDS = (
    "left right l r up upper low lower fore leg legs arm arms thigh shin calf crus knee hip hips joint foot "
    "feet ankle toe toes base ball hand wrist carpal elbow shoulder humerus radius ulna collar clavicle "
    "finger fingers thumb index middle ring pinky little palm spine back chest torso abdomen waist pelvis "
    "neck head root end nub tip site twist roll helper mid"
).split()
_VOCAB = set(_WORDS)
_SIDES = {"left": "left", "l": "left", "right": "right", "r": "right"}

# Word sets that name a part class (checked in order: two-word parts before their single words).
_PHRASES: list[tuple[tuple[str, ...], str]] = [
    (("up", "leg"), "hip"),
    (("upper", "leg"), "hip"),
    (("low", "leg"), "knee"),
    (("lower", "leg"), "knee"),
    (("up", "arm"), "shoulder"),
    (("upper", "arm"), "shoulder"),
    (("fore", "arm"), "elbow"),
    (("low", "arm"), "elbow"),
    (("lower", "arm"), "elbow"),
    (("lower", "back"), "spine"),
    (("toe", "base"), "toe"),
    (("foot", "index"), "toe"),
    (("finger", "base"), "hand"),
    (("hand", "end"), "hand"),
]
_SINGLE = {
    "thigh": "hip",
    "hip": "hip",
    "shin": "knee",
    "calf": "knee",
    "crus": "knee",
    "knee": "knee",
    "leg": "knee",
    "foot": "ankle",
    "ankle": "ankle",
    "toe": "toe",
    "toes": "toe",
    "ball": "toe",
    "collar": "clavicle",
    "clavicle": "clavicle",
    "shoulder": "shoulder",
    "arm": "shoulder",
    "humerus": "shoulder",
    "elbow": "elbow",
    "radius": "elbow",
    "ulna": "elbow",
    "wrist": "wrist",
    "carpal": "wrist",
    "hand": "wrist",
    "palm": "hand",
    "fingers": "hand",
    "finger": "hand",
    "spine": "spine",
    "back": "spine",
    "torso": "spine",
    "abdomen": "spine",
    "waist": "spine",
    "chest": "chest",
    "pelvis": "pelvis",
    "hips": "pelvis",
    "neck": "neck",
    "head": "head",
}
# Joints that are not on a limb's main line (or are tips): never a canonical point by name.
_SKIP = {"twist", "roll", "helper", "end", "nub", "tip", "site", "thumb"}


@dataclass(frozen=True)
class JointName:
    side: str | None
    """'left', 'right' or None."""
    part: str | None
    """Part class: pelvis, spine, chest, neck, head, hip, knee, ankle, toe, clavicle, shoulder, elbow, wrist,
    hand; None when the words name nothing known (or a twist bone, a thumb, an end site)."""
    hand_rank: int = 0
    """For part 'hand': 3 'fingers', 2 one finger, 1 palm/finger base/hand end (higher is more hand-like)."""


def _segment(token: str) -> list[str]:
    """Split a glued lowercase token into vocabulary words ('leftupleg' -> left up leg), or keep it whole."""

    @cache
    def best(i: int) -> tuple[str, ...] | None:
        if i == len(token):
            return ()
        options = []
        for j in range(len(token), i, -1):
            word = token[i:j]
            if word in _VOCAB and (word not in ("l", "r") or i == 0):
                rest = best(j)
                if rest is not None:
                    options.append((word, *rest))
        return min(options, key=len) if options else None

    return list(best(0) or (token,))


def name_words(name: str) -> list[str]:
    """Lowercase words of a joint name, namespace dropped: 'mixamorig:LeftUpLeg' -> ['left', 'up', 'leg']."""
    base = re.split(r"[:|]", name)[-1]
    base = re.sub(r"([a-z])([A-Z])", r"\1 \2", base)  # lShin -> l Shin, LeftUpLeg -> Left Up Leg
    base = re.sub(r"([A-Z])([A-Z][a-z])", r"\1 \2", base)  # LHipJoint -> L Hip Joint
    base = re.sub(r"([A-Za-z])(\d)|(\d)([A-Za-z])", r"\1\3 \2\4", base)  # Spine1 -> Spine 1, Bip01
    words: list[str] = []
    for tok in re.split(r"[\s_.\-]+", base.lower()):
        if tok:
            words += _segment(tok)
    return words


def parse_joint_name(name: str) -> JointName:
    """Side and part class of one joint name (see the module docstring for the styles understood)."""
    words = name_words(name)
    side = None
    for k, w in enumerate(words):
        # 'l'/'r' count as a side only as a word of their own at either end ('Bip01 L Thigh', 'thigh.L')
        if w in ("left", "right") or (w in ("l", "r") and (k == 0 or k == len(words) - 1 or len(words) > 2)):
            side = _SIDES[w]
            words = words[:k] + words[k + 1 :]
            break
    if not words or _SKIP & set(words):
        return JointName(side, None)
    for phrase, part in _PHRASES:
        if any(tuple(words[k : k + len(phrase)]) == phrase for k in range(len(words))):
            return JointName(side, part, 1 if part == "hand" else 0)
    fingers = {"fingers", "finger", "index", "middle", "ring", "pinky", "little"} & set(words)
    if fingers:
        return JointName(side, "hand", 3 if "fingers" in fingers else 2)
    for w in words:
        if w in _SINGLE:
            part = _SINGLE[w]
            if part in ("pelvis", "spine", "chest", "neck", "head") and side is not None:
                return JointName(side, None)  # 'pelvis.L' (Rigify) is a hip helper, not the pelvis
            if part == "hip" and side is None:
                part = "pelvis"  # 'Hip' alone: the pelvis (H36M, COCO 'mid_hip')
            return JointName(side, part, 1 if part == "hand" else 0)
    return JointName(side, None)
