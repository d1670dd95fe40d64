"""A bilingual, self-contained review report of a check (``report.html``).

:func:`result_report` writes one HTML page for the township review → city
approval of a batch: the verdict counts, a table by rule (clause, title in
Chinese and English, whether its figures are verified), a table by township
and village when the batch has those columns, the interactive map (with
no basemap when ``offline=True``), and a section per failing site with its
findings and a small static SVG map of the site, its evidence and the
constraints around it (much lighter than one Leaflet map per site).

Every text that comes from data is escaped with :func:`html.escape`. The
page needs no file beside it and Leaflet is inlined, so the map draws with no
network (only basemap tiles are fetched online); with ``offline=True`` and no
tiled basemap it makes no request at all.

Modules: :mod:`~geoplan.report.svg` (the small static map of a site),
``_tables`` (the tables, internal), :mod:`~geoplan.report.page` (the page) and
:mod:`~geoplan.report.sheets` (an A4 PDF sheet per site, 审批表, with WeasyPrint;
loaded on use by :meth:`geoplan.Result.sheets`).

Examples
--------
>>> import geoplan                                                  # doctest: +SKIP
>>> res = geoplan.check("layers/batches/proposed_houses.gpkg", "layers")  # doctest: +SKIP
>>> res.report("report.html", offline=True)                         # doctest: +SKIP
"""

from .page import result_report
from .svg import site_svg

__all__ = ["result_report", "site_svg"]
