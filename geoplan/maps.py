"""Interactive maps of a check, online or fully offline.

:func:`result_map` draws a :class:`~geoplan.Result` on a folium/Leaflet map:
the constraint layers near the batch, styled by kind and switchable by group
(names in Chinese and English); the sites coloured by verdict, one layer per
verdict, with a legend of counts; a popup per site listing each failed or
warned rule (title, measure with its unit, limit, clause, message); the
evidence geometries (overlaps, setback intrusions) on top; a scale bar.

Basemaps (:data:`BASEMAPS`): ``osm``, ``tianditu`` / ``tianditu-img`` (a key
``tk`` is needed; CGCS2000 is drawn as WGS84, no shift), ``amap`` /
``amap-img`` (Amap tiles are GCJ-02: every overlay is shifted into GCJ-02 with
:func:`geoplan.crs.to_gcj02` for display, and the panel says so) and ``none``.

``offline=True`` writes a self-contained page: Leaflet's JS and CSS are read
from the installed ``django-js-lib-leaflet`` package and inlined, folium's
default CDN scripts (jQuery, Bootstrap, awesome-markers, Font Awesome) are not
loaded, and no request leaves the page unless a tiled basemap was asked for.

Every text that comes from data (ids, names, attribute values, rule titles,
messages) goes through :func:`html.escape` before it reaches a popup, tooltip
or legend, and the data travel as JSON in a ``<script type="application/json">``
block with ``<``, ``>`` and ``&`` written as ``\\u003c``, ``\\u003e``, ``\\u0026``,
so nothing in them can close the script element or run.

For large batches the map uses one canvas renderer (``prefer_canvas``),
coordinates rounded to 6 decimals (≈0.1 m), constraint layers clipped to the
batch's box plus a margin and simplified to a display tolerance in the working
CRS before reprojection. ``python -m benchmarks.maps`` measures it.

Examples
--------
>>> import geoplan                                                  # doctest: +SKIP
>>> res = geoplan.check("layers/batches/proposed_houses.gpkg", "layers")  # doctest: +SKIP
>>> res.map(offline=True).save("map.html")                          # doctest: +SKIP
"""

from __future__ import annotations

import base64
import functools
import html
import importlib.resources
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from branca.element import Element, MacroElement

from .checkdata import CheckData
from .core import (
    MU_PER_M2,
    STATUS_COLOURS,
    STATUS_DARK,
    STATUS_LABELS,
    STATUS_ORDER,
    SUBJECT_LABELS,
)
from .crs import to_gcj02
from .errors import GeoplanError
from .kinds import KINDS
from .pages import drawable, esc, script_json, script_safe, swatch
from .rules import Rule, registry

__all__ = [
    "BASEMAPS",
    "GROUP_LABELS",
    "STATUS_COLOURS",
    "Basemap",
    "MapError",
    "format_limit",
    "format_measure",
    "kind_style",
    "leaflet_assets",
    "map_parts",
    "resolve_basemaps",
    "result_map",
    "save_map",
    "script_json",
]


class MapError(GeoplanError, ValueError):
    """A map cannot be drawn as asked (unknown basemap, missing key, missing Leaflet files)."""


# ---------------------------------------------------------------------------
# Colours, labels, styles
# ---------------------------------------------------------------------------

# Status order, labels and colours (STATUS_ORDER, STATUS_LABELS, STATUS_COLOURS,
# STATUS_DARK) and the 亩 factor come from geoplan.core.

GROUP_LABELS: dict[str, tuple[str, str]] = {
    "hazard": ("灾害风险", "Hazards"),
    "redline": ("红线管控", "Red lines"),
    "water": ("水源与水域", "Water"),
    "power": ("电力设施", "Power"),
    "land": ("耕地与林地", "Farmland and forest"),
    "heritage": ("历史文化与古树", "Heritage and old trees"),
    "planning": ("村庄与规划边界", "Villages and planning boundaries"),
    "infrastructure": ("道路交通", "Roads and infrastructure"),
    "service": ("公共服务设施", "Public services"),
    "terrain": ("地形", "Terrain"),
    "other": ("其他", "Other"),
}
"""Chinese and English names of the layer groups, in the order the panel lists them."""

_GROUP_STYLE: dict[str, dict[str, Any]] = {
    "hazard": {"color": "#e31a1c", "weight": 1, "fillColor": "#fb6a4a", "fillOpacity": 0.3},
    "redline": {"color": "#ff0000", "weight": 1.5, "fillColor": "#ff0000", "fillOpacity": 0.1},
    "water": {"color": "#2171b5", "weight": 1, "fillColor": "#6baed6", "fillOpacity": 0.35},
    "power": {"color": "#7a0177", "weight": 2, "fillColor": "#dd3497", "fillOpacity": 0.8},
    "land": {"color": "#238b45", "weight": 0.5, "fillColor": "#74c476", "fillOpacity": 0.3},
    "heritage": {"color": "#8c510a", "weight": 1.5, "fillColor": "#dfc27d", "fillOpacity": 0.35},
    "planning": {"color": "#525252", "weight": 1.5, "fillColor": "#bdbdbd", "fillOpacity": 0.1},
    "infrastructure": {"color": "#737373", "weight": 1.5, "fillColor": "#bdbdbd",
                       "fillOpacity": 0.3},
    "service": {"color": "#08306b", "weight": 1, "fillColor": "#4292c6", "fillOpacity": 0.9},
    "other": {"color": "#636363", "weight": 1, "fillColor": "#969696", "fillOpacity": 0.2},
}

_KIND_STYLE: dict[str, dict[str, Any]] = {
    # hazards: reds and oranges
    "flood_zone": {"color": "#cb181d", "fillColor": "#fb6a4a", "fillOpacity": 0.28},
    "flood_channel": {"color": "#99000d", "fillColor": "#ef3b2c", "fillOpacity": 0.35},
    "flood_storage": {"color": "#cb181d", "fillColor": "#fc9272", "fillOpacity": 0.3,
                      "dashArray": "5 3"},
    "landslide_zone": {"color": "#d94801", "fillColor": "#fd8d3c", "fillOpacity": 0.35},
    "debris_flow_zone": {"color": "#a63603", "fillColor": "#fdae6b", "fillOpacity": 0.4},
    "geohazard_zone": {"color": "#e6550d", "fillColor": "#fdd0a2", "fillOpacity": 0.4},
    "subsidence_zone": {"color": "#7f2704", "fillColor": "#f16913", "fillOpacity": 0.3},
    "gully": {"color": "#a63603", "weight": 2.5},
    "active_fault": {"color": "#67000d", "weight": 3, "dashArray": "10 5"},
    # red lines: red outlines, light fills
    "farmland_redline": {"color": "#e60000", "weight": 0.8, "opacity": 0.6,
                         "fillColor": "#ffe34d", "fillOpacity": 0.3},
    "ecological_redline": {"color": "#e60000", "weight": 2.5, "dashArray": "8 4",
                           "fillColor": "#41ab5d", "fillOpacity": 0.15},
    # water: blues
    "water_source_zone": {"color": "#08519c", "weight": 1.5, "dashArray": "6 3",
                          "fillColor": "#6baed6", "fillOpacity": 0.25},
    "water_body": {"color": "#2171b5", "fillColor": "#9ecae1", "fillOpacity": 0.75},
    "water_main": {"color": "#4292c6", "weight": 2, "dashArray": "2 4"},
    # power: purple
    "power_line": {"color": "#7a0177", "weight": 2},
    "substation": {"color": "#49006a", "fillColor": "#ae017e", "fillOpacity": 0.9, "radius": 5},
    # land: forest green, farmland yellow
    "forest_land": {"color": "#238b45", "weight": 0.5, "fillColor": "#41ab5d",
                    "fillOpacity": 0.35},
    "farmland": {"color": "#c9a100", "weight": 0.5, "fillColor": "#ffd92f",
                 "fillOpacity": 0.3},
    "landuse": {"color": "#969696", "weight": 0.5, "fillColor": "#d9d9d9", "fillOpacity": 0.2},
    # planning: greys
    "village_boundary": {"color": "#404040", "weight": 1.5, "dashArray": "4 3",
                         "fillColor": "#ffffff", "fillOpacity": 0.12},
    "urban_boundary": {"color": "#252525", "weight": 2, "dashArray": "10 4",
                       "fillColor": "#969696", "fillOpacity": 0.08},
    "village": {"color": "#252525", "weight": 2, "fillColor": "#ffffff", "fillOpacity": 1,
                "radius": 4},
    # heritage: browns; old trees dark green
    "heritage_zone": {"color": "#8c510a", "weight": 1.5, "fillColor": "#dfc27d",
                      "fillOpacity": 0.4},
    "old_tree": {"color": "#00441b", "weight": 1, "fillColor": "#238b45", "fillOpacity": 1,
                 "radius": 4},
    # services and infrastructure
    "facility": {"color": "#08306b", "weight": 1, "fillColor": "#4292c6", "fillOpacity": 0.9,
                 "radius": 3},
    "road": {"color": "#737373", "weight": 1.5},
    "bridge": {"color": "#404040", "weight": 3, "radius": 4, "fillColor": "#737373",
               "fillOpacity": 1},
}

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
_POPUP_FIELDS = ("name", "owner", "applicant", "village", "township", "address", "floors",
                 "type", "class", "width_m", "surface")


def kind_style(kind: str) -> dict[str, Any]:
    """Leaflet path options of a layer kind: the group's style, refined per kind."""
    k = KINDS.get(kind)
    group = k.group if k is not None else "other"
    style = dict(_GROUP_STYLE.get(group, _GROUP_STYLE["other"]))
    style.update(_KIND_STYLE.get(kind, {}))
    style.setdefault("weight", 1)
    style.setdefault("opacity", 0.9)
    return style


# ---------------------------------------------------------------------------
# Basemaps
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Basemap:
    """A tiled basemap: tile URL templates, attribution and coordinate family."""

    name: str
    label_zh: str
    label_en: str
    tiles: tuple[tuple[str, str], ...]  # (url template, subdomains)
    attribution: str
    gcj02: bool = False
    needs_key: bool = False
    max_zoom: int = 18


_TDT = ("https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
        "&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
        "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={{tk}}")
_TDT_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a> 国家地理信息公共服务平台'
_AMAP_ATTR = '&copy; 高德地图 AutoNavi (GCJ-02)'

BASEMAPS: dict[str, Basemap] = {
    "osm": Basemap(
        "osm", "OpenStreetMap 地图", "OpenStreetMap",
        (("https://tile.openstreetmap.org/{z}/{x}/{y}.png", ""),),
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
        max_zoom=19),
    "tianditu": Basemap(
        "tianditu", "天地图 矢量", "Tianditu vector",
        ((_TDT.format(layer="vec"), "01234567"), (_TDT.format(layer="cva"), "01234567")),
        _TDT_ATTR, needs_key=True),
    "tianditu-img": Basemap(
        "tianditu-img", "天地图 影像", "Tianditu imagery",
        ((_TDT.format(layer="img"), "01234567"), (_TDT.format(layer="cia"), "01234567")),
        _TDT_ATTR, needs_key=True),
    "amap": Basemap(
        "amap", "高德地图", "Amap",
        (("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
          "&x={x}&y={y}&z={z}", "1234"),),
        _AMAP_ATTR, gcj02=True),
    "amap-img": Basemap(
        "amap-img", "高德影像", "Amap imagery",
        (("https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}", "1234"),
         ("https://webst0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}", "1234")),
        _AMAP_ATTR, gcj02=True),
    "none": Basemap("none", "无底图", "no basemap", (), ""),
}
"""The basemaps :func:`result_map` can draw, by name."""

_BASEMAP_ALIASES = {"openstreetmap": "osm", "tdt": "tianditu", "gaode": "amap",
                    "tianditu_img": "tianditu-img", "amap_img": "amap-img", "": "none"}


def resolve_basemaps(basemap: str | Sequence[str] | None, *, offline: bool = False,
                     tk: str | None = None) -> list[Basemap]:
    """The :class:`Basemap` objects for a ``basemap`` argument; refuse bad choices.

    ``None`` means ``osm``, or ``none`` when ``offline``.

    Raises
    ------
    MapError
        Unknown name, a Tianditu basemap without ``tk``, or Amap mixed with others.
    """
    if basemap is None:
        names = ["none" if offline else "osm"]
    elif isinstance(basemap, str):
        names = [basemap]
    else:
        names = list(basemap)
    out: list[Basemap] = []
    for raw in names:
        name = _BASEMAP_ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if name not in BASEMAPS:
            raise MapError(f"unknown basemap {raw!r}; choose one of {', '.join(BASEMAPS)}")
        bm = BASEMAPS[name]
        if bm.needs_key and not tk:
            raise MapError(
                f"the {bm.label_en} basemap ({bm.name}) needs a Tianditu key: pass tk=... "
                f"(command line: --tk KEY or the GEOPLAN_TIANDITU_TK variable); get one "
                f"free at the Tianditu developer site, or use --basemap osm / none")
        out.append(bm)
    tiled = [b for b in out if b.name != "none"]
    if len(tiled) < len(out) and tiled:
        out = tiled
    if len({b.gcj02 for b in out}) > 1:
        raise MapError(
            "Amap tiles are in GCJ-02 and the others in WGS84/CGCS2000; one overlay cannot "
            "align with both (they are ~270 m apart at Yining): draw separate maps")
    return out


# ---------------------------------------------------------------------------
# Offline assets and safe embedding
# ---------------------------------------------------------------------------

_LEAFLET_CDN = "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/"


@functools.cache
def leaflet_assets() -> tuple[str, str]:
    """Leaflet's ``leaflet.js`` and ``leaflet.css``, ready to inline.

    Read with :mod:`importlib.resources` from the PyPI package
    ``django-js-lib-leaflet`` (Leaflet's dist files; Django is not needed).
    The CSS images become ``data:`` URIs and the source-map comment is dropped,
    so the inlined copy makes no request.

    Raises
    ------
    MapError
        If the package is not installed.
    """
    try:
        root = importlib.resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet"
        js = (root / "leaflet.js").read_text(encoding="utf-8")
        css = (root / "leaflet.css").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise MapError(
            "an offline map inlines Leaflet from the package django-js-lib-leaflet, which is "
            "not installed: pip install django-js-lib-leaflet") from exc

    def _data_uri(match: re.Match[str]) -> str:
        rel = match.group(1).strip("'\"")
        try:
            raw = (root / rel).read_bytes()
        except (FileNotFoundError, OSError):
            return "url()"
        return "url(data:image/png;base64," + base64.b64encode(raw).decode("ascii") + ")"

    css = re.sub(r"url\((['\"]?images/[^)'\"]+['\"]?)\)", _data_uri, css)
    css = re.sub(r"behavior:\s*url\(#default#VML\);?", "", css)  # old-IE only
    js = re.sub(r"//# sourceMappingURL=\S+", "", js)
    return script_safe(js), css.replace("</", "<\\/")


@functools.cache
def _asset(name: str) -> str:
    return (importlib.resources.files("geoplan") / "_assets" / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# Measures and limits as text
# ---------------------------------------------------------------------------


def format_measure(measure: Any, unit: Any) -> str:
    """A measure with its unit: ``'248.1 m²（0.372 亩）'``, ``'2.5 m'``, ``'31.3°'``.

    Examples
    --------
    >>> format_measure(666.67, "m2"), format_measure(2.48, "m"), format_measure(31.26, "deg")
    ('666.7 m²（1.000 亩）', '2.5 m', '31.3°')
    """
    try:
        x = float(measure)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x):
        return ""
    u = "" if unit is None or (isinstance(unit, float) and math.isnan(unit)) else str(unit)
    if u == "m2":
        return f"{x:,.1f} m²（{x * MU_PER_M2:.3f} 亩）"
    if u == "m":
        return f"{x:,.1f} m"
    if u == "deg":
        return f"{x:.1f}°"
    if u == "percent":
        return f"{x:.1f}%"
    if u == "count":
        return f"{x:.0f} 处"
    return f"{x:g} {u}".strip()


def _comparator(rule: Rule | None) -> str:
    """How a measure compares with the rule's limit to pass, as its kind says (``≤`` if unknown)."""
    kind = getattr(rule, "kind", "")
    if rule is None or kind not in registry.names():
        return "≤"
    return registry.get(kind).comparator(rule)


def format_limit(threshold: Any, unit: Any, rule: Rule | None = None) -> str:
    """The limit a measure was held against: ``'≥ 5 m'``, ``'≤ 1 m²'``, ``'≤ 25°'``.

    The comparator comes from the rule's kind (:meth:`geoplan.rules.RuleKind.comparator`):
    ``≥`` for a setback, the rule's ``op`` for an attribute rule, ``≤`` otherwise.

    Examples
    --------
    >>> format_limit(5.0, "m"), format_limit(25.0, "deg")
    ('≤ 5 m', '≤ 25°')
    """
    try:
        x = float(threshold)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x):
        return ""
    u = "" if unit is None or (isinstance(unit, float) and math.isnan(unit)) else str(unit)
    cmp = _comparator(rule)
    sym = {"m2": " m²", "m": " m", "deg": "°", "percent": "%", "count": " 处"}.get(u, f" {u}")
    return f"{cmp} {x:g}{sym}".rstrip()


def _detail(message: Any, title: str) -> str:
    """The part of a message after its rule title (the title is shown already)."""
    if not isinstance(message, str):
        return ""
    for sep in ("：", ": "):
        head = title + sep
        if title and message.startswith(head):
            return message[len(head):]
    return message


# ---------------------------------------------------------------------------
# Geometry → display GeoJSON
# ---------------------------------------------------------------------------


def _to_display(geoms: np.ndarray, crs: Any, *, gcj02: bool, precision: int) -> np.ndarray:
    """Geometries in ``crs`` → rounded lon/lat (GCJ-02 if asked) as GeoJSON strings."""
    if len(geoms) == 0:
        return np.array([], dtype=object)
    s = gpd.GeoSeries(geoms, crs=crs)
    if s.crs is not None and not s.crs.equals(pyproj.CRS.from_epsg(4490)):
        s = s.to_crs(4490)
    if gcj02:
        s = to_gcj02(s)
    arr = np.asarray(s.values, dtype=object)
    arr = shapely.transform(arr, lambda c: np.round(c, precision))
    text = "\n".join(shapely.to_geojson(arr).tolist())
    # GEOS may print a rounded value with 16-17 digits (81.40440099999999): write it short
    long_number = re.compile(rf"-?\d+\.\d{{{precision + 1},}}(?![\deE])")
    text = long_number.sub(lambda m: repr(round(float(m.group()), precision)), text)
    return np.asarray(text.split("\n"), dtype=object)


def _fc(geojson: Sequence[str], props: Sequence[str]) -> str:
    feats = [f'{{"type":"Feature","geometry":{g},"properties":{p}}}'
             for g, p in zip(geojson, props, strict=True)]
    return '{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}"


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _bounds_latlon(boxes: list[tuple[float, float, float, float]]) -> list[list[float]] | None:
    good = [b for b in boxes if all(math.isfinite(v) for v in b)]
    if not good:
        return None
    w = min(b[0] for b in good)
    s = min(b[1] for b in good)
    e = max(b[2] for b in good)
    n = max(b[3] for b in good)
    return [[round(s, 6), round(w, 6)], [round(n, 6), round(e, 6)]]


def _geojson_bounds(geojson: np.ndarray) -> tuple[float, float, float, float]:
    if len(geojson) == 0:
        return (math.nan,) * 4
    g = shapely.from_geojson(geojson)
    b = shapely.total_bounds(g)
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


# ---------------------------------------------------------------------------
# The data of one map
# ---------------------------------------------------------------------------


@dataclass
class _Payload:
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
    return [f for f in _POPUP_FIELDS if f in verdicts.columns][:4]


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
        out.setdefault(str(row.site_id), []).append(item)
    nc = f[f["status"] == "not_checked"]
    not_checked = {str(k): esc(", ".join(g["rule_id"].astype(str)))
                   for k, g in nc.groupby("site_id", sort=False)}
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


def _tooltip_text(row: Any, fields: Sequence[tuple[str, str]]) -> str:
    parts = []
    for name, label in fields:
        val = getattr(row, name, None)
        text = esc(val)
        if text:
            parts.append(f"{label}: {text}" if label else text)
    return " · ".join(parts)


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
                geoms = shapely.simplify(geoms, simplify_m, preserve_topology=True)
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
        tips = [_tooltip_text(r, tip_fields) for r in sub.itertuples(index=False)]
        gj = _to_display(geoms, gdf.crs, gcj02=gcj02, precision=precision)
        props = [_dumps({"t": t}) if t else "{}" for t in tips]
        style = kind_style(kind)
        out.append({
            "kind": kind, "zh": esc(zh), "en": esc(en), "group": group,
            "style": style, "on": kind in default_on, "labels": labels, "n": len(gj),
            "data": _fc(gj, props),
        })
    return out


def _payload(result: CheckData, *, gcj02: bool, layers: Sequence[str] | None, margin_m: float,
             simplify_m: float, precision: int, popup_fields: Sequence[str] | None,
             messages: bool, footprint_zoom: int, label_zoom: int) -> _Payload:
    v = result.verdicts
    geo_w, work = _site_geometries(result)
    geoms = np.asarray(geo_w.values, dtype=object)
    has = drawable(geoms)
    dims = np.where(has, shapely.get_dimensions(geoms), -1)

    # rules and statuses tables
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
    statuses = [{"k": s, "zh": STATUS_LABELS[s][0], "en": STATUS_LABELS[s][1],
                 "c": STATUS_COLOURS[s], "dark": STATUS_DARK[s],
                 "t": "#222222" if s == "warn" else "#ffffff"} for s in STATUS_ORDER]
    vidx = {s: i for i, s in enumerate(STATUS_ORDER)}

    by_site, not_checked = _findings_by_site(result, rule_index, rules, messages)
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
    gj_sites = _to_display(site_geom[rows], work, gcj02=gcj02, precision=precision)
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
        if sid in not_checked:
            p["n"] = not_checked[sid]
        props.append(_dumps(p))
        row_to_feature[int(r)] = fi
    sites_fc = _fc(gj_sites, props)

    fp_rows = np.flatnonzero(poly)
    gj_fp = _to_display(geoms[fp_rows], work, gcj02=gcj02, precision=precision)
    fp_props = [_dumps({"s": row_to_feature[int(r)], "v": vidx.get(verdicts[r], 3)})
                for r in fp_rows]
    footprints_fc = _fc(gj_fp, fp_props)

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
        ev_props.append(_dumps({"i": esc(row.site_id), "r": rule_index.get(str(row.rule_id), 0),
                                "s": vidx.get(str(row.status), 0), "t": esc(" · ".join(parts))}))
    gj_ev = _to_display(np.asarray(ev.geometry.values, dtype=object), ev.crs or work,
                        gcj02=gcj02, precision=precision)
    evidence_fc = _fc(gj_ev, ev_props)

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
    used = {r.layer for r in result.pack.for_subject(result.subject)}
    # on at first: what the subject's rules use, and villages and roads to find one's way;
    # dense land-use parcels (farmland, forest) start off: where a site takes them, the
    # evidence shows it
    default_on = {k for k in (used | _DEFAULT_ON_EXTRA)
                  if not (k in KINDS and KINDS[k].group == "land")}
    cl = _constraint_layer_data(result, kinds, box, gcj02=gcj02, simplify_m=simplify_m,
                                precision=precision, default_on=default_on)

    # bounds of the batch in display coordinates
    if len(gj_sites):
        bounds = _bounds_latlon([_geojson_bounds(gj_sites), _geojson_bounds(gj_fp)])
    else:
        corner = _to_display(np.array([shapely.box(*box)], dtype=object), work, gcj02=gcj02,
                             precision=precision)
        bounds = _bounds_latlon([_geojson_bounds(corner)])

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
    text = _dumps(data)
    for key, val in raw.items():
        text = text.replace(_dumps(f"\x00{key}\x00"), val, 1)
    return _Payload(json=text, counts=counts, drawn=len(gj_sites),
                    no_geometry=int((~has).sum()), layers=layer_meta,
                    n_evidence=len(gj_ev), n_footprints=len(gj_fp), subject=result.subject)


# ---------------------------------------------------------------------------
# The panel (legend + layer switches), rendered here so every text is escaped
# ---------------------------------------------------------------------------


def _family(kind: str, result: CheckData) -> str:
    lay = result.workspace.layers.get(kind)
    if lay is not None and hasattr(lay, "gdf") and len(lay.gdf):
        d = shapely.get_dimensions(np.asarray(lay.gdf.geometry.values[:50], dtype=object))
        d = d[d >= 0]
        if len(d):
            return {0: "point", 1: "line"}.get(int(np.bincount(d).argmax()), "polygon")
    k = KINDS.get(kind)
    return k.families[0] if k is not None else "polygon"


def _panel_html(result: CheckData, pl: _Payload, panel_id: str, basemaps: list[Basemap],
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
             'title="收起/展开 collapse/expand">☰</button>',
             f'<div class="gp-title">{head_title}</div><div class="gp-sub">{sub}</div></div>',
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
            sw = swatch(ly["style"], _family(ly["kind"], result))
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


# ---------------------------------------------------------------------------
# folium glue
# ---------------------------------------------------------------------------


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
) -> folium.Map:
    """Draw a check's sites, evidence and constraint layers on a folium map.

    Parameters
    ----------
    result : Result
        The check to draw.
    basemap : str or sequence of str, optional
        ``osm``, ``tianditu``, ``tianditu-img``, ``amap``, ``amap-img`` or ``none``
        (default ``osm``, or ``none`` when ``offline``). With an Amap basemap
        every overlay is shifted into GCJ-02 for display. Amap cannot be mixed
        with the others.
    tk : str, optional
        Tianditu key, needed by the Tianditu basemaps.
    offline : bool
        Inline Leaflet (from ``django-js-lib-leaflet``) instead of linking a CDN:
        with ``basemap="none"`` the page makes no request at all.
    layers : sequence of str, optional
        Constraint layer kinds to include (default: every vector layer but
        ``landuse``). Layers used by the subject's rules are shown at first,
        the others can be switched on in the panel.
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

    Returns
    -------
    folium.Map
        Call ``.save(path)``; displays inline in Jupyter.

    Raises
    ------
    MapError
        Unknown basemap, Tianditu without ``tk``, Amap mixed with others, an
        unknown layer kind, or Leaflet's files missing for ``offline``.
    """
    basemaps = resolve_basemaps(basemap, offline=offline, tk=tk)
    gcj02 = any(b.gcj02 for b in basemaps)
    pl = _payload(result, gcj02=gcj02, layers=layers, margin_m=margin_m, simplify_m=simplify_m,
                  precision=precision, popup_fields=popup_fields, messages=messages,
                  footprint_zoom=footprint_zoom, label_zoom=label_zoom)

    m = folium.Map(location=[43.95, 81.3], zoom_start=11, tiles=None, prefer_canvas=True,
                   control_scale=False, max_zoom=20, scroll_wheel_zoom=scroll_wheel_zoom,
                   zoom_snap=0.25)
    subj_zh, subj_en = SUBJECT_LABELS.get(result.subject, (result.subject, result.subject))
    page_title = title or f"geoplan · {subj_zh}选址核查 {subj_en} site check"
    m.get_root().title = html.escape(page_title)
    if offline:
        js, css = leaflet_assets()
        m.default_js = []
        m.default_css = []
        head = f"<style>{css}</style>\n<script>{js}</script>\n"
    else:
        m.default_js = [("leaflet", _LEAFLET_CDN + "leaflet.js")]
        m.default_css = [("leaflet_css", _LEAFLET_CDN + "leaflet.css")]
        head = ""
    head += (f"<style>{_asset('geoplan-map.css')}</style>\n"
             f"<script>{script_safe(_asset('geoplan-map.js'))}</script>\n")
    for bm in basemaps:
        for i, (url, subdomains) in enumerate(bm.tiles):
            tiles = url.replace("{tk}", quote(tk or "", safe=""))
            folium.TileLayer(
                tiles=tiles, attr=bm.attribution if i == 0 else " ",
                name=f"{bm.label_zh} {bm.label_en}", max_zoom=20, max_native_zoom=bm.max_zoom,
                subdomains=subdomains or "abc", overlay=i > 0, control=False,
            ).add_to(m)
    uid = m.get_name().split("_")[-1]
    data_id, panel_id = f"gp-data-{uid}", f"gp-panel-{uid}"
    body = (f'<script type="application/json" id="{data_id}">{script_json(pl.json)}</script>\n'
            + _panel_html(result, pl, panel_id, basemaps, title, offline))
    _GeoplanOverlay(head=head, body=body, data_id=data_id, panel_id=panel_id).add_to(m)
    m.geoplan_summary = {  # type: ignore[attr-defined]
        "counts": pl.counts, "drawn": pl.drawn, "no_geometry": pl.no_geometry,
        "layers": {ly["kind"]: ly["n"] for ly in pl.layers}, "evidence": pl.n_evidence,
        "footprints": pl.n_footprints, "basemap": [b.name for b in basemaps],
        "gcj02": gcj02, "offline": offline,
    }
    return m


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

