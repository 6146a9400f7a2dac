"""Export the BiDex point-cloud student to ONNX with its point-cloud input (run by
robolearn.sim2real.pointcloud_runtime on numpy + onnxruntime)."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from robolearn.atomic import atomic_path, write_bytes
from robolearn.core.env import ManagerBasedRlEnv
from robolearn.policies.bidex.student import STUDENT_GROUP, PointNetStudent
from robolearn.sim2real.pointcloud_runtime import FORMAT


class _Split(torch.nn.Module):
    def __init__(self, student: PointNetStudent):
        super().__init__()
        self.student = student

    def forward(self, proprio: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        return self.student.forward_split(proprio, points)


def export_student(student: PointNetStudent, env: ManagerBasedRlEnv, folder: Path) -> Path:
    """policy.onnx (inputs `proprio` (B, D), `points` (B, P, 3); output `actions` (B, A)) and policy.json."""
    folder.mkdir(parents=True, exist_ok=True)
    student = student.eval()
    proprio = torch.zeros(1, student.proprio_dim)
    points = torch.zeros(1, student.num_points, 3)
    with atomic_path(folder / "policy.onnx") as tmp:
        torch.onnx.export(_Split(student), (proprio, points), str(tmp), input_names=["proprio", "points"],
                          output_names=["actions"], dynamic_axes={"proprio": {0: "batch"}, "points": {0: "batch"},
                                                                  "actions": {0: "batch"}},
                          opset_version=17, dynamo=False)  # fmt: skip
    terms = env.observation_manager.term_dims[STUDENT_GROUP]
    actions = {name: {"entity": t.cfg.entity, "joints": t.joint_names, "scale": getattr(t.cfg, "scale", 1.0)}
               for name, t in env.action_manager.terms.items()}  # fmt: skip
    meta = {"format": FORMAT, "proprio_dim": student.proprio_dim, "num_points": student.num_points,
            "action_dim": student.action_dim, "observation_terms": terms, "actions": actions}  # fmt: skip
    write_bytes(folder / "policy.json", json.dumps(meta, indent=1).encode())
    return folder / "policy.onnx"
