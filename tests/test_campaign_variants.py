"""Invariance (issue 14, item 2): the simulated uniform campaign re-expressed as a foreign writer would land it (in mW,
in relative dB with its reference, with a steering-angle codebook, rows shuffled, one time stamp per beam with a
sweep id) lands, and the recovered trajectory is the original's; where information is lost (relative dB without a
reference, no time at all) it lands and the outputs say what they could not know. Through the real jobs: ingestion
and recovery with the smoke model."""

import json

import numpy as np
import pandas as pd
import pytest

from radiomap_assets.domain import campaign as contract
from radiomap_assets.domain.codebook import codebook_beam_directions, dft_codebook
from tests.conftest import SITE

TOLERANCE_M = 0.05  # float32 power written in another unit and read back: millimetres at most


def _ingest_and_recover(dagster_instance, cid: str):
    from radiomap_assets import storage
    from radiomap_assets.definitions import defs

    dagster_instance.add_dynamic_partitions("campaigns", [cid])
    ingest = defs.resolve_job_def("ingest_campaign").execute_in_process(instance=dagster_instance, partition_key=cid)
    assert ingest.success, cid
    recover = defs.resolve_job_def("recover_trajectories").execute_in_process(instance=dagster_instance,
                                                                              partition_key=cid)
    assert recover.success, cid
    metas = {e.materialization.asset_key.path[-1]: e.materialization.metadata
             for e in ingest.get_asset_materialization_events()}
    return storage.load_partition("recovered_trajectories", cid), metas["raw_channel_measurements"], metas


@pytest.fixture(scope="module")
def original(trained_model, dagster_instance):
    from radiomap_assets import storage
    from radiomap_assets.definitions import defs
    from radiomap_assets.profiles import home_layout

    campaign = trained_model[0]
    defs.resolve_job_def("recover_trajectories").execute_in_process(instance=dagster_instance,
                                                                    partition_key=campaign)
    folder = home_layout().accepted / campaign
    manifest = json.loads((folder / contract.MANIFEST).read_text())
    rows = pd.read_parquet(folder / contract.MEASUREMENTS)
    return manifest, rows, storage.load_partition("recovered_trajectories", campaign)


def _land(cid: str, manifest: dict, rows: pd.DataFrame) -> None:
    from radiomap_assets.definitions import defs

    contract.write_campaign(defs.resources["landing_zone"].landing_path / cid, {**manifest, "campaign_id": cid}, rows)


def _variants(manifest: dict, rows: pd.DataFrame) -> dict:
    dbm = rows["power_dbm"].to_numpy(np.float64)
    base = rows.drop(columns=["power_dbm"])
    n_ant = int(manifest["base_stations"][0]["num_antennas"])
    u = codebook_beam_directions(manifest["codebook"], n_ant)[:, 0]
    weights = dft_codebook(n_ant, len(u))
    sample = rows.groupby(["trajectory_id", "t_s"], sort=False).ngroup().to_numpy()
    rank = rows.groupby(["trajectory_id", "t_s"], sort=False).cumcount().to_numpy()
    return {
        "variant-mw": ({**manifest, "power": {"unit": "mW"}}, base.assign(power_mw=10.0 ** (dbm / 10.0))),
        "variant-db-ref": ({**manifest, "power": {"unit": "dB", "reference_dbm": -100.0}},
                           base.assign(power_db=dbm + 100.0)),
        "variant-angles": ({**manifest, "codebook": {"type": "steering_angles", "num_beams": len(u),
                                                     "azimuth_deg": np.degrees(np.arcsin(u)).tolist()}}, rows),
        "variant-shuffled": (manifest, rows.sample(frac=1.0, random_state=7)),
        # the ULA's DFT codebook declared as the 2-D DFT of a 1 x N URA, and as its explicit weight matrix
        "variant-2d": ({**manifest, "codebook": {"type": "dft_2d", "num_beams": len(u), "array_rows": 1,
                                                 "array_cols": n_ant, "beams_vertical": 1,
                                                 "beams_horizontal": len(u)}}, rows),
        "variant-weights": ({**manifest, "codebook": {"type": "weights", "num_beams": len(u),
                                                      "real": weights.real.tolist(), "imag": weights.imag.tolist()}},
                            rows),
        "variant-per-beam-time": (manifest, rows.assign(t_s=rows["t_s"] + 1e-4 * rank,
                                                        sweep_id=sample.astype(np.int64))),
    }


def test_the_same_campaign_in_another_form_lands_and_is_recovered_to_the_same_trajectory(original, trained_model,
                                                                                          dagster_instance):
    """The recovered trajectory is the original's within TOLERANCE_M, and so is the model's input (the masked
    sparse CSI): a training on the variant is the training on the original (seeded, deterministic on the CPU:
    scripts/fault_drill.py), so its beam map is too."""
    from radiomap_assets import storage

    manifest, rows, reference = original
    reference_csi = storage.load_partition("masked_sparse_csi", trained_model[0])
    for cid, (man, variant) in _variants(manifest, rows).items():
        _land(cid, man, variant)
        recovered, _, _ = _ingest_and_recover(dagster_instance, cid)
        csi = storage.load_partition("masked_sparse_csi", cid)
        assert (csi.m == reference_csi.m).all() and np.abs(csi.g - reference_csi.g).max() < 1e-5, cid
        assert len(recovered) == len(reference), cid
        got, want = (f.sort_values(["trajectory_id", "t_s"], kind="stable")[["x_m", "y_m"]].to_numpy()
                     for f in (recovered, reference))
        gap = np.linalg.norm(got - want, axis=1)
        assert gap.max() < TOLERANCE_M, (cid, float(gap.max()))


def test_less_information_lands_and_says_what_it_could_not_know(original, dagster_instance):
    manifest, rows, reference = original
    dbm = rows["power_dbm"].to_numpy(np.float64)
    _land("variant-db-unknown", {**manifest, "power": {"unit": "dB"}},
          rows.drop(columns=["power_dbm"]).assign(power_db=dbm + 57.0))
    recovered, meta, _ = _ingest_and_recover(dagster_instance, "variant-db-unknown")
    assert meta["power_level"].value.startswith("estimated") and len(recovered) == len(reference)
    assert np.isfinite(recovered[["x_m", "y_m"]].to_numpy()).all()
    sample = rows.groupby(["trajectory_id", "t_s"], sort=False).ngroup().to_numpy()
    _land("variant-no-time", {**manifest, "time": {"kind": "none"}},
          rows.drop(columns=["t_s"]).assign(sample_id=sample.astype(np.int64)))
    recovered, meta, _ = _ingest_and_recover(dagster_instance, "variant-no-time")
    assert meta["temporal_methods"].value.startswith("none")
    assert recovered["trajectory_id"].nunique() == len(recovered) == len(reference)  # every sample alone
    assert np.isfinite(recovered[["x_m", "y_m"]].to_numpy()).all()
    assert manifest["site"] == SITE


def test_without_base_station_positions_it_lands_says_why_there_is_no_coarse_location_and_recovers_the_same(
        original, dagster_instance):
    """Positions missing for every base station: no honest coarse location (the asset says why, never a base
    station's own position), and the trajectories recovered from the CSI alone are the original's."""
    manifest, rows, reference = original
    unpositioned = [{**bs, "x_m": None, "y_m": None, "z_m": None} for bs in manifest["base_stations"]]
    _land("variant-no-positions", {**manifest, "base_stations": unpositioned}, rows)
    recovered, _, metas = _ingest_and_recover(dagster_instance, "variant-no-positions")
    assert metas["coarse_locations"]["samples_located"].value == 0
    assert "known position" in metas["coarse_locations"]["why_not_located"].value
    got, want = (f.sort_values(["trajectory_id", "t_s"], kind="stable")[["x_m", "y_m"]].to_numpy()
                 for f in (recovered, reference))
    assert np.linalg.norm(got - want, axis=1).max() < TOLERANCE_M
