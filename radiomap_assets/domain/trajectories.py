"""User trajectories along streets (paper section IV): the uniform trajectory along a main road, the complex
trajectory with a stop and an acceleration phase, and random discontinuous trajectories.

Paths are shortest paths on the walkable cells of a grid (8-connected), with a cost that prefers the middle of
streets: step length * (1 + CENTRE_PREFERENCE / (1 + clearance_m)), where clearance is the distance to the
nearest non-walkable cell. Paths are smoothed (moving average of the cell centres) and then followed with a
speed profile and sampled at the measurement rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from radiomap_assets.domain.grid import Grid

CENTRE_PREFERENCE = 6.0
SMOOTHING_CELLS = 5


@dataclass
class Trajectory:
    trajectory_id: str
    t_s: np.ndarray  # (T,)
    xy: np.ndarray  # (T, 2) metres

    @property
    def length_m(self) -> float:
        return float(np.linalg.norm(np.diff(self.xy, axis=0), axis=1).sum()) if len(self.xy) > 1 else 0.0


class StreetGraph:
    """Shortest paths between walkable cells of ``grid``. ``centre_preference`` (the cost's CENTRE_PREFERENCE):
    how strongly paths keep to the middle of streets; 0 = straight shortest paths (a robot on an open floor)."""

    def __init__(self, grid: Grid, walkable: np.ndarray, centre_preference: float = CENTRE_PREFERENCE):
        if walkable.shape != grid.shape:
            raise ValueError(f"walkable mask {walkable.shape} does not match grid {grid.shape}")
        if not walkable.any():
            raise ValueError("no walkable cell: cannot build street trajectories")
        self.grid = grid
        self.walkable = walkable.astype(bool)
        self.clearance_m = ndimage.distance_transform_edt(self.walkable) * grid.resolution_m
        ny, nx = grid.shape
        idx = np.arange(ny * nx).reshape(ny, nx)
        rows, cols, costs = [], [], []
        penalty = 1.0 + centre_preference / (1.0 + self.clearance_m)
        for dy, dx in [(0, 1), (1, 0), (1, 1), (1, -1)]:
            a = (slice(0, ny - dy), slice(max(0, -dx), nx - max(0, dx)))
            b = (slice(dy, ny), slice(max(0, dx), nx - max(0, -dx) if dx < 0 else nx))
            ok = self.walkable[a] & self.walkable[b]
            step = grid.resolution_m * np.hypot(dy, dx)
            c = step * 0.5 * (penalty[a] + penalty[b])
            rows.append(idx[a][ok])
            cols.append(idx[b][ok])
            costs.append(c[ok])
        rows, cols, costs = map(np.concatenate, (rows, cols, costs))
        n = ny * nx
        self.adjacency = coo_matrix((np.r_[costs, costs], (np.r_[rows, cols], np.r_[cols, rows])), shape=(n, n)).tocsr()
        self.walkable_cells = idx[self.walkable]

    def shortest_path(self, start_cell: int, end_cell: int) -> np.ndarray | None:
        """Cell centres (K, 2) from start to end, or None if they are not connected."""
        _, pred = dijkstra(self.adjacency, indices=start_cell, return_predecessors=True)
        return self._walk_back(pred, start_cell, end_cell)

    def paths_from(self, start_cell: int):
        dist, pred = dijkstra(self.adjacency, indices=start_cell, return_predecessors=True)
        return dist, pred

    def _walk_back(self, pred: np.ndarray, start: int, end: int) -> np.ndarray | None:
        if start != end and pred[end] < 0:
            return None
        cells = [end]
        while cells[-1] != start:
            cells.append(int(pred[cells[-1]]))
        cells.reverse()
        return self.grid.cell_centres()[np.asarray(cells)]


def smooth_polyline(points: np.ndarray, window: int = SMOOTHING_CELLS) -> np.ndarray:
    """Moving average of a polyline, endpoints kept (removes the staircase of grid paths)."""
    if len(points) < 3 or window < 2:
        return points
    pad = window // 2
    padded = np.concatenate([np.repeat(points[:1], pad, 0), points, np.repeat(points[-1:], pad, 0)])
    kernel = np.ones(window) / window
    out = np.stack([np.convolve(padded[:, i], kernel, mode="valid") for i in range(2)], axis=1)[: len(points)]
    out[0], out[-1] = points[0], points[-1]
    return out


def arc_length(points: np.ndarray) -> np.ndarray:
    return np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))]


def point_at_distance(points: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Positions at arc lengths s along a polyline (clipped to its ends)."""
    cum = arc_length(points)
    s = np.clip(s, 0.0, cum[-1])
    return np.stack([np.interp(s, cum, points[:, 0]), np.interp(s, cum, points[:, 1])], axis=1)


def follow(points: np.ndarray, distance_at_time, duration_s: float, rate_hz: float, trajectory_id: str) -> Trajectory:
    """Sample a polyline at ``rate_hz`` while the distance travelled follows ``distance_at_time(t)``."""
    t = np.arange(0.0, duration_s + 1e-9, 1.0 / rate_hz)
    return Trajectory(trajectory_id, t, point_at_distance(points, distance_at_time(t)))


def uniform_distance(speed_mps: float):
    return lambda t: speed_mps * np.asarray(t)


def complex_speed_segments(length_m: float, slow_mps: float = 1.0, fast_mps: float = 10.0, accel_mps2: float = 1.0,
                           stop_s: float = 30.0) -> list[tuple[float, float, float]]:
    """The paper's complex motion (Fig. 6) as (duration_s, v_start, v_end) segments: 1 m/s, a 30 s stop, 1 m/s,
    accelerate at 1 m/s^2 to 10 m/s, hold, decelerate back to 1 m/s, 1 m/s. Slow legs are up to 60 m each; the
    hold fills the rest of ``length_m``."""
    ramp_s = (fast_mps - slow_mps) / accel_mps2
    ramp_m = (slow_mps + fast_mps) / 2 * ramp_s
    slow_m = min(60.0, max(5.0, (length_m - 2 * ramp_m) / 4))
    hold_m = max(0.0, length_m - 3 * slow_m - 2 * ramp_m)
    return [(slow_m / slow_mps, slow_mps, slow_mps), (stop_s, 0.0, 0.0), (slow_m / slow_mps, slow_mps, slow_mps),
            (ramp_s, slow_mps, fast_mps), (hold_m / fast_mps, fast_mps, fast_mps), (ramp_s, fast_mps, slow_mps),
            (slow_m / slow_mps, slow_mps, slow_mps)]


def segments_distance(segments: list[tuple[float, float, float]]):
    """Distance travelled at time t for piecewise-linear speed segments; also returns the total duration."""
    starts = np.r_[0.0, np.cumsum([d for d, _, _ in segments])]
    dist0 = [0.0]
    for d, v0, v1 in segments:
        dist0.append(dist0[-1] + (v0 + v1) / 2 * d)

    def distance(t):
        t = np.asarray(t, dtype=np.float64)
        out = np.zeros_like(t)
        for k, (d, v0, v1) in enumerate(segments):
            tau = np.clip(t - starts[k], 0.0, d)
            inside = t >= starts[k]
            acc = (v1 - v0) / d if d > 0 else 0.0
            out = np.where(inside, dist0[k] + v0 * tau + 0.5 * acc * tau ** 2, out)
        return out

    return distance, float(starts[-1])


def main_road_path(graph: StreetGraph, length_m: float, rng: np.random.Generator, tries: int = 24) -> np.ndarray:
    """A long, straight path along wide streets: among shortest paths between well-cleared cells about
    ``length_m`` apart, the one with the best (clearance * straightness), truncated to ``length_m``."""
    grid = graph.grid
    centres = grid.cell_centres()
    clearance = graph.clearance_m.ravel()
    cells = graph.walkable_cells
    wide = cells[clearance[cells] >= np.quantile(clearance[cells], 0.7)]
    best, best_score = None, -np.inf
    for _ in range(tries):
        a = int(rng.choice(wide))
        d = np.linalg.norm(centres[wide] - centres[a], axis=1)
        far = wide[(d > 0.8 * length_m) & (d < 1.3 * length_m)]
        if len(far) == 0:
            far = wide[np.argsort(d)[-10:]]
        b = int(rng.choice(far))
        path = graph.shortest_path(a, b)
        if path is None or len(path) < 3:
            continue
        straight = np.linalg.norm(path[-1] - path[0]) / max(arc_length(path)[-1], 1e-9)
        score = straight * np.mean(clearance[grid.flat_index(path)]) * min(1.0, arc_length(path)[-1] / length_m)
        if score > best_score:
            best, best_score = path, score
    if best is None:
        raise ValueError("no connected street path found for the main-road trajectory")
    best = smooth_polyline(best)
    cum = arc_length(best)
    return best[: int(np.searchsorted(cum, length_m)) + 1]


def cells_in_region(graph: StreetGraph, region_m: tuple[float, float, float, float] | None) -> np.ndarray:
    """The walkable cells whose centres lie in ``region_m`` = (x_min, y_min, x_max, y_max), or all of them (None)."""
    cells = graph.walkable_cells
    if region_m is None:
        return cells
    x0, y0, x1, y1 = region_m
    xy = graph.grid.cell_centres()[cells]
    inside = cells[(xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)]
    if len(inside) < 2:
        raise ValueError(f"the region {region_m} holds {len(inside)} walkable cell(s): too few for random trajectories")
    return inside


def random_street_path(graph: StreetGraph, length_m: float, rng: np.random.Generator,
                       cells: np.ndarray | None = None) -> np.ndarray:
    """A random walk along streets: chained shortest paths to random walkable cells (of ``cells``, default all)
    until ``length_m``. The shortest paths between two chosen cells may leave the set of ``cells`` on the way."""
    cells = graph.walkable_cells if cells is None else cells
    pieces = []
    current = int(rng.choice(cells))
    travelled = 0.0
    for _ in range(50):
        dist, pred = graph.paths_from(current)
        reachable = cells[np.isfinite(dist[cells]) & (dist[cells] > 0)]
        if len(reachable) == 0:
            break
        target = int(rng.choice(reachable))
        path = graph._walk_back(pred, current, target)
        pieces.append(path if not pieces else path[1:])
        travelled += arc_length(path)[-1]
        current = target
        if travelled >= length_m:
            break
    if not pieces:
        raise ValueError("the walkable area is too fragmented for a random street trajectory")
    path = smooth_polyline(np.concatenate(pieces))
    cum = arc_length(path)
    return path[: int(np.searchsorted(cum, length_m)) + 1]


def uniform_trajectory(graph: StreetGraph, length_m: float, rate_hz: float, rng: np.random.Generator,
                       trajectory_id: str = "uniform", speed_mps: float = 1.0, back_and_forth: bool = True
                       ) -> Trajectory:
    """The paper's uniform trajectory (Fig. 5: "along the main road in a back-and-forth pattern"): ``length_m`` in
    all, half of it out along the main road and the same way back, at ``speed_mps``."""
    if back_and_forth:
        out = main_road_path(graph, length_m / 2, rng)
        path = np.concatenate([out, out[::-1][1:]])
    else:
        path = main_road_path(graph, length_m, rng)
    return follow(path, uniform_distance(speed_mps), arc_length(path)[-1] / speed_mps, rate_hz, trajectory_id)


def complex_trajectory(graph: StreetGraph, length_m: float, rate_hz: float, rng: np.random.Generator,
                       trajectory_id: str = "complex") -> Trajectory:
    path = main_road_path(graph, length_m, rng)
    distance, duration = segments_distance(complex_speed_segments(arc_length(path)[-1]))
    return follow(path, distance, duration, rate_hz, trajectory_id)


def random_trajectories(graph: StreetGraph, count: int, length_range_m: tuple[float, float], rate_hz: float,
                        rng: np.random.Generator, speed_mps: float = 1.0, prefix: str = "random",
                        region_m: tuple[float, float, float, float] | None = None) -> list[Trajectory]:
    """``count`` random street walks of lengths drawn from ``length_range_m``, their turning points in ``region_m``
    (x_min, y_min, x_max, y_max; None = the whole walkable area)."""
    cells = cells_in_region(graph, region_m)
    out = []
    for k in range(count):
        target = float(rng.uniform(*length_range_m))
        path = random_street_path(graph, target, rng, cells)
        out.append(follow(path, uniform_distance(speed_mps), arc_length(path)[-1] / speed_mps, rate_hz,
                          f"{prefix}_{k:04d}"))
    return out
