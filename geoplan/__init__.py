"""geoplan — spatial checks for rural construction planning.

Turns the spatial clauses of a rural construction plan into rules over geometry
layers and runs them over batches of proposed houses, roads and projects.

Examples
--------
>>> import geoplan
>>> geoplan.gk3_epsg_for_lon(81.3)
4536
"""

from ._version import __version__
from .analysis import (
    BuildableResult,
    ConnectivityResult,
    CoverageResult,
    IndicatorResult,
    RoadNetwork,
    SuggestionResult,
    Targets,
    TargetsError,
    VillageClassResult,
    build_network,
    buildable,
    builtin_targets,
    connectivity,
    coverage,
    indicators,
    load_targets,
    suggest,
    village_classes,
)
from .config import LayerSpec, WorkspaceConfig, load_config
from .crs import (
    check_lonlat_order,
    ensure_metric,
    from_gcj02,
    gcj02_to_wgs84,
    gk3_epsg_for_lon,
    resolve_crs,
    to_gcj02,
    wgs84_to_gcj02,
    working_crs_for_bounds,
)
from .errors import (
    ConfigError,
    CRSError,
    DatabaseError,
    DataFileError,
    DecisionsError,
    GeoplanError,
    GeoplanWarning,
    LayerSchemaError,
    RulePackError,
    SheetsError,
    SiteInputError,
    WorkbenchError,
    WorkspaceError,
)
from .expr import ExpressionError, compile_where
from .hygiene import RepairReport, clean_geometries
from .io import read_vector
from .kinds import KINDS, LayerKind, get_kind
from .landuse import code_in_class
from .result import Result, check
from .rules import Rule, RulePack, Threshold, builtin_packs, load_pack
from .sites import read_sites
from .workspace import Layer, RasterLayer, Workspace, open_workspace

__all__ = [
    "BASEMAPS",
    "KINDS",
    "BuildableResult",
    "CRSError",
    "ConfigError",
    "ConnectivityResult",
    "CoverageResult",
    "DataFileError",
    "DatabaseError",
    "DecisionsError",
    "ExpressionError",
    "GeoplanError",
    "GeoplanWarning",
    "IndicatorResult",
    "Layer",
    "LayerKind",
    "LayerSchemaError",
    "LayerSpec",
    "MapError",
    "RasterLayer",
    "RepairReport",
    "Result",
    "RoadNetwork",
    "Rule",
    "RulePack",
    "RulePackError",
    "SheetsError",
    "SiteInputError",
    "SuggestionResult",
    "Targets",
    "TargetsError",
    "Threshold",
    "VillageClassResult",
    "Workbench",
    "WorkbenchError",
    "WorkbenchModel",
    "Workspace",
    "WorkspaceConfig",
    "WorkspaceError",
    "__version__",
    "build_network",
    "buildable",
    "builtin_packs",
    "builtin_targets",
    "check",
    "check_chunked",
    "check_dask",
    "check_lonlat_order",
    "check_to_files",
    "clean_geometries",
    "code_in_class",
    "compile_where",
    "connectivity",
    "coverage",
    "ensure_metric",
    "from_gcj02",
    "gcj02_to_wgs84",
    "get_kind",
    "gk3_epsg_for_lon",
    "indicators",
    "load_config",
    "load_pack",
    "load_targets",
    "open_workspace",
    "read_sites",
    "read_vector",
    "resolve_crs",
    "result_map",
    "result_report",
    "suggest",
    "to_gcj02",
    "village_classes",
    "wgs84_to_gcj02",
    "workbench",
    "working_crs_for_bounds",
]

# Maps and reports import folium: load them on first use, not with geoplan.
_LAZY = {"BASEMAPS": "maps", "MapError": "maps", "result_map": "maps", "result_report": "report",
         # deprecated wrappers of check(engine="chunked" / "dask"), kept for existing code
         "check_chunked": "scale", "check_to_files": "scale", "check_dask": "dask_engine",
         # the notebook workbench imports ipyleaflet and ipywidgets when one is built
         "workbench": "workbench_app", "Workbench": "workbench_app",
         "WorkbenchModel": "workbench_app"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'geoplan' has no attribute {name!r}")
