"""Simulated measurement campaigns: trajectories along streets observed through the measurement model of eq. (2),
written in exactly the landing-zone format of design 3.1 (ground truth in its own file).

Campaigns per site, as in paper section IV: ``uniform`` (one trajectory along a main road at 1 m/s),
``complex`` (stop, acceleration to 10 m/s, hold, deceleration), ``random`` (many discontinuous trajectories of
200-1000 m), and ``uniform_m<M>``: the uniform trajectory again, observed with M beams per base station (Fig. 7 and
Table IV compare M = 1, 3, 5). Campaign ids carry a short hash of everything that determines their content, so
simulating twice with the same inputs gives the same ids (and the landing zone sees no duplicates), while a changed
map or setting gives new ids.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import xarray as xr

from radiomap_assets.domain import trajectories as tr
from radiomap_assets.domain.grid import Grid
from radiomap_assets.domain.measurement import measurements_long_format, sample_beam_map, synthesize_measurements
from radiomap_assets.domain.raytrace import NOISE_FLOOR_DBM
from radiomap_assets.profiles import CampaignSpec

CAMPAIGN_KINDS = ("uniform", "complex", "random")
SWEEP_PREFIX = "uniform_m"
_CAMPAIGN_ID = re.compile(r"^(?P<site>.+)-(?P<kind>uniform|complex|random|uniform_m\d+)-(?P<version>[0-9a-f]{8})$")


def default_kinds(spec: CampaignSpec) -> tuple[str, ...]:
    if spec.kinds is not None:
        return tuple(spec.kinds)
    return CAMPAIGN_KINDS + tuple(f"{SWEEP_PREFIX}{m}" for m in spec.observed_beams_sweep)


def campaign_kind(campaign_id: str) -> str | None:
    """The simulated kind a campaign id names (``<site>-<kind>-<version>``), or None for any other campaign."""
    match = _CAMPAIGN_ID.match(campaign_id)
    return match.group("kind") if match else None


def observed_beams_per_bs(kind: str, spec: CampaignSpec) -> int:
    """M of a campaign kind: the sweep's M for ``uniform_m<M>``, else the spec's."""
    return int(kind[len(SWEEP_PREFIX):]) if kind.startswith(SWEEP_PREFIX) else spec.observed_beams_per_bs


@dataclass
class SimulatedCampaign:
    campaign_id: str
    kind: str
    manifest: dict
    measurements: pd.DataFrame
    ground_truth: pd.DataFrame


def base_stations_from_map(ds: xr.Dataset) -> list[dict]:
    return [{"bs_id": int(b), "x_m": float(ds.bs_x_m.values[i]), "y_m": float(ds.bs_y_m.values[i]),
             "z_m": float(ds.bs_z_m.values[i]), "yaw_deg": float(ds.bs_yaw_deg.values[i])}
            for i, b in enumerate(ds.bs.values)]


def _ground_truth_frame(traj: tr.Trajectory, grid: Grid, los: np.ndarray, ue_z: np.ndarray,
                        bs_ids: list[int]) -> pd.DataFrame:
    iy, ix = grid.cell_index(traj.xy)
    gt = pd.DataFrame({"trajectory_id": pd.Series(np.full(len(traj.t_s), traj.trajectory_id), dtype="string"),
                       "t_s": traj.t_s, "x_m": traj.xy[:, 0], "y_m": traj.xy[:, 1], "z_m": ue_z[iy, ix]})
    for b, bs_id in enumerate(bs_ids):
        gt[f"los_bs_{bs_id}"] = los[b, iy, ix]
    return gt


def simulate_campaigns(beam_map: xr.Dataset, spec: CampaignSpec, site: str,
                       kinds: tuple[str, ...] | None = None, codebook: dict | None = None,
                       centre_preference: float = tr.CENTRE_PREFERENCE) -> list[SimulatedCampaign]:
    """Campaigns from a ground-truth beam map Dataset (needs power_dbm, valid, los, ue_z_m and bs coordinates).
    ``codebook``: the manifest's codebook entry (``Site.codebook_manifest``; None = the 1-D DFT of the map's beams);
    ``centre_preference``: how paths keep to the middle of streets (``trajectories.StreetGraph``)."""
    grid = Grid.from_coords(beam_map.x.values, beam_map.y.values)
    power = beam_map.power_dbm.values.astype(np.float64)
    power = np.where(np.isnan(power), NOISE_FLOOR_DBM, power)  # holes and invalid cells read as the noise floor
    walkable = beam_map.valid.values.astype(bool)
    los = beam_map.los.values.astype(bool)
    ue_z = beam_map.ue_z_m.values
    base_stations = base_stations_from_map(beam_map)
    bs_ids = [b["bs_id"] for b in base_stations]
    graph = tr.StreetGraph(grid, walkable, centre_preference)
    codebook = dict(codebook or {"type": "dft", "num_beams": int(beam_map.sizes["beam"])})
    if codebook["num_beams"] != beam_map.sizes["beam"]:
        raise ValueError(f"codebook of {codebook['num_beams']} beams for a beam map of {beam_map.sizes['beam']}")
    version = hashlib.sha1(json.dumps({"map": beam_map.attrs.get("version", ""), "spec": asdict(spec)},
                                      sort_keys=True).encode()).hexdigest()[:8]
    out = []
    for kind in kinds or default_kinds(spec):
        sweep = kind.startswith(SWEEP_PREFIX) and kind[len(SWEEP_PREFIX):].isdigit()
        # one random stream per kind; a sweep campaign shares the uniform one's, hence the same trajectory
        stream = "uniform" if sweep else kind
        rng = np.random.default_rng([spec.seed, CAMPAIGN_KINDS.index(stream) if stream in CAMPAIGN_KINDS else 99])
        observed = observed_beams_per_bs(kind, spec)
        if kind == "uniform" or sweep:
            trajs = [tr.uniform_trajectory(graph, spec.uniform_length_m, spec.measurement_rate_hz, rng, "uniform_0",
                                           speed_mps=spec.speed_mps)]
        elif kind == "complex":
            trajs = [tr.complex_trajectory(graph, spec.complex_length_m, spec.measurement_rate_hz, rng, "complex_0")]
        elif kind == "random":
            trajs = tr.random_trajectories(graph, spec.num_random_trajectories, spec.random_length_range_m,
                                           spec.measurement_rate_hz, rng, speed_mps=spec.speed_mps,
                                           region_m=spec.random_region_m)
        else:
            raise ValueError(f"unknown campaign kind {kind!r}; expected one of {CAMPAIGN_KINDS} or {SWEEP_PREFIX}<M>")
        rows, truth = [], []
        for traj in trajs:
            expected = sample_beam_map(power, grid, traj.xy)  # E|h w_j|^2 in dBm, (T, N_b, |W|)
            noisy, mask = synthesize_measurements(expected, observed, spec.noise_std_db, rng)
            rows.append(measurements_long_format(traj.trajectory_id, traj.t_s, noisy, mask, bs_ids))
            truth.append(_ground_truth_frame(traj, grid, los, ue_z, bs_ids))
        cid = f"{site.replace('_', '-')}-{kind}-{version}"
        manifest = {
            "campaign_id": cid, "site": site, "carrier_frequency_hz": float(beam_map.attrs["carrier_frequency_hz"]),
            "base_stations": [{**b, "num_antennas": int(beam_map.attrs["num_antennas"]),
                               "array": "ULA" if codebook["type"] == "dft" else "URA",
                               "orientation_yaw_deg": b["yaw_deg"]} for b in base_stations],
            "codebook": codebook,
            "measurement_rate_hz": spec.measurement_rate_hz,
            # what makes it an experiment's campaign (radiomap_assets.assets.shared.simulated_kind): the id alone
            # does not, a landed campaign may be named like one
            "simulation": {"kind": kind, "ground_truth_map_version": str(beam_map.attrs.get("version", ""))},
            "notes": (f"simulated {kind} campaign from ground-truth beam map {beam_map.attrs.get('version', '?')}; "
                      f"M={observed} beams per base station per sample, noise "
                      f"{spec.noise_std_db} dB"),
        }
        out.append(SimulatedCampaign(cid, kind, manifest, pd.concat(rows, ignore_index=True),
                                     pd.concat(truth, ignore_index=True)))
    return out
