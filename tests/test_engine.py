"""Each rule kind on tiny synthetic geometries whose answers were worked out by hand.

Coordinates are in EPSG:4536 metres around (X0, Y0); every expected area and
distance below is plane geometry a reader can verify on paper.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import X0, Y0, gk
from shapely import LineString, MultiPolygon, Point, Polygon, box

import geoplan
from geoplan.result import check
from geoplan.rules import load_pack

MU = 10_000 / 15  # m² per 亩


def make_ws(tmp_path: Path, **layers: gpd.GeoDataFrame) -> geoplan.Workspace:
    d = tmp_path / "ws"
    d.mkdir(parents=True, exist_ok=True)
    toml = []
    for kind, gdf in layers.items():
        gdf.to_file(d / f"{kind}.gpkg")
        if kind == "landuse":
            toml.append('[layers.landuse]\nscheme = "gbt21010-2017"\n')
    if toml:
        (d / "geoplan.toml").write_text("\n".join(toml), encoding="utf-8")
    return geoplan.open_workspace(d)


def make_pack(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "pack.toml"
    p.write_text('[pack]\nname = "t"\nversion = "1"\n' + body, encoding="utf-8")
    return p


def find(res, site: str, rule: str) -> dict:
    f = res.findings
    row = f[(f.site_id == site) & (f.rule_id == rule)]
    assert len(row) == 1, (site, rule)
    return row.iloc[0].to_dict()


AVOID = """
[[rules]]
id = "h.zone"
subject = "house"
kind = "avoid"
layer = "flood_zone"
severity = "fail"
clause = "(十一)"
title_zh = "避让"
title_en = "avoid"
tolerance_m2 = 1.0
"""

# ----------------------------------------------------------------- avoid / overlap


def _sites(*geoms, ids=None) -> gpd.GeoDataFrame:
    ids = ids or [f"s{i}" for i in range(1, len(geoms) + 1)]
    return gk(geoms, site_id=ids)


def test_avoid_overlap_area_by_hand(tmp_path: Path) -> None:
    zone = gk([box(X0, Y0, X0 + 100, Y0 + 100)], level=["1"])
    ws = make_ws(tmp_path, flood_zone=zone)
    sites = _sites(
        box(X0 - 10, Y0 + 10, X0 + 10, Y0 + 30),    # 10 × 20 inside → 200 m²
        box(X0 + 100, Y0, X0 + 120, Y0 + 20),       # touches the east edge only → 0
        box(X0 - 20.5, Y0, X0 + 0.5, Y0 + 1),       # 0.5 m² sliver → below tolerance
        box(X0 - 20, Y0, X0 + 1.5, Y0 + 1),         # 1.5 m² → over tolerance
        box(X0 + 40, Y0 + 40, X0 + 60, Y0 + 60),    # fully inside → 400 m²
    )
    res = check(sites, ws, rules=make_pack(tmp_path, AVOID))
    a = find(res, "s1", "h.zone")
    assert a["status"] == "fail"
    assert a["measure"] == pytest.approx(200.0)
    assert a["unit"] == "m2"
    assert "0.300 mu" in a["message_en"]
    assert "0.300 亩" in a["message_zh"]
    assert find(res, "s2", "h.zone")["status"] == "pass"
    assert find(res, "s2", "h.zone")["measure"] == 0
    s3 = find(res, "s3", "h.zone")
    assert s3["status"] == "pass"
    assert s3["measure"] == pytest.approx(0.5)
    assert find(res, "s4", "h.zone")["status"] == "fail"
    assert find(res, "s5", "h.zone")["measure"] == pytest.approx(400.0)
    # Evidence: the overlap geometry of each failing site, with its area.
    ev = res.evidence.set_index("site_id")
    assert ev.loc["s1", "area_m2"] == pytest.approx(200.0)
    assert ev.loc["s1", "area_mu"] == pytest.approx(200.0 / MU)
    assert "s2" not in ev.index


def test_zone_with_hole_and_multipart(tmp_path: Path) -> None:
    ring = Polygon(box(X0, Y0, X0 + 100, Y0 + 100).exterior.coords,
                   [box(X0 + 25, Y0 + 25, X0 + 75, Y0 + 75).exterior.coords])
    two = MultiPolygon([box(X0 + 200, Y0, X0 + 210, Y0 + 10), box(X0 + 220, Y0, X0 + 230, Y0 + 10)])
    ws = make_ws(tmp_path, flood_zone=gk([ring, two], level=["1", "2"]))
    sites = _sites(
        box(X0 + 40, Y0 + 40, X0 + 60, Y0 + 60),    # inside the hole → no overlap
        box(X0 + 20, Y0 + 40, X0 + 30, Y0 + 50),    # half on the ring (x 20–25) → 50 m²
        box(X0 + 205, Y0, X0 + 225, Y0 + 10),       # 5×10 on each part → 100 m²
    )
    res = check(sites, ws, rules=make_pack(tmp_path, AVOID))
    assert find(res, "s1", "h.zone")["status"] == "pass"
    assert find(res, "s2", "h.zone")["measure"] == pytest.approx(50.0)
    assert find(res, "s3", "h.zone")["measure"] == pytest.approx(100.0)


def test_overlapping_zone_features_are_not_double_counted(tmp_path: Path) -> None:
    z = box(X0, Y0, X0 + 100, Y0 + 100)
    ws = make_ws(tmp_path, flood_zone=gk([z, z.buffer(0), box(X0 + 50, Y0, X0 + 150, Y0 + 100)],
                                         level=["1", "1", "2"]))
    res = check(_sites(box(X0 + 40, Y0, X0 + 60, Y0 + 10)), ws, rules=make_pack(tmp_path, AVOID))
    f = find(res, "s1", "h.zone")
    assert f["measure"] == pytest.approx(200.0)  # 20 × 10, once
    assert sorted(f["matched"].split(";")) == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("site", "expected"),
    [
        pytest.param(box(X0 - 10, Y0, X0 + 10, Y0 + 10), 100.0, id="polygon"),
        pytest.param(MultiPolygon([box(X0 - 10, Y0, X0 + 10, Y0 + 10),
                                   box(X0 + 50, Y0, X0 + 55, Y0 + 10)]), 150.0, id="multipart"),
        pytest.param(Polygon(box(X0, Y0, X0 + 20, Y0 + 20).exterior.coords,
                             [box(X0 + 5, Y0 + 5, X0 + 15, Y0 + 15).exterior.coords]),
                     300.0, id="site-with-courtyard"),
        pytest.param(Polygon([(X0, Y0), (X0 + 20, Y0 + 20), (X0 + 20, Y0), (X0, Y0 + 20)]),
                     200.0, id="bowtie-repaired"),
    ],
)
def test_site_geometry_types(tmp_path: Path, site, expected: float) -> None:
    ws = make_ws(tmp_path, flood_zone=gk([box(X0, Y0, X0 + 100, Y0 + 100)], level=["1"]))
    res = check(_sites(site), ws, rules=make_pack(tmp_path, AVOID))
    f = find(res, "s1", "h.zone")
    assert f["status"] == "fail"
    assert f["measure"] == pytest.approx(expected)


def test_point_sites_inside_on_edge_and_footprint(tmp_path: Path) -> None:
    ws = make_ws(tmp_path, flood_zone=gk([box(X0, Y0, X0 + 100, Y0 + 100)], level=["1"]))
    sites = _sites(Point(X0 + 50, Y0 + 50), Point(X0 + 100, Y0 + 50), Point(X0 + 130, Y0 + 50))
    res = check(sites, ws, rules=make_pack(tmp_path, AVOID))
    assert find(res, "s1", "h.zone")["status"] == "fail"
    assert find(res, "s2", "h.zone")["status"] == "pass"  # on the boundary: touches only
    far = find(res, "s3", "h.zone")
    assert far["status"] == "pass"
    assert far["measure"] == pytest.approx(30.0)
    # With a 12 m nominal footprint the edge point overlaps 6 × 12 = 72 m².
    res2 = check(sites, ws, rules=make_pack(tmp_path, AVOID), footprint_m=12)
    edge = find(res2, "s2", "h.zone")
    assert edge["status"] == "fail"
    assert edge["measure"] == pytest.approx(72.0)


# ----------------------------------------------------------------- setback


SETBACK = """
[[rules]]
id = "h.gully"
subject = "house"
kind = "setback"
layer = "gully"
severity = "fail"
clause = "(十一)"
title_zh = "冲沟"
title_en = "gully"
distance_m = { value = 10.0, source = "test", verified = false }
"""


@pytest.mark.parametrize(("gap", "status"), [(9.99, "fail"), (10.0, "pass"), (10.01, "pass"),
                                             (0.0, "fail")])
def test_setback_exactly_at_inside_outside(tmp_path: Path, gap: float, status: str) -> None:
    ws = make_ws(tmp_path, gully=gk([LineString([(X0, Y0), (X0 + 500, Y0)])]))
    site = box(X0 + 100, Y0 + gap, X0 + 110, Y0 + gap + 10)
    res = check(_sites(site), ws, rules=make_pack(tmp_path, SETBACK))
    f = find(res, "s1", "h.gully")
    assert f["status"] == status
    assert f["measure"] == pytest.approx(gap, abs=1e-9)
    assert f["threshold"] == 10.0


def test_setback_distance_table_by_voltage(tmp_path: Path) -> None:
    lines = gk([LineString([(X0, Y0), (X0 + 500, Y0)]),            # 10 kV → 5 m
                LineString([(X0, Y0 + 100), (X0 + 500, Y0 + 100)]),  # 110 kV → 10 m
                LineString([(X0, Y0 + 200), (X0 + 500, Y0 + 200)]),  # no voltage
                LineString([(X0, Y0 + 300), (X0 + 500, Y0 + 300)])],  # 750 kV → 25 m (unverified)
               voltage_kv=[10.0, 110.0, None, 750.0])
    ws = make_ws(tmp_path, power_line=lines)
    pack = load_pack("yining-2025")
    sites = _sites(
        box(X0 + 10, Y0 + 7, X0 + 20, Y0 + 17),     # 7 m from 10 kV → pass
        box(X0 + 10, Y0 + 83, X0 + 20, Y0 + 93),    # 7 m from 110 kV → fail (10 m)
        box(X0 + 10, Y0 + 110, X0 + 20, Y0 + 120),  # exactly 10 m from 110 kV → pass
        box(X0 + 10, Y0 + 205, X0 + 20, Y0 + 215),  # 5 m from the line with no voltage
        box(X0 + 10, Y0 + 305, X0 + 20, Y0 + 315),  # 5 m from 750 kV
        box(X0 + 10, Y0 + 3, X0 + 20, Y0 + 13),     # 3 m from 10 kV → fail (5 m)
    )
    res = check(sites, ws, rules=pack)
    r = "house.power_line"
    assert find(res, "s1", r)["status"] == "pass"
    s2 = find(res, "s2", r)
    assert s2["status"] == "fail"
    assert s2["measure"] == pytest.approx(7.0)
    assert s2["threshold"] == 10.0
    assert s2["matched"] == "2"
    assert find(res, "s3", r)["status"] == "pass"
    assert find(res, "s4", r)["status"] == "not_checked"
    assert "voltage_kv" in find(res, "s4", r)["message_en"]
    s5 = find(res, "s5", r)  # 750 kV rows were added (issue 11): 5 m < 25 m
    assert (s5["status"], s5["threshold"]) == ("fail", 25.0)
    s6 = find(res, "s6", r)
    assert s6["status"] == "fail"
    assert s6["threshold"] == 5.0
    # Evidence: the part of s6 within 5 m of the 10 kV line = 10 × 2 m.
    ev = res.evidence[(res.evidence.site_id == "s6") & (res.evidence.rule_id == r)]
    assert ev["area_m2"].sum() == pytest.approx(20.0, rel=1e-3)


# ----------------------------------------------------------------- within / proximity


def test_within_boundary_outside_area(tmp_path: Path) -> None:
    vb = gk([box(X0, Y0, X0 + 100, Y0 + 100)], village=["甲村"])
    ws = make_ws(tmp_path, village_boundary=vb)
    pack = load_pack("yining-2025")
    sites = _sites(box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20),      # inside
                   box(X0 + 95, Y0 + 10, X0 + 105, Y0 + 20),     # 5 × 10 outside → 50 m²
                   box(X0 + 800, Y0, X0 + 810, Y0 + 10),         # 700 m away: outside + scattered
                   Point(X0 + 100, Y0 + 50))                     # point on the boundary: inside
    res = check(sites, ws, rules=pack)
    assert find(res, "s1", "house.village_boundary")["status"] == "pass"
    s2 = find(res, "s2", "house.village_boundary")
    assert s2["status"] == "warn"
    assert s2["measure"] == pytest.approx(50.0)
    assert find(res, "s3", "house.village_boundary")["measure"] == pytest.approx(100.0)
    assert find(res, "s4", "house.village_boundary")["status"] == "pass"
    sc = find(res, "s3", "house.scattered")
    assert sc["status"] == "warn"
    assert sc["measure"] == pytest.approx(700.0)
    assert find(res, "s2", "house.scattered")["status"] == "pass"


# ----------------------------------------------------------------- roads


def test_road_footprint_on_forest_land_m2_and_mu(tmp_path: Path) -> None:
    # A 100 m road, 6 m wide, flat caps → 600 m². The forest parcel covers x 0–50.
    landuse = gk([box(X0, Y0 - 50, X0 + 50, Y0 + 50), box(X0 + 50, Y0 - 50, X0 + 200, Y0 + 50)],
                 code=["0301", "0702"])
    d = tmp_path / "ws"
    d.mkdir()
    landuse.to_file(d / "landuse.gpkg")
    (d / "geoplan.toml").write_text(
        '[layers.landuse]\nscheme = "gbt21010-2017"\n'
        '[layers.forest_land]\nfrom = "landuse"\nwhere = "code in forest"\n', encoding="utf-8")
    ws = geoplan.open_workspace(d)
    roads = gk([LineString([(X0, Y0), (X0 + 100, Y0)]),
                LineString([(X0, Y0 + 10), (X0 + 100, Y0 + 10)]),
                LineString([(X0, Y0 + 20), (X0 + 100, Y0 + 20)])],
               road_id=["R1", "R2", "R3"], width_m=[6.0, None, 3.5])
    res = check(roads, ws)
    assert res.subject == "road"
    r1 = find(res, "R1", "road.forest_land")
    assert r1["status"] == "warn"
    assert r1["measure"] == pytest.approx(300.0)          # 50 m × 6 m
    assert "0.450 亩" in r1["message_zh"]                   # 300 / 666.67
    r2 = find(res, "R2", "road.forest_land")
    assert r2["status"] == "not_checked"
    assert "width" in r2["message_en"]
    assert find(res, "R2", "road.width")["status"] == "not_checked"
    assert find(res, "R3", "road.width")["status"] == "warn"
    assert find(res, "R1", "road.width")["status"] == "pass"
    assert find(res, "R3", "road.forest_land")["measure"] == pytest.approx(175.0)  # 50 × 3.5
    # Missing layers for the other road rules are not_checked, never pass.
    assert find(res, "R1", "road.farmland_redline")["status"] == "not_checked"


def test_road_width_exactly_at_minimum_passes(tmp_path: Path) -> None:
    ws = make_ws(tmp_path, flood_zone=gk([box(X0, Y0, X0 + 10, Y0 + 10)]))
    roads = gk([LineString([(X0, Y0 + 50), (X0 + 100, Y0 + 50)])], road_id=["R"], width_m=[4.0])
    assert find(check(roads, ws), "R", "road.width")["status"] == "pass"


# ----------------------------------------------------------------- points, context, where


def test_old_tree_inside_footprint_and_point_sites(tmp_path: Path) -> None:
    ws = make_ws(tmp_path, old_tree=gk([Point(X0 + 5, Y0 + 5)], species=["白榆"]))
    sites = _sites(box(X0, Y0, X0 + 10, Y0 + 10), box(X0 + 20, Y0, X0 + 30, Y0 + 10),
                   Point(X0 + 5, Y0 + 5))
    res = check(sites, ws)
    assert find(res, "s1", "house.old_tree")["status"] == "fail"
    assert find(res, "s1", "house.old_tree")["measure"] == 1
    assert find(res, "s2", "house.old_tree")["status"] == "pass"
    assert find(res, "s3", "house.old_tree")["status"] == "not_checked"


def test_context_relocate_merge_by_name_and_nearest(tmp_path: Path) -> None:
    villages = gk([Point(X0, Y0), Point(X0 + 5000, Y0)], name=["甲村", "乙村"],
                  layout_class=["搬迁撤并", "集聚提升"])
    # a far-off layer widens the workspace extent so that site d is inside it
    ws = make_ws(tmp_path, village=villages,
                 flood_zone=gk([box(X0, Y0 + 9500, X0 + 10, Y0 + 9510)]))
    sites = gk([box(X0 + 4900, Y0, X0 + 4910, Y0 + 10),   # near 乙村 but says 甲村
                box(X0 + 100, Y0, X0 + 110, Y0 + 10),     # no name: nearest is 甲村
                box(X0 + 4900, Y0, X0 + 4910, Y0 + 10),   # no name: nearest is 乙村
                box(X0 + 2500, Y0 + 9000, X0 + 2510, Y0 + 9010)],  # nothing within 3 km
               site_id=["a", "b", "c", "d"], village=["甲村", None, None, None])
    res = check(sites, ws)
    r = "house.relocate_merge"
    assert find(res, "a", r)["status"] == "warn"
    assert find(res, "b", r)["status"] == "warn"
    assert find(res, "c", r)["status"] == "pass"
    assert find(res, "d", r)["status"] == "not_checked"


def test_context_same_name_takes_the_nearest_of_that_name(tmp_path: Path) -> None:
    """Two villages share a name: each site naming it gets the nearer of the two, not the first."""
    villages = gk([Point(X0, Y0), Point(X0 + 5000, Y0), Point(X0 + 2500, Y0)],
                  name=["甲村", "甲村", "乙村"], layout_class=["搬迁撤并", "集聚提升", "搬迁撤并"])
    ws = make_ws(tmp_path, village=villages)
    sites = gk([box(X0 + 100, Y0, X0 + 110, Y0 + 10),      # 甲村: the first one is nearer
                box(X0 + 4900, Y0, X0 + 4910, Y0 + 10),    # 甲村委会: the second is nearer
                box(X0 + 4800, Y0, X0 + 4810, Y0 + 10),    # 乙村: by name, not the nearest
                box(X0 + 200, Y0, X0 + 210, Y0 + 10),      # 甲村 again, after other names
                box(X0 + 300, Y0, X0 + 310, Y0 + 10)],     # a name no feature has
               site_id=["a", "b", "c", "d", "e"], village=["甲村", "甲村委会", "乙村", "甲村", "丙村"])
    res = check(sites, ws)
    r = "house.relocate_merge"
    assert [find(res, s, r)["status"] for s in "abcde"] == [
        "warn", "pass", "warn", "warn", "not_checked"]


def test_where_filter_splits_levels(tmp_path: Path) -> None:
    l1 = box(X0, Y0, X0 + 50, Y0 + 50)
    l2 = Polygon(box(X0 - 200, Y0 - 200, X0 + 250, Y0 + 250).exterior.coords, [l1.exterior.coords])
    ws = make_ws(tmp_path, water_source_zone=gk([l1, l2], level=["1", "2"]))
    res = check(_sites(box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20),
                       box(X0 + 100, Y0 + 100, X0 + 110, Y0 + 110)), ws)
    assert find(res, "s1", "house.water_source_l1")["status"] == "fail"
    assert find(res, "s1", "house.water_source_l2")["status"] == "pass"
    assert find(res, "s2", "house.water_source_l1")["status"] == "pass"
    assert find(res, "s2", "house.water_source_l2")["status"] == "warn"


# ----------------------------------------------------------------- statuses and invariants


def test_missing_layer_is_never_pass(tmp_path: Path) -> None:
    ws = make_ws(tmp_path, flood_zone=gk([box(X0, Y0, X0 + 10, Y0 + 10)]))
    res = check(_sites(box(X0 + 500, Y0, X0 + 510, Y0 + 10)), ws)
    f = res.findings.set_index("rule_id")
    assert f.loc["house.flood_zone", "status"] == "pass"
    others = f.drop(index="house.flood_zone")
    assert set(others["status"]) == {"not_checked"}
    assert res.verdicts["verdict"].iloc[0] == "not_checked"
    first = res.summary["rules_not_checked"]
    assert {r["rule_id"] for r in first} >= {"house.landslide", "house.slope"}


def test_removing_a_layer_turns_its_rule_not_checked(tmp_path: Path) -> None:
    zone = gk([box(X0, Y0, X0 + 100, Y0 + 100)])
    site = _sites(box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20))
    with_layer = check(site, make_ws(tmp_path / "a", flood_zone=zone,
                                     landslide_zone=zone))
    without = check(site, make_ws(tmp_path / "b", landslide_zone=zone))
    assert find(with_layer, "s1", "house.flood_zone")["status"] == "fail"
    assert find(without, "s1", "house.flood_zone")["status"] == "not_checked"


def test_error_sites_are_kept_with_error_status(tmp_path: Path) -> None:
    ws = make_ws(tmp_path, flood_zone=gk([box(X0, Y0, X0 + 100, Y0 + 100)]))
    sites = gpd.GeoDataFrame(
        {"site_id": ["ok", "empty", "none", "far"], "owner": ["甲", "乙", "丙", "丁"]},
        geometry=[box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20), Polygon(), None,
                  box(X0 + 90_000, Y0, X0 + 90_010, Y0 + 10)],
        crs=4536, index=[10, 20, 30, 40])
    res = check(sites, ws, rules=make_pack(tmp_path, AVOID))
    v = res.verdicts
    assert list(v.index) == [10, 20, 30, 40]              # input index kept
    assert list(v["owner"]) == ["甲", "乙", "丙", "丁"]     # attributes kept
    assert list(v["verdict"]) == ["fail", "error", "error", "error"]
    assert "outside the workspace" in find(res, "far", "h.zone")["message_en"]


def test_swapped_site_coordinates_are_errors_not_passes(tmp_path: Path) -> None:
    ws = make_ws(tmp_path, flood_zone=gk([box(X0, Y0, X0 + 100, Y0 + 100)]))
    sites = gpd.GeoDataFrame({"site_id": ["good", "swapped"]},
                             geometry=[Point(81.3, 43.92), Point(43.92, 81.3)], crs=4490)
    res = check(sites, ws, rules=make_pack(tmp_path, AVOID))
    assert find(res, "swapped", "h.zone")["status"] == "error"
    assert "swapped" in find(res, "swapped", "h.zone")["message_en"]


def test_results_equal_in_4490_and_4536(tmp_path: Path) -> None:
    ws = make_ws(tmp_path, flood_zone=gk([box(X0, Y0, X0 + 100, Y0 + 100)]),
                 gully=gk([LineString([(X0, Y0 - 50), (X0 + 500, Y0 - 50)])]))
    sites = _sites(box(X0 - 10, Y0 + 10, X0 + 10, Y0 + 30), box(X0 + 200, Y0 - 43, X0 + 210, Y0 - 33))
    body = AVOID + SETBACK
    a = check(sites, ws, rules=make_pack(tmp_path, body))
    b = check(sites.to_crs(4490), ws, rules=make_pack(tmp_path, body))
    fa = a.findings.set_index(["site_id", "rule_id"])
    fb = b.findings.set_index(["site_id", "rule_id"])
    assert (fa["status"] == fb["status"]).all()
    assert fb.loc[("s1", "h.zone"), "measure"] == pytest.approx(
        fa.loc[("s1", "h.zone"), "measure"], rel=1e-3)
    assert fb.loc[("s2", "h.gully"), "measure"] == pytest.approx(7.0, abs=0.01)


def test_duplicate_ids_refused(tmp_path: Path) -> None:
    ws = make_ws(tmp_path, flood_zone=gk([box(X0, Y0, X0 + 10, Y0 + 10)]))
    sites = gk([Point(X0, Y0), Point(X0 + 1, Y0)], code=["A", "A"])
    with pytest.raises(geoplan.SiteInputError, match="duplicate"):
        check(sites, ws, id_field="code")
    # Without --id-field the rows are numbered and nothing is lost.
    res = check(sites, ws)
    assert list(res.verdicts["site_id"]) == ["1", "2"]


def test_outputs_written_and_csv_has_bom(tmp_path: Path) -> None:
    import json

    import pyogrio

    ws = make_ws(tmp_path, flood_zone=gk([box(X0, Y0, X0 + 100, Y0 + 100)], name=["洪水区"]))
    res = check(_sites(box(X0 - 10, Y0, X0 + 10, Y0 + 10), box(X0 + 300, Y0, X0 + 310, Y0 + 10)),
                ws)
    files = res.to_files(tmp_path / "out")
    names = {p.name for p in files}
    assert {"findings.csv", "verdicts.csv", "results.gpkg", "summary.json"} <= names
    raw = (tmp_path / "out" / "verdicts.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    layers = {n for n, _ in pyogrio.list_layers(tmp_path / "out" / "results.gpkg")}
    assert layers == {"verdicts", "findings", "evidence"}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["verdicts"]["fail"] == 1
    assert summary["rules_not_checked"]            # most layers are missing here
    assert summary["layers"][0]["sha256"]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".geoplan-")]


def test_pack_errors_name_file_rule_field(tmp_path: Path) -> None:
    bad = make_pack(tmp_path, AVOID.replace('kind = "avoid"', 'kind = "avoidd"'))
    with pytest.raises(geoplan.RulePackError, match=r"pack.toml: rule 'h.zone', field 'kind'"):
        load_pack(bad)


def test_unused_layers_do_not_matter(tmp_path: Path) -> None:
    # Sanity: many layers, one site far from all of them → pass on each measured rule.
    ws = make_ws(tmp_path, flood_zone=gk([box(X0, Y0, X0 + 10, Y0 + 10)]),
                 gully=gk([LineString([(X0, Y0), (X0 + 10, Y0)])]))
    res = check(_sites(box(X0 + 500, Y0 + 500, X0 + 510, Y0 + 510)), ws)
    f = res.findings.set_index("rule_id")
    assert f.loc["house.flood_zone", "status"] == "pass"
    assert f.loc["house.gully", "status"] == "pass"
    # 700 m (hypot(490, 500)) is beyond the reporting radius: said so, not measured
    assert np.isnan(f.loc["house.gully", "measure"])
    assert f.loc["house.gully", "message_en"].endswith("more than 200 m from the nearest Gully")


# ----------------------------------------------------------------- raster, percent, CRS at scale


def _plane_dem(path: Path, slope_deg: float) -> None:
    """A DEM plane rising east at a known angle: z = tan(angle) · x (30 m cells)."""
    import rasterio
    from rasterio.transform import from_origin

    n = 60
    x = (np.arange(n) + 0.5) * 30.0
    z = np.tile(np.tan(np.radians(slope_deg)) * x, (n, 1)).astype("float64")
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float64",
                       crs="EPSG:4536", transform=from_origin(X0, Y0 + n * 30, 30, 30),
                       nodata=-9999) as dst:
        dst.write(z, 1)


@pytest.mark.parametrize(("angle", "status"), [(30.0, "fail"), (20.0, "warn"), (5.0, "pass"),
                                               (25.0, "warn")])
def test_slope_rule_on_a_plane_of_known_gradient(tmp_path: Path, angle: float,
                                                 status: str) -> None:
    d = tmp_path / "ws"
    d.mkdir()
    _plane_dem(d / "dem.tif", angle)
    ws = geoplan.open_workspace(d)
    sites = _sites(box(X0 + 600, Y0 + 600, X0 + 615, Y0 + 612), Point(X0 + 900, Y0 + 900))
    res = check(sites, ws)
    for sid in ("s1", "s2"):
        f = find(res, sid, "house.slope")
        assert f["measure"] == pytest.approx(angle, abs=1e-6)
        assert f["status"] == status  # exactly 25° is not "above 25°": warn, not fail
        assert f["unit"] == "deg"


def test_slope_site_off_the_dem_is_error(tmp_path: Path) -> None:
    d = tmp_path / "ws"
    d.mkdir()
    _plane_dem(d / "dem.tif", 10.0)
    gk([box(X0 - 600, Y0, X0 - 590, Y0 + 10)]).to_file(d / "flood_zone.gpkg")
    ws = geoplan.open_workspace(d)
    res = check(_sites(box(X0 - 500, Y0 + 10, X0 - 490, Y0 + 20)), ws)
    assert find(res, "s1", "house.slope")["status"] == "error"


def test_overlap_limit_by_share(tmp_path: Path) -> None:
    body = AVOID.replace('kind = "avoid"', 'kind = "overlap_limit"').replace(
        "tolerance_m2 = 1.0", 'max_percent = { value = 25.0, source = "t", verified = false }')
    ws = make_ws(tmp_path, flood_zone=gk([box(X0, Y0, X0 + 100, Y0 + 100)]))
    sites = _sites(box(X0 - 15, Y0, X0 + 5, Y0 + 10),   # 5/20 = 25 % → at the limit: pass
                   box(X0 - 14, Y0, X0 + 6, Y0 + 10))   # 6/20 = 30 % → warn/fail
    res = check(sites, ws, rules=make_pack(tmp_path, body))
    assert find(res, "s1", "h.zone")["status"] == "pass"
    assert find(res, "s2", "h.zone")["status"] == "fail"
    assert find(res, "s2", "h.zone")["measure"] == pytest.approx(60.0)


def test_sample_results_independent_of_input_crs() -> None:
    """The sample houses given in EPSG:4490 and in EPSG:4536 give the same findings."""
    from conftest import SAMPLE

    ws = geoplan.open_workspace(SAMPLE)
    src = gpd.read_file(SAMPLE / "batches" / "proposed_houses.gpkg")
    a = check(src, ws).findings.set_index(["site_id", "rule_id"])
    b = check(src.to_crs(4536), ws).findings.set_index(["site_id", "rule_id"])
    c = check(src.to_crs(4515), ws).findings.set_index(["site_id", "rule_id"])
    for other in (b, c):
        assert (a["status"] == other["status"]).all()
        both = a["measure"].notna()
        area = both & (a["unit"] == "m2")
        dist = both & (a["unit"] == "m")
        assert np.allclose(other.loc[area, "measure"], a.loc[area, "measure"], rtol=1e-3,
                           atol=0.01)
        assert np.allclose(other.loc[dist, "measure"], a.loc[dist, "measure"], atol=0.01)


# --------------------------------------------------------------------------- coded findings columns


def test_coded_findings_columns_build_the_frame_pandas_would():
    from geoplan.engine.columns import COLUMNS, FindingsColumns

    ids = np.array(["b", "a", "长"], dtype=object)
    rules = []
    for rid, status, msg in (("r2", ["fail", "pass", "error"], ["近 1.5 米", "", "无几何"]),
                             ("r1", ["pass", "not_checked", "warn"], ["", "缺图层", "x"])):
        rules.append({"rule_id": rid, "clause": "§1", "severity": "fail",
                      "status": np.array(status, dtype=object),
                      "measure": np.array([1.5, np.nan, 2.0]),
                      "unit": np.array(["m", "", "m²"], dtype=object),
                      "threshold": np.array([2.0, 2.0, np.nan]),
                      "matched": np.array(["7;9", "", ""], dtype=object),
                      "message_zh": np.array(msg, dtype=object),
                      "message_en": np.array([m + "!" for m in msg], dtype=object)})
    cols = FindingsColumns.from_rules(ids, rules)
    # the plain way: one frame per rule, sorted by site, then rule id (stable)
    plain = pd.concat([pd.DataFrame({"site_id": ids, **{k: (v if isinstance(v, np.ndarray)
                                                          else np.full(3, v, dtype=object))
                                                      for k, v in r.items()},
                                     "_row": np.arange(3)}) for r in rules], ignore_index=True)
    plain = plain.sort_values(["_row", "rule_id"], kind="stable").drop(columns="_row")
    plain = pd.DataFrame({c: plain[c].to_numpy() for c in COLUMNS})
    pd.testing.assert_frame_equal(cols.frame(), plain)
    assert cols.frame()["status"].tolist() == ["pass", "fail", "not_checked", "pass", "warn",
                                               "error"]
    assert cols.frame_head().dtypes.equals(cols.frame().dtypes)
    with pytest.raises(ValueError, match="unknown finding status maybe"):
        FindingsColumns.from_rules(ids, [{**rules[0], "status": np.array(
            ["maybe", "pass", "pass"], dtype=object)}])


def _joined_in_python(rows, texts, sep, n, unique):
    out = [[] for _ in range(n)]
    for r, t in zip(rows.tolist(), texts.tolist(), strict=True):
        if not (unique and t in out[r]):
            out[r].append(t)
    return [sep.join(ts) for ts in out]


@pytest.mark.parametrize("unique", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_join_coded_joins_as_python_would(seed: int, unique: bool):
    from geoplan.engine.columns import join_coded

    rng = np.random.default_rng(seed)
    # the same text under several codes (rules' own dictionaries), "" among them
    values = np.array(["", "近 1.5 米", "a", "近 1.5 米", "a", "b; c", "x" * 300], dtype=object)
    n = int(rng.integers(1, 12))
    k = int(rng.integers(0, 30)) if seed else 0
    rows = np.sort(rng.integers(0, n, k))
    codes = rng.integers(0, len(values), k)
    got = join_coded(rows, codes, values, "；", n, unique=unique)
    assert len(got) == n
    assert list(got) == _joined_in_python(rows, values[codes], "；", n, unique)
    # the column is what pandas infers for the same texts
    assert pd.Series(got).dtype == pd.Series(np.array(list(got), dtype=object)).dtype


def test_join_coded_of_values_that_are_not_text():
    from geoplan.engine.columns import join_coded

    got = join_coded(np.array([0, 0, 2]), np.array([0, 1, 1]), np.array([7, 1.5], dtype=object),
                     ", ", 3)
    assert list(got) == ["7, 1.5", "", "1.5"]


def test_verdict_reasons_name_each_rule_and_message_once(tmp_path: Path) -> None:
    """Two rules of one text on one zone, and a third: each rule named, each message once."""
    ws = make_ws(tmp_path, flood_zone=gk([box(X0, Y0, X0 + 100, Y0 + 100)], id=[1]),
                 geohazard_zone=gk([box(X0 + 200, Y0, X0 + 300, Y0 + 100)], name=["A"]))
    body = AVOID + AVOID.replace('"h.zone"', '"h.again"') + AVOID.replace(
        '"h.zone"', '"h.hazard"').replace('"flood_zone"', '"geohazard_zone"').replace('"避让"', '"地灾"')
    pack = make_pack(tmp_path, body)
    sites = _sites(box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20), box(X0 + 190, Y0 + 10, X0 + 210, Y0 + 20),
                   box(X0 + 500, Y0 + 10, X0 + 510, Y0 + 20), ids=["zone", "hazard", "none"])
    res = check(sites, ws, rules=pack)
    v = res.verdicts.set_index("site_id")
    f = res.findings
    flagged = f[f["status"].isin(["fail", "warn", "error"])]
    for sid in ("zone", "hazard", "none"):
        mine = flagged[flagged["site_id"] == sid]
        assert v.loc[sid, "reasons"] == "; ".join(
            f"{r}({s})" for r, s in zip(mine["rule_id"], mine["status"], strict=True))
        assert v.loc[sid, "reasons_en"] == "; ".join(dict.fromkeys(mine["message_en"]))
        assert v.loc[sid, "reasons_zh"] == "；".join(dict.fromkeys(mine["message_zh"]))
    assert v.loc["zone", "reasons"] == "h.again(fail); h.zone(fail)"
    # the two rules' messages are one text, shown once
    assert v.loc["zone", "reasons_en"].count("avoid") == 1, v.loc["zone", "reasons_en"]
    assert v.loc["none", "reasons"] == ""
    assert v.loc["none", "reasons_en"] == ""
    assert v.loc["none", "verdict"] == "pass"


def test_blocks_of_every_kth_site_interleave_back_into_one_block(monkeypatch):
    from geoplan.engine.columns import FindingsColumns

    def cols(ids):  # every value a function of the site (its number i) and the rule (j)
        n, num = len(ids), [int(s[1:]) for s in ids]
        return FindingsColumns.from_rules(np.array(ids, dtype=object), [
            {"rule_id": rid, "clause": "1", "severity": "fail",
             "status": np.array(["fail" if (i + j) % 3 == 0 else "pass" for i in num],
                                dtype=object),
             "measure": np.array(num) + 10.0 * j, "unit": np.full(n, "m", dtype=object),
             "threshold": np.full(n, 5.0),
             "matched": np.array([f"{i}" if i % 2 else "" for i in num], dtype=object),
             "message_zh": np.array([f"{s}-{rid}" for s in ids], dtype=object),
             "message_en": np.array([f"{s}!" for s in ids], dtype=object)}
            for j, rid in enumerate(("r2", "r1"))])

    ids = [f"s{i}" for i in range(7)]  # 7 sites in 3 blocks of 3, 2 and 2
    whole = cols(ids)
    parts = [cols(ids[b::3]) for b in range(3)]
    woven = FindingsColumns.interleave([p.compact() for p in parts], rules=2)
    pd.testing.assert_frame_equal(woven.frame(), whole.frame())
    assert woven.rows.tolist() == whole.rows.tolist()
    # blocks of any shape, given by their positions (the runner's uneven split)
    pos = [np.array([0, 2, 3, 6]), np.array([1, 4]), np.array([5])]
    parts = [cols([ids[i] for i in q]) for q in pos]
    woven = FindingsColumns.interleave([p.compact() for p in parts], rules=2, positions=pos)
    pd.testing.assert_frame_equal(woven.frame(), whole.frame())
    # codes of blocks each fitting a byte, together not: the woven codes take two bytes
    many = [f"s{i}" for i in range(300)]
    parts = [cols(many[b::3]) for b in range(3)]
    assert {p.compact().codes("message_en").dtype for p in parts} == {np.dtype(np.uint8)}
    woven = FindingsColumns.interleave([p.compact() for p in parts], rules=2)
    assert woven.codes("message_en").dtype == np.uint16
    assert woven.codes("status").dtype == np.uint8
    pd.testing.assert_frame_equal(woven.frame(), cols(many).frame())
    # and the text columns built on two threads (from 200 000 findings) are the same
    from geoplan.engine import columns as columns_module

    big = cols([f"s{i}" for i in range(100_001)])
    monkeypatch.setattr(columns_module, "usable_cores", lambda: 2)
    threaded = big.frame()
    monkeypatch.setattr(columns_module, "_THREADED_ROWS", 10**12)
    pd.testing.assert_frame_equal(threaded, big.frame())


TWO_ZONES = AVOID + """
[[rules]]
id = "h.a_storage"
subject = "house"
kind = "avoid"
layer = "flood_storage"
severity = "warn"
clause = "(十二)"
title_zh = "蓄滞洪区"
title_en = "flood storage"
tolerance_m2 = 0.0
"""


@pytest.mark.parametrize("frame", [True, False])
def test_evidence_of_several_rules_in_one_frame(tmp_path: Path, frame: bool) -> None:
    """Rule by rule (the pack's order), then site by site; text as text, areas by hand."""
    from geoplan.engine import evaluate, prepare_sites

    ws = make_ws(tmp_path, flood_zone=gk([box(X0, Y0, X0 + 100, Y0 + 100)]),
                 flood_storage=gk([box(X0 + 50, Y0, X0 + 150, Y0 + 100)]))
    sites = _sites(box(X0 + 90, Y0, X0 + 110, Y0 + 10),      # 10 × 10 in the zone, all in storage
                   box(X0 + 200, Y0, X0 + 210, Y0 + 10),     # in neither
                   box(X0 + 40, Y0 + 50, X0 + 60, Y0 + 60),  # 20 × 10 zone, 10 × 10 storage
                   ids=["b", "c", "a"])
    st = prepare_sites(sites, ws, subject="house")
    ev = evaluate(st, ws, load_pack(make_pack(tmp_path, TWO_ZONES)), frame=frame).evidence
    cols = ["site_id", "rule_id", "clause", "status", "area_m2", "area_mu", "length_m",
            "geometry"]
    assert ev.columns.tolist() == cols + ([] if frame else ["_row"])
    assert ev[["site_id", "rule_id", "clause", "status"]].values.tolist() == [
        ["b", "h.zone", "(十一)", "fail"], ["a", "h.zone", "(十一)", "fail"],
        ["b", "h.a_storage", "(十二)", "warn"], ["a", "h.a_storage", "(十二)", "warn"]]
    assert ev["area_m2"].tolist() == pytest.approx([100.0, 200.0, 200.0, 100.0])
    assert ev["area_mu"].tolist() == pytest.approx([100 / MU, 200 / MU, 200 / MU, 100 / MU])
    assert ev["length_m"].tolist() == [0.0] * 4
    assert ev.index.tolist() == [0, 1, 2, 3]
    assert ev.crs == ws.crs
    assert ev.geometry.name == "geometry"
    assert all(str(ev[c].dtype) == str(pd.Series(["x"]).dtype)
               for c in ("site_id", "rule_id", "clause", "status"))
    if not frame:
        assert ev["_row"].tolist() == [0, 2, 0, 2]
    none = evaluate(st, ws,
                    load_pack(make_pack(tmp_path, AVOID.replace("flood_zone", "flood_storage")
                                        .replace("tolerance_m2 = 1.0", "tolerance_m2 = 1e9"))),
                    frame=frame).evidence
    assert none.columns.tolist() == cols
    assert len(none) == 0
    assert none.crs == ws.crs
