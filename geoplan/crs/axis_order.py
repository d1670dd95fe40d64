"""Latitude and longitude (or northing and easting) written in each other's column.

:func:`check_lonlat_order` refuses coordinates whose x and y look swapped, using
only per-feature bounding boxes, and warns about data lying entirely outside the
workspace box (:data:`CHINA_BOUNDS_LONLAT` by default).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from pyproj.exceptions import ProjError as _ProjError

from ..errors import CRSError, GeoplanWarning
from ._common import BoundsLike, CRSLike, crs_label, horizontal_crs, tm_false_easting, to_lonlat
from .resolve import resolve_crs

__all__ = ["CHINA_BOUNDS_LONLAT", "check_lonlat_order"]


CHINA_BOUNDS_LONLAT: tuple[float, float, float, float] = (73.0, 3.0, 136.0, 54.0)
"""Default workspace box for :func:`check_lonlat_order`: (min lon, min lat, max lon, max lat)."""

# Any transverse Mercator zone in use keeps eastings within this distance of the
# false easting (a 6° zone is about ±334 km wide at the equator).
_TM_EASTING_HALF_WINDOW_M = 1.0e6


def check_lonlat_order(
    gdf_or_xy: Any,
    *,
    name: str,
    crs: CRSLike | None = None,
    expected_bounds_lonlat: BoundsLike | None = None,
) -> None:
    """Refuse coordinates whose x and y look swapped.

    The check is cheap: it uses only the per-feature bounding boxes (one
    vectorised :func:`shapely.bounds` call, no vertex walk), so a single swapped
    row among correct ones is caught, and the message counts the offenders.

    * Geographic CRS: any latitude beyond ±90° means swapped columns (values
      beyond ±360° mean projected metres declared as degrees). A feature whose
      box centre lies outside ``expected_bounds_lonlat`` while its swapped
      centre lies inside is swapped.
    * Projected CRS: for a transverse Mercator CRS (Gauss-Kruger, UTM) an x
      more than 1000 km from the false easting with a y near it is a
      northing/easting swap (e.g. x ≈ 4.86e6, y ≈ 5.2e5 in EPSG:4536); this
      test comes first because a swapped GK pair transforms to a plausible
      point in the South China Sea. Then the centres are transformed to
      lon/lat and tested as above; a layer whose coordinates all read as
      lon/lat degrees inside the expected box is reported as a wrong CRS.

    Data that are not swapped but lie entirely outside the expected box give a
    :class:`~geoplan.errors.GeoplanWarning`.

    x is always taken as longitude/easting (GDAL/geopandas order), whatever the
    axis order of the EPSG definition.

    Parameters
    ----------
    gdf_or_xy : GeoDataFrame, GeoSeries, geometries, (x, y) tuple or (n, 2) array
        The coordinates to check: a tuple ``(x, y)`` holds two columns (arrays
        of x and of y); a list or array of shape (n, 2) holds one row per point.
    name : str
        Layer name for the message.
    crs : int, str or pyproj.CRS, optional
        The declared CRS; defaults to ``gdf_or_xy.crs``.
    expected_bounds_lonlat : sequence of 4 floats, optional
        ``(min lon, min lat, max lon, max lat)`` of the workspace; default
        :data:`CHINA_BOUNDS_LONLAT` (73–136°E, 3–54°N).

    Returns
    -------
    None

    Raises
    ------
    CRSError
        If the coordinates look swapped or contradict the CRS; the message
        names the layer, counts the offending features ("12 of 300 features")
        and says what to do.

    Examples
    --------
    >>> check_lonlat_order(([81.30], [43.92]), name="houses", crs=4490)  # fine
    >>> check_lonlat_order(([43.92], [81.30]), name="houses", crs=4490)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.errors.CRSError: coordinates of layer 'houses' look swapped...
    """
    if crs is None:
        crs = getattr(gdf_or_xy, "crs", None)
        if crs is None:
            raise CRSError(
                f"layer {name!r} has no CRS: declare the CRS its coordinates are in "
                f"(e.g. crs=4490 for CGCS2000 lon/lat) before checking the axis order"
            )
    c = horizontal_crs(resolve_crs(crs))
    box = _expected_box(expected_bounds_lonlat)
    feat = _feature_boxes(gdf_or_xy)
    feat = feat[np.isfinite(feat).all(axis=1)]
    n = len(feat)
    if n == 0:
        return None
    data = np.array([feat[:, 0].min(), feat[:, 1].min(), feat[:, 2].max(), feat[:, 3].max()])
    cx = (feat[:, 0] + feat[:, 2]) / 2.0
    cy = (feat[:, 1] + feat[:, 3]) / 2.0
    label = crs_label(c)

    if c.is_geographic:
        _check_geographic(feat, data, cx, cy, box, name=name, label=label)
        return None

    # Projected (or anything else PROJ can take to lon/lat).
    fe = tm_false_easting(c)
    if fe is not None:
        x_off = (np.abs(feat[:, [0, 2]] - fe) > _TM_EASTING_HALF_WINDOW_M).any(axis=1)
        y_in = (np.abs(feat[:, [1, 3]] - fe) <= _TM_EASTING_HALF_WINDOW_M).all(axis=1)
        bad = x_off & y_in & (feat[:, 0] >= 0.0)
        if bad.any():
            raise CRSError(
                f"northing and easting look swapped in layer {name!r} ({_count(bad, n)}): in "
                f"{label} eastings lie near the false easting {fe:,.0f} m, but these "
                f"features have x (up to {feat[bad, 2].max():,.0f}) far from it and y "
                f"(from {feat[bad, 1].min():,.0f}) near it; swap x and y (the EPSG "
                f"definition lists northing first) or declare the right axis order"
            )

    transformer = to_lonlat(c)
    lon_o, lat_o = transformer.transform(cx, cy, errcheck=False)
    lon_s, lat_s = transformer.transform(cy, cx, errcheck=False)
    bad = _inside_points(lon_s, lat_s, box) & ~_inside_points(lon_o, lat_o, box)
    if bad.any():
        raise CRSError(
            f"coordinates of layer {name!r} look swapped ({_count(bad, n)}): in {label} "
            f"these features fall outside the workspace box {box} (lon/lat), but with x "
            f"and y exchanged they fall inside it; swap x and y or declare the right "
            f"axis order"
        )
    ll = _transform_box(transformer, data)
    if ll is not None and _intersects(ll, box):
        return None
    if _within(data, box):
        raise CRSError(
            f"layer {name!r} is declared in {label} (metres) but its coordinates "
            f"(x {data[0]:.4f}–{data[2]:.4f}, y {data[1]:.4f}–{data[3]:.4f}) look like "
            f"lon/lat degrees; declare the CRS the data are really in (e.g. EPSG:4490)"
        )
    _warn_outside(name, label, ll, box, stacklevel=2)
    return None


def _expected_box(value: BoundsLike | None) -> tuple[float, float, float, float]:
    if value is None:
        return CHINA_BOUNDS_LONLAT
    try:
        b = np.asarray(value, dtype="float64").reshape(-1)
    except (TypeError, ValueError) as exc:
        raise CRSError(
            f"expected_bounds_lonlat {value!r} is not (min lon, min lat, max lon, max lat)"
        ) from exc
    if (
        b.size != 4
        or not np.isfinite(b).all()
        or not (-180.0 <= b[0] < b[2] <= 180.0 and -90.0 <= b[1] < b[3] <= 90.0)
    ):
        raise CRSError(
            f"expected_bounds_lonlat {tuple(b.tolist())} is not a lon/lat box "
            f"(min lon, min lat, max lon, max lat)"
        )
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def _feature_boxes(obj: Any) -> npt.NDArray[np.float64]:
    """(n, 4) per-feature bounds of a GeoDataFrame/GeoSeries/geometries/xy."""
    if isinstance(obj, gpd.GeoDataFrame | gpd.GeoSeries):
        return np.asarray(shapely.bounds(np.asarray(obj.geometry.values)), dtype="float64")
    if isinstance(obj, shapely.Geometry):
        return np.asarray(shapely.bounds(np.asarray([obj])), dtype="float64")
    if (
        isinstance(obj, tuple)
        and len(obj) == 2
        and not any(isinstance(o, shapely.Geometry) or o is None for o in obj)
    ):
        x = np.asarray(obj[0], dtype="float64").reshape(-1)
        y = np.asarray(obj[1], dtype="float64").reshape(-1)
        if x.shape != y.shape:
            raise CRSError(f"x and y have different lengths ({x.size} and {y.size})")
        return np.column_stack([x, y, x, y])
    arr = np.asarray(obj)
    if arr.dtype == object:
        return np.asarray(shapely.bounds(arr.reshape(-1)), dtype="float64")
    arr = arr.astype("float64")
    if arr.ndim == 2 and arr.shape[1] in (2, 3):
        return np.column_stack([arr[:, 0], arr[:, 1], arr[:, 0], arr[:, 1]])
    raise CRSError(
        "expected a GeoDataFrame, GeoSeries, geometries, an (x, y) pair or an (n, 2) array, "
        f"got {type(obj).__name__}"
    )


def _count(mask: npt.NDArray[np.bool_], n: int) -> str:
    k = int(np.count_nonzero(mask))
    return f"{k} of {n} feature{'s' if n != 1 else ''}"


def _intersects(a: Sequence[float] | npt.NDArray[np.float64], b: Sequence[float]) -> bool:
    return a[0] <= b[2] and a[2] >= b[0] and a[1] <= b[3] and a[3] >= b[1]


def _within(a: Sequence[float] | npt.NDArray[np.float64], b: Sequence[float]) -> bool:
    return a[0] >= b[0] and a[2] <= b[2] and a[1] >= b[1] and a[3] <= b[3]


def _inside_points(
    x: npt.ArrayLike, y: npt.ArrayLike, box: Sequence[float]
) -> npt.NDArray[np.bool_]:
    xa = np.asarray(x, dtype="float64")
    ya = np.asarray(y, dtype="float64")
    return (xa >= box[0]) & (xa <= box[2]) & (ya >= box[1]) & (ya <= box[3])


def _transform_box(
    transformer: pyproj.Transformer, b: npt.NDArray[np.float64]
) -> tuple[float, float, float, float] | None:
    try:
        out = transformer.transform_bounds(float(b[0]), float(b[1]), float(b[2]), float(b[3]),
                                           densify_pts=21)
    except _ProjError:
        return None
    if not all(math.isfinite(v) for v in out):
        return None
    return (float(out[0]), float(out[1]), float(out[2]), float(out[3]))


def _check_geographic(
    feat: npt.NDArray[np.float64],
    data: npt.NDArray[np.float64],
    cx: npt.NDArray[np.float64],
    cy: npt.NDArray[np.float64],
    box: tuple[float, float, float, float],
    *,
    name: str,
    label: str,
) -> None:
    n = len(feat)
    ax = np.maximum(np.abs(feat[:, 0]), np.abs(feat[:, 2]))
    ay = np.maximum(np.abs(feat[:, 1]), np.abs(feat[:, 3]))
    if ax.max() > 360.0 or ay.max() > 360.0:
        bad = (ax > 360.0) | (ay > 360.0)
        raise CRSError(
            f"coordinates of layer {name!r} are out of range for {label} ({_count(bad, n)}; "
            f"x {data[0]:,.2f}–{data[2]:,.2f}, y {data[1]:,.2f}–{data[3]:,.2f}): they look "
            f"like projected metres; declare the CRS the data are really in "
            f"(e.g. EPSG:4536 for Gauss-Kruger CM 81°E)"
        )
    if ay.max() > 90.0:
        bad = ay > 90.0
        if ax[bad].max() <= 90.0 and ay[bad].max() <= 180.0:
            raise CRSError(
                f"latitude > 90 in layer {name!r} ({_count(bad, n)}, y up to "
                f"{ay.max():.6g}): the x and y columns look swapped (lon/lat written as "
                f"lat/lon); swap them or declare the right axis order"
            )
        raise CRSError(
            f"latitude > 90 in layer {name!r} ({_count(bad, n)}, y up to {ay.max():.6g}) "
            f"in {label}: these are not lon/lat degrees; check the declared CRS"
        )
    bad = _inside_points(cy, cx, box) & ~_inside_points(cx, cy, box)
    if bad.any():
        raise CRSError(
            f"coordinates of layer {name!r} look swapped ({_count(bad, n)}): read as lon/lat "
            f"(lon {cx[bad].min():.4f}–{cx[bad].max():.4f}, lat {cy[bad].min():.4f}–"
            f"{cy[bad].max():.4f}) these features fall outside the workspace box {box}, read "
            f"as lat/lon inside it; swap x and y (lon first) or declare the right axis order"
        )
    if _intersects(data, box):
        return None
    _warn_outside(name, label, tuple(float(v) for v in data), box, stacklevel=3)
    return None


def _warn_outside(
    name: str,
    label: str,
    ll: Sequence[float] | None,
    box: tuple[float, float, float, float],
    *,
    stacklevel: int,
) -> None:
    where = (
        f"lon {ll[0]:.4f}–{ll[2]:.4f}, lat {ll[1]:.4f}–{ll[3]:.4f}"
        if ll is not None
        else "not transformable to lon/lat"
    )
    warnings.warn(
        f"layer {name!r} ({label}) lies entirely outside the workspace box {box} "
        f"(lon/lat; it is at {where}); check its CRS, or widen expected_bounds_lonlat",
        GeoplanWarning,
        stacklevel=stacklevel + 1,
    )
