"""verdicts.xlsx (issue 14, part 6): the workbook read back equals the CSVs; text never
becomes a formula; sheet names valid; nothing dropped at Excel's limits.

Column mapping between the workbook and the CSVs: a header is ``"<Chinese name>
<CSV column>"`` for geoplan's columns and the CSV column alone for the input's
attributes (:func:`geoplan.excel.excel_header`); the findings sheet adds
``measure_mu`` after ``measure``. Text a spreadsheet would run is held in the
CSV with a leading ``'`` and in the workbook as the raw text marked with Excel's
quote prefix, so workbook values compare to CSV values through ``neutralise_cell``.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE, X0, Y0, gk
from openpyxl import load_workbook
from shapely import Point, box

import geoplan
from geoplan.core import MU_PER_M2, STATUS_COLOURS
from geoplan.csvsafe import neutralise_cell
from geoplan.excel import (
    FINDINGS_ALL,
    FINDINGS_NON_PASS,
    NO_TOWNSHIP,
    SUMMARY_SHEET,
    excel_header,
    sheet_name,
    write_verdicts_xlsx,
)

HYPERLINK = '=HYPERLINK("http://x")'


def _to_csv_names(frame: pd.DataFrame, csv_columns: list[str]) -> pd.DataFrame:
    """Rename the workbook's bilingual headers to the CSV's column names (each must map)."""
    by_header = {excel_header(c): c for c in csv_columns}
    missing = [h for h in frame.columns if h not in by_header and h != excel_header("measure_mu")]
    assert not missing, f"headers with no CSV column: {missing}"
    return frame.rename(columns={**by_header, excel_header("measure_mu"): "measure_mu"})


def _neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.map(neutralise_cell)


@pytest.fixture(scope="module")
def sample_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("xlsx") / "out"
    res = geoplan.check(SAMPLE / "batches" / "proposed_houses.gpkg", SAMPLE)
    res.to_files(out, map_html=False, report_html=False, gpkg=False)
    return out


def test_the_workbook_equals_verdicts_csv(sample_out: Path) -> None:
    csv = pd.read_csv(sample_out / "verdicts.csv", encoding="utf-8-sig")
    sheets = pd.read_excel(sample_out / "verdicts.xlsx", sheet_name=None, engine="openpyxl")
    names = list(sheets)
    assert names[0] == SUMMARY_SHEET
    assert names[-1] == FINDINGS_ALL
    towns = names[1:-1]
    assert set(towns) == set(csv["township"].dropna().astype(str))  # one sheet per township
    parts = [sheets[t] for t in towns]
    for t, part in zip(towns, parts, strict=True):
        assert (part[excel_header("township")] == t).all()
    got = _to_csv_names(pd.concat(parts, ignore_index=True), list(csv.columns))
    assert list(got.columns) == list(csv.columns)  # same columns, same order
    assert len(got) == len(csv) == 300  # concatenated township sheets: every row, once
    got = got.set_index("site_id").loc[csv["site_id"]].reset_index()
    pd.testing.assert_frame_equal(_neutralised(got), csv, check_dtype=False)
    assert "前庄村" in set(got["village"])  # Chinese text intact


def test_the_findings_sheet_equals_findings_csv_with_mu(sample_out: Path) -> None:
    csv = pd.read_csv(sample_out / "findings.csv", encoding="utf-8-sig")
    sheet = pd.read_excel(sample_out / "verdicts.xlsx", sheet_name=FINDINGS_ALL,
                          engine="openpyxl")
    got = _to_csv_names(sheet, list(csv.columns))
    mu = got.pop("measure_mu")
    pd.testing.assert_frame_equal(_neutralised(got), csv, check_dtype=False)
    area = csv["unit"].eq("m2") & csv["measure"].notna()
    assert area.any()
    np.testing.assert_allclose(mu[area], csv.loc[area, "measure"] * MU_PER_M2)
    assert mu[~area].isna().all()


def test_summary_sheet_counts_and_run(sample_out: Path) -> None:
    wb = load_workbook(sample_out / "verdicts.xlsx", read_only=True)
    rows = [[v for v in r if v is not None] for r in wb[SUMMARY_SHEET].iter_rows(values_only=True)]
    flat = {r[0]: r[1:] for r in rows if r}
    csv = pd.read_csv(sample_out / "verdicts.csv", encoding="utf-8-sig")
    assert flat["不通过 fail"] == [int((csv["verdict"] == "fail").sum())]
    assert flat["合计 total"] == [300]
    assert flat["规则包 rule pack"] == ["yining-2025 2025.1"]
    assert str(SAMPLE) in flat["工作空间 workspace"][0]
    assert flat["核查时间 run time"][0].startswith("20")
    n_findings = len(pd.read_csv(sample_out / "findings.csv", encoding="utf-8-sig"))
    assert flat["核查明细表 findings sheet"][0].startswith(f"全部 {n_findings} 条")
    by_town = csv.groupby("township").size()
    for town, n in by_town.items():
        assert flat[town][:2] == [town, n]
    flood = (pd.read_csv(sample_out / "findings.csv", encoding="utf-8-sig")
             .query("rule_id == 'house.flood_zone'")["status"].value_counts())
    assert flat["house.flood_zone"][:2] == ["(十一)", "新建农房应避让洪水淹没区"]
    assert flat["house.flood_zone"][3] == flood["fail"]


def test_header_frozen_filtered_and_verdicts_coloured(sample_out: Path) -> None:
    wb = load_workbook(sample_out / "verdicts.xlsx")
    for ws in wb.worksheets[1:]:
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{ws.max_row}"
        assert ws["A1"].font.b
        assert all(ws.column_dimensions[c].width >= 6 for c in "ABC")
    ws = wb.worksheets[1]
    col = [c.value for c in ws[1]].index("结论 verdict") + 1
    seen = set()
    for r in range(2, ws.max_row + 1):
        cell = ws.cell(r, col)
        assert cell.fill.fgColor.rgb[-6:] == STATUS_COLOURS[cell.value].lstrip("#").upper()
        seen.add(cell.value)
    assert {"fail", "pass"} <= seen


# --------------------------------------------------------------------------- text stays text


@pytest.fixture
def evil_result(small_workspace: Path):
    sites = gk([box(X0 + 10, Y0 - 8, X0 + 20, Y0 + 2), Point(X0 + 1500, Y0 + 1500),
                Point(X0 + 1600, Y0 + 1500), Point(X0 + 1700, Y0 + 1500)],
               house_id=["H1", "H2", "H3", "H4"],
               village=[HYPERLINK, "前庄村", "@SUM(1)", "-2+3"],
               township=["a/b:c*?[x]\\y", "#N/A", None, "伊宁市巴彦岱镇" * 6],
               owner=["+1+cmd", "张三", "x\x01y", "-1.5"])
    return geoplan.check(sites, small_workspace, id_field="house_id")


def test_formulas_are_written_as_text(evil_result, tmp_path: Path) -> None:
    out = tmp_path / "out"
    evil_result.to_files(out, map_html=False, report_html=False, gpkg=False)
    wb = load_workbook(out / "verdicts.xlsx")
    cells = {c.value: c for ws in wb.worksheets for row in ws.iter_rows() for c in row
             if isinstance(c.value, str)}
    for text in (HYPERLINK, "@SUM(1)", "-2+3", "+1+cmd"):
        assert cells[text].data_type == "s", text
        assert cells[text].quotePrefix, text  # Excel's own mark of a typed '
    assert cells["#N/A"].data_type == "s"  # not an error value
    assert cells["前庄村"].data_type == "s"
    assert not cells["前庄村"].quotePrefix
    assert cells["张三"].value == "张三"
    assert "-1.5" in cells
    assert cells["-1.5"].data_type == "s"
    assert "x\ufffdy" in cells  # a control character XML cannot carry, shown and counted
    with zipfile.ZipFile(out / "verdicts.xlsx") as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        for n in sheets:
            xml = z.read(n).decode("utf-8")
            assert not re.search(r"<f[ >]", xml), n  # no formula anywhere
            assert 't="e"' not in xml, n
    replaced = sum("\ufffd" in c.value for ws in wb.worksheets[1:] for row in ws.iter_rows()
                   for c in row if isinstance(c.value, str))
    assert replaced >= 1
    summary = [r[1] for r in wb[SUMMARY_SHEET].iter_rows(values_only=True)
               if r[0] == "替换字符 replaced characters"]
    assert summary
    assert summary[0].startswith(f"{replaced} cells")


def test_sheet_names_are_valid_and_rows_all_there(evil_result, tmp_path: Path) -> None:
    path = tmp_path / "v.xlsx"
    from geoplan.runners.files import verdict_table

    table = verdict_table(evil_result.verdicts)
    info = write_verdicts_xlsx(path, table, evil_result.findings, evil_result.summary)
    wb = load_workbook(path)
    assert wb.sheetnames == info.sheets
    folded = [s.casefold() for s in wb.sheetnames]
    assert len(set(folded)) == len(folded)
    for s in wb.sheetnames:
        assert 0 < len(s) <= 31, s
        assert not re.search(r"[\[\]:*?/\\]", s), s
        assert s[0] != "'", s
    assert NO_TOWNSHIP in wb.sheetnames
    assert "a_b_c___x__y" in wb.sheetnames
    assert "#N_A" in wb.sheetnames
    long = [s for s in wb.sheetnames if s.startswith("伊宁市巴彦岱镇")]
    assert len(long) == 1
    assert len(long[0]) == 31
    ids = [ws.cell(r, 1).value for ws in wb.worksheets[1:-1] for r in range(2, ws.max_row + 1)]
    assert sorted(ids) == ["H1", "H2", "H3", "H4"]


def test_sheet_name_rules() -> None:
    taken: set[str] = set()
    assert sheet_name("History", taken) == "History_"
    assert sheet_name("'quoted'", taken) == "quoted"
    assert sheet_name("QUOTED", taken) == "QUOTED~2"
    assert sheet_name("", taken) == "_"
    assert sheet_name("a" * 40, taken, " (12)") == "a" * 26 + " (12)"
    assert sheet_name("x" * 30 + "'abc", taken) == "x" * 30 + "_"  # cut to end in a quote


# --------------------------------------------------------------------------- limits


def _frames(n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    verdicts = pd.DataFrame({"site_id": [f"S{i}" for i in range(n)],
                             "verdict": ["fail" if i % 3 == 0 else "pass" for i in range(n)],
                             "township": ["镇A"] * (n - 2) + [None, "镇B"]})
    findings = pd.DataFrame({"site_id": np.repeat(verdicts["site_id"], 2).to_numpy(),
                             "rule_id": ["r1", "r2"] * n, "clause": ["(四)"] * (2 * n),
                             "status": ["fail" if i % 5 == 0 else "pass" for i in range(2 * n)],
                             "measure": np.arange(2 * n, dtype=float), "unit": ["m2"] * (2 * n)})
    return verdicts, findings


def test_long_tables_are_split_never_dropped(tmp_path: Path) -> None:
    verdicts, findings = _frames(12)
    path = tmp_path / "v.xlsx"
    info = write_verdicts_xlsx(path, verdicts, findings, {}, max_rows=5)
    assert info.township_sheets["镇A"] == ["镇A (1)", "镇A (2)", "镇A (3)"]
    assert info.township_sheets[None] == [NO_TOWNSHIP]
    sheets = pd.read_excel(path, sheet_name=None, engine="openpyxl")
    assert all(len(df) <= 4 for name, df in sheets.items() if name != SUMMARY_SHEET)
    towns = pd.concat([sheets[s] for ss in info.township_sheets.values() for s in ss])
    assert sorted(towns[excel_header("site_id")]) == sorted(verdicts["site_id"])
    # 24 findings do not fit: the findings that are not pass, split too, and said so
    assert info.findings_scope == "non_pass"
    non_pass = findings[findings["status"] != "pass"]
    got = pd.concat([df for name, df in sheets.items() if name.startswith(FINDINGS_NON_PASS)])
    assert len(got) == info.findings_rows == len(non_pass) == 5
    assert sorted(got[excel_header("measure")]) == sorted(non_pass["measure"])
    summary = pd.read_excel(path, sheet_name=SUMMARY_SHEET, header=None, engine="openpyxl")
    text = " ".join(str(v) for v in summary.to_numpy().ravel())
    assert "only the 5 findings that are not pass: all 24 do not fit" in text
    assert "continued on sheets named (1), (2)" in text


def test_a_cell_longer_than_excel_allows_is_cut_with_a_note(tmp_path: Path) -> None:
    verdicts, findings = _frames(3)
    verdicts["wkt"] = ["POLYGON ((" + "1 2, " * 9000 + "1 2))", "POINT (1 2)", "POINT (3 4)"]
    info = write_verdicts_xlsx(tmp_path / "v.xlsx", verdicts, findings, {})
    assert info.cut_cells == 1
    wb = load_workbook(tmp_path / "v.xlsx")
    cell = wb["镇A"]["D2"]
    assert len(cell.value) == 32_767
    assert "截断 cut: 45015 characters" in cell.value


# --------------------------------------------------------------------------- which calls write it


def test_to_files_skips_it_on_request_and_check_out_writes_the_engine_tables(
        evil_result, small_workspace: Path, tmp_path: Path) -> None:
    files = evil_result.to_files(tmp_path / "a", map_html=False, report_html=False, gpkg=False,
                                 xlsx=False)
    assert "verdicts.xlsx" not in [p.name for p in files]
    files = evil_result.to_files(tmp_path / "b", map_html=False, report_html=False, gpkg=False)
    assert [p.name for p in files][:3] == ["findings.csv", "verdicts.csv", "verdicts.xlsx"]
    assert not list((tmp_path / "b").glob(".geoplan-*"))


def test_cli_check_writes_it_unless_no_xlsx(small_workspace: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from geoplan.cli import main

    path = tmp_path / "h.gpkg"
    gk([Point(X0 + 1500, Y0 + 1500)], house_id=["H1"], township=["潘津镇"]).to_file(path)
    for flag, expected in (([], True), (["--no-xlsx"], False)):
        out = tmp_path / f"out{len(flag)}"
        r = CliRunner().invoke(main, ["check", str(path), "-w", str(small_workspace), "-o",
                                      str(out), "--offline", "-q", *flag])
        assert r.exit_code == 0, r.output
        assert (out / "verdicts.xlsx").exists() is expected
    assert load_workbook(tmp_path / "out0" / "verdicts.xlsx").sheetnames[1] == "潘津镇"
