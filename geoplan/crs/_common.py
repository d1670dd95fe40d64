"""What the CRS modules share: the CRS types, the EPSG numbering of the Gauss-Kruger zones, helpers.

The CGCS2000 Gauss-Kruger codes come in three families: 3° zones without a zone
number in the false easting (EPSG:4534–4554, CM 75°E–135°E), 3° zones with it
(EPSG:4513–4533, zones 25–45) and 6° zones with it (EPSG:4491–4501, zones 13–23;
EPSG:4502–4512 without). Every transformer here is built with ``always_xy=True``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj

__all__ = [
    "CGCS2000_EPSG",
    "GK3_FIRST_CM",
    "GK3_FIRST_EPSG",
    "GK3_LAST_CM",
    "GK3_ZONES",
    "GK3_ZONE_FIRST_EPSG",
    "GK6_CM_FIRST_EPSG",
    "GK6_ZONES",
    "GK6_ZONE_FIRST_EPSG",
    "LONLAT_CRS",
    "BoundsLike",
    "CRSLike",
    "GeoObject",
    "crs_label",
    "geom_array",
    "horizontal_crs",
    "replace_geometry",
    "tm_false_easting",
    "to_lonlat",
]


CRSLike: TypeAlias = int | str | pyproj.CRS
"""What geoplan accepts as a CRS: an EPSG code, an ``"EPSG:…"``/WKT/PROJ string
or a :class:`pyproj.CRS` (anything :meth:`pyproj.CRS.from_user_input` reads)."""

BoundsLike: TypeAlias = Sequence[float] | npt.ArrayLike
GeoObject: TypeAlias = gpd.GeoDataFrame | gpd.GeoSeries

CGCS2000_EPSG: int = 4490
"""EPSG code of CGCS2000 geographic coordinates (lon/lat, degrees)."""

GK3_FIRST_EPSG = 4534  # CGCS2000 / 3-degree Gauss-Kruger CM 75E
GK3_FIRST_CM = 75
GK3_LAST_CM = 135

GK3_ZONE_FIRST_EPSG = 4513  # CGCS2000 / 3-degree Gauss-Kruger zone 25 (CM 75°E)
GK3_ZONES = (25, 45)
GK6_ZONE_FIRST_EPSG = 4491  # CGCS2000 / Gauss-Kruger zone 13 (6°, CM 75°E)
GK6_ZONES = (13, 23)
GK6_CM_FIRST_EPSG = 4502  # CGCS2000 / Gauss-Kruger CM 75E (6°, no zone number)

LONLAT_CRS = pyproj.CRS.from_epsg(CGCS2000_EPSG)


def horizontal_crs(crs: pyproj.CRS) -> pyproj.CRS:
    """The horizontal part of a compound CRS (the CRS itself otherwise)."""
    if crs.is_compound and crs.sub_crs_list:
        return crs.sub_crs_list[0]
    return crs


def crs_label(crs: pyproj.CRS) -> str:
    code = crs.to_epsg()
    return f"EPSG:{code} ({crs.name})" if code else repr(crs.name)


def to_lonlat(crs: pyproj.CRS) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(crs, LONLAT_CRS, always_xy=True)


def tm_false_easting(crs: pyproj.CRS) -> float | None:
    """False easting of a transverse Mercator CRS, else None."""
    op = crs.coordinate_operation
    if op is None or "transverse mercator" not in (op.method_name or "").lower():
        return None
    for p in op.params:
        if p.name.lower() == "false easting":
            return float(p.value)
    return None


def geom_array(gdf: GeoObject) -> npt.NDArray[np.object_]:
    return np.asarray(gdf.geometry.values, dtype=object)


def replace_geometry(gdf: GeoObject, geoms: npt.NDArray[np.object_], epsg: int) -> GeoObject:
    if isinstance(gdf, gpd.GeoSeries):
        return gpd.GeoSeries(geoms, index=gdf.index, crs=epsg, name=gdf.name)
    col = gdf.geometry.name
    out = gdf.copy()
    out[col] = gpd.GeoSeries(geoms, index=gdf.index, crs=epsg)
    return out.set_geometry(col).set_crs(epsg, allow_override=True)
