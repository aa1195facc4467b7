"""Sites as data: one module per site says what is physically there (scene, base stations and their arrays, the
beam codebook, carrier, the model's grid resolution, the measurement area, the paper's protocol for it). A new site
is a new module here plus its entry in ``_registry``; a profile picks the site and its simulation budget
(``radiomap_assets.profiles.SceneSpec``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Site:
    name: str  # the site's id: in campaign ids, beam-map names, MLflow tags, report sections
    scene: str  # a bundled Sionna RT scene name or a path to a Mitsuba XML file
    region_m: tuple[float, float, float, float]  # the measurement area (x_min, y_min, x_max, y_max), scene metres
    num_base_stations: int  # placed on rooftops by raytrace.place_base_stations
    num_antennas: int  # N_t per base station: horizontal ULA, half-wavelength spacing
    num_beams: int  # |W|: the DFT codebook of that ULA (radiomap_assets.domain.codebook)
    carrier_frequency_hz: float
    tx_power_dbm: float
    bs_height_above_roof_m: float
    ue_height_m: float  # the measurement surface: terrain + this
    grid_resolution_m: float  # the model's grid (radio-map cells)
    coarse_noise_variance_m2: float  # the paper's protocol: coarse input = truth + N(0, this) per axis
    loss_weights: str  # the paper's (λ_c, λ_t, λ_d) for this site: models.beam_map.config.LOSS_WEIGHTS


def _registry() -> dict[str, Site]:
    from radiomap_assets.sites import san_francisco

    return {s.name: s for s in (san_francisco.SITE,)}


def get_site(name: str) -> Site:
    sites = _registry()
    if name not in sites:
        raise ValueError(f"unknown site {name!r}; known sites: {', '.join(sorted(sites))}")
    return sites[name]
