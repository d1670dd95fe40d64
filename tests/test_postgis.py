"""Acceptance (issue 16): PostGIS as a layer source and as a place for results.

Against a real server (the session fixture ``pg`` of ``conftest.py`` starts a
throwaway PostgreSQL + PostGIS cluster; the tests skip, saying why, where none
can be started, and fail where ``GEOPLAN_REQUIRE_POSTGIS=1``, as in ``.ci/run``):

- the sample workspace loaded into PostGIS — tables named after kinds, and the
  power lines as ``yining.电力线`` with Chinese column names mapped back in
  ``geoplan.toml`` — gives ``findings.csv`` byte for byte as the file workspace;
- a run written with ``--out postgresql://…`` reads back equal to ``results.gpkg``,
  runs are appended, never overwritten, and listed by ``geoplan runs``;
- an interrupted write (an error half way, or the process killed inside the
  transaction) leaves no part of the run;
- a batch far smaller than the county fetches only the rows near it;
- a write statement in ``sql`` or ``where`` is refused; a wrong password, an
  absent table, an absent column and a missing privilege are exit 2 with the fix.

The tests at the top need no server: the configuration and URL handling.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import REQUIRE_POSTGIS, SAMPLE

import geoplan
from geoplan.cli import main
from geoplan.config import load_config
from geoplan.errors import ConfigError, DatabaseError
from geoplan.postgis import (
    RunWriter,
    check_select,
    list_runs,
    mask,
    parse_table,
    read_run,
    split_schema,
)
from geoplan.runners.extent import batch_extent, near_batch_kinds

HOUSES = SAMPLE / "batches" / "proposed_houses.gpkg"
ROADS = SAMPLE / "batches" / "proposed_roads.gpkg"
ENV = "GEOPLAN_TEST_PG"

DB_TOML = f"""\
[workspace]
source = "env:{ENV}"          # the connection is in the environment, not in this file
schema = "yining"             # its tables named after kinds are layers

[layers.landuse]
scheme = "gbt21010-2017"

[layers.forest_land]
from = "landuse"
where = "code in forest"

[layers.farmland]
from = "landuse"
where = "code in farmland"

[layers.power_line]           # stored under another name, with other column names
table = "yining.电力线"
fields = {{ voltage_kv = "电压等级", status = "状态", name = "名称" }}

[layers.dem]
path = "{SAMPLE / 'dem.tif'}"
"""


def _cli(*args: object, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    r = CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def db_ws(pg_sample, tmp_path, monkeypatch) -> Path:
    """A folder whose geoplan.toml reads the sample layers from PostGIS (as user planner)."""
    from pg_cluster import PLANNER

    monkeypatch.setenv(ENV, pg_sample.url(*PLANNER))
    d = tmp_path / "db-workspace"
    d.mkdir()
    (d / "geoplan.toml").write_text(DB_TOML, encoding="utf-8")
    return d


def _results_url(pg, schema: str) -> str:
    from pg_cluster import PLANNER

    return pg.url(*PLANNER, schema=schema)


# --------------------------------------------------------------------------- no server needed


def test_config_reads_database_layers(tmp_path) -> None:
    cfg = tmp_path / "geoplan.toml"
    cfg.write_text('[workspace]\nsource = "service=onemap"\nschema = "yining"\n'
                   '[layers.power_line]\ntable = "电力.\\"10kV 线路\\""\ngeometry = "shape"\n'
                   '[layers.flood_zone]\nsource = "env:OTHER"\n'
                   "sql = \"SELECT fid, geom FROM hz WHERE name LIKE '%洪%'\"\n"
                   '[layers.gully]\nsource = "postgresql://planner@gis.county:5432/onemap"\n',
                   encoding="utf-8")
    c = load_config(cfg)
    assert (c.source, c.schema, c.fetch) == ("service=onemap", "yining", "near-batch")
    pl, fz, gu = c.layers["power_line"], c.layers["flood_zone"], c.layers["gully"]
    assert (pl.source, pl.table, pl.geometry) == ("service=onemap", ("电力", "10kV 线路"), "shape")
    assert fz.source == "env:OTHER"
    assert fz.sql is not None
    assert fz.table is None
    assert gu.table == ("yining", "gully")
    assert gu.in_database
    assert not fz.path


@pytest.mark.parametrize(("table", "why"), [
    ('source = "postgresql://planner:s3cret@gis/onemap"\ntable = "t"', "holds a password"),
    ('source = "host=gis password=s3cret"\ntable = "t"', "holds a password"),
    ('source = "service=x"\nsql = "DELETE FROM yining.flood_zone"', "must be one SELECT"),
    ('source = "service=x"\nsql = "SELECT 1; DROP TABLE yining.flood_zone"', "more than one"),
    ('source = "service=x"\nsql = "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d"',
     "holds DELETE"),
    ('source = "service=x"\nsql = "SELECT * INTO t2 FROM t"', "creates a table"),
    ('source = "service=x"\nwhere = "level == 1; DROP TABLE t"', "where"),
    ('source = "service=x"\ntable = "a"\nsql = "SELECT 1"', "both table and sql"),
    ('path = "x.gpkg"\ntable = "a"', "keep one"),
    ('table = "a"', "no database"),
    ('source = "gis.county/onemap"', "not a database connection"),
    ('source = "service=x"\nencoding = "gbk"', "belong(s) to files"),
])
def test_config_refuses(tmp_path, table: str, why: str) -> None:
    cfg = tmp_path / "geoplan.toml"
    cfg.write_text(f"[layers.flood_zone]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="flood_zone") as err:
        load_config(cfg)
    assert why in str(err.value)
    assert "s3cret" not in str(err.value)


def test_config_refuses_dem_in_database_and_unknown_fetch(tmp_path) -> None:
    cfg = tmp_path / "geoplan.toml"
    cfg.write_text('[layers.dem]\nsource = "service=x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="GeoTIFF"):
        load_config(cfg)
    cfg.write_text('[workspace]\nsource = "service=x"\nfetch = "some"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="near-batch"):
        load_config(cfg)


def test_urls_names_and_queries() -> None:
    assert mask("postgresql://u:p%40ss@h:5432/db?schema=g") == "postgresql://u:***@h:5432/db?schema=g"
    assert mask("postgresql://h/db?password=x&sslmode=require") == \
        "postgresql://h/db?password=***&sslmode=require"
    assert split_schema("postgresql://h/db?schema=geoplan") == ("postgresql://h/db", "geoplan")
    assert split_schema("postgresql:///db") == ("postgresql:///db", None)
    assert parse_table('"My Schema"."a.b"') == ("My Schema", "a.b")
    with pytest.raises(ValueError, match="table name"):
        parse_table("a.b.c")
    assert check_select("-- comment; DELETE\nSELECT 'DROP TABLE x' AS y") is None
    assert check_select("UPDATE t SET a = 1") is not None


def test_environment_connection_must_be_set(monkeypatch) -> None:
    from geoplan.postgis import resolve

    monkeypatch.delenv("NO_SUCH_DB", raising=False)
    with pytest.raises(DatabaseError, match="NO_SUCH_DB"):
        resolve("env:NO_SUCH_DB")


def test_postgis_tests_can_run_when_required() -> None:
    """CI runs the database tests for real: GEOPLAN_REQUIRE_POSTGIS=1 fails them without a server."""
    if not REQUIRE_POSTGIS:
        pytest.skip("GEOPLAN_REQUIRE_POSTGIS is not set (.ci/run sets it)")
    from pg_cluster import available

    assert available() is None, available()


# --------------------------------------------------------------------------- layers from PostGIS


@pytest.mark.parametrize("batch", [HOUSES, ROADS], ids=["houses", "roads"])
def test_sample_in_postgis_gives_the_file_workspace_findings_byte_for_byte(db_ws, tmp_path,
                                                                          batch) -> None:
    code, _, err = _cli("check", batch, "-w", SAMPLE, "--out", tmp_path / "files", "-q")
    assert code == 0, err
    code, _, err = _cli("check", batch, "-w", db_ws / "geoplan.toml", "--out", tmp_path / "db",
                        "-q")
    assert code == 0, err
    for name in ("findings.csv", "verdicts.csv"):
        assert (tmp_path / "db" / name).read_bytes() == (tmp_path / "files" / name).read_bytes()
    summary = json.loads((tmp_path / "db" / "summary.json").read_text(encoding="utf-8"))
    layers = {row["kind"]: row for row in summary["layers"]}
    pl = layers["power_line"]["database"]
    assert pl["relation"] == "yining.电力线"
    assert pl["rows_fetched"] == 23
    assert pl["server"].startswith("planner@127.0.0.1:")
    assert len(pl["sha256"]) == 64
    assert layers["landuse"]["database"]["rows_fetched"] == 5764
    assert "secret" not in json.dumps(summary)  # never the password


def test_chunked_check_fetches_within_the_file_header_extent(db_ws, tmp_path) -> None:
    code, _, err = _cli("check", HOUSES, "-w", SAMPLE, "--out", tmp_path / "files", "-q")
    assert code == 0, err
    code, _, err = _cli("check", HOUSES, "-w", db_ws / "geoplan.toml", "--chunk-size", "100",
                        "--out", tmp_path / "db", "-q")
    assert code == 0, err
    assert (tmp_path / "db" / "findings.csv").read_bytes() == \
        (tmp_path / "files" / "findings.csv").read_bytes()
    summary = json.loads((tmp_path / "db" / "summary.json").read_text(encoding="utf-8"))
    red = next(r for r in summary["layers"] if r["kind"] == "farmland_redline")["database"]
    assert red["extent"]["margin_m"] == 500.0  # the batch's box from the GeoPackage header


def test_provenance_checksum_is_of_the_rows(db_ws, pg_sample) -> None:
    ws = geoplan.open_workspace(db_ws)
    first = ws["flood_zone"].database
    again = geoplan.open_workspace(db_ws)["flood_zone"].database
    assert first == again
    assert first["rows_fetched"] == 8
    assert "extent" not in first
    with pg_sample.connect() as con:
        con.execute("UPDATE yining.flood_zone SET name = name || '*' WHERE fid = 1")
    try:
        changed = geoplan.open_workspace(db_ws)["flood_zone"].database
        assert changed["sha256"] != first["sha256"]
    finally:
        with pg_sample.connect() as con:
            con.execute("UPDATE yining.flood_zone SET name = rtrim(name, '*') WHERE fid = 1")


def test_small_batch_fetches_only_nearby_rows(db_ws) -> None:
    houses = gpd.read_file(HOUSES)
    few = houses[houses["site_id"].isin(["H0241", "H0242", "H0243"])] if "site_id" in houses \
        else houses.iloc[240:243]
    res = geoplan.check(few, db_ws / "geoplan.toml")
    pack = geoplan.load_pack()
    extent = batch_extent(few.total_bounds, few.crs, pack=pack, subject="house")
    assert extent is not None
    assert extent.margin_m == 500.0
    # the rows whose box meets the extent, counted in the file
    red = gpd.read_file(SAMPLE / "farmland_redline.gpkg")
    x0, y0, x1, y1 = extent.bounds_in(red.crs)
    b = red.geometry.bounds
    expected = int(((b.minx <= x1) & (b.maxx >= x0) & (b.miny <= y1) & (b.maxy >= y0)).sum())
    got = res.workspace["farmland_redline"]
    assert got.database["rows_fetched"] == expected == len(got.gdf)
    assert 0 < expected < len(red)
    assert got.database["extent"]["margin_m"] == 500.0
    assert any("within the batch's extent plus 500 m" in n for n in got.notes)
    # layers whose rules need the whole layer are fetched whole, and say why
    for kind in ("landuse", "village_boundary", "water_source_zone"):
        layer = res.workspace[kind]
        assert "extent" not in layer.database
        assert any(n.startswith("fetched every row") for n in layer.notes), kind
    # the same statuses as the file workspace
    full = geoplan.check(few, SAMPLE)
    assert res.findings["status"].tolist() == full.findings["status"].tolist()
    assert res.verdicts["verdict"].tolist() == full.verdicts["verdict"].tolist()
    # and the same findings: distances no status needs are reported within 200 m only,
    # which the margin covers (a zone 3 km away is "more than 200 m", not unfetched)
    pd.testing.assert_frame_equal(res.findings, full.findings)


def test_near_batch_kinds_follow_the_rules() -> None:
    kinds = near_batch_kinds(geoplan.load_pack(), "road")
    assert {"forest_land", "farmland_redline", "geohazard_zone"} <= kinds
    assert "water_source_zone" not in kinds  # road.water_source_l1 filters it: level == 1


def test_fetch_all_turns_the_extent_off(db_ws) -> None:
    toml = db_ws / "geoplan.toml"
    toml.write_text(DB_TOML.replace('schema = "yining"', 'schema = "yining"\nfetch = "all"'),
                    encoding="utf-8")
    few = gpd.read_file(HOUSES).iloc[:3]
    res = geoplan.check(few, toml)
    assert res.workspace["farmland_redline"].database["rows_fetched"] == 247


def test_a_query_as_layer(db_ws) -> None:
    toml = db_ws / "geoplan.toml"
    toml.write_text(DB_TOML + '\n[layers.flood_zone]\nsql = """\n  SELECT fid, level, hazard_type, '
                    "name, geom FROM yining.flood_zone\n  WHERE name LIKE '%' OR name IS NULL\n"
                    '"""\n', encoding="utf-8")
    ws = geoplan.open_workspace(toml)
    fz = ws["flood_zone"]
    assert len(fz.gdf) == 8
    assert fz.database["relation"].startswith("sql: SELECT fid")
    res = geoplan.check(HOUSES, ws)
    assert res.findings.equals(geoplan.check(HOUSES, SAMPLE).findings)


# --------------------------------------------------------------------------- safety and errors


def test_sql_that_writes_is_refused_by_the_read_only_transaction(db_ws, pg_sample) -> None:
    with pg_sample.connect() as con:
        con.execute("CREATE TABLE IF NOT EXISTS yining.log (x int)")
        con.execute("CREATE OR REPLACE FUNCTION yining.sneaky() RETURNS int LANGUAGE sql AS "
                    "$$ INSERT INTO yining.log VALUES (1) RETURNING 1 $$")
        con.execute("GRANT ALL ON yining.log TO planner")
    toml = db_ws / "geoplan.toml"
    toml.write_text(DB_TOML + '\n[layers.flood_zone]\nsql = "SELECT *, yining.sneaky() AS x '
                    'FROM yining.flood_zone"\n', encoding="utf-8")
    code, _, err = _cli("check", HOUSES, "-w", toml, "-q")
    assert code == 2
    assert "read-only transaction" in err
    assert "Fix:" in err
    assert "[layers.flood_zone]" in err
    with pg_sample.connect() as con:
        assert con.execute("SELECT count(*) FROM yining.log").fetchone()[0] == 0


def test_write_statement_in_where_or_sql_is_exit_2(db_ws) -> None:
    toml = db_ws / "geoplan.toml"
    for extra in ('[layers.flood_zone]\nwhere = "level == 1; DELETE FROM yining.flood_zone"\n',
                  '[layers.flood_zone]\nsql = "DELETE FROM yining.flood_zone RETURNING *"\n'):
        toml.write_text(DB_TOML + extra, encoding="utf-8")
        code, _, err = _cli("check", HOUSES, "-w", toml, "-q")
        assert code == 2, err
        assert "[layers.flood_zone]" in err


def test_wrong_password_is_exit_2_naming_the_connection_and_the_fix(db_ws, pg_sample,
                                                                     monkeypatch) -> None:
    from pg_cluster import PLANNER

    monkeypatch.setenv(ENV, pg_sample.url(PLANNER[0], "wrong-pw"))
    code, out, err = _cli("check", HOUSES, "-w", db_ws / "geoplan.toml", "-q")
    assert code == 2
    assert f"postgresql://planner:***@127.0.0.1:{pg_sample.port}/postgres" in err
    assert "password authentication failed" in err
    assert "~/.pgpass" in err
    assert "wrong-pw" not in err + out


def test_unreachable_server_is_exit_2(db_ws, monkeypatch) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(ENV, f"postgresql://planner@127.0.0.1:{port}/postgres")
    code, _, err = _cli("layers", db_ws / "geoplan.toml")
    assert code == 2
    assert "cannot connect" in err
    assert "server is running" in err


def test_absent_table_is_exit_2_with_the_fix(db_ws) -> None:
    toml = db_ws / "geoplan.toml"
    toml.write_text(DB_TOML + '\n[layers.flood_zone]\ntable = "yining.flood_zon"\n',
                    encoding="utf-8")
    code, _, err = _cli("check", HOUSES, "-w", toml, "-q")
    assert code == 2
    assert "table yining.flood_zon does not exist (did you mean yining.flood_zone" in err
    assert 'Fix: correct [layers.flood_zone] table = "schema.table"' in err


@pytest.mark.parametrize("extra", [
    '[layers.power_line]\ntable = "yining.电力线"\nfields = { voltage_kv = "电压" }\n',
    '[layers.flood_zone]\nsql = "SELECT fid, levl, geom FROM yining.flood_zone"\n',
    '[layers.flood_zone]\ngeometry = "shape"\n',
], ids=["field-mapping", "sql-column", "geometry-column"])
def test_absent_column_is_exit_2_with_the_fix(db_ws, extra: str) -> None:
    toml = db_ws / "geoplan.toml"
    toml.write_text(DB_TOML.replace(
        '[layers.power_line]           # stored under another name, with other column names\n'
        'table = "yining.电力线"\n'
        'fields = { voltage_kv = "电压等级", status = "状态", name = "名称" }\n', "")
        + ('[layers.power_line]\ntable = "yining.电力线"\nfields = { voltage_kv = "电压等级", '
           'status = "状态", name = "名称" }\n' if "power_line" not in extra else "")
        + extra, encoding="utf-8")
    code, _, err = _cli("check", HOUSES, "-w", toml, "-q")
    assert code == 2, err
    assert ("电压" in err and "fields present" in err) or "levl" in err or "shape" in err
    assert "Fix:" in err or "fields present" in err


def test_missing_privilege_is_exit_2_with_the_grant(db_ws, pg_sample, monkeypatch) -> None:
    from pg_cluster import OUTSIDER

    monkeypatch.setenv(ENV, pg_sample.url(*OUTSIDER))
    code, _, err = _cli("check", HOUSES, "-w", db_ws / "geoplan.toml", "-q")
    assert code == 2
    assert "outsider:***@" in err
    assert "GRANT USAGE ON SCHEMA yining" in err


# --------------------------------------------------------------------------- results to PostGIS


def _gpkg(path: Path, layer: str) -> gpd.GeoDataFrame:
    return gpd.read_file(path, layer=layer)


def _assert_same_table(db: gpd.GeoDataFrame, gpkg: gpd.GeoDataFrame, name: str) -> None:
    assert list(db.columns) == list(gpkg.columns), name
    assert len(db) == len(gpkg), name
    geom = gpkg.geometry.name
    pd.testing.assert_frame_equal(pd.DataFrame(db.drop(columns=geom)),
                                  pd.DataFrame(gpkg.drop(columns=geom)), check_dtype=False,
                                  obj=name)
    a, b = db.geometry.to_numpy(), gpkg.geometry.to_numpy()
    missing = shapely.is_missing(a)
    assert (missing == shapely.is_missing(b)).all(), name
    a, b = a[~missing], b[~missing]
    # GeoPackage layers of mixed Polygon / MultiPolygon are written all Multi (pyogrio's
    # promote_to_multi); PostGIS keeps each geometry as it was
    one = (shapely.get_type_id(b) == shapely.get_type_id(a) + 3) & (
        shapely.get_num_geometries(b) == 1)
    b = b.copy()
    b[one] = shapely.get_geometry(b[one], 0)
    assert shapely.equals_exact(a, b, tolerance=0).all(), name
    assert db.crs.equals(gpkg.crs), name


@pytest.mark.parametrize("batch", [HOUSES, ROADS], ids=["houses", "roads"])
def test_results_round_trip_to_results_gpkg(pg, tmp_path, batch) -> None:
    url = _results_url(pg, "roundtrip")
    before = len(list_runs(url)) if _has_runs(pg, "roundtrip") else 0
    code, out, err = _cli("check", batch, "-w", SAMPLE, "--out", url)
    assert code == 0, err
    assert "written to" in out
    assert "***@" in out
    assert "planner-secret" not in out
    code, _, err = _cli("check", batch, "-w", SAMPLE, "--out", tmp_path / "files", "-q")
    assert code == 0, err
    run = read_run(url)
    for table in ("verdicts", "findings", "evidence"):
        _assert_same_table(run[table], _gpkg(tmp_path / "files" / "results.gpkg", table), table)
    summary = json.loads((tmp_path / "files" / "summary.json").read_text(encoding="utf-8"))
    assert run["summary"]["rule_pack"] == summary["rule_pack"]
    assert run["summary"]["layers"] == summary["layers"]
    runs = list_runs(url)
    assert len(runs) == before + 1
    assert runs.iloc[0]["run_id"] == run["run_id"]
    assert runs.iloc[0]["pack"] == "yining-2025"
    assert runs.iloc[0]["sites"] == summary["sites"]


def _has_runs(pg, schema: str) -> bool:
    with pg.connect() as con:
        return con.execute("SELECT to_regclass(%s)", [f"{schema}.runs"]).fetchone()[0] is not None


def _counts(pg, schema: str) -> dict[str, int]:
    with pg.connect() as con:
        return {t: con.execute(f"SELECT count(*) FROM {schema}.{t}").fetchone()[0]
                for t in ("runs", "verdicts", "findings", "evidence")}


def test_runs_are_appended_and_listed(pg, tmp_path) -> None:
    url = _results_url(pg, "appended")
    res = geoplan.check(HOUSES, SAMPLE)
    first = res.to_postgis(url)
    rows_first = read_run(url, first)
    second = res.to_postgis(url)
    assert first != second
    again = read_run(url, first)
    for table in ("verdicts", "findings", "evidence"):
        _assert_same_table(again[table], rows_first[table], table)
    code, out, _ = _cli("runs", url)
    assert code == 0
    assert first in out
    assert second in out
    assert "2 run(s)" in out
    code, out, _ = _cli("runs", url, "--run", first)
    assert code == 0
    assert json.loads(out)["sites"] == 300
    with pg.connect() as con:  # a spatial index on every geometry column
        idx = {r[0] for r in con.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'appended' AND indexdef "
            "LIKE '%USING gist%'")}
    assert idx == {"verdicts_geom_gist", "findings_geom_gist", "evidence_geom_gist"}


def test_chunked_run_streams_into_one_run(pg) -> None:
    url = _results_url(pg, "chunked")
    whole = geoplan.check(HOUSES, SAMPLE).to_postgis(url)
    code, _, err = _cli("check", HOUSES, "-w", SAMPLE, "--chunk-size", "70", "--out", url, "-q")
    assert code == 0, err
    runs = list_runs(url)
    streamed = runs.iloc[0]["run_id"]
    assert streamed != whole
    a, b = read_run(url, whole), read_run(url, streamed)
    for table in ("verdicts", "findings"):
        _assert_same_table(b[table], a[table], table)
    assert len(b["evidence"]) == len(a["evidence"])


def test_an_error_half_way_leaves_no_part_of_the_run(pg, monkeypatch) -> None:
    url = _results_url(pg, "interrupted")
    res = geoplan.check(HOUSES, SAMPLE)
    res.to_postgis(url)
    before = _counts(pg, "interrupted")
    real_add = RunWriter.add

    def add_then_fail(self, table, frame):
        real_add(self, table, frame)
        if table == "findings":
            raise KeyboardInterrupt  # Ctrl-C after the verdicts and findings were copied

    monkeypatch.setattr(RunWriter, "add", add_then_fail)
    with pytest.raises(KeyboardInterrupt):
        res.to_postgis(url)
    assert _counts(pg, "interrupted") == before


def test_a_killed_writer_leaves_no_part_of_the_run(pg) -> None:
    from pg_cluster import PLANNER

    schema = "killed"
    url = _results_url(pg, schema)
    geoplan.check(ROADS, SAMPLE).to_postgis(url)  # the tables exist
    before = _counts(pg, schema)
    import psycopg

    lock = psycopg.connect(pg.url())  # holds the evidence table: the writer waits inside its run
    lock.execute(f"LOCK TABLE {schema}.evidence IN ACCESS EXCLUSIVE MODE")
    env = {**os.environ, "PGPASSWORD": PLANNER[1]}
    target = pg.url(PLANNER[0], schema=schema)  # no password in the URL: PGPASSWORD
    proc = subprocess.Popen([sys.executable, "-m", "geoplan.cli", "check", str(HOUSES), "-w",
                             str(SAMPLE), "--out", target, "-q"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        waiting = False
        deadline = time.monotonic() + 180
        with pg.connect() as watch:
            while time.monotonic() < deadline and proc.poll() is None:
                row = watch.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'geoplan' "
                    "AND wait_event_type = 'Lock'").fetchone()
                if row[0]:
                    waiting = True
                    break
                time.sleep(0.2)
        assert waiting, proc.communicate(timeout=5)
        os.kill(proc.pid, signal.SIGKILL)  # inside its transaction: runs, verdicts, findings sent
        proc.wait(timeout=30)
    finally:
        lock.rollback()
        lock.close()
        if proc.poll() is None:
            proc.kill()
    deadline = time.monotonic() + 60
    with pg.connect() as watch:
        while time.monotonic() < deadline and watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'geoplan'"
        ).fetchone()[0]:
            time.sleep(0.2)
    assert _counts(pg, schema) == before


def test_out_database_that_cannot_be_written_is_refused_before_the_check(pg) -> None:
    from pg_cluster import OUTSIDER

    code, _, err = _cli("check", HOUSES, "-w", SAMPLE, "--out", pg.url(*OUTSIDER, schema="x"))
    assert code == 2
    assert "may not create the schema x" in err
    assert "outsider:***@" in err
    assert "outsider-secret" not in err
