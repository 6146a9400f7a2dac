"""policy.json validation: clear errors naming the field or the joint at fault."""

from __future__ import annotations

import json

import pytest

from robolearn.sim2real.schema import (
    EXPORT_VERSION,
    PolicyMetadata,
    PolicySpecError,
    check_joints,
    load_metadata,
)
from robolearn.sim2real.unitree import GO2_JOINTS

TERMS = [("base_ang_vel", 3, 0.25), ("projected_gravity", 3, 1.0), ("velocity_command", 3, 1.0),
         ("joint_pos", 12, 1.0), ("joint_vel", 12, 0.05), ("last_action", 12, 1.0)]  # fmt: skip


def go2_dict() -> dict:
    n = len(GO2_JOINTS)
    default = [0.0, 0.9, -1.8] * 4
    return {
        "version": EXPORT_VERSION, "task": "Go2-Velocity-Flat", "robot": "go2", "joint_names": list(GO2_JOINTS),
        "default_joint_pos": default, "action_scale": 0.25, "action_offset": default, "action_clip": 100.0,
        "kp": [35.0] * n, "kd": [0.5] * n, "control_period": 0.02, "sim_dt": 0.004, "obs_dim": 45,
        "observation_terms": [{"name": a, "size": b, "scale": c} for a, b, c in TERMS],
        "history_length": 1,
        "commands": [{"name": k, "range": [-1, 1]} for k in ("lin_vel_x", "lin_vel_y", "ang_vel_z")],
        "model_file": "go2_mjx.xml", "model_file_sha256": "", "scene_xml_sha256": "",
    }  # fmt: skip


def parse(d: dict) -> PolicyMetadata:
    return PolicyMetadata.from_json(json.dumps(d), "runs/x/policy.json")


def test_valid_file_round_trips(tmp_path):
    meta = parse(go2_dict())
    assert meta.num_joints == 12 and meta.frame_dim == 45
    (tmp_path / "policy.json").write_text(meta.to_json())
    assert load_metadata(tmp_path) == meta  # a run folder is accepted
    check_joints(meta.joint_names, GO2_JOINTS)


def test_missing_joint_is_rejected_naming_it():
    meta = parse(go2_dict())
    joints = [j for j in meta.joint_names if j != "RL_thigh_joint"]
    with pytest.raises(PolicySpecError, match="'RL_thigh_joint'.*missing"):
        check_joints(joints, GO2_JOINTS)


def test_reordered_joint_is_rejected_naming_it():
    d = go2_dict()
    j = d["joint_names"]
    j[0], j[3] = j[3], j[0]  # FL_hip <-> FR_hip
    meta = parse(d)  # self-consistent, but the wrong order for the robot
    with pytest.raises(PolicySpecError, match="'FR_hip_joint' is listed at index 0.*reordered"):
        check_joints(meta.joint_names, GO2_JOINTS)


def test_unknown_and_duplicate_joints():
    d = go2_dict()
    d["joint_names"][5] = "FR_knee"
    with pytest.raises(PolicySpecError, match="'FR_calf_joint' of the robot is missing"):
        check_joints(parse(d).joint_names, GO2_JOINTS)
    d["joint_names"][5] = "FR_hip_joint"
    with pytest.raises(PolicySpecError, match=r"\['FR_hip_joint'\] more than once"):
        parse(d)


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("kp", [35.0] * 11, "kp has 11 values, expected 12"),
        ("obs_dim", 48, "obs_dim is 48 but the terms sum to 45"),
        ("version", EXPORT_VERSION + 1, "export version"),
        ("control_period", 0.0, "control_period must be a positive number"),
        ("default_joint_pos", [0.0] * 11 + [float("nan")], "default_joint_pos must be a list of finite"),
        ("history_length", 0, "history_length must be a positive integer"),
        ("action_scale", 1e6, r"action_scale is 1e\+06, expected at most 6\.283"),
        ("action_scale", float("inf"), "action_scale must be a positive number"),
    ],
)
def test_bad_fields_are_named(field, value, message):
    d = go2_dict()
    d[field] = value
    with pytest.raises(PolicySpecError, match=message):
        parse(d)


def test_missing_field_and_bad_json():
    d = go2_dict()
    del d["kd"]
    with pytest.raises(PolicySpecError, match=r"missing fields \['kd'\]"):
        parse(d)
    with pytest.raises(PolicySpecError, match="not valid JSON"):
        PolicyMetadata.from_json("{", "p.json")
    with pytest.raises(FileNotFoundError, match="robolearn export"):
        load_metadata("/nonexistent/policy.json")


def test_deploy_runtime_imports_neither_torch_nor_mujoco():
    """What runs on the robot: schema, robot, observation, safety, deploy loop, Unitree adapter."""
    import subprocess
    import sys

    code = (
        "import sys; import robolearn.sim2real.deploy, robolearn.sim2real.unitree, robolearn.sim2real.safety;"
        "heavy = sorted(m for m in ('torch', 'mujoco', 'mjbatch', 'robolearn.core', 'robolearn.policies') "
        "if m in sys.modules); print(heavy); sys.exit(1 if heavy else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
