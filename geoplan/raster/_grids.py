"""The DEM as a north-up grid in the working CRS, and how elevations are read from it.

A DEM already in the working CRS and north-up is read as it is
(:func:`direct_grid`); any other is warped window by window onto a virtual grid
in the working CRS at its ground resolution (:func:`warped_grid`).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from rasterio.transform import Affine

from ..errors import CRSError, DataFileError

__all__ = ["BLOCK_CACHE_BYTES", "Grid", "crs_name", "direct_grid", "north_up", "open_band",
           "read_masked", "same_crs", "warped_grid"]


@dataclass(frozen=True)
class Grid:
    """A north-up grid in the working CRS and how to read elevations on it."""

    transform: Affine
    width: int
    height: int
    footprint: shapely.Geometry  # the DEM's extent in the working CRS
    read: Callable[[int, int, int, int], npt.NDArray[np.floating]]  # (row, col, h, w)
    """Elevations of a window (row, col, height, width), NaN for nodata: float32 or float64."""
    cells: npt.NDArray[np.floating] | None = None
    """The whole grid's elevations, read-only, where the DEM is held in memory
    (:func:`geoplan.raster.held.hold_dem`) and not warped; else ``None``."""
    direct: bool = False
    """The DEM's own grid (:func:`direct_grid`), not a warped one."""

    @property
    def xres(self) -> float:
        return float(self.transform.a)

    @property
    def yres(self) -> float:
        return float(-self.transform.e)


BLOCK_CACHE_BYTES = 64 * 2**20
"""GDAL's block cache while the DEM is read (``GDAL_CACHEMAX``): a window's blocks, 64 MB.

The largest window (``max_window_cells``, 4 × 10⁶ cells) is 16 MB of float32.
Measured on the benchmark's 10⁴ × 10⁴ DEM, 5 × 10⁴ houses a call: the same
time with this cache as with GDAL's default, tiled plain or deflate-compressed,
and 0.3 GB less resident memory after the call.
"""


@contextlib.contextmanager
def open_band(path: os.PathLike[str] | str) -> Iterator[Any]:
    """The raster at ``path`` opened with rasterio, GDAL's block cache at :data:`BLOCK_CACHE_BYTES`.

    The blocks of one window at a time: the dataset is closed after the call,
    so its cached blocks serve no later call, and GDAL's default cache (5 % of
    the RAM) only raised the process's resident memory (0.48 GB after 5 × 10⁴
    houses of the 10⁶-parcel county, 0.15 GB with this cache).

    Raises
    ------
    DataFileError
        The file cannot be opened as a raster, or a read of its cells fails
        (a truncated or damaged file).
    """
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise DataFileError(f"{path}: cannot be read as a raster ({exc}); check the path and "
                            "that it is a GeoTIFF") from exc
    with src, rasterio.Env(GDAL_CACHEMAX=BLOCK_CACHE_BYTES):
        try:
            yield src
        except RasterioIOError as exc:  # opened, but its blocks cannot be read
            raise DataFileError(f"{path}: its cells cannot be read ({exc}); the file may be "
                                "truncated or damaged: deliver it again") from exc


def same_crs(a: pyproj.CRS, b: pyproj.CRS) -> bool:
    if a.equals(b, ignore_axis_order=True):
        return True
    ea, eb = a.to_epsg(min_confidence=90), b.to_epsg(min_confidence=90)
    return ea is not None and ea == eb


def north_up(t: Affine) -> bool:
    return t.b == 0 and t.d == 0 and t.a > 0 and t.e < 0


_NODATA_NEAR = 1e-5
"""Relative distance to the nodata value within which a value may be nodata to GDAL.

GDAL compares a float band's values with its nodata value with a tolerance
(``ARE_REAL_EQUAL``: about 5 × 10⁻⁷ relative in GDAL 3.10); a window holding
a value this near the nodata value without being equal to it is masked by
GDAL itself (:func:`read_masked`).
"""


def read_masked(src: Any, r0: int, c0: int, h: int, w: int) -> npt.NDArray[np.floating]:
    """Band 1 in the window, NaN where GDAL's mask says no data.

    The values and the mask ``read(masked=True)`` would give, without building
    a masked array. A float band whose mask is its nodata value (or that has
    none) is read in its own type (float32 stays float32: half the bytes) and
    masked where a value equals the nodata value, which takes a third of the
    time of reading GDAL's mask band (a block of 5 × 10⁴ houses spread over the
    benchmark county reads 10⁸ cells: 0.55–0.78 s → 0.33–0.41 s). A window
    with a value near the nodata value but not equal to it, which GDAL's
    tolerance may count as nodata, is masked by GDAL's mask band instead, as
    is every other band (integers, mask bands, alpha): those come as float64.
    """
    from rasterio.enums import MaskFlags
    from rasterio.windows import Window

    window = Window(c0, r0, w, h)
    flags = list(src.mask_flag_enums[0])
    if src.dtypes[0] in ("float32", "float64") and flags in ([MaskFlags.all_valid],
                                                             [MaskFlags.nodata]):
        band: npt.NDArray[np.floating] = src.read(1, window=window)
        nodata = src.nodata
        if flags == [MaskFlags.all_valid] or nodata is None or math.isnan(nodata):
            return band  # NaN cells (the nodata value NaN) are NaN already
        with np.errstate(over="ignore", invalid="ignore"):
            value = band.dtype.type(nodata)  # as GDAL compares: in the band's type
            exact = band == value
            if math.isfinite(value) and value != 0:
                tol = abs(float(value)) * _NODATA_NEAR
                lo, hi = band.dtype.type(float(value) - tol), band.dtype.type(float(value) + tol)
                near = np.count_nonzero((band >= lo) & (band <= hi))
            else:  # 0 and ±inf: GDAL's tolerance admits only the value itself
                near = 0
        if near <= np.count_nonzero(exact):
            band[exact] = np.nan
            return band
    band64: npt.NDArray[np.float64] = src.read(1, window=window, out_dtype="float64")
    band64[src.read_masks(1, window=window) == 0] = np.nan
    return band64


def _footprint(src: Any, to_work: pyproj.Transformer) -> shapely.Geometry:
    """The DEM's pixel extent as a polygon in the working CRS (edges densified)."""
    frame = shapely.segmentize(shapely.box(0, 0, src.width, src.height),
                               max(src.width, src.height) / 64)
    cols, rows = shapely.get_coordinates(shapely.get_exterior_ring(frame)).T
    t = src.transform
    xs = t.a * cols + t.b * rows + t.c
    ys = t.d * cols + t.e * rows + t.f
    wx, wy = to_work.transform(xs, ys)
    return shapely.Polygon(np.column_stack([wx, wy]))


def _ground_resolution(src: Any, to_work: pyproj.Transformer) -> tuple[float, float]:
    """Ground size (m) of one DEM cell along its columns and rows, at the DEM's centre."""
    t = src.transform
    c, r = src.width / 2.0, src.height / 2.0
    pix = np.array([[c, r], [c + 1, r], [c, r + 1]])
    xs = t.a * pix[:, 0] + t.b * pix[:, 1] + t.c
    ys = t.d * pix[:, 0] + t.e * pix[:, 1] + t.f
    wx, wy = to_work.transform(xs, ys)
    dx = math.hypot(wx[1] - wx[0], wy[1] - wy[0])
    dy = math.hypot(wx[2] - wx[0], wy[2] - wy[0])
    if not (math.isfinite(dx) and math.isfinite(dy) and dx > 0 and dy > 0):
        raise CRSError("cannot work out the DEM's cell size in metres in the working CRS; "
                       "check the DEM's CRS and that it lies in the working CRS's zone")
    return dx, dy


def _band_reader(src: Any, held: npt.NDArray[np.floating] | None,
                 ) -> Callable[[int, int, int, int], npt.NDArray[np.floating]]:
    """Windows of band 1 (:func:`read_masked`), sliced from ``held`` where the band is held."""
    if held is None:
        return lambda r0, c0, h, w: read_masked(src, r0, c0, h, w)
    return lambda r0, c0, h, w: held[r0:r0 + h, c0:c0 + w]


def direct_grid(src: Any, held: npt.NDArray[np.floating] | None = None) -> Grid:
    """The DEM's own grid (north-up, in the working CRS); ``held``: its band in memory."""
    t = src.transform
    left, top = t.c, t.f
    fp = shapely.box(left, top + t.e * src.height, left + t.a * src.width, top)
    return Grid(transform=t, width=src.width, height=src.height, footprint=fp,
                read=_band_reader(src, held), cells=held, direct=True)


def warped_grid(src: Any, src_crs: pyproj.CRS, work: pyproj.CRS,
                held: npt.NDArray[np.floating] | None = None) -> Grid:
    """A virtual north-up grid in the working CRS at the DEM's ground resolution.

    ``held``: the DEM's band in memory, where the source windows are sliced from.
    """
    import rasterio.crs
    from rasterio.warp import Resampling, reproject

    to_work = pyproj.Transformer.from_crs(src_crs, work, always_xy=True)
    to_src = pyproj.Transformer.from_crs(work, src_crs, always_xy=True)
    fp = _footprint(src, to_work)
    if not shapely.is_valid(fp) or fp.is_empty:
        raise CRSError(f"the DEM ({crs_name(src_crs)}) cannot be mapped into the working CRS "
                       f"{crs_name(work)}: its extent folds over; use a DEM covering the "
                       "working CRS's zone or a working CRS covering the DEM")
    xres, yres = _ground_resolution(src, to_work)
    minx, miny, maxx, maxy = fp.bounds
    x0 = math.floor(minx / xres) * xres
    y0 = math.ceil(maxy / yres) * yres
    width = max(1, math.ceil((maxx - x0) / xres))
    height = max(1, math.ceil((y0 - miny) / yres))
    transform = Affine(xres, 0.0, x0, 0.0, -yres, y0)
    src_rio_crs = rasterio.crs.CRS.from_wkt(src_crs.to_wkt())
    dst_rio_crs = rasterio.crs.CRS.from_wkt(work.to_wkt())
    inv = ~src.transform
    source = _band_reader(src, held)

    def read(r0: int, c0: int, h: int, w: int) -> npt.NDArray[np.float64]:
        dst_transform = transform @ Affine.translation(c0, r0)
        out = np.full((h, w), np.nan, dtype=np.float64)
        # The source cells under the target window (densified edges, padded 2 cells).
        frame = shapely.segmentize(shapely.box(c0, r0, c0 + w, r0 + h), max(h, w) / 8)
        cols, rows = shapely.get_coordinates(frame).T
        tx = transform.a * cols + transform.c
        ty = transform.e * rows + transform.f
        sx, sy = to_src.transform(tx, ty)
        sx, sy = np.asarray(sx), np.asarray(sy)
        pc = inv.a * sx + inv.b * sy + inv.c
        pr = inv.d * sx + inv.e * sy + inv.f
        if not (np.isfinite(pc).all() and np.isfinite(pr).all()):
            return out
        sc0 = max(math.floor(np.min(pc)) - 2, 0)
        sr0 = max(math.floor(np.min(pr)) - 2, 0)
        sc1 = min(math.ceil(np.max(pc)) + 2, src.width)
        sr1 = min(math.ceil(np.max(pr)) + 2, src.height)
        if sc1 <= sc0 or sr1 <= sr0:
            return out
        elev = source(sr0, sc0, sr1 - sr0, sc1 - sc0).astype(np.float64, copy=False)
        reproject(
            elev, out,
            src_transform=src.transform @ Affine.translation(sc0, sr0),
            src_crs=src_rio_crs, src_nodata=np.nan,
            dst_transform=dst_transform, dst_crs=dst_rio_crs, dst_nodata=np.nan,
            resampling=Resampling.bilinear,
            # Plain bilinear interpolation at exact positions: GDAL would otherwise widen the
            # kernel where the target cell is larger than the source cell (which does not
            # reproduce a plane) and approximate the transform to 1/8 cell.
            tolerance=0.0, XSCALE=1, YSCALE=1,
        )
        return out

    return Grid(transform=transform, width=width, height=height, footprint=fp, read=read)


def crs_name(crs: pyproj.CRS) -> str:
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg}" if epsg else crs.name
