"""Deploy runtime for imitation policies: `export_imitation`'s policy.onnx + policy.json on onnxruntime.

numpy and onnxruntime only (no torch, no diffusers), like deploy.py: a robot computer runs the DDIM
sampler from the JSON's timesteps and `alphas_cumprod`, with the noise network in ONNX. `act` returns
what `ImitationPolicy.act` returns for the same observation history and initial noise. Image policies
(format /2) also run encoder.onnx on raw uint8 camera frames (crop and normalization are in the graph).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FORMAT = "robolearn-imitation/1"
FORMAT_IMAGES = "robolearn-imitation/2"
"""/1 plus camera inputs: `vision` in the JSON and encoder.onnx."""
NORM_EPS = 1e-4
"""Dimensions whose demo range is narrower than this are held at 0 in normalized units (as in training)."""


class ImitationSpecError(ValueError):
    pass


class _MinMax:
    def __init__(self, state: dict[str, list[float]]):
        self.low = np.asarray(state["low"], dtype=np.float32)
        span = np.asarray(state["high"], dtype=np.float32) - self.low
        self.varies = span > NORM_EPS
        self.span = np.where(self.varies, span, 1.0).astype(np.float32)

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return np.where(self.varies, 2 * (x - self.low) / self.span - 1, 0.0).astype(np.float32)

    def unnormalize(self, x: np.ndarray) -> np.ndarray:
        # Constant dimensions back at their value, as the training side does.
        return np.where(self.varies, (x + 1) / 2 * self.span + self.low, self.low).astype(np.float32)


class ImitationRuntime:
    """One observation history (obs_horizon, O) -> the actions to execute now (action_horizon, A)."""

    def __init__(self, folder: str | Path, threads: int = 1, inference_steps: int | None = None):
        from robolearn.sim2real.deploy import onnx_session

        folder = Path(folder)
        json_path, onnx_path = folder / "policy.json", folder / "policy.onnx"
        for path in (json_path, onnx_path):
            if not path.is_file():
                raise FileNotFoundError(f"{path}: missing; write it with `robolearn export <run>`")
        meta = json.loads(json_path.read_text())
        if meta.get("format") not in (FORMAT, FORMAT_IMAGES):
            raise ImitationSpecError(
                f"{json_path}: field 'format' is {meta.get('format')!r}, expected {FORMAT!r} or {FORMAT_IMAGES!r}"
            )
        self.meta = meta
        self.algo: str = meta["algo"]
        self.obs_horizon, self.horizon = int(meta["obs_horizon"]), int(meta["horizon"])
        self.action_horizon, self.action_dim = int(meta["action_horizon"]), int(meta["action_dim"])
        self.obs_norm, self.act_norm = _MinMax(meta["obs_norm"]), _MinMax(meta["action_norm"])
        self.obs_dim = len(self.obs_norm.low)
        self.session = onnx_session(onnx_path, threads)
        self.cameras: tuple[str, ...] = ()
        self.image_inputs: dict[str, dict] = {}
        if meta["format"] == FORMAT_IMAGES:
            vision = meta.get("vision")
            if not isinstance(vision, dict) or "encoder" not in vision:
                raise ImitationSpecError(
                    f"{json_path}: format {FORMAT_IMAGES} needs a 'vision' entry with 'encoder'"
                )
            encoder_path = folder / vision["encoder"]
            if not encoder_path.is_file():
                raise FileNotFoundError(f"{encoder_path}: missing; write it with `robolearn export <run>`")
            self.cameras = tuple(vision["cameras"])
            self.image_inputs = vision["inputs"]
            self.encoder = onnx_session(encoder_path, threads)
        if self.algo == "diffusion":
            sampler = meta["sampler"]
            if sampler.get("type") != "DDIM" or sampler.get("prediction_type") != "epsilon":
                raise ImitationSpecError(f"{json_path}: field 'sampler' must be DDIM with epsilon prediction")
            self.alphas_cumprod = np.asarray(sampler["alphas_cumprod"], dtype=np.float64)
            self.num_train_timesteps = int(sampler["num_train_timesteps"])
            self.clip = float(sampler["clip_sample"])
            self.set_inference_steps(inference_steps or int(sampler["num_inference_steps"]))

    def set_inference_steps(self, steps: int) -> None:
        """DDIM's "leading" spacing, as diffusers' DDIMScheduler with steps_offset 0."""
        ratio = self.num_train_timesteps // steps
        self.timesteps = (np.arange(steps) * ratio)[::-1].astype(np.int64)
        self.step_ratio = ratio

    def image_features(self, images: dict[str, np.ndarray]) -> np.ndarray:
        """camera -> (obs_horizon, H, W, 3) uint8 frames, oldest first -> (obs_horizon, features)."""
        feeds = {}
        for camera in self.cameras:
            spec = self.image_inputs[camera]
            if camera not in images:
                raise ImitationSpecError(
                    f"policy.json: camera {camera!r} has no frames (got {sorted(images)})"
                )
            frames = np.asarray(images[camera], dtype=np.uint8)
            if frames.shape != (self.obs_horizon, *spec["shape"]):
                raise ImitationSpecError(f"camera {camera!r}: frames have shape {frames.shape}, policy.json "
                                         f"expects (obs_horizon={self.obs_horizon}, *{spec['shape']})")  # fmt: skip
            feeds[spec["name"]] = np.ascontiguousarray(frames)
        return self.encoder.run(None, feeds)[0]

    def chunk(self, obs_hist: np.ndarray, noise: np.ndarray | None = None, rng: np.random.Generator | None = None,
              images: dict[str, np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
        """obs_hist (obs_horizon, O) raw [+ images camera -> (obs_horizon, H, W, 3) uint8] -> the whole
        predicted chunk (horizon, A) raw."""
        obs_hist = np.asarray(obs_hist, dtype=np.float32)
        if obs_hist.shape != (self.obs_horizon, self.obs_dim):
            raise ImitationSpecError(
                f"observation history has shape {obs_hist.shape}, policy.json expects "
                f"(obs_horizon={self.obs_horizon}, obs_dim={self.obs_dim})"
            )
        obs = self.obs_norm.normalize(obs_hist)
        if self.cameras:
            if images is None:
                raise ImitationSpecError(f"this policy observes cameras {list(self.cameras)}: pass images=")
            obs = np.concatenate([obs, self.image_features(images)], -1).astype(np.float32)
        obs = obs[None]
        if self.algo == "bc":
            x = self.session.run(None, {"obs": obs})[0][0]
        else:
            x = self._ddim(obs.reshape(1, -1), noise, rng)
        return self.act_norm.unnormalize(np.clip(x, -1.0, 1.0))

    def act(self, obs_hist: np.ndarray, noise: np.ndarray | None = None, rng: np.random.Generator | None = None,
            images: dict[str, np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
        start = self.obs_horizon - 1  # the chunk starts with the oldest observed step
        return self.chunk(obs_hist, noise, rng, images)[start : start + self.action_horizon]

    def _ddim(
        self, cond: np.ndarray, noise: np.ndarray | None, rng: np.random.Generator | None
    ) -> np.ndarray:
        if noise is None:
            noise = (rng or np.random.default_rng()).standard_normal((self.horizon, self.action_dim))
        x = np.asarray(noise, dtype=np.float32).reshape(1, self.horizon, self.action_dim)
        timestep = np.zeros(1, dtype=np.int64)
        for t in self.timesteps:
            timestep[0] = t
            eps = self.session.run(None, {"sample": x, "timestep": timestep, "obs_cond": cond})[0]
            a_t = self.alphas_cumprod[t]
            prev = t - self.step_ratio
            a_prev = self.alphas_cumprod[prev] if prev >= 0 else 1.0  # set_alpha_to_one
            x0 = np.clip((x - np.sqrt(1 - a_t) * eps) / np.sqrt(a_t), -self.clip, self.clip)
            x = (np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps).astype(np.float32)
        return x[0]
