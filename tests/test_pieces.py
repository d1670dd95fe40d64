"""Big polygons cut into pieces for overlays: the same areas, lengths and evidence.

A zone of more than 256 vertices is overlaid with a site through the pieces
the site meets (``Constraint.cut``). The answers are checked against shapely's
overlay of the site with the whole zone, computed here independently.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from conftest import X0, Y0, gk
from shapely import LineString, MultiPolygon, Polygon, box
from test_invariants import mem_ws

import geoplan
from geoplan.engine import constraints


def _ragged(cx: float, cy: float, r: float, n: int = 3000, seed: int = 1) -> Polygon:
    """A disc of radius ``r`` with a noisy edge of ``n`` vertices (a delivered hazard zone)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rr = r * (1 + 0.01 * rng.standard_normal(n))
    return Polygon(np.c_[cx + rr * np.cos(t), cy + rr * np.sin(t)])


def _zones() -> dict[str, shapely.Geometry]:
    disc = _ragged(X0, Y0, 400)
    holed = Polygon(disc.exterior.coords, [_ragged(X0, Y0, 120, 800, seed=2).exterior.coords])
    two = MultiPolygon([_ragged(X0 - 600, Y0, 150, 1500, seed=3),
                        _ragged(X0 + 600, Y0, 150, 1500, seed=4)])
    return {"disc": disc, "holed": holed, "multipart": two}


@pytest.mark.parametrize("name", ["disc", "holed", "multipart"])
def test_pieces_tile_the_polygon(name):
    zone = _zones()[name]
    pieces = constraints._cut_polygon(zone)
    assert pieces is not None
    assert len(pieces) > 10
    assert (shapely.get_num_coordinates(pieces) <= constraints._BIG).all()
    assert shapely.is_valid(pieces).all()
    assert shapely.area(pieces).sum() == pytest.approx(zone.area, rel=1e-12)
    assert shapely.symmetric_difference(shapely.union_all(pieces), zone).area < 1e-6
    # no two pieces share interior area
    tree = shapely.STRtree(pieces)
    a, b = tree.query(pieces)
    keep = a < b
    assert not shapely.relate_pattern(pieces[a[keep]], pieces[b[keep]], "T********").any()


def _sites() -> list[shapely.Geometry]:
    """Houses across the edge, inside, in the hole, outside, on an edge, and a 300 m site."""
    return [
        box(X0 + 395, Y0 - 6, X0 + 410, Y0 + 6),           # across the outer edge
        box(X0 - 5, Y0 + 200, X0 + 7, Y0 + 212),           # inside the zone (outside the hole)
        box(X0 - 6, Y0 - 6, X0 + 6, Y0 + 6),               # in the hole of "holed"
        box(X0 + 120, Y0 - 6, X0 + 135, Y0 + 6),           # across the hole's edge
        box(X0 + 1500, Y0, X0 + 1512, Y0 + 12),            # far outside
        box(X0 - 150, Y0 - 150, X0 + 150, Y0 + 150),       # 300 m: across many pieces
        box(X0 + 440, Y0 - 500, X0 + 460, Y0 + 500),       # 1 km long, across the multipart
        box(X0 + 590, Y0 - 200, X0 + 610, Y0 + 200),       # through one part of "multipart"
    ]


@pytest.mark.parametrize("name", ["disc", "holed", "multipart"])
def test_overlap_through_pieces_equals_the_whole_overlay(name):
    zone = _zones()[name]
    sites = _sites()
    ws = mem_ws(flood_zone=gk([zone]))
    ids = [f"h{i}" for i in range(len(sites))]
    res = geoplan.check(gk(sites, house_id=ids), ws, subject="house", id_field="house_id")
    f = res.findings[res.findings.rule_id == "house.flood_zone"].set_index("site_id")
    want = shapely.area(shapely.intersection(np.array(sites, dtype=object), zone))
    np.testing.assert_allclose(f.loc[ids, "measure"].to_numpy(float), want, rtol=1e-9,
                               atol=1e-7)
    assert (f.loc[ids, "status"].to_numpy() == np.where(want > 1.0, "fail", "pass")).all()
    # the evidence of each failing house is its overlap: one valid geometry of that area
    ev = res.evidence[res.evidence.rule_id == "house.flood_zone"].set_index("site_id")
    bad = [i for i, a in zip(ids, want, strict=True) if a > 1.0]
    assert sorted(ev.index) == sorted(bad)
    assert shapely.is_valid(ev.geometry.to_numpy()).all()
    exact = shapely.intersection(np.array(sites, dtype=object)[[ids.index(i) for i in bad]],
                                 zone)
    assert (shapely.area(shapely.symmetric_difference(ev.loc[bad].geometry.to_numpy(),
                                                      exact)) < 1e-6).all()
    c = next(c for c in constraints.constraint_cache(ws)._c.values()
             if isinstance(c, constraints.Constraint) and c.layer.kind.name == "flood_zone")
    assert c.cut() > 10  # the pieces were used, not the whole zone


def test_centreline_lengths_through_pieces():
    zone = _zones()["holed"]
    ws = mem_ws(geohazard_zone=gk([zone], level=["高"]))
    lines = [LineString([(X0 - 700, Y0 + 3), (X0 + 700, Y0 + 3)]),    # across both edges, twice
             LineString([(X0 + 200, Y0 - 50), (X0 + 200, Y0 + 50)]),  # inside
             LineString([(X0 + 395, Y0 - 80), (X0 + 420, Y0 + 90)])]  # across the outer edge
    roads = gk(lines, road_id=["a", "b", "c"])
    res = geoplan.check(roads, ws, subject="road", id_field="road_id")
    f = res.findings[(res.findings.rule_id == "road.geohazard")].set_index("site_id")
    assert (f["unit"] == "m").all()
    want = shapely.length(shapely.intersection(np.array(lines, dtype=object), zone))
    np.testing.assert_allclose(f.loc[["a", "b", "c"], "measure"].to_numpy(float), want,
                               rtol=1e-9)


def test_a_polygon_that_cannot_be_cut_is_overlaid_whole(monkeypatch):
    zone = _zones()["holed"]
    sites = _sites()
    ids = [f"h{i}" for i in range(len(sites))]
    ws = mem_ws(flood_zone=gk([zone]))
    monkeypatch.setattr(constraints, "_halve", lambda g: None)  # no halving tiles it
    res = geoplan.check(gk(sites, house_id=ids), ws, subject="house", id_field="house_id")
    f = res.findings[res.findings.rule_id == "house.flood_zone"].set_index("site_id")
    want = shapely.area(shapely.intersection(np.array(sites, dtype=object), zone))
    np.testing.assert_allclose(f.loc[ids, "measure"].to_numpy(float), want, rtol=1e-9,
                               atol=1e-7)


def test_sites_touching_the_zone_have_no_overlap():
    zone = shapely.segmentize(box(X0, Y0, X0 + 500, Y0 + 500), 1.0)  # 2 000 vertices
    sites = [box(X0 + 500, Y0 + 100, X0 + 512, Y0 + 112),   # shares part of the east edge
             box(X0 + 500, Y0 + 500, X0 + 510, Y0 + 510),   # shares the north-east corner
             box(X0 + 488, Y0 + 100, X0 + 512, Y0 + 112),   # across the edge: 12 x 12 m inside
             box(X0 + 499, Y0 + 300, X0 + 511, Y0 + 301),   # 1 m2 inside: at the tolerance
             box(X0 + 498.5, Y0 + 400, X0 + 511, Y0 + 401)]  # 1.5 m2 inside: beyond it
    ws = mem_ws(flood_zone=gk([zone]))
    res = geoplan.check(gk(sites, house_id=["edge", "corner", "across", "at", "beyond"]), ws,
                        subject="house", id_field="house_id")
    f = res.findings[res.findings.rule_id == "house.flood_zone"].set_index("site_id")
    assert f.loc["at", "measure"] == 1.0
    assert f.loc["beyond", "measure"] == 1.5
    assert f.loc[["at", "beyond"], "status"].tolist() == ["pass", "fail"]
    assert f.loc["edge", "measure"] == 0
    assert f.loc["corner", "measure"] == 0
    assert f.loc["across", "measure"] == pytest.approx(144.0, rel=1e-12)
    assert f.loc[["edge", "corner", "across"], "status"].tolist() == ["pass", "pass", "fail"]


@pytest.mark.parametrize("x0", [X0, 36_000_000.0 + X0], ids=["gauss-kruger", "zone-prefix"])
def test_random_sites_over_a_zone_with_holes_and_parts(x0):
    """Rotated, holed and multipart sites, and sites with an edge on a cut: the pieces' overlay
    is the whole overlay, at Gauss-Kruger coordinates with and without the zone prefix."""
    rng = np.random.default_rng(5)
    disc = _ragged(x0, Y0, 800, 6000, seed=5)
    holes = [_ragged(x0 + dx, Y0 + dy, 60, 400, seed=6 + k).exterior.coords
             for k, (dx, dy) in enumerate([(-300, 0), (300, 0), (0, 300), (0, -300)])]
    corner = [box(x0 - 500, Y0 + 400, x0 - 450, Y0 + 450).exterior.coords,  # two holes
              box(x0 - 450, Y0 + 450, x0 - 400, Y0 + 500).exterior.coords]  # sharing a corner
    zone = MultiPolygon([Polygon(disc.exterior.coords, holes + corner),
                         _ragged(x0 + 1700, Y0, 500, 4000, seed=11)])
    assert zone.is_valid
    pieces = constraints._cut_polygon(zone)
    assert pieces is not None
    n = 600
    cx, cy = x0 - 900 + rng.random(n) * 3200, Y0 - 900 + rng.random(n) * 1800
    w, h = np.exp(rng.uniform(np.log(5), np.log(300), n)), rng.uniform(5, 60, n)
    sites = []
    for i in range(n):
        b = shapely.affinity.rotate(box(cx[i] - w[i] / 2, cy[i] - h[i] / 2, cx[i] + w[i] / 2,
                                        cy[i] + h[i] / 2), rng.uniform(0, 180), origin="center")
        if i % 7 == 0:
            b = b.difference(b.centroid.buffer(min(w[i], h[i]) / 4))       # a courtyard
        if i % 11 == 0:
            b = MultiPolygon([b, shapely.affinity.translate(b, 2 * w[i], 0)])
        sites.append(b)
    pb = shapely.bounds(pieces)
    for k in rng.choice(len(pieces), 100, replace=False):   # an edge on a piece's cut
        x, y = pb[k, 0], (pb[k, 1] + pb[k, 3]) / 2
        sites += [box(x, y, x + 10, y + 10), box(x - 10, y, x, y + 10)]
    sites_a = shapely.make_valid(np.array(sites, dtype=object))
    tree = shapely.STRtree(pieces)
    qs, qp = tree.query(sites_a, predicate="intersects")
    order = np.lexsort((qp, qs))
    qs, qp = qs[order], qp[order]
    joined = constraints._parts_by_pair(qs, shapely.intersection(sites_a[qs], pieces[qp]),
                                        np.ones(len(sites_a), dtype=bool))
    exact = shapely.intersection(sites_a, zone)
    np.testing.assert_allclose(shapely.area(joined), shapely.area(exact), rtol=1e-9, atol=1e-6)
    assert shapely.is_valid(joined).all()
    assert (shapely.area(shapely.symmetric_difference(joined, exact)) < 1e-5).all()


def test_the_pieces_do_not_depend_on_what_was_cut_first():
    """A zone cut where one batch needed it, then further for another, or all at once: the
    same measures to the last bit (the pieces a site meets are joined in the order of their
    paths in the halving)."""
    zone = _zones()["holed"]
    sites = _sites()
    ids = [f"h{i}" for i in range(len(sites))]
    houses = gk(sites, house_id=ids)

    def measures(prefix: list[int] | None, eager: bool) -> np.ndarray:
        ws = mem_ws(flood_zone=gk([zone]))
        if eager:  # every big polygon cut whole first, as before forking processes
            geoplan.engine.prepare_rules(ws, geoplan.rules.load_pack("yining-2025"),
                                         subject="house")
        if prefix is not None:  # a few sites first: the zone is cut near them only
            geoplan.check(houses.iloc[prefix], ws, subject="house", id_field="house_id")
        res = geoplan.check(houses, ws, subject="house", id_field="house_id")
        f = res.findings[res.findings.rule_id == "house.flood_zone"]
        return f["measure"].to_numpy(float)

    lazy = measures(None, eager=False)
    assert (lazy == measures([0], eager=False)).all()
    assert (lazy == measures([3, 6], eager=False)).all()
    assert (lazy == measures(None, eager=True)).all()


def test_pieces_cut_bit_by_bit_are_the_pieces_cut_at_once():
    zone = _zones()["multipart"]
    whole = constraints._cut_polygon(zone)
    lazy = constraints._Cut(zone)
    b = zone.bounds
    for x in (b[0] + 10, b[2] - 10, (b[0] + b[2]) / 2):  # three small boxes, then the rest
        lazy.refine(np.array([[x - 5, b[1], x + 5, b[1] + 50]]))
        assert 0 < len(lazy.pieces) < len(whole)
    lazy.refine()
    in_order = lazy.pieces[np.argsort(lazy.rank)]
    assert shapely.to_wkb(in_order).tolist() == shapely.to_wkb(whole).tolist()
