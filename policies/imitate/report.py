"""The report of `robolearn imitate`: report.json (every stage's figures) and report.md (the same, readable)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from robolearn.policies.imitate.manifest import StageResult, StageRunner
from robolearn.policies.runs import atomic_write_text

RETARGET_KEYS = ("keypoint_error_overall", "orientation_error_mean_deg", "limit_violations", "foot_skating",
                 "penetration_mm", "self_collision_frames", "verdict")  # fmt: skip
"""Per-body entries (orientation errors) are reported as their mean over bodies."""
SIM2SIM_KEYS = ("success", "mpjpe_mm", "root_mpjpe_mm", "anchor_pos_m")


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _scalar(v: Any) -> Any:
    if isinstance(v, dict) and v and "mean" not in v and all(isinstance(x, (int, float)) for x in v.values()):
        return sum(v.values()) / len(v)
    return v


def _fmt(v: Any) -> str:
    if isinstance(v, dict) and "mean" in v:
        ci = v.get("ci95")
        return f"{v['mean']:.4g}" + (f" ± {ci:.2g}" if isinstance(ci, (int, float)) else "")
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def eval_rows(ev: dict[str, Any]) -> dict[str, Any]:
    """The numeric figures of eval.json (mean ± CI entries and plain numbers), flattened one level."""
    return {
        k: v for k, v in ev.items() if isinstance(v, (int, float)) or (isinstance(v, dict) and "mean" in v)
    }


def write_report(run: Path, task: str, runner: StageRunner) -> StageResult:
    retarget, ev, s2s = _read(run / "retarget.json"), _read(run / "eval.json"), _read(run / "sim2sim.json")
    recorded = runner.manifest.stages
    stages = {r.name: {"ran": r.ran, "seconds": round(r.seconds if r.ran else recorded[r.name]["seconds"], 2)}
              for r in runner.records}  # fmt: skip
    report: dict[str, Any] = {
        "task": task,
        "stages": stages,
        "retarget": {clip: {k: _scalar(m.get(k)) for k in RETARGET_KEYS} for clip, m in retarget.items()},
        "train_env_eval": eval_rows(ev),
        "sim2sim": {k: s2s.get(k) for k in (*SIM2SIM_KEYS, "episodes", "latency_ms", "noise", "failures")},
        "sim2sim_per_clip": {
            c: {k: v.get(k) for k in SIM2SIM_KEYS} for c, v in s2s.get("per_clip", {}).items()
        },
        "files": {
            "policy": "export/policy.onnx",
            "contract": "export/policy.json",
            "motion": "export/motion.npz",
            "video": "video.mp4" if (run / "video.mp4").is_file() else None,
        },  # fmt: skip
    }
    atomic_write_text(run / "report.json", json.dumps(report, indent=2, default=str))
    lines = [f"# imitate: {task}", "", f"Run folder `{run}`.", "", "## Stages", "", "| stage | ran | seconds |",
             "|---|---|---|"]  # fmt: skip
    lines += [f"| {n} | {'yes' if s['ran'] else 'no: unchanged since a run that took'} | {s['seconds']} |"
              for n, s in stages.items()]  # fmt: skip
    lines += ["", "## Retargeting", "", "| clip | " + " | ".join(RETARGET_KEYS) + " |",
              "|---" * (len(RETARGET_KEYS) + 1) + "|"]  # fmt: skip
    lines += [
        f"| {c} | " + " | ".join(_fmt(m.get(k)) for k in RETARGET_KEYS) + " |"
        for c, m in report["retarget"].items()
    ]
    lines += ["", "## Training env (robolearn eval) and sim2sim (full model, latency "
              f"{s2s.get('latency_ms')} ms, noise x{s2s.get('noise')})", "", "| clip | metric | train env | sim2sim |",
              "|---|---|---|---|"]  # fmt: skip
    train_clips = ev.get("clips", {})
    for clip, v in report["sim2sim_per_clip"].items():
        lines += [
            f"| {clip} | {k} | {_fmt(train_clips.get(clip, {}).get(k))} | {_fmt(v.get(k))} |"
            for k in SIM2SIM_KEYS
        ]
    lines += ["", "All training-env figures:", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in report["train_env_eval"].items()]
    atomic_write_text(run / "report.md", "\n".join(lines) + "\n")
    _print(report)
    return StageResult(["report.json", "report.md"])


def _print(report: dict[str, Any]) -> None:
    table = Table(title=f"imitate {report['task']}: sim2sim on the full model")
    table.add_column("clip")
    for k in SIM2SIM_KEYS:
        table.add_column(k.replace("_", " "), justify="right")
    for clip, v in report["sim2sim_per_clip"].items():
        table.add_row(clip, *(_fmt(v.get(k)) for k in SIM2SIM_KEYS))
    Console().print(table)
