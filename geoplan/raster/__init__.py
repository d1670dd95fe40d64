"""Slope from a DEM, and zonal statistics of it under sites.

The slope rule of the default rule pack ("max slope under the house footprint
> 25° fail, 15–25° warn") needs two things done right:

* **slope in metres.** Slope is ``atan(|∇z|)`` with the gradient taken over
  ground distances. A DEM delivered in geographic coordinates (EPSG:4490, as
  SRTM-like data usually is) has cells measured in degrees; differencing it
  as if degrees were metres gives slopes near 90° everywhere, or, the other
  way round, near 0°. :func:`zonal_slope` therefore reprojects the needed part
  of such a DEM to the working CRS (bilinear, at the DEM's ground resolution
  in metres) before computing slope. It never computes slope on degrees.
* **every site gets a value or a reason.** Footprints smaller than one cell,
  points and lines still get the cells they touch; a site outside the DEM, on
  a nodata hole or with an empty geometry gets a status and a sentence saying
  why, never a silent NaN that a rule could read as "pass".

Which cells a site uses
-----------------------
A vectorised rasteriser (numpy, no per-site loop) finds them: a point takes
the cell containing it; a line every cell whose interior it passes through; a
polygon every cell whose interior its interior overlaps (``all_touched=True``,
the same cells as ``rasterio.features.geometry_mask(all_touched=True)`` except
that slivers under 10⁻⁴ of a cell are ignored, so an edge lying on a grid line
does not pull in the cell beyond), or the cells whose centre it covers
(``all_touched=False``, as GDAL; a footprint covering no centre falls back to
the cells it touches). So a 5 m × 5 m footprint on a 30 m DEM still gets its
cell, and every site reaching into the DEM gets at least one.

Window and memory strategy
--------------------------
A workspace's DEM of at most :data:`~geoplan.raster.held.HELD_DEM_BYTES`
(1 GiB) is read whole once and kept with the opened workspace
(:mod:`~geoplan.raster.held`): by :func:`geoplan.engine.prepare_rules`, which
every check on several processes runs before they fork, or by the first
call whose windows would read at least half of it. Later calls slice it: the
same values the windows read, so the same slopes. Otherwise (a DEM given by
path, a larger DEM, a few sites) only windows around the sites are read,
never the whole DEM (unless the sites span it). A site needs its bounding box of cells, padded by one cell for the
3×3 kernel. If the union of all sites' padded boxes holds at most
``max_window_cells`` cells (default 4 000 000) it is read in one go; otherwise
sites are grouped by the tile (``T = √max_window_cells / 2`` cells on a side)
their box starts in, and each group's union, at most ``2T × 2T =
max_window_cells`` cells, is read once; a site taller or wider than ``T`` gets
a window of its own. Peak memory for the slope step is therefore about 50 bytes
× max(``max_window_cells``, the largest single site's padded box), ≈ 200 MB at
the default, plus about 50 bytes per (site, cell) pair found. A DEM in another
CRS is warped window by window (see :func:`zonal_slope`): the source read per
window is about the window's size. A float DEM masked by its nodata value is
read in its own type (a float32 window of the default size is 16 MB) and only
the cells' neighbours become float64. GDAL's block cache is held to
:data:`geoplan.raster.zonal.BLOCK_CACHE_BYTES` (64 MB) while the DEM is read:
the DEM is closed after each call, so a larger cache would serve no later call.

Complexity
----------
With ``n`` sites, ``P`` (site, cell) pairs (1–4 for a house on a 30 m DEM; a
road's length in cells; a polygon's area in cells), ``E`` grid-line crossings
of the sites' outlines and ``W`` cells read: ``O(n log n)`` to plan windows,
``O((E + P) log(E + P))`` to rasterise, ``O(W)`` to read and differentiate,
``O(P)`` (``O(P log P)`` for ``"p90"``) to reduce per site. The only Python
loop runs over the windows read (one when the sites' bounding box fits in
``max_window_cells``; never more than ``n``); all arithmetic is vectorised over
sites. Indicatively, 50 000 house footprints on a 4000 × 4000 DEM take under
1 s, 5 000 roads 3 km long about 1 s.

Modules, in the order data flows through them:

* :mod:`~geoplan.raster.slope` — slope in degrees from elevations in metres;
* ``_grids`` (the DEM as a grid in the working CRS, warped if need be) and
  ``_cells`` (which cells each site uses) — internal;
* :mod:`~geoplan.raster.held` — a workspace's DEM held in memory;
* :mod:`~geoplan.raster.zonal` — :func:`zonal_slope` and :class:`ZonalResult`.

Examples
--------
>>> import numpy as np
>>> z = np.tile(np.arange(5) * 15.0, (4, 1))   # rises 15 m per 30 m cell eastwards
>>> float(slope_degrees(z, xres=30.0, yres=30.0)[1, 2].round(3))
26.565
"""

from .slope import slope_degrees
from .zonal import (
    DEFAULT_MAX_WINDOW_CELLS,
    REASON_EMPTY,
    REASON_NODATA,
    REASON_OUTSIDE,
    REASON_PARTLY_OUTSIDE,
    ZonalResult,
    zonal_slope,
)
from .zonal import Stat as Stat  # not in __all__, importable as before

__all__ = [
    "DEFAULT_MAX_WINDOW_CELLS",
    "REASON_EMPTY",
    "REASON_NODATA",
    "REASON_OUTSIDE",
    "REASON_PARTLY_OUTSIDE",
    "ZonalResult",
    "slope_degrees",
    "zonal_slope",
]
