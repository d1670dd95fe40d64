"""Data without a CRS (a Shapefile without ``.prj``): what its coordinates say about it.

:func:`propose_crs` reads the magnitude of the coordinates (degrees, Gauss-Kruger
metres with or without a zone number, a local grid, swapped axes) and proposes
an EPSG code, or the candidates, with the evidence in English and Chinese.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyproj

from ._common import (
    CGCS2000_EPSG,
    GK3_FIRST_CM,
    GK3_FIRST_EPSG,
    GK3_LAST_CM,
    GK3_ZONE_FIRST_EPSG,
    GK3_ZONES,
    GK6_CM_FIRST_EPSG,
    GK6_ZONE_FIRST_EPSG,
    GK6_ZONES,
    BoundsLike,
    to_lonlat,
)
from .axis_order import CHINA_BOUNDS_LONLAT

__all__ = ["EASTING_RANGE_M", "NORTHING_RANGE_M", "CRSProposal", "propose_crs"]


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
    if GK3_ZONES[0] <= zone <= GK3_ZONES[1] and abs(rem) <= _ZONE_HALF_WINDOW_M[3]:
        return (3, zone)
    if GK6_ZONES[0] <= zone <= GK6_ZONES[1] and abs(rem) <= _ZONE_HALF_WINDOW_M[6]:
        return (6, zone)
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
            epsg, cm = GK3_ZONE_FIRST_EPSG + zone - GK3_ZONES[0], 3 * zone
        else:
            epsg, cm = GK6_ZONE_FIRST_EPSG + zone - GK6_ZONES[0], 6 * zone - 3
        lon, lat = to_lonlat(pyproj.CRS.from_epsg(epsg)).transform(cx, cy)
        reason = (f"the eastings begin with the zone number {zone} ({cx:,.0f} m): CGCS2000 "
                  f"{width}° Gauss-Kruger zone {zone}, central meridian {cm}°E, which puts the "
                  f"data at {lon:.2f}°E, {lat:.2f}°N")
        zh = (f"东坐标带有带号 {zone}（{cx:,.0f} 米）：CGCS2000 {width}度带第 {zone} 带，"
              f"中央经线 {cm}°E，数据位于东经 {lon:.2f}°、北纬 {lat:.2f}°")
        if known_lon is not None and math.isfinite(known_lon) and abs(lon - known_lon) > 3.0:
            reason += f"; but {src} lie at {known_lon:.2f}°E: check that they belong together"
            zh += f"；但其他图层位于东经 {known_lon:.2f}°，请核对"
        return CRSProposal(epsg, reason + _SAME_NUMBERS_EN, zh + _SAME_NUMBERS_ZH)
    lon81, lat = to_lonlat(pyproj.CRS.from_epsg(4536)).transform(cx, cy)
    dlon = lon81 - 81.0  # the same offset from any central meridian
    candidates = tuple(range(GK3_FIRST_EPSG, GK3_FIRST_EPSG + 21))
    base = (f"the eastings carry no zone number ({cx:,.0f} m, {dlon:+.2f}° of longitude from "
            f"the central meridian, at {lat:.2f}°N)")
    base_zh = f"东坐标不带带号（{cx:,.0f} 米，距中央经线 {dlon:+.2f}°，北纬 {lat:.2f}°）"
    if known_lon is not None and math.isfinite(known_lon):
        cm = min(range(GK3_FIRST_CM, GK3_LAST_CM + 1, 3),
                 key=lambda c: abs(c + dlon - known_lon))
        at = cm + dlon
        epsg = GK3_FIRST_EPSG + (cm - GK3_FIRST_CM) // 3
        if abs(at - known_lon) <= _EVIDENCE_TOLERANCE_DEG:
            same = (f" (the same projection as the 6° EPSG:{GK6_CM_FIRST_EPSG + (cm - 75) // 6})"
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
