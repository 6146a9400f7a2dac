"""Bimanual ALOHA tasks on a table: a small, self-contained batched env on the project's sim backend.

The manager-based env (robolearn.core) is built around a floating base; ALOHA is fixed to the table, and
imitation needs little of the manager machinery (no rewards, no curricula), so these tasks are one class:
reset with object poses (random, or given by a demo generator), step with joint targets, check success.

Action (14): position targets of both arms, in actuator order: left waist, shoulder, elbow, forearm_roll,
wrist_angle, wrist_rotate, gripper, then the same for the right arm. This is exactly MuJoCo's `ctrl`.
Observations (LeRobot names):
  observation.state (14)             joint positions in the same order (gripper: left finger opening, m)
  observation.environment_state      CubeTransfer and Reach (9): object position (3), quaternion wxyz (4),
                                     target xy (2); Insertion (14): peg pose (7), socket pose (7)
Cameras (`top`, `wrist_left`, `wrist_right`) are rendered on demand, never inside `step`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import mujoco
import numpy as np
import torch

from robolearn.assets import asset_path
from robolearn.gl import ensure_gl
from robolearn.math import quat_rotate_inverse
from robolearn.robots import compile_spec, load_spec, robot_spec
from robolearn.sim import make_backend

SIDES = ("left", "right")
ARM_JOINTS = ("waist", "shoulder", "elbow", "forearm_roll", "wrist_angle", "wrist_rotate")
ACTION_DIM = 14
STATE_DIM = 14
GRIPPER_CLOSED, GRIPPER_OPEN = 0.002, 0.037
"""Gripper actuator range (finger opening target, m): 0 in a keypose maps to closed, 1 to open."""
PHYSICS_DT = 0.002
CONTROL_DT = 0.04
"""25 Hz control: half ALOHA's 50 Hz, so action chunks cover twice the time for the same length."""
CAMERAS = {"top": "top", "wrist_left": "wrist_cam_left", "wrist_right": "wrist_cam_right"}
CUBE_HALF = (0.08, 0.015, 0.015)
PEG_HALF = (0.08, 0.012, 0.012)
SOCKET_HALF = (0.05, 0.025, 0.025)
SOCKET_OPENING_HALF = 0.018
"""Half width of the socket's square opening (assets/aloha_insertion.xml)."""
INSERTION_DEPTH = 0.02
"""The peg counts as inserted once its tip is this deep inside the socket."""
STATE_NAMES = [f"{s}/{j}" for s in SIDES for j in (*ARM_JOINTS, "gripper")]
POSE_NAMES = ("x", "y", "z", "qw", "qx", "qy", "qz")
ENV_STATE_NAMES = [*(f"obj_{p}" for p in POSE_NAMES), "target_x", "target_y"]
"""environment_state of the tasks with one object and a target marker."""


@dataclass
class AlohaTaskCfg:
    name: str
    description: str
    episode_s: float
    object_xy_low: tuple[float, float]
    object_xy_high: tuple[float, float]
    object_yaw: float
    """Object yaw is drawn in [-object_yaw, object_yaw] (rad)."""
    target_xy_low: tuple[float, float]
    target_xy_high: tuple[float, float]
    success: Callable[[AlohaEnv], torch.Tensor]
    target_z: float = 0.0
    """Height of the target frame: the marker (the reach task's goal floats above the table) or the centre
    of the second object."""
    success_tolerance: float = 0.03
    asset: str = "aloha_cube.xml"
    objects: tuple[str, ...] = ("cube",)
    """Free-joint bodies of the asset. The first is placed at the layout's object pose; a second one (the
    socket) at the layout's target xy, unrotated. One object means the asset has a mocap target marker."""
    object_half_z: tuple[float, ...] = (CUBE_HALF[2],)
    """Resting height of each object's centre on the table."""

    @property
    def env_state_names(self) -> list[str]:
        if len(self.objects) == 1:
            return list(ENV_STATE_NAMES)
        return [f"{obj}_{p}" for obj in self.objects for p in POSE_NAMES]

    @property
    def episode_steps(self) -> int:
        return int(round(self.episode_s / CONTROL_DT))


def _cube_at_target(env: AlohaEnv) -> torch.Tensor:
    obj = env.object_pos()
    near = torch.linalg.norm(obj[:, :2] - env.target_xy(), dim=-1) < env.cfg.success_tolerance
    resting = obj[:, 2] < CUBE_HALF[2] + 0.01  # on the table, not held above the target
    return near & resting


def _peg_in_socket(env: AlohaEnv) -> torch.Tensor:
    """The peg's tip is at least INSERTION_DEPTH inside the socket's tube (from either end)."""
    socket_pos, socket_quat = env.object_pos(1), env.object_quat(1)
    local = quat_rotate_inverse(socket_quat, env.site_pos("peg_tip") - socket_pos)
    inside_x = local[:, 0].abs() < SOCKET_HALF[0] - INSERTION_DEPTH
    inside_yz = (local[:, 1:].abs() < SOCKET_OPENING_HALF).all(-1)
    return inside_x & inside_yz


def _left_gripper_at_target(env: AlohaEnv) -> torch.Tensor:
    goal = torch.cat([env.target_xy(), torch.full_like(env.target_xy()[:, :1], env.cfg.target_z)], -1)
    return torch.linalg.norm(env.gripper_pos("left") - goal, dim=-1) < env.cfg.success_tolerance


TASKS: dict[str, AlohaTaskCfg] = {
    "Aloha-CubeTransfer": AlohaTaskCfg(
        name="Aloha-CubeTransfer",
        description="Left arm picks a block, hands it to the right arm in the air, right arm places it on the target",
        episode_s=7.0,
        object_xy_low=(-0.16, -0.06),
        object_xy_high=(-0.08, 0.06),
        object_yaw=0.35,
        target_xy_low=(0.10, -0.06),
        target_xy_high=(0.18, 0.06),
        success=_cube_at_target,
    ),  # fmt: skip
    "Aloha-Insertion": AlohaTaskCfg(
        name="Aloha-Insertion",
        description="Left arm picks up a socket, right arm picks up a peg, and inserts it into the socket in the air",
        episode_s=6.0,
        object_xy_low=(0.10, -0.06),
        object_xy_high=(0.18, 0.06),
        object_yaw=0.2,
        target_xy_low=(-0.18, -0.06),
        target_xy_high=(-0.10, 0.06),
        success=_peg_in_socket,
        target_z=SOCKET_HALF[2],
        asset="aloha_insertion.xml",
        objects=("peg", "socket"),
        object_half_z=(PEG_HALF[2], SOCKET_HALF[2]),
    ),
    "Aloha-Reach": AlohaTaskCfg(
        name="Aloha-Reach",
        description="Left gripper reaches a target above the table (the small task used by the tests)",
        episode_s=2.0,
        object_xy_low=(-0.16, -0.06),
        object_xy_high=(-0.08, 0.06),
        object_yaw=0.0,
        target_xy_low=(-0.2, -0.08),
        target_xy_high=(-0.05, 0.08),
        success=_left_gripper_at_target,
        target_z=0.12,
    ),  # fmt: skip
}


def task_cfg(name: str) -> AlohaTaskCfg:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown manipulation task {name!r}; valid: {', '.join(sorted(TASKS))}") from None


def build_aloha_model(asset: str = "aloha_cube.xml") -> mujoco.MjModel:
    """ALOHA from menagerie + the project's table and a task's objects, composed with MjSpec."""
    spec = robot_spec("aloha")
    spec.option.timestep = PHYSICS_DT
    for name in ("aloha_table.xml", asset):
        spec.attach(load_spec(asset_path(name)), frame=spec.worldbody.add_frame(), prefix="")
    # The robot's keyframes predate the block's free joint; resets write qpos directly instead.
    for key in list(spec.keys):
        spec.delete(key)
    spec.visual.quality.shadowsize = 0  # software GL: shadows cost ~5x per frame
    spec.visual.global_.offwidth = max(spec.visual.global_.offwidth, 640)
    spec.visual.global_.offheight = max(spec.visual.global_.offheight, 480)
    return compile_spec(spec, f"aloha + assets/aloha_table.xml + assets/{asset}")


def home_qpos(model: mujoco.MjModel | None = None) -> np.ndarray:
    """ALOHA's neutral pose (menagerie keyframe) for the 16 robot joints, grippers open."""
    q = np.array([0.0, -0.96, 1.16, 0.0, -0.3, 0.0, 0.037, 0.037] * 2)
    return q


def home_ctrl() -> np.ndarray:
    return np.array([0.0, -0.96, 1.16, 0.0, -0.3, 0.0, GRIPPER_OPEN] * 2)


class AlohaEnv:
    """`num_envs` ALOHA worlds of one task. Episodes end after `cfg.episode_steps`; no auto-reset."""

    def __init__(self, task: str | AlohaTaskCfg, num_envs: int = 1, backend: str = "cpu", seed: int = 0):
        self.cfg = task_cfg(task) if isinstance(task, str) else task
        self.model = build_aloha_model(self.cfg.asset)
        self.num_envs = num_envs
        self.sim = make_backend(backend, self.model, num_envs)
        self.decimation = int(round(CONTROL_DT / PHYSICS_DT))
        self.step_dt = CONTROL_DT
        self.rng = np.random.default_rng(seed)
        m = self.model
        self._robot_qadr = np.array(
            [m.joint(f"{s}/{j}").qposadr[0] for s in SIDES for j in (*ARM_JOINTS, "left_finger")]
        )
        self._robot_q = slice(0, 16)
        self._object_q = [int(m.joint(name).qposadr[0]) for name in self.cfg.objects]
        self._site_ids: dict[str, int] = {}
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        self._render_data = mujoco.MjData(m)
        self.t = 0
        self.success_any = torch.zeros(num_envs, dtype=torch.bool)

    # -- state --------------------------------------------------------------------------------------

    def object_pos(self, i: int = 0) -> torch.Tensor:
        return self.sim.qpos[:, self._object_q[i] : self._object_q[i] + 3]

    def object_quat(self, i: int = 0) -> torch.Tensor:
        return self.sim.qpos[:, self._object_q[i] + 3 : self._object_q[i] + 7]

    def site_pos(self, name: str) -> torch.Tensor:
        """(num_envs, 3) world position of a named site (ids cached: success checks call this every step)."""
        if name not in self._site_ids:
            self._site_ids[name] = int(self.model.site(name).id)
        return self.sim.site_xpos[:, self._site_ids[name]]

    def target_xy(self) -> torch.Tensor:
        return self.sim.mocap_pos[:, 0, :2]

    def gripper_pos(self, side: str) -> torch.Tensor:
        return self.site_pos(f"{side}/gripper")

    def observe(self) -> dict[str, torch.Tensor]:
        state = self.sim.qpos[:, self._robot_qadr].float()
        if len(self.cfg.objects) == 1:
            env_state = torch.cat([self.object_pos(), self.object_quat(), self.target_xy()], -1).float()
        else:
            poses = [
                torch.cat([self.object_pos(i), self.object_quat(i)], -1) for i in range(len(self.cfg.objects))
            ]
            env_state = torch.cat(poses, -1).float()
        return {"observation.state": state.clone(), "observation.environment_state": env_state.clone()}

    def success(self) -> torch.Tensor:
        return self.cfg.success(self)

    # -- episode ----------------------------------------------------------------------------------------

    def sample_layouts(self, n: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """(n, 5) random layouts: object x, y, yaw, target x, y within the task's ranges."""
        rng = rng or self.rng
        c = self.cfg
        obj = rng.uniform(c.object_xy_low, c.object_xy_high, size=(n, 2))
        yaw = rng.uniform(-c.object_yaw, c.object_yaw, size=(n, 1)) if c.object_yaw else np.zeros((n, 1))
        tgt = rng.uniform(c.target_xy_low, c.target_xy_high, size=(n, 2))
        return np.concatenate([obj, yaw, tgt], -1)

    def reset(self, layouts: np.ndarray | None = None) -> dict[str, torch.Tensor]:
        """Reset every world to the home pose with the given (num_envs, 5) layouts (random if None)."""
        layouts = self.sample_layouts(self.num_envs) if layouts is None else np.asarray(layouts, dtype=float)
        if layouts.shape != (self.num_envs, 5):
            raise ValueError(f"layouts: expected shape ({self.num_envs}, 5), got {layouts.shape}")
        self.layouts = layouts
        self.sim.reset()
        qpos = self.sim.qpos.numpy() if self.sim.qpos.device.type == "cpu" else None
        assert qpos is not None, "AlohaEnv writes state through the CPU views"
        qpos[:, self._robot_q] = home_qpos()
        n, yaw, half_z = self.num_envs, layouts[:, 2], self.cfg.object_half_z
        q0 = self._object_q[0]
        qpos[:, q0 : q0 + 3] = np.c_[layouts[:, :2], np.full(n, half_z[0])]
        qpos[:, q0 + 3 : q0 + 7] = np.c_[np.cos(yaw / 2), 0 * yaw, 0 * yaw, np.sin(yaw / 2)]
        if len(self._object_q) > 1:
            q1 = self._object_q[1]
            qpos[:, q1 : q1 + 3] = np.c_[layouts[:, 3:5], np.full(n, half_z[1])]
            qpos[:, q1 + 3 : q1 + 7] = [1.0, 0.0, 0.0, 0.0]
        else:
            self.sim.mocap_pos[:, 0, :2] = torch.as_tensor(layouts[:, 3:5], dtype=self.sim.mocap_pos.dtype)
            self.sim.mocap_pos[:, 0, 2] = self.cfg.target_z
        self.sim.qvel.zero_()
        self.sim.ctrl[:] = torch.as_tensor(home_ctrl(), dtype=self.sim.ctrl.dtype)
        self.sim.forward()
        self.t = 0
        self.success_any = torch.zeros(self.num_envs, dtype=torch.bool)
        return self.observe()

    def step(self, action: torch.Tensor | np.ndarray) -> tuple[dict[str, torch.Tensor], torch.Tensor, bool]:
        """Apply joint targets for one control period. Returns (obs, success now, episode over)."""
        action = torch.as_tensor(action, dtype=self.sim.ctrl.dtype)
        if action.shape != (self.num_envs, ACTION_DIM):
            raise ValueError(
                f"action: expected shape ({self.num_envs}, {ACTION_DIM}), got {tuple(action.shape)}"
            )
        lo = torch.as_tensor(self.model.actuator_ctrlrange[:, 0], dtype=action.dtype)
        hi = torch.as_tensor(self.model.actuator_ctrlrange[:, 1], dtype=action.dtype)
        self.sim.ctrl[:] = torch.maximum(torch.minimum(action, hi), lo)
        self.sim.step(self.decimation)
        self.t += 1
        ok = self.success()
        self.success_any |= ok
        return self.observe(), ok, self.t >= self.cfg.episode_steps

    # -- cameras ----------------------------------------------------------------------------------------

    def render(self, world: int, camera: str = "top", width: int = 160, height: int = 120) -> np.ndarray:
        """An RGB frame (height, width, 3) of one world from a named camera."""
        if camera not in CAMERAS:
            raise ValueError(f"unknown camera {camera!r}; valid: {', '.join(CAMERAS)}")
        key = (width, height)
        if key not in self._renderers:
            ensure_gl()
            self._renderers[key] = mujoco.Renderer(self.model, height=height, width=width)
        renderer = self._renderers[key]
        self.sim.world_to_mjdata(world, self._render_data)
        renderer.update_scene(self._render_data, camera=CAMERAS[camera])
        return renderer.render().copy()

    def close(self) -> None:
        for r in self._renderers.values():
            r.close()
        self._renderers.clear()


@dataclass
class RolloutResult:
    success: np.ndarray
    """(num_envs,) success at the end of the episode."""
    frames: dict[str, np.ndarray] = field(default_factory=dict)
