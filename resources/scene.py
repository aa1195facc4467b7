"""The ray tracer and scene (Sionna RT on the CPU) as a Dagster resource."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from dagster import ConfigurableResource

from radiomap_assets.domain import raytrace
from radiomap_assets.domain.grid import Grid
from radiomap_assets.profiles import SceneSpec
from radiomap_assets.sites import Site, get_site
from resources.profile import RunProfile


@lru_cache(maxsize=2)
def _load(scene: str, frequency: float, num_antennas: int, scattering_coefficient: float):
    s = raytrace.load_scene(scene, frequency, num_antennas)
    for material in s.radio_materials.values():
        material.scattering_coefficient = scattering_coefficient
    return s


class SionnaScene(ConfigurableResource):
    """The ray tracer on the profile's site (``radiomap_assets.sites``: scene, base-station arrays, codebook,
    carrier, grid) with the profile's budget (``radiomap_assets.profiles.SceneSpec``: crop, rays, depth)."""

    run_profile: RunProfile

    @property
    def spec(self) -> SceneSpec:
        return self.run_profile.get().scene

    @property
    def site(self) -> Site:
        return get_site(self.spec.site)

    @property
    def region_m(self) -> tuple[float, float, float, float]:
        """The area simulated: the profile's crop, else the site's measurement area."""
        return tuple(self.spec.region) if self.spec.region is not None else self.site.region_m

    def load(self):
        """The Sionna scene (cached per process; transmitters are added and removed per trace)."""
        site = self.site
        return _load(site.scene, site.carrier_frequency_hz, site.num_antennas, self.spec.scattering_coefficient)

    def ground_truth_grid(self) -> Grid:
        return Grid.covering(self.region_m, self.spec.ground_truth_resolution_m)

    def model_grid(self) -> Grid:
        return Grid.covering(self.region_m, self.site.grid_resolution_m)

    def trace(self) -> raytrace.TracedSite:
        """Geometry, base stations, LOS and the ray-traced beam maps on the ground-truth grid."""
        spec, site = self.spec, self.site
        scene = self.load()
        grid = self.ground_truth_grid()
        geometry = raytrace.scene_geometry(scene, grid)
        base_stations = raytrace.place_base_stations(geometry, site.num_base_stations, site.bs_height_above_roof_m,
                                                     spec.seed)
        path_gain, _ = raytrace.trace_beam_maps(
            scene, base_stations, site.num_beams, geometry, site.ue_height_m, spec.samples_per_tx, spec.max_depth,
            spec.diffraction, spec.seed, diffuse_reflection=spec.scattering_coefficient > 0)
        path_gain = raytrace.smooth_monte_carlo(path_gain, geometry.walkable, spec.smoothing_radius_cells)
        ue_z = geometry.ground_z + site.ue_height_m
        points = np.concatenate([grid.cell_centres(), np.nan_to_num(ue_z).reshape(-1, 1)], axis=1)
        bs_xyz = np.array([[b["x_m"], b["y_m"], b["z_m"]] for b in base_stations])
        los = raytrace.line_of_sight(scene, bs_xyz, points).reshape((len(base_stations),) + grid.shape)
        return raytrace.TracedSite(grid, geometry, base_stations, path_gain, los & geometry.walkable[None])
