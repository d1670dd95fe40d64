"""Acceptance (issue 11): a delivery laid out the way a county bureau sends it.

``geoplan init`` → ``geoplan check`` → ``geoplan indicators`` on:

- ``三调/DLTB`` as a File Geodatabase feature class *or* a GBK Shapefile without
  ``.cpg`` (parametrised), land-use codes in DLBM, names in DLMC;
- ``饮用水水源保护区.shp`` (GBK, no ``.cpg``) whose ``保护级别`` holds
  ``一级保护区`` / ``二级保护区``;
- ``电力线.shp`` whose ``电压等级`` holds ``750kV``, ``10kV`` and blanks, and whose
  ``状态`` holds ``新建`` / ``改造`` / ``现状``;
- ``洪水淹没区.shp`` without ``.prj``, in CGCS2000 3° Gauss-Kruger zone 27 *with*
  the zone prefix (EPSG:4515);
- ``村庄.shp`` with 村名 / 乡镇 / 人口;
- houses in ``.xlsx`` with 经度 / 纬度, a per-row 坐标系 (WGS84, GCJ-02, CGCS2000)
  and some rows in degrees-minutes-seconds.

The only manual step is confirming the drafted ``geoplan.toml``: the test reads it
for what a planner would check and does not edit it. Every expected status
follows from where the test put things: house coordinates are made in EPSG:4536
metres and converted to degrees with pyproj; the flood zone is the same square
written with the zone prefix (easting + 27 000 000 m exactly); distances to the
lines are chosen (20 m, 0.4 m, 3 m) against the corridors of the rule pack (750 kV:
25 m; unknown voltage: fails inside the smallest corridor, 1 m); the indicator
lengths are the lengths of the lines drawn (3 km new 10 kV, 1.5 km rebuilt).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from pyproj import Transformer
from shapely.geometry import LineString, Point, box

from geoplan.cli import main
from geoplan.crs import wgs84_to_gcj02

openpyxl = pytest.importorskip("openpyxl")

X0, Y0 = 500_000.0, 4_860_000.0  # EPSG:4536, near Yining (81°E, 43.9°N)
TO_DEG = Transformer.from_crs(4536, 4490, always_xy=True)


def _gbk_shp(gdf: gpd.GeoDataFrame, path: Path, *, prj: bool = True) -> None:
    gdf.to_file(path, encoding="gbk")
    for ext in (".cpg",) + (() if prj else (".prj",)):
        side = path.with_suffix(ext)
        if side.exists():
            side.unlink()


def _dms(value: float, pos: str, neg: str) -> str:
    hemi = pos if value >= 0 else neg
    v = abs(value)
    d = int(v)
    m = int((v - d) * 60)
    s = (v - d - m / 60) * 3600
    return f"{d}°{m:02d}′{s:06.3f}″{hemi}"


# where things are, in EPSG:4536 metres relative to (X0, Y0)
LEVEL1 = box(0, 0, 200, 200)          # 一级保护区
LEVEL2 = box(400, 0, 600, 200)        # 二级保护区
FLOOD = box(0, 600, 300, 900)         # 洪水淹没区 (written in EPSG:4515)
LINE_750 = LineString([(1000, 0), (1000, 1000)])    # 750kV, 新建
LINE_NULL = LineString([(1500, 0), (1500, 1000)])   # voltage blank, 现状
LINE_10_NEW = LineString([(0, 2000), (3000, 2000)])  # 10kV 新建, 3 km
LINE_10_REB = LineString([(0, 2500), (1500, 2500)])  # 10kV 改造, 1.5 km

HOUSES = [  # (序号, 户主姓名, x, y, 坐标系, DMS?)
    (1, "阿不都", 100, 100, "WGS84", False),      # inside level 1 → fail
    (2, "古丽", 500, 100, "CGCS2000", False),     # inside level 2 → warn on l2
    (3, "王芳", 1020, 500, "WGS84", False),      # 20 m from 750 kV (25 m corridor) → fail
    (4, "李强", 1500.4, 500, "CGCS2000", False),  # 0.4 m from a line of unknown voltage → fail
    (5, "张伟", 1503, 500, "WGS84", False),      # 3 m from it → not_checked
    (6, "马丽", 150, 750, "GCJ-02", False),      # in the flood zone, given in GCJ-02 → fail
    (7, "艾力", 100, 120, "CGCS2000", True),     # in level 1 again, written in DMS → fail
    (8, "赵敏", 2200, 1200, "GCJ-02", True),     # clear of every zone and line → pass
]


def _rel(g):
    from shapely import affinity

    return affinity.translate(g, X0, Y0)


@pytest.fixture(params=["gdb", "shp"])
def delivery(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    d = tmp_path / "伊宁市交付"
    (d / "三调").mkdir(parents=True)
    dltb = gpd.GeoDataFrame(
        {"DLBM": ["0301", "0101", "0702"], "DLMC": ["乔木林地", "水田", "农村宅基地"]},
        geometry=[_rel(box(2000, 0, 2500, 500)), _rel(box(2600, 0, 3000, 400)),
                  _rel(box(0, 1200, 300, 1500))], crs=4536)
    if request.param == "gdb":
        dltb.to_file(d / "三调" / "DLTB.gdb", driver="OpenFileGDB", layer="DLTB")
    else:
        _gbk_shp(dltb, d / "三调" / "DLTB.shp")
    _gbk_shp(gpd.GeoDataFrame({"保护级别": ["一级保护区", "二级保护区"],
                               "名称": ["伊犁河水源地", "伊犁河水源地"]},
                              geometry=[_rel(LEVEL1), _rel(LEVEL2)], crs=4536),
             d / "饮用水水源保护区.shp")
    _gbk_shp(gpd.GeoDataFrame(
        {"电压等级": ["750kV", None, "10kV", "10kV"], "状态": ["新建", "现状", "新建", "改造"]},
        geometry=[_rel(LINE_750), _rel(LINE_NULL), _rel(LINE_10_NEW), _rel(LINE_10_REB)],
        crs=4536), d / "电力线.shp")
    from shapely import affinity

    flood_4515 = affinity.translate(_rel(FLOOD), 27_000_000.0, 0.0)  # zone prefix 27
    _gbk_shp(gpd.GeoDataFrame({"名称": ["伊犁河洪泛区"]}, geometry=[flood_4515], crs=4515),
             d / "洪水淹没区.shp", prj=False)
    _gbk_shp(gpd.GeoDataFrame({"村名": ["英也尔村", "塔格其村"], "乡镇": ["英也尔镇", "英也尔镇"],
                               "人口": [1200, 800]},
                              geometry=[_rel(Point(300, 300)), _rel(Point(2500, 1500))], crs=4536),
             d / "村庄.shp")
    return d


def _houses_xlsx(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "拟建农房"
    ws.append(["序号", "户主姓名", "经度", "纬度", "坐标系"])
    for sid, name, x, y, system, dms in HOUSES:
        lon, lat = TO_DEG.transform(X0 + x, Y0 + y)
        if system == "GCJ-02":
            lon, lat = wgs84_to_gcj02(lon, lat)
        if dms:
            ws.append([sid, name, _dms(lon, "E", "W"), _dms(lat, "N", "S"), system])
        else:
            ws.append([sid, name, round(lon, 9), round(lat, 9), system])
    wb.save(path)


def test_delivery_init_check_indicators(delivery: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    # 1. geoplan init: the draft a planner confirms
    out = runner.invoke(main, ["init", str(delivery)])
    assert out.exit_code == 0, out.output
    toml = (delivery / "geoplan.toml").read_text(encoding="utf-8")
    assert "[layers.landuse]" in toml
    assert 'values.level = { "一级保护区" = "1", "二级保护区" = "2" }' in toml
    assert '"新建" = "new"' in toml
    assert '"改造" = "rebuilt"' in toml
    assert 'crs = "EPSG:4515"' in toml  # proposed for the layer without .prj
    assert "[layers.forest_land]" in toml

    out = runner.invoke(main, ["layers", str(delivery)])
    assert out.exit_code == 0, out.output
    assert "level values read as: 一级保护区 → 1 ×1, 二级保护区 → 2 ×1" in out.output
    assert "(folder, not read)" not in out.output  # 三调/ holds the landuse layer in use

    # 2. geoplan check on the Excel sheet
    sites = tmp_path / "拟建农房.xlsx"
    _houses_xlsx(sites)
    res_dir = tmp_path / "out"
    out = runner.invoke(main, ["check", str(sites), "-w", str(delivery), "--out", str(res_dir),
                               "-q"])
    assert out.exit_code == 0, out.output
    with (res_dir / "findings.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    status = {(r["site_id"], r["rule_id"]): r["status"] for r in rows}
    assert len({r["site_id"] for r in rows}) == len(HOUSES)
    expected = {
        ("1", "house.water_source_l1"): "fail",
        ("2", "house.water_source_l1"): "pass", ("2", "house.water_source_l2"): "warn",
        ("3", "house.power_line"): "fail",
        ("4", "house.power_line"): "fail",
        ("5", "house.power_line"): "not_checked",
        ("6", "house.flood_zone"): "fail",
        ("7", "house.water_source_l1"): "fail",
        ("8", "house.water_source_l1"): "pass", ("8", "house.water_source_l2"): "pass",
        ("8", "house.power_line"): "pass", ("8", "house.flood_zone"): "pass",
        ("1", "house.flood_zone"): "pass", ("6", "house.water_source_l1"): "pass",
    }
    got = {k: status.get(k) for k in expected}
    assert got == expected
    summary = json.loads((res_dir / "summary.json").read_text(encoding="utf-8"))
    flood = next(r for r in summary["layers"] if r["kind"] == "flood_zone")
    assert flood["crs"] == "EPSG:4515"
    assert all(r["site_id"] for r in rows)

    # 3. geoplan indicators: 3 km of new 10 kV line, 1.5 km rebuilt
    ind_dir = tmp_path / "ind"
    out = runner.invoke(main, ["indicators", str(delivery), "--out", str(ind_dir),
                               "--no-map"])
    assert out.exit_code == 0, out.output
    with (ind_dir / "indicators.csv").open(encoding="utf-8-sig", newline="") as fh:
        ind = [r for r in csv.DictReader(fh) if r["level"] == "city"]
    measure = {r["indicator_id"]: r["measure"] for r in ind}
    assert float(measure["power.10kv_new_km"]) == pytest.approx(3.0)
    assert float(measure["power.10kv_rebuilt_km"]) == pytest.approx(1.5)
