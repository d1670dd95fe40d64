"""The workspace: typed, validated layers in one metric CRS.

A workspace is a folder of ``<kind>.<ext>`` files, a GeoPackage whose layer
names are kinds, or either of those with a ``geoplan.toml`` that maps real data
(any file names, field names, encodings, code schemes) onto kinds. Opening it
reads every layer, checks it against its kind (geometry family, required
fields), repairs invalid geometries and reports what changed, refuses a layer
without a CRS unless one is declared, detects swapped lat/lon, and reprojects
everything once to the working CRS (a CGCS2000 3° Gauss-Kruger zone picked from
the data's longitude unless given).

Modules:

* :mod:`~geoplan.workspace.model` — :class:`Layer`, :class:`RasterLayer`,
  :class:`Workspace`;
* :mod:`~geoplan.workspace.opening` — :func:`open_workspace`, step by step;
* ``_discovery`` (which file holds which kind), ``_loading`` (one layer read,
  its CRS and datum settled) and ``_fields`` (field names, values and types
  made canonical) — internal.

Examples
--------
>>> import geoplan
>>> ws = geoplan.open_workspace("layers")          # doctest: +SKIP
>>> ws.crs.to_epsg()                               # doctest: +SKIP
4536
>>> ws["flood_zone"].gdf.area.sum()                # doctest: +SKIP
"""

from ._loading import CGCS2000 as CGCS2000  # not in __all__, importable as before
from .model import Layer, RasterLayer, Workspace
from .opening import open_workspace

__all__ = ["Layer", "RasterLayer", "Workspace", "open_workspace"]
