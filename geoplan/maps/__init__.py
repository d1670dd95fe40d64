r"""Interactive maps of a check, online or fully offline.

:func:`result_map` draws a :class:`~geoplan.Result` on a folium/Leaflet map:
the constraint layers near the batch, styled by kind and switchable by group
(names in Chinese and English); the sites coloured by verdict, one layer per
verdict, with a legend of counts; a popup per site listing each failed or
warned rule (title, measure with its unit, limit, clause, message); the
evidence geometries (overlaps, setback intrusions) on top; a scale bar.

Basemaps (:data:`BASEMAPS`): ``osm``, ``tianditu`` / ``tianditu-img`` (a key
``tk`` is needed; CGCS2000 is drawn as WGS84, no shift), ``amap`` /
``amap-img`` (Amap tiles are GCJ-02: every overlay is shifted into GCJ-02 with
:func:`geoplan.crs.to_gcj02` for display, and the panel says so) and ``none``.

A tile URL template (``basemap="https://tiles.example.org/{z}/{x}/{y}.png"``,
``attribution="…"``; command line ``--tiles URL --attribution TEXT``) draws a
county's own tile server ("自定义底图 custom tiles").

Every page is self-contained: Leaflet's JS and CSS are read from the
installed ``django-js-lib-leaflet`` package and inlined, folium's default CDN
scripts (jQuery, Bootstrap, awesome-markers, Font Awesome) are not loaded, so
the map draws on an intranet or in Jupyter with no network; basemap tiles are
the only thing fetched online. ``offline=True`` makes the default basemap
``none``: then no request leaves the page at all.

Every text that comes from data (ids, names, attribute values, rule titles,
messages) goes through :func:`html.escape` before it reaches a popup, tooltip
or legend, and the data travel as JSON in a ``<script type="application/json">``
block with ``<``, ``>`` and ``&`` written as ``\u003c``, ``\u003e``, ``\u0026``,
so nothing in them can close the script element or run.

For large batches the map uses one canvas renderer (``prefer_canvas``),
coordinates rounded to 6 decimals (≈0.1 m), constraint layers clipped to the
batch's box plus a margin and simplified to a display tolerance in the working
CRS before reprojection. ``python -m benchmarks.maps`` measures it.

Modules, in the order a map is built:

* :mod:`~geoplan.maps.style` — layer groups and styles per kind;
* :mod:`~geoplan.maps.basemaps` — basemaps and Leaflet's files;
* :mod:`~geoplan.maps.text` — measures and limits as text;
* :mod:`~geoplan.maps.overlay` — what an analysis (buildable land, suggested
  moves) adds to a check's map and report;
* ``_display`` (geometries as display GeoJSON) and ``_payload`` (the data of
  one map) — internal;
* :mod:`~geoplan.maps.frame` — the map in a notebook's output, and the
  message, in Chinese and English, shown when its scripts cannot run;
* :mod:`~geoplan.maps.page` — the panel, the page, :func:`result_map`.

What makes the map readable: the evidence drawn above its site, with a halo of
fixed pixel size while it is small on screen; the layers a failing rule reads
switched on; the panel folded to its title on a map narrower than 700 px; the
panel's note when the basemap cannot be loaded; hover tooltips kept inside the
map (``geoplan/_assets/geoplan-leaflet.js``, shared with the analysis maps).

Examples
--------
>>> import geoplan                                                  # doctest: +SKIP
>>> res = geoplan.check("layers/batches/proposed_houses.gpkg", "layers")  # doctest: +SKIP
>>> res.map(offline=True).save("map.html")                          # doctest: +SKIP
"""

from ..core import MU_PER_M2 as MU_PER_M2  # defined in core; importable here as before
from ..core import STATUS_COLOURS
from ..core import STATUS_LABELS as STATUS_LABELS
from ..pages import script_json
from .basemaps import BASEMAPS, Basemap, MapError, leaflet_assets, resolve_basemaps
from .overlay import Addition, Overlay, SiteNote
from .page import map_parts, result_map, save_map
from .style import GROUP_LABELS, kind_style
from .text import format_limit, format_measure

__all__ = [
    "BASEMAPS",
    "GROUP_LABELS",
    "STATUS_COLOURS",
    "Addition",
    "Basemap",
    "MapError",
    "Overlay",
    "SiteNote",
    "format_limit",
    "format_measure",
    "kind_style",
    "leaflet_assets",
    "map_parts",
    "resolve_basemaps",
    "result_map",
    "save_map",
    "script_json",
]
