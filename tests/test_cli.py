"""The command line as a user runs it: a real subprocess, exit codes and output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from conftest import X0, Y0, gk
from shapely import LineString, Point, box

import geoplan


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "geoplan.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.mark.slow  # seven command-line runs, each a fresh interpreter
def test_version_and_help() -> None:
    r = run("--version")
    assert r.returncode == 0
    assert geoplan.__version__ in r.stdout
    for cmd in ("layers", "init", "check", "rules", "demo", "sample"):
        h = run(cmd, "--help")
        assert h.returncode == 0, cmd
        assert "Usage" in h.stdout


def test_layers_lists_kinds_counts_crs(small_workspace: Path) -> None:
    r = run("layers", str(small_workspace))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "EPSG:4536" in out
    for kind, label in (("flood_zone", "洪水淹没区"), ("power_line", "电力线路"), ("village", "村庄")):
        assert kind in out
        assert label in out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("power_line"))
    assert " 2 " in line  # two features
    js = run("layers", str(small_workspace), "--json")
    assert js.returncode == 0
    assert '"working_crs": "EPSG:4536"' in js.stdout


def test_layers_bad_workspace_exit_2(tmp_path: Path, flood_square) -> None:
    d = tmp_path / "w"
    d.mkdir()
    flood_square.to_file(d / "flood_zone.shp")
    (d / "flood_zone.prj").unlink()
    r = run("layers", str(d))
    assert r.returncode == 2
    assert "no coordinate reference system" in r.stderr
    assert "Traceback" not in r.stderr
    r = run("layers", str(tmp_path / "missing"))
    assert r.returncode == 2


def test_rules_table() -> None:
    r = run("rules")
    assert r.returncode == 0
    assert "house.power_line" in r.stdout
    assert "(七)" in r.stdout
    assert "NO (placeholder)" in r.stdout  # the unverified gully and 15° figures
    bad = run("rules", "no-such-pack")
    assert bad.returncode == 2
    assert "no built-in rule pack" in bad.stderr


@pytest.mark.slow
def test_check_writes_outputs_and_fail_on(tmp_path: Path, small_workspace: Path) -> None:
    sites = gk([box(X0 + 10, Y0 + 10, X0 + 20, Y0 + 20), box(X0 + 1500, Y0 + 1500,
                                                          X0 + 1510, Y0 + 1510)],
               house_id=["H1", "H2"])
    f = tmp_path / "houses.gpkg"
    sites.to_crs(4490).to_file(f)
    out = tmp_path / "out"
    r = run("check", str(f), "--workspace", str(small_workspace), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "NOT CHECKED" in r.stdout  # most layers are absent from this workspace
    for name in ("findings.csv", "verdicts.csv", "results.gpkg", "summary.json"):
        assert (out / name).exists(), name
    r = run("check", str(f), "--workspace", str(small_workspace), "--fail-on", "fail", "-q")
    assert r.returncode == 1  # H1 is in the flood zone


@pytest.mark.slow
def test_check_csv_with_lonlat_and_gcj02(tmp_path: Path, small_workspace: Path) -> None:
    import numpy as np

    from geoplan.crs import wgs84_to_gcj02

    # A point in the middle of the flood square, in lon/lat, and its GCJ-02 image.
    centre = gpd.GeoSeries([Point(X0 + 500, Y0 + 500)], crs=4536).to_crs(4490).iloc[0]
    glon, glat = wgs84_to_gcj02(np.array([centre.x]), np.array([centre.y]))
    csv = tmp_path / "sites.csv"
    csv.write_text(f"编号,lon,lat\nA,{glon[0]:.8f},{glat[0]:.8f}\n", encoding="utf-8")
    out_plain = tmp_path / "plain"
    out_gcj = tmp_path / "gcj"
    assert run("check", str(csv), "-w", str(small_workspace), "-o", str(out_plain),
               "-q").returncode == 0
    assert run("check", str(csv), "-w", str(small_workspace), "-o", str(out_gcj), "--gcj02",
               "-q").returncode == 0
    import pandas as pd

    plain = pd.read_csv(out_plain / "findings.csv", encoding="utf-8-sig")
    gcj = pd.read_csv(out_gcj / "findings.csv", encoding="utf-8-sig")
    fz_plain = plain[plain.rule_id == "house.flood_zone"].iloc[0]
    fz_gcj = gcj[gcj.rule_id == "house.flood_zone"].iloc[0]
    # Converted, the point is back in the middle of the square: inside the flood zone.
    assert fz_gcj["status"] == "fail"
    assert str(fz_gcj["site_id"]) == "A"
    # Unconverted, the site sits 250–300 m away from where it was meant to be.
    from shapely import wkt

    def where(out: Path) -> Point:
        v = pd.read_csv(out / "verdicts.csv", encoding="utf-8-sig")
        return gpd.GeoSeries([wkt.loads(v["wkt"].iloc[0])], crs=4490).to_crs(4536).iloc[0]

    offset = where(out_plain).distance(where(out_gcj))
    assert 250 < offset < 300
    assert where(out_gcj).distance(Point(X0 + 500, Y0 + 500)) < 0.05
    assert fz_plain["site_id"] == fz_gcj["site_id"]


def test_check_unusable_input_exit_2(tmp_path: Path, small_workspace: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("name,foo\n甲,1\n", encoding="utf-8")
    r = run("check", str(csv), "-w", str(small_workspace))
    assert r.returncode == 2
    assert "no coordinate columns" in r.stderr


# ----------------------------------------------------------------- geoplan init


def _real_world_folder(tmp_path: Path) -> Path:
    d = tmp_path / "delivery"
    (d / "三调").mkdir(parents=True)
    farmland = gk([box(X0, Y0, X0 + 100, Y0 + 100)], BSM=[1])
    farmland.to_crs(4490).to_file(d / "永久基本农田.shp", encoding="utf-8")
    lu = gk([box(X0, Y0, X0 + 50, Y0 + 50), box(X0 + 50, Y0, X0 + 100, Y0 + 50)],
            DLBM=["0101", "0301"], DLMC=["水田", "乔木林地"])
    pyogrio.write_dataframe(lu, d / "三调" / "DLTB.shp", encoding="GBK")
    (d / "三调" / "DLTB.cpg").unlink(missing_ok=True)
    gk([box(X0, Y0, X0 + 50, Y0 + 50)], DLBM=["0301"]).to_file(d / "林地.gpkg", layer="林地")
    gk([LineString([(X0, Y0), (X0 + 100, Y0)])], DYDJ=["10kV"]).to_file(d / "10kV线路.geojson")
    gk([Point(X0, Y0)], x=[1]).to_file(d / "unknown_things.shp")
    return d


def test_init_drafts_a_usable_config(tmp_path: Path) -> None:
    d = _real_world_folder(tmp_path)
    r = run("init", str(d))
    assert r.returncode == 0, r.stderr
    toml = (d / "geoplan.toml").read_text(encoding="utf-8")
    assert "[layers.farmland_redline]" in toml
    assert '"永久基本农田.shp"' in toml
    assert "[layers.landuse]" in toml
    assert 'code = "DLBM"' in toml
    assert 'encoding = "gb18030"' in toml
    assert "[layers.forest_land]" in toml
    assert '"林地.gpkg"' in toml
    assert "voltage_kv = \"DYDJ\"" in toml
    assert "unknown_things.shp" in toml
    assert "unknown_things.shp" in r.stdout
    ws = geoplan.open_workspace(d)
    assert set(ws.kinds) >= {"farmland_redline", "landuse", "forest_land", "power_line"}
    assert ws["landuse"].gdf["name"].tolist() == ["水田", "乔木林地"]  # DLMC → name
    assert ws["power_line"].gdf["voltage_kv"].tolist() == [10.0]


def test_init_never_overwrites(tmp_path: Path) -> None:
    d = _real_world_folder(tmp_path)
    (d / "geoplan.toml").write_text("# mine\n", encoding="utf-8")
    r = run("init", str(d))
    assert r.returncode == 2
    assert "never overwritten" in r.stderr
    assert (d / "geoplan.toml").read_text(encoding="utf-8") == "# mine\n"
    r = run("init", str(d), "--print")
    assert r.returncode == 0
    assert "[layers.landuse]" in r.stdout


@pytest.mark.parametrize("name", ["永久基本农田", "YJJBNT", "生态保护红线", "DLTB", "滑坡隐患点区",
                                  "泥石流", "村庄建设边界", "10kV线路", "饮用水水源保护区"])
def test_guess_kind_names(name: str) -> None:
    from geoplan.draft import guess_kind

    expected = {"永久基本农田": "farmland_redline", "YJJBNT": "farmland_redline",
                "生态保护红线": "ecological_redline", "DLTB": "landuse",
                "滑坡隐患点区": "landslide_zone", "泥石流": "debris_flow_zone",
                "村庄建设边界": "village_boundary", "10kV线路": "power_line",
                "饮用水水源保护区": "water_source_zone"}[name]
    assert guess_kind(name) == expected


@pytest.mark.slow
def test_check_csv_with_projected_xy_needs_crs(tmp_path: Path, small_workspace: Path) -> None:
    csv = tmp_path / "xy.csv"
    csv.write_text(f"id,x,y\nA,{X0 + 500},{Y0 + 500}\nB,{X0 + 2000},{Y0 + 500}\n",
                   encoding="utf-8")
    r = run("check", str(csv), "-w", str(small_workspace))
    assert r.returncode == 2
    assert "--crs" in r.stderr
    out = tmp_path / "out"
    r = run("check", str(csv), "-w", str(small_workspace), "--crs", "EPSG:4536", "-o", str(out))
    assert r.returncode == 0, r.stderr
    import pandas as pd

    f = pd.read_csv(out / "findings.csv", encoding="utf-8-sig")
    fz = f[f.rule_id == "house.flood_zone"].set_index("site_id")["status"]
    assert fz["A"] == "fail"   # the centre of the 1 km flood square
    assert fz["B"] == "pass"   # 1 km east of it
