"""Export a trained policy: policy.onnx (normalization inside), policy.json (the contract), policy.pt.

The deploy runtime reads only these files. policy.json says, in order, how to build the observation
vector from robot state and commands, and how to turn the network output into PD joint targets:

    target = action_offset + action_scale * clip(action, -action_clip, action_clip)
    torque = kp * (target - q) - kd * qd        (every control_period seconds)
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mujoco
import numpy as np
import torch
from torch import nn

# The schema lives in a torch-free module so the deploy runtime can read it on a robot; re-exported here.
from robolearn.atomic import atomic_path
from robolearn.sim2real.schema import (  # noqa: F401
    EXPORT_VERSION,
    ONNX_INPUT,
    ONNX_OUTPUT,
    CommandSpec,
    ObsTermSpec,
    PolicyMetadata,
)

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv

ONNX_OPSET = 17


def _sha256_file(path: str | Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def policy_metadata(env: ManagerBasedRlEnv, task: str, obs_group: str = "policy") -> PolicyMetadata:
    cfg = env.cfg
    model = env.scene.model
    act = _joint_position_terms(env)
    group = cfg.observations[obs_group]
    dims = env.observation_manager.term_dims[obs_group]
    # PD servos are affine actuators: force = kp * ctrl - kp * q - kd * qd.
    affine = model.actuator_biastype == mujoco.mjtBias.mjBIAS_AFFINE
    kp = np.where(affine, model.actuator_gainprm[:, 0], 0.0)
    kd = np.where(affine, -model.actuator_biasprm[:, 2], 0.0)
    commands = []
    if "base_velocity" in env.command_manager:
        velocity = env.command_manager.get_term("base_velocity")
        commands = [CommandSpec(n, tuple(r)) for n, r in zip(velocity.names, velocity.ranges, strict=True)]
    return PolicyMetadata(
        version=EXPORT_VERSION,
        task=task,
        robot=cfg.scene.robot,
        joint_names=act.joint_names,
        default_joint_pos=act.offset,
        action_scale=act.scale,
        action_offset=act.offset,
        action_clip=act.clip,
        kp=kp[act.ctrl_ids].tolist(),
        kd=kd[act.ctrl_ids].tolist(),
        control_period=float(env.step_dt),
        sim_dt=float(cfg.sim.dt),
        obs_dim=env.observation_manager.group_dim(obs_group),
        observation_terms=[
            ObsTermSpec(
                n,
                dims[n],
                float(t.scale),
                t.clip,
                f"{t.func.__module__}:{t.func.__qualname__}",
                float(t.noise),
                _plain_params(t.params),
            )
            for n, t in group.terms.items()
        ],  # fmt: skip
        history_length=max(group.history_length, 1),
        commands=commands,
        model_file=str(env.scene.robot_source),
        model_file_sha256=_sha256_file(env.scene.robot_source),
        scene_xml_sha256=hashlib.sha256(env.scene.spec_xml.encode()).hexdigest(),
        base_body=cfg.base_body,
        obs_group=obs_group,
        extra={"action_terms": dict(env.action_manager.term_dims), **_reference_offsets(env), **_output_gain(env)},
    )


def _reference_offsets(env: ManagerBasedRlEnv) -> dict[str, Any]:
    """Action terms whose targets are offsets from a command's reference instead of `action_offset` (the
    tracking tasks' residual action: target = the command's first J entries + scale * action)."""
    terms = {n: getattr(t, "offset_command", None) for n, t in env.action_manager.terms.items()}
    named = {n: c for n, c in terms.items() if c}
    return {"action_offset_command": named} if named else {}


def _output_gain(env: ManagerBasedRlEnv) -> dict[str, Any]:
    """Per-joint factors on action_scale (the tracking tasks' effort-based scales): export_policy multiplies
    the network's output by them, so policy.onnx already emits gain * action and the deploy runtime applies
    the one action_scale (and feeds that output back as last_action, which the task observes likewise)."""
    gains = [getattr(t, "output_gain", None) for t in env.action_manager.terms.values()]
    if not any(g is not None for g in gains):
        return {}
    dims = env.action_manager.term_dims.values()
    return {"action_gain": [x for g, d in zip(gains, dims, strict=True) for x in (g or [1.0] * d)]}


@dataclass
class _JointTargets:
    joint_names: list[str]
    offset: list[float]
    scale: float
    clip: float
    ctrl_ids: list[int]


def _joint_position_terms(env: ManagerBasedRlEnv) -> _JointTargets:
    """The action terms as one joint-position target vector, the only action kind the deploy runtime runs:
    every term must be a joint-position term of the main robot, with one scale and clip."""
    from robolearn.core.actions import JointPositionAction

    terms = env.action_manager.terms
    bad = [n for n, t in terms.items() if not isinstance(t, JointPositionAction) or t.entity is not env.robot]
    if bad or not terms:
        raise ValueError(f"export: action terms {bad} are not joint-position terms of the main robot; "
                         f"the export contract carries joint-position targets only")  # fmt: skip
    terms_pos = [t for t in terms.values() if isinstance(t, JointPositionAction)]
    scales = {float(t.cfg.scale) for t in terms_pos}
    clips = {float(t.cfg.clip) for t in terms_pos}
    if len(scales) > 1 or len(clips) > 1:
        raise ValueError(f"export: the action terms {list(terms)} have different scales {sorted(scales)} or clips "
                         f"{sorted(clips)}; policy.json carries one of each")  # fmt: skip
    pos = terms_pos
    return _JointTargets(
        joint_names=[n for t in pos for n in t.joint_names],
        offset=[float(x) for t in pos for x in t.offset.cpu().double().tolist()],
        scale=scales.pop(), clip=clips.pop(), ctrl_ids=[c for t in pos for c in t.ctrl_ids],
    )  # fmt: skip


def _plain_params(params: dict[str, Any]) -> dict[str, Any]:
    """A term's parameters that JSON can carry (numbers, strings, lists); others stay training-side."""
    out = {}
    for key, value in params.items():
        try:
            out[key] = json.loads(json.dumps(value))
        except TypeError:
            continue
    return out


class ExportedPolicy(nn.Module):
    """Normalizer + MLP + deterministic head of an rsl_rl MLPModel, as one plain module."""

    def __init__(self, actor: Any, output_gain: list[float] | None = None):  # rsl_rl's MLPModel (untyped)
        super().__init__()
        gain = torch.tensor(output_gain, dtype=torch.float32) if output_gain is not None else None
        self.register_buffer("gain", gain)
        self.obs_normalizer = copy.deepcopy(actor.obs_normalizer).cpu().eval()
        self.mlp = copy.deepcopy(actor.mlp).cpu().eval()
        dist = actor.distribution
        self.head = dist.as_deterministic_output_module().cpu() if dist is not None else nn.Identity()

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        out = self.head(self.mlp(self.obs_normalizer(obs)))
        return out * self.gain if self.gain is not None else out


@dataclass
class ExportPaths:
    onnx: Path
    json: Path
    torchscript: Path


def _atomic_path(path: Path, write) -> None:
    with atomic_path(path) as tmp:
        write(str(tmp))


def export_policy(actor: nn.Module, meta: PolicyMetadata, out_dir: Path) -> ExportPaths:
    """Write policy.onnx, policy.json and policy.pt into `out_dir` (each atomically)."""
    out_dir = Path(out_dir)
    meta.validate(str(out_dir / "policy.json"))  # a file the deploy runtime would reject is never written
    out_dir.mkdir(parents=True, exist_ok=True)
    module = ExportedPolicy(actor, meta.extra.get("action_gain")).eval()
    dummy = torch.zeros(1, meta.obs_dim)
    paths = ExportPaths(out_dir / "policy.onnx", out_dir / "policy.json", out_dir / "policy.pt")

    def write_onnx(tmp: str) -> None:
        # The TorchScript-based exporter: it needs no onnxscript and handles this static graph exactly.
        torch.onnx.export(module, (dummy,), tmp, input_names=[ONNX_INPUT], output_names=[ONNX_OUTPUT],
                          dynamic_axes={ONNX_INPUT: {0: "batch"}, ONNX_OUTPUT: {0: "batch"}},
                          opset_version=ONNX_OPSET, dynamo=False)  # fmt: skip

    _atomic_path(paths.onnx, write_onnx)
    _atomic_path(paths.torchscript, lambda tmp: torch.jit.save(torch.jit.trace(module, dummy), tmp))
    _atomic_path(paths.json, lambda tmp: Path(tmp).write_text(meta.to_json()))
    return paths


def load_metadata(path: Path) -> PolicyMetadata:
    from robolearn.sim2real.schema import load_metadata as load

    return load(path)
