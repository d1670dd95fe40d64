"""The map page: the panel (legend and layer switches), the folium glue, :func:`result_map`.

Every text in the panel is escaped here; the data travel as JSON in a
``<script type="application/json">`` block that geoplan's own script draws.
"""

from __future__ import annotations

import functools
import html
import importlib.resources
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import folium
import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement

from ..checkdata import CheckData
from ..core import STATUS_COLOURS, STATUS_DARK, STATUS_LABELS, STATUS_ORDER, SUBJECT_LABELS
from ..kinds import KINDS
from ..pages import esc, script_json, script_safe, swatch
from ._payload import Payload, payload
from .basemaps import (
    Basemap,
    MapError,
    add_tile_layers,
    helper_script,
    leaflet_assets,
    resolve_basemaps,
)
from .frame import GeoplanMap, fallback_div, fallback_removal
from .overlay import Addition
from .style import GROUP_LABELS

__all__ = ["map_parts", "result_map", "save_map"]


@functools.cache
def _asset(name: str) -> str:
    return (importlib.resources.files("geoplan") / "_assets" / name).read_text(encoding="utf-8")


def _family(kind: str, result: CheckData) -> str:
    lay = result.workspace.layers.get(kind)
    if lay is not None and hasattr(lay, "gdf") and len(lay.gdf):
        d = shapely.get_dimensions(np.asarray(lay.gdf.geometry.values[:50], dtype=object))
        d = d[d >= 0]
        if len(d):
            return {0: "point", 1: "line"}.get(int(np.bincount(d).argmax()), "polygon")
    k = KINDS.get(kind)
    return k.families[0] if k is not None else "polygon"


def _panel_html(result: CheckData, pl: Payload, panel_id: str, basemaps: list[Basemap],
                title: str | None, offline: bool) -> str:
    subj_zh, subj_en = SUBJECT_LABELS.get(pl.subject, (pl.subject, pl.subject))
    head_title = esc(title) if title else (
        f'{esc(subj_zh)}选址核查 <span class="gp-en">{esc(subj_en)} site check</span>')
    total = sum(pl.counts.values())
    sub = (f"{total} 处选址 sites · {esc(result.pack.name)} {esc(result.pack.version)}")
    rows = []
    for i, s in enumerate(STATUS_ORDER):
        zh, en = STATUS_LABELS[s]
        sw = swatch({"color": "#ffffff", "fillColor": STATUS_COLOURS[s], "fillOpacity": 0.95},
                     "point", dot=True)
        rows.append(
            f'<label class="gp-row gp-big"><input type="checkbox" data-gp="v" data-i="{i}" checked>'
            f'{sw}<span class="gp-lab">{zh} <span class="gp-en">{en}</span></span>'
            f'<span class="gp-n" data-verdict="{s}">{pl.counts[s]}</span></label>')
    parts = [f'<div id="{panel_id}" class="gp-panel" style="display:none">',
             '<div class="gp-head"><button type="button" class="gp-toggle" '
             'title="图例与图层 收起/展开 · legend and layers: collapse/expand" '
             'aria-label="图例与图层 legend and layers" aria-expanded="true">☰</button>',
             f'<div class="gp-title">{head_title}</div><div class="gp-sub">{sub}</div>',
             f'{_tile_note(basemaps)}</div>',
             '<div class="gp-body">',
             '<div class="gp-sec">核查结论 <span class="gp-en">Verdicts</span></div>', *rows]
    if pl.no_geometry:
        parts.append(f'<div class="gp-note">另有 {pl.no_geometry} 处无几何图形，未绘制 · '
                     f'{pl.no_geometry} site(s) without geometry are not drawn</div>')
    parts.append('<div class="gp-sec">核查依据 <span class="gp-en">Evidence</span></div>')
    ev_sw = swatch({"color": STATUS_DARK["fail"], "fillColor": STATUS_COLOURS["fail"],
                     "fillOpacity": 0.65}, "polygon")
    parts.append(f'<label class="gp-row"><input type="checkbox" data-gp="ev" checked>{ev_sw}'
                 f'<span class="gp-lab">重叠与退距 <span class="gp-en">overlaps, setbacks</span>'
                 f'</span><span class="gp-n">{pl.n_evidence}</span></label>')
    if pl.n_footprints:
        fp_sw = swatch({"color": "#555", "fillColor": "#999", "fillOpacity": 0.25}, "polygon")
        parts.append(f'<label class="gp-row"><input type="checkbox" data-gp="fp" checked>{fp_sw}'
                     f'<span class="gp-lab">宅基轮廓 <span class="gp-en">footprints (zoom in)'
                     f'</span></span><span class="gp-n">{pl.n_footprints}</span></label>')
    if pl.layers:
        parts.append('<div class="gp-sec">约束图层 <span class="gp-en">Constraint layers</span></div>')
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for i, ly in enumerate(pl.layers):
        groups.setdefault(ly["group"], []).append((i, ly))
    for g, members in groups.items():
        gzh, gen = GROUP_LABELS.get(g, (g, g))
        parts.append(f'<details><summary>'
                     f'<input type="checkbox" data-gp="g" data-g="{esc(g)}"'
                     f'{" checked" if all(m["on"] for _, m in members) else ""}>'
                     f'{esc(gzh)} <span class="gp-en">{esc(gen)}</span></summary>')
        for i, ly in members:
            sw = swatch(ly["style"], ly.get("family") or _family(ly["kind"], result))
            parts.append(
                f'<label class="gp-row"><input type="checkbox" data-gp="c" data-i="{i}"'
                f'{" checked" if ly["on"] else ""}>{sw}<span class="gp-lab">{ly["zh"]} '
                f'<span class="gp-en">{ly["en"]}</span></span>'
                f'<span class="gp-n">{ly["n"]}</span></label>')
        parts.append("</details>")
    names = " + ".join(f"{esc(b.label_zh)} {esc(b.label_en)}" for b in basemaps)
    foot = [f"底图 Basemap: {names}"]
    if any(b.gcj02 for b in basemaps):
        foot.append('<div class="gp-warnbox">叠加图层已偏移至 GCJ-02 坐标以对齐高德底图；'
                    '请勿从本图量取坐标。<br><span class="gp-en">Overlays shifted to GCJ-02 to '
                    'match the Amap tiles (about 270 m at Yining); do not digitise coordinates '
                    'from this map.</span></div>')
    if offline and not any(b.tiles for b in basemaps):
        foot.append("离线地图，无底图 · offline, no basemap")
    foot.append("图层仅显示选址范围附近要素 · constraint features near the batch only")
    parts.append(f'<div class="gp-foot">{"<br>".join(foot)}</div>')
    parts.append("</div></div>")
    return "".join(parts)


def _tile_note(basemaps: list[Basemap]) -> str:
    """The panel's note that the basemap could not be loaded; geoplan-map.js shows it."""
    if not any(b.tiles for b in basemaps):
        return ""
    return ('<div class="gp-tilenote gp-warnbox" hidden>底图未能加载（无网络或无法连接瓦片'
            '服务器），图上只有核查图层。<br><span class="gp-en">The basemap could not be '
            'loaded (no network, or the tile server cannot be reached): only the layers are '
            'drawn.</span></div>')


class _Raw(Element):
    """Text placed into the page as it is (never run through a template)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text = text

    def render(self, **kwargs: Any) -> str:
        return self._text


class _GeoplanOverlay(MacroElement):
    """Adds the data block, the panel, the assets and the drawing call to the page."""

    def __init__(self, *, head: str, body: str, data_id: str, panel_id: str,
                 extra_script: str = "") -> None:
        super().__init__()
        self._name = "GeoplanOverlay"
        self._head = head
        self._body = body
        self._data_id = data_id
        self._panel_id = panel_id
        self._extra = extra_script

    def render(self, **kwargs: Any) -> None:
        figure = self.get_root()
        name = self.get_name()
        figure.header.add_child(_Raw(self._head), name=f"{name}_head")
        figure.html.add_child(_Raw(self._body), name=f"{name}_html")
        map_name = self._parent.get_name()
        call = (f"geoplanMap({map_name}, {json.dumps(self._data_id)}, "
                f"{json.dumps(self._panel_id)});{self._extra}")
        figure.script.add_child(_Raw(call), name=f"{name}_script")


def result_map(
    result: CheckData,
    *,
    basemap: str | Sequence[str] | None = None,
    tk: str | None = None,
    offline: bool = False,
    attribution: str | None = None,
    layers: Sequence[str] | None = None,
    margin_m: float = 500.0,
    simplify_m: float = 2.0,
    precision: int = 6,
    popup_fields: Sequence[str] | None = None,
    messages: bool = True,
    title: str | None = None,
    scroll_wheel_zoom: bool = True,
    footprint_zoom: int = 16,
    label_zoom: int = 12,
    additions: Sequence[Addition] = (),
    site: object | None = None,
    height: int | str | None = None,
) -> folium.Map:
    """Draw a check's sites, evidence and constraint layers on a folium map.

    Parameters
    ----------
    result : Result
        The check to draw.
    basemap : str or sequence of str, optional
        ``osm``, ``tianditu``, ``tianditu-img``, ``amap``, ``amap-img`` or ``none``
        (default ``osm``, or ``none`` when ``offline``), or a tile URL template
        such as ``https://tiles.example.org/{z}/{x}/{y}.png`` (``{s}`` for
        subdomains a–c; WGS84/CGCS2000 web-mercator tiles, e.g. a county's
        intranet server; named "自定义底图 custom tiles" in the panel). With an
        Amap basemap every overlay is shifted into GCJ-02 for display. Amap
        cannot be mixed with the others.
    tk : str, optional
        Tianditu key, needed by the Tianditu basemaps (and ``{tk}`` in a URL).
    offline : bool
        No basemap unless one is asked for: with the default ``basemap`` the
        page makes no request at all. Leaflet and every script and style are
        inlined in every page either way (from ``django-js-lib-leaflet``, no
        CDN), so the map draws without a network; only basemap tiles are
        fetched online.
    attribution : str, optional
        Credit line of a tile URL template (plain text; default its host).
    layers : sequence of str, optional
        Constraint layer kinds to include (default: every vector layer but
        ``landuse``). Layers used by the subject's rules are shown at first
        (farmland and forest land only when a rule reading them failed or
        warned for some site, as forest land in a batch of roads taking it),
        with the villages, boundaries and roads; the others can be switched
        on in the panel. The map opens on the whole batch.
    margin_m : float
        Constraint features are kept within the batch's box plus this margin
        (working CRS, metres) and clipped to it.
    simplify_m : float
        Display tolerance for constraint geometries, in working-CRS metres.
    precision : int
        Decimals of the lon/lat coordinates written (6 ≈ 0.1 m).
    popup_fields : sequence of str, optional
        Site attributes shown in the popup (default: the first four of name,
        owner, applicant, village, township, address, floors, type, class,
        width_m, surface present).
    messages : bool
        Include each finding's message (zh and en) in the popup.
    title : str, optional
        Panel and page title (default "农房选址核查 House site check" etc.).
    additions : sequence of Addition
        Analyses drawn with the check (see :mod:`geoplan.maps.overlay`): the
        result of :func:`geoplan.buildable` (buildable land by class) or of
        :func:`geoplan.suggest` (suggested footprints and moves, and each
        failing site's suggestion in its popup). :meth:`geoplan.Result.map`
        passes ``buildable=`` and ``suggestions=`` here.
    site : object, optional
        A site id: the map opens zoomed to that site (zoom 17 or closer) with
        its popup open, instead of showing the whole batch.
    height : int or str, optional
        The map's height in a notebook or a page (``600`` pixels, ``"70vh"``);
        default: 60 % of its width in a notebook, the whole window in a page.

    Returns
    -------
    folium.Map
        Call ``.save(path)``; displays inline in Jupyter.

    Raises
    ------
    MapError
        Unknown basemap, a tile URL without ``{z}``/``{x}``/``{y}``, Tianditu
        without ``tk``, Amap mixed with others, an unknown layer kind, or
        Leaflet's files (``django-js-lib-leaflet``) missing.
    """
    basemaps = resolve_basemaps(basemap, offline=offline, tk=tk, attribution=attribution)
    gcj02 = any(b.gcj02 for b in basemaps)
    pl = payload(result, gcj02=gcj02, layers=layers, margin_m=margin_m, simplify_m=simplify_m,
                  precision=precision, popup_fields=popup_fields, messages=messages,
                  footprint_zoom=footprint_zoom, label_zoom=label_zoom, additions=additions)

    m = GeoplanMap(location=[43.95, 81.3], zoom_start=11, tiles=None, prefer_canvas=True,
                   control_scale=False, max_zoom=20, scroll_wheel_zoom=scroll_wheel_zoom,
                   zoom_snap=0.25)
    subj_zh, subj_en = SUBJECT_LABELS.get(result.subject, (result.subject, result.subject))
    page_title = title or f"geoplan · {subj_zh}选址核查 {subj_en} site check"
    m.get_root().title = html.escape(page_title)
    js, css = leaflet_assets()  # always inlined (no CDN): only basemap tiles are fetched
    m.default_js = []           # folium's jQuery, Bootstrap, awesome-markers… are not loaded
    m.default_css = []
    head = (f"<style>{css}</style>\n<script>{js}</script>\n"
            f"<style>{_asset('geoplan-map.css')}</style>\n"
            f"<script>{helper_script()}</script>\n"
            f"<script>{script_safe(_asset('geoplan-map.js'))}</script>\n")
    add_tile_layers(m, basemaps, tk)
    uid = m.get_name().split("_")[-1]
    data_id, panel_id, nojs_id = f"gp-data-{uid}", f"gp-panel-{uid}", f"gp-nojs-{uid}"
    body = (fallback_div(nojs_id) + "\n"
            f'<script type="application/json" id="{data_id}">{script_json(pl.json)}</script>\n'
            + _panel_html(result, pl, panel_id, basemaps, title, offline))
    focus = _site_row(result, site) if site is not None else None
    _GeoplanOverlay(head=head, body=body, data_id=data_id, panel_id=panel_id,
                    extra_script=("" if focus is None else f"window.geoplan.showSite({focus});")
                    + fallback_removal(nojs_id)).add_to(m)
    if height is not None:
        Figure(height=f"{height}px" if isinstance(height, int) else str(height)).add_child(m)
    m.geoplan_summary = {  # type: ignore[attr-defined]
        "counts": pl.counts, "drawn": pl.drawn, "no_geometry": pl.no_geometry,
        "layers": {ly["kind"]: ly["n"] for ly in pl.layers}, "evidence": pl.n_evidence,
        "footprints": pl.n_footprints, "basemap": [b.name for b in basemaps],
        "gcj02": gcj02, "offline": offline,
    }
    return m


def _site_row(result: CheckData, site: object) -> int:
    """The verdict row of site id ``site`` (drawn on the map), or a MapError naming the fix."""
    ids = result.verdicts["site_id"].astype(str)
    rows = ids.index[ids == str(site)]
    if not len(rows):
        some = ", ".join(ids.head(5))
        raise MapError(f"no site {site!r} in this check (site ids look like {some}…); give one "
                       "of res.verdicts['site_id']")
    row = int(result.verdicts.index.get_loc(rows[0]))
    g = result.verdicts.geometry.iloc[row]
    if g is None or g.is_empty:
        raise MapError(f"site {site!r} has no geometry, so it is not on the map; see its row "
                       "in res.verdicts")
    return row


def map_parts(m: folium.Map) -> tuple[str, str, str]:
    """The ``<head>`` content, ``<body>`` content and script of a rendered map.

    Used to embed a map inside another page (the review report) without an
    iframe.
    """
    fig = m.get_root()
    fig.render()
    return fig.header.render(), fig.html.render(), fig.script.render()


def save_map(result: CheckData, path: str | Path, **kwargs: Any) -> Path:
    """Write :func:`result_map` of ``result`` to ``path`` (UTF-8 HTML); return the path."""
    p = Path(path)
    m = result_map(result, **kwargs)
    p.write_text(m.get_root().render(), encoding="utf-8")
    return p
