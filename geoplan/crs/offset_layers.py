"""GCJ-02 and BD-09 geometries and layers to and from CGCS2000.

Every coordinate of every geometry goes through the point formulas of
:mod:`geoplan.crs.offsets` in one vectorised :func:`shapely.transform` call;
:func:`from_gcj02` and :func:`to_gcj02` do the same for a GeoDataFrame or
GeoSeries and label the result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, overload

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj
import shapely

from ..errors import CRSError
from ._common import CGCS2000_EPSG, GeoObject, crs_label, geom_array, replace_geometry
from .offsets import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_gcj02

__all__ = [
    "bd09_to_cgcs2000_geometry",
    "cgcs2000_to_gcj02_geometry",
    "from_gcj02",
    "gcj02_to_cgcs2000_geometry",
    "to_gcj02",
]


def gcj02_to_cgcs2000_geometry(geoms: Any, *, tol_m: float = 0.01) -> Any:
    """Convert shapely geometries from GCJ-02 to CGCS2000 lon/lat.

    Every coordinate of every geometry (any type: points, lines, polygons with
    holes, multipart, collections; Z is kept) goes through
    :func:`gcj02_to_wgs84` in one vectorised call via :func:`shapely.transform`;
    vertex counts and structure are unchanged. CGCS2000 and WGS84 are treated
    as identical (centimetre-level difference).

    Parameters
    ----------
    geoms : shapely.Geometry or array_like of geometries
        GCJ-02 lon/lat geometries; None and empty geometries pass through.
    tol_m : float, default 0.01
        Accuracy of the inverse, metres.

    Returns
    -------
    shapely.Geometry or numpy.ndarray of geometries
        Same shape as the input.

    Examples
    --------
    >>> from shapely import Point
    >>> p = gcj02_to_cgcs2000_geometry(Point(wgs84_to_gcj02(81.30, 43.92)))
    >>> round(p.x, 6), round(p.y, 6)
    (81.3, 43.92)
    """
    return _transform_xy(geoms, lambda x, y: gcj02_to_wgs84(x, y, tol_m=tol_m))


def cgcs2000_to_gcj02_geometry(geoms: Any) -> Any:
    """Convert shapely geometries from CGCS2000 (or WGS84) lon/lat to GCJ-02.

    The reverse of :func:`gcj02_to_cgcs2000_geometry`, for display on Amap
    (Gaode) or Tencent tiles; never feed the result into a check.

    Parameters
    ----------
    geoms : shapely.Geometry or array_like of geometries

    Returns
    -------
    shapely.Geometry or numpy.ndarray of geometries

    Examples
    --------
    >>> from shapely import Point
    >>> p = cgcs2000_to_gcj02_geometry(Point(116.404, 39.915))
    >>> round(p.x, 9), round(p.y, 9)
    (116.410244499, 39.916404282)
    """
    return _transform_xy(geoms, wgs84_to_gcj02)


@overload
def from_gcj02(gdf: gpd.GeoDataFrame, *, tol_m: float = ...) -> gpd.GeoDataFrame: ...
@overload
def from_gcj02(gdf: gpd.GeoSeries, *, tol_m: float = ...) -> gpd.GeoSeries: ...


def from_gcj02(gdf: GeoObject, *, tol_m: float = 0.01) -> GeoObject:
    """Convert a layer digitised on an Amap/Tencent base from GCJ-02 to CGCS2000.

    GCJ-02 data usually arrive labelled EPSG:4326 (or unlabelled: then call
    ``gdf.set_crs(4326)`` first). The active geometry column is converted with
    :func:`gcj02_to_cgcs2000_geometry`; other columns and the index are kept.

    CGCS2000 and WGS84 are treated as identical here: they differ at the
    centimetre level, far below GCJ-02's offset of hundreds of metres.

    Parameters
    ----------
    gdf : GeoDataFrame or GeoSeries
        Lon/lat in GCJ-02, declared as EPSG:4326 or EPSG:4490.
    tol_m : float, default 0.01
        Accuracy of the inverse, metres.

    Returns
    -------
    GeoDataFrame or GeoSeries
        A new object in EPSG:4490; the input is not modified.

    Raises
    ------
    CRSError
        If the input has no CRS or a CRS other than EPSG:4326/4490/OGC:CRS84.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> s = gpd.GeoSeries([Point(wgs84_to_gcj02(81.30, 43.92))], crs=4326)
    >>> out = from_gcj02(s)
    >>> out.crs.to_epsg(), round(float(out.x.iloc[0]), 6), round(float(out.y.iloc[0]), 6)
    (4490, 81.3, 43.92)
    """
    _require_lonlat(gdf, "from_gcj02")
    out = replace_geometry(
        gdf, gcj02_to_cgcs2000_geometry(geom_array(gdf), tol_m=tol_m), CGCS2000_EPSG
    )
    out.attrs.pop("geoplan_coordinates", None)  # set by to_gcj02, no longer true
    return out


@overload
def to_gcj02(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame: ...
@overload
def to_gcj02(gdf: gpd.GeoSeries) -> gpd.GeoSeries: ...


def to_gcj02(gdf: GeoObject) -> GeoObject:
    """Shift CGCS2000/WGS84 lon/lat geometries to GCJ-02 for an Amap/Tencent overlay.

    For display only. The result is labelled EPSG:4326 because web-map
    libraries expect it (folium calls ``to_crs("EPSG:4326")`` on what it
    draws), but its coordinates are GCJ-02, which has no EPSG code: never run a
    check on it, and convert back with :func:`from_gcj02`. The result's
    ``attrs["geoplan_coordinates"]`` is set to ``"GCJ-02"`` as a reminder.

    CGCS2000 and WGS84 are treated as identical (centimetre-level difference).

    Parameters
    ----------
    gdf : GeoDataFrame or GeoSeries
        Lon/lat in EPSG:4490 or EPSG:4326 (reproject metric layers first).

    Returns
    -------
    GeoDataFrame or GeoSeries
        A new object; the input is not modified.

    Raises
    ------
    CRSError
        If the input has no CRS or a CRS other than EPSG:4326/4490/OGC:CRS84.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> out = to_gcj02(gpd.GeoSeries([Point(116.404, 39.915)], crs=4490))
    >>> p = out.iloc[0]
    >>> round(p.x, 9), round(p.y, 9), out.attrs["geoplan_coordinates"]
    (116.410244499, 39.916404282, 'GCJ-02')
    """
    _require_lonlat(gdf, "to_gcj02")
    out = replace_geometry(gdf, cgcs2000_to_gcj02_geometry(geom_array(gdf)), 4326)
    out.attrs["geoplan_coordinates"] = "GCJ-02"
    return out


def bd09_to_cgcs2000_geometry(geoms: Any, *, tol_m: float = 0.01) -> Any:
    """Convert shapely geometries from Baidu BD-09 to CGCS2000 lon/lat.

    Every coordinate of every geometry goes through :func:`bd09_to_wgs84` in
    one vectorised call via :func:`shapely.transform`; vertex counts and
    structure are unchanged.

    Parameters
    ----------
    geoms : shapely.Geometry or array_like of geometries
        BD-09 lon/lat geometries; None and empty geometries pass through.
    tol_m : float, default 0.01
        Accuracy of each inverse step, metres.

    Returns
    -------
    shapely.Geometry or numpy.ndarray of geometries
        Same shape as the input.

    Examples
    --------
    >>> from shapely import Point
    >>> from geoplan.crs import wgs84_to_bd09
    >>> p = bd09_to_cgcs2000_geometry(Point(wgs84_to_bd09(81.30, 43.92)))
    >>> round(p.x, 6), round(p.y, 6)
    (81.3, 43.92)
    """
    return _transform_xy(geoms, lambda x, y: bd09_to_wgs84(x, y, tol_m=tol_m))


def _transform_xy(
    geoms: Any,
    func: Callable[
        [npt.NDArray[np.float64], npt.NDArray[np.float64]],
        tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]],
    ],
) -> Any:
    def _apply(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        out = np.array(coords, dtype="float64", copy=True)
        if len(out):
            out[:, 0], out[:, 1] = func(out[:, 0], out[:, 1])
        return out

    return shapely.transform(geoms, _apply, include_z=None)


def _require_lonlat(gdf: Any, fname: str) -> None:
    if not isinstance(gdf, gpd.GeoDataFrame | gpd.GeoSeries):
        raise TypeError(f"{fname} expects a GeoDataFrame or GeoSeries, got {type(gdf).__name__}")
    crs = gdf.crs
    if crs is None:
        raise CRSError(
            f"{fname}: the input has no CRS; GCJ-02 and CGCS2000 data are lon/lat degrees, "
            f"so declare it first with .set_crs(4326) (or 4490)"
        )
    ok = crs.to_epsg() in (4326, CGCS2000_EPSG) or crs.equals(pyproj.CRS("OGC:CRS84"))
    if not ok:
        raise CRSError(
            f"{fname}: the input is in {crs_label(crs)}, but GCJ-02 conversion works on "
            f"lon/lat degrees declared as EPSG:4326 or EPSG:4490; reproject with "
            f".to_crs(4490) first"
        )
