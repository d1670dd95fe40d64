"""Land-use parcels (GB/T 21010 codes) and the permanent basic farmland red line."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely import MultiPoint, Polygon

from .constants import FARMLAND_CODES, LANDUSE_NAMES
from .geometry import polygons
from .world import SampleLayer, World

# ---- land use -------------------------------------------------------------------------------


def _pick(rng: np.random.Generator, n: int, table: Sequence[tuple[str, float]]) -> np.ndarray:
    codes = np.array([c for c, _ in table])
    p = np.array([q for _, q in table], dtype=float)
    return codes[np.searchsorted(np.cumsum(p / p.sum()), rng.random(n), side="right").clip(0, len(codes) - 1)]


_PLAIN = (("0102", 52), ("0101", 4), ("0103", 6), ("0201", 20), ("1202", 5), ("0301", 3),
          ("0307", 2), ("0404", 8))
_FOOT = (("0103", 30), ("0404", 25), ("0401", 10), ("0201", 15), ("0305", 10), ("0102", 10))
_HILL = (("0301", 35), ("0305", 15), ("0307", 5), ("0401", 25), ("0404", 15), ("0103", 5))
_HIGH = (("0301", 40), ("0305", 15), ("0307", 5), ("0401", 25), ("0404", 15))
_RIPARIAN = (("0301", 30), ("0305", 25), ("0307", 15), ("0404", 30))
_URBAN = (("0701", 55), ("0601", 15), ("0604", 8), ("0810", 10), ("0803", 6), ("0505", 6))
_CORE = (("0702", 88), ("1202", 4), ("0201", 4), ("0102", 4))
_EDGE = (("0702", 50), ("0102", 22), ("0201", 16), ("1202", 7), ("0103", 5))


def landuse(w: World, rng: np.random.Generator) -> None:
    """Add the ``landuse`` layer: parcels coded by GB/T 21010-2017 from what lies beneath them.

    Parameters
    ----------
    w
        The world being generated, with water, roads, villages and the city generated.
    rng
        The generator's one random generator (draws in a fixed order).
    """
    f, t = w.frame, w.terrain
    box = f.box
    sp = 540.0
    gx = np.arange(f.xmin + sp / 2, f.xmax, sp)
    gy = np.arange(f.ymin + sp / 2, f.ymax, sp)
    mx, my = np.meshgrid(gx, gy)
    seeds = np.column_stack([mx.ravel(), my.ravel()]) + rng.uniform(-0.38 * sp, 0.38 * sp, (mx.size, 2))
    cells = shapely.get_parts(shapely.voronoi_polygons(MultiPoint(seeds), extend_to=box, ordered=True))
    cells = shapely.intersection(cells, box)
    cell_tree = shapely.STRtree(cells)

    geoms: list[shapely.Geometry] = []
    codes: list[str] = []

    def split_by_cells(piece: shapely.Geometry) -> list[Polygon]:
        if piece.is_empty:
            return []
        idx = np.sort(cell_tree.query(piece, predicate="intersects"))
        out: list[Polygon] = []
        for g in shapely.intersection(cells[idx], piece):
            out.extend(polygons(g, 5.0))
        return out

    roads = w.layers["road"]
    corridors = [ln.buffer(wd / 2.0, cap_style="flat") for ln, wd in
                 zip(roads.geoms, roads.cols["width_m"], strict=True)]
    is_county = np.array([c == "县道" for c in roads.cols["class"]])
    road_1003 = shapely.union_all([c for c, k in zip(corridors, is_county, strict=True) if k])
    road_1006 = shapely.union_all([c for c, k in zip(corridors, is_county, strict=True) if not k])
    w.stats["road_corridors"] = corridors
    masks: list[tuple[shapely.Geometry, str]] = [
        (w.stats["water"], "1101"),
        (shapely.union_all(w.stats["ponds"]), "1104"),
        (shapely.union_all(w.stats["l1"]), "0809"),
        (road_1003, "1003"),
        (road_1006, "1006"),
    ]
    taken: shapely.Geometry = Polygon()
    for mask, code in masks:
        piece = mask.difference(taken).intersection(box)
        parts = split_by_cells(piece)
        geoms.extend(parts)
        codes.extend([code] * len(parts))
        taken = taken.union(mask)

    # village interiors: a finer tessellation, homestead near the centre
    for v in w.villages:
        inner = v.boundary.difference(taken)
        if inner.is_empty:
            continue
        n = int(np.clip(v.boundary.area / 40000.0, 6, 30))
        minx, miny, maxx, maxy = v.boundary.bounds
        pts = np.column_stack([rng.uniform(minx, maxx, n * 3), rng.uniform(miny, maxy, n * 3)])
        pts = pts[shapely.contains_xy(v.boundary, pts[:, 0], pts[:, 1])][:n]
        if len(pts) < 2:
            pts = np.array([[v.x, v.y], [v.x + 1.0, v.y + 1.0]])
        vc = shapely.get_parts(shapely.voronoi_polygons(MultiPoint(pts), extend_to=v.boundary.envelope,
                                                        ordered=True))
        for g in shapely.intersection(vc, inner):
            for part in polygons(g, 5.0):
                rp = part.representative_point()
                q = math.hypot(rp.x - v.x, rp.y - v.y) / v.r0
                code = str(_pick(rng, 1, _CORE if q < 0.6 else _EDGE)[0])
                geoms.append(part)
                codes.append(code)
    villages_union = shapely.union_all([v.boundary for v in w.villages])
    taken = taken.union(villages_union)

    urban_parts = split_by_cells(w.stats["urban"].difference(taken))
    geoms.extend(urban_parts)
    codes.extend(_pick(rng, len(urban_parts), _URBAN).tolist())
    taken = taken.union(w.stats["urban"])

    # everything else: base cells minus what was painted above, coded by setting
    shapely.prepare(taken)
    base: list[Polygon] = []
    for c, g in zip(cells, shapely.difference(cells, taken), strict=True):
        base.extend(polygons(g if shapely.intersects(c, taken) else c, 5.0))
    rp = shapely.point_on_surface(np.asarray(base, dtype=object))
    bx, by = shapely.get_x(rp), shapely.get_y(rp)
    h = t.hill_h(bx, by)
    in_channel = shapely.contains_xy(w.stats["channel"], bx, by)
    near_river = (by - t.river_y(bx)) < 4000.0
    setting = np.where(in_channel, 0, np.where(h > 2300.0, 4, np.where(h > 200.0, 3,
                                                                       np.where(h > -150.0, 2, 1))))
    tables = {0: _RIPARIAN, 1: _PLAIN, 2: _FOOT, 3: _HILL, 4: _HIGH}
    base_codes = np.empty(len(base), dtype=object)
    for s, table in tables.items():
        sel = np.flatnonzero(setting == s)
        base_codes[sel] = _pick(rng, len(sel), table)
    paddy = (base_codes == "0101") & ~near_river
    base_codes[paddy] = "0102"
    geoms.extend(base)
    codes.extend(base_codes.tolist())
    w.stats["base_count"] = len(base)
    w.stats["base_setting"] = setting

    # the land use layer, plus the indexes of farmland base parcels for the red line
    geoms = [shapely.set_precision(g, 0.01) for g in geoms]
    keep = [i for i, g in enumerate(geoms) if isinstance(g, Polygon) and not g.is_empty and g.area > 5.0]
    geoms = [geoms[i] for i in keep]
    codes = [codes[i] for i in keep]
    w.layers["landuse"] = SampleLayer(geoms, {"code": codes, "name": [LANDUSE_NAMES[c] for c in codes]})
    w.stats["villages_union"] = villages_union


def redlines(w: World, rng: np.random.Generator) -> None:
    """Add the ``farmland_redline`` layer: a dissolved subset of the farmland parcels on the plain.

    Parameters
    ----------
    w
        The world being generated, with its land use generated.
    rng
        The generator's one random generator (draws in a fixed order).
    """
    t = w.terrain
    lu = w.layers["landuse"]
    village_u: shapely.Geometry = w.stats["villages_union"]
    shapely.prepare(village_u)
    cand: list[Polygon] = []
    for g, c in zip(lu.geoms, lu.cols["code"], strict=True):
        if c not in FARMLAND_CODES:
            continue
        rp = g.representative_point()
        if t.hill_h(np.array([rp.x]), np.array([rp.y]))[0] > -300.0:
            continue
        if village_u.intersects(rp) or w.stats["channel"].intersects(rp):
            continue
        cand.append(g)
    chosen = [g for g in cand if rng.random() < 0.7]
    red = shapely.union_all(chosen)
    parts = sorted(polygons(red, 3000.0), key=lambda p: (round(p.centroid.x, 1), round(p.centroid.y, 1)))
    w.layers["farmland_redline"] = SampleLayer([shapely.set_precision(p, 0.01) for p in parts], {})
