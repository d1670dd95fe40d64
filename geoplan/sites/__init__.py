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

Modules, in the order a batch is read:

* :mod:`~geoplan.sites.reading` — :func:`read_sites`;
* :mod:`~geoplan.sites.coordinates` — coordinate columns and cells
  (:func:`parse_coordinate`);
* :mod:`~geoplan.sites.systems` — coordinate systems per row and their
  conversion (:func:`convert_coordinate_systems`);
* :mod:`~geoplan.sites.identity` — the id, applicant, village and township
  columns (``序号``, ``户主姓名``, ``村名``, ``乡镇`` …) and how village names
  are compared (:func:`decide_identity`, :func:`place_key`);
* ``_tables`` (CSV and Excel into point sites) and ``_rows`` (the per-row log)
  — internal.
"""

from ._rows import ERROR_COLUMN as ERROR_COLUMN  # not in __all__, importable as before
from ._rows import ERROR_ZH_COLUMN as ERROR_ZH_COLUMN
from ._rows import NOTE_COLUMN as NOTE_COLUMN
from ._rows import SITE_COLUMNS
from .coordinates import parse_coordinate
from .identity import (
    IDENTITY_CANDIDATES,
    IDENTITY_ROLES,
    Identity,
    decide_identity,
    distinct_columns,
    place_key,
    with_identity,
)
from .reading import EXCEL_SUFFIXES, ID_CANDIDATES, missing_crs_error, read_sites
from .systems import (
    COORDINATE_SYSTEMS,
    apply_gcj02,
    convert_coordinate_systems,
    coordinate_system_column,
    unconverted_systems,
)

__all__ = [
    "COORDINATE_SYSTEMS",
    "EXCEL_SUFFIXES",
    "IDENTITY_CANDIDATES",
    "IDENTITY_ROLES",
    "ID_CANDIDATES",
    "SITE_COLUMNS",
    "Identity",
    "apply_gcj02",
    "convert_coordinate_systems",
    "coordinate_system_column",
    "decide_identity",
    "distinct_columns",
    "missing_crs_error",
    "parse_coordinate",
    "place_key",
    "read_sites",
    "unconverted_systems",
    "with_identity",
]
