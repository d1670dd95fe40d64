"""Physical layers: the river and flood zones, hills (gullies, fans, faults), the city."""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely import LineString, Point, Polygon

from .constants import CELL, CITY, NODATA, TAU
from .geometry import band, blob, largest_part, polygons
from .world import SampleLayer, World

_GULLY_FIRST = ("大", "小", "红", "黑", "白", "青", "石", "柳")
_GULLY_SECOND = ("泉", "羊", "马", "榆", "杨", "松", "狼", "鹿")


# ---- river, flood, water --------------------------------------------------------------


def river_layers(w: World, rng: np.random.Generator) -> None:
    """Add the river's layers: ``water_body``, ``flood_channel``, ``flood_zone`` and ``flood_storage``.

    Parameters
    ----------
    w
        The world being generated.
    rng
        The generator's one random generator (draws in a fixed order).
    """
    f, t = w.frame, w.terrain
    box = f.box
    xs = np.arange(f.xmin - 500.0, f.xmax + 501.0, 50.0)
    yr = t.river_y(xs)
    hw = t.half_width(xs)
    water = band(xs, yr - hw, yr + hw).intersection(box)
    channel = band(xs, yr - t.channel(xs, False), yr + t.channel(xs, True)).intersection(box)
    n20 = band(xs, yr + t.channel(xs, True), yr + t.band20(xs, True))
    n50 = band(xs, yr + t.band20(xs, True), yr + t.band50(xs, True))
    s20 = band(xs, yr - t.band20(xs, False), yr - t.channel(xs, False))
    s50 = band(xs, yr - t.band50(xs, False), yr - t.band20(xs, False))

    # two flood storage (detention) areas on the north bank, west and east of the city
    storages: list[Polygon] = []
    for x0 in (f.xmin + rng.uniform(7000.0, 9000.0), f.xmax - rng.uniform(11000.0, 13000.0)):
        length = rng.uniform(2400.0, 3000.0)
        sx = np.arange(x0, x0 + length + 1.0, 50.0)
        depth = rng.uniform(1700.0, 2100.0) + 150.0 * np.sin(TAU * (sx - x0) / length * 1.5)
        lo = t.river_y(sx) + t.channel(sx, True)
        storages.append(band(sx, lo, lo + depth))
    storage_union = shapely.union_all(storages)

    def fz(g: shapely.Geometry) -> shapely.Geometry:
        return g.difference(storage_union).intersection(box)

    w.layers["water_body"] = SampleLayer([water], {"name": ["伊犁河"]})  # ponds are added later
    w.layers["flood_channel"] = SampleLayer(
        [channel],
        {"level": ["河道管理范围"], "hazard_type": ["行洪"], "name": ["伊犁河行洪河道"]},
    )
    zones = [(fz(n20), "20年一遇", "伊犁河北岸"), (fz(n50), "50年一遇", "伊犁河北岸"),
             (fz(s20), "20年一遇", "伊犁河南岸"), (fz(s50), "50年一遇", "伊犁河南岸")]
    geoms: list[shapely.Geometry] = []
    level: list[object] = []
    name: list[object] = []
    for g, lv, nm in zones:
        for part in polygons(g, 1000.0):
            geoms.append(part)
            level.append(lv)
            name.append(f"{nm}{lv}洪水淹没区")
    w.layers["flood_zone"] = SampleLayer(geoms, {"level": level, "hazard_type": ["洪水"] * len(geoms),
                                            "name": name})
    w.layers["flood_storage"] = SampleLayer(
        [s.intersection(box) for s in storages],
        {"level": ["蓄滞洪区"] * 2, "hazard_type": ["蓄滞洪"] * 2,
         "name": ["伊犁河西段蓄滞洪区", "伊犁河东段蓄滞洪区"]},
    )
    w.stats["water"] = water
    w.stats["channel"] = channel


# ---- hills: gullies, fans, fault, landslides -------------------------------------------


def hill_layers(w: World, rng: np.random.Generator) -> None:
    """Add the hills' layers: ``gully``, ``debris_flow_zone``, ``active_fault`` and ``ecological_redline``.

    Parameters
    ----------
    w
        The world being generated, with its river layers generated.
    rng
        The generator's one random generator (draws in a fixed order).
    """
    f, t = w.frame, w.terrain
    cols = f.shape[1]
    valid = [k for k in t.valley_range()
             if f.xmin + 1500.0 < float(t.valley_x(k, np.array([f.ymax - 2000.0]))[0]) < f.xmax - 1500.0]
    chosen = sorted(rng.choice(valid, size=12, replace=False).tolist())
    names = [a + b + "沟" for a in _GULLY_FIRST for b in _GULLY_SECOND]
    name_idx = rng.permutation(len(names))[:12]
    ys = np.arange(f.ymax - 300.0, f.ymin, -60.0)
    gullies: list[LineString] = []
    gully_names: list[str] = []
    for i, k in enumerate(chosen):
        x_pred = t.valley_x(k, ys)
        h = t.hill_h(x_pred, ys)
        keep = (h >= 150.0) & (h <= 4300.0)
        gx, gy, gh = x_pred[keep], ys[keep], h[keep]
        refined = gx.copy()
        for j in range(len(gx)):
            if t.ridge_amp(np.array([gh[j]]))[0] < 40.0:
                continue
            r = int((f.ymax - gy[j]) // CELL)
            c0 = int((gx[j] - 240.0 - f.xmin) // CELL)
            c1 = int((gx[j] + 240.0 - f.xmin) // CELL)
            c0, c1 = max(c0, 0), min(c1, cols - 1)
            seg = w.dem[r, c0:c1 + 1].astype(np.float64)
            seg[seg == NODATA] = np.inf
            refined[j] = f.xmin + (c0 + int(np.argmin(seg)) + 0.5) * CELL
        smooth = np.convolve(np.pad(refined, 2, mode="edge"), np.ones(5) / 5.0, mode="valid")
        line = LineString(np.round(np.column_stack([smooth, gy]), 2)).simplify(3.0)
        gullies.append(line)  # drawn from the top (north) down to the mouth (south)
        gully_names.append(names[name_idx[i]])
    w.layers["gully"] = SampleLayer(list(gullies), {"name": gully_names})

    # debris-flow fans at the mouths of six gullies (spread west to east)
    fan_idx = [0, 2, 4, 6, 8, 10]
    fans: list[Polygon] = []
    for i in fan_idx:
        mx, my = gullies[i].coords[-1]
        radius = rng.uniform(560.0, 760.0)
        spread = rng.uniform(0.65, 0.85)
        ang = -math.pi / 2 + rng.uniform(-0.15, 0.15)
        arc = [(mx + radius * math.cos(a), my + radius * math.sin(a))
               for a in np.linspace(ang - spread, ang + spread, 17)]
        up = gullies[i].interpolate(gullies[i].length - 250.0)
        fan = Polygon([(up.x, up.y), *arc]).buffer(60.0, quad_segs=4)
        fans.append(shapely.set_precision(fan, 0.01))
    w.stats["fan_gullies"] = fan_idx
    w.stats["gullies"] = gullies
    w.stats["gully_names"] = gully_names
    w.layers["debris_flow_zone"] = SampleLayer(
        fans,
        {"level": ["高", "高", "中", "高", "中", "中"], "hazard_type": ["泥石流"] * len(fans),
         "name": [f"{gully_names[i]}泥石流危险区" for i in fan_idx]},
    )

    # active faults along the range front, about 300 m into the foothills
    xa = np.arange(f.xmin + 2000.0, f.xmin + (f.xmax - f.xmin) * 0.58, 200.0)
    xb = np.arange(f.xmin + (f.xmax - f.xmin) * 0.52, f.xmax - 2000.0, 200.0)
    ph = rng.uniform(0.0, TAU, size=2)
    fa = t.foot_y(xa) + 300.0 + 50.0 * np.sin(TAU * xa / 3300.0 + ph[0])
    fb = t.foot_y(xb) + 450.0 + 50.0 * np.sin(TAU * xb / 2900.0 + ph[1])
    faults = [LineString(np.round(np.column_stack([xa, fa]), 2)),
              LineString(np.round(np.column_stack([xb, fb]), 2))]
    w.layers["active_fault"] = SampleLayer(
        faults, {"name": ["北山山前断裂F1", "北山山前断裂F2"], "holocene": [True, True]},
    )

    # ecological red line: the upper hills (riverside wetland added below)
    xs = np.arange(f.xmin - 500.0, f.xmax + 501.0, 100.0)
    h_eco = 2300.0 + 500.0 * np.sin(TAU * xs / 15000.0 + rng.uniform(0.0, TAU))
    hills = band(xs, t.foot_y(xs) + h_eco, np.full_like(xs, f.ymax + 500.0)).intersection(f.box)
    wet_x0 = f.xmin + 2500.0
    wetland = w.stats["channel"].intersection(shapely.box(wet_x0, f.ymin, wet_x0 + 11500.0, f.ymax))
    w.layers["ecological_redline"] = SampleLayer(
        [largest_part(hills), largest_part(wetland)],
        {"name": ["北山水源涵养生态保护红线", "伊犁河湿地生态保护红线"]},
    )


# ---- urban area and substations ---------------------------------------------------------


def urban_and_substations(w: World, rng: np.random.Generator) -> None:
    """Add the ``urban_boundary`` around the city centre and the ``substation`` points.

    Parameters
    ----------
    w
        The world being generated.
    rng
        The generator's one random generator (draws in a fixed order).
    """
    f = w.frame
    city = blob(CITY[0], CITY[1], 3700.0, rng, rough=0.35, n=96)
    city = city.difference(w.stats["channel"].buffer(150.0)).intersection(f.box)
    urban = largest_part(city, Point(*CITY))
    w.layers["urban_boundary"] = SampleLayer([urban], {"name": ["伊宁市中心城区城镇开发边界"]})
    w.stats["urban"] = urban

    t = w.terrain
    subs = [
        ("伊宁北110kV变电站", 110.0, CITY[0] - 2600.0, CITY[1] + 4600.0),
        ("巴彦岱35kV变电站", 35.0, f.xmin + 8500.0, 0.0),
        ("达达木图35kV变电站", 35.0, f.xmax - 9000.0, 0.0),
        ("喀尔墩35kV变电站", 35.0, CITY[0] + 7000.0, 0.0),
    ]
    pts: list[Point] = []
    for i, (_, _, x, y) in enumerate(subs):
        if i in (1, 2):
            y = float(t.foot_y(np.array([x]))[0]) - rng.uniform(4500.0, 5500.0)
        elif i == 3:
            y = float(t.foot_y(np.array([x]))[0]) - rng.uniform(1700.0, 2000.0)
        pts.append(Point(round(x, 2), round(y, 2)))
    w.layers["substation"] = SampleLayer(
        pts, {"voltage_kv": [s[1] for s in subs], "name": [s[0] for s in subs]},
    )
