"""The ray tracer and scene (Sionna RT on the CPU) as a Dagster resource."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
from dagster import ConfigurableResource

from radiomap_assets.domain import raytrace
from radiomap_assets.domain.grid import Grid
from radiomap_assets.profiles import Profile


@lru_cache(maxsize=2)
def _load(scene: str, frequency: float, num_antennas: int, scattering_coefficient: float):
    s = raytrace.load_scene(scene, frequency, num_antennas)
    for material in s.radio_materials.values():
        material.scattering_coefficient = scattering_coefficient
    return s


class SionnaScene(ConfigurableResource):
    """Scene, base-station arrays, codebook size, grids and ray-tracing settings (defaults from the profile)."""

    scene: str = "san_francisco"
    region: list[float] = [-355.0, -370.0, 355.0, 370.0]
    num_base_stations: int = 5
    num_antennas: int = 16
    num_beams: int = 16
    carrier_frequency_hz: float = 2.8e9
    tx_power_dbm: float = 40.0
    bs_height_above_roof_m: float = 4.0
    ue_height_m: float = 2.0
    grid_resolution_m: float = 5.0
    ground_truth_resolution_m: float = 2.5
    samples_per_tx: int = 2_000_000
    max_depth: int = 3
    diffraction: bool = True
    scattering_coefficient: float = 0.3
    smoothing_radius_cells: int = 1
    seed: int = 7

    @classmethod
    def from_profile(cls, profile: Profile) -> "SionnaScene":
        fields = dataclasses.asdict(profile.scene)
        fields["region"] = list(fields["region"]) if fields["region"] else None
        return cls(**fields)

    def load(self):
        """The Sionna scene (cached per process; transmitters are added and removed per trace)."""
        return _load(self.scene, self.carrier_frequency_hz, self.num_antennas, self.scattering_coefficient)

    def ground_truth_grid(self) -> Grid:
        return Grid.covering(tuple(self.region), self.ground_truth_resolution_m)

    def model_grid(self) -> Grid:
        return Grid.covering(tuple(self.region), self.grid_resolution_m)

    def trace(self) -> raytrace.TracedSite:
        """Geometry, base stations, LOS and the ray-traced beam maps on the ground-truth grid."""
        scene = self.load()
        grid = self.ground_truth_grid()
        geometry = raytrace.scene_geometry(scene, grid)
        base_stations = raytrace.place_base_stations(geometry, self.num_base_stations, self.bs_height_above_roof_m,
                                                     self.seed)
        path_gain, _ = raytrace.trace_beam_maps(
            scene, base_stations, self.num_beams, geometry, self.ue_height_m, self.samples_per_tx, self.max_depth,
            self.diffraction, self.seed, diffuse_reflection=self.scattering_coefficient > 0)
        path_gain = raytrace.smooth_monte_carlo(path_gain, geometry.walkable, self.smoothing_radius_cells)
        ue_z = geometry.ground_z + self.ue_height_m
        points = np.concatenate([grid.cell_centres(), np.nan_to_num(ue_z).reshape(-1, 1)], axis=1)
        bs_xyz = np.array([[b["x_m"], b["y_m"], b["z_m"]] for b in base_stations])
        los = raytrace.line_of_sight(scene, bs_xyz, points).reshape((len(base_stations),) + grid.shape)
        return raytrace.TracedSite(grid, geometry, base_stations, path_gain, los & geometry.walkable[None])
