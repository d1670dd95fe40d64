"""Villages: placement, boundaries, names, classes and the layers around them."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import shapely
from shapely import LineString, Point, Polygon

from .constants import TAU, TOWNSHIPS
from .geometry import band, blob, largest_part, ray_to_boundary
from .world import SampleLayer, Village, World

_VILLAGE_FIRST = ("东", "西", "南", "北", "新", "上", "下", "前", "后", "中")
_VILLAGE_SECOND = ("渠", "园", "湖", "泉", "桥", "庄", "湾", "坡", "滩", "台", "营", "堡", "塘", "林")


# ---- villages ---------------------------------------------------------------------------


def place_villages(w: World, rng: np.random.Generator) -> None:
    """Place 40 villages (foothill, river terrace, plain), their boundaries, names and townships.

    Parameters
    ----------
    w
        The world being generated, with the river, hills, city and substations generated.
    rng
        The generator's one random generator (draws in a fixed order).
    """
    f, t = w.frame, w.terrain
    urban = w.stats["urban"]
    storage = shapely.union_all(w.layers["flood_storage"].geoms)
    subs = w.layers["substation"].geoms
    fan_gullies: list[int] = w.stats["fan_gullies"]
    gullies: list[LineString] = w.stats["gullies"]
    villages: list[Village] = []

    # five villages just below gully mouths (their upper part lies on the debris-flow fan)
    for gi in fan_gullies[:5]:
        mx, _ = gullies[gi].coords[-1]
        x = mx + rng.uniform(-150.0, 150.0)
        y = float(t.foot_y(np.array([x]))[0]) - rng.uniform(850.0, 950.0)
        villages.append(Village("", x, y, rng.uniform(380.0, 480.0), "foothill"))

    # four villages on the river terrace (their lower part lies in the 20-year flood zone)
    river_xs = [f.xmin + 4500.0, f.xmin + 14500.0, f.xmax - 16500.0, f.xmax - 5000.0]
    for x0 in river_xs:
        for _ in range(200):
            x = x0 + rng.uniform(-1500.0, 1500.0)
            if storage.distance(Point(x, float(t.river_y(np.array([x]))[0]))) > 900.0:
                break
        xa = np.array([x])
        y = float(t.river_y(xa)[0] + t.channel(xa, True)[0]) + rng.uniform(600.0, 750.0)
        villages.append(Village("", x, y, rng.uniform(430.0, 560.0), "river"))

    # the rest spread over the plain with at least 2.1 km between village centres
    tries = 0
    while len(villages) < 40:
        tries += 1
        if tries > 50000:
            raise RuntimeError("cannot place 40 sample villages; the generator needs fixing")
        x = rng.uniform(f.xmin + 1200.0, f.xmax - 1200.0)
        y = rng.uniform(f.ymin, f.ymax)
        xa = np.array([x])
        if y > float(t.foot_y(xa)[0]) - 1100.0:
            continue
        if y < float(t.river_y(xa)[0] + t.band20(xa, True)[0]) + 800.0:
            continue
        p = Point(x, y)
        if urban.distance(p) < 1500.0 or storage.distance(p) < 250.0:
            continue
        if min(s.distance(p) for s in subs) < 900.0:
            continue
        if min(math.hypot(v.x - x, v.y - y) for v in villages) < 2100.0:
            continue
        villages.append(Village("", x, y, rng.uniform(220.0, 600.0), "plain"))

    # boundaries: irregular, clipped to the settlable plain
    xs = np.arange(f.xmin - 500.0, f.xmax + 501.0, 50.0)
    settle = band(xs, t.river_y(xs) + t.channel(xs, True) + 100.0, t.foot_y(xs) - 150.0)
    settle = settle.difference(urban.buffer(300.0)).intersection(f.box.buffer(-300.0))
    for v in villages:
        v.x, v.y = round(v.x, 2), round(v.y, 2)
        b = blob(v.x, v.y, v.r0, rng, rough=0.3).intersection(settle)
        v.boundary = shapely.set_precision(largest_part(b, v.point), 0.01)

    # names, townships (west to east, five villages each), classes and attributes
    order = sorted(range(len(villages)), key=lambda i: villages[i].x)
    names = [a + b + "村" for a in _VILLAGE_FIRST for b in _VILLAGE_SECOND]
    picked = rng.permutation(len(names))[: len(villages)]
    for rank, i in enumerate(order):
        villages[i].township = TOWNSHIPS[rank * len(TOWNSHIPS) // len(villages)]
    villages = [villages[i] for i in order]
    for v, n in zip(villages, picked, strict=True):
        v.name = names[n]
    w.villages = villages


class _Roles(NamedTuple):
    """Which villages play which part in the sample (indexes into ``World.villages``)."""

    plain: list[int]
    foothill: list[int]
    river: list[int]
    heritage: int
    relocate: list[int]
    wells: list[int]
    ponds: list[int]
    geo_edge: int
    sub_edge: int
    protect: list[int]


def village_features(w: World, rng: np.random.Generator) -> None:
    """Add the village layers and what lies around them.

    Classes and attributes of the villages, their points and boundaries, the
    heritage zone, ponds, well fields and village-edge hazards.

    Parameters
    ----------
    w
        The world being generated, with its villages placed.
    rng
        The generator's one random generator (draws in a fixed order).
    """
    roles = _assign_roles(w.villages, rng)
    _classes_and_attributes(w, roles, rng)
    core = _heritage_zone(w, roles.heritage, rng)
    _ponds(w, roles, rng)
    _well_fields(w, roles.wells, rng)
    _hazards(w, roles, rng)
    w.stats["heritage_core"] = core
    w.stats["tree_skip"] = {roles.heritage, *roles.relocate, *roles.ponds, *roles.wells}


def _assign_roles(vs: list[Village], rng: np.random.Generator) -> _Roles:
    plain = [i for i, v in enumerate(vs) if v.setting == "plain"]
    foothill = [i for i, v in enumerate(vs) if v.setting == "foothill"]
    river = [i for i, v in enumerate(vs) if v.setting == "river"]
    perm = [plain[i] for i in rng.permutation(len(plain))]
    heritage_v = max(perm[:6], key=lambda i: vs[i].boundary.area)
    rest = [i for i in perm if i != heritage_v]
    relocate = [*rest[:3], foothill[4]]
    return _Roles(plain, foothill, river, heritage_v, relocate, wells=rest[3:6],
                  ponds=rest[6:9], geo_edge=rest[9], sub_edge=rest[10], protect=rest[11:13])


def _classes_and_attributes(w: World, roles: _Roles, rng: np.random.Generator) -> None:
    """Layout class, population, demo and plan flags; the village and boundary layers."""
    vs = w.villages
    relocate, wells = roles.relocate, roles.wells
    urban = w.stats["urban"]
    for i, v in enumerate(vs):
        if i in relocate:
            v.layout_class = "搬迁撤并"
        elif i == roles.heritage or i in roles.protect:
            v.layout_class = "特色保护"
        elif urban.distance(v.boundary) < 4000.0:
            v.layout_class = "城郊融合"
        else:
            v.layout_class = "集聚提升"
        if i in relocate:
            v.population = int(rng.integers(200, 600))
        else:
            v.population = int(np.clip(round(v.boundary.area / 160.0 + rng.normal(0.0, 250.0)), 300, 3000))
        if i in wells:
            v.population = max(v.population, int(rng.integers(1200, 2600)))
    demo_pool = [i for i in range(len(vs)) if i not in relocate]
    demo = set(rng.choice(demo_pool, size=6, replace=False).tolist())
    for i, v in enumerate(vs):
        v.is_demo = i in demo
        v.has_plan = v.is_demo or bool(rng.random() < 0.45)
    w.stats["roles"] = {"heritage": roles.heritage, "relocate": relocate, "wells": wells,
                        "ponds": roles.ponds, "foothill": roles.foothill, "river": roles.river}

    w.layers["village"] = SampleLayer(
        [v.point for v in vs],
        {"name": [v.name for v in vs], "township": [v.township for v in vs],
         "layout_class": [v.layout_class for v in vs], "population": [v.population for v in vs],
         "is_demo": [v.is_demo for v in vs], "has_plan": [v.has_plan for v in vs]},
    )
    w.layers["village_boundary"] = SampleLayer(
        [v.boundary for v in vs],
        {"village": [v.name for v in vs], "township": [v.township for v in vs]},
    )


def _heritage_zone(w: World, heritage_v: int, rng: np.random.Generator) -> Polygon:
    """The heritage zone: the old core of one traditional village."""
    hv = w.villages[heritage_v]
    core = blob(hv.x + rng.uniform(-40, 40), hv.y + rng.uniform(-40, 40), rng.uniform(190.0, 240.0),
                 rng, rough=0.2)
    core = largest_part(core.intersection(hv.boundary.buffer(-25.0)))
    core = shapely.set_precision(core, 0.01)
    w.layers["heritage_zone"] = SampleLayer([core], {"name": [f"{hv.name}传统村落核心保护范围"]})
    return core


def _ponds(w: World, roles: _Roles, rng: np.random.Generator) -> None:
    """Ponds (涝坝) inside three villages, three fish ponds on the plain."""
    vs = w.villages
    ponds: list[Polygon] = []
    pond_names: list[object] = []
    for i in roles.ponds:
        v = vs[i]
        for _ in range(100):
            a = rng.uniform(0.0, TAU)
            cx, cy = v.x + 0.45 * v.r0 * math.cos(a), v.y + 0.45 * v.r0 * math.sin(a)
            p = blob(cx, cy, rng.uniform(48.0, 65.0), rng, rough=0.15, n=32)
            if v.boundary.buffer(-20.0).contains(p):
                break
        ponds.append(p)
        pond_names.append(f"{v.name}涝坝")
    extra = [i for i in roles.plain if i not in roles.ponds and i != roles.heritage][:3]
    for i in extra:
        v = vs[i]
        for _ in range(100):
            a = rng.uniform(0.0, TAU)
            dist = ray_to_boundary(v.boundary, v.x, v.y, a) + rng.uniform(250.0, 450.0)
            p = blob(v.x + dist * math.cos(a), v.y + dist * math.sin(a), rng.uniform(70.0, 130.0),
                      rng, rough=0.2, n=32)
            if all(p.distance(u.boundary) > 120.0 for u in vs):
                break
        ponds.append(p)
        pond_names.append(f"{v.name}鱼塘")
    water = w.layers["water_body"]
    water.geoms.extend(ponds)
    water.cols["name"].extend(pond_names)
    w.stats["ponds"] = ponds


def _well_fields(w: World, wells: list[int], rng: np.random.Generator) -> None:
    """Well fields serving 1000+ people: level 1 circle on the village edge, level 2 ring around."""
    vs = w.villages
    wz_geoms: list[shapely.Geometry] = []
    wz_cols: dict[str, list[object]] = {"level": [], "name": [], "population_served": []}
    l1s: list[Polygon] = []
    for i in wells:
        v = vs[i]
        a = rng.uniform(0.0, TAU)
        dist = ray_to_boundary(v.boundary, v.x, v.y, a)
        cx, cy = round(v.x + dist * math.cos(a), 2), round(v.y + dist * math.sin(a), 2)
        c = Point(cx, cy)
        r1, r2 = rng.uniform(85.0, 100.0), rng.uniform(380.0, 480.0)
        l1 = shapely.set_precision(c.buffer(r1, quad_segs=12), 0.01)
        l2 = Polygon(shapely.set_precision(c.buffer(r2, quad_segs=16), 0.01).exterior.coords,
                     [l1.exterior.coords[::-1]])
        served = int(v.population + rng.integers(300, 4000))
        for level, g in (("1", l1), ("2", l2)):
            wz_geoms.append(g)
            wz_cols["level"].append(level)
            wz_cols["name"].append(f"{v.name}水源地{'一' if level == '1' else '二'}级保护区")
            wz_cols["population_served"].append(served)
        l1s.append(l1)
    w.layers["water_source_zone"] = SampleLayer(wz_geoms, wz_cols)
    w.stats["l1"] = l1s


def _edge_blob(v: Village, rng: np.random.Generator, r_lo: float, r_hi: float,
               stretch: tuple[float, float] = (1, 1), angle: float | None = None) -> Polygon:
    """A hazard blob centred near the edge of a village."""
    a = rng.uniform(0.0, TAU) if angle is None else angle
    dist = ray_to_boundary(v.boundary, v.x, v.y, a) * rng.uniform(0.8, 1.0)
    g = blob(v.x + dist * math.cos(a), v.y + dist * math.sin(a), rng.uniform(r_lo, r_hi), rng,
             rough=0.2, n=40, stretch=stretch)
    return shapely.set_precision(g, 0.01)


def _hill_blob(w: World, rng: np.random.Generator, r_lo: float, r_hi: float, h_lo: float,
               h_hi: float) -> Polygon:
    """A hazard blob in the hills, ``h_lo``–``h_hi`` metres north of the foothill line."""
    f, t = w.frame, w.terrain
    x = rng.uniform(f.xmin + 2500.0, f.xmax - 6000.0)
    y = float(t.foot_y(np.array([x]))[0]) + rng.uniform(h_lo, h_hi)
    g = blob(x, y, rng.uniform(r_lo, r_hi), rng, rough=0.25, n=40, stretch=(0.8, 1.2))
    return shapely.set_precision(g, 0.01)


def _hazards(w: World, roles: _Roles, rng: np.random.Generator) -> None:
    """Landslides, geohazard zones and subsidence zones, at village edges and in the hills."""
    f, t, vs = w.frame, w.terrain, w.villages
    foothill, geo_edge, sub_edge = roles.foothill, roles.geo_edge, roles.sub_edge
    # landslides: three on the range front beside foothill villages, three higher up
    slides: list[Polygon] = []
    slide_names: list[object] = []
    for i in foothill[:3]:
        v = vs[i]
        side = 1.0 if rng.random() < 0.5 else -1.0
        x = v.x + side * rng.uniform(450.0, 600.0)
        y = float(t.foot_y(np.array([x]))[0]) + rng.uniform(-350.0, -250.0)
        g = blob(x, y, rng.uniform(270.0, 330.0), rng, rough=0.2, n=40, stretch=(0.8, 1.3))
        slides.append(shapely.set_precision(g, 0.01))
        slide_names.append(f"{v.name}北侧滑坡隐患")
    for k in range(3):
        slides.append(_hill_blob(w, rng, 250.0, 380.0, 900.0, 1900.0))
        slide_names.append(f"北山滑坡隐患点H{k + 1}")
    w.layers["landslide_zone"] = SampleLayer(
        slides, {"level": ["高", "高", "高", "中", "中", "中"], "hazard_type": ["滑坡"] * 6,
                 "name": slide_names},
    )

    geo = [_edge_blob(vs[foothill[3]], rng, 230.0, 300.0),
           _edge_blob(vs[geo_edge], rng, 200.0, 280.0),
           _hill_blob(w, rng, 250.0, 350.0, 700.0, 1600.0),
           _hill_blob(w, rng, 250.0, 350.0, 1200.0, 2200.0)]
    w.layers["geohazard_zone"] = SampleLayer(
        geo,
        {"level": ["危险区"] * 4, "hazard_type": ["崩塌", "地裂缝", "不稳定斜坡", "崩塌"],
         "name": [f"{vs[foothill[3]].name}崩塌危险区", f"{vs[geo_edge].name}地裂缝危险区",
                  "北山不稳定斜坡G3", "北山崩塌危险区G4"]},
    )
    urban = w.stats["urban"]
    for _ in range(500):
        x = rng.uniform(f.xmin + 3000.0, f.xmax - 3000.0)
        y = float(t.foot_y(np.array([x]))[0]) - rng.uniform(1800.0, 2600.0)
        p = Point(x, y)
        if min(v.boundary.distance(p) for v in vs) > 900.0 and urban.distance(p) > 1500.0:
            break
    else:
        raise RuntimeError("no room for the open-plain subsidence zone; the generator needs fixing")
    open_sub = shapely.set_precision(blob(x, y, rng.uniform(300.0, 400.0), rng, rough=0.25), 0.01)
    w.layers["subsidence_zone"] = SampleLayer(
        [_edge_blob(vs[sub_edge], rng, 220.0, 300.0), open_sub],
        {"level": ["中", "中"], "hazard_type": ["采空塌陷", "地面塌陷"],
         "name": [f"{vs[sub_edge].name}采空塌陷区", "北部平原地面塌陷区"]},
    )
