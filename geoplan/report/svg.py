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

__all__ = ["feature_label", "nearby_features", "site_svg"]


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
             extra: Sequence[tuple[shapely.Geometry, Mapping[str, Any]]] = (),
             labels: Sequence[tuple[shapely.Geometry, str]] = (),
             font_family: str | None = None) -> str:
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
    labels : sequence of (geometry, text)
        Features to name on the map, most important first (e.g. nearest
        first): each text is set beside the part of its geometry inside
        ``box``, with a white halo; a text that would overlap one already
        set, the scale bar or the north arrow, or repeats one, is left out.
    font_family : str, optional
        The font of the map's text (a CSS font family list; default: the
        viewer's).
    """
    minx, miny, maxx, maxy = box
    span = max(maxx - minx, maxy - miny, 1e-6)
    k = size / span

    def tx(c: np.ndarray) -> np.ndarray:
        c = np.asarray(c, dtype="float64").reshape(-1, c.shape[-1] if c.ndim > 1 else 2)
        return np.column_stack([(c[:, 0] - minx) * k, (maxy - c[:, 1]) * k])

    font = f' font-family="{esc(font_family)}"' if font_family else ""
    parts = [f'<svg class="gp-svg" xmlns="http://www.w3.org/2000/svg" width="{size}" '
             f'height="{size}" viewBox="0 0 {size} {size}" role="img"{font}>',
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
    if labels:
        keep_clear = [(6.0, size - 26.0, px + 18.0, size - 4.0),     # the scale bar
                      (size - 28.0, 4.0, size - 4.0, 36.0)]        # the north arrow
        if not site.is_empty:  # and the site itself
            sx0, sy0, sx1, sy1 = shapely.bounds(site)
            (px0, py1), (px1, py0) = tx(np.array([[sx0, sy0], [sx1, sy1]]))
            keep_clear.append((px0 - 6, py0 - 6, px1 + 6, py1 + 6))
        parts.extend(_label_texts(labels, box, tx, size, keep_clear,
                                  avoid=shapely.buffer(site, 0.08 * span)))
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


def _text_width(text: str, font_px: float) -> float:
    """A text's width, estimated: CJK characters are square, others about half as wide."""
    return sum(font_px if ord(c) >= 0x2E80 else 0.56 * font_px for c in text)


def _label_anchors(geom: shapely.Geometry, box: tuple[float, float, float, float],
                   avoid: shapely.Geometry | None = None) -> list[shapely.Point]:
    """Where a feature may be named, best first: on its largest part inside the box.

    An area: a point inside it, then points of a grid over the box that lie in
    it, nearest the site first; a line: its middle, then other points along
    it; both off ``avoid`` (around the site) where the feature reaches beyond it.
    """
    minx, miny, maxx, maxy = box
    pad = 0.06 * (maxx - minx)
    part = shapely.clip_by_rect(geom, minx + pad, miny + pad, maxx - pad, maxy - pad)
    if part is None or part.is_empty:
        return []
    dim = shapely.get_dimensions(part)
    if avoid is not None and dim > 0:
        off = shapely.difference(part, avoid)
        part = part if off.is_empty else off
    pieces = [p for p in shapely.get_parts(part) if not p.is_empty]
    if not pieces:
        return []
    if dim == 2:
        big = max(pieces, key=lambda p: p.area)
        xs = np.linspace(minx + 2 * pad, maxx - 2 * pad, 5)
        ys = np.linspace(miny + 2 * pad, maxy - 2 * pad, 5)
        grid = shapely.points(np.array([(x, y) for y in ys for x in xs]))
        grid = grid[shapely.contains(big, grid)]
        if avoid is not None and len(grid):
            grid = grid[np.argsort(shapely.distance(grid, avoid), kind="stable")]
        return [shapely.point_on_surface(big), *grid]
    if dim == 1:
        big = max(pieces, key=lambda p: p.length)
        return [big.interpolate(f, normalized=True) for f in (0.5, 0.3, 0.7, 0.15, 0.85)]
    return [shapely.Point(pieces[0].coords[0])]


def _label_texts(labels: Sequence[tuple[shapely.Geometry, str]],
                 box: tuple[float, float, float, float], tx: Any, size: int,
                 taken: list[tuple[float, float, float, float]], *,
                 avoid: shapely.Geometry | None = None, font_px: float = 9.0) -> list[str]:
    """SVG texts naming features, each set where it overlaps nothing set before."""
    out: list[str] = []
    seen: set[str] = set()
    for geom, text in labels:
        text = " ".join(str(text).split())
        if not text or text in seen or geom is None or geom.is_empty:
            continue
        w, h = _text_width(text, font_px), font_px + 2
        spot = next(((x + dx, y + dy - font_px)
                     for anchor in _label_anchors(geom, box, avoid)
                     for x, y in tx(np.asarray(anchor.coords))[:1]
                     for dx, dy in ((5, -4), (-5 - w, -4), (-w / 2, -8), (-w / 2, h + 2),
                                    (5, h))
                     if _free((x + dx - 1, y + dy - font_px - 1, x + dx + w + 1, y + dy + 2),
                              size, taken)), None)
        if spot is None:
            continue
        x0, y0 = spot
        taken.append((x0 - 1, y0 - 1, x0 + w + 1, y0 + h))
        seen.add(text)
        at = f'x="{_fmt(x0)}" y="{_fmt(y0 + font_px)}" font-size="{font_px:g}"'
        # the halo first, then the text (paint-order is not drawn everywhere)
        out.append(f'<text {at} fill="#fff" stroke="#fff" stroke-width="3" '
                   f'stroke-opacity="0.85" stroke-linejoin="round">{esc(text)}</text>'
                   f'<text {at} fill="#222">{esc(text)}</text>')
    return out


def _free(r: tuple[float, float, float, float], size: int,
          taken: Sequence[tuple[float, float, float, float]]) -> bool:
    """The rectangle lies inside the map and overlaps nothing taken."""
    if r[0] < 2 or r[1] < 2 or r[2] > size - 2 or r[3] > size - 2:
        return False
    return not any(r[0] < t[2] and t[0] < r[2] and r[1] < t[3] and t[1] < r[3] for t in taken)


def feature_label(kind: str, attrs: Mapping[str, Any]) -> str:
    """A short name for a constraint feature: its kind in Chinese and what tells it apart.

    Examples
    --------
    >>> feature_label("power_line", {"name": "伊宁东线", "voltage_kv": 110.0})
    '电力线路 伊宁东线 110 kV'
    >>> feature_label("road", {"road_id": "X702", "name": None})
    '道路 X702'
    """
    k = KINDS.get(kind)
    parts = [k.label_zh if k is not None else kind]
    for field in ("name", "road_id", "village", "species"):
        value = attrs.get(field)
        if isinstance(value, str) and value.strip():
            parts.append(value.strip()[:16])
            break
    kv = attrs.get("voltage_kv")
    if isinstance(kv, int | float) and np.isfinite(kv):
        parts.append(f"{kv:g} kV")
    return " ".join(parts)


def nearby_features(workspace: Any, boxes: np.ndarray, layers: Sequence[str] | None = None,
                    ) -> dict[int, list[tuple[str, shapely.Geometry, str]]]:
    """The constraint features in each view box, one bulk spatial-index query per layer.

    Parameters
    ----------
    workspace : Workspace
        The workspace checked against (layers in its working CRS).
    boxes : array of shapely Polygon
        The view boxes, in the working CRS.
    layers : sequence of str, optional
        Kinds to look in (default: every vector layer but ``landuse``, which
        its derived layers, such as farmland and forest land, stand for).

    Returns
    -------
    dict
        Box position → ``(kind, geometry, label)`` of each feature in the box
        (:func:`feature_label`).
    """
    out: dict[int, list[tuple[str, shapely.Geometry, str]]] = {}
    if not len(boxes):
        return out
    kinds = [k for k in (layers if layers is not None else workspace.layers)
             if k in workspace.layers and hasattr(workspace.layers[k], "gdf") and k != "landuse"]
    for kind in kinds:
        gdf = workspace.layers[kind].gdf
        if not len(gdf):
            continue
        qi, fi = gdf.sindex.query(boxes, predicate="intersects")
        if not len(qi):
            continue
        gvals = np.asarray(gdf.geometry.values, dtype=object)
        fields = [c for c in ("name", "road_id", "village", "species", "voltage_kv")
                  if c in gdf.columns]
        cols = {c: gdf[c].to_numpy(dtype=object) for c in fields}
        for a, b in zip(qi, fi, strict=True):
            label = feature_label(kind, {c: cols[c][b] for c in fields})
            out.setdefault(int(a), []).append((kind, gvals[b], label))
    return out
