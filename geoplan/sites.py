"""Reading and preparing a batch of sites (proposed houses, roads, projects).

Sites come from any vector file, or a table of coordinates: a CSV or an Excel
workbook (``.xlsx``, ``.xls``, ``.xlsm``, ``.xlsb``, ``.ods``, read with
python-calamine). A table names its coordinate columns in Chinese or English:

* ``经度``/``纬度`` (``lon``/``lng``/``longitude``, ``lat``/``latitude``):
  degrees, CGCS2000 / WGS84 unless said otherwise;
* ``easting``/``northing`` (``东坐标``/``北坐标``): metres, with ``crs=``;
* ``X``/``Y``, ``X坐标``/``Y坐标``, ``纵坐标``/``横坐标``: metres, with ``crs=``.
  Chinese surveying writes X for the northing and Y for the easting, GIS
  software the reverse; which is which is decided from the magnitudes (which
  order falls inside the CRS's area of use), falling back on the name
  (``纵坐标``/``X坐标`` = northing, a bare ``x`` = easting), and the decision is
  reported in the batch notes.

A value may be decimal degrees, degrees-minutes-seconds (``81°19′30.5″``,
``81°19'30.5"E``, ``81 19 30.5``, ``东经81度19分30.5秒``), with full-width
characters (``８１．３``) or a decimal comma (``81,325``), see
:func:`parse_coordinate`. A value that cannot be read makes that site
``error`` ("cannot read 经度 'abc' (row 7)"); the other rows are still checked.

Coordinates digitised on an Amap/Tencent base map are GCJ-02, on Baidu maps
BD-09: geoplan cannot tell them from WGS84 by looking at them, only the planner
knows where they were digitised. Say so for the whole batch (``gcj02=True``) or
per row in a coordinate-system column (``坐标系``, ``坐标系统``, ``crs``,
``coord_sys``) holding WGS84 / GCJ-02 / BD-09 / CGCS2000, see
:func:`convert_coordinate_systems`.
"""

from __future__ import annotations

import io
import os
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from .crs import (
    bd09_to_cgcs2000_geometry,
    from_gcj02,
    gcj02_to_cgcs2000_geometry,
    require_cgcs2000_datum,
    resolve_crs,
)
from .errors import CRSError, SiteInputError
from .io import read_vector

__all__ = [
    "COORDINATE_SYSTEMS",
    "EXCEL_SUFFIXES",
    "ID_CANDIDATES",
    "SITE_COLUMNS",
    "apply_gcj02",
    "convert_coordinate_systems",
    "coordinate_system_column",
    "parse_coordinate",
    "read_sites",
    "unconverted_systems",
]

ID_CANDIDATES = ("site_id", "house_id", "road_id", "project_id", "id", "编号", "bh", "BH")
"""Fields tried, in order, as the site id when none is named (the first with unique values)."""

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
"""Workbook files read as tables of coordinates (with python-calamine)."""

ERROR_COLUMN = "_geoplan_error"
ERROR_ZH_COLUMN = "_geoplan_error_zh"
NOTE_COLUMN = "_geoplan_note"
SITE_COLUMNS = (ERROR_COLUMN, ERROR_ZH_COLUMN, NOTE_COLUMN)
"""Columns :func:`read_sites` adds: per row, why the site cannot be used (en, zh) and what
was done to it (e.g. a conversion from BD-09). :func:`geoplan.engine.prepare_sites` takes
them out again; they never reach an output."""

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

# Column names, compared by _key (lower case, no spaces/brackets/punctuation).
_LON = ("经度", "lon", "lng", "long", "longitude", "东经", "经度坐标")
_LAT = ("纬度", "lat", "latitude", "北纬", "纬度坐标")
_EAST = ("easting", "东坐标")
_NORTH = ("northing", "北坐标")
_SURVEY_X = ("纵坐标", "x坐标", "坐标x")   # Chinese surveying: X is the northing
_SURVEY_Y = ("横坐标", "y坐标", "坐标y")
_GIS_X = ("x", "xcoord", "coordx", "pointx")  # GIS software: x is the easting
_GIS_Y = ("y", "ycoord", "coordy", "pointy")
_SYSTEM_COLUMNS = ("坐标系", "坐标系统", "坐标类型", "坐标体系", "crs", "coordsys",
                   "coordsystem", "coordinatesystem", "srs")


# --------------------------------------------------------------------------- coordinates


_DEG_SIGNS = str.maketrans({"º": "°", "˚": "°", "度": "°", "分": "'", "秒": '"', "′": "'",
                            "’": "'", "‘": "'", "´": "'", "`": "'", "″": '"', "“": '"',
                            "”": '"', "−": "-", "–": "-", "—": "-"})
_HEMI = (("东经", "E"), ("北纬", "N"), ("西经", "W"), ("南纬", "S"), ("东", "E"), ("北", "N"),
         ("西", "W"), ("南", "S"))
_NUM = r"\d+(?:\.\d*)?|\.\d+"
_DMS_RE = re.compile(
    rf"^(?P<d>{_NUM})\s*(?:°\s*|:\s*|\s+)"
    rf"(?:(?P<m>{_NUM})\s*(?:'\s*|:\s*|\s+)?"
    rf"(?:(?P<s>{_NUM})\s*\"?)?)?$"
)
_DEG_RE = re.compile(rf"^(?P<d>{_NUM})\s*°?$")
_THOUSANDS_RE = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d*)?$")
_DECIMAL_COMMA_RE = re.compile(r"^\d+,\d+$")


def parse_coordinate(value: object, *, axis: Literal["lon", "lat"] | None = None) -> float:
    """Read one coordinate as a table cell holds it.

    Accepted: numbers; decimal text with a decimal point or a decimal comma
    (``81,325``; several commas, or commas and a point, are thousands
    separators: ``4,865,000.5``); degrees-minutes-seconds with ``° ′ ″``,
    ``° ' "``, ``度 分 秒``, colons or spaces (``81 19 30.5``), decimal minutes
    (``81°19.5′``); a hemisphere letter or word before or after (``E``/``N``/
    ``W``/``S``, ``东经``/``北纬``; west and south are negative); full-width
    digits and punctuation (``８１．３``).

    Parameters
    ----------
    value
        The cell: a number or text.
    axis
        ``"lon"`` or ``"lat"``: refuse a hemisphere of the other axis (a
        latitude in the longitude column).

    Returns
    -------
    float
        Degrees (or the number as given, for metres).

    Raises
    ------
    ValueError
        With the reason, when the value is not finite or cannot be read;
        ``"empty"`` for None, NaN (a blank cell as pandas reads it) and blank
        text.

    Examples
    --------
    >>> parse_coordinate("81°19′30.5″")
    81.32513888888889
    >>> parse_coordinate("东经81度19分30.5秒") == parse_coordinate("81 19 30.5") == 81 + 19 / 60 + 30.5 / 3600
    True
    >>> parse_coordinate("８１．３"), parse_coordinate("81,325"), parse_coordinate("43.5S")
    (81.3, 81.325, -43.5)
    """
    if isinstance(value, bool):
        raise ValueError("a yes/no value, not a coordinate")
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        raise ValueError("empty")  # a blank cell, as pandas reads it
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        if not np.isfinite(v):
            raise ValueError("not a finite number")
        return v
    if isinstance(value, str) and not value.strip():
        raise ValueError("empty")
    if not isinstance(value, str):
        raise ValueError(f"a {type(value).__name__}, not a number")
    s = unicodedata.normalize("NFKC", value.translate(_DEG_SIGNS)).translate(_DEG_SIGNS)
    s = s.replace("''", '"').strip()
    hemi = ""
    for word, letter in _HEMI:
        if s.startswith(word) or s.endswith(word):
            hemi, s = letter, (s[len(word):] if s.startswith(word) else s[: -len(word)])
            break
    else:  # a letter next to the number (not the n of "nan")
        if len(s) > 1 and s[0].upper() in "ENWS" and (s[1].isdigit() or s[1] in " +-."):
            hemi, s = s[0].upper(), s[1:]
        elif len(s) > 1 and s[-1].upper() in "ENWS" and (s[-2].isdigit() or s[-2] in " °'\"."):
            hemi, s = s[-1].upper(), s[:-1]
    s = s.strip()
    sign = 1.0
    if s and s[0] in "+-":
        sign, s = (-1.0 if s[0] == "-" else 1.0), s[1:].strip()
    if not s:
        raise ValueError("no number")
    if hemi:
        if axis == "lon" and hemi in "NS":
            raise ValueError(f"a latitude ({hemi}) in the longitude column")
        if axis == "lat" and hemi in "EW":
            raise ValueError(f"a longitude ({hemi}) in the latitude column")
        if hemi in "WS":
            sign = -1.0  # "-43.5S" is south too
    if _THOUSANDS_RE.match(s) and (s.count(",") > 1 or "." in s):
        s = s.replace(",", "")
    elif _DECIMAL_COMMA_RE.match(s):
        s = s.replace(",", ".")
    m = _DEG_RE.match(s)
    if m:
        return sign * float(m["d"])
    m = _DMS_RE.match(s.replace(",", "."))
    if m is None:
        try:
            v = float(s)  # 4.865e6, inf, nan
        except ValueError:
            raise ValueError("not a number, nor degrees-minutes-seconds such as "
                             "81°19′30.5″") from None
        if not np.isfinite(v):
            raise ValueError("not a finite number") from None
        return sign * v
    d, mi, se = m["d"], m["m"], m["s"]
    if mi is not None and "." in d:
        raise ValueError("decimal degrees followed by minutes")
    if se is not None and mi is not None and "." in mi:
        raise ValueError("decimal minutes followed by seconds")
    minutes = float(mi) if mi is not None else 0.0
    seconds = float(se) if se is not None else 0.0
    if minutes >= 60 or seconds >= 60:
        raise ValueError("minutes and seconds must be below 60")
    return sign * (float(d) + minutes / 60 + seconds / 3600)


def _key(name: object) -> str:
    """A column name or cell value as compared: NFKC, lower case, no brackets or separators."""
    s = unicodedata.normalize("NFKC", str(name)).strip().lower()
    s = re.sub(r"[\(\[【（].*?[\)\]】）]", "", s)
    return re.sub(r"[\s_\-./:：·]", "", s)


def _find(columns: Sequence[object], names: tuple[str, ...]) -> str | None:
    keys = {}
    for c in columns:
        keys.setdefault(_key(c), c)
    for n in names:
        if n in keys:
            return str(keys[n])
    return None


_Kind = Literal["lonlat", "en", "survey", "gis"]


def _coordinate_columns(columns: Sequence[object]) -> tuple[_Kind, str, str] | None:
    """(kind, first column, second column): lon/lat, easting/northing, survey X/Y or GIS x/y.

    For ``survey`` the first column is X (by name the northing); for ``gis`` x
    (by name the easting).
    """
    for kind, a, b in (("lonlat", _LON, _LAT), ("en", _EAST, _NORTH),
                       ("survey", _SURVEY_X, _SURVEY_Y), ("gis", _GIS_X, _GIS_Y)):
        ca, cb = _find(columns, a), _find(columns, b)
        if ca and cb:
            return kind, ca, cb  # type: ignore[return-value]
    return None


def coordinate_system_column(columns: Sequence[object]) -> str | None:
    """The column giving each row's coordinate system (``坐标系``, ``crs``, …), if any.

    Examples
    --------
    >>> coordinate_system_column(["编号", "经度", "纬度", "坐标系"])
    '坐标系'
    >>> coordinate_system_column(["id", "coord_sys"]), coordinate_system_column(["id"])
    ('coord_sys', None)
    """
    return _find([c for c in columns if not str(c).startswith("_geoplan")], _SYSTEM_COLUMNS)


def _system_name(value: object) -> str | None:
    """The canonical system a cell names, ``""`` for an empty cell, None when unknown."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, int | float | np.integer | np.floating) and float(value).is_integer():
        value = str(int(value))
    k = _key(value)
    if not k:
        return ""
    for suffix in ("坐标系统", "坐标系", "坐标", "地图", "大地"):
        if k.endswith(suffix) and len(k) > len(suffix):
            k = k[: -len(suffix)]
    return _SYSTEM_OF.get(k)


_AS_DECLARED = "as declared"


def _systems(values: np.ndarray, crs: Any) -> np.ndarray:
    """:func:`_system_name` of each cell (each distinct value looked at once); a value
    naming the sites' own CRS (``EPSG:4536`` beside X/Y in EPSG:4536) is "as declared"."""
    codes, uniq = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    names = np.array([_system_name(u) for u in uniq], dtype=object)
    if crs is not None:
        own = CRS.from_user_input(crs)
        for j in np.flatnonzero(pd.isna(names)):
            try:
                if CRS.from_user_input(str(uniq[j]).strip()).equals(own):
                    names[j] = _AS_DECLARED
            except Exception:
                continue
    return names[codes] if len(codes) else np.array([], dtype=object)


class _RowLog:
    """Per-row errors (en, zh) and notes of one batch, with how rows are named."""

    def __init__(self, n: int, sheet_rows: np.ndarray | None = None,
                 row_numbers: np.ndarray | None = None) -> None:
        self.en = np.full(n, "", dtype=object)
        self.zh = np.full(n, "", dtype=object)
        self.note = np.full(n, "", dtype=object)
        self.sheet_rows = sheet_rows
        self.rows = row_numbers if row_numbers is not None else np.arange(1, n + 1)

    def where(self, i: int) -> tuple[str, str]:
        r = int(self.rows[i])
        if self.sheet_rows is not None:
            s = int(self.sheet_rows[i])
            return f"row {r}; Excel row {s}", f"第 {r} 行（Excel 第 {s} 行）"
        return f"row {r}", f"第 {r} 行"

    def error(self, i: int, en: str, zh: str) -> None:
        self.en[i] = f"{self.en[i]}; {en}" if self.en[i] else en
        self.zh[i] = f"{self.zh[i]}；{zh}" if self.zh[i] else zh

    def add_note(self, i: int, text: str) -> None:
        self.note[i] = f"{self.note[i]}; {text}" if self.note[i] else text


def _parse_column(values: np.ndarray, col: str, axis: Literal["lon", "lat"] | None,
                  log: _RowLog) -> np.ndarray:
    """The column's coordinates as floats (NaN where unreadable, each such row logged)."""
    num = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    out = np.where(np.isfinite(num), num, np.nan)
    for i in np.flatnonzero(~np.isfinite(num)):
        v = values[i]
        try:
            out[i] = parse_coordinate(v, axis=axis)
        except ValueError as exc:
            en_w, zh_w = log.where(int(i))
            if str(exc) == "empty":
                log.error(int(i), f"{col} is empty ({en_w}): the site has no coordinates; fill "
                          "in the cell",
                          f"{zh_w}{col}为空：该选址没有坐标，请填写")
            else:
                shown = str(v) if len(str(v)) <= 40 else str(v)[:40] + "…"
                log.error(int(i), f"cannot read {col} {shown!r} ({en_w}): {exc}; correct the "
                          "cell",
                          f"无法读取{zh_w}的{col} {shown!r}：{_zh_reason(str(exc))}，请更正该单元格")
            out[i] = np.nan
    return out


def _zh_reason(en: str) -> str:
    if en.startswith("not a finite"):
        return "不是有限数值"
    if en.startswith("a latitude"):
        return "经度列中是纬度（N/S）"
    if en.startswith("a longitude"):
        return "纬度列中是经度（E/W）"
    if en.startswith("minutes"):
        return "分、秒须小于 60"
    return "既不是数字，也不是度分秒（如 81°19′30.5″）"


def _easting_first(a: np.ndarray, b: np.ndarray, crs: CRS) -> bool | None:
    """True when ``a`` holds the eastings (``b`` the northings), False for the reverse,
    None when the magnitudes do not tell (judged against the CRS's area of use)."""
    aou = crs.area_of_use
    ok = np.isfinite(a) & np.isfinite(b)
    if aou is None or not ok.any():
        return None
    to_ll = Transformer.from_crs(crs, CRS.from_epsg(4326), always_xy=True)
    w, s, e, n = aou.west - 1, aou.south - 1, aou.east + 1, aou.north + 1
    counts = []
    for x, y in ((a[ok], b[ok]), (b[ok], a[ok])):
        with np.errstate(all="ignore"):
            lon, lat = to_ll.transform(x, y, errcheck=False)
        lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
        counts.append(int((np.isfinite(lon) & (lon >= w) & (lon <= e) & (lat >= s)
                           & (lat <= n)).sum()))
    if counts[0] == counts[1]:
        return None
    return counts[0] > counts[1]


def _fmt(v: float) -> str:
    return f"{v:,.0f}"


def _table_sites(df: pd.DataFrame, *, source: str, crs: str | int | CRS | None,
                 sheet_rows: np.ndarray | None, notes: list[str],
                 where: str = "", hint: str = "") -> gpd.GeoDataFrame:
    """Point sites from a table of coordinates (CSV or a sheet), every row kept."""
    cols = [str(c) for c in df.columns]
    picked = _coordinate_columns(cols)
    if picked is None:
        raise SiteInputError(
            f"{source}{where}: no coordinate columns; name them 经度/纬度 (lon/lat) for degrees, "
            "or X/Y (X坐标/Y坐标, easting/northing) with --crs for projected coordinates "
            f"(columns present: {', '.join(cols) or 'none'}){hint}"
        )
    kind, ca, cb = picked
    n = len(df)
    log = _RowLog(n, sheet_rows)
    va = df[ca].to_numpy(dtype=object)
    vb = df[cb].to_numpy(dtype=object)
    if kind == "lonlat":
        x = _parse_column(va, ca, "lon", log)
        y = _parse_column(vb, cb, "lat", log)
        use_crs = resolve_crs(crs) if crs is not None else CRS.from_epsg(4490)
    else:
        a = _parse_column(va, ca, None, log)
        b = _parse_column(vb, cb, None, log)
        if crs is None:
            raise CRSError(f"{source}{where}: columns {ca}/{cb} hold projected coordinates; say "
                           "which CRS they are in (--crs EPSG:4536, or crs= in Python)")
        use_crs = resolve_crs(crs)
        if kind == "en":
            x, y = a, b
        else:
            named_east_first = kind == "gis"
            decided = _easting_first(a, b, use_crs)
            east_first = named_east_first if decided is None else decided
            x, y = (a, b) if east_first else (b, a)
            east, north = (ca, cb) if east_first else (cb, ca)
            ok = np.isfinite(x) & np.isfinite(y)
            mag = (f" (northings about {_fmt(float(np.nanmedian(y[ok])))}, eastings about "
                   f"{_fmt(float(np.nanmedian(x[ok])))})") if ok.any() else ""
            how = ("from their magnitudes in " + use_crs.to_string() if decided is not None
                   else "from the column names (their magnitudes do not tell; check that the "
                   "sites fall where expected)")
            order = ("survey order (X = northing, Y = easting)" if not east_first
                     else "GIS order (x = easting, y = northing)")
            notes.append(f"{ca}/{cb} read in {order}: {north} is the northing and {east} the "
                         f"easting{mag}, decided {how} · {ca}/{cb} 按"
                         f"{'测量坐标顺序（X 为北坐标、Y 为东坐标）' if not east_first else 'GIS 顺序（x 为东坐标）'}读取")
    bad = ~(np.isfinite(x) & np.isfinite(y))
    geoms = np.asarray(gpd.points_from_xy(np.where(bad, 0.0, x), np.where(bad, 0.0, y)),
                       dtype=object)
    geoms[bad] = shapely.Point()
    gdf = gpd.GeoDataFrame(df.reset_index(drop=True), geometry=list(geoms), crs=use_crs)
    _convert_systems(gdf, log, source=source + where, notes=notes)
    return _with_log(gdf, log, empty_errors=True)


def _with_log(gdf: gpd.GeoDataFrame, log: _RowLog, *,
              empty_errors: bool = False) -> gpd.GeoDataFrame:
    """Attach the per-row messages; ``empty_errors``: rows in error get an empty point (a
    table row whose position is not known is not drawn anywhere)."""
    if empty_errors and (log.en != "").any():
        geoms = np.asarray(gdf.geometry.to_numpy(), dtype=object)
        geoms[log.en != ""] = shapely.Point()
        gdf[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    gdf[ERROR_COLUMN] = log.en
    gdf[ERROR_ZH_COLUMN] = log.zh
    gdf[NOTE_COLUMN] = log.note
    return gdf


def _is_lonlat(crs: Any) -> bool:
    if crs is None:
        return False
    c = CRS.from_user_input(crs)
    return c.is_geographic and (c.to_epsg() in (4326, 4490) or c.equals(CRS("OGC:CRS84")))


def _convert_systems(gdf: gpd.GeoDataFrame, log: _RowLog, *, source: str,
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
    log = _RowLog(len(out), row_numbers=np.arange(first_row, first_row + len(out)))
    if ERROR_COLUMN in out.columns:
        log.en = out[ERROR_COLUMN].fillna("").to_numpy(dtype=object)
        log.zh = out[ERROR_ZH_COLUMN].fillna("").to_numpy(dtype=object)
        log.note = out[NOTE_COLUMN].fillna("").to_numpy(dtype=object)
    _convert_systems(out, log, source=source, notes=notes)
    out = _with_log(out, log)
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


# --------------------------------------------------------------------------- tables


def _decode_csv(path: Path, encoding: str | None) -> str:
    raw = path.read_bytes()
    if encoding:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise SiteInputError(f"{path}: cannot be decoded as {encoding} ({exc})") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    lines = raw.split(b"\n")
    utf8_rows, other_rows = [], []
    for i, line in enumerate(lines, start=1):
        if all(b < 0x80 for b in line):
            continue
        try:
            line.decode("utf-8")
            utf8_rows.append(i)
        except UnicodeDecodeError:
            other_rows.append(i)
    if utf8_rows and other_rows:
        raise SiteInputError(
            f"{path}: mixed text encodings — line(s) {', '.join(map(str, utf8_rows[:5]))} are "
            f"UTF-8 but line(s) {', '.join(map(str, other_rows[:5]))} are not (GBK?); the file "
            "was assembled from several sources. Re-save it in one encoding (UTF-8) and check "
            "those lines"
        )
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise SiteInputError(f"{path}: text is neither UTF-8 nor GBK/GB18030 ({exc}); save it as "
                             "UTF-8, or pass encoding=") from exc


def _read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    text = _decode_csv(path, encoding)
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    # a semicolon or tab separated file (often the one with decimal commas)
    sep = max((",", ";", "\t", "|"), key=lambda c: (header.count(c), c == ","))
    try:
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""],
                           sep=sep)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SiteInputError(f"{path}: cannot be read as CSV ({exc})") from exc


def _read_excel(path: Path, sheet: str | int | None,
                notes: list[str]) -> tuple[pd.DataFrame, np.ndarray, str, list[str]]:
    """One sheet as a table: (frame, Excel row number of each row, ``" sheet 'name'"``,
    the workbook's sheet names)."""
    try:
        from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum
    except ImportError as exc:  # pragma: no cover - a dependency
        raise SiteInputError(f"{path}: reading Excel files needs python-calamine "
                             "(pip install python-calamine)") from exc
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if magic[:4] != b"PK\x03\x04" and magic != b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise SiteInputError(f"{path}: is not an Excel workbook, though it is named "
                             f"{path.suffix} (a web export of text or HTML?); open it in Excel "
                             "and save it as .xlsx, or save it as CSV (UTF-8)")
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:
        raise SiteInputError(f"{path}: cannot be read as an Excel workbook ({exc}); is it "
                             "damaged or password-protected? Re-save it in Excel, or save the "
                             "sheet as CSV (UTF-8)") from exc
    meta = [m for m in wb.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
    names = [m.name for m in meta]
    visible = [m.name for m in meta if m.visible == SheetVisibleEnum.Visible] or names
    if not names:
        raise SiteInputError(f"{path}: the workbook has no worksheet")
    if sheet is None:
        name = visible[0]
    elif isinstance(sheet, int) and not isinstance(sheet, bool):
        if not 0 <= sheet < len(names):
            raise SiteInputError(f"{path}: has no sheet number {sheet} (0-based; sheets: "
                                 f"{', '.join(names)})")
        name = names[sheet]
    elif str(sheet) in names:
        name = str(sheet)
    else:
        raise SiteInputError(f"{path}: has no sheet {sheet!r}; its sheets are "
                             f"{', '.join(names)} (choose one with --sheet)")
    rows = wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
    label = f" sheet {name!r}"
    if len(visible) > 1 or (sheet is not None and len(names) > 1):
        notes.append(f"read sheet {name!r} of {len(names)} ({', '.join(names)}); choose another "
                     f"with --sheet · 读取工作表“{name}”（共 {len(names)} 个）")

    def blank(v: object) -> bool:
        return v is None or (isinstance(v, str) and not v.strip())

    header_at = None
    for i, row in enumerate(rows[:30]):
        if _coordinate_columns([str(v) for v in row if not blank(v)]):
            header_at = i
            break
    if header_at is None:
        header_at = next((i for i, row in enumerate(rows) if not all(map(blank, row))), None)
    if header_at is None:
        raise SiteInputError(f"{path}{label}: is empty; there is nothing to check (is it the "
                             "right sheet? choose another with --sheet)")
    if header_at > 0 and any(not all(map(blank, r)) for r in rows[:header_at]):
        notes.append(f"{label.strip()}: the header is on Excel row {header_at + 1}; the rows "
                     "above it were skipped (a title) · 表头位于 Excel 第 "
                     f"{header_at + 1} 行，其上各行（标题）已跳过")
    header: list[str] = []
    seen: dict[str, int] = {}
    for j, v in enumerate(rows[header_at]):
        h = "" if blank(v) else (str(int(v)) if isinstance(v, float) and v.is_integer()
                                 else str(v).strip())
        h = h or f"column{j + 1}"
        if h in seen:
            seen[h] += 1
            h = f"{h}.{seen[h]}"
        else:
            seen[h] = 0
        header.append(h)
    body = [(i + 1, row) for i, row in enumerate(rows[header_at + 1:], start=header_at + 1)
            if not all(map(blank, row))]
    width = len(header)
    data = [[None if blank(v) else v for v in (list(r) + [""] * width)[:width]]
            for _, r in body]
    df = pd.DataFrame(data, columns=header, dtype=object)
    keep = [c for j, c in enumerate(header)
            if not (c == f"column{j + 1}" and df[c].isna().all())]
    return df[keep], np.array([r for r, _ in body], dtype=np.int64), label, names


def _tidy_attributes(df: pd.DataFrame) -> pd.DataFrame:
    """Excel cells as one type per column: numbers (whole numbers as integers), text or dates;
    a column mixing them becomes text (as a GeoPackage column must have one type)."""
    out = df.copy()
    for c in out.columns:
        v = out[c]
        nn = v.dropna()
        if not len(nn):
            out[c] = v.astype(object)
            continue
        if all(isinstance(x, int | float) and not isinstance(x, bool) for x in nn):
            if all(float(x).is_integer() for x in nn):
                out[c] = pd.array([None if pd.isna(x) else int(x) for x in v], dtype="Int64")
            else:
                out[c] = v.astype(float)
        elif not all(isinstance(x, str) for x in nn):
            out[c] = [None if pd.isna(x) else (str(int(x)) if isinstance(x, float)
                                               and x.is_integer() else str(x)) for x in v]
    return out


# --------------------------------------------------------------------------- reading


def read_sites(
    path: str | os.PathLike[str],
    *,
    layer: str | None = None,
    sheet: str | int | None = None,
    crs: str | int | CRS | None = None,
    gcj02: bool = False,
    encoding: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a batch of sites from a vector file, a CSV or an Excel workbook.

    Parameters
    ----------
    path
        GeoPackage, Shapefile, GeoJSON, FlatGeobuf, GeoParquet; a CSV; an
        Excel workbook (``.xlsx``, ``.xls``, ``.xlsm``, ``.xlsb``, ``.ods``).
        A table holds one point site per row: see the module docstring for
        the column names and :func:`parse_coordinate` for the values read.
    layer
        Layer of a multi-layer file; for a workbook, the same as ``sheet``.
    sheet
        Worksheet of a workbook, by name (or 0-based number); default: the
        first visible sheet. Which sheet was read is noted when there are
        several.
    crs
        CRS of the coordinates: required for a table with X/Y or
        easting/northing columns; for a file that declares none; overrides
        nothing a file declares. Degrees (经度/纬度) default to CGCS2000.
    gcj02
        Every coordinate is GCJ-02 (digitised on Amap or Tencent maps):
        convert them to CGCS2000 before any check. Refused when the sites
        have a coordinate-system column (``坐标系`` …): that column then says
        each row's system and its GCJ-02 rows are converted; use one or the
        other, so that no row is converted twice or not at all.
    encoding
        Text encoding of a CSV or Shapefile (detected when omitted).

    Returns
    -------
    geopandas.GeoDataFrame
        Every input row, in input order. A row whose coordinates cannot be
        read (empty, not a number, a latitude in the longitude column, an
        unknown coordinate system) gets an empty point and a message naming
        its row, value and fix, and later an ``error`` status for every rule.
        The per-row messages and notes travel in :data:`SITE_COLUMNS`;
        ``attrs["notes"]`` holds the batch notes (the sheet read, the X/Y
        order decided, the coordinate systems found).

    Raises
    ------
    SiteInputError
        A table with no coordinate columns, an unreadable file or sheet,
        ``gcj02`` together with a coordinate-system column.
    CRSError
        No CRS known for the coordinates.

    Examples
    --------
    >>> import geoplan, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sites.csv"
    >>> _ = p.write_text("编号,经度,纬度\\nA,81°19′30.5″,43°55′\\nB,abc,43.9\\n", encoding="utf-8")
    >>> g = geoplan.read_sites(p)
    >>> round(g.geometry.iloc[0].x, 6), g["_geoplan_error"].iloc[1]
    (81.325139, "cannot read 经度 'abc' (row 2): not a number, nor degrees-minutes-seconds such as 81°19′30.5″; correct the cell")
    """
    p = Path(path)
    suffix = p.suffix.lower()
    notes: list[str] = []
    if suffix in (".csv", ".txt", ".tsv") or suffix in EXCEL_SUFFIXES:
        if not p.exists():
            raise SiteInputError(f"{p}: file not found")
        sheet_rows = None
        where = hint = ""
        if suffix in EXCEL_SUFFIXES:
            if layer is not None and sheet is not None and str(layer) != str(sheet):
                raise SiteInputError(f"{p}: layer={layer!r} and sheet={sheet!r} disagree; for a "
                                     "workbook they are the same thing, give one")
            df, sheet_rows, where, names = _read_excel(p, sheet if sheet is not None else layer,
                                                       notes)
            if len(names) > 1:
                hint = (f"; the workbook's sheets are {', '.join(names)}: choose the one with "
                        "the sites with --sheet (sheet=)")
            df = _tidy_attributes(df)
        else:
            df = _read_csv(p, encoding)
        gdf = _table_sites(df, source=str(p), crs=crs, sheet_rows=sheet_rows, notes=notes,
                           where=where, hint=hint)
    else:
        gdf = read_vector(p, layer=layer, encoding=encoding)
        if "fid" in gdf.columns and not any(c == "fid" for c in _source_columns(p, layer)):
            gdf = gdf.drop(columns="fid")
        if gdf.crs is None:
            if crs is None:
                raise CRSError(f"{p}: the sites have no CRS; pass it (--crs EPSG:4490, or crs=)")
            gdf = gdf.set_crs(resolve_crs(crs))
        log = _RowLog(len(gdf))
        _convert_systems(gdf, log, source=str(p), notes=notes)
        gdf = _with_log(gdf, log)
    if len(gdf) == 0:
        raise SiteInputError(f"{p}: has no rows; there is nothing to check (is it the right "
                             "file or layer?)")
    gdf = require_cgcs2000_datum(gdf, name=f"the sites {p}", declared=crs)  # Beijing 1954 …
    notes += [gdf.attrs["datum_shift"]] if gdf.attrs.get("datum_shift") else []
    if gcj02:
        gdf = apply_gcj02(gdf, source=str(p))
    gdf.attrs["source"] = str(p)
    gdf.attrs["notes"] = notes
    return gdf


def apply_gcj02(gdf: gpd.GeoDataFrame, *, source: str) -> gpd.GeoDataFrame:
    """Convert every site from GCJ-02 (the batch-wide ``gcj02=True``), refusing when a
    coordinate-system column already says each row's system."""
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


def _source_columns(path: Path, layer: str | None) -> list[str]:
    import pyogrio

    if path.suffix.lower() in (".parquet", ".geoparquet"):
        return []
    try:
        return [str(c) for c in pyogrio.read_info(path, layer=layer)["fields"]]
    except Exception:
        return []
