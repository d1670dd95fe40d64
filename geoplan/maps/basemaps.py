"""Basemaps and Leaflet's own files: what a map page loads besides its data.

:data:`BASEMAPS` lists the tiled basemaps (OpenStreetMap, Tianditu, Amap in
GCJ-02); :func:`resolve_basemaps` refuses bad choices; :func:`leaflet_assets`
reads Leaflet from the installed ``django-js-lib-leaflet`` for an offline page.
"""

from __future__ import annotations

import base64
import functools
import importlib.resources
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import MapError
from ..pages import script_safe

__all__ = ["BASEMAPS", "Basemap", "MapError", "leaflet_assets", "resolve_basemaps"]


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
