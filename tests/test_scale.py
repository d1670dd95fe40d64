"""Large batches: the chunked and dask engines give the local engine's findings exactly.

Small sizes only (the timings live in ``python -m benchmarks``): the sample
workspace in ``layers/`` and a small generated county whose hazard zones have
10⁴–10⁵ vertices, so the big-feature paths of the engine run too.
"""

from __future__ import annotations

import filecmp
import json
import os
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely import LineString, Point

import geoplan
from geoplan import engine
from geoplan.runners import DaskRunner, iter_site_chunks

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers"
if str(REPO) not in sys.path:  # benchmarks/ is a top-level package of the repository
    sys.path.insert(0, str(REPO))


def _same(a: geoplan.Result, b: geoplan.Result) -> None:
    pd.testing.assert_frame_equal(a.findings, b.findings)
    pd.testing.assert_frame_equal(pd.DataFrame(a.verdicts), pd.DataFrame(b.verdicts))
    key = ["site_id", "rule_id"]
    ea = a.evidence.sort_values(key, kind="stable").reset_index(drop=True)
    eb = b.evidence.sort_values(key, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(ea.drop(columns="geometry"), eb.drop(columns="geometry"))
    assert a.summary["verdicts"] == b.summary["verdicts"]
    assert a.summary["by_rule"] == b.summary["by_rule"]


@pytest.fixture(scope="module")
def sample_ws() -> geoplan.Workspace:
    return geoplan.open_workspace(SAMPLE)


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from benchmarks.generate import county_workspace, site_batch

    root = tmp_path_factory.mktemp("bench")
    ws = county_workspace(2_000, power_lines=500, dem=400, root=root)
    site_batch(ws, "house", 1_500)
    site_batch(ws, "road", 300)
    return ws


@pytest.fixture(scope="module")
def county_ws(county: Path) -> geoplan.Workspace:
    return geoplan.open_workspace(county)


def _batch(county: Path, kind: str, n: int) -> Path:
    return county / "batches" / f"{kind}-{n}-s11.parquet"


# --------------------------------------------------------------------------- chunks


@pytest.mark.parametrize("batch", ["proposed_houses", "proposed_roads"])
def test_chunked_equals_whole_on_the_sample(sample_ws, batch):
    path = SAMPLE / "batches" / f"{batch}.gpkg"
    whole = geoplan.check(path, sample_ws)
    _same(whole, geoplan.check(path, sample_ws, engine="chunked", chunk_size=7))


def test_chunked_row_numbers_continue_across_chunks(sample_ws):
    gdf = geoplan.read_sites(SAMPLE / "batches" / "proposed_houses.gpkg").drop(
        columns="house_id")
    whole = geoplan.check(gdf, sample_ws)
    chunked = geoplan.check(gdf, sample_ws, engine="chunked", chunk_size=50)
    _same(whole, chunked)
    assert chunked.verdicts["site_id"].tolist() == [str(i) for i in range(1, len(gdf) + 1)]


def test_an_id_unique_only_within_each_chunk_is_not_used(sample_ws):
    gdf = geoplan.read_sites(SAMPLE / "batches" / "proposed_houses.gpkg").drop(
        columns="house_id")
    gdf["id"] = np.arange(len(gdf)) % 10  # unique in chunks of 10, not over the batch
    chunked = geoplan.check(gdf, sample_ws, engine="chunked", chunk_size=10)
    _same(geoplan.check(gdf, sample_ws), chunked)
    assert chunked.verdicts["site_id"].iloc[-1] == str(len(gdf))


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_streamed_files_equal_the_whole_run(sample_ws, tmp_path, monkeypatch, platform):
    """Written chunk by chunk — in forked processes with the indexes built at the end (Linux),
    or in this process with the indexes kept up to date — the files of the whole run."""
    import geoplan.runners.files as files

    if sys.platform != "linux" and platform == "linux":
        pytest.skip("chunks are written in forked processes on Linux only")
    monkeypatch.setattr(files.sys, "platform", platform)
    path = SAMPLE / "batches" / "proposed_houses.gpkg"
    whole = geoplan.check(path, sample_ws)
    whole.to_files(tmp_path / "whole", map_html=False, report_html=False)
    res = geoplan.check(path, sample_ws, engine="chunked", chunk_size=40, out=tmp_path / "chunks")
    summary = res.summary
    assert res.streamed
    for name in ("findings.csv", "verdicts.csv"):
        assert filecmp.cmp(tmp_path / "whole" / name, tmp_path / "chunks" / name,
                           shallow=False), name
    assert summary["verdicts"] == whole.summary["verdicts"]
    assert summary["chunk_size"] == 40
    import sqlite3

    import pyogrio

    for layer in ("verdicts", "findings", "evidence"):
        a = pyogrio.read_dataframe(tmp_path / "whole" / "results.gpkg", layer=layer)
        b = pyogrio.read_dataframe(tmp_path / "chunks" / "results.gpkg", layer=layer)
        assert list(a.columns) == list(b.columns)
        assert len(a) == len(b)
        if layer != "evidence":  # evidence: the same rows, in another order (by chunk)
            pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")),
                                          pd.DataFrame(b.drop(columns="geometry")))
            assert a.geometry.to_wkb().tolist() == b.geometry.to_wkb().tolist()
        with sqlite3.connect(tmp_path / "whole" / "results.gpkg") as w, \
                sqlite3.connect(tmp_path / "chunks" / "results.gpkg") as db:
            info = f"pragma table_info('{layer}')"
            assert db.execute(info).fetchall() == w.execute(info).fetchall()
            n = db.execute(f"select count(*) from rtree_{layer}_geom").fetchone()[0]
            assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        assert n == len(b) - int((b.geometry.is_empty | b.geometry.isna()).sum())
    assert sorted(p.name for p in (tmp_path / "chunks").iterdir()) == [
        "findings.csv", "results.gpkg", "summary.json", "verdicts.csv"]
    assert "output_notes" not in summary  # every layer indexed
    assert not list((tmp_path / "chunks").glob(".partial-*"))


def _rtrees(gpkg: Path) -> tuple[set[str], set[str]]:
    """The R-tree tables in the file, and the tables gpkg_extensions says are indexed."""
    import sqlite3

    with sqlite3.connect(gpkg) as db:
        names = {r[0] for r in db.execute("select name from sqlite_master")}
        listed = {r[0] for r in db.execute("select table_name from gpkg_extensions "
                                            "where extension_name = 'gpkg_rtree_index'")}
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
    return {n for n in names if n.startswith("rtree_") and n.endswith("_geom")}, listed


@pytest.mark.parametrize("how", ["whole", "streamed", "streamed-other-platform"])
def test_findings_above_the_limit_are_written_whole_without_their_index(
        sample_ws, tmp_path, monkeypatch, capsys, how):
    """Past FINDINGS_INDEX_MAX_ROWS the findings layer has every row and point but no R-tree.

    GeoPackage readers must not be told of an index that is not there (no
    gpkg_extensions row), a query by box still finds every finding, and the
    summary and the command's output say what was left out and how to add it.
    """
    from click.testing import CliRunner

    from geoplan.cli import main
    from geoplan.runners import files

    if how == "streamed" and sys.platform != "linux":
        pytest.skip("chunks are written in forked processes on Linux only")
    if how == "streamed-other-platform":  # the writer that keeps the index chunk by chunk
        monkeypatch.setattr(files.sys, "platform", "win32")
        monkeypatch.setattr(files, "can_index_later", lambda: False)
    path = SAMPLE / "batches" / "proposed_houses.gpkg"
    whole = geoplan.check(path, sample_ws)
    n = len(whole.findings)
    monkeypatch.setattr(files, "FINDINGS_INDEX_MAX_ROWS", n - 1)
    args = ["check", str(path), "-w", str(SAMPLE), "--no-xlsx"]
    if how != "whole":
        args += ["--chunk-size", "40"]
    out = tmp_path / "out"
    r = CliRunner().invoke(main, [*args, "-o", str(out)])
    assert r.exit_code == 0, r.output
    gpkg = out / "results.gpkg"
    trees, listed = _rtrees(gpkg)
    if how == "streamed-other-platform":
        # indexes kept up to date chunk by chunk: the first chunk (920 findings) is
        # under the limit, so the layer has its index; nothing to say
        assert trees == {"rtree_verdicts_geom", "rtree_findings_geom", "rtree_evidence_geom"}
        assert "output_notes" not in json.loads((out / "summary.json").read_text("utf-8"))
        return
    assert trees == {"rtree_verdicts_geom", "rtree_evidence_geom"}
    assert listed == {"verdicts", "evidence"}
    fnd = pyogrio.read_dataframe(gpkg, layer="findings")
    assert len(fnd) == n
    x0, y0, x1, y1 = fnd.total_bounds
    bbox = (x0, y0, (x0 + x1) / 2, (y0 + y1) / 2)
    inside = fnd.geometry.intersects(shapely.box(*bbox))
    got = pyogrio.read_dataframe(gpkg, layer="findings", bbox=bbox)
    assert 0 < len(got) == int(inside.sum())
    notes = json.loads((out / "summary.json").read_text("utf-8"))["output_notes"]
    assert [(x["file"], x["layer"], x["rows"], x["spatial_index"]) for x in notes] == [
        ("results.gpkg", "findings", n, False)]
    assert "CreateSpatialIndex" in notes[0]["en"]
    assert "空间索引" in notes[0]["zh"]
    assert f"{n:,} rows" in notes[0]["en"]
    assert "--findings-index" in notes[0]["en"]
    assert "NOTE 说明" in r.output
    assert f"({n:,} rows) has no spatial index" in r.output
    # asked for, the index is built whatever the size, and nothing is said
    again = tmp_path / "again"
    r = CliRunner().invoke(main, [*args, "--findings-index", "-o", str(again)])
    assert r.exit_code == 0, r.output
    assert _rtrees(again / "results.gpkg")[1] == {"verdicts", "findings", "evidence"}
    indexed = pyogrio.read_dataframe(again / "results.gpkg", layer="findings")
    pd.testing.assert_frame_equal(pd.DataFrame(fnd.drop(columns="geometry")),
                                  pd.DataFrame(indexed.drop(columns="geometry")))
    assert fnd.geometry.to_wkb().tolist() == indexed.geometry.to_wkb().tolist()
    assert "output_notes" not in json.loads((again / "summary.json").read_text("utf-8"))
    assert "NOTE 说明" not in r.output
    # and refused, it is left out whatever the size, and said
    monkeypatch.setattr(files, "FINDINGS_INDEX_MAX_ROWS", 10**9)
    without = tmp_path / "without"
    r = CliRunner().invoke(main, [*args, "--no-findings-index", "-o", str(without)])
    assert r.exit_code == 0, r.output
    assert _rtrees(without / "results.gpkg")[1] == {"verdicts", "evidence"}
    notes = json.loads((without / "summary.json").read_text("utf-8"))["output_notes"]
    assert [x["rows"] for x in notes] == [n]
    assert "left out as asked (--no-findings-index / findings_index=False)" in notes[0]["en"]
    assert "按要求" in notes[0]["zh"]


def _fail_on_third_part(monkeypatch, how, counter: Path, step: str = "_verdict_layer"):
    """Make the writer of the third chunk fail (in the forked process that writes it; the
    count is kept in a file, which every process sees). ``step``: what writing a part's
    GeoPackage layers calls first (``_verdict_layer``), or its CSV files (``verdict_table``)."""
    import geoplan.runners.files as files

    real = getattr(files, step)

    def failing(*args, **kwargs):
        with counter.open("a") as fh:
            fh.write("x")
        if len(counter.read_text()) == 3:
            how()
        return real(*args, **kwargs)

    monkeypatch.setattr(files, step, failing)


@pytest.mark.parametrize("step", ["_verdict_layer", "verdict_table"], ids=["gpkg", "csv"])
@pytest.mark.parametrize(("how", "says"), [
    (lambda: (_ for _ in ()).throw(OSError(28, "No space left on device")),
     "No space left on device.*free space"),
    (lambda: os._exit(9), "ended without an answer"),
])
def test_streamed_write_failure_leaves_no_outputs(sample_ws, tmp_path, monkeypatch, how, says,
                                                  step):
    """A chunk's tables fail to be written (in the background, in its GeoPackage layers or in
    its CSV files): an error naming the fix, and the output folder keeps what it had (nothing
    of the failed run)."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "findings.csv").write_text("earlier run", encoding="utf-8")
    _fail_on_third_part(monkeypatch, how, tmp_path / "parts", step)
    path = SAMPLE / "batches" / "proposed_houses.gpkg"
    with pytest.raises(geoplan.GeoplanError, match=says):
        geoplan.check(path, sample_ws, engine="chunked", chunk_size=40, out=out)
    assert sorted(p.name for p in out.iterdir()) == ["findings.csv"]
    assert (out / "findings.csv").read_text(encoding="utf-8") == "earlier run"


def test_parquet_is_read_in_chunks_with_the_input_row_index(county):
    path = _batch(county, "house", 1_500)
    chunks = list(iter_site_chunks(path, 400))
    assert [len(c) for c in chunks] == [400, 400, 400, 300]
    assert chunks[1].index[0] == 400
    whole = gpd.read_parquet(path)
    back = pd.concat(chunks)
    assert back.crs == whole.crs
    assert back.geometry.geom_equals_exact(whole.geometry, 0).all()


def test_chunked_equals_whole_on_a_generated_county(county, county_ws, tmp_path):
    path = _batch(county, "house", 1_500)
    whole = geoplan.check(path, county_ws)
    _same(whole, geoplan.check(path, county_ws, engine="chunked", chunk_size=500))


@pytest.mark.slow
def test_cli_streams_with_chunk_size(county, tmp_path):
    from click.testing import CliRunner

    from geoplan.cli import main

    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["check", str(_batch(county, "road", 300)), "-w", str(county),
                                  "--chunk-size", "100", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "chunks of 100" in r.output
    assert len(pd.read_csv(out / "verdicts.csv", encoding="utf-8-sig")) == 300


# --------------------------------------------------------------------------- big features


@pytest.mark.slow
def test_big_feature_paths_agree_with_the_plain_paths(county, county_ws, monkeypatch):
    """Hazard zones of 10⁴–10⁵ vertices: prepared, chunked and clipped; same findings."""
    sites = gpd.read_parquet(_batch(county, "house", 1_500))
    fast = geoplan.check(sites, county_ws)
    monkeypatch.setattr(engine.constraints, "_BIG", 10**9)  # every feature "small": plain STRtree
    plain = geoplan.check(sites, county_ws)
    a, b = fast.findings, plain.findings
    for col in a.columns.drop(["measure", "threshold"]):
        assert (a[col] == b[col]).all(), col
    assert fast.findings["message_en"].str.contains("hazard zone").any()
    np.testing.assert_array_equal(a["threshold"], b["threshold"])
    np.testing.assert_allclose(a["measure"], b["measure"], rtol=1e-9, atol=1e-6)


# --------------------------------------------------------------------------- dask


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("dask_geopandas")
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=":0")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.mark.slow
@pytest.mark.parametrize("batch", ["proposed_houses", "proposed_roads"])
def test_dask_equals_local_on_the_sample(sample_ws, client, batch):
    path = SAMPLE / "batches" / f"{batch}.gpkg"
    local = geoplan.check(path, sample_ws)
    dask_res = geoplan.check(path, sample_ws, engine=DaskRunner(client=client, npartitions=3))
    _same(local, dask_res)
    assert dask_res.summary["engine"] == "dask"


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "n"), [("house", 1_500), ("road", 300)])
def test_dask_equals_local_on_a_generated_county(county, county_ws, client, kind, n):
    path = _batch(county, kind, n)
    local = geoplan.check(path, county_ws)
    _same(local, geoplan.check(path, county_ws, engine="dask", scheduler=client, chunk_size=400))


@pytest.mark.slow
def test_dask_infers_the_subject_from_the_whole_batch(small_workspace, client):
    """Partitions of points alone would be houses; the batch is mostly roads."""
    x0, y0 = 524_000.0, 4_865_000.0
    geoms = [Point(x0 + 100 + 50 * i, y0 + 500) for i in range(3)] + [
        LineString([(x0 + 100, y0 + 100 + 60 * i), (x0 + 400, y0 + 100 + 60 * i)])
        for i in range(7)]
    g = gpd.GeoDataFrame({"width_m": [5.0] * 10}, geometry=geoms, crs="EPSG:4536")
    res = geoplan.check(g, small_workspace, engine=DaskRunner(client=client, npartitions=5))
    assert res.subject == "road"
    _same(geoplan.check(g, small_workspace), res)


@pytest.mark.slow
def test_check_dask_is_a_deprecated_wrapper(sample_ws, client):
    from geoplan.dask_engine import check_dask

    path = SAMPLE / "batches" / "proposed_roads.gpkg"
    with pytest.warns(DeprecationWarning, match=r"engine='dask'"):
        old = check_dask(path, sample_ws, client=client, npartitions=2)
    _same(geoplan.check(path, sample_ws), old)
    assert old.summary["partitions"] == 2


# --------------------------------------------------------------------------- processes


@pytest.mark.parametrize(("kind", "n"), [("house", 1_500), ("road", 300)])
def test_jobs_give_the_one_process_answer_exactly(county, county_ws, kind, n):
    path = _batch(county, kind, n)
    one = geoplan.check(path, county_ws, jobs=1)
    three = geoplan.check(path, county_ws, jobs=3)
    assert (one.summary["jobs"], three.summary["jobs"]) == (1, 3)
    pd.testing.assert_frame_equal(one.findings, three.findings)
    pd.testing.assert_frame_equal(pd.DataFrame(one.verdicts), pd.DataFrame(three.verdicts))
    # evidence in the same order too (by rule, then by site), geometry included
    pd.testing.assert_frame_equal(pd.DataFrame(one.evidence), pd.DataFrame(three.evidence))
    assert one.summary["by_rule"] == three.summary["by_rule"]
    assert one.summary["rules_not_checked"] == three.summary["rules_not_checked"]
    assert (one.verdicts["verdict"] != "pass").any()  # a comparison of something


def test_jobs_on_the_sample_with_missing_layers(sample_ws):
    # rules not checked for every site, and per-site errors, come back from every process
    one = geoplan.check(SAMPLE / "batches" / "proposed_houses.gpkg", sample_ws, jobs=1)
    two = geoplan.check(SAMPLE / "batches" / "proposed_houses.gpkg", sample_ws, jobs=2)
    _same(one, two)
    assert set(one.verdicts["verdict"]) >= {"fail", "error", "not_checked", "pass"}


_PICKLED: list = []


def _logged_pickle(result, folder):  # runs in the forked process: logs what its verdicts are
    with open(_PICKLED[1], "a", encoding="utf-8") as fh:
        fh.write(type(result[1]).__name__ + "\n")
    return _PICKLED[0](result, folder)


def test_a_forked_blocks_verdicts_come_back_with_the_sites_own_geometry(
        sample_ws, monkeypatch, tmp_path):
    """The forked block's verdicts travel without the site geometries the parent holds,
    and get them back: the one-process answer, in the sites' own CRS and index."""
    from geoplan.runners import local

    sites = geoplan.read_sites(SAMPLE / "batches" / "proposed_houses.gpkg").to_crs(4490)
    sites.index = [f"row{i}" for i in range(len(sites))]
    _PICKLED[:] = [local._pickle_to_file, tmp_path / "pickled.txt"]
    monkeypatch.setattr(local, "_pickle_to_file", _logged_pickle)
    one = geoplan.check(sites, sample_ws, jobs=1)
    two = geoplan.check(sites, sample_ws, jobs=2)
    assert (tmp_path / "pickled.txt").read_text(encoding="utf-8").split() == ["_ShedGeometry"]
    _same(one, two)
    assert two.verdicts.crs == sites.crs
    assert two.verdicts.index.tolist() == sites.index.tolist()
    assert (shapely.to_wkb(two.verdicts.geometry.values)
            == shapely.to_wkb(sites.geometry.values)).all()
    assert two.verdicts.columns.tolist() == one.verdicts.columns.tolist()


def test_verdicts_whose_geometry_is_not_the_frames_own_are_sent_whole(monkeypatch):
    from geoplan.runners import local

    frame = gpd.GeoDataFrame({"a": [1, 2, 3]}, geometry=[Point(0, 0), Point(1, 1), None],
                             crs=4536)
    monkeypatch.setattr(local, "_STATE", (None, None, frame, np.arange(3)))
    block = np.array([0, 2])
    own = frame.iloc[block].assign(verdict=["pass", "error"])
    shed = local._shed_site_geometry(own, block)
    assert isinstance(shed, local._ShedGeometry)
    back = local._restore_site_geometry(shed, frame, block)
    pd.testing.assert_frame_equal(pd.DataFrame(back), pd.DataFrame(own))
    assert back.crs == own.crs
    assert back.geometry.name == own.geometry.name
    copied = own.set_geometry(shapely.from_wkb(shapely.to_wkb(own.geometry.values)), crs=4536)
    assert local._shed_site_geometry(copied, block) is copied  # equal, but not the same objects


_PARENT: list[int] = []
_EVALUATE: list = []


def _die(block):  # a forked process stopped (as by the OOM killer); this one goes on
    import os

    if os.getpid() != _PARENT[0]:
        os._exit(9)
    return _EVALUATE[0](block)


def test_a_process_that_dies_is_an_error_not_a_short_result(sample_ws, monkeypatch):
    import os

    from geoplan.runners import local

    _PARENT[:] = [os.getpid()]
    _EVALUATE[:] = [local._evaluate_block]
    monkeypatch.setattr(local, "_evaluate_block", _die)
    with pytest.raises(geoplan.GeoplanError, match=r"ended without an answer.*jobs=1"):
        geoplan.check(SAMPLE / "batches" / "proposed_houses.gpkg", sample_ws, jobs=2)


def _fail_here(block):  # this process's block fails; the forked one's is written
    import os

    if os.getpid() == _PARENT[0]:
        raise RuntimeError("this block failed")
    return _EVALUATE[0](block)


_TO_FILE: list = []


def _logged_to_file(first, folder):  # runs in a forked process: logs the files it leaves
    written = _TO_FILE[0](first, folder)
    with open(_TO_FILE[1], "a", encoding="utf-8") as fh:
        fh.writelines(path + "\n" for _, path in written)
    return written


@pytest.mark.parametrize("outcome", ["done", "this block failed"])
def test_the_forked_blocks_files_are_removed(sample_ws, monkeypatch, tmp_path, outcome):
    """Each forked block's tables go through a file, read once and removed, also on failure."""
    import os

    from geoplan.runners import local

    assert local.spill_folder() in ("/dev/shm", None)
    spill = tmp_path / "spill"
    spill.mkdir()
    monkeypatch.setattr(local, "spill_folder", lambda: str(spill))
    _TO_FILE[:] = [local._evaluate_blocks_to_files, tmp_path / "written.txt"]
    monkeypatch.setattr(local, "_evaluate_blocks_to_files", _logged_to_file)
    batch = SAMPLE / "batches" / "proposed_houses.gpkg"
    if outcome == "done":
        one = geoplan.check(batch, sample_ws, jobs=1)
        _same(one, geoplan.check(batch, sample_ws, jobs=3))
    else:
        _PARENT[:] = [os.getpid()]
        _EVALUATE[:] = [local._evaluate_block]
        monkeypatch.setattr(local, "_evaluate_block", _fail_here)
        with pytest.raises(RuntimeError, match="this block failed"):
            geoplan.check(batch, sample_ws, jobs=2)
    written = (tmp_path / "written.txt").read_text(encoding="utf-8").split()
    assert len(written) == (2 if outcome == "done" else 1)
    assert all(os.path.dirname(p) == str(spill) for p in written)
    assert list(spill.iterdir()) == []


def test_a_block_that_cannot_be_spilled_where_asked_goes_to_the_temp_folder(
        sample_ws, monkeypatch, tmp_path):
    """A full or missing spill folder (a container's small /dev/shm) costs no block."""
    import tempfile

    from geoplan.runners import local

    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setattr(local, "spill_folder", lambda: str(tmp_path / "gone"))
    _TO_FILE[:] = [local._evaluate_blocks_to_files, tmp_path / "written.txt"]
    monkeypatch.setattr(local, "_evaluate_blocks_to_files", _logged_to_file)
    batch = SAMPLE / "batches" / "proposed_houses.gpkg"
    _same(geoplan.check(batch, sample_ws, jobs=1), geoplan.check(batch, sample_ws, jobs=2))
    written = (tmp_path / "written.txt").read_text(encoding="utf-8").split()
    assert [os.path.dirname(p) for p in written] == [str(temp)]
    assert list(temp.iterdir()) == []
    assert not (tmp_path / "gone").exists()


@pytest.mark.parametrize(("free", "chosen"), [
    (4 << 20, False),          # 4 MB: a small container /dev/shm
    ((1 << 30) - 4096, False),  # one page short of 1 GiB
    (1 << 30, True),            # exactly 1 GiB
    (8 << 30, True),
    (None, False),              # statvfs fails: no /dev/shm
])
def test_dev_shm_is_chosen_only_with_room(monkeypatch, free, chosen):
    from geoplan.runners import local

    class _Stat:
        f_frsize = 4096
        f_bavail = (free or 0) // 4096

    def _statvfs(path):
        assert path == "/dev/shm"
        if free is None:
            raise FileNotFoundError(path)
        return _Stat()

    monkeypatch.setattr(os, "statvfs", _statvfs)
    monkeypatch.setattr(os, "access", lambda path, mode: True)
    assert local.spill_folder() == ("/dev/shm" if chosen else None)
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # not writable
    assert local.spill_folder() is None


def test_jobs_default_by_batch_size():
    from geoplan.runners import PARALLEL_SITES, LocalRunner, default_jobs

    for subject, least in PARALLEL_SITES.items():
        assert LocalRunner().jobs_for(least - 1, subject) == 1
        assert LocalRunner().jobs_for(least, subject) == default_jobs() >= 1
    assert PARALLEL_SITES["road"] < PARALLEL_SITES["house"]  # a road is ten houses' work
    assert LocalRunner(jobs=4).jobs_for(3) == 3
    with pytest.raises(ValueError, match="whole number of processes"):
        LocalRunner(jobs=0)


def test_chunks_checked_in_processes_equal_the_whole_run(county, county_ws, tmp_path):
    path = _batch(county, "house", 1_500)
    whole = geoplan.check(path, county_ws, jobs=1)
    chunked = geoplan.check(path, county_ws, engine="chunked", chunk_size=600, jobs=2)
    assert chunked.summary["jobs"] == 2
    _same(whole, chunked)
    streamed = geoplan.check(path, county_ws, engine="chunked", chunk_size=600, jobs=2,
                             out=tmp_path / "s", gpkg=False)
    geoplan.check(path, county_ws, engine="chunked", chunk_size=600, jobs=1,
                  out=tmp_path / "one", gpkg=False)
    assert streamed.summary["verdicts"] == whole.summary["verdicts"]
    for name in ("findings.csv", "verdicts.csv"):
        assert filecmp.cmp(tmp_path / "s" / name, tmp_path / "one" / name, shallow=False), name
