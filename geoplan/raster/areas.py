"""Where the slope exceeds a limit: the DEM cells above each threshold, as polygons.

:func:`zonal_slope` answers "how steep is it under this site?";
:func:`slope_areas` answers the converse, "where would a site be too steep?",
for the exclusion maps of a rule pack (see :mod:`geoplan.engine.exclusion`).
Both read the same grid (the DEM in the working CRS, warped if need be) and
the same slope (Horn's kernel on metres), so a point inside an area above a
threshold gets, from :func:`zonal_slope`, a slope above that threshold.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from affine import Affine

from ..crs import CRSLike, ensure_metric, resolve_crs
from ..workspace import RasterLayer
from ._cells import SNAP
from ._grids import Grid
from .slope import slope_degrees
from .zonal import DEFAULT_MAX_WINDOW_CELLS, open_grid

__all__ = ["SlopeAreas", "slope_areas"]

LEVEL_EPS = 1e-9
"""Degrees: a slope must exceed a threshold by more than this to be above it (as the rule does)."""


@dataclass(frozen=True)
class SlopeAreas:
    """The DEM cells above each slope threshold near an extent, and those without a slope.

    Attributes
    ----------
    above : dict of float to shapely.Geometry
        Per threshold (degrees), the union of the whole cells whose slope is
        above it (an empty polygon when there is none).
    unknown : shapely.Geometry
        Within the extent: cells without a slope (nodata, or next to nodata or
        the DEM's edge) and the part of the extent the DEM does not cover.
    cell_size : tuple of float
        The cells' width and height in metres.
    """

    above: dict[float, shapely.Geometry]
    unknown: shapely.Geometry
    cell_size: tuple[float, float]


def slope_areas(
    dem: RasterLayer | str | os.PathLike[str],
    extent: shapely.Geometry,
    *,
    crs: CRSLike,
    thresholds: Sequence[float],
    max_window_cells: int = DEFAULT_MAX_WINDOW_CELLS,
) -> SlopeAreas:
    """The cells of the DEM around ``extent`` whose slope is above each threshold.

    Parameters
    ----------
    dem : RasterLayer, str or os.PathLike
        The DEM, as for :func:`~geoplan.raster.zonal_slope`.
    extent : shapely.Geometry
        The area of interest, in the working CRS; every cell it touches is read.
    crs : int, str or pyproj.CRS
        The working CRS (projected, metres).
    thresholds : sequence of float
        Slopes in degrees.
    max_window_cells : int
        Most cells read at once; a larger extent is read in bands of rows.

    Returns
    -------
    SlopeAreas
        Whole cells, so a footprint meets an area exactly when it overlaps the
        interior of one of its cells, as :func:`~geoplan.raster.zonal_slope`
        with ``all_touched=True`` counts cells. The areas are grown by the
        snapping tolerance of :func:`~geoplan.raster.zonal_slope` (10⁻⁴ of a
        cell), so a point it snaps onto a cell's edge lies inside.

    Examples
    --------
    >>> import numpy as np, rasterio, shapely, tempfile, os
    >>> from rasterio.transform import Affine
    >>> x = np.arange(10) * 30.0
    >>> z = np.tile(np.where(x < 150, 0.0, 0.6 * (x - 150)), (10, 1))  # flat, then 31° east
    >>> path = os.path.join(tempfile.mkdtemp(), "dem.tif")
    >>> with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1,
    ...                    dtype="float64", crs="EPSG:4536", nodata=-9999,
    ...                    transform=Affine(30, 0, 0, 0, -30, 300)) as dst:
    ...     dst.write(z, 1)
    >>> a = slope_areas(path, shapely.box(0, 0, 300, 300), crs=4536, thresholds=[25])
    >>> [round(v, 2) for v in a.above[25].bounds]  # 150–180 m is 16.7° (Horn's kernel)
    [180.0, -0.0, 300.0, 300.0]
    >>> a.unknown.is_empty
    True
    """
    work = ensure_metric(resolve_crs(crs), name="slope_areas crs")
    levels = sorted({float(t) for t in thresholds})
    above: dict[float, list[shapely.Geometry]] = {t: [] for t in levels}
    unknown: list[shapely.Geometry] = []
    with open_grid(dem, work) as grid:
        t = grid.transform
        r0, r1, c0, c1 = _window(t, grid.width, grid.height, extent)
        xres, yres = grid.xres, grid.yres
        unknown.append(shapely.difference(extent, grid.footprint))
        band = max(1, max_window_cells // max(c1 - c0 + 2, 1) - 2)
        for b0 in range(r0, r1, band):
            b1 = min(b0 + band, r1)
            slope = _band_slope(grid, b0, b1, c0, c1, xres, yres)
            wt = t @ Affine.translation(c0, b0)
            for lv in levels:
                mask = np.nan_to_num(slope, nan=-1.0) > lv + LEVEL_EPS
                above[lv].extend(_cells(mask, wt))
            unknown.extend(_cells(np.isnan(slope), wt))
    # zonal_slope puts a point within SNAP cells of a grid line on the line: grow the
    # areas by as much, so that such a point is inside the area of either cell
    grow = SNAP * max(xres, yres)
    known = _grown([g for g in unknown if not g.is_empty], grow)
    return SlopeAreas(above={lv: _grown(g, grow) for lv, g in above.items()},
                      unknown=shapely.intersection(known, extent), cell_size=(xres, yres))


def _grown(polys: list[shapely.Geometry], by: float) -> shapely.Geometry:
    """The union of ``polys`` grown by ``by`` (square corners); an empty polygon if none."""
    if not polys:
        return shapely.Polygon()
    return shapely.buffer(shapely.union_all(polys), by, join_style="mitre")


def _window(t: Affine, width: int, height: int, extent: shapely.Geometry,
            ) -> tuple[int, int, int, int]:
    """Rows and columns ``(r0, r1, c0, c1)`` of the cells the extent's box touches."""
    minx, miny, maxx, maxy = extent.bounds
    c0 = max(math.floor((minx - t.c) / t.a), 0)
    c1 = min(math.ceil((maxx - t.c) / t.a), width)
    r0 = max(math.floor((maxy - t.f) / t.e), 0)
    r1 = min(math.ceil((miny - t.f) / t.e), height)
    return r0, max(r1, r0), c0, max(c1, c0)


def _band_slope(g: Grid, b0: int, b1: int, c0: int, c1: int, xres: float, yres: float,
                ) -> npt.NDArray[np.float64]:
    """Slope of rows ``b0:b1``, columns ``c0:c1``, read with a one-cell frame for the kernel."""
    pr0, pc0 = max(b0 - 1, 0), max(c0 - 1, 0)
    pr1, pc1 = min(b1 + 1, g.height), min(c1 + 1, g.width)
    if pr1 <= pr0 or pc1 <= pc0:
        return np.full((b1 - b0, c1 - c0), np.nan)
    elev = g.read(pr0, pc0, pr1 - pr0, pc1 - pc0)
    s = slope_degrees(elev, xres=xres, yres=yres)
    return np.asarray(s[b0 - pr0:b0 - pr0 + (b1 - b0), c0 - pc0:c0 - pc0 + (c1 - c0)],
                      dtype=np.float64)


def _cells(mask: npt.NDArray[np.bool_], t: Affine) -> list[shapely.Geometry]:
    """The true cells of ``mask`` as polygons (adjacent cells merged), in the grid's CRS."""
    from rasterio.features import shapes

    if not mask.any():
        return []
    return [shapely.geometry.shape(geom)
            for geom, _ in shapes(mask.astype(np.uint8), mask=mask, transform=t)]
