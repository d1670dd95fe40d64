"""Planning analyses over a workspace: coverage, connectivity, indicators, village classes.

- :func:`coverage` — which villages, and what share of people, lie within the
  service distance of each facility kind, in a straight line and along roads
  (clauses 八, 九, 十, 十二, 十三);
- :func:`connectivity` — villages above a population threshold without a
  hardened-road connection, with the gap length (clause 五);
- :func:`indicators` — plan indicators by township and for the city against
  the targets of clauses 四, 五, 七, 十二;
- :func:`village_classes` — villages by layout class with the proposed
  projects in each, projects in 搬迁撤并 villages highlighted (clause 四);
- :func:`buildable` — per village, the land no fail-level rule of the pack
  excludes, with the homestead plots that fit;
- :func:`suggest` — for each failing house of a check, the smallest move that
  makes it pass, checked again by the engine.

Parameters and targets come from a TOML targets file
(:func:`load_targets`, built-in ``yining-2025``), each figure with its source
and a ``verified`` flag. Every result is a dataclass with DataFrames, a
``_repr_html_`` for Jupyter, ``.map()`` (folium) and ``.to_files(dir)``
(CSV UTF-8 with BOM, GeoPackage, ``map.html``, ``summary.json``, written
atomically). The maps inline Leaflet and draw with no network; ``basemap=``,
``tk=``, ``attribution=`` and ``offline=`` of ``.map()`` and ``.to_files()``
choose the background as for :meth:`geoplan.Result.map` (not Amap).

Examples
--------
>>> import geoplan
>>> ws = geoplan.open_workspace("layers")                      # doctest: +SKIP
>>> cov = geoplan.coverage(ws)                                 # doctest: +SKIP
>>> con = geoplan.connectivity(ws)                             # doctest: +SKIP
>>> ind = geoplan.indicators(ws, coverage_result=cov)          # doctest: +SKIP
>>> vc = geoplan.village_classes(ws, "layers/batches/proposed_houses.gpkg")  # doctest: +SKIP
"""

from ._common import LAYOUT_CLASSES
from .buildable import DEFAULT_PLOT_M, BuildableResult, buildable, count_plots
from .network import AttachedNetwork, NetworkError, RoadNetwork, build_network
from .plan_indicators import IndicatorResult, indicators, township_areas
from .road_access import ConnectivityResult, connectivity
from .service_coverage import CoverageResult, coverage
from .suggest import DEFAULT_RADIUS_M, SuggestionResult, minkowski_forbidden, suggest
from .targets import (
    FACILITY_KINDS,
    Indicator,
    ServiceDistance,
    Targets,
    TargetsError,
    builtin_targets,
    load_targets,
)
from .village_report import VillageClassResult, village_classes

__all__ = [
    "DEFAULT_PLOT_M",
    "DEFAULT_RADIUS_M",
    "FACILITY_KINDS",
    "LAYOUT_CLASSES",
    "AttachedNetwork",
    "BuildableResult",
    "ConnectivityResult",
    "CoverageResult",
    "Indicator",
    "IndicatorResult",
    "NetworkError",
    "RoadNetwork",
    "ServiceDistance",
    "SuggestionResult",
    "Targets",
    "TargetsError",
    "VillageClassResult",
    "build_network",
    "buildable",
    "builtin_targets",
    "connectivity",
    "count_plots",
    "coverage",
    "indicators",
    "load_targets",
    "minkowski_forbidden",
    "suggest",
    "township_areas",
    "village_classes",
]
