"""Writing the sample: GeoPackages, the DEM, geoplan.toml and the README."""

from __future__ import annotations

import contextlib
import pathlib
from collections.abc import Iterator, Sequence

import geopandas as gpd
import numpy as np
import pyogrio
import pyproj
import rasterio
import rasterio.crs
import shapely
from shapely import Point, Polygon

from ...kinds import KINDS
from .constants import (
    CELL,
    DESCRIPTION,
    GEO_EPSG,
    GPKG_DATE,
    HOUSE_SCENARIOS,
    LAT_RANGE,
    LON_RANGE,
    NODATA,
    ROAD_SCENARIOS,
    SAMPLE_FORMAT,
    TOML_MARKER,
    WORK_EPSG,
    ZONE_EPSG,
)
from .world import SampleLayer, World

# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------


_LAYER_CRS: dict[str, int] = {"landuse": ZONE_EPSG, "power_line": WORK_EPSG}

_LAYER_ORDER = (
    "village", "village_boundary", "urban_boundary", "road", "landuse", "farmland_redline",
    "ecological_redline", "flood_zone", "flood_channel", "flood_storage", "landslide_zone",
    "debris_flow_zone", "geohazard_zone", "subsidence_zone", "gully", "active_fault",
    "water_source_zone", "water_body", "power_line", "substation", "heritage_zone", "old_tree",
    "facility",
)


@contextlib.contextmanager
def _gdal_config(**options: str) -> Iterator[None]:
    old = {k: pyogrio.get_gdal_config_option(k) for k in options}
    pyogrio.set_gdal_config_options(dict(options))
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options(old)


def _write_gpkg(gdf: gpd.GeoDataFrame, path: pathlib.Path, layer: str, epsg: int,
                geometry_type: str | None = None) -> None:
    out = gdf if epsg == WORK_EPSG else gdf.to_crs(epsg)
    pyogrio.write_dataframe(out, path, layer=layer, driver="GPKG", geometry_type=geometry_type,
                            layer_options={"DESCRIPTION": DESCRIPTION, "IDENTIFIER": layer})


def _write_dem(w: World, path: pathlib.Path) -> None:
    rows, cols = w.frame.shape
    profile = {
        "driver": "GTiff", "width": cols, "height": rows, "count": 1, "dtype": "float32",
        "crs": rasterio.crs.CRS.from_epsg(WORK_EPSG), "transform": w.frame.transform,
        "nodata": NODATA, "compress": "deflate", "predictor": 3, "tiled": True,
        "blockxsize": 256, "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(w.dem, 1)
        dst.update_tags(DESCRIPTION=DESCRIPTION, TIFFTAG_IMAGEDESCRIPTION=DESCRIPTION,
                        TIFFTAG_SOFTWARE="geoplan.sample", SOURCE="geoplan.sample",
                        SEED=str(w.seed), UNITS="metre")
        dst.set_band_description(1, "elevation (m), synthetic / 高程（米），合成数据")
        dst.units = ("metre",)


def write_workspace(w: World, out: pathlib.Path) -> None:
    """Write the sample's files into the folder ``out``.

    Parameters
    ----------
    w
        The generated world.
    out
        An existing, empty folder.
    """
    counts: dict[str, int] = {}
    with _gdal_config(OGR_CURRENT_DATE=GPKG_DATE):
        for kind in _LAYER_ORDER:
            layer = w.layers[kind]
            _write_gpkg(layer.gdf(), out / f"{kind}.gpkg", kind, _LAYER_CRS.get(kind, GEO_EPSG))
            counts[kind] = len(layer.geoms)
        (out / "batches").mkdir()
        _write_gpkg(w.houses.gdf(), out / "batches" / "proposed_houses.gpkg", "proposed_houses",
                    GEO_EPSG, geometry_type="Unknown")
        _write_gpkg(w.roads.gdf(), out / "batches" / "proposed_roads.gpkg", "proposed_roads",
                    GEO_EPSG, geometry_type="LineString")
    _write_dem(w, out / "dem.tif")
    (out / "geoplan.toml").write_text(WORKSPACE_TOML, encoding="utf-8", newline="\n")
    (out / "README.md").write_text(_readme(w, counts), encoding="utf-8", newline="\n")


WORKSPACE_TOML = f"""\
# {TOML_MARKER} — SYNTHETIC data.
#
# geoplan.toml tells geoplan how to read the layers of this workspace.  Files named
# <kind>.gpkg are picked up by their name; a [layers.<kind>] table adds what geoplan
# cannot guess:
#   scheme = "..."          the land-use classification the `code` field follows
#                           ("gbt21010-2017" = GB/T 21010-2017, the 三调 base);
#   from = "<kind>"         a derived layer built from another layer ...
#   where = "code in X"     ... keeping the features whose code belongs to the named
#                           class X of that layer's scheme (forest = 03xx 林地,
#                           farmland = 01xx 耕地).
# Real data would also name a path, field mapping and encoding, e.g.
#   [layers.landuse] path = "三调/DLTB.shp", fields = {{ code = "DLBM" }}, encoding = "gbk"

[layers.landuse]
scheme = "gbt21010-2017"

[layers.forest_land]
from = "landuse"
where = "code in forest"

[layers.farmland]
from = "landuse"
where = "code in farmland"
"""


def environment() -> str:
    """The library versions the bytes of a build depend on (recorded in README.md)."""
    return (
        f"geoplan.sample format {SAMPLE_FORMAT}; numpy {np.__version__}; "
        f"shapely {shapely.__version__} (GEOS {shapely.geos_version_string}); "
        f"pyproj {pyproj.__version__} (PROJ {pyproj.proj_version_str}); "
        f"pyogrio {pyogrio.__version__} (GDAL {pyogrio.__gdal_version_string__}); "
        f"rasterio {rasterio.__version__} (GDAL {rasterio.__gdal_version__})"
    )


def _scenario_table(layer: SampleLayer, order: Sequence[str]) -> str:
    scen = layer.cols["scenario"]
    hits = layer.cols["expected_hits"]
    lines = ["| scenario | count | expected_hits seen |", "|---|---|---|"]
    for s in sorted(set(scen), key=lambda x: (order.index(x) if x in order else len(order), x)):
        hs = sorted({str(h) for sc, h in zip(scen, hits, strict=True) if sc == s})
        shown = "; ".join(f"`{h}`" if h else "(none)" for h in hs)
        lines.append(f"| `{s}` | {scen.count(s)} | {shown} |")
    return "\n".join(lines)


def _readme(w: World, counts: dict[str, int]) -> str:
    rows = []
    for kind in _LAYER_ORDER:
        k = KINDS[kind]
        epsg = _LAYER_CRS.get(kind, GEO_EPSG)
        geom = shapely.get_type_id(w.layers[kind].geoms[0])
        gname = {0: "point", 1: "line", 3: "polygon"}.get(int(geom), "mixed")
        rows.append(f"| `{kind}.gpkg` | {k.label_zh} / {k.label_en} | {gname} | {counts[kind]} "
                    f"| EPSG:{epsg} |")
    n_poly = sum(1 for g in w.houses.geoms if isinstance(g, Polygon) and not g.is_empty)
    n_pt = sum(1 for g in w.houses.geoms if isinstance(g, Point))
    rows_s = "\n".join(rows)
    dem_rows, dem_cols = w.frame.shape
    valid = w.dem[w.dem != NODATA]
    return f"""\
# geoplan sample workspace / geoplan 示例工作空间

**SYNTHETIC sample data generated by `geoplan.sample` — not real survey data.**
**合成示例数据，非真实测绘成果。** 本目录中的所有图层均由程序随机生成，仅用于演示和测试
geoplan，不得用于任何规划、审批或工程用途。

The area imitates the surroundings of Yining City (伊宁市, Ili, Xinjiang), about
{LON_RANGE[0]}–{LON_RANGE[1]}°E, {LAT_RANGE[0]}–{LAT_RANGE[1]}°N: the Ili river (伊犁河) with its
flood zones in the south, an irrigated plain with villages, hills with gullies,
landslides and debris-flow fans north of about 44.00°N. The township names (乡镇) are
the real townships of Yining City, assigned west to east for the demo; **village names,
boundaries, land use, hazards, power lines, terrain and every attribute are invented**
(村名均为虚构).

区域仿照伊宁市周边：南部为伊犁河及洪水淹没区，中部为灌溉平原和村庄，北部（约北纬44°以北）
为丘陵山地，有冲沟、滑坡和泥石流沟口扇形地。乡镇名称为伊宁市真实乡镇（本示例按由西向东分配），
村名、边界、地类、灾害、电网、地形及全部属性均为虚构。

## Files / 文件

One layer per GeoPackage, layer name = layer kind. 每个 GeoPackage 一个图层，图层名即图层类型。

| file | layer kind | geometry | features | CRS |
|---|---|---|---|---|
{rows_s}
| `dem.tif` | 数字高程模型 / Digital elevation model | raster {dem_cols}×{dem_rows}, {CELL:g} m, float32, nodata {NODATA:g} | — | EPSG:{WORK_EPSG} |
| `geoplan.toml` | workspace configuration / 工作空间配置 | | | |
| `batches/proposed_houses.gpkg` | proposed houses / 拟建农房 | points and footprints | {len(w.houses.geoms)} | EPSG:{GEO_EPSG} |
| `batches/proposed_roads.gpkg` | proposed roads / 拟建道路 | line | {len(w.roads.geoms)} | EPSG:{GEO_EPSG} |

Coordinate systems / 坐标系 (all CGCS2000 / 2000国家大地坐标系):

- EPSG:{GEO_EPSG} — geographic; stored x = longitude, y = latitude (GeoPackage convention). Most layers.
- EPSG:{ZONE_EPSG} — 3° Gauss-Krüger zone 27, false easting 27 500 000 m, as in real 三调 data: `landuse.gpkg`.
- EPSG:{WORK_EPSG} — 3° Gauss-Krüger CM 81°E, false easting 500 000 m (geoplan's working CRS
  for Yining): `power_line.gpkg`, `dem.tif`.

The DEM ranges from {valid.min():.0f} m (river) to {valid.max():.0f} m (hills); slopes above 25° occur
on the hill flanks. It has a small nodata hole in the north-eastern hills on purpose.
DEM 高程 {valid.min():.0f}–{valid.max():.0f} 米，东北部山区有一处刻意留下的无数据空洞。

Land use (`landuse.gpkg`, field `code`) follows GB/T 21010-2017 (三调 base): 01xx farmland
(耕地), 0201 orchards, 0301/0305/0307 forest (林地), 0401/0404 grass, 0702 rural homesteads,
1003/1006 roads, 1101 river water, 1104 ponds, 1202 facility farmland and a few urban
codes. `geoplan.toml` declares the scheme and derives `forest_land` and `farmland` from it.
`farmland_redline` (永久基本农田) is a dissolved subset of the farmland parcels.

## Batches / 待审批次

`batches/proposed_houses.gpkg` (layer `proposed_houses`, {len(w.houses.geoms)} rows: {n_poly}
footprint polygons, {n_pt} points, 2 without geometry). Fields: `house_id`, `village`,
`township`, `floors`, `scenario` — what the generator placed the site for — and
`expected_hits`, every constraint the generator's own geometric checks found the site to
touch (`;`-separated; empty for a clean site). A site is only accepted when each check
is clear-cut: inside a zone by at least 2 m or at least 5 m outside it; corridor and
setback distances away from the threshold; slope classes from 3×3 windows of the DEM
slope (numpy.gradient in metres). Thresholds used by the generator: power corridors
10 kV 5 m, 35/110 kV 10 m; gully 10 m; active fault 100 m; slope 15° and 25°; scattered
= more than 1 km from any village or urban boundary.

拟建农房批次：每条记录的 `scenario` 为生成器布设该点的目的（clean 为无任何冲突），
`expected_hits` 为生成器自身几何检查发现的全部冲突。

{_scenario_table(w.houses, list(HOUSE_SCENARIOS))}

`batches/proposed_roads.gpkg` (layer `proposed_roads`, {len(w.roads.geoms)} lines). Fields:
`road_id`, `name`, `class`, `width_m` (two roads have no width, two are narrower than 4 m),
`status` (proposed / rebuilt), `township`, `scenario`, `expected_hits` (road footprint =
centreline buffered by half the width, flat ends; overlaps above 10 m²).

拟建道路批次：道路占地按中心线两侧各加半幅路宽计算。

{_scenario_table(w.roads, list(ROAD_SCENARIOS))}

## Rebuild / 重新生成

```
python -m geoplan.datasets layers --overwrite
```

The build is deterministic: the same seed ({w.seed}) and library versions give
byte-identical files. 相同的随机种子和软件版本生成逐字节相同的文件。

Build environment: {environment()}
"""
