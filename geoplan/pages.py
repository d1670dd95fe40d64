r"""Building blocks shared by the pages geoplan writes (the map and the report).

Every text that comes from data goes through :func:`esc` before it reaches
HTML; inline scripts go through :func:`script_safe` and JSON in a
``<script>`` element through :func:`script_json`, so nothing in them can
close the element or run. :func:`swatch` draws the small legend symbols and
:func:`drawable` says which geometries a page can draw at all.

(Named ``pages`` rather than ``html`` so that it can never shadow the standard
library's :mod:`html`, which this module uses.)

Examples
--------
>>> from geoplan.pages import esc, script_json, script_safe
>>> esc('<b onmouseover="x">'), esc(None), esc(float("nan")), esc(2.50)
('&lt;b onmouseover=&quot;x&quot;&gt;', '', '', '2.5')
>>> script_safe("a = '</script><!--'")
"a = '<\\/script><\\!--'"
>>> script_json({"name": "</script>"})
'{"name":"\\u003c/script\\u003e"}'
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import shapely

__all__ = ["drawable", "esc", "script_json", "script_safe", "swatch"]


def esc(value: Any) -> str:
    """Data text → HTML-escaped text (``''`` for None/NaN; floats as ``%g``).

    Parameters
    ----------
    value
        Any value from data: text, number, None, NaN, ``pd.NA``…

    Returns
    -------
    str
        The value as text with ``&``, ``<``, ``>`` and quotes escaped.
    """
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return html.escape(f"{value:g}")
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return html.escape(str(value), quote=True)


def script_safe(js: str) -> str:
    r"""Make JS text safe inside an inline ``<script>``: no ``</script`` or ``<!--``.

    Parameters
    ----------
    js
        JavaScript source.

    Returns
    -------
    str
        The same program, with ``</script`` written ``<\/script`` and ``<!--``
        written ``<\!--``.
    """
    js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
    return js.replace("<!--", "<\\!--")


def script_json(text_or_obj: Any) -> str:
    r"""JSON that is safe inside ``<script>``: ``<``, ``>``, ``&``, U+2028/9 escaped.

    Parameters
    ----------
    text_or_obj
        A Python object (dumped compactly) or JSON text.

    Returns
    -------
    str
        JSON text that cannot close a script element.

    Examples
    --------
    >>> script_json({"name": "</script><script>alert(1)</script>"})
    '{"name":"\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e"}'
    """
    text = (text_or_obj if isinstance(text_or_obj, str)
            else json.dumps(text_or_obj, ensure_ascii=False, separators=(",", ":")))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def swatch(style: Mapping[str, Any], family: str, *, dot: bool = False) -> str:
    """A small SVG legend symbol for a Leaflet path style.

    Parameters
    ----------
    style
        ``color``, ``fillColor``, ``fillOpacity``, ``weight``, ``dashArray``.
    family
        ``point`` (a dot), ``line`` (a stroke) or anything else (a box).
    dot
        Draw a dot whatever the family.

    Returns
    -------
    str
        An inline ``<svg class="gp-sw">`` element; every style value escaped.
    """
    stroke = html.escape(str(style.get("color", "#333")))
    fill = html.escape(str(style.get("fillColor", style.get("color", "#999"))))
    fo = float(style.get("fillOpacity", 0.3))
    dash = style.get("dashArray")
    dash_attr = f' stroke-dasharray="{html.escape(str(dash))}"' if dash else ""
    if dot or family == "point":
        body = (f'<circle cx="9" cy="7" r="5" fill="{fill}" fill-opacity="{min(1.0, fo + 0.1):.2f}" '
                f'stroke="{stroke}" stroke-width="1.5"/>')
    elif family == "line":
        w = min(4.0, float(style.get("weight", 2)) + 0.5)
        body = f'<line x1="1" y1="7" x2="17" y2="7" stroke="{stroke}" stroke-width="{w}"{dash_attr}/>'
    else:
        body = (f'<rect x="1.5" y="2" width="15" height="10" rx="1.5" fill="{fill}" '
                f'fill-opacity="{max(fo, 0.25):.2f}" stroke="{stroke}" stroke-width="1.5"{dash_attr}/>')
    return f'<svg class="gp-sw" width="18" height="14" viewBox="0 0 18 14">{body}</svg>'


def drawable(geoms: np.ndarray) -> np.ndarray:
    """Per geometry: present, not empty, and every coordinate finite.

    NaN or infinite coordinates cannot be drawn; such sites are ``error`` and
    the pages count them as not drawn.

    Parameters
    ----------
    geoms
        An array of shapely geometries (or None).

    Returns
    -------
    numpy.ndarray
        A boolean mask aligned to ``geoms``.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> drawable(np.array([shapely.Point(0, 0), None, shapely.Point(), shapely.Point(0, np.inf)]))
    array([ True, False, False, False])
    """
    has = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    coords, owner = shapely.get_coordinates(np.where(has, geoms, None), return_index=True)
    if len(coords):
        has[owner[~np.isfinite(coords).all(axis=1)]] = False
    return has
