"""Coordinate reference systems: working CRS choice, axis-order checks, GCJ-02.

geoplan measures distances and areas in one metric working CRS per workspace:
the CGCS2000 3-degree Gauss-Kruger zone whose central meridian (CM) is nearest
to the data (the "CM" EPSG codes without a zone prefix in the false easting,
EPSG:4534 for CM 75°E … EPSG:4554 for CM 135°E; EPSG:4536 for Yining).

This module also catches the two coordinate mistakes that silently turn a
planning check into a false ``pass``:

* latitude and longitude (or northing and easting) written in each other's
  column, see :func:`check_lonlat_order`;
* sites digitised on an Amap/Gaode or Tencent base map, whose coordinates are
  in GCJ-02 ("Mars coordinates", offset by 100–700 m, about 274 m at Yining)
  rather than CGCS2000, see :func:`from_gcj02`.

Axis order: geoplan, like GDAL and geopandas, always stores x = longitude /
easting and y = latitude / northing, whatever the axis order of the EPSG
definition (EPSG:4490 declares lat, lon; EPSG:4536 declares northing, easting).
Every transformer here is built with ``always_xy=True``.

Examples
--------
>>> from geoplan.crs import gk3_epsg_for_lon, working_crs_for_bounds
>>> gk3_epsg_for_lon(81.3)
4536
>>> working_crs_for_bounds((81.2, 43.85, 81.4, 44.0), crs=4490).to_epsg()
4536
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, overload

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from pyproj.crs import BoundCRS
from pyproj.crs.coordinate_operation import ToWGS84Transformation
from pyproj.exceptions import CRSError as _PyprojCRSError
from pyproj.exceptions import ProjError as _ProjError

from geoplan.errors import CRSError, GeoplanWarning

__all__ = [
    "CGCS2000_EPSG",
    "CHINA_BOUNDS_LONLAT",
    "EASTING_RANGE_M",
    "GCJ02_BOUNDS_LONLAT",
    "GK3_LON_RANGE",
    "NORTHING_RANGE_M",
    "CRSLike",
    "CRSProposal",
    "bd09_to_cgcs2000_geometry",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "central_longitude",
    "cgcs2000_counterpart",
    "cgcs2000_to_gcj02_geometry",
    "check_datum",
    "check_lonlat_order",
    "ensure_metric",
    "from_gcj02",
    "gcj02_to_bd09",
    "gcj02_to_cgcs2000_geometry",
    "gcj02_to_wgs84",
    "gk3_epsg_for_lon",
    "legacy_datum",
    "propose_crs",
    "require_cgcs2000_datum",
    "resolve_crs",
    "to_cgcs2000_datum",
    "to_gcj02",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
    "with_towgs84",
    "working_crs_for_bounds",
]

CRSLike: TypeAlias = int | str | pyproj.CRS
"""What geoplan accepts as a CRS: an EPSG code, an ``"EPSG:…"``/WKT/PROJ string
or a :class:`pyproj.CRS` (anything :meth:`pyproj.CRS.from_user_input` reads)."""

BoundsLike: TypeAlias = Sequence[float] | npt.ArrayLike
GeoObject: TypeAlias = gpd.GeoDataFrame | gpd.GeoSeries

CGCS2000_EPSG: int = 4490
"""EPSG code of CGCS2000 geographic coordinates (lon/lat, degrees)."""

CHINA_BOUNDS_LONLAT: tuple[float, float, float, float] = (73.0, 3.0, 136.0, 54.0)
"""Default workspace box for :func:`check_lonlat_order`: (min lon, min lat, max lon, max lat)."""

GK3_LON_RANGE: tuple[float, float] = (73.5, 136.5)
"""Longitudes covered by the CGCS2000 3° Gauss-Kruger CM codes EPSG:4534–4554."""

GCJ02_BOUNDS_LONLAT: tuple[float, float, float, float] = (72.004, 0.8293, 137.8347, 55.8271)
"""The rough "in China" box of the public GCJ-02 formula; no offset is applied outside it."""

_GK3_FIRST_EPSG = 4534  # CGCS2000 / 3-degree Gauss-Kruger CM 75E
_GK3_FIRST_CM = 75
_GK3_LAST_CM = 135

# Any transverse Mercator zone in use keeps eastings within this distance of the
# false easting (a 6° zone is about ±334 km wide at the equator).
_TM_EASTING_HALF_WINDOW_M = 1.0e6

# GCJ-02 (public formula, Krasovsky 1940 ellipsoid).
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323

# BD-09 (Baidu's further offset of GCJ-02, public formula).
_BD_X_PI = math.pi * 3000.0 / 180.0

# Upper bound of the length of one degree of latitude (metres): used to turn the
# inverse's residual in degrees into a conservative distance.
_M_PER_DEG = 111_700.0

_LONLAT_CRS = pyproj.CRS.from_epsg(CGCS2000_EPSG)

# "EPSG:2424 +towgs84=15.8,-154.4,-82.3": an authority code or WKT followed by towgs84
# parameters (a PROJ string beginning with "+" is left to PROJ, which reads +towgs84 itself).
_TOWGS84_SUFFIX = re.compile(r"^(?P<base>[^+\s].*?)\s*\+towgs84\s*=\s*(?P<params>[-+0-9.eE,\s]+)$")


# ---------------------------------------------------------------------------
# CRS parsing and the working CRS
# ---------------------------------------------------------------------------


def resolve_crs(value: object) -> pyproj.CRS:
    """Turn a user's CRS value into a :class:`pyproj.CRS`.

    Parameters
    ----------
    value : int, str or pyproj.CRS
        An EPSG code (``4536``), an authority string (``"EPSG:4490"``, also
        ``"4490"``), a WKT or PROJ string, a :class:`pyproj.CRS`, or any object
        :meth:`pyproj.CRS.from_user_input` understands (e.g. a rasterio CRS). An
        authority code followed by ``+towgs84=dx,dy,dz`` (or 7 parameters), e.g.
        ``"EPSG:2424 +towgs84=15.8,-154.4,-82.3"``, gives a CRS bound to that datum
        transformation (see :func:`with_towgs84`).

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    CRSError
        If ``value`` is None, a bool, or cannot be parsed; the message repeats
        the value and says which forms are accepted.

    Examples
    --------
    >>> resolve_crs(4536).name
    'CGCS2000 / 3-degree Gauss-Kruger CM 81E'
    >>> resolve_crs("EPSG:4490").to_epsg()
    4490
    >>> resolve_crs("not a crs")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.errors.CRSError: cannot read the CRS 'not a crs': ...
    """
    hint = (
        "Give an EPSG code (4490, 'EPSG:4536'), a WKT string or a pyproj.CRS; "
        "CGCS2000 lon/lat is EPSG:4490, the Yining working CRS EPSG:4536."
    )
    if value is None:
        raise CRSError(f"no CRS given (None). {hint}")
    if isinstance(value, pyproj.CRS):
        return value
    if isinstance(value, bool):
        raise CRSError(f"cannot read the CRS {value!r}: a bool is not a CRS. {hint}")
    shown = repr(value)
    if len(shown) > 120:
        shown = shown[:117] + "..."
    try:
        if isinstance(value, int | np.integer):
            return pyproj.CRS.from_epsg(int(value))
        if isinstance(value, str):
            text = value.strip()
            if not text:
                raise ValueError("empty string")
            if text.isdigit():
                return pyproj.CRS.from_epsg(int(text))
            m = _TOWGS84_SUFFIX.match(text)
            if m is not None:  # "EPSG:2424 +towgs84=dx,dy,dz": a code bound to its datum shift
                params = [float(v) for v in m.group("params").replace(" ", "").split(",") if v]
                return with_towgs84(resolve_crs(m.group("base")), params)
            return pyproj.CRS.from_user_input(text)
        return pyproj.CRS.from_user_input(value)
    except (_PyprojCRSError, TypeError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CRSError(f"cannot read the CRS {shown}: {reason}. {hint}") from exc


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
    cm = min(max(cm, _GK3_FIRST_CM), _GK3_LAST_CM)  # 73.5 and 136.5 stay in the edge zones
    return _GK3_FIRST_EPSG + (cm - _GK3_FIRST_CM) // 3


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
    transformer = _to_lonlat(src)
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
        cm = _GK3_FIRST_CM + 3 * (epsg - _GK3_FIRST_EPSG)
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
    horizontal = _horizontal(c)
    label = _crs_label(c)
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


# ---------------------------------------------------------------------------
# Data without a CRS: a proposal from the coordinates
# ---------------------------------------------------------------------------

_GK3_ZONE_FIRST_EPSG = 4513  # CGCS2000 / 3-degree Gauss-Kruger zone 25 (CM 75°E)
_GK3_ZONES = (25, 45)
_GK6_ZONE_FIRST_EPSG = 4491  # CGCS2000 / Gauss-Kruger zone 13 (6°, CM 75°E)
_GK6_ZONES = (13, 23)
_GK6_CM_FIRST_EPSG = 4502  # CGCS2000 / Gauss-Kruger CM 75E (6°, no zone number)
# Eastings with a zone number stay this close to the zone's 500 000 m (a 3° zone is
# ±1.5° ≈ ±160 km wide in China, a 6° zone ±3° ≈ ±320 km; the rest is overlap margin).
_ZONE_HALF_WINDOW_M = {3: 250_000.0, 6: 400_000.0}

# A zone-less easting is placed in the zone that puts it within this many degrees of the
# longitude known from elsewhere; zones are 3° apart, so the runner-up is then ≥ 2° off.
_EVIDENCE_TOLERANCE_DEG = 1.0

NORTHING_RANGE_M: tuple[float, float] = (1.9e6, 6.0e6)
"""Gauss-Kruger northings of mainland China and Hainan (about 17°N–54°N)."""

EASTING_RANGE_M: tuple[float, float] = (150_000.0, 850_000.0)
"""Gauss-Kruger eastings without a zone number: the 500 000 m false easting ± 350 km."""

_SAME_NUMBERS_EN = (
    "; the numbers cannot tell CGCS2000 from Beijing 1954 or Xian 1980 (same zones, positions "
    "tens of metres apart): confirm the datum with the data provider"
)
_SAME_NUMBERS_ZH = "；坐标数值无法区分 CGCS2000 与北京54、西安80（分带相同，位置相差数十米），请向数据提供方确认"


@dataclass(frozen=True)
class CRSProposal:
    """What the coordinates of data without a CRS say about the CRS they were made in.

    Attributes
    ----------
    epsg : int or None
        The proposed EPSG code; ``None`` when the coordinates alone cannot decide.
    reason, reason_zh : str
        The evidence, in English and in Chinese, for a message or a comment.
    candidates : tuple of int
        When ``epsg`` is ``None`` but the family is known: the codes to choose from.
    """

    epsg: int | None
    reason: str
    reason_zh: str
    candidates: tuple[int, ...] = ()

    @property
    def code(self) -> str:
        """``"EPSG:4515"``, ``"EPSG:4534–4554"`` for candidates, else ``"EPSG:…"``."""
        if self.epsg is not None:
            return f"EPSG:{self.epsg}"
        if self.candidates:
            return f"EPSG:{self.candidates[0]}–{self.candidates[-1]}"
        return "EPSG:…"


def _easting_form(x: float) -> tuple[int, int] | None:
    """``(zone width in degrees, zone number)`` an easting fits; zone 0: no zone number."""
    if EASTING_RANGE_M[0] <= x <= EASTING_RANGE_M[1]:
        return (3, 0)
    zone = math.floor(x / 1.0e6)
    rem = x - zone * 1.0e6 - 500_000.0
    if _GK3_ZONES[0] <= zone <= _GK3_ZONES[1] and abs(rem) <= _ZONE_HALF_WINDOW_M[3]:
        return (3, zone)
    if _GK6_ZONES[0] <= zone <= _GK6_ZONES[1] and abs(rem) <= _ZONE_HALF_WINDOW_M[6]:
        return (6, zone)
    return None


def central_longitude(crs: CRSLike) -> float | None:
    """The central meridian of a transverse Mercator CRS, else the centre of a narrow area of use.

    Examples
    --------
    >>> central_longitude(4536), central_longitude(4515)
    (81.0, 81.0)
    >>> central_longitude(4490) is None
    True
    """
    c = _horizontal(resolve_crs(crs))
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


def propose_crs(
    bounds: BoundsLike,
    *,
    known_lon: float | None = None,
    known_from: str | None = None,
) -> CRSProposal:
    """Propose the CRS of coordinates that come without one (a Shapefile without ``.prj``).

    The magnitude of the coordinates decides:

    * degrees (``|x| ≤ 180``, ``|y| ≤ 90``): CGCS2000 lon/lat, EPSG:4490;
    * metres whose easting begins with a zone number (``27 524 000``): 3° zones
      are numbered 25–45 (EPSG:4513–4533, CM = 3 × zone), 6° zones 13–23
      (EPSG:4491–4501, CM = 6 × zone − 3), so the number alone names the CRS;
    * metres without a zone number (``524 000``, i.e. 500 000 ± 350 000): the zone
      is not in the numbers. With ``known_lon`` (the longitude of other layers of
      the workspace, or of its working CRS) the 3° CM zone (EPSG:4534–4554) that
      puts the data within 1° of that longitude is proposed (zones are 3° apart, so
      no other comes close); without it, or when no zone fits, the candidates
      are listed;
    * northings outside China's 1.9–6.0 million m, or eastings that fit no zone:
      no proposal (a local grid, swapped x/y, or not metres), and the reason says so.

    The numbers never tell the datum: Beijing 1954 and Xian 1980 use the same zones,
    so every metric proposal asks the planner to confirm it.

    Parameters
    ----------
    bounds : sequence of 4 floats
        ``(minx, miny, maxx, maxy)`` of the data, as stored.
    known_lon : float, optional
        Longitude (°E) known from elsewhere (other layers, the working CRS).
    known_from : str, optional
        Where ``known_lon`` comes from, quoted in the reason.

    Returns
    -------
    CRSProposal

    Examples
    --------
    >>> propose_crs((27_523_000, 4_864_000, 27_525_000, 4_866_000)).epsg  # zone number 27
    4515
    >>> propose_crs((523_000, 4_864_000, 525_000, 4_866_000)).epsg is None  # which zone?
    True
    >>> propose_crs((523_000, 4_864_000, 525_000, 4_866_000), known_lon=81.2).epsg
    4536
    >>> propose_crs((81.2, 43.8, 81.4, 44.0)).epsg
    4490
    """
    try:
        b = np.asarray(bounds, dtype="float64").reshape(-1)
    except (TypeError, ValueError):
        b = np.full(4, np.nan)
    if b.size != 4 or not np.isfinite(b).all():
        return CRSProposal(None, "it has no finite coordinates to judge from (an empty layer?)",
                           "没有可供判断的坐标（空图层？）")
    minx, miny, maxx, maxy = (float(v) for v in b)
    cx, cy = (minx + maxx) / 2.0, (miny + maxy) / 2.0
    src = known_from or "the other layers"
    if max(abs(minx), abs(maxx)) <= 180.0 and max(abs(miny), abs(maxy)) <= 90.0:
        reason = (f"the coordinates are degrees (x {minx:.4f}–{maxx:.4f}, y {miny:.4f}–"
                  f"{maxy:.4f}): CGCS2000 longitude/latitude, EPSG:4490 (WGS 84, EPSG:4326, "
                  "differs by less than a metre)")
        zh = "坐标为经纬度（度）：CGCS2000 地理坐标 EPSG:4490"
        w, so, e, n = CHINA_BOUNDS_LONLAT
        if 3.0 <= cx <= 54.0 and 73.0 <= cy <= 136.0:
            reason += "; but x looks like a latitude and y like a longitude: are they swapped?"
            zh += "；但 x 像纬度、y 像经度，是否互换？"
        elif not (w <= cx <= e and so <= cy <= n):
            reason += (f"; but ({cx:.4f}, {cy:.4f}) lies outside China: small numbers in a local "
                       "grid look like degrees too, check")
            zh += "；但该位置在中国范围以外：也可能是数值较小的独立坐标，请核对"
        return CRSProposal(CGCS2000_EPSG, reason + _SAME_NUMBERS_EN, zh + _SAME_NUMBERS_ZH)
    span = f"x {minx:,.0f}–{maxx:,.0f}, y {miny:,.0f}–{maxy:,.0f}"
    lo_n, hi_n = NORTHING_RANGE_M
    form = _easting_form(cx)
    if not lo_n <= cy <= hi_n:
        if lo_n <= cx <= hi_n and _easting_form(cy) is not None:
            return CRSProposal(
                None,
                f"x holds northings and y eastings ({span}): the survey order in which X is the "
                "northing (北) and Y the easting (东); swap x and y before declaring a CRS",
                "x 为北坐标、y 为东坐标（测量坐标 X 北、Y 东的顺序）：请先交换 x 与 y，再声明坐标系",
            )
        return CRSProposal(
            None,
            f"y ≈ {cy:,.0f} is not a Gauss-Kruger northing in China ({lo_n:,.0f}–{hi_n:,.0f} m; "
            f"{span}): a local or arbitrary grid, or not metres; ask the data provider for the CRS",
            f"y ≈ {cy:,.0f} 不是中国范围的高斯-克吕格北坐标：可能是独立/地方坐标系，请向数据提供方索取坐标系",
        )
    if form is None or _easting_form(minx) != form or _easting_form(maxx) != form:
        return CRSProposal(
            None,
            f"the eastings ({span}) fit no Gauss-Kruger form: neither a zone number (3° zones "
            f"25–45, 6° zones 13–23) nor {EASTING_RANGE_M[0]:,.0f}–{EASTING_RANGE_M[1]:,.0f} m "
            "without one; a local or arbitrary grid: ask the data provider for the CRS",
            "东坐标既无有效带号，也不在无带号的 150 000–850 000 米范围：可能是独立/地方坐标系，请向数据提供方索取坐标系",
        )
    width, zone = form
    if zone:
        if width == 3:
            epsg, cm = _GK3_ZONE_FIRST_EPSG + zone - _GK3_ZONES[0], 3 * zone
        else:
            epsg, cm = _GK6_ZONE_FIRST_EPSG + zone - _GK6_ZONES[0], 6 * zone - 3
        lon, lat = _to_lonlat(pyproj.CRS.from_epsg(epsg)).transform(cx, cy)
        reason = (f"the eastings begin with the zone number {zone} ({cx:,.0f} m): CGCS2000 "
                  f"{width}° Gauss-Kruger zone {zone}, central meridian {cm}°E, which puts the "
                  f"data at {lon:.2f}°E, {lat:.2f}°N")
        zh = (f"东坐标带有带号 {zone}（{cx:,.0f} 米）：CGCS2000 {width}度带第 {zone} 带，"
              f"中央经线 {cm}°E，数据位于东经 {lon:.2f}°、北纬 {lat:.2f}°")
        if known_lon is not None and math.isfinite(known_lon) and abs(lon - known_lon) > 3.0:
            reason += f"; but {src} lie at {known_lon:.2f}°E: check that they belong together"
            zh += f"；但其他图层位于东经 {known_lon:.2f}°，请核对"
        return CRSProposal(epsg, reason + _SAME_NUMBERS_EN, zh + _SAME_NUMBERS_ZH)
    lon81, lat = _to_lonlat(pyproj.CRS.from_epsg(4536)).transform(cx, cy)
    dlon = lon81 - 81.0  # the same offset from any central meridian
    candidates = tuple(range(_GK3_FIRST_EPSG, _GK3_FIRST_EPSG + 21))
    base = (f"the eastings carry no zone number ({cx:,.0f} m, {dlon:+.2f}° of longitude from "
            f"the central meridian, at {lat:.2f}°N)")
    base_zh = f"东坐标不带带号（{cx:,.0f} 米，距中央经线 {dlon:+.2f}°，北纬 {lat:.2f}°）"
    if known_lon is not None and math.isfinite(known_lon):
        cm = min(range(_GK3_FIRST_CM, _GK3_LAST_CM + 1, 3),
                 key=lambda c: abs(c + dlon - known_lon))
        at = cm + dlon
        epsg = _GK3_FIRST_EPSG + (cm - _GK3_FIRST_CM) // 3
        if abs(at - known_lon) <= _EVIDENCE_TOLERANCE_DEG:
            same = (f" (the same projection as the 6° EPSG:{_GK6_CM_FIRST_EPSG + (cm - 75) // 6})"
                    if (cm - 75) % 6 == 0 else "")
            return CRSProposal(
                epsg,
                f"{base}; {src} lie at {known_lon:.2f}°E, which puts this layer at {at:.2f}°E "
                f"in the CGCS2000 3° Gauss-Kruger zone with central meridian {cm}°E{same}"
                + _SAME_NUMBERS_EN,
                f"{base_zh}；其他图层位于东经 {known_lon:.2f}°，据此判断为中央经线 {cm}°E 的 "
                f"CGCS2000 3度带（不带带号）" + _SAME_NUMBERS_ZH,
            )
        return CRSProposal(
            None,
            f"{base}; {src} lie at {known_lon:.2f}°E, which fits no zone (the nearest, central "
            f"meridian {cm}°E, would put it at {at:.2f}°E): check that the layers belong together "
            "and ask the data provider for the CRS",
            f"{base_zh}；与其他图层（东经 {known_lon:.2f}°）对不上任何分带，请核对并向数据提供方索取坐标系",
            candidates,
        )
    return CRSProposal(
        None,
        f"{base}, so the zone is not in the numbers: it is one of EPSG:4534–4554 (CGCS2000 3° "
        "Gauss-Kruger CM 75°E–135°E). Take the zone whose central meridian is nearest the area "
        "(CM 81°E, EPSG:4536, at Yining; CM 87°E, EPSG:4538, at Urumqi) or ask the data "
        "provider; with another layer that has a CRS, or a working CRS, geoplan proposes the zone"
        + _SAME_NUMBERS_EN,
        f"{base_zh}，无法从坐标判断分带：应为 EPSG:4534–4554 之一（CGCS2000 3度带 中央经线 75°E–135°E），"
        "取中央经线最接近所在地区的一带（伊宁为 81°E，EPSG:4536），或向数据提供方确认" + _SAME_NUMBERS_ZH,
        candidates,
    )


# ---------------------------------------------------------------------------
# Pre-2000 datums: Beijing 1954, Xian 1980
# ---------------------------------------------------------------------------

# Semi-major axes of the ellipsoids of China's pre-2000 datums.
_LEGACY_ELLIPSOIDS: dict[float, str] = {6378245.0: "Krassowsky 1940", 6378140.0: "IAG 1975"}
_LEGACY_ZH: tuple[tuple[str, str], ...] = (
    ("new beijing", "新北京54"), ("beijing", "北京54"), ("xian", "西安80"),
)
_HUB_SEMI_MAJOR = 6378137.0  # WGS 84 and CGCS2000 (GRS 1980)


def legacy_datum(crs: CRSLike) -> str | None:
    """The pre-2000 Chinese datum a CRS is based on, or ``None``.

    Detected from the CRS's geodetic datum, not from a list of codes: a datum
    named Beijing 1954, New Beijing or Xian 1980, or any datum on their ellipsoids
    (Krassowsky 1940, IAG 1975), whether the CRS is geographic or projected, an
    EPSG code, a ``.prj`` or a PROJ string. PROJ has no transformation from these
    datums to CGCS2000 in China and falls back to a "ballpark" conversion that
    ignores the datum shift (see :func:`check_datum`).

    Examples
    --------
    >>> legacy_datum(4214), legacy_datum("EPSG:2424"), legacy_datum(4610)
    ('Beijing 1954', 'Beijing 1954', 'Xian 1980')
    >>> legacy_datum(4536) is None and legacy_datum(4326) is None
    True
    """
    c = _horizontal(resolve_crs(crs))
    if c.is_bound and c.source_crs is not None:
        c = c.source_crs
    geod = c.geodetic_crs
    datum = geod.datum.name if geod is not None and geod.datum is not None else ""
    low = datum.lower().replace("_", " ").replace("'", "").replace("-", " ")
    if "beijing" in low or "xian" in low or "xi an" in low:
        return datum
    ell = c.ellipsoid
    if ell is not None:
        for a, name in _LEGACY_ELLIPSOIDS.items():
            if abs(ell.semi_major_metre - a) < 0.5:
                return f"{datum or 'an unnamed datum'} (on the {name} ellipsoid)"
    return None


def _datum_zh(datum: str) -> str:
    low = datum.lower().replace("_", " ").replace("'", "")
    return next((zh for key, zh in _LEGACY_ZH if key in low), "旧大地基准")


def with_towgs84(crs: CRSLike, params: Sequence[float]) -> pyproj.CRS:
    """Bind a CRS to an explicit datum transformation (PROJ's ``+towgs84``).

    Parameters
    ----------
    crs : int, str or pyproj.CRS
        The CRS the data is in (e.g. EPSG:2424, Beijing 1954 / 3° Gauss-Kruger CM 81°E).
    params : sequence of 3 or 7 numbers
        ``[dx, dy, dz]`` in metres, or ``[dx, dy, dz, rx, ry, rz, ds]`` with the
        rotations in arc-seconds and the scale difference in ppm, in the
        position-vector convention of PROJ's ``+towgs84`` (parameters published in
        the coordinate-frame convention have the rotations' signs flipped). They
        take the data's datum to WGS 84, which geoplan treats as CGCS2000 (the two
        agree to within a metre); parameters published "to CGCS2000" are used as
        they are.

    Returns
    -------
    pyproj.CRS
        A bound CRS. Convert data in it with :func:`to_cgcs2000_datum`: PROJ uses
        the parameters only on the way to WGS 84, and would silently fall back to a
        ballpark conversion on a direct way to CGCS2000.

    Raises
    ------
    CRSError
        If ``params`` are not 3 or 7 finite numbers.

    Examples
    --------
    >>> b = with_towgs84(2424, [15.8, -154.4, -82.3])
    >>> b.is_bound, b.source_crs.to_epsg()
    (True, 2424)
    """
    c = _horizontal(resolve_crs(crs))
    if c.is_bound and c.source_crs is not None:
        c = c.source_crs
    try:
        vals = [float(v) for v in params]
    except (TypeError, ValueError) as exc:
        raise CRSError(f"towgs84 {params!r} must be 3 or 7 numbers") from exc
    if len(vals) not in (3, 7) or not all(math.isfinite(v) for v in vals):
        raise CRSError(
            f"towgs84 {params!r} must be 3 numbers [dx, dy, dz] (metres) or 7 "
            "[dx, dy, dz, rx, ry, rz, ds] (metres, arc-seconds, ppm), all finite"
        )
    geog = c.geodetic_crs
    if geog is None:
        raise CRSError(f"{_crs_label(c)} has no geodetic datum to bind towgs84 parameters to")
    return BoundCRS(source_crs=c, target_crs=pyproj.CRS.from_epsg(4326),
                    transformation=ToWGS84Transformation(geog, *vals))


def _hub_transformer(bound: pyproj.CRS, name: str) -> pyproj.Transformer:
    """Bound CRS → its hub (WGS 84 / CGCS2000) with exactly the bound's parameters."""
    hub = bound.target_crs
    if hub is None or not hub.is_geographic or hub.ellipsoid is None or abs(
            hub.ellipsoid.semi_major_metre - _HUB_SEMI_MAJOR) > 0.5:
        raise CRSError(
            f"{name}: the CRS's datum transformation goes to {hub.name if hub else 'nothing'}, "
            "not to WGS 84 or CGCS2000; give towgs84 parameters to WGS 84 / CGCS2000"
        )
    tr = pyproj.Transformer.from_crs(bound, hub, always_xy=True)
    if "ballpark" in (tr.description or "").lower():
        raise CRSError(
            f"{name}: PROJ would not apply the declared datum transformation "
            f"({tr.description}); give the CRS as an EPSG code or WKT plus towgs84 parameters"
        )
    return tr


def check_datum(
    crs: CRSLike,
    *,
    name: str,
    accuracy_m: float | None = None,
    fix: str | None = None,
) -> str | None:
    """Refuse a CRS on Beijing 1954 / Xian 1980 unless the way to CGCS2000 is explicit.

    PROJ knows no transformation from Beijing 1954, New Beijing or Xian 1980 to
    CGCS2000 in China: it silently uses a "ballpark" conversion that keeps the
    latitude and longitude and ignores the datum shift. At Yining it moves Beijing
    1954 Gauss-Kruger coordinates by 85.8 m (the change of ellipsoid only), while
    the datum shift itself stays unapplied — a wrong position of tens of metres,
    more than most setbacks. geoplan accepts such data only

    * bound to explicit parameters (:func:`with_towgs84`, a PROJ string with
      ``+towgs84``, or ``"EPSG:2424 +towgs84=dx,dy,dz"``), converted with
      :func:`to_cgcs2000_datum`; or
    * with ``accuracy_m``: the planner accepts PROJ's conversion and states how
      far off it may be.

    Parameters
    ----------
    crs : int, str or pyproj.CRS
        The CRS of the data.
    name : str
        What the data is (a layer and its file, a sites file), for the message.
    accuracy_m : float, optional
        The accuracy the planner vouches for when accepting PROJ's conversion.
    fix : str, optional
        How to proceed, in the words of the caller (``geoplan.toml`` keys, CLI
        options); a generic text by default.

    Returns
    -------
    str or None
        ``None`` when there is nothing to say (CGCS2000, WGS 84, …), otherwise the
        note to record: the parameters used, or the accepted accuracy (the latter
        begins with ``WARNING:``).

    Raises
    ------
    CRSError
        On a pre-2000 datum without either; the message names ``name``, the datum,
        the ways to proceed and the CGCS2000 code of the same projection.

    Examples
    --------
    >>> check_datum(4536, name="flood_zone") is None
    True
    >>> check_datum(with_towgs84(2424, [15.8, -154.4, -82.3]), name="x")  # doctest: +ELLIPSIS
    'Beijing 1954 → CGCS2000 with the declared towgs84 = [15.8, -154.4, -82.3, 0, 0, 0, 0]...'
    >>> check_datum(2424, name="DLTB.shp")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoplan.errors.CRSError: DLTB.shp is in EPSG:2424 (...) on the Beijing 1954 datum (北京54)...
    """
    c = _horizontal(resolve_crs(crs))
    if c.is_bound and c.source_crs is not None:
        _hub_transformer(c, name)
        op = c.coordinate_operation
        params = ", ".join(f"{v:g}" for v in (op.towgs84 if op is not None else []))
        datum = legacy_datum(c) or c.source_crs.name
        return (f"{datum} → CGCS2000 with the declared towgs84 = [{params}] (exactly these "
                "parameters; WGS 84 taken as CGCS2000)")
    datum = legacy_datum(c)
    if datum is None:
        return None
    try:
        op_name = pyproj.Transformer.from_crs(c, _LONLAT_CRS, always_xy=True).description
    except _ProjError:
        op_name = "no transformation"
    if accuracy_m is not None:
        return (f"WARNING: {datum} → CGCS2000 by PROJ's default ({op_name}), accepted with a "
                f"stated accuracy of {accuracy_m:g} m (datum_shift_accuracy_m): positions of "
                "this data may be off by that much")
    same = cgcs2000_counterpart(c)
    ask = (f"; better, ask for the data in CGCS2000 (EPSG:{same} is the same projection on "
           "CGCS2000)" if same else "; better, ask for the data in CGCS2000")
    code = c.to_epsg()
    how = fix or (
        "give the CRS together with its transformation from the survey's conversion report "
        f'(坐标转换参数), e.g. --crs "EPSG:{code or 2424} +towgs84=dx,dy,dz" (crs= in Python; '
        "or the 7 parameters dx,dy,dz,rx,ry,rz,ds: metres, arc-seconds, ppm, position-vector "
        "convention), or convert the data to CGCS2000 first"
    )
    raise CRSError(
        f"{name} is in {_crs_label(c)} on the {datum} datum ({_datum_zh(datum)}), which PROJ "
        f"cannot transform to CGCS2000 here: its default is a ballpark conversion that ignores "
        f"the datum shift ({op_name}), wrong by tens of metres without a warning, so geoplan "
        f"refuses it. 请提供转换参数或确认精度 — to proceed: {how}{ask}"
    )


def to_cgcs2000_datum(obj: GeoObject, *, name: str = "the data") -> GeoObject:
    """Convert data in a bound CRS (explicit towgs84) to CGCS2000 lon/lat, EPSG:4490.

    Data in any other CRS is returned unchanged. The conversion goes through the
    bound CRS's own hub (WGS 84) with exactly its parameters, then labels the
    result CGCS2000 (the two agree to within a metre): PROJ would ignore the
    parameters on a direct way to CGCS2000 and use a ballpark conversion instead.

    Raises
    ------
    CRSError
        If PROJ would not apply the parameters, or a coordinate does not convert.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> s = gpd.GeoSeries([Point(524_000, 4_865_000)], crs=with_towgs84(2424, [15.8, -154.4, -82.3]))
    >>> to_cgcs2000_datum(s).crs.to_epsg()
    4490
    """
    if obj.crs is None:
        return obj
    c = pyproj.CRS.from_user_input(obj.crs)
    if not c.is_bound:
        return obj
    tr = _hub_transformer(c, name)

    def _apply(coords: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if not len(coords):
            return coords
        x, y = tr.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    geoms = shapely.transform(_geom_array(obj), _apply, include_z=False)
    bad = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if bad.any():
        bounds = shapely.bounds(geoms[bad])
        if not np.isfinite(bounds).all():
            raise CRSError(f"{name}: some coordinates do not convert from {_crs_label(c)} to "
                           "CGCS2000; check the declared CRS and that x and y are not swapped")
    return _replace_geometry(obj, geoms, CGCS2000_EPSG)


def require_cgcs2000_datum(
    gdf: GeoObject,
    *,
    name: str,
    declared: CRSLike | None = None,
    accuracy_m: float | None = None,
    fix: str | None = None,
) -> GeoObject:
    """:func:`check_datum` then :func:`to_cgcs2000_datum`, for a batch of sites.

    ``declared`` is the CRS the user gave (``--crs``): when it binds the file's own
    pre-2000 CRS to towgs84 parameters, it replaces the file's CRS. The note of
    :func:`check_datum`, if any, is stored in ``attrs["datum_shift"]``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> s = gpd.GeoSeries([Point(524_000, 4_865_000)], crs=2424)
    >>> require_cgcs2000_datum(s, name="sites.gpkg",
    ...                        declared="EPSG:2424 +towgs84=15.8,-154.4,-82.3").crs.to_epsg()
    4490
    """
    if gdf.crs is None:
        return gdf
    current = pyproj.CRS.from_user_input(gdf.crs)
    if declared is not None and not current.is_bound:
        d = resolve_crs(declared)
        if d.is_bound and d.source_crs is not None and d.source_crs.equals(current):
            gdf = gdf.set_crs(d, allow_override=True)
    note = check_datum(gdf.crs, name=name, accuracy_m=accuracy_m, fix=fix)
    out = to_cgcs2000_datum(gdf, name=name)
    if note:
        out.attrs["datum_shift"] = note
    return out


def cgcs2000_counterpart(crs: pyproj.CRS) -> int | None:
    """The CGCS2000 EPSG code of the same projection (EPSG:2424 → 4536), if there is one."""
    c = crs.source_crs if crs.is_bound and crs.source_crs is not None else crs
    if c.is_geographic:
        return CGCS2000_EPSG
    cm = central_longitude(c)
    fe = _tm_false_easting(c)
    if cm is None or fe is None or not float(cm).is_integer():
        return None
    icm = int(cm)
    if fe == 500_000.0 and icm % 3 == 0 and _GK3_FIRST_CM <= icm <= _GK3_LAST_CM:
        return _GK3_FIRST_EPSG + (icm - _GK3_FIRST_CM) // 3
    zone = int(fe // 1.0e6)
    if _GK3_ZONES[0] <= zone <= _GK3_ZONES[1] and icm == 3 * zone:
        return _GK3_ZONE_FIRST_EPSG + zone - _GK3_ZONES[0]
    if _GK6_ZONES[0] <= zone <= _GK6_ZONES[1] and icm == 6 * zone - 3:
        return _GK6_ZONE_FIRST_EPSG + zone - _GK6_ZONES[0]
    return None


# ---------------------------------------------------------------------------
# Lat/lon (and northing/easting) swap detection
# ---------------------------------------------------------------------------


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
    c = _horizontal(resolve_crs(crs))
    box = _expected_box(expected_bounds_lonlat)
    feat = _feature_boxes(gdf_or_xy)
    feat = feat[np.isfinite(feat).all(axis=1)]
    n = len(feat)
    if n == 0:
        return None
    data = np.array([feat[:, 0].min(), feat[:, 1].min(), feat[:, 2].max(), feat[:, 3].max()])
    cx = (feat[:, 0] + feat[:, 2]) / 2.0
    cy = (feat[:, 1] + feat[:, 3]) / 2.0
    label = _crs_label(c)

    if c.is_geographic:
        _check_geographic(feat, data, cx, cy, box, name=name, label=label)
        return None

    # Projected (or anything else PROJ can take to lon/lat).
    fe = _tm_false_easting(c)
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

    transformer = _to_lonlat(c)
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
    out = _replace_geometry(
        gdf, gcj02_to_cgcs2000_geometry(_geom_array(gdf), tol_m=tol_m), CGCS2000_EPSG
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
    out = _replace_geometry(gdf, cgcs2000_to_gcj02_geometry(_geom_array(gdf)), 4326)
    out.attrs["geoplan_coordinates"] = "GCJ-02"
    return out


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
    >>> p = bd09_to_cgcs2000_geometry(Point(wgs84_to_bd09(81.30, 43.92)))
    >>> round(p.x, 6), round(p.y, 6)
    (81.3, 43.92)
    """
    return _transform_xy(geoms, lambda x, y: bd09_to_wgs84(x, y, tol_m=tol_m))


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _horizontal(crs: pyproj.CRS) -> pyproj.CRS:
    """The horizontal part of a compound CRS (the CRS itself otherwise)."""
    if crs.is_compound and crs.sub_crs_list:
        return crs.sub_crs_list[0]
    return crs


def _crs_label(crs: pyproj.CRS) -> str:
    code = crs.to_epsg()
    return f"EPSG:{code} ({crs.name})" if code else repr(crs.name)


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


def _to_lonlat(crs: pyproj.CRS) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(crs, _LONLAT_CRS, always_xy=True)


def _tm_false_easting(crs: pyproj.CRS) -> float | None:
    """False easting of a transverse Mercator CRS, else None."""
    op = crs.coordinate_operation
    if op is None or "transverse mercator" not in (op.method_name or "").lower():
        return None
    for p in op.params:
        if p.name.lower() == "false easting":
            return float(p.value)
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


def _intersects(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] <= b[2] and a[2] >= b[0] and a[1] <= b[3] and a[3] >= b[1]


def _within(a: Sequence[float], b: Sequence[float]) -> bool:
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
        out = transformer.transform_bounds(*(float(v) for v in b), densify_pts=21)
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
            f"{fname}: the input is in {_crs_label(crs)}, but GCJ-02 conversion works on "
            f"lon/lat degrees declared as EPSG:4326 or EPSG:4490; reproject with "
            f".to_crs(4490) first"
        )


def _geom_array(gdf: GeoObject) -> npt.NDArray[np.object_]:
    return np.asarray(gdf.geometry.values, dtype=object)


def _replace_geometry(gdf: GeoObject, geoms: npt.NDArray[np.object_], epsg: int) -> GeoObject:
    if isinstance(gdf, gpd.GeoSeries):
        return gpd.GeoSeries(geoms, index=gdf.index, crs=epsg, name=gdf.name)
    col = gdf.geometry.name
    out = gdf.copy()
    out[col] = gpd.GeoSeries(geoms, index=gdf.index, crs=epsg)
    return out.set_geometry(col).set_crs(epsg, allow_override=True)
