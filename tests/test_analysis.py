"""Planning analyses: network distances, coverage, connectivity, indicators, village classes.

The synthetic network (EPSG:4536, coordinates relative to X0, Y0; lengths exact):

    (0,1000) ───────── R2 砂石 ───────── (2000,1000)        B (0,990)   D (1000,5000) far away
        │                                     │
        │              R4 砂石 (1000,500)      │
        │                  │                  │
    (0,0) ═══ R1 硬化 ═════╪══════════════ (2000,0)        R3 土路 (5000,0)–(6000,0), C on it
      F clinic (0,10)      │ crossing at (1000,0), no shared vertex
      A (500,-20)  W2 waste (600,0)   G (1500,30)   W waste (2000,1000)
                         E (1000,-500) = R4's south end

R5 (proposed, 硬化) and R6 (rebuilt, 砂石) count for the road indicator; R5 is not
in the network. Every expected figure below is worked out by hand in the comments.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from conftest import SAMPLE, X0, Y0, gk
from shapely import LineString, Point, box

import geoplan
from geoplan.analysis import (
    TargetsError,
    build_network,
    connectivity,
    coverage,
    indicators,
    load_targets,
    township_areas,
    village_classes,
)
from geoplan.cli import main


def P(x: float, y: float) -> Point:
    return Point(X0 + x, Y0 + y)


def L(*xy: tuple[float, float]) -> LineString:
    return LineString([(X0 + x, Y0 + y) for x, y in xy])


VILLAGES = {  # name: (x, y, township, layout class, population, is_demo, has_plan)
    "甲村": (500, -20, "甲镇", "集聚提升", 1000, True, True),
    "乙村": (0, 990, "甲镇", "搬迁撤并", 500, True, False),
    "丙村": (5500, 0, "乙镇", "集聚提升", 300, False, False),
    "丁村": (1000, 5000, "乙镇", "特色保护", 200, False, False),
    "戊村": (1000, -500, "丙镇", "城郊融合", 50, False, False),
    "己村": (1500, 30, "丙镇", None, None, False, False),
}
NAMES = list(VILLAGES)


def _villages(name_override: dict[str, str] | None = None) -> gpd.GeoDataFrame:
    names = [name_override.get(n, n) if name_override else n for n in NAMES]
    v = VILLAGES.values()
    return gk([P(x, y) for x, y, *_ in v], name=names, township=[r[2] for r in v],
              layout_class=[r[3] for r in v],
              population=[np.nan if r[4] is None else float(r[4]) for r in v],
              is_demo=[r[5] for r in v], has_plan=[r[6] for r in v])


def _roads() -> gpd.GeoDataFrame:
    return gk(
        [L((0, 0), (2000, 0)), L((2000, 0), (2000, 1000), (0, 1000)),
         L((5000, 0), (6000, 0)), L((1000, -500), (1000, 500)),
         L((0, -1000), (2000, -1000)), L((5000, -2000), (5500, -2000))],
        road_id=["R1", "R2", "R3", "R4", "R5", "R6"], **{"class": ["县道", "村道", "村道", "村道",
                                                                   "乡道", "村道"]},
        surface=["硬化", "砂石", "土路", "砂石", "硬化", "砂石"],
        width_m=[7.0, 4.0, 3.5, 4.0, 6.0, 4.0],
        status=["existing", "existing", "existing", "existing", "proposed", "rebuilt"])


def _facilities() -> gpd.GeoDataFrame:
    return gk([P(0, 10), P(2000, 1000), P(600, 0)],
              kind=["clinic", "waste_point", "waste_point"], name=["甲村卫生室", "垃圾点W", "垃圾点W2"])


def _power() -> gpd.GeoDataFrame:
    return gk([L((0, 2000), (3000, 2000)), L((0, 2500), (1500, 2500)), L((0, 3000), (400, 3000)),
               L((0, 3500), (5000, 3500))],
              voltage_kv=[10.0, 10.0, 0.4, 35.0], status=["new", "rebuilt", "new", "existing"])


def _boundaries() -> gpd.GeoDataFrame:
    return gk([box(X0 + 300, Y0 - 200, X0 + 700, Y0 + 100), box(X0 - 200, Y0 + 800, X0 + 200,
                                                                 Y0 + 1200)],
              village=["甲村", "乙村"], township=["甲镇", "甲镇"])


def _write_ws(root: Path, villages: gpd.GeoDataFrame | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (villages if villages is not None else _villages()).to_file(root / "village.gpkg")
    _roads().to_file(root / "road.gpkg")
    _facilities().to_file(root / "facility.gpkg")
    _power().to_file(root / "power_line.gpkg")
    _boundaries().to_file(root / "village_boundary.gpkg")
    return root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> geoplan.Workspace:
    return geoplan.open_workspace(_write_ws(tmp_path_factory.mktemp("tiny") / "ws"))


@pytest.fixture(scope="module")
def cov(tiny: geoplan.Workspace) -> geoplan.CoverageResult:
    return coverage(tiny, kinds=["clinic", "waste_point"])


@pytest.fixture(scope="module")
def sample() -> geoplan.Workspace:
    return geoplan.open_workspace(SAMPLE)


def _row(res: geoplan.CoverageResult, kind: str, name: str) -> pd.Series:
    t = res.table
    return t[(t["kind"] == kind) & (t["village"] == name)].iloc[0]


# --------------------------------------------------------------------------- network


def test_network_nodes_crossings_and_leaves_out_proposed_roads() -> None:
    net = build_network(_roads())
    # R5 (proposed) is left out; R4 crosses R1 at (1000, 0) without a shared vertex.
    assert net.n_roads == 5
    assert net.crossings_added == 1
    assert any("left out" in n for n in net.notes)
    # R1 2000 + R2 3000 + R3 1000 + R4 1000 + R6 500
    assert net.total_length_m == pytest.approx(7500.0)
    assert net.n_components == 3  # R1+R2+R4, R3, R6
    plain = build_network(_roads(), node_crossings=False)
    assert plain.crossings_added == 0
    assert plain.n_components == 4


def test_attach_splits_a_segment_for_several_points_in_order() -> None:
    net = build_network(gk([L((0, 0), (1000, 0))], surface=["硬化"], status=["existing"]))
    att = net.attach({"a": [P(100, 30), P(700, 0)], "b": [P(400, -40), None]})
    assert att.snap_m["a"] == pytest.approx([30.0, 0.0])
    assert att.snap_m["b"][0] == pytest.approx(40.0)
    assert math.isnan(att.snap_m["b"][1])
    assert not att.attached["b"][1]
    d = att.distances_from("b", [0])
    # b0 → (400,0) 40, → (100,0) 300, → a0 30 = 370; → (700,0) 300 = 340
    assert d["a"] == pytest.approx([370.0, 340.0])
    assert d["b"][0] == pytest.approx(0.0)
    assert np.isinf(d["b"][1])


def test_attach_respects_max_snap() -> None:
    net = build_network(gk([L((0, 0), (1000, 0))], surface=["硬化"], status=["existing"]))
    att = net.attach({"v": [P(500, 600), P(500, 400)]}, max_snap_m=500)
    assert att.attached["v"].tolist() == [False, True]
    assert att.snap_m["v"] == pytest.approx([600.0, 400.0])


def test_network_refuses_geographic_coordinates() -> None:
    with pytest.raises(geoplan.CRSError, match="projected metric CRS"):
        build_network(_roads().to_crs(4490))


# --------------------------------------------------------------------------- coverage


@pytest.mark.parametrize(("name", "straight", "network", "status"), [
    ("甲村", math.hypot(500, 30), 20 + 500 + 10, "covered"),
    # short in a straight line (980 m), long by road: back round R2 and along R1
    ("乙村", 980.0, 10 + 2000 + 1000 + 2000 + 10, "too_far"),
    ("丙村", math.hypot(5500, 10), np.nan, "no_route"),      # island road R3
    ("丁村", math.hypot(1000, 4990), np.nan, "off_network"),  # 4000 m from any road
    ("戊村", math.hypot(1000, 510), 500 + 1000 + 10, "too_far"),  # via the crossing node
    ("己村", math.hypot(1500, 20), 30 + 1500 + 10, "too_far"),
])
def test_clinic_distances_by_hand(cov, name, straight, network, status) -> None:
    r = _row(cov, "clinic", name)
    assert r["straight_m"] == pytest.approx(straight)
    if np.isnan(network):
        assert np.isnan(r["network_m"])
    else:
        assert r["network_m"] == pytest.approx(network)
    assert r["status_network"] == status
    assert r["covered_straight"] == (straight <= 1000)


def test_snap_distances_reported(cov) -> None:
    t = cov.table[cov.table["kind"] == "clinic"].set_index("village")
    assert t.loc[NAMES, "village_snap_m"].tolist() == pytest.approx(
        [20.0, 10.0, 0.0, 4000.0, 0.0, 30.0])
    f = cov.facilities.set_index("name")
    assert f.loc["甲村卫生室", "snap_m"] == pytest.approx(10.0)
    assert f.loc["垃圾点W", "snap_m"] == pytest.approx(0.0)


def test_multi_source_picks_the_nearest_facility(cov) -> None:
    # 乙村: via W 10 + 2000 = 2010; via W2 10 + 2000 + 1000 + 1400 = 4410
    assert _row(cov, "waste_point", "乙村")["network_m"] == pytest.approx(2010.0)
    assert _row(cov, "waste_point", "甲村")["network_m"] == pytest.approx(120.0)
    assert _row(cov, "waste_point", "戊村")["network_m"] == pytest.approx(900.0)
    assert _row(cov, "waste_point", "己村")["network_m"] == pytest.approx(930.0)
    assert _row(cov, "waste_point", "乙村")["straight_m"] == pytest.approx(math.hypot(600, 990))
    assert _row(cov, "waste_point", "甲村")["nearest_facility"] == "垃圾点W2"


def test_coverage_shares_and_villages_with_none(cov) -> None:
    k = cov.by_kind.set_index("kind").loc["clinic"]
    assert k["villages_covered_straight"] == 2
    assert k["villages_covered_network"] == 1
    assert k["share_villages_straight"] == pytest.approx(100 * 2 / 6)
    # population known for 5 villages: 2050; 己村 has none and is left out of people shares
    assert k["share_population_straight"] == pytest.approx(100 * 1500 / 2050)
    assert k["share_population_network"] == pytest.approx(100 * 1000 / 2050)
    assert set(k["villages_none_network"]) == {"乙村", "丙村", "丁村", "戊村", "己村"}
    assert not k["verified"]  # the clinic radius is a placeholder
    assert set(cov.uncovered("clinic")["name"]) == set(k["villages_none_network"])
    assert set(cov.uncovered("clinic", "straight")["name"]) == {"丙村", "丁村", "戊村", "己村"}
    tw = cov.by_township.set_index(["kind", "township"])
    assert tw.loc[("clinic", "甲镇"), "share_villages_network"] == pytest.approx(50.0)
    assert any("without population" in n for n in cov.notes)


def test_network_never_shorter_than_straight(sample) -> None:
    res = coverage(sample)
    t = res.table.dropna(subset=["network_m"])
    assert len(t) == 200
    assert (t["network_m"] >= t["straight_m"] - 1e-6).all()


def test_coverage_without_crossing_nodes_cuts_off_e(tiny) -> None:
    path = tiny.path / "no_cross.toml"
    path.write_text('[targets]\nname = "t"\nextends = "yining-2025"\n'
                    "[network]\nnode_crossings = false\n", encoding="utf-8")
    res = coverage(tiny, kinds=["clinic"], targets=path)
    assert _row(res, "clinic", "戊村")["status_network"] == "no_route"


def test_distance_override_is_reported_unverified(tiny) -> None:
    res = coverage(tiny, kinds=["clinic"], distances={"clinic": 6000})
    k = res.by_kind.iloc[0]
    assert k["distance_m"] == 6000
    assert k["source"] == "given by the caller"
    assert k["villages_covered_network"] == 4  # all but 丙村 (no route) and 丁村 (off network)


def test_coverage_without_road_layer_is_straight_only(tmp_path) -> None:
    ws_dir = _write_ws(tmp_path / "ws")
    (ws_dir / "road.gpkg").unlink()
    res = coverage(ws_dir, kinds=["clinic"])
    assert res.network is None
    assert set(res.table["status_network"]) == {"not_checked"}
    assert not res.table["covered_network"].any()
    assert res.by_kind.iloc[0]["villages_covered_straight"] == 2
    assert any("no 'road' layer" in n for n in res.notes)


def test_coverage_needs_a_facility_layer(tmp_path) -> None:
    ws_dir = _write_ws(tmp_path / "ws")
    (ws_dir / "facility.gpkg").unlink()
    with pytest.raises(geoplan.WorkspaceError, match="no 'facility' layer"):
        coverage(ws_dir)


# --------------------------------------------------------------------------- connectivity


def test_connectivity_by_hand(tiny) -> None:
    res = connectivity(tiny)
    v = res.villages.set_index("name")
    assert v.loc["甲村", "status"] == "connected"
    assert v.loc["甲村", "gap_m"] == pytest.approx(20)
    assert v.loc["乙村", "status"] == "gap"
    assert v.loc["乙村", "gap_m"] == pytest.approx(10 + 2000 + 1000)
    assert v.loc["乙村", "unpaved_m"] == pytest.approx(3000)
    assert v.loc["乙村", "straight_to_hardened_m"] == pytest.approx(990)
    assert v.loc["丙村", "status"] == "isolated"
    assert v.loc["丙村", "straight_to_hardened_m"] == pytest.approx(3500)
    assert v.loc["丁村", "status"] == "no_road"
    assert v.loc["丁村", "straight_to_hardened_m"] == pytest.approx(5000)
    assert v.loc["戊村", "status"] == "below_threshold"   # population 50 < 100
    assert v.loc["己村", "status"] == "not_checked"       # population unknown
    assert set(res.flagged()["name"]) == {"乙村", "丙村", "丁村"}
    assert len(res.gap_paths) == 1
    assert res.gap_paths.iloc[0]["path_length_m"] == pytest.approx(3010, abs=0.01)
    assert "3010" in v.loc["乙村", "message_en"]
    assert "3000" in v.loc["乙村", "message_zh"]


def test_connectivity_parameters_override(tiny) -> None:
    res = connectivity(tiny, max_gap_m=5000, min_population=10)
    v = res.villages.set_index("name")
    assert v.loc["乙村", "status"] == "connected"
    assert v.loc["戊村", "status"] == "connected"
    assert v.loc["戊村", "gap_m"] == pytest.approx(500)
    assert res.summary["parameters"]["max_gap_m"]["source"] == "given by the caller"


def test_connectivity_without_roads_is_never_connected(tmp_path) -> None:
    ws_dir = _write_ws(tmp_path / "ws")
    (ws_dir / "road.gpkg").unlink()
    res = connectivity(ws_dir)
    assert "connected" not in set(res.villages["status"])
    assert res.counts()["not_checked"] == 5
    assert res.counts()["below_threshold"] == 1


# --------------------------------------------------------------------------- indicators


def test_indicators_on_tiny_by_hand(tiny) -> None:
    res = indicators(tiny)
    c = res.city().set_index("indicator_id")
    # R5 proposed 2000 m + R6 rebuilt 500 m
    assert c.loc["road.new_rebuilt_km", "measure"] == pytest.approx(2.5)
    assert c.loc["road.new_rebuilt_km", "progress_percent"] == pytest.approx(250 / 65)
    assert c.loc["road.new_rebuilt_km", "status"] == "below_target"
    assert c.loc["power.10kv_new_km", "measure"] == pytest.approx(3.0)
    assert c.loc["power.10kv_rebuilt_km", "measure"] == pytest.approx(1.5)
    assert c.loc["power.lv_new_km", "measure"] == pytest.approx(0.4)
    # low-voltage lines are mapped, none rebuilt: a measured 0, not "not available"
    assert c.loc["power.lv_rebuilt_km", "measure"] == 0.0
    assert c.loc["power.lv_rebuilt_km", "status"] == "below_target"
    assert c.loc["env.waste_coverage", "measure"] == pytest.approx(100 / 6)
    assert c.loc["env.sewage_rate", "status"] == "not_available"
    assert np.isnan(c.loc["env.sewage_rate", "measure"])
    assert c.loc["plan.demo_village_plans", "measure"] == pytest.approx(50.0)
    assert c.loc["plan.demo_village_plans", "status"] == "info"
    t = res.table
    w = t[(t["indicator_id"] == "env.waste_coverage") & (t["level"] == "township")]
    assert w.set_index("area")["measure"].to_dict() == pytest.approx(
        {"甲镇": 50.0, "乙镇": 0.0, "丙镇": 0.0})


def test_township_lengths_add_up_to_the_city(tiny) -> None:
    res = indicators(tiny)
    t = res.table
    for iid in ("road.new_rebuilt_km", "power.10kv_new_km", "power.10kv_rebuilt_km"):
        rows = t[t["indicator_id"] == iid]
        city = rows.loc[rows["level"] == "city", "measure"].iloc[0]
        assert rows.loc[rows["level"] == "township", "measure"].sum() == pytest.approx(city)
        assert not (rows["area"].str.contains("outside")).any()


def test_sewage_share_when_the_field_exists(tmp_path) -> None:
    v = _villages()
    v["sewage_treated"] = ["是", "否", None, True, 0, 1]
    res = indicators(_write_ws(tmp_path / "ws", v), only=["env.sewage_rate"])
    c = res.city().iloc[0]
    # known: 是, 否, True, 0, 1 → 3 of 5
    assert c["measure"] == pytest.approx(60.0)
    assert c["status"] == "met"
    assert "1 village(s) with unknown" in c["note"]


def test_low_voltage_not_available_when_none_is_mapped(sample) -> None:
    res = indicators(sample, only=["power.lv_new_km", "power.lv_rebuilt_km", "env.sewage_rate"])
    assert set(res.table["status"]) == {"not_available"}
    assert res.table["measure"].isna().all()


def test_sample_indicators_agree_with_direct_sums(sample) -> None:
    """Second method: read the files with geopandas, reproject, .length grouped."""
    pl = gpd.read_file(SAMPLE / "power_line.gpkg").to_crs(4536)
    km = pl.assign(km=pl.length / 1000).groupby(["voltage_kv", "status"])["km"].sum()
    rd = gpd.read_file(SAMPLE / "road.gpkg").to_crs(4536)
    road_km = rd.loc[rd["status"].isin(["new", "proposed", "rebuilt"])].length.sum() / 1000
    pr = gpd.read_file(SAMPLE / "batches" / "proposed_roads.gpkg").to_crs(4536)
    proj_km = pr.loc[pr["status"].isin(["new", "proposed", "rebuilt"])].length.sum() / 1000

    res = indicators(sample, project_roads=SAMPLE / "batches" / "proposed_roads.gpkg")
    c = res.city().set_index("indicator_id")
    assert c.loc["power.10kv_new_km", "measure"] == pytest.approx(km[(10.0, "new")])
    assert c.loc["power.10kv_rebuilt_km", "measure"] == pytest.approx(km[(10.0, "rebuilt")])
    assert c.loc["road.new_rebuilt_km", "measure"] == pytest.approx(road_km + proj_km)
    assert c.loc["power.10kv_new_km", "status"] == "met"          # 47.8 km ≥ 35
    assert c.loc["power.10kv_rebuilt_km", "status"] == "below_target"  # 28.1 km < 32
    # waste coverage: the same figure as the coverage analysis, and as a direct count
    cv = coverage(sample, kinds=["waste_point"])
    share_cov = cv.by_kind.iloc[0]["share_villages_network"]
    assert c.loc["env.waste_coverage", "measure"] == pytest.approx(share_cov)
    v = gpd.read_file(SAMPLE / "village.gpkg").to_crs(4536)
    f = gpd.read_file(SAMPLE / "facility.gpkg").to_crs(4536)
    f = f[f["kind"] == "waste_point"]
    near = v.geometry.apply(lambda p: f.distance(p).min())
    # every sample village lies on a road, so straight ≤ 500 m gives the same villages here
    assert 100 * (near <= 500).mean() == pytest.approx(share_cov)
    # township rows add up to the city for the lengths
    t = res.table
    rows = t[(t["indicator_id"] == "power.10kv_new_km") & (t["level"] == "township")]
    assert rows["measure"].sum() == pytest.approx(km[(10.0, "new")])


def test_project_roads_need_a_status(tiny) -> None:
    roads = gk([L((0, -3000), (1000, -3000))], road_id=["P9"])
    with pytest.raises(geoplan.SiteInputError, match=r"lack the field.*status"):
        indicators(tiny, project_roads=roads, only=["road.new_rebuilt_km"])
    roads["status"] = ["proposed"]
    res = indicators(tiny, project_roads=roads, only=["road.new_rebuilt_km"])
    assert res.city().iloc[0]["measure"] == pytest.approx(3.5)  # 2.5 km in the layer + 1 km


def test_township_areas_partition_and_given_boundaries(tiny) -> None:
    areas = township_areas(tiny)
    assert set(areas["township"]) == {"甲镇", "乙镇", "丙镇"}
    assert areas.geometry.union_all().area == pytest.approx(areas.area.sum())
    assert areas["method"].str.contains("Voronoi").all()
    given = gk([box(X0 - 5000, Y0 - 5000, X0 + 3000, Y0 + 6000)], township=["甲镇"])
    res = indicators(tiny, townships=given, only=["road.new_rebuilt_km"])
    t = res.table.set_index("area")["measure"]
    assert t["甲镇"] == pytest.approx(2.0)  # R5 inside, R6 (x 5000–5500) outside
    assert t[next(a for a in t.index if "outside" in a)] == pytest.approx(0.5)


# --------------------------------------------------------------------------- village classes


def test_village_classes_assignment(tiny) -> None:
    sites = gk([P(0, 1000), P(0, 1010), P(9000, 9000), P(500, 0), P(510, 0)],
               house_id=["s1", "s2", "s3", "s4", "s5"],
               village=["甲村", None, None, "不存在村", "乙村"])
    res = village_classes(tiny, {"houses": sites})
    s = res.sites.set_index("site_id")
    assert s.loc["s1", "village"] == "甲村"
    assert s.loc["s1", "assigned_by"] == "field"
    assert bool(s.loc["s1", "mismatch"])                      # named 甲村, lies in 乙村
    assert s.loc["s2", "village"] == "乙村"
    assert s.loc["s2", "assigned_by"] == "boundary"
    assert s.loc["s3", "assigned_by"] == "none"
    assert s.loc["s4", "village"] == "甲村"
    assert s.loc["s4", "assigned_by"] == "boundary"
    assert set(res.highlighted().index.map(lambda i: res.sites.loc[i, "site_id"])) == \
        {"s2", "s5"}                                          # in 搬迁撤并 乙村
    bc = res.by_class.set_index("layout_class")
    assert bc.loc["集聚提升", "n_villages"] == 2
    assert bc.loc["集聚提升", "population"] == 1300
    assert bc.loc["集聚提升", "n_houses"] == 2
    assert bc.loc["搬迁撤并", "n_houses"] == 2
    assert bc.loc["(未分类 unclassified)", "n_villages"] == 1
    assert res.villages.set_index("name").loc["乙村", "relocate_merge"]


def test_village_classes_on_sample(sample) -> None:
    houses = SAMPLE / "batches" / "proposed_houses.gpkg"
    res = village_classes(sample, [houses, SAMPLE / "batches" / "proposed_roads.gpkg"])
    h = pyogrio.read_dataframe(houses)
    assert len(res.highlighted()) == int((h["scenario"] == "relocate_merge_village").sum()) == 7
    assert res.by_class["n_villages"].sum() == 40
    assert res.by_class.set_index("layout_class").loc["搬迁撤并", "n_villages"] == 4
    assert res.villages["n_proposed_houses"].sum() == 300  # every house names its village


# --------------------------------------------------------------------------- targets file


def test_builtin_targets_have_sources() -> None:
    t = load_targets()
    assert t.indicator("road.new_rebuilt_km").target.value == 65
    assert t.indicator("power.lv_rebuilt_km").target.value == 75
    assert t.indicator("env.waste_coverage").target.value == 90
    assert t.indicator("env.sewage_rate").target.value == 30
    assert all(t.indicator(i).target.verified for i in ("road.new_rebuilt_km",
                                                         "power.10kv_new_km"))
    assert "service.clinic.distance_m" in t.unverified()
    assert t.parameters()["source"].str.len().min() > 10


@pytest.mark.parametrize(("text", "match"), [
    ("[targets]\nname='x'\nextends='yining-2025'\n[service.clinic]\ndistanse_m=5\n",
     r"\[service.clinic\] key 'distanse_m'.*did you mean 'distance_m'"),
    ("[targets]\nname='x'\nextends='yining-2025'\n[service.clinic]\n"
     "distance_m={value='far', source='s', verified=true}\n",
     r"\[service.clinic\] key 'distance_m': value must be a number"),
    ("[targets]\nname='x'\nextends='yining-2025'\n[[indicators]]\nid='a'\nmeasure='volume'\n",
     r"indicators #9 'a'\] key 'measure'"),
    ("[targets]\nname='x'\nextends='yining-2025'\n[[indicators]]\nid='b'\nmeasure='length_km'\n"
     "layer='road'\ntarget={value=5, unit='%', source='s', verified=true}\n",
     r"key 'target': unit '%'"),
    ("[targets]\nname='x'\nextends='yining-2025'\n[[indicators]]\nid='c'\nmeasure='length_km'\n"
     "layer='road'\nwhere='status ==='\n", r"key 'where'"),
    ("[targets]\nname='x'\nextends='yining-2025'\ndisable=['nope']\n", r"disable names 'nope'"),
    ("[targets]\nname='x'\n", r"\[network\] key 'max_snap_m': is missing"),
    ("[targets]\nname='x'\n[network]\nmax_snap_m=5\n", r"no \[service.<kind>\] tables"),
    ("[targetz]\nname='x'\n", r"unknown table \[targetz\]"),
    ("[targets\n", r"not valid TOML"),
])
def test_malformed_targets_name_file_and_key(tmp_path, text, match) -> None:
    f = tmp_path / "bad.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(TargetsError, match=match) as exc:
        load_targets(f)
    assert str(f) in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_targets_extends_and_disable(tmp_path) -> None:
    f = tmp_path / "county.toml"
    f.write_text('[targets]\nname = "county"\nextends = "yining-2025"\n'
                 'disable = ["power.lv_new_km"]\n'
                 '[service.clinic]\ndistance_m = { value = 1500, source = "county plan", '
                 'verified = true }\n', encoding="utf-8")
    t = load_targets(f)
    assert t.name == "county"
    assert t.service["clinic"].distance_m.value == 1500
    assert t.service["clinic"].distance_m.verified
    assert t.service["clinic"].label_zh == "村卫生室"     # kept from the parent
    with pytest.raises(KeyError):
        t.indicator("power.lv_new_km")
    with pytest.raises(TargetsError, match="no built-in targets called 'yining-2052'"):
        load_targets("yining-2052")


# --------------------------------------------------------------------------- outputs and CLI


def test_to_files_family_atomic_bom_json(tiny, cov, tmp_path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "coverage.csv").write_text("old", encoding="utf-8")
    files = cov.to_files(out)
    names = {p.name for p in files}
    assert names == {"coverage.csv", "coverage_by_kind.csv", "coverage_by_township.csv",
                     "coverage.gpkg", "map.html", "summary.json"}
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    assert (out / "coverage.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig")
    assert len(back) == 12
    assert "甲村" in set(back["village"])
    assert set(pyogrio.list_layers(out / "coverage.gpkg")[:, 0]) >= {"villages", "facilities",
                                                                      "connectors", "roads"}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))  # strict JSON
    assert summary["analysis"] == "coverage"
    assert "service.clinic.distance_m" in summary["unverified_parameters"]
    assert summary["layers"][0]["sha256"]
    for res, expected in ((connectivity(tiny), "connectivity.csv"),
                          (indicators(tiny), "indicators.csv"),
                          (village_classes(tiny), "villages.csv")):
        d = tmp_path / expected.split(".")[0]
        got = {p.name for p in res.to_files(d, map_html=False)}
        assert expected in got
        assert "summary.json" in got
        assert "map.html" not in got
        json.loads((d / "summary.json").read_text(encoding="utf-8"))


def test_maps_escape_data_text_and_work_offline(tmp_path) -> None:
    bad, bad_town = "<img src=x onerror=alert(1)>", "<script>alert(2)</script>镇"
    v = _villages({"甲村": bad})
    v.loc[v["township"] == "甲镇", "township"] = bad_town
    ws = geoplan.open_workspace(_write_ws(tmp_path / "ws", v))
    for res in (coverage(ws, kinds=["clinic"]), connectivity(ws), indicators(ws),
                village_classes(ws)):
        html = res.map().get_root().render()
        assert bad not in html
        assert bad_town not in html
        assert "&lt;script&gt;alert(2)&lt;/script&gt;镇" in html
        if not isinstance(res, geoplan.IndicatorResult):
            assert "&lt;img src=x onerror=alert(1)&gt;" in html
        # Leaflet inline, nothing fetched from a CDN (only the optional OSM tiles are online)
        assert 'src="https://' not in html
        assert "cdn.jsdelivr" not in html
        assert "L.map(" in html
    assert "<table" in coverage(ws, kinds=["clinic"])._repr_html_()
    assert "&lt;img" in connectivity(ws, max_gap_m=0)._repr_html_()


def _analysis_results(tiny: geoplan.Workspace, sample: geoplan.Workspace) -> list:
    g = gpd.read_file(SAMPLE / "batches" / "proposed_houses.gpkg").head(20)
    first = str(sample.layers["village"].gdf["name"].iloc[0])
    return [coverage(tiny, kinds=["clinic"]), connectivity(tiny), indicators(tiny),
            village_classes(tiny), geoplan.buildable(sample, villages=[first]),
            geoplan.suggest(geoplan.check(g, sample, id_field="house_id"))]


def _tile_urls(page: str) -> list[str]:
    return re.findall(r"L\.tileLayer\(\s*\"([^\"]+)\"", page)


def test_analysis_maps_inline_everything_with_a_metric_scale(tiny, sample) -> None:
    remote_script = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?\s*(https?:)?//", re.I)
    remote_link = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?\s*(https?:)?//", re.I)
    url = "https://{s}.tiles.county.example/{z}/{x}/{y}.png"
    for res in _analysis_results(tiny, sample):
        name = type(res).__name__
        page = res.map().get_root().render()
        assert not remote_script.search(page), name
        assert not remote_link.search(page), name
        assert not re.search(r"<(script|link)\b[^>]*\b(src|href)=", page), name  # all inline
        assert "window.L=" in page.replace(" ", ""), name                         # Leaflet
        for lib in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "jquery", "bootstrap", "awesome"):
            assert lib not in page.lower(), (name, lib)
        # metric only: no folium control_scale (miles and feet)
        assert "L.control.scale({imperial: false" in page, name
        assert "L.control.scale()" not in page, name
        assert page.count("L.control.scale(") == 1, name
        # the basemap policy of the check's map: osm by default, none offline, or a URL
        assert _tile_urls(page) == ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"], name
        assert "L.tileLayer" not in res.map(offline=True).get_root().render(), name
        custom = res.map(basemap=url, attribution="伊宁县").get_root().render()
        assert _tile_urls(custom) == [url], name
        with pytest.raises(geoplan.MapError, match="GCJ-02"):
            res.map(basemap="amap")
        with pytest.raises(geoplan.MapError, match=r"has no \{y\}"):
            res.map(basemap="https://tiles.county.example/{z}/{x}.png")


def test_analysis_to_files_and_cli_follow_the_basemap(tiny, tmp_path) -> None:
    files = connectivity(tiny).to_files(tmp_path / "k", offline=True)
    page = next(p for p in files if p.name == "map.html").read_text(encoding="utf-8")
    assert "L.tileLayer" not in page
    ws_dir = _write_ws(tmp_path / "ws")
    url = "http://tiles.county.example/{z}/{x}/{y}.png"
    r = CliRunner().invoke(main, ["coverage", str(ws_dir), "--kind", "clinic", "-o",
                                  str(tmp_path / "c"), "--tiles", url])
    assert r.exit_code == 0, r.output
    assert _tile_urls((tmp_path / "c" / "map.html").read_text(encoding="utf-8")) == [url]
    r = CliRunner().invoke(main, ["connectivity", str(ws_dir), "-o", str(tmp_path / "o"),
                                  "--offline"])
    assert r.exit_code == 0, r.output
    assert "L.tileLayer" not in (tmp_path / "o" / "map.html").read_text(encoding="utf-8")
    r = CliRunner().invoke(main, ["connectivity", str(ws_dir), "-o", str(tmp_path / "a"),
                                  "--basemap", "amap"])
    assert r.exit_code == 2, r.output
    assert "GCJ-02" in r.output
    assert not (tmp_path / "a").exists()                       # refused before any work


def test_cli_commands(tmp_path) -> None:
    ws_dir = _write_ws(tmp_path / "ws")
    runner = CliRunner()
    r = runner.invoke(main, ["coverage", str(ws_dir), "--kind", "clinic", "--distance",
                             "clinic=1200", "-o", str(tmp_path / "c"), "--no-map"])
    assert r.exit_code == 0, r.output
    assert "乙村" in r.output
    assert (tmp_path / "c" / "coverage.csv").exists()
    r = runner.invoke(main, ["connectivity", str(ws_dir), "-o", str(tmp_path / "k")])
    assert r.exit_code == 0, r.output
    assert "gap" in r.output
    assert (tmp_path / "k" / "map.html").exists()
    r = runner.invoke(main, ["indicators", str(ws_dir), "-o", str(tmp_path / "i"), "--no-map"])
    assert r.exit_code == 0, r.output
    assert "road.new_rebuilt_km" in r.output
    assert "not_available" in r.output
    sites = tmp_path / "sites.gpkg"
    gk([P(0, 1000)], house_id=["s1"], village=["乙村"]).to_file(sites)
    r = runner.invoke(main, ["villages", str(ws_dir), "-s", str(sites), "-o", str(tmp_path / "v"),
                             "--no-map"])
    assert r.exit_code == 0, r.output
    assert "搬迁撤并" in r.output
    assert "s1" in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text("[targets]\nname='x'\n", encoding="utf-8")
    r = runner.invoke(main, ["coverage", str(ws_dir), "-t", str(bad)])
    assert r.exit_code == 2
    assert "bad.toml" in r.output
    r = runner.invoke(main, ["coverage", str(ws_dir), "--distance", "clinic"])
    assert r.exit_code == 2


def test_village_classes_match_names_written_differently() -> None:
    """村名 as a township writes it (no 村, a 村委会 suffix, spaces) still names the village."""
    g = gpd.read_file(SAMPLE / "batches" / "proposed_houses.gpkg")
    plain = geoplan.village_classes(SAMPLE, g)
    g["village"] = g["village"].str.replace("村", "", regex=False) + " 村委会"
    written = geoplan.village_classes(SAMPLE, g)
    assert (written.sites["assigned_by"] == "field").sum() == \
        (plain.sites["assigned_by"] == "field").sum() > 0
    assert (written.villages["n_sites"] == plain.villages["n_sites"]).all()
