"""``results.gpkg`` written through Arrow holds what pyogrio's classic writer writes.

:func:`geoplan.runners.files.write_gpkg_layers` writes a frame through Arrow when
every column is of a plain type (numbers, booleans, text); the layers are read back
and compared with those of the classic writer, field by field, including appends
(the chunked writer) and mixed geometry types.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely import LineString, MultiPolygon, Point, box

import geoplan.runners.files as files
from geoplan.errors import DataFileError

CRS = "EPSG:4545"


def _frames(n: int, start: int = 0) -> tuple[gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame]:
    ids = [f"H{i:04d}" for i in range(start, start + n)]
    shapes = [box(i, 0, i + 0.5, 0.5) if i % 3 else MultiPolygon([box(i, 0, i + .2, .2),
                                                                    box(i + .3, 0, i + .5, .2)])
              for i in range(start, start + n)]
    verdicts = gpd.GeoDataFrame({
        "site_id": pd.array(ids, dtype="str"), "verdict": ["pass", "fail"] * (n // 2),
        "n_fail": np.arange(n, dtype=np.int64), "share": np.linspace(0, 1, n),
        "owner": pd.array(["张三", None, "=x", "a,b"] * (n // 4), dtype="str"),
        "ok": [True, False] * (n // 2)}, geometry=shapes, crs=CRS)
    findings = pd.DataFrame({
        "site_id": np.repeat(ids, 2), "rule_id": ["house.farmland", "house.flood_zone"] * n,
        "status": ["pass", "fail"] * n, "measure": np.tile([np.nan, 12.5], n),
        "message_zh": ["不得占用永久基本农田", "位于洪水淹没区"] * n})
    evidence = gpd.GeoDataFrame({
        "site_id": ids[: n // 2], "rule_id": ["house.flood_zone"] * (n // 2),
        "area_m2": np.full(n // 2, 12.5)},
        geometry=[Point(i, 0) if i % 2 else LineString([(i, 0), (i + 1, 1)])
                  for i in range(n // 2)], crs=CRS)
    return verdicts, findings, evidence


def _write(path: Path, monkeypatch: pytest.MonkeyPatch, *, arrow: bool) -> None:
    if not arrow:
        monkeypatch.setattr(files, "_arrow_writes", lambda frame: False)
    for k in range(2):
        v, f, e = _frames(8, start=8 * k)
        files.write_gpkg_layers(path, v, f, e, crs=CRS, append=k > 0)
    monkeypatch.undo()


@pytest.mark.skipif(pyogrio.__gdal_version__ < (3, 8, 0), reason="Arrow writes need GDAL 3.8")
def test_arrow_and_classic_gpkg_hold_the_same(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert all(files._arrow_writes(f) for f in files.gpkg_frames(*_frames(8), crs=CRS))
    _write(tmp_path / "arrow.gpkg", monkeypatch, arrow=True)
    _write(tmp_path / "classic.gpkg", monkeypatch, arrow=False)
    for layer in ("verdicts", "findings", "evidence"):
        a = pyogrio.read_dataframe(tmp_path / "arrow.gpkg", layer=layer)
        b = pyogrio.read_dataframe(tmp_path / "classic.gpkg", layer=layer)
        assert len(a) == {"verdicts": 16, "findings": 32, "evidence": 8}[layer]
        pd.testing.assert_frame_equal(a, b, check_like=False)
    sql = ("select table_name, geometry_type_name from gpkg_geometry_columns "
           "order by table_name")
    fields = "select name, type from pragma_table_info('verdicts')"
    with sqlite3.connect(tmp_path / "arrow.gpkg") as a, \
            sqlite3.connect(tmp_path / "classic.gpkg") as b:
        assert a.execute(sql).fetchall() == b.execute(sql).fetchall()
        assert a.execute(fields).fetchall() == b.execute(fields).fetchall()


@pytest.mark.filterwarnings("ignore:Non-conformant content")
@pytest.mark.parametrize("column", [
    pd.Series([1, "a", None, 2.5] * 4, dtype=object),           # mixed object
    pd.Categorical(["a", "b"] * 8),
    pd.array([1, None] * 8, dtype="Int64"),
    pd.date_range("2026-01-01", periods=16, tz="Asia/Shanghai"),
])
def test_other_columns_keep_the_classic_writer(tmp_path: Path, column) -> None:
    v, f, e = _frames(16)
    v["extra"] = column
    verd = files.gpkg_frames(v, f, e, crs=CRS)[0]
    assert not files._arrow_writes(verd)
    files.write_gpkg_layers(tmp_path / "x.gpkg", v, f, e, crs=CRS)
    back = pyogrio.read_dataframe(tmp_path / "x.gpkg", layer="verdicts")
    assert len(back) == 16
    assert "extra" in back.columns


@pytest.mark.skipif(not files.can_index_later(), reason="GDAL's C API not reachable (Linux only)")
def test_index_built_after_the_last_part_equals_one_kept_up_to_date(tmp_path: Path) -> None:
    """The chunked writer's indexes, built once at the end, hold what appends keep up to date."""
    later, kept = tmp_path / "later.gpkg", tmp_path / "kept.gpkg"
    placed: dict[str, int] = {}
    for k in range(3):
        v, f, e = _frames(8, start=8 * k)
        e.loc[e.index[0], "geometry"] = Point()  # empty: not in an R-tree
        e.loc[e.index[1], "geometry"] = None
        wrote = files.write_gpkg_layers(later, v, f, e, crs=CRS, append=k > 0,
                                        spatial_index=False)
        placed = {n: placed.get(n, 0) + wrote[n] for n in wrote}
        files.write_gpkg_layers(kept, v, f, e, crs=CRS, append=k > 0)
    assert placed == {"verdicts": 24, "findings": 48, "evidence": 6}
    layers = ["verdicts", "findings", "evidence"]
    with sqlite3.connect(later) as db:
        names = {r[0] for r in db.execute("select name from sqlite_master")}
        assert not any(n.startswith("rtree_") for n in names)
    # the counts the writer reports are what the indexes are checked against; one that
    # does not match is an error, whichever way the count was made
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(later.read_bytes())
    with pytest.raises(DataFileError, match="findings holds 48 entries for 49 features"):
        files.create_spatial_indexes(bad, layers, expected={**placed, "findings": 49})
    files.create_spatial_indexes(later, layers, expected=placed)
    with sqlite3.connect(later) as a, sqlite3.connect(kept) as b:
        for layer in layers:
            q = f"select id, minx, maxx, miny, maxy from rtree_{layer}_geom order by id"
            got, want = a.execute(q).fetchall(), b.execute(q).fetchall()
            assert got == want
            assert len(got) == {"verdicts": 24, "findings": 48, "evidence": 6}[layer]
        q = "select table_name, extension_name from gpkg_extensions order by 1, 2"
        assert a.execute(q).fetchall() == b.execute(q).fetchall()
    box_query = pyogrio.read_dataframe(later, layer="verdicts", bbox=(3, 0, 5.1, 1))
    assert sorted(box_query["site_id"]) == ["H0003", "H0004", "H0005"]


@pytest.mark.skipif(pyogrio.__gdal_version__ < (3, 8, 0), reason="Arrow writes need GDAL 3.8")
def test_findings_points_encoded_once_per_site_are_the_classic_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The findings layer built in Arrow (each site's point encoded once) is byte for byte
    the classic writer's: every row and geometry blob, the field types, the metadata and
    the count of indexed points, with sites whose geometry is empty or missing and a
    column with no value at all."""
    v, f, e = _frames(8)
    v.loc[v.index[1], "geometry"] = Point()
    v.loc[v.index[2], "geometry"] = None
    f["matched"] = pd.Series([None] * len(f), dtype=object)  # Arrow: null type
    f["note"] = pd.array(["a", None] * (len(f) // 2), dtype="str")
    calls = []
    real = files._findings_arrow
    monkeypatch.setattr(files, "_findings_arrow", lambda *a: calls.append(1) or real(*a))
    fast = files.write_gpkg_layers(tmp_path / "fast.gpkg", v, f, e, crs=CRS)
    assert calls == [1]
    monkeypatch.setattr(files, "_arrow_writes", lambda frame: False)
    classic = files.write_gpkg_layers(tmp_path / "classic.gpkg", v, f, e, crs=CRS)
    assert fast == classic
    assert fast["findings"] == 12  # 16 findings; two sites without a point
    queries = ["select * from findings order by fid",
               "select name, type, \"notnull\", pk from pragma_table_info('findings')",
               "select * from gpkg_geometry_columns order by table_name",
               "select table_name, data_type, identifier, min_x, min_y, max_x, max_y, srs_id "
               "from gpkg_contents order by table_name",
               "select id, minx, maxx, miny, maxy from rtree_findings_geom order by id",
               "select * from gpkg_extensions order by table_name"]
    with sqlite3.connect(tmp_path / "fast.gpkg") as a, \
            sqlite3.connect(tmp_path / "classic.gpkg") as b:
        for q in queries:
            assert a.execute(q).fetchall() == b.execute(q).fetchall(), q
        rows = a.execute("select geom is null, site_id from findings order by fid").fetchall()
    assert rows[4:6] == [(1, "H0002"), (1, "H0002")]  # the missing geometry: NULL


SYNC = "OGR_SQLITE_SYNCHRONOUS"


@pytest.mark.parametrize("user_value", [None, "NORMAL"])
def test_gpkg_written_and_indexed_without_fsync_unless_the_user_says(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user_value: str | None) -> None:
    """Every GDAL write and index build of results.gpkg runs with SQLite's fsync off.

    The value is restored afterwards (also after a failure), and one the user set
    is kept as it is.
    """
    seen: list[tuple[str, str | None]] = []

    def spy(name, real):
        def call(*args, **kwargs):
            seen.append((name, pyogrio.get_gdal_config_option(SYNC)))
            return real(*args, **kwargs)
        return call

    for name in ("write_arrow", "write_dataframe"):
        monkeypatch.setattr(pyogrio, name, spy(name, getattr(pyogrio, name)))
    monkeypatch.setattr(files, "_index_layers", spy("index", files._index_layers))
    pyogrio.set_gdal_config_options({SYNC: user_value})
    try:
        path = tmp_path / "r.gpkg"
        for k in range(2):
            v, f, e = _frames(8, start=8 * k)
            files.write_gpkg_layers(path, v, f, e, crs=CRS, append=k > 0,
                                    spatial_index=not files.can_index_later())
        if files.can_index_later():
            files.create_spatial_indexes(path, ["verdicts", "evidence"])
        assert pyogrio.get_gdal_config_option(SYNC) == user_value
        with pytest.raises(RuntimeError), files.sqlite_unsynced():
            raise RuntimeError("a failed write")
        assert pyogrio.get_gdal_config_option(SYNC) == user_value
    finally:
        pyogrio.set_gdal_config_options({SYNC: None})
    want = user_value or False  # pyogrio reads "OFF" back as False
    assert {name for name, _ in seen} >= {"write_dataframe"}
    assert len(seen) >= 6
    assert [value for _, value in seen] == [want] * len(seen)
    assert pyogrio.read_dataframe(path, layer="verdicts")["site_id"].tolist() == \
        [f"H{i:04d}" for i in range(16)]
