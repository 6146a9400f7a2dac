"""Classical planning through confined 3-D space (plain numpy/scipy, no learning).

A* over a lattice of (x, y, body height, yaw) states. The robot is an oriented box: its footprint
must stand on steppable ground (no obstacle higher than `max_step` above the lowest ground under it,
no void wider than `max_gap`) and its top (base height + trunk) must stay `clearance` below every
ceiling over the footprint. Free space is precomputed for every (height, yaw) with min/max filters
over the rotated footprint, and a 2-D Dijkstra cost-to-go over the relaxed free space (free at some
height and yaw) is the A* heuristic, so a 10 m tunnel takes a few hundred expansions.

The raw lattice path is shortcut-smoothed (a shortcut is kept only if every pose along it is
collision-free) and resampled into waypoints (x, y, z, yaw) no further apart than `spacing`.

`Planner` is the protocol the task depends on; an OMPL planner over the same `HeightMaps` (e.g. a
hybrid-A* or RRT* state space with `box_collides` as the validity checker) can replace this one.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from robolearn.envs.locomotion.confined3d.terrain import HeightMaps

PlanStatus = Literal["ok", "no_path", "start_blocked", "goal_blocked"]

VOID_LEVEL = -0.1
"""Floor below this is a void (the slabs' tops are at 0, the pit at -VOID_DEPTH)."""


@dataclass(frozen=True)
class RobotBox:
    """The robot as the planner sees it (Unitree Go1 numbers)."""

    length: float = 0.62
    """Footprint along the heading, legs included (m)."""
    width: float = 0.34
    trunk_top: float = 0.06
    """Top of the trunk above the base (m)."""
    heights: tuple[float, ...] = (0.27, 0.215, 0.16)
    """Base heights above the ground the planner may choose: standing first, lowest crouch last."""
    max_step: float = 0.12
    max_gap: float = 0.25
    clearance: float = 0.03


@dataclass
class PlannerCfg:
    yaw_bins: int = 8
    stride: int = 2
    """Lattice step in map cells (with 0.05 m maps: 0.1 m)."""
    goal_tolerance: float = 0.15
    turn_cost: float = 0.15
    """Cost of one yaw bin in place, in metres of walking."""
    strafe_factor: float = 1.5
    backward_factor: float = 3.0
    crouch_cost: tuple[float, ...] = (0.0, 0.3, 0.8)
    """Extra cost per metre at each height (crouched walking is slower and riskier)."""
    height_change_cost: float = 0.05
    spacing: float = 0.5
    """Largest distance between consecutive waypoints (m)."""
    max_shortcut: float = 2.0
    """Longest smoothed segment (m); longer ones cost more collision checks than they save."""
    max_expansions: int = 200_000
    heuristic_weight: float = 1.5
    """Weighted A*: paths cost at most this factor more than optimal, for far fewer expansions."""


@dataclass
class PlanResult:
    status: PlanStatus
    waypoints: np.ndarray
    """(N, 4): x, y, z (base height in the maps' frame), yaw. Empty unless status == 'ok'."""
    raw: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    """The lattice path before smoothing, same columns."""
    expansions: int = 0
    time_s: float = 0.0

    @property
    def solved(self) -> bool:
        return self.status == "ok"


class Planner(Protocol):
    """Plans from a start pose (x, y, yaw) to a goal (x, y) through the maps it was built on."""

    def plan(self, start: np.ndarray, goal: np.ndarray) -> PlanResult: ...


def footprint_points(robot: RobotBox, spacing: float, inflate: float = 0.0) -> np.ndarray:
    """Points covering the footprint rectangle in the body frame (edges included), (P, 2)."""
    hl, hw = robot.length / 2 + inflate, robot.width / 2 + inflate
    nx, ny = int(np.ceil(2 * hl / spacing)) + 1, int(np.ceil(2 * hw / spacing)) + 1
    gx, gy = np.meshgrid(np.linspace(-hl, hl, nx), np.linspace(-hw, hw, ny), indexing="ij")
    return np.stack([gx.ravel(), gy.ravel()], axis=-1)


def _steppable(maps: HeightMaps, robot: RobotBox) -> tuple[np.ndarray, np.ndarray]:
    """(support, wide_void): floor with voids as +inf, and voids too wide to step across."""
    void = maps.floor < VOID_LEVEL
    k = int(math.floor(robot.max_gap / maps.resolution)) + 1
    wide = ndimage.binary_opening(void, structure=np.ones((k, k)))
    support = np.where(void, np.inf, maps.floor)
    return support, wide


def box_collides(maps: HeightMaps, robot: RobotBox, x: float, y: float, yaw: float, height: float) -> bool:
    """True if the robot at (x, y, yaw) with its base `height` above the ground intersects the maps.

    Ground = the lowest supported floor under the footprint; the box spans from ground + max_step to
    ground + height + trunk_top + clearance. A wide void anywhere under the footprint also counts.
    """
    return bool(_pose_collisions(maps, robot, np.array([[x, y, yaw]]), np.array([height]))[0])


def ground_under(maps: HeightMaps, robot: RobotBox, xy_yaw: np.ndarray) -> np.ndarray:
    """Lowest supported floor under the footprint at each pose (N, 3) -> (N,)."""
    pts = _world_points(maps, robot, xy_yaw)
    floor, _ = maps.lookup(pts)
    return np.where(floor < VOID_LEVEL, np.inf, floor).min(axis=-1)


def _world_points(maps: HeightMaps, robot: RobotBox, poses: np.ndarray) -> np.ndarray:
    body = footprint_points(robot, maps.resolution / 2)
    c, s = np.cos(poses[:, 2:3]), np.sin(poses[:, 2:3])
    wx = poses[:, 0:1] + c * body[:, 0] - s * body[:, 1]
    wy = poses[:, 1:2] + s * body[:, 0] + c * body[:, 1]
    return np.stack([wx, wy], axis=-1)


def _pose_collisions(maps: HeightMaps, robot: RobotBox, poses: np.ndarray, heights: np.ndarray) -> np.ndarray:
    pts = _world_points(maps, robot, poses)
    ij = maps.cell_of(pts)
    nx, ny = maps.shape
    inside = (ij[..., 0] >= 0) & (ij[..., 0] < nx) & (ij[..., 1] >= 0) & (ij[..., 1] < ny)
    i, j = np.clip(ij[..., 0], 0, nx - 1), np.clip(ij[..., 1], 0, ny - 1)
    # Outside the maps reads as wall: floor +inf, ceiling -inf.
    floor = np.where(inside, maps.floor[i, j], np.inf)
    ceiling = np.where(inside, maps.ceiling[i, j], -np.inf)
    _, wide = _cached_steppable(maps, robot)
    void = floor < VOID_LEVEL
    ground = np.where(void, np.inf, floor).min(axis=-1)
    too_high = (floor.max(axis=-1) - ground) > robot.max_step
    top = ground + heights + robot.trunk_top + robot.clearance
    too_low = ceiling.min(axis=-1) < top
    return too_high | too_low | (wide[i, j] & inside).any(axis=-1) | ~np.isfinite(ground)


def _cached_steppable(maps: HeightMaps, robot: RobotBox) -> tuple[np.ndarray, np.ndarray]:
    # HeightMaps is a plain dataclass; keep the derived arrays on it so repeated checks stay cheap.
    key = ("_steppable", robot)
    cache = maps.__dict__.setdefault("_cache", {})
    if key not in cache:
        cache[key] = _steppable(maps, robot)
    return cache[key]


LATTICE_INFLATE = 0.75
"""Lattice footprints are inflated by this many cells, so a free lattice state is also free for the
exact-pose check (`box_collides`), which samples the footprint at half-cell spacing."""


def _footprint_kernel(robot: RobotBox, yaw: float, res: float) -> np.ndarray:
    """Boolean kernel of the map cells whose centres the rotated, inflated footprint covers."""
    hl, hw = robot.length / 2 + LATTICE_INFLATE * res, robot.width / 2 + LATTICE_INFLATE * res
    r = int(np.ceil(math.hypot(hl, hw) / res))
    off = np.arange(-r, r + 1) * res
    dx, dy = np.meshgrid(off, off, indexing="ij")
    c, s = math.cos(yaw), math.sin(yaw)
    u, v = c * dx + s * dy, -s * dx + c * dy
    return (np.abs(u) <= hl) & (np.abs(v) <= hw)


def _filter_kwargs(robot: RobotBox, yaw: float, res: float) -> dict:
    """`size=` (separable, fast) for axis-aligned yaws, `footprint=` otherwise."""
    c, s = abs(math.cos(yaw)), abs(math.sin(yaw))
    if min(c, s) < 1e-9:
        kernel = _footprint_kernel(robot, 0.0 if c > s else math.pi / 2, res)
        rows, cols = np.nonzero(kernel.any(axis=1))[0], np.nonzero(kernel.any(axis=0))[0]
        return {"size": (len(rows), len(cols))}
    return {"footprint": _footprint_kernel(robot, yaw, res)}


class GridAStarPlanner:
    """A* over (x, y, height, yaw) on one set of maps; the free-space tables are built once per maps."""

    def __init__(self, maps: HeightMaps, robot: RobotBox | None = None, cfg: PlannerCfg | None = None):
        self.maps = maps
        self.robot = robot or RobotBox()
        self.cfg = cfg or PlannerCfg()
        if len(self.cfg.crouch_cost) != len(self.robot.heights):
            raise ValueError(
                f"crouch_cost has {len(self.cfg.crouch_cost)} entries, heights {len(self.robot.heights)}"
            )
        self.yaws = np.arange(self.cfg.yaw_bins) * 2 * math.pi / self.cfg.yaw_bins
        self.free, self.ground = self._free_tables()
        self.relaxed: np.ndarray = np.asarray(self.free.any(axis=(0, 1)))
        self._h_goal: tuple[int, int] | None = None
        self._h: np.ndarray | None = None
        self._free_list: list[bool] | None = None

    def _free_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """free[k, t, i, j]: the robot at height k, yaw bin t, centred on cell (i, j) touches nothing.

        The footprint is symmetric under a half turn, so yaw t and t + pi share one table, and the
        axis-aligned yaws use separable rectangle filters (several times faster than a footprint mask).
        """
        m, robot = self.maps, self.robot
        support, wide = _cached_steppable(m, robot)
        nh, nyaw = len(robot.heights), len(self.yaws)
        free = np.zeros((nh, nyaw, *m.shape), dtype=bool)
        ground = np.zeros((nyaw, *m.shape))
        for t, yaw in enumerate(self.yaws):
            twin = next((u for u in range(t) if abs(math.sin(self.yaws[u] - yaw)) < 1e-9), None)
            if twin is not None:
                free[:, t], ground[t] = free[:, twin], ground[twin]
                continue
            kw = _filter_kwargs(robot, float(yaw), m.resolution)
            g = ndimage.minimum_filter(support, mode="constant", cval=np.inf, **kw)
            top_floor = ndimage.maximum_filter(m.floor, mode="constant", cval=np.inf, **kw)
            low_ceiling = ndimage.minimum_filter(m.ceiling, mode="constant", cval=-np.inf, **kw)
            any_wide = ndimage.maximum_filter(wide, mode="constant", cval=True, **kw)
            ok = np.isfinite(g) & (top_floor - g <= robot.max_step) & ~any_wide
            room = low_ceiling - g - robot.trunk_top - robot.clearance
            for k, h in enumerate(robot.heights):
                free[k, t] = ok & (room >= h)
            ground[t] = np.where(np.isfinite(g), g, 0.0)
        return free, ground

    def _heuristic(self, goal_ij: tuple[int, int]) -> np.ndarray:
        """Cost-to-go (m) over cells free at some height and yaw, 8-connected: a relaxation, so admissible."""
        if self._h_goal == goal_ij and self._h is not None:
            return self._h
        nx, ny = self.maps.shape
        idx = np.arange(nx * ny).reshape(nx, ny)
        rows, cols, wts = [], [], []
        free = self.relaxed
        for di, dj in ((1, 0), (0, 1), (1, 1), (1, -1)):
            a = idx[max(0, -di) : nx - max(0, di), max(0, -dj) : ny - max(0, dj)]
            b = idx[max(0, di) : max(0, di) + a.shape[0], max(0, dj) : max(0, dj) + a.shape[1]]
            ok = free.ravel()[a.ravel()] & free.ravel()[b.ravel()]
            w = math.hypot(di, dj) * self.maps.resolution
            rows += [a.ravel()[ok], b.ravel()[ok]]
            cols += [b.ravel()[ok], a.ravel()[ok]]
            wts += [np.full(int(ok.sum()) * 2, w)]
        graph = coo_matrix(
            (np.concatenate(wts), (np.concatenate(rows), np.concatenate(cols))), shape=(nx * ny,) * 2
        )
        dist = dijkstra(graph.tocsr(), directed=False, indices=int(idx[goal_ij]))
        self._h_goal, self._h = goal_ij, dist.reshape(nx, ny)
        return self._h

    def _snap_start(self, start: np.ndarray) -> tuple[int, int, int, int] | None:
        """Nearest free lattice state to a start pose: its cell or one within 0.15 m, any height."""
        m = self.maps
        i0, j0 = m.cell_of(start[:2])
        t0 = int(round(float(start[2]) / (2 * math.pi / self.cfg.yaw_bins))) % self.cfg.yaw_bins
        reach = int(round(0.15 / m.resolution))
        best: tuple[float, tuple[int, int, int, int]] | None = None
        for di in range(-reach, reach + 1):
            for dj in range(-reach, reach + 1):
                i, j = i0 + di, j0 + dj
                if not (0 <= i < m.shape[0] and 0 <= j < m.shape[1]):
                    continue
                for dt in (0, 1, -1, 2, -2):
                    t = (t0 + dt) % self.cfg.yaw_bins
                    for k in range(len(self.robot.heights)):
                        if self.free[k, t, i, j]:
                            d = math.hypot(di, dj) + 2 * abs(dt) + 0.5 * k
                            if best is None or d < best[0]:
                                best = (d, (i, j, k, t))
                            break
        return None if best is None else best[1]

    def plan(self, start: np.ndarray, goal: np.ndarray) -> PlanResult:
        t_start = time.perf_counter()
        start, goal = np.asarray(start, dtype=float), np.asarray(goal, dtype=float)
        m, cfg, robot = self.maps, self.cfg, self.robot
        gi, gj = (int(v) for v in m.cell_of(goal[:2]))
        if not (0 <= gi < m.shape[0] and 0 <= gj < m.shape[1]) or not self.relaxed[gi, gj]:
            return PlanResult("goal_blocked", np.zeros((0, 4)), time_s=time.perf_counter() - t_start)
        s = self._snap_start(start)
        if s is None:
            return PlanResult("start_blocked", np.zeros((0, 4)), time_s=time.perf_counter() - t_start)
        h2d = self._heuristic((gi, gj))
        if not np.isfinite(h2d[s[0], s[1]]):
            return PlanResult("no_path", np.zeros((0, 4)), time_s=time.perf_counter() - t_start)
        res, stride, nyaw, nh = m.resolution, cfg.stride, cfg.yaw_bins, len(robot.heights)
        nx, ny = m.shape
        # Flat integer states and Python lists: the search loop touches each entry a few times and
        # numpy scalar indexing would dominate it. id = ((k * nyaw + t) * nx + i) * ny + j.
        if self._free_list is None:
            self._free_list = self.free.ravel().tolist()
        free = self._free_list
        hw = cfg.heuristic_weight
        hl = (h2d.ravel() * hw).tolist()
        plane = nx * ny
        # Heading of each yaw bin as a lattice step (8 bins: the 8 neighbours scaled by the stride).
        heads = [(round(math.cos(y) * stride), round(math.sin(y) * stride)) for y in self.yaws]
        goal_r2 = (cfg.goal_tolerance / res) ** 2
        sid = ((s[2] * nyaw + s[3]) * nx + s[0]) * ny + s[1]
        g_cost = {sid: 0.0}
        parent: dict[int, int] = {sid: -1}
        heap = [(hl[s[0] * ny + s[1]], 0.0, sid)]
        closed: set[int] = set()
        expansions, found = 0, -1
        while heap and expansions < cfg.max_expansions:
            _, gc, cur = heapq.heappop(heap)
            if cur in closed:
                continue
            closed.add(cur)
            expansions += 1
            kt, ij = divmod(cur, plane)
            k, t = divmod(kt, nyaw)
            i, j = divmod(ij, ny)
            if (i - gi) ** 2 + (j - gj) ** 2 <= goal_r2:
                found = cur
                break
            di, dj = heads[t]
            step = math.hypot(di, dj) * res * (1.0 + cfg.crouch_cost[k])
            moves = [
                (i + di, j + dj, k, t, step),
                (i - dj, j + di, k, t, step * cfg.strafe_factor),
                (i + dj, j - di, k, t, step * cfg.strafe_factor),
                (i - di, j - dj, k, t, step * cfg.backward_factor),
                (i, j, k, (t + 1) % nyaw, cfg.turn_cost),
                (i, j, k, (t - 1) % nyaw, cfg.turn_cost),
            ]
            if k + 1 < nh:
                moves.append((i, j, k + 1, t, cfg.height_change_cost))
            if k > 0:
                moves.append((i, j, k - 1, t, cfg.height_change_cost))
            for ni, nj, nk, nt, cost in moves:
                if not (0 <= ni < nx and 0 <= nj < ny):
                    continue
                nid = (nk * nyaw + nt) * plane + ni * ny + nj
                if not free[nid] or nid in closed:
                    continue
                ng = gc + cost
                if ng < g_cost.get(nid, math.inf):
                    g_cost[nid] = ng
                    parent[nid] = cur
                    heapq.heappush(heap, (ng + hl[ni * ny + nj], ng, nid))
        if found < 0:
            return PlanResult(
                "no_path", np.zeros((0, 4)), expansions=expansions, time_s=time.perf_counter() - t_start
            )
        chain: list[tuple[int, int, int, int]] = []
        node = found
        while node >= 0:
            kt, ij = divmod(node, plane)
            chain.append((*divmod(ij, ny), *divmod(kt, nyaw)))
            node = parent[node]
        chain.reverse()
        raw = self._to_poses(chain)
        waypoints = self._smooth(raw, np.array([robot.heights[k] for _, _, k, _ in chain]))
        return PlanResult("ok", waypoints, raw, expansions, time.perf_counter() - t_start)

    def _to_poses(self, chain: list[tuple[int, int, int, int]]) -> np.ndarray:
        m = self.maps
        out = np.zeros((len(chain), 4))
        for n, (i, j, k, t) in enumerate(chain):
            x, y = m.center_of(np.array([i, j]))
            out[n] = (x, y, self.ground[t, i, j] + self.robot.heights[k], self.yaws[t])
        out[:, 3] = np.unwrap(out[:, 3])
        return out

    def _segment_free(self, a: np.ndarray, b: np.ndarray, height: float) -> bool:
        # Poses 2 cells apart: closer than the footprint is wide, so the swept area is covered.
        step = 2 * self.maps.resolution
        n = max(2, int(np.ceil(np.linalg.norm(b[:2] - a[:2]) / step)) + 1)
        s = np.linspace(0.0, 1.0, n)[:, None]
        poses = np.concatenate([a[:2] + s * (b[:2] - a[:2]), a[3] + s * (b[3] - a[3])], axis=-1)
        return not _pose_collisions(self.maps, self.robot, poses, np.full(n, height)).any()

    def _smooth(self, raw: np.ndarray, heights: np.ndarray) -> np.ndarray:
        """Greedy shortcuts over the lattice path, then resampling to waypoints at most `spacing` apart.

        From each anchor the shortcut grows a few lattice nodes at a time while it stays free and
        shorter than `max_shortcut`. A shortcut's body height is the lowest height of the raw path it
        replaces, so the robot crouches before a low ceiling rather than inside it.
        """
        keep, a, n = [0], 0, len(raw)
        grow = 3
        while a < n - 1:
            b = a + 1
            while b < n - 1:
                nxt = min(b + grow, n - 1)
                if np.linalg.norm(raw[nxt, :2] - raw[a, :2]) > self.cfg.max_shortcut:
                    break
                if not self._segment_free(raw[a], raw[nxt], float(heights[a : nxt + 1].min())):
                    break
                b = nxt
            keep.append(b)
            a = b
        out: list[np.ndarray] = []
        for a, b in zip(keep[:-1], keep[1:], strict=True):
            h = float(heights[a : b + 1].min())
            dist = float(np.linalg.norm(raw[b, :2] - raw[a, :2]))
            n = max(1, int(np.ceil(dist / self.cfg.spacing)))
            for s in np.arange(n) / n:
                p = raw[a] + s * (raw[b] - raw[a])
                out.append(np.array([p[0], p[1], h, p[3]]))
        out.append(np.array([*raw[-1, :2], heights[-1], raw[-1, 3]]))
        wp = np.array(out)
        # z: ground under the waypoint + body height; yaw wrapped to (-pi, pi].
        wp[:, 2] = ground_under(self.maps, self.robot, wp[:, [0, 1, 3]]) + wp[:, 2]
        wp[:, 3] = (wp[:, 3] + math.pi) % (2 * math.pi) - math.pi
        return wp


def pure_pursuit(pose: np.ndarray, path: np.ndarray, lookahead: float = 0.5, speed: float = 0.4,
                 max_yaw_rate: float = 1.0, stop_radius: float = 0.2) -> np.ndarray:  # fmt: skip
    """Body-frame velocity command (vx, vy, yaw rate) that follows `path` (N, >=2) from `pose` (x, y, yaw).

    The target is the first path point at least `lookahead` ahead of the closest one; the command
    walks toward it at `speed` (a legged robot can side-step, so part of it is lateral) and turns
    with pure pursuit's curvature 2 sin(alpha) / lookahead. Near the last point it slows to a stop.
    """
    xy, yaw = pose[:2], float(pose[2])
    d = np.linalg.norm(path[:, :2] - xy, axis=-1)
    near = int(np.argmin(d))
    ahead = np.nonzero(d[near:] >= lookahead)[0]
    target = path[near + ahead[0], :2] if len(ahead) else path[-1, :2]
    to_goal = float(np.linalg.norm(path[-1, :2] - xy))
    if to_goal < stop_radius:
        return np.zeros(3)
    vec = target - xy
    c, s = math.cos(yaw), math.sin(yaw)
    bx, by = c * vec[0] + s * vec[1], -s * vec[0] + c * vec[1]
    alpha = math.atan2(by, bx)
    v = speed * min(1.0, to_goal / 0.5)
    cmd = np.array([v * math.cos(alpha), 0.5 * v * math.sin(alpha), 2 * speed * math.sin(alpha) / lookahead])
    cmd[0] = max(cmd[0], -0.2)
    cmd[2] = float(np.clip(cmd[2], -max_yaw_rate, max_yaw_rate))
    return cmd
