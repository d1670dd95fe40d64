"""The bad-input corpus: every broken layer, site batch or rule pack gets a clear
error (exit 2 naming the file / layer / row / field and the fix) or a per-site
``error`` / ``not_checked`` status — never a crash, never a silent pass.

Each case builds its own input in ``tmp_path`` and asserts the exact exit code
or status and a fragment of the message. The README's troubleshooting table is
the user-facing summary of these decisions.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner
from conftest import X0, Y0, gk
from shapely import LineString, MultiPolygon, Point, Polygon, box

import geoplan
from geoplan.cli import main

ZONE = box(X0, Y0, X0 + 100, Y0 + 100)


def cli(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, list(args))
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.output


def ws_dir(tmp_path: Path) -> Path:
    d = tmp_path / "ws"
    d.mkdir(exist_ok=True)
    return d


# ===================================================================== layers


def _polygon_m_shapefile(path: Path) -> None:
    """A PolygonM Shapefile (shape type 25), written byte by byte."""
    gk([ZONE], level=["1"]).to_file(path)  # gives a matching .dbf/.prj
    pts = [(X0, Y0), (X0, Y0 + 100), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0)]
    ms = [1.0, 2.0, 3.0, 4.0, 1.0]
    bbox = struct.pack("<4d", X0, Y0, X0 + 100, Y0 + 100)
    content = (struct.pack("<i", 25) + bbox + struct.pack("<2i", 1, len(pts))
               + struct.pack("<i", 0) + b"".join(struct.pack("<2d", *p) for p in pts)
               + struct.pack("<2d", min(ms), max(ms)) + struct.pack(f"<{len(ms)}d", *ms))
    record = struct.pack(">2i", 1, len(content) // 2) + content

    def header(length_bytes: int) -> bytes:
        return (struct.pack(">i", 9994) + b"\0" * 20 + struct.pack(">i", length_bytes // 2)
                + struct.pack("<2i", 1000, 25) + bbox + struct.pack("<4d", 0, 0, 0, 0))

    path.write_bytes(header(100 + len(record)) + record)
    path.with_suffix(".shx").write_bytes(header(108) + struct.pack(">2i", 50,
                                                                    len(content) // 2))


LAYER_CASES: list[tuple[str, Callable[[Path], None], int, str]] = []


def layer_case(expect_exit: int, fragment: str):
    def deco(fn: Callable[[Path], None]):
        LAYER_CASES.append((fn.__name__, fn, expect_exit, fragment))
        return fn
    return deco


@layer_case(2, "no coordinate reference system")
def no_crs(d: Path) -> None:
    gk([ZONE]).to_file(d / "flood_zone.shp")
    (d / "flood_zone.prj").unlink()


@layer_case(0, "EPSG:4515")
def different_crs_per_layer(d: Path) -> None:
    gk([ZONE]).to_crs(4490).to_file(d / "flood_zone.gpkg")
    gk([ZONE]).to_crs(4515).to_file(d / "landslide_zone.gpkg")
    gk([LineString([(X0, Y0), (X0 + 9, Y0)])], voltage_kv=[10.0]).to_file(d / "power_line.gpkg")


@layer_case(0, "invalid geometries repaired")
def bowtie(d: Path) -> None:
    gk([Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])]).to_file(
        d / "flood_zone.gpkg")


@layer_case(0, "invalid geometries repaired")
def self_touching_ring(d: Path) -> None:
    # The shell touches itself at (X0+10, Y0+10): an "inverted hole", invalid in OGC terms.
    ring = [(X0, Y0), (X0 + 20, Y0), (X0 + 20, Y0 + 20), (X0 + 10, Y0 + 10), (X0 + 15, Y0 + 5),
            (X0 + 5, Y0 + 5), (X0 + 10, Y0 + 10), (X0, Y0 + 20), (X0, Y0)]
    gk([Polygon(ring)]).to_file(d / "flood_zone.gpkg")


@layer_case(0, "not closed in the file and were closed")
def ring_not_closed(d: Path) -> None:
    fc = {"type": "FeatureCollection",
          "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4536"}},
          "features": [{"type": "Feature", "properties": {"level": "1"}, "geometry": {
              "type": "Polygon", "coordinates": [[[X0, Y0], [X0 + 100, Y0], [X0 + 100, Y0 + 100],
                                                  [X0, Y0 + 100]]]}}]}
    (d / "flood_zone.geojson").write_text(json.dumps(fc), encoding="utf-8")


@layer_case(0, "flood_zone")
def duplicate_points(d: Path) -> None:
    gk([Polygon([(X0, Y0), (X0, Y0), (X0 + 100, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0 + 100),
                 (X0, Y0 + 100)])]).to_file(d / "flood_zone.gpkg")


@layer_case(0, "invalid geometries repaired")
def spike(d: Path) -> None:
    gk([Polygon([(X0, Y0), (X0 + 100, Y0), (X0 + 100, Y0 + 50), (X0 + 300, Y0 + 50),
                 (X0 + 100, Y0 + 50), (X0 + 100, Y0 + 100), (X0, Y0 + 100)])]).to_file(
        d / "flood_zone.gpkg")


@layer_case(0, "with an empty geometry (set aside)")
def empty_and_null(d: Path) -> None:
    gk([ZONE, Polygon(), None]).to_file(d / "flood_zone.gpkg")


@layer_case(2, "must hold polygon geometries, but has 1 point")
def wrong_family(d: Path) -> None:
    gk([Point(X0, Y0)]).to_file(d / "flood_zone.gpkg")


@layer_case(0, "Z coordinates flattened")
def z_coordinates(d: Path) -> None:
    gk([Polygon([(x, y, 600.0) for x, y in ZONE.exterior.coords])]).to_file(d / "flood_zone.gpkg")


@layer_case(0, "M (measure) values dropped")
def m_coordinates(d: Path) -> None:
    _polygon_m_shapefile(d / "flood_zone.shp")


@layer_case(0, "MultiPolygon")
def multipart(d: Path) -> None:
    gk([MultiPolygon([ZONE, box(X0 + 200, Y0, X0 + 300, Y0 + 100)])]).to_file(
        d / "flood_zone.gpkg")


@layer_case(0, "flood_zone")
def gbk_shapefile_without_cpg(d: Path) -> None:
    pyogrio.write_dataframe(gk([ZONE], name=["巴彦岱镇洪水区"]), d / "flood_zone.shp",
                            encoding="GBK")
    d.joinpath("flood_zone.cpg").unlink(missing_ok=True)


@layer_case(2, "flood_zone.gpkg")
def corrupt_file(d: Path) -> None:
    (d / "flood_zone.gpkg").write_bytes(b"this is not a geopackage" * 40)


@layer_case(2, "truncated")
def truncated_shapefile(d: Path) -> None:
    gk([box(X0 + i * 10, Y0, X0 + i * 10 + 5, Y0 + 5) for i in range(40)]).to_file(
        d / "flood_zone.shp")
    shp = d / "flood_zone.shp"
    shp.write_bytes(shp.read_bytes()[:1000])


@layer_case(2, "lacks the required field 'voltage_kv'")
def power_line_without_voltage_field(d: Path) -> None:
    gk([LineString([(X0, Y0), (X0 + 9, Y0)])], DYDJ=["10kV"]).to_file(d / "power_line.gpkg")


@layer_case(2, "not valid TOML")
def broken_toml(d: Path) -> None:
    gk([ZONE]).to_file(d / "flood_zone.gpkg")
    (d / "geoplan.toml").write_text("[layers.flood_zone\n", encoding="utf-8")


@pytest.mark.parametrize(("name", "build", "exit_code", "fragment"), LAYER_CASES,
                         ids=[c[0] for c in LAYER_CASES])
def test_layer_corpus(tmp_path: Path, name: str, build, exit_code: int, fragment: str) -> None:
    d = ws_dir(tmp_path)
    build(d)
    code, out = cli("layers", str(d))
    assert code == exit_code, out
    assert fragment in out, out
    assert "Traceback" not in out


def test_repairs_keep_the_right_area(tmp_path: Path) -> None:
    """Repaired layers measure what a planner drew (checked by hand)."""
    for build, area in ((spike, 10_000.0), (ring_not_closed, 10_000.0),
                        (duplicate_points, 10_000.0), (m_coordinates, 10_000.0),
                        # 20 m square minus the open top triangle (100 m²) and the
                        # inverted hole (25 m²)
                        (self_touching_ring, 400.0 - 100.0 - 25.0)):
        d = tmp_path / build.__name__
        d.mkdir()
        build(d)
        layer = geoplan.open_workspace(d)["flood_zone"]
        assert layer.gdf.area.sum() == pytest.approx(area), build.__name__
    d = tmp_path / "gbk"
    d.mkdir()
    gbk_shapefile_without_cpg(d)
    assert geoplan.open_workspace(d)["flood_zone"].gdf["name"].tolist() == ["巴彦岱镇洪水区"]


# ----------------------------------------------------------------- layer problems at check time


def _houses(path: Path, geoms, **cols) -> Path:
    gk(geoms, **cols).to_crs(4490).to_file(path)
    return path


def _findings(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "findings.csv", encoding="utf-8-sig", dtype={"site_id": str})


def test_gpkg_missing_a_layer_the_pack_needs(tmp_path: Path) -> None:
    gpkg = tmp_path / "county.gpkg"
    gk([ZONE]).to_file(gpkg, layer="flood_zone")
    sites = _houses(tmp_path / "h.gpkg", [box(X0 + 500, Y0, X0 + 510, Y0 + 10)], house_id=["H1"])
    out = tmp_path / "out"
    code, text = cli("check", str(sites), "-w", str(gpkg), "-o", str(out))
    assert code == 0
    assert text.index("NOT CHECKED") < text.index("verdicts")  # listed first
    f = _findings(out).set_index("rule_id")
    assert f.loc["house.landslide", "status"] == "not_checked"
    assert "no landslide_zone layer" in f.loc["house.landslide", "message_en"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert next(iter(summary)) == "rules_not_checked"
    assert summary["verdicts"]["pass"] == 0


def test_power_line_with_null_voltage_is_not_guessed(tmp_path: Path) -> None:
    d = ws_dir(tmp_path)
    gk([LineString([(X0, Y0), (X0 + 500, Y0)])], voltage_kv=[None]).to_file(d / "power_line.gpkg")
    res = geoplan.check(gk([box(X0 + 10, Y0 + 3, X0 + 20, Y0 + 13)]), d)
    f = res.findings.set_index("rule_id").loc["house.power_line"]
    assert f["status"] == "not_checked"
    assert "no usable voltage_kv" in f["message_en"]


def _dem(path: Path, *, crs: str = "EPSG:4536", hole: bool = False) -> None:
    import rasterio
    from rasterio.transform import from_origin

    z = np.tile(np.arange(40, dtype="float32") * 3.0, (40, 1))  # 3 m per 30 m cell → 5.71°
    if hole:
        z[10:20, 10:20] = -9999
    with rasterio.open(path, "w", driver="GTiff", width=40, height=40, count=1, dtype="float32",
                       crs=crs, transform=from_origin(X0, Y0 + 1200, 30, 30),
                       nodata=-9999) as dst:
        dst.write(z, 1)


def test_dem_nodata_hole_and_sites_off_the_dem(tmp_path: Path) -> None:
    d = ws_dir(tmp_path)
    _dem(d / "dem.tif", hole=True)
    gk([box(X0 - 900, Y0 - 900, X0 - 890, Y0 - 890)]).to_file(d / "flood_zone.gpkg")
    sites = gk([box(X0 + 420, Y0 + 720, X0 + 430, Y0 + 730),   # inside the nodata hole
                box(X0 + 900, Y0 + 300, X0 + 910, Y0 + 310),   # on data
                box(X0 - 500, Y0 - 500, X0 - 490, Y0 - 490)],  # off the DEM, in the workspace
               site_id=["hole", "ok", "off"])
    f = geoplan.check(sites, d).findings
    f = f[f.rule_id == "house.slope"].set_index("site_id")
    assert f.loc["hole", "status"] == "not_checked"
    assert f.loc["ok", "status"] == "pass"
    assert f.loc["ok", "measure"] == pytest.approx(np.degrees(np.arctan(0.1)), abs=1e-4)
    assert f.loc["off", "status"] == "error"


# ===================================================================== sites


def test_duplicate_and_missing_ids_with_id_field(tmp_path: Path, small_workspace: Path) -> None:
    dup = _houses(tmp_path / "dup.gpkg", [Point(X0, Y0), Point(X0 + 5, Y0)], code=["A", "A"])
    code, out = cli("check", str(dup), "-w", str(small_workspace), "--id-field", "code")
    assert code == 2
    assert "duplicate values: A" in out
    miss = _houses(tmp_path / "miss.gpkg", [Point(X0, Y0), Point(X0 + 5, Y0)], code=["A", None])
    code, out = cli("check", str(miss), "-w", str(small_workspace), "--id-field", "code")
    assert code == 2
    assert "is empty in row(s) 2" in out
    code, out = cli("check", str(miss), "-w", str(small_workspace), "--id-field", "nope")
    assert code == 2
    assert "id field 'nope' is not in the sites" in out


def _csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_swapped_lat_lon_in_csv_is_a_site_error(tmp_path: Path, small_workspace: Path) -> None:
    csv = _csv(tmp_path / "s.csv", "id,lon,lat\nA,81.30,43.92\nB,43.92,81.30\n")
    out = tmp_path / "out"
    code, _ = cli("check", str(csv), "-w", str(small_workspace), "-o", str(out))
    assert code == 0
    f = _findings(out)
    b = f[f.site_id == "B"]
    assert set(b["status"]) == {"error"}
    assert "swapped" in b["message_en"].iloc[0]


def test_far_outside_and_unparseable_coordinates(tmp_path: Path, small_workspace: Path) -> None:
    csv = _csv(tmp_path / "s.csv", "id,经度,纬度\nfar,87.6,43.8\nbad,abc,43.9\nempty,,\n")
    out = tmp_path / "out"
    code, _ = cli("check", str(csv), "-w", str(small_workspace), "-o", str(out))
    assert code == 0
    v = pd.read_csv(out / "verdicts.csv", encoding="utf-8-sig").set_index("site_id")
    assert list(v.index) == ["far", "bad", "empty"]   # nothing dropped
    assert set(v["verdict"]) == {"error"}
    assert "outside the workspace" in v.loc["far", "reasons_en"]
    # issue 11: an unreadable value is named with its row, never "no geometry"
    assert "cannot read 经度 'abc' (row 2)" in v.loc["bad", "reasons_en"]
    assert "no geometry" not in v.loc["bad", "reasons_en"]
    assert "经度 is empty (row 3)" in v.loc["empty", "reasons_en"]


def test_invalid_footprint_repaired_empty_is_error(tmp_path: Path, small_workspace: Path) -> None:
    bow = Polygon([(X0 + 10, Y0 + 10), (X0 + 30, Y0 + 30), (X0 + 30, Y0 + 10),
                   (X0 + 10, Y0 + 30)])
    sites = gk([bow, Polygon(), LineString([(X0, Y0), (X0, Y0)])], house_id=["bow", "empty",
                                                                             "degenerate"])
    res = geoplan.check(sites, small_workspace, subject="house")
    v = res.verdicts.set_index("site_id")
    assert v.loc["bow", "verdict"] == "fail"
    assert "repaired" in v.loc["bow", "notes"]
    assert v.loc["empty", "verdict"] == "error"
    assert v.loc["degenerate", "verdict"] == "error"


def test_road_without_width(tmp_path: Path, small_workspace: Path) -> None:
    roads = gk([LineString([(X0 + 10, Y0 + 50), (X0 + 90, Y0 + 50)])], road_id=["R"],
               width_m=[None])
    res = geoplan.check(roads, small_workspace)
    f = res.findings.set_index("rule_id")
    assert f.loc["road.width", "status"] == "not_checked"
    assert "no width_m value" in f.loc["road.width", "message_en"]


def test_csv_with_mixed_encodings(tmp_path: Path, small_workspace: Path) -> None:
    raw = (b"id,name,lon,lat\n" + "A,巴彦岱村,81.30,43.92\n".encode()
           + "B,潘津村,81.31,43.92\n".encode("gbk"))
    p = tmp_path / "mixed.csv"
    p.write_bytes(raw)
    code, out = cli("check", str(p), "-w", str(small_workspace))
    assert code == 2
    assert "mixed text encodings" in out
    assert "line(s) 2" in out
    assert "line(s) 3" in out


def test_gbk_csv_is_read(tmp_path: Path, small_workspace: Path) -> None:
    p = _csv(tmp_path / "gbk.csv", "编号,村名,lon,lat\nA,巴彦岱村,81.30,43.92\n", "gbk")
    out = tmp_path / "out"
    code, _ = cli("check", str(p), "-w", str(small_workspace), "-o", str(out), "-q")
    assert code == 0
    v = pd.read_csv(out / "verdicts.csv", encoding="utf-8-sig")
    assert v["村名"].tolist() == ["巴彦岱村"]


def test_zero_row_file(tmp_path: Path, small_workspace: Path) -> None:
    empty = gpd.GeoDataFrame({"house_id": pd.Series([], dtype=str)}, geometry=[], crs=4490)
    empty.to_file(tmp_path / "empty.gpkg")
    code, out = cli("check", str(tmp_path / "empty.gpkg"), "-w", str(small_workspace))
    assert code == 2
    assert "has no rows" in out
    _csv(tmp_path / "empty.csv", "id,lon,lat\n")
    code, out = cli("check", str(tmp_path / "empty.csv"), "-w", str(small_workspace))
    assert code == 2
    assert "has no rows" in out


def test_gcj02_passed_as_wgs84_moves_sites_by_the_offset(tmp_path: Path) -> None:
    """Undetectable from the data: documented; the --gcj02 flag is the fix."""
    from geoplan.crs import wgs84_to_gcj02

    lon, lat = 81.3, 43.92
    glon, glat = wgs84_to_gcj02(lon, lat)
    pts = gpd.GeoSeries([Point(lon, lat), Point(glon, glat)], crs=4490).to_crs(4536)
    assert 250 < pts.iloc[0].distance(pts.iloc[1]) < 300
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "--gcj02" in readme
    assert "cannot tell them from WGS84" in readme


# ===================================================================== rule packs


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (('kind = "avoid"', 'kind = "buffer"'), "field 'kind': unknown kind 'buffer'"),
        (('layer = "flood_zone"', 'layer = "floods"'), "field 'layer': unknown layer kind"),
        (("tolerance_m2 = 1.0", "tolerance_m2 = -1.0"), "must not be negative"),
        (("tolerance_m2 = 1.0", 'tolerance_m2 = "one"'), "must be a number"),
    ],
)
def test_bad_pack_exit_2(tmp_path: Path, small_workspace: Path, edit, fragment: str) -> None:
    body = ('[pack]\nname = "p"\n[[rules]]\nid = "h.z"\nsubject = "house"\nkind = "avoid"\n'
            'layer = "flood_zone"\nseverity = "fail"\nclause = "(十一)"\ntitle_zh = "z"\n'
            'title_en = "z"\ntolerance_m2 = 1.0\n')
    pack = tmp_path / "p.toml"
    pack.write_text(body.replace(*edit), encoding="utf-8")
    sites = _houses(tmp_path / "h.gpkg", [Point(X0, Y0)], house_id=["H"])
    code, out = cli("check", str(sites), "-w", str(small_workspace), "--rules", str(pack))
    assert code == 2
    assert "p.toml" in out
    assert "'h.z'" in out
    assert fragment in out


def test_duplicate_rule_id_exit_2(tmp_path: Path, small_workspace: Path) -> None:
    rule = ('[[rules]]\nid = "h.z"\nsubject = "house"\nkind = "avoid"\nlayer = "flood_zone"\n'
            'clause = "(十一)"\ntitle_zh = "z"\ntitle_en = "z"\n')
    pack = tmp_path / "p.toml"
    pack.write_text('[pack]\nname = "p"\n' + rule + rule, encoding="utf-8")
    sites = _houses(tmp_path / "h.gpkg", [Point(X0, Y0)], house_id=["H"])
    code, out = cli("check", str(sites), "-w", str(small_workspace), "--rules", str(pack))
    assert code == 2
    assert "duplicate rule id" in out


def test_where_naming_a_missing_field_is_not_checked(tmp_path: Path,
                                                    small_workspace: Path) -> None:
    pack = tmp_path / "p.toml"
    pack.write_text('[pack]\nname = "p"\n[[rules]]\nid = "h.z"\nsubject = "house"\n'
                    'kind = "avoid"\nlayer = "flood_zone"\nwhere = "grade == 1"\n'
                    'clause = "(十一)"\ntitle_zh = "z"\ntitle_en = "z"\n', encoding="utf-8")
    res = geoplan.check(gk([box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20)]), small_workspace,
                        rules=pack)
    f = res.findings.iloc[0]
    assert f["status"] == "not_checked"
    assert "grade" in f["message_en"]
    assert "flood_zone" in f["message_en"]


# ===================================================================== nothing lost


def test_outputs_are_written_whole_or_not_at_all(tmp_path: Path, small_workspace: Path,
                                                 monkeypatch) -> None:
    from geoplan.result import Result

    sites = gk([box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20)], house_id=["H1"])
    out = tmp_path / "out"
    geoplan.check(sites, small_workspace).to_files(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(self, path, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(Result, "_write_gpkg", boom)
    sites2 = gk([box(X0 + 500, Y0, X0 + 510, Y0 + 10)], house_id=["H2"])
    with pytest.raises(OSError, match="simulated"):
        geoplan.check(sites2, small_workspace).to_files(out)
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before  # the earlier outputs are untouched, no temp folder left


def test_running_twice_gives_identical_outputs(tmp_path: Path, small_workspace: Path) -> None:
    sites = gk([box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20), Point(X0 + 700, Y0 + 50)],
               house_id=["H1", "H2"], owner=["甲", "乙"])
    a, b = tmp_path / "a", tmp_path / "b"
    geoplan.check(sites, small_workspace).to_files(a)
    geoplan.check(sites, small_workspace).to_files(b)
    for name in ("findings.csv", "verdicts.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    sa = json.loads((a / "summary.json").read_text(encoding="utf-8"))
    sb = json.loads((b / "summary.json").read_text(encoding="utf-8"))
    for volatile in ("started_utc", "started_local", "run_seconds"):
        sa.pop(volatile)
        sb.pop(volatile)
    assert sa == sb
    for layer in ("verdicts", "findings", "evidence"):
        ga = gpd.read_file(a / "results.gpkg", layer=layer)
        gb = gpd.read_file(b / "results.gpkg", layer=layer)
        pd.testing.assert_frame_equal(pd.DataFrame(ga), pd.DataFrame(gb))


def test_toml_paths_resolve_relative_to_the_file(tmp_path: Path) -> None:
    """Paths in geoplan.toml are read relative to it; geoplan writes only into --out."""
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    gk([ZONE]).to_file(data / "sub" / "zones.gpkg")
    cfg_dir = tmp_path / "cfg"
    cfg_dir.mkdir()
    (cfg_dir / "geoplan.toml").write_text(
        '[layers.flood_zone]\npath = "../data/sub/zones.gpkg"\n', encoding="utf-8")
    ws = geoplan.open_workspace(cfg_dir)
    assert ws["flood_zone"].path.resolve() == (data / "sub" / "zones.gpkg").resolve()
    before = sorted(p for p in tmp_path.rglob("*"))
    out = tmp_path / "out"
    geoplan.check(gk([box(X0 + 1, Y0 + 1, X0 + 2, Y0 + 2)]), ws).to_files(out)
    new = sorted(set(tmp_path.rglob("*")) - set(before))
    assert all(out in p.parents or p == out for p in new)


def test_notebook_html_reprs_escape_data_text(tmp_path: Path, small_workspace: Path) -> None:
    payload = "<img src=x onerror=alert(1)>"
    sites = gk([box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20)], house_id=[payload])
    res = geoplan.check(sites, small_workspace)
    html = res._repr_html_()
    assert payload not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    d = tmp_path / "w"
    d.mkdir()
    gk([ZONE], name=[payload]).to_file(d / "flood_zone.gpkg")
    ws_html = geoplan.open_workspace(d)._repr_html_()
    assert "<img" not in ws_html


def test_subject_without_rules_is_refused_not_passed(small_workspace: Path) -> None:
    with pytest.raises(geoplan.RulePackError, match="no rules for 'project'"):
        geoplan.check(gk([box(X0, Y0, X0 + 5, Y0 + 5)]), small_workspace, subject="project")


# ===================================================================== issue 11: packs, --out, CSV

_SETBACK_PACK = ('[pack]\nname = "p"\n[[rules]]\nid = "h.g"\nsubject = "house"\n'
                 'kind = "setback"\nlayer = "gully"\nclause = "(十一)"\ntitle_zh = "g"\n'
                 'title_en = "g"\ndistance_m = 10.0\n')
_PROX_PACK = _SETBACK_PACK.replace('kind = "setback"', 'kind = "proximity"').replace(
    "distance_m = 10.0", "max_distance_m = 500.0")


@pytest.mark.parametrize(
    ("body", "key", "fragment"),
    [
        # TOML allows inf and nan
        (_SETBACK_PACK.replace("10.0", "inf"), "distance_m", "must be a finite number"),
        (_SETBACK_PACK.replace("10.0", "-inf"), "distance_m", "must be a finite number"),
        (_SETBACK_PACK.replace("10.0", "nan"), "distance_m", "must be a finite number"),
        (_SETBACK_PACK.replace("10.0", '{ value = inf, source = "x", verified = true }'),
         "distance_m", "must be a finite number"),
        # beyond any geometry
        (_SETBACK_PACK.replace("10.0", "1e308"), "distance_m", "beyond any geometry"),
        (_SETBACK_PACK.replace("10.0", "2e7"), "distance_m", "largest accepted is 1e+07"),
        (_PROX_PACK.replace("500.0", "1e308"), "max_distance_m", "beyond any geometry"),
        (_SETBACK_PACK.replace('kind = "setback"\nlayer = "gully"',
                               'kind = "avoid"\nlayer = "flood_zone"')
         .replace("distance_m = 10.0", "tolerance_m2 = 1e13"), "tolerance_m2",
         "largest accepted is 1e+12"),
        (_SETBACK_PACK.replace("distance_m = 10.0", 'distance_table = { field = "voltage_kv", '
                                                    'rows = [{ upto = 10, distance_m = 1e308 }] }')
         .replace('"gully"', '"power_line"'), "distance_table.rows[1].distance_m",
         "beyond any geometry"),
        # wrong types (bool is an int in Python; a list or text where a table or number belongs)
        (_SETBACK_PACK.replace("10.0", "true"), "distance_m", "got the boolean true"),
        (_SETBACK_PACK.replace("10.0", '"10"'), "distance_m", "got the text '10'"),
        (_SETBACK_PACK.replace("10.0", "[10.0]"), "distance_m", "got a list"),
        (_SETBACK_PACK.replace("10.0", '{ value = 10, verified = "yes", source = "x" }'),
         "distance_m", "verified must be true or false"),
        (_SETBACK_PACK.replace("10.0", "{ value = 10, source = 5 }"), "distance_m",
         "source must be text"),
        (_SETBACK_PACK + 'basis = "水污染防治法"\n', "basis", "got the text"),
        (_SETBACK_PACK + 'basis = ["x"]\n', "basis", "got a list"),
        (_SETBACK_PACK.replace('layer = "gully"', 'layer = ["gully"]'), "layer",
         "unknown layer kind"),
        (_SETBACK_PACK.replace('subject = "house"', 'subject = ["house"]'), "subject",
         "must be one of"),
        (_SETBACK_PACK.replace("distance_m = 10.0", 'distance_table = [{ upto = 10, '
                                                    'distance_m = 5 }]')
         .replace('"gully"', '"power_line"'), "distance_table", "got a list"),
        (_SETBACK_PACK.replace("distance_m = 10.0", 'distance_table = { field = "voltage_kv", '
                                                    "rows = 5 }")
         .replace('"gully"', '"power_line"'), "distance_table.rows", "must be a list"),
        (_SETBACK_PACK.replace("distance_m = 10.0", 'distance_table = { field = "voltage_kv", '
                                                    'verified = "yes", rows = [{ upto = 10, '
                                                    "distance_m = 5 }] }")
         .replace('"gully"', '"power_line"'), "distance_table", "verified must be true or false"),
    ],
)
def test_pack_with_non_finite_huge_or_mistyped_figures_exit_2(
        tmp_path: Path, small_workspace: Path, body: str, key: str, fragment: str) -> None:
    pack = tmp_path / "p.toml"
    pack.write_text(body, encoding="utf-8")
    sites = _houses(tmp_path / "h.gpkg", [Point(X0, Y0)], house_id=["H"])
    r = CliRunner().invoke(main, ["check", str(sites), "-w", str(small_workspace),
                                  "--rules", str(pack)])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    msg = r.stderr
    assert "p.toml" in msg
    assert "rule 'h.g'" in msg
    assert f"field '{key}'" in msg
    assert fragment in msg


def test_pack_meta_of_the_wrong_type_exit_2(tmp_path: Path, small_workspace: Path) -> None:
    pack = tmp_path / "p.toml"
    pack.write_text(_SETBACK_PACK.replace('[pack]\nname = "p"\n',
                                          '[pack]\nname = "p"\ndisable = [["h.g"]]\n'),
                    encoding="utf-8")
    sites = _houses(tmp_path / "h.gpkg", [Point(X0, Y0)], house_id=["H"])
    code, out = cli("check", str(sites), "-w", str(small_workspace), "--rules", str(pack))
    assert code == 2
    assert "p.toml: [pack] disable entry #1 must be a table" in out


def test_unwritable_out_folder_exit_2(tmp_path: Path, small_workspace: Path) -> None:
    blocker = tmp_path / "report.docx"
    blocker.write_text("not a folder", encoding="utf-8")
    sites = _houses(tmp_path / "h.gpkg", [Point(X0, Y0)], house_id=["H"])
    code, out = cli("check", str(sites), "-w", str(small_workspace), "-o",
                    str(blocker / "results"))
    assert code == 2
    assert f"{blocker / 'results'}: the output folder (--out) cannot be created" in out
    assert "is a file, not a folder" in out


def test_formula_text_in_site_attributes_is_neutralised_in_csv(tmp_path: Path,
                                                               small_workspace: Path) -> None:
    sites = _houses(tmp_path / "h.gpkg", [Point(X0 + 500, Y0 + 500)], house_id=["H"],
                    owner=['=HYPERLINK("http://x","y")'])
    out = tmp_path / "out"
    code, _ = cli("check", str(sites), "-w", str(small_workspace), "-o", str(out), "-q")
    assert code == 0
    text = (out / "verdicts.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text
    assert ',"=HYPERLINK' not in text
    assert gpd.read_file(out / "results.gpkg", layer="verdicts")["owner"].iloc[0].startswith("=")


def test_power_line_with_null_voltage_inside_every_corridor_fails(tmp_path: Path) -> None:
    # the house's southern edge is 0.4 m from the line; every corridor is ≥ 1 m
    d = ws_dir(tmp_path)
    gk([LineString([(X0, Y0), (X0 + 500, Y0)])], voltage_kv=[None]).to_file(d / "power_line.gpkg")
    res = geoplan.check(gk([box(X0 + 10, Y0 + 0.4, X0 + 20, Y0 + 10.4)]), d)
    f = res.findings.set_index("rule_id").loc["house.power_line"]
    assert f["status"] == "fail"
    assert f["threshold"] == 1.0
    assert "whatever the value" in f["message_en"]


# ----------------------------------------------------------------- sites as delivered (issue 11)


_OUTPUTS = ("findings.csv", "verdicts.csv", "results.gpkg", "map.html", "report.html",
            "summary.json")


@pytest.mark.parametrize(("name", "content", "fragment"), [
    ("web.xls", b"<html><table><tr><td>lon</td></tr></table></html>",
     "is not an Excel workbook, though it is named .xls"),
    ("broken.xlsx", b"PK\x03\x04" + b"\x00" * 60, "cannot be read as an Excel workbook"),
])
def test_unreadable_workbook_exit_2(tmp_path: Path, small_workspace: Path, name: str,
                                    content: bytes, fragment: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    code, out = cli("check", str(path), "-w", str(small_workspace))
    assert code == 2
    assert fragment in out


def test_workbook_empty_sheet_and_missing_sheet_exit_2(tmp_path: Path,
                                                       small_workspace: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "空"
    wb.create_sheet("sites").append(["lon", "lat"])
    path = tmp_path / "s.xlsx"
    wb.save(path)
    code, out = cli("check", str(path), "-w", str(small_workspace))
    assert code == 2
    assert "sheet '空': is empty" in out
    code, out = cli("check", str(path), "-w", str(small_workspace), "--sheet", "houses")
    assert code == 2
    assert "has no sheet 'houses'; its sheets are 空, sites" in out
    code, out = cli("check", str(path), "-w", str(small_workspace), "--sheet", "sites")
    assert code == 2
    assert "has no rows" in out


def test_every_coordinate_unreadable_still_writes_every_output(tmp_path: Path,
                                                               small_workspace: Path) -> None:
    csv = _csv(tmp_path / "s.csv", "id,经度,纬度\nA,81°75′,43.9\nB,nan,43.9\nC,东经,北纬\n")
    out = tmp_path / "out"
    code, text = cli("check", str(csv), "-w", str(small_workspace), "-o", str(out))
    assert code == 0, text
    for name in _OUTPUTS:
        assert (out / name).exists(), name
    v = pd.read_csv(out / "verdicts.csv", encoding="utf-8-sig").set_index("site_id")
    assert set(v["verdict"]) == {"error"}
    assert "minutes and seconds must be below 60" in v.loc["A", "reasons_en"]
    assert "cannot read 经度 'nan' (row 2): not a finite number" in v.loc["B", "reasons_en"]
    assert "cannot read 纬度 '北纬' (row 3)" in v.loc["C", "reasons_en"]


def test_geometrycollection_sites_through_every_output(tmp_path: Path,
                                                       small_workspace: Path) -> None:
    from shapely import GeometryCollection

    fp = box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20)   # 100 m² inside the flood square
    sites = _houses(tmp_path / "gc.gpkg",
                    [GeometryCollection([fp, Point(X0 - 900, Y0 - 900)]),
                     GeometryCollection([Point(X0 + 5, Y0 + 5), Point(X0 + 6, Y0 + 6)])],
                    house_id=["fp_and_point", "points_only"])
    out = tmp_path / "out"
    code, text = cli("check", str(sites), "-w", str(small_workspace), "-o", str(out))
    assert code == 0, text
    for name in _OUTPUTS:
        assert (out / name).exists(), name
    f = _findings(out).set_index(["site_id", "rule_id"])
    assert f.loc[("fp_and_point", "house.flood_zone"), "status"] == "fail"
    assert f.loc[("fp_and_point", "house.flood_zone"), "measure"] == pytest.approx(100.0, abs=1e-3)
    assert set(f.loc["points_only", "status"]) == {"error"}
    assert "GeometryCollection without a polygon or line part" in \
        f.loc[("points_only", "house.flood_zone"), "message_en"]


def test_coordinate_system_column_with_gcj02_flag_exit_2(tmp_path: Path,
                                                         small_workspace: Path) -> None:
    csv = _csv(tmp_path / "s.csv", "id,lon,lat,坐标系\nA,81.30,43.92,高德\n")
    code, out = cli("check", str(csv), "-w", str(small_workspace), "--gcj02")
    assert code == 2
    assert "column '坐标系' gives each row's coordinate system, and --gcj02" in out


# ===================================================================== issue 11: CRS, .gdb


def test_layer_without_prj_in_zone_27_gets_the_zone_proposed(tmp_path: Path) -> None:
    d = ws_dir(tmp_path)
    gk([ZONE]).to_crs(4515).to_file(d / "flood_zone.shp")
    (d / "flood_zone.prj").unlink()
    code, out = cli("layers", str(d))
    assert code == 2
    assert '[layers.flood_zone] crs = "EPSG:4515"' in out
    assert "zone number 27" in out
    assert "Traceback" not in out


def test_beijing_1954_layer_exit_2_names_both_ways(tmp_path: Path) -> None:
    d = ws_dir(tmp_path)
    gpd.GeoDataFrame({"level": ["1"]}, geometry=[ZONE], crs=2424).to_file(d / "flood_zone.shp")
    code, out = cli("layers", str(d))
    assert code == 2
    assert "flood_zone.shp" in out
    assert "Beijing 1954 datum" in out
    assert "towgs84 = [dx, dy, dz]" in out
    assert "datum_shift_accuracy_m = 100" in out
    assert "Traceback" not in out
    (d / "geoplan.toml").write_text("[layers.flood_zone]\ntowgs84 = [1, 2]\n", encoding="utf-8")
    code, out = cli("layers", str(d))
    assert code == 2
    assert "[layers.flood_zone].towgs84 must be 3 numbers" in out


def test_beijing_1954_sites_exit_2(tmp_path: Path, small_workspace: Path) -> None:
    csv = _csv(tmp_path / "s.csv", f"id,x,y\nA,{X0 + 500},{Y0 + 500}\n")
    code, out = cli("check", str(csv), "-w", str(small_workspace), "--crs", "EPSG:2424",
                    "-o", str(tmp_path / "out"))
    assert code == 2
    assert "s.csv" in out
    assert "Beijing 1954" in out
    assert '--crs "EPSG:2424 +towgs84=dx,dy,dz"' in out
    assert "Traceback" not in out


def _sites_without_crs(path: Path, x: float, y: float) -> Path:
    """One 12 m house at (x, y) in a file without a CRS (a Shapefile without its .prj, GBK)."""
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        gpd.GeoDataFrame({"宗地编号": ["H1"]}, geometry=[box(x - 6, y - 6, x + 6, y + 6)]).to_file(
            path, encoding="gbk" if path.suffix == ".shp" else None)
    assert not path.with_suffix(".prj").exists()
    return path


@pytest.mark.parametrize("suffix", [".shp", ".fgb"])  # read whole; streamed by engine="chunked"
@pytest.mark.parametrize(("offset", "crs", "expected"), [
    # EPSG:4515 is EPSG:4536's projection with the zone number 27 in the false easting
    # (27 500 000 m instead of 500 000 m): the number names the zone
    (27_000_000, "EPSG:4515", "--crs EPSG:4515 (crs=)"),
    # without the zone number the central meridian is not in the numbers: the choice is listed
    (0, "EPSG:4536", "--crs EPSG:… (one of EPSG:4534–4554)"),
])
def test_sites_without_a_crs_exit_2_with_the_crs_their_numbers_propose(
        tmp_path: Path, small_workspace: Path, suffix: str, offset: float, crs: str,
        expected: str) -> None:
    x, y = X0 + 500 + offset, Y0 + 500  # the centre of small_workspace's flood square
    path = _sites_without_crs(tmp_path / f"houses{suffix}", x, y)
    prj = " (.prj file missing)" if suffix == ".shp" else ""
    code, out = cli("check", str(path), "-w", str(small_workspace), "-o", str(tmp_path / "o"))
    assert code == 2
    assert "Traceback" not in out
    assert not (tmp_path / "o").exists()
    assert f"{path}: the sites have no CRS{prj}; geoplan will not guess it." in out
    assert expected in out
    assert f"选址文件没有坐标系{'（缺少 .prj 文件）' if prj else ''}" in out
    for engine in ("local", "chunked"):
        with pytest.raises(geoplan.CRSError, match=re.escape(expected)):
            geoplan.check(path, small_workspace, engine=engine)
    # with the CRS given, the house in the flood square fails
    res = geoplan.check(path, small_workspace, crs=crs)
    assert res.findings.set_index("rule_id").loc["house.flood_zone", "status"] == "fail"


def test_sites_in_degrees_without_a_crs_are_proposed_cgcs2000(tmp_path: Path) -> None:
    path = _sites_without_crs(tmp_path / "houses.shp", 81.3, 43.92)
    with pytest.raises(geoplan.CRSError, match=r"Proposed: pass --crs EPSG:4490 \(crs=\)"):
        geoplan.read_sites(path)


def test_gdb_feature_class_missing_exit_2(tmp_path: Path) -> None:
    d = ws_dir(tmp_path)
    gk([ZONE], DLBM=["0101"]).to_file(d / "三调.gdb", driver="OpenFileGDB", layer="DLTB")
    (d / "geoplan.toml").write_text('[layers.landuse]\npath = "三调.gdb"\nlayer = "地类图斑"\n'
                                    'fields = { code = "DLBM" }\n', encoding="utf-8")
    code, out = cli("layers", str(d))
    assert code == 2
    assert "has no feature class '地类图斑'" in out
    assert "it holds DLTB" in out
    assert "Traceback" not in out


# ===================================================================== values and filters (issue 11)


def _water_ws(tmp_path: Path, levels: list[object], toml: str | None = None) -> Path:
    d = ws_dir(tmp_path)
    gk([box(X0 + 200 * i, Y0, X0 + 200 * i + 100, Y0 + 100) for i in range(len(levels))],
       level=levels).to_file(d / "water_source_zone.gpkg")
    if toml is not None:
        (d / "geoplan.toml").write_text(toml, encoding="utf-8")
    return d


@pytest.mark.parametrize(("levels", "site_x", "status", "fragment"), [
    # the delivered text: read as level 1, the house inside fails
    (["一级保护区", "二级保护区"], 10, "fail", "overlaps"),
    # unreadable text: the house inside is not passed
    (["A区", "二级保护区"], 10, "not_checked", "'A区' ×1 (not understood)"),
    # every level NULL: not checked anywhere
    ([None, None], 1000, "not_checked", "NULL ×2"),
    # all level 2: the level-1 filter selects nothing
    (["二级", "二级"], 1000, "not_checked", "selected none of the 2 features"),
])
def test_water_source_levels_as_delivered(tmp_path: Path, levels: list[object], site_x: float,
                                          status: str, fragment: str) -> None:
    d = _water_ws(tmp_path, levels)
    sites = _houses(tmp_path / "h.gpkg", [box(X0 + site_x, Y0 + 10, X0 + site_x + 10, Y0 + 20)])
    out = tmp_path / "out"
    code, text = cli("check", str(sites), "-w", str(d), "-o", str(out))
    assert code == 0, text
    assert "Traceback" not in text
    f = _findings(out).set_index("rule_id").loc["house.water_source_l1"]
    assert f["status"] == status
    assert fragment in f["message_en"]


@pytest.mark.parametrize(("toml", "fragment"), [
    ('[layers.water_source_zone]\nvalues.level = { "A区" = 9 }\n',
     "is not a value geoplan reads for level"),
    ('[layers.water_source_zone]\nvalues.lvl = { "A区" = 1 }\n',
     "values.lvl maps values of a field that is not"),
    ('[layers.water_source_zone]\nvalues = "level"\n', "must be tables per field"),
])
def test_bad_value_mappings_exit_2(tmp_path: Path, toml: str, fragment: str) -> None:
    d = _water_ws(tmp_path, ["A区"], toml)
    sites = _houses(tmp_path / "h.gpkg", [box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20)])
    code, text = cli("check", str(sites), "-w", str(d), "-o", str(tmp_path / "out"))
    assert code == 2
    assert fragment in text
    assert "Traceback" not in text


def test_layer_filter_keeping_nothing_or_undecided_rows_is_said(tmp_path: Path) -> None:
    d = ws_dir(tmp_path)
    gk([LineString([(X0, Y0), (X0 + 500, Y0)]), LineString([(X0, Y0 + 300), (X0 + 500, Y0 + 300)])],
       voltage_kv=[10.0, 10.0], status=["现状", None]).to_file(d / "power_line.gpkg")
    (d / "geoplan.toml").write_text("[layers.power_line]\nwhere = \"status != '拆除'\"\n",
                                    encoding="utf-8")
    code, text = cli("layers", str(d))
    assert code == 0
    assert "cannot decide 1 feature" in text
    # a house straddling the line of unknown status is not passed
    sites = _houses(tmp_path / "h.gpkg", [box(X0 + 10, Y0 + 295, X0 + 20, Y0 + 305)])
    code, text = cli("check", str(sites), "-w", str(d), "-o", str(tmp_path / "out"))
    assert code == 0
    assert "DATA WARNINGS" in text
    assert _findings(tmp_path / "out").set_index("rule_id").loc[
        "house.power_line", "status"] == "not_checked"
