"""Geometries in the working CRS → display GeoJSON: lon/lat (GCJ-02 if asked), rounded, short.

Also the small JSON helpers the map's data block is assembled with.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from ..crs import to_gcj02
from ..hygiene import on_two_threads

__all__ = ["bounds_latlon", "dumps", "fc", "geojson_bounds", "to_display"]


def to_display(geoms: np.ndarray, crs: Any, *, gcj02: bool, precision: int) -> np.ndarray:
    """Geometries in ``crs`` → rounded lon/lat (GCJ-02 if asked) as GeoJSON strings."""
    if len(geoms) == 0:
        return np.array([], dtype=object)
    s = gpd.GeoSeries(geoms, crs=crs)
    if s.crs is not None and not s.crs.equals(pyproj.CRS.from_epsg(4490)):
        s = s.to_crs(4490)
    if gcj02:
        s = to_gcj02(s)
    arr = np.asarray(s.values, dtype=object)
    arr = shapely.transform(arr, lambda c: np.round(c, precision))
    text = "\n".join(on_two_threads(shapely.to_geojson, arr).tolist())
    return np.asarray(_short_numbers(text, precision).split("\n"), dtype=object)


def _short_numbers(text: str, precision: int) -> str:
    """Numbers of ``text`` printed with more than ``precision`` decimals, rounded and written short.

    GEOS may print a rounded value with 16-17 digits (81.40440099999999). The
    search starts at the decimal point (a literal the regular expression
    engine skips to: 0.3 s for 32 MB of GeoJSON, against 2 s for a pattern
    starting at the number's first digit); the number's integer part and sign
    are then read backwards. Exponent forms are left as they are.

    Examples
    --------
    >>> _short_numbers('[81.40440099999999,-43.9000001,1.5,2.123456789e-05]', 6)
    '[81.404401,-43.9,1.5,2.123456789e-05]'
    """
    decimals = re.compile(rf"\.\d{{{precision + 1},}}(?![\deE])")
    out: list[str] = []
    last = 0
    for m in decimals.finditer(text):
        i = m.start()
        while i > 0 and text[i - 1] in "0123456789":
            i -= 1
        if i > 0 and text[i - 1] == "-":
            i -= 1
        out.append(text[last:i])
        out.append(repr(round(float(text[i:m.end()]), precision)))
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def fc(geojson: Sequence[str], props: Sequence[str]) -> str:
    feats = [f'{{"type":"Feature","geometry":{g},"properties":{p}}}'
             for g, p in zip(geojson, props, strict=True)]
    return '{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}"


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def bounds_latlon(boxes: list[tuple[float, float, float, float]]) -> list[list[float]] | None:
    good = [b for b in boxes if all(math.isfinite(v) for v in b)]
    if not good:
        return None
    w = min(b[0] for b in good)
    s = min(b[1] for b in good)
    e = max(b[2] for b in good)
    n = max(b[3] for b in good)
    return [[round(s, 6), round(w, 6)], [round(n, 6), round(e, 6)]]


def geojson_bounds(geojson: np.ndarray) -> tuple[float, float, float, float]:
    if len(geojson) == 0:
        return (math.nan,) * 4
    g = shapely.from_geojson(geojson)
    b = shapely.total_bounds(g)
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
