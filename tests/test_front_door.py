"""The one front door of a check: ``geoplan.check(..., engine=..., out=...)``.

Every engine gets the same inputs, decided once for the whole batch (subject,
ids, CRS, GCJ-02), and gives the same findings; ``out=`` writes the same files
whatever the engine, streamed in bounded memory by the chunked one.
"""

from __future__ import annotations

import filecmp
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely import LineString, Point, box

import geoplan
from geoplan.runners import (
    ChunkedRunner,
    LocalRunner,
    Run,
    Runner,
    RunPlan,
    SiteBatch,
    runner_for,
)
from geoplan.runners.decisions import infer_batch_subject, subject_votes

X0, Y0 = 524_000.0, 4_865_000.0  # the origin of the fixtures in tests/conftest.py (EPSG:4536)
TABLES = ["findings.csv", "verdicts.csv", "results.gpkg", "summary.json"]


def _sites(geoms: list, **cols: list) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=geoms, crs="EPSG:4536")


def _points_then_lines() -> gpd.GeoDataFrame:
    """Three points, then seven road lines: the first chunk of 3 looks like houses."""
    pts = [Point(X0 + 100 + 50 * i, Y0 + 500) for i in range(3)]
    lines = [LineString([(X0 + 100, Y0 + 100 + 60 * i), (X0 + 400, Y0 + 100 + 60 * i)])
             for i in range(7)]
    return _sites(pts + lines, site_id=[f"S{i}" for i in range(10)], width_m=[5.0] * 10)


def _houses() -> gpd.GeoDataFrame:
    inside = [box(X0 + 10 + 30 * i, Y0 + 10, X0 + 20 + 30 * i, Y0 + 20) for i in range(4)]
    outside = [box(X0 + 2000 + 30 * i, Y0 + 10, X0 + 2010 + 30 * i, Y0 + 20) for i in range(4)]
    return _sites(inside + outside, house_id=[f"H{i}" for i in range(8)],
                  owner=["甲", "乙", "丙", "丁"] * 2)


def _same(a: geoplan.Result, b: geoplan.Result) -> None:
    pd.testing.assert_frame_equal(a.findings, b.findings)
    pd.testing.assert_frame_equal(pd.DataFrame(a.verdicts), pd.DataFrame(b.verdicts))
    assert a.summary["verdicts"] == b.summary["verdicts"]
    assert a.summary["by_rule"] == b.summary["by_rule"]


# --------------------------------------------------------------------------- subject


def test_the_first_chunk_alone_would_be_taken_for_houses() -> None:
    """The premise of the next test: a chunk of 3 infers ``house``, the batch ``road``."""
    g = _points_then_lines()
    assert infer_batch_subject(*subject_votes(g.geometry.iloc[:3])) == "house"
    assert infer_batch_subject(*subject_votes(g.geometry)) == "road"
    from geoplan.engine import infer_subject
    from geoplan.hygiene import geometry_families

    assert infer_subject(geometry_families(g.geometry.iloc[:3])) == "house"  # the engine agrees


@pytest.mark.parametrize("how", ["local", "chunked", "chunked-gpkg", "chunked-parquet-out"])
def test_subject_is_inferred_from_the_whole_batch_on_every_path(
        small_workspace: Path, tmp_path: Path, how: str) -> None:
    g = _points_then_lines()
    if how == "local":
        res = geoplan.check(g, small_workspace)
    elif how == "chunked":
        res = geoplan.check(g, small_workspace, engine="chunked", chunk_size=3)
    elif how == "chunked-gpkg":  # read from the file chunk by chunk
        g.to_file(tmp_path / "s.gpkg")
        res = geoplan.check(tmp_path / "s.gpkg", small_workspace, engine="chunked",
                            chunk_size=3)
    else:  # read chunk by chunk and streamed to files
        g.to_parquet(tmp_path / "s.parquet")
        res = geoplan.check(tmp_path / "s.parquet", small_workspace, engine="chunked",
                            chunk_size=3, out=tmp_path / "out")
        f = pd.read_csv(tmp_path / "out" / "findings.csv", encoding="utf-8-sig")
        assert f["rule_id"].str.startswith("road.").all()
    assert res.subject == "road"
    assert res.summary["subject"] == "road"
    assert res.summary["sites"] == 10
    if not res.streamed:
        assert res.findings["rule_id"].str.startswith("road.").all()
        assert res.verdicts["site_id"].tolist() == [f"S{i}" for i in range(10)]


def test_missing_and_empty_geometries_do_not_vote(small_workspace: Path) -> None:
    g = _sites([Point(), None, None, LineString([(X0, Y0), (X0 + 50, Y0)])])
    assert infer_batch_subject(*subject_votes(g.geometry)) == "road"
    res = geoplan.check(g, small_workspace, engine="chunked", chunk_size=1)
    assert res.subject == "road"
    assert res.verdicts["verdict"].tolist()[:3] == ["error"] * 3


# --------------------------------------------------------------------------- same answers


@pytest.mark.parametrize("chunk_size", [1, 3, 100])
def test_chunked_equals_local(small_workspace: Path, chunk_size: int) -> None:
    g = _houses()
    _same(geoplan.check(g, small_workspace),
          geoplan.check(g, small_workspace, engine="chunked", chunk_size=chunk_size))


def test_out_writes_the_same_files_for_every_engine(small_workspace: Path, tmp_path: Path) -> None:
    g = _houses()
    local = geoplan.check(g, small_workspace, out=tmp_path / "local")
    streamed = geoplan.check(g, small_workspace, engine="chunked", chunk_size=3,
                             out=tmp_path / "chunked")
    assert [p.name for p in local.files] == TABLES
    assert [p.name for p in streamed.files] == TABLES
    assert sorted(p.name for p in (tmp_path / "local").iterdir()) == sorted(TABLES)
    for name in ("findings.csv", "verdicts.csv"):
        assert filecmp.cmp(tmp_path / "local" / name, tmp_path / "chunked" / name,
                           shallow=False), name
    assert not local.streamed
    assert len(local.findings) == 8 * len(local.pack.for_subject("house"))


def test_a_streamed_result_holds_the_summary_and_the_paths(small_workspace: Path,
                                                           tmp_path: Path) -> None:
    g = _houses()
    whole = geoplan.check(g, small_workspace)
    res = geoplan.check(g, small_workspace, engine="chunked", chunk_size=3, out=tmp_path)
    assert res.streamed
    assert list(res.findings.columns) == list(whole.findings.columns)
    assert len(res.findings) == len(res.verdicts) == 0
    pd.testing.assert_series_equal(res.counts(), whole.counts())
    pd.testing.assert_frame_equal(res.by_rule(), whole.by_rule(), check_dtype=False)
    assert "8 house sites" in repr(res)
    assert res.summary["chunk_size"] == 3
    for view in (res.failed, lambda: res.site("H1"), res.map,
                 lambda: res.to_files(tmp_path / "again")):
        with pytest.raises(geoplan.GeoplanError, match="streamed to files"):
            view()


def test_without_gpkg_only_the_csv_and_summary(small_workspace: Path, tmp_path: Path) -> None:
    res = geoplan.check(_houses(), small_workspace, engine="chunked", chunk_size=4,
                        out=tmp_path, gpkg=False)
    assert [p.name for p in res.files] == ["findings.csv", "verdicts.csv", "summary.json"]


# --------------------------------------------------------------------------- inputs, once


def test_ids_are_decided_and_checked_on_the_whole_batch(small_workspace: Path) -> None:
    g = _houses()
    g["id"] = np.arange(len(g)) % 3  # unique within chunks of 3, not over the batch
    res = geoplan.check(g.drop(columns="house_id"), small_workspace, engine="chunked",
                        chunk_size=3)
    assert res.verdicts["site_id"].tolist() == [str(i) for i in range(1, 9)]
    g.loc[6, "house_id"] = " "  # row 7, in the third chunk: named by its batch row
    for engine in ("local", "chunked"):
        with pytest.raises(geoplan.SiteInputError, match=r"empty in row\(s\) 7;"):
            geoplan.check(g, small_workspace, id_field="house_id", engine=engine,
                          chunk_size=3 if engine == "chunked" else None)


def test_gcj02_is_applied_to_a_geodataframe_by_every_engine(small_workspace: Path) -> None:
    g = _houses().to_crs(4490)
    a = geoplan.check(g, small_workspace, gcj02=True)
    b = geoplan.check(g, small_workspace, gcj02=True, engine="chunked", chunk_size=3)
    _same(a, b)
    assert a.summary["gcj02_converted"] is True
    plain = geoplan.check(g, small_workspace)
    assert not a.verdicts.geometry.geom_equals_exact(plain.verdicts.geometry, 1e-9).all()


def test_reading_notes_come_back_on_the_result(small_workspace: Path, tmp_path: Path) -> None:
    p = tmp_path / "s.csv"
    p.write_text("编号,经度,纬度\nA,81.3,43.92\n", encoding="utf-8")
    res = geoplan.check(p, small_workspace)
    assert res.summary["sites_source"] == str(p)
    assert isinstance(res.site_notes, tuple)


def test_a_streamed_file_is_refused_as_read_sites_refuses_it(small_workspace: Path,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "s.gpkg"
    _houses().to_file(path, layer="houses")
    with pytest.raises(geoplan.DataFileError, match="Layer 'nope'"):
        geoplan.check(path, small_workspace, engine="chunked", layer="nope")
    _houses().iloc[:0].to_parquet(tmp_path / "empty.parquet")
    with pytest.raises(geoplan.SiteInputError, match="has no rows"):
        geoplan.check(tmp_path / "empty.parquet", small_workspace, engine="chunked")
    with pytest.raises(geoplan.SiteInputError, match="'nope' is not in the sites"):
        geoplan.check(path, small_workspace, engine="chunked", id_field="nope")


# --------------------------------------------------------------------------- engines


@pytest.mark.parametrize(("engine", "options", "match"), [
    ("spark", {}, "unknown engine 'spark'"),
    ("local", {"chunk_size": 10}, "chunk_size= is for engine='chunked' or 'dask'"),
    ("chunked", {"scheduler": "tcp://x:8786"}, "scheduler= is for engine='dask'"),
    (ChunkedRunner(chunk_size=5), {"chunk_size": 10}, "give chunk_size, scheduler and jobs to"),
    (ChunkedRunner(chunk_size=5), {"jobs": 2}, "give chunk_size, scheduler and jobs to"),
    ("dask", {"jobs": 2}, "jobs= is for engine='local' or 'chunked'"),
    ("local", {"jobs": 0}, "jobs must be a whole number of processes"),
])
def test_engine_options_are_checked_before_any_work(engine, options, match) -> None:
    with pytest.raises(ValueError, match=match):
        geoplan.check("no/such/file.gpkg", "no/such/workspace", engine=engine, **options)


def test_chunk_size_must_be_positive(small_workspace: Path) -> None:
    with pytest.raises(geoplan.SiteInputError, match="positive number of sites"):
        geoplan.check(_houses(), small_workspace, engine="chunked", chunk_size=0)


def test_a_runner_of_ones_own_plugs_in(small_workspace: Path) -> None:
    seen: list[SiteBatch] = []

    class Recording:
        reads_in_chunks = False

        def run(self, batch: SiteBatch, plan: RunPlan) -> Run:
            seen.append(batch)
            return LocalRunner().run(batch, plan)

    runner = Recording()
    assert isinstance(runner, Runner)
    res = geoplan.check(_points_then_lines(), small_workspace, engine=runner)
    assert res.subject == seen[0].subject == "road"
    assert seen[0].id_field == "site_id"
    assert seen[0].n == 10


def test_runner_for_names() -> None:
    assert isinstance(runner_for("local"), LocalRunner)
    assert runner_for("chunked").chunk_size == 50_000
    assert runner_for("dask", chunk_size=7, scheduler="tcp://h:1").scheduler == "tcp://h:1"


# --------------------------------------------------------------------------- the wrappers


def test_check_chunked_is_a_deprecated_wrapper(small_workspace: Path) -> None:
    from geoplan.scale import check_chunked

    g = _houses()
    with pytest.warns(DeprecationWarning, match=r"engine='chunked'"):
        old = check_chunked(g, small_workspace, chunk_size=3, id_field="house_id")
    _same(geoplan.check(g, small_workspace, engine="chunked", chunk_size=3), old)


def test_check_to_files_is_a_deprecated_wrapper(small_workspace: Path, tmp_path: Path) -> None:
    from geoplan.scale import check_to_files

    with pytest.warns(DeprecationWarning, match=r"out=\.\.\."):
        summary = check_to_files(_houses(), small_workspace, tmp_path / "out", chunk_size=3)
    assert isinstance(summary, dict)
    assert summary["sites"] == 8
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(TABLES)


def test_the_package_still_exports_the_wrappers() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # importing them warns nothing; calling them does
        assert callable(geoplan.check_chunked)
        assert callable(geoplan.check_to_files)


# --------------------------------------------------------------------------- the CLI


def test_cli_streams_with_the_chunked_engine_and_fails_on(small_workspace: Path,
                                                          tmp_path: Path) -> None:
    from geoplan.cli import main

    path = tmp_path / "houses.gpkg"
    _houses().to_file(path)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["check", str(path), "-w", str(small_workspace), "--engine",
                                  "chunked", "--chunk-size", "3", "-o", str(out),
                                  "--fail-on", "fail"])
    assert r.exit_code == 1, r.output
    assert "8 house sites 个选址, chunks of 3" in r.output
    assert sorted(p.name for p in out.iterdir()) == sorted(TABLES)
    r = CliRunner().invoke(main, ["check", str(path), "-w", str(small_workspace), "--engine",
                                  "chunked", "-q"])
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("dtype", ["str", "object", "category"])
def test_findings_counted_by_rule_and_status_as_groupby_counts_them(dtype) -> None:
    """The summary's counts per rule and status, made from Arrow codes: those of pandas'
    groupby, in its order, for text in any dtype and with a missing value left out."""
    from geoplan.runners.summary import _pair_counts

    rng = np.random.default_rng(3)
    rules = rng.choice(["house.b", "house.a", "house.c10", "house.c9", "房屋.规则"], 5000)
    status = rng.choice(["pass", "fail", "warn", "not_checked", "error"], 5000)
    df = pd.DataFrame({"rule_id": rules, "status": status}).astype(dtype)
    want = [(x, y, int(n)) for (x, y), n in df.groupby(["rule_id", "status"],
                                                        observed=True).size().items()]
    assert _pair_counts(df["rule_id"], df["status"]) == want
    assert sum(n for *_, n in want) == 5000
    holed = df.astype(object)
    holed.iloc[7, 1] = None
    got = _pair_counts(holed["rule_id"], holed["status"])
    assert sum(n for *_, n in got) == 4999
    assert got == [(x, y, int(n)) for (x, y), n in holed.groupby(["rule_id", "status"])
                   .size().items()]
