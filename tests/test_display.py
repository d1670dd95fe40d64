"""The rich displays a planner reads in Jupyter (issue 17): a check, a site, counts, indicators.

A tiny check with hand-placed sites around (X0, Y0) and a three-rule pack:

- ``s1`` overlaps the flood zone by 12 m × 10 m = 120 m² (0.18 亩): fail;
- ``s2`` lies 12.347 m from the gully, 20 m required: fail;
- ``s3`` lies 4 km outside the layers: error;
- every other site passes the two mapped rules; the landslide rule has no
  layer, so those sites are ``not_checked``, and one of them has an id that
  is an HTML script.
"""

from __future__ import annotations

import dataclasses
import html
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import X0, Y0, gk
from shapely import LineString, Point, box

import geoplan
from geoplan.display import (
    SiteFindings,
    VerdictCounts,
    format_measure,
    format_threshold,
    html_table,
    rule_label,
)
from geoplan.rules import load_pack

PACK = """
[pack]
name = "t"
version = "1"
title_zh = "测试规则包"
title_en = "test pack"

[[rules]]
id = "h.flood"
subject = "house"
kind = "avoid"
layer = "flood_zone"
severity = "fail"
clause = "(十一)"
title_zh = "避让洪涝区"
title_en = "Keep out of flood zones"
tolerance_m2 = 1.0

[[rules]]
id = "h.gully"
subject = "house"
kind = "setback"
layer = "gully"
severity = "fail"
clause = "(十一)"
title_zh = "冲沟退让"
title_en = "Gully setback"
distance_m = { value = 20.0, source = "test", verified = false }

[[rules]]
id = "h.slide"
subject = "house"
kind = "avoid"
layer = "landslide_zone"
severity = "fail"
clause = "(十一)"
title_zh = "避让滑坡"
title_en = "Keep out of landslides"
"""

XSS = "<script>alert(1)</script>"
GAP = 12.347  # s2 to the gully, in metres
N_EXTRA = 21  # not_checked sites beyond the first four: 25 sites, 5 more than shown


@pytest.fixture(scope="module")
def res(tmp_path_factory: pytest.TempPathFactory) -> geoplan.Result:
    d = tmp_path_factory.mktemp("display")
    ws = d / "ws"
    ws.mkdir()
    gk([box(X0, Y0, X0 + 100, Y0 + 100)], level=["1"]).to_file(ws / "flood_zone.gpkg")
    gk([LineString([(X0 - 1000, Y0 + 500), (X0 + 1000, Y0 + 500)])]).to_file(ws / "gully.gpkg")
    (d / "pack.toml").write_text(PACK, encoding="utf-8")
    extra = [box(X0 + 500 + 20 * i, Y0 + 200, X0 + 510 + 20 * i, Y0 + 210)
             for i in range(N_EXTRA)]
    sites = gk([box(X0 + 5000, Y0, X0 + 5010, Y0 + 10),              # s3: outside → error
                box(X0 + 400, Y0 + 200, X0 + 410, Y0 + 210),         # XSS: not_checked
                box(X0 - 10, Y0 + 10, X0 + 12, Y0 + 20),             # s1: 120 m² in the zone
                box(X0 + 300, Y0 + 490 - GAP, X0 + 310, Y0 + 500 - GAP),  # s2: 12.347 m
                *extra],
               site_id=["s3", XSS, "s1", "s2", *[f"x{i:02d}" for i in range(N_EXTRA)]],
               applicant=["张三", "李四", "王五", "赵六", *["钱七"] * N_EXTRA],
               village=["<b>甲村</b>", "乙村", "甲村", "乙村", *["丙村"] * N_EXTRA],
               township=["甲镇"] * (4 + N_EXTRA))
    return geoplan.check(sites, geoplan.open_workspace(ws), rules=d / "pack.toml")


def test_the_check_is_as_designed(res: geoplan.Result) -> None:
    v = res.verdicts.set_index("site_id")["verdict"]
    assert (v["s1"], v["s2"], v["s3"], v[XSS]) == ("fail", "fail", "error", "not_checked")


# --------------------------------------------------------------------------- the result


def _rows(page: str) -> list[str]:
    body = page[page.index("<tbody>"):page.index("</tbody>")]
    return re.findall(r"<tr>.*?</tr>", body)


def test_result_header_and_chips_with_counts(res: geoplan.Result) -> None:
    page = res._repr_html_()
    assert "农房 house" in page
    assert f"{len(res.verdicts)} 个选址 sites" in page
    assert "<b>t</b> 1" in page
    assert "测试规则包 / test pack" in page
    for label, n in (("不通过 fail", 2), ("错误 error", 1), ("警示 warn", 0),
                     ("未核查 not checked", 1 + N_EXTRA), ("通过 pass", 0)):
        assert f">{label} <b>{n}</b></span>" in page, label
    assert "background:#d7191c" in page                         # STATUS_COLOURS["fail"]


def test_result_reasons_are_rule_titles_with_the_id_on_hover(res: geoplan.Result) -> None:
    page = res._repr_html_()
    s1 = next(r for r in _rows(page) if ">s1</td>" in r)
    assert ('<span title="h.flood">避让洪涝区 <span style="color:#666">Keep out of flood '
            "zones</span></span>") in s1
    assert "h.flood(fail)" not in page
    s2 = next(r for r in _rows(page) if ">s2</td>" in r)
    assert 'title="h.gully">冲沟退让' in s2
    assert ">王五</td>" in s1
    assert ">甲村</td>" in s1
    assert ">甲镇</td>" in s1
    # the rule not checked for the whole batch, with its reason
    nc = page[page.index("rules not checked"):page.index("<table")]
    assert 'title="h.slide">避让滑坡' in nc
    assert "no landslide_zone layer" in nc


def test_result_rows_worst_first_at_most_20_with_a_footer(res: geoplan.Result) -> None:
    page = res._repr_html_()
    rows = _rows(page)
    assert len(rows) == 20
    firsts = [re.search(r"<td[^>]*>(.*?)</td>", r).group(1) for r in rows]
    assert firsts[:4] == ["s1", "s2", "s3", html.escape(XSS)]      # fail, fail, error, n/c
    assert f"另有 {len(res.verdicts) - 20} 行" in page
    assert f"{len(res.verdicts) - 20} more rows in <code>.verdicts</code>" in page
    assert "<code>.findings</code>" in page
    assert "plain DataFrames" in page
    # text cells are left-aligned, never Jupyter's default right
    assert 'style="text-align:right' not in page[page.index("<tbody>"):]


def test_not_checked_and_error_sites_say_why(res: geoplan.Result) -> None:
    rows = _rows(res._repr_html_())
    nc = next(r for r in rows if html.escape(XSS) in r)
    assert ">未核查 not checked</span>" in nc                      # the verdict chip
    assert 'title="h.slide">避让滑坡' in nc
    assert "工作空间缺少滑坡危险区（landslide_zone）图层，未核查" in nc
    assert "the workspace has no landslide_zone layer" in nc
    err = next(r for r in rows if ">s3</td>" in r)
    assert err.count("outside the workspace") == 1               # one reason for three rules
    assert all(f'title="{rid}"' in err for rid in ("h.flood", "h.gully", "h.slide"))


def test_data_text_is_escaped(res: geoplan.Result) -> None:
    for page in (res._repr_html_(), res.site(XSS)._repr_html_()):
        assert XSS not in page
        assert html.escape(XSS) in page
    page = res._repr_html_()
    assert "<b>甲村</b>" not in page
    assert "&lt;b&gt;甲村&lt;/b&gt;" in page


# --------------------------------------------------------------------------- one site


def test_site_is_the_same_rows_as_a_dataframe_worst_first(res: geoplan.Result) -> None:
    one = res.site("s1")
    assert isinstance(one, pd.DataFrame)
    assert isinstance(one, SiteFindings)
    f = res.findings
    mine = f[f.site_id == "s1"]
    assert set(one.index) == set(mine.index)
    assert set(map(tuple, one[["rule_id", "status"]].to_numpy())) == set(
        map(tuple, mine[["rule_id", "status"]].to_numpy()))
    assert one["status"].tolist() == ["fail", "not_checked", "pass"]
    # slicing gives plain pandas objects
    assert type(one.head(1)) is pd.DataFrame
    assert type(one[one.status == "fail"]) is pd.DataFrame
    assert res.site("no such site").empty


def test_site_display_fails_first_passes_folded(res: geoplan.Result) -> None:
    page = res.site("s1")._repr_html_()
    assert "<b>选址 site s1</b>" in page
    assert ">不通过 fail</span>" in page[:page.index("<table")]     # the verdict chip
    assert "<details><summary>通过 1 条 · 1 passed</summary>" in page
    folded = page[page.index("<details>"):]
    assert 'title="h.gully">冲沟退让' in folded                    # the pass, inside
    assert 'title="h.flood">避让洪涝区' in page[:page.index("<details>")]  # the fail, before
    assert 'title="h.slide">避让滑坡' in page[:page.index("<details>")]
    assert page.index('title="h.flood"') < page.index('title="h.slide"') < page.index(
        'title="h.gully"')


def test_site_display_rounds_measures_with_units(res: geoplan.Result) -> None:
    s1 = res.site("s1")._repr_html_()
    assert ">120.00 m² (0.18 亩)</td>" in s1
    assert ">≤ 1 m²</td>" in s1
    s2 = res.site("s2")._repr_html_()
    assert ">12.35 m</td>" in s2
    assert ">≥ 20 m</td>" in s2                                   # a setback: at least


def test_site_display_keeps_the_full_messages(res: geoplan.Result) -> None:
    for sid in ("s1", "s2", XSS):
        rows = res.findings[res.findings.site_id == sid]
        page = res.site(sid)._repr_html_()
        for msg in [*rows.message_zh, *rows.message_en]:
            assert html.escape(msg) in page, msg
    longest = max(res.findings.message_en, key=len)
    assert len(longest) > 50


# --------------------------------------------------------------------------- counts


def test_counts_are_a_series_with_chips(res: geoplan.Result) -> None:
    c = res.counts()
    assert isinstance(c, pd.Series)
    assert isinstance(c, VerdictCounts)
    assert c.to_dict() == {"fail": 2, "error": 1, "warn": 0, "not_checked": 1 + N_EXTRA,
                           "pass": 0}
    assert c.index.name == "verdict"
    assert type(c + 0) is pd.Series
    page = c._repr_html_()
    assert page.count('class="geoplan-chip"') == 5
    assert ">不通过 fail <b>2</b></span>" in page
    assert "dtype" not in page


# --------------------------------------------------------------------------- pieces


def test_formatters() -> None:
    assert format_measure(120.0, "m2") == "120.00 m² (0.18 亩)"
    assert format_measure(12.347, "m") == "12.35 m"
    assert format_measure(31.26, "deg") == "31.3°"
    assert format_measure(float("nan"), "m") == ""
    assert format_threshold(20.0, "m", "≥") == "≥ 20 m"
    assert format_threshold(25.0, "deg", "≤") == "≤ 25°"


def test_html_table_left_text_integer_floats_and_no_data() -> None:
    t = html_table(pd.DataFrame({"村 village": ["甲村", "<i>乙</i>"],
                                 "population": [2487.0, float("nan")],
                                 "km": [1.23456, 2.0]}))
    assert '<td style="text-align:left;vertical-align:top">甲村</td>' in t
    assert ">2487</td>" in t
    assert "2487.0" not in t
    assert ">无数据</td>" in t
    assert ">1.23</td>" in t
    assert ">2.00</td>" in t
    assert "&lt;i&gt;乙&lt;/i&gt;" in t


def test_a_rule_without_a_title_is_shown_by_its_id() -> None:
    assert rule_label("h.x", {"h.x": ("", "")}) == '<span title="h.x">h.x</span>'
    assert rule_label("h.y", {}) == '<span title="h.y">h.y</span>'
    assert rule_label("h.z", {"h.z": ("", "Only English")}) == (
        '<span title="h.z">Only English</span>')


def test_a_pack_without_titles_displays_without_a_dangling_slash(tmp_path: Path) -> None:
    p = tmp_path / "pack.toml"
    p.write_text(PACK.replace('title_zh = "测试规则包"\ntitle_en = "test pack"\n', "")
                 .replace('name = "t"', 'name = "my-county"'), encoding="utf-8")
    pack = load_pack(p)
    assert pack.title_zh == pack.title_en == ""
    page = pack._repr_html_()
    assert page.startswith("<p><b>my-county</b> 1</p>")
    assert " / " not in page[:page.index("<table")]
    assert ">避让洪涝区</td>" in page
    untitled = dataclasses.replace(pack, rules=(
        dataclasses.replace(pack.rules[0], title_zh="", title_en=""),))
    assert '<td style="text-align:left;vertical-align:top;white-space:nowrap">h.flood</td>' in (
        untitled._repr_html_())
    assert untitled._repr_html_().count(">h.flood</td>") == 2      # the id, and as its title


# --------------------------------------------------------------------------- indicators


def test_indicator_wide_is_keyed_by_township_with_no_data_and_integers(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    gk([box(X0, Y0, X0 + 1000, Y0 + 1000)], level=["1"]).to_file(ws / "flood_zone.gpkg")
    gk([Point(X0 + 200, Y0 + 2000), Point(X0 + 2500, Y0 + 2500), Point(X0 + 2600, Y0 + 2400)],
       name=["巴彦岱村", "潘津村", "东村"], township=["巴彦岱镇", "潘津镇", "潘津镇"],
       layout_class=["集聚提升", "搬迁撤并", "集聚提升"],
       population=[1200, 300, None]).to_file(ws / "village.gpkg")
    ind = geoplan.indicators(ws)
    w = ind.wide()
    assert w.index.name == "township"
    assert list(w.index) == ["巴彦岱镇", "潘津镇", "全市 city"]
    assert w["env.sewage_rate"].isna().all()                     # NaN kept in the frame
    page = ind._repr_html_()
    by_township = page[page.index("分乡镇 by township"):]
    row = re.search(r"<tr><td[^>]*>巴彦岱镇</td>.*?</tr>", by_township).group(0)
    assert "white-space:nowrap\">巴彦岱镇</td>" in row          # the name stays on one line
    assert ">1200</td>" in row
    assert "1200.0" not in page
    assert ">无数据</td>" in row
    city = re.search(r"<tr><td[^>]*>全市 city</td>.*?</tr>", by_township).group(0)
    assert ">1500</td>" in city                                   # 1200 + 300 (+ unknown)
    assert ">3</td>" in city                                      # villages


def test_exported_files_are_links_in_jupyter(tmp_path, monkeypatch) -> None:
    from geoplan.outputs import WrittenFiles

    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    inside = tmp_path / "out" / "map <1>.html"
    files = WrittenFiles([inside, Path("/elsewhere/report.html")])
    page = files._repr_html_()
    assert '<a href="out/map &lt;1&gt;.html" target="_blank"' in page   # relative, escaped
    assert "<code>/elsewhere/report.html</code>" in page
    assert page.count("<a ") == 1
    assert "2 files written" in page
    assert "写出 2 个文件" in page
    assert isinstance(files, list)
    assert files[0] == inside
