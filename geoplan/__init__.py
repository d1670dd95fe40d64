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
    DataFileError,
    GeoplanError,
    GeoplanWarning,
    LayerSchemaError,
    RulePackError,
    SiteInputError,
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
    "KINDS",
    "CRSError",
    "ConfigError",
    "DataFileError",
    "ExpressionError",
    "GeoplanError",
    "GeoplanWarning",
    "Layer",
    "LayerKind",
    "LayerSchemaError",
    "LayerSpec",
    "RasterLayer",
    "RepairReport",
    "Result",
    "Rule",
    "RulePack",
    "RulePackError",
    "SiteInputError",
    "Threshold",
    "Workspace",
    "WorkspaceConfig",
    "WorkspaceError",
    "__version__",
    "builtin_packs",
    "check",
    "check_lonlat_order",
    "clean_geometries",
    "code_in_class",
    "compile_where",
    "ensure_metric",
    "from_gcj02",
    "gcj02_to_wgs84",
    "get_kind",
    "gk3_epsg_for_lon",
    "load_config",
    "load_pack",
    "open_workspace",
    "read_sites",
    "read_vector",
    "resolve_crs",
    "to_gcj02",
    "wgs84_to_gcj02",
    "working_crs_for_bounds",
]
