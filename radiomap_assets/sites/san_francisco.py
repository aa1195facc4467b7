"""The outdoor site of paper section IV-A: 710 m x 740 m of San Francisco (Sionna RT's bundled scene, hilly), five
rooftop base stations with 16-element ULAs and a 16-beam DFT codebook at 2.8 GHz, a 5 m radio-map grid."""

from radiomap_assets.domain.localization import PAPER_OUTDOOR_NOISE_VARIANCE_M2
from radiomap_assets.sites import Site

SITE = Site(
    name="san_francisco",
    scene="san_francisco",
    region_m=(-355.0, -370.0, 355.0, 370.0),
    num_base_stations=5,
    array_shape=(1, 16),  # 16-element horizontal ULA
    codebook_shape=(1, 16),  # 16-beam DFT codebook
    carrier_frequency_hz=2.8e9,
    tx_power_dbm=40.0,
    ue_height_m=2.0,
    grid_resolution_m=5.0,  # paper: 5 m
    coarse_noise_variance_m2=PAPER_OUTDOOR_NOISE_VARIANCE_M2,  # 400 m^2
    loss_weights="paper_outdoor",  # λ_c = 0.01, λ_t = 1, λ_d = 50
    bs_height_above_roof_m=4.0,
)
