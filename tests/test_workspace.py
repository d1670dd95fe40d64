"""Workspace loading: containers, geoplan.toml, encodings, CRS policy, hygiene."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from conftest import X0, Y0, gk
from shapely import LineString, Point, Polygon, box

import geoplan
from geoplan import (
    ConfigError,
    CRSError,
    DataFileError,
    LayerSchemaError,
    WorkspaceError,
    open_workspace,
)

# ----------------------------------------------------------------- containers


def test_folder_workspace_mixed_formats(small_workspace: Path) -> None:
    ws = open_workspace(small_workspace)
    assert ws.crs.to_epsg() == 4536
    assert set(ws.kinds) == {"flood_zone", "power_line", "village"}
    # 1 km square written in EPSG:4490, read back in EPSG:4536: area 1e6 m² (±0.01 %),
    # by construction of the fixture, not by geoplan's computation.
    assert ws["flood_zone"].gdf.area.sum() == pytest.approx(1_000_000, rel=1e-4)
    assert ws["flood_zone"].source_crs.to_epsg() == 4490
    assert ws["power_line"].gdf["voltage_kv"].tolist() == [10.0, 110.0]
    # FlatGeobuf stores features in spatial-index order, so compare as a set.
    assert sorted(ws["village"].gdf["name"]) == sorted(["巴彦岱村", "潘津村"])
    assert ws["village"].gdf["population"].dtype.kind in "if"
    assert "fid" in ws["flood_zone"].gdf.columns


@pytest.mark.parametrize("ext", ["gpkg", "shp", "geojson", "fgb", "parquet"])
def test_each_container_format(tmp_path: Path, flood_square, ext: str) -> None:
    ws_dir = tmp_path / "ws"
    ws_dir.mkdir()
    target = ws_dir / f"flood_zone.{ext}"
    if ext == "parquet":
        flood_square.to_parquet(target)
    else:
        flood_square.to_file(target)
    ws = open_workspace(ws_dir)
    layer = ws["flood_zone"]
    assert len(layer) == 1
    assert layer.gdf.area.iloc[0] == pytest.approx(1_000_000, rel=1e-9)
    assert layer.gdf["name"].iloc[0] == "伊犁河洪水区"


def test_geopackage_workspace(tmp_path: Path, flood_square, power_lines) -> None:
    gpkg = tmp_path / "county.gpkg"
    flood_square.to_file(gpkg, layer="flood_zone")
    power_lines.to_file(gpkg, layer="power_line")
    power_lines.to_file(gpkg, layer="something_else")
    ws = open_workspace(gpkg)
    assert ws.kinds == ["flood_zone", "power_line"]
    assert "county.gpkg:something_else" in ws.unplaced


def test_dem_raster_layer(tmp_path: Path, flood_square) -> None:
    import rasterio
    from rasterio.transform import from_origin

    ws_dir = tmp_path / "ws"
    ws_dir.mkdir()
    flood_square.to_file(ws_dir / "flood_zone.gpkg")
    data = np.arange(100, dtype="float32").reshape(10, 10)
    with rasterio.open(ws_dir / "dem.tif", "w", driver="GTiff", width=10, height=10, count=1,
                       dtype="float32", crs="EPSG:4536", nodata=-9999,
                       transform=from_origin(X0, Y0 + 300, 30, 30)) as dst:
        dst.write(data, 1)
    ws = open_workspace(ws_dir)
    dem = ws.raster("dem")
    assert dem is not None
    assert dem.shape == (10, 10)
    assert dem.res == (30.0, 30.0)
    assert dem.nodata == -9999
    assert dem.bounds == pytest.approx((X0, Y0, X0 + 300, Y0 + 300))


def test_duplicate_sources_refused(tmp_path: Path, flood_square) -> None:
    ws_dir = tmp_path / "ws"
    ws_dir.mkdir()
    flood_square.to_file(ws_dir / "flood_zone.gpkg")
    flood_square.to_file(ws_dir / "flood_zone.geojson")
    with pytest.raises(WorkspaceError, match=r"more than one source.*flood_zone"):
        open_workspace(ws_dir)


def test_unknown_files_listed_not_loaded(small_workspace: Path, flood_square) -> None:
    flood_square.to_file(small_workspace / "洪水淹没区.shp")
    ws = open_workspace(small_workspace)
    assert "洪水淹没区.shp" in ws.unplaced
    assert len(ws["flood_zone"]) == 1


# ----------------------------------------------------------------- geoplan.toml


def _landuse(tmp: Path) -> gpd.GeoDataFrame:
    """Four 100 m parcels: farmland, forest (two codes), homestead; 三调 field names."""
    cells = [box(X0 + i * 100, Y0, X0 + (i + 1) * 100, Y0 + 100) for i in range(4)]
    return gk(cells, DLBM=["0101", "0301", "0305", "0702"],
              DLMC=["水田", "乔木林地", "灌木林地", "农村宅基地"], QSDWMC=["甲村", "甲村", "乙村", "乙村"])


def test_toml_rename_where_derived(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "三调").mkdir(parents=True)
    _landuse(tmp_path).to_crs(4490).to_file(data / "三调" / "DLTB.gpkg", layer="DLTB")
    (data / "geoplan.toml").write_text(
        """
[layers.landuse]
path = "三调/DLTB.gpkg"
layer = "DLTB"
fields = { code = "DLBM", name = "DLMC" }
scheme = "sandiao"
where = "QSDWMC != '不存在的村'"

[layers.forest_land]
from = "landuse"
where = "code in forest"

[layers.farmland]
from = "landuse"
where = "code in farmland"
""", encoding="utf-8")
    ws = open_workspace(data)
    lu = ws["landuse"]
    assert list(lu.gdf["code"]) == ["0101", "0301", "0305", "0702"]
    assert next(iter(lu.gdf["name"])) == "水田"
    assert lu.scheme == "sandiao"
    # Two forest parcels of 100 m × 100 m = 20 000 m², by construction.
    assert len(ws["forest_land"]) == 2
    assert ws["forest_land"].gdf.area.sum() == pytest.approx(20_000, rel=1e-4)
    assert ws["farmland"].gdf["code"].tolist() == ["0101"]
    assert ws["forest_land"].derived_from == "landuse"


def test_toml_where_filter_on_file_layer(tmp_path: Path) -> None:
    d = tmp_path / "w"
    d.mkdir()
    _landuse(tmp_path).to_file(d / "landuse.gpkg")
    (d / "geoplan.toml").write_text(
        '[layers.landuse]\nfields = { code = "DLBM" }\nscheme = "gbt21010-2017"\n'
        'where = "QSDWMC == \'乙村\'"\n', encoding="utf-8")
    ws = open_workspace(d)
    assert ws["landuse"].gdf["code"].tolist() == ["0305", "0702"]
    assert ws["landuse"].n_read == 4


def test_scheme_changes_meaning_of_code(tmp_path: Path) -> None:
    """0303 is forest in GB/T 21010-2017 (mangrove) but wetland in 三调."""
    d = tmp_path / "w"
    d.mkdir()
    gk([box(X0, Y0, X0 + 10, Y0 + 10)], code=["0303"]).to_file(d / "landuse.gpkg")
    for scheme, n in (("gbt21010-2017", 1), ("sandiao", 0), ("yongdi-2023", 1)):
        (d / "geoplan.toml").write_text(
            f'[layers.landuse]\nscheme = "{scheme}"\n'
            '[layers.forest_land]\nfrom = "landuse"\nwhere = "code in forest"\n',
            encoding="utf-8")
        assert len(open_workspace(d)["forest_land"]) == n, scheme


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ("[layers.flood_zonee]\npath = 'x.gpkg'\n", "did you mean 'flood_zone'"),
        ("[layers.flood_zone]\npath = 'x.gpkg'\npaht = 1\n", "unknown key 'paht'"),
        ("[layers.flood_zone]\npath = 'f.gpkg'\nwhere = 'level =='\n", "where"),
        ("[layers.forest_land]\nfrom = 'landuse'\n", "needs a where filter"),
        ("[layers.forest_land]\nfrom = 'landuse'\nwhere = 'code in forest'\n",
         "no 'landuse' layer"),
        ("[layers.flood_zone]\npath = 'f.gpkg'\nfields = { level = 'JB' }\n", "'JB'"),
        ("[layers\n", "not valid TOML"),
        ("[other]\nx = 1\n", "unknown table [other]"),
    ],
)
def test_toml_errors_name_the_problem(tmp_path: Path, flood_square, toml: str,
                                      fragment: str) -> None:
    d = tmp_path / "w"
    d.mkdir()
    flood_square.to_file(d / "f.gpkg")
    (d / "geoplan.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        open_workspace(d)
    assert fragment in str(err.value)


def test_landuse_class_filter_needs_scheme(tmp_path: Path) -> None:
    d = tmp_path / "w"
    d.mkdir()
    gk([box(X0, Y0, X0 + 10, Y0 + 10)], code=["0301"]).to_file(d / "landuse.gpkg")
    (d / "geoplan.toml").write_text(
        '[layers.forest_land]\nfrom = "landuse"\nwhere = "code in forest"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="declares no scheme"):
        open_workspace(d)


# ----------------------------------------------------------------- encodings


def _write_gbk_shapefile(path: Path) -> None:
    gdf = gk([box(X0, Y0, X0 + 50, Y0 + 50), box(X0 + 60, Y0, X0 + 90, Y0 + 50)],
             DLBM=["0101", "0301"], DLMC=["水田", "乔木林地"], QSDWMC=["巴彦岱镇红旗村", "潘津镇"])
    pyogrio.write_dataframe(gdf, path, encoding="GBK")
    cpg = path.with_suffix(".cpg")
    if cpg.exists():
        cpg.unlink()


def test_gbk_shapefile_without_cpg_is_read_correctly(tmp_path: Path) -> None:
    d = tmp_path / "w"
    d.mkdir()
    shp = d / "landuse.shp"
    _write_gbk_shapefile(shp)
    assert not shp.with_suffix(".cpg").exists()
    raw = shp.with_suffix(".dbf").read_bytes()
    assert "水田".encode("gbk") in raw  # the fixture really is GBK on disk
    # Without detection, GDAL would not produce the right text (the test can fail):
    naive = pyogrio.read_dataframe(shp)
    assert "水田" not in naive["DLMC"].tolist()
    (d / "geoplan.toml").write_text('[layers.landuse]\nfields = { code = "DLBM", name = "DLMC" }\n'
                                    'scheme = "sandiao"\n', encoding="utf-8")
    ws = open_workspace(d)
    assert ws["landuse"].gdf["name"].tolist() == ["水田", "乔木林地"]
    assert ws["landuse"].gdf["QSDWMC"].tolist() == ["巴彦岱镇红旗村", "潘津镇"]


def test_explicit_encoding_in_toml(tmp_path: Path) -> None:
    d = tmp_path / "w"
    d.mkdir()
    _write_gbk_shapefile(d / "DLTB.shp")
    (d / "geoplan.toml").write_text(
        '[layers.landuse]\npath = "DLTB.shp"\nencoding = "gbk"\nfields = { code = "DLBM" }\n',
        encoding="utf-8")
    ws = open_workspace(d)
    assert ws["landuse"].gdf["DLMC"].tolist() == ["水田", "乔木林地"]


def test_fiona_engine_reads_the_same(small_workspace: Path) -> None:
    pytest.importorskip("fiona")
    a = open_workspace(small_workspace)
    b = open_workspace(small_workspace, engine="fiona")
    assert b["village"].gdf["name"].tolist() == a["village"].gdf["name"].tolist()
    assert b["flood_zone"].gdf.area.sum() == pytest.approx(a["flood_zone"].gdf.area.sum())


# ----------------------------------------------------------------- CRS policy


def test_missing_crs_refused_with_fix(tmp_path: Path, flood_square) -> None:
    d = tmp_path / "w"
    d.mkdir()
    flood_square.to_file(d / "flood_zone.shp")
    (d / "flood_zone.prj").unlink()
    with pytest.raises(CRSError) as err:
        open_workspace(d)
    msg = str(err.value)
    assert "flood_zone" in msg
    assert "no coordinate reference system" in msg
    # Metres without a zone number and nothing else to go by: the zone is not proposed
    # (degrees, EPSG:4490, would be wrong advice); the candidates are listed.
    assert '[layers.flood_zone] crs = "EPSG:…" (one of EPSG:4534–4554)' in msg
    assert 'crs = "EPSG:4490"' not in msg


def test_declared_crs_used_when_file_has_none(tmp_path: Path, flood_square) -> None:
    d = tmp_path / "w"
    d.mkdir()
    flood_square.to_file(d / "flood_zone.shp")
    (d / "flood_zone.prj").unlink()
    (d / "geoplan.toml").write_text('[layers.flood_zone]\ncrs = "EPSG:4536"\n', encoding="utf-8")
    ws = open_workspace(d)
    assert ws["flood_zone"].crs_declared
    assert ws["flood_zone"].gdf.total_bounds == pytest.approx([X0, Y0, X0 + 1000, Y0 + 1000])


def test_swapped_lat_lon_detected(tmp_path: Path) -> None:
    d = tmp_path / "w"
    d.mkdir()
    # lat/lon written as x/y: (43.92, 81.30) instead of (81.30, 43.92).
    pts = gpd.GeoDataFrame({"name": ["甲村", "乙村"]},
                           geometry=[Point(43.92, 81.30), Point(43.95, 81.35)], crs=4490)
    pts.to_file(d / "village.gpkg")
    with pytest.raises(CRSError, match="swap"):
        open_workspace(d)


def test_working_crs_override_and_must_be_metric(small_workspace: Path) -> None:
    ws = open_workspace(small_workspace, crs="EPSG:4515")
    assert ws.crs.to_epsg() == 4515
    assert ws["flood_zone"].gdf.total_bounds[0] > 27_000_000
    with pytest.raises(CRSError):
        open_workspace(small_workspace, crs=4490)


def test_crs_from_toml(small_workspace: Path) -> None:
    (small_workspace / "geoplan.toml").write_text('[workspace]\ncrs = "EPSG:4515"\n',
                                                  encoding="utf-8")
    assert open_workspace(small_workspace).crs.to_epsg() == 4515


# ----------------------------------------------------------------- schema and hygiene


def test_wrong_geometry_family_refused(tmp_path: Path) -> None:
    d = tmp_path / "w"
    d.mkdir()
    gk([Point(X0, Y0)], level=["1"]).to_file(d / "flood_zone.gpkg")
    with pytest.raises(LayerSchemaError, match=r"flood_zone.*polygon.*1 point"):
        open_workspace(d)


def test_missing_required_field_names_field_and_fix(tmp_path: Path) -> None:
    d = tmp_path / "w"
    d.mkdir()
    gk([LineString([(X0, Y0), (X0 + 10, Y0)])], DYDJ=["10kV"]).to_file(d / "power_line.gpkg")
    with pytest.raises(LayerSchemaError) as err:
        open_workspace(d)
    msg = str(err.value)
    assert "'voltage_kv'" in msg
    assert "power_line" in msg
    assert 'fields = { voltage_kv = "DYDJ" }' in msg


def test_voltage_text_with_unit_is_read_as_number(tmp_path: Path) -> None:
    d = tmp_path / "w"
    d.mkdir()
    gk([LineString([(X0, Y0), (X0 + 10, Y0)])] * 3, DYDJ=["10kV", "110千伏", "不详"]).to_file(
        d / "power_line.gpkg")
    (d / "geoplan.toml").write_text('[layers.power_line]\nfields = { voltage_kv = "DYDJ" }\n',
                                    encoding="utf-8")
    layer = open_workspace(d)["power_line"]
    v = layer.gdf["voltage_kv"].tolist()
    assert v[:2] == [10.0, 110.0]
    assert np.isnan(v[2])
    assert any("not numbers" in n for n in layer.notes)


def test_invalid_and_empty_geometries_repaired_and_reported(tmp_path: Path) -> None:
    d = tmp_path / "w"
    d.mkdir()
    bowtie = Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)])
    sliver = Polygon([(X0, Y0), (X0 + 10, Y0), (X0 + 20, Y0)])  # zero area: collapses
    good = box(X0 + 200, Y0, X0 + 300, Y0 + 100)
    gdf = gk([bowtie, good, Polygon(), sliver], name=["bowtie", "good", "empty", "line"])
    gdf.to_file(d / "flood_zone.gpkg")
    layer = open_workspace(d)["flood_zone"]
    rep = layer.repairs
    assert rep.n_repaired == 1
    assert rep.repaired_ids == [1]
    assert rep.n_empty == 1
    assert rep.empty_ids == [3]
    assert rep.n_collapsed == 1
    assert rep.collapsed_ids == [4]
    assert len(layer) == 2
    # The bow-tie of a 100 m square splits into two triangles of 2 500 m² each.
    bow = layer.gdf.loc[layer.gdf["name"] == "bowtie"].geometry.iloc[0]
    assert bow.is_valid
    assert bow.area == pytest.approx(5_000, rel=1e-6)
    assert "fid 1" in rep.describe()


def test_z_coordinates_flattened(tmp_path: Path) -> None:
    d = tmp_path / "w"
    d.mkdir()
    gk([Polygon([(X0, Y0, 5), (X0 + 10, Y0, 5), (X0 + 10, Y0 + 10, 6), (X0, Y0, 5)])],
       level=["1"]).to_file(d / "flood_zone.gpkg")
    layer = open_workspace(d)["flood_zone"]
    assert layer.repairs.n_z_dropped == 1
    assert not layer.gdf.has_z.any()


def test_corrupt_file_is_a_data_file_error(tmp_path: Path) -> None:
    d = tmp_path / "w"
    d.mkdir()
    (d / "flood_zone.gpkg").write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    with pytest.raises(DataFileError, match=r"flood_zone\.gpkg"):
        open_workspace(d)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such folder"):
        open_workspace(tmp_path / "nope")


def test_missing_layer_key_error_names_fix(small_workspace: Path) -> None:
    ws = open_workspace(small_workspace)
    with pytest.raises(KeyError, match="no 'dem' layer"):
        ws["dem"]
    assert ws.get("dem") is None
    assert "dem" in ws.missing_kinds


def test_summary_and_html(small_workspace: Path) -> None:
    ws = open_workspace(small_workspace)
    s = ws.summary()
    assert list(s["kind"]) == ["village", "flood_zone", "power_line"]
    assert s.set_index("kind").loc["flood_zone", "features"] == 1
    html = ws._repr_html_()
    assert "<table" in html
    assert "洪水淹没区" in html


def test_public_api_is_flat() -> None:
    for name in geoplan.__all__:
        assert hasattr(geoplan, name), name


@pytest.mark.parametrize(("fids", "kept"), [([5, 7], True), ([5, 5], False)])
def test_a_field_called_fid(tmp_path: Path, fids: list[int], kept: bool) -> None:
    d = tmp_path / "w"
    d.mkdir()
    gk([box(X0, Y0, X0 + 1, Y0 + 1), box(X0 + 2, Y0, X0 + 3, Y0 + 1)], fid=fids).to_file(
        d / "flood_zone.shp")
    gdf = open_workspace(d)["flood_zone"].gdf
    if kept:
        assert sorted(gdf["fid"]) == [5, 7]
    else:
        assert sorted(gdf["fid"]) == [0, 1]
        assert sorted(gdf["fid_source"]) == [5, 5]


@pytest.mark.parametrize("order", ["big last", "big first", "invalid at the cut"])
def test_validity_on_two_threads_is_shapely_s_answer(monkeypatch, order):
    """A layer of many vertices is tested on two threads: the same answer, row for row."""
    import shapely

    from geoplan import hygiene

    monkeypatch.setattr(hygiene, "_THREADED_VERTICES", 50)
    rng = np.random.default_rng(3)
    t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    big = shapely.Polygon(np.c_[np.cos(t), np.sin(t)] * (1 + 0.01 * rng.random(400))[:, None])
    bowtie = shapely.from_wkt("POLYGON ((0 0, 2 2, 2 0, 0 2, 0 0))")
    small = [shapely.box(i, 0, i + 1, 1) for i in range(30)]
    geoms = {"big last": [*small, bowtie, big], "big first": [big, bowtie, *small],
             "invalid at the cut": [*small[:3], bowtie, big, bowtie, *small[3:]]}[order]
    arr = np.array(geoms, dtype=object)
    want = shapely.is_valid(arr)
    assert (~want).sum() >= 1
    assert hygiene.is_valid(arr).tolist() == want.tolist()
    clean, rep = hygiene.clean_geometries(gpd.GeoDataFrame(
        {"fid": np.arange(1, len(arr) + 1)}, geometry=list(arr)))
    assert rep.n_repaired == int((~want).sum())
    assert shapely.is_valid(clean.geometry.to_numpy()).all()
