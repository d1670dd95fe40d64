"""How constraint layers look on a map: layer groups and their names, Leaflet styles per kind.

Status order, labels and colours (``STATUS_ORDER``, ``STATUS_LABELS``,
``STATUS_COLOURS``, ``STATUS_DARK``) and the 亩 factor come from :mod:`geoplan.core`.
"""

from __future__ import annotations

from typing import Any

from ..kinds import KINDS

__all__ = ["GROUP_LABELS", "kind_style"]


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
    "placement": ("可建设用地与选址建议", "Buildable land and suggested sites"),
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


def kind_style(kind: str) -> dict[str, Any]:
    """Leaflet path options of a layer kind: the group's style, refined per kind."""
    k = KINDS.get(kind)
    group = k.group if k is not None else "other"
    style = dict(_GROUP_STYLE.get(group, _GROUP_STYLE["other"]))
    style.update(_KIND_STYLE.get(kind, {}))
    style.setdefault("weight", 1)
    style.setdefault("opacity", 0.9)
    return style
