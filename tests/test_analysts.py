"""What an analyst sees (issue 15): beam maps in self-describing CF-style Zarr (NaN and a flag where there is no
value, a documented site frame, beams with steering angles, Zarr format 3 said), a catalogue from beam-map version
to model version, recovered trajectories as Parquet, metadata that names those paths and rounds its numbers, and
the README's recipe run as written against the smoke outputs."""

import json
import re
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from radiomap_assets.domain import beam_map_store as store
from radiomap_assets.domain.codebook import beam_direction_cosines
from radiomap_assets.domain.grid import Grid
from radiomap_assets.metadata import significant
from tests.conftest import SITE

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK_PROJECT = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'radiomap_assets', 'models', 'resources', 'sionna', 'mitsuba', 'drjit', 'dagster',
                                  'torch', 'mlflow'}:
            raise ImportError('blocked ' + name)
sys.meta_path.insert(0, Block())
"""


def _tiny_map(**attrs) -> xr.Dataset:
    grid = Grid(0.0, 0.0, 10.0, 4, 3)
    valid = np.ones(grid.shape, bool)
    bss = [{"bs_id": 7, "x_m": 5.0, "y_m": 5.0, "z_m": 30.0, "yaw_deg": 90.0}]
    return store.beam_map_dataset(np.full((1, 4) + grid.shape, -80.0), grid, bss, valid,
                                  {"site": "tiny", "model_name": "m", "profile": "smoke", **attrs})


def _floats(value):
    """Every float in a metadata value (JSON payloads included)."""
    from dagster import FloatMetadataValue, JsonMetadataValue

    if isinstance(value, FloatMetadataValue):
        value = value.value
    if isinstance(value, JsonMetadataValue):
        value = value.data
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in _floats(v)]
    return [value] if isinstance(value, float) else []


def _assert_rounded(md: dict):
    for key, value in md.items():
        for f in _floats(value):
            assert significant(f, 4) == f, (key, f)


# --------------------------------------------------------------------------------------- catalogue (no Dagster)

def test_every_write_adds_a_catalogue_row_in_write_order_and_latest_is_the_last(tmp_path):
    for i in range(3):
        store.write_beam_map(_tiny_map(model_version=str(i + 1), mlflow_run_id=f"run{i}"), tmp_path, "m")
    cat = pd.read_parquet(tmp_path / "m" / "catalogue.parquet")  # plain pandas
    assert list(cat.columns) == list(store.CATALOGUE_COLUMNS)
    assert cat["model_version"].tolist() == ["1", "2", "3"]
    assert cat["mlflow_run_id"].tolist() == ["run0", "run1", "run2"]
    assert cat["written_at"].is_monotonic_increasing and str(cat["written_at"].dt.tz) == "UTC"
    assert (cat["profile"] == "smoke").all() and (cat["zarr_format"] == 3).all()
    assert cat["version"].iloc[-1] == (tmp_path / "m" / "LATEST").read_text().strip()
    for row in cat.itertuples():  # paths are relative to the catalogue's folder: a moved home keeps working
        assert xr.open_zarr(tmp_path / "m" / row.path).attrs["version"] == row.version
    assert (tmp_path / "m" / "latest.zarr").resolve() == (tmp_path / "m" / cat["path"].iloc[-1]).resolve()
    assert store.version_path(tmp_path, "m", cat["version"].iloc[0]) == tmp_path / "m" / cat["path"].iloc[0]
    assert not [p for p in (tmp_path / "m").iterdir() if ".tmp-" in p.name or p.name.startswith(".catalogue")]


def test_concurrent_writers_each_get_their_row(tmp_path):
    threads = [threading.Thread(target=store.write_beam_map, args=(_tiny_map(model_version=str(i)), tmp_path, "m"))
               for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cat = store.read_catalogue(tmp_path, "m")
    assert sorted(cat["model_version"]) == ["0", "1", "2", "3"] and cat["version"].is_unique
    assert cat["version"].iloc[-1] == (tmp_path / "m" / "LATEST").read_text().strip()


def test_a_write_killed_between_latest_and_its_link_is_repaired_and_stale_temporaries_removed(tmp_path,
                                                                                               monkeypatch):
    import os

    store.write_beam_map(_tiny_map(model_version="1"), tmp_path, "m", version="v1")
    folder = tmp_path / "m"
    dead = folder / ".v0.zarr.tmp-dead"  # a store a killed write left an hour ago
    dead.mkdir()
    (dead / "zarr.json").write_text("{}")
    os.utime(dead, (0, 0))
    real_symlink = os.symlink

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies after LATEST, before the link moves

    monkeypatch.setattr(store.os, "symlink", killed)
    with pytest.raises(KeyboardInterrupt):
        store.write_beam_map(_tiny_map(model_version="2"), tmp_path, "m", version="v2")
    monkeypatch.setattr(store.os, "symlink", real_symlink)
    assert (folder / "LATEST").read_text().strip() == "v2"  # LATEST is the commit point
    assert store.latest_path(tmp_path, "m") == folder / "v2.zarr"
    with store._locked(folder):
        done = store.repair(folder, "m")
    assert done == ["latest.zarr -> v2.zarr"] and not dead.exists()  # the dead store went at the next write
    assert os.readlink(folder / "latest.zarr") == "v2.zarr"
    assert store.read_catalogue(tmp_path, "m")["version"].tolist() == ["v1", "v2"]
    store.write_beam_map(_tiny_map(model_version="3"), tmp_path, "m", version="v3")  # and writes go on
    assert os.readlink(folder / "latest.zarr") == "v3.zarr"
    assert store.read_catalogue(tmp_path, "m")["version"].tolist() == ["v1", "v2", "v3"]


def test_a_map_written_before_the_catalogue_existed_is_listed_on_the_next_write(tmp_path):
    store.write_beam_map(_tiny_map(model_version="1"), tmp_path, "m", version="v-old")
    (tmp_path / "m" / "catalogue.parquet").unlink()
    store.write_beam_map(_tiny_map(model_version="2"), tmp_path, "m", version="v-new")
    assert store.read_catalogue(tmp_path, "m")["version"].tolist() == ["v-old", "v-new"]


def test_beam_steering_angles_follow_the_codebook_and_the_array_yaw():
    ds = _tiny_map()
    u = beam_direction_cosines(4)
    np.testing.assert_allclose(np.sin(np.radians(ds.beam_steering_deg.values)), u)
    np.testing.assert_allclose(ds.beam_azimuth_deg.values[0], 90.0 + np.degrees(np.arcsin(u)))
    np.testing.assert_allclose(ds.beam_bearing_deg.values[0], (-np.degrees(np.arcsin(u))) % 360.0)
    assert ds.bs_id.values.tolist() == [7] and ds.beam_azimuth_deg.dims == ("bs", "beam")


# ------------------------------------------------------------------------------- the ray-traced ground truth

def test_ground_truth_holes_are_nan_with_a_flag_and_the_store_says_its_conventions(ground_truth_path, simulated_site):
    ds = xr.open_zarr(ground_truth_path)  # plain xarray
    assert ds.attrs["Conventions"] == "CF-1.10" and ds.attrs["zarr_format"] == 3
    assert json.loads((Path(ground_truth_path) / "zarr.json").read_text())["zarr_format"] == 3
    for name, var in {**ds.data_vars, **ds.coords}.items():
        assert "units" in var.attrs and "long_name" in var.attrs, name
    power, covered, valid = ds.power_dbm.values, ds.covered.values, ds.valid.values
    holes = ~covered & valid[None, None]
    assert holes.any()  # the smoke site has coverage holes: they must not read as a weak signal
    assert np.isnan(power[holes]).all() and np.isfinite(power[covered]).all()
    assert not (covered & ~valid[None, None]).any()
    assert ds.covered.attrs["flag_meanings"].split()[1] == "covered" and ds.covered.attrs["flag_values"] == [0, 1]
    assert "covered" in ds.power_dbm.attrs["ancillary_variables"].split()
    assert "NaN" in ds.attrs["hole_policy"] and ds.attrs["profile"] == "smoke"
    # the pipeline reads the holes at the documented noise floor; analysts see them as stored
    from radiomap_assets.assets.shared import ground_truth_map_name
    from radiomap_assets.definitions import defs

    name = ground_truth_map_name(SITE)
    filled = defs.resources["beam_map_store"].open_latest(name).power_dbm.values
    assert (filled[holes] == ds.attrs["noise_floor_dbm"]).all() and np.isnan(filled[:, :, ~valid]).all()
    # catalogue and materialization metadata
    cat = pd.read_parquet(Path(ground_truth_path).parent / "catalogue.parquet")
    assert cat["version"].iloc[-1] == ds.attrs["version"] and cat["model_name"].iloc[-1] == ds.attrs["model_name"]
    md = simulated_site.asset_materializations_for_node("ground_truth_beam_map")[0].metadata
    assert md["zarr_path"].path == str(ground_truth_path)
    assert Path(md["catalogue_path"].path) == Path(ground_truth_path).parent / "catalogue.parquet"
    _assert_rounded(md)
    checks = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
              for e in simulated_site.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert checks["ground_truth_coverage"].passed  # finite exactly where covered
    assert checks["ground_truth_coverage"].metadata["finite_exactly_where_covered"].value is True


def test_site_frame_is_documented_for_a_gis_user(ground_truth_path):
    ds = xr.open_zarr(ground_truth_path)
    assert ds.x.attrs["standard_name"] == "projection_x_coordinate" and ds.x.attrs["units"] == "m"
    assert ds.y.attrs["standard_name"] == "projection_y_coordinate" and ds.y.attrs["axis"] == "Y"
    assert ds.power_dbm.attrs["grid_mapping"] == "crs" and "crs" in ds.coords
    crs = ds.crs.attrs
    assert crs["crs_wkt"].startswith("ENGCRS[") and "east" in crs["crs_wkt"] and "north" in crs["crs_wkt"]
    assert crs["georeferenced"] == "no" and "ENU" in crs["frame"] and "ENU" in ds.attrs["coordinate_frame"]


def test_each_beam_points_where_the_ray_traced_map_is_strongest(ground_truth_path):
    """The stored steering angles are physics, not labels: on LOS cells in front of an array, the strongest beam of
    the ray-traced map is (within one beam) the one whose direction cosine is nearest the cell's. The mirrored
    convention (angles of the other sign) must do clearly worse."""
    ds = xr.open_zarr(ground_truth_path).load()
    u_beams = ds.beam_direction_cosine.values
    xx, yy = np.meshgrid(ds.x.values, ds.y.values)
    hits, mirrored, total = 0, 0, 0
    for b in range(ds.sizes["bs"]):
        yaw = np.radians(float(ds.bs_yaw_deg[b]))
        d = np.stack([xx - float(ds.bs_x_m[b]), yy - float(ds.bs_y_m[b]), ds.ue_z_m.values - float(ds.bs_z_m[b])])
        d = d / np.linalg.norm(d, axis=0)
        front = d[0] * np.cos(yaw) + d[1] * np.sin(yaw)  # toward the boresight
        u = -d[0] * np.sin(yaw) + d[1] * np.cos(yaw)  # along the element axis (counterclockwise of the boresight)
        power = ds.power_dbm.values[b]
        sel = ds.los.values[b] & ds.covered.values[b].all(axis=0) & (front > 0.3)
        strongest = np.argmax(power[:, sel], axis=0)
        nearest = np.abs(u[sel][:, None] - u_beams[None]).argmin(axis=1)
        nearest_mirrored = np.abs(-u[sel][:, None] - u_beams[None]).argmin(axis=1)
        hits += int((np.abs(strongest - nearest) <= 1).sum())
        mirrored += int((np.abs(strongest - nearest_mirrored) <= 1).sum())
        total += int(sel.sum())
    assert total > 50
    assert hits / total > 0.6 and hits > 2 * mirrored, (hits, mirrored, total)
    az = ds.bs_yaw_deg.values[:, None] + ds.beam_steering_deg.values[None]
    np.testing.assert_allclose(ds.beam_azimuth_deg.values, (az + 180.0) % 360.0 - 180.0)


# ------------------------------------------------------------------ the model's beam map and trajectories

@pytest.fixture(scope="module")
def analyst_outputs(trained_model, dagster_instance):
    """The generated beam map and the recovered trajectories of the model group's campaign (smoke)."""
    from radiomap_assets.definitions import defs

    beam = defs.resolve_job_def("generate_beam_map").execute_in_process(
        instance=dagster_instance, partition_key=SITE,
        run_config={"ops": {"beam_maps": {"config": {"samples_per_cell": 1}}}})
    assert beam.success
    rec = defs.resolve_job_def("recover_trajectories").execute_in_process(instance=dagster_instance,
                                                                          partition_key=trained_model[0])
    assert rec.success
    return {"beam": beam, "recovery": rec, "campaign": trained_model[0],
            "ref": trained_model[1].output_for_node("beam_map_model")}


def test_generated_map_has_no_value_where_the_model_never_went_and_names_its_model(analyst_outputs):
    path = Path(analyst_outputs["beam"].output_for_node("beam_maps"))
    ref = analyst_outputs["ref"]
    ds = xr.open_zarr(path)
    visited, valid = ds.codebook_visited.values, ds.valid.values
    assert 0 < visited.sum() < valid.sum() and not (visited & ~valid).any()
    for var in ("power_dbm", "power_std_db"):
        finite = np.isfinite(ds[var].values)
        assert (finite == visited[None, None]).all(), var  # NaN on unvisited cells, never a copied value
    assert ds.codebook_visited.attrs["flag_meanings"] == "not_visited visited"
    assert ds.power_dbm.attrs["ancillary_variables"].split() == ["valid", "codebook_visited"]
    assert ds.attrs["Conventions"] == "CF-1.10" and ds.attrs["zarr_format"] == 3 and ds.attrs["profile"] == "smoke"
    assert {"bs_id", "beam", "beam_steering_deg", "beam_azimuth_deg", "beam_bearing_deg", "crs"} <= set(ds.coords)
    assert ds.beam_azimuth_deg.attrs["units"] == "degree"
    cat = pd.read_parquet(path.parent / "catalogue.parquet")
    row = cat.set_index("version").loc[ds.attrs["version"]]
    assert row["model_name"] == ref.registered_model_name and row["model_version"] == str(ref.model_version)
    assert row["mlflow_run_id"] == ref.mlflow_run_id and row["profile"] == "smoke"
    assert path.parent / row["path"] == path


def test_beam_map_metadata_keeps_its_zarr_path_beside_the_io_managers_pickle_path(analyst_outputs):
    from dagster import PathMetadataValue

    md = analyst_outputs["beam"].asset_materializations_for_node("beam_maps")[0].metadata
    path = analyst_outputs["beam"].output_for_node("beam_maps")
    assert isinstance(md["zarr_path"], PathMetadataValue) and md["zarr_path"].path == str(path)
    assert md["path"].path != str(path)  # the IO manager's pickle: why the Zarr has a key of its own
    assert isinstance(md["catalogue_path"], PathMetadataValue) and Path(md["catalogue_path"].path).exists()
    _assert_rounded(md)
    check = next(e.asset_check_evaluation_data for e in analyst_outputs["beam"].all_events
                 if e.event_type_value == "ASSET_CHECK_EVALUATION")
    assert check.check_name == "beam_map_shape_and_nan_pattern" and check.passed


def test_recovered_trajectories_are_parquet_an_analyst_opens_with_pandas(analyst_outputs):
    from dagster import JsonMetadataValue, PathMetadataValue

    rec, cid, ref = analyst_outputs["recovery"], analyst_outputs["campaign"], analyst_outputs["ref"]
    md = rec.asset_materializations_for_node("recovered_trajectories")[0].metadata
    assert isinstance(md["parquet_path"], PathMetadataValue) and md["path"].path != md["parquet_path"].path
    assert Path(md["parquet_path"].path).name == f"{cid}.parquet"
    assert isinstance(md["mean_second_difference_m"], JsonMetadataValue)
    _assert_rounded(md)
    code = BLOCK_PROJECT + textwrap.dedent(f"""
        import json, pandas as pd
        df = pd.read_parquet({md["parquet_path"].path!r})
        print(json.dumps({{"columns": list(df.columns), "rows": len(df), "versions": sorted(set(df.model_version)),
                          "attrs": df.attrs, "dtypes": {{c: str(t) for c, t in df.dtypes.items()}}}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["columns"][:6] == ["campaign_id", "trajectory_id", "t_s", "x_m", "y_m", "cell"]
    assert info["versions"] == [str(ref.model_version)]
    assert info["rows"] == len(rec.output_for_node("recovered_trajectories"))
    assert info["dtypes"]["t_s"] == "float64" and info["dtypes"]["cell"] == "int64"
    assert info["attrs"]["units"]["x_m"] == "m" and "ENU" in info["attrs"]["coordinate_frame"]


def test_the_readme_recipe_for_analysts_runs_as_written(analyst_outputs, radiomap_home):
    text = README.read_text()
    section = text[text.index("## For analysts"):]
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len([line for line in snippet.splitlines() if line.strip()]) <= 6
    code = BLOCK_PROJECT + snippet + textwrap.dedent("""
        import json
        print(json.dumps({"dims": list(best_dbm.dims), "versions": catalogue["version"].tolist(),
                          "latest": ds.attrs["version"], "finite": int(best_dbm.notnull().sum()),
                          "visited": int(ds.codebook_visited.sum()), "rows": len(traj)}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/",
                         env={"RADIOMAP_HOME": str(radiomap_home), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout.strip().splitlines()[-1])
    assert info["dims"] == ["y", "x"] and info["latest"] == info["versions"][-1]
    assert info["finite"] == info["visited"] > 0 and info["rows"] > 0
    assert "zarr_format" in section and "catalogue.parquet" in section and "latest" in section


def _counting_reads(monkeypatch):
    """Bytes and keys zarr reads from local stores while the context runs."""
    from zarr.storage import LocalStore
    seen = {"bytes": 0, "keys": []}
    get = LocalStore.get

    async def counting_get(self, key, prototype, byte_range=None):
        buf = await get(self, key, prototype, byte_range)
        if buf is not None:
            seen["bytes"] += len(buf)
            seen["keys"].append(key)
        return buf

    monkeypatch.setattr(LocalStore, "get", counting_get)
    return seen


def test_the_analyst_api_lists_versions_opens_by_version_or_model_and_reads_a_tile_from_its_chunks_only(
        tmp_path, monkeypatch):
    from radiomap_assets import analyst
    grid = Grid(0.0, 0.0, 5.0, 300, 260)  # 3 x 3 chunks of 128 cells
    bss = [{"bs_id": b, "x_m": 0.0, "y_m": 0.0, "z_m": 20.0, "yaw_deg": 0.0} for b in (4, 9)]
    power = np.random.default_rng(0).normal(-80, 10, (2, 16) + grid.shape).astype(np.float32)
    root = tmp_path / "beam_maps"
    for k, model_version in enumerate(("3", "4")):
        ds = store.beam_map_dataset(power + k, grid, bss, np.ones(grid.shape, bool),
                                    {"site": "demo", "model_name": "m", "model_version": model_version})
        store.write_beam_map(ds, root, "generative_demo", version=f"v{k}")
    versions = analyst.beam_map_versions("demo", home=tmp_path)
    assert versions["version"].tolist() == ["v0", "v1"] and versions["model_version"].tolist() == ["3", "4"]
    assert float(analyst.open_beam_map("demo", home=tmp_path).power_dbm[0, 0, 0, 0]) == power[0, 0, 0, 0] + 1
    assert float(analyst.open_beam_map("demo", "model:3", home=tmp_path).power_dbm[0, 0, 0, 0]) == power[0, 0, 0, 0]
    with pytest.raises(FileNotFoundError, match=r"model versions with maps: \['3', '4'\]"):
        analyst.open_beam_map("demo", "model:7", home=tmp_path)

    reads = _counting_reads(monkeypatch)
    tile = analyst.read_tile("demo", x_m=(0.0, 600.0), y_m=(0.0, 600.0), bs=9, home=tmp_path)
    assert tile.shape == (16, 120, 120)
    np.testing.assert_array_equal(tile.values, power[1, :, :120, :120] + 1)
    power_chunks = [k for k in reads["keys"] if k.startswith("power_dbm/c/")]
    assert len(power_chunks) == 1  # one base station, one chunk of cells: nothing else of power_dbm was read



def test_a_store_at_an_fsspec_url_writes_versions_there_and_analysts_read_them_through_it(monkeypatch, radiomap_home):
    """Object storage (issue 15): the same versions, catalogue and LATEST through a non-local fsspec filesystem
    (memory://), chosen by configuration alone; nothing lands on the local disk, no link, no lock."""
    import uuid

    import fsspec

    from radiomap_assets import analyst
    from resources import BeamMapStore

    url = f"memory://radiomap-{uuid.uuid4().hex[:8]}/beam_maps"
    fs, base = fsspec.core.url_to_fs(url)
    grid = Grid(0.0, 0.0, 5.0, 140, 10)  # two chunks of cells along x
    bss = [{"bs_id": b, "x_m": 0.0, "y_m": 0.0, "z_m": 20.0, "yaw_deg": 0.0} for b in (4, 9)]
    power = np.random.default_rng(1).normal(-80, 10, (2, 4) + grid.shape).astype(np.float32)
    name = "generative_demo"
    monkeypatch.setenv(store.BEAM_MAP_URL_ENV, url)
    try:
        stores = [BeamMapStore(root=url), BeamMapStore()]  # by its root, then by $RADIOMAP_BEAM_MAP_URL
        assert [s.root_path() for s in stores] == [url, url]
        written = []
        for k, (resource, model_version) in enumerate(zip(stores, ("3", "4"))):
            ds = store.beam_map_dataset(power + k, grid, bss, np.ones(grid.shape, bool),
                                        {"site": "demo", "model_name": "m", "model_version": model_version})
            written.append(resource.write(ds, name, version=f"v{k}"))
        assert written == [f"{url}/{name}/v0.zarr", f"{url}/{name}/v1.zarr"]
        assert not (radiomap_home / "beam_maps" / name).exists()  # nothing local
        assert sorted(fs.ls(f"{base}/{name}", detail=False)) == [
            f"{base}/{name}/{entry}" for entry in ("LATEST", "catalogue.parquet", "v0.zarr", "v1.zarr")]
        assert json.loads(fs.cat_file(f"{base}/{name}/v1.zarr/zarr.json"))["zarr_format"] == 3

        # LATEST and the catalogue name the second version; plain fsspec, pandas and xarray read them by URL
        latest = fs.cat_file(f"{base}/{name}/LATEST").decode().strip()
        cat = pd.read_parquet(f"{url}/{name}/catalogue.parquet")
        assert latest == "v1" and cat["version"].tolist() == ["v0", "v1"] and cat["path"].iloc[-1] == "v1.zarr"
        assert list(cat.columns) == list(store.CATALOGUE_COLUMNS) and cat["model_version"].tolist() == ["3", "4"]
        plain = xr.open_zarr(f"{url}/{name}/{cat['path'].iloc[-1]}")
        np.testing.assert_array_equal(plain.power_dbm.values, power + 1)
        assert plain.attrs["version"] == "v1" and plain.attrs["zarr_format"] == 3
        assert plain.bs_id.values.tolist() == [4, 9]
        assert stores[1].latest(name) == written[1]
        assert stores[1].catalogue_path(name) == f"{url}/{name}/{store.CATALOGUE}"
        assert stores[1].catalogue(name)["version"].tolist() == ["v0", "v1"]
        np.testing.assert_array_equal(stores[0].open_latest(name).power_dbm.values, power + 1)

        # the analyst API: by its root, or where the configuration points; the first version stays readable
        assert analyst.beam_map_versions("demo", root=url)["version"].tolist() == ["v0", "v1"]
        assert analyst.beam_map_path("demo") == written[1]
        np.testing.assert_array_equal(analyst.open_beam_map("demo").power_dbm.values, power + 1)
        np.testing.assert_array_equal(analyst.open_beam_map("demo", "v0", root=url).power_dbm.values, power)
        np.testing.assert_array_equal(analyst.open_beam_map("demo", "model:3", root=url).power_dbm.values, power)
        tile = analyst.read_tile("demo", x_m=(0.0, 100.0), y_m=(0.0, 20.0), bs=9, beam=2, root=url)
        np.testing.assert_array_equal(tile.values, power[1, 2, :4, :20] + 1)
        with pytest.raises(FileNotFoundError, match="no beam map version 'v7'"):
            analyst.open_beam_map("demo", "v7", root=url)

        # a version is never overwritten, there as here
        with pytest.raises(FileExistsError):
            stores[0].write(store.beam_map_dataset(power - 50, grid, bss, np.ones(grid.shape, bool), {}), name,
                            version="v1")
        np.testing.assert_array_equal(xr.open_zarr(written[1]).power_dbm.values, power + 1)
        assert fs.cat_file(f"{base}/{name}/LATEST").decode().strip() == "v1"
    finally:
        fs.rm(base.split("/beam_maps")[0], recursive=True)


def test_a_file_url_root_is_a_local_folder_with_its_link_and_lock(tmp_path):
    from resources import BeamMapStore

    resource = BeamMapStore(root=f"file://{tmp_path}")
    assert resource.root_path() == tmp_path
    path = resource.write(_tiny_map(model_version="1"), "m", version="v1")
    assert path == tmp_path / "m" / "v1.zarr" and (tmp_path / "m" / "latest.zarr").is_symlink()
    assert (tmp_path / "m" / ".lock").exists() and resource.latest("m") == path

def test_progress_lines_say_the_share_done_and_the_time_left():
    from radiomap_assets.metadata import time_left
    assert time_left(30.0, 100, 800) == "12 % done, about 3.5 min left"  # 0.3 s per step, 700 steps to go
    assert time_left(30.0, 10, 20) == "50 % done, about 30 s left"
    assert time_left(5.0, 0, 20) == "0 % done"
