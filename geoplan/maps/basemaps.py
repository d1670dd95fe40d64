"""Basemaps and Leaflet's own files: what a map page loads besides its data.

:data:`BASEMAPS` lists the tiled basemaps (OpenStreetMap, Tianditu, Amap in
GCJ-02); a tile URL template (``https://tiles.example.org/{z}/{x}/{y}.png``,
e.g. a county intranet tile server) is accepted too (:func:`custom_basemap`);
:func:`resolve_basemaps` refuses bad choices; :func:`add_tile_layers` puts the
chosen tiles on a folium map; :func:`leaflet_assets` reads Leaflet from the
installed ``django-js-lib-leaflet``. Every page geoplan writes inlines Leaflet,
so basemap tiles are the only thing a page ever fetches.
"""

from __future__ import annotations

import base64
import functools
import html
import importlib.resources
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from ..errors import MapError
from ..pages import script_safe

__all__ = ["BASEMAPS", "Basemap", "MapError", "add_tile_layers", "custom_basemap", "helper_script",
           "leaflet_assets", "resolve_basemaps"]


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


_TEMPLATE_KEYS = {"s", "x", "y", "-y", "z", "r", "tk"}
_TEMPLATE_EXAMPLE = "https://tiles.example.org/{z}/{x}/{y}.png"


def is_tile_url(text: str) -> bool:
    """Whether a ``basemap`` value is a tile URL template rather than a basemap name."""
    return "{" in text or "://" in text or "/" in text


def custom_basemap(url: str, attribution: str | None = None, *,
                   tk: str | None = None) -> Basemap:
    """A :class:`Basemap` of one tile URL template, e.g. a county's own tile server.

    Parameters
    ----------
    url
        A Leaflet tile URL template with ``{z}``, ``{x}`` and ``{y}`` (or
        ``{-y}`` for TMS); ``{s}`` takes the subdomains a, b, c and ``{tk}``
        the ``tk`` key. ``http(s)://`` or a path relative to the page.
    attribution
        The credit line shown in the map's corner (plain text; default: the
        server's host name).
    tk
        Key for a ``{tk}`` in the template.

    Raises
    ------
    MapError
        A template without ``{z}``, ``{x}`` and ``{y}``, with an unknown
        ``{…}`` placeholder, ``{tk}`` without a key, or a scheme other than
        http, https or file.

    Examples
    --------
    >>> bm = custom_basemap("https://{s}.tiles.example.org/{z}/{x}/{y}.png", "© County")
    >>> bm.label_zh, bm.label_en, bm.attribution
    ('自定义底图', 'custom tiles ({s}.tiles.example.org)', '© County')
    """
    url = url.strip()
    keys = set(re.findall(r"\{ *([\w -]+?) *\}", url))
    fix = (f"write the tile server's address with {{z}}, {{x}} and {{y}} where the zoom "
           f"and tile column and row go, e.g. --tiles '{_TEMPLATE_EXAMPLE}' "
           f"(basemap='{_TEMPLATE_EXAMPLE}')")
    missing = [k for k in ("z", "x", "y") if k not in keys and not (k == "y" and "-y" in keys)]
    if missing:
        raise MapError(f"the tile URL template {url!r} has no "
                       f"{', '.join('{' + k + '}' for k in missing)}: {fix}")
    unknown = sorted(keys - _TEMPLATE_KEYS)
    if unknown:
        raise MapError(f"the tile URL template {url!r} has unknown placeholder(s) "
                       f"{', '.join('{' + k + '}' for k in unknown)} (Leaflet knows {{s}}, "
                       f"{{z}}, {{x}}, {{y}}, {{-y}}, {{r}}; geoplan adds {{tk}}): {fix}")
    if "tk" in keys and not tk:
        raise MapError(f"the tile URL template {url!r} has {{tk}}: pass the key with tk=... "
                       "(command line: --tk KEY)")
    parts = urlsplit(url)
    if parts.scheme and parts.scheme.lower() not in ("http", "https", "file"):
        raise MapError(f"the tile URL template {url!r} must start with http://, https:// "
                       f"(or be a path relative to the page): {fix}")
    where = parts.netloc or parts.path.split("{")[0].rstrip("/") or url
    return Basemap("custom", "自定义底图", f"custom tiles ({where})",
                   ((url, "abc" if "s" in keys else ""),),
                   html.escape(attribution if attribution else f"tiles: {where}"),
                   max_zoom=18)


def resolve_basemaps(basemap: str | Sequence[str] | None, *, offline: bool = False,
                     tk: str | None = None, attribution: str | None = None,
                     gcj02: bool = True) -> list[Basemap]:
    """The :class:`Basemap` objects for a ``basemap`` argument; refuse bad choices.

    ``None`` means ``osm``, or ``none`` when ``offline``. A value that is
    not a name is a tile URL template (:func:`custom_basemap`), credited
    with ``attribution``. ``gcj02=False`` refuses the Amap basemaps (for
    maps whose overlays are not shifted into GCJ-02).

    Raises
    ------
    MapError
        Unknown name, a bad tile URL template, a Tianditu basemap without
        ``tk``, Amap mixed with others (or not allowed), or ``attribution``
        without a tile URL template.
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
        if name not in BASEMAPS and is_tile_url(raw):
            out.append(custom_basemap(raw, attribution, tk=tk))
            continue
        if name not in BASEMAPS:
            raise MapError(f"unknown basemap {raw!r}; choose one of {', '.join(BASEMAPS)}, or "
                           f"give a tile URL template such as '{_TEMPLATE_EXAMPLE}'")
        bm = BASEMAPS[name]
        if bm.needs_key and not tk:
            raise MapError(
                f"the {bm.label_en} basemap ({bm.name}) needs a Tianditu key: pass tk=... "
                f"(command line: --tk KEY or the GEOPLAN_TIANDITU_TK variable); get one "
                f"free at the Tianditu developer site, or use --basemap osm / none")
        if bm.gcj02 and not gcj02:
            raise MapError(
                f"the {bm.label_en} basemap ({bm.name}) is in GCJ-02 and this map's layers are "
                "not shifted to it (they would sit ~270 m off): use osm, tianditu, a tile URL "
                "or none")
        out.append(bm)
    if attribution and not any(b.name == "custom" for b in out):
        raise MapError("attribution= (--attribution) credits a tile URL template "
                       f"(basemap='{_TEMPLATE_EXAMPLE}', --tiles URL); the named basemaps "
                       "carry their own")
    tiled = [b for b in out if b.name != "none"]
    if len(tiled) < len(out) and tiled:
        out = tiled
    if len({b.gcj02 for b in out}) > 1:
        raise MapError(
            "Amap tiles are in GCJ-02 and the others in WGS84/CGCS2000; one overlay cannot "
            "align with both (they are ~270 m apart at Yining): draw separate maps")
    return out


def add_tile_layers(m: Any, basemaps: Sequence[Basemap], tk: str | None = None, *,
                    control: bool = False) -> None:
    """Add the tile layers of ``basemaps`` to the folium map ``m`` (the only online part).

    The second and later tile sets of one basemap (Tianditu's labels) go on
    top as overlays; ``{tk}`` in a URL becomes the URL-quoted key.
    ``control=True`` lists each basemap as a base layer of the map's
    :class:`folium.LayerControl` (a radio choice among basemaps, never
    among the data layers); the first is shown, the others can be picked.
    """
    import folium

    for k, bm in enumerate(basemaps):
        for i, (url, subdomains) in enumerate(bm.tiles):
            tiles = url.replace("{tk}", quote(tk or "", safe=""))
            folium.TileLayer(
                tiles=tiles, attr=bm.attribution if i == 0 else " ",
                name=f"{bm.label_zh} {bm.label_en}", max_zoom=20, max_native_zoom=bm.max_zoom,
                subdomains=subdomains or "abc", overlay=i > 0,
                control=control and i == 0, show=not control or k == 0,
            ).add_to(m)


@functools.cache
def helper_script() -> str:
    """``geoplan-leaflet.js``, the helpers every geoplan map uses, ready to inline.

    Tooltips kept inside the map, the note when basemap tiles cannot be
    loaded, legends as Leaflet controls (see the file's header).
    """
    text = (importlib.resources.files("geoplan") / "_assets" / "geoplan-leaflet.js").read_text(
        encoding="utf-8")
    return script_safe(text)


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
            "geoplan's maps inline Leaflet from the package django-js-lib-leaflet, which is "
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
