"""Deploy runtime of point-cloud policies (the BiDex student): policy.onnx + policy.json on onnxruntime.

numpy and onnxruntime only, like deploy.py. Inputs: proprioception (D,) in the training observation's
order (policy.json lists its terms) and a point cloud (P, 3) of the items and hands in the table frame;
output: the joint-target actions (A,) of the action terms policy.json lists.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

FORMAT = "robolearn-pointcloud/1"


class PointCloudSpecError(ValueError):
    pass


class PointCloudPolicy:
    def __init__(self, folder: str | Path, threads: int = 1):
        from robolearn.sim2real.deploy import onnx_session

        folder = Path(folder)
        json_path = folder / "policy.json"
        if not json_path.is_file():
            raise FileNotFoundError(f"{json_path}: missing; export the student first")
        meta = json.loads(json_path.read_text())
        if meta.get("format") != FORMAT:
            raise PointCloudSpecError(f"{json_path}: field 'format' is {meta.get('format')!r}, expected {FORMAT!r}")
        self.meta = meta
        self.proprio_dim, self.num_points = int(meta["proprio_dim"]), int(meta["num_points"])
        self.session = onnx_session(folder / "policy.onnx", threads)

    def act(self, proprio: np.ndarray, points: np.ndarray) -> np.ndarray:
        """(D,) or (B, D) proprioception and (P, 3) or (B, P, 3) points -> (A,) or (B, A) actions."""
        single = proprio.ndim == 1
        p = np.asarray(proprio, dtype=np.float32).reshape(-1, self.proprio_dim)
        c = np.asarray(points, dtype=np.float32).reshape(p.shape[0], -1, 3)
        if c.shape[1] != self.num_points:
            raise PointCloudSpecError(f"points: expected {self.num_points} points, got {c.shape[1]}")
        out = self.session.run(["actions"], {"proprio": p, "points": c})[0]
        return out[0] if single else out

    def latency_ms(self, runs: int = 200) -> tuple[float, float]:
        """(median, 95th percentile) of one single-observation inference, in ms."""
        rng = np.random.default_rng(0)
        p = rng.standard_normal(self.proprio_dim).astype(np.float32)
        c = rng.standard_normal((self.num_points, 3)).astype(np.float32)
        for _ in range(10):
            self.act(p, c)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            self.act(p, c)
            times.append((time.perf_counter() - t) * 1e3)
        return float(np.median(times)), float(np.percentile(times, 95))
