"""The data of one map: sites, footprints, evidence and nearby constraint layers as one JSON block.

:func:`payload` gathers what the page draws — per site its verdict, popup
attributes and failed or warned rules; the evidence; each constraint layer
clipped to the batch's box — and the counts the panel shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from json.encoder import encode_basestring
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from ..checkdata import CheckData
from ..core import STATUS_COLOURS, STATUS_DARK, STATUS_LABELS, STATUS_ORDER
from ..engine.prepare import note_zh
from ..hygiene import on_two_threads
from ..kinds import KINDS
from ..pages import drawable, esc
from ..sites import distinct_columns
from ._display import bounds_latlon, dumps, fc, geojson_bounds, to_display
from .basemaps import MapError
from .overlay import PLACEMENT_GROUP, Addition, SiteNote, site_notes
from .style import GROUP_LABELS, kind_style
from .text import esc_values, format_limit, format_measure

__all__ = ["Payload", "payload"]


_DEFAULT_ON_EXTRA = frozenset({"village", "village_boundary", "urban_boundary", "road"})
_DEFAULT_EXCLUDED = frozenset({"landuse"})

_TIP_FIELDS = ("name", "village", "township", "level", "hazard_type", "voltage_kv", "kind",
               "species", "age_years", "layout_class", "class", "code", "status")

_FIELD_LABELS: dict[str, tuple[str, str]] = {
    "name": ("名称", "name"), "village": ("村", "village"), "township": ("乡镇", "township"),
    "owner": ("户主", "owner"), "applicant": ("申请人", "applicant"),
    "address": ("地址", "address"), "floors": ("层数", "floors"), "class": ("等级", "class"),
    "width_m": ("路宽(米)", "width m"), "surface": ("路面", "surface"),
    "status": ("状态", "status"), "type": ("类型", "type"),
}
_POPUP_FIELDS = ("applicant", "village", "township", "name", "owner", "address", "floors",
                 "type", "class", "width_m", "surface")
"""The site attributes a popup shows by default: the first four present (a column equal to
one before it, as ``name`` copied into ``applicant``, is shown once)."""


def _detail(message: Any, title: str) -> str:
    """The part of a message after its rule title (the title is shown already)."""
    if not isinstance(message, str):
        return ""
    for sep in ("：", ": "):
        head = title + sep
        if title and message.startswith(head):
            return message[len(head):]
    return message


@dataclass
class Payload:
    json: str
    counts: dict[str, int]
    drawn: int
    no_geometry: int
    layers: list[dict[str, Any]]
    n_evidence: int
    n_footprints: int
    subject: str


def _site_geometries(result: CheckData) -> tuple[gpd.GeoSeries, pyproj.CRS]:
    v = result.verdicts
    work = result.workspace.crs
    geo = v.geometry
    if geo.crs is None:
        geo = geo.set_crs(work)
    return geo.to_crs(work), work


def _popup_fields(verdicts: pd.DataFrame, popup_fields: Sequence[str] | None) -> list[str]:
    if popup_fields is not None:
        return [f for f in popup_fields if f in verdicts.columns]
    return distinct_columns(verdicts, _POPUP_FIELDS)[:4]


def _field_label(name: str) -> str:
    zh, en = _FIELD_LABELS.get(name, ("", name))
    return esc(f"{zh} {en}".strip())


def _findings_by_site(result: CheckData, rule_index: Mapping[str, int], rules: Mapping[str, Any],
                      messages: bool) -> tuple[dict[str, list[list[Any]]], dict[str, str]]:
    f = result.findings
    status_idx = {s: i for i, s in enumerate(STATUS_ORDER)}
    bad = f[f["status"].isin(["fail", "error", "warn"])]
    bad = bad.assign(gp_s=bad["status"].map(status_idx), gp_r=bad["rule_id"].map(rule_index))
    bad = bad.sort_values(["site_id", "gp_s", "gp_r"], kind="stable")
    out: dict[str, list[list[Any]]] = {}
    for row in bad.itertuples(index=False):
        rule = rules.get(row.rule_id)
        tzh = rule.title_zh if rule is not None else ""
        ten = rule.title_en if rule is not None else ""
        item = [int(row.gp_r), int(row.gp_s),
                esc(format_measure(row.measure, row.unit)),
                esc(format_limit(row.threshold, row.unit, rule)),
                esc(_detail(row.message_zh, tzh)) if messages else "",
                esc(_detail(row.message_en, ten)) if messages else ""]
        decision = getattr(row, "decision", "")
        if isinstance(decision, str) and decision:  # geoplan.decisions applied to this finding
            item.append(esc(decision))
        out.setdefault(str(row.site_id), []).append(item)
    nc = f[f["status"] == "not_checked"]
    rule_ids: dict[str, list[str]] = {}  # per site, in the findings' order (one pass, not a group each)
    for sid, rid in zip(nc["site_id"].tolist(), nc["rule_id"].astype(str).tolist(), strict=True):
        if not pd.isna(sid):
            rule_ids.setdefault(str(sid), []).append(rid)
    not_checked = {k: esc(", ".join(v)) for k, v in rule_ids.items()}
    return out, not_checked


def _constraint_kinds(result: CheckData, layers: Sequence[str] | None) -> list[str]:
    ws = result.workspace
    vector = [k for k in ws.layers if hasattr(ws.layers[k], "gdf")]
    if layers is not None:
        unknown = [k for k in layers if k not in ws.layers]
        if unknown:
            raise MapError(f"layers {unknown} are not in the workspace; it has "
                           f"{', '.join(sorted(vector))}")
        chosen = [k for k in layers if k in vector]
    else:
        chosen = [k for k in vector if k not in _DEFAULT_EXCLUDED]
    order = list(GROUP_LABELS)
    kind_order = list(KINDS)

    def key(k: str) -> tuple[int, int, str]:
        g = KINDS[k].group if k in KINDS else "other"
        return (order.index(g) if g in order else len(order),
                kind_order.index(k) if k in kind_order else len(kind_order), k)

    return sorted(chosen, key=key)


def _tooltip_texts(sub: pd.DataFrame, fields: Sequence[tuple[str, str]]) -> np.ndarray:
    """Per feature, its non-empty fields as ``label: value`` joined by `` · `` (escaped)."""
    out = np.full(len(sub), "", dtype=object)
    for name, label in fields:
        text = esc_values(sub[name])
        some = text != ""
        piece = (label + ": ") + text[some] if label else text[some]
        out[some] = np.where(out[some] != "", out[some] + " · " + piece, piece)
    return out


def _constraint_layer_data(result: CheckData, kinds: Sequence[str], box: tuple[float, ...],
                           *, gcj02: bool, simplify_m: float, precision: int,
                           default_on: set[str]) -> list[dict[str, Any]]:
    ws = result.workspace
    rect = shapely.box(*box)
    out = []
    for kind in kinds:
        layer = ws.layers[kind]
        gdf: gpd.GeoDataFrame = layer.gdf
        k = KINDS.get(kind)
        group = k.group if k is not None else "other"
        zh = k.label_zh if k is not None else kind
        en = k.label_en if k is not None else kind
        if len(gdf):
            idx = np.sort(gdf.sindex.query(rect, predicate="intersects"))
            sub = gdf.iloc[idx]
        else:
            sub = gdf
        geoms = np.asarray(sub.geometry.values, dtype=object)
        if len(geoms):
            geoms = shapely.clip_by_rect(geoms, *box)
            if simplify_m > 0:
                geoms = on_two_threads(
                    partial(shapely.simplify, tolerance=simplify_m, preserve_topology=True), geoms)
            keep = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
            geoms = geoms[keep]
            sub = sub[keep]
        labels = kind == "village" and len(sub) <= 500
        if labels:
            tip_fields: list[tuple[str, str]] = [("name", "")]
        else:
            specs = {f.name: f.label_zh for f in (k.fields if k is not None else ())}
            tip_fields = [(c, esc(f"{specs.get(c, '')} {c}".strip()))
                          for c in _TIP_FIELDS if c in sub.columns]
        tips = _tooltip_texts(sub, tip_fields)
        gj = to_display(geoms, gdf.crs, gcj02=gcj02, precision=precision)
        props = ['{"t":' + encode_basestring(t) + "}" if t else "{}" for t in tips.tolist()]
        style = kind_style(kind)
        out.append({
            "kind": kind, "zh": esc(zh), "en": esc(en), "group": group,
            "style": style, "on": kind in default_on, "labels": labels, "n": len(gj),
            "data": fc(gj, props),
        })
    return out


def _site_extras(p: dict[str, Any], sid: str, note: str, not_checked: Mapping[str, str],
                 notes: Mapping[str, Sequence[SiteNote]]) -> None:
    """A site's popup extras (in place): why not checked, analysis notes, what was done to it."""
    if sid in not_checked:
        p["n"] = not_checked[sid]
    if sid in notes:
        p["g"] = [[esc(nt.zh), esc(nt.en)] for nt in notes[sid]]
    if note:
        parts = note.split("; ")
        p["o"] = esc("；".join(note_zh(x) for x in parts) + " · " + note)
        if any(x.startswith("point buffered") for x in parts):
            p["nom"] = 1   # the measures are on a footprint geoplan drew, not a surveyed one


def _overlay_layer_data(additions: Sequence[Addition], box: tuple[float, ...], work: pyproj.CRS,
                        *, gcj02: bool, simplify_m: float, precision: int,
                        ) -> list[dict[str, Any]]:
    """The additions' layers, clipped to the map's box like the constraint layers."""
    out = []
    for a in additions:
        for ov in a.overlays():
            g = ov.geometry
            if g.crs is not None and not pyproj.CRS(g.crs).equals(work):
                g = g.to_crs(work)
            geoms = np.asarray(g.values, dtype=object)
            tips = list(ov.tips) if ov.tips is not None else [""] * len(geoms)
            if len(geoms):
                geoms = shapely.clip_by_rect(geoms, *box)
                if simplify_m > 0 and ov.family == "polygon":
                    geoms = shapely.simplify(geoms, simplify_m / 4, preserve_topology=True)
                keep = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms))
                geoms = geoms[keep]
                tips = [t for t, k in zip(tips, keep, strict=True) if k]
            gj = to_display(geoms, work, gcj02=gcj02, precision=precision)
            props = [dumps({"t": esc(t)}) if t else "{}" for t in tips]
            out.append({
                "kind": ov.key, "zh": esc(ov.label_zh), "en": esc(ov.label_en),
                "group": PLACEMENT_GROUP, "style": dict(ov.style), "on": bool(ov.on),
                "labels": False, "n": len(gj), "family": ov.family, "data": fc(gj, props),
            })
    return out


def _rule_table(result: CheckData) -> tuple[dict[str, Any], dict[str, int],
                                            list[dict[str, Any]]]:
    """The rules by id, each rule's index and the table of their titles the page shows.

    The index numbers the subject's rules first, then any other rule in the
    findings.
    """
    rules = {r.id: r for r in result.pack.rules}
    rule_ids = [r.id for r in result.pack.for_subject(result.subject)]
    for rid in result.findings["rule_id"].astype(str).unique():
        if rid not in rule_ids:
            rule_ids.append(rid)
    rule_index = {rid: i for i, rid in enumerate(rule_ids)}
    rules_tab = []
    for rid in rule_ids:
        r = rules.get(rid)
        rules_tab.append({"id": esc(rid), "zh": esc(r.title_zh if r else rid),
                          "en": esc(r.title_en if r else ""), "cl": esc(r.clause if r else ""),
                          "ver": bool(r.verified) if r else False})
    return rules, rule_index, rules_tab


def _default_on(result: CheckData) -> set[str]:
    """The constraint layers shown when the map opens.

    The layers the subject's rules read (but the dense land layers, farmland
    and forest), the villages, boundaries and roads to find one's way, and
    every layer a rule read that failed or warned for some site — the land
    layers included.
    """
    rules = {r.id: r for r in result.pack.rules}
    used = {r.layer for r in result.pack.for_subject(result.subject) if r.layer}
    on = {k for k in (used | _DEFAULT_ON_EXTRA)
          if not (k in KINDS and KINDS[k].group == "land")}
    f = result.findings
    if len(f):
        bad = f.loc[f["status"].isin(["fail", "warn"]), "rule_id"].astype(str).unique()
        on |= {rules[rid].layer for rid in bad if rid in rules and rules[rid].layer}
    return {k for k in on if isinstance(k, str)}


def payload(result: CheckData, *, gcj02: bool, layers: Sequence[str] | None, margin_m: float,
             simplify_m: float, precision: int, popup_fields: Sequence[str] | None,
             messages: bool, footprint_zoom: int, label_zoom: int,
             additions: Sequence[Addition] = ()) -> Payload:
    v = result.verdicts
    geo_w, work = _site_geometries(result)
    geoms = np.asarray(geo_w.values, dtype=object)
    has = drawable(geoms)
    dims = np.where(has, shapely.get_dimensions(geoms), -1)

    # rules and statuses tables
    rules, rule_index, rules_tab = _rule_table(result)
    statuses = [{"k": s, "zh": STATUS_LABELS[s][0], "en": STATUS_LABELS[s][1],
                 "c": STATUS_COLOURS[s], "dark": STATUS_DARK[s],
                 "t": "#222222" if s == "warn" else "#ffffff"} for s in STATUS_ORDER]
    vidx = {s: i for i, s in enumerate(STATUS_ORDER)}

    by_site, not_checked = _findings_by_site(result, rule_index, rules, messages)
    notes = site_notes(additions)
    site_note = (v["notes"].fillna("").astype(str).to_numpy() if "notes" in v.columns
                 else np.full(len(v), "", dtype=object))
    fields = _popup_fields(v, popup_fields)
    field_cols = [v[c].to_numpy() for c in fields]

    # sites: points as they are, lines as lines, polygons as a representative point
    # (always visible) plus a footprint shown when zoomed in
    site_geom = geoms.copy()
    poly = dims == 2
    site_geom[poly] = shapely.point_on_surface(geoms[poly])
    multi_pt = (dims == 0) & (shapely.get_type_id(np.where(has, geoms, None)) != 0)
    site_geom[multi_pt] = shapely.centroid(geoms[multi_pt])
    rows = np.flatnonzero(has)
    gj_sites = to_display(site_geom[rows], work, gcj02=gcj02, precision=precision)
    site_ids = v["site_id"].astype(str).to_numpy()
    verdicts = v["verdict"].astype(str).to_numpy()
    props = []
    row_to_feature: dict[int, int] = {}
    for fi, r in enumerate(rows):
        sid = site_ids[r]
        p: dict[str, Any] = {"i": esc(sid), "v": vidx.get(verdicts[r], 3), "r": int(r)}
        if poly[r]:
            p["fp"] = 1
        attrs = [[j, esc(col[r])] for j, col in enumerate(field_cols) if esc(col[r])]
        if attrs:
            p["a"] = attrs
        f = by_site.get(sid)
        if f:
            p["f"] = f
        _site_extras(p, sid, site_note[r], not_checked, notes)
        props.append(dumps(p))
        row_to_feature[int(r)] = fi
    sites_fc = fc(gj_sites, props)

    fp_rows = np.flatnonzero(poly)
    gj_fp = to_display(geoms[fp_rows], work, gcj02=gcj02, precision=precision)
    fp_props = [dumps({"s": row_to_feature[int(r)], "v": vidx.get(verdicts[r], 3)})
                for r in fp_rows]
    footprints_fc = fc(gj_fp, fp_props)

    # evidence
    ev = result.evidence
    if len(ev):
        ev = ev[~(ev.geometry.is_empty | ev.geometry.isna())]
    ev_props = []
    for row in ev.itertuples(index=False):
        parts = []
        a = getattr(row, "area_m2", None)
        ln = getattr(row, "length_m", None)
        if a is not None and np.isfinite(a) and a > 0:
            parts.append(format_measure(a, "m2"))
        if ln is not None and np.isfinite(ln) and ln > 0:
            parts.append(f"长 length {ln:,.1f} m")
        ev_props.append(dumps({"i": esc(row.site_id), "r": rule_index.get(str(row.rule_id), 0),
                                "s": vidx.get(str(row.status), 0), "t": esc(" · ".join(parts))}))
    gj_ev = to_display(np.asarray(ev.geometry.values, dtype=object), ev.crs or work,
                        gcj02=gcj02, precision=precision)
    evidence_fc = fc(gj_ev, ev_props)

    # constraint layers near the batch: the batch box plus a margin, in the working CRS
    if has.any():
        b = shapely.total_bounds(geoms[has])
    else:
        boxes = [lay.gdf.total_bounds for lay in result.workspace.layers.values()
                 if hasattr(lay, "gdf") and len(lay.gdf)]
        b = (np.array([min(x[0] for x in boxes), min(x[1] for x in boxes),
                       max(x[2] for x in boxes), max(x[3] for x in boxes)])
             if boxes else np.array([0.0, 0.0, 0.0, 0.0]))
    box = (float(b[0] - margin_m), float(b[1] - margin_m),
           float(b[2] + margin_m), float(b[3] + margin_m))
    kinds = _constraint_kinds(result, layers)
    # on at first: what the subject's rules use, and villages and roads to find one's way;
    # dense land-use parcels (farmland, forest) only when a rule reading them failed or
    # warned for some site: then they are what the map is about
    default_on = _default_on(result)
    cl = _constraint_layer_data(result, kinds, box, gcj02=gcj02, simplify_m=simplify_m,
                                precision=precision, default_on=default_on)
    cl += _overlay_layer_data(additions, box, work, gcj02=gcj02, simplify_m=simplify_m,
                              precision=precision)

    # bounds of the batch in display coordinates
    if len(gj_sites):
        bounds = bounds_latlon([geojson_bounds(gj_sites), geojson_bounds(gj_fp)])
    else:
        corner = to_display(np.array([shapely.box(*box)], dtype=object), work, gcj02=gcj02,
                             precision=precision)
        bounds = bounds_latlon([geojson_bounds(corner)])

    counts = {s: int((verdicts == s).sum()) for s in STATUS_ORDER}
    raw: dict[str, str] = {
        "sites": sites_fc, "footprints": footprints_fc, "evidence": evidence_fc,
    }
    layer_meta = []
    for i, ly in enumerate(cl):
        key = f"layer{i}"
        raw[key] = ly["data"]
        meta = {k: val for k, val in ly.items() if k != "data"}
        meta["data"] = key
        layer_meta.append(meta)
    data = {
        "verdicts": statuses, "statuses": statuses, "rules": rules_tab,
        "fields": [_field_label(f) for f in fields],
        "bounds": bounds, "footprintZoom": footprint_zoom, "labelZoom": label_zoom,
        "counts": counts, "gcj02": gcj02,
        "sites": "\x00sites\x00", "footprints": "\x00footprints\x00",
        "evidence": "\x00evidence\x00",
        "layers": [dict(meta, data=f"\x00{meta['data']}\x00") for meta in layer_meta],
    }
    text = dumps(data)
    for key, val in raw.items():
        text = text.replace(dumps(f"\x00{key}\x00"), val, 1)
    return Payload(json=text, counts=counts, drawn=len(gj_sites),
                    no_geometry=int((~has).sum()), layers=layer_meta,
                    n_evidence=len(gj_ev), n_footprints=len(gj_fp), subject=result.subject)
