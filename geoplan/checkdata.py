"""What a check produced, as the map and the report read it.

:class:`CheckData` holds the findings, verdicts and evidence of one check
with the rule pack, workspace and subject that produced them, and the views
over them (counts, the table by rule, a site's findings), with their rich
displays in Jupyter (built from :mod:`geoplan.display`).
:class:`geoplan.Result` adds the exports, the map and the report to it. The
map and the report (:mod:`geoplan.maps`, :mod:`geoplan.report`) read a
``CheckData`` and never import :mod:`geoplan.result`, which loads them: the
imports run one way.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from .core import STATUSES, SUBJECT_LABELS, Subject
from .display import (
    SiteFindings,
    VerdictCounts,
    chip,
    chips,
    html_table,
    join_titles,
    marker,
    message_detail,
    rule_label,
    rule_titles,
    worst_first,
)
from .rules import registry

if TYPE_CHECKING:
    from .rules import RulePack
    from .workspace import Workspace

__all__ = ["CheckData"]


@dataclass
class CheckData:
    """What a check produced: the data the map and the report read.

    :class:`geoplan.Result` is the one kind of it a check returns, with its
    exports, map and report added; its attributes are described there.
    """

    findings: pd.DataFrame
    verdicts: gpd.GeoDataFrame
    evidence: gpd.GeoDataFrame
    summary: dict[str, Any]
    pack: RulePack
    workspace: Workspace
    subject: Subject

    # ------------------------------------------------------------------ views

    def counts(self) -> VerdictCounts:
        """Sites per verdict, in severity order.

        Returns
        -------
        VerdictCounts
            A :class:`pandas.Series` indexed by verdict (shown as status chips in Jupyter).
        """
        return VerdictCounts(
            self.verdicts["verdict"].value_counts().reindex(list(STATUSES), fill_value=0))

    def status_table(self) -> pd.DataFrame:
        """Findings per rule (rows, ``rule_id``) and status (columns, worst first)."""
        return (self.findings.groupby(["rule_id", "status"]).size().unstack(fill_value=0)
                .reindex(columns=list(STATUSES), fill_value=0))

    def by_rule(self) -> pd.DataFrame:
        """Per rule: sites per status, with the rule's clause and title."""
        table = self.status_table()
        meta = pd.DataFrame([{"rule_id": r.id, "clause": r.clause, "title_zh": r.title_zh,
                              "title_en": r.title_en, "verified": r.verified}
                             for r in self.pack.for_subject(self.subject)]).set_index("rule_id")
        return meta.join(table, how="left").fillna(0).reset_index()

    def failed(self) -> gpd.GeoDataFrame:
        """The verdict rows of sites that failed."""
        return self.verdicts[self.verdicts["verdict"] == "fail"]

    def site(self, site_id: object) -> SiteFindings:
        """All findings of one site, worst first (fail, error, warn, not_checked, pass).

        Returns
        -------
        SiteFindings
            The site's rows of :attr:`findings` (a :class:`pandas.DataFrame`),
            shown in Jupyter as the site's verdict, its failures and warnings
            with measures, limits and messages, and its passes folded away.
        """
        sid = str(site_id)
        rows = self.findings[self.findings["site_id"] == sid]
        v = self.verdicts
        about: dict[str, Any] = {}
        roles = [c for c in ("applicant", "village", "township") if c in v.columns]
        if roles:
            mine = v.loc[v["site_id"] == sid, roles]
            about = mine.iloc[0].to_dict() if len(mine) else {}
        return SiteFindings.of(rows, sid, titles=self._titles(), comparators=self._comparators(),
                               about=about)

    # ------------------------------------------------------------------ rich display

    def _titles(self) -> dict[str, tuple[str, str]]:
        """Rule id → (Chinese, English) title of the rules of this check's subject."""
        return rule_titles(self.pack.for_subject(self.subject))

    def _comparators(self) -> dict[str, str]:
        """Rule id → how a measure compares with the rule's limit to pass (``≥``, ``≤``)."""
        known = set(registry.names())
        return {r.id: registry.get(r.kind).comparator(r) if r.kind in known else "≤"
                for r in self.pack.for_subject(self.subject)}

    def __repr__(self) -> str:
        c = self.counts()
        parts = ", ".join(f"{k} {int(v)}" for k, v in c.items() if v)
        return (f"<geoplan Result: {int(c.sum())} {self.subject} sites × "
                f"{len(self.pack.for_subject(self.subject))} rules ({self.pack.name}); {parts}>")

    def _repr_html_(self) -> str:
        c = self.counts()
        n = int(c.sum())
        zh, en = SUBJECT_LABELS.get(self.subject, ("", self.subject))
        pack = join_titles(getattr(self.pack, "title_zh", ""), getattr(self.pack, "title_en", ""))
        head = (f"<p><b>geoplan</b> 核查结果 — {html.escape(zh)} {html.escape(en.lower())} · "
                f"{n} 个选址 sites · 规则包 pack <b>{html.escape(self.pack.name)}</b> "
                f"{html.escape(self.pack.version)}"
                + (f' <span style="color:#666">({html.escape(pack)})</span>' if pack else "")
                + f"</p><p>{chips(c)}</p>")
        return (f'<div class="geoplan-result">{head}{self._not_checked_html()}'
                f"{self._sites_html()}</div>")

    def _not_checked_html(self) -> str:
        """The rules not checked for the whole batch, each with its reason."""
        nc = self.summary.get("rules_not_checked", [])
        if not nc:
            return ""
        titles = self._titles()
        items = "".join(f"<li>{rule_label(r.get('rule_id', ''), titles)}: "
                        f"{html.escape(str(r.get('reason', '')))}</li>" for r in nc)
        return f"<p><b>未核查的规则 · rules not checked ({len(nc)}):</b></p><ul>{items}</ul>"

    def _sites_html(self, max_rows: int = 20) -> str:
        """The first ``max_rows`` sites, worst first, with their reasons (rule titles)."""
        v = self.verdicts
        plain = ("<p style=\"color:#666\"><code>.verdicts</code> (one row per site 每个选址一行) and "
                 "<code>.findings</code> (site × rule 选址×规则) are the plain DataFrames.</p>")
        if not len(v):
            kept = ("rows streamed to files, not kept 结果行已写入文件" if int(self.counts().sum())
                    else "no sites 没有选址")
            return f'<p style="color:#666">{kept}.</p>'
        top = v.iloc[worst_first(v["verdict"].to_numpy())[:max_rows]]
        ids = top["site_id"].astype(str).to_numpy()
        f = self.findings
        if {"site_id", "rule_id", "status", "message_zh", "message_en"} <= set(f.columns):
            f = f[f["site_id"].isin(ids) & (f["status"] != "pass")]
        else:  # a result built by hand, without findings
            f = pd.DataFrame(columns=["site_id", "rule_id", "status", "message_zh", "message_en"])
        reasons = self._reasons(f, top)
        table = pd.DataFrame({"选址 site": ids})
        for col, label in (("applicant", "申请人 applicant"), ("village", "村 village"),
                           ("township", "乡镇 township")):
            if col in top.columns:
                table[label] = top[col].to_numpy()
        table["结论 verdict"] = [chip(str(s)) for s in top["verdict"]]
        table["原因 reasons"] = [reasons.get(i, "") for i in ids]
        body = html_table(table, None, html_columns=("结论 verdict", "原因 reasons"),
                          nowrap=("选址 site",), na_rep="")
        more = len(v) - len(top)
        note = (f"<p>前 {len(top)} 个选址（最严重的在前），另有 {more} 行见 <code>.verdicts</code> · "
                f"the first {len(top)} sites, worst first; {more} more rows in "
                "<code>.verdicts</code>.</p>" if more else
                f"<p>全部 {len(top)} 个选址，最严重的在前 · all {len(top)} sites, worst first.</p>")
        return body + note + plain

    def _reasons(self, f: pd.DataFrame, top: pd.DataFrame) -> dict[str, str]:
        """Site id → its reasons as HTML, worst first.

        Failed and warned rules by title; errored rules with why (rules with
        the same reason listed once, e.g. a site outside the layers); the rules
        not checked with their reason when that is the site's verdict, else by
        title only.
        """
        titles = self._titles()
        verdict = dict(zip(top["site_id"].astype(str), top["verdict"].astype(str), strict=True))
        f = f.iloc[worst_first(f["status"].to_numpy())]
        # site → (status, why) → rule labels, in the order met (worst first)
        parts: dict[str, dict[tuple[str, str], list[str]]] = {}
        for sid, rid, status, zh, en in zip(f["site_id"].astype(str), f["rule_id"].astype(str),
                                            f["status"].astype(str), f["message_zh"],
                                            f["message_en"], strict=True):
            why = ""
            if status == "error" or (status == "not_checked" and verdict.get(sid) == status):
                tzh, ten = titles.get(rid, ("", ""))
                why = join_titles(message_detail(zh, tzh), message_detail(en, ten), sep=" · ")
            key = (status, why) if why or status == "not_checked" else (status, rid)
            parts.setdefault(sid, {}).setdefault(key, []).append(rule_label(rid, titles))
        out = {}
        for sid, groups in parts.items():
            lines = []
            for (status, why), labels in groups.items():
                if status == "not_checked" and verdict.get(sid) != status:
                    lines.append(f'<span style="color:#666">未核查 not checked: '
                                 f'{"、".join(labels)}</span>')
                elif status in ("error", "not_checked"):
                    lines.append(f'{marker(status)} {"、".join(labels)}'
                                 + (f': <span style="color:#444">{html.escape(why)}</span>'
                                    if why else ""))
                else:
                    lines.append(f"{marker(status)} {labels[0]}")
            out[sid] = "<br>".join(lines)
        return out
