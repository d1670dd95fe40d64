"""``verdicts.xlsx``: the verdicts of a check as an Excel workbook for reviewers.

:meth:`geoplan.Result.to_files` writes it next to ``verdicts.csv`` (and so does
``geoplan check -o``); :func:`write_verdicts_xlsx` is the writer. The workbook
holds:

- ``汇总 Summary`` — the rules not checked first, then the run (rule pack,
  workspace, sites, time), what the findings sheet holds, and the counts by
  verdict, by township and by rule with its clause;
- one sheet per township with the verdicts of its sites, in input order
  (sites without a township in ``无乡镇 no township``); the rows of all these
  sheets together are the rows of ``verdicts.csv``;
- ``全部核查 findings`` with every finding when they fit in one sheet, else
  ``非通过 findings`` with the findings that are not ``pass`` (the summary says
  which; all of them are in ``findings.csv``), with a column ``measure_mu``
  (亩) beside ``measure`` where the unit is m².

Every data sheet has a frozen bilingual header row (``结论 verdict``: the
Chinese name and then the column's name in the CSV, or the CSV name alone for
an input attribute), an autofilter, column widths fitted to the text, and the
verdict or status cells coloured as on the map (:data:`geoplan.core.STATUS_COLOURS`).

Text from data is written as text, never as a formula: openpyxl would write a
``str`` that begins with ``=`` as a formula (and ``#N/A`` as an error), so such
cells are written with the string type, and those a spreadsheet would run
(:func:`geoplan.csvsafe.neutralise_cell`) are also marked with Excel's quote
prefix, the mark a typed ``'`` leaves — the value stays exactly the data's
text, and editing the cell keeps it text. Where ``verdicts.csv`` holds
``'=HYPERLINK(…)``, the workbook holds ``=HYPERLINK(…)`` as quoted text.

Nothing is dropped silently: a sheet longer than Excel's 1 048 576 rows is
split into ``name (1)``, ``name (2)``…; a text longer than Excel's 32 767
characters per cell is cut with a note saying so in the cell; characters XML
cannot carry (control characters) become ``\ufffd``; the summary counts both.

The chunked engine (``engine="chunked"`` with ``out=``) writes no workbook:
the township sheets and the findings sheet need every row at once, which that
engine does not keep.

Examples
--------
>>> excel_header("verdict"), excel_header("floors")
('结论 verdict', 'floors')
>>> taken: set[str] = set()
>>> sheet_name("伊宁市/巴彦岱镇: [北]", taken), sheet_name("伊宁市_巴彦岱镇_ __北_", taken)
('伊宁市_巴彦岱镇_ _北_', '伊宁市_巴彦岱镇_ __北_')
>>> sheet_name("x" * 40, taken), sheet_name("X" * 40, taken)
('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXX~2')
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
import unicodedata
from collections.abc import Iterator, Mapping
from copy import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .core import MU_PER_M2, STATUS_COLOURS, STATUS_LABELS, STATUSES
from .csvsafe import neutralise_cell

__all__ = [
    "COLUMN_LABELS_ZH",
    "EXCEL_MAX_CELL_CHARS",
    "EXCEL_MAX_ROWS",
    "FINDINGS_ALL",
    "FINDINGS_NON_PASS",
    "NO_TOWNSHIP",
    "SUMMARY_SHEET",
    "WorkbookInfo",
    "excel_header",
    "findings_with_mu",
    "sheet_name",
    "write_verdicts_xlsx",
]

EXCEL_MAX_ROWS = 1_048_576
"""Rows in an Excel sheet, the header row included."""

EXCEL_MAX_CELL_CHARS = 32_767
"""Characters Excel keeps in one cell."""

SUMMARY_SHEET = "汇总 Summary"
NO_TOWNSHIP = "无乡镇 no township"
FINDINGS_ALL = "全部核查 findings"
FINDINGS_NON_PASS = "非通过 findings"

COLUMN_LABELS_ZH: dict[str, str] = {
    "site_id": "选址编号",
    "verdict": "结论",
    "n_fail": "不通过数",
    "n_warn": "警示数",
    "n_error": "错误数",
    "n_not_checked": "未核查数",
    "reasons": "原因规则",
    "reasons_zh": "原因（中文）",
    "reasons_en": "原因（英文）",
    "not_checked": "未核查规则",
    "notes": "备注",
    "applicant": "申请人",
    "village": "村庄",
    "township": "乡镇",
    "house_id": "农房编号",
    "road_id": "道路编号",
    "project_id": "项目编号",
    "wkt": "几何",
    "rule_id": "规则",
    "clause": "条款",
    "severity": "级别",
    "status": "状态",
    "measure": "测量值",
    "measure_mu": "测量值（亩）",
    "unit": "单位",
    "threshold": "阈值",
    "matched": "涉及要素",
    "message_zh": "说明（中文）",
    "message_en": "说明（英文）",
    "decision": "审批决定",
    "decisions": "审批决定",
    "decided_verdict": "采纳决定后的结论",
}
"""Chinese names of the columns of ``verdicts.csv`` and ``findings.csv``."""

_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_ILLEGAL_XML = re.compile(r"[\000-\010\013\014\016-\037]")  # as openpyxl's ILLEGAL_CHARACTERS_RE
_EXCEL_ERRORS = frozenset(("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"))
_WIDTH_SAMPLE = 300  # rows looked at to fit a column's width
_CUT_NOTE = " …[截断 cut: {n} characters in all; the full text is in the CSV / GeoPackage]"


def excel_header(column: object) -> str:
    """The bilingual header of a column: ``"结论 verdict"``, or the CSV name alone.

    Parameters
    ----------
    column
        The column's name in ``verdicts.csv`` or ``findings.csv``.

    Returns
    -------
    str
        ``"<Chinese name> <column>"`` for the columns geoplan writes, the
        column's name for the input's own attributes.
    """
    zh = COLUMN_LABELS_ZH.get(str(column))
    return f"{zh} {column}" if zh else str(column)


def sheet_name(text: object, taken: set[str], suffix: str = "") -> str:
    r"""A valid, unused Excel sheet name made from ``text`` (and recorded in ``taken``).

    ``[ ] : * ? / \`` become ``_``, quotes and spaces at the ends are dropped,
    the name is cut to 31 characters (``suffix`` kept) and made unique,
    ignoring case as Excel does, with ``~2``, ``~3``….

    Parameters
    ----------
    text
        The wanted name (a township, …).
    taken
        The names already used, case-folded; the new one is added.
    suffix
        Kept at the end whatever is cut (`` (2)`` for the parts of a split sheet).

    Returns
    -------
    str
    """
    base = _ILLEGAL_XML.sub("", _BAD_SHEET_CHARS.sub("_", str(text))).strip().strip("'")
    if not base or base.casefold() == "history":  # "History" is reserved by Excel
        base = f"{base}_"
    n = 1
    while True:
        tag = suffix + (f"~{n}" if n > 1 else "")
        name = base[: 31 - len(tag)].rstrip() + tag
        if name.endswith("'"):
            name = name[:-1] + "_"
        if name.casefold() not in taken:
            taken.add(name.casefold())
            return name
        n += 1


def findings_with_mu(findings: pd.DataFrame) -> pd.DataFrame:
    """The findings with ``measure_mu`` (亩, for a measure in m²) after ``measure``.

    Parameters
    ----------
    findings
        As on :class:`geoplan.Result` or in ``findings.csv``.

    Returns
    -------
    pandas.DataFrame
        A copy; ``measure_mu`` is empty (NaN) where the unit is not ``m2``.

    Examples
    --------
    >>> f = pd.DataFrame({"measure": [666.67, 12.0], "unit": ["m2", "m"]})
    >>> findings_with_mu(f)["measure_mu"].round(3).tolist()
    [1.0, nan]
    """
    out = findings.copy()
    if "measure" not in out.columns:
        return out
    measure = pd.to_numeric(out["measure"], errors="coerce").astype(float)
    unit = out["unit"] if "unit" in out.columns else pd.Series("", index=out.index)
    mu = measure.where(unit.astype(str).eq("m2")) * MU_PER_M2
    out.insert(list(out.columns).index("measure") + 1, "measure_mu", mu)
    return out


@dataclass
class WorkbookInfo:
    """What :func:`write_verdicts_xlsx` wrote.

    Attributes
    ----------
    path : Path
        The workbook.
    sheets : list of str
        Its sheets, in order.
    township_sheets : dict
        Each township (``None`` for sites without one) → its sheet names.
    findings_scope : {'all', 'non_pass'}
        Whether the findings sheets hold every finding or those not ``pass``.
    findings_rows : int
        Rows written to the findings sheets.
    cut_cells, replaced_cells : int
        Cells cut at Excel's 32 767 characters; cells in which characters XML
        cannot carry were replaced by ``\ufffd``.
    """

    path: Path
    sheets: list[str] = field(default_factory=list)
    township_sheets: dict[str | None, list[str]] = field(default_factory=dict)
    findings_scope: Literal["all", "non_pass"] = "all"
    findings_rows: int = 0
    cut_cells: int = 0
    replaced_cells: int = 0


class _Writer:
    """Cells made safe for one workbook: text as text, styles made once."""

    def __init__(self, wb: Any, info: WorkbookInfo) -> None:
        from openpyxl.styles import Font, PatternFill

        self.wb = wb
        self.info = info
        self.header_font = Font(bold=True)
        self.header_fill = PatternFill("solid", fgColor="E8E8E8")
        self.title_font = Font(bold=True, size=13)
        self.status_fill = {s: PatternFill("solid", fgColor=c.lstrip("#").upper())
                            for s, c in STATUS_COLOURS.items()}
        self.status_font = {s: Font(bold=True, color="000000" if s == "warn" else "FFFFFF")
                            for s in STATUS_COLOURS}
        self._styles: dict[tuple[str, bool], Any] = {}  # (style, quoted) → a cell's style array

    def _styled(self, ws: Any, kind: str, quoted: bool) -> Any:
        """A new cell with the style ``kind`` (copied: setting fills and fonts is slow)."""
        from openpyxl.cell import WriteOnlyCell

        key = (kind, quoted)
        if key not in self._styles:
            c = WriteOnlyCell(ws)
            if kind == "header":
                c.font, c.fill = self.header_font, self.header_fill
            elif kind in self.status_fill:
                c.fill, c.font = self.status_fill[kind], self.status_font[kind]
            elif kind == "title":
                c.font = self.title_font
            if quoted:
                c.quotePrefix = True  # Excel's own mark of a typed '
            self._styles[key] = c._style
        c = WriteOnlyCell(ws)
        c._style = copy(self._styles[key])
        return c

    # -------------------------------------------------------------- values

    def plain(self, value: Any) -> Any:
        """A value openpyxl writes as is: None, bool, int, float, datetime or str."""
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, np.bool_):
            return bool(value)
        if isinstance(value, int | np.integer):
            v = int(value)
            return v if abs(v) <= 2 ** 53 else self.text(str(v))  # Excel keeps 15 digits
        if isinstance(value, float | np.floating):
            f = float(value)
            if math.isnan(f):
                return None
            return f if math.isfinite(f) else self.text(str(f))
        if isinstance(value, _dt.datetime | _dt.date):
            if pd.isna(value):  # NaT
                return None
            if isinstance(value, _dt.datetime) and value.tzinfo is not None:
                return self.text(value.isoformat())  # Excel has no time zones
            return value
        try:
            if pd.isna(value):
                return None
        except (TypeError, ValueError):
            pass
        return self.text(str(value))

    def text(self, s: str) -> str:
        clean = _ILLEGAL_XML.sub("\ufffd", s)
        if clean != s:
            self.info.replaced_cells += 1
        if len(clean) > EXCEL_MAX_CELL_CHARS:
            self.info.cut_cells += 1
            note = _CUT_NOTE.format(n=len(clean))
            clean = clean[: EXCEL_MAX_CELL_CHARS - len(note)] + note
        return clean

    def cell(self, ws: Any, value: Any, *, status: str | None = None, bold: bool = False,
             header: bool = False) -> Any:
        """``value`` as a cell of ``ws``: text stays text; styles where asked."""
        v = self.plain(value)
        quoted = isinstance(v, str) and neutralise_cell(v) != v
        risky = quoted or (isinstance(v, str) and (v.startswith("=") or v in _EXCEL_ERRORS))
        kind = ("header" if header else status if status in self.status_fill
                else "title" if bold else "")
        if not (risky or kind):
            return v
        c = self._styled(ws, kind, quoted)
        c.value = v
        if isinstance(v, str):
            c.data_type = "s"  # never a formula, never an error value
        return c

    # -------------------------------------------------------------- sheets

    def table_sheet(self, name: str, frame: pd.DataFrame, *, colour: tuple[str, ...]) -> None:
        """One sheet: a frozen bilingual header, the rows, an autofilter, fitted widths."""
        from openpyxl.utils import get_column_letter

        ws = self.wb.create_sheet(name)
        self.info.sheets.append(name)
        headers = [excel_header(c) for c in frame.columns]
        for i, (head, col) in enumerate(zip(headers, range(frame.shape[1]), strict=True), 1):
            ws.column_dimensions[get_column_letter(i)].width = _fit(
                head, frame.iloc[:_WIDTH_SAMPLE, col])
        ws.freeze_panes = "A2"
        ws.append([self.cell(ws, h, header=True) for h in headers])
        at = [i for i, c in enumerate(frame.columns) if c in colour]
        for row in frame.astype(object).itertuples(index=False, name=None):
            cells = [self.cell(ws, v) for v in row]
            for i in at:
                cells[i] = self.cell(ws, row[i], status=str(row[i]))
            ws.append(cells)
        ws.auto_filter.ref = f"A1:{get_column_letter(max(frame.shape[1], 1))}{len(frame) + 1}"


def _fit(header: str, values: pd.Series) -> float:
    """A column width for the header and the first values (CJK characters count twice)."""
    def width(s: object) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(s)[:80])

    longest = max((width(v) for v in values if v is not None and not _isna(v)), default=0)
    return float(min(max(longest, min(width(header), 30), 6) + 2, 60))


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _parts(frame: pd.DataFrame, rows_per_sheet: int) -> Iterator[pd.DataFrame]:
    for start in range(0, max(len(frame), 1), rows_per_sheet):
        yield frame.iloc[start:start + rows_per_sheet]


def _split_sheets(w: _Writer, base: str, frame: pd.DataFrame, taken: set[str],
                  rows_per_sheet: int, *, colour: tuple[str, ...]) -> list[str]:
    """``frame`` on one sheet, or on ``base (1)``, ``base (2)``… when it is too long."""
    parts = list(_parts(frame, rows_per_sheet))
    names = []
    for k, part in enumerate(parts, 1):
        name = sheet_name(base, taken, f" ({k})" if len(parts) > 1 else "")
        w.table_sheet(name, part, colour=colour)
        names.append(name)
    return names


def write_verdicts_xlsx(path: str | os.PathLike[str], verdicts: pd.DataFrame,
                        findings: pd.DataFrame, summary: Mapping[str, Any], *,
                        rules: pd.DataFrame | None = None,
                        max_rows: int = EXCEL_MAX_ROWS) -> WorkbookInfo:
    """Write ``verdicts.xlsx``: a summary sheet, a sheet per township, the findings.

    Parameters
    ----------
    path
        The workbook to write (replaced if it exists).
    verdicts
        The table of ``verdicts.csv`` (:func:`geoplan.runners.files.verdict_table`).
    findings
        The findings (all of them: the sheet holds them all, or those not
        ``pass`` when all do not fit).
    summary
        The check's ``summary.json`` content: the rule pack, workspace, time
        and the rules not checked are shown from it.
    rules
        Per rule: ``rule_id, clause, title_zh, title_en`` and the count of each
        status (:meth:`geoplan.Result.by_rule`); default: counted from the findings.
    max_rows
        Rows of a sheet, the header included: Excel's limit (smaller only to test
        the splitting).

    Returns
    -------
    WorkbookInfo
        The sheets written and what the findings sheet holds.

    Examples
    --------
    >>> import tempfile
    >>> v = pd.DataFrame({"site_id": ["H1", "H2"], "verdict": ["fail", "pass"],
    ...                   "township": ["巴彦岱镇", None], "village": ['=HYPERLINK("x")', "前庄村"]})
    >>> f = pd.DataFrame({"site_id": ["H1", "H2"], "rule_id": ["house.flood_zone"] * 2,
    ...                   "clause": ["(十一)"] * 2, "status": ["fail", "pass"],
    ...                   "measure": [120.0, None], "unit": ["m2", "m2"]})
    >>> out = Path(tempfile.mkdtemp()) / "verdicts.xlsx"
    >>> write_verdicts_xlsx(out, v, f, {"rule_pack": {"name": "p", "version": "1"}}).sheets
    ['汇总 Summary', '巴彦岱镇', '无乡镇 no township', '全部核查 findings']
    """
    from openpyxl import Workbook

    path = Path(path)
    info = WorkbookInfo(path=path)
    wb = Workbook(write_only=True)
    w = _Writer(wb, info)
    taken = {SUMMARY_SHEET.casefold()}
    summary_ws = wb.create_sheet(SUMMARY_SHEET)  # first; filled last, when all is known
    info.sheets.append(SUMMARY_SHEET)
    per_sheet = max(max_rows - 1, 1)

    # one sheet per township, in the order townships first appear
    towns = [None if _isna(t) or not str(t).strip() else str(t)
             for t in verdicts.get("township", pd.Series([None] * len(verdicts)))]
    key = pd.Series(towns, index=verdicts.index, dtype=object)
    order = list(dict.fromkeys(towns))
    for town in [t for t in order if t is not None] + ([None] if None in order else []):
        rows = verdicts[(key.isna() if town is None else key.eq(town)).to_numpy()]
        info.township_sheets[town] = _split_sheets(
            w, NO_TOWNSHIP if town is None else town, rows, taken, per_sheet,
            colour=("verdict", "decided_verdict"))

    # the findings: all when they fit in one sheet, else those not pass
    shown = findings_with_mu(findings)
    if len(shown) > per_sheet and "status" in shown.columns:
        info.findings_scope = "non_pass"
        shown = shown[shown["status"].astype(str).ne("pass").to_numpy()]
    info.findings_rows = len(shown)
    base = FINDINGS_ALL if info.findings_scope == "all" else FINDINGS_NON_PASS
    _split_sheets(w, base, shown, taken, per_sheet, colour=("status",))

    _summary_sheet(w, summary_ws, verdicts, key, findings, summary, rules, per_sheet)
    wb.save(path)
    return info


def _summary_sheet(w: _Writer, ws: Any, verdicts: pd.DataFrame, township: pd.Series,
                   findings: pd.DataFrame, summary: Mapping[str, Any],
                   rules: pd.DataFrame | None, per_sheet: int) -> None:
    """The ``汇总 Summary`` sheet: warnings first, the run, the counts."""
    info = w.info
    for col, width in zip("ABCDEFGHI", (30, 44, 30, 40, 12, 12, 12, 14, 12), strict=True):
        ws.column_dimensions[col].width = width

    def row(*values: Any, status: str | None = None) -> None:
        ws.append([w.cell(ws, v, status=status if i == 0 else None) for i, v in enumerate(values)])

    def head(*values: str) -> None:
        ws.append([w.cell(ws, v, header=True) for v in values])

    ws.append([w.cell(ws, "geoplan 核查结果汇总 check summary", bold=True)])
    _summary_notes(row, summary, len(findings), info, per_sheet)

    labels = [f"{STATUS_LABELS[s][0]} {s}" for s in STATUSES]
    verdict = verdicts["verdict"].astype(str) if "verdict" in verdicts.columns else pd.Series(
        [], dtype=str)
    head("按结论 by verdict", "选址数 sites")
    for s, label in zip(STATUSES, labels, strict=True):
        ws.append([w.cell(ws, label, status=s), int(verdict.eq(s).sum())])
    ws.append(["合计 total", len(verdicts)])
    row()

    head("按乡镇 by township", "工作表 sheet", "选址数 sites", *labels)
    for town, sheets in info.township_sheets.items():
        mask = (township.isna() if town is None else township.eq(town)).to_numpy()
        counts = verdict[mask].value_counts()
        row(NO_TOWNSHIP if town is None else town, ", ".join(sheets), int(mask.sum()),
            *(int(counts.get(s, 0)) for s in STATUSES))
    row()

    table = _rule_table(findings, rules)
    head("按规则 by rule", "条款 clause", "规则名称 title_zh", "title_en", *labels)
    for r in table.to_dict("records"):
        row(r["rule_id"], r["clause"], r["title_zh"], r["title_en"],
            *(0 if _isna(r[s]) else int(r[s]) for s in STATUSES))


def _summary_notes(row: Any, summary: Mapping[str, Any], n_all: int, info: WorkbookInfo,
                   per_sheet: int) -> None:
    """The first rows of the summary: the rules not checked, the run, what the sheets hold."""
    for r in summary.get("rules_not_checked") or []:  # a rule not checked: first, always
        row("未核查的规则 RULE NOT CHECKED", r.get("rule_id"), r.get("reason"))
    if summary.get("unverified_rules"):
        row("未核实的阈值 unverified thresholds", ", ".join(map(str, summary["unverified_rules"])))
    for a in summary.get("layers_absent") or []:
        row("确认缺失的图层 layer confirmed absent",
            *(a.values() if isinstance(a, Mapping) else [a]))
    row()
    pack = summary.get("rule_pack") or {}
    for label, value in (
            ("规则包 rule pack", " ".join(str(pack.get(k, "")) for k in ("name", "version")).strip()),
            ("规则包文件 pack file", pack.get("path")),
            ("工作空间 workspace", summary.get("workspace")),
            ("选址文件 sites", summary.get("sites_source")),
            ("核查对象 subject", summary.get("subject")),
            ("核查时间 run time", summary.get("started_local") or summary.get("started_utc")),
            ("工作坐标系 working CRS", summary.get("working_crs")),
            ("geoplan 版本 version", summary.get("geoplan_version"))):
        if value not in (None, ""):
            row(label, value)
    row()
    if info.findings_scope == "all":
        what = f"全部 {n_all} 条核查结果 all {n_all} findings"
    else:
        what = (f"仅 {info.findings_rows} 条非通过结果 only the {info.findings_rows} findings that "
                f"are not pass: all {n_all} do not fit Excel's {per_sheet:,} rows per sheet; "
                "every finding is in findings.csv")
    row("核查明细表 findings sheet", what)
    row("列名 column headers", "中文名 + verdicts.csv / findings.csv 的列名 Chinese name, then "
        "the column's name in verdicts.csv / findings.csv (an input attribute: its name alone)")
    row("面积 area", f"measure_mu = measure × {MU_PER_M2} (亩 per m²) where the unit is m2")
    row("文本 text", "数据中的文本按文本写入，不作公式 text from data is written as text, never "
        "as a formula; text that begins with = + - @ carries Excel's quote prefix (as a typed ')")
    if any(len(s) > 1 for s in info.township_sheets.values()) or info.findings_rows > per_sheet:
        row("分表 split sheets", f"a table longer than {per_sheet:,} rows is continued on "
            "sheets named (1), (2)…")
    if info.cut_cells:
        row("截断 cut cells", f"{info.cut_cells} cells longer than {EXCEL_MAX_CELL_CHARS:,} "
            "characters were cut (the note in the cell says so; the CSV has the full text)")
    if info.replaced_cells:
        row("替换字符 replaced characters", f"{info.replaced_cells} cells held control "
            "characters an xlsx file cannot carry, shown as \ufffd (the CSV has them)")
    row()


def _rule_table(findings: pd.DataFrame, rules: pd.DataFrame | None) -> pd.DataFrame:
    """Per rule: id, clause, titles and the count of each status."""
    cols = ["rule_id", "clause", "title_zh", "title_en", *STATUSES]
    if rules is not None:
        return rules.reindex(columns=cols)
    if findings.empty or "rule_id" not in findings.columns:
        return pd.DataFrame(columns=cols)
    counts = (findings.groupby(["rule_id", "status"], sort=False).size().unstack(fill_value=0)
              .reindex(columns=list(STATUSES), fill_value=0))
    clause = findings.groupby("rule_id", sort=False)["clause"].first() \
        if "clause" in findings.columns else pd.Series(dtype=str)
    out = counts.join(clause.rename("clause")).reset_index()
    return out.reindex(columns=cols)
