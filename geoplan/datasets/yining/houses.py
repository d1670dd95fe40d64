"""The batch of proposed houses: one site per scenario, placed and checked."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import rasterio
import rasterio.features
import shapely
from shapely import LineString, Point, Polygon

from .checker import Checker
from .constants import CELL, FARMLAND_CODES, HOUSE_SCENARIOS, TOWNSHIPS
from .geometry import band, polygons
from .world import SampleLayer, Village, World

# --------------------------------------------------------------------------------------
# proposed houses
# --------------------------------------------------------------------------------------


class Sampler:
    """Uniform random points inside a set of polygons (area-weighted)."""

    def __init__(self, polys: Sequence[shapely.Geometry]) -> None:
        parts: list[Polygon] = []
        for g in polys:
            parts.extend(polygons(g, 50.0))
        self.parts = parts
        for p in parts:
            shapely.prepare(p)
        areas = np.array([p.area for p in parts])
        self.cum = np.cumsum(areas) / areas.sum() if len(parts) else np.array([])

    def __bool__(self) -> bool:
        """Whether there is any polygon to sample from."""
        return bool(self.parts)

    def point(self, rng: np.random.Generator) -> tuple[float, float] | None:
        """A random point inside the polygons, or ``None`` when 24 tries in a bounding box missed."""
        if not self.parts:
            return None
        p = self.parts[min(int(np.searchsorted(self.cum, rng.random())), len(self.parts) - 1)]
        minx, miny, maxx, maxy = p.bounds
        xs = rng.uniform(minx, maxx, 24)
        ys = rng.uniform(miny, maxy, 24)
        inside = np.flatnonzero(shapely.contains_xy(p, xs, ys))
        if len(inside) == 0:
            return None
        return float(xs[inside[0]]), float(ys[inside[0]])


def _footprint(x: float, y: float, rng: np.random.Generator, polygon: bool) -> shapely.Geometry:
    if not polygon:
        return Point(round(x, 2), round(y, 2))
    a, b = rng.uniform(10.0, 20.0) / 2.0, rng.uniform(10.0, 15.0) / 2.0
    ang = rng.uniform(0.0, math.pi)
    ca, sa = math.cos(ang), math.sin(ang)
    corners = [(-a, -b), (a, -b), (a, b), (-a, b)]
    return Polygon([(round(x + u * ca - v * sa, 2), round(y + u * sa + v * ca, 2)) for u, v in corners])


Maker = Callable[[np.random.Generator], shapely.Geometry | None]

_OUT = frozenset({"outside_village_boundary"})
_FAR = frozenset({"outside_village_boundary", "scattered"})


def _region_maker(polys: Sequence[shapely.Geometry], *, poly_share: float = 0.7) -> Maker | None:
    sampler = Sampler(polys)
    if not sampler:
        return None

    def make(rng: np.random.Generator) -> shapely.Geometry | None:
        xy = sampler.point(rng)
        if xy is None:
            return None
        return _footprint(xy[0], xy[1], rng, rng.random() < poly_share)

    return make


def _line_maker(lines: Sequence[LineString], dmin: float, dmax: float,
                frac: tuple[float, float] = (0.0, 1.0), *, from_end: bool = False) -> Maker:
    lines = [ln for ln in lines if not ln.is_empty and ln.length > 50.0]

    def make(rng: np.random.Generator) -> shapely.Geometry | None:
        line = lines[int(rng.integers(len(lines)))]
        s = line.length * rng.uniform(*frac)
        if from_end:
            s = line.length - s
        s = min(max(s, 10.0), line.length - 10.0)
        p0, p1 = line.interpolate(s - 8.0), line.interpolate(s + 8.0)
        dx, dy = p1.x - p0.x, p1.y - p0.y
        norm = math.hypot(dx, dy)
        if norm == 0:
            return None
        nx, ny = -dy / norm, dx / norm
        side = 1.0 if rng.random() < 0.5 else -1.0
        target = rng.uniform(dmin, dmax)
        base = line.interpolate(s)
        polygon = rng.random() < 0.7
        a, b = rng.uniform(10.0, 20.0) / 2.0, rng.uniform(10.0, 15.0) / 2.0
        ang = rng.uniform(0.0, math.pi)
        ca, sa = math.cos(ang), math.sin(ang)

        def build(off: float) -> shapely.Geometry:
            x, y = base.x + side * off * nx, base.y + side * off * ny
            if not polygon:
                return Point(round(x, 2), round(y, 2))
            return Polygon([(round(x + u * ca - v * sa, 2), round(y + u * sa + v * ca, 2))
                            for u, v in [(-a, -b), (a, -b), (a, b), (-a, b)]])

        off = target + (max(a, b) if polygon else 0.0)
        g = build(off)
        for _ in range(3):
            d = g.distance(line)
            if abs(d - target) < 0.2:
                break
            off += target - d
            g = build(off)
        d = g.distance(line)
        return g if dmin - 0.3 <= d <= dmax + 0.3 else None

    return make


def _cell_maker(ch: Checker, mask: np.ndarray) -> Maker | None:
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return None
    f = ch.frame
    cols = mask.shape[1]

    def make(rng: np.random.Generator) -> shapely.Geometry | None:
        k = int(idx[int(rng.integers(len(idx)))])
        r, c = divmod(k, cols)
        x = f.xmin + (c + 0.5) * CELL + rng.uniform(-4.0, 4.0)
        y = f.ymax - (r + 0.5) * CELL + rng.uniform(-4.0, 4.0)
        return _footprint(x, y, rng, rng.random() < 0.7)

    return make


def _zone_options(zone: Sequence[shapely.Geometry], villages: shapely.Geometry,
                  near: shapely.Geometry) -> list[tuple[Maker | None, frozenset[str]]]:
    zu = shapely.union_all(list(zone))
    return [
        (_region_maker([zu.intersection(villages)]), frozenset()),
        (_region_maker([zu.intersection(near)]), _OUT),
        (_region_maker([zu]), _FAR),
    ]


Record = tuple[str, shapely.Geometry | None, set[str]]
"""A placed house: its scenario, its geometry and the tags the checker found."""

Options = Sequence[tuple[Maker | None, frozenset[str]]]
"""Ways to make a site for a scenario, best first, each with the co-violations it may add."""

_IMPLIED: dict[str, frozenset[str]] = {
    "farmland_redline": frozenset({"farmland"}),
    "scattered": frozenset({"outside_village_boundary"}),
}
"""Tags a scenario cannot avoid (red-line farmland is farmland; scattered is outside)."""

_ANY_SCENARIO = frozenset({"near_highway"})
"""Tags any scenario but ``clean`` may add: a house can stand by a township road anywhere."""


@dataclass
class _Placer:
    """Places houses one scenario at a time, each checked and recorded with its tags."""

    ch: Checker
    rng: np.random.Generator
    records: list[Record] = field(default_factory=list)

    def clean(self, villages: Sequence[Village]) -> None:
        """Clean sites near village centres, round-robin over ``villages``."""
        makers = [_region_maker([v.boundary.intersection(v.point.buffer(300.0))])
                  for v in villages]
        alive = [m is not None for m in makers]
        placed = 0
        turn = 0
        while placed < HOUSE_SCENARIOS["clean"]:
            if not any(alive):
                raise RuntimeError("sample generator ran out of villages for clean houses")
            j = turn % len(villages)
            turn += 1
            make = makers[j]
            if not alive[j] or make is None:
                continue
            for _ in range(120):
                g = make(self.rng)
                if g is not None and self.ch.house(g) == set():
                    self.records.append(("clean", g, set()))
                    self.ch.add(g)
                    placed += 1
                    break
            else:
                alive[j] = False

    def place(self, scn: str, options: Options) -> None:
        """Place the ``HOUSE_SCENARIOS[scn]`` houses of a scenario, trying ``options`` in turn.

        An option that fails 300 times in a row is dropped for the rest of the scenario.
        """
        n = HOUSE_SCENARIOS[scn]
        dead = [m is None for m, _ in options]
        for i in range(n):
            if not self._place_one(scn, options, dead):
                raise RuntimeError(f"sample generator could not place house {i + 1}/{n} for {scn!r}")

    def _place_one(self, scn: str, options: Options, dead: list[bool]) -> bool:
        for k, (make, allowed) in enumerate(options):
            if dead[k] or make is None:
                continue
            if self._try(scn, make,
                         {scn} | allowed | _IMPLIED.get(scn, frozenset()) | _ANY_SCENARIO):
                return True
            dead[k] = True
        return False

    def _try(self, scn: str, make: Maker, ok: set[str]) -> bool:
        for _ in range(300):
            g = make(self.rng)
            if g is None:
                continue
            hits = self.ch.house(g)
            if hits is None or scn not in hits:
                continue
            if hits <= ok:
                self.records.append((scn, g, hits))
                self.ch.add(g)
                return True
        return False


def place_houses(w: World, ch: Checker, rng: np.random.Generator) -> SampleLayer:
    """The batch of proposed houses: clean sites round-robin over villages, then each scenario.

    Parameters
    ----------
    w
        The world, with every constraint layer generated.
    ch
        The checker; every placed house is recorded in it.
    rng
        The generator's one random generator.

    Returns
    -------
    SampleLayer
        300 houses sorted by township, village and easting, with ``house_id``,
        ``village``, ``township``, ``floors``, ``scenario`` and ``expected_hits``.
    """
    vs = w.villages
    vunion: shapely.Geometry = w.stats["villages_union"]
    near = shapely.union_all([v.boundary.buffer(500.0) for v in vs])
    placer = _Placer(ch, rng)
    placer.clean([v for v in vs if v.layout_class != "搬迁撤并"])
    _in_zones(placer, w, vunion, near)
    _near_lines(placer, w)
    _on_slopes(placer, w, near)
    _in_villages_and_beyond(placer, w, vunion, near)
    # two rows with no usable geometry: one NULL, one empty polygon
    placer.records.append(("empty_geometry", None, {"empty_geometry"}))
    placer.records.append(("empty_geometry", Polygon(), {"empty_geometry"}))
    return _house_layer(placer.records, vs, rng)


def _in_zones(placer: _Placer, w: World, vunion: shapely.Geometry,
              near: shapely.Geometry) -> None:
    """Houses in hazard zones, red lines and the flood channel (in a village, near one, far)."""
    lyr = w.layers
    zone_layers = {
        "flood_zone": "flood_zone", "flood_storage": "flood_storage", "landslide": "landslide_zone",
        "debris_flow": "debris_flow_zone", "geohazard": "geohazard_zone",
        "subsidence": "subsidence_zone", "ecological_redline": "ecological_redline",
        "farmland_redline": "farmland_redline",
    }
    for scn, layer in zone_layers.items():
        placer.place(scn, _zone_options(lyr[layer].geoms, vunion, near))
    floodplain = shapely.union_all(lyr["flood_channel"].geoms).difference(w.stats["water"])
    placer.place("flood_channel", _zone_options([floodplain], vunion, near))


def _near_lines(placer: _Placer, w: World) -> None:
    """Houses near a gully, near an active fault and in each power corridor."""
    lyr = w.layers
    near_gully = _line_maker(lyr["gully"].geoms, 1.5, 8.5, (0.0, 0.3), from_end=True)
    placer.place("near_gully", [(near_gully, _OUT), (near_gully, _FAR)])
    near_fault = _line_maker(lyr["active_fault"].geoms, 25.0, 85.0)
    placer.place("near_fault", [(near_fault, _OUT), (near_fault, _FAR)])
    pl = lyr["power_line"]
    for kv, (lo, hi) in ((10.0, (1.0, 3.5)), (35.0, (1.5, 8.5)), (110.0, (1.5, 8.5))):
        lines = [g for g, v in zip(pl.geoms, pl.cols["voltage_kv"], strict=True) if v == kv]
        placer.place(f"power_corridor_{int(kv)}kv",
                     [(_line_maker(lines, lo, hi), frozenset()), (_line_maker(lines, lo, hi), _OUT),
                      (_line_maker(lines, lo, hi), _FAR)])


def _on_slopes(placer: _Placer, w: World, near: shapely.Geometry) -> None:
    """Houses on steep and moderate slopes (3×3 windows of numpy.gradient slope)."""
    ch = placer.ch
    rows, cols = w.frame.shape
    vmask = rasterio.features.rasterize([(v.boundary, 1) for v in w.villages],
                                        out_shape=(rows, cols), transform=w.frame.transform,
                                        fill=0, dtype="uint8") > 0
    nmask = rasterio.features.rasterize([(near, 1)], out_shape=(rows, cols),
                                        transform=w.frame.transform, fill=0, dtype="uint8") > 0
    with np.errstate(invalid="ignore"):
        steep = ch.smin > 26.0
        moderate = (ch.smin >= 16.0) & (ch.smax <= 24.0)
    for scn, mask in (("steep_slope", steep), ("moderate_slope", moderate)):
        placer.place(scn, [(_cell_maker(ch, mask & vmask), frozenset()),
                           (_cell_maker(ch, mask & nmask), _OUT),
                           (_cell_maker(ch, mask), _FAR)])


def _in_villages_and_beyond(placer: _Placer, w: World, vunion: shapely.Geometry,
                            near: shapely.Geometry) -> None:
    """Houses in and around villages, and scattered on the plain.

    At water sources, on farmland and water, just outside villages, at old
    trees, in the heritage zone and in relocate-and-merge villages.
    """
    lyr, vs = w.layers, w.villages
    wz = lyr["water_source_zone"]
    for level in ("1", "2"):
        zone = [g for g, lv in zip(wz.geoms, wz.cols["level"], strict=True) if lv == level]
        placer.place(f"water_source_l{level}", _zone_options(zone, vunion, near))

    lu = lyr["landuse"]
    farm_in = [g for g, c in zip(lu.geoms, lu.cols["code"], strict=True)
               if c in FARMLAND_CODES and vunion.contains(g.representative_point())]
    farm_near = [g for g, c in zip(lu.geoms, lu.cols["code"], strict=True)
                 if c in FARMLAND_CODES and near.contains(g.representative_point())]
    placer.place("farmland",
                 [(_region_maker(farm_in), frozenset()), (_region_maker(farm_near), _OUT)])

    ponds = w.stats["ponds"]
    placer.place("water_body",
                 [(_region_maker([p.buffer(-3.0) for p in ponds if vunion.contains(p)]),
                   frozenset()),
                  (_region_maker([p.buffer(-3.0) for p in ponds]), _OUT)])

    ring = [v.boundary.buffer(250.0).difference(v.boundary.buffer(50.0)) for v in vs]
    placer.place("outside_village_boundary",
                 [(_region_maker([shapely.union_all(ring).difference(vunion.buffer(50.0))]),
                   frozenset())])

    trees = [p for p in lyr["old_tree"].geoms if vunion.contains(p)
             and not shapely.union_all(lyr["heritage_zone"].geoms).contains(p)]

    def tree_make(rng: np.random.Generator) -> shapely.Geometry | None:
        p = trees[int(rng.integers(len(trees)))]
        return _footprint(p.x + rng.uniform(-2.0, 2.0), p.y + rng.uniform(-2.0, 2.0), rng, True)

    placer.place("old_tree", [(tree_make, frozenset())])
    placer.place("heritage", [(_region_maker(lyr["heritage_zone"].geoms), frozenset())])
    relocate = [v.boundary for v in vs if v.layout_class == "搬迁撤并"]
    placer.place("relocate_merge_village", [(_region_maker(relocate), frozenset())])

    f, t = w.frame, w.terrain
    xs = np.arange(f.xmin - 500.0, f.xmax + 501.0, 50.0)
    plain = band(xs, t.river_y(xs) + t.band50(xs, True) + 200.0, t.foot_y(xs) - 400.0)
    far = plain.difference(shapely.union_all([vunion, w.stats["urban"]]).buffer(1100.0))
    placer.place("scattered", [(_region_maker([far]), frozenset())])


def _house_layer(records: list[Record], vs: Sequence[Village],
                 rng: np.random.Generator) -> SampleLayer:
    """The houses with their attributes, sorted by township, village and easting.

    The village a site belongs to is the one containing it, else the nearest.  A site is
    only attributed to a relocate-and-merge village when it lies inside one, so that rules
    reading the `village` field agree with the spatial scenario.
    """
    keep = [i for i, v in enumerate(vs) if v.layout_class != "搬迁撤并"]
    all_tree = shapely.STRtree([v.boundary for v in vs])
    keep_tree = shapely.STRtree([vs[i].boundary for i in keep])
    rows_out: list[tuple[int, str, str, float, int, shapely.Geometry | None, str]] = []
    for k, (scn, g, hits) in enumerate(records):
        if g is None or g.is_empty:
            vi = keep[int(rng.integers(len(keep)))]
            x = vs[vi].x
        elif "relocate_merge_village" in hits:
            vi = int(all_tree.query_nearest(g, all_matches=False)[0])
            x = g.centroid.x
        else:
            vi = keep[int(keep_tree.query_nearest(g, all_matches=False)[0])]
            x = g.centroid.x
        rows_out.append((TOWNSHIPS.index(vs[vi].township), vs[vi].name, scn, x, k, g,
                         ";".join(sorted(hits))))
    rows_out.sort(key=lambda r: (r[0], r[1], r[3], r[4]))
    floors = rng.choice([1, 1, 1, 1, 2, 2, 2, 3], size=len(rows_out))
    return SampleLayer(
        [r[5] for r in rows_out],
        {"house_id": [f"H{i + 1:04d}" for i in range(len(rows_out))],
         "village": [r[1] for r in rows_out],
         "township": [TOWNSHIPS[r[0]] for r in rows_out],
         "floors": [int(x) for x in floors],
         "scenario": [r[2] for r in rows_out],
         "expected_hits": [r[6] for r in rows_out]},
    )
