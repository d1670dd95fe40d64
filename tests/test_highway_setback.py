"""House setback from highways by road class (issue 14, part 9): ``house.highway_setback``.

公路安全保护条例 Art. 11 (rule-figures.md, Roads): a building-control zone each side,
from the outer edge of the road land: expressway 30 m, national 20 m, provincial
15 m, county 10 m, township 5 m; village roads have none.

Every road below runs east–west; a house is a 10 m square whose southern edge
lies ``gap`` metres north of the road (or a point ``gap`` metres north of it), so
the distance is ``gap`` by construction. A road drawn as land is a polygon 12 m
wide (y from −6 to +6); a centreline carries ``width_m``, its edge half of it away.
At exactly the required distance a site passes (the engine's ``EPS_M``
convention: only closer than the threshold less 1e-6 m fails).
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from conftest import X0, Y0, gk
from shapely import LineString, Point, box
from test_exclusion import _assert_agrees, _random_sites
from test_invariants import mem_ws

import geoplan
from geoplan.engine import exclusions
from geoplan.errors import RulePackError
from geoplan.rules import load_pack
from geoplan.vocab import recognise

RULE = "house.highway_setback"
ZONE = {"expressway": 30.0, "national": 20.0, "provincial": 15.0, "county": 10.0,
        "township": 5.0}


def _centreline(y: float = 0.0) -> LineString:
    return LineString([(X0 - 2000, Y0 + y), (X0 + 2000, Y0 + y)])


def _road_land(y: float = 0.0) -> shapely.Polygon:
    return box(X0 - 2000, Y0 + y - 6, X0 + 2000, Y0 + y + 6)


def _site(kind: str, x: float, y_edge: float):
    """A site whose nearest point is ``y_edge`` north of Y0 (a 10 m square or a point)."""
    if kind == "point":
        return Point(X0 + x + 5, Y0 + y_edge)
    return box(X0 + x, Y0 + y_edge, X0 + x + 10, Y0 + y_edge + 10)


def _workspace(tmp_path: Path, roads: gpd.GeoDataFrame, toml: str | None = None) -> Path:
    d = tmp_path / "ws"
    d.mkdir()
    roads.to_file(d / "road.gpkg")
    if toml is not None:
        (d / "geoplan.toml").write_text(toml, encoding="utf-8")
    return d


def _findings(sites: list, ws, ids: list[str]) -> dict[str, dict]:
    res = geoplan.check(gk(sites, site_id=ids), ws)
    f = res.findings[res.findings.rule_id == RULE]
    return {str(r["site_id"]): r for r in f.to_dict("records")}


SITE_KINDS = pytest.mark.parametrize("kind", ["point", "footprint"])

# ---------------------------------------------------------------- road classes


@pytest.mark.parametrize(("text", "cls"), [
    ("G312", "national"), ("S313", "provincial"), ("X041", "county"), ("Y002", "township"),
    ("G30", "expressway"), ("G3012", "expressway"), ("C001", "village"), ("Z005", "village"),
    ("S21", "expressway"), ("S1201", "expressway"), ("g 312", "national"),
    ("Ｇ３１２", "national"), ("X041654002", "county"), ("G218线", "national"),
    ("G30连霍高速", "expressway"), ("国道", "national"), ("县道", "county"),
    ("省道", "provincial"), ("乡道", "township"), ("村道", "village"),
    ("村组道路", "village"), ("高速公路", "expressway"), ("高速", "expressway"),
    ("国道312线", "national"), ("national", "national"), ("Expressway", "expressway"),
])
def test_road_class_read_from_names_and_route_codes(text: str, cls: str) -> None:
    assert recognise("road_class", [text]) == [cls]


@pytest.mark.parametrize("text", [
    "县乡道", "国省道", "农村公路", "乡村道路", "二级公路", "主干路", "G312高速", "X041国道",
    "G31234", "S5", "R12", "12", "", None,
])
def test_road_class_not_understood(text) -> None:
    # S5 is an expressway (1 digit): only the others are unreadable
    expected = ["expressway"] if text == "S5" else [None]
    assert recognise("road_class", [text]) == expected


# ---------------------------------------------------------------- distances from the edge


@SITE_KINDS
@pytest.mark.parametrize(("gap", "status"), [(19.9, "fail"), (20.0, "pass"), (20.1, "pass")])
def test_national_road_land_polygon(tmp_path: Path, kind: str, gap: float, status: str) -> None:
    ws = _workspace(tmp_path, gk([_road_land()], road_id=["G312"], **{"class": ["国道"]}))
    f = _findings([_site(kind, 0, 6 + gap)], ws, ["h"])["h"]
    assert f["status"] == status
    assert f["measure"] == pytest.approx(gap, abs=1e-6)
    assert f["threshold"] == 20.0
    if status == "fail":
        assert f["matched"] == "1"
        assert "(class: national road)" in f["message_en"]
        assert "from the edge of the road land" in f["message_en"]
        assert "国道" in f["message_zh"]


@SITE_KINDS
@pytest.mark.parametrize(("gap", "status"), [(25.9, "fail"), (26.0, "pass"), (26.1, "pass")])
def test_national_centreline_with_width(tmp_path: Path, kind: str, gap: float,
                                        status: str) -> None:
    """width_m 12: the edge is 6 m from the centreline, the zone reaches 26 m from it."""
    ws = _workspace(tmp_path, gk([_centreline()], width_m=[12.0], **{"class": ["国道"]}))
    f = _findings([_site(kind, 0, gap)], ws, ["h"])["h"]
    assert f["status"] == status
    assert f["measure"] == pytest.approx(gap - 6.0, abs=1e-6)  # from the road's edge
    assert f["threshold"] == 20.0
    assert "from the centreline + half the road width (12 m)" in f["message_en"]
    assert "路宽 12 米" in f["message_zh"]


@SITE_KINDS
@pytest.mark.parametrize(("gap", "status"), [
    (19.9, "fail"),         # closer than 20 m to the centreline: the edge is closer still
    (20.5, "not_checked"),  # the road land may be up to 60 m wide (missing_width_m)
    (49.9, "not_checked"),
    (50.0, "pass"),         # 20 m + 30 m (half of 60 m) from the centreline
])
def test_centreline_without_width_is_never_a_wrong_pass(tmp_path: Path, kind: str, gap: float,
                                                        status: str) -> None:
    ws = _workspace(tmp_path, gk([_centreline()], width_m=[None], **{"class": ["国道"]}))
    f = _findings([_site(kind, 0, gap)], ws, ["h"])["h"]
    assert f["status"] == status
    if status == "fail":
        assert f["measure"] == pytest.approx(gap, abs=1e-6)
        assert "from the centreline: the road has no width_m" in f["message_en"]
    if status == "not_checked":
        assert "a centreline without width_m" in f["message_en"]
        assert "up to 60 m wide" in f["message_en"]
        assert f["matched"] == "1"


def _class_roads(tmp_path: Path) -> tuple[Path, list[tuple[str, float]]]:
    """One centreline (width 8) per route code or class name, 400 m apart."""
    cases = [("G312", None, 20.0), ("S313", None, 15.0), ("X041", None, 10.0),
             ("Y002", None, 5.0), ("G30", None, 30.0), ("G3012", None, 30.0),
             ("R9", "国道", 20.0), ("R8", "县道", 10.0), ("G312", "县道", 10.0)]
    roads = gk([_centreline(400 * i) for i in range(len(cases))], width_m=[8.0] * len(cases),
               road_id=[c[0] for c in cases], **{"class": [c[1] for c in cases]})
    return _workspace(tmp_path, roads), [(f"{c[0]}/{c[1]}", c[2]) for c in cases]


@SITE_KINDS
def test_class_from_the_class_field_else_the_route_code(tmp_path: Path, kind: str) -> None:
    ws, cases = _class_roads(tmp_path)
    sites, ids, want = [], [], {}
    for i, (name, zone) in enumerate(cases):
        for gap, status in ((zone - 0.1, "fail"), (zone + 0.1, "pass")):
            sites.append(_site(kind, 0, 400 * i + 4 + gap))  # edge at 4 m (width 8)
            ids.append(f"{name}@{gap:g}")
            want[ids[-1]] = (status, zone)
    f = _findings(sites, ws, ids)
    got = {k: (v["status"], v["threshold"]) for k, v in f.items()}
    assert got == want


@SITE_KINDS
def test_village_roads_are_exempt_and_hide_nothing(tmp_path: Path, kind: str) -> None:
    roads = gk([_centreline(0), _centreline(1.0), _centreline(300)], width_m=[5.0, 5.0, 6.0],
               road_id=["C001", "Z002", "Y003"], **{"class": [None, "村组道路", None]})
    ws = _workspace(tmp_path, roads)
    f = _findings([_site(kind, 0, 3.0), _site(kind, 100, 300 + 3 + 4.9)], ws, ["v", "y"])
    assert f["v"]["status"] == "pass"           # 0.5 m from a village road: no zone
    assert "village road" in f["v"]["message_en"]
    assert f["y"]["status"] == "fail"           # the township road 4.9 m away still counts
    assert f["y"]["threshold"] == 5.0


@SITE_KINDS
@pytest.mark.parametrize(("gap", "status"), [(0.0, "not_checked"), (2.0, "not_checked"),
                                              (29.9, "not_checked"), (30.0, "pass"),
                                              (35.0, "pass")])
def test_unknown_class_is_undecided_within_the_largest_zone(tmp_path: Path, kind: str,
                                                            gap: float, status: str) -> None:
    """Not understood: it may be a village road (no zone) or an expressway (30 m)."""
    roads = gk([_road_land()], road_id=["ABC"], **{"class": ["主干路"]})
    ws = _workspace(tmp_path, roads)
    f = _findings([_site(kind, 0, 6 + gap)], ws, ["h"])["h"]
    assert f["status"] == status
    if status == "not_checked":
        assert f["measure"] == pytest.approx(gap, abs=1e-6)
        assert "class NULL or not understood, and road_id tells none either" in f["message_en"]
        assert "may reach 30 m" in f["message_en"]
        assert f["matched"] == "1"


def test_a_known_violation_wins_over_an_unknown_class(tmp_path: Path) -> None:
    roads = gk([_road_land(0), _road_land(30)], road_id=["X041", "?"],
               **{"class": [None, None]})
    ws = _workspace(tmp_path, roads)
    f = _findings([box(X0, Y0 + 11, X0 + 10, Y0 + 19)], ws, ["h"])["h"]
    assert f["status"] == "fail"    # 5 m from the county road (10 m), 5 m from the unknown one
    assert f["matched"] == "1"
    assert f["threshold"] == 10.0


def test_class_field_mapped_in_geoplan_toml(tmp_path: Path) -> None:
    """fields = { class = "LXDJ" } and values.class = { … } go through the vocabulary."""
    roads = gk([_centreline(0), _centreline(300)], LXBM=["R1", "R2"], KD=[10.0, 10.0],
               LXDJ=["省级干线", "国道"])
    toml = ('[layers.road]\nfields = { class = "LXDJ", road_id = "LXBM", width_m = "KD" }\n'
            'values.class = { "省级干线" = "provincial" }\n')
    ws = geoplan.open_workspace(_workspace(tmp_path, roads, toml))
    assert ws["road"].gdf["class"].tolist() == ["provincial", "national"]
    f = _findings([_site("footprint", 0, 5 + 14.9), _site("footprint", 0, 300 + 5 + 19.9),
                   _site("footprint", 100, 300 + 5 + 20.1)], ws, ["p", "n", "ok"])
    assert {k: (v["status"], v["threshold"]) for k, v in f.items()} == {
        "p": ("fail", 15.0), "n": ("fail", 20.0), "ok": ("pass", 20.0)}


def test_values_mapping_to_no_class_is_refused(tmp_path: Path) -> None:
    roads = gk([_centreline(0)], width_m=[6.0], **{"class": ["干线"]})
    toml = '[layers.road]\nvalues.class = { "干线" = "arterial" }\n'
    with pytest.raises(geoplan.errors.ConfigError, match="not a value geoplan reads for class"):
        geoplan.open_workspace(_workspace(tmp_path, roads, toml))


# ---------------------------------------------------------------- the pack


def test_default_rule_figures() -> None:
    rule = load_pack()[RULE]
    t = rule.distance_table
    assert (rule.kind, rule.layer, rule.severity, rule.clause) == ("setback", "road", "fail",
                                                                    "(十一)")
    assert t.by_value
    assert (t.field, t.fallback_field) == ("class", "road_id")
    assert {r.value: r.distance_m for r in t.rows} == ZONE
    assert t.exempt == ("village",)
    assert all(r.verified and "公路安全保护条例 Art. 11" in r.source for r in t.rows)
    assert rule.verified_text() == "yes"
    assert rule.width_field == "width_m"
    assert rule.missing_width_m == 60.0
    assert (t.min_distance, t.max_distance) == (0.0, 30.0)
    assert "village→none" in rule.threshold_text()
    assert "公路安全保护条例" in rule.basis.source


_PACK = """[pack]
name = "p"
[[rules]]
id = "h.road"
subject = "house"
kind = "setback"
layer = "{layer}"
clause = "(十一)"
title_zh = "公路"
title_en = "highway"
{extra}distance_table = {{ field = "{field}", source = "t", verified = true, rows = [
  {rows}
]{tail} }}
"""

_ALL = ('{ value = "expressway", distance_m = 30 }, { value = "national", distance_m = 20 }, '
        '{ value = "provincial", distance_m = 15 }, { value = "county", distance_m = 10 }, '
        '{ value = "township", distance_m = 5 }')


def _load(tmp_path: Path, rows: str = _ALL, *, tail: str = ', exempt = ["village"]',
          field: str = "class", layer: str = "road", extra: str = ""):
    p = tmp_path / "p.toml"
    p.write_text(_PACK.format(rows=rows, tail=tail, field=field, layer=layer, extra=extra),
                 encoding="utf-8")
    return load_pack(p)


def test_a_pack_may_write_class_names_in_chinese(tmp_path: Path) -> None:
    rows = ('{ value = "高速公路", distance_m = 30 }, { value = "国道", distance_m = 20 }, '
            '{ value = "省道", distance_m = 15 }, { value = "县道", distance_m = 10 }, '
            '{ value = "乡道", distance_m = 5 }')
    t = _load(tmp_path, rows, tail=', exempt = ["村道"]')["h.road"].distance_table
    assert [r.value for r in t.rows] == ["expressway", "national", "provincial", "county",
                                         "township"]
    assert t.exempt == ("village",)


@pytest.mark.parametrize(("kw", "field", "match"), [
    ({"rows": _ALL.replace('"national"', '"nationale"')}, "distance_table.rows[2].value",
     "'nationale' is not a class geoplan reads"),
    ({"tail": ""}, "distance_table", r"value\(s\) \['village'\] have no row"),
    ({"tail": ', exempt = ["village", "county"]'}, "distance_table",
     "'county' is listed twice"),
    ({"rows": _ALL + ', { upto = 10, distance_m = 5 }'}, "distance_table.rows[6]",
     "must be { value = …, distance_m = … }"),
    ({"rows": _ALL.replace("distance_m = 20", "distance_m = -20")},
     "distance_table.rows[2].distance_m", "must not be negative"),
    ({"rows": '{ value = "10", distance_m = 5 }', "tail": "", "field": "voltage_kv",
      "layer": "power_line"}, "distance_table.field", "is a number"),
    ({"rows": '{ upto = 10, distance_m = 5 }', "tail": ', exempt = ["0"]',
      "field": "voltage_kv", "layer": "power_line"}, "distance_table.exempt",
     "only a table by value"),
    ({"tail": ', exempt = ["village"], fallback_field = "road_id"', "field": "surface2"},
     "distance_table.fallback_field", "needs a field read through a vocabulary"),
    ({"extra": 'width_field = "width_m"\n'}, "missing_width_m", "needs missing_width_m"),
    ({"extra": 'missing_width_m = 40\n'}, "missing_width_m", "only a setback with width_field"),
])
def test_bad_tables_name_the_file_rule_and_field(tmp_path: Path, kw: dict, field: str,
                                                 match: str) -> None:
    with pytest.raises(RulePackError) as err:
        _load(tmp_path, **kw)
    msg = str(err.value)
    assert "p.toml" in msg
    assert "rule 'h.road'" in msg
    assert f"field {field!r}" in msg
    assert re.search(match, msg), msg


# ---------------------------------------------------------------- exclusion areas

EXTENT = box(X0 - 400, Y0 - 400, X0 + 400, Y0 + 400)
INNER = box(X0 - 400, Y0 - 100, X0 + 400, Y0 + 100)  # straight sides only: exact areas


def _exclusion(roads: gpd.GeoDataFrame):
    ws = mem_ws(road=roads)
    (ex,) = [e for e in exclusions(ws, extent=EXTENT) if e.rule_id == RULE]
    return ex


@pytest.mark.parametrize(("geom", "width", "cls", "fail_m2", "unknown_m2"), [
    # a centreline 12 m wide, national: 6 + 20 m each side over the 800 m in the extent
    (_centreline(), 12.0, "G312", 800 * 2 * 26, 0.0),
    # the same road drawn as land (12 m wide): the land and 20 m each side
    (_road_land(), None, "G312", 800 * (12 + 2 * 20), 0.0),
    # a township centreline without width: 5 m fail, then 30 m more unknown each side
    (_centreline(), None, "Y002", 800 * 2 * 5, 800 * 2 * 30),
    # an unknown class, 12 m wide: no sure fail, unknown up to 6 + 30 m each side
    (_centreline(), 12.0, "???", 0.0, 800 * 2 * 36),
    # a village road: no zone at all
    (_centreline(), 6.0, "C001", 0.0, 0.0),
])
def test_exclusion_corridor_areas_by_hand(geom, width, cls, fail_m2, unknown_m2) -> None:
    ex = _exclusion(gk([geom], road_id=[cls], width_m=[width]))
    assert ex.area("fail").intersection(INNER).area == pytest.approx(fail_m2, abs=1e-6)
    assert ex.unknown.intersection(INNER).area == pytest.approx(unknown_m2, abs=1e-6)
    if unknown_m2:
        assert "road" in ex.note_en


_LINES = gk([_centreline(-150), _centreline(-40), _centreline(30), _centreline(90),
             _centreline(200), LineString([(X0 - 300, Y0 - 300), (X0 + 300, Y0 + 300)])],
            road_id=["G30", "S313", "X041", "?", "Y002", "C001"],
            width_m=[26.0, None, None, 10.0, 5.0, 5.0])
# a layer holds one geometry family: roads drawn as land are a workspace of their own
_LAND = gk([_road_land(-150), _road_land(-40), _road_land(30), _road_land(90),
            box(X0 - 50, Y0 - 380, X0 - 20, Y0 + 380)],
           road_id=["G30", "S313", "X041", "?", "C001"])


@pytest.mark.parametrize("roads", [_LINES, _LAND], ids=["centrelines", "road-land"])
@pytest.mark.parametrize("footprint", [None, 8.0], ids=["points", "footprints"])
def test_exclusion_agrees_with_the_engine(roads: gpd.GeoDataFrame, footprint) -> None:
    ws = mem_ws(road=roads)
    ex = [e for e in exclusions(ws, extent=EXTENT) if e.rule_id == RULE]
    sites = _random_sites(EXTENT.bounds, 1500, footprint=footprint, seed=14)
    seen = _assert_agrees(ws, ex, sites)
    assert seen[RULE] > 300  # many sites meet a zone
    res = geoplan.check(sites, ws, subject="house")
    st = res.findings[res.findings.rule_id == RULE].status.value_counts()
    assert st["fail"] > 50
    assert st["not_checked"] > 50
    assert st["pass"] > 50


def test_sample_township_roads(tmp_path: Path) -> None:
    """The sample's three houses within 5 m of a township road's edge, found by hand."""
    from conftest import SAMPLE

    res = geoplan.check(SAMPLE / "batches" / "proposed_houses.gpkg", SAMPLE)
    f = res.findings[res.findings.rule_id == RULE].set_index("site_id")
    bad = f.index[f.status == "fail"].tolist()
    assert bad == ["H0059", "H0171", "H0252"]
    assert np.allclose(f.loc[bad, "measure"], [4.458, 3.256, 3.316], atol=1e-3)
    assert set(f.status) == {"fail", "pass", "error"}
