"""Folium maps for the planning analyses, readable without a network.

A default :class:`folium.Map` loads Leaflet, jQuery, Bootstrap and plugins
from CDNs and shows nothing offline. These maps use only Leaflet itself, and
carry its JavaScript and CSS inline (read by :func:`geoplan.maps.leaflet_assets`
from the ``django-js-lib-leaflet`` package), so they draw on an intranet or in
Jupyter with no network. The basemap follows the policy of the check's map
(:func:`geoplan.maps.result_map`): OpenStreetMap by default, ``none`` when
``offline``, a named basemap or a tile URL template; its tiles are the only
thing fetched online. Every piece of data text that reaches a tooltip, popup or
legend is escaped with :func:`html.escape` (and, in tooltips, the characters
that could end folium's JavaScript template string).

What a planner sees, on every analysis map:

* the basemaps are the base layers of the layer control (a radio choice
  between the basemap and "无底图 no basemap"); the analysis' layers are
  overlays, so they stay drawn whichever base layer is picked;
* a legend with numbers — counts, areas, distances, or the breaks, minimum,
  maximum and unit of a colour ramp — in a Leaflet control at the bottom
  right, so it never covers the metric scale bar at the bottom left; a block
  of the legend that belongs to a layer shows while that layer is on;
* hover tooltips that wrap and stay inside the map;
* a note under the title when the basemap's tiles cannot be loaded, and
  geoplan's message (:mod:`geoplan.maps.frame`) when the map's scripts cannot
  run.

A map is built with :func:`base_map`, filled, labelled with :func:`legend`
and closed with :func:`finish` (the layer control and the script that ties
the legend to the layers).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np

__all__ = ["base_map", "esc", "finish", "legend", "nice_ceiling", "number", "ramp", "ramp_breaks",
           "ramp_legend", "tooltip"]

_CSS = """
.gp-atitle { background: #fff; padding: 4px 8px; border: 1px solid #999; border-radius: 4px;
  max-width: min(420px, calc(100vw - 90px));
  font: 14px/1.35 "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", system-ui, sans-serif; }
.gp-atitle .gp-tilenote { font-size: 12px; color: #5c4400; background: #fff3cd;
  border: 1px solid #e0b84c; border-radius: 3px; padding: 2px 5px; margin-top: 4px; }
.gp-legend { background: rgba(255, 255, 255, 0.96); padding: 6px 8px; border: 1px solid #999;
  border-radius: 4px; max-width: 290px; max-height: calc(100vh - 110px); overflow-y: auto;
  font: 12px/1.4 "Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", system-ui, sans-serif; }
.gp-legend .gp-lg-title { font-weight: 700; margin-bottom: 3px; }
.gp-legend .gp-lg-row { padding-left: 20px; text-indent: -20px; }
.gp-legend .gp-lg-sw { display: inline-block; width: 12px; height: 12px; margin-right: 6px;
  border: 1px solid #555; vertical-align: -2px; text-indent: 0; }
.gp-legend .gp-lg-note { color: #555; margin-top: 3px; white-space: normal; }
.gp-legend .gp-lg-block + .gp-lg-block { margin-top: 6px; padding-top: 5px;
  border-top: 1px solid #ddd; }
.gp-atip { white-space: normal; width: max-content; max-width: min(320px, calc(100vw - 40px)); }
"""

# Text folium writes into a page is run through Jinja once more (branca's MacroElement
# re-parses what its macros return) and tooltips go into a JavaScript template string:
# braces, backquotes, dollar signs and backslashes in data text become HTML character
# references, which show the same and mean nothing to Jinja or JavaScript.
_TOOLTIP_UNSAFE = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;", "{": "&#123;",
                                 "}": "&#125;"})


def inert(text: str) -> str:
    """Pre-escaped HTML made inert for folium's templates (see ``_TOOLTIP_UNSAFE``)."""
    return text.translate(_TOOLTIP_UNSAFE)


def _raw(text: str) -> Any:
    """An element that places ``text`` into the page as it is (never run through Jinja)."""
    from branca.element import Element

    el = Element()
    el.render = lambda **kwargs: text  # type: ignore[method-assign]
    return el


def _page_part(body: str, script: str) -> Any:
    """A child of a map that writes ``body`` and ``script`` into the rendered page.

    ``script`` comes after the map's own; neither is run through Jinja.
    """
    from branca.element import MacroElement

    class _Part(MacroElement):
        def render(self, **kwargs: Any) -> None:
            fig = self.get_root()
            fig.html.add_child(_raw(body), name=f"{self.get_name()}_html")
            fig.script.add_child(_raw(script), name=f"{self.get_name()}_script")

    return _Part()


@dataclass
class _Chrome:
    """geoplan's parts of one analysis map, written into the page by :func:`finish`."""

    uid: str
    title: str
    tiles: bool
    blocks: list[tuple[str, Any]] = field(default_factory=list)  # (html, layer or None)


def _chrome(m: Any) -> _Chrome:
    chrome = getattr(m, "geoplan_chrome", None)
    if not isinstance(chrome, _Chrome):
        msg = "not a geoplan analysis map: make it with base_map()"
        raise TypeError(msg)
    return chrome


def esc(v: Any) -> str:
    """Data text made safe for HTML (``None``/NaN → empty)."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (float, np.floating)):
        return html.escape(f"{float(v):,.0f}" if abs(v) >= 100 else f"{float(v):.1f}")
    return html.escape(str(v))


def base_map(bounds_4326: Sequence[float], *, title: str = "",
             basemap: str | Sequence[str] | None = None, tk: str | None = None,
             offline: bool = False, attribution: str | None = None) -> Any:
    """An empty folium map fitted to ``(minx, miny, maxx, maxy)`` in lon/lat.

    Leaflet only (no jQuery, Bootstrap or plugins), inlined; a metric scale
    bar; the basemap as for :func:`geoplan.maps.result_map` — OpenStreetMap
    by default (it simply stays blank with no network; the layers still
    draw), nothing when ``offline`` (then the page makes no request at all),
    a named basemap or a tile URL template. The basemaps are the base layers
    of the layer control, with "无底图 no basemap" beside them. Add the
    analysis' layers (overlays), :func:`legend` blocks, then :func:`finish`.

    Raises
    ------
    MapError
        A bad basemap choice or tile URL, or an Amap basemap (GCJ-02).
    """
    import folium
    from branca.element import MacroElement
    from jinja2 import Template

    from ..maps.basemaps import add_tile_layers, helper_script, leaflet_assets, resolve_basemaps
    from ..maps.frame import GeoplanMap

    basemaps = resolve_basemaps(basemap, offline=offline, tk=tk, attribution=attribution,
                                gcj02=False)
    m = GeoplanMap(tiles=None, control_scale=False)
    m.default_js = []
    m.default_css = []
    js, css = leaflet_assets()  # inlined: the page needs no network
    header = m.get_root().header  # type: ignore[attr-defined]
    header.add_child(_raw("<style>" + css + "</style>"), name="leaflet_css_inline")
    header.add_child(_raw("<script>" + js + "</script>"), name="leaflet_js_inline")
    header.add_child(_raw(f"<style>{_CSS}</style>\n<script>{helper_script()}</script>"),
                     name="geoplan_inline")
    tiled = any(b.tiles for b in basemaps)
    # the basemaps are the base layers (radio); "none" lets the analysis be seen on its own
    add_tile_layers(m, basemaps, tk, control=True)
    if tiled:
        folium.FeatureGroup(name="无底图 No basemap", overlay=False, control=True,
                            show=False).add_to(m)
    scale = MacroElement()
    scale._template = Template(  # metric only (folium's control_scale adds miles and feet)
        "{% macro script(this, kwargs) %}L.control.scale({imperial: false, maxWidth: 160, "
        'position: "bottomleft"}).addTo({{ this._parent.get_name() }});{% endmacro %}')
    scale.add_to(m)
    minx, miny, maxx, maxy = bounds_4326
    if np.all(np.isfinite([minx, miny, maxx, maxy])):
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    m.geoplan_chrome = _Chrome(uid=m.get_name().split("_")[-1], title=title,  # type: ignore[attr-defined]
                               tiles=tiled)
    return m


def legend(m: Any, title: str, items: Iterable[tuple[str, str]], *, layer: Any = None,
           note: str = "") -> None:
    """A block of the map's legend: ``items`` are (colour, label); all text escaped.

    With ``layer`` (a folium layer of the map) the block shows only while
    that layer is on. ``note`` is a line under the items (units, method).
    """
    rows = "".join(
        f'<div class="gp-lg-row"><span class="gp-lg-sw" style="background:{html.escape(c)}">'
        f"</span>{html.escape(label)}</div>" for c, label in items)
    text = (f'<div class="gp-lg-title">{html.escape(title)}</div>{rows}'
            + (f'<div class="gp-lg-note">{html.escape(note)}</div>' if note else ""))
    _chrome(m).blocks.append((text, layer))


def ramp_breaks(vmin: float, vmax: float, n: int = 5) -> list[float]:
    """The ``n + 1`` class limits of :func:`ramp` from ``vmin`` to ``vmax``."""
    step = (vmax - vmin) / n
    return [vmin + k * step for k in range(n + 1)]


def nice_ceiling(v: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ᵏ at or above ``v`` (> 0): a round top for a ramp."""
    if not math.isfinite(v) or v <= 0:
        return 1.0
    k = math.floor(math.log10(v))
    for f in (1.0, 2.0, 2.5, 5.0, 10.0):
        top = f * 10.0 ** k
        if top >= v * (1 - 1e-12):
            return top
    return 10.0 ** (k + 1)


def number(v: float) -> str:
    """A limit or a measure, short: 1,250 · 12.5 · 0.25 · 0."""
    if not math.isfinite(v):
        return "–"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    text = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def ramp_legend(m: Any, title: str, unit: str, values: Sequence[float], vmin: float,
                vmax: float, *, layer: Any = None,
                colours: Sequence[str] = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a",
                                          "#1a9641"),
                missing: str = "#bbbbbb") -> None:
    """The legend block of a choropleth coloured by :func:`ramp`.

    Each class with its limits and unit, the lowest and highest value drawn,
    and "no data" when a value is missing.
    """
    b = ramp_breaks(vmin, vmax, len(colours))
    u = f" {unit}" if unit else ""
    items = [(c, f"{number(lo)} – {number(hi)}{u}")
             for c, lo, hi in zip(colours, b[:-1], b[1:], strict=True)]
    vals = np.asarray(values, dtype=float)
    good = vals[np.isfinite(vals)]
    if len(good) < len(vals):
        items.append((missing, "无数据 no data"))
    note = (f"最小 min {number(float(good.min()))}{u} · 最大 max {number(float(good.max()))}{u}"
            if len(good) else "无数据 no data")
    legend(m, title, items, layer=layer, note=note)


def finish(m: Any, *, exclusive: Sequence[Any] = ()) -> Any:
    """Close an analysis map: its layer control, legend, title and the script tying them.

    ``exclusive`` overlays show one at a time (switching one on switches the
    others off), as the indicators of a choropleth do. Returns ``m``.
    """
    import folium

    from ..maps.frame import fallback_div, fallback_removal

    chrome = _chrome(m)
    folium.LayerControl(collapsed=True).add_to(m)
    map_name = m.get_name()
    fallback, legend_id = f"gp-nojs-{chrome.uid}", f"gp-legend-{chrome.uid}"
    title_id, note_id = f"gp-title-{chrome.uid}", f"gp-tilenote-{chrome.uid}"
    parts = [fallback_div(fallback)]
    if chrome.title or chrome.tiles:
        note = (f'<div id="{note_id}" class="gp-tilenote" hidden>底图未能加载（无网络或无法连接瓦片'
                "服务器），图上只有分析图层 · the basemap could not be loaded (no network, or the "
                "tile server cannot be reached): only the layers are drawn</div>"
                if chrome.tiles else "")
        parts.append(f'<div id="{title_id}" class="gp-atitle" style="display:none">'
                     f"{html.escape(chrome.title)}{note}</div>")
    layers: dict[str, str] = {}
    blocks = []
    for text, layer in chrome.blocks:
        if layer is None:
            blocks.append(f'<div class="gp-lg-block">{text}</div>')
        else:
            layers[layer.get_name()] = layer.get_name()
            blocks.append(f'<div class="gp-lg-block" data-gp-layer="{layer.get_name()}">'
                          f"{text}</div>")
    if blocks:
        parts.append(f'<div id="{legend_id}" class="gp-legend" style="display:none">'
                     f'{"".join(blocks)}</div>')
    follow = "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in layers.items()) + "}"
    script = (
        "(function () {\n"
        f"  var map = {map_name}, U = window.geoplanUtil;\n"
        "  U.keepTooltipsInside(map);\n"
        + (f"  U.control(map, {json.dumps(title_id)}, 'topleft');\n"
           if chrome.title or chrome.tiles else "")
        + (f"  U.followLayers(map, U.control(map, {json.dumps(legend_id)}, 'bottomright'), "
           f"{follow});\n" if blocks else "")
        + (f"  U.exclusive(map, [{', '.join(g.get_name() for g in exclusive)}]);\n"
           if exclusive else "")
        + ("  U.watchTiles(map, function (failed) {\n"
           f"    var n = document.getElementById({json.dumps(note_id)});\n"
           "    if (n) { n.hidden = !failed; }\n  });\n" if chrome.tiles else "")
        + "})();\n" + fallback_removal(fallback))
    m.add_child(_page_part("\n".join(parts), script), name=f"geoplan_{chrome.uid}")
    return m


def to_lonlat(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The frame in EPSG:4326 for folium."""
    return gdf.to_crs(4326) if gdf.crs is not None else gdf


def bounds_lonlat(*frames: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """Joint lon/lat bounds of non-empty frames."""
    boxes = [to_lonlat(f).total_bounds for f in frames if f is not None and len(f)]
    boxes = [b for b in boxes if np.all(np.isfinite(b))]
    if not boxes:
        return (np.nan, np.nan, np.nan, np.nan)
    arr = np.array(boxes)
    return (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())


def tooltip(text: str) -> Any:
    """A hover tooltip of pre-escaped HTML: beside the mouse, wrapped, kept inside the map.

    folium writes the text into a JavaScript template string and through
    Jinja, so the characters that mean something there (backquote, dollar,
    backslash, braces) become HTML character references (:func:`inert`).
    """
    import folium

    return folium.Tooltip(inert(text), sticky=True, direction="auto", className="gp-atip")


def add_lines(group: Any, gdf: gpd.GeoDataFrame, *, color: str | Sequence[str], weight: float = 2,
              dash: str | None = None, tooltips: Sequence[str] | None = None) -> None:
    """Polylines for the (Multi)LineStrings of ``gdf``; tooltips are pre-escaped HTML."""
    import folium
    import shapely

    g = to_lonlat(gdf)
    colors = [color] * len(g) if isinstance(color, str) else list(color)
    for i, geom in enumerate(g.geometry.to_numpy()):
        if geom is None or geom.is_empty:
            continue
        for part in shapely.get_parts(geom):
            xy = shapely.get_coordinates(part)
            if len(xy) < 2:
                continue
            folium.PolyLine([(y, x) for x, y in xy], color=colors[i], weight=weight,
                            dash_array=dash,
                            tooltip=tooltip(tooltips[i]) if tooltips else None
                            ).add_to(group)


def add_points(group: Any, gdf: gpd.GeoDataFrame, *, color: str | Sequence[str],
               radius: float | Sequence[float] = 6, tooltips: Sequence[str] | None = None,
               fill_opacity: float = 0.85) -> None:
    """Circle markers at the representative points of ``gdf``; tooltips pre-escaped."""
    import folium

    g = to_lonlat(gdf)
    colors = [color] * len(g) if isinstance(color, str) else list(color)
    radii = [radius] * len(g) if isinstance(radius, (int, float)) else list(radius)
    for i, geom in enumerate(g.geometry.to_numpy()):
        if geom is None or geom.is_empty:
            continue
        p = geom if geom.geom_type == "Point" else geom.representative_point()
        folium.CircleMarker((p.y, p.x), radius=radii[i], color="#333", weight=1, fill=True,
                            fill_color=colors[i], fill_opacity=fill_opacity,
                            tooltip=tooltip(tooltips[i]) if tooltips else None
                            ).add_to(group)


def add_polygons(group: Any, gdf: gpd.GeoDataFrame, *, fill: Sequence[str],
                 tooltips: Sequence[str] | None = None, opacity: float = 0.6) -> None:
    """Filled polygons (choropleth cells); tooltips pre-escaped."""
    import folium

    g = to_lonlat(gdf)
    for i, geom in enumerate(g.geometry.to_numpy()):
        if geom is None or geom.is_empty:
            continue
        colour = fill[i]
        folium.GeoJson(
            geom.__geo_interface__,
            style_function=lambda _f, c=colour: {"fillColor": c, "color": "#444", "weight": 1,
                                                 "fillOpacity": opacity},
            tooltip=tooltip(tooltips[i]) if tooltips else None,
        ).add_to(group)


def ramp(values: Sequence[float], vmin: float, vmax: float,
         colours: Sequence[str] = ("#d7191c", "#fdae61", "#ffffbf", "#a6d96a", "#1a9641"),
         missing: str = "#bbbbbb") -> list[str]:
    """Colours for values on a stepped ramp from ``vmin`` to ``vmax``."""
    out = []
    n = len(colours)
    for v in values:
        if v is None or not np.isfinite(v):
            out.append(missing)
            continue
        f = 0.0 if vmax <= vmin else (float(v) - vmin) / (vmax - vmin)
        out.append(colours[int(np.clip(np.floor(f * n), 0, n - 1))])
    return out
