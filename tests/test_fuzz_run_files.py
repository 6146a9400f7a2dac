"""Property tests of the readers of what training and export write: policy.json, run folders' config.yaml,
checkpoints, and `--remove` override paths. Whatever a file holds, the reader loads it into values of the
right types or raises the project's own error (PolicySpecError, RunError) naming the file; `--remove` paths
either name a dict entry or get a ValueError naming the flag.

Every property starts from a real file: the pretrained H1 squat skill shipped in robolearn/assets (its
config.yaml and checkpoint) and the policy.json `robolearn export` writes for it. Hypothesis runs derandomized
(the same cases every run); ROBOLEARN_FUZZ_EXAMPLES raises the count for a longer hunt.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from fuzzing import EXAMPLES, FUZZ
from hypothesis import given, settings, strategies as st

from robolearn.policies.runs import CONFIG_FILE, RunError, load_checkpoint, read_config
from robolearn.policies.setup import spec_from_run
from robolearn.sim2real.schema import PolicyMetadata, PolicySpecError, load_metadata

SKILL = Path(__file__).resolve().parents[1] / "assets" / "skills" / "h1-squat"
NASTY_FLOATS = st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 0.0, -1.0])
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=10)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(10**20, 10**400), st.floats(), NASTY_FLOATS, TEXT
)
VALUES = st.one_of(
    NASTY_FLOATS,
    SCALARS,
    st.recursive(
        SCALARS,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=3)),
        max_leaves=10,
    ),
)


@st.composite
def place(draw: st.DrawFn, data: Any) -> tuple:
    """A path into nested dicts/lists, drawn one level at a time (stopping at each level with chance 1/3), so a
    short field such as a term's scale is hit as often as one item of a long list."""
    path: tuple = ()
    while isinstance(data, (dict, list)) and data and (not path or draw(st.integers(0, 2)) > 0):
        key = draw(st.sampled_from(sorted(data, key=str) if isinstance(data, dict) else range(len(data))))
        path, data = (*path, key), data[key]
    return path


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    """`base` with 1-3 values replaced (or removed from their dict)."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(place(data))
        if not path:
            continue
        node = data
        for key in path[:-1]:
            node = node[key]
        if isinstance(node, dict) and draw(st.integers(0, 5)) == 0:
            del node[path[-1]]
        else:
            node[path[-1]] = draw(VALUES)
    return data


@st.composite
def damaged_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` truncated, with bytes overwritten, or with a chunk cut out."""
    i = draw(st.integers(0, len(data) - 1))
    kind = draw(st.sampled_from(["truncate", "flip", "cut"]))
    if kind == "truncate":
        return data[:i]
    noise = draw(st.binary(min_size=1, max_size=8)) if kind == "flip" else b""
    return data[:i] + noise + data[i + draw(st.integers(0, 64)) if kind == "cut" else i + len(noise) :]


# -- policy.json ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """The H1 squat skill exported by the CLI, as a user does (`robolearn export <run>`)."""
    from robolearn.cli import main

    run = tmp_path_factory.mktemp("export") / "h1-squat"
    shutil.copytree(SKILL, run)
    assert main(["export", str(run)]) == 0
    return run / "policy.json"


def _check_policy(meta: PolicyMetadata) -> None:
    """What the deploy runtime relies on when a file loads."""
    n = meta.num_joints
    assert n and all(len(getattr(meta, f)) == n for f in ("default_joint_pos", "action_offset", "kp", "kd"))
    assert all(math.isfinite(v) for v in meta.default_joint_pos + meta.action_offset + meta.kp + meta.kd)
    for t in meta.observation_terms:
        assert isinstance(t.name, str) and t.name and isinstance(t.size, int) and not isinstance(t.size, bool)
        assert math.isfinite(t.scale) and math.isfinite(t.noise) and isinstance(t.params, dict)
        assert t.clip is None or (math.isfinite(t.clip) and t.clip > 0)
    for c in meta.commands:
        assert all(math.isfinite(v) for v in c.range) and c.range[0] <= c.range[1]
    assert meta.obs_dim == meta.frame_dim * meta.history_length
    for f in ("model_file", "model_file_sha256", "scene_xml_sha256", "checkpoint", "obs_group", "task"):
        assert isinstance(getattr(meta, f), str)
    assert isinstance(meta.extra, dict)


@FUZZ
@given(data=st.data())
def test_policy_json_fields_load_or_name_the_problem(exported, data):
    base = json.loads(exported.read_text())
    doc = data.draw(st.one_of(mutated(base), VALUES))
    text = json.dumps(doc, allow_nan=True, ensure_ascii=False)
    try:
        meta = PolicyMetadata.from_json(text, "runs/x/policy.json")
    except PolicySpecError as exc:
        assert str(exc).startswith("runs/x/policy.json: ")
        return
    _check_policy(meta)


@FUZZ
@given(data=st.data())
def test_damaged_policy_json_file_loads_or_names_it(exported, data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "policy.json"
        path.write_bytes(data.draw(damaged_bytes(exported.read_bytes())))
        try:
            _check_policy(load_metadata(path))
        except PolicySpecError as exc:
            assert str(path) in str(exc)


# -- run folders: config.yaml ------------------------------------------------------------------------------

CONFIG = yaml.safe_load((SKILL / CONFIG_FILE).read_text())


def _run_with_config(folder: str, text: str | bytes) -> Path:
    run = Path(folder) / "run"
    (run / "checkpoints").mkdir(parents=True)
    path = run / CONFIG_FILE
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    return run


def _check_spec(run: Path) -> None:
    """spec_from_run: the configs of a run, or RunError naming config.yaml."""
    try:
        spec = spec_from_run(run)
    except RunError as exc:
        assert CONFIG_FILE in str(exc), exc
        return
    default = type(spec.env)()
    for f in dataclasses.fields(spec.env):  # every field has its default's type (None: any)
        value, ref = getattr(spec.env, f.name), getattr(default, f.name)
        if ref is not None and value is not None and not callable(ref):
            assert isinstance(value, type(ref)) or (
                isinstance(ref, (int, float)) and isinstance(value, (int, float))
            ), f.name
    assert isinstance(spec.seed, int) and isinstance(spec.device, str)


@FUZZ
@given(doc=mutated(CONFIG))
def test_config_yaml_fields_load_or_name_the_problem(doc):
    with tempfile.TemporaryDirectory() as d:
        _check_spec(_run_with_config(d, yaml.safe_dump(doc, allow_unicode=True)))


@FUZZ
@given(data=damaged_bytes((SKILL / CONFIG_FILE).read_bytes()))
def test_damaged_config_yaml_loads_or_names_it(data: bytes):
    with tempfile.TemporaryDirectory() as d:
        _check_spec(_run_with_config(d, data))


def test_config_yaml_of_every_shipped_skill_still_loads():
    for skill in sorted((SKILL.parent).iterdir()):
        spec = spec_from_run(skill)
        assert spec.task == read_config(skill)["task"]


# -- checkpoints --------------------------------------------------------------------------------------------

CKPT = next((SKILL / "checkpoints").glob("model_*.pt"))


def _check_checkpoint(run: Path, ckpt: Path) -> None:
    """A loaded checkpoint holds a state dict; a bad one is named, with the run's earlier good one."""
    good = run / "checkpoints" / "model_000001.pt"
    shutil.copy(CKPT, good)
    try:
        _, state = load_checkpoint(run, ckpt)
    except RunError as exc:
        assert str(ckpt) in str(exc) and f"the previous good checkpoint is {good}" in str(exc)
        return
    weights = state.get("student_state_dict") or state.get("actor_state_dict")
    assert isinstance(weights, dict) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in weights.items()
    )


@settings(FUZZ, max_examples=max(10, EXAMPLES // 3))  # each case unpickles a 100 kB file twice
@given(data=damaged_bytes(CKPT.read_bytes()))
def test_damaged_checkpoint_loads_or_names_it(data: bytes):
    with tempfile.TemporaryDirectory() as d:
        ckpt = Path(d) / "run" / "checkpoints" / CKPT.name
        ckpt.parent.mkdir(parents=True)
        ckpt.write_bytes(data)
        _check_checkpoint(ckpt.parent.parent, ckpt)


STATE = torch.load(CKPT, map_location="cpu", weights_only=False)


@FUZZ
@given(key=st.sampled_from(sorted(STATE)), value=VALUES)
def test_checkpoint_entries_load_or_name_the_problem(key: str, value: Any):
    with tempfile.TemporaryDirectory() as d:
        ckpt = Path(d) / "run" / "checkpoints" / CKPT.name
        ckpt.parent.mkdir(parents=True)
        torch.save({**STATE, key: value}, ckpt)
        _check_checkpoint(ckpt.parent.parent, ckpt)


# -- override strings: --remove paths ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def squat_configs():
    from robolearn.policies.setup import default_spec

    return default_spec("H1-Skill-Squat", "ppo", "cpu")


REMOVE_PARTS = st.one_of(
    st.sampled_from(["env", "agent", "rewards", "events", "observations", "policy", "terms", "sim", "dt",
                     "scene", "stand-still", "base_height", "joint-pos", "", "..", "_", "-"]),
    TEXT,
)  # fmt: skip


@FUZZ
@given(paths=st.lists(st.lists(REMOVE_PARTS, min_size=1, max_size=5).map(".".join), min_size=1, max_size=3))
def test_remove_paths_remove_an_entry_or_name_the_flag(squat_configs, paths):
    from robolearn.overrides import remove_entries

    env, agent = (copy.deepcopy(c) for c in squat_configs)
    try:
        remove_entries({"env": env, "agent": agent}, paths)
    except ValueError as exc:
        assert str(exc).startswith("--remove ")
