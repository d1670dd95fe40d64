"""Invariants of the engine, tested with hypothesis on generated geometries.

- every input row comes out once, with its id, in input order;
- the order of the input rows changes no verdict;
- a site moved far from every constraint passes;
- enlarging a zone never turns a fail into a pass;
- shrinking a setback never turns a pass into a fail;
- the same sites given in EPSG:4490, 4536 or 4515 give the same results.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from conftest import X0, Y0
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pyproj import CRS
from shapely import LineString, Point, box

from geoplan.engine import REPORT_RADIUS_M
from geoplan.hygiene import clean_geometries
from geoplan.kinds import KINDS
from geoplan.result import check
from geoplan.rules import load_pack
from geoplan.workspace import Layer, Workspace

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
CRS4536 = CRS.from_epsg(4536)

PACK = """
[pack]
name = "inv"
version = "1"

[[rules]]
id = "h.zone"
subject = "house"
kind = "avoid"
layer = "flood_zone"
severity = "fail"
clause = "(十一)"
title_zh = "z"
title_en = "z"

[[rules]]
id = "h.gully"
subject = "house"
kind = "setback"
layer = "gully"
severity = "fail"
clause = "(十一)"
title_zh = "g"
title_en = "g"
distance_m = { value = DIST, source = "test", verified = false }
"""


def mem_ws(**layers: gpd.GeoDataFrame) -> Workspace:
    """A workspace built in memory (the layers are already in EPSG:4536)."""
    built = {}
    for kind, gdf in layers.items():
        g = gdf.copy()
        g.insert(0, "fid", np.arange(1, len(g) + 1))
        g, _ = clean_geometries(g)  # as open_workspace does: degenerate lines are set aside
        built[kind] = Layer(kind=KINDS[kind], gdf=g, source="memory", source_crs=CRS4536)
    # a frame layer fixes the workspace extent to a 4 km square
    frame = gpd.GeoDataFrame({"fid": [1]}, geometry=[box(X0 - 2000, Y0 - 2000, X0 + 2000,
                                                          Y0 + 2000)], crs=4536)
    built["urban_boundary"] = Layer(kind=KINDS["urban_boundary"], gdf=frame, source="memory",
                                    source_crs=CRS4536)
    return Workspace(path=Path("memory"), crs=CRS4536, layers=built, unplaced=[], config=None,
                     crs_reason="test")


def pack(tmp_path: Path, dist: float = 20.0):
    p = tmp_path / f"inv-{dist}.toml"
    p.write_text(PACK.replace("DIST", repr(float(dist))), encoding="utf-8")
    return load_pack(p)


coord = st.floats(min_value=-1500, max_value=1500, allow_nan=False)
size = st.floats(min_value=1, max_value=60, allow_nan=False)


@st.composite
def sites_strategy(draw, min_size: int = 1, max_size: int = 12):
    n = draw(st.integers(min_size, max_size))
    geoms = []
    for _ in range(n):
        x, y = X0 + draw(coord), Y0 + draw(coord)
        if draw(st.booleans()):
            geoms.append(Point(x, y))
        else:
            geoms.append(box(x, y, x + draw(size), y + draw(size)))
    return gpd.GeoDataFrame({"house_id": [f"H{i}" for i in range(n)]}, geometry=geoms, crs=4536)


@st.composite
def zones_strategy(draw):
    n = draw(st.integers(1, 4))
    polys = [Point(X0 + draw(coord), Y0 + draw(coord)).buffer(draw(st.floats(20, 400)),
                                                               quad_segs=4) for _ in range(n)]
    return gpd.GeoDataFrame({"level": ["1"] * n}, geometry=polys, crs=4536)


@st.composite
def gullies_strategy(draw):
    n = draw(st.integers(1, 3))
    lines = [LineString([(X0 + draw(coord), Y0 + draw(coord)),
                         (X0 + draw(coord), Y0 + draw(coord))]) for _ in range(n)]
    return gpd.GeoDataFrame({"name": ["沟"] * n}, geometry=lines, crs=4536)


def statuses(res) -> dict[tuple[str, str], str]:
    f = res.findings
    return dict(zip(zip(f["site_id"], f["rule_id"], strict=True), f["status"], strict=True))


@SETTINGS
@given(sites=sites_strategy(), zones=zones_strategy(), gullies=gullies_strategy(),
       perm_seed=st.integers(0, 2**32 - 1))
def test_rows_ids_and_order(tmp_path_factory, sites, zones, gullies, perm_seed) -> None:
    tmp = tmp_path_factory.mktemp("inv")
    ws = mem_ws(flood_zone=zones, gully=gullies)
    p = pack(tmp)
    res = check(sites, ws, rules=p)
    assert list(res.verdicts["site_id"]) == list(sites["house_id"])
    assert list(res.verdicts.index) == list(sites.index)
    assert len(res.findings) == len(sites) * 2
    perm = np.random.default_rng(perm_seed).permutation(len(sites))
    shuffled = check(sites.iloc[perm], ws, rules=p)
    assert statuses(shuffled) == statuses(res)
    a = res.findings.set_index(["site_id", "rule_id"])["measure"]
    b = shuffled.findings.set_index(["site_id", "rule_id"])["measure"].reindex(a.index)
    assert np.allclose(a, b, equal_nan=True)


@SETTINGS
@given(sites=sites_strategy(), zones=zones_strategy(), gullies=gullies_strategy())
def test_far_from_everything_passes(tmp_path_factory, sites, zones, gullies) -> None:
    # constraints live in the west half; the sites are moved to the far east corner
    zones = zones.set_geometry(zones.translate(-2000 - 500, 0))
    zones = zones.set_geometry(zones.geometry.intersection(box(X0 - 2000, Y0 - 2000, X0,
                                                               Y0 + 2000)))
    zones = zones[~zones.is_empty]
    gullies = gullies.set_geometry(gullies.translate(-2200, 0)).clip(
        box(X0 - 2000, Y0 - 2000, X0 - 100, Y0 + 2000))
    assume(not zones.empty and not gullies.empty)
    moved = sites.set_geometry(sites.scale(0.1, 0.1, origin=(X0, Y0)).translate(1500, 0))
    res = check(moved, mem_ws(flood_zone=zones, gully=gullies), rules=pack(
        tmp_path_factory.mktemp("inv")))
    assert set(res.findings["status"]) == {"pass"}


@SETTINGS
@given(sites=sites_strategy(), zones=zones_strategy(), grow=st.floats(0, 300))
def test_enlarging_a_zone_never_turns_fail_into_pass(tmp_path_factory, sites, zones,
                                                     grow) -> None:
    p = pack(tmp_path_factory.mktemp("inv"))
    small = check(sites, mem_ws(flood_zone=zones), rules=p)
    bigger = zones.set_geometry(zones.buffer(grow, quad_segs=4))
    large = check(sites, mem_ws(flood_zone=bigger), rules=p)
    s, g = statuses(small), statuses(large)
    for key, status in s.items():
        if key[1] == "h.zone" and status == "fail":
            assert g[key] == "fail", key
    a = small.findings.set_index(["site_id", "rule_id"]).loc[(slice(None), "h.zone"), "measure"]
    b = large.findings.set_index(["site_id", "rule_id"]).loc[(slice(None), "h.zone"), "measure"]
    area = small.findings.set_index(["site_id", "rule_id"]).loc[(slice(None), "h.zone"), "unit"]
    m2 = (area == "m2").to_numpy()
    assert (b.to_numpy()[m2] >= a.to_numpy()[m2] - 1e-6).all()  # overlap can only grow


@SETTINGS
@given(sites=sites_strategy(), gullies=gullies_strategy(), d=st.floats(1, 200),
       shrink=st.floats(0, 1))
def test_shrinking_a_setback_never_turns_pass_into_fail(tmp_path_factory, sites, gullies, d,
                                                        shrink) -> None:
    tmp = tmp_path_factory.mktemp("inv")
    ws = mem_ws(gully=gullies)
    wide = statuses(check(sites, ws, rules=pack(tmp, d)))
    narrow = statuses(check(sites, ws, rules=pack(tmp, d * shrink)))
    for key, status in wide.items():
        if key[1] == "h.gully" and status == "pass":
            assert narrow[key] == "pass", key


@SETTINGS
@given(sites=sites_strategy(min_size=1, max_size=6), zones=zones_strategy(),
       gullies=gullies_strategy(), epsg=st.sampled_from([4490, 4515]))
def test_same_results_in_any_input_crs(tmp_path_factory, sites, zones, gullies, epsg) -> None:
    ws = mem_ws(flood_zone=zones, gully=gullies)
    p = pack(tmp_path_factory.mktemp("inv"))
    a = check(sites, ws, rules=p).findings.set_index(["site_id", "rule_id"])
    b = check(sites.to_crs(epsg), ws, rules=p).findings.set_index(["site_id", "rule_id"])
    area = a["unit"] == "m2"
    dist = a["unit"] == "m"
    assert np.allclose(b.loc[area, "measure"], a.loc[area, "measure"], rtol=1e-3, atol=0.05)
    # a distance is reported within REPORT_RADIUS_M only: one at the radius may fall
    # either side of it after the round trip, and then only one of the two has it
    da, db = a.loc[dist, "measure"].to_numpy(), b.loc[dist, "measure"].to_numpy()
    one = np.isnan(da) != np.isnan(db)
    assert (np.abs(np.where(np.isnan(da), db, da)[one] - REPORT_RADIUS_M) < 0.01).all()
    assert np.allclose(db[~one], da[~one], atol=0.01, equal_nan=True)
    # statuses agree except where a measure sits within the round-trip noise of a threshold
    near = ((a["unit"] == "m") & ((a["measure"] - a["threshold"]).abs() < 0.01)) | (
        (a["unit"] == "m2") & ((a["measure"] - a["threshold"]).abs() < 0.05))
    assert (a.loc[~near, "status"] == b.loc[~near, "status"]).all()


def test_mem_ws_matches_files(tmp_path: Path) -> None:
    """The in-memory workspace used above behaves like one read from files."""
    import geoplan

    zone = gpd.GeoDataFrame({"level": ["1"]}, geometry=[box(X0, Y0, X0 + 50, Y0 + 50)],
                            crs=4536)
    d = tmp_path / "ws"
    d.mkdir()
    zone.to_file(d / "flood_zone.gpkg")
    site = gpd.GeoDataFrame({"house_id": ["A"]}, geometry=[box(X0 - 5, Y0, X0 + 5, Y0 + 10)],
                            crs=4536)
    p = pack(tmp_path)
    a = check(site, geoplan.open_workspace(d), rules=p).findings
    b = check(site, mem_ws(flood_zone=zone), rules=p).findings
    assert a.loc[a.rule_id == "h.zone", "measure"].item() == pytest.approx(50.0)
    assert b.loc[b.rule_id == "h.zone", "measure"].item() == pytest.approx(50.0)


# ------------------------------------------------------------------ at the thresholds


@SETTINGS
@given(d=st.floats(1, 200), side=st.floats(1, 60), offset=st.sampled_from([-1e-3, 0.0, 1e-3]),
       x=st.floats(-500, 500))
def test_a_site_exactly_at_the_setback_passes_and_a_millimetre_inside_fails(
        tmp_path_factory, d, side, offset, x) -> None:
    """Setback d from a straight gully: the site's near edge at d + offset from the line.

    By construction the distance is d + offset (the line is horizontal and long
    enough): exactly d passes (distance ≥ d), 1 mm closer fails, 1 mm farther passes.
    """
    gully = gpd.GeoDataFrame({"name": ["沟"]}, geometry=[LineString([(X0 - 2000, Y0),
                                                                    (X0 + 2000, Y0)])],
                             crs=4536)
    y = Y0 + d + offset
    site = gpd.GeoDataFrame({"house_id": ["S"]},
                            geometry=[box(X0 + x, y, X0 + x + side, y + side)], crs=4536)
    res = check(site, mem_ws(gully=gully), rules=pack(tmp_path_factory.mktemp("thr"), d))
    f = res.findings.set_index("rule_id").loc["h.gully"]
    if d + offset <= max(d, REPORT_RADIUS_M):
        assert f["measure"] == pytest.approx(d + offset, abs=1e-6)
    else:  # a pass farther than the reporting radius (and the corridor): said, not measured
        assert np.isnan(f["measure"])
        assert f"more than {REPORT_RADIUS_M:g} m" in f["message_en"]
    assert f["status"] == ("fail" if offset < 0 else "pass")


@SETTINGS
@given(width=st.floats(0.5, 20), extra=st.sampled_from([-1e-3, 1e-3]))
def test_overlap_one_square_millimetre_around_the_tolerance(tmp_path_factory, width,
                                                            extra) -> None:
    """An avoid rule with a 1 m² tolerance: a site overlapping the zone by 1 m² ± 0.001 m²."""
    zone = gpd.GeoDataFrame({"level": ["1"]}, geometry=[box(X0, Y0, X0 + 100, Y0 + 100)],
                            crs=4536)
    depth = (1.0 + extra) / width
    site = gpd.GeoDataFrame({"house_id": ["S"]},
                            geometry=[box(X0 + 10, Y0 - 20 + depth, X0 + 10 + width,
                                          Y0 + depth)], crs=4536)
    res = check(site, mem_ws(flood_zone=zone), rules=pack(tmp_path_factory.mktemp("tol")))
    f = res.findings.set_index("rule_id").loc["h.zone"]
    assert f["measure"] == pytest.approx(1.0 + extra, abs=1e-6)
    assert f["status"] == ("fail" if extra > 0 else "pass")


@st.composite
def overlapping_zones_and_sites(draw):
    """Two to four circular zones that overlap the first one, and squares around them."""
    r = draw(st.floats(30, 300))
    n = draw(st.integers(2, 4))
    zones = [Point(X0, Y0).buffer(r, quad_segs=4)]
    for _ in range(n - 1):
        dx, dy = draw(st.floats(-r / 2, r / 2)), draw(st.floats(-r / 2, r / 2))
        zones.append(Point(X0 + dx, Y0 + dy).buffer(draw(st.floats(10, 300)), quad_segs=4))
    m = draw(st.integers(1, 8))
    sites = []
    for _ in range(m):
        x, y, w = draw(st.floats(-r, r)), draw(st.floats(-r, r)), draw(st.floats(1, 60))
        sites.append(box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + w))
    return (gpd.GeoDataFrame({"level": ["1"] * n}, geometry=zones, crs=4536),
            gpd.GeoDataFrame({"house_id": [f"H{i}" for i in range(m)]}, geometry=sites,
                             crs=4536))


@SETTINGS
@given(data=overlapping_zones_and_sites())
def test_overlapping_zones_are_not_counted_twice(tmp_path_factory, data) -> None:
    """The overlap measure is the site's area inside the union of the zones (a second method:
    shapely's union, then intersection), however the zones overlap each other."""
    import shapely

    zones, sites = data
    res = check(sites, mem_ws(flood_zone=zones), rules=pack(tmp_path_factory.mktemp("ovl")))
    f = res.findings[res.findings["rule_id"] == "h.zone"].set_index("site_id")
    union = shapely.union_all(zones.geometry.to_numpy())
    for sid, geom in zip(sites["house_id"], sites.geometry, strict=True):
        expected = shapely.intersection(geom, union).area
        if expected > 1e-9:
            assert f.loc[sid, "measure"] == pytest.approx(expected, rel=1e-6, abs=1e-6)
        assert f.loc[sid, "status"] == ("fail" if expected > 1.0 else "pass")
