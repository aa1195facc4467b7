"""The smoke site end to end through Dagster: ray-traced beam map in Zarr, campaigns in the landing zone, ingestion
per campaign partition; outputs checked the way a user would look at them."""

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from radiomap_assets.domain import campaign as contract
from radiomap_assets.domain.grid import Grid
from radiomap_assets.domain.simulation import campaign_kind, observed_beams_per_bs
from radiomap_assets.profiles import get_profile


def test_ground_truth_beam_map_opens_with_plain_xarray_without_project_code(ground_truth_path):
    # a separate Python where the project, Sionna, Dagster and torch cannot be imported: only xarray + zarr
    code = textwrap.dedent(f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in {{'radiomap_assets', 'models', 'resources', 'sionna', 'mitsuba', 'drjit',
                                           'dagster', 'torch', 'mlflow'}}:
                    raise ImportError('blocked ' + name)
        sys.meta_path.insert(0, Block())
        import xarray as xr
        ds = xr.open_zarr({str(ground_truth_path)!r})
        assert ds.power_dbm.dims == ('bs', 'beam', 'y', 'x'), ds.power_dbm.dims
        print(dict(ds.sizes), ds.power_dbm.attrs['units'], ds.attrs['scene'])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert "dBm san_francisco" in out.stdout


def test_ground_truth_beam_map_follows_the_contract(ground_truth_path):
    import xarray as xr

    ds = xr.open_zarr(ground_truth_path)
    assert dict(ds.sizes) == {"bs": 5, "beam": 16, "y": 60, "x": 60}
    assert ds.power_dbm.dtype == np.float32 and ds.valid.dtype == bool
    valid = ds.valid.values
    power = ds.power_dbm.values
    assert 0.2 < valid.mean() < 0.9
    assert np.isnan(power[:, :, ~valid]).all()
    assert ds.los.values[:, ~valid].sum() == 0
    for coord in ("bs_x_m", "bs_y_m", "bs_z_m"):
        assert ds[coord].attrs["units"] == "m"
    for var in ds.data_vars.values():
        assert "units" in var.attrs
    for key in ("scene", "carrier_frequency_hz", "grid_resolution_m", "dagster_run_id", "created_utc", "version"):
        assert key in ds.attrs
    # coverage holes are NaN with a flag, never a silent zero nor a fake weak signal (issue 15)
    holes = ~ds.covered.values & valid[None, None]
    floor = ds.attrs["noise_floor_dbm"]
    assert np.isnan(power[holes]).all() and (power[valid[None, None] & ~holes] >= floor).all()
    assert (power[valid[None, None] & ~holes] > floor).mean() > 0.9
    # the beams of one base station differ: DFT precoding shapes the maps
    bs0 = power[0][:, valid]
    full = np.isfinite(bs0).all(axis=0)  # cells every beam reached
    assert full.sum() > 100 and np.mean(np.std(bs0[:, full], axis=0)) > 1.0
    # every base station has LOS and NLOS walkable cells
    los_share = ds.los.values[:, valid].mean(axis=1)
    assert ((los_share > 0.01) & (los_share < 0.95)).all()
    # a chunk holds one base station and a few hundred metres square
    assert ds.power_dbm.encoding["chunks"][0] == 1


def test_latest_alias_points_to_the_newest_version(ground_truth_path):
    assert ground_truth_path.parent.joinpath("latest.zarr").resolve() == ground_truth_path.resolve()


def test_simulated_campaigns_land_in_the_contract_format(simulated_site, radiomap_home, ground_truth_path):
    import xarray as xr

    from radiomap_assets.domain.simulation import campaign_kind

    # still in the landing zone, or already accepted by an ingestion run of another test (which may land campaigns of
    # its own, under ids that name no simulated kind: tests/test_campaign_variants.py)
    landed = sorted(p for p in [*(radiomap_home / "landing").glob("*/manifest.json"),
                                *(radiomap_home / "campaigns").glob("*/manifest.json")]
                    if campaign_kind(p.parent.name) is not None and p.parent.name.startswith("san-francisco-"))
    kinds = sorted(campaign_kind(p.parent.name) for p in landed)
    assert kinds == ["complex", "random", "uniform", "uniform_m1", "uniform_m5"]
    ds = xr.open_zarr(ground_truth_path)
    grid = Grid.from_coords(ds.x.values, ds.y.values)
    for manifest in landed:
        c = contract.load_campaign(manifest.parent)
        gt = pd.read_parquet(manifest.parent / contract.GROUND_TRUTH)
        assert c.measurements["t_s"].dtype == np.float64 and c.measurements["power_dbm"].dtype == np.float32
        # M beams per base station per sample: 3 (the profile's), or the sweep's M for uniform_m<M>
        expected_m = observed_beams_per_bs(campaign_kind(c.campaign_id), get_profile().campaign)
        per = c.measurements.groupby(["trajectory_id", "t_s", "bs_id"]).size()
        assert (per == expected_m).all()
        iy, ix = grid.cell_index(gt[["x_m", "y_m"]].to_numpy())
        assert ds.valid.values[iy, ix].mean() > 0.95  # users walk on streets
        los = gt[[col for col in gt.columns if col.startswith("los_bs_")]].to_numpy()
        assert los.shape[1] == 5
    all_gt = pd.concat(pd.read_parquet(p.parent / contract.GROUND_TRUTH) for p in landed)
    any_los = all_gt.filter(like="los_bs_").to_numpy().any(axis=1)
    assert 0.05 < any_los.mean() < 1.0  # both LOS and NLOS stretches along the trajectories


def test_ingestion_of_the_simulated_campaigns_gives_csi_and_coarse_locations(ingested_campaigns):
    assert sorted(campaign_kind(c) for c in ingested_campaigns) == ["complex", "random", "uniform", "uniform_m1",
                                                                    "uniform_m5"]
    for cid, res in ingested_campaigns.items():
        assert res.success
        csi = res.output_for_node("masked_sparse_csi")
        m_obs = observed_beams_per_bs(campaign_kind(cid), get_profile().campaign)
        assert csi.mask_density == pytest.approx(m_obs / 16)
        acc = res.output_for_node("coarse_location_accuracy")
        # the geometric locator is coarse (metres to tens of metres on the smoke site: 7.4 m on the uniform walk,
        # 2026-11-28) but far better than a guess anywhere in the 300 m site, and not the truth itself
        assert acc["method"] == "geometric"
        assert 1.0 < acc["mean_error_m"] < 150.0 and acc["p95_error_m"] >= acc["mean_error_m"]
        checks = [e.asset_check_evaluation_data for e in res.all_events
                  if e.event_type_value == "ASSET_CHECK_EVALUATION"]
        assert {c.check_name for c in checks} == {"measurement_power_range", "mask_density", "trajectories_long_enough",
                                                  "coarse_locations_in_range"}
        assert all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]


def test_paper_protocol_coarse_input_is_an_evaluation_asset_with_the_papers_noise(ingested_campaigns,
                                                                                 paper_protocol_inputs):
    from radiomap_assets import storage

    assert set(paper_protocol_inputs) == set(ingested_campaigns)  # every simulated campaign has ground truth
    for cid, res in paper_protocol_inputs.items():
        assert res.success
        protocol = res.output_for_node("paper_protocol_coarse_locations")
        production = storage.load_partition("coarse_locations", cid)  # untouched: still the label-free locator
        assert production.attrs["method"] == "geometric"
        assert protocol.attrs["method"] == "paper_noisy_ground_truth"
        assert list(protocol.columns) == list(production.columns) == ["trajectory_id", "t_s", "x_m", "y_m"]
        assert (protocol["t_s"].to_numpy() == production["t_s"].to_numpy()).all()
        acc = res.output_for_node("paper_protocol_coarse_accuracy")
        # N(0, 400 m^2) per coordinate: Rayleigh error, mean 20 sqrt(pi / 2) = 25.1 m
        assert 20.0 < acc["mean_error_m"] < 30.0, acc

