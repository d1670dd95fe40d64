"""Tests of the synthetic sample workspace generator (geoplan.datasets.yining).

The checks on the batches re-derive what each site touches with plain geopandas /
rasterio logic on the written files (not with the generator's internals) and compare
it with the ``scenario`` and ``expected_hits`` columns the generator wrote.
"""

from __future__ import annotations

import hashlib
import pathlib
import subprocess
import sys
import tomllib

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import rasterio.features
import rasterio.windows
import shapely

from geoplan.datasets import build_sample_workspace
from geoplan.datasets.yining import build as yining_build
from geoplan.datasets.yining.writer import WORKSPACE_TOML, environment
from geoplan.errors import DataFileError
from geoplan.kinds import KINDS

REPO = pathlib.Path(__file__).resolve().parents[1]
COMMITTED = REPO / "layers"
WORK = 4536

HOUSE_SCENARIOS = (
    "clean", "flood_zone", "flood_channel", "flood_storage", "landslide", "debris_flow",
    "geohazard", "subsidence", "near_gully", "steep_slope", "moderate_slope", "near_fault",
    "power_corridor_10kv", "power_corridor_35kv", "power_corridor_110kv", "water_source_l1",
    "water_source_l2", "farmland_redline", "farmland", "ecological_redline", "water_body",
    "outside_village_boundary", "old_tree", "heritage", "relocate_merge_village", "scattered",
    "empty_geometry",
)
VECTOR_KINDS = (
    "village", "village_boundary", "urban_boundary", "road", "landuse", "farmland_redline",
    "ecological_redline", "flood_zone", "flood_channel", "flood_storage", "landslide_zone",
    "debris_flow_zone", "geohazard_zone", "subsidence_zone", "gully", "active_fault",
    "water_source_zone", "water_body", "power_line", "substation", "heritage_zone", "old_tree",
    "facility",
)
ZONE_TAGS = {  # house/road tag -> polygon layer
    "flood_zone": "flood_zone", "flood_channel": "flood_channel", "flood_storage": "flood_storage",
    "landslide": "landslide_zone", "debris_flow": "debris_flow_zone",
    "geohazard": "geohazard_zone", "subsidence": "subsidence_zone",
    "ecological_redline": "ecological_redline", "farmland_redline": "farmland_redline",
    "water_body": "water_body", "heritage": "heritage_zone",
}
TOWNSHIPS = {"巴彦岱镇", "潘津镇", "英也尔镇", "汉宾乡", "喀尔墩乡", "达达木图镇", "塔什科瑞克乡",
             "克伯克于孜乡"}


def _hashes(root: pathlib.Path) -> dict[str, str]:
    """Each file's SHA-256, leaving out hidden folders (``.geoplan-cache`` of ``check --cache``)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(root).parts[:-1])}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return build_sample_workspace(tmp_path_factory.mktemp("a") / "layers")


@pytest.fixture(scope="module")
def ws_again(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return build_sample_workspace(tmp_path_factory.mktemp("b") / "layers")


@pytest.fixture(scope="module")
def layers(ws: pathlib.Path) -> dict[str, gpd.GeoDataFrame]:
    """Every vector layer, reprojected to EPSG:4536 metres."""
    return {k: gpd.read_file(ws / f"{k}.gpkg").to_crs(WORK) for k in VECTOR_KINDS}


@pytest.fixture(scope="module")
def houses(ws: pathlib.Path) -> gpd.GeoDataFrame:
    return gpd.read_file(ws / "batches" / "proposed_houses.gpkg")


@pytest.fixture(scope="module")
def roads(ws: pathlib.Path) -> gpd.GeoDataFrame:
    return gpd.read_file(ws / "batches" / "proposed_roads.gpkg")


@pytest.fixture(scope="module")
def slope(ws: pathlib.Path) -> tuple[np.ndarray, rasterio.Affine]:
    with rasterio.open(ws / "dem.tif") as src:
        dem = src.read(1, masked=True).astype(np.float64).filled(np.nan)
        transform = src.transform
    gy, gx = np.gradient(dem, transform.a)
    return np.degrees(np.arctan(np.hypot(gx, gy))), transform


def _max_slope(geom: shapely.Geometry, grid: np.ndarray, transform: rasterio.Affine) -> float:
    """Max slope of the cells a geometry touches (all_touched), or of the cell under a point."""
    if geom.geom_type == "Point":
        row, col = rasterio.transform.rowcol(transform, geom.x, geom.y)
        return float(grid[row, col])
    win = rasterio.windows.from_bounds(*geom.buffer(31).bounds, transform=transform)
    win = win.round_offsets().round_lengths()
    sub = grid[win.row_off:win.row_off + win.height, win.col_off:win.col_off + win.width]
    origin = rasterio.Affine(transform.a, 0.0, transform.c + win.col_off * transform.a,
                             0.0, transform.e, transform.f + win.row_off * transform.e)
    mask = rasterio.features.geometry_mask([geom], sub.shape, origin, all_touched=True, invert=True)
    return float(sub[mask].max())


# ---- determinism --------------------------------------------------------------------------


@pytest.mark.slow  # builds the sample workspace a second time
def test_build_is_byte_identical(ws: pathlib.Path, ws_again: pathlib.Path) -> None:
    a, b = _hashes(ws), _hashes(ws_again)
    assert a.keys() == b.keys()
    differ = sorted(k for k in a if a[k] != b[k])
    assert not differ, f"files differ between two builds: {differ}"


def test_committed_layers_match_fresh_build(ws: pathlib.Path) -> None:
    readme = COMMITTED / "README.md"
    assert readme.is_file(), "layers/ is missing: run `python -m geoplan.datasets layers --overwrite`"
    recorded = [ln for ln in readme.read_text(encoding="utf-8").splitlines()
                if ln.startswith("Build environment:")]
    current = f"Build environment: {environment()}"
    if recorded != [current]:
        pytest.skip("layers/ was built with other library versions "
                    f"({recorded[0] if recorded else 'unknown'}); byte equality is not expected")
    fresh, committed = _hashes(ws), _hashes(COMMITTED)
    assert sorted(committed) == sorted(fresh), "layers/ holds other files than a fresh build"
    stale = sorted(k for k in fresh if fresh[k] != committed[k])
    assert not stale, (f"layers/ is stale ({stale}): rebuild it with "
                       "`python -m geoplan.datasets layers --overwrite`")


# ---- files, CRSs, labels -------------------------------------------------------------------


def test_workspace_files(ws: pathlib.Path) -> None:
    names = {p.relative_to(ws).as_posix() for p in ws.rglob("*") if p.is_file()}
    expected = {f"{k}.gpkg" for k in VECTOR_KINDS} | {
        "dem.tif", "geoplan.toml", "README.md",
        "batches/proposed_houses.gpkg", "batches/proposed_roads.gpkg"}
    assert names == expected
    assert all(k in KINDS for k in VECTOR_KINDS)
    size = sum((ws / n).stat().st_size for n in names)
    assert size < 15 * 1024 * 1024


@pytest.mark.parametrize("kind", VECTOR_KINDS)
def test_layer_named_by_kind_with_crs_and_label(ws: pathlib.Path, kind: str) -> None:
    path = ws / f"{kind}.gpkg"
    assert [name for name, _ in pyogrio.list_layers(path)] == [kind]
    info = pyogrio.read_info(path)
    expected = {"landuse": "EPSG:4515", "power_line": "EPSG:4536"}.get(kind, "EPSG:4490")
    assert info["crs"] == expected
    assert "SYNTHETIC" in info["layer_metadata"]["DESCRIPTION"]
    assert info["features"] > 0
    fields = {f.name for f in KINDS[kind].required_fields}
    assert fields <= set(info["fields"])


def test_geographic_layers_store_lon_lat(ws: pathlib.Path) -> None:
    minx, miny, maxx, maxy = pyogrio.read_info(ws / "village.gpkg")["total_bounds"]
    assert 81.0 < minx < maxx < 81.65
    assert 43.8 < miny < maxy < 44.1


def test_toml_declares_scheme_and_derived_layers(ws: pathlib.Path) -> None:
    cfg = tomllib.loads((ws / "geoplan.toml").read_text(encoding="utf-8"))
    assert cfg["layers"]["landuse"]["scheme"] == "gbt21010-2017"
    assert cfg["layers"]["forest_land"] == {"from": "landuse", "where": "code in forest"}
    assert cfg["layers"]["farmland"] == {"from": "landuse", "where": "code in farmland"}


def test_python_dash_m_builds_and_refuses(tmp_path: pathlib.Path) -> None:
    """``python -m geoplan.datasets`` (named in layers/README.md): help, and exit 2 on a bad folder."""
    run = [sys.executable, "-m", "geoplan.datasets"]
    r = subprocess.run([*run, "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    assert "--seed" in r.stdout
    assert "--overwrite" in r.stdout
    (tmp_path / "notes.txt").write_text("keep me")
    r = subprocess.run([*run, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "not empty" in r.stderr


def test_the_runtime_core_does_not_load_the_generator() -> None:
    code = ("import sys, geoplan, geoplan.cli, geoplan.maps, geoplan.report, geoplan.scale; "
            "print(sorted(m for m in sys.modules if m.startswith('geoplan.datasets')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_readme_is_bilingual_and_says_synthetic(ws: pathlib.Path) -> None:
    text = (ws / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in text
    assert "合成示例数据" in text
    assert "python -m geoplan.datasets layers --overwrite" in text


# ---- layer content ---------------------------------------------------------------------------


def test_landuse_parcels(ws: pathlib.Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    raw = gpd.read_file(ws / "landuse.gpkg")
    assert raw.total_bounds[0] > 27_000_000  # zone-prefixed eastings, like real 三调 data
    lu = layers["landuse"]
    assert len(lu) >= 3000
    assert lu.code.str.fullmatch(r"\d{4}").all()
    assert {"0101", "0102", "0103", "0301", "0702", "1101"} <= set(lu.code)
    assert lu.is_valid.all()
    farm = lu[lu.code.str.startswith("01")].union_all()
    red = layers["farmland_redline"].union_all()
    assert red.difference(farm).area < 1.0  # the red line is a subset of farmland


def test_villages(layers: dict[str, gpd.GeoDataFrame]) -> None:
    v, b = layers["village"], layers["village_boundary"]
    assert 35 <= len(v) <= 45
    assert set(v.township) == TOWNSHIPS
    assert v.name.is_unique
    assert set(v.layout_class) == {"集聚提升", "城郊融合", "特色保护", "搬迁撤并"}
    assert v.is_demo.sum() >= 3
    assert v.population.between(200, 3000).all()
    joined = v.merge(b[["village", "geometry"]], left_on="name", right_on="village")
    assert joined.geometry_x.within(gpd.GeoSeries(joined.geometry_y, crs=WORK)).all()
    # spread west to east
    order = v.assign(x=v.geometry.x).sort_values("x").township.tolist()
    assert order[0] == "巴彦岱镇"
    assert order[-1] == "克伯克于孜乡"


def test_water_source_rings(layers: dict[str, gpd.GeoDataFrame]) -> None:
    wz = layers["water_source_zone"]
    l1, l2 = wz[wz.level == "1"], wz[wz.level == "2"]
    assert 2 <= len(l1) == len(l2) <= 3
    assert (wz.population_served >= 1000).all()
    assert all(len(g.interiors) == 1 for g in l2.geometry)
    assert l1.union_all().intersection(l2.union_all()).area < 1.0


def test_power_lines(layers: dict[str, gpd.GeoDataFrame]) -> None:
    pl = layers["power_line"]
    counts = pl.voltage_kv.value_counts()
    assert counts[110.0] >= 1
    assert counts[35.0] >= 3
    assert counts[10.0] >= 10
    assert set(pl.status) == {"existing", "new", "rebuilt"}


def test_dem(ws: pathlib.Path, slope: tuple[np.ndarray, rasterio.Affine]) -> None:
    with rasterio.open(ws / "dem.tif") as src:
        assert src.crs.to_epsg() == 4536
        assert src.res == (30.0, 30.0)
        assert src.dtypes[0] == "float32"
        assert src.nodata == -9999
        assert src.profile["compress"] == "deflate"
        assert src.profile["tiled"]
        assert "SYNTHETIC" in src.tags()["DESCRIPTION"]
        dem = src.read(1, masked=True)
    assert 0 < dem.mask.sum() < 500  # a small nodata hole
    assert 600 < dem.min() < 660
    assert 1400 < dem.max() < 1900
    grid, _ = slope
    assert np.nanmax(grid) > 25


# ---- proposed houses ----------------------------------------------------------------------------


def test_house_batch_shape(houses: gpd.GeoDataFrame) -> None:
    assert houses.crs.to_epsg() == 4490
    assert 280 <= len(houses) <= 320
    assert houses.house_id.is_unique
    assert houses.house_id.iloc[0] == "H0001"
    counts = houses.scenario.value_counts()
    missing = [s for s in HOUSE_SCENARIOS if counts.get(s, 0) < (2 if s == "empty_geometry" else 4)]
    assert not missing
    assert 0.35 <= counts["clean"] / len(houses) <= 0.45
    empty = houses.geometry.isna() | houses.geometry.is_empty
    assert (houses.scenario[empty] == "empty_geometry").all()
    assert empty.sum() == 2
    kinds = houses.geometry[~empty].geom_type.value_counts()
    assert 0.6 <= kinds["Polygon"] / (~empty).sum() <= 0.8
    assert set(houses.township) <= TOWNSHIPS
    assert houses.floors.between(1, 3).all()


def _house_tags(houses: gpd.GeoDataFrame, layers: dict[str, gpd.GeoDataFrame],
                slope: tuple[np.ndarray, rasterio.Affine]) -> list[set[str]]:
    """What each house touches, derived independently from the written layers."""
    h = houses.to_crs(WORK)
    tags: list[set[str]] = [set() for _ in range(len(h))]
    valid = ~(h.geometry.isna() | h.geometry.is_empty)
    hv = h[valid]
    idx = np.flatnonzero(valid.to_numpy())

    def mark(tag: str, hit: np.ndarray) -> None:
        for i in idx[np.asarray(hit, dtype=bool)]:
            tags[i].add(tag)

    for tag, kind in ZONE_TAGS.items():
        mark(tag, hv.intersects(layers[kind].union_all()))
    lu = layers["landuse"]
    mark("farmland", hv.intersects(lu[lu.code.str.startswith("01")].union_all()))
    wz = layers["water_source_zone"]
    mark("water_source_l1", hv.intersects(wz[wz.level == "1"].union_all()))
    mark("water_source_l2", hv.intersects(wz[wz.level == "2"].union_all()))
    vb = layers["village_boundary"]
    relocate = layers["village"].name[layers["village"].layout_class == "搬迁撤并"]
    mark("relocate_merge_village", hv.intersects(vb[vb.village.isin(relocate)].union_all()))
    mark("outside_village_boundary", ~hv.intersects(vb.union_all()))
    settlements = shapely.union_all([vb.union_all(), layers["urban_boundary"].union_all()])
    mark("scattered", hv.distance(settlements) > 1000)
    mark("near_gully", hv.distance(layers["gully"].union_all()) <= 10)
    mark("near_fault", hv.distance(layers["active_fault"].union_all()) < 100)
    pl = layers["power_line"]
    for kv, corridor in ((10.0, 5.0), (35.0, 10.0), (110.0, 10.0)):
        mark(f"power_corridor_{int(kv)}kv", hv.distance(pl[pl.voltage_kv == kv].union_all()) < corridor)
    # highway building-control zone from the road land's edge: county 10 m, township 5 m
    rd = layers["road"]
    for cls, zone in (("县道", 10.0), ("乡道", 5.0)):
        r = rd[rd["class"] == cls]
        edge = np.array([(r.distance(g) - r.width_m / 2).min() for g in hv.geometry])
        mark("near_highway", edge < zone)
    mark("old_tree", hv.intersects(layers["old_tree"].union_all()))
    grid, transform = slope
    smax = np.array([_max_slope(g, grid, transform) for g in hv.geometry])
    mark("steep_slope", smax > 25)
    mark("moderate_slope", (smax >= 15) & (smax <= 25))
    for i in np.flatnonzero(~valid.to_numpy()):
        tags[i].add("empty_geometry")
    return tags


def test_houses_hit_exactly_what_the_batch_says(houses: gpd.GeoDataFrame,
                                                layers: dict[str, gpd.GeoDataFrame],
                                                slope: tuple[np.ndarray, rasterio.Affine]) -> None:
    derived = _house_tags(houses, layers, slope)
    wrong = []
    for row, got in zip(houses.itertuples(), derived, strict=True):
        expected = set(filter(None, row.expected_hits.split(";")))
        if got != expected or (row.scenario != "clean" and row.scenario not in got):
            wrong.append((row.house_id, row.scenario, sorted(expected), sorted(got)))
    assert not wrong, wrong[:10]


def test_clean_houses_violate_nothing(houses: gpd.GeoDataFrame,
                                      layers: dict[str, gpd.GeoDataFrame],
                                      slope: tuple[np.ndarray, rasterio.Affine]) -> None:
    clean = houses[houses.scenario == "clean"].to_crs(WORK)
    assert (clean.expected_hits == "").all()
    vb = layers["village_boundary"].set_index("village")
    vp = layers["village"].set_index("name")
    for row in clean.itertuples():
        assert row.geometry.within(vb.geometry[row.village]), row.house_id
        assert row.geometry.distance(vp.geometry[row.village]) <= 300, row.house_id
    grid, transform = slope
    assert max(_max_slope(g, grid, transform) for g in clean.geometry) < 15


def test_flood_zone_houses_intersect_the_flood_zone(houses: gpd.GeoDataFrame,
                                                    layers: dict[str, gpd.GeoDataFrame]) -> None:
    flood = houses[houses.scenario == "flood_zone"].to_crs(WORK)
    assert len(flood) >= 4
    assert flood.intersects(layers["flood_zone"].union_all()).all()


@pytest.mark.parametrize(("scenario", "kv", "lo", "hi"), [
    ("power_corridor_10kv", 10.0, 0.0, 5.0),
    ("power_corridor_35kv", 35.0, 0.0, 10.0),
    ("power_corridor_110kv", 110.0, 0.0, 10.0),
])
def test_power_corridor_distances(houses: gpd.GeoDataFrame, layers: dict[str, gpd.GeoDataFrame],
                                  scenario: str, kv: float, lo: float, hi: float) -> None:
    pl = layers["power_line"]
    d = houses[houses.scenario == scenario].to_crs(WORK).distance(pl[pl.voltage_kv == kv].union_all())
    assert d.between(lo, hi, inclusive="neither").all()


def test_gully_and_fault_distances(houses: gpd.GeoDataFrame,
                                   layers: dict[str, gpd.GeoDataFrame]) -> None:
    h = houses.to_crs(WORK)
    gully = h[h.scenario == "near_gully"].distance(layers["gully"].union_all())
    assert gully.between(0, 10).all()
    fault = h[h.scenario == "near_fault"].distance(layers["active_fault"].union_all())
    assert fault.between(20, 90).all()


# ---- proposed roads ------------------------------------------------------------------------------


def test_road_batch(roads: gpd.GeoDataFrame, layers: dict[str, gpd.GeoDataFrame]) -> None:
    assert roads.crs.to_epsg() == 4490
    assert 25 <= len(roads) <= 35
    assert (roads.geom_type == "LineString").all()
    assert roads.road_id.iloc[0] == "R01"
    assert roads.width_m.isna().sum() == 2
    assert (roads.width_m < 4.0).sum() == 2
    assert set(roads.status) == {"proposed", "rebuilt"}
    for scn in ("clean", "forest_land", "farmland", "farmland_redline", "water_source_l1",
                "geohazard", "narrow", "no_width"):
        assert (roads.scenario == scn).sum() >= 2, scn
    # independent footprint overlaps (centreline buffered by half the width, flat ends)
    r = roads.to_crs(WORK)
    fp = r.buffer(r.width_m.fillna(4.0) / 2.0, cap_style="flat")
    lu = layers["landuse"]
    forest = lu[lu.code.isin(["0301", "0302", "0305", "0307"])].union_all()
    farm = lu[lu.code.str.startswith("01")].union_all()
    l1 = layers["water_source_zone"][layers["water_source_zone"].level == "1"].union_all()
    checks = {"forest_land": forest, "farmland": farm, "water_source_l1": l1,
              "farmland_redline": layers["farmland_redline"].union_all(),
              "geohazard": layers["geohazard_zone"].union_all()}
    for tag, zone in checks.items():
        area = fp.intersection(zone).area
        expected = r.expected_hits.str.split(";").apply(lambda hs, t=tag: t in hs)
        assert ((area > 1.0) == expected).all(), tag
    assert (r.expected_hits[r.scenario == "clean"] == "").all()


# ---- target directory handling ----------------------------------------------------------------------


def test_refuses_non_empty_directory(tmp_path: pathlib.Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(DataFileError, match="not empty") as exc:
        build_sample_workspace(tmp_path)
    assert str(tmp_path) in str(exc.value)
    assert "overwrite" in str(exc.value)
    # overwrite only replaces a previous sample workspace, never a foreign directory
    with pytest.raises(DataFileError, match="refusing to overwrite"):
        build_sample_workspace(tmp_path, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_refuses_a_file(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "layers"
    target.write_text("x")
    with pytest.raises(DataFileError, match="is a file"):
        build_sample_workspace(target)


def test_failed_build_leaves_nothing(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = object()

    def broken_write(w: object, out: pathlib.Path) -> None:
        (out / "village.gpkg").write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(yining_build, "generate", lambda seed: world)
    monkeypatch.setattr(yining_build, "write_workspace", broken_write)
    with pytest.raises(RuntimeError, match="disk full"):
        build_sample_workspace(tmp_path / "layers")
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_previous_sample(tmp_path: pathlib.Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_write(w: object, out: pathlib.Path) -> None:
        (out / "geoplan.toml").write_text(WORKSPACE_TOML, encoding="utf-8")

    monkeypatch.setattr(yining_build, "generate", lambda seed: object())
    monkeypatch.setattr(yining_build, "write_workspace", fake_write)
    target = tmp_path / "layers"
    build_sample_workspace(target)
    (target / "stale.gpkg").write_bytes(b"old")
    build_sample_workspace(target, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == ["geoplan.toml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["layers"]
