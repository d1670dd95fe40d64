"""Folium maps for the planning analyses, readable without a network.

A default :class:`folium.Map` loads Leaflet, jQuery, Bootstrap and plugins
from CDNs and shows nothing offline. These maps use only Leaflet itself, and
carry its JavaScript and CSS inline (read by :func:`geoplan.maps.leaflet_assets`
from the ``django-js-lib-leaflet`` package), so they draw on an intranet or in
Jupyter with no network. The basemap follows the policy of the check's map
(:func:`geoplan.maps.result_map`): OpenStreetMap by default, ``none`` when
``offline``, a named basemap or a tile URL template; its tiles are the only
thing fetched online. The scale bar is metric. Every piece of data text that
reaches a tooltip, popup or legend is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np

__all__ = ["base_map", "esc", "legend"]

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
    a named basemap or a tile URL template.

    Raises
    ------
    MapError
        A bad basemap choice or tile URL, or an Amap basemap (GCJ-02).
    """
    import folium
    from branca.element import Element, MacroElement
    from jinja2 import Template

    from ..maps.basemaps import add_tile_layers, leaflet_assets, resolve_basemaps

    basemaps = resolve_basemaps(basemap, offline=offline, tk=tk, attribution=attribution,
                                gcj02=False)
    m = folium.Map(tiles=None, control_scale=False)
    m.default_js = []
    m.default_css = []
    js, css = leaflet_assets()  # inlined: the page needs no network
    header = m.get_root().header  # type: ignore[attr-defined]
    header.add_child(Element("<style>" + css + "</style>"), name="leaflet_css_inline")
    header.add_child(Element("<script>" + js + "</script>"), name="leaflet_js_inline")
    add_tile_layers(m, basemaps, tk)
    scale = MacroElement()
    scale._template = Template(  # metric only (folium's control_scale adds miles and feet)
        "{% macro script(this, kwargs) %}L.control.scale({imperial: false, maxWidth: 160})"
        ".addTo({{ this._parent.get_name() }});{% endmacro %}")
    scale.add_to(m)
    minx, miny, maxx, maxy = bounds_4326
    if np.all(np.isfinite([minx, miny, maxx, maxy])):
        m.fit_bounds([[miny, minx], [maxy, maxx]])
    if title:
        m.get_root().html.add_child(Element(  # type: ignore[attr-defined]
            '<div style="position:fixed;top:8px;left:50px;z-index:9999;background:white;'
            'padding:4px 8px;border:1px solid #999;font:14px sans-serif">'
            f"{html.escape(title)}</div>"))
    return m


def legend(m: Any, title: str, items: Iterable[tuple[str, str]]) -> None:
    """A fixed legend box: ``items`` are (colour, label); all text escaped."""
    from branca.element import Element

    rows = "".join(
        f'<div><span style="display:inline-block;width:12px;height:12px;background:{html.escape(c)};'
        f'margin-right:6px;border:1px solid #555"></span>{html.escape(label)}</div>'
        for c, label in items)
    m.get_root().html.add_child(Element(  # type: ignore[attr-defined]
        '<div style="position:fixed;bottom:24px;left:10px;z-index:9999;background:white;'
        'padding:6px 8px;border:1px solid #999;font:12px sans-serif;max-width:320px">'
        f"<b>{html.escape(title)}</b>{rows}</div>"))


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
                            tooltip=folium.Tooltip(tooltips[i]) if tooltips else None
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
                            tooltip=folium.Tooltip(tooltips[i]) if tooltips else None
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
            tooltip=folium.Tooltip(tooltips[i]) if tooltips else None,
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
