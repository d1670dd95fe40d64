"""Maps and review reports: what the HTML holds, without a browser.

The browser side (the page loads offline, draws every site, popups, XSS) is
in test_browser.py.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import SAMPLE, X0, Y0, gk
from pyproj import Geod
from shapely import box

import geoplan
from geoplan.cli import main
from geoplan.kinds import KINDS
from geoplan.maps import (
    GROUP_LABELS,
    MapError,
    format_limit,
    format_measure,
    leaflet_assets,
    result_map,
    script_json,
)
from geoplan.report import result_report

XSS_IMG = '<img src=x onerror="window.__xss=1">'
XSS_SCRIPT = "</script><script>window.__xss=1</script>"
XSS_ID = "<b onmouseover=alert(1)>H-X</b>"


# --------------------------------------------------------------------------- helpers


class _Refs(HTMLParser):
    """Every URL the page would load: script src, link href, img/iframe src, CSS url()."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.scripts: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.urls.append(("script", a["src"] or ""))
        if tag == "link" and a.get("href"):
            self.urls.append(("link", a["href"] or ""))
        if tag in ("img", "iframe", "source", "video", "audio", "embed") and a.get("src"):
            self.urls.append((tag, a["src"] or ""))
        self._in = tag if tag in ("style", "script") else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            for u in re.findall(r"url\(\s*['\"]?([^)'\"]+)", data):
                self.urls.append(("css", u))
        if self._in == "script":
            self.scripts.append(data)


def refs(page: str) -> _Refs:
    p = _Refs()
    p.feed(page)
    return p


def data_of(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="gp-data-[^"]+">(.*?)</script>', page, re.S)
    assert m, "no data block"
    return json.loads(m.group(1))


def render(res: geoplan.Result, **kw) -> str:
    return result_map(res, **kw).get_root().render()


def all_coords(obj) -> list[float]:
    out: list[float] = []
    if isinstance(obj, dict):
        if "coordinates" in obj:
            out.extend(np.asarray(_flat(obj["coordinates"]), dtype=float).tolist())
        for v in obj.values():
            if isinstance(v, (dict, list)) and v is not obj.get("coordinates"):
                out.extend(all_coords(v))
    elif isinstance(obj, list):
        for v in obj:
            out.extend(all_coords(v))
    return out


def _flat(c):
    if isinstance(c, (int, float)):
        return [c]
    return [x for part in c for x in _flat(part)]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def ws() -> geoplan.Workspace:
    return geoplan.open_workspace(SAMPLE)


@pytest.fixture(scope="module")
def houses_gdf() -> gpd.GeoDataFrame:
    g = gpd.read_file(SAMPLE / "batches" / "proposed_houses.gpkg")
    g = g.copy()
    g.loc[g.index[0], "village"] = XSS_IMG
    g.loc[g.index[1], "village"] = XSS_SCRIPT
    g.loc[g.index[2], "house_id"] = XSS_ID
    return g


@pytest.fixture(scope="module")
def houses(ws, houses_gdf) -> geoplan.Result:
    return geoplan.check(houses_gdf, ws, id_field="house_id")


@pytest.fixture(scope="module")
def offline_page(houses) -> str:
    return render(houses, offline=True)


@pytest.fixture(scope="module")
def osm_page(houses) -> str:
    return render(houses)


# --------------------------------------------------------------------------- legend, groups


def test_legend_shows_the_count_of_every_verdict(houses, offline_page) -> None:
    counts = houses.counts()
    assert counts["fail"] > 0
    assert counts["pass"] > 0
    for verdict, n in counts.items():
        assert f'data-verdict="{verdict}">{int(n)}</span>' in offline_page, verdict
    for zh, en in (("不通过", "fail"), ("警示", "warn"), ("通过", "pass"), ("未核查", "not checked")):
        assert zh in offline_page
        assert en in offline_page
    # the 2 sites without geometry are counted, and said not to be drawn
    assert "2 site(s) without geometry are not drawn" in offline_page


def test_constraint_groups_and_kinds_named_in_chinese_and_english(houses, offline_page) -> None:
    d = data_of(offline_page)
    groups = {ly["group"] for ly in d["layers"]}
    assert {"hazard", "redline", "water", "power", "land", "planning"} <= groups
    for g in groups:
        zh, en = GROUP_LABELS[g]
        assert zh in offline_page, g
        assert en in offline_page, g
    for kind in ("flood_zone", "farmland_redline", "water_source_zone", "power_line",
                 "forest_land", "farmland"):
        k = geoplan.get_kind(kind)
        assert k.label_zh in offline_page
        assert k.label_en in offline_page
    by_kind = {ly["kind"]: ly for ly in d["layers"]}
    assert "landuse" not in by_kind                        # the dense base map is left out
    # styled by group: hazards red/orange, water blue, forest green, farmland yellow
    assert by_kind["flood_zone"]["style"]["color"].startswith("#cb")
    assert by_kind["water_body"]["style"]["fillColor"] == "#9ecae1"
    assert by_kind["forest_land"]["style"]["fillColor"] == "#41ab5d"
    assert by_kind["farmland"]["style"]["fillColor"] == "#ffd92f"
    # rule layers on at first; dense land parcels only when a rule reading them failed
    # (house.farmland fails here; no house rule reads forest land)
    assert by_kind["flood_zone"]["on"]
    assert (houses.findings.query("rule_id == 'house.farmland'").status == "fail").any()
    assert by_kind["farmland"]["on"]
    assert not by_kind["forest_land"]["on"]
    assert not by_kind["facility"]["on"]


def test_popup_data_carry_measure_unit_threshold_and_clause(houses, offline_page) -> None:
    d = data_of(offline_page)
    rules = d["rules"]
    f = houses.findings
    row = f[(f.rule_id == "house.flood_zone") & (f.status == "fail") & (f.unit == "m2")].iloc[0]
    site = next(s for s in d["sites"]["features"] if s["properties"]["i"] == row.site_id)
    items = site["properties"]["f"]
    it = next(i for i in items if rules[i[0]]["id"] == "house.flood_zone")
    assert rules[it[0]]["zh"] == "新建农房应避让洪水淹没区"
    assert rules[it[0]]["en"] == "New houses must avoid flood zones"
    assert rules[it[0]]["cl"] == "(十一)"
    assert it[2] == format_measure(row.measure, "m2")
    assert "亩" in it[2]
    assert "m²" in it[2]
    assert it[3] == "≤ 1 m²"
    # a setback shows metres and "at least"
    row = f[(f.rule_id == "house.power_line") & (f.status == "fail")].iloc[0]
    site = next(s for s in d["sites"]["features"] if s["properties"]["i"] == row.site_id)
    it = next(i for i in site["properties"]["f"] if rules[i[0]]["id"] == "house.power_line")
    assert it[2].endswith(" m")
    assert it[3].startswith("≥ ")


def test_evidence_is_drawn_with_its_rule(houses, offline_page) -> None:
    d = data_of(offline_page)
    ev = d["evidence"]["features"]
    assert len(ev) == len(houses.evidence)
    assert {d["rules"][e["properties"]["r"]]["id"] for e in ev} >= {"house.flood_zone",
                                                                    "house.farmland"}


# --------------------------------------------------------------------------- offline


def test_offline_page_loads_nothing_from_the_network(offline_page) -> None:
    r = refs(offline_page)
    remote = [u for u in r.urls if re.match(r"^\s*(https?:)?//", u[1])]
    assert remote == []
    assert all(u[1].startswith("data:") for u in r.urls if u[0] == "css"), r.urls
    assert not [u for u in r.urls if u[0] in ("script", "link")]      # everything inline
    low = offline_page.lower()
    for lib in ("jquery", "bootstrap", "awesome-markers", "font-awesome", "fontawesome"):
        assert lib not in low, lib
    assert "L.tileLayer" not in offline_page                         # no basemap asked
    assert "sourceMappingURL" not in offline_page
    assert "window.L=" in offline_page.replace(" ", "")              # Leaflet itself, inlined


REMOTE_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?\s*(https?:)?//", re.I)
REMOTE_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?\s*(https?:)?//", re.I)


def assert_only_tiles_online(page: str) -> None:
    """Leaflet and every script and style inline; only tile URL templates may be online."""
    assert not REMOTE_SCRIPT.search(page)
    assert not REMOTE_LINK.search(page)
    r = refs(page)
    assert not [u for u in r.urls if u[0] in ("script", "link")], r.urls  # everything inline
    assert not [u for u in r.urls if re.match(r"^\s*(https?:)?//", u[1])], r.urls
    assert "window.L=" in page.replace(" ", "")                           # Leaflet itself
    low = page.lower()
    for lib in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "jquery", "bootstrap", "awesome"):
        assert lib not in low, lib


def test_online_page_inlines_leaflet_and_fetches_only_tiles(osm_page) -> None:
    assert_only_tiles_online(osm_page)
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in osm_page      # the basemap only
    assert re.findall(r"L\.tileLayer\(\s*\"(https?://[^\"]+)\"", osm_page) == [
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png"]


def test_online_report_inlines_leaflet_and_fetches_only_tiles(houses) -> None:
    page = result_report(houses)
    assert_only_tiles_online(page)
    assert "tile.openstreetmap.org/{z}/{x}/{y}.png" in page


def test_custom_tile_url_is_drawn_and_named_in_the_panel(houses, offline_page) -> None:
    url = "https://{s}.tiles.county.example/wmts/{z}/{x}/{y}.png"
    page = render(houses, basemap=url, attribution="<b>伊宁县</b> survey office")
    assert_only_tiles_online(page)
    assert re.findall(r"L\.tileLayer\(\s*\"([^\"]+)\"", page) == [url]
    assert '"subdomains": "abc"' in page
    credits = [json.loads(s) for s in re.findall(r'"attribution": ("[^"]*")', page)]
    assert credits == ["&lt;b&gt;伊宁县&lt;/b&gt; survey office"]             # credit as text
    foot = re.search(r'<div class="gp-foot">(.*?)</div>', page, re.S)
    assert foot
    assert "自定义底图 custom tiles ({s}.tiles.county.example)" in foot.group(1)
    # WGS84 tiles: the overlay is not shifted
    assert data_of(page)["sites"] == data_of(offline_page)["sites"]
    # with offline=True the tiles asked for are still drawn; the default stays none
    assert url in render(houses, basemap=url, offline=True)
    plain = render(houses, basemap="tiles/{z}/{x}/{y}.png")                 # beside the page
    assert re.findall(r"L\.tileLayer\(\s*\"([^\"]+)\"", plain) == ["tiles/{z}/{x}/{y}.png"]
    assert "tiles: tiles" in plain                                         # default credit


@pytest.mark.parametrize(("url", "match"), [
    ("https://tiles.county.example/{z}/{x}.png", r"has no \{y\}"),
    ("https://tiles.county.example/tile.png", r"has no \{z\}, \{x\}, \{y\}"),
    ("https://tiles.county.example/{z}/{col}/{row}.png", r"has no \{x\}, \{y\}"),
    ("https://t.example/{z}/{x}/{y}.png?key={key}", r"unknown placeholder\(s\) \{key\}"),
    ("javascript:{z}/{x}/{y}", r"must start with http://, https://"),
])
def test_bad_tile_template_is_refused_with_the_fix(houses, url, match) -> None:
    with pytest.raises(MapError, match=match) as e:
        result_map(houses, basemap=url)
    assert "https://tiles.example.org/{z}/{x}/{y}.png" in str(e.value)     # the fix, by example
    with pytest.raises(MapError, match=match):
        result_report(houses, basemap=url)


def test_attribution_needs_a_tile_url(houses) -> None:
    with pytest.raises(MapError, match=r"credits a tile URL template"):
        result_map(houses, basemap="osm", attribution="mine")


def test_leaflet_assets_are_self_contained() -> None:
    js, css = leaflet_assets()
    assert "images/" not in css
    assert "data:image/png;base64," in css
    assert "sourceMappingURL" not in js
    assert "</script" not in js.lower()
    assert 'version="1.9.4"' in js.replace(" ", "") or "1.9.4" in js


# --------------------------------------------------------------------------- safety


def test_data_text_is_escaped_everywhere(houses, offline_page) -> None:
    for payload in (XSS_IMG, XSS_SCRIPT, XSS_ID):
        assert payload not in offline_page
    # the only </script> tags are the page's own: one per <script> element
    assert offline_page.lower().count("</script>") == offline_page.lower().count("<script")
    d = data_of(offline_page)
    texts = json.dumps(d, ensure_ascii=False)
    assert "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in texts
    assert "&lt;/script&gt;&lt;script&gt;window.__xss=1&lt;/script&gt;" in texts
    ids = [s["properties"]["i"] for s in d["sites"]["features"]]
    assert "&lt;b onmouseover=alert(1)&gt;H-X&lt;/b&gt;" in ids
    page = result_report(houses, offline=True, detail=("fail", "warn", "not_checked", "pass"))
    for payload in (XSS_IMG, XSS_SCRIPT, XSS_ID):
        assert payload not in page
    assert "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in page


def test_script_json_cannot_close_a_script_element() -> None:
    out = script_json({"a": "</script><script>alert(1)</script>", "b": "x & y", "c": "\u2028"})
    assert "<" not in out
    assert ">" not in out
    assert "&" not in out
    assert "\u2028" not in out
    assert json.loads(out)["a"] == "</script><script>alert(1)</script>"


def test_constraint_attribute_text_is_escaped(houses, ws) -> None:
    vil = ws.layers["village"].gdf
    old = vil["name"].iloc[0]
    vil.loc[vil.index[0], "name"] = XSS_IMG
    try:
        page = render(houses, offline=True)
    finally:
        vil.loc[vil.index[0], "name"] = old
    assert XSS_IMG not in page
    d = data_of(page)
    labels = [f["properties"].get("t") for ly in d["layers"] if ly["kind"] == "village"
              for f in ly["data"]["features"]]
    assert "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in labels


def test_constraint_tooltips_join_the_fields_each_feature_holds(tmp_path) -> None:
    """A road's tooltip: its name and class, escaped; empty fields left out.

    ``class`` is a Python keyword (a row tuple renames it): it is shown too.
    """
    roads = gk([shapely.LineString([(X0 + 10 * k, Y0), (X0 + 10 * k, Y0 + 300)])
                for k in range(5)],
               name=["G312", XSS_SCRIPT, None, "G312", "乡道"],
               **{"class": ["national", None, "county", "national", "township"]},
               road_id=["r1", "r2", "r3", "r4", "r5"], width_m=[20.0, 8.0, 6.0, 20.0, 5.0])
    (tmp_path / "ws").mkdir()
    roads.to_file(tmp_path / "ws" / "road.gpkg")
    ws = geoplan.open_workspace(tmp_path / "ws")
    sites = gk([box(X0 - 50, Y0 + 100, X0 - 40, Y0 + 110)], site_id=["s1"])
    page = render(geoplan.check(sites, ws), offline=True, layers=["road"], margin_m=2000)
    assert XSS_SCRIPT not in page
    layer = next(ly for ly in data_of(page)["layers"] if ly["kind"] == "road")
    tips = sorted(f["properties"].get("t", "") for f in layer["data"]["features"])
    zh = {f.name: f.label_zh for f in KINDS["road"].fields}
    label = {c: html.escape(f"{zh.get(c, '')} {c}".strip()) for c in ("name", "class")}
    want = sorted([
        f"{label['name']}: G312 · {label['class']}: national",
        f"{label['name']}: {html.escape(XSS_SCRIPT)}",
        f"{label['class']}: county",
        f"{label['name']}: G312 · {label['class']}: national",
        f"{label['name']}: 乡道 · {label['class']}: township",
    ])
    assert tips == want


@pytest.mark.parametrize("values", [
    ["<b>", None, "<b>", "乡道", ""],
    [1, 2, 2, 3],
    [0.1, np.nan, 0.1, 2.5e-7],
    np.array([0.1, 0.1, np.nan], dtype=np.float32),
    pd.array([1, None, 1], dtype="Int64"),
    pd.array(["a", None, "a"], dtype="string"),
    pd.Categorical(["x", None, "x"]),
    [1, True, 1.0, None, "1"],                       # equal to Python, shown apart
    pd.to_datetime(["2024-01-01", None, "2024-01-01"]),
    [],
], ids=["text", "int", "float", "float32", "Int64", "string", "category", "mixed", "date",
        "empty"])
def test_esc_values_is_esc_of_each_value(values) -> None:
    from geoplan.maps.text import esc_values
    from geoplan.pages import esc
    col = pd.Series(values, dtype=object if isinstance(values, list) and values else None)
    want = [esc(v) for v in col.tolist()]
    assert esc_values(col).tolist() == want


# --------------------------------------------------------------------------- basemaps


def test_amap_shifts_the_overlay_into_gcj02(houses, offline_page) -> None:
    page = render(houses, basemap="amap", offline=True)
    a = data_of(offline_page)["sites"]["features"]
    b = data_of(page)["sites"]["features"]
    assert [s["properties"]["i"] for s in a] == [s["properties"]["i"] for s in b]
    geod = Geod(ellps="WGS84")
    dists = []
    for fa, fb in zip(a[:50], b[:50], strict=True):
        (x1, y1), (x2, y2) = fa["geometry"]["coordinates"], fb["geometry"]["coordinates"]
        dists.append(geod.inv(x1, y1, x2, y2)[2])
    assert min(dists) > 200
    assert max(dists) < 400
    # constraints and evidence move too, and the page says so
    la = next(ly for ly in data_of(offline_page)["layers"] if ly["kind"] == "flood_zone")
    lb = next(ly for ly in data_of(page)["layers"] if ly["kind"] == "flood_zone")
    assert la["data"] != lb["data"]
    assert data_of(page)["gcj02"] is True
    assert "GCJ-02" in page
    assert "webrd0{s}.is.autonavi.com" in page


def test_tianditu_needs_a_key_and_is_not_shifted(houses, offline_page) -> None:
    with pytest.raises(MapError, match="needs a Tianditu key"):
        result_map(houses, basemap="tianditu")
    page = render(houses, basemap="tianditu", tk="abc&123", offline=True)
    assert "tk=abc%26123" in page
    assert "tianditu.gov.cn/vec_w" in page
    assert "tianditu.gov.cn/cva_w" in page                     # the labels on top
    a = data_of(offline_page)["sites"]["features"][0]["geometry"]
    b = data_of(page)["sites"]["features"][0]["geometry"]
    assert a == b


def test_bad_basemap_choices_are_refused(houses) -> None:
    with pytest.raises(MapError, match=r"cannot\s+align with both"):
        result_map(houses, basemap=["amap", "osm"])
    with pytest.raises(MapError, match="unknown basemap 'google'"):
        result_map(houses, basemap="google")
    assert issubclass(MapError, geoplan.GeoplanError)
    assert issubclass(MapError, ValueError)


# --------------------------------------------------------------------------- scale


def test_coordinates_are_rounded_to_six_decimals(offline_page) -> None:
    d = data_of(offline_page)
    coords = all_coords(d)
    assert len(coords) > 10_000
    assert all(round(c, 6) == c for c in coords)
    block = re.search(r'id="gp-data-[^"]+">(.*?)</script>', offline_page, re.S).group(1)
    assert not re.search(r"\d\.\d{7,}", block)
    assert "prefer_canvas" in offline_page or "preferCanvas" in offline_page


def test_constraint_features_are_limited_to_the_batch_area(ws) -> None:
    g = gpd.read_file(SAMPLE / "batches" / "proposed_houses.gpkg").iloc[2:8]   # one village
    res = geoplan.check(g, ws)
    page = render(res, offline=True, margin_m=300)
    d = data_of(page)
    feats = d["sites"]["features"] + d["footprints"]["features"]
    sites = gpd.GeoSeries(shapely.from_geojson([json.dumps(f["geometry"]) for f in feats]),
                          crs=4490).to_crs(ws.crs)
    x0, y0, x1, y1 = sites.total_bounds
    area = box(x0 - 300 - 1, y0 - 300 - 1, x1 + 300 + 1, y1 + 300 + 1)
    total_full = total_shown = 0
    for ly in d["layers"]:
        feats = ly["data"]["features"]
        full = len(ws.layers[ly["kind"]].gdf)
        total_full += full
        total_shown += len(feats)
        assert len(feats) <= full
        if feats:
            geo = gpd.GeoSeries(shapely.from_geojson([json.dumps(f["geometry"]) for f in feats]),
                                crs=4490).to_crs(ws.crs)
            assert geo.within(area.buffer(5)).all(), ly["kind"]
    assert total_shown < total_full / 5


def test_constraint_geometries_are_simplified_for_display(houses) -> None:
    fine = data_of(render(houses, offline=True, simplify_m=0))
    coarse = data_of(render(houses, offline=True, simplify_m=5))
    n_fine = len(all_coords(fine["layers"]))
    n_coarse = len(all_coords(coarse["layers"]))
    assert n_coarse < n_fine * 0.9


# --------------------------------------------------------------------------- shapes of sites


def test_sites_roads_and_footprints(ws, houses) -> None:
    d = data_of(render(houses, offline=True))
    v = houses.verdicts
    with_geom = int((~(v.geometry.isna() | v.geometry.is_empty)).sum())
    assert len(d["sites"]["features"]) == with_geom
    assert {f["geometry"]["type"] for f in d["sites"]["features"]} == {"Point"}
    n_poly = int(((v.geom_type == "Polygon") & ~v.geometry.is_empty).sum())
    assert len(d["footprints"]["features"]) == n_poly
    roads = geoplan.check(SAMPLE / "batches" / "proposed_roads.gpkg", ws, subject="road")
    rd = data_of(render(roads, offline=True))
    assert {f["geometry"]["type"] for f in rd["sites"]["features"]} == {"LineString"}
    assert "道路选址核查" in render(roads, offline=True)


def test_batch_without_any_geometry_still_draws_a_map(small_workspace) -> None:
    sites = gk([None, None], house_id=["A", "B"])
    res = geoplan.check(sites, small_workspace)
    page = render(res, offline=True)
    d = data_of(page)
    assert d["sites"]["features"] == []
    assert d["bounds"] is not None
    assert "2 site(s) without geometry" in page


def test_formatting_of_measures_and_limits() -> None:
    assert format_measure(666.6667, "m2") == "666.7 m²（1.000 亩）"
    assert format_measure(2.4801, "m") == "2.5 m"
    assert format_measure(31.26, "deg") == "31.3°"
    assert format_measure(float("nan"), "m") == ""
    assert format_limit(5.0, "m") == "≤ 5 m"
    assert format_limit(float("nan"), "m") == ""

    class R:
        kind = "setback"

    assert format_limit(5.0, "m", R()) == "≥ 5 m"


# --------------------------------------------------------------------------- report


def test_report_sections(houses, offline_page) -> None:
    page = result_report(houses, offline=True)
    assert page.startswith("<!DOCTYPE html>")
    assert refs(page).urls == [u for u in refs(page).urls if u[1].startswith("data:")]
    # by verdict, by rule with clause / titles / verified flag, by township and village
    assert "核查结论汇总" in page
    assert "Summary by verdict" in page
    assert "house.flood_zone" in page
    assert "(十一)" in page
    assert "新建农房应避让洪水淹没区" in page
    assert "New houses must avoid flood zones" in page
    assert "占位 placeholder" in page
    assert "已核实 verified" in page
    assert "巴彦岱镇" in page
    assert "乡镇 township" in page
    assert "村 village" in page
    # the map, offline, embedded in the page
    assert page.count('type="application/json" id="gp-data-') == 1
    assert "geoplanMap(" in page
    # one section, with a small SVG map, per failing site
    n_fail = int(houses.counts()["fail"])
    assert page.count("class='gp-site'") == n_fail
    assert page.count('<svg class="gp-svg"') == n_fail
    assert "Placeholder thresholds" in page


def test_report_without_township_or_village_and_no_failures(small_workspace) -> None:
    sites = gk([box(X0 + 3000, Y0 + 3000, X0 + 3010, Y0 + 3010)], house_id=["P1"])
    res = geoplan.check(sites, small_workspace)
    page = res.report(include_map=False)
    assert "no township or village column" in page
    assert "无 · none" in page
    assert "Rules not checked" in page                     # most layers are missing


def test_to_files_writes_map_and_report(houses, tmp_path: Path) -> None:
    files = {p.name for p in houses.to_files(tmp_path / "o", offline=True)}
    assert {"map.html", "report.html"} <= files
    m = (tmp_path / "o" / "map.html").read_text(encoding="utf-8")
    assert not [u for u in refs(m).urls if re.match(r"(https?:)?//", u[1])]
    files = {p.name for p in houses.to_files(tmp_path / "p", map_html=False, report_html=False)}
    assert "map.html" not in files
    assert "report.html" not in files


# --------------------------------------------------------------------------- command line


def test_cli_map_report_and_check_offline(tmp_path: Path) -> None:
    runner = CliRunner()
    batch = str(SAMPLE / "batches" / "proposed_roads.gpkg")
    r = runner.invoke(main, ["map", batch, "-w", str(SAMPLE), "-o", str(tmp_path / "m.html"),
                             "--offline"])
    assert r.exit_code == 0, r.output
    page = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert not [u for u in refs(page).urls if re.match(r"(https?:)?//", u[1])]
    r = runner.invoke(main, ["report", batch, "-w", str(SAMPLE), "-o", str(tmp_path / "r.html"),
                             "--basemap", "amap", "--detail", "fail", "--detail", "warn"])
    assert r.exit_code == 0, r.output
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "webrd0" in page
    assert page.count("class='gp-site'") == 25
    r = runner.invoke(main, ["check", batch, "-w", str(SAMPLE), "-o", str(tmp_path / "c"),
                             "--offline", "-q"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "c" / "map.html").exists()
    assert (tmp_path / "c" / "report.html").exists()
    r = runner.invoke(main, ["check", batch, "-w", str(SAMPLE), "-o", str(tmp_path / "t"),
                             "--basemap", "tianditu"], env={"GEOPLAN_TIANDITU_TK": ""})
    assert r.exit_code == 2
    assert "Tianditu key" in r.output
    assert not (tmp_path / "t").exists()                   # refused before any work


def test_cli_tiles_and_attribution(tmp_path: Path) -> None:
    runner = CliRunner()
    batch = str(SAMPLE / "batches" / "proposed_roads.gpkg")
    url = "http://tiles.county.example/{z}/{x}/{y}.png"
    r = runner.invoke(main, ["map", batch, "-w", str(SAMPLE), "-o", str(tmp_path / "m.html"),
                             "--tiles", url, "--attribution", "伊宁县自然资源局"])
    assert r.exit_code == 0, r.output
    page = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert_only_tiles_online(page)
    assert re.findall(r"L\.tileLayer\(\s*\"([^\"]+)\"", page) == [url]
    assert "自定义底图 custom tiles (tiles.county.example)" in page
    r = runner.invoke(main, ["check", batch, "-w", str(SAMPLE), "-o", str(tmp_path / "c"), "-q",
                             "--basemap", url])                          # --basemap URL too
    assert r.exit_code == 0, r.output
    for name in ("map.html", "report.html"):
        assert url in (tmp_path / "c" / name).read_text(encoding="utf-8")
    for args, said in (
            (["--tiles", "http://tiles.county.example/{z}/{x}.png"], "has no {y}"),
            (["--tiles", "google"], "is neither a basemap"),
            (["--attribution", "mine"], "credits a tile URL template")):
        r = runner.invoke(main, ["check", batch, "-w", str(SAMPLE), "-o", str(tmp_path / "t"),
                                 *args])
        assert r.exit_code == 2, r.output
        assert said in r.output
        assert not (tmp_path / "t").exists()               # refused before any work


def test_a_map_can_open_on_one_site_and_take_a_height() -> None:
    from geoplan.maps import MapError

    res = geoplan.check(SAMPLE / "batches" / "proposed_houses.gpkg", SAMPLE)
    v = res.verdicts
    row = int(np.flatnonzero(v["verdict"].to_numpy() == "fail")[3])
    sid = str(v["site_id"].iloc[row])
    page = res.map(site=sid, offline=True).get_root().render()
    assert f"window.geoplan.showSite({row});" in page
    assert "showSite(" not in res.map(offline=True).get_root().render()
    assert 'height="520px"' in res.map(height=520, offline=True)._repr_html_()
    assert 'height="70vh"' in res.map(height="70vh", offline=True)._repr_html_()
    with pytest.raises(MapError, match="no site 'nope'"):
        res.map(site="nope")
    empty = str(v.loc[v.geometry.isna() | v.geometry.is_empty, "site_id"].iloc[0])
    with pytest.raises(MapError, match="has no geometry"):
        res.map(site=empty)


# --------------------------------------------------------------------------- readable maps (17)


@pytest.fixture(scope="module")
def roads(ws) -> geoplan.Result:
    return geoplan.check(SAMPLE / "batches" / "proposed_roads.gpkg", ws, subject="road")


def test_a_layer_a_failing_rule_reads_is_on_when_the_map_opens(roads) -> None:
    """Roads taking forest land: the forest (and farmland) layer is on, not only the evidence."""
    f = roads.findings
    assert f[f.rule_id == "road.forest_land"].status.isin(["fail", "warn"]).any()
    by_kind = {ly["kind"]: ly for ly in data_of(render(roads, offline=True))["layers"]}
    assert by_kind["forest_land"]["on"]
    assert by_kind["forest_land"]["n"] > 0
    assert by_kind["farmland"]["on"]                         # road.farmland fails too
    assert not by_kind["power_line"]["on"]                   # no road rule reads it
    assert not by_kind["facility"]["on"]


def test_the_notebook_output_says_in_plain_words_what_to_do(houses) -> None:
    from geoplan.maps.frame import NO_SCRIPT_EN, NO_SCRIPT_ZH

    m = result_map(houses, offline=True)
    out = m._repr_html_()
    assert "Make this Notebook Trusted" not in out          # folium's notice replaced
    assert NO_SCRIPT_ZH in out
    assert NO_SCRIPT_EN in out
    assert "File → Trust Notebook" in out
    assert out.index(NO_SCRIPT_ZH) < out.index("<iframe")   # under the iframe: seen if stripped
    # inside the page: a box over the map that the page's script removes once it has drawn
    page = m.get_root().render()
    box = re.search(r'<div id="(gp-nojs-[^"]+)" class="gp-nojs"', page)
    assert box, "no fallback box in the page"
    removal = page.index(f'document.getElementById("{box.group(1)}")')
    assert removal > page.index("geoplanMap(")               # after the map is drawn
    assert NO_SCRIPT_EN in page
    # a fixed height is kept
    assert 'height="520px"' in result_map(houses, offline=True, height=520)._repr_html_()


def test_the_panel_has_a_labelled_toggle_and_a_tile_note_only_with_tiles(houses, offline_page,
                                                                        osm_page) -> None:
    for page in (offline_page, osm_page):
        assert 'class="gp-toggle"' in page
        assert 'aria-expanded="true"' in page
    assert 'class="gp-tilenote gp-warnbox" hidden>' in osm_page   # shown by the page
    assert "The basemap could not be loaded" in osm_page
    assert 'class="gp-tilenote' not in offline_page         # no tiles asked for
    assert "离线地图，无底图 · offline, no basemap" in offline_page


def _layer_control(page: str) -> tuple[list[str], list[str]]:
    """The names of the base layers and overlays of folium's layer control."""
    m = re.search(r"base_layers\s*:\s*\{(.*?)\},\s*overlays\s*:\s*\{(.*?)\},", page, re.S)
    assert m, "no layer control"
    names = [re.findall(r'^\s*("(?:[^"\\]|\\.)*")\s*:', part, re.M) for part in m.groups()]
    return [json.loads(n) for n in names[0]], [json.loads(n) for n in names[1]]


def test_indicator_map_legend_numbers_overlays_and_metric_scale(ws) -> None:
    from geoplan.analysis import _maps as amaps
    from geoplan.analysis import indicators

    ind = indicators(ws)
    page = ind.map().get_root().render()
    t = ind.townships
    shown = [i for i in ind.targets.indicators
             if i.id in t.columns and np.isfinite(t[i.id].to_numpy(dtype=float)).any()]
    assert len(shown) >= 3
    # the basemap is the base layer (radio, with "no basemap"); each indicator an overlay
    base, overlays = _layer_control(page)
    assert base == ["OpenStreetMap 地图 OpenStreetMap", "无底图 No basemap"]
    assert overlays == [f"{i.title_zh} {i.title_en} ({i.unit})" for i in shown]
    assert "U.exclusive(map, [" in page                      # one indicator at a time
    # the legend: a block per indicator with its name, classes, unit, min and max
    legend = html.unescape(re.sub(r"<[^>]+>", " ", page[page.index('class="gp-legend"'):]))
    for i in shown:
        assert f"{i.title_zh} · {i.title_en}" in legend
    for lo, hi in ((0, 20), (20, 40), (80, 100)):             # a percentage: 0-100 %
        assert f"{lo} – {hi} %" in legend
    km = next(i for i in shown if i.unit == "km" and np.nanmax(t[i.id]) > 0)
    top = amaps.nice_ceiling(float(np.nanmax(t[km.id])))       # a length: 0 to a round top
    assert f"{amaps.number(top * 4 / 5)} – {amaps.number(top)} km" in legend
    assert f"最大 max {amaps.number(float(np.nanmax(t[km.id])))} km" in legend
    assert "最小 min" in legend
    # a Leaflet control at the bottom right; the metric scale at the bottom left
    assert re.search(r"U\.followLayers\(map, U\.control\(map, \"gp-legend-\w+\", 'bottomright'\)",
                     page)
    assert 'L.control.scale({imperial: false, maxWidth: 160, position: "bottomleft"})' in page


def test_ramp_breaks_and_round_tops() -> None:
    from geoplan.analysis import _maps as m

    assert m.ramp_breaks(0, 100) == [0, 20, 40, 60, 80, 100]
    assert [m.nice_ceiling(v) for v in (0.3, 1, 1.2, 2.2, 4.87, 13.18, 15.68, 0, float("nan"))] \
        == [0.5, 1, 2, 2.5, 5, 20, 20, 1, 1]
    assert m.ramp([0, 19.9, 20, 99, 100, float("nan")], 0, 100) == [
        "#d7191c", "#d7191c", "#fdae61", "#1a9641", "#1a9641", "#bbbbbb"]
    assert [m.number(v) for v in (0, 0.25, 4.0, 12.5, 1250)] == ["0", "0.25", "4", "12.5", "1,250"]


def test_analysis_tooltips_cannot_run_template_code(tmp_path) -> None:
    """Data text in a tooltip is run through Jinja and a JS template string by folium:
    braces, dollars and backquotes arrive as character references."""
    from geoplan.analysis import village_classes

    w = geoplan.open_workspace(SAMPLE)
    vil = w.layers["village"].gdf
    vil.loc[vil.index[0], "name"] = "{{ 7*7 }}${window.__x=1}`x"
    page = village_classes(w).map().get_root().render()
    assert "{{ 7*7 }}" not in page
    assert "${window.__x=1}" not in page
    assert "&#123;&#123; 7*7 &#125;&#125;&#36;&#123;window.__x=1&#125;&#96;x" in page
