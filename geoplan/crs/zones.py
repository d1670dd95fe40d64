"""The working CRS: the CGCS2000 3° Gauss-Kruger zone of the data, and metric checks.

geoplan measures in the CGCS2000 3° Gauss-Kruger zone whose central meridian is
nearest the data (EPSG:4534–4554, the codes without a zone number in the false
easting; EPSG:4536 for Yining). Here: the zone of a longitude or of an extent,
the refusal of a CRS that is not projected in metres, the central meridian of a
CRS and the CGCS2000 code of the same projection as a pre-2000 one.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pyproj
from pyproj.exceptions import ProjError as _ProjError

from ..errors import CRSError, GeoplanWarning
from ._common import (
    CGCS2000_EPSG,
    GK3_FIRST_CM,
    GK3_FIRST_EPSG,
    GK3_LAST_CM,
    GK3_ZONE_FIRST_EPSG,
    GK3_ZONES,
    GK6_ZONE_FIRST_EPSG,
    GK6_ZONES,
    BoundsLike,
    CRSLike,
    crs_label,
    horizontal_crs,
    tm_false_easting,
    to_lonlat,
)
from .resolve import resolve_crs

__all__ = [
    "GK3_LON_RANGE",
    "central_longitude",
    "cgcs2000_counterpart",
    "ensure_metric",
    "gk3_epsg_for_lon",
    "working_crs_for_bounds",
]


GK3_LON_RANGE: tuple[float, float] = (73.5, 136.5)
"""Longitudes covered by the CGCS2000 3° Gauss-Kruger CM codes EPSG:4534–4554."""


def gk3_epsg_for_lon(lon: float) -> int:
    """EPSG code of the CGCS2000 3° Gauss-Kruger zone (CM variant) for a longitude.

    The central meridian is ``CM = 3 * round(lon / 3)``, rounding halves up,
    i.e. the usual zone rule ``n = floor((lon + 1.5) / 3)``: a longitude exactly
    on a zone edge (79.5°, 82.5°, …) belongs to the zone to its east. The codes
    are the variants without the zone number in the false easting (500 000 m):
    EPSG:4534 (CM 75°E) … EPSG:4554 (CM 135°E).

    Parameters
    ----------
    lon : float
        Longitude in degrees east (CGCS2000 or WGS84).

    Returns
    -------
    int
        The EPSG code, 4534–4554.

    Raises
    ------
    CRSError
        If ``lon`` is not finite or lies outside 73.5–136.5°E, the span of those
        codes; the message tells the user to pass an explicit working CRS.

    Examples
    --------
    >>> gk3_epsg_for_lon(81.3)  # Yining
    4536
    >>> gk3_epsg_for_lon(79.5), gk3_epsg_for_lon(82.49), gk3_epsg_for_lon(82.5)
    (4536, 4536, 4537)
    >>> gk3_epsg_for_lon(116.4)  # Beijing, CM 117°E
    4548
    """
    try:
        x = float(lon)
    except (TypeError, ValueError) as exc:
        raise CRSError(f"longitude {lon!r} is not a number") from exc
    lo, hi = GK3_LON_RANGE
    if not math.isfinite(x) or not lo <= x <= hi:
        hint = ""
        if math.isfinite(x) and 3.0 <= x <= 54.0:
            hint = " (it looks like a latitude: are x and y swapped?)"
        raise CRSError(
            f"longitude {x!r}{hint} is outside {lo}–{hi}°E, the range of the CGCS2000 "
            f"3-degree Gauss-Kruger zones EPSG:4534–4554; pass an explicit working CRS "
            f"(a projected metric CRS such as 'EPSG:4536') instead of choosing one "
            f"from the data"
        )
    cm = 3 * math.floor(x / 3.0 + 0.5)
    cm = min(max(cm, GK3_FIRST_CM), GK3_LAST_CM)  # 73.5 and 136.5 stay in the edge zones
    return GK3_FIRST_EPSG + (cm - GK3_FIRST_CM) // 3


def working_crs_for_bounds(
    bounds: BoundsLike,
    *,
    crs: CRSLike,
    max_span_deg: float = 3.0,
) -> pyproj.CRS:
    """Pick the CGCS2000 3° Gauss-Kruger working CRS for an extent.

    The centre of ``bounds`` is transformed to CGCS2000 lon/lat (EPSG:4490,
    ``always_xy``) and :func:`gk3_epsg_for_lon` picks the zone.

    Parameters
    ----------
    bounds : sequence of 4 floats
        ``(minx, miny, maxx, maxy)`` in ``crs``, e.g. a layer's ``total_bounds``.
    crs : int, str or pyproj.CRS
        The CRS of ``bounds`` (any CRS).
    max_span_deg : float, default 3.0
        Warn when the extent spans more degrees of longitude than this: a single
        3° zone then distorts lengths and areas at the extent's edges.

    Returns
    -------
    pyproj.CRS
        One of EPSG:4534–4554.

    Raises
    ------
    CRSError
        If the bounds are not four finite numbers, cannot be transformed to
        lon/lat, or their centre lies outside the range of the zones.

    Warns
    -----
    GeoplanWarning
        If the extent spans more than ``max_span_deg`` of longitude.

    Examples
    --------
    >>> working_crs_for_bounds((81.2, 43.85, 81.4, 44.0), crs=4490).to_epsg()
    4536
    >>> working_crs_for_bounds((27_515_000, 4_855_000, 27_535_000, 4_875_000),
    ...                        crs="EPSG:4515").to_epsg()
    4536
    """
    src = resolve_crs(crs)
    try:
        b = np.asarray(bounds, dtype="float64").reshape(-1)
    except (TypeError, ValueError) as exc:
        raise CRSError(f"bounds {bounds!r} are not (minx, miny, maxx, maxy) numbers") from exc
    if b.size != 4 or not np.isfinite(b).all() or b[0] > b[2] or b[1] > b[3]:
        raise CRSError(
            f"bounds {tuple(b.tolist())} are not a finite (minx, miny, maxx, maxy) box; "
            f"an empty layer has no extent, so pass an explicit working CRS"
        )
    minx, miny, maxx, maxy = (float(v) for v in b)
    transformer = to_lonlat(src)
    try:
        cx, cy = transformer.transform((minx + maxx) / 2.0, (miny + maxy) / 2.0)
        lon0, lat0, lon1, lat1 = transformer.transform_bounds(
            minx, miny, maxx, maxy, densify_pts=21
        )
    except _ProjError as exc:
        raise CRSError(
            f"bounds {(minx, miny, maxx, maxy)} cannot be transformed from {src.name!r} "
            f"to lon/lat ({exc}); check the declared CRS"
        ) from exc
    if not all(math.isfinite(v) for v in (cx, cy, lon0, lon1)):
        raise CRSError(
            f"bounds {(minx, miny, maxx, maxy)} do not lie on the earth in {src.name!r}; "
            f"check the declared CRS (and that x and y are not swapped)"
        )
    try:
        epsg = gk3_epsg_for_lon(cx)
    except CRSError as exc:
        raise CRSError(
            f"cannot choose a working CRS for the extent {(minx, miny, maxx, maxy)} in "
            f"{src.name!r} (centre lon {cx:.4f}, lat {cy:.4f}): {exc}"
        ) from exc
    span = lon1 - lon0
    if span > max_span_deg:
        cm = GK3_FIRST_CM + 3 * (epsg - GK3_FIRST_EPSG)
        dlon = math.radians(max(abs(lon0 - cm), abs(lon1 - cm)))
        coslat = math.cos(math.radians(min(abs(lat0), abs(lat1))))
        scale_err = (dlon * coslat) ** 2 / 2.0  # transverse Mercator scale error at the edge
        warnings.warn(
            f"the extent spans {span:.2f}° of longitude ({lon0:.3f}–{lon1:.3f}°E), more than "
            f"one 3° Gauss-Kruger zone; EPSG:{epsg} (CM {cm}°E) distorts lengths by up to "
            f"about {scale_err * 100:.3f}% ({scale_err * 100:.3f} m per km) at its edges "
            f"(areas twice that). Split the workspace or pass an explicit working CRS.",
            GeoplanWarning,
            stacklevel=2,
        )
    return pyproj.CRS.from_epsg(epsg)


def ensure_metric(crs: CRSLike, *, name: str | None = None) -> pyproj.CRS:
    """Return ``crs`` as a :class:`pyproj.CRS` if it is projected and in metres.

    Parameters
    ----------
    crs : int, str or pyproj.CRS
        The CRS to check.
    name : str, optional
        What the CRS belongs to (a layer name), used in the message.

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    CRSError
        If the CRS is geographic, geocentric, or has axes not in metres:
        distances and areas need a projected metric CRS. The message suggests
        the CGCS2000 3° Gauss-Kruger code for the CRS's area of use.

    Examples
    --------
    >>> ensure_metric(4536).to_epsg()
    4536
    >>> ensure_metric(4490)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.errors.CRSError: EPSG:4490 ... is geographic (degrees): distances and areas need a projected metric CRS...
    """
    c = resolve_crs(crs)
    horizontal = horizontal_crs(c)
    label = crs_label(c)
    where = f" for {name!r}" if name else ""
    suggestion = _suggest_gk(c)
    tail = (
        f"distances and areas need a projected metric CRS; use a CGCS2000 3° Gauss-Kruger "
        f"zone ({suggestion}), e.g. via geoplan.crs.working_crs_for_bounds"
    )
    if horizontal.is_geographic:
        raise CRSError(f"{label}{where} is geographic (degrees): {tail}")
    if not horizontal.is_projected:
        raise CRSError(f"{label}{where} is not a projected CRS: {tail}")
    units = {
        (ax.unit_name or "").lower()
        for ax in horizontal.axis_info
        if ax.direction.lower() not in ("up", "down")
    }
    if not units or not units <= {"metre", "meter"}:
        raise CRSError(f"{label}{where} has axes in {sorted(units) or 'unknown units'}: {tail}")
    return c


def _suggest_gk(crs: pyproj.CRS) -> str:
    aou = crs.area_of_use
    if aou is not None:
        west, _, east, _ = aou.bounds
        if east - west <= 6.0:
            try:
                return f"EPSG:{gk3_epsg_for_lon((west + east) / 2.0)}"
            except CRSError:
                pass
    return "EPSG:4534–4554 by longitude, EPSG:4536 around Yining"


def central_longitude(crs: CRSLike) -> float | None:
    """The central meridian of a transverse Mercator CRS, else the centre of a narrow area of use.

    Examples
    --------
    >>> central_longitude(4536), central_longitude(4515)
    (81.0, 81.0)
    >>> central_longitude(4490) is None
    True
    """
    c = horizontal_crs(resolve_crs(crs))
    if c.is_bound and c.source_crs is not None:
        c = c.source_crs
    op = c.coordinate_operation
    if op is not None and "transverse mercator" in (op.method_name or "").lower():
        for p in op.params:
            if p.name.lower() in ("longitude of natural origin", "longitude of origin"):
                return float(p.value)
    aou = c.area_of_use
    if aou is not None:
        west, _, east, _ = aou.bounds
        if 0.0 < east - west <= 6.0:
            return (west + east) / 2.0
    return None


def cgcs2000_counterpart(crs: pyproj.CRS) -> int | None:
    """The CGCS2000 EPSG code of the same projection (EPSG:2424 → 4536), if there is one."""
    c = crs.source_crs if crs.is_bound and crs.source_crs is not None else crs
    if c.is_geographic:
        return CGCS2000_EPSG
    cm = central_longitude(c)
    fe = tm_false_easting(c)
    if cm is None or fe is None or not float(cm).is_integer():
        return None
    icm = int(cm)
    if fe == 500_000.0 and icm % 3 == 0 and GK3_FIRST_CM <= icm <= GK3_LAST_CM:
        return GK3_FIRST_EPSG + (icm - GK3_FIRST_CM) // 3
    zone = int(fe // 1.0e6)
    if GK3_ZONES[0] <= zone <= GK3_ZONES[1] and icm == 3 * zone:
        return GK3_ZONE_FIRST_EPSG + zone - GK3_ZONES[0]
    if GK6_ZONES[0] <= zone <= GK6_ZONES[1] and icm == 6 * zone - 3:
        return GK6_ZONE_FIRST_EPSG + zone - GK6_ZONES[0]
    return None
