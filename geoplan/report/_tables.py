"""The report's tables: verdict counts, rules, townships and villages, one site's findings."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..checkdata import CheckData
from ..core import CHINA_TIME, STATUS_COLOURS, STATUS_LABELS, STATUS_ORDER
from ..maps import format_limit, format_measure
from ..pages import esc
from ..sites import place_key

__all__ = ["area_table", "badge", "findings_rows", "findings_table", "local_time", "rule_table",
           "verdict_table"]


_TOWNSHIP_COLS = ("township", "乡镇", "town")
_VILLAGE_COLS = ("village", "村庄", "村", "village_name")


def local_time(summary: Mapping[str, Any], *, utc: bool = True) -> str:
    """The check's start in China Standard Time with its offset (and the UTC time).

    Read from the summary's ``started_utc``; "—" when it has none.
    """
    text = summary.get("started_utc") or summary.get("started_local")
    if not isinstance(text, str):
        return "—"
    try:
        t = _dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    local = t.astimezone(CHINA_TIME)
    out = f"{local:%Y-%m-%d %H:%M:%S} 北京时间 Asia/Shanghai (UTC+08:00)"
    return out + (f" · {t.astimezone(_dt.UTC):%H:%M} UTC" if utc else "")


def badge(status: str) -> str:
    zh, en = STATUS_LABELS.get(status, (status, status))
    colour = STATUS_COLOURS.get(status, "#999")
    text = "#222" if status == "warn" else "#fff"
    return (f'<span class="gp-badge" style="background:{colour};color:{text}">{esc(zh)} '
            f'{esc(en)}</span>')


def verdict_table(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    rows = []
    bar = []
    for s in STATUS_ORDER:
        n = counts.get(s, 0)
        rows.append(f"<tr><td>{badge(s)}</td><td class='num'>{n}</td>"
                    f"<td class='num'>{100 * n / total:.1f}%</td></tr>")
        if n:
            bar.append(f'<span style="width:{100 * n / total:.3f}%;background:'
                       f'{STATUS_COLOURS[s]}" title="{esc(STATUS_LABELS[s][1])} {n}"></span>')
    return ('<div class="gp-bar">' + "".join(bar) + "</div>"
            "<table class='gp-t narrow'><thead><tr><th>结论 verdict</th><th>选址数 sites</th>"
            "<th>占比 share</th></tr></thead><tbody>" + "".join(rows) +
            f"<tr class='tot'><td>合计 total</td><td class='num'>{sum(counts.values())}</td>"
            "<td></td></tr></tbody></table>")


def _count_cells(row: Any) -> str:
    cells = []
    for s in STATUS_ORDER:
        n = int(row.get(s, 0))
        cls = f"num c-{s}" if n and s in ("fail", "error", "warn") else "num"
        cells.append(f"<td class='{cls}'>{n}</td>")
    return "".join(cells)


def _status_heads() -> str:
    return "".join(f"<th>{esc(STATUS_LABELS[s][0])}<br><span class='en'>"
                   f"{esc(STATUS_LABELS[s][1])}</span></th>" for s in STATUS_ORDER)


def rule_table(result: CheckData) -> str:
    t = result.by_rule()
    rows = []
    for r in t.to_dict(orient="records"):
        ver = ("<span class='ok'>✓ 已核实 verified</span>" if bool(r.get("verified"))
               else "<span class='ph'>占位 placeholder</span>")
        rows.append(f"<tr><td><code>{esc(r['rule_id'])}</code></td><td>{esc(r['clause'])}</td>"
                    f"<td>{esc(r['title_zh'])}<br><span class='en'>{esc(r['title_en'])}</span>"
                    f"</td><td>{ver}</td>{_count_cells(r)}</tr>")
    return ("<table class='gp-t'><thead><tr><th>规则 rule</th><th>条款 clause</th>"
            "<th>内容 title</th><th>阈值 figures</th>" + _status_heads() +
            "</tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _find_col(df: pd.DataFrame, names: Sequence[str]) -> str | None:
    lower = {str(c).lower(): c for c in df.columns}
    for n in names:
        if n.lower() in lower:
            return str(lower[n.lower()])
    return None


def _same_place(col: pd.Series) -> pd.Series:
    """Names as grouped: the spellings of one place (新湾, 新湾村, 新湾村委会) as the first seen."""
    s = col.astype("string").str.strip()
    key = s.map(place_key, na_action="ignore").fillna("")
    first = s.groupby(key.to_numpy()).transform("first")
    return first.where(key.to_numpy() != "").fillna("（空 blank）")


def area_table(result: CheckData) -> str:
    v = result.verdicts
    tcol, vcol = _find_col(v, _TOWNSHIP_COLS), _find_col(v, _VILLAGE_COLS)
    keys = [c for c in (tcol, vcol) if c is not None]
    if not keys:
        return ("<p class='muted'>批次无乡镇/村字段，未分组 · the batch has no township or "
                "village column, so it is not grouped.</p>")
    df = pd.DataFrame({c: _same_place(v[c]) for c in keys})
    df["verdict"] = v["verdict"].to_numpy()
    table = (df.groupby([*keys, "verdict"]).size().unstack(fill_value=0)
             .reindex(columns=list(STATUS_ORDER), fill_value=0))
    table["total"] = table.sum(axis=1)
    heads = "".join(f"<th>{'乡镇 township' if c == tcol else '村 village'}</th>" for c in keys)
    rows = []
    for idx, r in table.iterrows():
        idx_t = idx if isinstance(idx, tuple) else (idx,)
        names = "".join(f"<td>{esc(x)}</td>" for x in idx_t)
        rows.append(f"<tr>{names}{_count_cells(r)}<td class='num'>{int(r['total'])}</td></tr>")
    return ("<table class='gp-t'><thead><tr>" + heads + _status_heads() +
            "<th>合计<br><span class='en'>total</span></th></tr></thead><tbody>" +
            "".join(rows) + "</tbody></table>")


def _decision_line(decision: object) -> str:
    if not isinstance(decision, str) or not decision:
        return ""
    return f"<div class='gp-dec'><b>审批决定 decision</b> {esc(decision)}</div>"


def findings_rows(f: pd.DataFrame) -> list[Any]:
    """The rows of findings ``f`` as tuples, worst status first (stable): a findings table's order.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"site_id": ["a", "b", "a"], "status": ["warn", "fail", "fail"]})
    >>> [(r.site_id, r.status) for r in findings_rows(f)]
    [('b', 'fail'), ('a', 'fail'), ('a', 'warn')]
    """
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    f = f.assign(_o=f["status"].map(order)).sort_values("_o", kind="stable")
    return list(f.itertuples(index=False))


def findings_table(f: pd.DataFrame | Sequence[Any], rules: dict[str, Any], *,
                   nominal: bool = False) -> str:
    """The table of one site's findings (``f``: its rows that are not ``pass``).

    ``f`` is a frame, or the rows already in order as tuples with the frame's
    columns as attributes (:func:`findings_rows`: a report of many sites
    sorts and splits the findings once, not once per site).
    ``nominal``: the site is a point given a nominal footprint, so its measures
    are not surveyed and the column says so.
    """
    rows = []
    for r in (findings_rows(f) if isinstance(f, pd.DataFrame) else f):
        rule = rules.get(r.rule_id)
        tzh = rule.title_zh if rule is not None else r.rule_id
        ten = rule.title_en if rule is not None else ""
        cls = " class='nc'" if r.status == "not_checked" else ""
        rows.append(
            f"<tr{cls}><td>{badge(str(r.status))}</td>"
            f"<td><b>{esc(tzh)}</b><br><span class='en'>{esc(ten)}</span><br>"
            f"<code>{esc(r.rule_id)}</code></td><td>{esc(r.clause)}</td>"
            f"<td class='num'>{esc(format_measure(r.measure, r.unit))}</td>"
            f"<td class='num'>{esc(format_limit(r.threshold, r.unit, rule))}</td>"
            f"<td>{esc(r.message_zh)}<br><span class='en'>{esc(r.message_en)}</span>"
            f"{_decision_line(getattr(r, 'decision', ''))}</td>"
            f"<td>{esc(r.matched)}</td></tr>")
    return ("<table class='gp-t gp-f'><thead><tr><th>状态 status</th><th>规则 rule</th>"
            "<th>条款 clause</th>"
            + ("<th>名义宅基上量得 on the nominal footprint</th>" if nominal
               else "<th>实测 measured</th>") + "<th>限值 limit</th>"
            "<th>说明 finding</th><th>涉及要素 features</th></tr></thead><tbody>" +
            "".join(rows) + "</tbody></table>")
