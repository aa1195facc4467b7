"""The discretized region of interest X (section II-A): equal square cells, row y, column x.

A cell (iy, ix) has centre (x0 + (ix + 0.5) r, y0 + (iy + 0.5) r). Flat cell indices are iy * nx + ix.
Every module that maps positions to cells uses this class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Grid:
    x0: float  # west edge [m]
    y0: float  # south edge [m]
    resolution_m: float
    nx: int
    ny: int

    @classmethod
    def covering(cls, region: tuple[float, float, float, float], resolution_m: float) -> "Grid":
        """The grid with cells of ``resolution_m`` that covers region (x_min, y_min, x_max, y_max)."""
        x_min, y_min, x_max, y_max = region
        if not (x_max > x_min and y_max > y_min):
            raise ValueError(f"region {region} is empty")
        if resolution_m <= 0:
            raise ValueError(f"resolution must be positive, got {resolution_m}")
        nx = max(1, math.ceil((x_max - x_min) / resolution_m - 1e-9))
        ny = max(1, math.ceil((y_max - y_min) / resolution_m - 1e-9))
        return cls(float(x_min), float(y_min), float(resolution_m), nx, ny)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    @property
    def region(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x0 + self.nx * self.resolution_m, self.y0 + self.ny * self.resolution_m)

    @property
    def x_centres(self) -> np.ndarray:
        return self.x0 + (np.arange(self.nx) + 0.5) * self.resolution_m

    @property
    def y_centres(self) -> np.ndarray:
        return self.y0 + (np.arange(self.ny) + 0.5) * self.resolution_m

    def cell_centres(self) -> np.ndarray:
        """(ny * nx, 2) centres in flat-index order."""
        xx, yy = np.meshgrid(self.x_centres, self.y_centres)
        return np.stack([xx.ravel(), yy.ravel()], axis=1)

    def contains(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, dtype=np.float64)
        x_min, y_min, x_max, y_max = self.region
        return (xy[..., 0] >= x_min) & (xy[..., 0] < x_max) & (xy[..., 1] >= y_min) & (xy[..., 1] < y_max)

    def cell_index(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(iy, ix) of the cell holding each point, clipped to the grid. xy: (..., 2)."""
        xy = np.asarray(xy, dtype=np.float64)
        ix = np.floor((xy[..., 0] - self.x0) / self.resolution_m).astype(np.int64)
        iy = np.floor((xy[..., 1] - self.y0) / self.resolution_m).astype(np.int64)
        return np.clip(iy, 0, self.ny - 1), np.clip(ix, 0, self.nx - 1)

    def flat_index(self, xy: np.ndarray) -> np.ndarray:
        iy, ix = self.cell_index(xy)
        return iy * self.nx + ix

    def to_dict(self) -> dict:
        return {"x0": self.x0, "y0": self.y0, "resolution_m": self.resolution_m, "nx": self.nx, "ny": self.ny}

    @classmethod
    def from_coords(cls, x: np.ndarray, y: np.ndarray) -> "Grid":
        """Rebuild the grid from cell-centre coordinates (as stored in a beam-map Zarr)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        r = float(x[1] - x[0]) if len(x) > 1 else float(y[1] - y[0])
        return cls(float(x[0] - r / 2), float(y[0] - r / 2), r, len(x), len(y))


@dataclass
class SiteGrid:
    """The site's model grid (asset ``site_grid``): the discretized region X, its walkable cells and their centres,
    the K cells of the radio-map codebook. No measurement and no ground truth went into it."""

    grid: Grid
    walkable: np.ndarray  # (ny, nx) bool
    cell_centres_m: np.ndarray  # (K, 2) centres of the walkable cells, row-major order
    site: str  # the site it was cut from (radiomap_assets.sites)

    @classmethod
    def from_walkable(cls, grid: Grid, walkable: np.ndarray, site: str) -> "SiteGrid":
        walkable = np.asarray(walkable, dtype=bool)
        if walkable.shape != grid.shape:
            raise ValueError(f"walkable mask {walkable.shape} does not match the grid {grid.shape}")
        return cls(grid, walkable, grid.cell_centres()[walkable.ravel()], site)

    @property
    def num_cells(self) -> int:
        return len(self.cell_centres_m)
