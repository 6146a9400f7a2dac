"""SMPL-family sources: AMASS parameter files (SMPL / SMPL-H / SMPL-X through `smplx`) and joint-position
arrays in the SMPL 22-joint order (HumanML3D's new_joints/*.npy).

  AMASS .npz : poses [T, 72|156|165] (axis-angle, root first), trans [T, 3], betas [B], mocap_framerate
               (SMPL-H) or mocap_frame_rate (SMPL-X); optional gender, surface_model_type. Z up, metres.
  .npy       : [T, 22, 3] joint positions, SMPL order, Y up, metres; no rate inside (HumanML3D: 20 fps).

The body models are licence-gated (MPI): they are never shipped, the user points --body-model at them.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

from ..errors import RetargetInputError, as_float_array, as_number, check_finite, read_npz, read_numpy
from .motion import UP_TO_Z, HumanMotion

SMPL_JOINTS = [
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
]  # fmt: skip
# SMPL's 'foot' joint sits at the ball of the foot: it is the canonical toe point.
_RENAME = {"left_foot": "left_toe", "right_foot": "right_toe"}
HUMANML3D_FPS = 20.0
# poses width -> model type (AMASS: SMPL 24x3, SMPL-H 52x3, SMPL-X 55x3).
POSE_WIDTH = {72: "smpl", 156: "smplh", 165: "smplx"}
BODY_MODEL_HELP = (
    "AMASS/SMPL parameters need the SMPL body models, which are licence-gated and not shipped: register "
    "and download SMPL-H (https://mano.is.tue.mpg.de) or SMPL-X (https://smpl-x.is.tue.mpg.de), then pass "
    "--body-model DIR, the folder holding smplh/SMPLH_MALE.pkl, smplx/SMPLX_NEUTRAL.npz, ..."
)


def motion_names(smpl_names: list[str]) -> list[str]:
    """SMPL joint names as the body solver's name matching reads them (foot joints become toes)."""
    return [_RENAME.get(n, n) for n in smpl_names]


def load_smpl_joints(path: str | Path, fps: float | None = None) -> HumanMotion:
    """HumanML3D-style joint positions [T, 22, 3] (SMPL order, Y up, metres); fps defaults to 20."""
    path = Path(path)
    if not path.is_file():
        raise RetargetInputError(path, "file", "not found")
    arr = read_numpy(path, ".npy")
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiu":
        raise RetargetInputError(path, "file", "expected one numeric array [T, 22, 3]")
    if arr.ndim == 2 and arr.shape[1] == 263:
        raise RetargetInputError(
            path,
            "shape",
            "this is a HumanML3D feature file (new_joint_vecs, [T, 263]); use the joint positions "
            "(new_joints/*.npy, [T, 22, 3])",
        )
    if arr.ndim != 3 or arr.shape[1:] != (22, 3) or arr.shape[0] < 1:
        hint = "; [T, 21, 3] is a hand: retarget it onto a hand robot" if arr.shape[1:] == (21, 3) else ""
        raise RetargetInputError(
            path, "shape", f"expected [T>=1, 22, 3] joint positions in the SMPL order, got {arr.shape}{hint}"
        )
    check_finite(arr, path, "positions")
    rate = HUMANML3D_FPS if fps is None else float(fps)
    if not np.isfinite(rate) or rate <= 0:
        raise RetargetInputError(path, "fps", f"expected > 0, got {rate}")
    world = np.einsum("ij,tkj->tki", UP_TO_Z["y"], arr.astype(float))
    return HumanMotion(
        motion_names(SMPL_JOINTS),
        world,
        rate,
        str(path),
        meta={"format": "smpl22_npy", "units": "m", "up_axis": "y", "fps_assumed": fps is None},
    )


def is_amass(keys: set[str]) -> bool:
    """An .npz holding SMPL parameters (rather than named keypoints), from its array names."""
    return "poses" in keys


def _read_amass(path: Path) -> dict:
    d = read_npz(path, "AMASS .npz")
    for key in ("poses", "trans", "betas"):
        if key not in d:
            raise RetargetInputError(
                path, key, "missing; expected poses [T, 72|156|165], trans [T, 3], betas"
            )
    rate_key = next((k for k in ("mocap_framerate", "mocap_frame_rate") if k in d), None)
    if rate_key is None:
        raise RetargetInputError(path, "mocap_framerate", "missing; expected the capture rate in Hz")
    poses, trans = as_float_array(d["poses"], path, "poses"), as_float_array(d["trans"], path, "trans")
    if poses.ndim != 2 or poses.shape[1] not in POSE_WIDTH or len(poses) < 1:
        raise RetargetInputError(
            path, "poses", f"expected [T>=1, 72 | 156 | 165] (SMPL | SMPL-H | SMPL-X), got {poses.shape}"
        )
    if trans.shape != (len(poses), 3):
        raise RetargetInputError(path, "trans", f"expected [{len(poses)}, 3], got {trans.shape}")
    betas = as_float_array(d["betas"], path, "betas").reshape(-1)
    for name, arr in (("poses", poses), ("trans", trans), ("betas", betas)):
        check_finite(arr, path, name)
    fps = as_number(d[rate_key], path, rate_key)
    model_type = POSE_WIDTH[poses.shape[1]]
    if "surface_model_type" in d:
        declared = str(d["surface_model_type"]).lower().replace("-", "")
        if declared.startswith("smplx") or declared in ("smplh", "smpl"):
            model_type = "smplx" if declared.startswith("smplx") else declared
    stored = d.get("gender", np.array("neutral"))
    g = stored.item() if stored.size == 1 else "neutral"  # some AMASS releases store it as bytes
    gender = (g.decode() if isinstance(g, bytes) else str(g)).lower()
    if gender not in ("male", "female", "neutral"):
        gender = "neutral"
    return {"poses": poses, "trans": trans, "betas": betas, "fps": fps, "type": model_type, "gender": gender}


def find_body_model(folder: Path, model_type: str, gender: str, source: Path) -> Path:
    """The model file smplx loads: DIR/<type>/<TYPE>_<GENDER>.{npz,pkl}, DIR/<TYPE>_<GENDER>.*, or AMASS's
    DIR/<type>/<gender>/model.npz; a neutral model stands in when the gendered one is absent."""
    tried = []
    for g in dict.fromkeys([gender, "neutral"]):
        for sub in (folder / model_type, folder):
            for ext in ("npz", "pkl"):
                tried.append(sub / f"{model_type.upper()}_{g.upper()}.{ext}")
        tried.append(folder / model_type / g / "model.npz")
    for p in tried:
        if p.is_file():
            return p
    raise RetargetInputError(
        source,
        "--body-model",
        f"no {model_type.upper()} model for gender {gender!r} in {folder}; looked for "
        f"{', '.join(str(p.relative_to(folder)) for p in tried[:3])}, ... ({BODY_MODEL_HELP})",
    )


def load_amass(path: str | Path, body_model: str | Path | None, chunk: int = 256) -> HumanMotion:
    """Joint positions of an AMASS/SMPL parameter file, posed by the `smplx` body model (CPU, float64)."""
    path = Path(path)
    if not path.is_file():
        raise RetargetInputError(path, "file", "not found")
    p = _read_amass(path)
    if body_model is None:
        raise RetargetInputError(path, "--body-model", f"not given. {BODY_MODEL_HELP}")
    folder = Path(body_model)
    if not folder.is_dir():
        raise RetargetInputError(path, "--body-model", f"{folder} is not a folder. {BODY_MODEL_HELP}")
    try:
        import smplx
        import torch
        from smplx.joint_names import JOINT_NAMES
    except ImportError:
        raise RetargetInputError(
            path, "file", "SMPL parameter files need the smpl extra: pip install 'robolearn[smpl]'"
        ) from None
    model_file = find_body_model(folder, p["type"], p["gender"], path)
    n_betas = len(p["betas"])
    kwargs: dict = {"gender": p["gender"], "num_betas": n_betas, "batch_size": 1}
    if p["type"] != "smpl":
        # AMASS hand poses are absolute, not offsets from the mean hand; no PCA.
        kwargs.update(ext=model_file.suffix.lstrip("."), use_pca=False, flat_hand_mean=True)
    cls = {"smpl": smplx.SMPL, "smplh": smplx.SMPLH, "smplx": smplx.SMPLX}[p["type"]]
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # smplx prints shape-space warnings to stdout
            model = cls(model_path=str(model_file), **kwargs).to(torch.float64)
    except ImportError as exc:  # pickled models from the original release hold chumpy arrays
        raise RetargetInputError(
            model_file, "body model", f"needs {exc.name!r} to unpickle; use the model's .npz release"
        ) from None
    except (OSError, KeyError, AttributeError, ValueError, AssertionError, EOFError) as exc:
        raise RetargetInputError(model_file, "body model", f"smplx could not load it ({exc})") from None
    names = _joint_names(p["type"], JOINT_NAMES)
    poses, trans = p["poses"], p["trans"]
    out = np.zeros((len(poses), len(names), 3))
    betas = torch.as_tensor(p["betas"][: model.num_betas], dtype=torch.float64)
    with torch.no_grad():
        for s in range(0, len(poses), chunk):
            pose = torch.as_tensor(poses[s : s + chunk], dtype=torch.float64)
            n = len(pose)
            kw = {
                "betas": betas.expand(n, -1),
                "global_orient": pose[:, :3],
                "transl": torch.as_tensor(trans[s : s + chunk], dtype=torch.float64),
            }
            if p["type"] == "smpl":
                kw["body_pose"] = pose[:, 3:72]
            else:
                kw["body_pose"] = pose[:, 3:66]
                hands = pose[:, 66:156] if p["type"] == "smplh" else pose[:, 75:165]
                kw["left_hand_pose"], kw["right_hand_pose"] = hands[:, :45], hands[:, 45:]
            if p["type"] == "smplx":
                kw["jaw_pose"], kw["leye_pose"], kw["reye_pose"] = (
                    pose[:, 66:69],
                    pose[:, 69:72],
                    pose[:, 72:75],
                )
                kw["expression"] = torch.zeros(n, model.num_expression_coeffs, dtype=torch.float64)
            joints = model(**kw, return_verts=False).joints
            out[s : s + n] = joints[:, : len(names)].numpy()
    return HumanMotion(
        motion_names(names),
        out,
        p["fps"],
        str(path),
        meta={
            "format": f"amass_{p['type']}",
            "units": "m",
            "up_axis": "z",
            "gender": p["gender"],
            "body_model": str(model_file),
        },
    )


def _joint_names(model_type: str, smplx_names: list[str]) -> list[str]:
    """Names of the skeleton joints smplx returns first: 22 body joints, then hands (and face for SMPL-X)."""
    if model_type == "smpl":
        return [*SMPL_JOINTS, "left_hand", "right_hand"]
    if model_type == "smplh":
        return [*SMPL_JOINTS, *smplx_names[25:55]]
    return list(smplx_names[:55])
