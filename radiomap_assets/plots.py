"""Plots shown in the Dagster UI and the README: plain matplotlib on the Agg backend, returned as PNG bytes."""

from __future__ import annotations

import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402


def to_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def markdown_image(png: bytes, alt: str = "plot") -> str:
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"


def beam_maps_of_base_station(ds: xr.Dataset, bs_index: int = 0, vmin: float | None = None,
                              vmax: float | None = None) -> bytes:
    """The |W| beam maps of one base station in a 4-column grid, base stations marked."""
    power = ds.power_dbm.isel(bs=bs_index).values  # (|W|, ny, nx)
    if "covered" in ds:  # coverage holes are drawn grey, not as the floor value
        power = np.where(ds.covered.isel(bs=bs_index).values, power, np.nan)
    walkable = ds.valid.values.astype(float)
    n_w = power.shape[0]
    cols = 4
    rows = int(np.ceil(n_w / cols))
    finite = power[np.isfinite(power)]
    vmin = float(np.percentile(finite, 2)) if vmin is None and finite.size else vmin
    vmax = float(np.percentile(finite, 99.5)) if vmax is None and finite.size else vmax
    x, y = ds.x.values, ds.y.values
    extent = (x[0] - (x[1] - x[0]) / 2, x[-1] + (x[1] - x[0]) / 2, y[0] - (y[1] - y[0]) / 2, y[-1] + (y[1] - y[0]) / 2)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), sharex=True, sharey=True)
    im = None
    for j, ax in enumerate(np.atleast_1d(axes).ravel()):
        if j >= n_w:
            ax.axis("off")
            continue
        ax.imshow(np.where(walkable > 0, 0.75, 1.0), origin="lower", extent=extent, cmap="gray", vmin=0, vmax=1)
        im = ax.imshow(power[j], origin="lower", extent=extent, vmin=vmin, vmax=vmax, cmap="viridis")
        ax.plot(ds.bs_x_m.values, ds.bs_y_m.values, "r^", ms=5)
        ax.plot(ds.bs_x_m.values[bs_index], ds.bs_y_m.values[bs_index], "w^", ms=8, mec="k")
        ax.set_title(f"beam {j}", fontsize=9)
    fig.suptitle(f"{ds.attrs.get('scene', '')}: base station {int(ds.bs.values[bs_index])}, power per DFT beam "
                 f"[dBm] (white: buildings, grey: no value: coverage hole or cell not visited)", fontsize=10)
    if im is not None:
        fig.colorbar(im, ax=axes, shrink=0.6, label="dBm")
    return to_png(fig)


def site_overview(ds: xr.Dataset, trajectories: dict[str, np.ndarray] | None = None) -> bytes:
    """Walkable mask, LOS count and best-beam power with the base stations and trajectories on top."""
    x, y = ds.x.values, ds.y.values
    r = x[1] - x[0]
    extent = (x[0] - r / 2, x[-1] + r / 2, y[0] - r / 2, y[-1] + r / 2)
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.4))
    axes[0].imshow(ds.valid.values, origin="lower", extent=extent, cmap="Greys_r")
    axes[0].set_title("walkable cells")
    im = axes[1].imshow(np.where(ds.valid.values, ds.los.values.sum(axis=0), np.nan), origin="lower", extent=extent)
    axes[1].set_title("number of base stations in LOS")
    fig.colorbar(im, ax=axes[1], shrink=0.8)
    best = ds.power_dbm.max(dim=("bs", "beam")).values
    im = axes[2].imshow(best, origin="lower", extent=extent)
    axes[2].set_title("strongest beam of any base station [dBm]")
    fig.colorbar(im, ax=axes[2], shrink=0.8)
    for ax in axes:
        ax.plot(ds.bs_x_m.values, ds.bs_y_m.values, "r^", ms=8, mec="k")
        for name, xy in (trajectories or {}).items():
            ax.plot(xy[:, 0], xy[:, 1], "-", lw=1.2, label=name)
    if trajectories:
        axes[0].legend(fontsize=7, loc="lower left")
    return to_png(fig)


def learning_curves(history: list[dict]) -> bytes:
    """Per-step loss terms of eq. (30) (moving average over 20 steps), log scale."""
    keys = [k for k in history[0] if k not in ("step", "seconds")] if history else []
    fig, axes = plt.subplots(1, len(keys) or 1, figsize=(3.0 * max(len(keys), 1), 2.8))
    steps = np.array([h["step"] for h in history])
    for ax, key in zip(np.atleast_1d(axes), keys):
        v = np.array([h[key] for h in history])
        ax.plot(steps, v, alpha=0.3, lw=0.8)
        if len(v) >= 20:
            ax.plot(steps[19:], np.convolve(v, np.ones(20) / 20, mode="valid"), lw=1.5)
        ax.set_title(key, fontsize=9)
        if (v > 0).all():
            ax.set_yscale("log")
        ax.set_xlabel("step")
    fig.tight_layout()
    return to_png(fig)


def trajectories_plot(walkable: np.ndarray, extent: tuple[float, float, float, float],
                      tracks: dict[str, np.ndarray], title: str = "") -> bytes:
    """Trajectories (name -> (L, 2) metres) over the walkable mask."""
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.imshow(walkable, origin="lower", extent=extent, cmap="Greys_r", alpha=0.5)
    for name, xy in tracks.items():
        style = "." if "coarse" in name else "-"
        ax.plot(xy[:, 0], xy[:, 1], style, ms=1.5, lw=1.4, label=name, alpha=0.5 if "coarse" in name else 1.0)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return to_png(fig)


# --- evaluation report (paper section IV figures) ------------------------------------------------------------------

METHOD_STYLE = {"ground truth": ("k", "-", 2.2), "coarse input": ("0.6", ".", 1.0), "proposed": ("C3", "-", 1.5),
                "skf": ("C0", "-", 1.1), "semi_cc_gt": ("C2", "-", 0.9), "semi_cc_noisy": ("C4", "-", 0.9),
                "real_world_cc": ("C5", "-", 0.9), "lstm": ("C1", "-", 1.1), "cam": ("C8", "-", 1.1),
                "perfect_csi": ("k", "--", 1.6),
                # floors: greys and the SKF's colour dashed; declared variants: colours of their own
                "coarse_ma_1s": ("0.7", ":", 1.0), "coarse_ma_10s": ("0.5", ":", 1.0),
                "cv_smoother": ("0.3", "--", 1.1), "skf_causal": ("C0", "--", 1.0),
                "proposed_smoothed": ("C6", "-", 1.2), "proposed_tracked": ("C9", "-", 1.2),
                "proposed_smoothed_tracked": ("darkorange", "-", 1.5)}


def _style(name: str):
    return METHOD_STYLE.get(name, (None, "-", 1.0))


def trajectory_comparison(tracks: dict[str, np.ndarray], title: str, star: np.ndarray | None = None,
                          background: tuple[np.ndarray, tuple] | None = None) -> bytes:
    """Fig. 5 / 6 / 8 style: estimated trajectories of every method over the ground truth (metres)."""
    fig, ax = plt.subplots(figsize=(7, 6))
    if background is not None:
        ax.imshow(background[0], origin="lower", extent=background[1], cmap="Greys", alpha=0.25)
    for name, xy in tracks.items():
        color, ls, lw = _style(name)
        if ls == ".":
            ax.plot(xy[:, 0], xy[:, 1], ".", color=color, ms=1.5, alpha=0.5, label=name)
        else:
            ax.plot(xy[:, 0], xy[:, 1], ls, color=color, lw=lw, label=name, alpha=0.9)
    if star is not None:
        ax.plot(star[0], star[1], "*", color="b", ms=16, mec="k", label="stop (30 s)")
    all_xy = np.concatenate([t for n, t in tracks.items() if n != "coarse input"])
    lo, hi = all_xy.min(axis=0) - 25, all_xy.max(axis=0) + 25
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="best")
    return to_png(fig)


def error_versus_measurements(errors: dict[str, dict[int, float]],
                              xlabel: str = "observed beams per base station M") -> bytes:
    """Mean localization error against a swept quantity: Fig. 7 (the number M of observed beams per base station),
    Fig. 10 (the share of the trajectory samples, ``xlabel`` says which)."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, by_m in errors.items():
        ms = sorted(by_m)
        color, _, lw = _style(name)
        ax.plot(ms, [by_m[m] for m in ms], "o-", color=color, lw=lw, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("mean localization error [m]")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return to_png(fig)


def beam_map_comparison(truth: np.ndarray, generated: np.ndarray, extent: tuple, beams: list[int],
                        path_xy: np.ndarray | None, title: str) -> bytes:
    """Fig. 11: ground truth (top) beside the generated beam map (bottom) for some beams of one base station.
    truth, generated: (len(beams), ny, nx) dBm, NaN where there is nothing to show."""
    finite = truth[np.isfinite(truth)]
    vmin, vmax = (np.percentile(finite, 2), np.percentile(finite, 99.5)) if finite.size else (None, None)
    fig, axes = plt.subplots(2, len(beams), figsize=(4.2 * len(beams), 7.6), squeeze=False)
    im = None
    for col, j in enumerate(beams):
        for row, (name, img) in enumerate((("ground truth", truth[col]), ("generated", generated[col]))):
            ax = axes[row, col]
            im = ax.imshow(img, origin="lower", extent=extent, vmin=vmin, vmax=vmax, cmap="viridis")
            if path_xy is not None:
                ax.plot(path_xy[:, 0], path_xy[:, 1], "w-", lw=0.5, alpha=0.6)
            ax.set_title(f"{name}, beam {j}", fontsize=9)
    fig.suptitle(title, fontsize=10)
    if im is not None:
        fig.colorbar(im, ax=axes, shrink=0.6, label="dBm")
    return to_png(fig)


def capacity_figure(capacity: dict, window: tuple[int, int], t_s: np.ndarray, los: np.ndarray, snr_index: int) -> bytes:
    """Fig. 12: (a) capacity along a LOS-to-NLOS stretch at one SNR, (b) / (c) mean capacity against SNR for
    LOS / NLOS samples, perfect CSI as the ceiling."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    a, b = window
    snr = np.asarray(next(iter(capacity.values()))["snr_db"])
    for name, c in capacity.items():
        color, ls, lw = _style(name)
        axes[0].plot(t_s[a:b], c["per_sample"][snr_index, a:b], ls, color=color, lw=lw, label=name)
        for ax, key in ((axes[1], "los"), (axes[2], "nlos")):
            if c[key] is not None:
                ax.plot(snr, c[key], "o" + ls, color=color, lw=lw, ms=3, label=name)
    nlos = ~los[a:b]
    if nlos.any():
        axes[0].fill_between(t_s[a:b], 0, 1, where=nlos, color="0.85", transform=axes[0].get_xaxis_transform(),
                             label="NLOS")
    axes[0].set_title(f"(a) along the trajectory, SNR {snr[snr_index]:.0f} dB", fontsize=9)
    axes[0].set_xlabel("t [s]")
    axes[0].set_ylabel("capacity [bit/s/Hz]")
    for ax, t in ((axes[1], "(b) LOS"), (axes[2], "(c) NLOS")):
        ax.set_title(t, fontsize=9)
        ax.set_xlabel("SNR [dB]")
        ax.set_ylabel("mean capacity [bit/s/Hz]")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return to_png(fig)


def latent_distance_figure(distances: dict[str, np.ndarray], title: str) -> bytes:
    """Seed 003's Fig. 4: ||s^(t) - s^(0)|| along the trajectory, one line per autoencoder (with / without L_TC)."""
    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    for name, d in distances.items():
        ax.plot(np.arange(len(d)), d, lw=1.4, label=name)
    ax.set_xlabel("time step t")
    ax.set_ylabel(r"$\|s^{(t)} - s^{(0)}\|$")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return to_png(fig)


def nmse_over_time_figure(nmse: dict[str, np.ndarray], title: str) -> bytes:
    """Seed 003's Figs. 5 and 6: NMSE in dB per time step of the trajectory, one line per method."""
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for name, v in nmse.items():
        ax.plot(np.arange(len(v)), 10.0 * np.log10(np.maximum(np.asarray(v), 1e-12)), lw=1.3, label=name)
    ax.set_xlabel("time step t")
    ax.set_ylabel("NMSE (dB)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return to_png(fig)
