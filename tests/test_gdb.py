"""ArcGIS File Geodatabases as delivered (issue 11, item 6).

The fixtures are written by GDAL's OpenFileGDB driver: a ``三调.gdb`` holding
``DLTB`` (land-use parcels with DLBM codes, Chinese DLMC and a Chinese field
name) in CGCS2000 lon/lat, a Chinese-named feature class ``永久基本农田`` in
Gauss-Kruger zone 27 (EPSG:4515), and an ``XZQ`` nobody maps. Expected areas
and counts come from the shapely polygons built here, in EPSG:4536.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import warnings
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from conftest import X0, Y0, gk
from shapely import box

import geoplan
from geoplan.errors import CRSError, DataFileError, WorkspaceError
from geoplan.io import is_filegdb, list_vector_layers, read_vector

# DLTB parcels in EPSG:4536 (CGCS2000 3° GK CM 81°E), areas by construction.
PARCELS = [
    ("0101", "水田", "巴彦岱村", box(X0, Y0, X0 + 100, Y0 + 100)),              # 10 000 m²
    ("0301", "乔木林地", "巴彦岱村", box(X0 + 100, Y0, X0 + 300, Y0 + 100)),     # 20 000 m²
    ("0301", "乔木林地", "潘津村", box(X0, Y0 + 100, X0 + 150, Y0 + 180)),      # 12 000 m²
    ("0702", "农村宅基地", "潘津村", box(X0 + 150, Y0 + 100, X0 + 300, Y0 + 130)),  # 4 500 m²
]
FARMLAND = box(X0 + 20, Y0 + 20, X0 + 80, Y0 + 70)  # 3 000 m²
# A File Geodatabase stores coordinates on an integer grid (for lon/lat typically
# 1e-9°, about 0.1 mm), so a 100 m parcel written in EPSG:4490 comes back with its
# vertices moved by up to ~0.05 mm: its area by up to ~0.02 m² (measured: 0.005 m² on
# 4 500 m²). The parcels in EPSG:4515 below come back within 1e-6 m.
AREA_TOL_M2 = 0.05


def _write(gdf: gpd.GeoDataFrame, gdb: Path, layer: str) -> None:
    """Write one feature class with GDAL's OpenFileGDB driver (adds to an existing .gdb)."""
    with warnings.catch_warnings():  # GDAL's notice that Integer64 becomes Float64
        warnings.simplefilter("ignore", RuntimeWarning)
        gdf.to_file(gdb, driver="OpenFileGDB", layer=layer)


def _dltb() -> gpd.GeoDataFrame:
    return gk([p for *_, p in PARCELS], DLBM=[c for c, *_ in PARCELS],
              DLMC=[n for _, n, *_ in PARCELS], 权属单位名称=[o for _, _, o, _ in PARCELS])


@pytest.fixture
def delivery(tmp_path: Path) -> Path:
    """A folder holding 三调.gdb as a county delivers it."""
    d = tmp_path / "delivery"
    d.mkdir()
    gdb = d / "三调.gdb"
    _write(_dltb().to_crs(4490), gdb, "DLTB")
    _write(gk([FARMLAND], BSM=["J1"]).to_crs(4515), gdb, "永久基本农田")
    _write(gk([box(X0 - 500, Y0 - 500, X0 + 800, Y0 + 800)], XZQMC=["伊宁县"]).to_crs(4490),
           gdb, "XZQ")
    return d


def _area_by_code() -> dict[str, float]:
    out: dict[str, float] = {}
    for code, _, _, poly in PARCELS:
        out[code] = out.get(code, 0.0) + poly.area
    return out


def test_fixture_is_a_real_file_geodatabase(delivery: Path) -> None:
    gdb = delivery / "三调.gdb"
    assert is_filegdb(gdb)
    assert (gdb / "gdb").exists()  # written by GDAL's OpenFileGDB driver
    assert pyogrio.read_info(gdb, layer="DLTB")["driver"] == "OpenFileGDB"
    assert sorted(list_vector_layers(gdb)) == sorted(["DLTB", "永久基本农田", "XZQ"])


def test_read_vector_reads_a_feature_class_with_chinese_names(delivery: Path) -> None:
    gdf = read_vector(delivery / "三调.gdb", layer="永久基本农田")
    assert len(gdf) == 1
    assert gdf.crs.to_epsg() == 4515
    dltb = read_vector(delivery / "三调.gdb", layer="DLTB")
    assert dltb["DLMC"].tolist() == [n for _, n, *_ in PARCELS]
    assert dltb["权属单位名称"].tolist() == [o for _, _, o, _ in PARCELS]
    with pytest.raises(DataFileError, match=r"has no feature class 'DLTb' \(did you mean 'DLTB'\?\)"):
        read_vector(delivery / "三调.gdb", layer="DLTb")
    with pytest.raises(DataFileError, match="3 feature classes"):
        read_vector(delivery / "三调.gdb")


def test_geoplan_toml_maps_feature_classes(delivery: Path) -> None:
    (delivery / "geoplan.toml").write_text(
        '[layers.landuse]\npath = "三调.gdb"\nlayer = "DLTB"\n'
        'fields = { code = "DLBM", name = "DLMC" }\nscheme = "sandiao"\n\n'
        '[layers.farmland_redline]\npath = "三调.gdb"\nlayer = "永久基本农田"\n\n'
        '[layers.forest_land]\nfrom = "landuse"\nwhere = "code in forest"\n',
        encoding="utf-8")
    ws = geoplan.open_workspace(delivery)
    assert ws.crs.to_epsg() == 4536
    lu = ws["landuse"]
    assert len(lu) == len(PARCELS)
    assert lu.source.endswith("三调.gdb:DLTB")
    by_code = lu.gdf.assign(a=lu.gdf.area).groupby("code")["a"].sum().to_dict()
    for code, area in _area_by_code().items():
        assert by_code[code] == pytest.approx(area, abs=AREA_TOL_M2)
    assert lu.gdf["name"].tolist() == [n for _, n, *_ in PARCELS]
    forest = ws["forest_land"].gdf
    assert len(forest) == 2
    assert forest.area.sum() == pytest.approx(20_000 + 12_000, abs=AREA_TOL_M2)
    fr = ws["farmland_redline"].gdf
    assert fr.area.sum() == pytest.approx(FARMLAND.area, rel=1e-9)  # 4515 → 4536: same CM
    assert fr.total_bounds == pytest.approx(FARMLAND.bounds, abs=1e-6)


def test_open_a_gdb_whose_feature_classes_are_kinds(tmp_path: Path) -> None:
    gdb = tmp_path / "constraints.gdb"
    _write(gk([box(X0, Y0, X0 + 100, Y0 + 50)], level=["50年一遇"]), gdb, "flood_zone")
    _write(_dltb(), gdb, "DLTB")
    ws = geoplan.open_workspace(gdb)
    assert ws.kinds == ["flood_zone"]
    assert ws["flood_zone"].gdf.area.sum() == pytest.approx(5_000, rel=1e-9)
    assert ws.unplaced == ["constraints.gdb:DLTB"]


def test_a_folder_holding_a_gdb_reads_its_kind_named_feature_classes(tmp_path: Path) -> None:
    d = tmp_path / "ws"
    d.mkdir()
    _write(gk([box(X0, Y0, X0 + 100, Y0 + 50)], level=["50年一遇"]), d / "hazards.gdb",
           "flood_zone")
    _write(_dltb(), d / "hazards.gdb", "DLTB")
    ws = geoplan.open_workspace(d)
    assert ws.kinds == ["flood_zone"]
    assert "hazards.gdb:DLTB" in ws.unplaced
    assert not any("folder, not read" in u for u in ws.unplaced)


def test_unnamed_feature_class_in_toml_is_refused_with_a_hint(delivery: Path) -> None:
    (delivery / "geoplan.toml").write_text('[layers.landuse]\npath = "三调.gdb"\n',
                                           encoding="utf-8")
    with pytest.raises(WorkspaceError, match=r"none is called 'landuse' \(DLTB looks like it\)"):
        geoplan.open_workspace(delivery)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_feature_class_without_crs_gets_a_proposal(tmp_path: Path) -> None:
    gdb = tmp_path / "no_sr.gdb"
    # Zone-27 eastings (27 524 000 m) and no spatial reference at all.
    _write(gpd.GeoDataFrame({"level": ["1"]},
                            geometry=[box(X0 + 27e6, Y0, X0 + 27e6 + 100, Y0 + 100)]),
           gdb, "flood_zone")
    assert pyogrio.read_info(gdb, layer="flood_zone")["crs"] is None
    with pytest.raises(CRSError, match=r'\[layers.flood_zone\] crs = "EPSG:4515"'):
        geoplan.open_workspace(gdb)


# ----------------------------------------------------------------------------- sha256


def _tree_digest(folder: Path) -> str:
    """The documented rule, written out again: sorted relative paths, NUL, file sha256."""
    h = hashlib.sha256()
    for rel in sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                      if p.is_file() and not p.name.endswith(".lock")):
        h.update(rel.encode("utf-8") + b"\0")
        h.update(hashlib.sha256((folder / rel).read_bytes()).digest())
    return h.hexdigest()


def test_sha256_of_a_gdb_is_over_its_files(tmp_path: Path) -> None:
    gdb = tmp_path / "constraints.gdb"
    _write(gk([box(X0, Y0, X0 + 100, Y0 + 50)], level=["1"]), gdb, "flood_zone")
    first = geoplan.open_workspace(gdb)["flood_zone"].sha256
    assert first == _tree_digest(gdb)
    (gdb / "a00000001.gdbtable.sr.lock").write_bytes(b"ArcGIS lock")  # opened in ArcGIS
    assert geoplan.open_workspace(gdb)["flood_zone"].sha256 == first
    _write(gk([box(X0, Y0, X0 + 10, Y0 + 10)], level=["2"]), gdb, "landslide_zone")
    again = geoplan.open_workspace(gdb)["flood_zone"].sha256
    assert again != first  # the delivery changed
    assert again == _tree_digest(gdb)


# ----------------------------------------------------------------------------- geoplan init


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "geoplan.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_init_on_a_gdb_drafts_one_entry_per_feature_class(delivery: Path) -> None:
    gdb = delivery / "三调.gdb"
    before = _tree_digest(gdb)
    r = _run("init", str(gdb))
    assert r.returncode == 0, r.stderr
    toml = delivery / "geoplan.toml"  # beside the .gdb, never inside it
    assert toml.exists()
    assert not (gdb / "geoplan.toml").exists()
    assert _tree_digest(gdb) == before
    text = toml.read_text(encoding="utf-8")
    assert '[layers.landuse]' in text
    assert 'path = "三调.gdb"\nlayer = "DLTB"' in text
    assert 'fields = { code = "DLBM", name = "DLMC" }' in text
    assert 'scheme = "sandiao"' in text
    assert '[layers.farmland_redline]' in text
    assert 'layer = "永久基本农田"' in text
    assert "三调.gdb:XZQ: name not recognised" in text
    assert "三调.gdb:XZQ" in r.stdout
    ws = geoplan.open_workspace(toml)
    assert len(ws["landuse"]) == len(PARCELS)
    assert ws["landuse"].gdf.area.sum() == pytest.approx(sum(_area_by_code().values()),
                                                          abs=2 * AREA_TOL_M2)
    assert ws["farmland_redline"].gdf.area.sum() == pytest.approx(FARMLAND.area, rel=1e-9)
    assert ws["forest_land"].gdf.area.sum() == pytest.approx(32_000, abs=AREA_TOL_M2)
    lay = _run("layers", str(toml), "--json")
    assert lay.returncode == 0, lay.stderr
    rows = {r["kind"]: r for r in json.loads(lay.stdout)["layers"]}
    assert rows["landuse"]["features"] == len(PARCELS)
    assert rows["farmland_redline"]["crs"] == "EPSG:4515"


def test_init_on_a_folder_holding_a_gdb(delivery: Path) -> None:
    gk([box(X0, Y0, X0 + 30, Y0 + 30)], level=["1"]).to_file(delivery / "洪水淹没区.gpkg")
    draft = geoplan.draft.draft_config(delivery)
    assert draft.directory == delivery
    placed = dict(draft.placed)
    assert placed["三调.gdb:DLTB"] == "landuse"
    assert placed["三调.gdb:永久基本农田"] == "farmland_redline"
    assert placed["洪水淹没区.gpkg"] == "flood_zone"
    # the files inside the .gdb are read through it, never listed one by one
    assert not any(".gdbtable" in src for src, _ in draft.unplaced)
    draft.write(delivery / "geoplan.toml")
    ws = geoplan.open_workspace(delivery)
    assert {"landuse", "farmland_redline", "flood_zone"} <= set(ws.kinds)


def test_layers_on_a_gdb_without_kind_names_points_to_init(delivery: Path) -> None:
    r = _run("layers", str(delivery / "三调.gdb"))
    assert r.returncode == 2
    assert "found but not placed: 三调.gdb:DLTB" in r.stderr
    assert "geoplan init" in r.stderr
    assert "Traceback" not in r.stderr
