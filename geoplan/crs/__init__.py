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

Modules, from reading a CRS to converting data:

* :mod:`~geoplan.crs.resolve` — a user's CRS value as a :class:`pyproj.CRS`
  (also bound to ``+towgs84``);
* :mod:`~geoplan.crs.zones` — the working CRS (3° Gauss-Kruger zone) and
  metric checks;
* :mod:`~geoplan.crs.proposals` — what the coordinates of data without a CRS say;
* :mod:`~geoplan.crs.datum` — Beijing 1954 / Xian 1980, refused or converted
  explicitly;
* :mod:`~geoplan.crs.axis_order` — swapped lat/lon and northing/easting;
* :mod:`~geoplan.crs.offsets` and :mod:`~geoplan.crs.offset_layers` — the
  GCJ-02 and BD-09 offsets, for coordinates and for geometries and layers.

Every name is importable from :mod:`geoplan.crs` itself.

Examples
--------
>>> from geoplan.crs import gk3_epsg_for_lon, working_crs_for_bounds
>>> gk3_epsg_for_lon(81.3)
4536
>>> working_crs_for_bounds((81.2, 43.85, 81.4, 44.0), crs=4490).to_epsg()
4536
"""

from ._common import CGCS2000_EPSG, CRSLike
from ._common import BoundsLike as BoundsLike  # not in __all__, importable as before
from ._common import GeoObject as GeoObject
from .axis_order import CHINA_BOUNDS_LONLAT, check_lonlat_order
from .datum import check_datum, legacy_datum, require_cgcs2000_datum, to_cgcs2000_datum
from .offset_layers import (
    bd09_to_cgcs2000_geometry,
    cgcs2000_to_gcj02_geometry,
    from_gcj02,
    gcj02_to_cgcs2000_geometry,
    to_gcj02,
)
from .offsets import (
    GCJ02_BOUNDS_LONLAT,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from .proposals import EASTING_RANGE_M, NORTHING_RANGE_M, CRSProposal, propose_crs
from .resolve import resolve_crs, with_towgs84
from .zones import (
    GK3_LON_RANGE,
    central_longitude,
    cgcs2000_counterpart,
    ensure_metric,
    gk3_epsg_for_lon,
    working_crs_for_bounds,
)

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
