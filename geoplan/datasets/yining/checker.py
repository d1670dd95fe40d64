"""The generator's own view of which constraint a site touches, and the old trees."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely import LineString, Point, Polygon

from .constants import CELL, CORRIDOR_M, FARMLAND_CODES, FOREST_CODES, HIGHWAY_SETBACK_M, TAU
from .terrain import window
from .world import SampleLayer, World

# --------------------------------------------------------------------------------------
# the checker: the generator's own view of which constraint a site touches
# --------------------------------------------------------------------------------------


class ZoneIndex:
    """An STRtree over polygons with 'inside / clear / ambiguous' and distance queries."""

    def __init__(self, geoms: Sequence[shapely.Geometry]) -> None:
        self.geoms = np.asarray([g for g in geoms if g is not None and not g.is_empty], dtype=object)
        self.tree = shapely.STRtree(self.geoms)

    def state(self, inner: shapely.Geometry, outer: shapely.Geometry) -> int:
        """1: ``inner`` lies inside; 0: ``outer`` is clear; -1: neither."""
        idx = self.tree.query(outer, predicate="intersects")
        if len(idx) == 0:
            return 0
        cand = self.geoms[np.sort(idx)]
        cover = cand[0] if len(cand) == 1 else shapely.union_all(cand)
        return 1 if cover.contains(inner) else -1

    def area(self, fp: shapely.Geometry) -> float:
        """Area of ``fp`` covered by the indexed polygons (m²)."""
        idx = self.tree.query(fp, predicate="intersects")
        if len(idx) == 0:
            return 0.0
        return float(shapely.area(shapely.intersection(self.geoms[np.sort(idx)], fp)).sum())

    def distance(self, g: shapely.Geometry) -> float:
        """Distance from ``g`` to the nearest indexed geometry (``inf`` when empty)."""
        if len(self.geoms) == 0:
            return math.inf
        _, d = self.tree.query_nearest(g, return_distance=True, all_matches=False)
        return float(d[0])


_HOUSE_POLY_TAGS = (
    "flood_zone", "flood_channel", "flood_storage", "landslide", "debris_flow", "geohazard",
    "subsidence", "ecological_redline", "farmland_redline", "farmland", "water_body", "heritage",
    "water_source_l1", "water_source_l2", "relocate_merge_village",
)


class Checker:
    """Which constraints a proposed house or road clearly touches, by the generator's own checks.

    A site is accepted only when every check is clear-cut (inside a zone by
    at least 2 m or at least 5 m outside; distances away from thresholds);
    :meth:`house` and :meth:`road` return ``None`` for a borderline site.

    Parameters
    ----------
    w
        The world, with every constraint layer generated.
    """

    def __init__(self, w: World) -> None:
        lyr = w.layers
        lu = lyr["landuse"]
        farm = [g for g, c in zip(lu.geoms, lu.cols["code"], strict=True) if c in FARMLAND_CODES]
        forest = [g for g, c in zip(lu.geoms, lu.cols["code"], strict=True) if c in FOREST_CODES]
        wz = lyr["water_source_zone"]
        relocate = [v.boundary for v in w.villages if v.layout_class == "搬迁撤并"]
        self.poly: dict[str, ZoneIndex] = {
            "flood_zone": ZoneIndex(lyr["flood_zone"].geoms),
            "flood_channel": ZoneIndex(lyr["flood_channel"].geoms),
            "flood_storage": ZoneIndex(lyr["flood_storage"].geoms),
            "landslide": ZoneIndex(lyr["landslide_zone"].geoms),
            "debris_flow": ZoneIndex(lyr["debris_flow_zone"].geoms),
            "geohazard": ZoneIndex(lyr["geohazard_zone"].geoms),
            "subsidence": ZoneIndex(lyr["subsidence_zone"].geoms),
            "ecological_redline": ZoneIndex(lyr["ecological_redline"].geoms),
            "farmland_redline": ZoneIndex(lyr["farmland_redline"].geoms),
            "farmland": ZoneIndex(farm),
            "water_body": ZoneIndex(lyr["water_body"].geoms),
            "heritage": ZoneIndex(lyr["heritage_zone"].geoms),
            "water_source_l1": ZoneIndex([g for g, lv in zip(wz.geoms, wz.cols["level"], strict=True)
                                       if lv == "1"]),
            "water_source_l2": ZoneIndex([g for g, lv in zip(wz.geoms, wz.cols["level"], strict=True)
                                       if lv == "2"]),
            "relocate_merge_village": ZoneIndex(relocate),
        }
        self.forest = ZoneIndex(forest)
        self.villages = ZoneIndex([v.boundary for v in w.villages])
        self.settlements = ZoneIndex([v.boundary for v in w.villages] + [w.stats["urban"]])
        self.urban = ZoneIndex([w.stats["urban"]])
        self.roads = ZoneIndex(w.stats["road_corridors"])
        self.gully = ZoneIndex(lyr["gully"].geoms)
        self.fault = ZoneIndex(lyr["active_fault"].geoms)
        pl = lyr["power_line"]
        self.power = {kv: ZoneIndex([g for g, v in zip(pl.geoms, pl.cols["voltage_kv"], strict=True)
                                  if v == kv]) for kv in CORRIDOR_M}
        rd = lyr["road"]
        # a road's land: its centreline grown by half its width (round ends, as distances are)
        self.highway = {cls: ZoneIndex([ln.buffer(float(wd) / 2.0) for ln, wd, c in
                                        zip(rd.geoms, rd.cols["width_m"], rd.cols["class"],
                                            strict=True) if c == cls])
                        for cls in HIGHWAY_SETBACK_M}
        self.trees = ZoneIndex(lyr["old_tree"].geoms if "old_tree" in lyr else [])
        self.points = ZoneIndex(list(lyr["facility"].geoms) + list(lyr["substation"].geoms))
        self.safe = w.frame.box.buffer(-150.0)
        shapely.prepare(self.safe)
        self.hole = Point(*w.stats["hole"])
        self.slope = w.slope
        self.smin = window(w.slope, np.minimum)
        self.smax = window(w.slope, np.maximum)
        self.frame = w.frame
        self.placed = np.empty((0, 2))

    def cell(self, x: float, y: float) -> tuple[int, int]:
        """Row and column of the DEM cell holding the point (x, y)."""
        return int((self.frame.ymax - y) // CELL), int((x - self.frame.xmin) // CELL)

    def house(self, g: shapely.Geometry) -> set[str] | None:
        """The tags a house site clearly hits, or None if any check is borderline.

        The checks run in turn — room for a house, zones, distances, old trees,
        slope — and stop at the first borderline one.
        """
        c = g.centroid
        if not self.safe.contains(g) or c.distance(self.hole) < 500.0:
            return None
        if len(self.placed) and np.hypot(*(self.placed - (c.x, c.y)).T).min() < 35.0:
            return None
        inner = g.buffer(2.0, quad_segs=2)
        outer = g.buffer(5.0, quad_segs=2)
        if self.urban.state(inner, outer) != 0 or self.roads.state(inner, g.buffer(3.0)) != 0:
            return None
        if self.points.distance(g) < 15.0:
            return None
        zones = self._zone_tags(inner, outer)
        if zones is None:
            return None
        distances = self._distance_tags(g)
        if distances is None:
            return None
        trees = self._tree_tags(g)
        if trees is None:
            return None
        slope = self._slope_tags(c)
        if slope is None:
            return None
        return zones | distances | trees | slope

    def _zone_tags(self, inner: shapely.Geometry, outer: shapely.Geometry) -> set[str] | None:
        """The zones the site lies in (``inner``: grown 2 m), and whether it is outside every village."""
        hits: set[str] = set()
        for tag in _HOUSE_POLY_TAGS:
            s = self.poly[tag].state(inner, outer)
            if s < 0:
                return None
            if s:
                hits.add(tag)
        s = self.villages.state(inner, outer)
        if s < 0:
            return None
        if s == 0:
            hits.add("outside_village_boundary")
        return hits

    def _distance_tags(self, g: shapely.Geometry) -> set[str] | None:
        """Scattered, near a gully or a fault, in a power corridor or a highway's control zone."""
        hits: set[str] = set()
        d = self.settlements.distance(g)
        if d > 1000.0:
            hits.add("scattered")
        elif d >= 500.0:
            return None
        d = self.gully.distance(g)
        if d <= 10.0:
            hits.add("near_gully")
        elif d <= 30.0:
            return None
        d = self.fault.distance(g)
        if d < 100.0:
            hits.add("near_fault")
        elif d <= 200.0:
            return None
        for kv, corridor in CORRIDOR_M.items():
            d = self.power[kv].distance(g)
            if d < corridor - 0.5:
                hits.add(f"power_corridor_{int(kv)}kv")
            elif d <= corridor + 15.0:
                return None
        for cls, setback in HIGHWAY_SETBACK_M.items():
            d = self.highway[cls].distance(g)  # from the edge of the road land
            if d < setback - 0.5:
                hits.add("near_highway")
            elif d <= setback + 0.5:
                return None
        return hits

    def _tree_tags(self, g: shapely.Geometry) -> set[str] | None:
        """``old_tree`` when every tree within 20 m lies well inside the site."""
        hits: set[str] = set()
        idx = self.trees.tree.query(g.buffer(20.0), predicate="intersects")
        for tree in self.trees.geoms[np.sort(idx)]:
            if g.contains(tree) and tree.distance(g.boundary) >= 2.0:
                hits.add("old_tree")
            else:
                return None
        return hits

    def _slope_tags(self, c: Point) -> set[str] | None:
        """The slope class of the 3×3 cells around the centroid: steep, moderate or gentle."""
        r, col = self.cell(c.x, c.y)
        mn, mx = self.smin[r, col], self.smax[r, col]
        if not (np.isfinite(mn) and np.isfinite(mx)):
            return None
        if mn > 26.0:
            return {"steep_slope"}
        if mn >= 16.0 and mx <= 24.0:
            return {"moderate_slope"}
        if mx >= 13.0:
            return None
        return set()

    def road(self, line: LineString, width: float | None) -> set[str] | None:
        """The tags a proposed road clearly hits, or None if any check is borderline."""
        if not self.safe.contains(line):
            return None
        fp = line.buffer((width if width is not None else 4.0) / 2.0, cap_style="flat")
        hits: set[str] = set()
        indexes = {**self.poly, "forest_land": self.forest}
        indexes.pop("relocate_merge_village")
        for tag, index in indexes.items():
            a = index.area(fp)
            if a > 10.0:
                hits.add(tag)
            elif a > 0.0:
                return None
        if width is None:
            hits.add("no_width")
        elif width < 4.0:
            hits.add("narrow")
        return hits

    def add(self, g: shapely.Geometry) -> None:
        """Record a placed site, so that the next ones keep 35 m away from it."""
        c = g.centroid
        self.placed = np.vstack([self.placed, [c.x, c.y]])


def old_trees(w: World, ch: Checker, rng: np.random.Generator) -> None:
    """Add the ``old_tree`` layer: eight in the heritage core, nine in other villages, three in the hills.

    Village trees are placed where a small house around them would touch nothing else,
    so that the ``old_tree`` house scenario can be isolated.

    Parameters
    ----------
    w
        The world being generated.
    ch
        The checker; its index of old trees is replaced by the new layer.
    rng
        The generator's one random generator.
    """
    f, t, vs = w.frame, w.terrain, w.villages
    core: Polygon = w.stats["heritage_core"]
    trees: list[Point] = []
    species: list[object] = []
    ages: list[object] = []
    while len(trees) < 8:
        minx, miny, maxx, maxy = core.bounds
        p = Point(round(rng.uniform(minx, maxx), 2), round(rng.uniform(miny, maxy), 2))
        if core.buffer(-10.0).contains(p) and all(p.distance(q) > 30.0 for q in trees):
            trees.append(p)
            species.append(str(rng.choice(["夏橡", "白榆", "桑树", "核桃", "白榆"])))
            ages.append(int(rng.integers(120, 460)))
    skip = w.stats["tree_skip"]
    pool = [i for i in range(len(vs)) if i not in skip]
    pool = [pool[i] for i in rng.permutation(len(pool))]
    placed = 0
    for i in pool:
        if placed == 9:
            break
        v = vs[i]
        for _ in range(300):
            a = rng.uniform(0.0, TAU)
            d = rng.uniform(40.0, 300.0)
            p = Point(round(v.x + d * math.cos(a), 2), round(v.y + d * math.sin(a), 2))
            if ch.house(p.buffer(10.0, quad_segs=4)) == set():
                trees.append(p)
                species.append(str(rng.choice(["白榆", "新疆杨", "桑树", "核桃", "杏树", "白蜡"])))
                ages.append(int(rng.integers(100, 320)))
                placed += 1
                break
    for _ in range(3):
        x = rng.uniform(f.xmin + 3000.0, f.xmax - 6000.0)
        y = float(t.foot_y(np.array([x]))[0]) + rng.uniform(900.0, 2000.0)
        trees.append(Point(round(x, 2), round(y, 2)))
        species.append("新疆野苹果")
        ages.append(int(rng.integers(150, 600)))
    w.layers["old_tree"] = SampleLayer(trees, {"species": species, "age_years": ages})
    ch.trees = ZoneIndex(trees)
