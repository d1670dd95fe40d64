"""What a check produced, as the map and the report read it.

:class:`CheckData` holds the findings, verdicts and evidence of one check
with the rule pack, workspace and subject that produced them, and the views
over them (counts, the table by rule, a site's findings).
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

from .core import STATUS_COLOURS, STATUS_LABELS, STATUSES, Subject

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

    def counts(self) -> pd.Series:
        """Sites per verdict, in severity order."""
        return self.verdicts["verdict"].value_counts().reindex(list(STATUSES), fill_value=0)

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

    def site(self, site_id: object) -> pd.DataFrame:
        """All findings of one site."""
        return self.findings[self.findings["site_id"] == str(site_id)]

    def __repr__(self) -> str:
        c = self.counts()
        parts = ", ".join(f"{k} {int(v)}" for k, v in c.items() if v)
        return (f"<geoplan Result: {int(c.sum())} {self.subject} sites × "
                f"{len(self.pack.for_subject(self.subject))} rules ({self.pack.name}); {parts}>")

    def _repr_html_(self) -> str:
        c = self.counts()
        badges = " ".join(
            f'<span style="background:{STATUS_COLOURS[k]};color:white;padding:2px 6px;'
            f'border-radius:3px">{STATUS_LABELS[k][0]} {k}: {int(v)}</span>'
            for k, v in c.items())
        head = (f"<p><b>geoplan</b> — {int(c.sum())} {html.escape(self.subject)} sites, "
                f"pack {html.escape(self.pack.name)} {html.escape(self.pack.version)}</p>"
                f"<p>{badges}</p>")
        nc = self.summary.get("rules_not_checked", [])
        warn = ""
        if nc:
            items = "".join(f"<li>{html.escape(r['rule_id'])}: {html.escape(r['reason'])}</li>"
                            for r in nc)
            warn = f"<p><b>Rules not checked 未核查的规则:</b></p><ul>{items}</ul>"
        cols = ["site_id", "verdict", "n_fail", "n_warn", "reasons"]
        table = self.verdicts[cols].head(20).to_html(index=False, escape=True)
        more = (f"<p>… {len(self.verdicts) - 20} more rows in .verdicts</p>"
                if len(self.verdicts) > 20 else "")
        return head + warn + table + more
