"""A bilingual, self-contained review report of a check (``report.html``).

:func:`result_report` writes one HTML page for the township review → city
approval of a batch: the verdict counts, a table by rule (clause, title in
Chinese and English, whether its figures are verified), a table by township
and village when the batch has those columns, the interactive map (the
offline one when ``offline=True``), and a section per failing site with its
findings and a small static SVG map of the site, its evidence and the
constraints around it (much lighter than one Leaflet map per site).

Every text that comes from data is escaped with :func:`html.escape`. The
page needs no file beside it; with ``offline=True`` and no tiled basemap it
makes no request at all.

Examples
--------
>>> import geoplan                                                  # doctest: +SKIP
>>> res = geoplan.check("layers/batches/proposed_houses.gpkg", "layers")  # doctest: +SKIP
>>> res.report("report.html", offline=True)                         # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import folium
import numpy as np
import pandas as pd
import shapely

from ._version import __version__
from .checkdata import CheckData
from .core import STATUS_COLOURS, STATUS_DARK, STATUS_LABELS, STATUS_ORDER, SUBJECT_LABELS
from .kinds import KINDS
from .maps import format_limit, format_measure, kind_style, map_parts, result_map
from .pages import drawable, esc, script_safe, swatch

__all__ = ["result_report", "site_svg"]

_TOWNSHIP_COLS = ("township", "乡镇", "town")
_VILLAGE_COLS = ("village", "村庄", "村", "village_name")

# drawing order in the small maps: broad areas first, lines and points on top
_SVG_GROUP_ORDER = ("land", "planning", "redline", "water", "heritage", "hazard", "power",
                    "infrastructure", "service", "other")


# ---------------------------------------------------------------------------
# Small static maps (SVG)
# ---------------------------------------------------------------------------


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _ring_path(coords: np.ndarray, tx: Any) -> str:
    pts = tx(coords)
    if len(pts) == 0:
        return ""
    head = f"M{_fmt(pts[0, 0])},{_fmt(pts[0, 1])}"
    body = "".join(f"L{_fmt(x)},{_fmt(y)}" for x, y in pts[1:])
    return head + body


def _svg_shapes(geom: shapely.Geometry, tx: Any, style: dict[str, Any], *,
                point_r: float = 3.5) -> list[str]:
    """SVG elements for one geometry drawn with a Leaflet-like style."""
    out: list[str] = []
    stroke = esc(style.get("color", "#333"))
    width = float(style.get("weight", 1))
    dash = style.get("dashArray")
    dash_attr = f' stroke-dasharray="{esc(dash)}"' if dash else ""
    fill = esc(style.get("fillColor", style.get("color", "#999")))
    fo = float(style.get("fillOpacity", 0.3))
    so = float(style.get("opacity", 0.9))
    for part in shapely.get_parts(geom):
        if part.is_empty:
            continue
        t = part.geom_type
        if t == "Polygon":
            d = _ring_path(np.asarray(part.exterior.coords), tx) + "Z"
            for hole in part.interiors:
                d += _ring_path(np.asarray(hole.coords), tx) + "Z"
            line = (f'stroke="{stroke}" stroke-opacity="{so:.2f}" stroke-width="{width:g}"'
                    f'{dash_attr}' if width > 0 else 'stroke="none"')
            out.append(f'<path d="{d}" fill="{fill}" fill-opacity="{fo:.2f}" {line} '
                       f'fill-rule="evenodd"/>')
        elif t in ("LineString", "LinearRing"):
            d = _ring_path(np.asarray(part.coords), tx)
            out.append(f'<path d="{d}" fill="none" stroke="{stroke}" stroke-opacity="{so:.2f}" '
                       f'stroke-width="{width:g}" stroke-linecap="round"{dash_attr}/>')
        elif t == "Point":
            x, y = tx(np.asarray(part.coords))[0]
            r = float(style.get("radius", point_r))
            out.append(f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="{r:g}" fill="{fill}" '
                       f'fill-opacity="{min(1.0, fo + 0.2):.2f}" stroke="{stroke}" '
                       f'stroke-width="{max(width, 1):g}"/>')
        else:  # nested collections
            out.extend(_svg_shapes(part, tx, style, point_r=point_r))
    return out


def _nice_length(span_m: float) -> float:
    target = span_m / 4
    for v in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if v >= target:
            return float(v)
    return 10000.0


def site_svg(site: shapely.Geometry, verdict: str, evidence: Sequence[tuple[shapely.Geometry, str]],
             nearby: Sequence[tuple[str, shapely.Geometry]], box: tuple[float, float, float, float],
             *, size: int = 260) -> str:
    """A small static map (inline SVG) of one site in a metric CRS.

    Parameters
    ----------
    site : shapely geometry
        The site, in a metric CRS.
    verdict : str
        Its verdict (colours the site).
    evidence : sequence of (geometry, status)
        Overlap or setback geometries of the site's findings.
    nearby : sequence of (kind, geometry)
        Constraint features to draw (clipped to ``box`` here).
    box : (minx, miny, maxx, maxy)
        The square drawn, in metres.
    size : int
        Width and height in pixels.
    """
    minx, miny, maxx, maxy = box
    span = max(maxx - minx, maxy - miny, 1e-6)
    k = size / span

    def tx(c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, dtype="float64").reshape(-1, c.shape[-1] if c.ndim > 1 else 2)
        return np.column_stack([(c[:, 0] - minx) * k, (maxy - c[:, 1]) * k])

    parts = [f'<svg class="gp-svg" xmlns="http://www.w3.org/2000/svg" width="{size}" '
             f'height="{size}" viewBox="0 0 {size} {size}" role="img">',
             f'<rect width="{size}" height="{size}" fill="#f7f5f0"/>']
    order = {g: i for i, g in enumerate(_SVG_GROUP_ORDER)}

    def rank(item: tuple[str, shapely.Geometry]) -> tuple[int, int]:
        kind, geom = item
        dim = shapely.get_dimensions(geom)
        group = KINDS[kind].group if kind in KINDS else "other"
        return (-int(dim), order.get(group, len(order)))

    for kind, geom in sorted(nearby, key=rank):
        style = kind_style(kind)
        if shapely.get_dimensions(geom) == 2:
            # fill the part inside the box, but stroke only the feature's own edges,
            # not the cut along the box
            parts.extend(_svg_shapes(shapely.clip_by_rect(geom, *box), tx,
                                     dict(style, weight=0, opacity=0)))
            edge = shapely.clip_by_rect(shapely.boundary(geom), *box)
            parts.extend(_svg_shapes(edge, tx, style))
        else:
            parts.extend(_svg_shapes(shapely.clip_by_rect(geom, *box), tx, style))
    for geom, status in evidence:
        st = {"color": STATUS_DARK.get(status, "#333"), "weight": 1.5,
              "fillColor": STATUS_COLOURS.get(status, "#d7191c"), "fillOpacity": 0.7,
              "radius": 4}
        parts.extend(_svg_shapes(geom, tx, st))
    colour = STATUS_COLOURS.get(verdict, "#999999")
    dim = shapely.get_dimensions(site)
    if dim == 2:
        st = {"color": colour, "weight": 2.5, "fillColor": colour, "fillOpacity": 0.15}
    elif dim == 1:
        st = {"color": colour, "weight": 2.5, "opacity": 0.95}   # thin: evidence shows around
    else:
        st = {"color": "#ffffff", "weight": 1.5, "fillColor": colour, "fillOpacity": 0.8,
              "radius": 6}
    parts.extend(_svg_shapes(site, tx, st))
    # scale bar and north arrow
    length = _nice_length(span)
    px = length * k
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    y0 = size - 12
    parts.append(f'<rect x="6" y="{y0 - 14}" width="{px + 12:.1f}" height="22" fill="#fff" '
                 f'fill-opacity="0.75" rx="2"/>'
                 f'<path d="M12,{y0 - 4}V{y0}H{12 + px:.1f}V{y0 - 4}" fill="none" '
                 f'stroke="#222" stroke-width="1.5"/>'
                 f'<text x="{12 + px / 2:.1f}" y="{y0 - 6}" font-size="10" '
                 f'text-anchor="middle" fill="#222">{label}</text>')
    parts.append(f'<g transform="translate({size - 16},20)"><path d="M0,-12L5,2L0,-1L-5,2Z" '
                 f'fill="#222"/><text y="12" font-size="9" text-anchor="middle" '
                 f'fill="#222">N</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _site_boxes(geoms: np.ndarray, ev_bounds: dict[int, np.ndarray],
                context_m: float) -> np.ndarray:
    """A square view box per site: the site (and its evidence) plus context."""
    b = shapely.bounds(geoms)
    out = np.empty((len(geoms), 4))
    for i in range(len(geoms)):
        x0, y0, x1, y1 = b[i]
        if i in ev_bounds:
            e = ev_bounds[i]
            x0, y0 = min(x0, e[0]), min(y0, e[1])
            x1, y1 = max(x1, e[2]), max(y1, e[3])
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        half = max(context_m, 0.6 * max(x1 - x0, y1 - y0))
        half = min(half, max(context_m, 0.6 * max(b[i][2] - b[i][0], b[i][3] - b[i][1]), 400.0))
        out[i] = (cx - half, cy - half, cx + half, cy + half)
    return out


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


def _badge(status: str) -> str:
    zh, en = STATUS_LABELS.get(status, (status, status))
    colour = STATUS_COLOURS.get(status, "#999")
    text = "#222" if status == "warn" else "#fff"
    return (f'<span class="gp-badge" style="background:{colour};color:{text}">{esc(zh)} '
            f'{esc(en)}</span>')


def _verdict_table(counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    rows = []
    bar = []
    for s in STATUS_ORDER:
        n = counts.get(s, 0)
        rows.append(f"<tr><td>{_badge(s)}</td><td class='num'>{n}</td>"
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


def _rule_table(result: CheckData) -> str:
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


def _area_table(result: CheckData) -> str:
    v = result.verdicts
    tcol, vcol = _find_col(v, _TOWNSHIP_COLS), _find_col(v, _VILLAGE_COLS)
    keys = [c for c in (tcol, vcol) if c is not None]
    if not keys:
        return ("<p class='muted'>批次无乡镇/村字段，未分组 · the batch has no township or "
                "village column, so it is not grouped.</p>")
    df = pd.DataFrame({c: v[c].astype("string").fillna("（空 blank）") for c in keys})
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


def _findings_table(f: pd.DataFrame, rules: dict[str, Any]) -> str:
    """The table of one site's findings (``f``: its rows that are not ``pass``)."""
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    f = f.assign(_o=f["status"].map(order)).sort_values("_o", kind="stable")
    rows = []
    for r in f.itertuples(index=False):
        rule = rules.get(r.rule_id)
        tzh = rule.title_zh if rule is not None else r.rule_id
        ten = rule.title_en if rule is not None else ""
        cls = " class='nc'" if r.status == "not_checked" else ""
        rows.append(
            f"<tr{cls}><td>{_badge(str(r.status))}</td>"
            f"<td><b>{esc(tzh)}</b><br><span class='en'>{esc(ten)}</span><br>"
            f"<code>{esc(r.rule_id)}</code></td><td>{esc(r.clause)}</td>"
            f"<td class='num'>{esc(format_measure(r.measure, r.unit))}</td>"
            f"<td class='num'>{esc(format_limit(r.threshold, r.unit, rule))}</td>"
            f"<td>{esc(r.message_zh)}<br><span class='en'>{esc(r.message_en)}</span></td>"
            f"<td>{esc(r.matched)}</td></tr>")
    return ("<table class='gp-t gp-f'><thead><tr><th>状态 status</th><th>规则 rule</th>"
            "<th>条款 clause</th><th>实测 measured</th><th>限值 limit</th>"
            "<th>说明 finding</th><th>涉及要素 features</th></tr></thead><tbody>" +
            "".join(rows) + "</tbody></table>")


# ---------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------

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
footer { margin-top: 30px; color: #666; font-size: 12px; }
@media print { .gp-mapbox { height: 480px; } body { background: #fff; } .gp-show { display: none; } }
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


def _site_sections(result: CheckData, detail: Sequence[str], max_sections: int, context_m: float,
                   svg_size: int, layers: Sequence[str] | None) -> tuple[str, str, int]:
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

    has = drawable(geo_w[sel])
    shown = sel[has]
    ev_bounds = {}
    for j, r in enumerate(shown):
        items = ev_by_site.get(site_ids[r])
        if items:
            ev_bounds[j] = shapely.total_bounds(np.array([g for g, _ in items], dtype=object))
    boxes = _site_boxes(geo_w[shown], ev_bounds, context_m) if len(shown) else np.empty((0, 4))
    box_geoms = shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]) \
        if len(shown) else np.array([], dtype=object)

    # nearby constraint features for every drawn site, one bulk query per layer
    nearby: dict[int, list[tuple[str, shapely.Geometry]]] = {}
    ws = result.workspace
    kinds = [k for k in (layers if layers is not None else ws.layers)
             if k in ws.layers and hasattr(ws.layers[k], "gdf") and k != "landuse"]
    for kind in kinds:
        gdf = ws.layers[kind].gdf
        if not len(gdf) or not len(box_geoms):
            continue
        qi, fi = gdf.sindex.query(box_geoms, predicate="intersects")
        gvals = np.asarray(gdf.geometry.values, dtype=object)
        for a, b in zip(qi, fi, strict=True):
            nearby.setdefault(int(a), []).append((kind, gvals[b]))

    fields = [c for c in ("name", "owner", "village", "township", "address", "floors", "class",
                          "width_m") if c in v.columns]
    f = result.findings
    f = f[f["site_id"].isin(set(site_ids[sel])) & (f["status"] != "pass")]
    by_site = {str(k): g for k, g in f.groupby("site_id", sort=False)}
    empty = f.iloc[:0]
    index_links = []
    sections = []
    row_pos = {int(r): j for j, r in enumerate(shown)}
    for r in sel:
        sid = site_ids[r]
        anchor = f"site-{int(r)}"
        index_links.append(f'<a href="#{anchor}">{esc(sid)}</a>')
        attrs = "".join(f"<span><i>{esc(c)}</i> {esc(v[c].iloc[r])}</span>" for c in fields
                        if esc(v[c].iloc[r]))
        j = row_pos.get(int(r))
        if j is not None:
            near = nearby.get(j, [])
            svg = site_svg(geo_w[r], verdicts[r], ev_by_site.get(sid, []), near,
                           tuple(boxes[j]), size=svg_size)
            legend = _legend([k for k, _ in near])
            fig = f"<div class='gp-site-fig'>{svg}<div class='gp-legend'>{legend}</div></div>"
            show = (f'<a class="gp-show" href="#gp-map" data-row="{int(r)}">在地图上查看 show '
                    f'on map</a>')
        else:
            fig = ("<div class='gp-site-fig muted'>无几何图形，无法制图 · no geometry, "
                   "nothing to draw</div>")
            show = ""
        sections.append(
            f"<section class='gp-site' id='{anchor}'><h3>{_badge(verdicts[r])} {esc(sid)}"
            f"{show}</h3><div class='gp-attrs'>{attrs}</div><div class='gp-site-body'>{fig}"
            f"<div class='gp-site-tab'>{_findings_table(by_site.get(sid, empty), rules)}"
            f"</div></div>"
            f"</section>")
    return "".join(index_links), "".join(sections), total


def result_report(
    result: CheckData,
    path: str | os.PathLike[str] | None = None,
    *,
    offline: bool = False,
    basemap: str | Sequence[str] | None = None,
    tk: str | None = None,
    map_obj: folium.Map | None = None,
    include_map: bool = True,
    detail: Sequence[str] = ("fail",),
    max_sections: int = 500,
    context_m: float = 60.0,
    svg_size: int = 260,
    layers: Sequence[str] | None = None,
    title: str | None = None,
) -> str:
    """Write the review report of a check as one self-contained HTML page.

    Parameters
    ----------
    result : Result
        The check.
    path : path, optional
        Where to write the page (UTF-8); the HTML is returned either way.
    offline, basemap, tk
        Passed to :func:`geoplan.maps.result_map` for the embedded map.
    map_obj : folium.Map, optional
        A map already built with :func:`~geoplan.maps.result_map` to embed
        instead of building one.
    include_map : bool
        Embed the interactive map.
    detail : sequence of str
        Verdicts that get a section per site (default: ``fail``).
    max_sections : int
        At most this many site sections (the rest are counted; see the CSVs).
    context_m : float
        Half-width of each site's small map around the site, in metres.
    layers : sequence of str, optional
        Constraint kinds drawn in the small maps and the map.
    title : str, optional
        Page title.

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
            result, offline=offline, basemap=basemap, tk=tk, layers=layers)
        map_head, map_body, map_script = map_parts(m)

    idx, sections, n_detail = _site_sections(result, detail, max_sections, context_m, svg_size,
                                             layers)
    alerts = []
    nc = s.get("rules_not_checked") or []
    if nc:
        items = "".join(f"<li><code>{esc(r.get('rule_id'))}</code>: {esc(r.get('reason'))}</li>"
                        for r in nc)
        alerts.append(f"<div class='alert'><b>未核查的规则 Rules not checked</b> — 缺少图层或属性，"
                      f"这些规则对任何选址都不是“通过” · a missing layer never yields pass:"
                      f"<ul>{items}</ul></div>")
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
        ("核查时间 checked (UTC)", s.get("started_utc")),
        ("geoplan", s.get("geoplan_version", __version__)),
    ]
    meta = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in meta_rows)
    layer_rows = "".join(
        f"<tr><td><code>{esc(ly.get('kind'))}</code></td>"
        f"<td>{esc(KINDS[ly['kind']].label_zh if ly.get('kind') in KINDS else '')}</td>"
        f"<td>{esc(ly.get('source'))}</td><td class='num'>{esc(ly.get('features'))}</td>"
        f"<td>{esc(ly.get('crs'))}</td><td><code>{esc(str(ly.get('sha256') or '')[:12])}</code>"
        f"</td></tr>" for ly in s.get("layers", []))
    more = ""
    if n_detail > max_sections:
        more = (f"<p class='muted'>仅列出前 {max_sections} 处，共 {n_detail} 处；其余见 "
                f"findings.csv · the first {max_sections} of {n_detail} are shown; see "
                f"findings.csv for the rest.</p>")
    detail_names = " / ".join(f"{STATUS_LABELS[d][0]} {STATUS_LABELS[d][1]}" for d in detail
                              if d in STATUS_LABELS)
    generated = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>\n<html lang='zh-CN'>\n<head>\n<meta charset='utf-8'>\n",
        f"<title>{esc(head_title)}</title>\n",
        map_head,
        f"<style>{_CSS}</style>\n</head>\n<body>\n<div class='gp-report'>\n",
        f"<h1>{esc(subj_zh)}选址核查报告 <span class='en'>{esc(subj_en)} site review report"
        f"</span></h1>" if title is None else f"<h1>{esc(title)}</h1>",
        f"<table class='meta'>{meta}</table>",
        *alerts,
        "<h2>核查结论汇总 <span class='en'>Summary by verdict</span></h2>",
        _verdict_table(counts),
        "<h2>按规则 <span class='en'>By rule</span></h2>",
        _rule_table(result),
        "<h2>按乡镇与村 <span class='en'>By township and village</span></h2>",
        _area_table(result),
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

