"""A depth camera made of batched ray casts: depth images, point clouds and per-point segmentation.

Rendering costs ~45 ms a frame on this machine's software GL; one ray per pixel through the sim's batched
`mj_ray` (`SimBackend.ray_hits`) gives the same depth for every world at once. A camera is a fixed pose in
each world's frame (position + look-at point, or a quaternion) and pinhole intrinsics (`fovy`, size).

Noise follows a structured-light/ToF depth camera: additive Gaussian noise, noise proportional to depth,
pixel dropout (holes) and a maximum range; a dropped or out-of-range pixel reads as `max_range` in the
depth image and is excluded from the point cloud.

Segmentation: each hit geom's body and entity are known (the backend reports the geom id), so a point
cloud can keep only named entities' points (e.g. the items and the hands, not the table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from robolearn.core.env import ManagerBasedRlEnv


@dataclass
class RayCameraCfg:
    """One fixed camera: pose in each world's frame (env origin added), pinhole intrinsics, depth noise."""

    pos: tuple[float, float, float] = (0.6, 0.0, 0.8)
    lookat: tuple[float, float, float] = (0.0, 0.0, 0.2)
    """The point the optical axis passes through; ignored when `quat` is given."""
    quat: tuple[float, float, float, float] | None = None
    """Camera orientation (w, x, y, z) in MuJoCo's camera convention: looks along -z, image up is +y."""
    width: int = 32
    height: int = 24
    fovy: float = 60.0
    """Vertical field of view in degrees (square pixels)."""
    max_range: float = 1.5
    min_range: float = 0.05
    noise_std: float = 0.0
    """Additive Gaussian depth noise (m)."""
    noise_mult: float = 0.0
    """Gaussian noise proportional to depth (std as a fraction of the depth)."""
    dropout: float = 0.0
    """Probability that a pixel returns nothing (a hole)."""
    geomgroup: tuple[int, int, int, int, int, int] | None = (1, 0, 0, 1, 1, 1)
    """MuJoCo geom groups the rays see (None: all). The default sees collision geoms (group 0) and leaves
    out menagerie's visual meshes (group 1, they duplicate the collision shapes) and markers (group 2)."""


def _look_at_rotation(pos: np.ndarray, lookat: np.ndarray) -> np.ndarray:
    """Columns: camera x (image right), y (image up), z (backwards) in the world frame."""
    back = pos - lookat
    norm = np.linalg.norm(back)
    if norm < 1e-9:
        raise ValueError(f"ray camera: pos {pos.tolist()} and lookat {lookat.tolist()} coincide")
    z = back / norm
    up = np.array([0.0, 0.0, 1.0]) if abs(z[2]) < 0.99 else np.array([0.0, 1.0, 0.0])
    x = np.cross(up, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=1)


def _quat_to_mat(q: tuple[float, float, float, float]) -> np.ndarray:
    w, x, y, z = np.asarray(q, dtype=float) / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip


def camera_rotation(cfg: RayCameraCfg) -> np.ndarray:
    """(3, 3) camera-to-world rotation (columns: image right, image up, backwards)."""
    if cfg.quat is not None:
        return _quat_to_mat(cfg.quat)
    return _look_at_rotation(np.asarray(cfg.pos, dtype=float), np.asarray(cfg.lookat, dtype=float))


def pixel_directions(cfg: RayCameraCfg) -> np.ndarray:
    """(H*W, 3) unit ray directions in the camera frame, row-major from the image's top-left pixel.

    Depth is measured along the optical axis (a depth camera's z), so each direction is (u, v, -1)
    normalised and depth = distance * cos(angle to the axis)."""
    if cfg.width < 1 or cfg.height < 1:
        raise ValueError(f"ray camera: width and height must be >= 1, got {cfg.width}x{cfg.height}")
    if not 0.0 < cfg.fovy < 180.0:
        raise ValueError(f"ray camera: fovy must be in (0, 180) degrees, got {cfg.fovy}")
    f = 0.5 * cfg.height / math.tan(math.radians(cfg.fovy) / 2)
    u = (np.arange(cfg.width) + 0.5 - cfg.width / 2) / f
    v = (cfg.height / 2 - np.arange(cfg.height) - 0.5) / f
    uu, vv = np.meshgrid(u, v, indexing="xy")
    d = np.stack([uu, vv, -np.ones_like(uu)], axis=-1).reshape(-1, 3)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


@dataclass
class DepthFrame:
    """One capture of every camera in every world."""

    depth: torch.Tensor
    """(N, C, H, W) depth along each camera's axis (m), `max_range` where nothing valid was seen."""
    points_w: torch.Tensor
    """(N, C*H*W, 3) hit points in the world frame (noise applied along the ray); zeros where invalid."""
    valid: torch.Tensor
    """(N, C*H*W) bool: a hit within range that was not dropped."""
    geom: torch.Tensor
    """(N, C*H*W) long: the geom each ray hit (-1: none)."""
    entity: torch.Tensor
    """(N, C*H*W) long: index into `RayCamera.entity_names` of the hit geom's entity (-1: none or static)."""


@dataclass
class RayCamera:
    """Cameras resolved against an env's model: ray directions in the world frame, geom -> entity tables."""

    cams: list[RayCameraCfg]
    origins: torch.Tensor
    """(C*H*W, 3) ray origins (each camera's position repeated) in a world's frame."""
    dirs: torch.Tensor
    """(C*H*W, 3) unit directions in the world frame."""
    axis_cos: torch.Tensor
    """(C*H*W,) cosine between each ray and its camera's optical axis (distance -> depth)."""
    geom_entity: torch.Tensor
    """(ngeom + 1,) entity index of each geom, the last entry (-1) for a missed ray."""
    entity_names: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, env: ManagerBasedRlEnv, cams: list[RayCameraCfg]) -> RayCamera:
        if not cams:
            raise ValueError("ray camera: give at least one RayCameraCfg")
        sizes = {(c.width, c.height) for c in cams}
        if len(sizes) > 1:
            raise ValueError(f"ray camera: every camera needs the same image size, got {sorted(sizes)}")
        origins, dirs, cos = [], [], []
        for c in cams:
            local = pixel_directions(c)
            rot = camera_rotation(c)
            dirs.append(local @ rot.T)
            cos.append(-local[:, 2])
            origins.append(np.broadcast_to(np.asarray(c.pos, dtype=float), local.shape))
        model = env.scene.model
        names = list(env.scene.entities)
        owner = np.full(model.ngeom + 1, -1, dtype=np.int64)
        for i, name in enumerate(names):
            for g in env.scene.entities[name].geoms:
                owner[model.geom(g).id] = i
        dev = env.sim.device
        t = lambda a: torch.as_tensor(np.concatenate(a), dtype=torch.float64, device=dev)  # noqa: E731
        return cls(list(cams), t(origins), t(dirs), t(cos), torch.as_tensor(owner, device=dev), names)

    def entity_ids(self, names: tuple[str, ...] | list[str]) -> list[int]:
        missing = [n for n in names if n not in self.entity_names]
        if missing:
            raise ValueError(
                f"ray camera: entities {missing} are not in the scene; entities: {self.entity_names}"
            )
        return [self.entity_names.index(n) for n in names]

    def capture(self, env: ManagerBasedRlEnv, noise: bool = True) -> DepthFrame:
        n = env.num_envs
        cam = self.cams[0]
        origin = env.env_origins.to(env.sim.device, torch.float64)
        pnt = (self.origins.unsqueeze(0) + origin.unsqueeze(1)).contiguous()
        vec = self.dirs.unsqueeze(0).expand(n, -1, -1).contiguous()
        # Every camera in a call shares the first one's geom groups (one ray batch).
        dist, geom = env.sim.ray_hits(pnt, vec, flg_static=True, geomgroup=cam.geomgroup)
        dist, geom = dist.to(env.sim.device, torch.float64), geom.to(env.sim.device)
        depth = dist * self.axis_cos
        hit = dist >= 0
        max_r = torch.as_tensor([c.max_range for c in self.cams], dtype=torch.float64, device=depth.device)
        min_r = torch.as_tensor([c.min_range for c in self.cams], dtype=torch.float64, device=depth.device)
        per_cam = cam.width * cam.height
        max_r, min_r = max_r.repeat_interleave(per_cam), min_r.repeat_interleave(per_cam)
        if noise:
            depth, keep = self._noisy(env, depth)
            hit = hit & keep
        valid = hit & (depth <= max_r) & (depth >= min_r)
        depth = torch.where(valid, depth, max_r.expand_as(depth))
        along = depth / self.axis_cos  # back to a distance along the ray (noise included)
        points = torch.where(valid.unsqueeze(-1), pnt + vec * along.unsqueeze(-1), torch.zeros_like(pnt))
        geom = torch.where(valid, geom, torch.full_like(geom, -1))
        entity = self.geom_entity[geom]  # -1 indexes the trailing "none" entry
        image = depth.reshape(n, len(self.cams), cam.height, cam.width)
        return DepthFrame(image, points, valid, geom, entity)

    def _noisy(self, env: ManagerBasedRlEnv, depth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        per_cam = self.cams[0].width * self.cams[0].height
        col = lambda v: torch.as_tensor(v, dtype=depth.dtype, device=depth.device).repeat_interleave(per_cam)  # noqa: E731
        std = col([c.noise_std for c in self.cams])
        mult = col([c.noise_mult for c in self.cams])
        drop = col([c.dropout for c in self.cams])
        gauss = torch.randn(depth.shape, generator=env.rng, device=env.device).to(depth)
        noisy = depth + gauss * (std + mult * depth.abs())
        keep = torch.rand(depth.shape, generator=env.rng, device=env.device).to(depth.device) >= drop
        return noisy, keep


def ray_camera(env: ManagerBasedRlEnv, cams: tuple[RayCameraCfg, ...] | list[RayCameraCfg]) -> RayCamera:
    """The env's RayCamera for these camera configs, built once and cached on the env."""
    cache: dict[int, RayCamera] = env.__dict__.setdefault("_ray_cameras", {})
    key = hash(tuple(repr(c) for c in cams))
    if key not in cache:
        cache[key] = RayCamera.build(env, list(cams))
    return cache[key]


def to_camera_frame(points_w: torch.Tensor, cfg: RayCameraCfg, origin: torch.Tensor) -> torch.Tensor:
    """(N, P, 3) world points in `cfg`'s camera frame (x right, y up, z backwards)."""
    rot = torch.as_tensor(camera_rotation(cfg), dtype=points_w.dtype, device=points_w.device)
    pos = torch.as_tensor(cfg.pos, dtype=points_w.dtype, device=points_w.device) + origin.to(
        points_w
    ).unsqueeze(1)
    return (points_w - pos) @ rot


def sample_points(frame: DepthFrame, num_points: int, keep: torch.Tensor, rng: torch.Generator
                  ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """(N, P, 3) points drawn uniformly (with replacement) among `keep`, and (N, P) bool: real points.

    A world with no kept point gets zeros, flagged False."""
    n = keep.shape[0]
    weights = keep.to(torch.float64)
    empty = weights.sum(-1) == 0
    weights[empty] = 1.0
    idx = torch.multinomial(weights.to(rng.device), num_points, replacement=True, generator=rng).to(
        keep.device
    )
    pts = torch.gather(frame.points_w, 1, idx.unsqueeze(-1).expand(n, num_points, 3))
    real = torch.gather(keep, 1, idx) & ~empty.unsqueeze(-1)
    return torch.where(real.unsqueeze(-1), pts, torch.zeros_like(pts)), real


def segmented_points(env: ManagerBasedRlEnv, cams: tuple[RayCameraCfg, ...], num_points: int,
                     entities: tuple[str, ...] = (), frame: str = "world", noise: bool = True
                     ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """(N, P, 3) a point cloud of the named entities (all hits when empty) and its (N, P) real-point mask.

    `frame`: "world" (the env's own frame: env origin subtracted) or "camera" (the first camera's)."""
    cam = ray_camera(env, cams)
    shot = cam.capture(env, noise=noise)
    keep = shot.valid
    if entities:
        ids = torch.as_tensor(cam.entity_ids(entities), device=shot.entity.device)
        keep = keep & torch.isin(shot.entity, ids)
    pts, real = sample_points(shot, num_points, keep, env.rng)
    origin = env.env_origins.to(pts)
    if frame == "camera":
        pts = to_camera_frame(pts, cams[0], origin)
    elif frame == "world":
        pts = pts - origin.unsqueeze(1)
    else:
        raise ValueError(f"point cloud frame must be 'world' or 'camera', got {frame!r}")
    return torch.where(real.unsqueeze(-1), pts, torch.zeros_like(pts)), real


# -- observation terms ------------------------------------------------------------------------------------


def depth_image(env: ManagerBasedRlEnv, cams: tuple[RayCameraCfg, ...], noise: bool = True) -> torch.Tensor:
    """(N, C*H*W) depth images, flattened (reshape to (N, C, H, W) with the cameras' size)."""
    return ray_camera(env, cams).capture(env, noise=noise).depth.reshape(env.num_envs, -1).float()


def point_cloud(env: ManagerBasedRlEnv, cams: tuple[RayCameraCfg, ...], num_points: int = 256,
                entities: tuple[str, ...] = (), frame: str = "world", noise: bool = True) -> torch.Tensor:  # fmt: skip
    """(N, P*3) a sampled point cloud of `entities` (see `segmented_points`), flattened (x, y, z per point)."""
    pts, _ = segmented_points(env, cams, num_points, entities, frame, noise)
    return pts.reshape(env.num_envs, -1).float()
