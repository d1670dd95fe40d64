"""What a check discloses: every transformation of the sites, the real workspace, local time."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import geopandas as gpd
import pytest
from click.testing import CliRunner
from conftest import SAMPLE, map_payload
from shapely.geometry import Point

import geoplan
from geoplan.cli import main
from geoplan.engine.prepare import note_zh

HOUSES = SAMPLE / "batches" / "proposed_houses.gpkg"


def test_nominal_footprints_and_reprojection_are_stated(tmp_path: Path) -> None:
    res = geoplan.check(HOUSES, SAMPLE, footprint_m=12)
    steps = {t["step"]: t for t in res.summary["site_transformations"]}
    n_points = int((res.verdicts.geometry.geom_type == "Point").sum())
    assert steps["nominal_footprint"]["sites"] == n_points > 0
    assert steps["nominal_footprint"]["zh"] == "点位按 12 米见方的名义宅基计（非实测范围）"
    assert steps["reproject"]["en"] == "reprojected from EPSG:4490 to the working CRS EPSG:4536"
    assert steps["reproject"]["sites"] == len(res.verdicts)
    html = res.report(offline=True)
    assert "What was done to the sites" in html
    assert "点位按 12 米见方的名义宅基计" in html
    # a failing point's section and popup say its measures are on the nominal footprint
    assert "名义宅基上量得 on the nominal footprint" in html
    data = map_payload(res.map(offline=True))
    nominal = [f["properties"] for f in data["sites"]["features"] if f["properties"].get("nom")]
    assert len(nominal) == n_points
    assert "point buffered to a 12 m square" in nominal[0]["o"]
    # a polygon site is measured, not nominal
    assert not all(f["properties"].get("nom") for f in data["sites"]["features"])


def test_no_transformation_is_said_so(tmp_path: Path) -> None:
    sites = gpd.GeoDataFrame({"house_id": ["A"]},
                             geometry=[Point(524_000, 4_865_000).buffer(6, cap_style="square")],
                             crs=4536)
    res = geoplan.check(sites, SAMPLE, id_field="house_id")
    assert res.summary["site_transformations"] == []
    assert "the sites were checked as given" in res.report(offline=True, include_map=False)


def test_gcj02_conversion_is_stated(tmp_path: Path) -> None:
    pts = gpd.GeoDataFrame({"house_id": ["A", "B"]},
                           geometry=[Point(81.30, 43.95), Point(81.31, 43.95)], crs=4326)
    res = geoplan.check(pts, SAMPLE, id_field="house_id", gcj02=True, footprint_m=10)
    steps = [t["step"] for t in res.summary["site_transformations"]]
    assert steps[0] == "gcj02"
    gcj = res.summary["site_transformations"][0]
    assert gcj["sites"] == 2
    assert "GCJ-02" in gcj["zh"]


def test_time_is_china_standard_time_with_its_offset() -> None:
    res = geoplan.check(HOUSES, SAMPLE)
    utc = dt.datetime.fromisoformat(res.summary["started_utc"])
    local = dt.datetime.fromisoformat(res.summary["started_local"])
    assert local.utcoffset() == dt.timedelta(hours=8)
    assert local == utc                                   # the same instant
    assert res.summary["started_local"].endswith("+08:00")
    html = res.report(offline=True, include_map=False)
    assert f"{local:%Y-%m-%d %H:%M:%S} 北京时间 Asia/Shanghai (UTC+08:00)" in html


def test_the_workspace_is_named_by_its_real_path(tmp_path: Path) -> None:
    old = Path.cwd()
    os.chdir(SAMPLE)
    try:
        out = tmp_path / "o"
        r = CliRunner().invoke(main, ["check", "batches/proposed_houses.gpkg", "-w", ".",
                                      "-q", "-o", str(out)])
    finally:
        os.chdir(old)
    assert r.exit_code == 0, r.output
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["workspace"] == str(SAMPLE.resolve())
    assert s["workspace"] != "."


@pytest.mark.parametrize("note", ["point buffered to a 7.5 m square",
                                  "invalid geometry repaired with make_valid",
                                  "GeometryCollection checked on its polygon part"])
def test_every_site_note_has_chinese(note: str) -> None:
    assert note_zh(note) != note
