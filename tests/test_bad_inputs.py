"""Bad inputs a user can hand the CLI: each ends with exit code 2 and one message naming the file and what
is wrong, no traceback, and nothing written (no output file, no temp file, no run folder).

The property tests of every reader are in test_fuzz_retarget_readers.py and test_fuzz_run_files.py; these
cases run the same damage through `robolearn <verb>` as a user meets it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from robolearn.cli import main

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ROBOLEARN_DATA", REPO.parent / "shared" / "data"))
CMU_BVH = DATA / "mocap" / "cmu" / "131_01.bvh"
SKILL = REPO / "assets" / "skills" / "h1-squat"


def _short_bvh() -> str:
    head, motion = CMU_BVH.read_text().split("MOTION")
    lines = motion.strip().splitlines()
    return head + "MOTION\nFrames: 3\n" + "\n".join(lines[1:5]) + "\n"


def flat(text: str) -> str:
    """Output without whitespace: rich wraps long paths at the console's width."""
    return "".join(text.split())


def assert_named_error(capsys, rc: int, *needles: str) -> str:
    out = capsys.readouterr()
    text = out.out + out.err
    assert rc == 2, text
    assert "Traceback" not in text, text
    for needle in needles:
        assert flat(needle) in flat(text), (needle, text)
    return text


def assert_nothing_written(folder: Path, before: set[Path]) -> None:
    assert set(folder.rglob("*")) == before, sorted(set(folder.rglob("*")) - before)


# -- robolearn retarget ------------------------------------------------------------------------------------

BAD_BODY_FILES = {
    "truncated.bvh": lambda: _short_bvh().rstrip().rsplit("\n", 1)[0],  # the last frame cut off
    "negative_channels.bvh": lambda: _short_bvh().replace("CHANNELS 3", "CHANNELS -3", 1),
    "offset_outside.bvh": lambda: _short_bvh().replace("HIERARCHY", "HIERARCHY\nOFFSET 0 0 0", 1),
    "zero_frame_time.bvh": lambda: re.sub(r"Frame Time:.*", "Frame Time: 0", _short_bvh()),
    "huge_offset.bvh": lambda: _short_bvh().replace("OFFSET 0 0 0", "OFFSET 1e308 1e308 1e308", 1),
    "nan.json": lambda: '{"names": ["Hips"], "positions": [[[NaN, 0, 1]]], "fps": 30}',
    "list.json": lambda: "[1, 2, 3]",
    "fps_text.json": lambda: '{"names": ["Hips"], "positions": [[[0, 0, 1]]], "fps": "thirty"}',
    "units_list.json": lambda: '{"names": ["Hips"], "positions": [[[0, 0, 1]]], "fps": 30, "units": ["m"]}',
    "latin1.csv": lambda: "time,h\xfcfte_x,h\xfcfte_y,h\xfcfte_z\n0,0,0,1\n0.1,0,0,1\n",
    "ragged.csv": lambda: "time,Hips_x,Hips_y,Hips_z\n0,0,0,1\n0.1,0,0\n",
}
FIELDS = {
    "truncated.bvh": "Frames", "negative_channels.bvh": "CHANNELS", "offset_outside.bvh": "HIERARCHY",
    "zero_frame_time.bvh": "Frame Time", "huge_offset.bvh": "OFFSET", "nan.json": "positions",
    "list.json": "file", "fps_text.json": "fps", "units_list.json": "units", "latin1.csv": "file",
    "ragged.csv": "rows",
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD_BODY_FILES))
def test_retarget_bad_file_exits_2_naming_file_and_field(tmp_path, capsys, name):
    src = tmp_path / name
    text = BAD_BODY_FILES[name]()
    src.write_bytes(text.encode("latin-1") if name == "latin1.csv" else text.encode())
    before = set(tmp_path.rglob("*"))
    rc = main(["retarget", str(src), "--robot", "g1", "--out", str(tmp_path / "out" / "clip.npz")])
    assert_named_error(capsys, rc, str(src), f"field '{FIELDS[name]}'")
    assert_nothing_written(tmp_path, before)


def test_retarget_damaged_npz_with_unicode_name_exits_2(tmp_path, capsys):
    src = tmp_path / "bewegung_動き.npz"
    with src.open("wb") as f:
        np.savez(f, names=np.array(["Hüfte"]), positions=np.zeros((2, 1, 3)), fps=np.float64(30))
    src.write_bytes(src.read_bytes()[:-40])  # cut into the zip's directory
    before = set(tmp_path.rglob("*"))
    rc = main(["retarget", str(src), "--robot", "g1"])
    assert_named_error(capsys, rc, str(src), "not a readable keypoint .npz")
    assert_nothing_written(tmp_path, before)


def test_retarget_bad_file_exit_status_of_the_process(tmp_path):
    """As a shell sees it: status 2, one error line on the terminal, no traceback."""
    src = tmp_path / "clip.bvh"
    src.write_text(_short_bvh().rstrip().rsplit("\n", 1)[0])
    proc = subprocess.run([sys.executable, "-m", "robolearn.cli", "retarget", str(src)],
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "300"})  # fmt: skip
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert [ln for ln in proc.stderr.splitlines() if ln.strip()] == [
        f"error: {src}: field 'Frames': header says 3 frames but 2 motion lines follow (truncated file?)"
    ]
    assert sorted(tmp_path.iterdir()) == [src]


# -- robolearn deploy: policy.json -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported_run(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("deploy") / "h1-squat"
    shutil.copytree(SKILL, run)
    assert main(["export", str(run)]) == 0
    return run


BAD_POLICY_JSON = {
    "not_utf8": (b"\xff\xfe{", "not a UTF-8 text file"),
    "truncated": (None, "not valid JSON"),
    "huge_int_kp": ("kp", "kp must be a list of finite numbers"),
    "nan_scale": ("scale", "has a bad scale or clip"),
    "string_noise": ("noise", "has noise"),
}


@pytest.mark.parametrize("case", sorted(BAD_POLICY_JSON))
def test_deploy_bad_policy_json_exits_2_naming_it(exported_run, tmp_path, capsys, case):
    import json

    run = tmp_path / "run"
    shutil.copytree(exported_run, run)
    path = run / "policy.json"
    damage, message = BAD_POLICY_JSON[case]
    good = json.loads(path.read_text())
    if isinstance(damage, bytes):
        path.write_bytes(damage)
    elif damage is None:
        path.write_text(path.read_text()[:200])
    else:
        if case == "huge_int_kp":
            good["kp"][0] = 10**400
        elif case == "nan_scale":
            good["observation_terms"][0]["scale"] = float("nan")
        else:
            good["observation_terms"][0]["noise"] = "0.1"
        path.write_text(json.dumps(good))
    before = set(tmp_path.rglob("*"))
    rc = main(["deploy", str(run), "--sim2sim", "--duration", "0.1", "--no-compare", "--no-realtime"])
    assert_named_error(capsys, rc, str(path), message)
    assert_nothing_written(tmp_path, before)


# -- robolearn eval / export: run folders ------------------------------------------------------------------


def _run_copy(tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "H1-Skill-Squat" / "squat"
    shutil.copytree(SKILL, run)
    return run


def test_eval_truncated_checkpoint_names_it_and_the_previous_good_one(tmp_path, capsys):
    run = _run_copy(tmp_path)
    good = next((run / "checkpoints").glob("*.pt"))
    bad = good.with_name("model_002000.pt")
    bad.write_bytes(good.read_bytes()[:5000])  # a copy cut short, as by a full disk
    before = set(tmp_path.rglob("*"))
    rc = main(["eval", str(run), "--episodes", "1"])
    assert_named_error(capsys, rc, str(bad), "corrupt or unreadable", f"previous good checkpoint is {good}")
    assert_nothing_written(tmp_path, before)


def test_export_checkpoint_without_weights_exits_2(tmp_path, capsys):
    run = _run_copy(tmp_path)
    ckpt = next((run / "checkpoints").glob("*.pt"))
    state = torch.load(ckpt, weights_only=False)
    torch.save({**state, "actor_state_dict": [1, 2, 3]}, ckpt)
    before = set(tmp_path.rglob("*"))
    rc = main(["export", str(run)])
    assert_named_error(capsys, rc, str(ckpt), "not a state dict")
    assert_nothing_written(tmp_path, before)


BAD_CONFIGS = {
    "  num_envs: 256\n  decimation": (
        "  num_envs: lots\n  decimation",
        "env.num_envs: expected int or float",
    ),
    "task: H1-Skill-Squat": ("task: H1-Skill-Sqaut", "unknown task 'H1-Skill-Sqaut'"),
    "seed: 0": ("seed: [0]", "'seed' must be a int"),
    "  rewards:\n": ("  rewards: 3\n  old_rewards:\n", "env.rewards: expected a mapping"),
    "  symmetry: false\n  extra": (
        "  symmetry: false\n  bf16_update: sometimes\n  extra",
        "agent.bf16_update: expected bool or 'auto', got 'sometimes'",
    ),
    "agent:\n  num_envs: 256": ("agent:\n  num_envs: lots", "agent.num_envs: expected int or null, got 'lots'"),
}


@pytest.mark.parametrize("line", sorted(BAD_CONFIGS))
def test_eval_bad_config_yaml_exits_2_naming_the_field(tmp_path, capsys, line):
    run = _run_copy(tmp_path)
    path = run / "config.yaml"
    text = path.read_text()
    replacement, message = BAD_CONFIGS[line]
    assert line in text
    path.write_text(text.replace(line, replacement, 1))
    before = set(tmp_path.rglob("*"))
    rc = main(["eval", str(run), "--episodes", "1"])
    assert_named_error(capsys, rc, str(path), message)
    assert_nothing_written(tmp_path, before)


def test_eval_config_yaml_not_utf8_exits_2(tmp_path, capsys):
    run = _run_copy(tmp_path)
    path = run / "config.yaml"
    path.write_bytes(path.read_bytes().replace(b"H1-Skill-Squat", "H1-Übung".encode("latin-1"), 1))
    rc = main(["eval", str(run), "--episodes", "1"])
    assert_named_error(capsys, rc, str(path), "not valid YAML")


# -- override strings ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--remove", "env.rewards.größe"], "--remove env.rewards.größe: env.rewards has no entry 'größe'"),
        (["--remove", "env"], "--remove env: expected <agent|env>.<field>...<entry>"),
        (["--remove", "env.sim.dt.x"], "--remove env.sim.dt.x: env.sim.dt.x is not an entry of a dict"),
        (["--env.sim.dt", "1e400x"], "env.sim.dt"),
        (["--num-envs", "-"], "num-envs"),
    ],
)
def test_train_bad_override_exits_2_and_makes_no_run_folder(tmp_path, capsys, flags, message):
    rc = main(
        ["train", "H1-Skill-Squat", "--logdir", str(tmp_path / "runs"), "--max-iterations", "1", *flags]
    )
    assert_named_error(capsys, rc, message)
    assert not (tmp_path / "runs").exists()


def test_bvh_offsets_that_overflow_are_named_when_units_are_given(tmp_path):
    """With units and up axis given, nothing checks the skeleton's size: positions summing past float range
    (1e308 + 1e308) are refused instead of returned as inf."""
    from robolearn.retarget.errors import RetargetInputError
    from robolearn.retarget.sources import load_bvh

    path = tmp_path / "huge.bvh"
    path.write_text(re.sub(r"OFFSET .*", "OFFSET 1e308 1e308 1e308", _short_bvh()))
    with pytest.raises(RetargetInputError, match="beyond 1e12") as info:
        load_bvh(path, units="m", up="y")
    assert info.value.field == "OFFSET" and info.value.source == str(path)


# -- hand sources: keypoint .npy and marker gloves ---------------------------------------------------------

HAND_NPY = DATA / "hands" / "human_joint_right.npy"


def _glove(tmp_path: Path) -> tuple[Path, dict]:
    """A glove whose markers sit on the shared dex-retargeting hand points (mm), and its hand map."""
    from robolearn.retarget.sources.hands import HAND_POINTS

    points = ["wrist", "index_mcp", "pinky_mcp", "thumb_tip", "index_tip", "middle_tip"]
    kp = 1000.0 * np.load(HAND_NPY)[:10, [HAND_POINTS.index(p) for p in points]]
    rows = ["time," + ",".join(f"M_{p}_{a}" for p in points for a in "xyz")]
    rows += [f"{t / 30:.4f}," + ",".join(f"{v:.3f}" for v in frame.ravel()) for t, frame in enumerate(kp)]
    src = tmp_path / "glove.csv"
    src.write_text("\n".join(rows) + "\n")
    hand_map = {"units": "mm", "side": "right", "points": {p: f"M_{p}" for p in points}}
    return src, hand_map


@pytest.mark.parametrize(
    "edit, field",
    [
        (lambda m: m.update(units=["mm"]), "units"),
        (lambda m: m.update(side={"right": True}), "side"),
        (lambda m: m.update(fps=float("inf")), "fps"),
        (lambda m: m.update(fps=True), "fps"),
    ],
)
def test_retarget_bad_hand_map_exits_2_naming_it(tmp_path, capsys, edit, field):
    import json

    src, hand_map = _glove(tmp_path)
    edit(hand_map)
    map_path = tmp_path / "glove_map.json"
    map_path.write_text(json.dumps(hand_map))
    before = set(tmp_path.rglob("*"))
    rc = main(["retarget", str(src), "--robot", "leap_hand", "--hand-map", str(map_path), "--fps", "30"])
    assert_named_error(capsys, rc, str(map_path), f"field '{field}'")
    assert_nothing_written(tmp_path, before)


def test_retarget_glove_csv_not_utf8_exits_2(tmp_path, capsys):
    import json

    src, hand_map = _glove(tmp_path)
    src.write_bytes(src.read_bytes().replace(b"M_wrist", "M_Handgelenk_ä".encode("latin-1")))
    map_path = tmp_path / "glove_map.json"
    map_path.write_text(json.dumps(hand_map))
    before = set(tmp_path.rglob("*"))
    rc = main(["retarget", str(src), "--robot", "leap_hand", "--hand-map", str(map_path), "--fps", "30"])
    assert_named_error(capsys, rc, str(src), "not a readable UTF-8 CSV")
    assert_nothing_written(tmp_path, before)


def test_retarget_truncated_hand_npy_exits_2(tmp_path, capsys):
    src = tmp_path / "hand.npy"
    src.write_bytes(HAND_NPY.read_bytes()[:100])  # the header alone, cut
    before = set(tmp_path.rglob("*"))
    rc = main(["retarget", str(src), "--robot", "leap_hand"])
    assert_named_error(capsys, rc, str(src), "field 'file'")
    assert_nothing_written(tmp_path, before)
