"""Networks and services: existing roads, power lines and facilities."""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely import LineString, Point

from .constants import CITY, TAU
from .geometry import ray_to_boundary, wiggle_line
from .world import SampleLayer, World

# ---- roads ------------------------------------------------------------------------------


def road_network(w: World, rng: np.random.Generator) -> None:
    """Add the existing ``road`` layer: a spanning tree from the city to every village, plus a few loops.

    Parameters
    ----------
    w
        The world being generated, with its villages placed.
    rng
        The generator's one random generator (draws in a fixed order).
    """
    f, t = w.frame, w.terrain
    vs = w.villages
    nodes = [(v.x, v.y) for v in vs] + [CITY]
    n = len(nodes)
    city = n - 1
    xy = np.asarray(nodes)
    dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    # Prim's minimum spanning tree (deterministic: ties broken by index)
    in_tree = np.zeros(n, dtype=bool)
    in_tree[city] = True
    best = dist[city].copy()
    parent = np.full(n, city)
    edges: list[tuple[int, int]] = []
    for _ in range(n - 1):
        cand = np.where(in_tree, np.inf, best)
        j = int(np.argmin(cand))
        edges.append((int(parent[j]), j))
        in_tree[j] = True
        closer = dist[j] < best
        best = np.where(closer, dist[j], best)
        parent = np.where(closer, j, parent)
    degree = np.zeros(n, dtype=int)
    for a, b in edges:
        degree[a] += 1
        degree[b] += 1
    have = {tuple(sorted(e)) for e in edges}
    for i in range(len(vs)):
        if degree[i] == 1 and rng.random() < 0.45:
            for j in np.argsort(dist[i])[1:4]:
                e = tuple(sorted((i, int(j))))
                if int(j) != city and e not in have and dist[i, j] < 4500.0:
                    edges.append((i, int(j)))
                    have.add(e)
                    break

    lines: list[LineString] = []
    cols: dict[str, list[object]] = {"road_id": [], "class": [], "surface": [], "width_m": [],
                                     "status": []}
    counters = {"县道": 0, "乡道": 0, "村道": 0}
    prefix = {"县道": "X", "乡道": "Y", "村道": "C"}

    def add(line: LineString, cls: str, surface: str, width: float) -> None:
        counters[cls] += 1
        lines.append(line)
        cols["road_id"].append(f"{prefix[cls]}{counters[cls]:03d}")
        cols["class"].append(cls)
        cols["surface"].append(surface)
        cols["width_m"].append(width)
        cols["status"].append("existing")

    # county roads: an east-west trunk through the city and a road north to the hills
    xa = np.array([f.xmin, f.xmax])
    yw, ye = t.river_y(xa) + t.channel(xa, True) + 3000.0
    trunk = wiggle_line([(f.xmin, float(yw)), CITY, (f.xmax, float(ye))], rng, step=3000.0,
                         amp=0.04, max_amp=180.0)
    add(trunk, "县道", "硬化", 8.0)
    north_end = (CITY[0] + 600.0, float(t.foot_y(np.array([CITY[0] + 600.0]))[0]) - 400.0)
    add(wiggle_line([CITY, north_end], rng, step=2500.0, amp=0.04), "县道", "硬化", 7.5)
    for a, b in edges:
        line = wiggle_line([nodes[a], nodes[b]], rng, step=1800.0, amp=0.05, max_amp=200.0)
        if city in (a, b):
            add(line, "县道", "硬化", float(rng.choice([7.0, 7.5, 8.0])))
        elif dist[a, b] > 3000.0:
            add(line, "乡道", str(rng.choice(["硬化", "硬化", "硬化", "砂石"])),
                float(rng.choice([5.0, 5.5, 6.0, 6.5])))
        else:
            add(line, "村道", str(rng.choice(["硬化", "硬化", "砂石", "砂石", "土路"])),
                float(rng.choice([3.5, 4.0, 4.5, 5.0, 5.0, 5.5])))
    clipped = [shapely.line_merge(shapely.set_precision(ln.intersection(f.box), 0.01)) for ln in lines]
    if any(g.geom_type != "LineString" for g in clipped):
        raise RuntimeError("an existing road left the sample extent; the generator needs fixing")
    w.layers["road"] = SampleLayer(clipped, cols)


# ---- power --------------------------------------------------------------------------------


def power_network(w: World, rng: np.random.Generator) -> None:
    """Add the ``power_line`` layer: 110 kV and 35 kV lines between substations, 10 kV feeders to villages.

    Parameters
    ----------
    w
        The world being generated, with villages and substations placed.
    rng
        The generator's one random generator (draws in a fixed order).
    """
    f, t = w.frame, w.terrain
    vs = w.villages
    subs = w.layers["substation"].geoms
    s110 = (subs[0].x, subs[0].y)
    lines: list[LineString] = []
    cols: dict[str, list[object]] = {"voltage_kv": [], "status": [], "name": []}

    def add(line: LineString, kv: float, status: str, name: str) -> None:
        clipped = shapely.line_merge(shapely.set_precision(line.intersection(f.box), 0.01))
        for part in shapely.get_parts(clipped):  # a line leaving the extent becomes two
            lines.append(part)
            cols["voltage_kv"].append(kv)
            cols["status"].append(status)
            cols["name"].append(name)

    xe, xw = np.array([f.xmax]), np.array([f.xmin])
    east = (f.xmax, float(t.foot_y(xe)[0]) - 2600.0)
    west = (f.xmin, float(t.river_y(xw)[0] + t.band50(xw, True)[0]) + 1500.0)
    add(wiggle_line([east, s110], rng, step=2500.0, amp=0.03, max_amp=150.0), 110.0, "existing",
        "110kV伊霍线")
    add(wiggle_line([s110, west], rng, step=2500.0, amp=0.03, max_amp=150.0), 110.0, "new",
        "110kV伊巴线")
    names35 = ["35kV伊巴线", "35kV伊达线", "35kV伊喀线"]
    for k, s in enumerate(subs[1:]):
        add(wiggle_line([s110, (s.x, s.y)], rng, step=2000.0, amp=0.04, max_amp=150.0), 35.0,
            "rebuilt" if k == 1 else "existing", names35[k])
    add(wiggle_line([(subs[2].x, subs[2].y), (subs[3].x, subs[3].y)], rng, step=2000.0,
                     amp=0.04, max_amp=150.0), 35.0, "existing", "35kV达喀联络线")

    # 10 kV feeders: villages grouped by nearest substation, chains of up to three villages
    sxy = np.array([(s.x, s.y) for s in subs])
    groups: dict[int, list[int]] = {k: [] for k in range(len(subs))}
    for i, v in enumerate(vs):
        groups[int(np.argmin(np.hypot(sxy[:, 0] - v.x, sxy[:, 1] - v.y)))].append(i)
    feeder_no = 0
    feeder_names = ("伊北", "巴彦岱", "达达木图", "喀尔墩")
    for k in range(len(subs)):
        sx, sy = sxy[k]
        members = sorted(groups[k], key=lambda i: math.atan2(vs[i].y - sy, vs[i].x - sx))
        for c in range(0, len(members), 3):
            chain = sorted(members[c:c + 3], key=lambda i: math.hypot(vs[i].x - sx, vs[i].y - sy))
            pts = [(float(sx), float(sy))]
            for i in chain:
                v = vs[i]
                a = rng.uniform(0.0, TAU)
                r = 0.3 * ray_to_boundary(v.boundary, v.x, v.y, a)
                pts.append((v.x + r * math.cos(a), v.y + r * math.sin(a)))
            feeder_no += 1
            status = str(rng.choice(["existing", "existing", "existing", "new", "rebuilt"]))
            add(wiggle_line(pts, rng, step=1200.0, amp=0.04, max_amp=120.0), 10.0, status,
                f"10kV{feeder_names[k]}{feeder_no:02d}线")
    w.layers["power_line"] = SampleLayer(lines, cols)


# ---- facilities ---------------------------------------------------------------------------


_FACILITY_KINDS = (
    ("clinic", "卫生室", 0.75, (2, 8)),
    ("waste_point", "垃圾收集点", 0.8, (5, 30)),
    ("shelter", "应急避难场所", 0.45, (200, 1500)),
    ("logistics", "物流服务站", 0.55, (1, 5)),
    ("service_centre", "党群服务中心", 0.9, (1, 3)),
)


def facilities(w: World, rng: np.random.Generator) -> None:
    """Add the ``facility`` layer: clinics, waste points, shelters, logistics and service centres in villages.

    Parameters
    ----------
    w
        The world being generated, with its villages placed.
    rng
        The generator's one random generator (draws in a fixed order).
    """
    geoms: list[Point] = []
    cols: dict[str, list[object]] = {"kind": [], "name": [], "capacity": [], "village": []}
    for v in w.villages:
        for kind, label, prob, (lo, hi) in _FACILITY_KINDS:
            if rng.random() >= prob:
                continue
            for _ in range(100):
                a = rng.uniform(0.0, TAU)
                d = rng.uniform(20.0, 0.35 * v.r0)
                p = Point(round(v.x + d * math.cos(a), 2), round(v.y + d * math.sin(a), 2))
                if v.boundary.contains(p):
                    break
            geoms.append(p)
            cols["kind"].append(kind)
            cols["name"].append(f"{v.name}{label}")
            cols["capacity"].append(int(rng.integers(lo, hi + 1)))
            cols["village"].append(v.name)
    w.layers["facility"] = SampleLayer(geoms, cols)
