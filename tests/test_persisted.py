"""The prepared workspace kept on disk (``cache=``): the same answers, never stale, safe to lose.

A workspace written to ``tmp_path`` holds big zones (a disc with a hole, a
two-part zone: cut into pieces), parcels that overlap or not (the overlap
fact), a fault of 600 vertices (boundary chunks for distances) and small
features. Every check with a cache is compared, row for row and byte for
byte (the evidence's WKB), with the same check without one.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from conftest import X0, Y0, gk
from geopandas.testing import assert_geodataframe_equal
from shapely import LineString, MultiPolygon, Point, Polygon, box
from test_invariants import mem_ws

import geoplan
from geoplan.cli import main
from geoplan.engine import constraint_cache, constraints, persisted
from geoplan.errors import GeoplanWarning
from geoplan.rules import load_pack
from geoplan.workspace.opening import cache_folder


def _ragged(cx: float, cy: float, r: float, n: int, seed: int) -> Polygon:
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    rr = r * (1 + 0.01 * rng.standard_normal(n))
    return Polygon(np.c_[cx + rr * np.cos(t), cy + rr * np.sin(t)])


def _write_workspace(folder: Path, *, shift: float = 0.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    disc = _ragged(X0 + shift, Y0, 400, 3000, 1)
    holed = Polygon(disc.exterior.coords, [_ragged(X0 + shift, Y0, 120, 800, 2).exterior.coords])
    gk([holed, box(X0 + 2000, Y0, X0 + 2100, Y0 + 100)], level=["50年一遇", "20年一遇"]).to_file(
        folder / "flood_zone.gpkg")
    two = MultiPolygon([_ragged(X0 - 600, Y0 + 1500, 150, 1500, 3),
                        _ragged(X0 + 600, Y0 + 1500, 150, 1500, 4)])
    gk([two], level=["高"]).to_file(folder / "geohazard_zone.gpkg")
    # parcels of the red line: a 4 × 4 grid, overlapping or not
    cells = [box(X0 + 1000 + 60 * i, Y0 - 1000 + 60 * j, X0 + 1060 + 60 * i, Y0 - 940 + 60 * j)
             for i in range(4) for j in range(4)]
    gk(cells, name=[f"p{i}" for i in range(16)]).to_file(folder / "farmland_redline.gpkg")
    t = np.linspace(0, 1, 600)
    fault = LineString(np.c_[X0 - 2000 + 4000 * t, Y0 - 300 + 40 * np.sin(40 * t)])
    gk([fault], name=["F1"]).to_file(folder / "active_fault.gpkg")
    gk([LineString([(X0 - 3000, Y0 - 500), (X0 + 3000, Y0 - 500)])],
       voltage_kv=[110.0]).to_file(folder / "power_line.gpkg")
    # a big level-1 zone and one of no level: the filter cannot decide it (kept apart)
    gk([_ragged(X0 + 1500, Y0 + 1500, 200, 900, 5), box(X0 - 40, Y0 + 190, X0 + 40, Y0 + 260)],
       level=[1, None]).to_file(folder / "water_source_zone.gpkg")
    return folder


def _sites() -> list[shapely.Geometry]:
    return [
        box(X0 + 395, Y0 - 6, X0 + 410, Y0 + 6),            # across the disc's edge
        box(X0 - 5, Y0 + 200, X0 + 7, Y0 + 212),            # inside the zone
        box(X0 - 6, Y0 - 6, X0 + 6, Y0 + 6),                # in the hole
        box(X0 - 150, Y0 - 150, X0 + 150, Y0 + 150),        # across many pieces
        box(X0 + 590, Y0 + 1300, X0 + 610, Y0 + 1700),      # through one part of the two
        box(X0 + 1050, Y0 - 970, X0 + 1070, Y0 - 950),      # on two red-line parcels
        box(X0 + 100, Y0 - 310, X0 + 112, Y0 - 298),        # on the fault
        box(X0 + 3000, Y0 + 3000, X0 + 3012, Y0 + 3012),    # far from everything
        box(X0 + 1495, Y0 + 1495, X0 + 1507, Y0 + 1507),    # in the level-1 water source zone
    ]


def _houses(kind: str):
    geoms = _sites()
    if kind == "points":
        geoms = [g.centroid for g in geoms]
    return gk(geoms, house_id=[f"h{i}" for i in range(len(geoms))])


def _roads():
    lines = [LineString([(X0 - 700, Y0 + 3), (X0 + 700, Y0 + 3)]),
             LineString([(X0 + 1000, Y0 - 990), (X0 + 1250, Y0 - 800)]),
             LineString([(X0 - 100, Y0 - 600), (X0 - 100, Y0 + 100)])]
    return gk(lines, road_id=["a", "b", "c"], width_m=[6.0, 5.0, 4.5])


def _same(a: geoplan.Result, b: geoplan.Result) -> None:
    pd.testing.assert_frame_equal(a.findings, b.findings)
    assert_geodataframe_equal(a.verdicts, b.verdicts)
    assert_geodataframe_equal(a.evidence, b.evidence)
    for x, y in ((a.verdicts, b.verdicts), (a.evidence, b.evidence)):
        assert (shapely.to_wkb(x.geometry.to_numpy()) ==
                shapely.to_wkb(y.geometry.to_numpy())).all()


def _run(root: Path, cache, batch=None, **kw) -> geoplan.Result:
    """The houses (default) checked against the workspace at ``root`` opened with ``cache``."""
    return geoplan.check(_houses("footprints") if batch is None else batch,
                         geoplan.open_workspace(root, cache=cache), subject="house",
                         id_field="house_id", **kw)


def _batch(subject: str, kind: str):
    return (_roads(), "road_id") if subject == "road" else (_houses(kind), "house_id")


@pytest.mark.parametrize(("subject", "kind"), [("house", "footprints"), ("house", "points"),
                                               ("road", "lines")])
def test_a_cached_workspace_gives_the_same_answers_cold_and_warm(tmp_path, subject, kind):
    root = _write_workspace(tmp_path / "ws")
    batch, ids = _batch(subject, kind)
    plain = geoplan.check(batch, geoplan.open_workspace(root, cache=False), subject=subject,
                          id_field=ids)
    assert not (root / ".geoplan-cache").exists()
    cold_ws = geoplan.open_workspace(root, cache=True)
    cold = geoplan.check(batch, cold_ws, subject=subject, id_field=ids)
    folder = root / ".geoplan-cache"
    files = sorted(folder.glob("*.npz"))
    assert files
    assert (folder / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f59")
    assert constraint_cache(cold_ws).persisted_counts == {"read": 0, "written": len(files)}
    warm_ws = geoplan.open_workspace(root, cache=True)
    warm = geoplan.check(batch, warm_ws, subject=subject, id_field=ids)
    assert constraint_cache(warm_ws).persisted_counts == {"read": len(files), "written": 0}
    assert sorted(folder.glob("*.npz")) == files      # nothing added: every file was read
    _same(plain, cold)
    _same(plain, warm)
    # the pieces came from the files: the big zones are cut whole, without cutting again
    cuts = [cut for c in constraint_cache(warm_ws)._c.values()
            if isinstance(c, constraints.Constraint) and isinstance(c._sp, constraints._Spatial)
            for cut in c._sp.cuts.values()]
    assert cuts
    assert all(not cut.pending and len(cut.pieces) > 1 for cut in cuts)


def test_the_restored_state_is_the_state_that_was_kept(tmp_path):
    root = _write_workspace(tmp_path / "ws")
    ws = geoplan.open_workspace(root, cache=True)
    geoplan.engine.prepare_rules(ws, subject="house")
    warm = geoplan.open_workspace(root, cache=True)
    geoplan.engine.prepare_rules(warm, subject="house")
    by_layer = {}
    for w in (ws, warm):
        cache = constraint_cache(w)
        undecided = [u.both for u in cache._u.values() if u is not None]
        for c in [*cache._c.values(), *undecided]:
            if isinstance(c, constraints.Constraint):
                by_layer.setdefault(c.layer.kind.name, []).append(c)
    assert {"flood_zone", "geohazard_zone", "active_fault", "farmland_redline"} <= set(by_layer)
    for name, found in by_layer.items():
        assert len(found) % 2 == 0, name
        half = len(found) // 2
        for a, b in zip(found[:half], found[half:], strict=True):
            _same_state(name, a, b)
    # the red-line parcels share edges only: a partition, kept as such
    red = by_layer["farmland_redline"][1]
    assert red._partition is True
    # level 1 as selected, and with the zone the filter cannot decide: a file each (level 2
    # selects nothing for certain: its rule is not checked, no constraint is built)
    names = [p.name for p in (root / ".geoplan-cache").glob("water_source_zone-*.npz")]
    assert len(names) == 2
    both = [c for c in by_layer["water_source_zone"]
            if len(c.geoms) == 2]
    assert len(both) == 2         # the undecided zone's constraint, prepared and restored


def _same_state(name: str, a: constraints.Constraint, b: constraints.Constraint) -> None:
    sa, sb = a.persisted(), b.persisted()
    assert sa.signature() == sb.signature(), name
    assert sa.spatial is not None, name
    if sa.chunks is not None:
        assert (shapely.to_wkb(sa.chunks) == shapely.to_wkb(sb.chunks)).all()
        assert (sa.owner == sb.owner).all()
    for f, (keys, pieces, whole) in sa.cuts.items():
        k2, p2, w2 = sb.cuts[f]
        assert keys == k2
        assert whole == w2
        assert (shapely.to_wkb(pieces) == shapely.to_wkb(p2)).all()
    assert a._partition == b._partition


def test_changed_data_is_a_new_key_and_the_old_file_goes(tmp_path):
    root = _write_workspace(tmp_path / "ws")
    batch = _houses("footprints")
    _run(root, True, batch)
    folder = root / ".geoplan-cache"
    before = {p.name for p in folder.glob("flood_zone-*.npz")}
    assert len(before) == 1
    _write_workspace(root, shift=50.0)                  # the disc moved 50 m east
    moved = _run(root, True, batch)
    after = {p.name for p in folder.glob("flood_zone-*.npz")}
    assert len(after) == 1
    assert after != before                              # replaced, not piled up
    plain = _run(root, False, batch)
    _same(plain, moved)


def test_a_damaged_file_is_warned_about_ignored_and_written_again(tmp_path):
    root = _write_workspace(tmp_path / "ws")
    batch = _houses("footprints")
    plain = _run(root, False, batch)
    _run(root, True, batch)
    (path,) = (root / ".geoplan-cache").glob("flood_zone-*.npz")
    path.write_bytes(path.read_bytes()[:200])           # cut short
    with pytest.warns(GeoplanWarning, match="cannot be read as a prepared-workspace file") as said:
        again = _run(root, True, batch)
    assert any("无法作为预处理缓存文件读取" in str(w.message) for w in said)  # in Chinese too
    _same(plain, again)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GeoplanWarning)  # written whole again: read silently
        ws = geoplan.open_workspace(root, cache=True)
        third = geoplan.check(batch, ws, subject="house", id_field="house_id")
    _same(plain, third)
    assert constraint_cache(ws).persisted_counts["written"] == 0


def test_a_file_of_other_geometries_is_not_taken(tmp_path):
    """A file renamed to another constraint's name holds another key: not read, no warning."""
    root = _write_workspace(tmp_path / "ws")
    batch = _houses("footprints")
    plain = _run(root, False, batch)
    _run(root, True, batch)
    folder = root / ".geoplan-cache"
    (flood,) = folder.glob("flood_zone-*.npz")
    (hazard,) = folder.glob("geohazard_zone-*.npz")
    flood.write_bytes(hazard.read_bytes())
    with warnings.catch_warnings():
        warnings.simplefilter("error", GeoplanWarning)
        ws = geoplan.open_workspace(root, cache=True)
        again = geoplan.check(batch, ws, subject="house", id_field="house_id")
    _same(plain, again)
    assert constraint_cache(ws).persisted_counts["written"] == 1   # the right one, again


def test_a_state_that_does_not_fit_the_features_is_refused():
    zone = _ragged(X0, Y0, 400, 3000, 1)
    w = mem_ws(flood_zone=gk([zone, box(X0 + 2000, Y0, X0 + 2010, Y0 + 10)]))
    rule = next(r for r in load_pack("yining-2025").rules if r.id == "house.flood_zone")
    c = constraint_cache(w).get(rule)
    assert isinstance(c, constraints.Constraint)
    st = persisted.PersistedState()
    st.spatial, st.chunks, st.owner = True, np.array([Point(0, 0)], dtype=object), np.array([1])
    assert not c.restore(st)                            # feature 1 is small: no chunks of it
    st = persisted.PersistedState()
    st.spatial = False
    assert not c.restore(st)                            # feature 0 is big
    st = persisted.PersistedState()
    st.cuts = {1: ([b""], np.array([box(0, 0, 1, 1)], dtype=object), False)}
    assert not c.restore(st)                            # only a big polygon has pieces
    assert c._sp is None                                # nothing was taken
    assert c._partition is None


def test_a_folder_that_cannot_be_written_is_warned_about_and_the_check_goes_on(tmp_path):
    root = _write_workspace(tmp_path / "ws")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    batch = _houses("footprints")
    plain = _run(root, False, batch)
    with pytest.warns(GeoplanWarning, match="could not be written") as said:
        res = _run(root, blocker / "cache", batch)
    _same(plain, res)
    assert len([w for w in said if "could not be written" in str(w.message)]) == 1  # once


def test_what_a_stopped_writer_left_is_cleared_once_old(tmp_path):
    import os

    root = _write_workspace(tmp_path / "ws")
    folder = root / ".geoplan-cache"
    folder.mkdir()
    old, new = folder / ".tmp-abc.npz", folder / ".tmp-def.npz"
    old.write_bytes(b"half")
    new.write_bytes(b"half")
    os.utime(old, (1e9, 1e9))                            # 2001: long stopped
    geoplan.check(_houses("footprints"), geoplan.open_workspace(root, cache=True),
                  subject="house", id_field="house_id")
    assert not old.exists()
    assert new.exists()                                  # may still be being written


def test_two_processes_share_the_restored_pieces(tmp_path):
    root = _write_workspace(tmp_path / "ws")
    batch = _houses("footprints")
    plain = _run(root, False, batch, jobs=1)
    _run(root, True, batch, jobs=1)
    two = _run(root, True, batch, jobs=2)
    _same(plain, two)


def test_where_the_cache_folder_is(tmp_path, monkeypatch):
    folder = tmp_path / "ws"
    folder.mkdir()
    gpkg = tmp_path / "county.gpkg"
    gpkg.write_bytes(b"")
    monkeypatch.delenv("GEOPLAN_CACHE_DIR", raising=False)
    assert cache_folder(folder, True) == folder / ".geoplan-cache"
    assert cache_folder(folder / "geoplan.toml", True) == folder / ".geoplan-cache"
    assert cache_folder(gpkg, True) == tmp_path / "county.gpkg.geoplan-cache"
    assert cache_folder(tmp_path / "三调.gdb", True) == tmp_path / "三调.gdb.geoplan-cache"
    assert cache_folder(folder, None) is None
    assert cache_folder(folder, tmp_path / "elsewhere") == tmp_path / "elsewhere"
    monkeypatch.setenv("GEOPLAN_CACHE_DIR", str(tmp_path / "from-env"))
    assert cache_folder(folder, None) == tmp_path / "from-env"
    assert cache_folder(folder, False) is None          # asked for none: the variable is not read


def test_the_cache_folder_is_not_read_as_layers(tmp_path):
    root = _write_workspace(tmp_path / "ws")
    geoplan.check(_houses("footprints"), geoplan.open_workspace(root, cache=True),
                  subject="house", id_field="house_id")
    ws = geoplan.open_workspace(root)
    assert not any("geoplan-cache" in u for u in ws.unplaced)


def test_the_command_line_keeps_and_reads_the_prepared_workspace(tmp_path, monkeypatch):
    monkeypatch.delenv("GEOPLAN_CACHE_DIR", raising=False)
    root = _write_workspace(tmp_path / "ws")
    sites = tmp_path / "houses.gpkg"
    _houses("footprints").to_file(sites)
    runner = CliRunner()
    outs = {}
    for name, extra in (("plain", []), ("cold", ["--cache"]), ("warm", ["--cache"]),
                        ("dir", ["--cache-dir", str(tmp_path / "kept")])):
        out = tmp_path / f"out-{name}"
        r = runner.invoke(main, ["check", str(sites), "-w", str(root), "-o", str(out),
                                 "--no-xlsx", "-q", *extra])
        assert r.exit_code == 0, r.output
        outs[name] = out
        if name == "plain":
            assert not (root / ".geoplan-cache").exists()
    assert list((root / ".geoplan-cache").glob("*.npz"))
    assert list((tmp_path / "kept").glob("*.npz"))
    for name in ("cold", "warm", "dir"):
        for f in ("findings.csv", "verdicts.csv"):
            assert (outs[name] / f).read_bytes() == (outs["plain"] / f).read_bytes(), (name, f)
    r = runner.invoke(main, ["check", str(sites), "-w", str(root), "--no-cache",
                             "--cache-dir", str(tmp_path / "kept")])
    assert r.exit_code == 2
    assert "--no-cache" in r.output
