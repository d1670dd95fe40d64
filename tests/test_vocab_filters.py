"""Value vocabularies and filters that never select nothing silently (issue 11, items 1–2).

Every expected status here follows from the geometry drawn in the test: squares
of known size at known places, so "inside", "touching" and "far" are by
construction, not read back from geoplan.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import LineString, box

import geoplan
from geoplan.cli import main
from geoplan.draft import draft_config
from geoplan.errors import ConfigError
from geoplan.vocab import apply_values, recognise

CRS = "EPSG:4536"
X0, Y0 = 500_000.0, 4_860_000.0  # near Yining in CGCS2000 / 3° GK CM 81°E


def sq(x: float, y: float, size: float) -> object:
    return box(X0 + x, Y0 + y, X0 + x + size, Y0 + y + size)


def write(path: Path, data: dict, geoms: list, **kw: object) -> None:
    gpd.GeoDataFrame(data, geometry=geoms, crs=CRS).to_file(path, **kw)


def statuses(res: geoplan.Result, rule_id: str) -> list[str]:
    f = res.findings
    rows = f.loc[f["rule_id"] == rule_id]
    return rows.iloc[np.argsort(rows["site_id"].astype(int).to_numpy())]["status"].tolist()


def message(res: geoplan.Result, rule_id: str, site: int) -> str:
    f = res.findings
    row = f.loc[(f["rule_id"] == rule_id) & (f["site_id"].astype(str) == str(site))]
    return str(row["message_en"].iloc[0]) + " | " + str(row["message_zh"].iloc[0])


def houses(*squares: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"site_id": range(1, len(squares) + 1)}, geometry=list(squares),
                            crs=CRS)


# ------------------------------------------------------------------ recognisers


@pytest.mark.parametrize(("raw", "canonical"), [
    ("一级保护区", "1"), ("一级", "1"), ("I", "1"), ("Ⅰ", "1"), (1, "1"), (1.0, "1"), ("1", "1"),
    ("一级水源保护区", "1"), ("饮用水水源一级保护区", "1"), (" 一级 保护区 ", "1"),
    ("二级保护区", "2"), ("II", "2"), ("Ⅱ", "2"), ("２", "2"), (2, "2"),
    ("准保护区", "quasi"), ("准", "quasi"), ("quasi", "quasi"),
    ("三级保护区", None), ("A区", None), ("", None), (None, None),
])
def test_protection_level_recogniser(raw: object, canonical: str | None) -> None:
    assert recognise("protection_level", [raw]) == [canonical]


@pytest.mark.parametrize(("raw", "canonical"), [
    ("新建", "new"), ("新增", "new"), ("new", "new"), ("NEW", "new"),
    ("改造", "rebuilt"), ("改建", "rebuilt"), ("改扩建", "rebuilt"), ("提升", "rebuilt"),
    ("现状", "existing"), ("已建", "existing"), ("现状保留", "existing"),
    ("拆除", "demolished"), ("待拆除", "demolished"),
    ("规划", "proposed"), ("拟建", "proposed"), ("planned", "proposed"),
    ("新建（2024年）", "new"), ("不明", None),
])
def test_status_recogniser(raw: str, canonical: str | None) -> None:
    assert recognise("status", [raw]) == [canonical]


@pytest.mark.parametrize(("raw", "canonical"), [
    ("硬化", "hardened"), ("水泥", "hardened"), ("水泥路", "hardened"), ("沥青", "hardened"),
    ("沥青混凝土", "hardened"), ("混凝土", "hardened"), ("砼", "hardened"),
    ("砂石", "gravel"), ("碎石路面", "gravel"), ("泥结碎石", "gravel"),
    ("土路", "earth"), ("土", "earth"), ("泥土路", "earth"), ("草", None),
])
def test_surface_recogniser(raw: str, canonical: str | None) -> None:
    assert recognise("surface", [raw]) == [canonical]


@pytest.mark.parametrize(("raw", "canonical"), [
    ("是", True), ("否", False), ("Y", True), ("n", False), (1, True), (0, False),
    (True, True), (False, False), ("有", True), ("无", False), ("也许", None),
])
def test_yes_no_recogniser(raw: object, canonical: bool | None) -> None:
    assert recognise("yes_no", [raw]) == [canonical]


def test_mapping_wins_over_recogniser_and_unreadable_values_are_counted() -> None:
    col = pd.Series(["一级保护区", "A区", "A区", None, "B区"])
    values, unread, changed = apply_values(col, vocabulary="protection_level",
                                           mapping={"A区": "2"})
    assert values.tolist() == ["1", "2", "2", None, None]
    assert dict(unread) == {"B区": 1}
    assert changed["A区 → 2"] == 2


# ------------------------------------------------------------------ three-valued filters


@pytest.mark.parametrize(("expr", "selected", "unknown"), [
    ("level == 1", [True, False, False, False], [False, False, True, True]),
    ("level != 2", [True, False, False, False], [False, False, True, True]),
    ("not level == 2", [True, False, False, False], [False, False, True, True]),
    ("level == 1 or level is null", [True, False, True, False], [False, False, False, True]),
    ("level is not null", [True, True, False, True], [False, False, False, False]),
    ("level in [1, 2]", [True, True, False, False], [False, False, True, True]),
    # Kleene logic: unknown and unknown is unknown (it does not reason that 1 ≠ 2)
    ("level == 1 and level == 2", [False, False, False, False], [False, False, True, True]),
    ("level == 1 and level is not null", [True, False, False, False],
     [False, False, False, True]),
    ("level == 2 or level == 1", [True, True, False, False], [False, False, True, True]),
])
def test_where_is_three_valued(expr: str, selected: list[bool], unknown: list[bool]) -> None:
    # rows: level 1, level 2, NULL, text that is not a number ('x' against a number test)
    df = pd.DataFrame({"level": ["1", "2", None, "x"]})
    sel, unk = geoplan.compile_where(expr).evaluate(df)
    assert sel.tolist() == selected
    assert unk.tolist() == unknown


def test_numeric_comparison_on_unreadable_text_is_unknown_not_false() -> None:
    df = pd.DataFrame({"voltage_kv": [10.0, np.nan, 750.0]})
    sel, unk = geoplan.compile_where("voltage_kv >= 35").evaluate(df)
    assert sel.tolist() == [False, False, True]
    assert unk.tolist() == [False, True, False]


def test_code_class_unknown_for_missing_or_non_codes() -> None:
    df = pd.DataFrame({"code": ["0301", "0101", None, "林地"]})
    sel, unk = geoplan.compile_where("code in forest").evaluate(df, scheme="gbt21010-2017")
    assert sel.tolist() == [True, False, False, False]
    assert unk.tolist() == [False, False, True, True]


# ------------------------------------------------------------------ rules on real deliveries


@pytest.fixture
def water_ws(tmp_path: Path):
    """Water-source zones whose level holds Chinese text, as delivered (GBK, no .cpg)."""
    def make(levels: list[object], *, toml: str | None = None) -> Path:
        ws = tmp_path / "ws"
        ws.mkdir(exist_ok=True)
        geoms = [sq(200 * i, 0, 100) for i in range(len(levels))]
        write(ws / "water_source_zone.shp", {"level": levels}, geoms, encoding="gbk")
        for cpg in ws.glob("*.cpg"):
            cpg.unlink()
        write(ws / "flood_zone.gpkg", {"name": ["far"]}, [sq(50_000, 50_000, 10)])
        if toml is not None:
            (ws / "geoplan.toml").write_text(toml, encoding="utf-8")
        return ws
    return make


def test_chinese_level_text_fails_a_house_inside_a_level_1_zone(water_ws) -> None:
    """On the code before this change `level == 1` selected 0 of the zones: the house passed."""
    ws = water_ws(["一级保护区", "二级保护区", "准保护区"])
    sites = houses(sq(10, 10, 20), sq(210, 10, 20), sq(410, 10, 20), sq(5000, 0, 20))
    res = geoplan.check(sites, ws, subject="house")
    # 20 m × 20 m = 400 m² inside zone 1 / zone 2; site 3 in the quasi zone; site 4 far away
    assert statuses(res, "house.water_source_l1") == ["fail", "pass", "pass", "pass"]
    assert statuses(res, "house.water_source_l2") == ["pass", "warn", "pass", "pass"]
    f = res.findings
    row = f[(f.rule_id == "house.water_source_l1") & (f.site_id.astype(str) == "1")].iloc[0]
    assert row["measure"] == pytest.approx(400.0)


def test_all_null_level_makes_the_rule_not_checked_for_every_site(water_ws) -> None:
    ws = water_ws([None, None, None])
    sites = houses(sq(10, 10, 20), sq(5000, 0, 20))
    res = geoplan.check(sites, ws, subject="house")
    assert statuses(res, "house.water_source_l1") == ["not_checked", "not_checked"]
    msg = message(res, "house.water_source_l1", 2)
    assert "water_source_zone" in msg
    assert "level" in msg
    assert "NULL ×3" in msg
    assert "values.<field>" in msg
    assert "house.water_source_l1" in {r["rule_id"] for r in res.summary["rules_not_checked"]}


def test_filter_selecting_nothing_is_not_checked_with_the_values_found(water_ws) -> None:
    ws = water_ws(["二级保护区", "二级保护区"])
    res = geoplan.check(houses(sq(5000, 0, 20)), ws, subject="house")
    assert statuses(res, "house.water_source_l1") == ["not_checked"]
    msg = message(res, "house.water_source_l1", 1)
    assert "selected none of the 2 features" in msg
    assert "'2' ×2" in msg
    # the level-2 rule did select something and is decided normally
    assert statuses(res, "house.water_source_l2") == ["pass"]


def test_undecided_features_make_only_the_sites_they_affect_not_checked(water_ws) -> None:
    ws = water_ws(["一级保护区", "A区", None])
    sites = houses(sq(10, 10, 20), sq(210, 10, 20), sq(410, 10, 20), sq(5000, 0, 20))
    res = geoplan.check(sites, ws, subject="house")
    assert statuses(res, "house.water_source_l1") == ["fail", "not_checked", "not_checked",
                                                       "pass"]
    msg = message(res, "house.water_source_l1", 2)
    assert "'A区' ×1 (not understood)" in msg
    assert "NULL ×1" in msg
    assert "无法判定" in msg
    warnings = res.summary["data_warnings"]
    assert any("water_source_zone" in w and "A区" in w for w in warnings)


def test_value_mapping_in_geoplan_toml_decides_the_zone(water_ws) -> None:
    toml = '[layers.water_source_zone]\nvalues.level = { "A区" = 1, "B区" = "quasi" }\n'
    ws = water_ws(["A区", "B区"], toml=toml)
    res = geoplan.check(houses(sq(10, 10, 20), sq(210, 10, 20)), ws, subject="house")
    assert statuses(res, "house.water_source_l1") == ["fail", "pass"]
    layer = geoplan.open_workspace(ws)["water_source_zone"]
    assert layer.gdf["level"].tolist() == ["1", "quasi"]


@pytest.mark.parametrize(("mapping", "fragment"), [
    ('{ "A区" = 7 }', "is not a value geoplan reads for level"),
    ('{ "A区" = [1] }', "must map to one value"),
    ('"A区"', "must be a non-empty table"),
])
def test_bad_value_mapping_is_refused_naming_file_and_key(water_ws, mapping: str,
                                                          fragment: str) -> None:
    ws = water_ws(["A区"], toml=f"[layers.water_source_zone]\nvalues.level = {mapping}\n")
    with pytest.raises(ConfigError) as err:
        geoplan.open_workspace(ws)
    assert "geoplan.toml" in str(err.value)
    assert "[layers.water_source_zone]" in str(err.value)
    assert fragment in str(err.value)


def test_value_mapping_for_a_field_not_in_the_layer_is_refused(water_ws) -> None:
    ws = water_ws(["一级"], toml='[layers.water_source_zone]\nvalues.levle = { "x" = 1 }\n')
    with pytest.raises(ConfigError, match=r"values\.levle maps values of a field that is not"):
        geoplan.open_workspace(ws)


# ------------------------------------------------------------------ layer filters and NULLs


@pytest.fixture
def power_ws(tmp_path: Path) -> Path:
    """Two 10 kV lines 0 m from two houses: status 新建 and NULL; filter drops 拆除."""
    ws = tmp_path / "pw"
    ws.mkdir()
    lines = [LineString([(X0, Y0 + 30), (X0 + 100, Y0 + 30)]),
             LineString([(X0 + 1000, Y0 + 30), (X0 + 1100, Y0 + 30)]),
             LineString([(X0 + 2000, Y0 + 30), (X0 + 2100, Y0 + 30)])]
    write(ws / "power_line.gpkg", {"voltage_kv": [10.0, 10.0, 10.0],
                                   "status": ["新建", None, "拆除"]}, lines)
    write(ws / "flood_zone.gpkg", {"name": ["far"]}, [sq(3000, 3000, 10)])
    return ws


def test_layer_where_keeps_null_rows_apart_as_unknown(power_ws: Path) -> None:
    """``status != '拆除'`` cannot decide a NULL status: the house by that line is not passed."""
    (power_ws / "geoplan.toml").write_text(
        "[layers.power_line]\nwhere = \"status != '拆除'\"\n", encoding="utf-8")
    ws = geoplan.open_workspace(power_ws)
    layer = ws["power_line"]
    # the filter's '拆除' is read in the status vocabulary ('demolished'), like the data
    assert len(layer.gdf) == 1
    assert layer.n_unknown == 1
    assert any("cannot decide 1 feature" in n for n in layer.notes)
    # each house straddles its line (0 m away)
    sites = houses(sq(40, 20, 20), sq(1040, 20, 20), sq(2040, 20, 20), sq(1500, 500, 20))
    res = geoplan.check(sites, ws, subject="house")
    assert statuses(res, "house.power_line") == ["fail", "not_checked", "pass", "pass"]


def test_readme_filter_form_keeps_null_rows_and_drops_demolished(power_ws: Path) -> None:
    (power_ws / "geoplan.toml").write_text(
        "[layers.power_line]\nwhere = \"status is null or status != 'demolished'\"\n",
        encoding="utf-8")
    ws = geoplan.open_workspace(power_ws)
    assert len(ws["power_line"].gdf) == 2
    assert ws["power_line"].n_unknown == 0
    sites = houses(sq(40, 20, 20), sq(1040, 20, 20), sq(2040, 20, 20))
    res = geoplan.check(sites, ws, subject="house")
    assert statuses(res, "house.power_line") == ["fail", "fail", "pass"]


def test_layer_filter_that_keeps_nothing_makes_its_rules_not_checked(power_ws: Path) -> None:
    (power_ws / "geoplan.toml").write_text(
        "[layers.power_line]\nwhere = \"voltage_kv > 1000\"\n", encoding="utf-8")
    ws = geoplan.open_workspace(power_ws)
    assert ws["power_line"].filtered_to_nothing
    res = geoplan.check(houses(sq(2500, 2500, 20)), ws, subject="house")
    assert statuses(res, "house.power_line") == ["not_checked"]
    assert "kept none of its 3 features" in message(res, "house.power_line", 1)


def test_layers_command_and_summary_report_undecided_rows(power_ws: Path,
                                                         tmp_path: Path) -> None:
    (power_ws / "geoplan.toml").write_text(
        "[layers.power_line]\nwhere = \"status == 'new' or status == 'existing'\"\n",
        encoding="utf-8")
    out = CliRunner().invoke(main, ["layers", str(power_ws)])
    assert out.exit_code == 0, out.output
    assert "kept 1 of 3" in out.output
    assert "cannot decide 1 feature" in out.output
    sites = tmp_path / "h.gpkg"
    houses(sq(1040, 20, 20)).to_file(sites)
    res = CliRunner().invoke(main, ["check", str(sites), "-w", str(power_ws), "--out",
                                    str(tmp_path / "o")])
    assert "DATA WARNINGS" in res.output, res.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert any("power_line" in w for w in summary["data_warnings"])
    pl = next(r for r in summary["layers"] if r["kind"] == "power_line")
    assert pl["features_read"] == 3
    assert pl["features_undecided"] == 1


# ------------------------------------------------------------------ indicators and analyses


@pytest.fixture
def indicator_ws(tmp_path: Path):
    def make(statuses_: list[object]) -> Path:
        ws = tmp_path / "ind"
        ws.mkdir(exist_ok=True)
        lines = [LineString([(X0, Y0 + 100 * i), (X0 + 1000 * (i + 1), Y0 + 100 * i)])
                 for i in range(len(statuses_))]
        write(ws / "power_line.gpkg", {"voltage_kv": ["10千伏"] * len(statuses_),
                                       "status": statuses_}, lines)
        write(ws / "village.gpkg", {"name": ["甲村"], "township": ["乡"], "population": [100]},
              [sq(0, -500, 1).centroid])
        return ws
    return make


def test_indicator_reads_chinese_status(indicator_ws) -> None:
    """新建 lines of 1 km and 3 km: 4.0 km new 10 kV line, 2.0 km rebuilt (改造)."""
    ws = indicator_ws(["新建", "改造", "新建"])
    r = geoplan.indicators(ws, only=["power.10kv_new_km", "power.10kv_rebuilt_km"]).city()
    got = dict(zip(r["indicator_id"], r["measure"], strict=True))
    assert got["power.10kv_new_km"] == pytest.approx(4.0)
    assert got["power.10kv_rebuilt_km"] == pytest.approx(2.0)


def test_indicator_filter_selecting_nothing_is_not_available_not_zero(indicator_ws) -> None:
    ws = indicator_ws(["甲", "乙"])
    r = geoplan.indicators(ws, only=["power.10kv_new_km"]).city().iloc[0]
    assert r["status"] == "not_available"
    assert np.isnan(r["measure"])
    assert "selected none" in r["note"]
    assert "NULL ×2" in r["note"]


def test_indicator_counts_undecided_length_in_its_note(indicator_ws) -> None:
    ws = indicator_ws(["新建", None])
    r = geoplan.indicators(ws, only=["power.10kv_new_km"]).city().iloc[0]
    assert r["measure"] == pytest.approx(1.0)
    assert "1 feature(s) (2.0 km) not counted" in r["note"]


def test_connectivity_counts_cement_and_asphalt_as_hardened(tmp_path: Path) -> None:
    ws = tmp_path / "net"
    ws.mkdir()
    write(ws / "road.gpkg", {"surface": ["水泥", "沥青路面"], "status": ["现状", None]},
          [LineString([(X0, Y0), (X0 + 1000, Y0)]), LineString([(X0, Y0 + 5000),
                                                               (X0 + 1000, Y0 + 5000)])])
    write(ws / "village.gpkg", {"name": ["甲村", "乙村"], "population": [800, 800]},
          [sq(500, 10, 1).centroid, sq(500, 5010, 1).centroid])
    res = geoplan.connectivity(ws)
    v = res.villages.set_index("name")
    assert v.loc["甲村", "status"] == "connected"
    assert v.loc["乙村", "status"] == "connected"


# ------------------------------------------------------------------ geoplan init


def test_init_drafts_value_mappings_and_lists_unreadable_values(tmp_path: Path) -> None:
    d = tmp_path / "delivery"
    d.mkdir()
    write(d / "饮用水水源保护区.shp", {"保护级别": ["一级保护区", "二级保护区", "乙区"]},
          [sq(0, 0, 10), sq(20, 0, 10), sq(40, 0, 10)], encoding="gbk")
    write(d / "电力线.shp", {"电压等级": ["10千伏", None], "状态": ["新建", "改造"]},
          [LineString([(X0, Y0), (X0 + 1, Y0)]), LineString([(X0, Y0 + 5), (X0 + 1, Y0 + 5)])],
          encoding="gbk")
    for cpg in d.glob("*.cpg"):
        cpg.unlink()
    draft = draft_config(d)
    assert 'fields = { level = "保护级别" }' in draft.text
    assert 'values.level = { "一级保护区" = "1", "二级保护区" = "2" }' in draft.text
    assert 'values.status = { "新建" = "new", "改造" = "rebuilt" }' in draft.text
    assert "乙区" in draft.text
    assert "乙区" in draft.report()
    draft.write(d / "geoplan.toml")
    ws = geoplan.open_workspace(d)
    assert ws["water_source_zone"].gdf["level"].tolist() == ["1", "2", None]
    assert ws["power_line"].gdf["status"].tolist() == ["new", "rebuilt"]


@pytest.mark.parametrize(("raw", "canonical"), [
    ("村卫生室", "clinic"), ("卫生服务中心", "clinic"), ("垃圾收集点", "waste_point"),
    ("垃圾转运站", "waste_point"), ("应急避难场所", "shelter"), ("快递驿站", "logistics"),
    ("便民服务中心", "service_centre"), ("党群服务中心", "service_centre"), ("学校", None),
])
def test_facility_kind_recogniser(raw: str, canonical: str | None) -> None:
    assert recognise("facility_kind", [raw]) == [canonical]


@pytest.fixture
def facility_ws(tmp_path: Path):
    """Two villages; facility kinds as a county writes them."""
    def make(kinds: list[str]) -> Path:
        ws = tmp_path / "fac"
        ws.mkdir(exist_ok=True)
        write(ws / "village.gpkg", {"name": ["甲村", "乙村"], "population": [500, 500]},
              [sq(0, 0, 1).centroid, sq(5000, 0, 1).centroid])
        # facility i sits 100 m from 甲村; none near 乙村 (5 km away)
        write(ws / "facility.gpkg", {"kind": kinds, "name": [f"f{i}" for i in range(len(kinds))]},
              [sq(100 + 10 * i, 0, 1).centroid for i in range(len(kinds))])
        return ws
    return make


def test_coverage_reads_chinese_facility_kinds(facility_ws) -> None:
    """A 卫生室 100 m from 甲村 covers it (1 of 2 villages: 50 %)."""
    cov = geoplan.coverage(facility_ws(["村卫生室", "学校"]), kinds=["clinic"])
    row = cov.by_kind.set_index("kind").loc["clinic"]
    assert row["n_facilities"] == 1
    assert row["share_villages_straight"] == pytest.approx(50.0)


def test_coverage_of_a_kind_hidden_behind_unread_kinds_is_not_available(facility_ws) -> None:
    """'卫生点' is read by no recogniser: clinic coverage is unknown, not 0 %."""
    ws = facility_ws(["卫生点", "学校"])
    cov = geoplan.coverage(ws, kinds=["clinic"])
    row = cov.by_kind.set_index("kind").loc["clinic"]
    assert not row["available"]
    assert np.isnan(float(row["share_villages_straight"]))
    assert "卫生点" in row["note"]
    ind = geoplan.indicators(ws, only=["env.waste_coverage"]).city().iloc[0]
    assert ind["status"] == "not_available"


def test_coverage_zero_is_measured_when_every_kind_is_read(facility_ws) -> None:
    """Only waste points, all understood: no clinic is a real 0 % (with a note)."""
    cov = geoplan.coverage(facility_ws(["垃圾收集点"]), kinds=["clinic"])
    row = cov.by_kind.set_index("kind").loc["clinic"]
    assert row["available"]
    assert row["share_villages_straight"] == pytest.approx(0.0)


@pytest.mark.parametrize(("raw", "canonical"), [
    ("搬迁撤并类", "搬迁撤并"), ("搬迁撤并类村庄", "搬迁撤并"), ("集聚提升类", "集聚提升"),
    ("城郊融合型", "城郊融合"), ("特色保护类村庄", "特色保护"), ("固定保留类", "固定保留"),
    ("看不准类", "待定"), ("一般村", None),
])
def test_layout_class_recogniser(raw: str, canonical: str | None) -> None:
    assert recognise("layout_class", [raw]) == [canonical]


def test_relocate_merge_rule_reads_class_variants_and_never_passes_a_blank(
        tmp_path: Path) -> None:
    """Houses named by village: 搬迁撤并类村庄 → warn; a blank or unread class → not_checked."""
    ws = tmp_path / "v"
    ws.mkdir()
    write(ws / "village.gpkg", {"name": ["甲村", "乙村", "丙村", "丁村"],
                                "layout_class": ["搬迁撤并类村庄", "集聚提升类", None, "一般村"]},
          [sq(0, 0, 1).centroid, sq(500, 0, 1).centroid, sq(1000, 0, 1).centroid,
           sq(1500, 0, 1).centroid])
    sites = houses(sq(10, 10, 10), sq(510, 10, 10), sq(1010, 10, 10), sq(1510, 10, 10))
    sites["village"] = ["甲村", "乙村", "丙村", "丁村"]
    res = geoplan.check(sites, ws, subject="house")
    assert statuses(res, "house.relocate_merge") == ["warn", "pass", "not_checked",
                                                      "not_checked"]
    assert "'一般村' ×1 (not understood)" in message(res, "house.relocate_merge", 4)
