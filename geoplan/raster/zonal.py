"""Zonal statistics of slope under sites: windows planned, read, differentiated, reduced.

:func:`zonal_slope` gives every site a value or a reason (:class:`ZonalResult`);
the sites' cells are read in bounded windows (:func:`_plan_windows`, see
"Window and memory strategy" in :mod:`geoplan.raster`).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj
import shapely

from ..crs import CRSLike, ensure_metric, resolve_crs
from ..errors import CRSError
from ..workspace import RasterLayer
from ._cells import as_geometry_array, site_cells
from ._grids import (
    BLOCK_CACHE_BYTES,
    Grid,
    direct_grid,
    north_up,
    open_band,
    same_crs,
    warped_grid,
)
from .held import held_band, hold_dem
from .slope import slope_at

__all__ = ["BLOCK_CACHE_BYTES", "DEFAULT_MAX_WINDOW_CELLS", "REASON_EMPTY", "REASON_NODATA", "REASON_OUTSIDE",
           "REASON_PARTLY_OUTSIDE", "Stat", "ZonalResult", "zonal_slope"]


DEFAULT_MAX_WINDOW_CELLS: int = 4_000_000
"""Default cap on the cells read in one window (≈ 200 MB peak for the slope step)."""

Stat = Literal["max", "mean", "p90"]
_STATS: tuple[str, ...] = ("max", "mean", "p90")

# The reasons ZonalResult gives for a site without a full value.
REASON_OUTSIDE = "site lies outside the DEM extent"
REASON_PARTLY_OUTSIDE = "site extends beyond the DEM"
REASON_NODATA = "every DEM cell under the site is nodata (or next to nodata)"
REASON_EMPTY = "site has no geometry (null or empty)"


@dataclass(frozen=True)
class ZonalResult:
    """Per-site slope statistics, aligned with the input geometries (by position).

    Attributes
    ----------
    values : numpy.ndarray of float64
        The statistic in degrees; NaN where there is no value. For a site that
        extends beyond the DEM (status ``"outside"``) it is the statistic over
        the part inside, when that part has valid cells (for ``"max"`` a lower
        bound of the true maximum): enough to prove a ``fail``, never a
        ``pass``.
    status : numpy.ndarray of object
        ``"ok"``; ``"outside"`` (the geometry is not, or not wholly, covered
        by the DEM's extent; ``reason`` says which); ``"nodata"`` (every cell
        under it is nodata, or next to nodata); ``"empty"`` (null or empty
        geometry).
    reason : numpy.ndarray of object
        ``""`` or a short English sentence, e.g. ``"site lies outside the DEM
        extent"``. An ``"ok"`` site some of whose cells had no slope says how
        many were ignored.
    n_cells : numpy.ndarray of int64
        The cells whose slope went into ``values``.
    """

    values: npt.NDArray[np.float64]
    status: npt.NDArray[np.object_]
    reason: npt.NDArray[np.object_]
    n_cells: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.values)

    @property
    def ok(self) -> npt.NDArray[np.bool_]:
        """Boolean mask of the sites with status ``"ok"``."""
        return np.asarray(self.status == "ok", dtype=bool)


def _plan_windows(
    win: npt.NDArray[np.int64], max_cells: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Group site windows into read windows.

    Returns the read windows ``(k, 4)`` as ``(r0, r1, c0, c1)`` and, per site,
    the index of the window that holds it.
    """
    n = len(win)
    if n == 0:
        return np.zeros((0, 4), dtype=np.int64), np.zeros(0, dtype=np.int64)
    union = np.array([win[:, 0].min(), win[:, 1].max(), win[:, 2].min(), win[:, 3].max()])
    if (union[1] - union[0]) * (union[3] - union[2]) <= max_cells:
        return union[None, :], np.zeros(n, dtype=np.int64)
    # Sites taller or wider than a tile get a window of their own; the others are
    # grouped by the tile their window starts in, so a group's union spans at most
    # 2 × 2 tiles = max_cells.
    tile = max(1, math.isqrt(max_cells) // 2)
    own = ((win[:, 1] - win[:, 0]) > tile) | ((win[:, 3] - win[:, 2]) > tile)
    small, big = np.flatnonzero(~own), np.flatnonzero(own)
    assign = np.empty(n, dtype=np.int64)
    gwin = np.zeros((0, 4), dtype=np.int64)
    if len(small):
        sw = win[small]
        key = (sw[:, 0] // tile) * (int(sw[:, 2].max()) // tile + 1) + sw[:, 2] // tile
        order = np.argsort(key, kind="stable")
        skey, sw = key[order], sw[order]
        starts = np.flatnonzero(np.r_[True, skey[1:] != skey[:-1]])
        gwin = np.column_stack([
            np.minimum.reduceat(sw[:, 0], starts), np.maximum.reduceat(sw[:, 1], starts),
            np.minimum.reduceat(sw[:, 2], starts), np.maximum.reduceat(sw[:, 3], starts),
        ])
        assign[small[order]] = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(sw)]))
    assign[big] = len(gwin) + np.arange(len(big))
    windows = np.concatenate([gwin, win[big]]).astype(np.int64)
    return windows, assign


def _reads_most(windows: npt.NDArray[np.int64], grid: Grid) -> bool:
    """Whether ``windows`` hold at least half of the grid's cells."""
    cells = int(((windows[:, 1] - windows[:, 0]) * (windows[:, 3] - windows[:, 2])).sum())
    return 2 * cells >= grid.width * grid.height


def _reduce(
    site: npt.NDArray[np.int64], vals: npt.NDArray[np.float64], n: int, stat: str,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Per-site statistic of ``vals`` (NaN ignored) and the count of valid values."""
    valid = ~np.isnan(vals)
    s, v = site[valid], vals[valid]
    cnt = np.bincount(s, minlength=n).astype(np.int64)
    out = np.full(n, np.nan)
    has = cnt > 0
    if stat == "max":
        acc = np.full(n, -np.inf)
        np.maximum.at(acc, s, v)
        out[has] = acc[has]
    elif stat == "mean":
        tot = np.bincount(s, weights=v, minlength=n)
        out[has] = tot[has] / cnt[has]
    else:  # p90, numpy's default "linear" percentile
        order = np.lexsort((v, s))
        vs = v[order]
        start = np.cumsum(cnt) - cnt
        pos = 0.9 * (cnt[has] - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.ceil(pos).astype(np.int64)
        vlo, vhi = vs[start[has] + lo], vs[start[has] + hi]
        out[has] = vlo + (pos - lo) * (vhi - vlo)
    return out, cnt


@contextlib.contextmanager
def open_grid(dem: RasterLayer | str | os.PathLike[str], work: pyproj.CRS) -> Iterator[Grid]:
    """The DEM as a north-up grid in the working CRS ``work`` (warped if need be).

    A workspace raster layer's declared CRS wins over the file's; a DEM with
    neither is refused rather than guessed.

    Raises
    ------
    DataFileError
        The DEM cannot be opened.
    CRSError
        The DEM has no CRS, or cannot be mapped into ``work``.
    """
    if isinstance(dem, RasterLayer):
        path, declared = Path(dem.path), dem.source_crs
    else:
        path, declared = Path(os.fspath(dem)), None
    with open_band(path) as src:
        if declared is not None:
            src_crs = pyproj.CRS.from_user_input(declared)
        elif src.crs is not None:
            src_crs = pyproj.CRS.from_user_input(src.crs)
        else:
            raise CRSError(f"the DEM {path} has no CRS; geoplan will not guess it. Declare it in "
                           "geoplan.toml ([layers.dem] crs = \"EPSG:4490\") or fix the file")
        held = held_band(dem) if isinstance(dem, RasterLayer) else None
        if same_crs(src_crs, work) and north_up(src.transform):
            yield direct_grid(src, held)
        else:
            yield warped_grid(src, src_crs, work, held)


def zonal_slope(
    dem: RasterLayer | str | os.PathLike[str],
    geoms: npt.ArrayLike | gpd.GeoSeries | Sequence[Any],
    *,
    crs: CRSLike,
    stat: Stat = "max",
    all_touched: bool = True,
    max_window_cells: int = DEFAULT_MAX_WINDOW_CELLS,
    assume_valid: bool = False,
) -> ZonalResult:
    """Slope statistic (degrees) of a DEM under each site.

    Parameters
    ----------
    dem : RasterLayer, str or os.PathLike
        The DEM: a workspace's raster layer (its declared CRS is used) or a
        GeoTIFF path (its own CRS is used). Band 1, elevations in metres.
    geoms : numpy.ndarray, GeoSeries or sequence of shapely geometries
        The sites in the working CRS: points, footprints (polygons, also
        multipart and with holes), lines (roads), or None/empty.
    crs : int, str or pyproj.CRS
        The working CRS of ``geoms``: projected, in metres (EPSG:4536 around
        Yining). A GeoSeries with another CRS is refused.
    stat : {"max", "mean", "p90"}
        The statistic over the cells under a site: maximum, mean, or the 90th
        percentile (numpy's linear interpolation).
    all_touched : bool
        True (default): a polygon takes every cell whose interior it overlaps;
        False: the cells whose centre it covers (a footprint covering no
        centre falls back to the cells it overlaps). Either way a point takes
        the cell containing it (each point of a multipoint likewise) and a line
        every cell it passes through. See "Which cells a site uses" in the
        :mod:`geoplan.raster` docstring.
    max_window_cells : int
        Most cells read in one window; see "Window and memory strategy" in the
        :mod:`geoplan.raster` docstring. One site larger than this is still read whole.
    assume_valid : bool
        False (default): invalid geometries (a self-crossing ring) are repaired
        with ``shapely.make_valid`` before their cells are found. True: the
        caller knows them valid (as the sites :func:`geoplan.check` prepares)
        and the test is skipped (0.15–0.2 s per 10⁵ footprints); an invalid
        one then takes the cells of its rings as they are.

    Returns
    -------
    ZonalResult
        Arrays aligned with ``geoms`` by position.

    Raises
    ------
    CRSError
        ``crs`` is geographic or not metric, ``geoms`` is a GeoSeries in
        another CRS, or the DEM has no CRS.
    DataFileError
        The DEM cannot be opened.
    ValueError
        ``stat`` or ``max_window_cells`` is invalid.

    Notes
    -----
    Slope is always computed on a grid in metres. A DEM in the working CRS
    (north-up) is read as is, window by window. A DEM in any other CRS (e.g.
    geographic EPSG:4490) is reprojected window by window onto a virtual
    north-up grid in the working CRS, bilinear, with cells the DEM's ground
    size at its centre (e.g. about 22 m × 31 m for 1″ cells at 44°N); cells
    within one target cell of the DEM's edge then have no slope.

    A site is ``"outside"`` if its geometry is not covered by the DEM's extent
    (nodata inside the extent is ``"nodata"``, not ``"outside"``). Cells whose
    3×3 window touches nodata have no slope and are ignored; an ``"ok"`` site
    may thus rest on fewer cells than it touches (``reason`` says so).

    Examples
    --------
    >>> import numpy as np, rasterio, shapely, tempfile, os
    >>> from rasterio.transform import Affine
    >>> x = np.arange(20) * 30.0
    >>> z = np.tile(0.5 * x, (20, 1))                      # 0.5 m up per metre east
    >>> path = os.path.join(tempfile.mkdtemp(), "dem.tif")
    >>> with rasterio.open(path, "w", driver="GTiff", width=20, height=20, count=1,
    ...                    dtype="float64", crs="EPSG:4536", nodata=-9999,
    ...                    transform=Affine(30, 0, 524000, 0, -30, 4865600)) as dst:
    ...     dst.write(z, 1)
    >>> sites = [shapely.box(524100, 4865300, 524105, 4865305),   # a 5 m × 5 m footprint
    ...          shapely.Point(524200, 4865200), None, shapely.Point(0, 0)]
    >>> r = zonal_slope(path, sites, crs=4536)
    >>> r.values.round(3).tolist()
    [26.565, 26.565, nan, nan]
    >>> r.status.tolist()
    ['ok', 'ok', 'empty', 'outside']
    >>> r.reason[3]
    'site lies outside the DEM extent'
    """
    if stat not in _STATS:
        raise ValueError(f"stat must be one of {', '.join(map(repr, _STATS))}, got {stat!r}")
    if isinstance(max_window_cells, bool) or not isinstance(max_window_cells, int) \
            or max_window_cells < 9:
        raise ValueError(f"max_window_cells must be an int of at least 9, got {max_window_cells!r}")
    work = ensure_metric(resolve_crs(crs), name="zonal_slope crs")
    g = as_geometry_array(geoms, work)
    n = len(g)
    values = np.full(n, np.nan, dtype=np.float64)
    status = np.full(n, "ok", dtype=object)
    reason = np.full(n, "", dtype=object)
    n_cells = np.zeros(n, dtype=np.int64)

    missing = shapely.is_missing(g) | shapely.is_empty(g)
    status[missing] = "empty"
    reason[missing] = REASON_EMPTY
    if not assume_valid:
        invalid = ~missing & ~shapely.is_valid(g)
        if invalid.any():
            g[invalid] = shapely.make_valid(g[invalid])
    if missing.all():
        return ZonalResult(values, status, reason, n_cells)

    with open_grid(dem, work) as grid:
        live = np.flatnonzero(~missing)
        inter = np.zeros(n, dtype=bool)
        covered = np.zeros(n, dtype=bool)
        shapely.prepare(grid.footprint)
        inter[live] = shapely.intersects(grid.footprint, g[live])
        covered[live] = shapely.covers(grid.footprint, g[live])
        away = ~missing & ~inter
        status[away] = "outside"
        reason[away] = REASON_OUTSIDE

        active = np.flatnonzero(inter)
        ga = g[active]
        site, rows, cols, win = site_cells(ga, grid, all_touched=all_touched)
        windows, assign = _plan_windows(win, max_window_cells)
        cells = grid.cells
        if cells is None and isinstance(dem, RasterLayer) and _reads_most(windows, grid):
            # the windows would read most of the DEM: read it whole once and keep it for
            # the next call (the next block, batch or chunk) if it is small enough
            band = hold_dem(dem)
            cells = band if grid.direct else None  # a warped grid slices it from the next call

        if cells is not None:  # every site's cells and neighbours are in the held band
            vals = slope_at(cells, rows, cols, xres=grid.xres, yres=grid.yres)
        else:
            vals = np.full(len(site), np.nan, dtype=np.float64)
            pair_win = assign[site]
            order = np.argsort(pair_win, kind="stable")
            bounds = np.searchsorted(pair_win[order], np.arange(len(windows) + 1))
            for k, (wr0, wr1, wc0, wc1) in enumerate(windows.tolist()):
                sel = order[bounds[k]:bounds[k + 1]]
                if sel.size == 0:
                    continue
                elev = grid.read(wr0, wc0, wr1 - wr0, wc1 - wc0)
                vals[sel] = slope_at(elev, rows[sel] - wr0, cols[sel] - wc0,
                                      xres=grid.xres, yres=grid.yres)

    stat_a, cnt_a = _reduce(site, vals, len(active), stat)
    touched_a = np.bincount(site, minlength=len(active))
    values[active] = stat_a
    n_cells[active] = cnt_a

    cov_a = covered[active]
    st = np.where(~cov_a, "outside", np.where(cnt_a > 0, "ok", "nodata")).astype(object)
    rs = np.where(~cov_a, REASON_PARTLY_OUTSIDE,
                  np.where(cnt_a > 0, "", REASON_NODATA)).astype(object)
    partial = cov_a & (cnt_a > 0) & (cnt_a < touched_a)
    if partial.any():
        rs[partial] = [f"{t - c} of {t} cells under the site have no slope (nodata nearby) "
                       "and were ignored"
                       for c, t in zip(cnt_a[partial], touched_a[partial], strict=True)]
    status[active] = st
    reason[active] = rs
    return ZonalResult(values, status, reason, n_cells)
