"""Coordinate systems per row (WGS84, CGCS2000, GCJ-02, BD-09) and their conversion to CGCS2000.

A coordinate-system column (``坐标系``, ``crs``, …) says each row's system;
:func:`convert_coordinate_systems` converts the GCJ-02 and BD-09 rows and marks
the rows it cannot read; :func:`apply_gcj02` converts a whole batch said to be
GCJ-02.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from ..crs import bd09_to_cgcs2000_geometry, from_gcj02, gcj02_to_cgcs2000_geometry
from ..errors import SiteInputError
from ._rows import (
    ERROR_COLUMN,
    ERROR_ZH_COLUMN,
    NOTE_COLUMN,
    RowLog,
    column_key,
    find_column,
    with_log,
)

__all__ = ["COORDINATE_SYSTEMS", "apply_gcj02", "convert_coordinate_systems",
           "coordinate_system_column", "unconverted_systems"]


COORDINATE_SYSTEMS: dict[str, tuple[str, ...]] = {
    "WGS84": ("wgs84", "wgs1984", "gps", "4326", "epsg4326"),
    "CGCS2000": ("cgcs2000", "2000", "国家2000", "2000国家", "cgcs", "4490", "epsg4490"),
    "GCJ-02": ("gcj02", "gcj", "高德", "腾讯", "火星", "国测局", "amap", "gaode", "tencent"),
    "BD-09": ("bd09", "bd09ll", "百度", "baidu"),
}
"""Values accepted in a coordinate-system column (compared ignoring case, spaces, ``-`` and
``_``, and a trailing 坐标系 / 坐标 / 地图), by the system they name."""

_SYSTEM_OF = {alias: name for name, aliases in COORDINATE_SYSTEMS.items() for alias in aliases}
_ACCEPTED = "WGS84 (GPS), CGCS2000 (2000, 国家2000), GCJ-02 (高德, 腾讯, 火星), BD-09 (百度)"

_SYSTEM_COLUMNS = ("坐标系", "坐标系统", "坐标类型", "坐标体系", "crs", "coordsys",
                   "coordsystem", "coordinatesystem", "srs")


def coordinate_system_column(columns: Sequence[object]) -> str | None:
    """The column giving each row's coordinate system (``坐标系``, ``crs``, …), if any.

    Examples
    --------
    >>> coordinate_system_column(["编号", "经度", "纬度", "坐标系"])
    '坐标系'
    >>> coordinate_system_column(["id", "coord_sys"]), coordinate_system_column(["id"])
    ('coord_sys', None)
    """
    return find_column([c for c in columns if not str(c).startswith("_geoplan")], _SYSTEM_COLUMNS)


def _system_name(value: object) -> str | None:
    """The canonical system a cell names, ``""`` for an empty cell, None when unknown."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, int | float | np.integer | np.floating) and float(value).is_integer():
        value = str(int(value))
    k = column_key(value)
    if not k:
        return ""
    for suffix in ("坐标系统", "坐标系", "坐标", "地图", "大地"):
        if k.endswith(suffix) and len(k) > len(suffix):
            k = k[: -len(suffix)]
    return _SYSTEM_OF.get(k)


_AS_DECLARED = "as declared"


def _systems(values: np.ndarray, crs: Any) -> np.ndarray:
    """:func:`_system_name` of each cell, each distinct value looked at once.

    A value naming the sites' own CRS (``EPSG:4536`` beside X/Y in EPSG:4536)
    is "as declared".
    """
    codes, uniq = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    names = np.array([_system_name(u) for u in uniq], dtype=object)
    if crs is not None:
        own = CRS.from_user_input(crs)
        for j in np.flatnonzero(pd.isna(names)):
            try:
                if CRS.from_user_input(str(uniq[int(j)]).strip()).equals(own):
                    names[j] = _AS_DECLARED
            except Exception:
                continue
    return names[codes] if len(codes) else np.array([], dtype=object)


def _is_lonlat(crs: Any) -> bool:
    if crs is None:
        return False
    c = CRS.from_user_input(crs)
    return c.is_geographic and (c.to_epsg() in (4326, 4490) or c.equals(CRS("OGC:CRS84")))


def convert_systems(gdf: gpd.GeoDataFrame, log: RowLog, *, source: str,
                     notes: list[str]) -> None:
    """Convert each row from the system its coordinate-system cell names (in place)."""
    col = coordinate_system_column(list(gdf.columns))
    if col is None:
        return
    raw = gdf[col].to_numpy(dtype=object)
    system = _systems(raw, gdf.crs)
    if (system == "").all():
        notes.append(f"column {col} is empty in every row and was ignored (say each row's "
                     "coordinate system there, or leave it out) · 坐标系列全部为空，已忽略")
        return
    geoms = np.asarray(gdf.geometry.to_numpy(), dtype=object)
    usable = log.en == ""
    lonlat = _is_lonlat(gdf.crs)
    for i in np.flatnonzero(usable & (system == "")):
        en_w, zh_w = log.where(int(i))
        log.error(int(i), f"{col} is empty ({en_w}); say which coordinate system the row is "
                  f"in: {_ACCEPTED}",
                  f"{zh_w}{col}为空，请注明该行坐标系：WGS84、CGCS2000、GCJ-02（高德）或 BD-09（百度）")
    for i in np.flatnonzero(usable & pd.isna(system)):
        en_w, zh_w = log.where(int(i))
        log.error(int(i), f"unknown coordinate system {col} {str(raw[i])!r} ({en_w}); use one "
                  f"of: {_ACCEPTED}",
                  f"{zh_w}{col} {str(raw[i])!r} 无法识别，请填写 WGS84、CGCS2000、GCJ-02（高德）"
                  "或 BD-09（百度）")
    for name, convert in (("GCJ-02", gcj02_to_cgcs2000_geometry),
                          ("BD-09", bd09_to_cgcs2000_geometry)):
        rows = np.flatnonzero(usable & (system == name))
        if not len(rows):
            continue
        if not lonlat:
            for i in rows:
                en_w, zh_w = log.where(int(i))
                log.error(int(i), f"{col} says {name} ({en_w}), but the coordinates are "
                          f"projected ({CRS.from_user_input(gdf.crs).to_string()}); {name} "
                          "coordinates are longitude/latitude degrees: give them as 经度/纬度",
                          f"{zh_w}{col}为 {name}，但坐标为投影坐标；{name} 坐标应为经纬度，"
                          "请以经度/纬度列给出")
            continue
        geoms[rows] = convert(geoms[rows])
        for i in rows:
            log.add_note(int(i), f"converted from {name} ({col} {str(raw[i])!r}) to CGCS2000")
    gdf[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    counts = {k: int((system == k).sum()) for k in (*COORDINATE_SYSTEMS, _AS_DECLARED)
              if (system == k).any()}
    notes.append(f"coordinate systems per row from column {col}: "
                 + ", ".join(f"{k} {v}" for k, v in counts.items())
                 + " · 逐行坐标系取自该列，GCJ-02/BD-09 已转换为 CGCS2000")


def convert_coordinate_systems(
    sites: gpd.GeoDataFrame, *, source: str = "(GeoDataFrame)", first_row: int = 1
) -> gpd.GeoDataFrame:
    """Convert each row from the coordinate system named in its coordinate-system column.

    The column is the first of ``坐标系``, ``坐标系统``, ``坐标类型``, ``crs``,
    ``coord_sys``, … present (see :func:`coordinate_system_column`); its
    values are matched against :data:`COORDINATE_SYSTEMS` (WGS84 / GPS,
    CGCS2000 / 2000 / 国家2000, GCJ-02 / 高德 / 腾讯 / 火星, BD-09 / 百度).
    GCJ-02 and BD-09 rows are converted to CGCS2000 (WGS84 and CGCS2000 rows
    are left as they are: they differ by centimetres). A row whose cell is
    empty or unknown, or names GCJ-02/BD-09 while the sites are in a
    projected CRS, is marked unusable (``error`` once checked) with a message
    naming the row, the value and the accepted values. :func:`read_sites`
    calls this; call it yourself for a GeoDataFrame built another way.

    Parameters
    ----------
    sites
        Sites in lon/lat (EPSG:4490 or 4326) or a projected CRS.
    source
        What to call the sites in messages.
    first_row
        The row number of the first site in messages (for a chunk of a larger batch).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy, same rows and index, with the per-row messages in
        :data:`SITE_COLUMNS` and the batch notes in ``attrs["notes"]``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> from geoplan.crs import wgs84_to_bd09
    >>> g = gpd.GeoDataFrame({"坐标系": ["WGS84", "百度"]},
    ...                      geometry=[Point(81.3, 43.92), Point(wgs84_to_bd09(81.3, 43.92))],
    ...                      crs=4490)
    >>> out = convert_coordinate_systems(g)
    >>> [(round(p.x, 6), round(p.y, 6)) for p in out.geometry]
    [(81.3, 43.92), (81.3, 43.92)]
    """
    out = sites.copy()
    notes: list[str] = list(sites.attrs.get("notes", []))
    log = RowLog(len(out), row_numbers=np.arange(first_row, first_row + len(out)))
    if ERROR_COLUMN in out.columns:
        log.en = out[ERROR_COLUMN].fillna("").to_numpy(dtype=object)
        log.zh = out[ERROR_ZH_COLUMN].fillna("").to_numpy(dtype=object)
        log.note = out[NOTE_COLUMN].fillna("").to_numpy(dtype=object)
    convert_systems(out, log, source=source, notes=notes)
    out = with_log(out, log)
    out.attrs["notes"] = notes
    return out


def unconverted_systems(sites: gpd.GeoDataFrame) -> np.ndarray:
    """Rows whose coordinate-system column was never applied and does not say WGS84/CGCS2000.

    Used by :func:`geoplan.engine.prepare_sites` on sites that did not come
    through :func:`read_sites` or :func:`convert_coordinate_systems`: such rows
    are unusable rather than checked where they are not.
    """
    n = len(sites)
    col = coordinate_system_column(list(sites.columns))
    if col is None or ERROR_COLUMN in sites.columns:
        return np.zeros(n, dtype=bool)
    system = _systems(sites[col].to_numpy(dtype=object), sites.crs)
    if (system == "").all():
        return np.zeros(n, dtype=bool)
    return ~np.isin(system, ["WGS84", "CGCS2000", _AS_DECLARED])


def apply_gcj02(gdf: gpd.GeoDataFrame, *, source: str) -> gpd.GeoDataFrame:
    """Convert every site from GCJ-02 (the batch-wide ``gcj02=True``).

    Refused when a coordinate-system column already says each row's system.
    """
    col = coordinate_system_column(list(gdf.columns))
    if col is not None and gdf[col].map(_system_name).ne("").any():
        raise SiteInputError(
            f"{source}: column {col!r} gives each row's coordinate system, and --gcj02 (gcj02="
            f"True) says every row is GCJ-02; use one of them: leave out --gcj02 (rows marked "
            f"GCJ-02 / 高德 are converted), or remove the column"
        )
    notes = gdf.attrs.get("notes", [])
    out = from_gcj02(gdf)
    out.attrs["notes"] = notes
    return out
