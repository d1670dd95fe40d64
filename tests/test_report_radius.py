"""Distances that decide no status are reported within a radius only (issue 13).

A house point outside a zone it must avoid (or lie in), and a site clear of
every setback corridor, get their distance to the layer in the message and the
``measure`` only up to :data:`geoplan.engine.REPORT_RADIUS_M` (or the rule's
``report_radius_m``); farther the message says "more than …" and the measure is
empty — never a number that was not measured. Every figure below is plane
geometry: the zone's or line's nearest edge is straight and faces the site.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import X0, Y0, gk
from shapely import LineString, MultiPolygon, Point, Polygon, box

import geoplan
from geoplan.engine import REPORT_RADIUS_M, constraint_cache
from geoplan.errors import RulePackError
from geoplan.result import check
from geoplan.rules import load_pack

R = REPORT_RADIUS_M


def test_the_radius_is_200_m() -> None:
    assert R == 200.0
    spec = load_pack()["house.flood_zone"].spec
    assert spec.report_radius_m == R  # type: ignore[attr-defined]


def make_ws(tmp_path: Path, **layers: gpd.GeoDataFrame) -> geoplan.Workspace:
    d = tmp_path / "ws"
    d.mkdir(parents=True, exist_ok=True)
    for kind, gdf in layers.items():
        gdf.to_file(d / f"{kind}.gpkg")
    return geoplan.open_workspace(d)


def make_pack(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "pack.toml"
    p.write_text('[pack]\nname = "t"\nversion = "1"\n' + body, encoding="utf-8")
    return p


def rule(kind: str, layer: str, extra: str = "") -> str:
    return (f'[[rules]]\nid = "h.r"\nsubject = "house"\nkind = "{kind}"\nlayer = "{layer}"\n'
            f'severity = "fail"\nclause = "(x)"\ntitle_zh = "规则"\ntitle_en = "rule"\n{extra}\n')


def findings(res) -> pd.DataFrame:
    return res.findings.set_index("site_id")


# --------------------------------------------------------------- points and zones

def _zone(shape: str) -> shapely.Geometry:
    """A zone whose nearest edge to the points (x < X0, y = Y0) is the line x = X0."""
    if shape == "box":
        return box(X0, Y0 - 50, X0 + 100, Y0 + 50)
    if shape == "big":  # > 256 vertices: prepared, its boundary cut into chunks
        return shapely.segmentize(box(X0, Y0 - 500, X0 + 1000, Y0 + 500), 1.0)
    if shape == "multipart":
        return MultiPolygon([box(X0, Y0 - 50, X0 + 100, Y0 + 50),
                             box(X0 + 5000, Y0 - 50, X0 + 5100, Y0 + 50)])
    if shape == "hole":  # the points lie in the hole; its east edge is x = X0
        hole = box(X0 - 2000, Y0 - 2000, X0, Y0 + 2000)
        return Polygon(box(X0 - 2100, Y0 - 2100, X0 + 100, Y0 + 2100).exterior.coords,
                       [hole.exterior.coords])
    raise AssertionError(shape)


GAPS = [150.0, R, R + 0.5, 350.0]
"""Distances of the points from the zone: inside the radius, exactly at it, beyond."""


def _points() -> gpd.GeoDataFrame:
    pts = [Point(X0 - d, Y0) for d in GAPS] + [Point(X0 + 10, Y0)]  # the last inside
    return gk(pts, site_id=[f"d{d:g}" for d in GAPS] + ["in"])


@pytest.mark.parametrize("shape", ["box", "big", "multipart", "hole"])
@pytest.mark.parametrize(("kind", "layer"), [("avoid", "flood_zone"),
                                             ("within", "village_boundary")])
def test_point_outside_a_zone(tmp_path: Path, shape: str, kind: str, layer: str) -> None:
    zone = gk([_zone(shape)], level=["1"], village=["甲村"])
    assert (shapely.get_num_coordinates(zone.geometry.iloc[0]) > 256) == (shape == "big")
    res = check(_points(), make_ws(tmp_path, **{layer: zone}),
                rules=make_pack(tmp_path, rule(kind, layer)))
    f = findings(res)
    outside = "pass" if kind == "avoid" else "fail"
    for d in GAPS:
        row = f.loc[f"d{d:g}"]
        assert row["status"] == outside, d
        assert (row["unit"], row["threshold"]) == ("m", 0.0)
        if d <= R:
            assert row["measure"] == pytest.approx(d, abs=1e-9), d
            assert f"{d:.0f} m" in row["message_en"]
            assert "more than" not in row["message_en"]
            assert f"{d:.0f} 米" in row["message_zh"]
        else:
            assert np.isnan(row["measure"]), d
            assert f"more than {R:g} m" in row["message_en"]
            assert f"超过 {R:g} 米" in row["message_zh"]
            assert re.findall(r"[\d.]+", row["message_en"]) == [f"{R:g}"]  # no other figure
    inside = f.loc["in"]
    assert inside["status"] == ("fail" if kind == "avoid" else "pass")
    assert inside["measure"] == 0.0


def test_point_outside_wording(tmp_path: Path) -> None:
    res = check(_points(), make_ws(tmp_path, flood_zone=gk([_zone("box")], level=["1"])),
                rules=make_pack(tmp_path, rule("avoid", "flood_zone")))
    f = findings(res)
    assert f.loc["d150", "message_en"] == "rule: the site point is outside the Flood zone " \
                                          "(150 m away)"
    assert f.loc["d350", "message_en"] == "rule: the site point is outside the Flood zone " \
                                          "(more than 200 m away)"
    assert f.loc["d350", "message_zh"] == "规则：选址点不在洪水淹没区内（距离超过 200 米）"


def test_a_rule_sets_its_own_radius(tmp_path: Path) -> None:
    ws = make_ws(tmp_path, flood_zone=gk([_zone("box")], level=["1"]))
    res = check(_points(), ws, rules=make_pack(tmp_path, rule("avoid", "flood_zone",
                                                              "report_radius_m = 500.0")))
    f = findings(res)
    assert f.loc["d350", "measure"] == pytest.approx(350.0)
    assert "(350 m away)" in f.loc["d350", "message_en"]
    res = check(_points(), ws, rules=make_pack(tmp_path, rule("avoid", "flood_zone",
                                                              "report_radius_m = 100")))
    f = findings(res)
    assert np.isnan(f.loc["d150", "measure"])
    assert "more than 100 m away" in f.loc["d150", "message_en"]


@pytest.mark.parametrize("bad", ["-1.0", '"200"', "inf"])
def test_a_bad_radius_is_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(RulePackError, match="report_radius_m"):
        load_pack(make_pack(tmp_path, rule("avoid", "flood_zone", f"report_radius_m = {bad}")))


# --------------------------------------------------------------- setbacks

def _site(geom: str, gap: float) -> shapely.Geometry:
    """A point, or a 10 m footprint, ``gap`` metres north of the gully along y = Y0."""
    if geom == "point":
        return Point(X0 + 100, Y0 + gap)
    return box(X0 + 100, Y0 + gap, X0 + 110, Y0 + gap + 10)


GULLY = "distance_m = { value = 10.0, source = \"t\", verified = false }"


@pytest.mark.parametrize("geom", ["point", "polygon"])
@pytest.mark.parametrize("big", [False, True])
def test_setback_pass_beyond_the_radius(tmp_path: Path, geom: str, big: bool) -> None:
    line = LineString([(X0 - 5000, Y0), (X0 + 5000, Y0)])
    if big:  # > 256 vertices: cut into chunks for distances
        line = shapely.segmentize(line, 10.0)
    ws = make_ws(tmp_path, gully=gk([line]))
    gaps = [5.0, 150.0, R, 350.0]
    sites = gk([_site(geom, g) for g in gaps], site_id=[f"g{g:g}" for g in gaps])
    f = findings(check(sites, ws, rules=make_pack(tmp_path, rule("setback", "gully", GULLY))))
    assert f.loc["g5", "status"] == "fail"
    assert f.loc["g5", "measure"] == pytest.approx(5.0)
    for g in (150.0, R):
        assert f.loc[f"g{g:g}", "status"] == "pass"
        assert f.loc[f"g{g:g}", "measure"] == pytest.approx(g, abs=1e-9)
        assert f.loc[f"g{g:g}", "message_en"] == f"rule: {g:.1f} m from the nearest Gully"
    far = f.loc["g350"]
    assert (far["status"], far["threshold"]) == ("pass", 10.0)
    assert np.isnan(far["measure"])
    assert far["message_en"] == "rule: more than 200 m from the nearest Gully"
    assert far["message_zh"] == "规则：距最近冲沟超过 200 米"


def test_setback_reports_at_least_as_far_as_its_corridor(tmp_path: Path) -> None:
    ws = make_ws(tmp_path, gully=gk([LineString([(X0 - 5000, Y0), (X0 + 5000, Y0)])]))
    wide = "distance_m = { value = 300.0, source = \"t\", verified = false }"
    sites = gk([_site("polygon", g) for g in (250.0, 300.0, 350.0)], site_id=["a", "b", "c"])
    f = findings(check(sites, ws, rules=make_pack(tmp_path, rule("setback", "gully", wide))))
    assert f.loc["a", "status"] == "fail"
    assert f.loc["a", "measure"] == pytest.approx(250.0)
    assert (f.loc["b", "status"], f.loc["b", "measure"]) == ("pass", pytest.approx(300.0))
    assert f.loc["c", "status"] == "pass"
    assert np.isnan(f.loc["c", "measure"])
    assert f.loc["c", "message_en"] == "rule: more than 300 m from the nearest Gully"


def test_distance_table_setback_beyond_the_radius(tmp_path: Path) -> None:
    lines = gk([LineString([(X0 - 5000, Y0), (X0 + 5000, Y0)])], voltage_kv=[110.0])
    ws = make_ws(tmp_path, power_line=lines)
    sites = gk([_site("polygon", 150.0), _site("polygon", 350.0)], site_id=["near", "far"])
    f = findings(check(sites, ws, rules=load_pack()))
    near, far = f.loc["near"], f.loc["far"]
    near = near[near["rule_id"] == "house.power_line"].iloc[0]
    far = far[far["rule_id"] == "house.power_line"].iloc[0]
    assert (near["status"], near["measure"], near["threshold"]) == \
        ("pass", pytest.approx(150.0), 10.0)
    # beyond the radius the nearest line is not identified: no measure, no threshold
    assert far["status"] == "pass"
    assert np.isnan(far["measure"])
    assert np.isnan(far["threshold"])
    assert far["message_en"].endswith("more than 200 m from the nearest Power line")


def _rule_row(f: pd.DataFrame, site: str, rule_id: str) -> pd.Series:
    rows = f.loc[[site]]
    return rows[rows["rule_id"] == rule_id].iloc[0]


@pytest.mark.parametrize("geom", ["point", "polygon"])
def test_equally_near_features_show_the_strictest_requirement(tmp_path: Path, geom: str) -> None:
    """Behind the node where two lines meet both are equally near: the larger distance is shown.

    A 10 kV line (5 m) and a 110 kV line (10 m) leave the node (X0, Y0) east
    and north; two roads of the same width (a township road, 5 m, and a
    national road, 20 m) leave the node (X0, Y0 - 2000) alike. A site 60 m
    south-west of each node is 60 m from both lines (from both roads' edges
    plus 4 m): clear, and the threshold shown is the strictest, in whichever
    order the features come. Behind a node of a 10 kV line and a line of
    unknown voltage (X0, Y0 + 2000) no threshold is shown: the unknown one
    may require more.
    """
    d = 60.0 / np.sqrt(2.0)

    def site(y: float) -> shapely.Geometry:
        p = Point(X0 - d, y - d)
        return p if geom == "point" else box(X0 - d - 10, y - d - 10, X0 - d, y - d)
    for flip in (False, True):
        kv = [110.0, 10.0, 10.0, None] if flip else [10.0, 110.0, None, 10.0]
        cls = ["national", "township"] if flip else ["township", "national"]
        east_north = [LineString([(X0, y), (X0 + 500, y)]) if k % 2 == 0
                      else LineString([(X0, y), (X0, y + 500)])
                      for k, y in enumerate([Y0, Y0, Y0 + 2000, Y0 + 2000])]
        cls += ["township", "no such class"][::-1 if flip else 1]
        roads = [LineString([(X0, y), (X0 + 500, y)]) if k % 2 == 0
                 else LineString([(X0, y), (X0, y + 500)])
                 for k, y in enumerate([Y0 - 2000, Y0 - 2000, Y0 - 4000, Y0 - 4000])]
        ws = make_ws(tmp_path / str(flip), power_line=gk(east_north, voltage_kv=kv),
                     road=gk(roads, road_id=["r1", "r2", "r3", "r4"], **{"class": cls},
                             width_m=[8.0] * 4))
        sites = gk([site(Y0), site(Y0 - 2000), site(Y0 + 2000), site(Y0 - 4000)],
                   site_id=["line", "road", "unknown", "unknown road"])
        f = findings(check(sites, ws, rules=load_pack()))
        line = _rule_row(f, "line", "house.power_line")
        assert (line["status"], line["threshold"]) == ("pass", 10.0)
        assert line["measure"] == pytest.approx(60.0, abs=1e-6)
        unknown = _rule_row(f, "unknown", "house.power_line")
        assert unknown["status"] == "pass"
        assert unknown["measure"] == pytest.approx(60.0, abs=1e-6)
        assert np.isnan(unknown["threshold"])
        road = _rule_row(f, "road", "house.highway_setback")
        assert (road["status"], road["threshold"]) == ("pass", 20.0)
        assert road["measure"] == pytest.approx(56.0, abs=1e-6)
        assert "national" in road["message_en"]
        road = _rule_row(f, "unknown road", "house.highway_setback")
        assert (road["status"], road["measure"]) == ("pass", pytest.approx(56.0, abs=1e-6))
        assert np.isnan(road["threshold"])


# --------------------------------------------------------------- the bounded search itself

@pytest.mark.parametrize("family", ["polygon", "line"])
def test_nearest_distance_within_a_radius_is_exact(tmp_path: Path, family: str) -> None:
    """Within the radius the bounded search gives the unbounded distance; beyond it, nothing."""
    rng = np.random.default_rng(13)
    origin = np.array([X0, Y0])
    centres = rng.uniform(0, 5000, (40, 2)) + origin
    feats = shapely.buffer(shapely.points(centres), rng.uniform(5, 60, 40), quad_segs=2)
    feats[0] = shapely.segmentize(box(X0 + 2000, Y0 + 2000, X0 + 2600, Y0 + 2300), 2.0)  # big
    feats = shapely.union_all(feats)
    parts = np.asarray(shapely.get_parts(feats))
    if family == "line":
        parts = np.asarray(shapely.get_parts(shapely.boundary(parts)))
        layer = "gully"
        pack = rule("setback", "gully", GULLY)
    else:
        layer = "flood_zone"
        pack = rule("avoid", "flood_zone")
    ws = make_ws(tmp_path, **{layer: gk(list(parts), level=["1"] * len(parts))})
    c = constraint_cache(ws).get(load_pack(make_pack(tmp_path, pack))["h.r"])
    sites = shapely.points(rng.uniform(-500, 5500, (3000, 2)) + origin)
    truth = shapely.distance(sites[:, None], c.geoms[None, :]).min(axis=1)
    i_all, d_all = c.nearest_distance(sites)
    assert len(i_all) == len(sites)
    assert np.allclose(d_all, truth[i_all])
    for radius in (0.0, 30.0, R, 1000.0):
        idx, d = c.nearest_distance(sites, max_distance=radius)
        assert sorted(idx.tolist()) == np.flatnonzero(truth <= radius).tolist()
        assert np.allclose(d, truth[idx], rtol=0, atol=1e-9)


@pytest.mark.parametrize("family", ["polygon", "line"])
@pytest.mark.parametrize("sites_as", ["point", "polygon"])
def test_near_is_the_pairs_within_and_the_nearest_within_the_radius(
        tmp_path: Path, family: str, sites_as: str) -> None:
    """One search gives within_distance's pairs and the nearest within the report radius.

    Worked out from every site-feature distance: features overlapping each
    other (so a site has several pairs), a big feature (cut into boundary
    chunks) with sites deep inside it (0 m from it, far from its boundary),
    and a pair distance ``within`` both below and above the radius.
    """
    rng = np.random.default_rng(17)
    origin = np.array([X0, Y0])
    feats = shapely.buffer(shapely.points(rng.uniform(0, 4000, (60, 2)) + origin),
                           rng.uniform(5, 80, 60), quad_segs=2)
    feats = np.r_[feats, shapely.segmentize(box(X0 + 1000, Y0 + 1000, X0 + 1900, Y0 + 1700),
                                            2.0)]
    layer, pack = "flood_zone", rule("avoid", "flood_zone")
    if family == "line":
        feats = np.asarray(shapely.boundary(feats))
        layer, pack = "gully", rule("setback", "gully", GULLY)
    ws = make_ws(tmp_path, **{layer: gk(list(feats), level=["1"] * len(feats))})
    c = constraint_cache(ws).get(load_pack(make_pack(tmp_path, pack))["h.r"])
    assert bool(np.any(shapely.get_num_coordinates(c.geoms) > 256))  # one big feature
    xy = np.r_[rng.uniform(-300, 4300, (1500, 2)), rng.uniform(1300, 1600, (40, 2))] + origin
    sites = shapely.points(xy)
    if sites_as == "polygon":
        sites = shapely.buffer(sites, 6.0, quad_segs=1)
    sites = np.r_[sites, None, shapely.Polygon()]
    every = np.full((len(sites), len(c.geoms)), np.inf)
    every[:-2] = shapely.distance(sites[:-2, None], c.geoms[None, :])
    least = every.min(axis=1)
    if family == "polygon":  # sites inside the big feature, 100 m or more from its boundary
        deep = shapely.distance(sites[:-2], shapely.boundary(c.geoms[-1])) >= 100
        assert int((deep & (every[:-2, -1] == 0)).sum()) >= 40
    for within, report in ((0.0, R), (25.0, R), (150.0, 100.0), (60.0, 1000.0)):
        near = c.near(sites, within, report)
        qs, qf, d = c.within_distance(sites, within)
        assert near.site.tolist() == qs.tolist()
        assert near.feat.tolist() == qf.tolist()
        assert np.array_equal(near.dist, d)
        want = np.argwhere(every <= within)  # by site, then feature
        assert qs.tolist() == want[:, 0].tolist()
        assert qf.tolist() == want[:, 1].tolist()
        assert np.allclose(d, every[qs, qf], rtol=0, atol=1e-9)
        assert near.have.tolist() == np.flatnonzero(least <= report).tolist()
        assert np.allclose(near.best, least[near.have], rtol=0, atol=1e-9)
        i, _ = c.nearest_distance(sites, max_distance=report)
        assert near.have.tolist() == sorted(i.tolist())
        assert near.key is None


def test_near_key_of_a_site_inside_a_big_polygon(tmp_path: Path) -> None:
    """Inside a big polygon a site is 0 m from it: its key, not that of a feature 10 m off.

    The big polygon's boundary is 100 m away and a small polygon (another
    key) 10 m away; neither of those distances is the site's nearest.
    """
    big = shapely.segmentize(box(X0, Y0, X0 + 400, Y0 + 400), 2.0)
    small = box(X0 + 210, Y0 + 190, X0 + 230, Y0 + 210)
    ws = make_ws(tmp_path, flood_zone=gk([big, small], level=["1", "1"]))
    c = constraint_cache(ws).get(load_pack(make_pack(tmp_path, rule("avoid", "flood_zone")))["h.r"])
    site = np.array([Point(X0 + 200, Y0 + 200), Point(X0 + 200, Y0 + 460)], dtype=object)
    near = c.near(site, 15.0, R, np.array([1.0, 5.0]))
    assert near.have.tolist() == [0, 1]
    assert near.best.tolist() == [0.0, 60.0]
    assert near.key is not None
    assert near.key.tolist() == [1.0, 1.0]
    assert near.site.tolist() == [0, 0]
    assert near.dist.tolist() == [0.0, 10.0]


def _star_lines(rng: np.random.Generator, hubs: int) -> np.ndarray:
    """Three segments from each hub, all within 90° of each other: behind a hub all three
    are equally near (the hub is every segment's nearest point)."""
    centres = rng.uniform(0, 5000, (hubs, 2)) + np.array([X0, Y0])
    ends = [np.array([np.cos(a), np.sin(a)]) * 150 for a in (0.0, 0.5, 1.0)]
    return np.array([shapely.linestrings([c, c + e]) for c in centres for e in ends]), centres


@pytest.mark.parametrize("family", ["line", "polygon"])
@pytest.mark.parametrize("radius", [None, 120.0])
def test_the_nearest_features_key_is_the_largest_of_the_equally_near(
        tmp_path: Path, family: str, radius: float | None) -> None:
    """near gives the nearest distance and, among equally near features, the largest key.

    Sites behind a hub of three lines (or three wedges touching at a corner)
    are equally near to all three: where their keys differ the answer is the
    largest (the strictest required distance), NaN where one of them is NaN.
    Worked out here from every site-feature distance. A big feature
    (cut into boundary chunks) is among them.
    """
    rng = np.random.default_rng(5)
    lines, hubs = _star_lines(rng, 60)
    if family == "polygon":  # each segment as a wedge of 0.4 rad with its apex at the hub
        turn = np.array([[np.cos(0.4), -np.sin(0.4)], [np.sin(0.4), np.cos(0.4)]])
        xy = [shapely.get_coordinates(g) for g in lines]
        feats = np.array([shapely.Polygon([h, e, h + (e - h) @ turn.T]) for h, e in xy])
        layer, pack = "flood_zone", rule("avoid", "flood_zone")
    else:
        feats, layer, pack = lines, "gully", rule("setback", "gully", GULLY)
    big = shapely.segmentize(box(X0 + 6000, Y0, X0 + 6400, Y0 + 300), 2.0)
    feats = np.r_[feats, big if family == "polygon" else shapely.boundary(big)]
    n = len(feats)
    ws = make_ws(tmp_path, **{layer: gk(list(feats), level=["1"] * n)})
    c = constraint_cache(ws).get(load_pack(make_pack(tmp_path, pack))["h.r"])
    assert bool(np.any(shapely.get_num_coordinates(c.geoms) > 256))  # one big feature
    behind = np.array([np.cos(np.pi + 0.5), np.sin(np.pi + 0.5)])
    sites = np.r_[shapely.points(hubs + behind * rng.uniform(1, 100, (len(hubs), 1))),
                  shapely.points(rng.uniform(-300, 6600, (400, 2)) + np.array([X0, Y0]))]
    # keys: three different per hub, one shared per hub, NaN among them
    every = shapely.distance(sites[:, None], c.geoms[None, :])
    least = every.min(axis=1)
    tied = every == least[:, None]
    report = 10_000.0 if radius is None else radius  # 10 km: every site's nearest
    found = np.flatnonzero(least <= report)
    for j, key in enumerate((np.arange(n, dtype=float) % 3,
                             np.repeat(np.arange(n // 3 + 1.0), 3)[:n],
                             np.where(np.arange(n) % 4 == 0, np.nan, np.arange(n) % 2 * 5.0),
                             np.where(np.arange(n) % 3 == 0, np.nan, 7.0))):
        # the largest key of the equally near, NaN (unknown: maybe the largest) if one is
        largest = np.max(np.where(tied, key[None, :], -np.inf), axis=1)
        near = c.near(sites, 0.0, report, key)
        have, dist, k = near.have, near.best, near.key
        assert have.tolist() == found.tolist()
        assert np.allclose(dist, least[found], rtol=0, atol=1e-9)
        assert np.array_equal(k, largest[found], equal_nan=True)
        least_key = np.fmin.reduce(np.where(tied, key[None, :], np.nan), axis=1)
        differ = (least_key[found] != largest[found]) | np.isnan(least_key[found])
        assert differ.sum() >= 10 if j != 1 else not differ.any()  # the ties decide
    # sites without a geometry have no nearest feature
    near = c.near(np.array([None, shapely.Point()], dtype=object), 50.0, report, key)
    assert near.key is not None
    assert (len(near.have), len(near.best), len(near.key), len(near.site)) == (0, 0, 0, 0)
    # the ties are there: behind most hubs three features are equally near
    d3 = np.sort(shapely.distance(sites[:len(hubs), None], c.geoms[None, :]), axis=1)[:, :3]
    assert np.isclose(d3[:, 0], d3[:, 2]).sum() >= len(hubs) // 2


@pytest.mark.parametrize("family", ["line", "polygon"])
def test_local_buffer_is_the_buffer_of_each_rows_local_feature(tmp_path: Path,
                                                                family: str) -> None:
    """Rows of one feature and one distance share a buffer; it is the buffer each row would get.

    Small features repeated with the same and with other distances, and a big
    feature (clipped to each row's box first), in shuffled order.
    """
    rng = np.random.default_rng(3)
    small = shapely.buffer(shapely.points(rng.uniform(0, 3000, (30, 2)) + np.array([X0, Y0])),
                           20.0, quad_segs=3)
    big = shapely.segmentize(box(X0 + 4000, Y0, X0 + 4400, Y0 + 300), 2.0)
    if family == "line":
        feats, layer, pack = np.r_[shapely.boundary(small), shapely.boundary(big)], "gully", \
            rule("setback", "gully", GULLY)
    else:
        feats, layer, pack = np.r_[small, big], "flood_zone", rule("avoid", "flood_zone")
    ws = make_ws(tmp_path, **{layer: gk(list(feats), level=["1"] * len(feats))})
    c = constraint_cache(ws).get(load_pack(make_pack(tmp_path, pack))["h.r"])
    n = len(c.geoms)
    feat = rng.permutation(np.r_[np.repeat(np.arange(n), 4), [n - 1] * 3])
    dist = rng.choice([5.0, 10.0, 12.5], len(feat))
    centre = shapely.centroid(c.geoms[feat])
    bounds = shapely.bounds(shapely.buffer(centre, rng.uniform(5, 50, len(feat))))
    got = c.local_buffer(feat, bounds, dist)
    want = shapely.buffer(c.local(feat, bounds, dist + 1.0), dist)
    assert bool(shapely.equals_exact(got, want, 0.0).all())
    assert len({id(g) for g in got}) < len(got)  # shared where feature and distance repeat
