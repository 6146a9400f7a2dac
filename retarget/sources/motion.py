"""The in-memory form every reader produces: named 3-D points over time, metres, z up."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class HumanMotion:
    """Named joint positions over time in a right-handed, z-up world frame, in metres.

    `rotations` holds global joint orientations when the source has them (BVH), else None.
    `parents[i]` is the index of joint i's parent (-1 for a root), or None for unstructured keypoints.
    """

    names: list[str]
    positions: np.ndarray  # [T, J, 3]
    fps: float
    source: str
    parents: list[int] | None = None
    rotations: np.ndarray | None = None  # [T, J, 3, 3]
    meta: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.positions.shape[0])

    def index(self, name: str) -> int:
        return self.names.index(name)

    def slice(self, start: int = 0, stop: int | None = None) -> HumanMotion:
        """Frames [start, stop): tests and previews use short ranges of long clips."""
        sl = slice(start, stop)
        return HumanMotion(
            names=list(self.names),
            positions=self.positions[sl],
            fps=self.fps,
            source=self.source,
            parents=self.parents,
            rotations=None if self.rotations is None else self.rotations[sl],
            meta={**self.meta, "frame_range": [start, stop if stop is not None else self.num_frames]},
        )


# Proper rotations taking a source's up axis to +z (y-up is the BVH/Unity/three.js norm); '-y' etc. for
# rigs that are upside down in their own axes.
UP_TO_Z = {
    "z": np.eye(3),
    "y": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]),
    "x": np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
    "-z": np.diag([1.0, -1.0, -1.0]),
    "-y": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]),
    "-x": np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]]),
}
UP_TO_Z.update({f"+{k}": v for k, v in list(UP_TO_Z.items()) if len(k) == 1})
