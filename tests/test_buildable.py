"""Buildable land and suggested moves, checked against hand-worked answers and the engine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from conftest import SAMPLE, X0, Y0, gk, map_payload
from shapely import LineString, box
from test_invariants import mem_ws

import geoplan
from geoplan.analysis import buildable, count_plots, minkowski_forbidden, suggest
from geoplan.cli import main
from geoplan.rules import load_pack

PACK = """
[pack]
name = "hand"
version = "1"

[[rules]]
id = "h.flood"
subject = "house"
kind = "avoid"
layer = "flood_zone"
severity = "fail"
clause = "(十一)"
title_zh = "洪"
title_en = "flood"

[[rules]]
id = "h.power"
subject = "house"
kind = "setback"
layer = "power_line"
severity = "fail"
clause = "(十一)"
title_zh = "电"
title_en = "power"
distance_table = { field = "voltage_kv", source = "t", verified = false, rows = [
  { upto = 10, distance_m = 5 }, { upto = 220, distance_m = 15 }] }
"""


@pytest.fixture
def hand(tmp_path: Path):
    """A 200 m × 100 m village; a flood zone over its east 50 m; a 10 kV line at x = 60 m."""
    village = gk([box(X0, Y0, X0 + 200, Y0 + 100)], village=["方村"], township=["镇"])
    flood = gk([box(X0 + 150, Y0 - 20, X0 + 260, Y0 + 120)])
    line = gk([LineString([(X0 + 60, Y0 - 80), (X0 + 60, Y0 + 180)])], voltage_kv=[10.0])
    ws = mem_ws(village_boundary=village, flood_zone=flood, power_line=line)
    p = tmp_path / "hand.toml"
    p.write_text(PACK, encoding="utf-8")
    return ws, load_pack(p)


def test_hand_built_village_area_worked_out_by_hand(hand) -> None:
    ws, pack = hand
    b = buildable(ws, pack)
    row = b.land.iloc[0]
    # 200 × 100 − flood 50 × 100 − corridor 10 × 100 = 14 000 m²
    assert row["buildable_m2"] == pytest.approx(14_000.0, abs=0.1)
    assert row["excluded_m2"] == pytest.approx(6_000.0, abs=0.1)
    assert row["plots_max"] == 14_000 // 180
    # the land is two strips, 55 m and 85 m wide: 4 × 6 and 7 × 6 plots of 12 m × 15 m
    assert 24 + 36 <= row["plots"] <= 66
    assert not row["provisional"]
    plots = b.plots.geometry.to_numpy()
    assert shapely.covers(row["geometry"].buffer(1e-6), plots).all()
    a, c = shapely.STRtree(plots).query(plots, predicate="overlaps")
    assert not (a != c).any()                                     # disjoint


def test_hand_built_suggestion_moves_a_known_distance(hand) -> None:
    ws, pack = hand
    houses = gk([box(X0 + 155, Y0 + 40, X0 + 167, Y0 + 52),    # 17 m into the flood zone
                 box(X0 + 58, Y0 + 10, X0 + 70, Y0 + 22)],     # on the line: 7 m to go west
                house_id=["A", "B"])
    res = geoplan.check(houses, ws, rules=pack, subject="house", id_field="house_id")
    assert (res.verdicts["verdict"] == "fail").all()
    s = suggest(res, radius_m=50)
    t = s.table.set_index("site_id")
    assert t.loc["A", "status"] == "moved"
    assert t.loc["A", "distance_m"] == pytest.approx(17.0, abs=0.01)
    assert t.loc["A", "direction_en"] == "west"
    assert t.loc["A", "fixed_rules"] == "h.flood"
    # B (x 58–70) leaves the corridor (55–65) to the west by 58 − 43 = 15 m, or to the
    # east by 65 − 58 = 7 m
    assert t.loc["B", "distance_m"] == pytest.approx(7.0, abs=0.01)
    assert t.loc["B", "direction_en"] == "east"
    assert (t["recheck"] == "pass").all()


def test_none_within_radius_and_points_without_a_footprint(hand) -> None:
    ws, pack = hand
    houses = gk([box(X0 + 190, Y0 + 40, X0 + 202, Y0 + 52), shapely.Point(X0 + 200, Y0 + 50)],
                house_id=["far", "pt"])
    res = geoplan.check(houses, ws, rules=pack, subject="house", id_field="house_id")
    t = suggest(res, radius_m=20).table.set_index("site_id")
    assert t.loc["far", "status"] == "none_within_radius"
    assert t.loc["pt", "status"] == "not_applicable"
    s2 = suggest(res, radius_m=60, footprint_m=10)
    assert not any("village_boundary" in n for n in s2.notes)
    t2 = s2.table.set_index("site_id")
    assert t2.loc["pt", "status"] == "moved"
    assert t2.loc["pt", "distance_m"] == pytest.approx(55.0, abs=0.01)  # 200 − 5 → 145 − 5


def test_a_missing_layer_makes_the_land_provisional_everywhere(tmp_path: Path, hand) -> None:
    ws, _ = hand
    p = tmp_path / "more.toml"
    p.write_text(PACK + """
[[rules]]
id = "h.landslide"
subject = "house"
kind = "avoid"
layer = "landslide_zone"
severity = "fail"
clause = "(十一)"
title_zh = "滑"
title_en = "landslide"
""", encoding="utf-8")
    b = buildable(ws, load_pack(p))
    assert b.provisional
    assert b.land["provisional"].all()
    assert b.land["unmapped_rules"].iloc[0] == "h.landslide"
    assert any("PROVISIONAL" in n for n in b.notes)
    # a rule whose layer is missing is named as unmapped, not as a safe cover
    assert not any("safe cover" in n and "h.landslide" in n for n in b.notes)
    assert "暂定" in b._repr_html_()
    files = b.to_files(tmp_path / "out")
    names = {f.name for f in files}
    assert {"buildable.csv", "buildable.gpkg", "map.html", "summary.json"} <= names
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["provisional"] is True
    assert "provisional" in (tmp_path / "out" / "map.html").read_text(encoding="utf-8")
    csv = (tmp_path / "out" / "buildable.csv").read_text(encoding="utf-8-sig")
    assert "True" in csv.splitlines()[1]


@pytest.fixture(scope="module")
def sample():
    ws = geoplan.open_workspace(SAMPLE)
    return ws, buildable(ws, villages=["南滩村", "新湾村", "中台村"])


def test_sample_plots_all_pass_every_fail_rule(sample) -> None:
    ws, b = sample
    plots = b.plots.copy()
    assert len(plots) > 1000
    plots["site_id"] = [f"{v}-{p}" for v, p in zip(plots["village"], plots["plot"],
                                                     strict=True)]
    res = geoplan.check(plots[["site_id", "geometry"]], ws, subject="house",
                        id_field="site_id")
    f = res.findings
    bad = f[(f["severity"] == "fail") & (f["status"] != "pass")]
    assert bad.empty, bad[["site_id", "rule_id", "status", "message_en"]].head()


def test_sample_points_in_excluded_land_fail_some_rule(sample) -> None:
    ws, b = sample
    ex = b.areas[b.areas["class"] == "excluded"].geometry.to_numpy()
    rng = np.random.default_rng(7)
    pts = []
    for g in ex:
        core = g.buffer(-0.5)
        if core.is_empty:
            continue
        x0, y0, x1, y1 = core.bounds
        cand = shapely.points(rng.uniform(x0, x1, 400), rng.uniform(y0, y1, 400))
        pts.extend(cand[shapely.contains(core, cand)][:100])
    assert len(pts) > 100
    sites = gpd.GeoDataFrame({"site_id": [f"P{i}" for i in range(len(pts))]}, geometry=pts,
                             crs=ws.crs)
    res = geoplan.check(sites, ws, subject="house", id_field="site_id")
    f = res.findings
    worst = f[f["severity"] == "fail"].groupby("site_id")["status"].apply(set)
    # every point in excluded land fails a fail-level rule (the safe-cover rules are warn-level)
    assert worst.map(lambda s: "fail" in s).all(), worst[~worst.map(lambda s: "fail" in s)]


def test_sample_suggestions_pass_when_checked_again() -> None:
    res = geoplan.check(SAMPLE / "batches" / "proposed_houses.gpkg", SAMPLE, footprint_m=12)
    s = suggest(res)
    counts = s.table["status"].value_counts()
    assert counts.get("moved", 0) > 50
    assert counts.get("rejected", 0) == 0
    again = geoplan.check(s.moved.assign(site_id=s.moved["site_id"].astype(str)), SAMPLE,
                          subject="house", id_field="site_id")
    f = again.findings
    assert not ((f["severity"] == "fail") & (f["status"] == "fail")).any()
    moved = s.table[s.table["status"] == "moved"]
    assert (moved["distance_m"] <= 200 + 1e-6).all()
    assert (moved["distance_m"] > 0).all()


def test_count_plots_bounds() -> None:
    assert len(count_plots(box(0, 0, 36, 30), (12, 15))) == 6
    land = box(0, 0, 100, 100).difference(box(40, 40, 60, 60))
    plots = count_plots(land, (12, 15))
    assert len(plots) <= land.area // 180
    assert shapely.covers(land, plots).all()
    turned = count_plots(shapely.affinity.rotate(box(0, 0, 36, 30), 30), (12, 15), angle=30)
    assert len(turned) == 6


def test_minkowski_of_an_l_shaped_house_against_a_square() -> None:
    l_house = shapely.Polygon([(0, 0), (10, 0), (10, 4), (4, 4), (4, 10), (0, 10)])
    zone = box(100, 100, 110, 110)
    f = minkowski_forbidden(zone, l_house)
    c = l_house.centroid
    rng = np.random.default_rng(3)
    for x, y in rng.uniform(80, 130, (300, 2)):
        moved = shapely.affinity.translate(l_house, x - c.x, y - c.y)
        d = moved.distance(zone)
        if d > 1e-3:
            assert not f.contains(shapely.Point(x, y))
        elif moved.intersection(zone).area > 1e-3:
            assert f.contains(shapely.Point(x, y))


def test_cli_buildable_and_suggest(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["buildable", str(SAMPLE), "--village", "南滩村", "--out",
                                  str(tmp_path / "b"), "--plot", "12x15"])
    assert r.exit_code == 0, r.output
    assert "南滩村" in r.output
    assert (tmp_path / "b" / "buildable.gpkg").exists()
    r = CliRunner().invoke(main, ["buildable", str(SAMPLE), "--plot", "12by15"])
    assert r.exit_code == 2
    assert "WIDTHxDEPTH" in r.output
    r = CliRunner().invoke(main, ["suggest", str(SAMPLE / "batches" / "proposed_houses.gpkg"),
                                  "-w", str(SAMPLE), "--footprint-m", "12", "--out",
                                  str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    assert "moved" in r.output
    assert (tmp_path / "s" / "suggestions.csv").exists()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_county_plots_pass_and_suggestions_pass(tmp_path: Path, hand, seed) -> None:
    """A random county: villages, flood zones and 10 kV / 35 kV lines (two rule kinds)."""
    _, pack = hand
    rng = np.random.default_rng(seed)
    villages = gk([box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)
                   for x, y, w, h in zip(rng.uniform(0, 3000, 4), rng.uniform(0, 3000, 4),
                                         rng.uniform(150, 400, 4), rng.uniform(150, 400, 4),
                                         strict=True)],
                  village=[f"村{i}" for i in range(4)], township=["镇"] * 4)
    floods = gk([shapely.Point(X0 + x, Y0 + y).buffer(r, quad_segs=6)
                 for x, y, r in zip(rng.uniform(0, 3400, 6), rng.uniform(0, 3400, 6),
                                    rng.uniform(20, 150, 6), strict=True)])
    lines = gk([LineString([(X0 + rng.uniform(0, 3400), Y0 - 100),
                            (X0 + rng.uniform(0, 3400), Y0 + 3500)]) for _ in range(3)],
               voltage_kv=[10.0, 35.0, None])
    ws = mem_ws(village_boundary=villages, flood_zone=floods, power_line=lines)
    b = buildable(ws, pack)
    assert not b.provisional
    plots = b.plots.assign(site_id=[f"p{i}" for i in range(len(b.plots))])
    assert len(plots) > 100
    res = geoplan.check(plots[["site_id", "geometry"]], ws, rules=pack, subject="house",
                        id_field="site_id")
    f = res.findings
    assert (f.loc[f["severity"] == "fail", "status"] == "pass").all()
    # points drawn in the excluded land fail a fail-level rule
    excl = shapely.buffer(b.areas.loc[b.areas["class"] == "excluded"].union_all(), -0.05)
    x0, y0, x1, y1 = excl.bounds
    cand = shapely.points(rng.uniform(x0, x1, 2000), rng.uniform(y0, y1, 2000))
    inside = cand[shapely.contains(excl, cand)]
    assert len(inside) > 20
    pts_in = gpd.GeoDataFrame({"site_id": [f"x{i}" for i in range(len(inside))]},
                              geometry=inside, crs=4536)
    f = geoplan.check(pts_in, ws, rules=pack, subject="house", id_field="site_id").findings
    failed = f.loc[f["status"] == "fail", "site_id"].unique()
    assert set(failed) == set(pts_in["site_id"])
    # houses dropped at random: every suggestion passes when checked again
    pts = shapely.points(X0 + rng.uniform(0, 3400, 150), Y0 + rng.uniform(0, 3400, 150))
    houses = gpd.GeoDataFrame({"house_id": [f"h{i}" for i in range(len(pts))]},
                              geometry=shapely.buffer(pts, 6, cap_style="square"), crs=4536)
    res = geoplan.check(houses, ws, rules=pack, subject="house", id_field="house_id")
    s = suggest(res, radius_m=150, within_village=False)
    assert not s.notes
    assert (s.table["status"] != "rejected").all()
    assert (s.table["status"] == "moved").sum() >= 3
    again = geoplan.check(s.moved, ws, rules=pack, subject="house", id_field="site_id")
    g = again.findings
    assert not ((g["severity"] == "fail") & (g["status"] == "fail")).any()


def test_suggest_without_village_boundaries_says_so(hand) -> None:
    ws, pack = hand
    del ws.layers["village_boundary"]
    houses = gk([box(X0 + 155, Y0 + 40, X0 + 167, Y0 + 52)], house_id=["A"])
    res = geoplan.check(houses, ws, rules=pack, subject="house", id_field="house_id")
    s = suggest(res, radius_m=50)
    assert any("village_boundary" in n for n in s.notes)
    assert s.table["status"].iloc[0] == "moved"


def test_buildable_round_settlements_and_the_error_without_boundaries(hand) -> None:
    ws, pack = hand
    del ws.layers["village_boundary"]
    with pytest.raises(geoplan.WorkspaceError, match="radius"):
        buildable(ws, pack)
    ws2 = mem_ws(village=gk([shapely.Point(X0 + 400, Y0 + 400)], name=["圆村"],
                            township=["镇"], population=[100]),
                 flood_zone=gk([box(X0 + 400, Y0 + 300, X0 + 600, Y0 + 500)]))
    b = buildable(ws2, pack, radius_m=100)
    disc = shapely.Point(X0 + 400, Y0 + 400).buffer(100, quad_segs=16)
    assert b.land["village"].tolist() == ["圆村"]
    # the east half of the disc is flooded; the power-line rule has no layer here
    assert b.land["buildable_m2"].iloc[0] == pytest.approx(disc.area / 2, abs=0.1)
    assert b.provisional   # power_line missing


def test_cli_check_suggest_adds_columns_to_the_per_site_sheet(tmp_path: Path) -> None:
    import pandas as pd

    houses = str(SAMPLE / "batches" / "proposed_houses.gpkg")
    r = CliRunner().invoke(main, ["check", houses, "-w", str(SAMPLE), "--footprint-m", "12",
                                  "--suggest", "-o", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "suggestions 选址建议: moved" in r.output
    v = pd.read_csv(tmp_path / "o" / "verdicts.csv", encoding="utf-8-sig")
    failed = v["verdict"] == "fail"
    assert v.loc[failed, "suggest_status"].isin(["moved", "none_within_radius"]).all()
    assert v.loc[~failed, "suggest_status"].isna().all()
    moved = v["suggest_status"] == "moved"
    assert (v.loc[moved, "suggest_distance_m"] > 0).all()
    assert (tmp_path / "o" / "suggestions" / "suggestions.gpkg").exists()
    r = CliRunner().invoke(main, ["check", houses, "-w", str(SAMPLE), "--suggest",
                                  "--chunk-size", "50"])
    assert r.exit_code == 2
    assert "local engine" in r.output
    r = CliRunner().invoke(main, ["check", str(SAMPLE / "batches" / "proposed_roads.gpkg"),
                                  "-w", str(SAMPLE), "--suggest"])
    assert r.exit_code == 2
    assert "road" in r.output


# ------------------------------------------------- on the check's own map and report

def test_buildable_and_suggestions_on_the_checks_map_and_report(hand) -> None:
    ws, pack = hand
    houses = gk([box(X0 + 155, Y0 + 40, X0 + 167, Y0 + 52),
                 box(X0 + 58, Y0 + 10, X0 + 70, Y0 + 22),
                 box(X0 + 100, Y0 + 40, X0 + 112, Y0 + 52)],          # passes
                house_id=["<b>A</b>", "B", "ok"])
    res = geoplan.check(houses, ws, rules=pack, subject="house", id_field="house_id")
    b = buildable(ws, pack)
    s = suggest(res, radius_m=50)
    m = res.map(buildable=b, suggestions=s, offline=True)
    layers = m.geoplan_summary["layers"]
    assert layers["suggest.moved"] == 2
    assert layers["suggest.arrow"] == 2
    assert layers["buildable.buildable"] == 1          # one village, one polygon of land
    data = map_payload(m)
    lay = {ly["kind"]: ly for ly in data["layers"]}
    assert lay["buildable.buildable"]["group"] == "placement"
    # the land drawn is the land computed: 14 000 m² in lon/lat, back in metres
    drawn = gpd.GeoSeries([shapely.geometry.shape(f["geometry"])
                           for f in lay["buildable.buildable"]["data"]["features"]],
                          crs=4326).to_crs(ws.crs)
    assert drawn.area.sum() == pytest.approx(14_000.0, rel=1e-3)
    # each failing site's popup carries its suggestion; the passing one none
    sites = {f["properties"]["i"]: f["properties"] for f in data["sites"]["features"]}
    assert sites["&lt;b&gt;A&lt;/b&gt;"]["g"][0][0] == "选址建议：向西移动 17.00 米"
    assert sites["B"]["g"][0][1] == "Suggestion: move 7.00 m east"
    assert "g" not in sites["ok"]
    page = m.get_root().render()
    assert "<b>A</b>" not in page                       # the id is escaped everywhere
    html = res.report(buildable=b, suggestions=s, offline=True)
    assert "<b>A</b>" not in html
    assert "id='gp-buildable'" in html
    assert "id='gp-suggest'" in html
    assert "14,000" in html                             # the village's buildable m²
    assert html.count("class='gp-sg'") == 2             # a note in each failing site's section
    assert "建议选址" in html                             # in the small map's legend
    # without the additions nothing of them appears
    plain = res.report(offline=True)
    assert "gp-buildable" not in plain
    assert "class='gp-sg'" not in plain
    assert "suggest.moved" not in res.map(offline=True).geoplan_summary["layers"]


def test_a_provisional_land_is_said_so_on_the_checks_map_and_report(tmp_path: Path,
                                                                    hand) -> None:
    ws, _ = hand
    p = tmp_path / "more.toml"
    p.write_text(PACK.replace('layer = "flood_zone"', 'layer = "landslide_zone"'),
                 encoding="utf-8")
    pack = load_pack(p)
    houses = gk([box(X0 + 58, Y0 + 10, X0 + 70, Y0 + 22)], house_id=["B"])
    res = geoplan.check(houses, ws, rules=pack, subject="house", id_field="house_id")
    b = buildable(ws, pack)
    assert b.provisional
    labels = [ly["en"] for ly in map_payload(res.map(buildable=b, offline=True))["layers"]
              if ly["group"] == "placement"]
    assert labels
    assert all("provisional" in t for t in labels)
    html = res.report(buildable=b, offline=True)
    assert "暂定 PROVISIONAL" in html
    assert "h.flood" in html


def test_the_map_refuses_what_is_not_an_analysis(hand) -> None:
    ws, pack = hand
    res = geoplan.check(gk([box(X0 + 100, Y0 + 40, X0 + 112, Y0 + 52)]), ws, rules=pack,
                        subject="house")
    with pytest.raises(TypeError, match=r"geoplan\.buildable"):
        res.map(buildable=res.verdicts)


def test_buildable_near_a_batch(hand) -> None:
    ws, pack = hand
    inside = gk([shapely.Point(X0 + 10, Y0 + 10)]).geometry
    assert len(buildable(ws, pack, near=inside).land) == 1
    far = gk([shapely.Point(X0 + 5_000, Y0)]).geometry
    b = buildable(ws, pack, near=far, near_m=500)
    assert len(b.land) == 0
    assert b.land["buildable_m2"].sum() == 0
    assert any("500 m of the batch" in n for n in b.notes)
    assert len(buildable(ws, pack, near=far, near_m=4_900).land) == 1


def test_cli_check_buildable_and_suggest_on_the_map_and_report(tmp_path: Path) -> None:
    houses = str(SAMPLE / "batches" / "proposed_houses.gpkg")
    out = tmp_path / "o"
    r = CliRunner().invoke(main, ["check", houses, "-w", str(SAMPLE), "--footprint-m", "12",
                                  "--suggest", "--buildable", "--offline", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "buildable land 可建设用地:" in r.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    land = gpd.read_file(out / "buildable" / "buildable.gpkg", layer="land")
    assert summary["buildable"]["villages"] == len(land) > 0
    assert summary["buildable"]["buildable_m2"] == pytest.approx(land["buildable_m2"].sum(),
                                                                 abs=0.1)
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "id='gp-buildable'" in report
    assert "id='gp-suggest'" in report
    moved = gpd.read_file(out / "suggestions" / "suggestions.gpkg", layer="suggested")
    page = (out / "map.html").read_text(encoding="utf-8")
    assert re.search(r'"kind":"suggest\.moved"[^{}]*\{[^{}]*\}[^{}]*"n":' + str(len(moved))
                     + r'\b', page)
    r = CliRunner().invoke(main, ["check", houses, "-w", str(SAMPLE), "--buildable",
                                  "--chunk-size", "50"])
    assert r.exit_code == 2
    assert "--buildable works with the local engine" in r.output
