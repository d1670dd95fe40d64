"""Who and where a site is (issue 14, part 1): ids, applicants, villages and townships.

An office's table names its columns 序号, 户主姓名, 村名, 乡镇 (or anything, with
``--id-field``/``--name-field``/``--village-field``/``--township-field``): the ids
come from 序号, the applicant, village and township are copied into ``applicant``,
``village``, ``township`` and reach the verdicts, the popups, the report and the
files; the relocate-and-merge rule joins each site to its village by that name,
written with or without 村/村委会 and spaces; a name of no village is said, never
replaced by the nearest village.

The sites are sample houses (``layers/batches/proposed_houses.gpkg``) given as
points, chosen so that joining by name and by nearest village disagree:

* H0227 lies nearest 后塘村 (搬迁撤并: a warning by nearest) but is of 东湖村 (集聚提升);
* H0201 lies 6 km from any village point (not_checked by nearest, whose reach is
  3 km) and is of 后坡村;
* H0140 is of 下湖村 (搬迁撤并): a warning;
* H0007 lies in a flood zone: a failing site, so the report has its section.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SAMPLE
from shapely import Point

import geoplan
from geoplan.cli import main
from geoplan.errors import SiteInputError
from geoplan.sites import decide_identity, place_key

RULE = "house.relocate_merge"
SCRIPT = "<script>alert(1)</script>"

# house, 户主姓名, 村名 as written in the table, the layer's village it means
SITES = [
    ("H0007", SCRIPT, "北林", "北林村"),
    ("H0140", "李四", "下湖村", "下湖村"),
    ("H0201", "王五", "后坡村委会", "后坡村"),
    ("H0227", "赵六", "东湖\u3000村", "东湖村"),        # a full-width space inside
    ("H0190", "钱七", " 北塘村民委员会 ", "北塘村"),
    ("H0001", "孙八", "前庄村", "前庄村"),
]
UNMATCHED = ("H0003", "周九", "不存在村", None)


def _houses() -> gpd.GeoDataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gpd.read_file(SAMPLE / "batches" / "proposed_houses.gpkg").set_index("house_id")


def _rows(sites: list[tuple[str, str, str, str | None]]) -> list[list[object]]:
    h = _houses()
    rows: list[list[object]] = []
    for k, (hid, name, village, _) in enumerate(sites):
        p = h.loc[hid].geometry.representative_point()
        rows.append([101 + k, name, village, h.loc[hid, "township"], round(p.x, 9),
                     round(p.y, 9)])
    return rows


def _xlsx(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "拟建农房"
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


HEADER = ["序号", "户主姓名", "村名", "乡镇", "经度", "纬度"]


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> tuple[geoplan.Result, Path]:
    d = tmp_path_factory.mktemp("identity")
    book = _xlsx(d / "拟建农房.xlsx", HEADER, _rows([*SITES, UNMATCHED]))
    res = geoplan.check(book, SAMPLE)
    out = d / "out"
    res.to_files(out, offline=True)
    return res, out


def _site_village(message: str) -> str | None:
    m = re.search(r"the site's village \(([^)]*)\)", message)
    return m.group(1) if m else None


# ------------------------------------------------------------------------- Python


def test_ids_applicants_villages_townships_from_chinese_columns(checked) -> None:
    res, out = checked
    v = res.verdicts.set_index("site_id")
    assert list(v.index) == [str(101 + k) for k in range(len(SITES) + 1)]   # 序号, not rows
    assert v["applicant"].tolist() == [s[1] for s in [*SITES, UNMATCHED]]
    assert v["village"].tolist() == [s[2] for s in [*SITES, UNMATCHED]]
    assert v["township"].notna().all()
    assert v["户主姓名"].tolist() == v["applicant"].tolist()    # the input column kept
    assert ("columns read as: 序号 → site_id, 户主姓名 → applicant, 村名 → village, "
            "乡镇 → township") in res.site_notes
    csv = pd.read_csv(out / "verdicts.csv", encoding="utf-8-sig", dtype={"site_id": str})
    assert csv["applicant"].tolist()[1:3] == ["李四", "王五"]
    assert csv["village"].tolist()[2] == "后坡村委会"
    gpkg = gpd.read_file(out / "results.gpkg", layer="verdicts")
    assert gpkg["applicant"].tolist()[0] == SCRIPT
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["site_columns"] == {"site_id": "序号", "applicant": "户主姓名",
                                       "village": "村名", "township": "乡镇"}
    assert not any("村名" in t["en"] for t in summary["site_transformations"])  # not a change


def test_every_named_site_is_joined_to_its_village_by_name(checked) -> None:
    res, _ = checked
    f = res.findings[res.findings.rule_id == RULE].set_index("site_id")
    for k, (_, _, written, meant) in enumerate(SITES):
        sid = str(101 + k)
        assert _site_village(f.loc[sid, "message_en"]) == meant, (sid, written)
    status = f["status"].to_dict()
    assert status["102"] == "warn"          # 下湖村: relocate-and-merge
    assert status["104"] == "pass"          # 东湖村, though nearest 后塘村 (搬迁撤并)
    assert status["103"] == "pass"          # 后坡村, 6 km from any village point
    assert not f["message_en"].str.contains("no village found").any()


def test_a_name_of_no_village_is_said_not_replaced_by_the_nearest(checked) -> None:
    res, _ = checked
    f = res.findings[res.findings.rule_id == RULE].set_index("site_id")
    row = f.loc[str(101 + len(SITES))]
    assert row["status"] == "not_checked"
    assert "'不存在村' (village) matches no name in the village layer" in row["message_en"]
    assert "the nearest is 前庄村" in row["message_en"]
    assert "不存在村" in row["message_zh"]
    assert "未核查" in row["message_zh"]
    assert row["matched"] == ""


def test_report_names_applicants_and_fills_the_township_village_table(checked) -> None:
    res, out = checked
    html = (out / "report.html").read_text(encoding="utf-8")
    area = html.split("By township and village", 1)[1].split("</table>", 1)[0]
    assert "the batch has no township or village column" not in html
    for township in res.verdicts["township"].unique():
        assert f"<td>{township}</td>" in area
    for _, _, written, _ in [*SITES, UNMATCHED]:   # a row per village, as written
        assert area.count(f"<td>{written.strip()}</td>") == 1, written
    assert "c-fail'>1</td>" in area.split("<td>北林</td>", 1)[1].split("</tr>", 1)[0]
    # the failing site's section shows its applicant, as text
    section = html.split("id='site-0'", 1)[1].split("</section>", 1)[0]
    assert "<i>applicant</i> &lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert SCRIPT not in html


def test_popups_show_the_applicant_as_text(checked) -> None:
    res, out = checked
    for page in (res.map(offline=True).get_root().render(),
                 (out / "report.html").read_text(encoding="utf-8")):
        assert SCRIPT not in page
        assert '"fields":["申请人 applicant","村 village","乡镇 township"]' in page
        assert ('"a":[[0,"\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;/script\\u0026gt;"],'
                '[1,"北林"],[2,"巴彦岱镇"]]') in page
        assert '"a":[[0,"李四"],[1,"下湖村"],[2,"汉宾乡"]]' in page


def test_popup_fields_put_the_identity_first() -> None:
    from geoplan.maps._payload import _popup_fields

    v = pd.DataFrame({"name": ["a"], "applicant": ["a"], "village": ["v"], "township": ["t"],
                      "floors": [2], "address": ["x"]})
    assert _popup_fields(v, None) == ["applicant", "village", "township", "address"]


# ------------------------------------------------------------------------- the CLI


def test_cli_flags_name_unusual_columns(tmp_path: Path) -> None:
    book = _xlsx(tmp_path / "s.xlsx", ["宅基地编码", "土地使用人", "所属村", "所在乡镇", "经度", "纬度"],
                 [[f"ZJ-{r[0]}", *r[1:]] for r in _rows(SITES)])
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["check", str(book), "-w", str(SAMPLE), "-o", str(out),
                                  "--offline", "--id-field", "宅基地编码", "--name-field", "土地使用人",
                                  "--village-field", "所属村", "--township-field", "所在乡镇"])
    assert r.exit_code == 0, r.output
    assert "所属村 → village" in r.output
    v = pd.read_csv(out / "verdicts.csv", encoding="utf-8-sig").set_index("site_id")
    assert list(v.index) == [f"ZJ-{101 + k}" for k in range(len(SITES))]
    assert v["applicant"].tolist()[1:] == [s[1] for s in SITES[1:]]
    assert v["township"].notna().all()
    f = pd.read_csv(out / "findings.csv", encoding="utf-8-sig")
    f = f[f.rule_id == RULE].set_index("site_id")
    assert [_site_village(m) for m in f["message_en"]] == [s[3] for s in SITES]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "the batch has no township or village column" not in html
    assert "<td>后坡村委会</td>" in html

    # without the flag, 所属村 is not known: said in the notes, and the rule goes by nearest
    r = CliRunner().invoke(main, ["check", str(book), "-w", str(SAMPLE)])
    assert r.exit_code == 0, r.output
    assert "no village column" in r.output
    assert "--village-field" in r.output


def test_cli_refuses_a_named_field_that_is_not_there(tmp_path: Path) -> None:
    book = _xlsx(tmp_path / "s.xlsx", HEADER, _rows(SITES[:2]))
    r = CliRunner().invoke(main, ["check", str(book), "-w", str(SAMPLE), "--village-field",
                                  "所属村"])
    assert r.exit_code == 2
    assert "village field '所属村' is not in the sites" in r.output
    assert "村名" in r.output                     # the fields there, to choose from


def test_python_keywords_and_streamed_chunks(tmp_path: Path) -> None:
    h = _houses()
    sites = gpd.GeoDataFrame(
        {"所属村": [s[2] for s in SITES], "土地使用人": [s[1] for s in SITES]},
        geometry=[h.loc[s[0]].geometry.representative_point() for s in SITES], crs=4490)
    path = tmp_path / "s.gpkg"
    sites.to_file(path)
    for engine, size in (("local", None), ("chunked", 2)):
        res = geoplan.check(path, SAMPLE, engine=engine, chunk_size=size,  # type: ignore[arg-type]
                            village_field="所属村", name_field="土地使用人")
        v = res.verdicts
        assert v["village"].tolist() == [s[2] for s in SITES], engine
        assert v["applicant"].tolist() == [s[1] for s in SITES], engine
        f = res.findings[res.findings.rule_id == RULE]
        assert [_site_village(m) for m in f["message_en"]] == [s[3] for s in SITES], engine
        assert any("所属村 → village" in n for n in res.site_notes), engine


# ------------------------------------------------------------------------- the rules


def test_two_candidate_columns_take_the_first_and_say_so() -> None:
    ident = decide_identity(["编号", "行政村", "村名", "姓名", "户主"])
    assert dict(ident.columns) == {"applicant": "户主", "village": "村名"}
    notes = ident.describe("编号")
    assert ("two columns could be the village: 村名 and 行政村; 村名 was taken (name the one "
            "to use with --village-field, or village_field=)") in notes
    assert any(n.startswith("two columns could be the applicant: 户主 and 姓名") for n in notes)
    assert decide_identity(["行政村", "村名"], village_field="行政村").columns == {
        "village": "行政村"}
    with pytest.raises(SiteInputError, match="township field '街道办' is not in the sites"):
        decide_identity(["乡镇"], township_field="街道办")


def test_a_canonical_column_not_chosen_is_kept_as_input(tmp_path: Path) -> None:
    h = _houses()
    sites = gpd.GeoDataFrame({"village": ["x", "y"], "所属村": ["下湖村", "东湖村"]},
                             geometry=[h.loc["H0140"].geometry.representative_point(),
                                       h.loc["H0227"].geometry.representative_point()],
                             crs=4490)
    res = geoplan.check(sites, SAMPLE, village_field="所属村")
    v = res.verdicts
    assert v["village"].tolist() == ["下湖村", "东湖村"]
    assert v["input_village"].tolist() == ["x", "y"]
    assert sites.columns.tolist() == ["village", "所属村", "geometry"]   # the input untouched


@pytest.mark.parametrize(("a", "b"), [("新湾", "新湾村"), ("新湾村", "新湾村委会"),
                                      ("新湾", "新湾村民委员会"), (" 新 湾\u3000村 ", "新湾"),
                                      ("ＸＩＮＷＡＮ", "xinwan")])
def test_place_names_compare_without_spaces_or_suffixes(a: str, b: str) -> None:
    assert place_key(a) == place_key(b)


def test_place_names_that_differ_stay_apart() -> None:
    assert place_key("新湾") != place_key("新湾一组")
    assert place_key("村") == "村"                      # never reduced to nothing
    assert place_key(None) == place_key(float("nan")) == place_key("  ") == ""


def test_a_name_shared_by_two_villages_takes_the_nearest_of_them(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    x0, y0 = 524_000.0, 4_865_000.0
    gpd.GeoDataFrame({"name": ["新湾村", "新湾村", "前庄村"],
                      "layout_class": ["搬迁撤并", "集聚提升", "集聚提升"]},
                     geometry=[Point(x0, y0), Point(x0 + 8000, y0), Point(x0 + 7000, y0)],
                     crs=4536).to_file(ws / "village.gpkg")
    sites = gpd.GeoDataFrame({"site_id": ["a", "b", "c"], "村名": ["新湾", "新湾村委会", ""]},
                             geometry=[Point(x0 + 100, y0), Point(x0 + 6900, y0),
                                       Point(x0 + 100, y0)], crs=4536)
    res = geoplan.check(sites, ws, subject="house")
    f = res.findings[res.findings.rule_id == RULE].set_index("site_id")
    assert f["status"].to_dict() == {"a": "warn", "b": "pass", "c": "warn"}
    assert f.loc["b", "matched"] == "2"            # the 新湾村 at 8 km, not 前庄村 nearer
    assert np.all(f["message_en"].str.contains("新湾村"))


def test_report_groups_the_spellings_of_one_village_in_one_row() -> None:
    from types import SimpleNamespace

    from geoplan.report._tables import area_table

    v = pd.DataFrame({"township": ["巴彦岱镇", "巴彦岱镇 ", "巴彦岱镇", None],
                      "village": ["新湾", "新湾村", " 新湾村委会", None],
                      "verdict": ["fail", "pass", "warn", "pass"]})
    html = area_table(SimpleNamespace(verdicts=v))  # type: ignore[arg-type]
    assert html.count("<td>新湾</td>") == 1
    assert "新湾村" not in html
    row = html.split("<td>新湾</td>", 1)[1].split("</tr>", 1)[0]
    assert row.endswith("<td class='num'>3</td>")
    assert html.count("<td>（空 blank）</td>") == 2
