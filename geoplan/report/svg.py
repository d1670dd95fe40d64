"""Small static maps (inline SVG) of one site, its evidence and the constraints around it.

Much lighter than one Leaflet map per site: :func:`site_svg` draws in a metric
CRS with the map's own styles, a scale bar and a north arrow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely

from ..core import STATUS_COLOURS, STATUS_DARK, Status
from ..kinds import KINDS
from ..maps import kind_style
from ..pages import esc

__all__ = ["site_svg"]


# drawing order in the small maps: broad areas first, lines and points on top
_SVG_GROUP_ORDER = ("land", "planning", "redline", "water", "heritage", "hazard", "power",
                    "infrastructure", "service", "other")


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _ring_path(coords: np.ndarray, tx: Any) -> str:
    pts = tx(coords)
    if len(pts) == 0:
        return ""
    head = f"M{_fmt(pts[0, 0])},{_fmt(pts[0, 1])}"
    body = "".join(f"L{_fmt(x)},{_fmt(y)}" for x, y in pts[1:])
    return head + body


def _svg_shapes(geom: shapely.Geometry, tx: Any, style: dict[str, Any], *,
                point_r: float = 3.5) -> list[str]:
    """SVG elements for one geometry drawn with a Leaflet-like style."""
    out: list[str] = []
    stroke = esc(style.get("color", "#333"))
    width = float(style.get("weight", 1))
    dash = style.get("dashArray")
    dash_attr = f' stroke-dasharray="{esc(dash)}"' if dash else ""
    fill = esc(style.get("fillColor", style.get("color", "#999")))
    fo = float(style.get("fillOpacity", 0.3))
    so = float(style.get("opacity", 0.9))
    for part in shapely.get_parts(geom):
        if part.is_empty:
            continue
        t = part.geom_type
        if t == "Polygon":
            d = _ring_path(np.asarray(part.exterior.coords), tx) + "Z"
            for hole in part.interiors:
                d += _ring_path(np.asarray(hole.coords), tx) + "Z"
            line = (f'stroke="{stroke}" stroke-opacity="{so:.2f}" stroke-width="{width:g}"'
                    f'{dash_attr}' if width > 0 else 'stroke="none"')
            out.append(f'<path d="{d}" fill="{fill}" fill-opacity="{fo:.2f}" {line} '
                       f'fill-rule="evenodd"/>')
        elif t in ("LineString", "LinearRing"):
            d = _ring_path(np.asarray(part.coords), tx)
            out.append(f'<path d="{d}" fill="none" stroke="{stroke}" stroke-opacity="{so:.2f}" '
                       f'stroke-width="{width:g}" stroke-linecap="round"{dash_attr}/>')
        elif t == "Point":
            x, y = tx(np.asarray(part.coords))[0]
            r = float(style.get("radius", point_r))
            out.append(f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="{r:g}" fill="{fill}" '
                       f'fill-opacity="{min(1.0, fo + 0.2):.2f}" stroke="{stroke}" '
                       f'stroke-width="{max(width, 1):g}"/>')
        else:  # nested collections
            out.extend(_svg_shapes(part, tx, style, point_r=point_r))
    return out


def _nice_length(span_m: float) -> float:
    target = span_m / 4
    for v in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if v >= target:
            return float(v)
    return 10000.0


def site_svg(site: shapely.Geometry, verdict: Status,
             evidence: Sequence[tuple[shapely.Geometry, str]],
             nearby: Sequence[tuple[str, shapely.Geometry]], box: tuple[float, float, float, float],
             *, size: int = 260,
             extra: Sequence[tuple[shapely.Geometry, Mapping[str, Any]]] = ()) -> str:
    """A small static map (inline SVG) of one site in a metric CRS.

    Parameters
    ----------
    site : shapely geometry
        The site, in a metric CRS.
    verdict : {'fail', 'error', 'warn', 'not_checked', 'pass'}
        Its verdict (colours the site).
    evidence : sequence of (geometry, status)
        Overlap or setback geometries of the site's findings.
    nearby : sequence of (kind, geometry)
        Constraint features to draw (clipped to ``box`` here).
    box : (minx, miny, maxx, maxy)
        The square drawn, in metres.
    size : int
        Width and height in pixels.
    extra : sequence of (geometry, style)
        Shapes an analysis adds (a suggested footprint and its move), drawn
        above the evidence and below the site.
    """
    minx, miny, maxx, maxy = box
    span = max(maxx - minx, maxy - miny, 1e-6)
    k = size / span

    def tx(c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, dtype="float64").reshape(-1, c.shape[-1] if c.ndim > 1 else 2)
        return np.column_stack([(c[:, 0] - minx) * k, (maxy - c[:, 1]) * k])

    parts = [f'<svg class="gp-svg" xmlns="http://www.w3.org/2000/svg" width="{size}" '
             f'height="{size}" viewBox="0 0 {size} {size}" role="img">',
             f'<rect width="{size}" height="{size}" fill="#f7f5f0"/>']
    order = {g: i for i, g in enumerate(_SVG_GROUP_ORDER)}

    def rank(item: tuple[str, shapely.Geometry]) -> tuple[int, int]:
        kind, geom = item
        dim = shapely.get_dimensions(geom)
        group = KINDS[kind].group if kind in KINDS else "other"
        return (-int(dim), order.get(group, len(order)))

    for kind, geom in sorted(nearby, key=rank):
        style = kind_style(kind)
        if shapely.get_dimensions(geom) == 2:
            # fill the part inside the box, but stroke only the feature's own edges,
            # not the cut along the box
            parts.extend(_svg_shapes(shapely.clip_by_rect(geom, *box), tx,
                                     dict(style, weight=0, opacity=0)))
            edge = shapely.clip_by_rect(shapely.boundary(geom), *box)
            parts.extend(_svg_shapes(edge, tx, style))
        else:
            parts.extend(_svg_shapes(shapely.clip_by_rect(geom, *box), tx, style))
    for geom, status in evidence:
        st = {"color": STATUS_DARK.get(status, "#333"), "weight": 1.5,
              "fillColor": STATUS_COLOURS.get(status, "#d7191c"), "fillOpacity": 0.7,
              "radius": 4}
        parts.extend(_svg_shapes(geom, tx, st))
    for geom, style in extra:
        parts.extend(_svg_shapes(shapely.clip_by_rect(geom, *box), tx, dict(style)))
    colour = STATUS_COLOURS.get(verdict, "#999999")
    dim = shapely.get_dimensions(site)
    if dim == 2:
        st = {"color": colour, "weight": 2.5, "fillColor": colour, "fillOpacity": 0.15}
    elif dim == 1:
        st = {"color": colour, "weight": 2.5, "opacity": 0.95}   # thin: evidence shows around
    else:
        st = {"color": "#ffffff", "weight": 1.5, "fillColor": colour, "fillOpacity": 0.8,
              "radius": 6}
    parts.extend(_svg_shapes(site, tx, st))
    # scale bar and north arrow
    length = _nice_length(span)
    px = length * k
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    y0 = size - 12
    parts.append(f'<rect x="6" y="{y0 - 14}" width="{px + 12:.1f}" height="22" fill="#fff" '
                 f'fill-opacity="0.75" rx="2"/>'
                 f'<path d="M12,{y0 - 4}V{y0}H{12 + px:.1f}V{y0 - 4}" fill="none" '
                 f'stroke="#222" stroke-width="1.5"/>'
                 f'<text x="{12 + px / 2:.1f}" y="{y0 - 6}" font-size="10" '
                 f'text-anchor="middle" fill="#222">{label}</text>')
    parts.append(f'<g transform="translate({size - 16},20)"><path d="M0,-12L5,2L0,-1L-5,2Z" '
                 f'fill="#222"/><text y="12" font-size="9" text-anchor="middle" '
                 f'fill="#222">N</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def site_boxes(geoms: np.ndarray, ev_bounds: dict[int, np.ndarray],
                context_m: float) -> np.ndarray:
    """A square view box per site: the site (and its evidence) plus context."""
    b = shapely.bounds(geoms)
    out = np.empty((len(geoms), 4))
    for i in range(len(geoms)):
        x0, y0, x1, y1 = b[i]
        if i in ev_bounds:
            e = ev_bounds[i]
            x0, y0 = min(x0, e[0]), min(y0, e[1])
            x1, y1 = max(x1, e[2]), max(y1, e[3])
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        half = max(context_m, 0.6 * max(x1 - x0, y1 - y0))
        half = min(half, max(context_m, 0.6 * max(b[i][2] - b[i][0], b[i][3] - b[i][1]), 400.0))
        out[i] = (cx - half, cy - half, cx + half, cy + half)
    return out
