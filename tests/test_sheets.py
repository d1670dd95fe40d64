"""A sheet per site (审批表): A4 PDFs whose text, fonts and pages are checked.

The PDFs are read back with pypdf (text, font dictionaries) and rendered with
poppler's ``pdftoppm``. Where WeasyPrint, a CJK font or pdftoppm is missing the
tests skip, saying why — except with ``GEOPLAN_REQUIRE_SHEETS=1`` (set by
``.ci/run``), where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import SAMPLE

import geoplan
from geoplan.cli import main
from geoplan.core import MU_PER_M2

HOUSES = SAMPLE / "batches" / "proposed_houses.gpkg"
SCRIPT_ID = "<script>alert(1)</script>"
REQUIRED = os.environ.get("GEOPLAN_REQUIRE_SHEETS", "") not in ("", "0")


def _why_not() -> str | None:
    try:
        from geoplan.report.sheets import SheetsError, ready
    except ImportError as exc:  # pragma: no cover - the module itself is plain Python
        return str(exc)
    try:
        ready()
    except SheetsError as exc:
        return str(exc)
    if shutil.which("pdftoppm") is None:
        return "pdftoppm is missing (Debian/Ubuntu: apt-get install poppler-utils)"
    return None


@pytest.fixture(scope="module", autouse=True)
def _can_print() -> None:
    why = _why_not()
    if why is not None:
        if REQUIRED:
            pytest.fail(f"GEOPLAN_REQUIRE_SHEETS is set, but sheets cannot be printed: {why}")
        pytest.skip(f"PDF sheets cannot be printed here: {why}")


def _pdf():
    import pypdf

    return pypdf


def pages_text(path: Path) -> list[str]:
    """The text of each page, with all whitespace removed (PDF text runs break anywhere)."""
    return ["".join(p.extract_text().split()) for p in _pdf().PdfReader(path).pages]


def flat(text: str) -> str:
    return "".join(text.split())


@pytest.fixture(scope="module")
def picked() -> dict[str, str]:
    """Site ids from the sample: a polygon failing an overlap rule of clause (十一), a point
    site, and a site without geometry."""
    res = geoplan.check(HOUSES, SAMPLE, id_field="house_id")
    f = res.findings
    overlap = f[(f["status"] == "fail") & (f["unit"] == "m2") & (f["clause"] == "(十一)")]
    v = res.verdicts.set_index("site_id")
    poly = next(s for s in overlap["site_id"] if v.geometry[s].geom_type == "Polygon")
    point = next(s for s in v.index[v["verdict"] == "fail"] if v.geometry[s].geom_type == "Point")
    empty = next(s for s in v.index if v.geometry[s] is None or v.geometry[s].is_empty)
    return {"poly": poly, "point": point, "empty": empty}


@pytest.fixture(scope="module")
def batch(picked, tmp_path_factory) -> Path:
    """The picked sites plus one whose id is a script, with applicants, as a GeoPackage."""
    g = gpd.read_file(HOUSES)
    rows = g[g["house_id"].isin(list(picked.values()))].copy()
    script = g[g["house_id"] == picked["poly"]].copy()
    script["house_id"] = SCRIPT_ID
    rows = gpd.GeoDataFrame(
        [*rows.to_dict("records"), *script.to_dict("records")], crs=g.crs)
    names = {picked["poly"]: "张三", picked["point"]: "李四", picked["empty"]: "王五",
             SCRIPT_ID: "<b>赵六</b>"}
    rows["applicant"] = rows["house_id"].map(names)
    path = tmp_path_factory.mktemp("batch") / "houses.gpkg"
    rows.to_file(path, layer="houses")
    return path


@pytest.fixture(scope="module")
def res(batch):
    return geoplan.check(batch, SAMPLE, id_field="house_id")


@pytest.fixture(scope="module")
def per_site(res, picked, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("sheets")
    ids = [picked["poly"], SCRIPT_ID, picked["empty"]]
    written = res.sheets(out, sites=ids)
    assert len(written) == 3
    return dict(zip(ids, written, strict=True))


def test_a_sheet_names_the_applicant_clause_measure_in_mu_and_signature_blocks(
        res, picked, per_site) -> None:
    sid = picked["poly"]
    text = "".join(pages_text(per_site[sid]))
    assert per_site[sid].name == f"{sid}.pdf"
    assert "张三" in text
    v = res.verdicts.set_index("site_id")
    for col in ("village", "township"):
        assert flat(str(v.loc[sid, col])) in text
    assert sid in text
    # the failing overlap: its clause and its measure in m² and 亩
    f = res.findings
    hit = f[(f["site_id"] == sid) & (f["status"] == "fail") & (f["unit"] == "m2")].iloc[0]
    assert flat(hit["clause"]) in text
    assert f"{hit['measure'] * MU_PER_M2:.3f}亩" in text
    # the footprint in m² and 亩 (area in the working CRS)
    area = v.loc[[sid]].to_crs(res.workspace.crs).geometry.area.iloc[0]
    assert f"{area * MU_PER_M2:.3f}亩" in text
    # coordinates: the representative point in the working CRS and as lon/lat
    p = v.loc[[sid]].to_crs(res.workspace.crs).geometry.representative_point().iloc[0]
    lon = v.loc[[sid]].geometry.representative_point().iloc[0].x
    assert f"{p.x:,.2f}" in text
    assert f"{abs(lon):.3f}" in text
    assert "EPSG:4536" in text
    for label in ("村委会意见", "乡镇审核", "市级审批", "意见", "签字（盖章）", "日期"):
        assert label in text
    # provenance: the pack, the check's local time, a layer's sha256
    assert res.pack.name in text
    assert res.pack.version in text
    assert res.summary["started_local"][:10] in text
    sha = next(ly["sha256"] for ly in res.summary["layers"] if ly["kind"] == "flood_zone")
    assert sha in text
    # fails first, passes summed up
    assert text.index("不通过fail") < text.index("通过pass（")


def _fonts(obj, seen: set[int] | None = None):
    """Every font dictionary under a page's or a form's resources."""
    seen = set() if seen is None else seen
    res = obj.get("/Resources")
    if res is None:
        return
    res = res.get_object()
    for f in (res.get("/Font") or {}).values():
        f = f.get_object()
        if id(f) not in seen:
            seen.add(id(f))
            yield f
    for x in (res.get("/XObject") or {}).values():
        x = x.get_object()
        if x.get("/Subtype") == "/Form" and id(x) not in seen:
            seen.add(id(x))
            yield from _fonts(x, seen)


def test_every_font_is_embedded(per_site, picked) -> None:
    reader = _pdf().PdfReader(per_site[picked["poly"]])
    fonts = [f for page in reader.pages for f in _fonts(page)]
    assert fonts
    for f in fonts:
        desc = f["/DescendantFonts"][0].get_object() if "/DescendantFonts" in f else f
        fd = desc["/FontDescriptor"].get_object()
        assert any(k in fd for k in ("/FontFile", "/FontFile2", "/FontFile3")), f["/BaseFont"]
    from geoplan.report.sheets import find_cjk_font

    family = find_cjk_font().family.replace(" ", "")
    assert any(family in str(f["/BaseFont"]).replace("-", "") for f in fonts)


def test_pages_render_with_pdftoppm(per_site, picked, tmp_path: Path) -> None:
    from PIL import Image

    pdf = per_site[picked["poly"]]
    n = len(_pdf().PdfReader(pdf).pages)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "p")], check=True,
                   capture_output=True, timeout=120)
    pngs = sorted(tmp_path.glob("p-*.png"))
    assert len(pngs) == n
    for png in pngs:
        with Image.open(png) as im:
            w, h = im.size
            assert abs(h / w - 297 / 210) < 0.02  # A4 portrait
            assert np.asarray(im.convert("L")).min() < 100  # something is printed
    # the first page has the map: some colour, not only black text on white
    with Image.open(pngs[0]) as im:
        rgb = np.asarray(im.convert("RGB")).astype(int)
        assert (np.ptp(rgb, axis=2) > 60).sum() > 200


def test_combined_has_a_page_group_per_site_in_the_order_asked(res, picked, per_site,
                                                                 tmp_path: Path) -> None:
    order = [picked["empty"], picked["poly"]]
    (pdf,) = res.sheets(tmp_path, sites=order, combined=True)
    assert pdf.name == "sheets.pdf"
    pages = pages_text(pdf)
    # every page's footer names its site
    owner = [next(s for s in order if f"选址site{s}" in t) for t in pages]
    groups = [s for i, s in enumerate(owner) if i == 0 or owner[i - 1] != s]
    assert groups == order
    assert len(pages) == sum(len(pages_text(per_site[s])) for s in order)
    for s in order:
        assert sum(o == s for o in owner) == len(pages_text(per_site[s]))


def test_sites_and_verdicts_select(res, picked, tmp_path: Path) -> None:
    from geoplan.report.sheets import SheetsError

    written = res.sheets(tmp_path / "one", sites=[picked["point"]])
    assert [p.name for p in written] == [f"{picked['point']}.pdf"]
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == [f"{picked['point']}.pdf"]
    assert "李四" in "".join(pages_text(written[0]))
    errors = res.sheets(tmp_path / "err", verdicts=["error"])
    assert [p.name for p in errors] == [f"{picked['empty']}.pdf"]
    assert res.sheets(tmp_path / "none", sites=[picked["point"]], verdicts=["pass"]) == []
    with pytest.raises(SheetsError, match="no site 'H9999'"):
        res.sheets(tmp_path / "bad", sites=["H9999"])


def test_text_from_data_prints_as_text(per_site) -> None:
    pdf = per_site[SCRIPT_ID]
    assert "<" not in pdf.name
    assert ">" not in pdf.name
    assert "/" not in pdf.name
    pages = pages_text(pdf)
    text = "".join(pages)
    assert SCRIPT_ID in text
    assert all(f"选址site{SCRIPT_ID}" in page for page in pages)  # the footer of every page
    assert "<b>赵六</b>" in text
    raw = pdf.read_bytes()
    assert b"/JavaScript" not in raw
    assert b"/JS " not in raw


def test_a_site_without_geometry_gets_a_sheet_without_a_map(per_site, picked) -> None:
    text = "".join(pages_text(per_site[picked["empty"]]))
    assert "王五" in text
    assert "nogeometry" in text
    assert "市级审批" in text


def test_a_nominal_footprint_says_so(batch, picked, tmp_path: Path) -> None:
    res = geoplan.check(batch, SAMPLE, id_field="house_id", footprint_m=12)
    (pdf,) = res.sheets(tmp_path, sites=[picked["point"]])
    text = "".join(pages_text(pdf))
    assert "名义nominal144.0m²（0.216亩）" in text
    assert "pointbufferedtoa12msquare" in text


def test_decisions_applied_are_on_the_sheet(res, tmp_path: Path) -> None:
    import pandas as pd

    tpl = pd.read_csv(res.decisions_template(tmp_path / "t.csv"), dtype=str,
                      keep_default_na=False, encoding="utf-8-sig")
    row = tpl.index[tpl["status"] == "fail"][0]
    tpl.loc[row, ["decision", "reason", "document", "approver", "date"]] = [
        "exempt", "已办理农转用", "伊自然资〔2025〕12号", "伊宁市自然资源局", "2025-03-01"]
    tpl.to_csv(tmp_path / "d.csv", index=False, encoding="utf-8-sig")
    checked = geoplan.check(res.summary["sites_source"], SAMPLE, id_field="house_id")
    checked.apply_decisions(tmp_path / "d.csv")
    (pdf,) = checked.sheets(tmp_path / "out", sites=[tpl.loc[row, "site_id"]])
    text = "".join(pages_text(pdf))
    assert "伊自然资〔2025〕12号" in text
    assert "审批决定" in text
    assert "已采纳applied" in text


def test_a_font_file_named_by_the_variable_is_embedded(res, picked, tmp_path: Path,
                                                      monkeypatch) -> None:
    from geoplan.report.sheets import _fc_families, find_cjk_font

    font = find_cjk_font()
    file = font.path or _fc_families()[font.family]
    monkeypatch.setenv("GEOPLAN_CJK_FONT", str(file))
    assert find_cjk_font().path == file
    (pdf,) = res.sheets(tmp_path, sites=[picked["point"]])
    reader = _pdf().PdfReader(pdf)
    names = [str(f["/BaseFont"]) for page in reader.pages for f in _fonts(page)]
    assert any("geoplan-cjk" in n for n in names)
    assert "李四" in "".join(pages_text(pdf))


def test_no_cjk_font_names_the_package_and_the_variable(monkeypatch, tmp_path: Path) -> None:
    import geoplan.report.sheets as sheets

    monkeypatch.setenv("GEOPLAN_CJK_FONT", str(tmp_path / "missing.otf"))
    with pytest.raises(sheets.SheetsError, match=r"GEOPLAN_CJK_FONT=.*missing\.otf.*fonts-noto-cjk"):
        sheets.find_cjk_font()
    monkeypatch.delenv("GEOPLAN_CJK_FONT")
    monkeypatch.setattr(sheets, "_fc_families", dict)
    monkeypatch.setattr(sheets, "_FONT_DIRS", (tmp_path,))
    with pytest.raises(sheets.SheetsError, match="apt-get install fonts-noto-cjk") as err:
        sheets.find_cjk_font()
    assert "GEOPLAN_CJK_FONT" in str(err.value)


def test_cli_sheets(batch, picked, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["sheets", str(batch), "-w", str(SAMPLE), "--id-field",
                                  "house_id", "--out", str(out), "--sites",
                                  f"{picked['point']},{picked['poly']}", "--combined"])
    assert r.exit_code == 0, r.output
    assert (out / "sheets.pdf").exists()
    assert "sheets.pdf" in r.output
    pages = pages_text(out / "sheets.pdf")
    assert f"选址site{picked['point']}" in pages[0]
    assert f"选址site{picked['poly']}" in pages[-1]
    r = CliRunner().invoke(main, ["sheets", str(batch), "-w", str(SAMPLE), "--id-field",
                                  "house_id", "--out", str(out), "--sites", "H9999"])
    assert r.exit_code == 2
    assert "H9999" in r.output


def test_a_suggested_move_is_on_the_sheet(batch, picked, tmp_path: Path) -> None:
    res = geoplan.check(batch, SAMPLE, id_field="house_id", footprint_m=12)
    moves = geoplan.suggest(res, footprint_m=12)
    t = moves.table.set_index("site_id")
    sid = picked["poly"]
    (pdf,) = res.sheets(tmp_path / "with", sites=[sid], suggestions=moves)
    text = "".join(pages_text(pdf))
    assert flat(f"选址建议：{t.loc[sid, 'message_zh']}") in text
    assert flat(f"Suggestion: {t.loc[sid, 'message_en']}") in text
    if t.loc[sid, "status"] == "moved":
        assert "建议选址" in text                      # the suggested footprint in the legend
    (plain,) = res.sheets(tmp_path / "without", sites=[sid])
    assert "选址建议" not in "".join(pages_text(plain))
