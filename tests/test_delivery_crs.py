"""CRS realities of county deliveries (issue 11, item 4).

* A layer without ``.prj`` gets a CRS proposed from the magnitude of its
  coordinates — a Gauss-Kruger zone from a zone-number prefix, the central
  meridian from the other layers when there is none — in the refusal message and
  in ``geoplan init``.
* Beijing 1954 / Xian 1980 data is refused unless the way to CGCS2000 is explicit
  (``towgs84``) or the planner accepts PROJ's ballpark conversion at a stated
  accuracy (``datum_shift_accuracy_m``); the same for sites.

Expected values are worked out here independently: projected coordinates with
PROJ strings written out in the test (transverse Mercator parameters, a Helmert
pipeline), areas with shapely on polygons built in the test.
"""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from conftest import X0, Y0, gk
from shapely import LineString, Polygon, box

import geoplan
from geoplan.config import load_config
from geoplan.crs import (
    check_datum,
    legacy_datum,
    propose_crs,
    resolve_crs,
    with_towgs84,
)
from geoplan.draft import draft_config
from geoplan.errors import ConfigError, CRSError
from geoplan.result import _layer_provenance

# EPSG:15921 "Beijing 1954 to WGS 84 (4)" (Tarim basin, the nearest published set to
# Yining) and EPSG:15920-style 7 parameters ("(2)", Yellow Sea), used only as numbers.
TARIM = [15.8, -154.4, -82.3]
SEVEN = [15.53, -113.82, -41.38, 0.0, 0.0, 0.814, -0.38]


def _tm(lon_0: float, x_0: float, ellps: str = "GRS80") -> pyproj.CRS:
    return pyproj.CRS.from_proj4(f"+proj=tmerc +lat_0=0 +lon_0={lon_0} +k=1 +x_0={x_0} "
                                 f"+y_0=0 +ellps={ellps} +units=m +no_defs +type=crs")


def _tm_params(crs: pyproj.CRS) -> tuple[float, float]:
    params = {p.name: p.value for p in crs.coordinate_operation.params}
    return params["Longitude of natural origin"], params["False easting"]


def _ws(tmp_path: Path, name: str = "w") -> Path:
    d = tmp_path / name
    d.mkdir()
    return d


def _no_prj(gdf: gpd.GeoDataFrame, path: Path) -> Path:
    gdf.to_file(path)
    path.with_suffix(".prj").unlink()
    return path


# ===================================================================== proposal rules


@pytest.mark.parametrize("zone", range(25, 46))
def test_zone_prefix_names_the_3_degree_zone(zone: int) -> None:
    # A point 0.4° east of the zone's CM, projected with the zone written out by hand.
    cm = 3 * zone
    x, y = pyproj.Transformer.from_crs(4490, _tm(cm, zone * 1e6 + 5e5), always_xy=True).transform(
        cm + 0.4, 40.0)
    prop = propose_crs((x - 50, y - 50, x + 50, y + 50))
    assert prop.epsg is not None
    crs = pyproj.CRS.from_epsg(prop.epsg)
    assert crs.datum.name == "China 2000"
    assert _tm_params(crs) == (cm, zone * 1e6 + 5e5)
    assert f"zone number {zone}" in prop.reason


@pytest.mark.parametrize("zone", range(13, 24))
def test_zone_prefix_names_the_6_degree_zone(zone: int) -> None:
    cm = 6 * zone - 3
    x, y = pyproj.Transformer.from_crs(4490, _tm(cm, zone * 1e6 + 5e5), always_xy=True).transform(
        cm - 2.2, 40.0)
    prop = propose_crs((x - 50, y - 50, x + 50, y + 50))
    assert prop.epsg is not None
    crs = pyproj.CRS.from_epsg(prop.epsg)
    assert crs.datum.name == "China 2000"
    assert _tm_params(crs) == (cm, zone * 1e6 + 5e5)
    assert "6° Gauss-Kruger" in prop.reason


def test_yining_with_and_without_prefix() -> None:
    # Yining (81.3°E, 43.9°N): 27 5xx xxx is zone 27 (EPSG:4515); 5xx xxx needs the longitude.
    assert propose_crs((27_523_000, 4_864_000, 27_525_000, 4_866_000)).epsg == 4515
    bare = (523_000, 4_864_000, 525_000, 4_866_000)
    alone = propose_crs(bare)
    assert alone.epsg is None
    assert alone.candidates == tuple(range(4534, 4555))
    assert "EPSG:4534–4554" in alone.reason
    assert "ask the data provider" in alone.reason
    known = propose_crs(bare, known_lon=81.25, known_from="DLTB.shp")
    assert known.epsg == 4536
    assert "DLTB.shp lie at 81.25°E" in known.reason
    assert _tm_params(pyproj.CRS.from_epsg(4536)) == (81.0, 500_000.0)


def test_zone_without_prefix_is_the_one_that_puts_the_data_next_to_the_evidence() -> None:
    # The data lies at 82.4°E in the CM 81°E zone; the other layers' centre is 82.6°E,
    # whose own zone is CM 84°E. Picking the evidence's zone would put the data at
    # 85.4°E; the proposal is the zone in which the data lands next to the evidence.
    x, y = pyproj.Transformer.from_crs(4490, _tm(81, 500_000), always_xy=True).transform(82.4, 43.9)
    prop = propose_crs((x - 10, y - 10, x + 10, y + 10), known_lon=82.6)
    assert prop.epsg == 4536
    assert geoplan.crs.gk3_epsg_for_lon(82.6) == 4537  # the naive choice, which would be wrong
    # …and evidence half-way between two zones (80.9°E: 79.4°E or 82.4°E) is said, not forced.
    far = propose_crs((x - 10, y - 10, x + 10, y + 10), known_lon=80.9)
    assert far.epsg is None
    assert "fits no zone" in far.reason


def test_degrees_northing_sanity_and_swapped_survey_order() -> None:
    assert propose_crs((81.2, 43.8, 81.4, 44.0)).epsg == 4490
    assert "outside China" in propose_crs((10.0, 20.0, 60.0, 40.0)).reason  # a small local grid?
    assert "swapped" in propose_crs((43.8, 81.2, 44.0, 81.4)).reason
    off = propose_crs((523_000, 9_100_000, 525_000, 9_102_000))
    assert off.epsg is None
    assert "not a Gauss-Kruger northing in China" in off.reason
    swapped = propose_crs((4_864_000, 27_523_000, 4_866_000, 27_525_000))
    assert swapped.epsg is None
    assert "swap x and y" in swapped.reason
    local = propose_crs((3_200_000, 4_864_000, 3_201_000, 4_866_000))
    assert local.epsg is None
    assert "local or arbitrary grid" in local.reason
    assert propose_crs((np.nan,) * 4).epsg is None


# ===================================================================== refusal message


def test_refusal_proposes_the_prefixed_zone(tmp_path: Path) -> None:
    d = _ws(tmp_path)
    _no_prj(gk([box(X0, Y0, X0 + 100, Y0 + 100)]).to_crs(4515), d / "flood_zone.shp")
    with pytest.raises(CRSError) as err:
        geoplan.open_workspace(d)
    msg = str(err.value)
    assert "flood_zone.shp" in msg
    assert ".prj file missing" in msg
    assert '[layers.flood_zone] crs = "EPSG:4515"' in msg
    assert "zone number 27" in msg
    assert "建议坐标系 EPSG:4515" in msg
    assert "Beijing 1954" in msg  # the numbers never tell the datum: confirm it


def test_refusal_uses_the_longitude_of_the_other_layers(tmp_path: Path) -> None:
    d = _ws(tmp_path)
    _no_prj(gk([box(X0, Y0, X0 + 100, Y0 + 100)]), d / "flood_zone.shp")
    gk([LineString([(X0, Y0 - 500), (X0 + 900, Y0 - 500)])], voltage_kv=[10.0]).to_crs(
        4490).to_file(d / "power_line.gpkg")
    with pytest.raises(CRSError) as err:
        geoplan.open_workspace(d)
    msg = str(err.value)
    assert '[layers.flood_zone] crs = "EPSG:4536"' in msg
    assert "the layers that declare a CRS (power_line)" in msg


def test_refusal_uses_the_working_crs_of_geoplan_toml(tmp_path: Path) -> None:
    d = _ws(tmp_path)
    # CM 87°E (Urumqi): only the declared working CRS says which zone it is.
    x, y = pyproj.Transformer.from_crs(4490, _tm(87, 500_000), always_xy=True).transform(87.6, 43.8)
    _no_prj(gk([box(x, y, x + 100, y + 100)]), d / "flood_zone.shp")
    (d / "geoplan.toml").write_text('[workspace]\ncrs = "EPSG:4538"\n', encoding="utf-8")
    with pytest.raises(CRSError) as err:
        geoplan.open_workspace(d)
    msg = str(err.value)
    assert '[layers.flood_zone] crs = "EPSG:4538"' in msg
    assert "the working CRS EPSG:4538 (central meridian 87°E)" in msg


def test_refusal_without_evidence_lists_candidates_never_degrees(tmp_path: Path) -> None:
    d = _ws(tmp_path)
    _no_prj(gk([box(X0, Y0, X0 + 100, Y0 + 100)]), d / "flood_zone.shp")
    with pytest.raises(CRSError) as err:
        geoplan.open_workspace(d)
    msg = str(err.value)
    assert '(one of EPSG:4534–4554)' in msg
    assert 'crs = "EPSG:4490"' not in msg


def test_degrees_without_prj_propose_4490(tmp_path: Path) -> None:
    d = _ws(tmp_path)
    _no_prj(gk([box(X0, Y0, X0 + 100, Y0 + 100)]).to_crs(4490), d / "flood_zone.shp")
    with pytest.raises(CRSError, match=r'crs = "EPSG:4490"\. 建议坐标系 EPSG:4490'):
        geoplan.open_workspace(d)


def test_proposed_crs_once_declared_gives_the_right_areas(tmp_path: Path) -> None:
    d = _ws(tmp_path)
    square = box(X0, Y0, X0 + 120, Y0 + 80)  # 9 600 m² in EPSG:4536
    _no_prj(gk([square]).to_crs(4515), d / "flood_zone.shp")
    (d / "geoplan.toml").write_text('[layers.flood_zone]\ncrs = "EPSG:4515"\n', encoding="utf-8")
    ws = geoplan.open_workspace(d)
    assert ws.crs.to_epsg() == 4536
    assert ws["flood_zone"].gdf.area.sum() == pytest.approx(square.area, rel=1e-9)
    assert ws["flood_zone"].gdf.total_bounds == pytest.approx(square.bounds, abs=1e-6)


# ===================================================================== geoplan init


def test_init_writes_the_proposed_zone_as_an_active_line(tmp_path: Path) -> None:
    d = _ws(tmp_path, "delivery")
    _no_prj(gk([box(X0, Y0, X0 + 100, Y0 + 100)], level=["1"]).to_crs(4515),
            d / "洪水淹没区.shp")
    text = draft_config(d).text
    assert 'crs = "EPSG:4515"   # PROPOSED from the coordinates' in text
    assert "CONFIRM" in text
    assert "zone number 27" in text
    assert 'crs = "EPSG:4490"' not in text  # the old draft's guess
    (d / "geoplan.toml").write_text(text, encoding="utf-8")
    ws = geoplan.open_workspace(d)
    assert ws["flood_zone"].gdf.total_bounds == pytest.approx([X0, Y0, X0 + 100, Y0 + 100],
                                                               abs=1e-6)


def test_init_uses_the_other_files_for_a_zone_without_prefix(tmp_path: Path) -> None:
    d = _ws(tmp_path, "delivery")
    _no_prj(gk([box(X0, Y0, X0 + 100, Y0 + 100)], level=["1"]), d / "洪水淹没区.shp")
    gk([box(X0, Y0, X0 + 50, Y0 + 50)], BSM=[1]).to_crs(4490).to_file(d / "永久基本农田.gpkg")
    text = draft_config(d).text
    assert 'crs = "EPSG:4536"   # PROPOSED from the coordinates' in text
    assert "永久基本农田.gpkg" in text.split("evidence:")[1]


def test_init_without_evidence_leaves_the_crs_to_the_planner(tmp_path: Path) -> None:
    d = _ws(tmp_path, "delivery")
    _no_prj(gk([box(X0, Y0, X0 + 100, Y0 + 100)], level=["1"]), d / "洪水淹没区.shp")
    text = draft_config(d).text
    assert '# crs = "EPSG:…" (one of EPSG:4534–4554)' in text
    assert "\ncrs = " not in text
    (d / "geoplan.toml").write_text(text, encoding="utf-8")
    with pytest.raises(CRSError, match="has no coordinate reference system"):
        geoplan.open_workspace(d)


def test_init_notes_a_beijing_1954_file(tmp_path: Path) -> None:
    d = _ws(tmp_path, "delivery")
    gpd.GeoDataFrame({"level": ["1"]}, geometry=[box(X0, Y0, X0 + 100, Y0 + 100)],
                     crs=2424).to_file(d / "洪水淹没区.shp")
    text = draft_config(d).text
    assert "Beijing 1954 datum" in text
    assert "# towgs84 = [dx, dy, dz]" in text
    assert "# datum_shift_accuracy_m = 100" in text


# ===================================================================== Beijing 1954 / Xian 1980


def _b54_square() -> Polygon:
    return box(X0, Y0, X0 + 100, Y0 + 100)  # in EPSG:2424 (Beijing 1954 / 3° GK CM 81°E)


def _b54_workspace(tmp_path: Path, toml: str | None = None) -> Path:
    d = _ws(tmp_path)
    gpd.GeoDataFrame({"level": ["1"]}, geometry=[_b54_square()], crs=2424).to_file(
        d / "flood_zone.shp")
    if toml is not None:
        (d / "geoplan.toml").write_text(toml, encoding="utf-8")
    return d


def _helmert_to_4536(params: list[float]) -> pyproj.Transformer:
    """Beijing 1954 GK CM 81°E → CGCS2000 GK CM 81°E, the Helmert written out by hand."""
    names = ["x", "y", "z", "rx", "ry", "rz", "s"]
    helmert = " ".join(f"+{n}={v}" for n, v in zip(names, params, strict=False))
    if len(params) == 7:
        helmert += " +convention=position_vector"
    return pyproj.Transformer.from_pipeline(
        "+proj=pipeline "
        "+step +inv +proj=tmerc +lat_0=0 +lon_0=81 +k=1 +x_0=500000 +y_0=0 +ellps=krass "
        "+step +proj=push +v_3 +step +proj=cart +ellps=krass "
        f"+step +proj=helmert {helmert} "
        "+step +inv +proj=cart +ellps=GRS80 +step +proj=pop +v_3 "
        "+step +proj=tmerc +lat_0=0 +lon_0=81 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80")


def _moved(poly: Polygon, tr: pyproj.Transformer) -> Polygon:
    xs, ys = tr.transform(*np.asarray(poly.exterior.coords).T)
    return Polygon(zip(xs, ys, strict=True))


def test_proj_default_for_beijing_1954_is_a_silent_ballpark_and_is_refused(tmp_path: Path) -> None:
    # What PROJ does by default at Yining (81.3°E, 43.9°N): a "ballpark" conversion that
    # keeps latitude and longitude (no datum shift) and only changes the ellipsoid under
    # the projection, which moves the Gauss-Kruger numbers by about 86 m.
    lon, lat = 81.3, 43.9
    b54 = pyproj.Transformer.from_crs(4214, 2424, always_xy=True).transform(lon, lat)
    default = pyproj.Transformer.from_crs(2424, 4536, always_xy=True)
    assert "Ballpark" in default.description
    x, y = default.transform(*b54)
    moved = math.hypot(x - b54[0], y - b54[1])
    assert 85.5 < moved < 86.1  # measured: 85.81 m
    same_latlon = pyproj.Transformer.from_crs(4490, 4536, always_xy=True).transform(lon, lat)
    assert math.hypot(x - same_latlon[0], y - same_latlon[1]) < 1e-6  # datum shift: none
    # A published parameter set (EPSG:15921, Tarim basin) puts the point ~61 m elsewhere.
    tx, ty = _helmert_to_4536(TARIM).transform(*b54)
    assert 55 < math.hypot(tx - x, ty - y) < 70

    d = _b54_workspace(tmp_path)
    with pytest.raises(CRSError) as err:
        geoplan.open_workspace(d)
    msg = str(err.value)
    assert "flood_zone.shp" in msg
    assert "Beijing 1954 datum" in msg
    assert "北京54" in msg
    assert "[layers.flood_zone] towgs84 = [dx, dy, dz]" in msg
    assert "[layers.flood_zone] datum_shift_accuracy_m = 100" in msg
    assert "EPSG:4536 is the same projection on CGCS2000" in msg


@pytest.mark.parametrize("params", [TARIM, SEVEN], ids=["3 parameters", "7 parameters"])
def test_towgs84_is_applied_exactly(tmp_path: Path, params: list[float]) -> None:
    d = _b54_workspace(tmp_path, f"[layers.flood_zone]\ntowgs84 = {params}\n")
    ws = geoplan.open_workspace(d)
    layer = ws["flood_zone"]
    assert ws.crs.to_epsg() == 4536
    expected = _moved(_b54_square(), _helmert_to_4536(params))
    got = layer.gdf.geometry.iloc[0]
    assert shapely.hausdorff_distance(got, expected) < 1e-3
    assert got.area == pytest.approx(expected.area, rel=1e-9)
    ballpark = _moved(_b54_square(), pyproj.Transformer.from_crs(2424, 4536, always_xy=True))
    assert shapely.hausdorff_distance(got, ballpark) > 40  # the parameters did something
    assert layer.source_crs.to_epsg() == 2424
    assert layer.datum_shift is not None
    assert "towgs84" in layer.datum_shift
    assert any("declared towgs84" in n for n in layer.notes)
    prov = {r["kind"]: r for r in _layer_provenance(ws)}
    assert "towgs84" in prov["flood_zone"]["datum_shift"]


def test_towgs84_in_the_crs_string(tmp_path: Path) -> None:
    crs = "EPSG:2424 +towgs84=" + ",".join(map(str, TARIM))
    d = _b54_workspace(tmp_path, f'[layers.flood_zone]\ncrs = "{crs}"\n')
    got = geoplan.open_workspace(d)["flood_zone"].gdf.geometry.iloc[0]
    expected = _moved(_b54_square(), _helmert_to_4536(TARIM))
    assert shapely.hausdorff_distance(got, expected) < 1e-3
    assert resolve_crs(crs).is_bound


def test_stated_accuracy_accepts_proj_default_and_says_so(tmp_path: Path) -> None:
    d = _b54_workspace(tmp_path, "[layers.flood_zone]\ndatum_shift_accuracy_m = 100\n")
    ws = geoplan.open_workspace(d)
    layer = ws["flood_zone"]
    got = layer.gdf.geometry.iloc[0]
    ballpark = _moved(_b54_square(), pyproj.Transformer.from_crs(2424, 4536, always_xy=True))
    assert shapely.hausdorff_distance(got, ballpark) < 1e-3
    note = layer.datum_shift
    assert note is not None
    assert note.startswith("WARNING")
    assert "stated accuracy of 100 m" in note
    assert "Ballpark" in note
    assert note in layer.notes
    assert {r["kind"]: r for r in _layer_provenance(ws)}["flood_zone"]["datum_shift"] == note


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_detected_by_datum_not_by_code(tmp_path: Path) -> None:
    # No EPSG code anywhere: a PROJ string on the Krassowsky ellipsoid, and Xian 1980 lon/lat.
    d = _ws(tmp_path)
    gpd.GeoDataFrame({"level": ["1"]}, geometry=[_b54_square()]).to_file(d / "flood_zone.shp")
    (d / "flood_zone.prj").unlink(missing_ok=True)
    (d / "geoplan.toml").write_text(
        '[layers.flood_zone]\ncrs = "+proj=tmerc +lat_0=0 +lon_0=81 +k=1 +x_0=500000 +y_0=0 '
        '+ellps=krass +units=m +no_defs"\n', encoding="utf-8")
    with pytest.raises(CRSError, match="Krassowsky 1940 ellipsoid"):
        geoplan.open_workspace(d)
    assert legacy_datum(4610) == "Xian 1980"
    assert legacy_datum(2372) == "Xian 1980"
    assert legacy_datum(4555) == "New Beijing"
    assert legacy_datum(21414) == "Beijing 1954"
    assert legacy_datum(4490) is None
    assert legacy_datum(4536) is None


def test_xian_1980_lonlat_layer_refused(tmp_path: Path) -> None:
    d = _ws(tmp_path)
    gpd.GeoDataFrame({"level": ["1"]}, geometry=[box(81.30, 43.90, 81.31, 43.91)],
                     crs=4610).to_file(d / "flood_zone.gpkg")
    with pytest.raises(CRSError, match=r"Xian 1980 datum \(西安80\)"):
        geoplan.open_workspace(d)


def test_beijing_1954_working_crs_refused(tmp_path: Path) -> None:
    d = _ws(tmp_path)
    gk([box(X0, Y0, X0 + 100, Y0 + 100)]).to_file(d / "flood_zone.gpkg")
    with pytest.raises(CRSError, match="use EPSG:4536, the same projection on CGCS2000"):
        geoplan.open_workspace(d, crs=2424)


def test_beijing_1954_dem_refused_unless_accuracy_stated(tmp_path: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin

    d = _ws(tmp_path)
    with rasterio.open(d / "dem.tif", "w", driver="GTiff", width=4, height=4, count=1,
                       dtype="float32", crs="EPSG:2424",
                       transform=from_origin(X0, Y0 + 120, 30, 30)) as dst:
        dst.write(np.ones((1, 4, 4), dtype="float32"))
    with pytest.raises(CRSError, match="Beijing 1954"):
        geoplan.open_workspace(d)
    (d / "geoplan.toml").write_text("[layers.dem]\ntowgs84 = [1, 2, 3]\n", encoding="utf-8")
    with pytest.raises(CRSError, match="not applied to rasters"):
        geoplan.open_workspace(d)
    (d / "geoplan.toml").write_text("[layers.dem]\ndatum_shift_accuracy_m = 50\n",
                                    encoding="utf-8")
    assert "stated accuracy of 50 m" in geoplan.open_workspace(d)["dem"].datum_shift


@pytest.mark.parametrize(("table", "fragment"), [
    ("towgs84 = [1, 2, 3, 4]", "towgs84 must be 3 numbers"),
    ('towgs84 = ["a", 2, 3]', "towgs84 must be 3 numbers"),
    ("datum_shift_accuracy_m = -5", "must be a positive number of metres"),
    ("datum_shift_accuracy_m = true", "must be a positive number of metres"),
    ("towgs84 = [1, 2, 3]\ndatum_shift_accuracy_m = 10", "keep one"),
])
def test_datum_keys_are_checked(tmp_path: Path, table: str, fragment: str) -> None:
    cfg = tmp_path / "geoplan.toml"
    cfg.write_text(f'[layers.flood_zone]\npath = "x.shp"\n{table}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=fragment):
        load_config(cfg)


def test_datum_keys_belong_to_the_base_layer(tmp_path: Path) -> None:
    cfg = tmp_path / "geoplan.toml"
    cfg.write_text('[layers.landuse]\npath = "DLTB.shp"\n[layers.forest_land]\nfrom = "landuse"\n'
                   'where = "code in forest"\ntowgs84 = [1, 2, 3]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"towgs84 belong in \[layers.landuse\]"):
        load_config(cfg)


def test_check_datum_and_with_towgs84() -> None:
    assert check_datum(4536, name="x") is None
    assert check_datum(4326, name="x") is None
    bound = with_towgs84(2424, SEVEN)
    assert bound.is_bound
    assert bound.source_crs.to_epsg() == 2424
    assert "towgs84 = [15.53, -113.82, -41.38, 0, 0, 0.814, -0.38]" in check_datum(bound, name="x")
    with pytest.raises(CRSError, match=r"must be 3 numbers \[dx, dy, dz\] \(metres\) or 7"):
        with_towgs84(2424, [1, 2])


# ----------------------------------------------------------------------------- sites


def test_sites_in_beijing_1954_refused_then_converted_with_towgs84(tmp_path: Path) -> None:
    csv = tmp_path / "sites.csv"
    csv.write_text(f"id,x,y\nA,{X0},{Y0}\n", encoding="utf-8")
    with pytest.raises(CRSError) as err:
        geoplan.read_sites(csv, crs="EPSG:2424")
    msg = str(err.value)
    assert "sites.csv" in msg
    assert "Beijing 1954" in msg
    assert '--crs "EPSG:2424 +towgs84=dx,dy,dz"' in msg
    crs = "EPSG:2424 +towgs84=" + ",".join(map(str, TARIM))
    g = geoplan.read_sites(csv, crs=crs)
    assert g.crs.to_epsg() == 4490
    ex, ey = _helmert_to_4536(TARIM).transform(X0, Y0)
    lon, lat = pyproj.Transformer.from_crs(4536, 4490, always_xy=True).transform(ex, ey)
    assert g.geometry.iloc[0].x == pytest.approx(lon, abs=1e-9)
    assert g.geometry.iloc[0].y == pytest.approx(lat, abs=1e-9)
    assert any("declared towgs84" in n for n in g.attrs["notes"])


def test_site_file_in_beijing_1954_takes_the_bound_crs(tmp_path: Path) -> None:
    f = tmp_path / "houses.gpkg"
    gpd.GeoDataFrame({"house_id": ["H"]}, geometry=[shapely.Point(X0, Y0)], crs=2424).to_file(f)
    with pytest.raises(CRSError, match="Beijing 1954"):
        geoplan.read_sites(f)
    g = geoplan.read_sites(f, crs="EPSG:2424 +towgs84=" + ",".join(map(str, TARIM)))
    ex, ey = _helmert_to_4536(TARIM).transform(X0, Y0)
    got = pyproj.Transformer.from_crs(4490, 4536, always_xy=True).transform(
        g.geometry.iloc[0].x, g.geometry.iloc[0].y)
    assert math.hypot(got[0] - ex, got[1] - ey) < 1e-3
