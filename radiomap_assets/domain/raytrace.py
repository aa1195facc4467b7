"""Scene geometry and ray-traced beam maps with Sionna RT 2.2 on the CPU (Dr.Jit LLVM backend).

Plain functions on numpy arrays; Sionna, Mitsuba and Dr.Jit are imported lazily so that the rest of the
project (and the Dagster web server) starts without them.

What is computed, and the choices made where the paper is silent:

- The scene's ground is its ``Terrain`` mesh (any object named terrain/ground/floor/plane in other scenes).
  San Francisco is hilly (1 m to ~100 m), so the user surface is the ground lifted by ``ue_height_m``,
  never a flat plane.
- Heights come from downward rays: the first hit in the full scene and the hit on the ground alone. A cell is
  *walkable* (a user can stand there: streets, open ground) where the first hit is the ground; it is a
  *rooftop* where the first hit is at least ``MIN_BUILDING_HEIGHT_M`` above the ground.
- Base stations stand ``bs_height_above_roof_m`` above real rooftops chosen near evenly spread targets, each
  array's boresight toward the centre of the region; a site with fixed transmitters (the indoor hall) declares them.
- One ``RadioMapSolver`` run with one co-located transmitter per (base station, beam), each with its precoding
  vector (the site's DFT codebook, ``domain.codebook``: 1-D for a ULA, 2-D for a URA), over the lifted ground
  mesh: path gain per triangle for all N_b * |W| transmitters at once.
- Indoors the geometry survey casts its rays from under the ceiling and the site declares where users may be.
- The measurement surface is built grid-aligned (``grid_surface_mesh``): one horizontal square of two triangles
  per walkable cell at ground + ``ue_height_m``, so a cell's path gain is the mean of its two triangles and no
  ray is spent under buildings. A cell that no ray reached for a transmitter is a *coverage hole*: it gets
  ``NOISE_FLOOR_DBM`` and ``covered = False`` in the beam map, never a silent zero.
- LOS per (base station, cell): an unoccluded segment from the array centre to the user position.
"""

from __future__ import annotations

import glob
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from radiomap_assets.domain.grid import Grid

NOISE_FLOOR_DBM = -120.0  # value given to coverage holes and the lower clip of every synthesized measurement
MIN_BUILDING_HEIGHT_M = 6.0
WALKABLE_TOLERANCE_M = 0.5
GROUND_NAME_PATTERN = re.compile(r"(?i)terrain|ground|floor|plane")


def configure_drjit_llvm() -> None:
    """Point Dr.Jit at Debian's libLLVM 19 (the image's LLVM 14/15 crash with 'Cannot select fmaximum')."""
    if os.environ.get("DRJIT_LIBLLVM_PATH"):
        return
    candidates = sorted(glob.glob("/usr/lib/*/libLLVM.so.19*")) + sorted(glob.glob("/usr/lib/llvm-19/lib/libLLVM*.so*"))
    if candidates:
        os.environ["DRJIT_LIBLLVM_PATH"] = candidates[0]


def _mitsuba():
    configure_drjit_llvm()
    import drjit as dr  # noqa: F401
    import mitsuba as mi

    if mi.variant() is None:
        mi.set_variant("llvm_ad_mono_polarized")
    return mi


def bundled_scene_path(name: str) -> str:
    """Path of a Sionna RT bundled scene (``san_francisco``, ``munich``, ...) or the given XML path."""
    if os.path.exists(name):
        return str(Path(name).resolve())
    _mitsuba()
    import sionna.rt as rt

    path = getattr(rt.scene, name, None)
    if path is None:
        raise ValueError(f"scene {name!r} is neither an XML file nor a bundled Sionna RT scene")
    return str(path)


def load_scene(name: str, carrier_frequency_hz: float, array_shape: tuple[int, int]):
    """The Sionna scene with a half-wavelength ``array_shape`` = (rows, columns) array at the BSs ((1, N): a
    horizontal ULA) and a single antenna at the users."""
    _mitsuba()
    import sionna.rt as rt

    # shapes of one material are merged for speed, except the ground, which the geometry survey looks up by name
    scene = rt.load_scene(bundled_scene_path(name), merge_shapes_exclude_regex=GROUND_NAME_PATTERN.pattern)
    scene.frequency = carrier_frequency_hz
    rows, cols = array_shape
    scene.tx_array = rt.PlanarArray(num_rows=int(rows), num_cols=int(cols), vertical_spacing=0.5,
                                    horizontal_spacing=0.5, pattern="iso", polarization="V")
    scene.rx_array = rt.PlanarArray(num_rows=1, num_cols=1, pattern="iso", polarization="V")
    return scene


def ground_object_name(scene) -> str:
    names = [n for n in scene.objects if GROUND_NAME_PATTERN.search(n)]
    if not names:
        raise ValueError(f"the scene has no ground mesh (an object named like terrain/ground/floor/plane); "
                         f"objects: {sorted(scene.objects)[:10]}")
    return names[0]


def mesh_arrays(mesh) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (V, 3) float32, faces (F, 3) uint32) of a Mitsuba mesh."""
    v = np.array(mesh.vertex_positions_buffer(), dtype=np.float32).reshape(-1, 3)
    f = np.array(mesh.faces_buffer(), dtype=np.uint32).reshape(-1, 3)
    return v, f


def make_mesh(name: str, vertices: np.ndarray, faces: np.ndarray):
    """A Mitsuba mesh from numpy vertices (V, 3) and faces (F, 3)."""
    mi = _mitsuba()
    import drjit as dr

    mesh = mi.Mesh(name, vertex_count=len(vertices), face_count=len(faces), has_vertex_normals=False,
                   has_vertex_texcoords=False)
    params = mi.traverse(mesh)
    params["vertex_positions"] = dr.ravel(mi.Point3f(*[vertices[:, i].astype(np.float32) for i in range(3)]))
    params["faces"] = dr.ravel(mi.Vector3u(*[faces[:, i].astype(np.uint32) for i in range(3)]))
    params.update()
    return mesh


def grid_surface_mesh(grid: Grid, ground_z: np.ndarray, walkable: np.ndarray, ue_height_m: float):
    """The user surface as a grid-aligned mesh: one horizontal square (two triangles) per walkable cell at
    ground height + ``ue_height_m``. Triangles 2c and 2c+1 belong to the c-th walkable cell (row-major order).
    Returns (mesh, vertices (4C, 3), faces (2C, 3))."""
    iy, ix = np.nonzero(walkable & np.isfinite(ground_z))
    if len(iy) == 0:
        raise ValueError("no walkable cell with a ground height: nothing to trace")
    r = grid.resolution_m
    x0 = grid.x0 + ix * r
    y0 = grid.y0 + iy * r
    z = (ground_z[iy, ix] + ue_height_m).astype(np.float32)
    corners = np.stack([np.stack([x0, y0], 1), np.stack([x0 + r, y0], 1), np.stack([x0 + r, y0 + r], 1),
                        np.stack([x0, y0 + r], 1)], axis=1)  # (C, 4, 2)
    v = np.concatenate([corners, np.repeat(z[:, None, None], 4, axis=1)], axis=2).reshape(-1, 3).astype(np.float32)
    base = (np.arange(len(iy)) * 4)[:, None]
    f = np.concatenate([base + np.array([[0, 1, 2]]), base + np.array([[0, 2, 3]])], axis=1).reshape(-1, 3)
    return make_mesh("measurement_surface", v, f.astype(np.uint32)), v, f.astype(np.uint32)


def _cast_down(mi_scene, xy: np.ndarray, z_top: float):
    """Downward rays at xy: (hit bool, z of the hit, primitive index)."""
    mi = _mitsuba()
    n = len(xy)
    o = mi.Point3f(xy[:, 0].astype(np.float32), xy[:, 1].astype(np.float32), np.full(n, z_top, np.float32))
    d = mi.Vector3f(np.zeros(n, np.float32), np.zeros(n, np.float32), -np.ones(n, np.float32))
    si = mi_scene.ray_intersect(mi.Ray3f(o, d))
    hit = np.array(si.is_valid(), dtype=bool)
    z = np.where(hit, z_top - np.array(si.t, dtype=np.float64), np.nan)
    prim = np.where(hit, np.array(si.prim_index, dtype=np.int64), -1)
    return hit, z, prim


@dataclass
class SceneGeometry:
    """Heights and cell classes on a grid."""

    grid: Grid
    ground_z: np.ndarray  # (ny, nx) ground height [m], NaN outside the ground mesh
    top_z: np.ndarray  # (ny, nx) height of the first surface seen from above [m]
    walkable: np.ndarray  # (ny, nx) bool, users can be here
    rooftop: np.ndarray  # (ny, nx) bool

    @property
    def building_height(self) -> np.ndarray:
        return self.top_z - self.ground_z


@dataclass
class TracedSite:
    """What the ray tracer hands the simulation group (``resources.SionnaScene.trace``)."""

    grid: Grid  # the ground-truth grid
    geometry: SceneGeometry
    base_stations: list[dict]  # bs_id, x_m, y_m, z_m, yaw_deg (``place_base_stations``)
    path_gain: np.ndarray  # (N_b, |W|, ny, nx) linear path gain of every (base station, beam), NaN = no ray
    los: np.ndarray  # (N_b, ny, nx) bool line of sight, False off the walkable cells


def scene_geometry(scene, grid: Grid, survey_height_m: float | None = None,
                   walkable_area: np.ndarray | None = None) -> SceneGeometry:
    """Classify every cell centre of ``grid`` by two downward ray casts (full scene, ground only).

    ``survey_height_m``: the height the rays start from (under a ceiling indoors; None = above the whole scene).
    ``walkable_area`` (ny, nx) bool: where users may be, declared by the site (the indoor hall's L); a cell is
    walkable only inside it (None = wherever the ground is open)."""
    mi = _mitsuba()
    ground = scene.objects[ground_object_name(scene)].mi_mesh
    v, f = mesh_arrays(ground)
    ground_only = mi.load_dict({"type": "scene", "ground": make_mesh("ground_copy", v, f)})
    z_top = float(scene.mi_scene.bbox().max.z) + 50.0 if survey_height_m is None else float(survey_height_m)
    xy = grid.cell_centres()
    hit_all, z_all, _ = _cast_down(scene.mi_scene, xy, z_top)
    hit_ground, z_ground, _ = _cast_down(ground_only, xy, z_top)
    height = z_all - z_ground
    walkable = hit_all & hit_ground & (np.abs(height) < WALKABLE_TOLERANCE_M)
    rooftop = hit_all & hit_ground & (height >= MIN_BUILDING_HEIGHT_M)
    shape = grid.shape
    walkable = walkable.reshape(shape)
    if walkable_area is not None:
        if walkable_area.shape != shape:
            raise ValueError(f"walkable area {walkable_area.shape} does not match the grid {shape}")
        walkable &= walkable_area
    return SceneGeometry(grid, z_ground.reshape(shape), z_all.reshape(shape), walkable, rooftop.reshape(shape))


def place_base_stations(geometry: SceneGeometry, num_base_stations: int, height_above_roof_m: float,
                        seed: int = 0) -> list[dict]:
    """Base stations on real rooftops near evenly spread targets (centre, then a ring at 30% of the extent).

    Returns dicts with ``bs_id``, ``x_m``, ``y_m``, ``z_m`` and ``yaw_deg`` (array boresight, toward the region
    centre). Rooftops within 60 m of an earlier base station are skipped so the sites are distinct.
    """
    grid = geometry.grid
    x_min, y_min, x_max, y_max = grid.region
    cx, cy = (x_min + x_max) / 2, (y_min + y_max) / 2
    rx, ry = 0.3 * (x_max - x_min), 0.3 * (y_max - y_min)
    targets = [(cx, cy)] if num_base_stations % 2 == 1 else []
    ring = num_base_stations - len(targets)
    phase = np.deg2rad(45.0)
    targets += [(cx + rx * math.cos(phase + 2 * math.pi * k / max(ring, 1)),
                 cy + ry * math.sin(phase + 2 * math.pi * k / max(ring, 1))) for k in range(ring)]
    height = geometry.building_height
    candidates = geometry.rooftop & (height < 60.0)
    iy, ix = np.nonzero(candidates)
    if len(iy) < num_base_stations:
        raise ValueError(f"only {len(iy)} rooftop cells in the region; cannot place {num_base_stations} base stations")
    cand_xy = np.stack([grid.x_centres[ix], grid.y_centres[iy]], axis=1)
    rng = np.random.default_rng(seed)
    chosen: list[dict] = []
    for b, (tx, ty) in enumerate(targets):
        d = np.hypot(cand_xy[:, 0] - tx, cand_xy[:, 1] - ty) + rng.uniform(0, 1e-3, len(cand_xy))
        for prev in chosen:
            d[np.hypot(cand_xy[:, 0] - prev["x_m"], cand_xy[:, 1] - prev["y_m"]) < 60.0] = np.inf
        k = int(np.argmin(d))
        x, y = float(cand_xy[k, 0]), float(cand_xy[k, 1])
        z = float(geometry.top_z[iy[k], ix[k]] + height_above_roof_m)
        yaw = math.degrees(math.atan2(cy - y, cx - x)) if math.hypot(cx - x, cy - y) > 1.0 else 0.0
        chosen.append({"bs_id": b, "x_m": x, "y_m": y, "z_m": z, "yaw_deg": yaw})
    return chosen


def line_of_sight(scene, bs_positions: np.ndarray, points: np.ndarray) -> np.ndarray:
    """LOS flags (N_b, P): True where the segment from base station b to point p is not occluded."""
    mi = _mitsuba()
    out = np.zeros((len(bs_positions), len(points)), dtype=bool)
    pts = np.asarray(points, dtype=np.float64)
    for b, bs in enumerate(np.asarray(bs_positions, dtype=np.float64)):
        d = pts - bs[None, :]
        dist = np.linalg.norm(d, axis=1)
        d = d / np.maximum(dist, 1e-9)[:, None]
        o = mi.Point3f(*[np.full(len(pts), bs[i], np.float32) for i in range(3)])
        ray = mi.Ray3f(o, mi.Vector3f(*[d[:, i].astype(np.float32) for i in range(3)]))
        ray.maxt = mi.Float((dist * 0.999 - 0.05).astype(np.float32))
        out[b] = ~np.array(scene.mi_scene.ray_test(ray), dtype=bool)
    return out


def trace_beam_maps(scene, base_stations: list[dict], codebook: np.ndarray, geometry: "SceneGeometry",
                    ue_height_m: float, samples_per_tx: int, max_depth: int, diffraction: bool, seed: int,
                    diffuse_reflection: bool = False, on_progress=None):
    """RadioMapSolver runs, one per base station (``on_progress(done, total)`` after each: ray tracing a site takes
    minutes), each with one co-located transmitter per beam with its precoding vector (row j of ``codebook``,
    (|W|, N_t) in the scene's tx_array element order: ``Site.codebook``), over the grid-aligned user surface of the
    walkable cells. Base station i's run uses seed ``seed + i``.

    Returns (path_gain (N_b, |W|, ny, nx) linear with NaN where no ray reached the cell or the cell is not
    walkable, covered (N_b, |W|, ny, nx) bool).
    """
    mi = _mitsuba()
    import sionna.rt as rt

    num_beams, num_ant = codebook.shape  # (|W|, N)
    if num_ant != scene.tx_array.num_ant:
        raise ValueError(f"codebook for {num_ant} antennas, the scene's arrays have {scene.tx_array.num_ant}")
    precoding_vec = (mi.TensorXf(codebook.real.astype(np.float32)), mi.TensorXf(codebook.imag.astype(np.float32)))
    grid = geometry.grid
    mesh, _, _ = grid_surface_mesh(grid, geometry.ground_z, geometry.walkable, ue_height_m)
    iy, ix = np.nonzero(geometry.walkable & np.isfinite(geometry.ground_z))
    path_gain = np.full((len(base_stations), num_beams) + grid.shape, np.nan)
    for i, bs in enumerate(base_stations):
        for name in list(scene.transmitters):
            scene.remove(name)
        for j in range(num_beams):  # transmitter j = beam j of this base station
            scene.add(rt.Transmitter(name=f"bs{bs['bs_id']}_beam{j}",
                                     position=mi.Point3f(bs["x_m"], bs["y_m"], bs["z_m"]),
                                     orientation=mi.Point3f(math.radians(bs["yaw_deg"]), 0.0, 0.0)))
        try:
            rm = rt.RadioMapSolver()(scene, measurement_surface=mesh, precoding_vec=precoding_vec,
                                     samples_per_tx=int(samples_per_tx), max_depth=int(max_depth),
                                     diffraction=bool(diffraction), diffuse_reflection=bool(diffuse_reflection),
                                     seed=int(seed) + i)
            per_triangle = np.array(rm.path_gain, dtype=np.float64)  # (|W|, 2C)
        finally:
            for name in list(scene.transmitters):
                scene.remove(name)
        per_cell = per_triangle.reshape(num_beams, -1, 2)
        count = (per_cell > 0).sum(axis=2)
        gain = np.where(count > 0, per_cell.mean(axis=2), np.nan)  # unbiased Monte-Carlo estimate of the cell
        path_gain[i][:, iy, ix] = gain
        if on_progress is not None:
            on_progress(i + 1, len(base_stations))
    return path_gain, np.isfinite(path_gain)


def smooth_monte_carlo(path_gain: np.ndarray, walkable: np.ndarray, radius_cells: int = 1) -> np.ndarray:
    """Kernel estimate of the ray-hit density over walkable cells (normalized box convolution).

    A cell's path gain from the solver is a Monte-Carlo estimate from the few rays that landed on it; most of
    the speckle and of the isolated holes is sampling noise, not physics. Each walkable cell takes the mean over
    the walkable cells of its (2r+1)^2 neighbourhood, unreached cells counting as 0 (their Monte-Carlo estimate).
    Cells whose whole neighbourhood was unreached stay NaN (true coverage holes). r = 0 returns the input.
    """
    if radius_cells <= 0:
        return path_gain
    from scipy import ndimage

    size = (1, 1, 2 * radius_cells + 1, 2 * radius_cells + 1)
    w = walkable.astype(np.float64)[None, None]
    reached = np.isfinite(path_gain)
    num = ndimage.uniform_filter(np.where(reached, path_gain, 0.0) * w, size=size, mode="constant")
    den = ndimage.uniform_filter(np.broadcast_to(w, path_gain.shape), size=size, mode="constant")
    any_hit = ndimage.maximum_filter(reached & (w > 0), size=size, mode="constant")
    out = np.where(any_hit & (den > 0), num / np.maximum(den, 1e-12), np.nan)
    out[:, :, ~walkable] = np.nan
    return out
