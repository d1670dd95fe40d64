"""The analytic terrain: river course, flood bands, foothills, elevation and slope."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyproj

from .constants import CELL, GEO_EPSG, LON_RANGE, NODATA, TAU, WORK_EPSG
from .geometry import Frame


class Terrain:
    """Analytic river course, flood bands, foothill line and elevation surface."""

    def __init__(self, frame: Frame, rng: np.random.Generator) -> None:
        to_work = pyproj.Transformer.from_crs(GEO_EPSG, WORK_EPSG, always_xy=True)
        self.frame = frame
        _, self._y_west = to_work.transform(LON_RANGE[0], 43.860)
        _, self._y_east = to_work.transform(LON_RANGE[1], 43.878)
        _, self._y_44 = to_work.transform(81.30, 44.000)
        self._p = rng.uniform(0.0, TAU, size=24)
        self.wavelength = 1700.0
        # hill profile: elevation gained with distance north of the foothill line
        hg = np.arange(0.0, 12001.0, 10.0)
        grad = 0.25 * (1.0 - np.exp(-((hg / 700.0) ** 2))) * np.exp(-hg / 7000.0)
        self._h_grid = hg
        self._rise = np.concatenate([[0.0], np.cumsum((grad[1:] + grad[:-1]) * 5.0)])
        # valley bottoms: theta(x, y) = T(x) + phi(y) = pi * (2k + 1)
        self._tx = np.arange(frame.xmin - 3000.0, frame.xmax + 3000.0, 5.0)
        self._t = self._theta_x(self._tx)

    # ---- river and flood bands (functions of x) -------------------------------------
    def _t01(self, x: np.ndarray) -> np.ndarray:
        return (x - self.frame.xmin) / (self.frame.xmax - self.frame.xmin)

    def river_y(self, x: np.ndarray) -> np.ndarray:
        """Northing of the river centreline at eastings ``x``."""
        p = self._p
        return (self._y_west + self._t01(x) * (self._y_east - self._y_west)
                + 260.0 * np.sin(TAU * x / 7300.0 + p[0]) + 110.0 * np.sin(TAU * x / 2900.0 + p[1]))

    def half_width(self, x: np.ndarray) -> np.ndarray:
        """Half the width of the river's water surface at ``x``."""
        p = self._p
        return 150.0 + 40.0 * np.sin(TAU * x / 5300.0 + p[2]) + 10.0 * np.sin(TAU * x / 1700.0 + p[3])

    def channel(self, x: np.ndarray, north: bool) -> np.ndarray:
        """Distance from the river centreline to the outer edge of the flood channel."""
        p = self._p[4] if north else self._p[5]
        return self.half_width(x) + 330.0 + 150.0 * np.sin(TAU * x / 8300.0 + p)

    def band20(self, x: np.ndarray, north: bool) -> np.ndarray:
        """Distance from the centreline to the outer edge of the 20-year flood zone."""
        p = self._p[6] if north else self._p[7]
        return self.channel(x, north) + 500.0 + 150.0 * (1.0 + np.sin(TAU * x / 9100.0 + p))

    def band50(self, x: np.ndarray, north: bool) -> np.ndarray:
        """Distance from the centreline to the outer edge of the 50-year flood zone."""
        p = self._p[8] if north else self._p[9]
        return self.band20(x, north) + 600.0 + 200.0 * (1.0 + np.sin(TAU * x / 6100.0 + p))

    def river_z(self, x: np.ndarray) -> np.ndarray:
        """Elevation of the river at ``x`` (rising west to east)."""
        return 622.0 + 33.0 * self._t01(x)

    # ---- hills ----------------------------------------------------------------------
    def foot_y(self, x: np.ndarray) -> np.ndarray:
        """Northing of the foothill line at ``x``."""
        p = self._p
        return (self._y_44 + 300.0 * np.sin(TAU * x / 12000.0 + p[10])
                + 120.0 * np.sin(TAU * x / 5000.0 + p[11]))

    def hill_h(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Distance north of the foothill line (negative on the plain)."""
        return y - self.foot_y(x)

    def _theta_x(self, x: np.ndarray) -> np.ndarray:
        return TAU * x / self.wavelength + 0.9 * np.sin(TAU * x / 11000.0 + self._p[12])

    def _phi_y(self, y: np.ndarray) -> np.ndarray:
        return 0.9 * np.sin(TAU * y / 5200.0 + self._p[13])

    @staticmethod
    def ridge_amp(h: np.ndarray) -> np.ndarray:
        """Amplitude of the ridges and valleys at ``h`` metres into the hills."""
        hp = np.maximum(h, 0.0)
        return 175.0 * (1.0 - np.exp(-((hp / 1300.0) ** 2)))

    def valley_x(self, k: int, y: np.ndarray) -> np.ndarray:
        """Easting of the k-th valley bottom at northing y (ignoring the foothill tilt)."""
        return np.interp(math.pi * (2 * k + 1) - self._phi_y(y), self._t, self._tx)

    def valley_range(self) -> range:
        """The indexes ``k`` of the valleys that lie inside the frame."""
        lo = math.ceil((self._t[0] / math.pi - 1.0) / 2.0) + 1
        hi = math.floor((self._t[-1] / math.pi - 1.0) / 2.0) - 1
        return range(lo, hi + 1)

    # ---- elevation ------------------------------------------------------------------
    def elevation(self, xc: np.ndarray, yc: np.ndarray) -> np.ndarray:
        """Elevation (m) on the grid of cell centres xc (columns) × yc (rows)."""
        p = self._p
        gx = xc[None, :]
        gy = yc[:, None]
        d = gy - self.river_y(xc)[None, :]
        hw = self.half_width(xc)[None, :]
        ch_n = self.channel(xc, True)[None, :]
        ch_s = self.channel(xc, False)[None, :]
        north = (0.003 * np.clip(d - hw, 0.0, None) - 0.003 * np.clip(d - ch_n, 0.0, None)
                 + 0.0075 * np.clip(d - ch_n, 0.0, None))
        south = (0.003 * np.clip(-d - hw, 0.0, None) - 0.003 * np.clip(-d - ch_s, 0.0, None)
                 + 0.010 * np.clip(-d - ch_s, 0.0, None))
        z = self.river_z(xc)[None, :] + np.where(d >= 0.0, north, south)
        z = z - 1.5 * (np.abs(d) < hw)
        h = gy - self.foot_y(xc)[None, :]
        z = z + np.interp(h, self._h_grid, self._rise, left=0.0)
        a = self.ridge_amp(h) * (0.75 + 0.25 * np.sin(TAU * gx / 9000.0 + p[18]))
        theta = self._theta_x(xc)[None, :] + self._phi_y(yc)[:, None]
        z = z + a * np.cos(theta) + 0.07 * a * np.cos(TAU * gx / 620.0 + TAU * gy / 2300.0 + p[14])
        z = z + 3.5 * np.sin(TAU * gx / 3700.0 + p[15]) * np.sin(TAU * gy / 2900.0 + p[16])
        z = z + 2.0 * np.sin(TAU * gx / 1300.0 + TAU * gy / 1700.0 + p[17])
        return z


def slope_deg(dem: np.ndarray) -> np.ndarray:
    """Slope in degrees with numpy.gradient (cells in metres); NaN at and around nodata."""
    z = np.where(dem == NODATA, np.nan, dem.astype(np.float64))
    gy, gx = np.gradient(z, CELL)
    return np.degrees(np.arctan(np.hypot(gx, gy)))


def window(a: np.ndarray, fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """3×3 moving min or max (NaN-propagating; NaN outside the grid)."""
    p = np.pad(a, 1, constant_values=np.nan)
    out = p[1:-1, 1:-1].copy()
    rows, cols = a.shape
    for di in (0, 1, 2):
        for dj in (0, 1, 2):
            out = fn(out, p[di:di + rows, dj:dj + cols])
    return out
