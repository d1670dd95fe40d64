"""The batch of proposed roads: rebuilt sections and new chords, one per scenario."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import LineString
from shapely.ops import substring

from .checker import Checker
from .constants import FARMLAND_CODES, FOREST_CODES, ROAD_SCENARIOS, TAU, TOWNSHIPS
from .houses import Sampler
from .world import SampleLayer, Village, World

# --------------------------------------------------------------------------------------
# proposed roads
# --------------------------------------------------------------------------------------


_ROAD_WIDTHS = (4.5, 4.5, 5.0, 5.0, 5.5, 6.0, 6.5, 7.0)


@dataclass
class _RoadProposal:
    """A proposed road, and once placed, its scenario and the tags the checker found."""

    line: LineString
    width: float | None
    name: str
    cls: str
    status: str
    township: str
    scenario: str = ""
    hits: str = ""


RoadMaker = Callable[[], _RoadProposal | None]


def _attempt(recs: list[_RoadProposal], ch: Checker, scn: str, make: RoadMaker,
             tiers: Sequence[frozenset[str]]) -> None:
    """Add the ``ROAD_SCENARIOS[scn]`` roads of a scenario to ``recs``.

    Each tier of allowed co-violations gets 4000 proposals, the strictest first; a
    road must keep 150 m from every road already placed.
    """
    n = ROAD_SCENARIOS[scn]
    done = 0
    for allowed in tiers:
        for _ in range(4000):
            if done == n:
                return
            prop = make()
            if prop is None:
                continue
            hits = ch.road(prop.line, prop.width)
            if hits is None:
                continue
            ok = not hits if scn == "clean" else (scn in hits and hits <= {scn} | allowed)
            if not ok or any(prop.line.distance(r.line) < 150.0 for r in recs):
                continue
            prop.scenario, prop.hits = scn, ";".join(sorted(hits))
            recs.append(prop)
            done += 1
    if done < n:
        raise RuntimeError(f"sample generator could not place {n} roads for {scn!r}")


def place_roads(w: World, ch: Checker, rng: np.random.Generator) -> SampleLayer:
    """The batch of proposed roads: rebuilt sections of existing roads and new short chords.

    Parameters
    ----------
    w
        The world, with every constraint layer generated.
    ch
        The checker.
    rng
        The generator's one random generator.

    Returns
    -------
    SampleLayer
        30 roads sorted by township and easting, with ``road_id``, ``name``,
        ``class``, ``width_m``, ``status``, ``township``, ``scenario`` and
        ``expected_hits``.
    """
    lyr = w.layers
    vs = w.villages
    roads = lyr["road"]
    recs: list[_RoadProposal] = []

    def nearest_village(g: shapely.Geometry) -> Village:
        return min(vs, key=lambda v: v.boundary.distance(g))

    # rebuilt sections of existing village and township roads, inside the existing corridor
    rebuild_src = [i for i, c in enumerate(roads.cols["class"]) if c in ("乡道", "村道")]
    widths = [float(str(x)) for x in roads.cols["width_m"]]

    def rebuilt(width_rule: Callable[[float], float | None], min_existing: float) -> RoadMaker:
        def make() -> _RoadProposal | None:
            i = rebuild_src[int(rng.integers(len(rebuild_src)))]
            existing = widths[i]
            line = roads.geoms[i]
            length = rng.uniform(400.0, 1200.0)
            if existing < min_existing or line.length < length + 200.0:
                return None
            s = rng.uniform(100.0, line.length - length - 100.0)
            sub = LineString(np.round(np.asarray(substring(line, s, s + length).coords), 2))
            v = nearest_village(sub)
            return _RoadProposal(sub, width_rule(existing), f"{roads.cols['road_id'][i]}{v.name}段改建工程",
                                 str(roads.cols["class"][i]), "rebuilt", v.township)
        return make

    _attempt(recs, ch, "clean",
            rebuilt(lambda e: float(rng.choice([x for x in _ROAD_WIDTHS if x <= e - 0.5])), 5.0),
            [frozenset()])
    _attempt(recs, ch, "narrow",
            rebuilt(lambda e: float(rng.choice([3.0, 3.5])), 4.0), [frozenset()])
    _attempt(recs, ch, "no_width", rebuilt(lambda e: None, 4.5), [frozenset()])

    # new roads: short chords starting inside forest, farmland, red line or hazard zones
    def chord_maker(polys: Sequence[shapely.Geometry], lo: float, hi: float, label: str) -> RoadMaker:
        sampler = Sampler(polys)

        def make() -> _RoadProposal | None:
            xy = sampler.point(rng)
            if xy is None:
                return None
            a = rng.uniform(0.0, TAU)
            length = rng.uniform(lo, hi)
            bend = rng.uniform(-0.12, 0.12) * length
            x1, y1 = xy[0] + length * math.cos(a), xy[1] + length * math.sin(a)
            mx = (xy[0] + x1) / 2 - bend * math.sin(a)
            my = (xy[1] + y1) / 2 + bend * math.cos(a)
            line = LineString(np.round([xy, (mx, my), (x1, y1)], 2))
            v = nearest_village(line)
            return _RoadProposal(line, float(rng.choice(_ROAD_WIDTHS)), f"{v.name}{label}", "村道",
                                 "proposed", v.township)
        return make

    lu = lyr["landuse"]
    forest = [g for g, c in zip(lu.geoms, lu.cols["code"], strict=True) if c in FOREST_CODES]
    farm = [g for g, c in zip(lu.geoms, lu.cols["code"], strict=True) if c in FARMLAND_CODES]
    _attempt(recs, ch, "forest_land",
            chord_maker(forest, 250.0, 700.0, "护林防火通道"),
            [frozenset(), frozenset({"farmland"}),
             frozenset({"farmland", "ecological_redline", "flood_channel"})])
    _attempt(recs, ch, "farmland", chord_maker(farm, 200.0, 600.0, "田间产业路"),
            [frozenset()])
    _attempt(recs, ch, "farmland_redline",
            chord_maker(lyr["farmland_redline"].geoms, 300.0, 800.0, "机耕路"),
            [frozenset({"farmland"})])
    _attempt(recs, ch, "geohazard",
            chord_maker(lyr["geohazard_zone"].geoms, 500.0, 900.0, "连接路"),
            [frozenset(), frozenset({"farmland", "forest_land"}),
             frozenset({"farmland", "forest_land", "landslide", "debris_flow",
                        "ecological_redline", "farmland_redline"})])

    _attempt(recs, ch, "landslide",
            chord_maker(lyr["landslide_zone"].geoms, 400.0, 800.0, "护坡便道"),
            [frozenset(), frozenset({"farmland", "forest_land"}),
             frozenset({"farmland", "forest_land", "debris_flow", "geohazard",
                        "ecological_redline", "farmland_redline"})])

    # access roads from the well house to the village, through both protection zones
    wz = lyr["water_source_zone"]
    wells = [g for g, lv in zip(wz.geoms, wz.cols["level"], strict=True) if lv == "1"]

    def well_make() -> _RoadProposal | None:
        c = wells[int(rng.integers(len(wells)))].centroid
        v = nearest_village(c)
        a = math.atan2(v.y - c.y, v.x - c.x) + rng.uniform(-0.5, 0.5)
        length = rng.uniform(500.0, 650.0)
        line = LineString(np.round([(c.x + 20.0 * math.cos(a), c.y + 20.0 * math.sin(a)),
                                    (c.x + length * math.cos(a), c.y + length * math.sin(a))], 2))
        return _RoadProposal(line, float(rng.choice([4.5, 5.0])), f"{v.name}水源地检修道路", "村道",
                             "proposed", v.township)

    _attempt(recs, ch, "water_source_l1", well_make,
            [frozenset({"water_source_l2"}), frozenset({"water_source_l2", "farmland"}),
             frozenset({"water_source_l2", "farmland", "farmland_redline", "water_body"})])

    recs.sort(key=lambda r: (TOWNSHIPS.index(r.township), round(r.line.centroid.x, 1)))
    return SampleLayer(
        [r.line for r in recs],
        {"road_id": [f"R{i + 1:02d}" for i in range(len(recs))],
         "name": [r.name for r in recs], "class": [r.cls for r in recs],
         "width_m": [np.nan if r.width is None else r.width for r in recs],
         "status": [r.status for r in recs], "township": [r.township for r in recs],
         "scenario": [r.scenario for r in recs], "expected_hits": [r.hits for r in recs]},
    )
