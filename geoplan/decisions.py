"""Decisions on findings: a lawful exemption carried from one run to the next, with its trail.

A fail can be resolved outside geoplan — an approved farmland conversion, a
forest-land permit, a waiver by the township. Such a decision is recorded in a
decisions file and passed to the next check (``geoplan check … --decisions
decisions.csv``, :meth:`geoplan.Result.apply_decisions`). Each row names a
site, a rule, the decision (``exempt`` or ``conditional``), the reason, the
document number (文号), the approver and the date.

A decision binds to what it was taken on: the site's geometry (its
fingerprint, ``site_fp``) and the rule's figures (``rule_fp``). When the site
has moved or been redrawn, or the rule's threshold has changed, the decision
is reported **stale** and not applied. Start a decisions file from a check
with ``--decisions-template`` (:meth:`geoplan.Result.decisions_template`): it
lists every failing or warning finding with both fingerprints and empty
decision columns to fill.

Nothing is hidden. Findings keep their measured status and gain a
``decision`` column; the verdicts gain ``decided_verdict`` (the verdict once
the decisions applied are counted: an exempted finding as a pass, a
conditional one as a warning) and ``decisions``; the summary lists the file's
sha256 and every decision with its state (``applied``, ``stale``,
``not_needed``); the report has a section for them.

Examples
--------
>>> site_fingerprint(shapely.Point(524000.004, 4865000.0)) == site_fingerprint(
...     shapely.Point(524000.0, 4865000.0))
True
>>> site_fingerprint(shapely.Point(524005.0, 4865000.0)) == site_fingerprint(
...     shapely.Point(524000.0, 4865000.0))
False
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from .core import STATUS_ORDER, STATUSES
from .csvsafe import write_csv
from .errors import DecisionsError

if TYPE_CHECKING:
    from .checkdata import CheckData
    from .rules import Rule

__all__ = [
    "DECISIONS",
    "Decisions",
    "DecisionsError",
    "apply_decisions",
    "decisions_template",
    "read_decisions",
    "rule_fingerprint",
    "site_fingerprint",
]

DECISIONS: dict[str, tuple[str, str]] = {
    "exempt": ("豁免", "exempt: the finding no longer counts against the site"),
    "conditional": ("有条件通过", "conditional: the finding counts as a warning"),
}
"""The decisions a row may record, with their Chinese name and meaning."""

_ALIASES = {"豁免": "exempt", "免于": "exempt", "有条件通过": "conditional", "有条件": "conditional",
            "附条件": "conditional"}

_COLUMNS: dict[str, tuple[str, ...]] = {  # canonical → accepted headers
    "site_id": ("site_id", "选址编号", "编号", "序号", "id"),
    "rule_id": ("rule_id", "规则", "规则编号", "rule"),
    "decision": ("decision", "决定", "审批决定"),
    "reason": ("reason", "理由", "原因"),
    "document": ("document", "文号", "批准文号", "document_no"),
    "approver": ("approver", "审批人", "审批单位", "批准机关"),
    "date": ("date", "日期", "审批日期"),
    "site_fp": ("site_fp", "选址指纹"),
    "rule_fp": ("rule_fp", "规则指纹"),
}
_REQUIRED = ("site_id", "rule_id", "decision", "reason", "document", "approver", "date")

PRECISION_M = 0.01
"""Coordinates are rounded to this (1 cm) before a site is fingerprinted: reading the
same file again never changes a fingerprint, a move of a few centimetres does."""


def site_fingerprint(geom: Any) -> str:
    """A short stable hash of a site's geometry in the working CRS (1 cm precision).

    Parameters
    ----------
    geom
        A shapely geometry in a metric CRS, or None.

    Returns
    -------
    str
        16 hex digits; empty for a missing or empty geometry.
    """
    return str(_fingerprints(np.array([geom], dtype=object))[0])


def _fingerprints(geoms: np.ndarray) -> np.ndarray:
    """:func:`site_fingerprint` of every geometry: the rounding and WKB in bulk."""
    out = np.full(len(geoms), "", dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if ok.any():
        wkb = shapely.to_wkb(shapely.normalize(shapely.set_precision(geoms[ok], PRECISION_M)),
                             hex=False)
        out[ok] = [hashlib.sha256(b).hexdigest()[:16] for b in wkb]
    return out


def rule_fingerprint(rule: Rule) -> str:
    """A short stable hash of what decides a rule's status: kind, layer, filter, figures.

    Titles, clauses and sources are left out: rewording a rule keeps its
    decisions; changing a threshold, a table row, the filter or the severity
    makes them stale.
    """
    payload = {"id": rule.id, "kind": rule.kind, "layer": rule.layer,
               "severity": rule.severity, "subject": rule.subject,
               "where": rule.where.text if rule.where is not None else None,
               "threshold": rule.threshold_text(),
               "figures": [f for f, _, _ in rule.figures()]}
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True)
                          .encode("utf-8")).hexdigest()[:16]


def _site_fps(result: CheckData) -> dict[str, str]:
    v = result.verdicts
    geo = v.geometry if v.geometry.crs is not None else v.geometry.set_crs(result.workspace.crs)
    geo = geo.to_crs(result.workspace.crs)
    fps = _fingerprints(np.asarray(geo.values, dtype=object))
    return dict(zip(v["site_id"].astype(str), fps, strict=True))


def decisions_template(result: CheckData, path: str | os.PathLike[str]) -> Path:
    """Write a decisions file to fill in: every fail and warn finding with both fingerprints.

    Parameters
    ----------
    result
        The check.
    path
        The CSV to write (UTF-8 with BOM; opens in Excel).

    Returns
    -------
    Path
    """
    f = result.findings
    f = f[f["status"].isin(["fail", "warn"])]
    rules = {r.id: r for r in result.pack.rules}
    fps = _site_fps(result)
    rule_fps = {rid: rule_fingerprint(r) for rid, r in rules.items()}
    out = pd.DataFrame({
        "site_id": f["site_id"].astype(str).to_numpy(),
        "rule_id": f["rule_id"].astype(str).to_numpy(),
        "rule_title_zh": [rules[r].title_zh if r in rules else "" for r in f["rule_id"]],
        "status": f["status"].to_numpy(),
        "measure": f["measure"].to_numpy(),
        "unit": f["unit"].to_numpy(),
        "message_zh": f["message_zh"].to_numpy(),
        "decision": "", "reason": "", "document": "", "approver": "", "date": "",
        "site_fp": [fps.get(str(s), "") for s in f["site_id"]],
        "rule_fp": [rule_fps.get(str(r), "") for r in f["rule_id"]],
    })
    p = Path(path)
    write_csv(out, p)
    return p


@dataclass
class Decisions:
    """A decisions file, read and checked.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per decision: the canonical columns (``site_id, rule_id,
        decision, reason, document, approver, date, site_fp, rule_fp``) and
        ``row`` (its line in the file).
    path : Path
        The file.
    sha256 : str
        Of the file's bytes.
    """

    table: pd.DataFrame
    path: Path
    sha256: str


def _read_table(p: Path) -> pd.DataFrame:
    suffix = p.suffix.lower()
    if suffix == ".toml":
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise DecisionsError(f"{p}: not valid UTF-8 TOML ({exc}); write [[decision]] "
                                 "tables") from exc
        rows = data.get("decision")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise DecisionsError(f"{p}: write each decision as a [[decision]] table with "
                                 f"{', '.join(_REQUIRED)}, site_fp and rule_fp")
        return pd.DataFrame(rows, dtype=object)
    if suffix in (".xlsx", ".xlsm"):
        return pd.read_excel(p, dtype=object)
    for enc in ("utf-8-sig", "gb18030"):  # Excel on a Chinese Windows saves CSV as GBK
        try:
            return pd.read_csv(p, dtype=object, keep_default_na=False, encoding=enc)
        except UnicodeDecodeError:
            continue
    raise DecisionsError(f"{p}: neither UTF-8 nor GBK text; save it as CSV UTF-8")


def read_decisions(path: str | os.PathLike[str]) -> Decisions:
    """Read and check a decisions file (CSV in UTF-8 or GBK, Excel, or TOML).

    Raises
    ------
    DecisionsError
        A required column missing, an empty cell in a required column, or a
        decision other than exempt / conditional (豁免 / 有条件通过); the
        message names the row and the field.
    """
    p = Path(path)
    if not p.exists():
        raise DecisionsError(f"{p}: no such decisions file; write one with geoplan check … "
                             "--decisions-template FILE")
    raw = _read_table(p)
    rename: dict[str, str] = {}
    for canon, names in _COLUMNS.items():
        for c in raw.columns:
            if str(c).strip().lower() in names and canon not in rename.values():
                rename[c] = canon
    t = raw.rename(columns=rename)
    missing = [c for c in _REQUIRED if c not in t.columns]
    if missing:
        raise DecisionsError(f"{p}: column(s) {', '.join(missing)} missing; a decisions file "
                             f"has {', '.join(_REQUIRED)}, site_fp and rule_fp (start one with "
                             "--decisions-template)")
    for c in ("site_fp", "rule_fp"):
        if c not in t.columns:
            t[c] = ""
    t = t[[*_REQUIRED, "site_fp", "rule_fp"]].copy()
    t = t.map(lambda x: "" if x is None or (isinstance(x, float) and np.isnan(x))
              else str(x).strip())
    t["row"] = np.arange(2, len(t) + 2)  # the header is line 1
    undecided = (t[["decision", "reason", "document", "approver", "date"]] == "").all(axis=1)
    t = t[~undecided]                                   # template rows left undecided
    for c in _REQUIRED:
        empty = t[c] == ""
        if empty.any():
            line = t.loc[empty, "row"].iloc[0]
            raise DecisionsError(f"{p}, row {line}: {c} is empty; every decision needs "
                                 f"{', '.join(_REQUIRED)} (or leave decision, reason, document, approver and "
                                 "date all empty: an undecided row)")
    t["decision"] = t["decision"].map(lambda d: _ALIASES.get(d, d.lower()))
    bad = ~t["decision"].isin(list(DECISIONS))
    if bad.any():
        first = t.loc[bad].iloc[0].to_dict()
        raise DecisionsError(f"{p}, row {first['row']}: decision {first['decision']!r}; use "
                             "exempt (豁免) or conditional (有条件通过)")
    dup = t.duplicated(["site_id", "rule_id"], keep=False)
    if dup.any():
        first = t.loc[dup].iloc[0].to_dict()
        raise DecisionsError(f"{p}, row {first['row']}: site {first['site_id']} and rule "
                             f"{first['rule_id']} have more than one decision; keep one")
    sha = hashlib.sha256(p.read_bytes()).hexdigest()
    return Decisions(table=t.reset_index(drop=True), path=p.resolve(), sha256=sha)


def apply_decisions(result: CheckData, decisions: Decisions) -> dict[str, Any]:
    """Bind each decision to the check's findings; annotate the result in place.

    Adds ``decision`` to the findings (empty where none applies), and
    ``decided_verdict`` and ``decisions`` to the verdicts.

    Returns
    -------
    dict
        The summary's ``decisions`` entry: the file, its sha256, counts per
        state and one row per decision with its state and why.
    """
    f = result.findings
    fps = _site_fps(result)
    rules = {r.id: r for r in result.pack.rules}
    rule_fps = {rid: rule_fingerprint(r) for rid, r in rules.items()}
    key = f["site_id"].astype(str) + "\x00" + f["rule_id"].astype(str)
    pos = pd.Series(np.arange(len(f)), index=key.to_numpy())
    pos = pos[~pos.index.duplicated()]
    status = f["status"].astype(str).to_numpy()
    decision_col = np.full(len(f), "", dtype=object)
    effective = status.copy()
    rows: list[dict[str, Any]] = []
    for d in decisions.table.to_dict("records"):
        state, why = _bind(d, fps, rule_fps, pos, status)
        rows.append({**{k: d[k] for k in (*_REQUIRED, "row")}, "state": state, "why": why})
        if state == "applied":
            i = int(pos.at[f"{d['site_id']}\x00{d['rule_id']}"])
            name = str(d["decision"])
            decision_col[i] = (f"{name} {DECISIONS[name][0]}: {d['document']} · "
                               f"{d['approver']} · {d['date']} · {d['reason']}")
            effective[i] = "pass" if name == "exempt" else (
                "warn" if status[i] == "fail" else status[i])
    result.findings = f.assign(decision=decision_col)
    eff = pd.DataFrame({"site_id": f["site_id"].astype(str).to_numpy(),
                        "r": [STATUS_ORDER.get(s, 0) for s in effective]})
    worst = eff.groupby("site_id", sort=False)["r"].max()  # the worst: highest rank
    by_rank = {r: s for s, r in STATUS_ORDER.items()}
    v = result.verdicts
    sid = v["site_id"].astype(str)
    worst_of = {str(k): by_rank[int(x)] for k, x in worst.items()}
    decided = sid.map(lambda s: worst_of.get(s))
    # sites with no finding (input errors) keep their verdict
    decided = decided.where(decided.notna(), v["verdict"]).to_numpy()
    applied = [r for r in rows if r["state"] == "applied"]
    per_site: dict[str, list[str]] = {}
    for r in applied:
        per_site.setdefault(str(r["site_id"]), []).append(
            f"{r['rule_id']}: {r['decision']} ({r['document']}, {r['approver']})")
    result.verdicts = v.assign(decided_verdict=decided,
                               decisions=sid.map(lambda s: "; ".join(per_site.get(s, []))))
    counts = {s: sum(r["state"] == s for r in rows) for s in ("applied", "stale", "not_needed")}
    after = pd.Series(decided).value_counts()
    return {"file": str(decisions.path), "sha256": decisions.sha256, "counts": counts,
            "decided_verdicts": {st: int(after.get(st, 0)) for st in STATUSES},
            "decisions": rows,
            "applied_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}


def _bind(d: dict[str, Any], fps: dict[str, str], rule_fps: dict[str, str], pos: pd.Series,
          status: np.ndarray) -> tuple[str, str]:
    """The state of one decision against this check, and why."""
    site, rule = str(d["site_id"]), str(d["rule_id"])
    if site not in fps:
        return "stale", "no such site in this batch · 本批次无此选址"
    if rule not in rule_fps:
        return "stale", "no such rule in this pack · 规则包中无此规则"
    if not d["site_fp"] or not d["rule_fp"]:
        return "stale", ("no site_fp/rule_fp: the decision is bound to nothing; write the file "
                         "with --decisions-template · 缺少指纹，请用 --decisions-template 生成")
    if fps[site] != d["site_fp"]:
        return "stale", ("the site was moved or redrawn since the decision · "
                         "选址位置或形状已变化")
    if rule_fps[rule] != d["rule_fp"]:
        return "stale", ("the rule's figures changed since the decision · 规则阈值已变化")
    k = f"{site}\x00{rule}"
    if k not in pos.index:
        return "stale", "the rule was not checked on this site · 该选址未核查此规则"
    s = status[int(pos.at[k])]
    if s not in ("fail", "warn"):
        return "not_needed", f"the finding is {s} now · 该项现为{s}"
    return "applied", ""
