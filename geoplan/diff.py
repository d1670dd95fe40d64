"""What changed between two checks: the sites whose verdict or findings differ.

``geoplan diff OLD_OUT NEW_OUT`` (two ``--out`` folders of ``geoplan check``),
:func:`diff_folders` and :meth:`geoplan.Result.diff` compare two runs — the
same batch checked with two rule packs, or again after the layers were
updated — and give a :class:`RunDiff`: one row per change, written as a table,
``diff.csv`` and a bilingual, self-contained ``diff.html``.

How runs are compared:

- **sites are matched by ``site_id``** (the id field of the check, else the
  row number — so re-ordered input rows match only when the batch has an id
  field). Ids must be unique in each run; a run with a repeated id is refused
  (:class:`~geoplan.errors.SiteInputError`, with the fix). A site in one run
  only is ``site_added`` or ``site_removed``;
- **findings are matched by site and ``rule_id``** and compared on ``status``
  and ``measure``: measures are equal within 1e-6 relative, and two empty
  measures (NaN) are equal. The threshold and the messages are shown, not
  compared (a wider setback changes the threshold of every finding, but only
  the sites it moves across the line are listed). A finding with a different
  status or measure is ``finding_changed``; a rule in one run only,
  ``rule_added`` or ``rule_removed``;
- a site whose verdict changed without any finding changing (a decision
  applied, for instance) is listed once as ``verdict_changed``.

Every row carries the site's old and new verdict. Text read back from the CSV
files is restored from its spreadsheet-safe form (a leading ``'`` added by
:mod:`geoplan.csvsafe` is removed) and neutralised again in ``diff.csv``.

Examples
--------
>>> old = pd.DataFrame({"site_id": ["A", "A", "B"], "rule_id": ["r1", "r2", "r1"],
...                     "status": ["pass", "pass", "fail"], "measure": [12.0, None, 3.0]})
>>> new = old.assign(status=["fail", "pass", "fail"], measure=[12.0 + 1e-9, None, 3.5])
>>> verdicts = pd.DataFrame({"site_id": ["A", "B"], "verdict": ["pass", "fail"]})
>>> d = diff_runs(Run(old, verdicts, "old"), Run(new, verdicts.assign(verdict="fail"), "new"))
>>> d.table[["site_id", "change", "rule_id", "old_status", "new_status"]].values.tolist()
[['A', 'finding_changed', 'r1', 'pass', 'fail'], ['B', 'finding_changed', 'r1', 'fail', 'fail']]
>>> d.changed_sites(), d.counts["verdicts_changed"]
(['A', 'B'], 1)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._version import __version__
from .core import STATUS_COLOURS, STATUS_LABELS
from .csvsafe import FORMULA_TRIGGERS, neutralise_cell, write_csv
from .errors import DataFileError, GeoplanError, SiteInputError
from .outputs import move_into_place, staging_folder
from .pages import esc

__all__ = [
    "CHANGE_LABELS",
    "DIFF_COLUMNS",
    "MEASURE_RTOL",
    "Run",
    "RunDiff",
    "diff_folders",
    "diff_runs",
    "measures_equal",
    "read_run",
]

MEASURE_RTOL = 1e-6
"""Two measures are equal when they differ by at most this share of the larger."""

CHANGE_LABELS: dict[str, tuple[str, str]] = {
    "site_added": ("新增选址", "site added"),
    "site_removed": ("删除选址", "site removed"),
    "finding_changed": ("结果变化", "finding changed"),
    "rule_added": ("新增规则", "rule added"),
    "rule_removed": ("删除规则", "rule removed"),
    "verdict_changed": ("结论变化", "verdict changed"),
}
"""Chinese and English label of each kind of change."""

DIFF_COLUMNS = [
    "site_id", "change", "rule_id", "clause", "old_verdict", "new_verdict", "old_status",
    "new_status", "old_measure", "new_measure", "unit", "old_threshold", "new_threshold",
    "old_message_zh", "new_message_zh", "old_message_en", "new_message_en",
]
"""The columns of :attr:`RunDiff.table` and ``diff.csv``."""

_FINDING_COLS = ["site_id", "rule_id", "clause", "status", "measure", "unit", "threshold",
                 "message_zh", "message_en"]
_HEADERS = {
    "site_id": "选址编号 site", "change": "变化 change", "rule_id": "规则 rule",
    "verdict": "结论 verdict", "status": "状态 status", "measure": "测量值 measure",
    "threshold": "阈值 threshold", "message": "说明 message",
}


@dataclass(frozen=True)
class Run:
    """One side of a comparison: the findings and verdicts of a check.

    Attributes
    ----------
    findings : pandas.DataFrame
        At least ``site_id, rule_id, status, measure``.
    verdicts : pandas.DataFrame
        At least ``site_id, verdict``.
    label : str
        How the run is named in the outputs (its folder, pack and time).
    summary : dict
        Its ``summary.json``, when known.
    """

    findings: pd.DataFrame
    verdicts: pd.DataFrame
    label: str
    summary: Mapping[str, Any] = field(default_factory=dict)


def measures_equal(a: Any, b: Any, rtol: float = MEASURE_RTOL) -> np.ndarray:
    """Element-wise, whether two columns of measures are equal (within ``rtol``; NaN == NaN).

    Parameters
    ----------
    a, b
        Numbers or columns of numbers (text that is not a number counts as NaN).
    rtol
        The largest difference allowed, as a share of the larger magnitude.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> measures_equal([1.0, float("nan"), 1.0, 0.0], [1.0 + 1e-9, float("nan"), None, 0.0])
    array([ True,  True, False,  True])
    """
    x = pd.to_numeric(pd.Series(np.asarray(a, dtype=object)), errors="coerce").to_numpy(float)
    y = pd.to_numeric(pd.Series(np.asarray(b, dtype=object)), errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore"):
        close = np.abs(x - y) <= rtol * np.maximum(np.abs(x), np.abs(y))
    return np.asarray(close | (x == y) | (np.isnan(x) & np.isnan(y)))


# ------------------------------------------------------------------ reading runs


def _restore(value: Any) -> Any:
    """Undo :func:`geoplan.csvsafe.neutralise_cell` on a cell read back from a CSV."""
    if (isinstance(value, str) and value.startswith("'")
            and value[1:].startswith(FORMULA_TRIGGERS) and neutralise_cell(value[1:]) == value):
        return value[1:]
    return value


def _read_csv(path: Path, folder: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataFileError(
            f"{folder}: no {path.name} — give the --out folder of a geoplan check run "
            f"(找不到 {path.name}：请给出 geoplan check --out 的输出文件夹)")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataFileError(f"{path}: cannot be read as a CSV of geoplan check ({exc}); "
                            "run the check again to write it") from exc
    df.columns = [_restore(c) for c in df.columns]
    for c in df.columns:
        df[c] = df[c].map(_restore)
    for c in ("measure", "threshold"):
        if c in df.columns:
            df[c] = pd.to_numeric(df[c].replace("", np.nan), errors="coerce")
    return df


def read_run(folder: str | os.PathLike[str]) -> Run:
    """Read the ``findings.csv``, ``verdicts.csv`` and ``summary.json`` of a check's folder.

    Parameters
    ----------
    folder
        The ``--out`` folder of ``geoplan check`` (or of :meth:`geoplan.Result.to_files`).

    Returns
    -------
    Run

    Raises
    ------
    DataFileError
        A file is missing or cannot be read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFileError(f"{folder}: not a folder — give the --out folder of a geoplan "
                            "check run (不是文件夹：请给出 geoplan check --out 的输出文件夹)")
    findings = _read_csv(folder / "findings.csv", folder)
    verdicts = _read_csv(folder / "verdicts.csv", folder)
    summary: dict[str, Any] = {}
    if (folder / "summary.json").is_file():
        try:
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            summary = {}
    return Run(findings, verdicts, _label(str(folder), summary), summary)


def _label(where: str, summary: Mapping[str, Any]) -> str:
    pack = summary.get("rule_pack") or {}
    bits = [" ".join(str(pack[k]) for k in ("name", "version") if pack.get(k))]
    bits.append(str(summary.get("started_local") or summary.get("started_utc") or ""))
    extra = ", ".join(b for b in bits if b)
    return f"{where} ({extra})" if where and extra else where or extra or "?"


def _as_run(obj: Any, side: str) -> Run:
    """A :class:`Run` from a Run, a folder, or a check's result."""
    if isinstance(obj, Run):
        return obj
    if isinstance(obj, str | os.PathLike):
        return read_run(obj)
    if getattr(obj, "streamed", False):
        raise GeoplanError(
            f"the {side} result was streamed to files and its rows not kept "
            "(engine='chunked' with out=): compare its folder instead, "
            "geoplan.diff.diff_folders(old_dir, new_dir) or geoplan diff OLD NEW")
    try:
        findings, verdicts = obj.findings, obj.verdicts
    except AttributeError:
        raise TypeError(f"the {side} run must be a geoplan Result, a Run or the --out folder "
                        f"of a check, not {type(obj).__name__}") from None
    summary = dict(getattr(obj, "summary", {}) or {})
    return Run(findings, pd.DataFrame(verdicts), _label("", summary), summary)


def _prepared(run: Run, side: str) -> tuple[pd.DataFrame, pd.Series]:
    """The run's findings (the compared columns) and verdicts by site id; ids checked unique."""
    for name, df, need in (("findings", run.findings, ("site_id", "rule_id", "status")),
                           ("verdicts", run.verdicts, ("site_id", "verdict"))):
        missing = [c for c in need if c not in df.columns]
        if missing:
            raise DataFileError(f"{run.label} ({side}): the {name} have no column "
                                f"{', '.join(missing)} — give the output of geoplan check")
    verdicts = run.verdicts.assign(site_id=run.verdicts["site_id"].map(str))
    dup = verdicts["site_id"][verdicts["site_id"].duplicated()].unique().tolist()
    findings = run.findings.reindex(columns=_FINDING_COLS).assign(
        site_id=run.findings["site_id"].map(str), rule_id=run.findings["rule_id"].map(str))
    if not dup:
        twice = findings.duplicated(["site_id", "rule_id"])
        dup = findings.loc[twice, "site_id"].unique().tolist()
    if dup:
        shown = ", ".join(map(str, dup[:5])) + (f" … ({len(dup)} ids)" if len(dup) > 5 else "")
        raise SiteInputError(
            f"{run.label} ({side}): site_id {shown} appears more than once; a diff matches "
            "sites by site_id, so each id must name one site — check the batch again with "
            "--id-field (id_field=) naming a field whose values are unique "
            f"(选址编号重复：{shown}；对比按 site_id 匹配选址，请用 --id-field 指定取值唯一的字段重新核查)")
    return findings, verdicts.set_index("site_id")["verdict"]


# ------------------------------------------------------------------ the comparison


def diff_runs(old: Any, new: Any) -> RunDiff:
    """Compare two checks: the sites whose verdict or findings changed, and how.

    Parameters
    ----------
    old, new
        Each a :class:`geoplan.Result`, a :class:`Run` or the ``--out`` folder
        of a check.

    Returns
    -------
    RunDiff
        One row per changed finding (and per site added, removed, or whose
        verdict alone changed); see the module's notes for the rules.

    Raises
    ------
    SiteInputError
        A site id appears twice in one run.
    DataFileError
        A folder lacks ``findings.csv`` or ``verdicts.csv``.
    """
    a, b = _as_run(old, "old"), _as_run(new, "new")
    of, ov = _prepared(a, "old")
    nf, nv = _prepared(b, "new")
    common = ov.index.intersection(nv.index)
    m = of[of["site_id"].isin(common)].merge(
        nf[nf["site_id"].isin(common)], on=["site_id", "rule_id"], how="outer",
        suffixes=("_old", "_new"), indicator=True)
    both = m["_merge"].eq("both").to_numpy()
    same = (m["status_old"].astype(str).to_numpy() == m["status_new"].astype(str).to_numpy()) \
        & measures_equal(m["measure_old"], m["measure_new"])
    change = np.select([m["_merge"].eq("left_only").to_numpy(),
                        m["_merge"].eq("right_only").to_numpy(), both & ~same],
                       ["rule_removed", "rule_added", "finding_changed"], default="")
    rows = m[change != ""].assign(change=change[change != ""])
    rows = pd.DataFrame({
        "site_id": rows["site_id"], "change": rows["change"], "rule_id": rows["rule_id"],
        "clause": rows["clause_new"].fillna(rows["clause_old"]),
        "old_status": rows["status_old"], "new_status": rows["status_new"],
        "old_measure": rows["measure_old"], "new_measure": rows["measure_new"],
        "unit": rows["unit_new"].fillna(rows["unit_old"]),
        "old_threshold": rows["threshold_old"], "new_threshold": rows["threshold_new"],
        "old_message_zh": rows["message_zh_old"], "new_message_zh": rows["message_zh_new"],
        "old_message_en": rows["message_en_old"], "new_message_en": rows["message_en_new"]})
    listed = set(rows["site_id"])
    verdict_only = [s for s in common if ov[s] != nv[s] and s not in listed]
    added = [s for s in nv.index if s not in ov.index]
    removed = [s for s in ov.index if s not in nv.index]
    sites = pd.DataFrame({
        "site_id": verdict_only + added + removed,
        "change": (["verdict_changed"] * len(verdict_only) + ["site_added"] * len(added)
                   + ["site_removed"] * len(removed))})
    table = pd.concat([sites, rows], ignore_index=True) if len(sites) else rows
    table["old_verdict"] = table["site_id"].map(ov)
    table["new_verdict"] = table["site_id"].map(nv)
    # the new run's order of sites (then the removed ones), each site's rules in run order
    site_rank = {s: i for i, s in enumerate([*nv.index, *removed])}
    rule_rank = {r: i for i, r in enumerate(dict.fromkeys([*nf["rule_id"], *of["rule_id"]]))}
    table = table.assign(
        _s=table["site_id"].map(site_rank),
        _r=table["rule_id"].map(rule_rank).fillna(-1)).sort_values(["_s", "_r"], kind="stable")
    table = table.reindex(columns=DIFF_COLUMNS).reset_index(drop=True)
    counts = {"sites_old": len(ov), "sites_new": len(nv), "sites_compared": len(common),
              "sites_changed": int(table.loc[table["change"].isin(
                  ["finding_changed", "rule_added", "rule_removed", "verdict_changed"]),
                  "site_id"].nunique()),
              "sites_added": len(added), "sites_removed": len(removed),
              "verdicts_changed": int(sum(ov[s] != nv[s] for s in common)),
              "findings_changed": int(table["change"].isin(
                  ["finding_changed", "rule_added", "rule_removed"]).sum())}
    return RunDiff(table=table, old=a.label, new=b.label, counts=counts)


def diff_folders(old_dir: str | os.PathLike[str], new_dir: str | os.PathLike[str]) -> RunDiff:
    """:func:`diff_runs` of two ``--out`` folders of ``geoplan check`` (``geoplan diff``).

    Parameters
    ----------
    old_dir, new_dir
        The folders holding each run's ``findings.csv`` and ``verdicts.csv``.

    Returns
    -------
    RunDiff
    """
    return diff_runs(read_run(old_dir), read_run(new_dir))


# ------------------------------------------------------------------ the result


def _num(v: Any) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "" if v is None else str(v)
    return "" if math.isnan(f) else f"{f:.6g}"


def _arrow(a: Any, b: Any, fmt: Any = str) -> str:
    left = "" if _isna(a) else fmt(a)
    right = "" if _isna(b) else fmt(b)
    return f"{left or '—'} → {right or '—'}"


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


@dataclass
class RunDiff:
    """The changes between two checks (from :func:`diff_runs`, :meth:`geoplan.Result.diff`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per change, columns :data:`DIFF_COLUMNS`: ``change`` is one of
        :data:`CHANGE_LABELS`; a site added, removed or changed only in its
        verdict has no ``rule_id``.
    old, new : str
        The two runs (folder, rule pack, time).
    counts : dict
        ``sites_old``, ``sites_new``, ``sites_compared``, ``sites_changed``,
        ``sites_added``, ``sites_removed``, ``verdicts_changed``,
        ``findings_changed``.
    """

    table: pd.DataFrame
    old: str
    new: str
    counts: dict[str, int]

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        c = self.counts
        return (f"<geoplan RunDiff: {c['sites_compared']} sites compared by site_id, "
                f"{c['sites_changed']} changed, {c['sites_added']} added, "
                f"{c['sites_removed']} removed; {len(self.table)} rows>")

    def changed_sites(self) -> list[str]:
        """The ids of the sites listed (changed, added or removed), in table order.

        Returns
        -------
        list of str
        """
        return list(dict.fromkeys(self.table["site_id"]))

    def brief(self) -> pd.DataFrame:
        """The table as the terminal shows it: one change per row, old → new.

        Returns
        -------
        pandas.DataFrame
            ``site_id, change, rule_id, verdict, status, measure``.
        """
        t = self.table
        return pd.DataFrame({
            "site_id": t["site_id"],
            "change": t["change"],
            "rule_id": t["rule_id"].fillna(""),
            "verdict": [_arrow(a, b) for a, b in zip(t["old_verdict"], t["new_verdict"],
                                                      strict=True)],
            "status": [_arrow(a, b) if r else "" for a, b, r in zip(
                t["old_status"], t["new_status"], t["rule_id"].notna(), strict=True)],
            "measure": [(_arrow(a, b, _num) + (f" {u}" if isinstance(u, str) and u else ""))
                        if r else "" for a, b, u, r in zip(
                t["old_measure"], t["new_measure"], t["unit"], t["rule_id"].notna(),
                strict=True)],
        })

    def headline(self) -> str:
        """One line: what was compared and how many sites changed (zh/en).

        Returns
        -------
        str
        """
        c = self.counts
        return (f"sites matched by site_id 选址按 site_id 对应: {c['sites_compared']} compared "
                f"比较, {c['sites_changed']} changed 有变化 ({c['verdicts_changed']} verdicts "
                f"结论变化), {c['sites_added']} added 新增, {c['sites_removed']} removed 删除")

    # -------------------------------------------------------------- files

    def to_html(self, *, fragment: bool = False, max_rows: int | None = None) -> str:
        """The bilingual page of the changes: self-contained, all data text escaped.

        Parameters
        ----------
        fragment
            Only the content (for a notebook), not a whole page.
        max_rows
            Show at most this many rows (and say so); default: all.

        Returns
        -------
        str
        """
        t = self.table if max_rows is None else self.table.head(max_rows)
        body = [
            "<h1>核查对比 What changed between two runs</h1>" if not fragment
            else "<b>核查对比 What changed between two runs</b>",
            "<table class='runs'>",
            f"<tr><th>旧 old</th><td>{esc(self.old)}</td></tr>",
            f"<tr><th>新 new</th><td>{esc(self.new)}</td></tr></table>",
            f"<p class='counts'>{esc(self.headline())}</p>",
            "<p class='how'>选址按 site_id 对应；核查结果按状态与测量值比较（相对误差 1e-6 以内视为"
            "相同，两个空值相同）；阈值与说明仅作展示。 Sites are matched by site_id; findings "
            "are compared on status and measure (equal within 1e-6 relative; two empty "
            "measures are equal); thresholds and messages are shown, not compared.</p>",
        ]
        if t.empty:
            body.append("<p><b>无变化 no changes</b></p>")
        else:
            body.append(_html_table(t))
            if len(t) < len(self.table):
                body.append(f"<p>{len(t)} / {len(self.table)} rows shown 仅显示部分 — "
                            "to_files() writes them all</p>")
        inner = "\n".join(body)
        if fragment:
            return f"<div class='geoplan-diff'>{_CSS_SCOPED}{inner}</div>"
        return (
            "<!DOCTYPE html>\n<html lang='zh-CN'><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' "
            "content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<meta name='generator' content='geoplan {esc(__version__)}'>"
            "<title>geoplan 核查对比 run comparison</title>"
            f"{_CSS_SCOPED}</head><body><div class='geoplan-diff'>\n{inner}\n</div></body></html>\n")

    def _repr_html_(self) -> str:
        return self.to_html(fragment=True, max_rows=200)

    def to_files(self, out_dir: str | os.PathLike[str]) -> list[Path]:
        """Write ``diff.csv`` (UTF-8 with BOM, spreadsheet-safe) and ``diff.html``, atomically.

        Parameters
        ----------
        out_dir
            The folder (created if needed).

        Returns
        -------
        list of Path
            The files written.
        """
        with staging_folder(out_dir) as tmp:
            files = [tmp / "diff.csv", tmp / "diff.html"]
            write_csv(self.table, files[0])
            files[1].write_text(self.to_html(), encoding="utf-8")
            return move_into_place(files, out_dir)


def _badge(status: Any) -> str:
    if _isna(status):
        return "<span class='none'>—</span>"
    s = str(status)
    colour = STATUS_COLOURS.get(s, "#ffffff")
    zh = STATUS_LABELS.get(s, ("", s))[0]
    fg = "#000" if s == "warn" else "#fff"
    return (f"<span class='st' style='background:{colour};color:{fg}'>{esc(zh)} "
            f"{esc(s)}</span>")


def _html_table(t: pd.DataFrame) -> str:
    heads = ["site_id", "change", "rule_id", "verdict", "status", "measure", "threshold",
             "message"]
    out = ["<table class='diff'><thead><tr>"
           + "".join(f"<th>{esc(_HEADERS[h])}</th>" for h in heads) + "</tr></thead><tbody>"]
    for r in t.to_dict("records"):
        zh, en = CHANGE_LABELS.get(str(r["change"]), ("", str(r["change"])))
        has_rule = not _isna(r["rule_id"])
        unit = "" if _isna(r["unit"]) else f" {esc(r['unit'])}"
        rule = (f"{esc(r['rule_id'])}<br><small>{esc(r['clause'])}</small>" if has_rule else "")
        msgs = ""
        if has_rule:
            msgs = "".join(
                f"<div><small>{side}</small> {esc(r[f'{k}_message_zh'])}<br>"
                f"<i>{esc(r[f'{k}_message_en'])}</i></div>"
                for k, side in (("old", "旧 old"), ("new", "新 new"))
                if not (_isna(r[f"{k}_message_zh"]) and _isna(r[f"{k}_message_en"])))
        out.append(
            f"<tr class='{esc(r['change'])}'><td>{esc(r['site_id'])}</td>"
            f"<td>{esc(zh)}<br><small>{esc(en)}</small></td><td>{rule}</td>"
            f"<td>{_badge(r['old_verdict'])} → {_badge(r['new_verdict'])}</td>"
            + (f"<td>{_badge(r['old_status'])} → {_badge(r['new_status'])}</td>"
               f"<td class='num'>{esc(_arrow(r['old_measure'], r['new_measure'], _num))}"
               f"{unit}</td>"
               f"<td class='num'>{esc(_arrow(r['old_threshold'], r['new_threshold'], _num))}"
               "</td>" if has_rule else "<td></td><td></td><td></td>")
            + f"<td class='msg'>{msgs}</td></tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


_CSS_SCOPED = """<style>
.geoplan-diff{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;
  font-size:14px;color:#222;margin:1em}
.geoplan-diff table{border-collapse:collapse;margin:.5em 0}
.geoplan-diff th,.geoplan-diff td{border:1px solid #ccc;padding:3px 6px;vertical-align:top;
  text-align:left}
.geoplan-diff thead th{background:#eee;position:sticky;top:0}
.geoplan-diff td.num{text-align:right;white-space:nowrap}
.geoplan-diff td.msg{max-width:40em}
.geoplan-diff .st{border-radius:3px;padding:0 4px;white-space:nowrap}
.geoplan-diff tr.site_added td{background:#eef8ee}
.geoplan-diff tr.site_removed td{background:#fbeeee}
.geoplan-diff small{color:#555}
</style>"""
