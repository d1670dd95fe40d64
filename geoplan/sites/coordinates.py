"""Coordinates in a table: the coordinate columns found, each cell read as a number.

:func:`parse_coordinate` reads one cell (decimal, degrees-minutes-seconds,
full-width, decimal comma, hemispheres); a table's coordinate columns are found
by their Chinese or English names, read cell by cell with every unreadable row
logged, and survey X/Y told from GIS x/y by their magnitudes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from ._rows import RowLog, find_column

__all__ = ["parse_coordinate"]


# Column names, compared by column_key (lower case, no spaces/brackets/punctuation).
_LON = ("经度", "lon", "lng", "long", "longitude", "东经", "经度坐标")
_LAT = ("纬度", "lat", "latitude", "北纬", "纬度坐标")
_EAST = ("easting", "东坐标")
_NORTH = ("northing", "北坐标")
_SURVEY_X = ("纵坐标", "x坐标", "坐标x")   # Chinese surveying: X is the northing
_SURVEY_Y = ("横坐标", "y坐标", "坐标y")
_GIS_X = ("x", "xcoord", "coordx", "pointx")  # GIS software: x is the easting
_GIS_Y = ("y", "ycoord", "coordy", "pointy")


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
    if not isinstance(value, str) or not value.strip():
        return _number_cell(value)
    s = unicodedata.normalize("NFKC", value.translate(_DEG_SIGNS)).translate(_DEG_SIGNS)
    hemi, s = _hemisphere(s.replace("''", '"').strip())
    s = s.strip()
    sign = 1.0
    if s and s[0] in "+-":
        sign, s = (-1.0 if s[0] == "-" else 1.0), s[1:].strip()
    if not s:
        raise ValueError("no number")
    if hemi:
        sign = _hemisphere_sign(hemi, sign, axis)
    return sign * _unsigned_degrees(s)


def _number_cell(value: object) -> float:
    """A cell that is not text, or blank text: its number, or why it has none."""
    if isinstance(value, bool):
        raise ValueError("a yes/no value, not a coordinate")
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        raise ValueError("empty")  # a blank cell, as pandas reads it
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        if not np.isfinite(v):
            raise ValueError("not a finite number")
        return v
    if isinstance(value, str):
        raise ValueError("empty")
    raise ValueError(f"a {type(value).__name__}, not a number")


def _hemisphere(s: str) -> tuple[str, str]:
    """The hemisphere written before or after the number (``E``, ``东经``, …) and the rest."""
    for word, letter in _HEMI:
        if s.startswith(word) or s.endswith(word):
            return letter, (s[len(word):] if s.startswith(word) else s[: -len(word)])
    # a letter next to the number (not the n of "nan")
    if len(s) > 1 and s[0].upper() in "ENWS" and (s[1].isdigit() or s[1] in " +-."):
        return s[0].upper(), s[1:]
    if len(s) > 1 and s[-1].upper() in "ENWS" and (s[-2].isdigit() or s[-2] in " °'\"."):
        return s[-1].upper(), s[:-1]
    return "", s


def _hemisphere_sign(hemi: str, sign: float, axis: Literal["lon", "lat"] | None) -> float:
    """The sign a hemisphere gives (west and south negative); refuse one of the other axis."""
    if axis == "lon" and hemi in "NS":
        raise ValueError(f"a latitude ({hemi}) in the longitude column")
    if axis == "lat" and hemi in "EW":
        raise ValueError(f"a longitude ({hemi}) in the latitude column")
    if hemi in "WS":
        sign = -1.0  # "-43.5S" is south too
    return sign


def _unsigned_degrees(s: str) -> float:
    """The number of a coordinate without sign or hemisphere: decimal or degrees-minutes-seconds."""
    if _THOUSANDS_RE.match(s) and (s.count(",") > 1 or "." in s):
        s = s.replace(",", "")
    elif _DECIMAL_COMMA_RE.match(s):
        s = s.replace(",", ".")
    m = _DEG_RE.match(s)
    if m:
        return float(m["d"])
    m = _DMS_RE.match(s.replace(",", "."))
    if m is None:
        try:
            v = float(s)  # 4.865e6, inf, nan
        except ValueError:
            raise ValueError("not a number, nor degrees-minutes-seconds such as "
                             "81°19′30.5″") from None
        if not np.isfinite(v):
            raise ValueError("not a finite number") from None
        return v
    return _dms(m)


def _dms(m: re.Match[str]) -> float:
    """Degrees from a match of ``_DMS_RE``: whole degrees and minutes before any fraction."""
    d, mi, se = m["d"], m["m"], m["s"]
    if mi is not None and "." in d:
        raise ValueError("decimal degrees followed by minutes")
    if se is not None and mi is not None and "." in mi:
        raise ValueError("decimal minutes followed by seconds")
    minutes = float(mi) if mi is not None else 0.0
    seconds = float(se) if se is not None else 0.0
    if minutes >= 60 or seconds >= 60:
        raise ValueError("minutes and seconds must be below 60")
    return float(d) + minutes / 60 + seconds / 3600


_Kind = Literal["lonlat", "en", "survey", "gis"]


def coordinate_columns(columns: Sequence[object]) -> tuple[_Kind, str, str] | None:
    """(kind, first column, second column): lon/lat, easting/northing, survey X/Y or GIS x/y.

    For ``survey`` the first column is X (by name the northing); for ``gis`` x
    (by name the easting).
    """
    for kind, a, b in (("lonlat", _LON, _LAT), ("en", _EAST, _NORTH),
                       ("survey", _SURVEY_X, _SURVEY_Y), ("gis", _GIS_X, _GIS_Y)):
        ca, cb = find_column(columns, a), find_column(columns, b)
        if ca and cb:
            return kind, ca, cb  # type: ignore[return-value]
    return None


def parse_column(values: np.ndarray, col: str, axis: Literal["lon", "lat"] | None,
                  log: RowLog) -> np.ndarray:
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


def easting_first(a: np.ndarray, b: np.ndarray, crs: CRS) -> bool | None:
    """Whether ``a`` holds the eastings and ``b`` the northings (``None``: cannot tell).

    True when ``a`` holds the eastings (``b`` the northings), False for the
    reverse, None when the magnitudes do not tell (judged against the CRS's
    area of use).
    """
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
