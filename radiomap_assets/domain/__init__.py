"""Plain domain code (numpy/pandas), usable without Dagster: one module per concept.

- ``codebook``: the DFT beamforming codebook W (section II-A)
- ``grid``: the discretized region X (grid cells, cell centres, lookups)
- ``measurement``: the measurement model of eq. (2) and the masked sparse CSI g ⊙ m
- ``localization``: coarse location recovery (section II-B)
- ``trajectories``: user trajectories along streets
- ``campaign``: the landing-zone data contract (design 3.1): writing, validation, quarantine reasons
- ``beam_map_store``: the Zarr beam-map contract (design 3.2) and its catalogue of versions
- ``trajectory_store``: recovered trajectories as Parquet for analysts
- ``raytrace``: Sionna RT scene geometry and ray-traced beam maps (imports Sionna lazily)
"""
