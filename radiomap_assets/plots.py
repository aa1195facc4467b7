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
                 f"[dBm] (white: buildings, grey: coverage hole)", fontsize=10)
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
