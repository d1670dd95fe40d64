"""A workspace's DEM held in memory once, for every later slope read against it.

:func:`zonal_slope` reads the cells around the sites it is given, in windows.
Sites spread over a county touch every part of its DEM, so each call read
nearly the whole DEM again: the benchmark county's 10⁴ × 10⁴ float32 DEM
(400 MB) was read once per block of a check, six times on two processes,
and a block of 800 houses cost 0.25 s for its reads alone. A DEM of at most
:data:`HELD_DEM_BYTES` is instead read whole once (:func:`hold_dem`, which
:func:`geoplan.engine.prepare_rules` calls before a check forks its
processes, so that they share the pages), kept with the opened workspace's
raster layer, and every later read is a slice of it.

The held band is the same values the windows would read (band 1, NaN where
GDAL's mask says no data; a float band in its own type), so the slopes are
bit-identical. It is never stale: the file's inode, size and modification
time are checked on every use, and a changed file is read again. It is freed
with the layer (the workspace), or at once by :func:`release_dems`.
"""

from __future__ import annotations

import os
import weakref
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..workspace import RasterLayer
from ._grids import open_band, read_masked

__all__ = ["HELD_DEM_BYTES", "held_band", "hold_dem", "release_dems"]

HELD_DEM_BYTES: int = 2**30
"""The largest DEM band (in memory, its own float type or float64) :func:`hold_dem` keeps: 1 GiB.

The benchmark county's DEM, 10⁴ × 10⁴ float32 cells (1 m … 4 m cells over a
county), is 400 MB. A larger DEM is read by window as before.
"""


@dataclass(frozen=True)
class _Held:
    layer: weakref.ref[RasterLayer]
    stamp: tuple[int, int, int]
    band: npt.NDArray[np.floating]


_HELD: dict[int, _Held] = {}
"""Held bands by ``id`` of their raster layer (a layer is not hashable); dropped with it."""


def _stamp(path: os.PathLike[str] | str) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def held_band(dem: RasterLayer) -> npt.NDArray[np.floating] | None:
    """The band :func:`hold_dem` keeps for ``dem``, or ``None`` (not held, or the file changed).

    Examples
    --------
    >>> import numpy as np, rasterio, tempfile, os, geoplan
    >>> from rasterio.transform import Affine
    >>> folder = tempfile.mkdtemp()
    >>> with rasterio.open(os.path.join(folder, "dem.tif"), "w", driver="GTiff", width=4,
    ...                    height=3, count=1, dtype="float32", crs="EPSG:4536", nodata=-9999,
    ...                    transform=Affine(30, 0, 524000, 0, -30, 4865600)) as dst:
    ...     dst.write(np.arange(12, dtype="float32").reshape(3, 4), 1)
    >>> dem = geoplan.open_workspace(folder).raster("dem")
    >>> held_band(dem) is None
    True
    >>> hold_dem(dem).shape, held_band(dem) is hold_dem(dem)
    ((3, 4), True)
    """
    held = _HELD.get(id(dem))
    if held is None or held.layer() is not dem:
        return None
    if _stamp(dem.path) != held.stamp:  # the file was replaced or changed: never stale
        _HELD.pop(id(dem), None)
        return None
    return held.band


def hold_dem(dem: RasterLayer, *, max_bytes: int | None = None) -> npt.NDArray[np.floating] | None:
    """Read band 1 of ``dem`` whole and keep it with the layer, if it fits in ``max_bytes``.

    Parameters
    ----------
    dem
        A workspace's raster layer (``workspace.raster("dem")``).
    max_bytes
        The largest band kept (default :data:`HELD_DEM_BYTES`).

    Returns
    -------
    numpy.ndarray or None
        The band (read-only; NaN where GDAL's mask says no data), or ``None``
        where it is larger than ``max_bytes``: the DEM is then read by window.

    Raises
    ------
    DataFileError
        The DEM cannot be read (:func:`geoplan.raster._grids.open_band`).
    """
    band = held_band(dem)
    if band is not None:
        return band
    limit = HELD_DEM_BYTES if max_bytes is None else max_bytes
    stamp = _stamp(dem.path)
    with open_band(dem.path) as src:
        itemsize = np.dtype(src.dtypes[0]).itemsize if src.dtypes[0] in ("float32",
                                                                         "float64") else 8
        if src.width * src.height * itemsize > limit:
            return None
        band = read_masked(src, 0, 0, src.height, src.width)
    if band.nbytes > limit or stamp is None or _stamp(dem.path) != stamp:
        return None  # larger as float64 than its type said, or changed while read
    band.setflags(write=False)  # shared by every read (and forked process): never written
    key = id(dem)

    def drop(ref: weakref.ref[RasterLayer]) -> None:
        held = _HELD.get(key)
        if held is not None and held.layer is ref:
            del _HELD[key]

    _HELD[key] = _Held(weakref.ref(dem, drop), stamp, band)
    return band


def release_dems() -> int:
    """Drop every held DEM band now (they are otherwise dropped with their workspace).

    Returns
    -------
    int
        How many were dropped.

    Examples
    --------
    >>> release_dems() >= 0
    True
    """
    n = len(_HELD)
    _HELD.clear()
    return n
