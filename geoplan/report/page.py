"""The review report page: its style, a section per failing site, :func:`result_report`."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import folium
import numpy as np
import shapely

from .._version import __version__
from ..checkdata import CheckData
from ..core import CHINA_TIME, STATUS_LABELS, SUBJECT_LABELS, Status
from ..engine.prepare import note_zh
from ..kinds import KINDS
from ..maps import kind_style, map_parts, result_map
from ..maps.overlay import Addition, SiteNote, site_notes
from ..pages import drawable, esc, script_safe, swatch
from ..sites import distinct_columns
from ._tables import (
    area_table,
    badge,
    findings_rows,
    findings_table,
    local_time,
    rule_table,
    verdict_table,
)
from .svg import nearby_features, site_boxes, site_svg

__all__ = ["result_report"]


_CSS = """
html, body { height: auto !important; width: auto !important; }
body { margin: 0; background: #fafafa; color: #222; font: 14px/1.5 "Microsoft YaHei",
  "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei", system-ui, sans-serif; }
.gp-report { max-width: 1180px; margin: 0 auto; padding: 18px 24px 60px; background: #fff; }
h1 { font-size: 24px; margin: 4px 0 2px; } h1 .en { font-size: 17px; }
h2 { font-size: 19px; margin: 28px 0 8px; border-bottom: 2px solid #333; padding-bottom: 3px; }
h2 .en, h1 .en, th .en, td .en, .en { color: #666; font-weight: normal; }
h3 { font-size: 16px; margin: 0 0 6px; }
.meta { color: #444; font-size: 13px; } .meta td { padding: 1px 12px 1px 0; vertical-align: top; }
.muted { color: #666; }
.alert { border: 1px solid #d7191c; background: #fdecea; padding: 8px 12px; border-radius: 4px;
  margin: 10px 0; } .alert.warn { border-color: #e0b84c; background: #fff8e1; }
.gp-t { border-collapse: collapse; width: 100%; font-size: 13px; margin: 6px 0; }
.gp-t.narrow { width: auto; min-width: 420px; }
.gp-t th { background: #f0f0f0; text-align: left; padding: 4px 6px; border-bottom: 1px solid #bbb;
  font-weight: 600; vertical-align: bottom; }
.gp-t td { padding: 4px 6px; border-bottom: 1px solid #e5e5e5; vertical-align: top; }
.gp-t td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.gp-t tr.tot td { font-weight: 700; border-top: 1px solid #999; }
.gp-t tr.nc td { color: #777; }
td.c-fail { color: #b3000c; font-weight: 700; } td.c-error { color: #7b3294; font-weight: 700; }
td.c-warn { color: #a6611a; font-weight: 700; }
.gp-badge { color: #fff; border-radius: 3px; padding: 1px 6px; font-weight: 600; white-space: nowrap;
  font-size: 12px; }
.gp-bar { display: flex; height: 16px; border-radius: 3px; overflow: hidden; margin: 6px 0 8px;
  max-width: 640px; } .gp-bar span { display: block; height: 100%; }
.ok { color: #1a7f37; } .ph { color: #a6611a; font-weight: 600; }
.gp-mapbox { height: 620px; border: 1px solid #bbb; position: relative; }
.gp-index a { display: inline-block; margin: 0 8px 4px 0; }
.gp-site { border-top: 1px solid #ccc; padding: 14px 0 6px; page-break-inside: avoid;
  break-inside: avoid; }
.gp-site-body { display: flex; gap: 16px; align-items: flex-start; }
.gp-site-fig { flex: 0 0 auto; width: 262px; }
.gp-site-fig svg { border: 1px solid #ccc; display: block; }
.gp-legend { font-size: 11.5px; color: #444; margin-top: 4px; }
.gp-legend span { display: inline-flex; align-items: center; gap: 3px; margin: 0 8px 2px 0; }
.gp-site-tab { flex: 1 1 auto; min-width: 0; }
.gp-f td:nth-child(6) { min-width: 260px; }
.gp-attrs { color: #444; font-size: 13px; margin-bottom: 6px; }
.gp-attrs span { margin-right: 14px; }
.gp-show { font-size: 12px; margin-left: 8px; }
code { font-size: 12px; color: #444; }
.gp-dec { margin-top: 4px; padding: 2px 6px; background: #eef3fb; border-left: 3px solid #2b83ba; }
.gp-sg { margin-top: 6px; padding: 4px 8px; border-left: 3px solid #1a9641; background: #f1f8f2;
  font-size: 13px; }
footer { margin-top: 30px; color: #666; font-size: 12px; }
@media print { .gp-mapbox { height: 480px; } body { background: #fff; } .gp-show { display: none; }
  .gp-report { max-width: none; padding: 0; } h2 { break-after: avoid; }
  .gp-t { font-size: 11px; } .gp-site-body { gap: 10px; } }
@media (max-width: 700px) {
  .gp-report { padding: 10px 10px 40px; }
  .gp-t { display: block; overflow-x: auto; max-width: 100%; }
  .gp-t.narrow { min-width: 0; }
  .gp-site-body { flex-direction: column; align-items: stretch; }
  .gp-site-tab { width: 100%; }
  .gp-site-fig { width: auto; }
  .gp-mapbox { height: 70vh; }
  .meta td { word-break: break-all; }
}
"""


_SHOW_JS = """
document.addEventListener("click", function (e) {
  var a = e.target.closest ? e.target.closest("a.gp-show") : null;
  if (!a || !window.geoplan || !window.geoplan.showSite) { return; }
  e.preventDefault();
  document.getElementById("gp-map").scrollIntoView({ behavior: "instant", block: "start" });
  window.geoplan.showSite(parseInt(a.getAttribute("data-row"), 10));
});
if (window.geoplan && window.geoplan.map) {
  var gpm = window.geoplan.map;
  gpm.scrollWheelZoom.disable();
  gpm.on("click", function () { gpm.scrollWheelZoom.enable(); });
}
"""


def _legend(kinds: Sequence[str]) -> str:
    spans = []
    for kind in dict.fromkeys(kinds):
        k = KINDS.get(kind)
        fam = k.families[0] if k is not None else "polygon"
        zh = k.label_zh if k is not None else kind
        spans.append(f"<span>{swatch(kind_style(kind), fam)}{esc(zh)}</span>")
    return "".join(spans)


def _transformations(s: dict[str, object]) -> str:
    """What was done to the sites before they were checked (summary's site_transformations)."""
    steps = s.get("site_transformations")
    if not isinstance(steps, list) or not steps:
        return ("<p class='muted'>选址未经坐标转换或几何处理 · the sites were checked as given "
                "(no conversion, repair or nominal footprint).</p>")
    rows = "".join(
        f"<tr><td>{esc(t.get('zh'))}<br><span class='en'>{esc(t.get('en'))}</span></td>"
        f"<td class='num'>{'全部 all' if t.get('sites') is None else esc(t.get('sites'))}"
        f"</td></tr>" for t in steps if isinstance(t, dict))
    return ("<h2>选址数据处理 <span class='en'>What was done to the sites</span></h2>"
            "<p class='muted'>核查前对选址数据所做的全部转换与处理；名义宅基上的面积与距离并非实测 · every "
            "conversion and repair applied before the check; areas and distances on a nominal "
            "footprint are not surveyed.</p>"
            "<table class='gp-t narrow'><thead><tr><th>处理 step</th><th>选址数 sites</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>")


def _after(counts: object) -> str:
    if not isinstance(counts, dict):
        return ""
    return ("<p><b>采纳决定后的结论 verdicts after decisions</b>: " + " · ".join(
        f"{badge(str(k))} {esc(v)}" for k, v in counts.items() if v) + "</p>")


def _decisions(s: dict[str, object]) -> str:
    """The decisions applied to this check, and those that were not, with why."""
    d = s.get("decisions")
    if not isinstance(d, dict):
        return ""
    names = {"applied": ("已采纳", "applied"), "stale": ("已失效，未采纳", "stale, not applied"),
             "not_needed": ("无需采纳", "not needed")}
    rows = "".join(
        f"<tr{'' if r.get('state') == 'applied' else ' class=nc'}>"
        f"<td>{esc(r.get('site_id'))}</td><td><code>{esc(r.get('rule_id'))}</code></td>"
        f"<td>{esc(r.get('decision'))}</td><td>{esc(r.get('document'))}</td>"
        f"<td>{esc(r.get('approver'))}</td><td>{esc(r.get('date'))}</td>"
        f"<td>{esc(r.get('reason'))}</td>"
        f"<td>{esc(names.get(str(r.get('state')), ('', ''))[0])} "
        f"<span class='en'>{esc(names.get(str(r.get('state')), ('', r.get('state')))[1])}"
        f"</span>{'<br>' + esc(r.get('why')) if r.get('why') else ''}</td></tr>"
        for r in d.get("decisions", []) if isinstance(r, dict))
    c = d.get("counts", {})
    c = c if isinstance(c, dict) else {}
    return ("<h2>审批决定 <span class='en'>Decisions applied and stale</span></h2>"
            f"<p class='muted'>决定文件 file: <code>{esc(d.get('file'))}</code> · sha256 "
            f"<code>{esc(str(d.get('sha256'))[:16])}</code> · 已采纳 applied "
            f"{esc(c.get('applied'))} · 已失效 stale {esc(c.get('stale'))} · 无需 not needed "
            f"{esc(c.get('not_needed'))}. 各项核查结果仍为实测状态；“采纳决定后的结论”另列 · findings "
            "keep their measured status; the verdict after decisions is listed apart "
            "(decided_verdict).</p>"
            + _after(d.get("decided_verdicts")) +
            "<table class='gp-t'><thead><tr><th>选址 site</th><th>规则 rule</th>"
            "<th>决定 decision</th><th>文号 document</th><th>审批人 approver</th>"
            "<th>日期 date</th><th>理由 reason</th><th>状态 state</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _absent_note(layer: dict[str, object]) -> str:
    a = layer.get("absent")
    if not isinstance(a, dict):
        return ""
    return (f"<br><b>经确认不存在 confirmed absent</b>: {esc(a.get('reason'))} "
            f"<span class='muted'>(依据 source: {esc(a.get('source'))})</span>")


def _note_html(notes: Sequence[SiteNote]) -> str:
    return "".join(f"<div class='gp-sg'>{esc(n.zh)}<br><span class='en'>{esc(n.en)}</span></div>"
                   for n in notes)


def _site_sections(result: CheckData, detail: Sequence[str], max_sections: int, context_m: float,
                   svg_size: int, layers: Sequence[str] | None,
                   additions: Sequence[Addition] = ()) -> tuple[str, str, int]:
    v = result.verdicts
    work = result.workspace.crs
    geo = v.geometry if v.geometry.crs is not None else v.geometry.set_crs(work)
    geo_w = np.asarray(geo.to_crs(work).values, dtype=object)
    sel = np.flatnonzero(v["verdict"].isin(list(detail)).to_numpy())
    total = len(sel)
    sel = sel[:max_sections]
    if total == 0:
        return "", "", 0
    site_ids = v["site_id"].astype(str).to_numpy()
    verdicts = v["verdict"].astype(str).to_numpy()
    rules = {r.id: r for r in result.pack.rules}
    ev = result.evidence
    ev = ev[~(ev.geometry.is_empty | ev.geometry.isna())] if len(ev) else ev
    ev_by_site: dict[str, list[tuple[shapely.Geometry, str]]] = {}
    for g, sid, st in zip(ev.geometry.values, ev["site_id"].astype(str), ev["status"].astype(str),
                          strict=True):
        ev_by_site.setdefault(sid, []).append((g, st))

    notes = site_notes(additions)
    notes_col = (v["notes"].fillna("").astype(str).to_numpy() if "notes" in v.columns
                 else np.full(len(v), "", dtype=object))
    has = drawable(geo_w[sel])
    shown = sel[has]
    ev_bounds = {}
    for j, r in enumerate(shown):
        items = [g for g, _ in ev_by_site.get(site_ids[r], [])]
        items += [g for n in notes.get(site_ids[r], []) for g, _ in n.shapes]
        if items:
            ev_bounds[j] = shapely.total_bounds(np.array(items, dtype=object))
    boxes = site_boxes(geo_w[shown], ev_bounds, context_m) if len(shown) else np.empty((0, 4))
    box_geoms = shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]) \
        if len(shown) else np.array([], dtype=object)

    # nearby constraint features for every drawn site, one bulk query per layer
    nearby: dict[int, list[tuple[str, shapely.Geometry]]] = {
        j: [(kind, g) for kind, g, _ in near]
        for j, near in nearby_features(result.workspace, box_geoms, layers).items()}

    fields = distinct_columns(v, ("applicant", "name", "owner", "village", "township", "address",
                                  "floors", "class", "width_m"))
    f = result.findings
    f = f[f["site_id"].isin(set(site_ids[sel])) & (f["status"] != "pass")]
    by_site: dict[str, list[Any]] = {}  # each site's rows in a findings table's order
    for row in findings_rows(f):
        by_site.setdefault(str(row.site_id), []).append(row)
    index_links = []
    sections = []
    row_pos = {int(r): j for j, r in enumerate(shown)}
    for r in sel:
        sid = site_ids[r]
        anchor = f"site-{int(r)}"
        index_links.append(f'<a href="#{anchor}">{esc(sid)}</a>')
        attrs = "".join(f"<span><i>{esc(c)}</i> {esc(v[c].iloc[r])}</span>" for c in fields
                        if esc(v[c].iloc[r]))
        if notes_col[r]:
            attrs += (f"<span><i>处理 processing</i> "
                      f"{esc('；'.join(note_zh(x) for x in notes_col[r].split('; ')))} · "
                      f"<span class='en'>{esc(notes_col[r])}</span></span>")
        j = row_pos.get(int(r))
        if j is not None:
            near = nearby.get(j, [])
            svg = site_svg(geo_w[r], verdicts[r], ev_by_site.get(sid, []), near,
                           tuple(boxes[j]), size=svg_size,
                           extra=[s for n in notes.get(sid, []) for s in n.shapes])
            legend = _legend([k for k, _ in near]) + "".join(
                f"<span>{swatch(st, fam)}{esc(label)}</span>"
                for n in notes.get(sid, []) for label, st, fam in n.legend)
            fig = f"<div class='gp-site-fig'>{svg}<div class='gp-legend'>{legend}</div></div>"
            show = (f'<a class="gp-show" href="#gp-map" data-row="{int(r)}">在地图上查看 show '
                    f'on map</a>')
        else:
            fig = ("<div class='gp-site-fig muted'>无几何图形，无法制图 · no geometry, "
                   "nothing to draw</div>")
            show = ""
        sections.append(
            f"<section class='gp-site' id='{anchor}'><h3>{badge(verdicts[r])} {esc(sid)}"
            f"{show}</h3><div class='gp-attrs'>{attrs}</div><div class='gp-site-body'>{fig}"
            f"<div class='gp-site-tab'>"
            f"{findings_table(by_site.get(sid, []), rules, nominal='point buffered' in notes_col[r])}"
            f"{_note_html(notes.get(sid, []))}</div></div>"
            f"</section>")
    return "".join(index_links), "".join(sections), total


def result_report(
    result: CheckData,
    path: str | os.PathLike[str] | None = None,
    *,
    offline: bool = False,
    basemap: str | Sequence[str] | None = None,
    tk: str | None = None,
    attribution: str | None = None,
    map_obj: folium.Map | None = None,
    include_map: bool = True,
    detail: Sequence[Status] = ("fail",),
    max_sections: int = 500,
    context_m: float = 60.0,
    svg_size: int = 260,
    layers: Sequence[str] | None = None,
    title: str | None = None,
    additions: Sequence[Addition] = (),
) -> str:
    """Write the review report of a check as one self-contained HTML page.

    Parameters
    ----------
    result : Result
        The check.
    path : path, optional
        Where to write the page (UTF-8); the HTML is returned either way.
    offline, basemap, tk, attribution
        Passed to :func:`geoplan.maps.result_map` for the embedded map (a
        basemap name or a tile URL template; Leaflet is inlined either way,
        so the page needs the network only for basemap tiles).
    map_obj : folium.Map, optional
        A map already built with :func:`~geoplan.maps.result_map` to embed
        instead of building one.
    include_map : bool
        Embed the interactive map.
    detail : sequence of {'fail', 'error', 'warn', 'not_checked', 'pass'}
        Verdicts that get a section per site (default: ``fail``).
    max_sections : int
        At most this many site sections (the rest are counted; see the CSVs).
    context_m : float
        Half-width of each site's small map around the site, in metres.
    layers : sequence of str, optional
        Constraint kinds drawn in the small maps and the map.
    title : str, optional
        Page title.
    additions : sequence of Addition
        Analyses reported with the check (:mod:`geoplan.maps.overlay`): each
        gets a section after the tables (buildable land per village; the
        suggested moves), its layers on the map, and its note on each site's
        section. :meth:`geoplan.Result.report` passes ``buildable=`` and
        ``suggestions=`` here.

    Returns
    -------
    str
        The HTML.
    """
    subj_zh, subj_en = SUBJECT_LABELS.get(result.subject, (result.subject, result.subject))
    head_title = title or f"{subj_zh}选址核查报告 {subj_en} site review report"
    s = result.summary
    counts = {k: int(v) for k, v in result.counts().items()}

    map_head = map_body = map_script = ""
    if include_map:
        m = map_obj if map_obj is not None else result_map(
            result, offline=offline, basemap=basemap, tk=tk, attribution=attribution,
            layers=layers, additions=additions)
        map_head, map_body, map_script = map_parts(m)

    idx, sections, n_detail = _site_sections(result, detail, max_sections, context_m, svg_size,
                                             layers, additions)
    alerts = []
    nc = s.get("rules_not_checked") or []
    if nc:
        items = "".join(f"<li><code>{esc(r.get('rule_id'))}</code>: {esc(r.get('reason'))}</li>"
                        for r in nc)
        alerts.append(f"<div class='alert'><b>未核查的规则 Rules not checked</b> — 缺少图层或属性，"
                      f"这些规则对任何选址都不是“通过” · a missing layer never yields pass:"
                      f"<ul>{items}</ul></div>")
    off = s.get("rules_disabled") or []
    if off:
        items = "".join(f"<li><code>{esc(r.get('rule_id'))}</code> {esc(r.get('title_zh'))} "
                        f"{esc(r.get('clause'))}: {esc(r.get('reason'))}</li>" for r in off)
        alerts.append("<div class='alert warn'><b>规则包停用的规则 Rules disabled by the pack</b> — "
                      "未参与本次核查，停用理由如下 · not applied in this check, for the reasons "
                      f"given:<ul>{items}</ul></div>")
    unv = s.get("unverified_rules") or []
    if unv:
        alerts.append("<div class='alert warn'><b>占位阈值 Placeholder thresholds</b>（未核实，"
                      "不是法规 · not verified, not law）: " +
                      ", ".join(f"<code>{esc(r)}</code>" for r in unv) + "</div>")
    meta_rows = [
        ("批次 batch", s.get("sites_source")),
        ("选址 sites", f"{len(result.verdicts)} ({esc(subj_zh)} {esc(subj_en)})"),
        ("工作空间 workspace", s.get("workspace")),
        ("工作坐标系 working CRS", s.get("working_crs")),
        ("规则包 rule pack", f"{result.pack.name} {result.pack.version}"),
        ("核查时间 checked", local_time(s)),
        ("geoplan", s.get("geoplan_version", __version__)),
    ]
    meta = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in meta_rows)
    layer_rows = "".join(
        f"<tr><td><code>{esc(ly.get('kind'))}</code></td>"
        f"<td>{esc(KINDS[ly['kind']].label_zh if ly.get('kind') in KINDS else '')}</td>"
        f"<td>{esc(ly.get('source'))}{_absent_note(ly)}</td>"
        f"<td class='num'>{esc(ly.get('features'))}</td>"
        f"<td>{esc(ly.get('crs'))}</td><td><code>{esc(str(ly.get('sha256') or '')[:12])}</code>"
        f"</td></tr>" for ly in s.get("layers", []))
    more = ""
    if n_detail > max_sections:
        more = (f"<p class='muted'>仅列出前 {max_sections} 处，共 {n_detail} 处；其余见 "
                f"findings.csv · the first {max_sections} of {n_detail} are shown; see "
                f"findings.csv for the rest.</p>")
    detail_names = " / ".join(f"{STATUS_LABELS[d][0]} {STATUS_LABELS[d][1]}" for d in detail
                              if d in STATUS_LABELS)
    generated = _dt.datetime.now(CHINA_TIME).strftime("%Y-%m-%d %H:%M 北京时间 (UTC+08:00)")
    parts = [
        "<!DOCTYPE html>\n<html lang='zh-CN'>\n<head>\n<meta charset='utf-8'>\n",
        f"<title>{esc(head_title)}</title>\n",
        map_head,
        f"<style>{_CSS}</style>\n</head>\n<body>\n<div class='gp-report'>\n",
        f"<h1>{esc(subj_zh)}选址核查报告 <span class='en'>{esc(subj_en)} site review report"
        f"</span></h1>" if title is None else f"<h1>{esc(title)}</h1>",
        f"<table class='meta'>{meta}</table>",
        *alerts,
        _decisions(s),
        _transformations(s),
        "<h2>核查结论汇总 <span class='en'>Summary by verdict</span></h2>",
        verdict_table(counts),
        "<h2>按规则 <span class='en'>By rule</span></h2>",
        rule_table(result),
        "<h2>按乡镇与村 <span class='en'>By township and village</span></h2>",
        area_table(result),
        *(a.report_section() for a in additions),
    ]
    if include_map:
        parts += ["<h2 id='gp-map'>地图 <span class='en'>Map</span></h2>",
                  "<p class='muted'>点击选址查看原因；右上角可切换图层。点击地图后可用滚轮缩放 · click a "
                  "site for its reasons; switch layers top right; click the map to zoom with the "
                  "wheel.</p>",
                  f"<div class='gp-mapbox'>{map_body}</div>"]
    parts += [f"<h2>{esc(detail_names)}选址明细 <span class='en'>Sites in detail</span> "
              f"({n_detail})</h2>"]
    if n_detail:
        parts += [f"<div class='gp-index'>{idx}</div>", more, sections]
    else:
        parts.append("<p class='muted'>无 · none</p>")
    parts += [
        "<h2>数据来源 <span class='en'>Provenance</span></h2>",
        "<table class='gp-t'><thead><tr><th>图层 kind</th><th>名称</th><th>文件 source</th>"
        "<th>要素 features</th><th>坐标系 CRS</th><th>sha256</th></tr></thead><tbody>",
        layer_rows, "</tbody></table>",
        f"<footer>geoplan {esc(__version__)} · {generated} · 本报告由程序生成，结论需经人工复核 · "
        f"generated by geoplan; verdicts are for review by a planner.</footer>",
        "</div>\n</body>\n",
    ]
    if include_map:
        parts.append(f"<script>\n{map_script}\n{script_safe(_SHOW_JS)}\n</script>\n")
    parts.append("</html>\n")
    page = "".join(parts)
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page
