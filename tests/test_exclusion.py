"""The exclusion areas of the rule kinds agree with the engine.

The contract (see :class:`geoplan.rules.registry.Exclusion`): a site that
meets no zone and not the unknown area passes the rule; for an exact rule a
point inside a zone gets that zone's status. It is checked here against the
engine itself — on the sample county at random places, and on generated
zones and gullies with hypothesis — plus hand-built cases with known areas.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from conftest import SAMPLE, X0, Y0, gk
from hypothesis import given
from hypothesis import strategies as st
from rasterio.transform import Affine
from shapely import LineString, Point, box
from test_invariants import SETTINGS, gullies_strategy, mem_ws, pack, zones_strategy

import geoplan
from geoplan.engine import exclusions
from geoplan.engine.exclusion import cover_buffer
from geoplan.kinds import KINDS
from geoplan.rules import KindSpec, RuleKind, load_pack, register, unregister
from geoplan.rules.registry import Exclusion
from geoplan.workspace import RasterLayer

# ---------------------------------------------------------------- the contract, on the engine


def _statuses(res, rule_id: str, ids) -> np.ndarray:
    f = res.findings
    return f[f.rule_id == rule_id].set_index("site_id").status.reindex(ids).to_numpy()


def _assert_agrees(ws, ex: list[Exclusion], sites: gpd.GeoDataFrame, *,
                   skip: tuple[str, ...] = ()) -> dict[str, int]:
    """Every clear site passes; every point deep inside an exact zone gets its status."""
    res = geoplan.check(sites, ws, rules=_PACKS.get(id(ws)) or "yining-2025",
                        subject="house")
    ids = sites["site_id"].to_numpy()
    geoms = sites.geometry.to_numpy()
    is_point = shapely.get_type_id(geoms) == 0
    seen: dict[str, int] = {}
    for e in ex:
        if not e.mappable or e.rule_id in skip:
            continue
        st = _statuses(res, e.rule_id, ids)
        meets = np.zeros(len(geoms), dtype=bool)
        for z in (*e.zones.values(), e.unknown):
            if z.is_empty:
                continue
            shapely.prepare(z)
            meets |= np.where(is_point, shapely.intersects(z, geoms),
                              shapely.area(shapely.intersection(geoms, z)) > 0)
        clear = ~meets
        assert (st[clear] == "pass").all(), (
            e.rule_id, list(zip(ids[clear & (st != "pass")][:3],
                                st[clear & (st != "pass")][:3], strict=True)))
        seen[e.rule_id] = int((~clear).sum())
        if e.exact:
            for status, z in e.zones.items():
                core = shapely.buffer(z, -0.01)
                shapely.prepare(core)
                deep = is_point & shapely.contains(core, geoms)
                assert (st[deep] == status).all(), (e.rule_id, status, set(st[deep]))
    return seen


_PACKS: dict[int, object] = {}


def _random_sites(bounds, n: int, *, footprint: float | None, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bounds
    m = (footprint or 0) + 1  # footprints stay inside the extent mapped
    pts = shapely.points(rng.uniform(x0 + m, x1 - m, n), rng.uniform(y0 + m, y1 - m, n))
    geoms = pts if footprint is None else shapely.buffer(pts, footprint / 2, cap_style="square")
    return gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)]}, geometry=geoms,
                            crs=4536)


@pytest.fixture(scope="module")
def sample_ws():
    return geoplan.open_workspace(SAMPLE)


# steep hills in the north; a relocate-and-merge village; flood plain and power lines
SAMPLE_PLACES = [(529_788, 4_877_401, 1200), (519_475, 4_869_470, 1500),
                 (507_836, 4_859_346, 900)]


@pytest.mark.parametrize("footprint", [None, 12.0], ids=["points", "footprints"])
@pytest.mark.parametrize("place", SAMPLE_PLACES, ids=["hills", "relocate", "plain"])
def test_sample_county_clear_sites_pass_and_zones_fail(sample_ws, place, footprint) -> None:
    x, y, r = place
    bounds = (x - r, y - r, x + r, y + r)
    ex = exclusions(sample_ws, extent=bounds)
    assert [e.rule_id for e in ex] == [r.id for r in load_pack().for_subject("house")]
    sites = _random_sites(bounds, 1500, footprint=footprint, seed=x)
    # old trees: point sites are not_checked by the rule, as its exclusion says
    seen = _assert_agrees(sample_ws, ex, sites,
                          skip=("house.old_tree",) if footprint is None else ())
    assert sum(seen.values()) > 0  # the places were chosen to meet some zones


def test_sample_county_places_meet_the_zones_they_were_chosen_for(sample_ws) -> None:
    by_place = []
    for x, y, r in SAMPLE_PLACES:
        ex = {e.rule_id: e for e in exclusions(sample_ws, extent=(x - r, y - r, x + r, y + r))}
        by_place.append(ex)
    hills, relocate, plain = by_place
    assert hills["house.slope"].area("fail").area > 1e6
    assert hills["house.slope"].area("warn").area > 1e5
    assert not hills["house.slope"].area("fail").intersects(hills["house.slope"].area("warn")
                                                            .buffer(-0.01))
    assert relocate["house.relocate_merge"].area("warn").area > 1e5
    assert plain["house.flood_zone"].area("fail").area > 1e5


@SETTINGS
@given(zones=zones_strategy(), gullies=gullies_strategy(), d=st.floats(1, 80),
       seed=st.integers(0, 2**16))
def test_generated_zones_and_gullies(tmp_path_factory, zones, gullies, d, seed) -> None:
    ws = mem_ws(flood_zone=zones, gully=gullies)
    _PACKS[id(ws)] = pack(tmp_path_factory.mktemp("p"), d)
    try:
        bounds = (X0 - 1500, Y0 - 1500, X0 + 1500, Y0 + 1500)
        ex = exclusions(ws, _PACKS[id(ws)], extent=bounds)
        for footprint in (None, 8.0):
            _assert_agrees(ws, ex, _random_sites(bounds, 400, footprint=footprint, seed=seed))
    finally:
        _PACKS.pop(id(ws))


# ---------------------------------------------------------------- hand-built cases

RULES = """
[pack]
name = "ex"
version = "1"
{rules}
"""


def _rule(rid: str, kind: str, layer: str | None, body: str = "", severity: str = "fail",
          ) -> str:
    lay = f'layer = "{layer}"\n' if layer else ""
    return (f'\n[[rules]]\nid = "{rid}"\nsubject = "house"\nkind = "{kind}"\n{lay}'
            f'severity = "{severity}"\nclause = "(十一)"\ntitle_zh = "t"\ntitle_en = "t"\n{body}')


def _pack(tmp_path: Path, *rules: str):
    p = tmp_path / "ex.toml"
    p.write_text(RULES.format(rules="".join(rules)), encoding="utf-8")
    return load_pack(p)


EXTENT = box(X0 - 500, Y0 - 500, X0 + 500, Y0 + 500)


def test_avoid_zone_with_a_hole_and_two_overlapping_parts(tmp_path: Path) -> None:
    ring = box(X0 - 200, Y0 - 200, X0 + 200, Y0 + 200).difference(
        box(X0 - 50, Y0 - 50, X0 + 50, Y0 + 50))                      # 160 000 − 10 000 m²
    other = box(X0 + 100, Y0 + 100, X0 + 300, Y0 + 300)              # 40 000, 10 000 shared
    ws = mem_ws(flood_zone=gk([ring, other]))
    (ex,) = exclusions(ws, _pack(tmp_path, _rule("a", "avoid", "flood_zone")), extent=EXTENT)
    assert ex.exact
    assert ex.area("fail").area == pytest.approx(150_000 + 30_000)
    assert not ex.area("fail").contains(Point(X0, Y0))               # the hole is clear


def test_setback_table_with_an_unreadable_value(tmp_path: Path) -> None:
    lines = gk([LineString([(X0 - 400, Y0), (X0 + 400, Y0)]),
                LineString([(X0 - 400, Y0 + 300), (X0 + 400, Y0 + 300)])],
               voltage_kv=[10.0, None])
    ws = mem_ws(power_line=lines)
    body = ('distance_table = { field = "voltage_kv", source = "t", verified = false, rows = ['
            '{ upto = 10, distance_m = 5 }, { upto = 220, distance_m = 15 }] }\n')
    (ex,) = exclusions(ws, _pack(tmp_path, _rule("p", "setback", "power_line", body)),
                       extent=EXTENT)
    fail, unknown = ex.area("fail"), ex.unknown
    # 10 kV: 5 m each side over the 800 m inside the extent (+0.12 % cover, round ends clipped)
    assert fail.intersection(box(X0 - 500, Y0 - 100, X0 + 500, Y0 + 100)).area == \
        pytest.approx(800 * 10 + np.pi * 25, rel=3e-3)
    # unknown voltage: the table's smallest corridor fails, up to its largest is unknown
    assert fail.contains(Point(X0, Y0 + 300 + 4.9))
    assert unknown.contains(Point(X0, Y0 + 300 + 14.9))
    assert not unknown.intersects(Point(X0, Y0 + 300 + 15.1))
    assert not fail.intersects(Point(X0, Y0 + 300 + 5.1))
    assert "voltage_kv" in ex.note_en


def test_within_and_proximity_are_the_rest_of_the_extent(tmp_path: Path) -> None:
    boundary = box(X0 - 100, Y0 - 100, X0 + 100, Y0 + 100)
    ws = mem_ws(village_boundary=gk([boundary]))
    p = _pack(tmp_path, _rule("w", "within", "village_boundary", severity="warn"),
              _rule("n", "proximity", "village_boundary",
                    'max_distance_m = { value = 200, source = "t", verified = false }\n',
                    severity="warn"))
    within, near = exclusions(ws, p, extent=EXTENT)
    assert within.area("warn").area == pytest.approx(1_000_000 - 40_000)
    assert within.exact
    # beyond 200 m of the square: extent minus the rounded square (buffer drawn inside)
    true_reach = 200 * 200 + 4 * 200 * 200 + np.pi * 200 ** 2
    assert near.area("warn").area == pytest.approx(1_000_000 - true_reach, rel=2e-3)
    assert near.area("warn").area >= 1_000_000 - true_reach     # never smaller than the truth
    assert not near.exact
    assert "footprint" in near.note_en


def test_missing_layer_and_unmappable_rules(tmp_path: Path) -> None:
    ws = mem_ws(flood_zone=gk([box(X0, Y0, X0 + 10, Y0 + 10)]))
    p = _pack(tmp_path, _rule("g", "avoid", "geohazard_zone"),
              _rule("w", "attribute", None, 'field = "width_m"\n'
                                            'value = { value = 4, source = "t", '
                                            'verified = false }\n'))
    g, w = exclusions(ws, p, extent=EXTENT)
    assert g.unknown.equals(EXTENT)
    assert g.unmapped
    assert not g.zones
    assert "geohazard_zone" in g.note_en
    assert not w.mappable
    assert "width_m" in w.note_en


def test_undecided_features_are_unknown_not_clear(tmp_path: Path) -> None:
    zones = gk([box(X0, Y0, X0 + 100, Y0 + 100), box(X0 - 300, Y0, X0 - 200, Y0 + 100)],
               level=["1", None])
    ws = mem_ws(water_source_zone=zones)
    (ex,) = exclusions(ws, _pack(tmp_path, _rule("l1", "avoid", "water_source_zone",
                                                 'where = "level == 1"\n')), extent=EXTENT)
    assert ex.area("fail").area == pytest.approx(10_000)
    assert ex.unknown.area == pytest.approx(10_000)                # the NULL-level zone
    assert ex.unknown.contains(Point(X0 - 250, Y0 + 50))
    assert "level" in ex.note_en


def test_slope_levels_from_a_dem_with_a_hole(tmp_path: Path) -> None:
    x = np.arange(20) * 30.0
    z = np.tile(np.where(x < 300, 0.0, 0.6 * (x - 300)), (20, 1))   # flat, then 31° east
    z[2, 2] = -9999                                                   # nodata in the flat
    path = tmp_path / "dem.tif"
    with rasterio.open(path, "w", driver="GTiff", width=20, height=20, count=1,
                       dtype="float64", crs="EPSG:4536", nodata=-9999,
                       transform=Affine(30, 0, X0 - 300, 0, -30, Y0 + 300)) as dst:
        dst.write(z, 1)
    ws = mem_ws(flood_zone=gk([box(X0, Y0, X0 + 1, Y0 + 1)]))
    bounds = (X0 - 300, Y0 - 300, X0 + 300, Y0 + 300)
    ws.layers["dem"] = RasterLayer(kind=KINDS["dem"], path=path, source_crs=ws.crs,
                                   source_bounds=bounds, bounds=bounds, shape=(20, 20),
                                   res=(30.0, 30.0), nodata=-9999, dtype="float64")
    body = ('levels = [{ above = 25, status = "fail" }, { above = 10, status = "warn" }]\n'
            'stat = "max"\n')
    (ex,) = exclusions(ws, _pack(tmp_path, _rule("s", "raster", "dem", body)),
                       extent=box(X0 - 300, Y0 - 300, X0 + 300, Y0 + 300))
    # column 10 (x0 .. x0+30) is 16.7° (warn), 11.. are 31° (fail)
    assert ex.area("warn").bounds == pytest.approx((X0, Y0 - 300, X0 + 30, Y0 + 300), abs=0.01)
    assert ex.area("fail").bounds == pytest.approx((X0 + 30, Y0 - 300, X0 + 300, Y0 + 300),
                                                   abs=0.01)
    assert ex.unknown.area == pytest.approx(9 * 900, rel=1e-3)      # the hole and its ring


def test_a_kind_without_the_hook_is_listed_as_not_mappable(tmp_path: Path) -> None:
    @dataclass(frozen=True)
    class NothingSpec(KindSpec):
        pass

    @register
    class Nothing(RuleKind[NothingSpec]):
        name = "nothing_here"
        spec_type = NothingSpec
        reads = "site"

        def parse(self, ctx):
            return NothingSpec()

    try:
        ws = mem_ws(flood_zone=gk([box(X0, Y0, X0 + 1, Y0 + 1)]))
        (ex,) = exclusions(ws, _pack(tmp_path, _rule("n", "nothing_here", None)),
                           extent=EXTENT)
        assert not ex.mappable
        assert "nothing_here" in ex.note_en
    finally:
        unregister("nothing_here")


def test_cover_buffer_contains_the_true_circle() -> None:
    b = cover_buffer(np.array([Point(0, 0)]), 10.0)[0]
    angles = np.linspace(0, 2 * np.pi, 3601)
    ring = shapely.points(10 * np.cos(angles), 10 * np.sin(angles))
    assert shapely.covers(b, ring).all()
    assert b.area < np.pi * 100 * 1.003
