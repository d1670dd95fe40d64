"""Sites as a county office delivers them (issue 11, item 3).

Excel and CSV tables with Chinese or English column names, coordinates in
decimal degrees, DMS, full-width digits or decimal commas, X/Y in survey order,
a per-row coordinate system (WGS84 / CGCS2000 / GCJ-02 / BD-09), Geometry-
Collections, and NaN/Inf coordinates. Every expected value is worked out here
independently (81°19′30.5″ = 81 + 19/60 + 30.5/3600; the GK coordinates of that
point from pyproj), and every test fails on the code before this item.
"""

from __future__ import annotations

import base64
import csv
import json
import zlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyproj
import pytest
import shapely
from click.testing import CliRunner
from conftest import X0, Y0, gk
from shapely import GeometryCollection, LineString, MultiPoint, Point, Polygon, box

import geoplan
from geoplan.cli import main
from geoplan.crs import (
    bd09_to_cgcs2000_geometry,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from geoplan.errors import SiteInputError
from geoplan.sites import convert_coordinate_systems, parse_coordinate, read_sites

LON = 81 + 19 / 60 + 30.5 / 3600   # 81°19′30.5″ = 81.3251388…°E
LAT = 43 + 55 / 60 + 30 / 3600     # 43°55′30″ = 43.925°N
E, N = pyproj.Transformer.from_crs(4490, 4536, always_xy=True).transform(LON, LAT)
GEOD = pyproj.Geod(ellps="GRS80")


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args))
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.output


def write_csv(path: Path, rows: list[list[object]], *, delimiter: str = ",") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def findings(out: Path, rule: str = "house.flood_zone") -> pd.DataFrame:
    f = pd.read_csv(out / "findings.csv", encoding="utf-8-sig", dtype={"site_id": str})
    return f[f.rule_id == rule].set_index("site_id")


def verdicts(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "verdicts.csv", encoding="utf-8-sig",
                       dtype={"site_id": str}).set_index("site_id")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A 100 m flood square and red-line square centred on (LON, LAT), in a 6 km village
    boundary (so points a few hundred metres off are still inside the workspace)."""
    d = tmp_path / "ws"
    d.mkdir()
    gk([box(E - 50, N - 50, E + 50, N + 50)], level=["50年一遇"]).to_file(d / "flood_zone.gpkg")
    gk([box(E - 50, N - 50, E + 50, N + 50)]).to_file(d / "farmland_redline.gpkg")
    gk([box(E - 3000, N - 3000, E + 3000, N + 3000)], village=["巴彦岱村"]).to_file(
        d / "village_boundary.gpkg")
    return d


def test_doctests() -> None:
    import doctest
    import importlib
    import pkgutil

    import geoplan.sites as gsites

    modules = [gsites, *(importlib.import_module(f"geoplan.sites.{m.name}")
                         for m in pkgutil.iter_modules(gsites.__path__))]
    results = [doctest.testmod(m) for m in modules]
    assert sum(r.failed for r in results) == 0
    assert sum(r.attempted for r in results) >= 8


# ===================================================================== reading one value


@pytest.mark.parametrize(("text", "axis", "expected"), [
    ("81°19′30.5″", "lon", LON),
    ("81°19'30.5\"", "lon", LON),
    ("81 19 30.5", "lon", LON),
    ("81:19:30.5", "lon", LON),
    ("81度19分30.5秒", "lon", LON),
    ("东经81度19分30.5秒", "lon", LON),
    ("81°19′30.5″E", "lon", LON),
    ("E 81°19′30.5″", "lon", LON),
    ("８１°１９′３０．５″", "lon", LON),       # full-width digits and point
    ("81°19′30,5″", "lon", LON),              # decimal comma in the seconds
    ("81°19.5′", "lon", 81 + 19.5 / 60),
    ("43°55′30″N", "lat", LAT),
    ("北纬43度55分30秒", "lat", LAT),
    ("43 55 30", "lat", LAT),
    ("８１．３", "lon", 81.3),
    ("81,325", "lon", 81.325),
    (" 81.325 ", "lon", 81.325),
    ("43.5S", "lat", -43.5),
    ("-81.3", "lon", -81.3),
    ("4,865,500.5", None, 4_865_500.5),
    ("4865500,5", None, 4_865_500.5),
    ("4.8655e6", None, 4_865_500.0),
    (81.3, "lon", 81.3),
    (4865500, None, 4_865_500.0),
])
def test_parse_coordinate_reads_every_written_form(text, axis, expected) -> None:
    assert parse_coordinate(text, axis=axis) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("text", "axis", "fragment"), [
    ("abc", "lon", "not a number"),
    ("东经", "lon", "no number"),
    ("-", "lon", "no number"),
    ("E", "lon", "not a number"),
    ("81°75′", "lon", "below 60"),
    ("81°19′75″", "lon", "below 60"),
    ("43.9N", "lon", "latitude (N) in the longitude column"),
    ("81.3E", "lat", "longitude (E) in the latitude column"),
    ("inf", "lon", "not a finite number"),
    ("nan", "lon", "not a finite number"),
    (float("inf"), "lon", "not a finite number"),
    ("", "lon", "empty"),
    (None, "lon", "empty"),
    (float("nan"), "lon", "empty"),  # a blank CSV cell as pandas reads it
    (True, "lon", "yes/no"),
])
def test_parse_coordinate_refuses_what_it_cannot_read(text, axis, fragment) -> None:
    with pytest.raises(ValueError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        parse_coordinate(text, axis=axis)


# ===================================================================== CSV tables


def test_dms_fullwidth_and_comma_decimals_give_the_verdicts_of_decimal_degrees(
        tmp_path: Path, ws: Path) -> None:
    forms = {
        "dec": (repr(LON), repr(LAT)),
        "dms": ("81°19′30.5″", "43°55′30″N"),
        "ascii": ("81°19'30.5\"", "43°55'30\""),
        "spaces": ("81 19 30.5", "43 55 30"),
        "chinese": ("东经81度19分30.5秒", "北纬43度55分30秒"),
        "fullwidth": ("８１°１９′３０．５″", "４３°５５′３０″"),
        "comma": (f"{LON:.12f}".replace(".", ","), f"{LAT:.12f}".replace(".", ",")),
    }
    sites = write_csv(tmp_path / "s.csv", [["编号", "经度", "纬度"]]
                      + [[k, a, b] for k, (a, b) in forms.items()])
    g = read_sites(sites)
    assert (g["_geoplan_error"] == "").all()
    assert np.allclose(g.geometry.x, LON, atol=1e-9)
    assert np.allclose(g.geometry.y, LAT, atol=1e-9)
    out = tmp_path / "out"
    code, text = run("check", str(sites), "-w", str(ws), "-o", str(out))
    assert code == 0, text
    f = pd.read_csv(out / "findings.csv", encoding="utf-8-sig", dtype={"site_id": str})
    by_site = {sid: grp.set_index("rule_id")[["status", "measure"]]
               for sid, grp in f.groupby("site_id")}
    for k in forms:
        pd.testing.assert_frame_equal(by_site[k], by_site["dec"])
    assert findings(out).loc["dec", "status"] == "fail"   # the centre of the flood square


def test_semicolon_csv_with_decimal_commas(tmp_path: Path, ws: Path) -> None:
    sites = write_csv(tmp_path / "s.csv",
                      [["id", "lon", "lat"], ["A", f"{LON:.9f}".replace(".", ","),
                                              f"{LAT:.9f}".replace(".", ",")]],
                      delimiter=";")
    g = read_sites(sites)
    assert g.geometry.iloc[0].x == pytest.approx(LON, abs=1e-9)
    assert g.geometry.iloc[0].y == pytest.approx(LAT, abs=1e-9)


def test_an_unreadable_coordinate_is_that_sites_error_naming_value_and_row(
        tmp_path: Path, ws: Path) -> None:
    sites = write_csv(tmp_path / "s.csv", [
        ["编号", "经度", "纬度"],
        ["ok", repr(LON), repr(LAT)],
        ["word", "abc", repr(LAT)],
        ["blank", "", repr(LAT)],
        ["inf", "inf", repr(LAT)],
        ["lat_in_lon", "43.9N", repr(LAT)],
        ["ok2", repr(LON), repr(LAT)],
    ])
    out = tmp_path / "out"
    code, text = run("check", str(sites), "-w", str(ws), "-o", str(out))
    assert code == 0, text
    v = verdicts(out)
    assert list(v.index) == ["ok", "word", "blank", "inf", "lat_in_lon", "ok2"]  # none dropped
    assert v.loc["ok", "verdict"] == v.loc["ok2", "verdict"] == "fail"  # the others still checked
    expected = {
        "word": "cannot read 经度 'abc' (row 2)",
        "blank": "经度 is empty (row 3)",
        "inf": "cannot read 经度 'inf' (row 4): not a finite number",
        "lat_in_lon": "cannot read 经度 '43.9N' (row 5): a latitude (N) in the longitude column",
    }
    for sid, fragment in expected.items():
        assert v.loc[sid, "verdict"] == "error"
        assert fragment in v.loc[sid, "reasons_en"]
        assert "no geometry" not in v.loc[sid, "reasons_en"]
    assert "无法读取第 2 行的经度 'abc'" in v.loc["word", "reasons_zh"]
    assert "第 3 行经度为空" in v.loc["blank", "reasons_zh"]
    # read_sites' bookkeeping columns never reach an output
    assert not [c for c in v.columns if c.startswith("_geoplan")]
    gp = gpd.read_file(out / "results.gpkg", layer="verdicts")
    assert not [c for c in gp.columns if c.startswith("_geoplan")]


def test_row_errors_survive_the_chunked_engine(tmp_path: Path, ws: Path) -> None:
    sites = write_csv(tmp_path / "s.csv", [["id", "lon", "lat"], ["A", repr(LON), repr(LAT)],
                                           ["B", repr(LON), repr(LAT)], ["C", "x", repr(LAT)]])
    out = tmp_path / "out"
    code, text = run("check", str(sites), "-w", str(ws), "-o", str(out), "--chunk-size", "2",
                     "-q")
    assert code == 0, text
    v = verdicts(out)
    assert v["verdict"].to_dict() == {"A": "fail", "B": "fail", "C": "error"}
    assert "cannot read lon 'x' (row 3)" in v.loc["C", "reasons_en"]
    assert not [c for c in v.columns if c.startswith("_geoplan")]


# ===================================================================== X / Y in survey order


@pytest.mark.parametrize(("cols", "first", "second", "crs", "order"), [
    (("X坐标", "Y坐标"), N, E, "EPSG:4536", "survey order"),
    (("X", "Y"), N, E, "EPSG:4536", "survey order"),            # decided by magnitude
    (("纵坐标", "横坐标"), N, E, "EPSG:4536", "survey order"),
    (("X", "Y"), N, E + 27_000_000, "EPSG:4515", "survey order"),  # zone-numbered easting
    (("x", "y"), E, N, "EPSG:4536", "GIS order"),
    (("X坐标", "Y坐标"), E, N, "EPSG:4536", "GIS order"),      # the magnitudes win over the name
])
def test_xy_order_is_decided_from_magnitudes_and_said(tmp_path: Path, ws: Path, cols, first,
                                                       second, crs, order) -> None:
    sites = write_csv(tmp_path / "s.csv", [["id", *cols], ["A", f"{first:.3f}", f"{second:.3f}"]])
    g = read_sites(sites, crs=crs)
    p = g.to_crs(4536).geometry.iloc[0]
    assert p.x == pytest.approx(E, abs=0.01)
    assert p.y == pytest.approx(N, abs=0.01)
    note = " ".join(g.attrs["notes"])
    assert order in note
    out = tmp_path / "out"
    code, text = run("check", str(sites), "-w", str(ws), "--crs", crs, "-o", str(out))
    assert code == 0, text
    assert order in text                       # printed for the planner
    assert findings(out).loc["A", "status"] == "fail"
    assert order in " ".join(json.loads((out / "summary.json").read_text("utf-8"))
                             ["sites_notes"])


def test_easting_northing_columns_need_no_guess(tmp_path: Path) -> None:
    sites = write_csv(tmp_path / "s.csv", [["id", "东坐标", "北坐标"], ["A", f"{E:.3f}", f"{N:.3f}"]])
    g = read_sites(sites, crs=4536)
    assert g.geometry.iloc[0].x == pytest.approx(E, abs=1e-3)
    assert g.attrs["notes"] == []


# ===================================================================== per-row coordinate systems


SYSTEM_VALUES = {
    "WGS84": "WGS84", "WGS-84": "WGS84", "GPS": "WGS84", "CGCS2000": "WGS84",
    "2000": "WGS84", "国家2000": "WGS84", "GCJ-02": "GCJ", "GCJ02": "GCJ", "高德": "GCJ",
    "腾讯": "GCJ", "火星坐标": "GCJ", "BD-09": "BD", "BD09": "BD", "百度": "BD",
    "百度坐标系": "BD",
}


def test_each_row_is_converted_from_the_system_it_names(tmp_path: Path, ws: Path) -> None:
    image = {"WGS84": (LON, LAT), "GCJ": wgs84_to_gcj02(LON, LAT), "BD": wgs84_to_bd09(LON, LAT)}
    rows = [["编号", "经度", "纬度", "坐标系"]]
    for i, (value, system) in enumerate(SYSTEM_VALUES.items()):
        lon, lat = image[system]
        rows.append([f"s{i}", repr(lon), repr(lat), value])
    sites = write_csv(tmp_path / "s.csv", rows)
    g = read_sites(sites)
    assert (g["_geoplan_error"] == "").all()
    # every row lands on the same true point, within a centimetre
    assert metres(g.geometry.x, g.geometry.y, np.full(len(g), LON), np.full(len(g), LAT)).max() < 0.01
    # unconverted, GCJ-02 and BD-09 rows would be hundreds of metres away
    assert metres(*image["GCJ"], LON, LAT) > 200
    assert metres(*image["BD"], LON, LAT) > 500
    converted = g["_geoplan_note"].str.startswith("converted from")
    assert converted.tolist() == [SYSTEM_VALUES[v] != "WGS84" for v in SYSTEM_VALUES]
    out = tmp_path / "out"
    code, text = run("check", str(sites), "-w", str(ws), "-o", str(out))
    assert code == 0, text
    f = findings(out)
    assert set(f["status"]) == {"fail"}, f["status"].to_dict()
    assert "converted from BD-09 (坐标系 '百度') to CGCS2000" in verdicts(out)["notes"].tolist()


def test_a_converted_and_buffered_site_keeps_both_notes(tmp_path: Path, ws: Path) -> None:
    sites = write_csv(tmp_path / "s.csv", [["id", "lon", "lat", "crs"],
                                           ["A", *map(repr, wgs84_to_bd09(LON, LAT)), "bd09"]])
    res = geoplan.check(read_sites(sites), ws, footprint_m=10)
    assert res.verdicts["notes"].iloc[0] == ("converted from BD-09 (crs 'bd09') to CGCS2000; "
                                             "point buffered to a 10 m square")
    f = res.findings.set_index("rule_id").loc["house.flood_zone"]
    assert f["measure"] == pytest.approx(100.0, abs=0.01)   # the 10 m square, inside


@pytest.mark.parametrize("chunked", [False, True])
def test_a_vector_file_with_a_coordinate_system_column(tmp_path: Path, ws: Path,
                                                        chunked: bool) -> None:
    path = tmp_path / "houses.gpkg"
    gpd.GeoDataFrame({"house_id": ["w", "g", "b"], "坐标系": ["WGS84", "GCJ-02", "百度"]},
                     geometry=[Point(LON, LAT), Point(wgs84_to_gcj02(LON, LAT)),
                               Point(wgs84_to_bd09(LON, LAT))], crs=4490).to_file(path)
    out = tmp_path / "out"
    extra = ["--chunk-size", "1"] if chunked else []   # GeoPackages are streamed in chunks
    code, text = run("check", str(path), "-w", str(ws), "-o", str(out), "-q", *extra)
    assert code == 0, text
    assert findings(out)["status"].to_dict() == {"w": "fail", "g": "fail", "b": "fail"}
    code, text = run("check", str(path), "-w", str(ws), "--gcj02", "-q", *extra)
    assert code == 2
    assert "use one of them" in text


def test_unknown_or_blank_coordinate_system_is_that_sites_error(tmp_path: Path, ws: Path) -> None:
    sites = write_csv(tmp_path / "s.csv", [
        ["编号", "经度", "纬度", "坐标系"],
        ["ok", repr(LON), repr(LAT), "WGS84"],
        ["bj54", repr(LON), repr(LAT), "北京54"],
        ["blank", repr(LON), repr(LAT), ""],
    ])
    out = tmp_path / "out"
    code, _ = run("check", str(sites), "-w", str(ws), "-o", str(out))
    assert code == 0
    v = verdicts(out)
    assert v["verdict"].to_dict() == {"ok": "fail", "bj54": "error", "blank": "error"}
    assert ("unknown coordinate system 坐标系 '北京54' (row 2); use one of: WGS84 (GPS), "
            "CGCS2000" in v.loc["bj54", "reasons_en"])
    assert "BD-09 (百度)" in v.loc["bj54", "reasons_en"]
    assert "坐标系 is empty (row 3)" in v.loc["blank", "reasons_en"]
    assert "第 2 行坐标系 '北京54' 无法识别" in v.loc["bj54", "reasons_zh"]


def test_gcj02_flag_together_with_a_coordinate_system_column_is_refused(
        tmp_path: Path, ws: Path) -> None:
    sites = write_csv(tmp_path / "s.csv", [["id", "lon", "lat", "coord_sys"],
                                           ["A", repr(LON), repr(LAT), "GCJ-02"]])
    code, text = run("check", str(sites), "-w", str(ws), "--gcj02")
    assert code == 2
    assert "column 'coord_sys' gives each row's coordinate system" in text
    assert "use one of them" in text
    with pytest.raises(SiteInputError, match="use one of them"):
        geoplan.check(read_sites(sites), ws, gcj02=True)


def test_a_coordinate_system_column_never_applied_is_not_checked_where_it_is_not(
        ws: Path) -> None:
    g = gpd.GeoDataFrame({"site_id": ["gcj", "wgs"], "坐标系": ["高德", "WGS84"]},
                         geometry=[Point(wgs84_to_gcj02(LON, LAT)), Point(LON, LAT)], crs=4490)
    res = geoplan.check(g, ws)
    v = res.verdicts.set_index("site_id")
    assert v.loc["gcj", "verdict"] == "error"
    assert "were not converted row by row" in v.loc["gcj", "reasons_en"]
    assert v.loc["wgs", "verdict"] == "fail"
    converted = geoplan.check(convert_coordinate_systems(g), ws).verdicts.set_index("site_id")
    assert converted["verdict"].to_dict() == {"gcj": "fail", "wgs": "fail"}


def test_gcj02_or_bd09_rows_in_projected_coordinates_are_errors(tmp_path: Path) -> None:
    sites = write_csv(tmp_path / "s.csv", [["id", "东坐标", "北坐标", "坐标系"],
                                           ["A", f"{E:.2f}", f"{N:.2f}", "CGCS2000"],
                                           ["B", f"{E:.2f}", f"{N:.2f}", "百度"],
                                           ["C", f"{E:.2f}", f"{N:.2f}", "EPSG:4536"],
                                           ["D", f"{E:.2f}", f"{N:.2f}", "EPSG:4515"]])
    g = read_sites(sites, crs=4536)
    err = g["_geoplan_error"].tolist()
    assert err[0] == ""
    assert "坐标系 says BD-09 (row 2), but the coordinates are projected" in err[1]
    assert err[2] == ""              # names the CRS the X/Y are declared in
    assert "unknown coordinate system 坐标系 'EPSG:4515' (row 4)" in err[3]
    assert g.geometry.iloc[2].x == pytest.approx(E, abs=0.01)   # not converted


# ===================================================================== BD-09


def test_bd09_forward_matches_the_published_reference_pair() -> None:
    # coordtransform (wandergis), the reference most Chinese tool kits test against:
    # gcj02tobd09(116.404, 39.915) = (116.41036949371029, 39.92133699351021)
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert isinstance(lon, float)
    assert lon == pytest.approx(116.41036949371029, abs=1e-12)
    assert lat == pytest.approx(39.92133699351021, abs=1e-12)


def test_bd09_inverse_round_trips_within_a_centimetre() -> None:
    lon, lat = np.meshgrid(np.linspace(74.0, 134.0, 25), np.linspace(19.0, 53.0, 18))
    lon, lat = lon.ravel(), lat.ravel()
    back = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert metres(lon, lat, *back).max() < 0.01
    # the widely used closed-form inverse is ~5 cm off: the iteration is what gets under 1 cm
    # (coordtransform: bd09togcj02(116.404, 39.915) = (116.39762729119315, 39.90865673957631))
    g = bd09_to_gcj02(116.404, 39.915)
    assert 0.01 < metres(*g, 116.39762729119315, 39.90865673957631) < 0.10
    assert metres(*gcj02_to_bd09(*g), 116.404, 39.915) < 0.01
    # and the whole chain WGS84 → BD-09 → WGS84
    wgs = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert metres(lon, lat, *wgs).max() < 0.02
    assert np.isnan(bd09_to_gcj02(np.array([np.nan]), np.array([40.0]))[0]).all()


def test_bd09_geometry_conversion_keeps_structure() -> None:
    outer = [(LON, LAT), (LON + 0.01, LAT), (LON + 0.01, LAT + 0.01), (LON, LAT + 0.01)]
    hole = [(LON + 0.004, LAT + 0.004), (LON + 0.006, LAT + 0.004), (LON + 0.006, LAT + 0.006)]
    poly = Polygon(outer, [hole])
    baidu = shapely.transform(poly, lambda c: np.column_stack(wgs84_to_bd09(c[:, 0], c[:, 1])))
    back = bd09_to_cgcs2000_geometry(baidu)
    assert shapely.get_num_coordinates(back) == shapely.get_num_coordinates(poly)
    a, b = shapely.get_coordinates(back), shapely.get_coordinates(poly)
    assert metres(a[:, 0], a[:, 1], b[:, 0], b[:, 1]).max() < 0.02


# ===================================================================== Excel


def _workbook(path: Path) -> Path:
    """A notes sheet first, then the sites under a title row, as offices send them."""
    wb = openpyxl.Workbook()
    first = wb.active
    first.title = "说明"
    first.append(["本表为宅基地申请汇总"])
    sheet = wb.create_sheet("宅基地")
    sheet.append(["伊宁县巴彦岱镇宅基地申请表"])   # title row
    sheet.append([])
    sheet.append(["编号", "户主", "经度（°）", "纬度（°）", "坐标系"])
    sheet.append([1001, "张三", LON, LAT, "WGS84"])                       # Excel row 4
    sheet.append([1002, "李四", "81°19′30.5″", "43°55′30″N", "2000"])   # row 5
    sheet.append([])                                                       # blank row 6
    sheet.append([1003, "王五", "abc", LAT, "WGS84"])                     # row 7
    sheet.append([1004, "赵六", *wgs84_to_bd09(LON, LAT), "百度"])        # row 8
    sheet.append([1005, "钱七", LON, LAT, "北京54"])                      # row 9
    wb.save(path)
    return path


def test_xlsx_sheet_title_row_mixed_forms_and_per_row_systems(tmp_path: Path, ws: Path) -> None:
    book = _workbook(tmp_path / "宅基地.xlsx")
    code, text = run("check", str(book), "-w", str(ws))
    assert code == 2      # the first sheet holds notes, not sites: say which sheets there are
    assert "sheet '说明': no coordinate columns" in text
    assert "the workbook's sheets are 说明, 宅基地: choose the one with the sites with --sheet" \
        in text
    out = tmp_path / "out"
    code, text = run("check", str(book), "--sheet", "宅基地", "-w", str(ws), "-o", str(out))
    assert code == 0, text
    assert "read sheet '宅基地' of 2" in text
    assert "header is on Excel row 3" in text
    v = verdicts(out)
    assert list(v.index) == ["1001", "1002", "1003", "1004", "1005"]   # ids, not 1001.0
    assert v["verdict"].to_dict() == {"1001": "fail", "1002": "fail", "1003": "error",
                                      "1004": "fail", "1005": "error"}
    assert "cannot read 经度（°） 'abc' (row 3; Excel row 7)" in v.loc["1003", "reasons_en"]
    assert "unknown coordinate system 坐标系 '北京54' (row 5; Excel row 9)" in \
        v.loc["1005", "reasons_en"]
    f = findings(out)
    assert f.loc[["1001", "1002", "1004"], "status"].tolist() == ["fail"] * 3
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert any("read sheet '宅基地'" in n for n in summary["sites_notes"])
    assert gpd.read_file(out / "results.gpkg", layer="verdicts")["户主"].tolist()[0] == "张三"


def test_sheet_by_python_keyword_and_missing_sheet(tmp_path: Path) -> None:
    book = _workbook(tmp_path / "b.xlsx")
    assert len(read_sites(book, sheet="宅基地")) == 5
    assert len(read_sites(book, sheet=1)) == 5
    with pytest.raises(SiteInputError, match="has no sheet '户籍'; its sheets are 说明, 宅基地"):
        read_sites(book, sheet="户籍")


# A genuine BIFF8 .xls (Excel 97–2003), 5.6 kB, zlib + base64. openpyxl cannot write .xls
# and no maintained writer exists; this was written once with xlwt 1.3.0:
#   wb = xlwt.Workbook(encoding="utf-8"); s = wb.add_sheet("宅基地")
#   rows: 编号 经度 纬度 坐标系 / X1 LON LAT WGS84 / X2 "81°19′30.5″" "43 55 30" 2000 /
#         X3 abc LAT WGS84   (LON, LAT as defined above, as numbers)
XLS = (
    "eNrtWE1oE0EU/mY3aX6atukvtEJZClatRdKmhXpoU4WakyXaQoqKmrYRpSWV0IsitlpzFARP/lwKRRCk1os/6EFv"
    "HoSIHgRBSPXoSfAPbbO+eTuJrc2hAS0q+y3zZt6bmW/e7rydmd3n6crM7J2GRfyCHujImh6UrLAJSp6c4gfVm6Ys"
    "5nI3JdPGPwWPmyayxImHZc9ccg7lfC9Cw4LjCUngLaVDOIn+iUTc2EDsZh9iQvrQTVLgOlnKUc9eVbEcYVnN8ja3"
    "fMSyly0XWXZT24w4gHSov6VLRfGQ1sR15ZC897jPa7a0oRZPZRRPXRJWWyd2JU/Exv/OikaHD3OgeQvHE/FkbDyD"
    "GprAOXwyDeBj7k19bNj2jbULkP3rarurgP2y5gCmYR7lAE9RQFY7ZI0uUge/RQPRJSRQRrqPErWom/oyQFn67I3D"
    "lN2iTIeIRF3Hv5+h4B1qcwLR8EBXh1TaSyG6KJ4XKO1EuxFEADvQiaBBq3RH0OjsNIIBGqw9EAjI9kEdiA2PeOUS"
    "z0uCf9WSUMavio/kKCq4XMkvjJ8W/aWbH17sHY6EjrBlmrcBa7PYLO8PJs7JHtS5nGscednCPbazPM+sm7jcwLKG"
    "wpzy5kitKuyZ4TYXuLaZxgkyXoa2rChvpXLq/b77jal3oW1Ung8vnq6ZfxWaRRNtXqPUX14zaBWt4uoViQehXC7U"
    "wvKGZf2aRcat+ZXvptoRK7AMLxcrWVqafDoir2nqWVmaTpquuEQBLsFc8uno9LwEc2WuRavTg4O9lkXyHZP43Ndr"
    "9ZCcTsWpFeDUmLNE+WDNniuvST53XpNcHsWlF+DSmcur2uvMVaq81df4pud969GqcFc6QsvzT3hhw4YNGzZs2LBh"
    "Y0Mh+IAKddQDH9XkQdGl/ussU8rav0n+W+zHBF2T9GHaRx+bk0jiVFHxUwenyHGJdfbJ/S+UiNLoSYxhmP0YKzp+"
    "6YNNrLyfdXf0/75XqNjxs8X4+YfH/wGJ2+ZS"
)


def test_xls_is_read_like_xlsx(tmp_path: Path, ws: Path) -> None:
    path = tmp_path / "sites.xls"
    path.write_bytes(zlib.decompress(base64.b64decode(XLS)))
    assert path.read_bytes()[:8] == bytes.fromhex("d0cf11e0a1b11ae1")   # an OLE2 workbook
    g = read_sites(path)
    assert g["编号"].tolist() == ["X1", "X2", "X3"]
    assert g.geometry.iloc[0].x == pytest.approx(LON, abs=1e-12)
    assert g.geometry.iloc[1].x == pytest.approx(LON, abs=1e-12)
    assert g.geometry.iloc[1].y == pytest.approx(LAT, abs=1e-12)
    assert g["_geoplan_error"].iloc[2].startswith("cannot read 经度 'abc' (row 3; Excel row 4)")
    res = geoplan.check(g, ws)
    assert res.verdicts["verdict"].tolist() == ["fail", "fail", "error"]


def test_a_web_export_named_xls_is_refused_clearly(tmp_path: Path) -> None:
    fake = tmp_path / "导出.xls"
    fake.write_text("<html><table><tr><td>经度</td></tr></table></html>", encoding="utf-8")
    with pytest.raises(SiteInputError, match="is not an Excel workbook"):
        read_sites(fake)


# ===================================================================== GeometryCollections


@pytest.fixture
def zone_ws(tmp_path: Path) -> Path:
    d = tmp_path / "zws"
    d.mkdir()
    gk([box(X0, Y0, X0 + 1000, Y0 + 1000)], level=["50年一遇"]).to_file(d / "flood_zone.gpkg")
    gk([box(X0, Y0, X0 + 1000, Y0 + 1000)]).to_file(d / "farmland_redline.gpkg")
    return d


# a 10 m × 10 m footprint of which 8.7 m × 10 m = 87 m² lies inside both zones
FOOTPRINT = box(X0 - 1.3, Y0, X0 + 8.7, Y0 + 10)
STRAY = Point(X0 - 500, Y0 - 500)


def test_geometrycollection_is_checked_on_its_polygon_part(zone_ws: Path) -> None:
    sites = gk([GeometryCollection([FOOTPRINT, STRAY]), FOOTPRINT,
                GeometryCollection([GeometryCollection([FOOTPRINT]), MultiPoint([STRAY, STRAY])])],
               house_id=["gc", "poly", "nested"])
    res = geoplan.check(sites, zone_ws, subject="house")
    f = res.findings.set_index(["site_id", "rule_id"])
    for sid in ("gc", "poly", "nested"):
        for rule in ("house.flood_zone", "house.farmland_redline"):
            assert f.loc[(sid, rule), "status"] == "fail", (sid, rule)
            assert f.loc[(sid, rule), "measure"] == pytest.approx(87.0, abs=1e-6)
    notes = res.verdicts.set_index("site_id")["notes"]
    assert notes["gc"] == "GeometryCollection checked on its polygon part; dropped 1 point"
    assert notes["nested"] == "GeometryCollection checked on its polygon part; dropped 2 points"


@pytest.mark.parametrize(("geom", "subject", "fragment"), [
    (GeometryCollection([STRAY, Point(X0 + 5, Y0 + 5)]), "house",
     "without a polygon or line part (it holds 2 points)"),
    (GeometryCollection([LineString([(X0 + 5, Y0 - 5), (X0 + 5, Y0 + 5)]), STRAY]), "house",
     "without a polygon part (it holds 1 point)"),
])
def test_geometrycollection_without_a_polygon_part_is_an_error_never_a_pass(
        zone_ws: Path, geom, subject: str, fragment: str) -> None:
    res = geoplan.check(gk([geom, FOOTPRINT], house_id=["gc", "ok"]), zone_ws, subject=subject)
    v = res.verdicts.set_index("site_id")
    assert v.loc["gc", "verdict"] == "error"
    assert fragment in v.loc["gc", "reasons_en"]
    assert "几何集合" in v.loc["gc", "reasons_zh"]
    assert v.loc["ok", "verdict"] == "fail"


def test_road_geometrycollection_is_checked_on_its_line_part(zone_ws: Path) -> None:
    line = LineString([(X0 - 50, Y0 + 500), (X0 + 30, Y0 + 500)])   # 30 m inside the red line
    sites = gk([GeometryCollection([line, STRAY]), line], road_id=["gc", "line"],
               width_m=[4.0, 4.0])
    res = geoplan.check(sites, zone_ws, subject="road")
    f = res.findings[res.findings.rule_id == "road.farmland_redline"].set_index("site_id")
    assert f.loc["gc", "status"] == f.loc["line", "status"] == "fail"
    assert f.loc["gc", "measure"] == pytest.approx(30 * 4.0, abs=1e-6)
    assert f.loc["gc", "measure"] == f.loc["line", "measure"]
    note = res.verdicts.set_index("site_id").loc["gc", "notes"]
    assert "GeometryCollection checked on its line part; dropped 1 point" in note


# ===================================================================== NaN / Inf


def test_non_finite_coordinates_are_errors_and_every_output_is_written(
        tmp_path: Path, zone_ws: Path) -> None:
    with np.errstate(invalid="ignore"):
        nan_vertex = Polygon([(X0, Y0), (X0 + 10, Y0), (np.nan, Y0 + 10), (X0, Y0 + 10)])
    sites = gk([nan_vertex, Point(np.nan, np.inf), box(X0 + 1, Y0 + 1, X0 + 5, Y0 + 5)],
               house_id=["nan_vertex", "inf_point", "ok"])
    path = tmp_path / "sites.gpkg"
    sites.to_file(path)
    assert "NaN" in gpd.read_file(path).geometry.to_wkt().iloc[0]   # stored as given
    out = tmp_path / "out"
    code, text = run("check", str(path), "-w", str(zone_ws), "-o", str(out))
    assert code == 0, text
    for name in ("findings.csv", "verdicts.csv", "results.gpkg", "map.html", "report.html",
                 "summary.json"):
        assert (out / name).stat().st_size > 0, name
    v = verdicts(out)
    assert v["verdict"].to_dict() == {"nan_vertex": "error", "inf_point": "error", "ok": "fail"}
    assert "non-finite coordinate (NaN or infinity) (row 1)" in v.loc["nan_vertex", "reasons_en"]
    assert "non-finite coordinate (NaN or infinity) (row 2)" in v.loc["inf_point", "reasons_en"]
    assert "非有限数值" in v.loc["nan_vertex", "reasons_zh"]
    assert "not drawn" in (out / "map.html").read_text("utf-8")
    # the map and report commands, and a report that details the errors
    assert run("map", str(path), "-w", str(zone_ws), "-o", str(tmp_path / "m.html"))[0] == 0
    assert run("report", str(path), "-w", str(zone_ws), "--detail", "error",
               "-o", str(tmp_path / "r.html"))[0] == 0
    assert (tmp_path / "m.html").stat().st_size > 0
    assert (tmp_path / "r.html").stat().st_size > 0
