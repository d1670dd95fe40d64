"""GCJ-02 and BD-09 offsets of longitudes and latitudes, both ways.

GCJ-02 ("Mars coordinates", Amap/Gaode and Tencent maps) shifts WGS84 by
100–700 m (about 274 m at Yining); BD-09 (Baidu maps) shifts GCJ-02 further. The
forward formulas are the public ones; their inverses are solved to a stated
residual (1 cm by default). CGCS2000 and WGS84 are treated as identical: they
differ by centimetres. :mod:`geoplan.crs.offset_layers` applies these to
geometries and layers.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from ..errors import GeoplanWarning

__all__ = [
    "GCJ02_BOUNDS_LONLAT",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]


GCJ02_BOUNDS_LONLAT: tuple[float, float, float, float] = (72.004, 0.8293, 137.8347, 55.8271)
"""The rough "in China" box of the public GCJ-02 formula; no offset is applied outside it."""

# GCJ-02 (public formula, Krasovsky 1940 ellipsoid).
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323

# BD-09 (Baidu's further offset of GCJ-02, public formula).
_BD_X_PI = math.pi * 3000.0 / 180.0

# Upper bound of the length of one degree of latitude (metres): used to turn the
# inverse's residual in degrees into a conservative distance.
_M_PER_DEG = 111_700.0


# ---------------------------------------------------------------------------
# GCJ-02
# ---------------------------------------------------------------------------


@overload
def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_gcj02(
    lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...


def wgs84_to_gcj02(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Apply the GCJ-02 offset to WGS84 (or CGCS2000) longitudes and latitudes.

    This is the standard public formula (Krasovsky ellipsoid, a = 6378245.0 m,
    e² = 0.00669342162296594323, the ``transformLat``/``transformLon``
    polynomial-sine series). Outside the rough China box
    :data:`GCJ02_BOUNDS_LONLAT` (72.004–137.8347°E, 0.8293–55.8271°N) no offset
    is applied, as in the formula's reference implementations.

    CGCS2000 and WGS84 are treated as identical: they differ at the centimetre
    level, far below GCJ-02's offset of hundreds of metres.

    Parameters
    ----------
    lon, lat : float or array_like
        Degrees; broadcast against each other.

    Returns
    -------
    (lon, lat) : tuple of floats if both inputs are scalars, else of float64 arrays
        GCJ-02 coordinates.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.404, 39.915)  # a widely published test point
    >>> round(lon, 9), round(lat, 9)
    (116.410244499, 39.916404282)
    >>> wgs84_to_gcj02(2.35, 48.85)  # Paris: outside China, unchanged
    (2.35, 48.85)
    """
    x, y, scalar = _as_lonlat_arrays(lon, lat)
    dlon, dlat = _gcj_offset(x, y)
    return _out(x + dlon, y + dlat, scalar)


@overload
def gcj02_to_wgs84(
    lon: float, lat: float, *, tol_m: float = ..., max_iter: int = ...
) -> tuple[float, float]: ...
@overload
def gcj02_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_m: float = ..., max_iter: int = ...
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...


def gcj02_to_wgs84(
    lon: Any, lat: Any, *, tol_m: float = 0.01, max_iter: int = 20
) -> tuple[Any, Any]:
    """Remove the GCJ-02 offset: the inverse of :func:`wgs84_to_gcj02`.

    The formula has no closed-form inverse; this refines ``w ← w − (f(w) − g)``
    (a fixed-point iteration that gains two to three digits per step) for all
    points at once until every point maps back onto its GCJ-02 input within
    ``tol_m``. The result is WGS84, treated as identical to CGCS2000 (they
    differ by centimetres, far below GCJ-02's hundreds of metres).

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 degrees; broadcast against each other. NaN stays NaN.
    tol_m : float, default 0.01
        Largest allowed residual, in metres (1 cm). Must be ≥ 1e-6 (double
        precision cannot do much better at these magnitudes).
    max_iter : int, default 20
        Refinement steps allowed; three or four are needed in practice.

    Returns
    -------
    (lon, lat) : tuple of floats if both inputs are scalars, else of float64 arrays

    Raises
    ------
    ValueError
        If ``tol_m`` or ``max_iter`` is out of range.

    Warns
    -----
    GeoplanWarning
        If some points did not converge within ``max_iter`` steps.

    Examples
    --------
    >>> g = wgs84_to_gcj02(81.30, 43.92)
    >>> lon, lat = gcj02_to_wgs84(*g)
    >>> round(lon, 6), round(lat, 6)  # 1e-6° ≈ 0.1 m; the residual is below 1 cm
    (81.3, 43.92)
    """
    gx, gy, scalar = _as_lonlat_arrays(lon, lat)
    dlon, dlat = _gcj_offset(gx, gy)

    def forward(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> tuple[Any, Any]:
        ox, oy = _gcj_offset(x, y)
        return x + ox, y + oy

    wx, wy = _invert(forward, gx, gy, gx - dlon, gy - dlat, tol_m=tol_m, max_iter=max_iter,
                     what="GCJ-02")
    return _out(wx, wy, scalar)


def _invert(
    forward: Any,
    tx: npt.NDArray[np.float64],
    ty: npt.NDArray[np.float64],
    x: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    *,
    tol_m: float,
    max_iter: int,
    what: str,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Solve ``forward(x, y) = (tx, ty)`` from a first guess by ``p ← p − (f(p) − t)``.

    The offsets of GCJ-02 and BD-09 vary slowly, so each step gains two to three
    digits; stops when every point is within ``tol_m`` metres, and warns about
    the points that are not after ``max_iter`` steps.
    """
    if not tol_m >= 1e-6:
        raise ValueError(f"tol_m must be at least 1e-6 m, got {tol_m!r}")
    if int(max_iter) < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter!r}")
    for step in range(int(max_iter) + 1):
        fx, fy = forward(x, y)
        rx, ry = fx - tx, fy - ty
        err = np.hypot(ry * _M_PER_DEG, rx * _M_PER_DEG * np.cos(np.radians(y)))
        err = np.where(np.isfinite(err), err, 0.0)
        if not (err > tol_m).any():
            break
        if step == int(max_iter):
            warnings.warn(
                f"{what} inverse: {int((err > tol_m).sum())} of {err.size} points did not "
                f"converge to {tol_m} m in {max_iter} steps (largest residual "
                f"{float(err.max()):.3g} m)",
                GeoplanWarning,
                stacklevel=3,
            )
            break
        x = x - rx
        y = y - ry
    return x, y


# ---------------------------------------------------------------------------
# BD-09 (Baidu)
# ---------------------------------------------------------------------------


@overload
def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def gcj02_to_bd09(
    lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...


def gcj02_to_bd09(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Apply Baidu's BD-09 offset to GCJ-02 longitudes and latitudes.

    BD-09 is GCJ-02 further shifted by Baidu Maps: with
    ``x_pi = π · 3000 / 180``, ``z = √(lon² + lat²) + 2e-5 · sin(lat · x_pi)``,
    ``θ = atan2(lat, lon) + 3e-6 · cos(lon · x_pi)``, BD-09 is
    ``(z cos θ + 0.0065, z sin θ + 0.006)`` (the public formula; about 1 km
    at Yining). It applies everywhere, unlike GCJ-02's China box.

    Parameters
    ----------
    lon, lat : float or array_like
        GCJ-02 degrees; broadcast against each other. NaN stays NaN.

    Returns
    -------
    (lon, lat) : tuple of floats if both inputs are scalars, else of float64 arrays
        BD-09 coordinates.

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(116.404, 39.915)  # a widely published test point
    >>> round(lon, 9), round(lat, 9)
    (116.410369494, 39.921336994)
    """
    x, y, scalar = _as_lonlat_arrays(lon, lat)
    bx, by = _bd_forward(x, y)
    return _out(bx, by, scalar)


@overload
def bd09_to_gcj02(
    lon: float, lat: float, *, tol_m: float = ..., max_iter: int = ...
) -> tuple[float, float]: ...
@overload
def bd09_to_gcj02(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_m: float = ..., max_iter: int = ...
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...


def bd09_to_gcj02(
    lon: Any, lat: Any, *, tol_m: float = 0.01, max_iter: int = 20
) -> tuple[Any, Any]:
    """Remove Baidu's BD-09 offset: the inverse of :func:`gcj02_to_bd09`.

    Starts from the widely used closed-form approximation (which is off by
    about 5 cm) and refines ``g ← g − (f(g) − b)`` for all points at once, as
    :func:`gcj02_to_wgs84` does, until every point maps back onto its BD-09
    input within ``tol_m``.

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 degrees; broadcast against each other. NaN stays NaN.
    tol_m : float, default 0.01
        Largest allowed residual, in metres (1 cm); at least 1e-6.
    max_iter : int, default 20
        Refinement steps allowed; one or two are needed in practice.

    Returns
    -------
    (lon, lat) : tuple of floats if both inputs are scalars, else of float64 arrays
        GCJ-02 coordinates.

    Raises
    ------
    ValueError
        If ``tol_m`` or ``max_iter`` is out of range.

    Warns
    -----
    GeoplanWarning
        If some points did not converge within ``max_iter`` steps.

    Examples
    --------
    >>> b = gcj02_to_bd09(81.30, 43.92)
    >>> lon, lat = bd09_to_gcj02(*b)
    >>> round(lon, 7), round(lat, 7)  # 1e-7° ≈ 1 cm
    (81.3, 43.92)
    """
    bx, by, scalar = _as_lonlat_arrays(lon, lat)
    x, y = bx - 0.0065, by - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    gx, gy = _invert(_bd_forward, bx, by, z * np.cos(theta), z * np.sin(theta), tol_m=tol_m,
                     max_iter=max_iter, what="BD-09")
    return _out(gx, gy, scalar)


@overload
def bd09_to_wgs84(
    lon: float, lat: float, *, tol_m: float = ...
) -> tuple[float, float]: ...
@overload
def bd09_to_wgs84(
    lon: npt.ArrayLike, lat: npt.ArrayLike, *, tol_m: float = ...
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...


def bd09_to_wgs84(lon: Any, lat: Any, *, tol_m: float = 0.01) -> tuple[Any, Any]:
    """Convert Baidu BD-09 degrees to WGS84 (≈ CGCS2000): BD-09 → GCJ-02 → WGS84.

    Each step is inverted to ``tol_m`` (see :func:`bd09_to_gcj02` and
    :func:`gcj02_to_wgs84`); CGCS2000 and WGS84 are treated as identical
    (centimetre-level difference).

    Parameters
    ----------
    lon, lat : float or array_like
        BD-09 degrees; broadcast against each other.
    tol_m : float, default 0.01
        Accuracy of each inverse step, metres.

    Returns
    -------
    (lon, lat) : tuple of floats if both inputs are scalars, else of float64 arrays

    Examples
    --------
    >>> b = wgs84_to_bd09(81.30, 43.92)
    >>> lon, lat = bd09_to_wgs84(*b)
    >>> round(lon, 6), round(lat, 6)
    (81.3, 43.92)
    """
    g = bd09_to_gcj02(lon, lat, tol_m=tol_m)
    return gcj02_to_wgs84(*g, tol_m=tol_m)


@overload
def wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_bd09(
    lon: npt.ArrayLike, lat: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...


def wgs84_to_bd09(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Convert WGS84 (or CGCS2000) degrees to Baidu BD-09: WGS84 → GCJ-02 → BD-09.

    Parameters
    ----------
    lon, lat : float or array_like
        Degrees; broadcast against each other.

    Returns
    -------
    (lon, lat) : tuple of floats if both inputs are scalars, else of float64 arrays

    Examples
    --------
    >>> lon, lat = wgs84_to_bd09(116.404, 39.915)
    >>> round(lon, 6), round(lat, 6)
    (116.416627, 39.9227)
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _as_lonlat_arrays(
    lon: Any, lat: Any
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], bool]:
    scalar = np.ndim(lon) == 0 and np.ndim(lat) == 0
    x, y = np.broadcast_arrays(np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64"))
    return x.astype("float64", copy=True), y.astype("float64", copy=True), scalar


def _out(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], scalar: bool) -> tuple[Any, Any]:
    if scalar:
        return float(x), float(y)
    return x, y


def _gcj_offset(
    lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """GCJ-02 offset (degrees) at WGS84 lon/lat; zero outside the China box."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    t_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + common
        + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    )
    t_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + common
        + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * pi
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (t_lat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * pi)
    dlon = (t_lon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * pi)
    w, s, e, n = GCJ02_BOUNDS_LONLAT
    outside = (lon < w) | (lon > e) | (lat < s) | (lat > n)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def _bd_forward(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """BD-09 lon/lat of GCJ-02 lon/lat (the public formula)."""
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006
