"""GeoPackage layers from any frame: object columns made into values a field can hold.

A GeoPackage field has one type; a pandas ``object`` column can hold
anything (attributes kept from a user's GeoDataFrame, lists an analysis
builds). Every GeoPackage geoplan writes (a check's ``results.gpkg``, whole
or chunk by chunk, and the analyses' files) goes through :func:`gpkg_safe`,
which applies one rule to each object column:

- only booleans (and ``None``), at least one of them → a boolean column;
- text, numbers and ``None`` stay as they are;
- a list or tuple → its items as text joined with ``"; "``;
- anything else → its ``str()``.

Other columns and the geometry are left alone.

Examples
--------
>>> import geopandas as gpd, pandas as pd, shapely
>>> g = gpd.GeoDataFrame({"ok": pd.Series([True, None], dtype=object),
...                       "ids": pd.Series([["a", "b"], 3], dtype=object)},
...                      geometry=[shapely.Point(0, 0), shapely.Point(1, 1)])
>>> safe = gpkg_safe(g)
>>> str(safe["ok"].dtype), safe["ids"].tolist()
('boolean', ['a; b', 3])
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np

__all__ = ["gpkg_safe"]

_BOOLS = frozenset({bool, np.bool_})
_BOOLS_OR_NONE = _BOOLS | {type(None)}


def _cell(v: Any) -> Any:
    if v is None or isinstance(v, (str, int, float)):
        return v
    if isinstance(v, (list, tuple)):
        return "; ".join(map(str, v))
    return str(v)


def gpkg_safe(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy of ``gdf`` whose object columns a GeoPackage field can hold.

    Parameters
    ----------
    gdf
        Any GeoDataFrame.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy: object columns of booleans become ``boolean``, lists and
        tuples text joined with ``"; "``, other objects their ``str()``.
    """
    out = gdf.copy()
    for c in out.columns:
        if c == out.geometry.name or out[c].dtype != object:
            continue
        vals = out[c]
        types = set(map(type, vals))
        if types <= _BOOLS_OR_NONE and types & _BOOLS:
            out[c] = vals.astype("boolean")
        else:
            out[c] = vals.map(_cell)
    return out
