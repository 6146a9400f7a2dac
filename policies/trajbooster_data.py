"""TrajBooster's trajectory sources, one entry point: `load_source(path)` -> end-effector episodes.

- a LeRobot v3 folder of ALOHA demonstrations (`robolearn demos Aloha-...`): both gripper sites by forward
  kinematics of the ALOHA model from `observation.state`, turned into the G1's trajectory frame (the G1 stands
  at the table's -y side facing +y: x_traj = y, y_traj = -x), the dataset's task string as instruction;
- a `.pkl`: the Agibot-to-G1 release (retarget/ee_traj.load_agibot);
- a `.npz` clip of `robolearn retarget ... --robot g1` (human wrists), or a saved episode set (ee_traj.save).

Then `prepare` maps them onto the G1 (retarget/ee_workspace.py) and resamples them to the control rate.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import mujoco
import numpy as np
from scipy.spatial.transform import Rotation

from robolearn.policies.data import DatasetError, LeRobotDataset
from robolearn.retarget import ee_traj, ee_workspace
from robolearn.retarget.ee_traj import EETrajectory
from robolearn.retarget.errors import RetargetInputError, read_npz
from robolearn.robots import robot_model

ALOHA_SIDES = ("left", "right")
ALOHA_TO_G1 = Rotation.from_euler("z", -90, degrees=True)
"""ALOHA world -> trajectory frame: the G1 faces the table along ALOHA's +y, its left arm on ALOHA's -x."""
ARM_LENGTHS = {"aloha": 0.0, "agibot": 0.60, "g1": 0.0}
"""Source arm lengths (m) for the y scaling; 0: measured from the model (ALOHA, G1). The Agibot's is not in the
release; 0.60 m is the AgiBot G1's published arm reach, an assumption (`--source-arm-length` overrides)."""


def _aloha_fk() -> tuple[mujoco.MjModel, mujoco.MjData, list[list[int]], list[int]]:
    model = robot_model("aloha")
    data = mujoco.MjData(model)
    arms = [
        [
            model.jnt_qposadr[model.joint(f"{s}/{j}").id]
            for j in ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate")
        ]
        for s in ALOHA_SIDES
    ]
    sites = [model.site(f"{s}/gripper").id for s in ALOHA_SIDES]
    return model, data, arms, sites


def aloha_arm_length(samples: int = 2000, seed: int = 0) -> float:
    """Shoulder to gripper site of an ALOHA arm, the farthest over random joint configurations (its zero pose
    is bent, so it is no stretched arm)."""
    model, data, arms, sites = _aloha_fk()
    rng = np.random.default_rng(seed)
    joints = [model.joint(f"left/{j}").id for j in ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle",
                                                      "wrist_rotate")]  # fmt: skip
    lo, hi = model.jnt_range[joints, 0], model.jnt_range[joints, 1]
    shoulder = model.body("left/upper_arm_link").id
    best = 0.0
    for _ in range(samples):
        data.qpos[arms[0]] = rng.uniform(lo, hi)
        mujoco.mj_kinematics(model, data)
        best = max(best, float(np.linalg.norm(data.site_xpos[sites[0]] - data.xpos[shoulder])))
    return best


def load_aloha(path: str | Path) -> list[EETrajectory]:
    """Gripper-site trajectories of every episode of an ALOHA demo dataset."""
    path = Path(path)
    try:
        ds = LeRobotDataset(path)
        if "observation.state" not in ds.features:
            raise RetargetInputError(path, "observation.state", "missing (not an ALOHA demo dataset)")
        names = ds.features["observation.state"].get("names") or []
        task_names = {i: t for t, i in ds.tasks.items()}
        episodes = [ds.episode(i) for i in range(ds.num_episodes)]
    except DatasetError as exc:
        raise RetargetInputError(path, "dataset", str(exc)) from None
    model, data, arms, sites = _aloha_fk()
    cols = [[names.index(f"{s}/{j}") for j in ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle",
                                                "wrist_rotate")] for s in ALOHA_SIDES]  # fmt: skip
    out = []
    for i, ep in enumerate(episodes):
        where = f"{path}[episode {i}]"
        state = ep["observation.state"]
        ee_traj.check_finite(state, where, "observation.state")
        T = len(state)
        pos, quat = np.zeros((T, 2, 3)), np.zeros((T, 2, 4))
        for t in range(T):
            for k in range(2):
                data.qpos[arms[k]] = state[t, cols[k]]
            mujoco.mj_kinematics(model, data)
            for k in range(2):
                pos[t, k] = ALOHA_TO_G1.apply(data.site_xpos[sites[k]])
                rot = ALOHA_TO_G1 * Rotation.from_matrix(data.site_xmat[sites[k]].reshape(3, 3))
                quat[t, k] = rot.as_quat(scalar_first=True)
        text = task_names.get(int(ep["task_index"][0]), "") if len(ep["task_index"]) else ""
        out.append(EETrajectory(float(ds.fps), pos, quat, instruction=text, source=where))
    return out


def source_kind(path: Path) -> str:
    if path.is_dir():
        return "aloha"
    if path.suffix == ".pkl":
        return "agibot"
    if path.suffix == ".npz":
        return "g1" if "qpos" in read_npz(path, "trajectory source") else "episodes"
    raise RetargetInputError(path, "file", "expected an ALOHA LeRobot folder, an Agibot .pkl, a G1 clip .npz "
                             "(robolearn retarget --robot g1) or an episode set .npz")  # fmt: skip


def load_source(
    path: str | Path, quat_order: str = "xyzw", instruction: str = ""
) -> tuple[str, list[EETrajectory]]:
    """(kind, episodes) of a trajectory source; see the module docstring."""
    path = Path(path)
    if not path.exists():
        raise RetargetInputError(path, "file", "does not exist")
    kind = source_kind(path)
    if kind == "aloha":
        trajs = load_aloha(path)
    elif kind == "agibot":
        trajs = ee_traj.load_agibot(path, quat_order)
    elif kind == "g1":
        trajs = [ee_traj.load_clip(path, instruction)]
    else:
        trajs = ee_traj.load(path)
    if instruction:
        trajs = [replace(t, instruction=instruction) for t in trajs]
    return kind, trajs


def arm_length(kind: str, override: float | None = None) -> float:
    if override is not None:
        return override
    if kind == "aloha":
        return aloha_arm_length()
    if kind in ("g1", "episodes"):
        return ee_workspace.g1_reach().arm_length
    return ARM_LENGTHS[kind]


def prepare(trajs: list[EETrajectory], kind: str, fps: float, source_arm_length: float | None = None,
            stats: tuple[np.ndarray, np.ndarray] | None = None) -> list[EETrajectory]:  # fmt: skip
    """Workspace-mapped (a saved episode set is already mapped), resampled to `fps`, with a reference root."""
    if kind != "episodes":
        trajs = ee_workspace.map_workspace(trajs, arm_length(kind, source_arm_length), stats=stats,
                                           relative_orientation=kind != "g1")  # fmt: skip
    return [ee_workspace.with_reference_root(ee_traj.resample(t, fps)) for t in trajs]
