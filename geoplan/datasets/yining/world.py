"""The generated world before writing: villages, layers in EPSG:4536, DEM and slope."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from shapely import Point, Polygon

from .constants import WORK_EPSG
from .geometry import Frame
from .terrain import Terrain


@dataclass
class Village:
    """A village being generated: centre, mean radius, setting and attributes (EPSG:4536)."""

    name: str
    x: float
    y: float
    r0: float
    setting: str  # "foothill", "river", "plain"
    township: str = ""
    layout_class: str = "集聚提升"
    population: int = 0
    is_demo: bool = False
    has_plan: bool = False
    boundary: Polygon = field(default_factory=Polygon)

    @property
    def point(self) -> Point:
        """The village centre."""
        return Point(self.x, self.y)


@dataclass
class SampleLayer:
    """A layer in EPSG:4536 before writing: geometries plus attribute columns."""

    geoms: list[shapely.Geometry]
    cols: dict[str, list[object]] = field(default_factory=dict)

    def gdf(self) -> gpd.GeoDataFrame:
        """The layer as a GeoDataFrame in EPSG:4536."""
        return gpd.GeoDataFrame(dict(self.cols), geometry=list(self.geoms), crs=WORK_EPSG)


@dataclass
class World:
    """Everything generated so far, in EPSG:4536.

    ``stats`` holds intermediate geometry and roles shared between the steps
    (the river's water, the flood channel, the city, the roles of villages…).
    """

    seed: int
    frame: Frame
    terrain: Terrain
    dem: np.ndarray
    slope: np.ndarray
    layers: dict[str, SampleLayer] = field(default_factory=dict)
    villages: list[Village] = field(default_factory=list)
    houses: SampleLayer = field(default_factory=lambda: SampleLayer([]))
    roads: SampleLayer = field(default_factory=lambda: SampleLayer([]))
    stats: dict[str, Any] = field(default_factory=dict)  # intermediate geometry and roles
