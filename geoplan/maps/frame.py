"""How a geoplan map is framed in a notebook, and what it says when its scripts cannot run.

A folium map in Jupyter is an ``<iframe>`` whose page draws the map with
JavaScript. When that cannot happen — the notebook is not trusted (its HTML
output is sanitised, the iframe removed), scripts are off, or a script fails —
folium shows a grey "Make this Notebook Trusted to load map" line that names
neither the cause nor the other way out. geoplan's maps say it in plain words,
in Chinese and English, in two places:

* inside the page (the exported ``map.html``, the report, the notebook's
  iframe): :func:`fallback_div`, a box over the whole map that the page's last
  script removes once the map is drawn (:func:`fallback_removal`) — it stays
  only when the scripts did not run or failed on the way;
* around the iframe in a notebook: :class:`GeoplanMap` (a :class:`folium.Map`)
  puts the same message where folium puts its own, under the iframe, so it
  shows when the iframe is stripped from an untrusted output.
"""

from __future__ import annotations

import html
import json
from typing import Any

import folium
from branca.element import Figure

__all__ = ["NO_SCRIPT_EN", "NO_SCRIPT_ZH", "GeoplanMap", "fallback_div", "fallback_removal",
           "notebook_html"]

NO_SCRIPT_ZH = ("地图未能显示：请信任此笔记本（File → Trust Notebook）后重新运行，"
                "或在浏览器中打开导出的 map.html（并允许其运行脚本）。")
NO_SCRIPT_EN = ("The map could not be drawn: trust this notebook (File → Trust Notebook) and "
                "run the cell again, or open the exported map.html in a browser (with scripts "
                "allowed).")
_HOW_TO_EXPORT = ('导出 export: <code>res.map().save("map.html")</code>，或 or '
                  "<code>geoplan check … --out 目录 folder</code>")

_BOX = ("display:flex;flex-direction:column;align-items:center;justify-content:center;"
        "gap:6px;box-sizing:border-box;padding:16px 24px;background:#fdf6e3;color:#5c4400;"
        "border:1px solid #e0b84c;font:14px/1.5 'Microsoft YaHei','PingFang SC',"
        "'Noto Sans CJK SC',system-ui,sans-serif;text-align:center")


def _message() -> str:
    return (f'<div style="font-weight:700">{html.escape(NO_SCRIPT_ZH)}</div>'
            f'<div style="color:#6b5a2a">{html.escape(NO_SCRIPT_EN)}</div>'
            f'<div style="color:#6b5a2a;font-size:12px">{_HOW_TO_EXPORT}</div>')


def fallback_div(element_id: str) -> str:
    """The message box over the map, shown until :func:`fallback_removal` runs."""
    return (f'<div id="{html.escape(element_id)}" class="gp-nojs" role="alert" '
            f'style="position:absolute;top:0;right:0;bottom:0;left:0;z-index:2000;{_BOX}">'
            f"{_message()}</div>")


def fallback_removal(element_id: str) -> str:
    """JavaScript that removes the message box: the last statement of the map's script."""
    return ("(function (e) { if (e && e.parentNode) { e.parentNode.removeChild(e); } })"
            f"(document.getElementById({json.dumps(element_id)}));")


def notebook_html(m: folium.Map) -> str:
    """The map as Jupyter shows it: an iframe over geoplan's message (not folium's).

    The iframe is as wide as the output and 60 % as high, or as high as the
    map's :class:`~branca.element.Figure` says (``res.map(height=…)``).
    """
    parent = m._parent
    detach = not isinstance(parent, Figure)
    fig: Figure = Figure() if detach else parent
    if detach:
        fig.add_child(m)
    try:
        page = html.escape(fig.render())
    finally:
        if detach:
            m._parent = parent
    if fig.height is None:
        box = f"position:relative;width:100%;height:0;padding-bottom:{fig.ratio}"
        size = ""
    else:
        box = f"position:relative;width:{fig.width};height:{fig.height}"
        size = f' width="100%" height="{html.escape(str(fig.height))}"'
    return (f'<div class="geoplan-map" style="width:{fig.width}"><div style="{box}">'
            f'<div style="position:absolute;top:0;right:0;bottom:0;left:0;{_BOX}">'
            f"{_message()}</div>"
            f'<iframe srcdoc="{page}"{size} style="position:absolute;left:0;top:0;width:100%;'
            'height:100%;border:none !important;" allowfullscreen webkitallowfullscreen '
            "mozallowfullscreen></iframe></div></div>")


class GeoplanMap(folium.Map):
    """A :class:`folium.Map` shown in Jupyter with geoplan's message if it cannot be drawn."""

    def _repr_html_(self, **kwargs: Any) -> str:
        return notebook_html(self)
