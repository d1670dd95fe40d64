"""Shared fixtures: tiny synthetic layers around Yining, written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely import LineString, Point, box

# Origin of the synthetic fixtures in EPSG:4536 (CGCS2000 3° GK, CM 81°E), near Yining.
X0, Y0 = 524_000.0, 4_865_000.0
REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers"


def gk(geoms, **cols) -> gpd.GeoDataFrame:
    """A GeoDataFrame in EPSG:4536 with the given columns."""
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs="EPSG:4536")


@pytest.fixture
def flood_square() -> gpd.GeoDataFrame:
    """One 1 km × 1 km flood zone polygon (area 1 000 000 m² by construction)."""
    return gk([box(X0, Y0, X0 + 1000, Y0 + 1000)], level=["50年一遇"], name=["伊犁河洪水区"])


@pytest.fixture
def power_lines() -> gpd.GeoDataFrame:
    return gk(
        [LineString([(X0, Y0 - 500), (X0 + 3000, Y0 - 500)]),
         LineString([(X0, Y0 - 900), (X0 + 3000, Y0 - 800)])],
        voltage_kv=[10.0, 110.0], status=["existing", "new"],
    )


@pytest.fixture
def villages() -> gpd.GeoDataFrame:
    return gk(
        [Point(X0 + 200, Y0 + 2000), Point(X0 + 2500, Y0 + 2500)],
        name=["巴彦岱村", "潘津村"], township=["巴彦岱镇", "潘津镇"],
        layout_class=["集聚提升", "搬迁撤并"], population=[1200, 300],
    )


@pytest.fixture
def small_workspace(tmp_path: Path, flood_square, power_lines, villages) -> Path:
    """A folder workspace: flood_zone (GeoPackage in 4490), power_line (GeoJSON), village (FGB)."""
    ws = tmp_path / "ws"
    ws.mkdir()
    flood_square.to_crs(4490).to_file(ws / "flood_zone.gpkg", layer="flood_zone")
    power_lines.to_file(ws / "power_line.geojson")
    villages.to_crs(4490).to_file(ws / "village.fgb")
    return ws
