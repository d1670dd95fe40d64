"""Shared fixtures: tiny synthetic layers around Yining, written to tmp_path."""

from __future__ import annotations

import os
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


# --------------------------------------------------------------------------- PostGIS

REQUIRE_POSTGIS = os.environ.get("GEOPLAN_REQUIRE_POSTGIS", "") not in ("", "0")
"""``.ci/run`` sets GEOPLAN_REQUIRE_POSTGIS=1: there, a missing server fails the database tests."""


@pytest.fixture(scope="session")
def pg():
    """A throwaway PostgreSQL + PostGIS server for the session (``tests/pg_cluster.py``).

    Skips the test, saying why, where no server can be started, unless
    GEOPLAN_REQUIRE_POSTGIS=1, where that fails it. While it runs,
    GEOPLAN_DATABASE names it, so that the notebooks executed later in the same
    session (``notebooks/06_spatial_database.ipynb``) run their database cells.
    """
    from pg_cluster import PLANNER, Cluster, available

    why = available()
    if why is not None:
        if REQUIRE_POSTGIS:
            pytest.fail(f"GEOPLAN_REQUIRE_POSTGIS is set, but no PostGIS server can be started: "
                        f"{why}")
        pytest.skip(f"no PostGIS server for the database tests: {why}")
    with Cluster() as cluster:
        before = os.environ.get("GEOPLAN_DATABASE")
        os.environ["GEOPLAN_DATABASE"] = cluster.url(*PLANNER)
        try:
            yield cluster
        finally:
            if before is None:
                os.environ.pop("GEOPLAN_DATABASE", None)
            else:
                os.environ["GEOPLAN_DATABASE"] = before


@pytest.fixture(scope="session")
def pg_sample(pg):
    """The sample workspace's vector layers in schema ``yining`` of :func:`pg`.

    One table per kind, named after it, except the power lines: table ``电力线`` with
    the columns ``电压等级``, ``状态``, ``名称`` (mapped back in ``geoplan.toml``).
    """
    from pg_cluster import load_sample

    load_sample(pg, SAMPLE, "yining", renamed=RENAMED)
    return pg


RENAMED = {"power_line": ("电力线", {"voltage_kv": "电压等级", "status": "状态", "name": "名称"})}
"""A kind stored in PostGIS under another table name with other column names."""


def map_payload(m) -> dict:
    """The JSON data block a geoplan map page carries (sites, layers, evidence)."""
    import json
    import re

    page = m.get_root().render()
    block = re.search(r'<script type="application/json" id="gp-data-[^"]+">(.*?)</script>',
                      page, re.S)
    assert block is not None, "no geoplan data block in the page"
    return json.loads(block.group(1))
