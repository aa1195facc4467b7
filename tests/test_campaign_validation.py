"""Malformed campaigns are quarantined with a reason naming file, row and rule; good ones beside them are
ingested; nothing is lost."""

import json

import numpy as np
import pandas as pd
import pytest
from dagster import DagsterInstance, materialize

from radiomap_assets.assets import ingestion
from radiomap_assets.domain import campaign as contract
from radiomap_assets.domain.measurement import masked_sparse_csi
from resources import LandingZone, RunProfile, SionnaScene

from tests.campaign_corpus import (good_ground_truth, good_manifest, good_measurements, write_good,
                                   write_malformed_corpus)


def _ingestion_resources(zone: LandingZone) -> dict:
    return {"landing_zone": zone, "run_profile": RunProfile(name="smoke"),
            "scene": SionnaScene(run_profile=RunProfile(name="smoke"))}  # the geometric locator's site map


def _files(root):
    return sorted(p.name for p in root.rglob("*") if p.is_file() and p.name not in (contract.REASON_TXT,
                                                                                   contract.REASON_JSON))


def test_every_malformed_campaign_is_quarantined_with_its_rule_and_good_ones_are_accepted(tmp_path):
    zone = LandingZone(root=str(tmp_path), incomplete_timeout_s=3600.0)
    zone.ensure()
    write_good(zone.landing_path, "good-a", seed=1)
    expected = write_malformed_corpus(zone.landing_path)
    write_good(zone.landing_path, "good-b", seed=2)
    assert len(expected) >= 45
    files_before = _files(zone.landing_path)

    scan = zone.scan(already_seen=set())
    assert ("bad-manifest-never-arrives" in dict(scan.quarantined))
    accepted, failures = [], {}
    for cid in scan.complete:
        try:
            accepted.append(zone.accept(cid).campaign_id)
        except contract.CampaignValidationError as e:
            failures[cid] = e
    assert sorted(accepted) == ["good-a", "good-b"]
    assert not list(zone.landing_path.iterdir()), "every landed campaign was either accepted or quarantined"

    reasons = {}
    for folder in zone.quarantine_path.iterdir():
        reason = json.loads((folder / contract.REASON_JSON).read_text())
        assert (folder / contract.REASON_TXT).read_text().strip() == reason["message"]
        reasons[folder.name.split("__")[0]] = reason
    assert set(reasons) == set(expected)
    for cid, rule in expected.items():
        assert reasons[cid]["rule"] == rule, (cid, reasons[cid])
        assert reasons[cid]["file"] in (contract.MANIFEST, contract.MEASUREMENTS)
    # rows are named where a row broke the rule
    assert reasons["bad-nan-power"]["row"] == 7 and reasons["bad-unknown-bs"]["row"] == 5
    assert reasons["bad-duplicate-row"]["row"] == 31 and "repeats row 30" in reasons["bad-duplicate-row"]["detail"]
    assert "another power" in reasons["bad-duplicate-row"]["detail"]
    assert "row 7" in reasons["bad-nan-power"]["message"] and "finite power" in reasons["bad-nan-power"]["message"]
    # nothing lost: every file that landed still exists, in accepted or quarantine
    assert sorted(_files(zone.accepted_path) + _files(zone.quarantine_path)) == files_before


def test_a_duplicate_campaign_id_is_quarantined_and_the_accepted_one_is_untouched(tmp_path):
    zone = LandingZone(root=str(tmp_path))
    write_good(zone.landing_path, "camp-1", seed=1)
    zone.accept("camp-1")
    before = (zone.accepted_path / "camp-1" / contract.MEASUREMENTS).read_bytes()
    write_good(zone.landing_path, "camp-1", seed=99)
    scan = zone.scan(already_seen={"camp-1"})
    assert scan.complete == [] and scan.quarantined[0][0] == "camp-1"
    assert "campaign id is unique" in scan.quarantined[0][1]
    assert (zone.accepted_path / "camp-1" / contract.MEASUREMENTS).read_bytes() == before
    assert len(list(zone.quarantine_path.iterdir())) == 1


def test_an_incomplete_campaign_waits_for_its_manifest_until_the_timeout(tmp_path):
    zone = LandingZone(root=str(tmp_path), incomplete_timeout_s=600.0)
    folder = zone.landing_path / "late"
    folder.mkdir(parents=True)
    good_measurements().to_parquet(folder / contract.MEASUREMENTS)
    scan = zone.scan(set())
    assert scan.waiting == ["late"] and not scan.complete and not scan.quarantined
    scan = zone.scan(set(), now=folder.stat().st_mtime + 601.0)
    assert scan.quarantined and scan.quarantined[0][0] == "late"


def test_the_ingestion_assets_fail_on_a_malformed_partition_and_succeed_beside_it(tmp_path):
    zone = LandingZone(root=str(tmp_path))
    write_good(zone.landing_path, "good-c")
    write_malformed_corpus(zone.landing_path)
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("campaigns", ["good-c", "bad-unknown-bs"])
    assets = [ingestion.raw_channel_measurements, ingestion.masked_sparse_csi, ingestion.coarse_locations]
    resources = _ingestion_resources(zone)
    bad = materialize(assets, partition_key="bad-unknown-bs", instance=instance, resources=resources,
                      raise_on_error=False)
    assert not bad.success
    failure = [e for e in bad.all_events if e.is_step_failure][0]
    assert "known base station id" in failure.step_failure_data.error.message
    assert any(p.name.startswith("bad-unknown-bs__") for p in zone.quarantine_path.iterdir())
    good = materialize(assets, partition_key="good-c", instance=instance, resources=resources)
    assert good.success
    csi = good.output_for_node("masked_sparse_csi")
    assert csi.g.shape == (40, 3 * 16) and csi.m.sum() == 120
    checks = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
              for e in good.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert checks == {"measurement_power_range": True, "mask_density": True, "coarse_locations_in_range": True,
                      "trajectories_long_enough": True}
    # a rerun of the accepted partition reads it back from the accepted folder
    assert materialize(assets, partition_key="good-c", instance=instance, resources=resources).success


@pytest.mark.parametrize("column,value", [("bs_id", 1.5), ("power_dbm", float("nan"))])
def test_validation_error_names_file_row_and_rule(tmp_path, column, value):
    m = good_measurements()
    m[column] = m[column].astype("float64")
    m.loc[11, column] = value
    with pytest.raises(contract.CampaignValidationError) as err:
        contract.validate_measurements("c", m, json.loads(json.dumps(
            {"base_stations": [{"bs_id": b} for b in range(3)], "codebook": {"num_beams": 16}})))
    assert err.value.file == contract.MEASUREMENTS and str(err.value).startswith("campaign 'c': measurements.parquet")


# ---- hostile landing zones (issue 14): links, ids that are paths, one bad entry among good ones ------------------

def test_links_into_or_out_of_the_landing_zone_are_quarantined_without_touching_their_targets_or_the_good_campaigns(
        tmp_path):
    zone = LandingZone(root=str(tmp_path / "home"))
    zone.ensure()
    outside = write_good(tmp_path / "elsewhere", "linked-away")  # a good campaign outside the home
    outside_files = {p.name: p.read_bytes() for p in outside.iterdir()}
    write_good(zone.landing_path, "ok-1")
    (zone.landing_path / "linked-away").symlink_to(outside, target_is_directory=True)
    dangling = write_good(zone.landing_path, "dangling")
    (dangling / contract.MEASUREMENTS).unlink()
    (dangling / contract.MEASUREMENTS).symlink_to(tmp_path / "gone.parquet")  # a dangling link
    write_good(zone.landing_path, "ok-2")

    scan = zone.scan(already_seen=set())
    assert scan.complete == ["ok-1", "ok-2"] and not scan.unreadable  # the good ones are not held up
    reasons = dict(scan.quarantined)
    assert set(reasons) == {"linked-away", "dangling"}
    assert "symbolic links are not accepted" in reasons["dangling"] and "copy the files in" in reasons["dangling"]
    assert {p.name: p.read_bytes() for p in outside.iterdir()} == outside_files  # no REASON.txt written there
    record = next(p for p in zone.quarantine_path.iterdir() if p.name.startswith("linked-away__"))
    assert json.loads((record / contract.REASON_JSON).read_text())["link_target"] == str(outside)
    assert (record / "linked-away").is_symlink()  # the link itself kept, nothing lost
    assert [zone.accept(c).campaign_id for c in scan.complete] == ["ok-1", "ok-2"]


def test_campaign_ids_that_are_paths_are_refused_before_any_file_is_touched(tmp_path):
    from radiomap_assets import storage

    zone = LandingZone(root=str(tmp_path / "home"))
    for key in ("../../x", "a/b", "..", ".hidden", "", "x" * 129):
        with pytest.raises(ValueError, match="campaign id is 1-128"):
            zone.accept(key)
        with pytest.raises(ValueError, match="partition key"):
            storage.partition_path("raw_channel_measurements", key)
    assert not (tmp_path / "x").exists()
    write_good(zone.landing_path, "has space")
    scan = zone.scan(already_seen=set())
    assert scan.complete == [] and "campaign id is 1-128" in dict(scan.quarantined)["has space"]


def test_shuffled_rows_and_integer_time_or_power_are_accepted_as_the_same_campaign(tmp_path):
    """Over-strict no more (issue 14): row order, int32 power and int64 time are fine; rows come out sorted."""
    zone = LandingZone(root=str(tmp_path))
    m = good_measurements()
    reference = contract.write_campaign(zone.landing_path / "ref", good_manifest("ref"), m)
    shuffled = m.sample(frac=1.0, random_state=3).reset_index(drop=True)
    contract.write_campaign(zone.landing_path / "shuffled", good_manifest("shuffled"), shuffled)
    ints = m.assign(t_s=(m["t_s"] * 10).round().astype("int64"), power_dbm=m["power_dbm"].round().astype("int32"))
    contract.write_campaign(zone.landing_path / "ints", good_manifest("ints"), ints)
    ref = contract.load_campaign(reference).measurements
    got = zone.accept("shuffled").measurements
    pd.testing.assert_frame_equal(got, ref)
    as_ints = zone.accept("ints").measurements
    assert as_ints["t_s"].dtype == np.float64 and as_ints["power_dbm"].dtype == np.float32
    np.testing.assert_array_equal(as_ints["t_s"].to_numpy(), np.repeat(np.arange(40), 3).astype(float))


def test_a_manifest_with_a_byte_order_mark_is_accepted(tmp_path):
    zone = LandingZone(root=str(tmp_path))
    folder = write_good(zone.landing_path, "bom-1")
    text = (folder / contract.MANIFEST).read_text()
    (folder / contract.MANIFEST).write_bytes("\ufeff".encode() + text.encode())
    assert zone.accept("bom-1").manifest["campaign_id"] == "bom-1"


def test_a_corrupt_optional_ground_truth_is_set_aside_and_the_measurements_are_accepted(tmp_path):
    zone = LandingZone(root=str(tmp_path))
    folder = write_good(zone.landing_path, "gt-bad")
    (folder / contract.GROUND_TRUTH).write_bytes(b"PAR1 cut short")
    campaign = zone.accept("gt-bad")
    assert len(campaign.measurements) == len(good_measurements())  # no good row lost
    assert campaign.ground_truth_path is None and "readable Parquet" in campaign.ground_truth_problem
    kept = zone.accepted_path / "gt-bad" / contract.REJECTED_GROUND_TRUTH
    assert kept.read_bytes() == b"PAR1 cut short"  # kept, never read again
    assert contract.load_campaign(zone.accepted_path / "gt-bad").ground_truth_problem == campaign.ground_truth_problem
    with pytest.raises(FileNotFoundError):
        contract.read_ground_truth(campaign)


def test_a_campaign_with_a_sample_index_instead_of_time_stamps_is_the_same_campaign(tmp_path):
    """Time kind 'sample_index' (issue 14): an ordered sample index and the declared rate give the same samples as
    the time stamps they stand for, and the ground truth may carry the index too."""
    zone = LandingZone(root=str(tmp_path))
    m = good_measurements()
    reference = contract.load_campaign(contract.write_campaign(zone.landing_path / "ref", good_manifest("ref"), m))
    manifest = {**good_manifest("by-index"), "time": {"kind": "sample_index"}}
    by_index = m.assign(sample_index=np.rint(m["t_s"] * 10).astype(np.int64)).drop(columns=["t_s"])
    by_index = by_index.sample(frac=1.0, random_state=1)  # in any order
    gt = good_ground_truth()
    gt = gt.assign(sample_index=np.rint(gt["t_s"] * 10).astype(np.int64)).drop(columns=["t_s"])
    contract.write_campaign(zone.landing_path / "by-index", manifest, by_index, gt)
    got = zone.accept("by-index")
    pd.testing.assert_frame_equal(got.measurements, reference.measurements, check_exact=False, atol=1e-9)
    truth = contract.read_ground_truth(got)
    np.testing.assert_allclose(truth["t_s"].to_numpy(), good_ground_truth()["t_s"].to_numpy())


def test_rows_of_one_beam_sweep_become_one_sample_even_when_their_time_stamps_differ(tmp_path):
    """An optional sweep_id groups the rows of one beam sweep (issue 14): three base stations heard 1-2 ms apart are
    one sample at the sweep's first time stamp, not three samples of one beam each."""
    zone = LandingZone(root=str(tmp_path))
    m = good_measurements()
    sweep = np.repeat(np.arange(len(m) // 3), 3).astype(np.int64)
    jitter = np.tile([0.0, 0.001, 0.002], len(m) // 3)
    swept = m.assign(t_s=m["t_s"] + jitter, sweep_id=sweep)
    contract.write_campaign(zone.landing_path / "swept", good_manifest("swept"), swept)
    got = zone.accept("swept").measurements
    np.testing.assert_allclose(got["t_s"].to_numpy(), m["t_s"].to_numpy())
    csi = masked_sparse_csi(got, [0, 1, 2], 16)
    assert csi.num_samples == len(m) // 3 and (csi.m.reshape(csi.num_samples, 3, 16).sum(axis=2) == 1).all()
    # without the sweep id the same rows would be three samples per sweep
    unswept = contract.write_campaign(zone.landing_path / "unswept", good_manifest("unswept"),
                                      swept.drop(columns=["sweep_id"]))
    assert masked_sparse_csi(contract.load_campaign(unswept).measurements, [0, 1, 2], 16).num_samples == len(m)


# ---- power units (issue 14) -----------------------------------------------------------------------------------

def _power_variant(zone, cid, m, power, column, values):
    manifest = {**good_manifest(cid), "power": power}
    rows = m.drop(columns=["power_dbm"]).assign(**{column: values})
    contract.write_campaign(zone.landing_path / cid, manifest, rows.sample(frac=1.0, random_state=3))
    return zone.accept(cid)


def test_a_campaign_in_milliwatts_or_in_relative_db_with_its_reference_is_the_same_campaign(tmp_path):
    zone = LandingZone(root=str(tmp_path))
    m = good_measurements()
    reference = contract.load_campaign(contract.write_campaign(zone.landing_path / "ref", good_manifest("ref"), m))
    dbm = m["power_dbm"].to_numpy(np.float64)
    in_mw = _power_variant(zone, "in-mw", m, {"unit": "mW"}, "power_mw", 10.0 ** (dbm / 10.0))
    in_db = _power_variant(zone, "in-db", m, {"unit": "dB", "reference_dbm": -90.0}, "power_db", dbm + 90.0)
    for got in (in_mw, in_db):
        assert got.power_level_known and got.power_offset_db == 0.0
        pd.testing.assert_frame_equal(got.measurements, reference.measurements, check_exact=False, atol=1e-4)


def test_relative_db_without_a_reference_is_accepted_placed_at_the_site_level_and_locates_the_same(tmp_path):
    """An unknown offset: the values keep their differences, the 95th percentile goes to the site's level, and the
    label-free coarse locations (which use power differences only) are those of the absolute campaign."""
    from radiomap_assets.domain.localization import weighted_centroid
    zone = LandingZone(root=str(tmp_path))
    m = good_measurements()
    reference = contract.load_campaign(contract.write_campaign(zone.landing_path / "ref", good_manifest("ref"), m))
    dbm = m["power_dbm"].to_numpy(np.float64)
    got = _power_variant(zone, "rel", m, {"unit": "dB"}, "power_db", dbm + 37.0)  # an RSSI 37 dB above dBm
    assert not got.power_level_known
    aligned = contract.align_power_level(got, reference_p95_dbm=-44.0)
    p = aligned.measurements["power_dbm"].to_numpy(np.float64)
    assert np.percentile(p, 95) == pytest.approx(-44.0, abs=1e-3)
    shift = p - reference.measurements["power_dbm"].to_numpy(np.float64)
    np.testing.assert_allclose(shift, shift[0], atol=1e-4)  # one offset for the whole campaign
    assert aligned.power_offset_db == pytest.approx(shift[0] - 37.0, abs=1e-3)  # relative + offset = dBm + shift
    xy = [weighted_centroid(masked_sparse_csi(c.measurements, c.bs_ids, 16).power_dbm(), c.bs_positions[:, :2])
          for c in (reference, aligned)]
    np.testing.assert_allclose(xy[1], xy[0], atol=1e-4)  # float32 power: 10 um


def test_a_relative_campaign_through_the_ingestion_assets_says_its_level_is_estimated(tmp_path):
    zone = LandingZone(root=str(tmp_path))
    m = good_measurements()
    manifest = {**good_manifest("rel-sf"), "site": "san_francisco", "power": {"unit": "dB"}}
    contract.write_campaign(zone.landing_path / "rel-sf", manifest,
                            m.rename(columns={"power_dbm": "power_db"}).assign(power_db=m["power_dbm"] + 120.0))
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("campaigns", ["rel-sf"])
    result = materialize([ingestion.raw_channel_measurements, ingestion.masked_sparse_csi], partition_key="rel-sf",
                         instance=instance, resources=_ingestion_resources(zone))
    assert result.success
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["power_unit"].value == "dB" and meta["power_level"].value.startswith("estimated")
    csi = result.output_for_node("masked_sparse_csi")
    assert np.isfinite(csi.g).all()


# ---- base stations without positions (issue 14) ------------------------------------------------------------------

def test_a_campaign_without_enough_base_station_positions_is_accepted_and_says_why_it_has_no_coarse_locations(
        tmp_path):
    zone = LandingZone(root=str(tmp_path))
    manifest = good_manifest("two-unknown")
    for b in manifest["base_stations"][1:]:
        b.update(x_m=None, y_m=None, z_m=None)
    contract.write_campaign(zone.landing_path / "two-unknown", manifest, good_measurements())
    half = good_manifest("half-given")
    half["base_stations"][0]["y_m"] = None  # x given, y not: refused
    contract.write_campaign(zone.landing_path / "half-given", half, good_measurements())
    instance = DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("campaigns", ["two-unknown", "half-given"])
    assets = [ingestion.raw_channel_measurements, ingestion.masked_sparse_csi, ingestion.coarse_locations]
    result = materialize(assets, partition_key="two-unknown", instance=instance, resources=_ingestion_resources(zone))
    assert result.success
    coarse = result.output_for_node("coarse_locations")
    assert coarse[["x_m", "y_m"]].isna().all().all()  # never a base station's position
    meta = [e.materialization.metadata for e in result.get_asset_materialization_events()
            if e.materialization.asset_key.path[-1] == "coarse_locations"][0]
    assert meta["samples_located"].value == 0
    assert meta["why_not_located"].value.startswith("1 of 3 base stations have a known position")
    check = [e.asset_check_evaluation_data for e in result.all_events
             if e.event_type_value == "ASSET_CHECK_EVALUATION"
             and e.asset_check_evaluation_data.check_name == "coarse_locations_in_range"][0]
    assert not check.passed and check.severity.value == "WARN"
    bad = materialize(assets, partition_key="half-given", instance=instance, resources=_ingestion_resources(zone),
                      raise_on_error=False)
    assert not bad.success
    assert "all three null" in [e for e in bad.all_events if e.is_step_failure][0].step_failure_data.error.message


def test_training_leaves_out_trajectories_without_coarse_locations_and_names_them():
    from models.beam_map.training import TrajectoryData
    from radiomap_assets.assets.shared import without_coarse_locations
    n = 5
    good = TrajectoryData("c/a", np.zeros((n, 4), np.float32), np.ones((n, 4), bool), np.arange(n) * 0.1,
                          np.zeros((n, 2)))
    none = TrajectoryData("d/b", good.g, good.m, good.t_s, np.full((n, 2), np.nan))
    keep, left_out = without_coarse_locations([good, none])
    assert [d.trajectory_id for d in keep] == ["c/a"] and left_out == ["d/b"]


# ---- codebooks (issue 14) -------------------------------------------------------------------------------------

def test_the_same_campaign_with_a_steering_angle_or_weight_codebook_lands_and_its_beams_point_the_same_way(tmp_path):
    from radiomap_assets.domain.codebook import codebook_beam_directions, dft_codebook, planar_dft_codebook
    zone = LandingZone(root=str(tmp_path))
    m = good_measurements()
    dft = good_manifest("dft")["codebook"]
    u = codebook_beam_directions(dft, 16)[:, 0]
    angles = {"type": "steering_angles", "num_beams": 16, "azimuth_deg": np.degrees(np.arcsin(u)).tolist()}
    w = dft_codebook(16)
    weights = {"type": "weights", "num_beams": 16, "real": w.real.tolist(), "imag": w.imag.tolist()}
    reference = contract.load_campaign(contract.write_campaign(zone.landing_path / "dft", good_manifest("dft"), m))
    for cid, codebook in (("by-angles", angles), ("by-weights", weights)):
        contract.write_campaign(zone.landing_path / cid, {**good_manifest(cid), "codebook": codebook}, m)
        got = zone.accept(cid)
        assert got.num_beams == 16
        pd.testing.assert_frame_equal(got.measurements, reference.measurements)
        np.testing.assert_allclose(codebook_beam_directions(got.manifest["codebook"], 16),
                                   codebook_beam_directions(dft, 16), atol=0.005)  # the weights' peak search grid
    w2 = planar_dft_codebook(2, 4, 2, 4)  # a URA's weights find their elevation too
    ura = {"type": "weights", "num_beams": 8, "array_rows": 2, "array_cols": 4, "real": w2.real.tolist(),
           "imag": w2.imag.tolist()}
    dft_2d = {"type": "dft_2d", "num_beams": 8, "array_rows": 2, "array_cols": 4, "beams_vertical": 2,
              "beams_horizontal": 4}
    np.testing.assert_allclose(codebook_beam_directions(ura, 8), codebook_beam_directions(dft_2d, 8), atol=0.005)


def test_a_beam_map_carries_the_steering_angles_its_campaign_declared():
    from radiomap_assets.domain.beam_map_store import beam_map_dataset
    from radiomap_assets.domain.codebook import codebook_beam_directions
    from radiomap_assets.domain.grid import Grid
    grid = Grid(0.0, 0.0, 10.0, 4, 3)
    codebook = {"type": "steering_angles", "num_beams": 3, "azimuth_deg": [-40.0, 5.0, 60.0],
                "elevation_deg": [0.0, 10.0, 0.0]}
    bss = [{"bs_id": 1, "x_m": 0.0, "y_m": 0.0, "z_m": 10.0, "yaw_deg": 90.0}]
    ds = beam_map_dataset(np.full((1, 3) + grid.shape, -80.0), grid, bss, np.ones(grid.shape, bool),
                          {"site": "test"}, beam_directions=codebook_beam_directions(codebook, 8))
    np.testing.assert_allclose(ds.beam_steering_deg.values, [-40.0, 5.0, 60.0], atol=1e-9)
    np.testing.assert_allclose(ds.beam_elevation_deg.values, [0.0, 10.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(ds.beam_azimuth_deg.values[0], [50.0, 95.0, 150.0], atol=1e-9)


def test_a_blocking_check_stops_the_assets_below_it():
    """measurement_power_range blocks (issue 14): a relative campaign whose level, once placed at its site's, falls
    outside the physical range is not turned into masked sparse CSI in the same run."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        zone = LandingZone(root=tmp)
        m = good_measurements()
        rel = (m["power_dbm"].to_numpy(np.float64) + 120.0)
        rel[5] = -200.0  # a span of 280 dB: allowed for relative values, but placed at -44 dBm it reaches -321 dBm
        manifest = {**good_manifest("too-deep"), "site": "san_francisco", "power": {"unit": "dB"}}
        contract.write_campaign(zone.landing_path / "too-deep", manifest,
                                m.drop(columns=["power_dbm"]).assign(power_db=rel))
        instance = DagsterInstance.ephemeral()
        instance.add_dynamic_partitions("campaigns", ["too-deep"])
        result = materialize([ingestion.raw_channel_measurements, ingestion.masked_sparse_csi],
                             partition_key="too-deep", instance=instance, resources=_ingestion_resources(zone),
                             raise_on_error=False)
        evaluations = [e.asset_check_evaluation_data for e in result.all_events
                       if e.event_type_value == "ASSET_CHECK_EVALUATION"]
        assert [(c.check_name, c.passed) for c in evaluations] == [("measurement_power_range", False)]
        made = {e.materialization.asset_key.path[-1] for e in result.get_asset_materialization_events()}
        assert made == {"raw_channel_measurements"}  # masked_sparse_csi was not computed from it


def test_a_campaign_without_time_lands_and_every_sample_stands_alone(tmp_path):
    """Time kind 'none' (issue 14): no order is known, so no temporal method may join two samples; each sample is a
    trajectory of its own, and the ground truth follows it."""
    zone = LandingZone(root=str(tmp_path))
    m = good_measurements()
    sid = np.rint(m["t_s"] * 10).astype(np.int64)
    rows = m.drop(columns=["t_s"]).assign(sample_id=sid).sample(frac=1.0, random_state=2)
    gt = good_ground_truth()
    gt = gt.assign(sample_id=np.rint(gt["t_s"] * 10).astype(np.int64)).drop(columns=["t_s"])
    contract.write_campaign(zone.landing_path / "no-time", {**good_manifest("no-time"), "time": {"kind": "none"}},
                            rows, gt)
    got = zone.accept("no-time")
    csi = masked_sparse_csi(got.measurements, got.bs_ids, 16)
    assert csi.num_samples == 40 and len(csi.trajectories()) == 40 and (csi.t_s == 0).all()
    assert (csi.m.reshape(40, 3, 16).sum(axis=2) == 1).all()  # each sample keeps its three rows
    truth = contract.read_ground_truth(got)
    assert set(truth["trajectory_id"]) == set(csi.trajectories())
    with_time = {**good_manifest("no-time-but-t"), "time": {"kind": "none"}}
    with pytest.raises(contract.CampaignValidationError, match="one time column"):
        contract.validate_measurements("no-time-but-t", m.assign(sample_id=sid), with_time)
